"""A context manager object built once and entered later is not a bare statement."""

import contextlib

import torch


def maybe_no_grad(enabled: bool):
    return torch.no_grad() if enabled else contextlib.nullcontext()


def predict(model, batch, frozen=True):
    model.eval()
    context = torch.no_grad()
    with context:
        first = model(batch)
    with maybe_no_grad(frozen):
        second = model(batch)
    return first, second
