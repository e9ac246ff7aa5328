"""backward() itself may run inside no_grad: the loss was computed with grad on."""

import torch


def train_step(model, optimizer, batch, ema):
    model.train()
    x, y = batch
    loss = torch.nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    with torch.no_grad():
        ema.mul_(0.99).add_(loss.detach(), alpha=0.01)
        loss.backward()
    optimizer.step()
    return ema


@torch.enable_grad()
def penalty(model, x):
    return model(x).pow(2).mean()


def regularize(model, optimizer, x):
    with torch.no_grad():
        loss = penalty(model, x)
    loss.backward()
    optimizer.step()
