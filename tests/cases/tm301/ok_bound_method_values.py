"""Mode methods kept as values and called later: nothing here is a missing call."""

import functools

import torch


def run_epoch(model, loader, optimizer, is_train):
    set_mode = model.train if is_train else model.eval
    set_mode()
    total = 0.0
    with torch.set_grad_enabled(is_train):
        for inputs, targets in loader:
            loss = torch.nn.functional.mse_loss(model(inputs), targets)
            if is_train:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total += loss.item()
    return total / len(loader)


class PhaseCallbacks:
    def __init__(self, model):
        self.on_train_start = [model.train]
        self.on_eval_start = []
        self.on_eval_start.append(model.eval)
        self.to_eval = functools.partial(model.train, False)

    def start(self, phase):
        callbacks = self.on_train_start if phase == "train" else self.on_eval_start
        for callback in callbacks:
            callback()
