"""One epoch runner for both phases: model.train(is_train) and torch.set_grad_enabled(is_train)."""

import torch
import torch.nn.functional as F


def run_epoch(model, loader, optimizer, is_train: bool) -> float:
    model.train(is_train)
    total = 0.0
    with torch.set_grad_enabled(is_train):
        for x, y in loader:
            loss = F.mse_loss(model(x), y)
            if is_train:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total += loss.item()
    return total / len(loader)


def validate(model, val_loader) -> float:
    return run_epoch(model, val_loader, None, is_train=False)


def fit(model, train_loader, val_loader, epochs: int) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(epochs):
        train_loss = run_epoch(model, train_loader, optimizer, is_train=True)
        val_loss = validate(model, val_loader)
        print(epoch, train_loss, val_loss)
