"""Gradual unfreezing: the backbone is frozen and put in eval mode for the first epoch, then
unfrozen without train(): from then on its batch-norm layers train in eval mode."""

import torch
import torch.nn.functional as F
from torch import nn

backbone = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU())
head = nn.Linear(16, 3)
backbone.requires_grad_(False)
backbone.eval()
optimizer = torch.optim.SGD(list(backbone.parameters()) + list(head.parameters()), lr=0.1)
head.train()
for x, y in [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(2)]:
    loss = F.cross_entropy(head(backbone(x)), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
backbone.requires_grad_(True)
for x, y in [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(2)]:
    loss = F.cross_entropy(head(backbone(x)), y)  # expect: TM101
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
