"""Validation in `try` with `model.train()` in `finally`: train mode is back before every step.

Silent: whichever way validation ends, `finally` restores train mode.
"""

import torch
import torch.nn.functional as F
from torch import nn


def main() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.Dropout(0.3), nn.Linear(16, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    model.train()
    for step in range(6):
        x, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 2 == 1:
            try:
                model.eval()
                with torch.no_grad():
                    print(f"step {step} validation {model(torch.randn(8, 6)).mean().item():.4f}")
            finally:
                model.train()


if __name__ == "__main__":
    main()
