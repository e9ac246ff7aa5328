"""Types shared by the CLI tests (conftest.py holds the fixtures)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed_loop.py"


@dataclass(frozen=True)
class Run:
    """One run of the command line: exit code and both streams."""

    code: int
    out: str
    err: str


RunCli = Callable[..., Run]
