"""A `continue` after inline validation skips the `model.train()` at the end of the loop body.

The restore is there, but the path that switched to eval never reaches it, so
the next step trains in eval mode. A control-flow graph must route `continue`
back to the loop head.
"""

import torch
import torch.nn.functional as F
from torch import nn


def main() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.Dropout(0.3), nn.Linear(16, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    model.train()
    step = 0
    while True:
        step += 1
        if step > 7:
            break
        x, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 3 == 0:
            model.eval()
            with torch.no_grad():
                print(f"step {step} validation {model(torch.randn(8, 6)).mean().item():.4f}")
            continue
        model.train()


if __name__ == "__main__":
    main()
