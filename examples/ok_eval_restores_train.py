"""A validation helper that switches back to train mode before it returns. torchmode stays silent.

`validate()` may be called anywhere inside the training loop: it leaves the
model in train mode, so the `model.train()` before the loop keeps covering
every batch.
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
    model.train()
    return total


def train(model, optimizer, train_loader, validation_loader, log_interval=2):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        output = model(data)
        loss = F.cross_entropy(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if batch_idx % log_interval == 0:
            print(f"batch {batch_idx} validation loss {validate(model, validation_loader):.4f}")


def make_loader(batches: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(8, 20, generator=generator), torch.randint(0, 4, (8,), generator=generator))
        for _ in range(batches)
    ]


if __name__ == "__main__":
    torch.manual_seed(0)
    net = Net()
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    for _epoch in range(2):
        train(net, sgd, make_loader(5, seed=1), make_loader(2, seed=2))
