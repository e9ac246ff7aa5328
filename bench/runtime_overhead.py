"""Figure 6: the runtime guard's overhead per training step, as a ratio to the unguarded step.

    python bench/runtime_overhead.py [--rounds 7] [--steps 30] [--threads 1] [--json OUT]

Two models on CPU, each trained the way a training loop does it, every step being
``model.train()``, ``zero_grad``, forward, loss, ``backward()``, ``optimizer.step()``:

* **small**: an MNIST-sized CNN (two convolutions with batch norm, dropout, two linear
  layers; 1x28x28 inputs, batch 32);
* **resnet18**: ResNet-18 built here from torch.nn layers (torchvision is not a
  dependency): the 11.7 M parameters of the real one, 3x96x96 inputs, batch 4.

Both run in this one process. Unguarded and guarded steps alternate, each pair in turn
starting with the other (the guard of ``torchmode run``, every hook and wrapper,
installed around each guarded step and removed after it, its caches kept), so a busy
shared machine slows both alike; times are the process's CPU time (``process_time``),
so that waiting for a core held by another process is not counted; a round's ratio
is the median over its pairs of guarded / unguarded step time. The
figure is the median ratio over the rounds, the smallest and largest beside it,
and the guard's cost per step (guarded minus unguarded median step time).

Every other validation step (an evaluation under ``no_grad`` in eval mode, then back to
train) is also included in the timed loop, so the guard's switch bookkeeping is paid.

Target (issue 18): <= 1.05.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import SERVER_SOURCES, spread_dict, write_json

sys.path.insert(0, str(SERVER_SOURCES))

import torch
import torch.nn.functional as F
from torch import nn

from torchmode.runtime.hooks import Guard

TARGET_RATIO = 1.05


class SmallNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc2(self.dropout(F.relu(self.fc1(x.flatten(1)))))


class BasicBlock(nn.Module):
    def __init__(self, inputs: int, outputs: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(
                nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18(nn.Module):
    """torchvision's resnet18 layout: 7x7 stem, four stages of two basic blocks, 1000 classes."""

    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        )
        stages: list[nn.Module] = []
        inputs = 64
        for outputs, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages.append(nn.Sequential(BasicBlock(inputs, outputs, stride), BasicBlock(outputs, outputs, 1)))
            inputs = outputs
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(512, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.stages(self.stem(x)), 1), 1))


def make_step(model: nn.Module, shape: tuple[int, ...], classes: int) -> Callable[[int], None]:
    generator = torch.Generator().manual_seed(0)
    data = torch.randn(*shape, generator=generator)
    target = torch.randint(0, classes, (shape[0],), generator=generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(index: int) -> None:
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data), target)
        loss.backward()
        optimizer.step()
        if index % 2:
            model.eval()
            with torch.no_grad():
                model(data[:2])

    return step


def measure(name: str, step: Callable[[int], None], rounds: int, steps: int, warmup: int) -> dict[str, Any]:
    """Steps alternate unguarded and guarded, in turn first (the same guard installed and removed
    around each guarded step, its caches kept), so that both see the same state of a shared
    machine. Times are the process's CPU time: waiting for a core another process holds is not
    the guard's cost."""
    guard = Guard(stream=io.StringIO())
    plain_times: list[float] = []
    guarded_times: list[float] = []
    ratios: list[float] = []
    index = 0

    def one(guarded: bool) -> float:
        if guarded:
            guard.install()
        started = time.process_time()
        step(index)
        elapsed = time.process_time() - started
        if guarded:
            guard.uninstall()
        return elapsed

    for _ in range(warmup):
        one(False)
        one(True)
        index += 1
    for _ in range(rounds):
        plain_round: list[float] = []
        guarded_round: list[float] = []
        for pair in range(steps):
            order = (False, True) if pair % 2 == 0 else (True, False)
            times = {guarded: one(guarded) for guarded in order}  # the same kind of step, twice
            plain_round.append(times[False])
            guarded_round.append(times[True])
            index += 1
        plain_times.append(statistics.median(plain_round))
        guarded_times.append(statistics.median(guarded_round))
        ratios.append(statistics.median(g / p for g, p in zip(guarded_round, plain_round, strict=True)))
    assert guard.forwards > 0 and not guard.failed, "the guard did not watch the steps"
    ratio = statistics.median(ratios)
    cost = statistics.median(guarded_times) - statistics.median(plain_times)
    print(
        f"{name:>9}: step {statistics.median(plain_times) * 1000:8.2f} ms unguarded, "
        f"{statistics.median(guarded_times) * 1000:8.2f} ms guarded; ratio {ratio:.3f} "
        f"({min(ratios):.3f}-{max(ratios):.3f}), {cost * 1e6:+.0f} us per step; "
        f"target <= {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'NOT met'}",
        flush=True,
    )
    return {
        "name": name,
        "step_seconds": spread_dict(plain_times),
        "guarded_step_seconds": spread_dict(guarded_times),
        "ratio": spread_dict(ratios),
        "cost_per_step_seconds": cost,
        "target_ratio": TARGET_RATIO,
        "forwards_watched": guard.forwards,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="guarded/unguarded rounds (default 7)")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per round and mode (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before each timing (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: less noise)")
    parser.add_argument(
        "--models", default="small,resnet18", help="comma-separated: small, resnet18 (default both)"
    )
    parser.add_argument("--resnet-size", type=int, default=96, help="input height and width for resnet18")
    parser.add_argument("--files", nargs="*", default=(), help=argparse.SUPPRESS)  # run_all passes it to all
    parser.add_argument("--json", help="write the figures as JSON here")
    options = parser.parse_args()

    torch.set_num_threads(options.threads)
    torch.manual_seed(0)
    builders: dict[str, Callable[[], Callable[[int], None]]] = {
        "small": lambda: make_step(SmallNet(), (32, 1, 28, 28), 10),
        "resnet18": lambda: make_step(ResNet18(), (4, 3, options.resnet_size, options.resnet_size), 1000),
    }
    models = []
    for name in options.models.split(","):
        steps = max(3, options.steps // 3) if name == "resnet18" else options.steps
        models.append(measure(name, builders[name](), options.rounds, steps, options.warmup))
    write_json(
        options.json,
        {"models": models, "threads": options.threads, "torch": torch.__version__, "rounds": options.rounds},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
