"""validate() turns autograd off with a plain call and never turns it back on.

The first epoch trains; after the first validation every `loss.backward()` raises.
"""

import torch
import torch.nn.functional as F


def validate(model, val_loader):
    model.eval()
    torch.set_grad_enabled(False)
    correct = 0
    for x, y in val_loader:
        correct += (model(x).argmax(1) == y).sum().item()
    return correct / len(val_loader.dataset)


def fit(model, optimizer, train_loader, val_loader, epochs=5):
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()  # expect: TM202
            optimizer.step()
        print(f"epoch {epoch}: accuracy {validate(model, val_loader):.3f}")
