"""Ground truth from a real run: where a program trains a model in eval mode (TM101), evaluates
a trained model in train mode (TM102) or with autograd on (TM201).

The program runs in this process under real PyTorch (CPU) with global hooks:

* every *top-level* forward call (no other module's forward running) with the module, its
  mode-sensitive parts' modes (Dropout with p > 0, batch and instance norm that track running
  statistics), ``torch.is_grad_enabled()`` and the program's frames on the stack;
* every ``optimizer.step()`` with the parameters it updates;
* every backward (``Tensor.backward``, ``torch.autograd.backward`` and ``torch.autograd.grad``);
* every ``load_state_dict`` (a model with loaded weights is a trained one).

Whether a forward call F of a module M trains M is read from autograd itself: a hook on F's
output records every backward that sends a gradient into it, and M is trained by F when an
optimizer step that updates M's parameters follows such a backward with no ``zero_grad`` of
them in between (a GAN's generator step sends gradients through the discriminator too, but
its optimizer clears them before its own step). So:

* F is a **training forward** when a gradient reached its output and a step used it;
* F is an **evaluation** when no gradient ever reached its output, no backward raised before
  M's next forward (one that raised ends a failed training step), and M had been trained
  before it (a step updated it, or weights were loaded): a smoke test of a fresh, untrained
  network evaluates nothing, and input gradients (saliency) are no evaluation without grad.

Then: TM101 = a training forward while M is in eval mode and some mode-sensitive part of it
too (a part in eval under M in train mode was frozen on purpose: ``train()`` reaches every
part, so only a switch of that part can have put it there); TM102 = an evaluation while some
mode-sensitive part of M is in train mode; TM201 = an evaluation with autograd on that records
a graph (some output requires grad: with frozen parameters and plain inputs nothing is
recorded, and no_grad would save nothing). Each truth carries the program lines of every
frame on the stack at the forward: a static finding on any of them (the forward itself, or
the call of the helper that runs it) answers it.
"""

from __future__ import annotations

import contextlib
import io
import os
import runpy
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    module_training: bool = True  # the module itself (its ``training`` flag)
    graph: bool = False  # autograd recorded a graph for an output (some output requires grad)
    # Indexes of the backward events that sent a gradient into the output.
    reached_by: list[int] = field(default_factory=list)


@dataclass
class _Event:
    kind: str  # "forward", "step", "clear", "backward", "load"
    index: int
    forward: _Forward | None = None
    parameters: frozenset[int] = frozenset()
    module: nn.Module | None = None
    failed: bool = False  # a backward that raised


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


