"""A module keeps a shape tuple and a config as attributes: neither is a frozen sub-module."""

import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.shape = (8, 16)
        self.config = config
        self.fc1 = nn.Linear(*self.shape)
        self.drop = nn.Dropout(config["dropout"])
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x))))


model = Net({"dropout": 0.2})
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)]:
    model.train()
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
