"""Shared by the distributed programs (run by torchrun, two ranks, gloo on the CPU)."""

import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


def setup() -> tuple[int, DistributedDataParallel, torch.optim.Optimizer]:
    """Join the process group; the same initial model on every rank, wrapped in DDP."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    torch.manual_seed(0)
    model = DistributedDataParallel(Net())
    torch.manual_seed(1 + dist.get_rank())  # each rank its own data and dropout masks
    return dist.get_rank(), model, torch.optim.SGD(model.parameters(), lr=0.1)


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(8, 8), torch.randint(0, 3, (8,))


def show(rank: int, label: str, value: torch.Tensor) -> None:
    """A value exactly, in one write: the ranks share stdout (``print`` writes the newline apart)."""
    sys.stdout.write(f"rank {rank} {label} {value.item()!r}\n")
    sys.stdout.flush()
