"""The model freezes its batch-norm layers when built and overrides train() to keep them
frozen: the loop's train() runs the override, which freezes them again."""

import torch
import torch.nn.functional as F
from torch import nn


class FrozenStatsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 16)
        self.bn = nn.BatchNorm1d(16)
        self.head = nn.Linear(16, 3)
        self.bn.eval()

    def train(self, mode=True):
        super().train(mode)
        self.bn.eval()
        return self

    def forward(self, x):
        return self.head(F.relu(self.bn(self.fc(x))))


model = FrozenStatsNet()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)]:
    model.train()
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
