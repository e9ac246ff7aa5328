"""Gradient accumulation: zero_grad once per accumulation window on purpose."""

import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x))))


model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
accumulate = 2
model.train()
optimizer.zero_grad()
for step, (x, y) in enumerate([(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(4)]):
    loss = F.cross_entropy(model(x), y) / accumulate
    loss.backward()
    if (step + 1) % accumulate == 0:
        optimizer.step()
        optimizer.zero_grad()
