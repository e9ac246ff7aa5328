"""Correct: an EMA copy in eval mode, updated under no_grad and used for validation."""

import copy

import torch
import torch.nn.functional as F
from common import Net, batches, show

torch.manual_seed(0)
model = Net()
ema = copy.deepcopy(model).eval()
for parameter in ema.parameters():
    parameter.requires_grad_(False)
optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
for epoch in range(2):
    model.train()
    for data, target in batches(4, seed=epoch):
        loss = F.cross_entropy(model(data), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for averaged, current in zip(ema.parameters(), model.parameters(), strict=True):
                averaged.mul_(0.9).add_(current, alpha=0.1)
    with torch.no_grad():
        show("ema val", sum(F.cross_entropy(ema(x), y) for x, y in batches(3, seed=42)))
