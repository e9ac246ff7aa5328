"""The step asserts train mode: past the assert the model is in train mode on every run that
gets there. Here the second iteration stops at the assert (the validation left the model in
eval mode): the program fails loudly there instead of training in eval mode, so the forward
after the assert is no TM101."""

import torch


def train_step(model, optimizer, x, y):
    assert model.training, "call model.train() before train_step"
    optimizer.zero_grad()
    (model(x) - y).pow(2).mean().backward()
    optimizer.step()


def fit(model, optimizer, loader, val_loader):
    model.train()
    for x, y in loader:
        train_step(model, optimizer, x, y)
        model.eval()
        with torch.no_grad():
            scores = [model(v) for v in val_loader]
        print(scores)
