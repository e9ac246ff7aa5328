"""A backbone frozen parameter by parameter and kept in eval mode; the optimizer is given
every parameter, but the frozen ones take no gradient: only the head trains."""

import torch
import torch.nn.functional as F
from torch import nn


def freeze(module):
    for parameter in module.parameters():
        parameter.requires_grad = False
    module.eval()


backbone = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU())
backbone.load_state_dict(backbone.state_dict())
head = nn.Linear(16, 3)
freeze(backbone)
optimizer = torch.optim.SGD(list(backbone.parameters()) + list(head.parameters()), lr=0.1)
head.train()
for x, y in [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)]:
    loss = F.cross_entropy(head(backbone(x)), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
