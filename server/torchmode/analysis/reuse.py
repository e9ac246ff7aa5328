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

Reusing only results that read nothing in progress leaves out most methods of a class whose
``__init__`` calls its other methods: every method reads the modes ``__init__`` sets, and
``__init__``'s summary read theirs while it was itself being computed. Such results depend on
the order functions happened to be analysed in. The language server keeps that order
instead (``Schedule``): every version records, per function, the stretches of its analysis
that ask for summaries (its fixpoint; the pass over its final states) with what was in
progress when each started and every summary it asked for, in order, with how it was
answered. The next version (``ReplayPlan``) takes over the results of every function that
read nothing that changed, whatever they read in progress, analyses the others (the changed
functions and those that read one) in the order the run would, and checks that they asked
for exactly what they asked for before: then every function was analysed where it was
before, with what was in progress then, and the results taken over are those a check from
scratch computes. Otherwise that attempt is dropped and the version is analysed as before.
"""

from __future__ import annotations

import ast
import itertools
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from torchmode.analysis.api_names import ClassKind
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
    nodes by id; and which classes it found each path it looked up an instance of, of the
    file-wide ``CallResolver.instances`` (an assignment anywhere else changes that map, and
    need not change what this computation found); and, per class, which parts of ``self``
    its methods switch, for a method that took a mode ``__init__`` sets (``switched``: a
    switch added to one method need not change the others). ``clean`` is false when it met a
    recursive call or the depth budget, whose answers depend on the order functions happened
    to be analysed in: never reused by ``_reused_fixpoint`` (``ReplayPlan`` replays that order)."""

    nodes: dict[int, FunctionNode] = field(default_factory=dict)
    clean: bool = True
    instances: dict[str, frozenset[str] | None] = field(default_factory=dict)
    switched: dict[str, frozenset[str]] = field(default_factory=dict)
    # Each path it asked whether it is a model of the file, with the answer (``ModelPaths``).
    models: dict[str, bool] = field(default_factory=dict)

    def read_anything(self) -> bool:
        return bool(self.nodes or self.instances or self.switched or self.models)

    def still_hold(
        self,
        kept: KeptTest,
        instances: dict[str, set[str]],
        switched: Callable[[str], set[str]] | None = None,
        models: frozenset[str] | None = None,
    ) -> bool:
        """Does everything this computation read still say the same in this version?"""
        for key, node in self.nodes.items():
            if not kept(key, node):
                return False
        for path, classes in self.instances.items():
            found = dict.get(instances, path)
            if (frozenset(found) if found is not None else None) != classes:
                return False
        for class_name, parts in self.switched.items():
            if switched is None or frozenset(switched(class_name)) != parts:
                return False
        for path, was in self.models.items():
            # Not ``path in models``: asking a ``ModelPaths`` records the question.
            if models is None or frozenset.__contains__(models, path) != was:
                return False
        return True


class ModelPaths(frozenset[str]):
    """The file's model paths (``ModelDiscovery.model_paths``) as the analysis asks them: each
    question is recorded in the computations in progress (``Reads.models``), so that a model
    found in one method (a pasted ``self.model.eval()``) does not throw away the results of
    the functions that never asked about that path."""

    recorder: ReadRecorder

    def __new__(cls, paths: frozenset[str], recorder: ReadRecorder) -> ModelPaths:
        made = super().__new__(cls, paths)
        made.recorder = recorder
        return made

    def __contains__(self, path: object) -> bool:
        found = frozenset.__contains__(self, path)
        if isinstance(path, str):
            self.recorder.model(path, found)
        return found


class InstanceMap(dict[str, set[str]]):
    """``CallResolver.instances``: each lookup is recorded in the computations in progress
    (``Reads.instances``), so that an assignment elsewhere in the file does not throw away
    the results of the functions that never looked its path up."""

    def __init__(self, found: dict[str, set[str]], recorder: ReadRecorder) -> None:
        super().__init__(found)
        self.recorder = recorder

    def get(self, path: str, default: set[str] | None = None) -> set[str] | None:  # type: ignore[override]
        found = dict.get(self, path)
        self.recorder.instance(path, found)
        return found if found is not None else default

    def __getitem__(self, path: str) -> set[str]:
        found = dict.get(self, path)
        self.recorder.instance(path, found)
        if found is None:
            raise KeyError(path)
        return found

    def __contains__(self, path: object) -> bool:
        found = dict.get(self, path) if isinstance(path, str) else None
        if isinstance(path, str):
            self.recorder.instance(path, found)
        return found is not None


