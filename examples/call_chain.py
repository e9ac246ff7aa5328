"""The seed's bug one call level deeper: train -> log_progress -> test.

`train()` sets train mode once, before its batch loop. Every `log_interval`
batches it calls `log_progress()`, which calls `test()`, which switches the
model to eval and leaves it there. The switch is two calls away from the loop,
so reading `train()` alone shows nothing wrong, yet every batch after the first
log trains with dropout off and batch-norm statistics frozen.
Run `torchmode check examples/call_chain.py`.
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


def test(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in loader:
            correct += int((model(data).argmax(dim=1) == target).sum())
    return correct


def log_progress(model, batch_idx, loss, validation_loader):
    correct = test(model, validation_loader)
    print(f"batch {batch_idx} loss {loss:.4f} validation correct {correct}")


def train(model, optimizer, train_loader, validation_loader, log_interval=2):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        output = model(data)
        loss = F.cross_entropy(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if batch_idx % log_interval == 0:
            log_progress(model, batch_idx, loss.item(), validation_loader)


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
    train(net, sgd, make_loader(5, seed=1), make_loader(2, seed=2))
