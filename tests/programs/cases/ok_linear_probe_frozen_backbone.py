"""A linear probe: the frozen backbone stays in eval mode on purpose; only the head trains."""

import torch
import torch.nn.functional as F
from torch import nn

backbone = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU())
backbone.load_state_dict(backbone.state_dict())
head = nn.Linear(16, 3)
backbone.requires_grad_(False)
backbone.eval()
optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
for x, y in [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)]:
    head.train()
    with torch.no_grad():
        features = backbone(x)
    loss = F.cross_entropy(head(features), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
