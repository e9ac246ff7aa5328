"""TM201: evaluation in eval mode but with autograd on, and the graph never used."""
# select: TM101,TM102,TM201

import torch
import torch.nn.functional as F
from common import Net, batches, show

torch.manual_seed(0)
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    model.train()
    for data, target in batches(3, seed=epoch):
        loss = F.cross_entropy(model(data), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    total = 0.0
    for data, target in batches(2, seed=7):
        total += F.cross_entropy(model(data), target).item()  # observed: TM201
    show("val", total)
