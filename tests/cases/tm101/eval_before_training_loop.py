import torch


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        return [model(x) for x in loader]


def run(model, optimizer, loader, val_loader):
    model.train()
    evaluate(model, val_loader)
    for x, y in loader:
        optimizer.zero_grad()
        out = model(x)  # expect: TM101
        out.sum().backward()
        optimizer.step()
