"""The mode and grad dataflow: a worklist fixpoint per function, with function summaries.

Each function (and the module body) gets a control-flow graph. Its entry state
says every model reachable from a parameter or a global is in mode ``entry``
(whatever the caller had). The fixpoint runs the transfer of each node
(``transfer.NodeTransfer``) until nothing changes; the state at the exit, restricted
to parameters and globals, is the function's *summary*, applied at each call of that
function. Summaries are computed on demand, once per function; a recursive call
whose summary is still being computed counts as having no effect.

After the fixpoint, one more pass over the nodes records the *observations*
rules read (``facts.FileAnalysis``): forward calls with the state there, training
steps, mode switches.

The analyzer of one file drives its helpers: the function table (``functions``),
which paths are models (``models``), aliases (``aliases``), which function a call
runs (``calls``), and what is kept for the next version of the text (``reuse``).
"""

from __future__ import annotations

import ast
import functools
import heapq
import logging
import threading
from collections import Counter
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from torchmode.analysis import api_names
from torchmode.analysis.aliases import AliasTable
from torchmode.analysis.calls import CallResolver, FileAnalyzer, OtherFiles, ResolvedCall
from torchmode.analysis.cfg import ControlFlowGraph, Edge, NodeKind
from torchmode.analysis.events import collect_events
from torchmode.analysis.facts import (
    ENTERED_IN_TRAIN,
    RETURNED,
    TRAINING_SNAPSHOT,
    FileAnalysis,
    ForwardCall,
    Function,
    ModeLookup,
    Summary,
)
from torchmode.analysis.flags import flag_test, parameter_conditions
from torchmode.analysis.functions import FunctionTable
from torchmode.analysis.lattice import (
    ENTRY_GRAD,
    ENTRY_MODE,
    GRAD_ON,
    Condition,
    GradFact,
    GradValue,
    ModeValue,
    Site,
    State,
    condition_of,
    contradicts,
    join_states,
    make_state,
)
from torchmode.analysis.models import ModelDiscovery
from torchmode.analysis.names import ImportMap, access_path, is_under, root_of
from torchmode.analysis.reuse import (
    ANSWERED,
    FIXPOINT,
    IN_PROGRESS,
    OVER_BUDGET,
    PASS,
    Fixpoint,
    ModelPaths,
    Observations,
    Observed,
    ReadRecorder,
    Reads,
    ReplayPlan,
    ReuseCache,
    Schedule,
    function_keys,
    leave_cache,
    take_predecessor_cache,
)
from torchmode.analysis.transfer import NodeTransfer
from torchmode.analysis.walk import statements_of
from torchmode.syntax.document import Document
from torchmode.syntax.node_index import node_index

_STATEMENT_KINDS = frozenset({NodeKind.STATEMENT, NodeKind.TEST, NodeKind.FOR_ITER, NodeKind.WITH_ENTER})


