"""`model.train(False)` is `model.eval()` under another name (so is `model.train(mode=False)`).

`evaluate()` switches the model with `model.train(False)`, which is exactly
`model.eval()`. Called inside the batch loop, it leaves every later batch in
eval mode; the `model.train()` before the loop runs only once. Run
`torchmode check examples/train_false.py`.
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


def evaluate(model, loader):
    model.train(False)
    with torch.no_grad():
        return sum(F.cross_entropy(model(data), target).item() for data, target in loader)


def train(model, optimizer, train_loader, validation_loader, eval_every=3):
    model.train()
    for step, (data, target) in enumerate(train_loader, start=1):
        output = model(data)
        loss = F.cross_entropy(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % eval_every == 0:
            print(f"step {step} validation loss {evaluate(model, validation_loader):.4f}")


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
    train(net, sgd, make_loader(7, seed=1), make_loader(2, seed=2))
