"""Run a program under real PyTorch and record the model's mode at each top-level forward call.

The recorder is a global forward pre-hook (``register_module_forward_pre_hook``),
so programs run unmodified. It keeps only *top-level* calls: no other module's
forward is running (a depth counter kept by a matching global forward hook),
and the first frame outside ``torch/nn/modules/module.py`` belongs to the
program file. Submodule calls made from ``Net.forward`` are thereby skipped,
although that code lives in the program file too.

Programs run in this process through ``runpy`` because a fresh interpreter
spends about three seconds importing torch, and the oracle runs a dozen of
them. Grad mode and the hooks are restored afterwards, whatever the program did.
"""

from __future__ import annotations

import contextlib
import io
import os
import runpy
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import torch
from torch.nn.modules import module as module_impl


@dataclass(frozen=True)
class ForwardRecord:
    """One observed top-level forward call."""

    line: int
    training: bool
    grad_enabled: bool
    module: str

    @property
    def mode(self) -> str:
        return "train" if self.training else "eval"


# Frames of nn.Module's own call machinery sit between the caller and the hook.
_MODULE_IMPL = os.path.realpath(module_impl.__file__)


@contextlib.contextmanager
def recording(program: Path) -> Iterator[list[ForwardRecord]]:
    target = os.path.realpath(program)
    records: list[ForwardRecord] = []
    depth = 0
    real_paths: dict[str, str] = {}

    def real(filename: str) -> str:
        if filename not in real_paths:
            real_paths[filename] = os.path.realpath(filename)
        return real_paths[filename]

    def caller_line() -> int | None:
        frame: FrameType | None = sys._getframe(2)
        while frame is not None and real(frame.f_code.co_filename) == _MODULE_IMPL:
            frame = frame.f_back
        if frame is not None and real(frame.f_code.co_filename) == target:
            return frame.f_lineno
        return None

    def pre_hook(module: torch.nn.Module, args: Any) -> None:
        nonlocal depth
        if depth == 0:
            line = caller_line()
            if line is not None:
                records.append(
                    ForwardRecord(line, module.training, torch.is_grad_enabled(), type(module).__name__)
                )
        depth += 1

    def post_hook(module: torch.nn.Module, args: Any, output: Any) -> None:
        nonlocal depth
        depth -= 1

    pre = module_impl.register_module_forward_pre_hook(pre_hook)
    # always_call: a forward that raises must still close its depth level.
    post = module_impl.register_module_forward_hook(post_hook, always_call=True)
    grad_enabled = torch.is_grad_enabled()
    try:
        yield records
    finally:
        pre.remove()
        post.remove()
        torch.set_grad_enabled(grad_enabled)


def run_program(program: Path) -> list[ForwardRecord]:
    """Run ``program`` as ``__main__`` and return its top-level forward calls in order."""
    saved_argv = sys.argv[:]
    sys.argv = [str(program)]
    try:
        with recording(program) as records, contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(str(program), run_name="__main__")
    finally:
        sys.argv = saved_argv
    return records
