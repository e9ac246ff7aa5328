import torch


def test(model, loader):
    model.eval()
    with torch.no_grad():
        result = [model(x) for x in loader]
    model.train()
    return result


def test_try_finally(model, loader):
    was_training = model.training
    model.eval()
    try:
        return [model(x) for x in loader]
    finally:
        model.train()


def train(model, optimizer, loader, val_loader):
    model.train()
    for i, (x, y) in enumerate(loader):
        loss = model(x).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i % 10 == 0:
            test(model, val_loader)
            test_try_finally(model, val_loader)
