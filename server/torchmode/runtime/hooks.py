"""The runtime guard: PyTorch's global hooks watching the facts the mode rules need.

What it installs (all removed again by :meth:`Guard.uninstall`):

* a global forward pre-hook and forward hook (``register_module_forward_pre_hook`` /
  ``register_module_forward_hook(always_call=True)``): a per-thread depth counter, so
  that only the outermost module call of each forward pass is inspected;
* global optimizer step hooks (``register_optimizer_step_pre_hook`` and ``..._post_hook``):
  the step count, and the moment a training step is judged;
* wrappers around ``nn.Module.train`` (``eval()`` calls it) remembering, for every module,
  the user's line that last switched its mode, and around ``Optimizer.zero_grad`` and
  ``Module.zero_grad`` (gradients cleared before a step were not trained on).

The rules, as observed facts:

* **TM101**: a forward pass with autograd on ran while mode-sensitive parts were in eval
  mode; its graph went through a ``backward()`` that accumulated into the parameters;
  no ``zero_grad`` cleared them; and an ``optimizer.step()`` then updated parameters of
  those parts (or, for parts without parameters such as dropout, of the module holding
  them). Whether a backward reaches the parameters is asked of autograd itself, inside
  a hook on the output's ``grad_fn``: ``torch.autograd.grad(loss, inputs)`` (adversarial
  inputs, saliency) trains nothing.
* **TM102**: forward passes with autograd off (``no_grad``, ``inference_mode``), called from
  the user's code (not from a library such as ``swa_utils.update_bn``, which runs train
  mode under ``no_grad`` on purpose), while mode-sensitive parts were in train mode, and
  no optimizer step ran between them: a run of at least ``EVALUATION_RUN`` such passes, or
  any left when the program ends. One or two passes followed by a step are taken to feed
  that step (a mean teacher, pseudo-labels) and are not reported.
* **TM201** (off by default): a forward pass in eval mode with autograd on whose graph is
  freed without any backward pass running through it.

A part counts only when the switch that left it in its mode covered the called module
(``model.eval()`` on the model, or on a wrapper around it): switching one layer on its
own (``bn.eval()`` to freeze statistics, ``dropout.train()`` for MC dropout), or a mode
change made inside another ``train()`` call (an override that freezes its norms) is taken
as deliberate. A part with no switch seen counts when the called module itself is in
that mode (a model loaded or copied in eval mode).

It never changes what the program computes: hooks return None, nothing reads a tensor's
values (no device synchronisation), no random numbers are drawn. It inspects no code
inside ``torch.compile``: every hook returns at once while Dynamo traces, so it adds no
graph break; a compiled module is watched through its ``OptimizedModule`` wrapper. A
failure inside the guard turns it off with one warning; the program goes on.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any, TextIO

import torch
from torch import nn
from torch.nn.modules import module as module_hooks
from torch.optim import optimizer as optimizer_hooks

from torchmode.docs import text
from torchmode.runtime import frames
from torchmode.runtime.observations import (
    DEFAULT_SELECT,
    KNOWN_CODES,
    Observation,
    Part,
    SourceSpan,
    Switch,
    render_message,
)
from torchmode.runtime.report import RunReport
from torchmode.runtime.sensitivity import describe, is_mode_sensitive
from torchmode.syntax.suppression import silences

# No-grad forwards of one model with no optimizer step between them that make an evaluation.
EVALUATION_RUN = 3
# A backward that trained no optimizer's parameters within this many steps trained nothing.
TRAINING_CANDIDATE_STEPS = 2
MAX_PENDING = 4096
# Outputs whose graph is watched: the first tensors of a tuple, list or dict output.
MAX_WATCHED_OUTPUTS = 8
COMPILE_WARNING = r"Using `torch\.compile\(module\)` when there are global hooks"
_WRAPPER_MARK = "__torchmode_guard__"


# --- what is remembered -------------------------------------------------------------------------


@dataclass(eq=False)
class _SwitchEvent:
    """One ``train(mode)`` call made from outside ``train()`` itself (or a deliberate one inside)."""

    training: bool
    span: SourceSpan | None
    call: str
    target: weakref.ref[Any]
    deliberate: bool

    def as_switch(self) -> Switch | None:
        return None if self.span is None else Switch(self.span, self.call, self.training)


@dataclass(eq=False)
class _PartFacts:
    name: str
    module: Any
    root: weakref.ref[Any]  # the module it was found in
    path: str  # its name in that module
    _trained_by: list[Any] | None = None

    @property
    def trained_by(self) -> list[Any]:
        """Whose parameters being updated means this part was trained: its own, or (dropout, a
        batch norm without affine weights) those of the module holding it. Asked only when a
        finding is possible, so not worked out for every part of every model."""
        if self._trained_by is None:
            root = self.root()
            self._trained_by = _trainable_owner(root, self.path, self.module) if root is not None else []
        return self._trained_by


@dataclass(eq=False)
class _ModuleFacts:
    """What is cached per module between two ``train()``/``eval()`` calls."""

    ref: weakref.ref[Any]
    generation: int
    parts: list[_PartFacts]
    _module_ids: frozenset[int] | None = None
    _parameter_ids: frozenset[int] | None = None

    def module_ids(self) -> frozenset[int]:
        if self._module_ids is None:
            module = self.ref()
            self._module_ids = frozenset(map(id, module.modules())) if module is not None else frozenset()
        return self._module_ids

    def parameter_ids(self) -> frozenset[int]:
        if self._parameter_ids is None:
            module = self.ref()
            self._parameter_ids = (
                frozenset(map(id, module.parameters())) if module is not None else frozenset()
            )
        return self._parameter_ids


@dataclass(eq=False)
class _CountedPart:
    part: _PartFacts
    event: _SwitchEvent | None


@dataclass(eq=False)
class _TrainingForward:
    """A forward pass with autograd on whose graph is watched until it is freed."""

    module: weakref.ref[Any]
    facts: _ModuleFacts
    counted: list[_CountedPart]  # parts in eval mode that count for TM101
    span: SourceSpan
    description: str
    probe: Any  # a parameter's gradient accumulator: does a backward reach the parameters?
    watch_unused: bool  # TM201: report if no backward uses the graph
    step_at_forward: int
    used: bool = False
    trains_parameters: bool = False
    steps_waited: int = 0
    graph_alive: Any = None  # weakref to the hook the graph holds


@dataclass(eq=False)
class _EvaluationForward:
    span: SourceSpan
    module: Any
    facts: _ModuleFacts
    counted: list[_CountedPart]
    step: int
    context: str
    description: str


class _ThreadState(threading.local):
    depth = 0

    def __init__(self) -> None:
        self.train_calls: list[_SwitchEvent] = []


@dataclass
class _Settings:
    select: frozenset[str]
    locale: str
    stream: TextIO | None
    print_findings: bool


# --- the guard ----------------------------------------------------------------------------------


class Guard:
    """Watches modes while a program runs. ``install()``, run the program, ``finish()``."""

    def __init__(
        self,
        select: tuple[str, ...] | list[str] = DEFAULT_SELECT,
        locale: str = "en",
        stream: TextIO | None = None,
        print_findings: bool = True,
    ) -> None:
        unknown = sorted(set(select) - set(KNOWN_CODES))
        if unknown:
            raise ValueError(f"the runtime guard observes {', '.join(KNOWN_CODES)}, not {', '.join(unknown)}")
        self._settings = _Settings(frozenset(select), locale, stream, print_findings)
        self._frames = frames.FrameClassifier()
        self._thread = _ThreadState()
        self._lock = threading.RLock()
        self._sequence = itertools.count(1)
        self._installed = False
        self._active = False
        self._failed = False
        self._handles: list[Any] = []
        self._originals: dict[tuple[type, str], Callable[..., Any]] = {}
        self._warning_filter: tuple[Any, ...] | None = None
        self._generation = 0
        self._facts: dict[int, _ModuleFacts] = {}
        self._switches: dict[int, tuple[weakref.ref[Any], _SwitchEvent]] = {}
        self._switches_pruned_at = 0
        self._optimizer_steps: dict[int, tuple[weakref.ref[Any], int]] = {}
        self._optimizer_parameters: dict[int, tuple[weakref.ref[Any], tuple[int, int], frozenset[int]]] = {}
        self._trained_candidates: list[_TrainingForward] = []
        self._evaluations: dict[int, list[_EvaluationForward]] = {}
        self._confirmed_evaluations: set[int] = set()
        self._observations: dict[tuple[Any, ...], Observation] = {}
        self._suppressed: set[tuple[Any, ...]] = set()
        self._noted_compiled = False
        # Findings count steps per optimizer (a GAN's two optimizers are both at step N in
        # iteration N); the summary counts every step.
        self.steps = 0
        self.total_steps = 0
        self.forwards = 0
        self.started = 0.0
        self.notes: list[str] = []

    # --- installing ------------------------------------------------------------------------------

    def install(self) -> Guard:
        if self._installed:
            return self
        self.started = time.time()
        self._handles = [
            module_hooks.register_module_forward_pre_hook(self._before_forward),
            module_hooks.register_module_forward_hook(self._after_forward, always_call=True),
            optimizer_hooks.register_optimizer_step_pre_hook(self._before_step),
            optimizer_hooks.register_optimizer_step_post_hook(self._after_step),
        ]
        self._wrap(nn.Module, "train", self._train_wrapper)
        self._wrap(nn.Module, "zero_grad", self._module_zero_grad_wrapper)
        self._wrap(torch.optim.Optimizer, "zero_grad", self._optimizer_zero_grad_wrapper)
        # torch warns on every call of a compiled module while global module hooks exist; the
        # hooks are the guard's, so is the warning's noise.
        warnings.filterwarnings("ignore", message=COMPILE_WARNING, category=UserWarning)
        self._warning_filter = warnings.filters[0]
        self._installed = True
        self._active = True
        return self

    def uninstall(self) -> None:
        """Remove every hook and wrapper (a wrapper someone else wrapped again stays, inert)."""
        if not self._installed:
            return
        self._active = False
        for handle in self._handles:
            handle.remove()
        self._handles = []
        for (owner, name), original in self._originals.items():
            current = owner.__dict__.get(name)
            if getattr(current, _WRAPPER_MARK, None) is self:
                setattr(owner, name, original)
        self._originals = {}
        if self._warning_filter is not None:
            with contextlib.suppress(ValueError):
                warnings.filters.remove(self._warning_filter)  # type: ignore[attr-defined]
                mutated = getattr(warnings, "_filters_mutated", None)
                if mutated is not None:
                    mutated()
            self._warning_filter = None
        self._installed = False

    def _wrap(self, owner: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        original = owner.__dict__[name]
        wrapper = functools.wraps(original)(make(original))
        setattr(wrapper, _WRAPPER_MARK, self)
        self._originals[(owner, name)] = original
        setattr(owner, name, wrapper)

    def _fail(self, error: BaseException) -> None:
        """An internal error: stop observing (hooks stay as no-ops until uninstalled), warn once."""
        if self._failed:
            return
        self._failed = True
        self._active = False
        self.say(
            "warning", text("runtime.warning.disabled", self._settings.locale, error=_describe_error(error))
        )

    def say(self, level: str, message: str) -> None:
        self._write_line(f"torchmode: {level}: {message}")

    def _write_line(self, line: str) -> None:
        """One line in one write: the ranks of a distributed run share the terminal, and
        ``print`` writes the newline apart (unbuffered stderr interleaves them mid-line)."""
        stream = self._settings.stream if self._settings.stream is not None else sys.stderr
        with contextlib.suppress(Exception):
            stream.write(line + "\n")
            stream.flush()

    @property
    def active(self) -> bool:
        return self._active

    @property
    def locale(self) -> str:
        return self._settings.locale

    @property
    def failed(self) -> bool:
        return self._failed

    # --- train() and zero_grad() -----------------------------------------------------------------

    def _train_wrapper(self, original: Callable[..., Any]) -> Callable[..., Any]:
        guard = self

        def train(self: Any, mode: bool = True) -> Any:
            calls = guard._thread.train_calls
            # train() recursing into the children (or an override calling super().train())
            # is the same switch as the outermost call: nothing to record, and it is the hot path.
            if calls and calls[0].training == mode:
                return original(self, mode)
            if not guard._active or not isinstance(mode, bool) or torch.compiler.is_compiling():
                return original(self, mode)
            try:
                event = guard._switch_event(self, mode, calls)
            except Exception as error:
                guard._fail(error)
                return original(self, mode)
            calls.append(event)
            try:
                return original(self, mode)
            finally:
                calls.pop()

        return train

    def _switch_event(self, module: Any, mode: bool, calls: list[_SwitchEvent]) -> _SwitchEvent:
        """Record who switched ``module`` (and everything inside it) to ``mode``, and refresh
        the cached mode-sensitive parts of ``module`` in the same walk over its modules.

        A call inside another ``train()`` that asks for the other mode is an override freezing
        parts on purpose (``norm_eval``), and is marked deliberate.
        """
        frame = self._frames.user_frame(sys._getframe(2))
        # Called from an override of train()/eval(): the switch is where the override was
        # called from; and the override switching some other module (its norms) is deliberate.
        override_of = None
        while frame is not None and frame.f_code.co_name in ("train", "eval"):
            owner = frame.f_locals.get("self")
            if not isinstance(owner, nn.Module):
                break
            override_of = owner
            frame = self._frames.user_frame(frame.f_back)
        span = self._frames.span(frame) if frame is not None else None
        event = _SwitchEvent(
            training=mode,
            span=span,
            call=frames.source_text(span) if span is not None else "",
            target=weakref.ref(module),
            deliberate=bool(calls) or (override_of is not None and override_of is not module),
        )
        with self._lock:
            self._generation += 1
            switches = self._switches
            parts = []
            for name, inner in module.named_modules():
                switches[id(inner)] = (weakref.ref(inner), event)
                if is_mode_sensitive(inner):
                    parts.append(_PartFacts(_display_name(name), inner, weakref.ref(module), name))
            self._facts[id(module)] = _ModuleFacts(weakref.ref(module), self._generation, parts)
            if len(switches) > 2 * self._switches_pruned_at + 1024:
                self._switches = {key: value for key, value in switches.items() if value[0]() is not None}
                self._switches_pruned_at = len(self._switches)
        return event

    def _switch_of(self, module: Any) -> _SwitchEvent | None:
        entry = self._switches.get(id(module))
        if entry is None or entry[0]() is not module:
            return None
        return entry[1]

    def _module_zero_grad_wrapper(self, original: Callable[..., Any]) -> Callable[..., Any]:
        guard = self

        def zero_grad(self: Any, *args: Any, **kwargs: Any) -> Any:
            if guard._active and guard._trained_candidates and not torch.compiler.is_compiling():
                try:
                    guard._gradients_cleared(frozenset(map(id, self.parameters())))
                except Exception as error:
                    guard._fail(error)
            return original(self, *args, **kwargs)

        return zero_grad

    def _optimizer_zero_grad_wrapper(self, original: Callable[..., Any]) -> Callable[..., Any]:
        guard = self

        def zero_grad(self: Any, *args: Any, **kwargs: Any) -> Any:
            if guard._active and guard._trained_candidates and not torch.compiler.is_compiling():
                try:
                    guard._gradients_cleared(guard._optimizer_parameter_ids(self))
                except Exception as error:
                    guard._fail(error)
            return original(self, *args, **kwargs)

        return zero_grad

    def _gradients_cleared(self, parameter_ids: frozenset[int]) -> None:
        """Backward passes before a ``zero_grad`` trained nothing these parameters keep."""
        with self._lock:
            self._trained_candidates = [
                candidate
                for candidate in self._trained_candidates
                if not any(id(parameter) in parameter_ids for parameter in _trained_parameters(candidate))
            ]

    # --- forward passes --------------------------------------------------------------------------

    def _before_forward(self, module: Any, args: Any) -> None:
        if torch.compiler.is_compiling():
            return
        self._thread.depth += 1

    def _after_forward(self, module: Any, args: Any, output: Any) -> None:
        if torch.compiler.is_compiling():
            return
        state = self._thread
        state.depth = max(state.depth - 1, 0)
        if state.depth or not self._active or getattr(module, "_is_replica", False):
            return
        try:
            self._outermost_forward(module, output)
        except Exception as error:
            self._fail(error)

    def _module_facts(self, module: Any) -> _ModuleFacts:
        facts = self._facts.get(id(module))
        if facts is not None and facts.generation == self._generation and facts.ref() is module:
            return facts
        parts = []
        for name, part in module.named_modules():
            if is_mode_sensitive(part):
                parts.append(_PartFacts(_display_name(name), part, weakref.ref(module), name))
        facts = _ModuleFacts(weakref.ref(module), self._generation, parts)
        with self._lock:
            if len(self._facts) > 4096:
                self._facts = {key: value for key, value in self._facts.items() if value.ref() is not None}
            self._facts[id(module)] = facts
        return facts

    def _outermost_forward(self, module: Any, output: Any) -> None:
        self.forwards += 1
        select = self._settings.select
        if not self._noted_compiled and hasattr(module, "_orig_mod"):
            self._noted_compiled = True
            self.say("note", text("runtime.note.compiled", self._settings.locale, module=describe(module)))
        facts = self._module_facts(module)
        if torch.is_grad_enabled():
            watch_unused = "TM201" in select and not module.training
            if not facts.parts and not watch_unused:
                return
            counted = self._counted_parts(module, facts, training=False) if "TM101" in select else []
            if counted or watch_unused:
                self._watch_graph(module, facts, counted, output, watch_unused)
        elif "TM102" in select and facts.parts:
            counted = self._counted_parts(module, facts, training=True)
            if counted:
                self._evaluation_forward(module, facts, counted)

    def _counted_parts(self, called: Any, facts: _ModuleFacts, training: bool) -> list[_CountedPart]:
        """The parts in ``training`` mode that count, each with the switch that put it there."""
        counted = []
        for part in facts.parts:
            if bool(part.module.training) == training:
                counts, event = self._counting_switch(part.module, called, facts, training)
                if counts:
                    counted.append(_CountedPart(part, event))
        return counted

    def _counting_switch(
        self, part: Any, called: Any, facts: _ModuleFacts, training: bool
    ) -> tuple[bool, _SwitchEvent | None]:
        """Whether ``part`` being in ``training`` mode counts, and the switch that put it there.

        It does not count when that switch was deliberate and partial: made on a part of the
        called module only, or inside another ``train()``.
        """
        event = self._switch_of(part)
        if event is None or event.training != training:
            # No switch seen, or the mode was set without train() (``module.training = ...``):
            # it counts when the whole called module is in that mode.
            return (called.training == training, None)
        if event.deliberate:
            return (False, event)
        target = event.target()
        if target is None:
            return (False, event)
        if target is called:
            return (True, event)
        target_facts = self._module_facts(target)
        if id(called) in target_facts.module_ids():
            return (True, event)  # the switch was on something holding the called module
        inside = facts.parameter_ids()
        # A wrapper (DataParallel, a Lightning module, a compiled module) called around the
        # switched model: the switch covered it when it covered all of its parameters.
        return (bool(inside) and inside <= target_facts.parameter_ids(), event)

    def _watch_graph(
        self, module: Any, facts: _ModuleFacts, counted: list[_CountedPart], output: Any, watch_unused: bool
    ) -> None:
        nodes = _output_nodes(output)
        if not nodes:
            return
        probe = None
        if counted:
            probe = _gradient_probe(counted)
            if probe is None and not watch_unused:
                return  # nothing in eval mode can be trained: no parameter requires grad
        span = self._user_span()
        if span is None:
            return
        candidate = _TrainingForward(
            module=weakref.ref(module),
            facts=facts,
            counted=counted if probe is not None else [],
            span=span,
            description=describe(module),
            probe=probe,
            watch_unused=watch_unused,
            step_at_forward=self.steps,
        )
        hook = _graph_hook(self, candidate)
        for node in nodes:
            node.register_prehook(hook)
        # The graph alone holds the hook: when it is freed, so is the hook, and this fires.
        candidate.graph_alive = weakref.ref(
            hook, functools.partial(_graph_freed, weakref.ref(self), candidate)
        )

    def _backward_reached(self, candidate: _TrainingForward) -> None:
        """Called by autograd (maybe on another thread) when a backward runs through the output."""
        if not self._active:
            return
        candidate.used = True
        if candidate.probe is None or candidate.trains_parameters:
            return
        try:
            reaches = bool(torch._C._will_engine_execute_node(candidate.probe))
        except (RuntimeError, AttributeError):
            reaches = True  # cannot ask autograd: a backward through the output is assumed to train
        if reaches:
            candidate.trains_parameters = True
            with self._lock:
                self._trained_candidates.append(candidate)
                if len(self._trained_candidates) > MAX_PENDING:
                    del self._trained_candidates[: len(self._trained_candidates) - MAX_PENDING]

    def _graph_unused(self, candidate: _TrainingForward) -> None:
        if self._active and candidate.watch_unused and not candidate.used:
            self._observe("TM201", candidate.span, candidate.description, (), 0, None, self.steps, "")

    def _evaluation_forward(self, module: Any, facts: _ModuleFacts, counted: list[_CountedPart]) -> None:
        frame = sys._getframe(1)
        origin = self._frames.caller_origin(frame)
        if origin is not frames.Origin.USER:
            return  # a library's own pass in train mode under no_grad (update_bn): on purpose
        span = self._user_span()
        if span is None:
            return
        context = "inference_mode" if torch.is_inference_mode_enabled() else "no_grad"
        candidate = _EvaluationForward(span, module, facts, counted, self.steps, context, describe(module))
        key = id(module)
        with self._lock:
            if key in self._confirmed_evaluations:
                self._confirm_evaluation(candidate)
                return
            pending = self._evaluations.setdefault(key, [])
            pending.append(candidate)
            if len(pending) >= EVALUATION_RUN:
                # A run of passes with no step between: an evaluation, and so is the rest of it.
                self._confirmed_evaluations.add(key)
                del self._evaluations[key]
                for waiting in pending:
                    self._confirm_evaluation(waiting)

    def _confirm_evaluation(self, candidate: _EvaluationForward) -> None:
        parts = [counted.part for counted in candidate.counted]
        switch = next((counted.event for counted in candidate.counted if counted.event is not None), None)
        self._observe(
            "TM102",
            candidate.span,
            candidate.description,
            tuple(Part(part.name, type(part.module).__name__) for part in parts),
            len(parts),
            switch.as_switch() if switch is not None else None,
            candidate.step,
            candidate.context,
        )

    def _user_span(self) -> SourceSpan | None:
        frame: FrameType | None = self._frames.user_frame(sys._getframe(1))
        return self._frames.span(frame) if frame is not None else None

    # --- optimizer steps -------------------------------------------------------------------------

    def _before_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if torch.compiler.is_compiling() or not self._active:
            return
        # A step never runs inside a forward pass: a depth left over from a forward interrupted
        # by a BaseException (KeyboardInterrupt caught by the program) is reset here.
        self._thread.depth = 0

    def _after_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if torch.compiler.is_compiling() or not self._active:
            return
        try:
            self._step_done(optimizer)
        except Exception as error:
            self._fail(error)

    def _step_done(self, optimizer: Any) -> None:
        with self._lock:
            entry = self._optimizer_steps.get(id(optimizer))
            count = entry[1] + 1 if entry is not None and entry[0]() is optimizer else 1
            self._optimizer_steps[id(optimizer)] = (weakref.ref(optimizer), count)
            self.steps = max(self.steps, count)
            self.total_steps += 1
            # No-grad passes before this step fed it (or were too few to call an evaluation).
            self._evaluations.clear()
            self._confirmed_evaluations.clear()
            candidates, self._trained_candidates = self._trained_candidates, []
        if not candidates:
            return
        updated = self._optimizer_parameter_ids(optimizer)
        waiting = []
        for candidate in candidates:
            trained_parts = [
                counted
                for counted in candidate.counted
                if any(
                    id(parameter) in updated and parameter.grad is not None
                    for parameter in counted.part.trained_by
                )
            ]
            if trained_parts:
                self._observe_training(candidate, trained_parts, count)
            elif candidate.steps_waited < TRAINING_CANDIDATE_STEPS:
                # Maybe another optimizer's parameters (a GAN's other network steps first).
                candidate.steps_waited += 1
                waiting.append(candidate)
        with self._lock:
            self._trained_candidates[:0] = waiting

    def _observe_training(self, candidate: _TrainingForward, counted: list[_CountedPart], step: int) -> None:
        switch = next((part.event for part in counted if part.event is not None), None)
        self._observe(
            "TM101",
            candidate.span,
            candidate.description,
            tuple(Part(part.part.name, type(part.part.module).__name__) for part in counted),
            len(counted),
            switch.as_switch() if switch is not None else None,
            step,
            "",
        )

    def _optimizer_parameter_ids(self, optimizer: Any) -> frozenset[int]:
        groups = optimizer.param_groups
        signature = (len(groups), sum(len(group["params"]) for group in groups))
        entry = self._optimizer_parameters.get(id(optimizer))
        if entry is not None and entry[0]() is optimizer and entry[1] == signature:
            return entry[2]
        ids = frozenset(id(parameter) for group in groups for parameter in group["params"])
        self._optimizer_parameters[id(optimizer)] = (weakref.ref(optimizer), signature, ids)
        return ids

    # --- findings --------------------------------------------------------------------------------

    def _observe(
        self,
        code: str,
        span: SourceSpan,
        module: str,
        parts: tuple[Part, ...],
        parts_total: int,
        switch: Switch | None,
        step: int,
        context: str,
    ) -> None:
        key = (code, span.key())
        now = time.time()
        with self._lock:
            if key in self._suppressed:
                return
            observation = self._observations.get(key)
            first = observation is None
            if observation is None:
                line = frames.line_text(span.path, span.line)
                if silences(line, code):
                    self._suppressed.add(key)
                    return
                observation = Observation(
                    code=code,
                    span=span,
                    module=module,
                    parts=parts,
                    parts_total=parts_total,
                    switch=switch,
                    context=context,
                    line_text=line,
                    source_mtime=_mtime(span.path),
                )
                self._observations[key] = observation
            observation.add(step, now)
        if first and self._settings.print_findings:
            self._print_finding(observation)

    def _print_finding(self, observation: Observation) -> None:
        self._write_line(format_text_line(observation, self._settings.locale))

    @property
    def findings(self) -> list[Observation]:
        with self._lock:
            return sorted(
                self._observations.values(),
                key=lambda found: (found.span.path, found.span.line, found.span.column, found.code),
            )

    def finish(self) -> None:
        """The program ended: passes still waiting for a step were evaluations."""
        if not self._active:
            return
        try:
            with self._lock:
                pending = [candidate for waiting in self._evaluations.values() for candidate in waiting]
                self._evaluations.clear()
            for candidate in pending:
                self._confirm_evaluation(candidate)
            if self.total_steps and not self.forwards and _compiled_anything():
                steps = count_text("steps", self.total_steps, self._settings.locale)
                note = text("runtime.note.unwatched_forwards", self._settings.locale, steps=steps)
                self.notes.append(note)
                self.say("note", note)
        except Exception as error:
            self._fail(error)

    def run_report(self, command: list[str] | None = None, cwd: str = "") -> RunReport:
        rank, world_size, run_id = distributed_identity()
        findings = self.findings
        if rank is not None:
            for finding in findings:
                finding.ranks = (rank,)
        return RunReport(
            findings=findings,
            started=self.started,
            finished=time.time(),
            command=list(command or []),
            cwd=cwd,
            steps=self.total_steps,
            forwards=self.forwards,
            notes=list(self.notes),
            torch_version=str(torch.__version__),
            rank=rank,
            ranks=() if rank is None else (rank,),
            world_size=world_size,
            run_id=run_id,
        )


# --- helpers ----------------------------------------------------------------------------------


def _graph_hook(guard: Guard, candidate: _TrainingForward) -> Callable[[Any], None]:
    guard_ref = weakref.ref(guard)

    def backward_reached(grad_outputs: Any) -> None:
        found = guard_ref()
        if found is None:
            return
        try:
            found._backward_reached(candidate)
        except Exception as error:
            found._fail(error)

    return backward_reached


def _graph_freed(guard_ref: weakref.ref[Guard], candidate: _TrainingForward, _: object) -> None:
    guard = guard_ref()
    if guard is None:
        return
    try:
        guard._graph_unused(candidate)
    except Exception as error:
        guard._fail(error)


def _output_nodes(output: Any) -> list[Any]:
    """The autograd nodes of the output's tensors (a tensor, or the first few in a tuple/list/dict)."""
    if isinstance(output, torch.Tensor):
        values: list[Any] = [output]
    elif isinstance(output, (tuple, list)):
        values = list(output[:MAX_WATCHED_OUTPUTS])
    elif isinstance(output, dict):
        values = list(itertools.islice(output.values(), MAX_WATCHED_OUTPUTS))
    else:
        return []
    nodes = []
    for value in values:
        node = value.grad_fn if isinstance(value, torch.Tensor) else None
        if node is not None and node not in nodes:
            nodes.append(node)
    return nodes


