"""Gradient accumulation over 4 micro-batches, after a validation that leaves the model in eval."""

import torch
import torch.nn.functional as F
from common import Net, batches, show

torch.manual_seed(0)
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model.train()
for epoch in range(2):
    optimizer.zero_grad()
    for index, (data, target) in enumerate(batches(8, seed=epoch)):
        loss = F.cross_entropy(model(data), target) / 4  # observed: TM101
        loss.backward()
        if index % 4 == 3:
            optimizer.step()
            optimizer.zero_grad()
            show("loss", loss)
    model.eval()  # switch: TM101
    with torch.no_grad():
        show("val", model(batches(1, seed=9)[0][0]).sum())
