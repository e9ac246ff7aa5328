"""Inline validation at the end of each epoch leaves the model in eval mode for the next one.

`fit()` calls `model.train()` once, before the epoch loop. The last lines of the
loop body validate: `model.eval()` and a forward pass under `torch.no_grad()`.
Nothing switches back, so from the second epoch on the training forward pass
runs with dropout off and batch-norm statistics frozen; only the first epoch
really trains in train mode. Run `torchmode check examples/epoch_end_validation.py`.
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


def fit(model, optimizer, train_x, train_y, val_x, val_y, epochs=3):
    model.train()
    for epoch in range(epochs):
        output = model(train_x)
        loss = F.cross_entropy(output, train_y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        model.eval()
        with torch.no_grad():
            val_loss = F.cross_entropy(model(val_x), val_y)
        print(f"epoch {epoch} loss {loss.item():.4f} validation loss {val_loss.item():.4f}")


if __name__ == "__main__":
    torch.manual_seed(0)
    net = Net()
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    fit(
        net,
        sgd,
        torch.randn(32, 20),
        torch.randint(0, 4, (32,)),
        torch.randn(16, 20),
        torch.randint(0, 4, (16,)),
    )
