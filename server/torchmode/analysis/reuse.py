"""What one version's analysis leaves for the next version of the same document.

``syntax.incremental.reparse`` keeps the nodes of unchanged top-level statements; results are
looked up by ``id()`` and then checked to be of the very same node, so an id reused by a new
object is never taken for the old. Syntax-only results (local names, calls, events,
control-flow graphs, branch conditions) are reused for any kept node. A function's fixpoint
is reused when its node and the node of every function it depended on (summaries, resolved
calls, ``__init__`` of aliased arguments) are kept, nothing recursive was involved, and the
file-wide facts it reads (model paths, imports, classes, module-level names...: ``context``)
and the other project files (``generation``) are unchanged.

The cache of a version is kept beside its ``Document`` (a weak map: it goes with the text),
and ``Document.analysed`` tells ``reparse`` which earlier version the next one should reuse.
"""

from __future__ import annotations

import ast
import itertools
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from torchmode.analysis.cfg import ControlFlowGraph
from torchmode.analysis.facts import (
    CallSite,
    FileAnalysis,
    ForwardCall,
    Function,
    FunctionNode,
    ModeSwitch,
    TrainingStep,
)
from torchmode.analysis.lattice import Condition, State
from torchmode.syntax.document import Document

# A function's fixpoint: its graph, reverse postorder, the state before each node, and its entry.
Fixpoint = tuple[ControlFlowGraph, list[int], dict[int, State], State]


@dataclass
class Reads:
    """The same-file functions one computation depended on (its own node included): their
    nodes by id. ``clean`` is false when it met a recursive call or the depth budget, whose
    answers depend on the order functions happened to be analysed in: never reused."""

    nodes: dict[int, FunctionNode] = field(default_factory=dict)
    clean: bool = True


@dataclass(frozen=True)
class Observed:
    """What one function's observation pass recorded (see ``FileAnalysis``)."""

    forward_calls: tuple[ForwardCall, ...]
    steps: tuple[TrainingStep, ...]
    switches: tuple[ModeSwitch, ...]
    call_sites: tuple[CallSite, ...]
    states: tuple[tuple[int, State], ...]


class ReuseCache:
    """The results of one version, for the next (see the module docstring)."""

    def __init__(self) -> None:
        self.results: dict[int, tuple[FunctionNode, Fixpoint, Reads, Observed | None]] = {}
        self.context: object = None
        self.generation: int | None = None
        self.function_names: dict[int, tuple[FunctionNode, tuple[frozenset[str], frozenset[str]]]] = {}
        self.events: dict[int, tuple[ast.expr, tuple[ast.Call | ast.NamedExpr | ast.IfExp, ...]]] = {}
        self.own_calls: dict[int, tuple[FunctionNode, list[ast.Call]]] = {}
        self.graphs: dict[int, tuple[FunctionNode, ControlFlowGraph, list[int]]] = {}
        self.conditions: dict[tuple[int, bool], tuple[ast.expr, Condition]] = {}
        # Filled by the rules (``GradFacts.statement_index``), after the analysis.
        self.statement_indexes: dict[int, tuple[FunctionNode, dict[int, ast.stmt]]] = {}

    def names_of(self, node: FunctionNode) -> tuple[frozenset[str], frozenset[str]] | None:
        found = self.function_names.get(id(node))
        return found[1] if found is not None and found[0] is node else None

    def events_of(self, expr: ast.expr) -> tuple[ast.Call | ast.NamedExpr | ast.IfExp, ...] | None:
        found = self.events.get(id(expr))
        return found[1] if found is not None and found[0] is expr else None

    def own_calls_of(self, node: FunctionNode) -> list[ast.Call] | None:
        found = self.own_calls.get(id(node))
        return found[1] if found is not None and found[0] is node else None

    def condition_of(self, test: ast.expr, truth: bool) -> Condition | None:
        found = self.conditions.get((id(test), truth))
        return found[1] if found is not None and found[0] is test else None

    def statement_index_of(self, node: FunctionNode) -> dict[int, ast.stmt] | None:
        found = self.statement_indexes.get(id(node))
        return found[1] if found is not None and found[0] is node else None

    def graph_of(self, node: FunctionNode) -> tuple[ControlFlowGraph, list[int]] | None:
        found = self.graphs.get(id(node))
        return (found[1], found[2]) if found is not None and found[0] is node else None


