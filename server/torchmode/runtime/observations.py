"""What the runtime guard observed, as plain data: free of torch, so the language server can read it.

An :class:`Observation` is one distinct finding (a rule code at one source span) with
how often and when it was seen. The guard builds them while the program runs; the
report (``report.py``) turns them into JSON and back, merges the reports of several
ranks, and renders their messages in any supported language from the structured
fields, so a merged count or another locale never needs the program again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from torchmode.docs import text

# Message wording per rule: TM101 is about the optimizer step that trained in eval mode
# (its step number), TM102 and TM201 about a forward pass between steps.
TRAINING_CODES = frozenset({"TM101"})
# What the guard can observe, and what it observes unless told otherwise.
KNOWN_CODES = ("TM101", "TM102", "TM201")
DEFAULT_SELECT = ("TM101", "TM102")
MAX_PARTS_SHOWN = 3


@dataclass(frozen=True)
class SourceSpan:
    """A place in a source file: 1-based lines, 0-based columns (as in ``torchmode.syntax``)."""

    path: str  # absolute
    line: int
    column: int
    end_line: int
    end_column: int

    def key(self) -> tuple[str, int, int, int, int]:
        return (self.path, self.line, self.column, self.end_line, self.end_column)


@dataclass(frozen=True)
class Switch:
    """The ``train()``/``eval()`` call that left a module in the mode a finding is about."""

    span: SourceSpan
    call: str  # its source text, e.g. "model.eval()"; "" when the source could not be read
    training: bool  # the mode it switched to


@dataclass(frozen=True)
class Part:
    """A mode-sensitive sub-module: its name inside the module that was called ("" for itself)."""

    name: str
    kind: str  # its class name


@dataclass
class Observation:
    """One distinct finding seen at run time, with how many times and when."""

    code: str
    span: SourceSpan
    module: str  # the called module's class, e.g. "Net" or "DataParallel(Net)"
    parts: tuple[Part, ...]
    parts_total: int
    switch: Switch | None  # None: no switch was seen (fresh, loaded or copied module)
    context: str = ""  # TM102: "no_grad" or "inference_mode"
    count: int = 0
    first_seen_step: int = 0
    last_seen_step: int = 0
    first_seen: float = 0.0  # time.time() of the first and last observation
    last_seen: float = 0.0
    line_text: str = ""  # the source line when first observed: a changed line drops the finding
    source_mtime: float | None = None
    ranks: tuple[int, ...] = ()

    def key(self) -> tuple[str, tuple[str, int, int, int, int]]:
        return (self.code, self.span.key())

    def add(self, step: int, when: float) -> None:
        if self.count == 0:
            self.first_seen_step = step
            self.first_seen = when
        self.count += 1
        self.first_seen_step = min(self.first_seen_step, step)
        self.last_seen_step = max(self.last_seen_step, step)
        self.last_seen = max(self.last_seen, when)

    def merge(self, other: Observation) -> None:
        """Fold in the same finding seen by another rank (or another report)."""
        if other.count == 0:
            return
        if self.count == 0:
            self.first_seen_step, self.first_seen = other.first_seen_step, other.first_seen
        self.first_seen_step = min(self.first_seen_step, other.first_seen_step)
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen_step = max(self.last_seen_step, other.last_seen_step)
        self.last_seen = max(self.last_seen, other.last_seen)
        self.count += other.count
        self.ranks = tuple(sorted(set(self.ranks) | set(other.ranks)))
        if self.switch is None:
            self.switch = other.switch


# --- messages -------------------------------------------------------------------------------


def _times(count: int, locale: str) -> str:
    if count == 1:
        return text("runtime.times.one", locale)
    return text("runtime.times.many", locale, count=f"{count:,}")


def _steps(observation: Observation, locale: str) -> str:
    first, last = observation.first_seen_step, observation.last_seen_step
    if observation.code in TRAINING_CODES:
        key = "one" if first == last else "range"
        return text(f"runtime.steps.training.{key}", locale, first=f"{first:,}", last=f"{last:,}")
    # A forward pass between steps: the number is how many optimizer steps ran before it.
    if last == 0:
        key = "before"
    elif first == last:
        key = "one"
    elif first == 0:
        key = "from_start"
    else:
        key = "range"
    return text(f"runtime.steps.evaluation.{key}", locale, first=f"{first:,}", last=f"{last:,}")


def frequency_text(observation: Observation, locale: str = "en") -> str:
    """How often and when, as the message says it: ``1,204 times, in optimizer steps 301 to 1,504``."""
    return text(
        "runtime.frequency",
        locale,
        times=_times(observation.count, locale),
        steps=_steps(observation, locale),
    )


def parts_text(parts: tuple[Part, ...], total: int, locale: str) -> str:
    shown = [
        text("runtime.part.named", locale, name=part.name, kind=part.kind)
        if part.name
        else text("runtime.part.self", locale, kind=part.kind)
        for part in parts[:MAX_PARTS_SHOWN]
    ]
    more = max(total, len(parts)) - len(shown)
    if more > 0:
        joined = text("runtime.parts.separator", locale).join(shown)
        return text("runtime.parts.more", locale, parts=joined, more=more)
    if len(shown) == 2:
        return text("runtime.parts.two", locale, first=shown[0], second=shown[1])
    if len(shown) > 2:
        head = text("runtime.parts.separator", locale).join(shown[:-1])
        return text("runtime.parts.two", locale, first=head, second=shown[-1])
    return shown[0] if shown else ""


def where_text(span: SourceSpan, relative_to: str, locale: str) -> str:
    """``line 12`` in the finding's own file, ``engine.py, line 12`` in another one."""
    if os.path.normcase(span.path) == os.path.normcase(relative_to):
        return text("runtime.where.same_file", locale, line=span.line)
    try:
        shown = os.path.relpath(span.path, os.path.dirname(relative_to))
    except ValueError:  # another drive on Windows
        shown = span.path
    if shown.startswith(".." + os.sep):
        shown = os.path.basename(span.path)
    return text("runtime.where.other_file", locale, file=shown, line=span.line)


def switch_call(switch: Switch) -> str:
    return switch.call or ("train()" if switch.training else "eval()")


def _cause(observation: Observation, locale: str) -> str:
    switch = observation.switch
    if observation.code == "TM101":
        if switch is None:
            return text("runtime.cause.eval_unknown", locale)
        where = where_text(switch.span, observation.span.path, locale)
        return text("runtime.cause.eval_switch", locale, call=switch_call(switch), where=where)
    if observation.code == "TM102":
        if switch is None:
            return text("runtime.cause.train_fresh", locale)
        where = where_text(switch.span, observation.span.path, locale)
        return text("runtime.cause.train_switch", locale, call=switch_call(switch), where=where)
    return ""


def render_message(observation: Observation, locale: str = "en") -> str:
    """The finding's message in ``locale``, from its structured fields."""
    context = observation.context or "no_grad"
    return text(
        f"runtime.{observation.code}.message",
        locale,
        module=observation.module,
        times=_times(observation.count, locale),
        steps=_steps(observation, locale),
        parts=parts_text(observation.parts, observation.parts_total, locale),
        cause=_cause(observation, locale),
        context=text(f"runtime.context.{context}", locale),
    )


def render_related(observation: Observation, locale: str = "en") -> str | None:
    """The related-information text at the switch, or None when no switch was seen."""
    switch = observation.switch
    if switch is None:
        return None
    key = "runtime.related.train" if switch.training else "runtime.related.eval"
    return text(key, locale, call=switch_call(switch), module=observation.module)