@dataclass(frozen=True)
class Observed:
    """What one function's observation pass recorded (see ``FileAnalysis``)."""

    forward_calls: tuple[ForwardCall, ...]
    steps: tuple[TrainingStep, ...]
    switches: tuple[ModeSwitch, ...]
    call_sites: tuple[CallSite, ...]
    states: tuple[tuple[int, State], ...]


@dataclass
class Discovered:
    """What model discovery found in one function's own statements (``ModelDiscovery``), in
    the order it found it, and what that depended on besides the function's own code: the
    same-file functions and instance lookups (``reads``), and what the functions before it in
    table order had found (``not_models_read``, ``sources_read``: each looked-up key with what
    it held then, None for absent). A kept function whose reads still hold and whose
    predecessors left the same is replayed, not walked again."""

    reads: Reads = field(default_factory=Reads)
    not_models_read: dict[str, bool] = field(default_factory=dict)
    sources_read: dict[str, frozenset[str] | None] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)
    not_models: list[str] = field(default_factory=list)
    constructors: list[tuple[str, ast.Call]] = field(default_factory=list)
    wrappers: list[tuple[str, str]] = field(default_factory=list)
    optimizers: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    sources: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    copies: list[tuple[str, str]] = field(default_factory=list)
    pretrained_eval: list[ast.Call] = field(default_factory=list)
    # The construction kinds answered on the way (each call with its kind), so that the
    # analysis of the new version does not ask again for calls of kept functions.
    kinds: list[tuple[ast.Call, ClassKind | None]] = field(default_factory=list)
    # The same-file factories it asked about first (``returns_module``): node, answer, reads.
    factories: list[tuple[FunctionNode, bool, Reads]] = field(default_factory=list)


class ReuseCache:
    """The results of one version, for the next (see the module docstring)."""

    def __init__(self) -> None:
        self.results: dict[int, tuple[FunctionNode, Fixpoint, Reads, Observed | None]] = {}
        self.context: object = None
        self.generation: int | None = None
        self.function_names: dict[int, tuple[FunctionNode, tuple[frozenset[str], frozenset[str]]]] = {}
        self.events: dict[int, tuple[ast.expr, tuple[ast.Call | ast.NamedExpr | ast.IfExp, ...]]] = {}
        self.own_calls: dict[int, tuple[FunctionNode, list[ast.Call]]] = {}
        self.definitions: dict[int, tuple[ast.stmt, list[ast.stmt]]] = {}  # defs and classes in a body
        self.graphs: dict[int, tuple[FunctionNode, ControlFlowGraph, list[int]]] = {}
        self.conditions: dict[tuple[int, bool], tuple[ast.expr, Condition]] = {}
        # Filled by the rules (``GradFacts.statement_index``), after the analysis.
        self.statement_indexes: dict[int, tuple[FunctionNode, dict[int, ast.stmt]]] = {}
        # Model discovery's findings per function, and the file-wide facts they were found
        # under (``ModelDiscovery``; compared by value, expression nodes by identity).
        self.discovered: dict[int, tuple[FunctionNode, Discovered]] = {}
        self.discovery_context: object = None
        # The order of the analysis (``Schedule``): each function's key in table order, and
        # the phases of each function's latest analysis, by key.
        self.function_keys: tuple[str, ...] = ()
        self.function_nodes: tuple[FunctionNode | None, ...] = ()
        self.phases: dict[str, tuple[Phase, ...]] = {}
        self.done: dict[str, Stamp] = {}

    def names_of(self, node: FunctionNode) -> tuple[frozenset[str], frozenset[str]] | None:
        found = self.function_names.get(id(node))
        return found[1] if found is not None and found[0] is node else None

    def events_of(self, expr: ast.expr) -> tuple[ast.Call | ast.NamedExpr | ast.IfExp, ...] | None:
        found = self.events.get(id(expr))
        return found[1] if found is not None and found[0] is expr else None

    def definitions_of(self, owner: ast.stmt) -> list[ast.stmt] | None:
        found = self.definitions.get(id(owner))
        return found[1] if found is not None and found[0] is owner else None

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


# Is this node, found under this id in the previous version, a function of this one?
KeptTest = Callable[[int, FunctionNode], bool]

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
        if found is None or (found.clean and not found.read_anything()):
            return
        for reads in self._stack:
            reads.nodes.update(found.nodes)
            reads.instances.update(found.instances)
            reads.switched.update(found.switched)
            reads.models.update(found.models)
            reads.clean = reads.clean and found.clean

    def model(self, path: str, found: bool) -> None:
        """The computations in progress asked whether ``path`` is a model of the file."""
        for reads in self._stack:
            reads.models[path] = found

    def switched(self, class_name: str, parts: set[str]) -> None:
        """The computations in progress read which parts of ``self`` the methods of
        ``class_name`` switch."""
        if self._stack:
            found = frozenset(parts)
            for reads in self._stack:
                reads.switched[class_name] = found

    def instance(self, path: str, classes: set[str] | None) -> None:
        """The computations in progress found ``path`` an instance of ``classes`` (None: of no
        known class)."""
        if self._stack:
            found = frozenset(classes) if classes is not None else None
            for reads in self._stack:
                reads.instances[path] = found

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


