import torch


def test(model, loader):
    model.train()
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += int((model(x).argmax(1) == y).sum())  # expect: TM102
    return correct
