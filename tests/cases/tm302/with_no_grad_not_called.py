"""Validation written with `with torch.no_grad:` (and a from-imported alias): TypeError at run time."""

import torch
from torch import no_grad


def validate(model, loader):
    model.eval()
    losses = []
    with torch.no_grad:  # expect: TM302
        for x, y in loader:
            losses.append(torch.nn.functional.cross_entropy(model(x), y).item())
    return sum(losses) / len(losses)


def predict(model, batch):
    model.eval()
    with no_grad as _:  # expect: TM302
        return model(batch).argmax(dim=1)
