"""Correct: train() at the top of every training epoch, eval() and no_grad for validation."""

import torch
import torch.nn.functional as F
from common import Net, batches, show

torch.manual_seed(0)
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(3):
    model.train()
    for data, target in batches(4, seed=epoch):
        loss = F.cross_entropy(model(data), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        show("val", sum(F.cross_entropy(model(x), y) for x, y in batches(3, seed=99)))
