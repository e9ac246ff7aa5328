"""The seed's bug inside a trainer class: `fit()` calls `self.evaluate()`, which calls `self.model.eval()`.

`self.model.train()` runs once before the loop; after the first evaluation
every step trains in eval mode.
"""

import torch
import torch.nn.functional as F
from torch import nn


class Trainer:
    def __init__(self) -> None:
        self.model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.Dropout(0.3), nn.Linear(16, 3))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.05)
        self.val_x, self.val_y = torch.randn(8, 6), torch.randint(0, 3, (8,))

    def evaluate(self) -> float:
        self.model.eval()
        with torch.no_grad():
            return F.cross_entropy(self.model(self.val_x), self.val_y).item()

    def fit(self, steps: int) -> None:
        self.model.train()
        for step in range(steps):
            x, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
            loss = F.cross_entropy(self.model(x), y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            if step % 2 == 0:
                print(f"step {step} validation loss {self.evaluate():.4f}")


if __name__ == "__main__":
    torch.manual_seed(0)
    Trainer().fit(5)
