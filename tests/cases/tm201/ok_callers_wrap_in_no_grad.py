"""evaluate() leaves grad to its callers, and every caller in the file turns it off."""

import torch


def evaluate(model, loader):
    model.eval()
    errors = [(model(x) - y).abs().mean().item() for x, y in loader]
    model.train()
    return sum(errors) / len(errors)


def fit(model, optimizer, train_loader, val_loader, epochs):
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = (model(x) - y).pow(2).mean()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            print(epoch, evaluate(model, val_loader))


def final_report(model, test_loader):
    with torch.inference_mode():
        return evaluate(model, test_loader)
