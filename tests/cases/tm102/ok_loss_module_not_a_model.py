"""A loss module is no model: it computes the same in train and eval mode.

From torchtnt's test units (registry corpus): the evaluation puts the network in eval
mode and never the loss, which is right. ``nn.CrossEntropyLoss()`` is an ``nn.Module``,
but no mode finding is about it.
"""

import torch
from torch import nn


class Evaluator:
    def __init__(self, model):
        self.model = model
        self.loss_fn = nn.CrossEntropyLoss()

    def evaluate(self, loader):
        self.model.eval()
        total = 0.0
        with torch.no_grad():
            for inputs, targets in loader:
                outputs = self.model(inputs)
                total += self.loss_fn(outputs, targets).item()
        return total / len(loader)


def validate(model, loader):
    criterion = nn.MSELoss()
    model.eval()
    with torch.no_grad():
        return sum(criterion(model(x), y).item() for x, y in loader)
