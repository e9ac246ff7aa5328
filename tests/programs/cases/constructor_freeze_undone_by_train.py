"""The model freezes its batch-norm layers when it is built; the loop's train() undoes it."""

import torch
import torch.nn.functional as F
from torch import nn


class FrozenStatsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 16)
        self.bn = nn.BatchNorm1d(16)
        self.head = nn.Linear(16, 3)
        self.freeze_bn()

    def freeze_bn(self):
        for module in self.modules():
            if isinstance(module, nn.BatchNorm1d):
                module.eval()

    def forward(self, x):
        return self.head(F.relu(self.bn(self.fc(x))))


model = FrozenStatsNet()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)]:
    model.train()  # expect: TM103
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