# -- the order of the analysis ---------------------------------------------------------------

# How a request for a summary was answered: the summary (cached, or computed then), nothing
# because it was being computed (recursion), nothing because of the depth budget.
ANSWERED, IN_PROGRESS, OVER_BUDGET = "summary", "in progress", "over budget"
# A function's fixpoint; a pass over its final states (its observations, or the forward
# calls its summary needs: the same transfers, so the same requests).
FIXPOINT, PASS = "fixpoint", "pass"


@dataclass(frozen=True)
class Phase:
    """One stretch of a function's analysis that asks for summaries: what kind, the keys of
    the functions whose summaries were being computed when it started, how deep summaries
    were nested then (across files), and each summary it asked for, in order, with how it
    was answered; and when it started in the order of its run (``Stamp``, not compared)."""

    kind: str
    in_progress: frozenset[str]
    depth: int
    requests: tuple[tuple[str, str], ...]
    started: Stamp = field(default=(0, 0), compare=False)


# A point in the order of one run: (the run's epoch, a tick of its clock). Points of two runs
# are not comparable (a run that replays an earlier one's order keeps its epoch).
Stamp = tuple[int, int]
_EPOCHS = itertools.count(1)


def function_keys(functions: Sequence[Function]) -> dict[int, str]:
    """A key per function that does not depend on positions: its dotted name and how many
    functions of that name come before it (``Trainer.x#1`` for a property's setter)."""
    seen: Counter[str] = Counter()
    keys: dict[int, str] = {}
    for function in functions:
        keys[id(function)] = f"{function.name}#{seen[function.name]}"
        seen[function.name] += 1
    return keys


class Schedule:
    """Records the phases of one file's analysis, in order (see the module docstring)."""

    def __init__(self, keys: dict[int, str], enabled: bool) -> None:
        self.keys = keys
        self.enabled = enabled
        self.epoch = next(_EPOCHS)
        self._clock = 0
        # The phases of each function analysed in this run, by key, in order, and when its
        # last phase ended.
        self.phases: dict[str, list[Phase]] = {}
        self.done: dict[str, Stamp] = {}
        # The phases running (innermost last): kind, key, in progress, depth, start, requests.
        self._open: list[tuple[str, str, frozenset[str], int, int, list[tuple[str, str]]]] = []

    @contextmanager
    def phase(self, kind: str, function: Function, in_progress: set[int], depth: int) -> Iterator[None]:
        """A phase of ``function`` runs inside: record it (``in_progress``: the ids of the
        functions of this file whose summaries are being computed as it starts)."""
        if not self.enabled:
            yield
            return
        keys = self.keys
        key = keys[id(function)]
        requests: list[tuple[str, str]] = []
        self._clock += 1
        running = frozenset(keys[item] for item in in_progress)
        self._open.append((kind, key, running, depth, self._clock, requests))
        try:
            yield
        finally:
            _, _, started_in, started_at_depth, started, _ = self._open.pop()
        self._clock += 1
        phase = Phase(kind, started_in, started_at_depth, tuple(requests), (self.epoch, started))
        self.phases.setdefault(key, []).append(phase)
        self.done[key] = (self.epoch, self._clock)

    def asked(self, function: Function, answer: str) -> None:
        """The innermost phase running asked for ``function``'s summary, answered so."""
        if self._open:
            self._open[-1][5].append((self.keys[id(function)], answer))

    def reset(self) -> None:
        self.phases.clear()
        self.done.clear()
        self._open.clear()
        self._clock = 0

    def leave(
        self,
        reuse: ReuseCache,
        functions: Sequence[Function],
        previous: ReuseCache | None,
        replayed: ReplayPlan | None,
    ) -> None:
        """Keep the order for the next version: each function's phases of this run, or for a
        function whose results were taken over, those it had. After a replay of the previous
        order, the functions analysed again keep their place in it (their stamps)."""
        if not self.enabled:
            return
        keys = self.keys
        reuse.function_keys = tuple(keys[id(function)] for function in functions)
        reuse.function_nodes = tuple(function.node for function in functions)
        old_keys: dict[int, str] = {}
        if previous is not None:
            pairs = zip(previous.function_keys, previous.function_nodes, strict=True)
            old_keys = {id(node): key for key, node in pairs if node is not None}
        for function in functions:
            key = keys[id(function)]
            ran = self.phases.get(key)
            if ran is not None and replayed is not None:
                old = replayed.expected[key]
                reuse.phases[key] = tuple(
                    replace(phase, started=was.started) for phase, was in zip(ran, old, strict=True)
                )
                reuse.done[key] = replayed.done[key]
            elif ran is not None:
                reuse.phases[key] = tuple(ran)
                reuse.done[key] = self.done[key]
            elif previous is not None and function.node is not None:
                old_key = old_keys.get(id(function.node))
                if old_key is not None and old_key in previous.phases:
                    reuse.phases[key] = previous.phases[old_key]
                    reuse.done[key] = previous.done[old_key]


