"""A fit() with its validation loop inline: eval() is there, no_grad is not."""

import torch.nn.functional as F
from torch import nn, optim


def fit(model: nn.Module, train_loader, val_loader, epochs: int = 10) -> list[float]:
    optimizer = optim.AdamW(model.parameters(), lr=3e-4)
    history = []
    for epoch in range(epochs):
        model.train()
        for inputs, labels in train_loader:
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(inputs), labels)
            loss.backward()
            optimizer.step()

        model.eval()
        val_loss = 0.0
        for inputs, labels in val_loader:
            logits = model(inputs)  # expect: TM201
            val_loss += F.cross_entropy(logits, labels).item()
        history.append(val_loss / len(val_loader))
        print(f"epoch {epoch}: val loss {history[-1]:.3f}")
    return history