class ModuleAnalyzer:
    """Runs the dataflow over every function of one document."""

    def __init__(
        self,
        document: Document,
        tree: ast.Module,
        project: OtherFiles | None = None,
        imports: ImportMap | None = None,
        module_classes: frozenset[str] | None = None,
    ) -> None:
        """``imports`` and ``module_classes``, when the project's file index has them already,
        spare two walks of the whole tree."""
        self.document = document
        self.tree = tree
        index = node_index(document)
        if index is not None and index.tree is not tree:
            index = None
        # Sites of a language-server document are anchored to the part of the file they are in,
        # whose lines a later version may move without analysing it again (``Site``).
        self._anchors = index if document.incremental else None
        if imports is None:
            imports = ImportMap(tree, index.statements_of_type(ast.Import, ast.ImportFrom) if index else None)
        self.imports = imports
        # Other files, for calls and classes imported from them (None: this file alone).
        self.project = project
        self.path: Path | None = real_path(document.path) if project is not None else None
        if imports.star_imports and project is not None and self.path is not None:
            imports.add_star_aliases(project.star_aliases(self.path, imports))
        self._ran = False
        # What the previous version's analysis left (language server only, see ``reuse``):
        # its results for the nodes this tree shares with it. Dropped once this one has run.
        self._previous: ReuseCache | None = take_predecessor_cache(document)
        self.reuse = ReuseCache()
        self.table = FunctionTable(tree, self._previous, self.reuse)
        self.module = self.table.module
        self.functions = self.table.functions
        # The order of the analysis, recorded for the language server's next version (``reuse``).
        self._keys = function_keys(self.functions)
        self.schedule = Schedule(self._keys, enabled=document.incremental)
        self._replayed: ReplayPlan | None = None
        self.module_classes = (
            module_classes
            if module_classes is not None
            else api_names.module_classes(
                tree, self.imports, index.statements_of_type(ast.ClassDef) if index else None
            )
        )
        # Dependency recording for the next version (see ``reuse``): the reads of every
        # computation in progress, and of each finished one.
        self.recorder = ReadRecorder()
        self._reads: dict[int, Reads] = {}
        self.calls = CallResolver(
            document, tree, imports, self.table, self.module_classes, self, self.recorder, project, self.path
        )
        next_version = self.reuse if document.incremental else None  # only the server has one
        self.models = ModelDiscovery(
            document, tree, imports, self.table, self.module_classes, self.calls, self._previous, next_version
        )
        self.models.discover()
        self.model_paths = ModelPaths(self.models.model_paths, self.recorder)
        self.calls.model_paths = self.model_paths
        self.alias_table = AliasTable(imports, self.calls, self.recorder)
        self._fixpoints: dict[int, Fixpoint] = {}
        self._saved_modes: dict[int, dict[str, str]] = {}
        self._mode_test_ids: dict[int, set[int]] = {}
        self._own_methods: dict[tuple[str, str], bool] = {}
        self._may_reuse: bool | None = None
        self._summaries: dict[int, Summary] = {}
        self._in_progress: set[int] = set()
        self.work = AnalysisWork()
        self.result = FileAnalysis(
            document,
            self.functions,
            model_paths=self.model_paths,
            trained_paths=frozenset(self.models.trained_paths),
            imports=self.imports,
            module_classes=self.module_classes,
            constructors={path: tuple(calls) for path, calls in self.models.constructors.items()},
            loaded_paths=frozenset(self.models.loaded_paths),
            optimizers=dict(self.models.optimizers),
        )
        self.observations = Observations(self.result, self.table.by_node)

    # -- what the transfer and other files ask -------------------------------------------------

    def project_lock(self) -> AbstractContextManager[Any]:
        return self.project.lock if self.project is not None else nullcontext()

    def aliases(self, function: Function) -> dict[str, str]:
        return self.alias_table.aliases(function)

    def resolve_call(self, function: Function, call: ast.Call) -> ResolvedCall | None:
        return self.calls.resolve_call(function, call)

    def resolve_calls(
        self, function: Function, call: ast.Call, loop_items: dict[str, str] | None = None
    ) -> list[ResolvedCall]:
        return self.calls.resolve_calls(function, call, loop_items)

    def is_module_constructor(self, call: ast.Call, function: Function) -> bool:
        return self.models.is_module_constructor(call, function)

    def returns_module(self, function: Function, depth: int = 0) -> bool:
        return self.models.returns_module(function, depth)

    def is_module_class(self, class_name: str) -> bool:
        return self.calls.is_module_class(class_name)

    def is_pretrained_eval(self, call: ast.Call) -> bool:
        return id(call) in self.models.pretrained_eval

    def freezing_constructor(self, call: ast.Call) -> tuple[Function, FileAnalyzer] | None:
        return self.calls.freezing_constructor(call)

    def copied(self, value: ast.expr) -> str | None:
        return self.models.copied(value)

    def identity_arguments(self, call: ast.Call) -> list[ast.expr] | None:
        return self.models.identity_arguments(call)

    def defines_method(self, path: str, name: str) -> bool:
        """Is ``path`` an instance of a class of the project that defines method ``name``
        (itself or through its bases)?"""
        key = (path, name)
        found = self._own_methods.get(key)
        if found is None:
            owner_class = self.calls.class_of(path)
            method = None
            if owner_class is not None:
                class_name, owner = owner_class
                with owner.project_lock():
                    method = owner.calls.method(class_name, name)
            found = self._own_methods[key] = method is not None
        return found

    @property
    def optimizers(self) -> dict[str, frozenset[str]]:
        return self.models.optimizers

    @property
    def wrappers(self) -> dict[str, str]:
        return self.models.wrappers

    # -- driver --------------------------------------------------------------------------------

    def events_of(self, expr: ast.expr) -> tuple[ast.Call | ast.NamedExpr | ast.IfExp, ...]:
        """The calls and walrus bindings of an expression in evaluation order, found once.

        A fixpoint visits a statement several times; walking its expression tree each
        time was most of the analysis's cost.
        """
        cached = self.reuse.events.get(id(expr))
        if cached is not None and cached[0] is expr:
            return cached[1]
        events = self._previous.events_of(expr) if self._previous is not None else None
        if events is None:
            found: list[ast.Call | ast.NamedExpr | ast.IfExp] = []
            collect_events(expr, found)
            events = tuple(found)
        self.reuse.events[id(expr)] = (expr, events)
        return events

    def run(self) -> FileAnalysis:
        """Observe every function (once: a second call returns the same result)."""
        if not self._ran:
            self._ran = True
            self._take_over_previous_order()
            for function in self.functions:
                self._analyze(function, observe=True)
            # The next version of this text may share nodes with it: leave it what can be
            # reused, and let go of the previous version's.
            self._leave_for_next_version()
            self._previous = None
        return self.result

    def summary_of(self, function: Function) -> Summary:
        key = id(function)
        if key in self._summaries:
            self.schedule.asked(function, ANSWERED)
            self.recorder.function(function)
            self.recorder.reads(self._reads.get(key))
            return self._summaries[key]
        if key in self._in_progress:
            self.schedule.asked(function, IN_PROGRESS)
            self.recorder.unclean()
            return Summary()  # recursion: assume no effect rather than loop forever
        if _summary_depth() >= MAX_SUMMARY_DEPTH:
            self.schedule.asked(function, OVER_BUDGET)
            self.recorder.unclean()
            # A call chain deeper than real code nests: the callee's effect is unknown, and
            # following it would exhaust the interpreter's stack (RecursionError). Assume no
            # effect, which reports nothing, and do not cache it: a shallower caller recomputes.
            self.work.note_budget("summary depth", self.document)
            return Summary()
        self.schedule.asked(function, ANSWERED)
        self._in_progress.add(key)
        _DEPTH.value = _summary_depth() + 1
        try:
            exit_state = self._analyze(function, observe=False)
            # Still in progress: a recursive call met while collecting its forward passes
            # counts as having no effect, as in the fixpoint.
            forwards = self._forwards_of(function)
        finally:
            self._in_progress.discard(key)
            _DEPTH.value -= 1
        summary = self._summarize(function, exit_state, forwards)
        self._summaries[key] = summary
        self.recorder.function(function)
        self.recorder.reads(self._reads.get(key))
        return summary

    def _forwards_of(self, function: Function) -> tuple[ForwardCall, ...]:
        """The forward calls a function's observation pass records (run now, once: the
        observation of the file replays it rather than running it again)."""
        observations = self.observations
        found = observations.carried.get(id(function)) or observations.observed.get(id(function))
        if found is not None:
            return found.forward_calls
        fixpoint = self._fixpoints.get(id(function))
        if fixpoint is None:
            return ()
        cfg, order, in_states, _ = fixpoint
        scratch = FileAnalysis(self.document, self.functions)
        with self.schedule.phase(PASS, function, self._in_progress, _summary_depth()):
            for index in order:
                if index in in_states:
                    self._transfer(function, cfg, index, in_states[index], scratch)
        observed = Observed(
            tuple(scratch.forward_calls),
            tuple(scratch.steps),
            tuple(scratch.switches),
            tuple(scratch.call_sites),
            tuple(scratch.states_before.items()),
        )
        observations.carried[id(function)] = observed
        return observed.forward_calls

    def _summarize(
        self, function: Function, exit_state: State, forwards: tuple[ForwardCall, ...] = ()
    ) -> Summary:
        effects: list[tuple[str, ModeValue]] = []
        returned = exit_state.mode_map.get(RETURNED)
        returned_parts: list[tuple[str, ModeValue]] = []
        for path, value in exit_state.modes:
            if is_under(path, RETURNED):
                if path != RETURNED and value != ENTRY_MODE:
                    returned_parts.append((path[len(RETURNED) :], value))
                continue
            root = root_of(path)
            crosses = root in function.parameters or (root not in function.locals and not function.is_module)
            if not crosses or root in function.rebound or value == ENTRY_MODE:
                continue
            # The callee's branch conditions mean nothing in the caller, except a plain flag
            # parameter (``model.train(training)``): a call passing a constant decides it.
            effects.append(
                (
                    path,
                    frozenset(
                        replace(fact, conditions=parameter_conditions(fact.conditions, function))
                        for fact in value
                    ),
                )
            )
        grad: GradValue | None = exit_state.grad
        if grad == ENTRY_GRAD or not any(not fact.scoped for fact in exit_state.grad):
            grad = None
        crossing: list[ForwardCall] = []
        seen: set[tuple[str, ModeValue, GradValue]] = set()
        for forward in forwards:
            root = root_of(forward.path)
            reaches = root in function.parameters or (root not in function.locals and not function.is_module)
            key = (forward.path, forward.value, forward.grad)
            if reaches and root not in function.rebound and key not in seen:
                seen.add(key)
                crossing.append(forward)
        if returned is not None:
            returned = frozenset(
                replace(fact, conditions=parameter_conditions(fact.conditions, function)) for fact in returned
            )
        frozen = tuple(
            sorted(
                path
                for path in exit_state.frozen
                if root_of(path) not in function.rebound
                and (
                    root_of(path) in function.parameters
                    or (root_of(path) not in function.locals and not function.is_module)
                )
            )
        )
        return Summary(tuple(effects), grad, tuple(crossing), returned, tuple(returned_parts), frozen)

    # -- the fixpoint -------------------------------------------------------------------------

    def _analyze(self, function: Function, observe: bool) -> State:
        cache_key = id(function)
        fixpoint = self._fixpoints.get(cache_key)
        if fixpoint is None:
            fixpoint = self._reused_fixpoint(function)
            if fixpoint is None:
                start = Reads({id(function.node): function.node} if function.node is not None else {})
                with (
                    self.recorder.recording(start) as reads,
                    self.schedule.phase(FIXPOINT, function, self._in_progress, _summary_depth()),
                ):
                    fixpoint = self._fixpoint(function)
                self._reads[cache_key] = reads
            self._fixpoints[cache_key] = fixpoint
        cfg, order, in_states, entry = fixpoint
        if observe and not self.observations.replay(function):
            marks = self.observations.marks()
            with self.schedule.phase(PASS, function, self._in_progress, _summary_depth()):
                for index in order:
                    if index in in_states:
                        self._transfer(function, cfg, index, in_states[index], self.result)
            self.observations.since(function, marks)
        exit_state = in_states.get(cfg.exit)
        if exit_state is None:
            exit_state = entry
        if observe and function.is_module:
            self.result.module_exit = exit_state
        return exit_state

    # -- reuse across versions ------------------------------------------------------------------

    def _take_over_previous_order(self) -> None:
        """The language server's way (``reuse.ReplayPlan``): take over the previous version's
        results of every function that read nothing that changed, analyse the others where the
        run would (each in table order: its fixpoint, then its pass, as the run does), and keep
        all that if they asked for the summaries they asked for before. Otherwise forget it
        all: ``run`` then analyses as if the previous version had recorded no order."""
        if not self.schedule.enabled or not self._context_unchanged():
            return
        plan = ReplayPlan.make(
            self._previous,
            self.functions,
            self._keys,
            self.table.is_kept,
            self.calls.instances,
            self.table.switched_attributes,
            self.model_paths,
        )
        if plan is None:
            return
        for function, fixpoint, reads, observed in plan.taken:
            self._fixpoints[id(function)] = fixpoint
            self._reads[id(function)] = reads
            self.observations.carried[id(function)] = observed
        for function in plan.again:
            self._analyze(function, observe=False)
            self._forwards_of(function)  # the pass the run makes, kept for it to replay
        if plan.same_order(self.schedule):
            self.work.reused_fixpoints += len(plan.taken)
            self._replayed = plan
            return
        self._fixpoints.clear()
        self._reads.clear()
        self._summaries.clear()
        self.observations.carried.clear()
        self.schedule.reset()

    def _reused_fixpoint(self, function: Function) -> Fixpoint | None:
        """The previous version's fixpoint of this function, when nothing it read changed."""
        node = function.node
        if node is None or self._previous is None:
            return None
        found = self._previous.results.get(id(node))
        if found is None or found[0] is not node:
            return None
        _, fixpoint, reads, observed = found
        if observed is None or not reads.clean or not self._context_unchanged():
            return None
        now = (self.calls.instances, self.table.switched_attributes, self.model_paths)
        if not reads.still_hold(self.table.is_kept, *now):
            return None
        self._reads[id(function)] = reads
        self.observations.carried[id(function)] = observed
        self.work.reused_fixpoints += 1
        return fixpoint

    def _context_unchanged(self) -> bool:
        if self._may_reuse is None:
            previous = self._previous
            self._may_reuse = (
                previous is not None
                and previous.context == self._file_context
                and previous.generation == self._generation()
            )
        return self._may_reuse

    def _generation(self) -> int | None:
        return self.project.generation if self.project is not None else None

    @functools.cached_property
    def _file_context(self) -> object:
        """The file-wide facts a function's analysis reads besides its own code and the
        functions it depends on (compared by value between versions)."""
        return (
            self.document.path,
            # Not the model paths: each computation's questions are in its reads (``ModelPaths``).
            frozenset(self.models.trained_paths),
            # The optimizers (and the parameters they update) and wrappers the transfer reads.
            tuple(sorted((path, tuple(sorted(models))) for path, models in self.models.optimizers.items())),
            tuple(sorted(self.models.wrappers.items())),
            self.module_classes,
            tuple(sorted(self.imports.aliases.items())),
            tuple(sorted(self.imports.relative.items())),
            tuple(self.imports.star_imports),
            # Which def a name resolves to (the last one of that name) can only change when a
            # def or class of that name is added, removed or renamed: counted by name. Which
            # node it is, re-parsed or not, is in each function's recorded reads.
            tuple(sorted(Counter(function.name for function in self.functions).items())),
            tuple(sorted(self.table.class_counts.items())),
            tuple(sorted((name, tuple(bases)) for name, bases in self.table.class_bases.items())),
            # Not here either: the parts of ``self`` each class's methods switch, read by a
            # method that takes a mode ``__init__`` sets (``_modes_from_init``, ``Reads.switched``).
            # Which paths are instances of which classes: not here, in each computation's reads
            # (``Reads.instances``): only the lookups it made.
        )

    def _leave_for_next_version(self) -> None:
        for function in self.functions:
            node = function.node
            reads = self._reads.get(id(function))
            fixpoint = self._fixpoints.get(id(function))
            if node is not None and reads is not None and fixpoint is not None:
                self.reuse.results[id(node)] = (
                    node,
                    fixpoint,
                    reads,
                    self.observations.observed.get(id(function)),
                )
        if self._previous is not None:
            # Filled after the previous analysis (by the rules): carried for kept functions.
            for key, (node, index) in self._previous.statement_indexes.items():
                if self.table.is_kept(key, node):
                    self.reuse.statement_indexes[key] = (node, index)
        self.reuse.context = self._file_context
        self.reuse.generation = self._generation()
        self.schedule.leave(self.reuse, self.functions, self._previous, self._replayed)
        leave_cache(self.document, self.reuse)

    def _fixpoint(self, function: Function) -> Fixpoint:
        """The state before each node once nothing changes any more (computed once per function)."""
        cfg, order = self._graph(function)
        entry = self._entry_state(function)
        in_states: dict[int, State] = {}
        out_states: dict[int, State] = {}
        rank = {node: position for position, node in enumerate(order)}
        # A heap of ranks: always the earliest pending node in reverse postorder, in log time.
        pending = list(range(len(order)))
        queued = set(order)
        budget = 50 * len(order) + 100  # a bound well above what real fixpoints need
        lookup = ModeLookup(function)
        while pending and budget > 0:
            budget -= 1
            self.work.fixpoint_steps += 1
            index = order[heapq.heappop(pending)]
            queued.discard(index)
            node = cfg.nodes[index]
            if index == cfg.entry:
                state = entry
            else:
                arriving = (
                    self._along(out_states[source], edge, function)
                    for source in node.predecessors
                    if source in out_states
                    for edge in cfg.nodes[source].successors
                    if edge.target == index
                )
                incoming = [arrived for arrived in arriving if arrived is not None]
                if not incoming:
                    continue
                state = join_states(incoming, lookup)
            in_states[index] = state
            new_out = self._transfer(function, cfg, index, state, None)
            if out_states.get(index) != new_out:
                out_states[index] = new_out
                for edge in node.successors:
                    if edge.target in rank and edge.target not in queued:
                        queued.add(edge.target)
                        heapq.heappush(pending, rank[edge.target])
        if pending:
            self.work.note_budget("fixpoint iterations", self.document)
        return cfg, order, in_states, entry

    def _graph(self, function: Function) -> tuple[ControlFlowGraph, list[int]]:
        """A function's control-flow graph and its reverse postorder (from the previous
        version of the document when the function's node is unchanged)."""
        node = function.node
        graph = self._previous.graph_of(node) if node is not None and self._previous is not None else None
        if graph is None:
            cfg = ControlFlowGraph(function.body)
            graph = (cfg, cfg.reverse_postorder())
        if node is not None:
            self.reuse.graphs[id(node)] = (node, *graph)
        return graph

    def condition(self, test: ast.expr, truth: bool) -> Condition:
        """A branch condition (its text and names: syntax only, so kept across versions)."""
        key = (id(test), truth)
        cached = self.reuse.conditions.get(key)
        if cached is not None and cached[0] is test:
            return cached[1]
        condition = self._previous.condition_of(test, truth) if self._previous is not None else None
        if condition is None:
            # Both ways of a branch are asked for: the other way's condition, negated, is this
            # one (its key is an ``ast.dump`` of the test, the costly part).
            opposite = self.reuse.conditions.get((id(test), not truth))
            if opposite is not None and opposite[0] is test:
                condition = opposite[1].negated()
        if condition is None:
            condition = condition_of(test, truth, self.document.source_of(test))
        self.reuse.conditions[key] = (test, condition)
        return condition

    def _entry_state(self, function: Function) -> State:
        grad: GradValue = GRAD_ON if function.is_module else ENTRY_GRAD
        if function.node is not None:
            for decorator in function.node.decorator_list:
                decorated = self.grad_context(decorator, function, decorator_form=True)
                if decorated is None:
                    decorated = self._decorator_grad(decorator, function)
                if decorated is not None:
                    grad = decorated
        return make_state(self._modes_from_init(function), grad, (), frozenset())

    def _modes_from_init(self, function: Function) -> dict[str, ModeValue]:
        """A mode set in ``__init__`` (``self.teacher.eval()``) holds in the object's other
        methods, unless one of them switches that part again."""
        node = function.node
        if function.class_name is None or node is None or node.name == "__init__" or not function.parameters:
            return {}
        if self.calls.class_kind(function.class_name) != "other":
            # A module's parts follow the mode of the module (its caller's train()/eval()),
            # not the mode they were built in.
            return {}
        found = self.calls.method(function.class_name, "__init__")
        if found is None or found[1] is not self or not found[0].parameters:
            return {}
        init = found[0]
        summary = self.summary_of(init)
        init_self, own_self = init.parameters[0], function.parameters[0]
        modes: dict[str, ModeValue] = {}
        switched: set[str] | None = None
        for path, value in summary.effects:
            root, _, rest = path.partition(".")
            if root != init_self or not rest or any(fact.mode in ("entry", "unknown") for fact in value):
                continue
            if switched is None:
                # Read (and recorded) only where ``__init__`` set a mode: a switch added to
                # one method changes the entry of the others only then.
                switched = self.table.switched_attributes(function.class_name)
                self.recorder.switched(function.class_name, switched)
            if "" in switched or any(is_under(rest, other) or is_under(other, rest) for other in switched):
                continue  # another method switches it (or the whole object) again
            modes[f"{own_self}.{rest}"] = value
        return modes

    def _decorator_grad(self, decorator: ast.expr, function: Function) -> GradValue | None:
        """A decorator of the project that runs the function under ``no_grad`` or
        ``inference_mode`` (yolov5's ``smart_inference_mode()``: it returns
        ``torch.inference_mode()(fn)``): grad off inside, as the torch decorators."""
        call = decorator if isinstance(decorator, ast.Call) else ast.Call(decorator, [], [])
        resolved = self.calls.resolve_call(self.module if function.parent is None else function.parent, call)
        if resolved is None or resolved.callee.node is None:
            return None
        imports = resolved.owner.imports
        kinds = {
            api_names.grad_context_kind(qualified)
            for node in ast.walk(resolved.callee.node)
            if isinstance(node, (ast.Name, ast.Attribute))
            and (qualified := imports.qualified_name(node)) is not None
        }
        if kinds & {"no_grad", "inference_mode"} and not kinds & {"enable_grad", "set_grad_enabled"}:
            return frozenset({GradFact("off", (self.site(decorator, function, None),))})
        return None

    def _along(self, state: State, edge: Edge, function: Function) -> State | None:
        """The state as it arrives over ``edge``: ``with`` blocks left, branch condition known."""
        if edge.pops:
            depth = len(state.grad_stack)
            pops = min(edge.pops, depth)
            if pops:
                state = replace(
                    state, grad=state.grad_stack[depth - pops], grad_stack=state.grad_stack[: depth - pops]
                )
        if edge.condition is not None and not isinstance(edge.condition, ast.Constant):
            condition = self.condition(edge.condition, edge.truth)
            known = frozenset({condition})
            modes: dict[str, ModeValue] = {}
            for path, value in state.modes:
                # A value whose every fact contradicts the branch lies on no path here; keep it
                # rather than invent an empty (bottom) value that later joins would drop.
                kept = frozenset(fact for fact in value if not contradicts(fact.conditions, known))
                modes[path] = kept or value
            grad = frozenset(fact for fact in state.grad if not contradicts(fact.conditions, known))
            if not _refine_training(modes, edge.condition, edge.truth, function, self.model_paths):
                return None  # the test contradicts the mode known here: no path takes this edge
            flag = flag_test(edge.condition, function.parameters)
            if (
                flag is not None
                and flag not in function.rebound
                and id(edge.condition) in self._mode_tests(function)
            ):
                # ``if restore: model.train()``: facts that went this way carry the flag's value,
                # so a caller passing a constant picks the branch (see ``parameter_conditions``).
                for path, value in modes.items():
                    modes[path] = frozenset(
                        replace(fact, conditions=fact.conditions | known) for fact in value
                    )
            saved = self._saved_mode_source(edge.condition, function)
            if saved is not None:
                # ``if was_training: model.train()``: which way was taken says what the mode was
                # when the function was entered.
                entered = frozenset({_entered_in_train(saved, edge.condition, edge.truth)})
                for path, value in modes.items():
                    if is_under(path, saved):
                        modes[path] = frozenset(
                            replace(fact, conditions=fact.conditions | entered) for fact in value
                        )
            state = make_state(
                modes, grad or state.grad, state.grad_stack, state.assumptions | known, state.frozen
            )
        return state

    def _mode_tests(self, function: Function) -> set[int]:
        """The tests of ``if`` statements whose branches switch a mode (``if restore:
        model.train()``): only these tag facts with the flag's value."""
        found = self._mode_test_ids.get(id(function))
        if found is None:
            found = self._mode_test_ids[id(function)] = {
                id(statement.test)
                for statement in statements_of(function.body)
                if isinstance(statement, ast.If)
                and any(
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("train", "eval")
                    for branch in (statement.body, statement.orelse)
                    for inner in branch
                    for node in ast.walk(inner)
                )
            }
        return found

    def _saved_mode_source(self, test: ast.expr, function: Function) -> str | None:
        """The model path a branch test on a saved mode saved (``was_training = model.training``
        assigned once, then ``if was_training:``), when it is a parameter's or a global's."""
        found = _training_test(test)
        if found is None or not found[0].endswith(f".{TRAINING_SNAPSHOT}"):
            return None
        name = found[0].split(".", 1)[0]
        sources = self._saved_modes.get(id(function))
        if sources is None:
            sources = self._saved_modes[id(function)] = _saved_modes(function)
        source = sources.get(name)
        if source is None:
            return None
        root = root_of(source)
        reaches = root in function.parameters or (root not in function.locals and not function.is_module)
        return source if reaches else None

    # -- transfer functions -------------------------------------------------------------------

    def _transfer(
        self,
        function: Function,
        cfg: ControlFlowGraph,
        index: int,
        state: State,
        record: FileAnalysis | None,
    ) -> State:
        node = cfg.nodes[index]
        if record is not None and node.statement is not None and node.kind in _STATEMENT_KINDS:
            # Keyed by the statement node: with try/finally copies, paths through each copy join.
            key = id(node.statement)
            previous = record.states_before.get(key)
            record.states_before[key] = (
                state if previous is None else join_states([previous, state], ModeLookup(function))
            )
        step = NodeTransfer(self, function, state, node.loops, record)
        kind = node.kind
        if kind is NodeKind.STATEMENT and node.statement is not None:
            assert isinstance(node.statement, ast.stmt)
            if node.expression is not None:  # match subject
                step.evaluate(node.expression, node.statement)
            else:
                step.statement(node.statement)
                if isinstance(node.statement, ast.Assert):
                    # ``assert model.training``: past it, the mode is what the test says (a
                    # run where it is not raises there).
                    _refine_training(step.modes, node.statement.test, True, function, self.model_paths)
        elif kind in (NodeKind.TEST, NodeKind.FOR_ITER) and node.expression is not None:
            assert isinstance(node.statement, ast.stmt)
            step.evaluate(node.expression, node.statement)
            if isinstance(node.statement, (ast.For, ast.AsyncFor)):
                step.freeze_parameters(node.statement)
        elif kind is NodeKind.FOR_NEXT:
            assert isinstance(node.statement, (ast.For, ast.AsyncFor))
            step.bind(node.statement.target, None, node.statement)
        elif kind is NodeKind.WITH_ENTER:
            assert isinstance(node.statement, ast.withitem)
            step.enter_with(node.statement)
        elif kind is NodeKind.WITH_EXIT:
            step.leave_with()
        elif kind is NodeKind.JOIN and isinstance(node.statement, ast.ExceptHandler) and node.statement.name:
            step.forget({node.statement.name})
        return step.finish()

    def grad_context(
        self, expr: ast.expr, function: Function, decorator_form: bool = False
    ) -> GradValue | None:
        """The grad value a ``with`` item or decorator sets, or None when it is not a grad context."""
        call = expr if isinstance(expr, ast.Call) else None
        target = call.func if call is not None else expr
        qualified = self.imports.qualified_name(target)
        if qualified is None:
            return None
        kind = api_names.grad_context_kind(qualified)
        if kind is None:
            return None
        if call is None and not decorator_form:
            return None  # ``with torch.no_grad:`` fails at run time (TypeError); no grad change
        site = self.site(expr, function, None)
        if kind == "set_grad_enabled":
            if call is None or not call.args:
                return None
            return self.grad_from_flag(call.args[0], site, scoped=True)
        if kind == "inference_mode" and call is not None and call.args:
            flag = call.args[0]
            if isinstance(flag, ast.Constant) and flag.value is False:
                return None
        if kind == "enable_grad":
            return frozenset({GradFact("on", (site,))})
        return frozenset({GradFact("off", (site,))})

    def grad_from_flag(self, flag: ast.expr, site: Site, scoped: bool) -> GradValue:
        if isinstance(flag, ast.Constant) and isinstance(flag.value, bool):
            return frozenset({GradFact("on" if flag.value else "off", (site,), scoped=scoped)})
        text = self.document.source_of(flag)
        return frozenset(
            {
                GradFact("on", (site,), frozenset({condition_of(flag, True, text)}), scoped),
                GradFact("off", (site,), frozenset({condition_of(flag, False, text)}), scoped),
            }
        )

    def site(self, node: ast.AST, function: Function, statement: ast.stmt | None) -> Site:
        anchors = self._anchors
        return Site(
            self.document.span_of(node),
            self.document.source_of(node),
            function.name,
            self.document.span_of(statement) if statement is not None else None,
            self.document.path,
            anchors.anchor_at(getattr(node, "lineno", 0)) if anchors is not None else None,
        )


