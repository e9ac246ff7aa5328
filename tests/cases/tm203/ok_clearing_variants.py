"""Every way of clearing gradients, once per iteration."""

import torch


def reset_gradients(model):
    for param in model.parameters():
        param.grad = None


def after_the_step(model, optimizer, loader):
    for x, y in loader:
        loss = (model(x) - y).pow(2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def through_the_model(model, optimizer, loader):
    for x, y in loader:
        model.zero_grad()
        (model(x) - y).abs().mean().backward()
        optimizer.step()


def through_a_helper(model, optimizer, loader):
    for x, y in loader:
        reset_gradients(model)
        (model(x) - y).abs().mean().backward()
        optimizer.step()


def by_hand(model, optimizer, loader):
    for x, y in loader:
        for p in model.parameters():
            if p.grad is not None:
                p.grad.zero_()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
