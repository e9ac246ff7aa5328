"""Helpers for the runtime guard's tests: test programs run in this process, with and without it.

The programs in ``programs/`` mark what the guard must observe: ``# observed: TM101`` on
the line of the forward pass, ``# switch: TM101`` on the line of the ``train()``/``eval()``
call it must name as the cause; ``# select: ...`` near the top picks the rules. A program
without markers must stay silent. Programs print their results with full float precision,
so that any change the guard made to the computation would show in their output.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import runpy
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from torchmode.runtime.command import run_main

PROGRAMS = Path(__file__).resolve().parent / "programs"
_MARKER = re.compile(r"#\s*(observed|switch):\s*(TM\d+(?:\s*,\s*TM\d+)*)")
_SELECT = re.compile(r"^#\s*select:\s*(\S+)", re.MULTILINE)


@dataclass
class Expected:
    observed: set[tuple[str, int]]
    switches: dict[str, set[int]]
    select: str


def expected(program: Path) -> Expected:
    observed: set[tuple[str, int]] = set()
    switches: dict[str, set[int]] = {}
    source = program.read_text(encoding="utf-8")
    for number, line in enumerate(source.splitlines(), start=1):
        for kind, codes in _MARKER.findall(line):
            for code in (code.strip() for code in codes.split(",")):
                if kind == "observed":
                    observed.add((code, number))
                else:
                    switches.setdefault(code, set()).add(number)
    select = _SELECT.search(source)
    return Expected(observed, switches, select.group(1) if select else "TM101,TM102")


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    @property
    def findings(self) -> list[dict[str, Any]]:
        return [] if self.report is None else list(self.report["findings"])


@contextlib.contextmanager
def _program_folder_importable() -> Iterator[None]:
    # The programs import their shared helpers (common.py) as `python programs/x.py` would.
    saved = sys.modules.get("common")
    sys.modules.pop("common", None)
    try:
        yield
    finally:
        sys.modules.pop("common", None)
        if saved is not None:
            sys.modules["common"] = saved


@contextlib.contextmanager
def _torch_state_restored() -> Iterator[None]:
    grad = torch.is_grad_enabled()
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_grad_enabled(grad)
        torch.set_num_threads(threads)


def run_guarded(program: Path, report: Path, *options: str, terminal: io.StringIO | None = None) -> Run:
    """``torchmode run [options] program`` in this process; stdout and stderr captured (both into
    ``terminal``, in the order a terminal shows them, when it is given)."""
    out, err = (terminal, terminal) if terminal is not None else (io.StringIO(), io.StringIO())
    with (
        _program_folder_importable(),
        _torch_state_restored(),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        status = run_main(["--report", str(report), "--locale", "en", *options, str(program)])
    data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
    return Run(status, out.getvalue(), err.getvalue(), data)


def run_plain(program: Path) -> str:
    """The program's stdout without the guard (as ``python program`` would run it, in this process)."""
    out = io.StringIO()
    saved_path = sys.path[:]
    with _program_folder_importable(), _torch_state_restored():
        sys.path.insert(0, str(program.parent))
        try:
            with contextlib.redirect_stdout(out):
                runpy.run_path(str(program), run_name="__main__")
        finally:
            sys.path[:] = saved_path
    return out.getvalue()
