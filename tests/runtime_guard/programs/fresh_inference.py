"""Predictions under no_grad from a model that was never switched to eval (and one under inference_mode)."""

import torch
from common import Net, batches, show

torch.manual_seed(0)
model = Net()
with torch.no_grad():
    for data, _ in batches(4, seed=3):
        show("prediction", model(data).sum())  # observed: TM102

second = Net()
with torch.inference_mode():
    show("single", second(batches(1, seed=4)[0][0]).sum())  # observed: TM102
