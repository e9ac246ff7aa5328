import torch


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        return [model(x) for x in loader]


def fit(model, optimizer, loader, val_loader):
    model.head.eval()
    model.train()
    model.head.eval()
    for x, y in loader:
        optimizer.zero_grad()
        (model(x) - y).abs().mean().backward()
        optimizer.step()
    return evaluate(model, val_loader)
