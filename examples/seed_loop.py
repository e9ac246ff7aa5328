"""The classic mode bug from the user's article: validation inside the loop switches the model to eval.

`train()` calls `model.train()` once, before its batch loop. Every `log_interval`
batches it calls `test()`, which calls `model.eval()` and never switches back,
so every later batch of the epoch trains with dropout off and batch-norm
statistics frozen. Run `torchmode check examples/seed_loop.py` to see the finding
and `torchmode check --diff examples/seed_loop.py` for the fix.

The fix the article gives: move `model.train()` into the loop, next to the step.
"""

import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(32, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.fc2(self.dropout(F.relu(self.fc1(x)))), dim=1)


def test(model, test_loader):
    model.eval()
    test_loss = 0.0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            correct += int((output.argmax(dim=1) == target).sum())
    return test_loss, correct


def train(model, optimizer, epoch, train_loader, validation_loader, log_interval=2):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        output = model(data)
        loss = F.nll_loss(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if batch_idx % log_interval == 0:
            print(f"epoch {epoch} batch {batch_idx} loss {loss.item():.4f}")
            val_loss, val_correct = test(model, validation_loader)
            print(f"validation loss {val_loss:.4f} correct {val_correct}")


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
    for epoch_index in range(2):
        train(net, sgd, epoch_index, make_loader(6, seed=1), make_loader(2, seed=2))