def _gradient_probe(counted: list[_CountedPart]) -> Any:
    """The gradient accumulator of a parameter the counted parts' training would update."""
    for part in counted:
        for parameter in part.part.trained_by:
            if parameter.requires_grad:
                return torch.autograd.graph.get_gradient_edge(parameter).node
    return None


def _trained_parameters(candidate: _TrainingForward) -> Iterator[Any]:
    for counted in candidate.counted:
        yield from counted.part.trained_by


def _trainable_owner(root: Any, name: str, part: Any) -> list[Any]:
    own = list(part.parameters(recurse=False))
    if own:
        return own
    parent_name = name.rpartition(".")[0]
    try:
        parent = root.get_submodule(parent_name) if name else root
    except AttributeError:
        parent = root
    return list(parent.parameters())


def _display_name(name: str) -> str:
    # A compiled module's parts sit under its wrapper's ``_orig_mod``: show the model's names.
    while name.startswith("_orig_mod"):
        name = name[len("_orig_mod") :].lstrip(".")
    return name


def _describe_error(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _compiled_anything() -> bool:
    dynamo = sys.modules.get("torch._dynamo.utils")
    counters = getattr(dynamo, "counters", None)
    try:
        return bool(counters is not None and counters["frames"]["total"])
    except (KeyError, TypeError):
        return False


def count_text(kind: str, count: int, locale: str) -> str:
    key = f"runtime.count.{kind}.one" if count == 1 else f"runtime.count.{kind}.many"
    return text(key, locale, count=f"{count:,}")


def distributed_identity() -> tuple[int | None, int | None, str | None]:
    """(rank, world size, run id) under distributed training with more than one process, else Nones."""
    rank: int | None = None
    world_size: int | None = None
    distributed = torch.distributed
    with contextlib.suppress(Exception):
        if distributed.is_available() and distributed.is_initialized():
            rank, world_size = int(distributed.get_rank()), int(distributed.get_world_size())
    if rank is None:
        with contextlib.suppress(KeyError, ValueError):
            rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if rank is None or world_size is None or world_size <= 1:
        return (None, None, None)
    run_id = os.environ.get("TORCHELASTIC_RUN_ID") or (
        f"{os.environ.get('MASTER_ADDR', '')}:{os.environ.get('MASTER_PORT', '')}"
    )
    return (rank, world_size, run_id)


def format_text_line(observation: Observation, locale: str) -> str:
    """``path:line:col: CODE message``, the CLI's text format (1-based column, path as shown by ``check``)."""
    from torchmode.runtime.report import display_path

    span = observation.span
    return (
        f"{display_path(span.path)}:{span.line}:{span.column + 1}: {observation.code} "
        f"{render_message(observation, locale)}"
    )
