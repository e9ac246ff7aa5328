"""model.apply() freezes the batch-norm layers once; train() at every epoch undoes it."""

import torch
import torch.nn.functional as F
from torch import nn


def set_bn_eval(module):
    if isinstance(module, nn.BatchNorm1d):
        module.eval()


model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model.apply(set_bn_eval)
for epoch in range(2):
    model.train()  # expect: TM103
    for x, y in [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(2)]:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