# Each analysed version's cache, beside its document (gone with it).
_CACHES: weakref.WeakKeyDictionary[Document, ReuseCache] = weakref.WeakKeyDictionary()


def cache_of(document: Document) -> ReuseCache | None:
    """What the analysis of ``document`` left for its next version, if it ran."""
    return _CACHES.get(document)


def take_predecessor_cache(document: Document) -> ReuseCache | None:
    """The cache of the version ``document`` was parsed from (taken: the link is cleared, so the
    older version's text and tree can be freed once this one is analysed)."""
    predecessor = document.predecessor
    document.predecessor = None
    return cache_of(predecessor) if predecessor is not None else None


def leave_cache(document: Document, cache: ReuseCache) -> None:
    _CACHES[document] = cache
    document.analysed = True


class ReadRecorder:
    """Records which same-file functions each computation in progress reads (innermost last),
    so that the next version knows when a reused result is still valid."""

    def __init__(self) -> None:
        self._stack: list[Reads] = []

    @contextmanager
    def recording(self, reads: Reads) -> Iterator[Reads]:
        self._stack.append(reads)
        try:
            yield reads
        finally:
            self._stack.pop()

    def function(self, function: Function) -> None:
        """The computations in progress depend on this same-file function."""
        node = function.node
        if node is not None:
            for reads in self._stack:
                reads.nodes[id(node)] = node

    def reads(self, found: Reads | None) -> None:
        """The computations in progress depend on everything ``found`` depended on."""
        if found is None or (not found.nodes and found.clean):
            return
        for reads in self._stack:
            reads.nodes.update(found.nodes)
            reads.clean = reads.clean and found.clean

    def unclean(self) -> None:
        """An answer that depends on the order of analysis (recursion, a budget): never reused."""
        for reads in self._stack:
            reads.clean = False


class Observations:
    """Each function's observations (forward calls, steps...) in a file's analysis, and those
    carried over from the previous version for functions whose fixpoint is reused."""

    def __init__(self, result: FileAnalysis, functions_by_node: dict[int, Function]) -> None:
        self.result = result
        self.functions_by_node = functions_by_node
        self.observed: dict[int, Observed] = {}
        self.carried: dict[int, Observed] = {}

    def marks(self) -> tuple[int, int, int, int, int]:
        result = self.result
        return (
            len(result.forward_calls),
            len(result.steps),
            len(result.switches),
            len(result.call_sites),
            len(result.states_before),
        )

    def since(self, function: Function, marks: tuple[int, int, int, int, int]) -> None:
        """Keep what one function's observation pass added to the file's analysis. Its states
        are the last ones added: a statement belongs to one function's graph only, so the pass
        only ever adds keys (dicts keep insertion order)."""
        result = self.result
        forward_calls, steps, switches, call_sites, states = marks
        added = len(result.states_before) - states
        self.observed[id(function)] = Observed(
            tuple(result.forward_calls[forward_calls:]),
            tuple(result.steps[steps:]),
            tuple(result.switches[switches:]),
            tuple(result.call_sites[call_sites:]),
            tuple(itertools.islice(reversed(result.states_before.items()), added))[::-1],
        )

    def replay(self, function: Function) -> bool:
        """The previous version's observations of an unchanged function, for this version's
        ``Function`` records (same nodes: every callee it names is a kept node, see its
        reads). False when there are none to replay."""
        observed = self.carried.pop(id(function), None)
        if observed is None:
            return False
        result = self.result
        result.forward_calls.extend(replace(item, function=function) for item in observed.forward_calls)
        result.steps.extend(replace(item, function=function) for item in observed.steps)
        result.switches.extend(replace(item, function=function) for item in observed.switches)
        for site in observed.call_sites:
            callee_node = site.callee.node
            callee = self.functions_by_node.get(id(callee_node)) if callee_node is not None else None
            assert callee is not None and callee.node is callee_node, "a reused callee must be kept"
            result.call_sites.append(replace(site, function=function, callee=callee))
        result.states_before.update(observed.states)
        self.observed[id(function)] = observed
        return True
