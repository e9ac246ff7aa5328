"""`model.train(flag)` with a flag the checker cannot know: either mode is possible.

`set_mode()` passes its parameter on to `train()`; the loop calls it with a
value computed at run time, and some steps do train in eval mode.
"""

import torch
import torch.nn.functional as F
from torch import nn


def set_mode(model, training):
    model.train(training)


def main() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.Dropout(0.3), nn.Linear(16, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for step in range(6):
        set_mode(model, step % 3 != 2)
        x, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        print(f"validation {model(torch.randn(8, 6)).mean().item():.4f}")


if __name__ == "__main__":
    main()