# Summaries being computed in this thread, across every file's analyzer: a call chain
# through several files counts against one depth budget.
_DEPTH = threading.local()


def _summary_depth() -> int:
    return getattr(_DEPTH, "value", 0)


def real_path(path: str) -> Path | None:
    """A document's path on disk, for resolving its imports (None for ``<string>``, untitled...)."""
    if not path or path.startswith("<"):
        return None
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        return None


# Nested summaries (f calls g calls h...) followed at most this deep. Each level costs about
# ten Python frames, so this stays far below the default recursion limit of 1000.
MAX_SUMMARY_DEPTH = 40

_log = logging.getLogger(__name__)


@dataclass
class AnalysisWork:
    """What one file's analysis cost, and which budgets it hit (the tests prove the bounds)."""

    fixpoint_steps: int = 0
    reused_fixpoints: int = 0  # taken from the previous version of the document
    budgets_hit: list[str] = field(default_factory=list)

    def note_budget(self, which: str, document: Document) -> None:
        if which not in self.budgets_hit:  # logged once per budget and file
            self.budgets_hit.append(which)
            _log.info("%s: %s budget exhausted; the rest is treated as unknown", document.path, which)


def _training_test(test: ast.expr) -> tuple[str, bool] | None:
    """(path, truth that means train mode) for ``P.training``, ``not P.training``,
    ``P.training is False``, ``P.training == True`` and ``was_training`` (a saved mode)."""
    truth = True
    while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test, truth = test.operand, not truth
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.Is, ast.Eq, ast.IsNot, ast.NotEq))
        and isinstance(test.comparators[0], ast.Constant)
        and isinstance(test.comparators[0].value, bool)
    ):
        positive = isinstance(test.ops[0], (ast.Is, ast.Eq))
        truth = truth if test.comparators[0].value == positive else not truth
        test = test.left
    if isinstance(test, ast.Attribute) and test.attr == "training":
        path = access_path(test.value)
        return (path, truth) if path is not None else None
    if isinstance(test, ast.Name):
        return (f"{test.id}.{TRAINING_SNAPSHOT}", truth)
    return None


