"""Fine-tuning a copy of a model that was in eval mode when copied: no train() call is ever made."""

import copy

import torch
import torch.nn.functional as F
from common import Net, batches, show

torch.manual_seed(0)
pretrained = Net()
pretrained.eval()
model = copy.deepcopy(pretrained)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for data, target in batches(3, seed=5):
    loss = F.cross_entropy(model(data), target)  # observed: TM101
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    show("loss", loss)