def _unwrapped(module: nn.Module) -> nn.Module:
    """The model a DataParallel / DistributedDataParallel wrapper runs: the wrapper only
    forwards to it, so the model's own mode is the one that counts."""
    while isinstance(module, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        module = module.module
    return module


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


@contextlib.contextmanager
def _recording(program: Path) -> Iterator[list[_Event]]:
    target = os.path.realpath(program)
    events: list[_Event] = []
    open_forwards: list[_Forward | None] = []  # one per module call in progress
    current_backward: list[int] = []

    def stack_lines() -> tuple[int, ...]:
        lines: list[int] = []
        frame: FrameType | None = sys._getframe(2)
        while frame is not None:
            if os.path.realpath(frame.f_code.co_filename) == target:
                lines.append(frame.f_lineno)
            frame = frame.f_back
        return tuple(lines)

    def pre_hook(module: nn.Module, args: Any) -> None:
        forward = None
        if not open_forwards:
            stack = stack_lines()
            if stack:
                in_train, in_eval = _sensitive_modes(module)
                forward = _Forward(
                    module,
                    stack,
                    torch.is_grad_enabled(),
                    in_train,
                    in_eval,
                    len(events),
                    _unwrapped(module).training,
                )
                events.append(_Event("forward", len(events), forward=forward, module=module))
        open_forwards.append(forward)

    def post_hook(module: nn.Module, args: Any, output: Any) -> None:
        forward = open_forwards.pop()
        if forward is None:
            return

        def reached(gradient: torch.Tensor) -> None:
            if current_backward and current_backward[-1] not in forward.reached_by:
                forward.reached_by.append(current_backward[-1])

        for tensor in _tensors(output):
            if tensor.requires_grad:
                forward.graph = True
                tensor.register_hook(reached)

    def step_hook(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        parameters = frozenset(id(p) for group in optimizer.param_groups for p in group["params"])
        events.append(_Event("step", len(events), parameters=parameters))

    real_backward = torch.Tensor.backward
    real_autograd_backward = torch.autograd.backward
    real_grad = torch.autograd.grad
    real_load = nn.Module.load_state_dict
    real_optimizer_zero_grad = torch.optim.Optimizer.zero_grad
    real_module_zero_grad = nn.Module.zero_grad

    def backward_event(run: Any, *args: Any, **kwargs: Any) -> Any:
        event = _Event("backward", len(events))
        events.append(event)
        current_backward.append(event.index)
        try:
            return run(*args, **kwargs)
        except BaseException:
            event.failed = True
            raise
        finally:
            current_backward.pop()

    def load_state_dict(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
        events.append(_Event("load", len(events), module=self))
        return real_load(self, *args, **kwargs)

    def optimizer_zero_grad(self: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> Any:
        parameters = frozenset(id(p) for group in self.param_groups for p in group["params"])
        events.append(_Event("clear", len(events), parameters=parameters))
        return real_optimizer_zero_grad(self, *args, **kwargs)

    def module_zero_grad(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
        events.append(_Event("clear", len(events), parameters=frozenset(id(p) for p in self.parameters())))
        return real_module_zero_grad(self, *args, **kwargs)

    pre = module_impl.register_module_forward_pre_hook(pre_hook)
    post = module_impl.register_module_forward_hook(post_hook, always_call=True)
    step = optimizer_impl.register_optimizer_step_pre_hook(step_hook)
    grad_enabled = torch.is_grad_enabled()
    torch.Tensor.backward = lambda *a, **k: backward_event(real_backward, *a, **k)  # type: ignore[method-assign]
    torch.autograd.backward = lambda *a, **k: backward_event(real_autograd_backward, *a, **k)
    torch.autograd.grad = lambda *a, **k: backward_event(real_grad, *a, **k)
    nn.Module.load_state_dict = load_state_dict  # type: ignore[method-assign]
    torch.optim.Optimizer.zero_grad = optimizer_zero_grad  # type: ignore[method-assign]
    nn.Module.zero_grad = module_zero_grad  # type: ignore[method-assign]
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
        torch.optim.Optimizer.zero_grad = real_optimizer_zero_grad  # type: ignore[method-assign]
        nn.Module.zero_grad = real_module_zero_grad  # type: ignore[method-assign]
        torch.set_grad_enabled(grad_enabled)


def _trains(events: list[_Event], backward: int, owned: set[int]) -> bool:
    """Does a step use the gradients ``backward`` gave ``owned``: a step updating them after it,
    with no zero_grad of them in between?"""
    for event in events[backward + 1 :]:
        if event.parameters & owned:
            if event.kind == "step":
                return True
            if event.kind == "clear":
                return False
    return False


def _truths(events: list[_Event]) -> set[Truth]:
    truths: set[Truth] = set()
    for event in events:
        forward = event.forward
        if forward is None:
            continue
        module = forward.module
        owned = {id(parameter) for parameter in module.parameters()}
        training = any(_trains(events, backward, owned) for backward in forward.reached_by)
        # A part in eval mode under a module in train mode was switched on its own (train()
        # reaches every part): a freeze on purpose (frozen batch-norm statistics), no mistake.
        if training and forward.parts_in_eval and not forward.module_training:
            truths.add(Truth("TM101", forward.stack))
        trained_before = any(
            (other.kind == "step" and other.parameters & owned)
            or (other.kind == "load" and other.module is module)
            for other in events[: event.index]
        )
        # A backward that raised before M's next forward (as after a leaked
        # set_grad_enabled(False)) marks a training step that failed, not an evaluation.
        next_forward = next(
            (other.index for other in events[event.index + 1 :] if other.module is module and other.forward),
            len(events),
        )
        attempted = any(
            other.kind == "backward" and other.failed for other in events[event.index + 1 : next_forward]
        )
        evaluation = not forward.reached_by and not attempted and trained_before
        if evaluation and forward.parts_in_train:
            truths.add(Truth("TM102", forward.stack))
        # With autograd on but nothing requiring grad (frozen parameters, plain inputs), no
        # graph is recorded: there is nothing for no_grad to save.
        if evaluation and forward.grad and forward.graph:
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
