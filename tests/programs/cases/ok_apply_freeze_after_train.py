"""model.apply() freezes the batch-norm layers again after every train(): nothing undone."""

import torch
import torch.nn.functional as F
from torch import nn


def set_bn_eval(module):
    if isinstance(module, nn.BatchNorm1d):
        module.eval()


model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    model.train()
    model.apply(set_bn_eval)
    for x, y in [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(2)]:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
