"""Fine-tune or freeze: in the frozen branch the backbone is no trained model, so its eval
mode is no leak."""

import torch
import torch.nn.functional as F
from torch import nn

backbone = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU())
head = nn.Linear(16, 3)
tune = False
if tune:
    backbone.train()
    parameters = list(backbone.parameters()) + list(head.parameters())
else:
    backbone.eval()
    backbone.requires_grad_(False)
    parameters = list(head.parameters())
optimizer = torch.optim.SGD(parameters, lr=0.1)
for x, y in [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(3)]:
    loss = F.cross_entropy(head(backbone(x)), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
