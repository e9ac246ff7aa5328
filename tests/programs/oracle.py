"""Ground truth from a real run: where a program trains a model in eval mode (TM101), evaluates
a trained model in train mode (TM102) or with autograd on (TM201).

The program runs in this process under real PyTorch (CPU) with global hooks:

* every *top-level* forward call (no other module's forward running) with the module, its
  mode-sensitive parts' modes (Dropout with p > 0, batch and instance norm that track running
  statistics), ``torch.is_grad_enabled()`` and the program's frames on the stack;
* every ``optimizer.step()`` with the parameters it updates;
* every backward (``Tensor.backward``, ``torch.autograd.backward`` and ``torch.autograd.grad``);
* every ``load_state_dict`` (a model with loaded weights is a trained one).

From the event sequence, for each forward call F of a module M:

* F is a **training forward** when autograd is on, a backward runs after F before M's next
  forward, and an optimizer step that updates a parameter of M runs after F;
* F is an **evaluation** when it is not a training forward, no backward runs after it before
  M's next forward, and M had been trained before it (a step updated it, or weights were
  loaded): a smoke test of a fresh, untrained network evaluates nothing.

Then: TM101 = a training forward while some mode-sensitive part of M is in eval mode; TM102 = an
evaluation while some mode-sensitive part of M is in train mode; TM201 = an evaluation with
autograd on. Each truth carries the program lines of every frame on the stack at the forward:
a static finding on any of them (the forward itself, or the call of the helper that runs it)
answers it.
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
from torch import nn
from torch.nn.modules import module as module_impl
from torch.optim import optimizer as optimizer_impl

_SENSITIVE = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
_NORMS = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm)


@dataclass(frozen=True)
class Truth:
    """A mode or grad mistake the run showed, and the program lines on its stack."""

    code: str
    lines: tuple[int, ...]  # innermost first


@dataclass
class _Forward:
    module: nn.Module
    stack: tuple[int, ...]
    grad: bool
    parts_in_train: bool  # some mode-sensitive part in train mode
    parts_in_eval: bool  # some mode-sensitive part in eval mode
    index: int


@dataclass
class _Event:
    kind: str  # "forward", "step", "backward", "load"
    index: int
    forward: _Forward | None = None
    parameters: frozenset[int] = frozenset()
    module: nn.Module | None = None


def _sensitive_modes(module: nn.Module) -> tuple[bool, bool]:
    """(some mode-sensitive part in train mode, some in eval mode)."""
    in_train = in_eval = False
    for part in module.modules():
        sensitive = (isinstance(part, _SENSITIVE) and float(getattr(part, "p", 0.0)) > 0) or (
            isinstance(part, _NORMS) and part.track_running_stats
        )
        if sensitive:
            in_train = in_train or part.training
            in_eval = in_eval or not part.training
    return in_train, in_eval


@contextlib.contextmanager
def _recording(program: Path) -> Iterator[list[_Event]]:
    target = os.path.realpath(program)
    events: list[_Event] = []
    depth = 0

    def stack_lines() -> tuple[int, ...]:
        lines: list[int] = []
        frame: FrameType | None = sys._getframe(2)
        while frame is not None:
            if os.path.realpath(frame.f_code.co_filename) == target:
                lines.append(frame.f_lineno)
            frame = frame.f_back
        return tuple(lines)

    def pre_hook(module: nn.Module, args: Any) -> None:
        nonlocal depth
        if depth == 0:
            stack = stack_lines()
            if stack:
                in_train, in_eval = _sensitive_modes(module)
                forward = _Forward(module, stack, torch.is_grad_enabled(), in_train, in_eval, len(events))
                events.append(_Event("forward", len(events), forward=forward, module=module))
        depth += 1

    def post_hook(module: nn.Module, args: Any, output: Any) -> None:
        nonlocal depth
        depth -= 1

    def step_hook(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        parameters = frozenset(id(p) for group in optimizer.param_groups for p in group["params"])
        events.append(_Event("step", len(events), parameters=parameters))

    real_backward = torch.Tensor.backward
    real_autograd_backward = torch.autograd.backward
    real_grad = torch.autograd.grad
    real_load = nn.Module.load_state_dict

    def backward(*args: Any, **kwargs: Any) -> Any:
        events.append(_Event("backward", len(events)))
        return real_backward(*args, **kwargs)

    def autograd_backward(*args: Any, **kwargs: Any) -> Any:
        events.append(_Event("backward", len(events)))
        return real_autograd_backward(*args, **kwargs)

    def grad(*args: Any, **kwargs: Any) -> Any:
        events.append(_Event("backward", len(events)))
        return real_grad(*args, **kwargs)

    def load_state_dict(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
        events.append(_Event("load", len(events), module=self))
        return real_load(self, *args, **kwargs)

    pre = module_impl.register_module_forward_pre_hook(pre_hook)
    post = module_impl.register_module_forward_hook(post_hook, always_call=True)
    step = optimizer_impl.register_optimizer_step_pre_hook(step_hook)
    grad_enabled = torch.is_grad_enabled()
    torch.Tensor.backward = backward  # type: ignore[method-assign]
    torch.autograd.backward = autograd_backward
    torch.autograd.grad = grad
    nn.Module.load_state_dict = load_state_dict  # type: ignore[method-assign]
    try:
        yield events
    finally:
        pre.remove()
        post.remove()
        step.remove()
        torch.Tensor.backward = real_backward  # type: ignore[method-assign]
        torch.autograd.backward = real_autograd_backward
        torch.autograd.grad = real_grad
        nn.Module.load_state_dict = real_load  # type: ignore[method-assign]
        torch.set_grad_enabled(grad_enabled)


def _truths(events: list[_Event]) -> set[Truth]:
    truths: set[Truth] = set()
    forwards = [event for event in events if event.kind == "forward"]
    for event in forwards:
        forward = event.forward
        assert forward is not None
        module = forward.module
        owned = {id(parameter) for parameter in module.parameters()}
        later = events[event.index + 1 :]
        next_forward = next(
            (other.index for other in later if other.kind == "forward" and other.module is module),
            len(events),
        )
        window = events[event.index + 1 : next_forward]
        backward_after = any(other.kind == "backward" for other in window)
        stepped_after = any(other.kind == "step" and other.parameters & owned for other in later)
        trained_before = any(
            (other.kind == "step" and other.parameters & owned)
            or (other.kind == "load" and other.module is module)
            for other in events[: event.index]
        )
        training = forward.grad and backward_after and stepped_after
        if training and forward.parts_in_eval:
            truths.add(Truth("TM101", forward.stack))
        evaluation = not training and not backward_after and trained_before
        if evaluation and forward.parts_in_train:
            truths.add(Truth("TM102", forward.stack))
        if evaluation and forward.grad:
            truths.add(Truth("TM201", forward.stack))
    return truths


def run_program(program: Path) -> set[Truth]:
    """Run ``program`` as ``__main__`` (quietly, seeded) and return the mistakes its run showed."""
    saved_argv = sys.argv[:]
    sys.argv = [str(program)]
    torch.manual_seed(0)
    try:
        with _recording(program) as events, contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(str(program), run_name="__main__")
    finally:
        sys.argv = saved_argv
    return _truths(events)
