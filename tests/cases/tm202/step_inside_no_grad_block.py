"""A training loop whose whole step ended up inside `with torch.no_grad():`."""

import torch
import torch.nn.functional as F
from torch import nn


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, loader) -> float:
    model.train()
    running = 0.0
    for inputs, targets in loader:
        optimizer.zero_grad()
        with torch.no_grad():  # keep the logging cheap
            outputs = model(inputs)
            loss = F.cross_entropy(outputs, targets)
            loss.backward()  # expect: TM202
            optimizer.step()
            running += loss.item()
    return running / len(loader)
