"""Evaluators that turn grad off with decorators: called, bare (torch >= 2.1), inference_mode."""

import torch
import torch.nn.functional as F


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    total, correct = 0, 0
    for x, y in loader:
        correct += (model(x).argmax(1) == y).sum().item()
        total += y.numel()
    return correct / total


@torch.no_grad
def validate(model, loader):
    model.eval()
    return sum(F.cross_entropy(model(x), y).item() for x, y in loader) / len(loader)


@torch.inference_mode()
def predict(model, batches):
    model.eval()
    return [model(batch).argmax(1) for batch in batches]


@torch.inference_mode
def test_accuracy(model, loader):
    model.eval()
    hits = [(model(x).argmax(1) == y).float().mean() for x, y in loader]
    return torch.stack(hits).mean().item()
