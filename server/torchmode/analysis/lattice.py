"""The abstract values: a model's mode and the grad mode, each with its provenance.

A value is a set of *facts*. Each fact is one possibility (``train``, ``eval``,
``entry`` = "whatever it was when the function was entered", ``unknown``)
together with the chain of statements that set it and the branch conditions
under which it holds. Sets join by union; the universe of facts in one file
is finite, so every fixpoint terminates.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from torchmode.syntax.positions import LineAnchor, Span

Mode = Literal["train", "eval", "entry", "unknown"]
Grad = Literal["on", "off", "entry", "unknown"]


class Site:
    """A statement that set a value: where it is, its source text and its function.

    Immutable, compared by value. In the language server a site of an open
    document also has the line anchor of the part of the document it is in
    (``positions.LineAnchor``): an edit above that part moves its nodes in place, the
    analysis that recorded the site is kept, and ``span`` and ``statement`` read the lines
    where the site is now. The lines are stored as they were when the part was parsed, so a
    site recorded before a move equals the same site recorded after it.
    """

    __slots__ = ("_span", "_statement", "anchor", "function", "path", "text")

    _span: Span
    text: str
    function: str  # "<module>" at module level
    _statement: Span | None  # the whole simple statement holding the site, for fixes
    path: str  # the file it is in; a summary of another file's function brings its sites
    anchor: LineAnchor | None

    def __init__(
        self,
        span: Span,
        text: str,
        function: str,
        statement: Span | None = None,
        path: str = "",
        anchor: LineAnchor | None = None,
    ) -> None:
        shift = anchor.shift if anchor is not None else 0
        if shift:
            span = span.moved(-shift)
            statement = statement.moved(-shift) if statement is not None else None
        setter = object.__setattr__
        setter(self, "_span", span)
        setter(self, "text", text)
        setter(self, "function", function)
        setter(self, "_statement", statement)
        setter(self, "path", path)
        setter(self, "anchor", anchor)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Site is immutable ({name})")

    @property
    def span(self) -> Span:
        anchor = self.anchor
        return self._span if anchor is None or not anchor.shift else self._span.moved(anchor.shift)

    @property
    def statement(self) -> Span | None:
        anchor = self.anchor
        statement = self._statement
        if statement is None or anchor is None or not anchor.shift:
            return statement
        return statement.moved(anchor.shift)

    def _key(self) -> tuple[object, ...]:
        return (self._span, self.text, self.function, self._statement, self.path, self.anchor)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Site):
            return NotImplemented
        return self is other or self._key() == other._key()

    def __hash__(self) -> int:
        # Not of the lines, nor of the anchor: the same whether the analysis that recorded it
        # ran before or after its lines moved, or from scratch (sets of facts then iterate in
        # the same order, and what is shown in that order reads the same).
        return hash((self.text, self.function, self.path))

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled (to another process: the CLI's jobs, the workspace check's worker) with the
        # lines it reads now and no anchor, which is of this process's documents only.
        return (Site, (self.span, self.text, self.function, self.statement, self.path))

    def __copy__(self) -> Site:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, object]) -> Site:
        return self

    def __repr__(self) -> str:
        return (
            f"Site(span={self.span!r}, text={self.text!r}, function={self.function!r}, "
            f"statement={self.statement!r}, path={self.path!r})"
        )

    def short_text(self, limit: int = 48) -> str:
        """Source text for messages: one line, long argument lists elided like ``test(model, …)``."""
        text = " ".join(self.text.split())
        if len(text) <= limit:
            return text
        open_paren = text.find("(")
        if limit - 6 <= open_paren <= limit + 24:
            return text[: open_paren + 1] + "…)"  # a long callee name: keep it whole
        if 0 < open_paren < limit - 6:
            first_argument_end = text.find(",", open_paren)
            if 0 < first_argument_end < limit - 4:
                return text[:first_argument_end] + ", …)"
            return text[: open_paren + 1] + "…)"
        return text[: limit - 1] + "…"


@dataclass(frozen=True)
class Condition:
    """A branch test known to have a truth value, e.g. ``phase == "train"`` is True.

    ``key`` is the test's structure without positions, so two spellings of the
    same test on different lines compare equal; ``names`` lets an assignment to
    any of them forget the condition.
    """

    key: str
    truth: bool
    names: frozenset[str] = field(compare=False)
    text: str = field(compare=False, default="")

    def negated(self) -> Condition:
        return replace(self, truth=not self.truth)


def condition_of(test: ast.expr, truth: bool, text: str) -> Condition:
    # ``not x`` is x with the opposite truth, so `if not is_train:` meets `train(is_train)`.
    while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test = test.operand
        truth = not truth
    names = frozenset(node.id for node in ast.walk(test) if isinstance(node, ast.Name))
    return Condition(ast.dump(test), truth, names, text)


Conditions = frozenset[Condition]


def contradicts(conditions: Conditions, assumptions: Conditions) -> bool:
    return any(condition.negated() in assumptions for condition in conditions)


@dataclass(frozen=True)
class ModeFact:
    mode: Mode
    origin: tuple[Site, ...] = ()  # outermost call first, the statement that set it last
    conditions: Conditions = frozenset()
    fresh: bool = False  # train because the module was just built, not because of train()
    # The module's parameters take no gradient here (``requires_grad_(False)``): in eval
    # mode on purpose, a frozen part no step trains.
    frozen: bool = False


@dataclass(frozen=True)
class GradFact:
    grad: Grad
    origin: tuple[Site, ...] = ()
    conditions: Conditions = frozenset()
    scoped: bool = True  # False for a bare ``torch.set_grad_enabled(False)``: nothing restores it


ModeValue = frozenset[ModeFact]
GradValue = frozenset[GradFact]

ENTRY_MODE: ModeValue = frozenset({ModeFact("entry")})
UNKNOWN_MODE: ModeValue = frozenset({ModeFact("unknown")})
ENTRY_GRAD: GradValue = frozenset({GradFact("entry")})
GRAD_ON: GradValue = frozenset({GradFact("on")})


def modes_of(value: Iterable[ModeFact]) -> frozenset[str]:
    return frozenset(fact.mode for fact in value)


@dataclass(frozen=True)
class State:
    """Everything the analysis knows at one program point.

    ``modes`` maps access paths to values; a path that is absent inherits from
    its nearest present prefix (``model.train()`` reaches ``model.backbone``).
    ``grad_stack`` holds the grad values saved by enclosing ``with`` blocks.
    ``assumptions`` are the branch conditions that hold on every path here.
    """

    modes: tuple[tuple[str, ModeValue], ...]
    grad: GradValue
    grad_stack: tuple[GradValue, ...] = ()
    assumptions: Conditions = frozenset()
    # The models whose parameters are frozen on every path here (``requires_grad_(False)``).
    frozen: frozenset[str] = frozenset()

    @property
    def mode_map(self) -> dict[str, ModeValue]:
        return dict(self.modes)


def make_state(
    modes: dict[str, ModeValue],
    grad: GradValue,
    grad_stack: tuple[GradValue, ...],
    assumptions: Conditions,
    frozen: frozenset[str] = frozenset(),
) -> State:
    return State(
        tuple(sorted(modes.items(), key=lambda item: item[0])), grad, grad_stack, assumptions, frozen
    )


def join_states(states: list[State], lookup: Callable[[State, str], ModeValue]) -> State:
    """Union of facts; conditions known on every incoming path survive.

    ``lookup`` gives the value of a path that one side lacks (its inherited or
    entry value), so a path set on only one branch is joined with what the other
    branch had.
    """
    if len(states) == 1:
        return states[0]
    maps = [state.mode_map for state in states]
    paths = sorted({path for mode_map in maps for path in mode_map})
    joined: dict[str, ModeValue] = {}
    for path in paths:
        facts: set[ModeFact] = set()
        for state, mode_map in zip(states, maps, strict=True):
            value = mode_map.get(path)
            facts |= value if value is not None else lookup(state, path)
        joined[path] = frozenset(facts)
    grad: set[GradFact] = set()
    for state in states:
        grad |= state.grad
    # Stacks of different depth meet only after an exception edge; keep the common part.
    depth = min(len(state.grad_stack) for state in states)
    stack = tuple(frozenset().union(*(state.grad_stack[level] for state in states)) for level in range(depth))
    assumptions = frozenset.intersection(*(state.assumptions for state in states))
    frozen = frozenset.intersection(*(state.frozen for state in states))
    return make_state(joined, frozenset(grad), stack, assumptions, frozen)