@dataclass
class ReplayPlan:
    """The language server's way to a version's analysis in the previous version's order
    (see the module docstring): the functions whose results are taken over (nothing they
    read changed: the same node, and the same node for every function they read), and the
    functions analysed again (the changed ones, those that read one, and the module's code),
    each with the phases its previous analysis had."""

    taken: list[tuple[Function, Fixpoint, Reads, Observed]]
    again: list[Function]
    expected: dict[str, tuple[Phase, ...]]
    # When each function's analysis ended in the previous order, and whether it read anything
    # in progress (then where it ran matters).
    done: dict[str, Stamp]
    clean: dict[str, bool]

    @staticmethod
    def make(
        previous: ReuseCache | None,
        functions: Sequence[Function],
        keys: dict[int, str],
        kept: KeptTest,
        instances: dict[str, set[str]],
        switched: Callable[[str], set[str]],
        models: frozenset[str],
    ) -> ReplayPlan | None:
        """None when the previous version recorded no order, or the functions are not the same
        ones (a def added, removed or renamed), or a function analysed again had hit the depth
        budget (where it stopped depended on more than the order)."""
        if previous is None or not previous.phases:
            return None
        if tuple(keys[id(function)] for function in functions) != previous.function_keys:
            return None
        taken: list[tuple[Function, Fixpoint, Reads, Observed]] = []
        again: list[Function] = []
        clean: dict[str, bool] = {}
        for function in functions:
            node = function.node
            found = previous.results.get(id(node)) if node is not None else None
            if found is not None and found[0] is node:
                _, fixpoint, reads, observed = found
                if observed is not None and reads.still_hold(kept, instances, switched, models):
                    taken.append((function, fixpoint, reads, observed))
                    clean[keys[id(function)]] = reads.clean
                    continue
            again.append(function)
        expected: dict[str, tuple[Phase, ...]] = {}
        for function in again:
            key = keys[id(function)]
            phases = previous.phases.get(key)
            if (
                phases is None
                or key not in previous.done
                or any(answer == OVER_BUDGET for phase in phases for _, answer in phase.requests)
            ):
                return None
            expected[key] = phases
        return ReplayPlan(taken, again, expected, dict(previous.done), clean)

    def same_order(self, schedule: Schedule) -> bool:
        """Did the functions analysed again run where they ran before: the same phases, with
        the same summaries in progress, first asking for the same summaries in the same order?
        Only a first request can start an analysis (a later one is answered from what the
        first left); and where a request stands does not matter for a summary of a function
        taken over that read nothing in progress (its results are the same wherever it runs)
        or that was analysed in full before the phase began (then it is answered from what is
        kept, whether asked or not). And nothing else ran."""
        ran = schedule.phases
        if ran.keys() != self.expected.keys():
            return False
        for key, expected in self.expected.items():
            phases = ran[key]
            if len(phases) != len(expected):
                return False
            for phase, before in zip(phases, expected, strict=True):
                if (phase.kind, phase.in_progress, phase.depth) != (
                    before.kind,
                    before.in_progress,
                    before.depth,
                ):
                    return False
                started = before.started
                if self._placed(phase.requests, started) != self._placed(before.requests, started):
                    return False
        return True

    def _placed(self, requests: tuple[tuple[str, str], ...], started: Stamp) -> list[tuple[str, str]]:
        """The requests of a phase whose place in the order matters (see ``same_order``): the
        first of each (a later one is answered from what the first left), for a function
        analysed again, or taken over when it read something in progress and was not
        analysed in full before the phase began."""
        seen: set[tuple[str, str]] = set()
        placed: list[tuple[str, str]] = []
        for request in requests:
            if request in seen:
                continue
            seen.add(request)
            key, answer = request
            if key not in self.expected and answer == ANSWERED:
                if self.clean.get(key, False):
                    continue
                done = self.done.get(key)
                if done is not None and done[0] == started[0] and done[1] < started[1]:
                    continue
            placed.append(request)
        return placed
