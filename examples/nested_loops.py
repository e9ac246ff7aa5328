"""Script-style training: an epoch loop around a batch loop, validation in the epoch loop.

`model.train()` runs once, before both loops. `validate()` switches the model to
eval after the first epoch and nothing switches it back, so every batch of the
second and later epochs trains in eval mode. Run
`torchmode check examples/nested_loops.py`.
"""

import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.norm = nn.BatchNorm1d(32)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(32, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(F.relu(self.norm(self.fc1(x)))))


def validate(model, loader):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for data, target in loader:
            total += F.cross_entropy(model(data), target, reduction="sum").item()
    return total


def make_loader(batches: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(8, 20, generator=generator), torch.randint(0, 4, (8,), generator=generator))
        for _ in range(batches)
    ]


if __name__ == "__main__":
    torch.manual_seed(0)
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train_loader = make_loader(3, seed=1)
    val_loader = make_loader(2, seed=2)

    model.train()
    for epoch in range(3):
        for data, target in train_loader:
            output = model(data)
            loss = F.cross_entropy(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        val_loss = validate(model, val_loader)
        print(f"epoch {epoch} validation loss {val_loss:.4f}")
