"""An epoch loop whose `model.train` lacks `()`: after the first validation every batch trains in eval mode."""

import torch
import torch.nn.functional as F


def validate(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in loader:
            correct += model(data).argmax(dim=1).eq(target).sum().item()
    return correct / len(loader.dataset)


def fit(model, optimizer, train_loader, val_loader, epochs):
    for epoch in range(epochs):
        model.train  # expect: TM301
        for data, target in train_loader:
            output = model(data)  # expect: TM101
            loss = F.cross_entropy(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        accuracy = validate(model, val_loader)
        print(f"epoch {epoch}: accuracy {accuracy:.3f}")