def _refine_training(
    modes: dict[str, ModeValue], test: ast.expr, truth: bool, function: Function, models: frozenset[str]
) -> bool:
    """What a branch on a module's mode teaches: past ``if not self.training: return``, or on
    the true edge of ``if was_training:``, the mode is known. Updates ``modes``; False when the
    mode known before contradicts the edge (no run takes it)."""
    found = _training_test(test)
    if found is None:
        return True
    path, train_when = found
    mode = "train" if truth == train_when else "eval"
    snapshot = path.endswith(f".{TRAINING_SNAPSHOT}")
    value = modes.get(path)
    own = function.class_name is not None and bool(function.parameters) and path == function.parameters[0]
    if value is None:
        if snapshot or (path not in models and not own):
            return True  # not a saved mode, a model or a method's own object: an ordinary flag
        value = ModeLookup(function).value(modes, path)
    if all(fact.mode in (mode, "entry", "unknown") for fact in value) and not snapshot:
        # The mode comes from outside (or is what the test says): now it is known.
        modes[path] = frozenset(
            fact if fact.mode == mode else replace(fact, mode=mode)  # type: ignore[arg-type]
            for fact in value
        )
        return True
    # A loop brings back what one branch learnt beside what is still unknown ({train,
    # entry}): the unknown part is known on this edge as well.
    matching = frozenset(
        fact if fact.mode == mode or snapshot else replace(fact, mode=mode)  # type: ignore[arg-type]
        for fact in value
        if fact.mode == mode or fact.mode in ("entry", "unknown")
    )
    if not matching:
        return False
    modes[path] = matching
    return True


def _saved_modes(function: Function) -> dict[str, str]:
    """``was_training = model.training`` (assigned once): {"was_training": "model"}."""
    found: dict[str, str] = {}
    seen: set[str] = set()
    for statement in statements_of(function.body):
        if not isinstance(statement, ast.Assign):
            continue
        for target in statement.targets:
            if not isinstance(target, ast.Name):
                continue
            value = statement.value
            source = (
                access_path(value.value)
                if isinstance(value, ast.Attribute) and value.attr == "training"
                else None
            )
            if target.id in seen or source is None:
                found.pop(target.id, None)
            else:
                found[target.id] = source
            seen.add(target.id)
    return found


def _entered_in_train(path: str, test: ast.expr, truth: bool) -> Condition:
    """The condition "``path`` was in train mode when the function was entered" (or not),
    learned on one edge of a test of the mode saved at entry."""
    found = _training_test(test)
    assert found is not None
    trained = truth == found[1]
    return Condition(f"{path}.{ENTERED_IN_TRAIN}", trained, frozenset(), f"{path}.training at entry")
