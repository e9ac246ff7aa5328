"""A part replaced by assignment, then the whole model evaluated: the eval reaches the part
as it reaches every other one, so the next train() undoes no freeze."""

import torch
from torch import nn


def train_experience(model, optimizer, loader):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        (model(x) - y).pow(2).mean().backward()
        optimizer.step()


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    return [model(x) for x, _ in loader]


def main(model, optimizer, experiences, test_loader):
    model.classifier = nn.Linear(512, 10)
    for loader in experiences:
        train_experience(model, optimizer, loader)
        evaluate(model, test_loader)
