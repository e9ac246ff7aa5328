"""Shared by the guarded test programs: a small net with dropout and batch norm, seeded data."""

import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self, features: int = 8, classes: int = 3) -> None:
        super().__init__()
        self.fc1 = nn.Linear(features, 16)
        self.bn = nn.BatchNorm1d(16)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(F.relu(self.bn(self.fc1(x)))))


def batches(
    count: int, seed: int, features: int = 8, classes: int = 3
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randn(16, features, generator=generator),
            torch.randint(0, classes, (16,), generator=generator),
        )
        for _ in range(count)
    ]


def show(label: str, value: torch.Tensor | float) -> None:
    """Print a value exactly (repr of the float), so that any change to the computation shows."""
    number = value.item() if isinstance(value, torch.Tensor) else value
    print(f"{label} {number!r}")
