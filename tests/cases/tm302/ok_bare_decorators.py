"""Bare decorators are fine since torch 2.1: @torch.no_grad, @torch.inference_mode, @enable_grad."""

import torch
from torch import enable_grad, inference_mode


@torch.no_grad
def evaluate(model, loader):
    model.eval()
    return [model(x).argmax(1) for x in loader]


@inference_mode
def embed(encoder, batch):
    encoder.eval()
    return encoder(batch)


@torch.no_grad()
def ema_update(ema, model, decay=0.999):
    for ema_p, p in zip(ema.parameters(), model.parameters()):
        ema_p.mul_(decay).add_(p, alpha=1 - decay)


@enable_grad
def input_gradient(model, x):
    x = x.clone().requires_grad_(True)
    model(x).sum().backward()
    return x.grad
