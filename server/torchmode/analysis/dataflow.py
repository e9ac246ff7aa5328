"""The mode and grad dataflow: a worklist fixpoint per function, with function summaries.

Each function (and the module body) gets a control-flow graph. Its entry state
says every model reachable from a parameter or a global is in mode ``entry``
(whatever the caller had). The fixpoint runs the transfer of each node until
nothing changes; the state at the exit, restricted to parameters and globals,
is the function's *summary*, applied at each call of that function in the same
file. Summaries are computed on demand, once per function; a recursive call
whose summary is still being computed counts as having no effect.

After the fixpoint, one more pass over the nodes records the *observations*
rules read: forward calls with the state there, training steps, mode switches.
"""

from __future__ import annotations

import ast
import functools
import heapq
import itertools
import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from torchmode.analysis import api_names
from torchmode.analysis.cfg import ControlFlowGraph, Edge, Loop, NodeKind
from torchmode.analysis.facts import (
    MODULE_FUNCTION,
    SUBMODULES,
    TRAINING_SNAPSHOT,
    CallSite,
    FileAnalysis,
    ForwardCall,
    Function,
    FunctionNode,
    ModeLookup,
    ModeSwitch,
    Summary,
    TrainingStep,
)
from torchmode.analysis.lattice import (
    ENTRY_GRAD,
    ENTRY_MODE,
    GRAD_ON,
    UNKNOWN_MODE,
    Condition,
    Conditions,
    GradFact,
    GradValue,
    ModeFact,
    ModeValue,
    Site,
    State,
    condition_of,
    contradicts,
    join_states,
    make_state,
)
from torchmode.analysis.names import (
    ImportMap,
    access_path,
    is_under,
    local_names,
    root_of,
    stored_names,
)
from torchmode.analysis.walk import all_statements, own_expressions, statements_of
from torchmode.syntax.document import Document
from torchmode.syntax.node_index import node_index

if TYPE_CHECKING:
    from torchmode.analysis.project import Definition, Project

_NAME_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")


Fixpoint = tuple[ControlFlowGraph, list[int], dict[int, State], State]


@dataclass
class _Reads:
    """The same-file functions one computation depended on (its own node included): their
    nodes by id. ``clean`` is false when it met a recursive call or the depth budget, whose
    answers depend on the order functions happened to be analysed in: never reused."""

    nodes: dict[int, FunctionNode] = field(default_factory=dict)
    clean: bool = True


@dataclass(frozen=True)
class _Observed:
    """What one function's observation pass recorded (see ``FileAnalysis``)."""

    forward_calls: tuple[ForwardCall, ...]
    steps: tuple[TrainingStep, ...]
    switches: tuple[ModeSwitch, ...]
    call_sites: tuple[CallSite, ...]
    states: tuple[tuple[int, State], ...]


class ReuseCache:
    """What one version's analysis leaves for the next version of the document.

    ``syntax.incremental.reparse`` keeps the nodes of unchanged top-level statements;
    results are looked up by ``id()`` and then checked to be of the very same node, so an
    id reused by a new object is never taken for the old. Syntax-only results (local
    names, calls, events, control-flow graphs, branch conditions) are reused for any kept
    node. A function's fixpoint is reused when its node and the node of every function it
    depended on (summaries, resolved calls, ``__init__`` of aliased arguments) are kept,
    nothing recursive was involved, and the file-wide facts it reads (model paths, imports,
    classes, module-level names...: ``context``) and the other project files
    (``generation``) are unchanged.
    """

    def __init__(self) -> None:
        self.results: dict[int, tuple[FunctionNode, Fixpoint, _Reads, _Observed | None]] = {}
        self.context: object = None
        self.generation: int | None = None
        self.function_names: dict[int, tuple[FunctionNode, tuple[frozenset[str], frozenset[str]]]] = {}
        self.events: dict[int, tuple[ast.expr, tuple[ast.Call | ast.NamedExpr, ...]]] = {}
        self.own_calls: dict[int, tuple[FunctionNode, list[ast.Call]]] = {}
        self.graphs: dict[int, tuple[FunctionNode, ControlFlowGraph, list[int]]] = {}
        self.conditions: dict[tuple[int, bool], tuple[ast.expr, Condition]] = {}
        # Filled by the rules (``GradFacts.statement_index``), after the analysis.
        self.statement_indexes: dict[int, tuple[FunctionNode, dict[int, ast.stmt]]] = {}

    def names_of(self, node: FunctionNode) -> tuple[frozenset[str], frozenset[str]] | None:
        found = self.function_names.get(id(node))
        return found[1] if found is not None and found[0] is node else None

    def events_of(self, expr: ast.expr) -> tuple[ast.Call | ast.NamedExpr, ...] | None:
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


class _Collector(ast.NodeVisitor):
    """Builds the ``Function`` records of a module: module body, functions, methods, nested defs."""

    def __init__(self, previous: ReuseCache | None = None) -> None:
        self.functions: list[Function] = []
        self.module_level: dict[str, Function] = {}
        self.classes: dict[str, dict[str, Function]] = {}
        self.class_bases: dict[str, list[str]] = {}
        self.class_counts: Counter[str] = Counter()
        self.previous = previous
        self.reuse = ReuseCache()

    def collect(self, tree: ast.Module) -> Function:
        module = Function(MODULE_FUNCTION, None, tree.body, [], 0, frozenset(), None, None)
        self.functions.append(module)
        self._scan(tree.body, module, None)
        module.nested = self.module_level
        return module

    def _scan(self, body: list[ast.stmt], parent: Function, class_name: str | None) -> None:
        for statement in statements_of(body):
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                function = self._function(statement, parent, class_name)
                if class_name is not None:
                    self.classes.setdefault(class_name, {})[statement.name] = function
                elif parent.is_module:
                    self.module_level[statement.name] = function
                else:
                    parent.nested[statement.name] = function
            elif isinstance(statement, ast.ClassDef):
                self.class_counts[statement.name] += 1
                self.class_bases[statement.name] = [
                    base_path for base_path in map(access_path, statement.bases) if base_path is not None
                ]
                self._scan(statement.body, parent, statement.name)

    def _function(self, node: FunctionNode, parent: Function, class_name: str | None) -> Function:
        arguments = node.args
        positional = [arg.arg for arg in [*arguments.posonlyargs, *arguments.args]]
        keyword_only = [arg.arg for arg in arguments.kwonlyargs]
        prefix = f"{class_name}." if class_name else (f"{parent.name}." if not parent.is_module else "")
        function = Function(
            name=prefix + node.name,
            node=node,
            body=node.body,
            parameters=positional + keyword_only,
            positional_count=len(positional),
            locals=frozenset(),
            class_name=class_name,
            parent=parent,
        )
        known = self.previous.names_of(node) if self.previous is not None else None
        if known is None:
            known = (local_names(node), _rebound_names(node, function))
        function.locals, function.rebound = known
        self.reuse.function_names[id(node)] = (node, known)
        self.functions.append(function)
        self._scan(node.body, function, None)
        return function


def _own_calls(body: list[ast.stmt]) -> list[ast.Call]:
    return [
        node
        for statement in statements_of(body)
        for node in own_expressions(statement)
        if isinstance(node, ast.Call)
    ]


def _rebound_names(node: FunctionNode, function: Function) -> frozenset[str]:
    """Parameters assigned a new object, so effects after that do not reach the caller.

    ``model = model.to(device)`` keeps the object (``.to`` returns ``self``), so it
    is not a rebinding.
    """
    rebound: set[str] = set()
    for statement in statements_of(node.body):
        if isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                for name in stored_names(target):
                    value = statement.value
                    while isinstance(value, ast.Call) and value.args and _is_wrapper_call(value):
                        value = value.args[0]  # ``model = DDP(model)`` keeps the module
                    kept = (
                        value is not None
                        and _strip_wrappers(value) is not None
                        and root_of(access_path(_strip_wrappers(value) or value) or "") == name
                    )
                    if name in function.parameters and not kept:
                        rebound.add(name)
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            rebound.update(name for name in stored_names(statement.target) if name in function.parameters)
    return frozenset(rebound)


def _is_wrapper_call(call: ast.Call) -> bool:
    """``torch.compile(m)``, ``DataParallel(m)``, ``DDP(m)`` by their last name (no import map here)."""
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    return name in {qualified.rsplit(".", 1)[1] for qualified in api_names.WRAPPER_CONSTRUCTORS} | {"DDP"}


def _strip_wrappers(expr: ast.expr) -> ast.expr | None:
    """``model.to(device).cuda()`` -> ``model``: these methods return the module itself."""
    while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
        if expr.func.attr in api_names.SAME_MODULE_METHODS:
            expr = expr.func.value
        else:
            return None
    return expr


class ModuleAnalyzer:
    """Runs the dataflow over every function of one document."""

    def __init__(
        self,
        document: Document,
        tree: ast.Module,
        project: Project | None = None,
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
        if imports is None:
            imports = ImportMap(tree, index.statements_of_type(ast.Import, ast.ImportFrom) if index else None)
        self.imports = imports
        # Other files, for calls and classes imported from them (None: this file alone).
        self.project = project
        self.path: Path | None = _real_path(document.path) if project is not None else None
        self._imported_module_classes: dict[str, bool] = {}
        self._alias_maps: dict[int, dict[str, str]] = {}
        self._imported: dict[tuple[str, bool], Definition | None] = {}
        self._ran = False
        # What the previous version's analysis left (language server only, see ReuseCache):
        # its results for the nodes this tree shares with it. Dropped once this one has run.
        predecessor = document.predecessor
        document.predecessor = None
        previous = predecessor.analysis_cache if predecessor is not None else None
        self._previous: ReuseCache | None = previous if isinstance(previous, ReuseCache) else None
        collector = _Collector(self._previous)
        self.module = collector.collect(tree)
        self.reuse = collector.reuse
        self.functions = collector.functions
        self.classes = collector.classes
        self.class_bases = collector.class_bases
        self.class_counts = collector.class_counts
        self.module_classes = (
            module_classes
            if module_classes is not None
            else api_names.module_classes(
                tree, self.imports, index.statements_of_type(ast.ClassDef) if index else None
            )
        )
        # Paths ever put in train mode or whose parameters are handed out (to an
        # optimizer): models that get trained, as opposed to frozen teachers.
        self.trained_paths: set[str] = set()
        # Every ``path = Net(...)`` of the file, for what the model is made of.
        self.constructors: dict[str, list[ast.Call]] = {}
        # ``trainer = Trainer(model)``: the classes of this file each path is an instance of
        # (a path assigned anything else too gets no class).
        self.instances: dict[str, set[str]] = self._find_instances(tree)
        self._module_calls: list[ast.Call] | None = None
        self._fixpoints: dict[int, Fixpoint] = {}
        # Dependency recording for the next version (see ``ReuseCache``): the reads of every
        # computation in progress, innermost last, and of each finished one.
        self._recording: list[_Reads] = []
        self._reads: dict[int, _Reads] = {}
        self._alias_reads: dict[int, _Reads] = {}
        self._function_by_node = {id(f.node): f for f in self.functions if f.node is not None}
        # Each function's observations (forward calls, steps...), and those carried over
        # from the previous version for functions whose fixpoint is reused.
        self._observed: dict[int, _Observed] = {}
        self._carried_observations: dict[int, _Observed] = {}
        self._may_reuse: bool | None = None
        self.model_paths = self._find_model_paths()
        self._summaries: dict[int, Summary] = {}
        self._in_progress: set[int] = set()
        self.work = AnalysisWork()
        self.result = FileAnalysis(
            document,
            self.functions,
            model_paths=self.model_paths,
            trained_paths=frozenset(self.trained_paths),
            imports=self.imports,
            module_classes=self.module_classes,
            constructors={path: tuple(calls) for path, calls in self.constructors.items()},
        )

    # -- which paths are models ---------------------------------------------------------------

    def _find_model_paths(self) -> frozenset[str]:
        paths: set[str] = set()
        index = node_index(self.document)
        nodes = (
            index.of_type(ast.Call, ast.Assign, ast.AnnAssign) if index is not None else ast.walk(self.tree)
        )
        for node in nodes:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in ("train", "eval"):
                    receiver = _strip_wrappers(node.func.value)
                    path = access_path(receiver) if receiver is not None else None
                    if path and not self._is_library_path(path):
                        paths.add(path)
                        if node.func.attr == "train":
                            self.trained_paths.add(path)
                elif node.func.attr == "parameters":
                    path = access_path(node.func.value)
                    if path:
                        paths.add(path)
                        self.trained_paths.add(path)
            elif (
                isinstance(node, (ast.Assign, ast.AnnAssign))
                and node.value is not None
                and self._constructs_module(node.value)
            ):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    path = access_path(target)
                    if path:
                        paths.add(path)
                        constructor = _strip_mode_chain(node.value)
                        if isinstance(constructor, ast.Call):
                            self.constructors.setdefault(path, []).append(constructor)
        paths.update(self._called_in_training_steps())
        paths.update(self._called_parameters_named_like_models())
        return frozenset(paths)

    def _called_in_training_steps(self) -> set[str]:
        """Parameters called before a ``backward()``/``step()`` in the same function are models.

        ``def step(net, opt, x): net(x).sum().backward()`` trains ``net`` whatever its
        name. Only parameters count (not helpers, imports or builtins), so a call of a
        local function or of ``print`` is never taken for a forward pass.
        """
        found: set[str] = set()
        for function in self.functions:
            if function.node is None:
                continue
            calls = self._own_calls(function)
            step_lines = [
                call.lineno for call in calls if api_names.training_step_kind(call, self.imports) is not None
            ]
            if not step_lines:
                continue
            last_step = max(step_lines)
            for call in calls:
                path = access_path(call.func)
                if (
                    path is not None
                    and "." not in path
                    and path in function.parameters
                    and path != (function.parameters[0] if function.class_name else None)
                    and call.lineno <= last_step
                ):
                    found.add(path)
        return found

    def _called_parameters_named_like_models(self) -> set[str]:
        """``def evaluate(model, loader): model(x)``: a called parameter named like a model is one.

        The name matters: ``criterion(out, y)`` or ``fn(x)`` are called too and are no model.
        """
        found: set[str] = set()
        for function in self.functions:
            candidates = {
                name
                for name in function.parameters
                if api_names.MODEL_NAME_WORDS & {word.lower() for word in _NAME_WORD.findall(name)}
            } - self._function_defaults(function)
            if not candidates:
                continue
            for call in self._own_calls(function):
                if isinstance(call.func, ast.Name) and call.func.id in candidates:
                    found.add(call.func.id)
        return found

    def _function_defaults(self, function: Function) -> set[str]:
        """Parameters whose default is a function (``decoder=decode_tokens``, ``fn=lambda x: x``):
        whatever their name says, callers pass functions there, not models."""
        node = function.node
        if node is None:
            return set()
        arguments = node.args
        positional = [*arguments.posonlyargs, *arguments.args]
        pairs = list(
            zip(positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True)
        )
        pairs += [
            (arg, default)
            for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
            if default is not None
        ]
        return {
            arg.arg
            for arg, default in pairs
            if isinstance(default, ast.Lambda)
            or (isinstance(default, ast.Name) and default.id in self.module.nested)
        }

    def _own_calls(self, function: Function) -> list[ast.Call]:
        """The calls in a function's own code (not nested defs), found once and kept."""
        node = function.node
        if node is None:
            if self._module_calls is None:
                self._module_calls = _own_calls(function.body)
            return self._module_calls
        calls = self.reuse.own_calls_of(node)
        if calls is None:
            calls = self._previous.own_calls_of(node) if self._previous is not None else None
            if calls is None:
                calls = _own_calls(function.body)
            self.reuse.own_calls[id(node)] = (node, calls)
        return calls

    def _is_library_path(self, path: str) -> bool:
        """``torch.something.eval()`` is not a model of the user's."""
        return root_of(path) in self.imports.aliases

    def _constructs_module(self, expr: ast.expr) -> bool:
        inner = _strip_mode_chain(expr)
        if not isinstance(inner, ast.Call):
            return False
        return self._is_module_constructor(inner)

    def _is_module_constructor(self, call: ast.Call) -> bool:
        func = call.func
        if isinstance(func, ast.Name) and func.id in self.module_classes:
            return True
        if isinstance(func, ast.Name) and func.id in self.class_bases:
            # A class of this file whose nn.Module base is imported from another file.
            return self.project is not None and self.is_module_class(func.id)
        if isinstance(func, ast.Attribute) and func.attr == "from_pretrained":
            return True
        qualified = self.imports.qualified_name(func)
        if qualified is not None and qualified in api_names.WRAPPER_CONSTRUCTORS:
            return bool(call.args) and self._constructs_module(call.args[0])
        if qualified is not None and api_names.is_module_factory(qualified):
            return True
        path = access_path(func)
        return path is not None and self.project is not None and self._is_imported_module_class(path)

    # -- driver --------------------------------------------------------------------------------

    def events_of(self, expr: ast.expr) -> tuple[ast.Call | ast.NamedExpr, ...]:
        """The calls and walrus bindings of an expression in evaluation order, found once.

        A fixpoint visits a statement several times; walking its expression tree each
        time was most of the analysis's cost.
        """
        cached = self.reuse.events.get(id(expr))
        if cached is not None and cached[0] is expr:
            return cached[1]
        events = self._previous.events_of(expr) if self._previous is not None else None
        if events is None:
            found: list[ast.Call | ast.NamedExpr] = []
            _collect_events(expr, found)
            events = tuple(found)
        self.reuse.events[id(expr)] = (expr, events)
        return events

    def run(self) -> FileAnalysis:
        """Observe every function (once: a second call returns the same result)."""
        if not self._ran:
            self._ran = True
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
            self._note_function(function)
            self._note_reads(self._reads.get(key))
            return self._summaries[key]
        if key in self._in_progress:
            self._note_unclean()
            return Summary()  # recursion: assume no effect rather than loop forever
        if _summary_depth() >= MAX_SUMMARY_DEPTH:
            self._note_unclean()
            # A call chain deeper than real code nests: the callee's effect is unknown, and
            # following it would exhaust the interpreter's stack (RecursionError). Assume no
            # effect, which reports nothing, and do not cache it: a shallower caller recomputes.
            self.work.note_budget("summary depth", self.document)
            return Summary()
        self._in_progress.add(key)
        _DEPTH.value = _summary_depth() + 1
        try:
            exit_state = self._analyze(function, observe=False)
        finally:
            self._in_progress.discard(key)
            _DEPTH.value -= 1
        summary = self._summarize(function, exit_state)
        self._summaries[key] = summary
        self._note_function(function)
        self._note_reads(self._reads.get(key))
        return summary

    def _summarize(self, function: Function, exit_state: State) -> Summary:
        effects: list[tuple[str, ModeValue]] = []
        for path, value in exit_state.modes:
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
                        replace(fact, conditions=_parameter_conditions(fact.conditions, function))
                        for fact in value
                    ),
                )
            )
        grad: GradValue | None = exit_state.grad
        if grad == ENTRY_GRAD or not any(not fact.scoped for fact in exit_state.grad):
            grad = None
        return Summary(tuple(effects), grad)

    # -- the fixpoint -------------------------------------------------------------------------

    def _analyze(self, function: Function, observe: bool) -> State:
        cache_key = id(function)
        fixpoint = self._fixpoints.get(cache_key)
        if fixpoint is None:
            fixpoint = self._reused_fixpoint(function)
            if fixpoint is None:
                reads = _Reads({id(function.node): function.node} if function.node is not None else {})
                self._recording.append(reads)
                try:
                    fixpoint = self._fixpoint(function)
                finally:
                    self._recording.pop()
                self._reads[cache_key] = reads
            self._fixpoints[cache_key] = fixpoint
        cfg, order, in_states, entry = fixpoint
        if observe:
            carried = self._carried_observations.pop(cache_key, None)
            if carried is not None:
                self._replay(function, carried)
            else:
                before = self._observation_marks()
                for index in order:
                    if index in in_states:
                        self._transfer(function, cfg, index, in_states[index], self.result)
                self._observed[cache_key] = self._observed_since(before)
        exit_state = in_states.get(cfg.exit)
        if exit_state is None:
            exit_state = entry
        if observe and function.is_module:
            self.result.module_exit = exit_state
        return exit_state

    # -- reuse across versions ------------------------------------------------------------------

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
        if any(not self._is_kept(key, read) for key, read in reads.nodes.items()):
            return None
        self._reads[id(function)] = reads
        self._carried_observations[id(function)] = observed
        self.work.reused_fixpoints += 1
        return fixpoint

    def _observation_marks(self) -> tuple[int, int, int, int, int]:
        result = self.result
        return (
            len(result.forward_calls),
            len(result.steps),
            len(result.switches),
            len(result.call_sites),
            len(result.states_before),
        )

    def _observed_since(self, marks: tuple[int, int, int, int, int]) -> _Observed:
        """What one function's observation pass added to the file's analysis. Its states are
        the last ones added: a statement belongs to one function's graph only, so the pass
        only ever adds keys (dicts keep insertion order)."""
        result = self.result
        forward_calls, steps, switches, call_sites, states = marks
        added = len(result.states_before) - states
        return _Observed(
            tuple(result.forward_calls[forward_calls:]),
            tuple(result.steps[steps:]),
            tuple(result.switches[switches:]),
            tuple(result.call_sites[call_sites:]),
            tuple(itertools.islice(reversed(result.states_before.items()), added))[::-1],
        )

    def _replay(self, function: Function, observed: _Observed) -> None:
        """The previous version's observations of an unchanged function, for this version's
        ``Function`` records (same nodes: every callee it names is a kept node, see its reads)."""
        result = self.result
        result.forward_calls.extend(replace(item, function=function) for item in observed.forward_calls)
        result.steps.extend(replace(item, function=function) for item in observed.steps)
        result.switches.extend(replace(item, function=function) for item in observed.switches)
        for site in observed.call_sites:
            callee_node = site.callee.node
            callee = self._function_by_node.get(id(callee_node)) if callee_node is not None else None
            assert callee is not None and callee.node is callee_node, "a reused callee must be kept"
            result.call_sites.append(replace(site, function=function, callee=callee))
        result.states_before.update(observed.states)
        self._observed[id(function)] = observed

    def _is_kept(self, key: int, node: FunctionNode) -> bool:
        """Is ``node`` (found under ``key`` in the previous version) a function of this one?"""
        function = self._function_by_node.get(key)
        return function is not None and function.node is node

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
            self.model_paths,
            frozenset(self.trained_paths),
            self.module_classes,
            tuple(sorted(self.imports.aliases.items())),
            tuple(sorted(self.imports.relative.items())),
            tuple(self.imports.star_imports),
            # Which def a name resolves to (the last one of that name) can only change when a
            # def or class of that name is added, removed or renamed: counted by name. Which
            # node it is, re-parsed or not, is in each function's recorded reads.
            tuple(sorted(Counter(function.name for function in self.functions).items())),
            tuple(sorted(self.class_counts.items())),
            tuple(sorted((name, tuple(bases)) for name, bases in self.class_bases.items())),
            tuple(sorted((path, tuple(sorted(classes))) for path, classes in self.instances.items())),
        )

    def _note_function(self, function: Function) -> None:
        """The computations in progress depend on this same-file function."""
        node = function.node
        if node is not None:
            for reads in self._recording:
                reads.nodes[id(node)] = node

    def _note_reads(self, found: _Reads | None) -> None:
        if found is None or (not found.nodes and found.clean):
            return
        for reads in self._recording:
            reads.nodes.update(found.nodes)
            reads.clean = reads.clean and found.clean

    def _note_unclean(self) -> None:
        for reads in self._recording:
            reads.clean = False

    def _leave_for_next_version(self) -> None:
        for function in self.functions:
            node = function.node
            reads = self._reads.get(id(function))
            fixpoint = self._fixpoints.get(id(function))
            if node is not None and reads is not None and fixpoint is not None:
                self.reuse.results[id(node)] = (node, fixpoint, reads, self._observed.get(id(function)))
        if self._previous is not None:
            # Filled after the previous analysis (by the rules): carried for kept functions.
            for key, (node, index) in self._previous.statement_indexes.items():
                if self._is_kept(key, node):
                    self.reuse.statement_indexes[key] = (node, index)
        self.reuse.context = self._file_context
        self.reuse.generation = self._generation()
        self.document.analysis_cache = self.reuse

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
                incoming = [
                    self._along(out_states[source], edge, function)
                    for source in node.predecessors
                    if source in out_states
                    for edge in cfg.nodes[source].successors
                    if edge.target == index
                ]
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

    def _condition(self, test: ast.expr, truth: bool) -> Condition:
        """A branch condition (its text and names: syntax only, so kept across versions)."""
        key = (id(test), truth)
        cached = self.reuse.conditions.get(key)
        if cached is not None and cached[0] is test:
            return cached[1]
        condition = self._previous.condition_of(test, truth) if self._previous is not None else None
        if condition is None:
            condition = condition_of(test, truth, self.document.source_of(test))
        self.reuse.conditions[key] = (test, condition)
        return condition

    def _entry_state(self, function: Function) -> State:
        grad: GradValue = GRAD_ON if function.is_module else ENTRY_GRAD
        if function.node is not None:
            for decorator in function.node.decorator_list:
                decorated = self._grad_context(decorator, function, decorator_form=True)
                if decorated is not None:
                    grad = decorated
        return make_state({}, grad, (), frozenset())

    def _along(self, state: State, edge: Edge, function: Function) -> State:
        """The state as it arrives over ``edge``: ``with`` blocks left, branch condition known."""
        if edge.pops:
            depth = len(state.grad_stack)
            pops = min(edge.pops, depth)
            if pops:
                state = replace(
                    state, grad=state.grad_stack[depth - pops], grad_stack=state.grad_stack[: depth - pops]
                )
        if edge.condition is not None and not _is_constant(edge.condition):
            condition = self._condition(edge.condition, edge.truth)
            known = frozenset({condition})
            modes: dict[str, ModeValue] = {}
            for path, value in state.modes:
                # A value whose every fact contradicts the branch lies on no path here; keep it
                # rather than invent an empty (bottom) value that later joins would drop.
                kept = frozenset(fact for fact in value if not contradicts(fact.conditions, known))
                modes[path] = kept or value
            grad = frozenset(fact for fact in state.grad if not contradicts(fact.conditions, known))
            state = make_state(modes, grad or state.grad, state.grad_stack, state.assumptions | known)
        return state

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
        step = _Step(self, function, state, node.loops, record)
        kind = node.kind
        if kind is NodeKind.STATEMENT and node.statement is not None:
            assert isinstance(node.statement, ast.stmt)
            if node.expression is not None:  # match subject
                step.evaluate(node.expression, node.statement)
            else:
                step.statement(node.statement)
        elif kind in (NodeKind.TEST, NodeKind.FOR_ITER) and node.expression is not None:
            assert isinstance(node.statement, ast.stmt)
            step.evaluate(node.expression, node.statement)
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

    def _grad_context(
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
        site = self._site(expr, function, None)
        if kind == "set_grad_enabled":
            if call is None or not call.args:
                return None
            return self._grad_from_flag(call.args[0], site, scoped=True)
        if kind == "inference_mode" and call is not None and call.args:
            flag = call.args[0]
            if isinstance(flag, ast.Constant) and flag.value is False:
                return None
        if kind == "enable_grad":
            return frozenset({GradFact("on", (site,))})
        return frozenset({GradFact("off", (site,))})

    def _grad_from_flag(self, flag: ast.expr, site: Site, scoped: bool) -> GradValue:
        if isinstance(flag, ast.Constant) and isinstance(flag.value, bool):
            return frozenset({GradFact("on" if flag.value else "off", (site,), scoped=scoped)})
        text = self.document.source_of(flag)
        return frozenset(
            {
                GradFact("on", (site,), frozenset({condition_of(flag, True, text)}), scoped),
                GradFact("off", (site,), frozenset({condition_of(flag, False, text)}), scoped),
            }
        )

    def _site(self, node: ast.AST, function: Function, statement: ast.stmt | None) -> Site:
        return Site(
            self.document.span_of(node),
            self.document.source_of(node),
            function.name,
            self.document.span_of(statement) if statement is not None else None,
            self.document.path,
        )

    def _find_instances(self, tree: ast.Module) -> dict[str, set[str]]:
        instances: dict[str, set[str]] = {}
        unknown: set[str] = set()
        index = node_index(self.document)
        for statement in index.of_type(ast.Assign) if index is not None else all_statements(tree):
            if not isinstance(statement, ast.Assign):
                continue
            value = statement.value
            name = access_path(value.func) if isinstance(value, ast.Call) else None
            for target in statement.targets:
                path = access_path(target)
                if path is None:
                    continue
                # A class of this file, or an imported name (resolved when a method is called).
                if name is not None and (
                    name in self.classes
                    or root_of(name) in self.imports.aliases
                    or root_of(name) in self.imports.relative
                ):
                    instances.setdefault(path, set()).add(name)
                else:
                    unknown.add(path)
        return {path: classes for path, classes in instances.items() if path not in unknown}

    def _method(
        self, class_name: str, name: str, skip_own: bool = False, depth: int = 0
    ) -> tuple[Function, ModuleAnalyzer] | None:
        """A method as Python finds it: the class itself, then its bases in order (those of
        this file, and those imported from other files of the project)."""
        if depth > 20:
            return None  # a cycle of bases cannot exist at run time; do not loop on one here
        if not skip_own:
            method = self.classes.get(class_name, {}).get(name)
            if method is not None:
                return method, self
        for base in self.class_bases.get(class_name, []):
            if base in self.classes or base in self.class_bases:
                found = self._method(base, name, depth=depth + 1)
            else:
                imported = self._imported_definition(base)
                found = None
                owner = imported.analyzer if imported is not None and imported.kind == "class" else None
                if imported is not None and owner is not None:
                    with owner.project_lock():
                        found = owner._method(imported.name, name, depth=depth + 1)
            if found is not None:
                return found
        return None

    def _class_of(self, path: str) -> tuple[str, ModuleAnalyzer] | None:
        """The class (and its file's analyzer) that every assignment of ``path`` instantiates."""
        classes = self.instances.get(path)
        if classes is None or len(classes) != 1:
            return None
        name = next(iter(classes))
        if name in self.classes:
            return name, self
        imported = self._imported_definition(name)
        owner = imported.analyzer if imported is not None and imported.kind == "class" else None
        if imported is None or owner is None:
            return None
        return imported.name, owner

    # -- aliases ----------------------------------------------------------------------------------

    def aliases(self, function: Function) -> dict[str, str]:
        """Names of ``function`` that are another path's object: alias path -> that path.

        ``m = model`` (also ``model.to(device)``, ``torch.compile(model)``,
        ``DataParallel(model)``): switching ``m`` switches ``model``. ``trainer =
        Trainer(model)`` whose ``__init__`` keeps ``self.model = model``: ``trainer.model``
        is ``model``. Only names assigned once in the function, from a path whose root
        is not assigned another object there, so the alias holds wherever it is used.
        """
        cached = self._alias_maps.get(id(function))
        if cached is not None:
            self._note_reads(self._alias_reads.get(id(function)))
            return cached
        reads = _Reads()
        self._recording.append(reads)
        try:
            aliases = self._find_aliases(function)
        finally:
            self._recording.pop()
        self._alias_maps[id(function)] = aliases
        self._alias_reads[id(function)] = reads
        self._note_reads(reads)
        return aliases

    def _find_aliases(self, function: Function) -> dict[str, str]:
        assigned: dict[str, list[ast.expr | None]] = {}
        for statement in statements_of(function.body):
            if isinstance(statement, ast.Assign):
                for target in statement.targets:
                    for name in stored_names(target):
                        assigned.setdefault(name, []).append(
                            statement.value if isinstance(target, ast.Name) else None
                        )
            elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
                for name in stored_names(statement.target):
                    value = statement.value if isinstance(statement, ast.AnnAssign) else None
                    assigned.setdefault(name, []).append(value)
            elif isinstance(statement, (ast.For, ast.AsyncFor)):
                for name in stored_names(statement.target):
                    assigned.setdefault(name, []).append(None)
            elif isinstance(statement, (ast.With, ast.AsyncWith)):
                for item in statement.items:
                    if item.optional_vars is not None:
                        for name in stored_names(item.optional_vars):
                            assigned.setdefault(name, []).append(None)
        aliases: dict[str, str] = {}

        def stable(path: str) -> bool:
            root = root_of(path)
            if root in function.parameters:
                return root not in function.rebound
            values = assigned.get(root)
            return values is None or (len(values) == 1 and values[0] is not None)

        for name, values in assigned.items():
            if len(values) != 1 or values[0] is None or name in function.parameters:
                continue
            value = values[0]
            source = self._same_object(value)
            if source is not None:
                if root_of(source) != name and stable(source):
                    aliases[name] = source
                continue
            if isinstance(value, ast.Call):
                for attribute, argument in self._kept_arguments(value).items():
                    if root_of(argument) != name and stable(argument):
                        aliases[f"{name}.{attribute}"] = argument
        return aliases

    def _same_object(self, value: ast.expr) -> str | None:
        """The path whose module ``value`` is (mode-wise), through ``.to()`` and wrappers."""
        if isinstance(value, ast.Call) and value.args:
            qualified = self.imports.qualified_name(value.func)
            if qualified in api_names.WRAPPER_CONSTRUCTORS:
                # ``torch.compile(model)``: its ``.training`` is the module's; DataParallel's
                # ``train()`` reaches the wrapped module.
                return self._same_object(value.args[0])
        stripped = _strip_wrappers(value)
        if stripped is None or isinstance(stripped, ast.Call):
            return None
        return access_path(stripped)

    def _kept_arguments(self, call: ast.Call) -> dict[str, str]:
        """``Trainer(model, opt)`` with ``self.model = model`` in ``__init__``: {"model": "model"}."""
        path = access_path(call.func)
        if path is None:
            return {}
        if path in self.classes or path in self.class_bases:
            found = self._method(path, "__init__")
        else:
            imported = self._imported_definition(path)
            if imported is None or imported.kind != "class":
                return {}
            owner = imported.analyzer
            if owner is None:
                return {}
            with owner.project_lock():
                found = owner._method(imported.name, "__init__")
        if found is None:
            return {}
        init = found[0]
        if found[1] is self:
            self._note_function(init)
        if not init.parameters or init.node is None:
            return {}
        self_name = init.parameters[0]
        arguments: dict[str, str] = {}
        for name, argument in zip(init.parameters[1 : init.positional_count], call.args, strict=False):
            if isinstance(argument, ast.Starred):
                break
            stripped = _strip_wrappers(argument)
            argument_path = access_path(stripped) if stripped is not None else None
            if argument_path is not None:
                arguments[name] = argument_path
        for keyword in call.keywords:
            if keyword.arg is not None and keyword.arg in init.parameters:
                stripped = _strip_wrappers(keyword.value)
                argument_path = access_path(stripped) if stripped is not None else None
                if argument_path is not None:
                    arguments[keyword.arg] = argument_path
        kept: dict[str, str] = {}
        for statement in init.node.body:  # the direct body: a conditional assignment may not run
            if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
                continue
            target = statement.targets[0]
            source = _strip_wrappers(statement.value)
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == self_name
                and isinstance(source, ast.Name)
                and source.id in arguments
                and source.id not in init.rebound
            ):
                kept[target.attr] = arguments[source.id]
        return kept

    # -- other files ----------------------------------------------------------------------------

    def project_lock(self) -> threading.RLock | _NoLock:
        return self.project.lock if self.project is not None else _NO_LOCK

    def _imported_definition(self, local_path: str, library: bool = False) -> Definition | None:
        """The function or class an imported name refers to in another file of the project
        (with ``library``, also in installed packages: only for calls that get a model)."""
        if self.project is None or self.path is None:
            return None
        root = root_of(local_path)
        if root not in self.imports.aliases and root not in self.imports.relative:
            return None
        key = (local_path, library)
        if key not in self._imported:
            self._imported[key] = self.project.resolve(self, local_path, library)
        return self._imported[key]

    def _gets_a_model(self, call: ast.Call) -> bool:
        """Is a model passed to this call? Only then is an installed package worth reading."""
        for argument in [*call.args, *(keyword.value for keyword in call.keywords)]:
            stripped = _strip_wrappers(argument.value if isinstance(argument, ast.Starred) else argument)
            path = access_path(stripped) if stripped is not None else None
            if path is not None and path in self.model_paths:
                return True
        return False

    def _is_imported_module_class(self, local_path: str) -> bool:
        """``from models import Net``: is ``Net`` an nn.Module subclass in its file (or through
        its bases in further files)?"""
        known = self._imported_module_classes.get(local_path)
        if known is not None:
            return known
        self._imported_module_classes[local_path] = False  # a cycle of imports ends here
        definition = self._imported_definition(local_path)
        found = False
        if definition is not None and definition.kind == "class":
            found = definition.project.is_module_class(definition.path, definition.name)
        self._imported_module_classes[local_path] = found
        return found

    def is_module_class(self, class_name: str, depth: int = 0) -> bool:
        """A class of this file that derives from nn.Module, here or through imported bases."""
        if class_name in self.module_classes:
            return True
        if depth > 20:
            return False
        for base in self.class_bases.get(class_name, []):
            if base in self.class_bases:
                if self.is_module_class(base, depth + 1):
                    return True
            elif self._is_imported_module_class(base):
                return True
        return False

    def resolve_call(
        self, function: Function, call: ast.Call
    ) -> tuple[Function, list[str | None], dict[str, str | None], ModuleAnalyzer] | None:
        """The function a call runs (in this file, or imported from another file of the
        project, with the analyzer of its file), with its argument paths bound to parameter names."""
        func = call.func
        receiver: str | None = None
        found: tuple[Function, ModuleAnalyzer] | None = None
        if isinstance(func, ast.Name):
            scope: Function | None = function
            while scope is not None and found is None:
                nested = scope.nested.get(func.id)
                if nested is not None:
                    found = nested, self
                elif func.id in scope.locals and not scope.is_module:
                    return None  # a local variable shadows any def of that name
                scope = scope.parent
            if found is None and func.id in self.module.nested:
                found = self.module.nested[func.id], self
            if found is None and func.id not in self.classes:
                # ``from engine import evaluate``
                imported = self._imported_definition(func.id, self._gets_a_model(call))
                if imported is not None:
                    found = imported.function_and_analyzer()
        elif isinstance(func, ast.Attribute):
            target = func.value
            self_name = function.parameters[0] if function.class_name and function.parameters else None
            if (
                self_name is not None
                and isinstance(target, ast.Call)
                and isinstance(target.func, ast.Name)
                and target.func.id == "super"
            ):
                # ``super().evaluate()``: the first base that defines it.
                assert function.class_name is not None
                found = self._method(function.class_name, func.attr, skip_own=True)
                receiver = self_name
            elif isinstance(target, ast.Name) and target.id == self_name:
                assert function.class_name is not None
                found = self._method(function.class_name, func.attr)
                receiver = self_name
            else:
                # ``trainer.fit()`` where ``trainer = Trainer(...)``, a class of this file or
                # an imported one.
                path = access_path(target)
                owner_class = self._class_of(path) if path is not None else None
                if owner_class is not None:
                    class_name, class_owner = owner_class
                    with class_owner.project_lock():
                        found = class_owner._method(class_name, func.attr)
                    receiver = path
                elif path is not None and (function.is_module or root_of(path) not in function.locals):
                    # ``engine.evaluate(...)`` after ``import engine``.
                    imported = self._imported_definition(f"{path}.{func.attr}", self._gets_a_model(call))
                    if imported is not None:
                        found = imported.function_and_analyzer()
        if found is None or found[0].node is None:
            return None
        callee, owner = found
        if owner is self:
            self._note_function(callee)
        positional: list[str | None] = [receiver] if receiver is not None else []
        for argument in call.args:
            if isinstance(argument, ast.Starred):
                break
            stripped = _strip_wrappers(argument)
            positional.append(access_path(stripped) if stripped is not None else None)
        keywords: dict[str, str | None] = {}
        for keyword in call.keywords:
            if keyword.arg is not None:
                stripped = _strip_wrappers(keyword.value)
                keywords[keyword.arg] = access_path(stripped) if stripped is not None else None
        return callee, positional, keywords, owner


def _collect_events(expr: ast.expr, found: list[ast.Call | ast.NamedExpr]) -> None:
    """Post-order: a call's callee and arguments are evaluated before the call itself.

    Iterative: an expression can nest thousands deep (``a + a + ... + a``, a long
    method chain), deeper than the interpreter's recursion limit.
    """
    stack: list[tuple[ast.AST, bool]] = [(expr, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            assert isinstance(node, (ast.Call, ast.NamedExpr))
            found.append(node)
            continue
        if isinstance(node, ast.Lambda):
            continue  # its body runs later, if ever
        if isinstance(node, ast.NamedExpr):
            stack.append((node, True))
            stack.append((node.value, False))
            continue
        children: list[ast.AST] = []
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                children.append(child)
            elif isinstance(child, ast.comprehension):
                children.append(child.iter)
                children.extend(child.ifs)
            elif isinstance(child, ast.keyword):
                children.append(child.value)
        if isinstance(node, ast.Call):
            stack.append((node, True))
        stack.extend((child, False) for child in reversed(children))


_SUBMODULE_ITERATORS = frozenset({"modules", "children", "named_modules", "named_children"})


def _submodule_alias(loops: tuple[Loop, ...], name: str) -> str | None:
    """``model.<submodules>`` when ``name`` is the variable of ``for name in model.modules()``.

    ``named_modules()`` / ``named_children()`` yield ``(name, module)`` pairs: the
    module is the second target.
    """
    for loop in reversed(loops):
        statement = loop.statement
        if not isinstance(statement, (ast.For, ast.AsyncFor)):
            continue
        iterable = statement.iter
        if not (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Attribute)
            and iterable.func.attr in _SUBMODULE_ITERATORS
        ):
            continue
        target = statement.target
        if iterable.func.attr.startswith("named_"):
            if not (isinstance(target, (ast.Tuple, ast.List)) and len(target.elts) == 2):
                continue
            target = target.elts[1]
        owner = access_path(iterable.func.value)
        if isinstance(target, ast.Name) and target.id == name and owner is not None:
            return f"{owner}.{SUBMODULES}"
    return None


def _strip_mode_chain(expr: ast.expr) -> ast.expr:
    """``Net().to(device).eval()`` -> ``Net()``."""
    while (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and (expr.func.attr in api_names.SAME_MODULE_METHODS or expr.func.attr in ("train", "eval"))
    ):
        expr = expr.func.value
    return expr


def _is_constant(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant)


_STATEMENT_KINDS = frozenset({NodeKind.STATEMENT, NodeKind.TEST, NodeKind.FOR_ITER, NodeKind.WITH_ENTER})


class _Step:
    """The transfer of one CFG node: evaluates its expressions in order and updates the state."""

    def __init__(
        self,
        analyzer: ModuleAnalyzer,
        function: Function,
        state: State,
        loops: tuple[Loop, ...],
        record: FileAnalysis | None,
    ) -> None:
        self.analyzer = analyzer
        self.document = analyzer.document
        self.function = function
        self.modes = state.mode_map
        self.grad = state.grad
        self.grad_stack = state.grad_stack
        self.assumptions = state.assumptions
        self.loops = loops
        self.record = record
        self.lookup = ModeLookup(function)
        self.aliases = analyzer.aliases(function)

    def finish(self) -> State:
        return make_state(self.modes, self.grad, self.grad_stack, self.assumptions)

    def value(self, path: str) -> ModeValue:
        return self.lookup.value(self.modes, path)

    def set_path(self, path: str, value: ModeValue) -> None:
        """Set a model's mode; like ``nn.Module.train``, it reaches every sub-module."""
        for existing in [existing for existing in self.modes if is_under(existing, path)]:
            del self.modes[existing]
        self.modes[path] = value
        self.mirror(path)

    def mirror(self, path: str) -> None:
        """Copy what is known under ``path`` to the other names of the same object."""
        if not self.aliases:
            return
        for other, prefix in self._equivalents(path):
            for existing in [existing for existing in self.modes if is_under(existing, other)]:
                del self.modes[existing]
            for existing, value in list(self.modes.items()):
                if is_under(existing, prefix):
                    self.modes[other + existing[len(prefix) :]] = value

    def _equivalents(self, path: str) -> list[tuple[str, str]]:
        """(other name, the prefix of ``path`` it stands for) for each alias of ``path``."""
        found: list[tuple[str, str]] = []
        for alias, target in self.aliases.items():
            if is_under(path, alias):
                found.append((target + path[len(alias) :], path))
            elif is_under(path, target):
                found.append((alias + path[len(target) :], path))
        return found

    def is_model(self, path: str) -> bool:
        if path in self.analyzer.model_paths:
            return True
        target = self.aliases.get(path)
        return target is not None and target in self.analyzer.model_paths

    def forget(self, names: set[str] | frozenset[str]) -> None:
        """An assignment to a name makes every condition that mentions it unknown."""
        if not names:
            return

        def keep(condition: Condition) -> bool:
            return not (condition.names & names)

        self.assumptions = frozenset(filter(keep, self.assumptions))
        for path, value in list(self.modes.items()):
            if any(not keep(condition) for fact in value for condition in fact.conditions):
                self.modes[path] = frozenset(
                    replace(fact, conditions=frozenset(filter(keep, fact.conditions))) for fact in value
                )
        if any(not keep(condition) for fact in self.grad for condition in fact.conditions):
            self.grad = frozenset(
                replace(fact, conditions=frozenset(filter(keep, fact.conditions))) for fact in self.grad
            )

    def _new_fact(
        self, mode: str, origin: tuple[Site, ...], conditions: Conditions = frozenset(), fresh: bool = False
    ) -> ModeFact:
        assert mode in ("train", "eval", "entry", "unknown")
        return ModeFact(mode, origin, conditions | self.assumptions, fresh)  # type: ignore[arg-type]

    # -- statements ---------------------------------------------------------------------------

    def statement(self, statement: ast.stmt) -> None:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for decorator in statement.decorator_list:
                self.evaluate(decorator, statement)
            self.forget({statement.name})
            return
        if isinstance(statement, ast.Assign):
            self.evaluate(statement.value, statement)
            for target in statement.targets:
                self.bind(target, statement.value, statement)
            self._snapshot_training(statement)
            return
        if isinstance(statement, ast.AnnAssign):
            if statement.value is not None:
                self.evaluate(statement.value, statement)
                self.bind(statement.target, statement.value, statement)
            return
        if isinstance(statement, ast.AugAssign):
            self.evaluate(statement.value, statement)
            self.forget(set(stored_names(statement.target)))
            return
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            self.forget({(alias.asname or alias.name).split(".")[0] for alias in statement.names})
            return
        if (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and self._bare_set_grad_enabled(statement.value, statement)
        ):
            return
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, ast.expr):
                self.evaluate(child, statement)

    def bind(self, target: ast.expr, value: ast.expr | None, statement: ast.stmt) -> None:
        """Assignment: the target names a new object, or the same module under another name."""
        names = set(stored_names(target))
        self.forget(names)
        path = access_path(target)
        if path is None:
            for name in names:
                if name in self.modes or any(is_under(existing, name) for existing in self.modes):
                    self.set_path(name, UNKNOWN_MODE)
            return
        same = self.aliases.get(path)
        if same is not None:
            # ``m = model``: ``m`` is ``model``, sub-modules and all.
            for existing, known in list(self.modes.items()):
                if is_under(existing, same):
                    self.modes[path + existing[len(same) :]] = known
            if path not in self.modes:
                self.modes[path] = self.value(same)
            return
        new_value = self._value_of(value, statement) if value is not None else None
        if new_value is not None:
            self.set_path(path, new_value)
        elif path in self.analyzer.model_paths or any(is_under(existing, path) for existing in self.modes):
            self.set_path(path, UNKNOWN_MODE)
        for alias, alias_target in self.aliases.items():
            if root_of(alias) == path and alias != path:
                # ``trainer = Trainer(model)``: ``trainer.model`` is ``model`` from here on.
                for existing in [existing for existing in self.modes if is_under(existing, alias)]:
                    del self.modes[existing]
                self.modes[alias] = self.value(alias_target)

    def _value_of(self, value: ast.expr, statement: ast.stmt) -> ModeValue | None:
        """The mode of the module an expression gives, when it gives one we know."""
        if isinstance(value, ast.Call) and value.args:
            qualified = self.analyzer.imports.qualified_name(value.func)
            if qualified in api_names.WRAPPER_CONSTRUCTORS:
                # ``model = DistributedDataParallel(model)``: the wrapper is in the module's mode.
                return self._value_of(value.args[0], statement)
        switches: list[ast.Call] = []
        expr = value
        while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            if expr.func.attr in ("train", "eval"):
                switches.append(expr)
            elif expr.func.attr not in api_names.SAME_MODULE_METHODS:
                break
            expr = expr.func.value
        if isinstance(expr, ast.Call) and self.analyzer._is_module_constructor(expr):
            if switches:
                # The outermost switch wins: ``Net().eval()`` is in eval mode.
                return self._switch_value(switches[0], statement)
            site = self.analyzer._site(expr, self.function, statement)
            if isinstance(expr.func, ast.Attribute) and expr.func.attr == "from_pretrained":
                # transformers' and diffusers' from_pretrained call model.eval() before returning.
                return frozenset({self._new_fact("eval", (site,), fresh=True)})
            return frozenset({self._new_fact("train", (site,), fresh=True)})
        source = access_path(expr)
        if source is not None and (source in self.analyzer.model_paths or source in self.modes):
            # Any switch in the chain was applied to ``source`` while evaluating.
            return self.value(source)
        return None

    def _snapshot_training(self, statement: ast.Assign) -> None:
        """``was_training = model.training`` saves the mode, for a later ``model.train(was_training)``.

        The saved value lives under a pseudo-path below the variable, so rebinding the
        variable drops it like any sub-path.
        """
        value = statement.value
        if not (isinstance(value, ast.Attribute) and value.attr == "training"):
            return
        source = access_path(value.value)
        if source is None or source not in self.analyzer.model_paths:
            return
        for target in statement.targets:
            if isinstance(target, ast.Name):
                self.modes[f"{target.id}.{TRAINING_SNAPSHOT}"] = self.value(source)

    def _bare_set_grad_enabled(self, call: ast.Call, statement: ast.stmt) -> bool:
        qualified = self.analyzer.imports.qualified_name(call.func)
        if qualified is None or api_names.grad_context_kind(qualified) != "set_grad_enabled" or not call.args:
            return False
        for argument in call.args:
            self.evaluate(argument, statement)
        site = self.analyzer._site(call, self.function, statement)
        value = self.analyzer._grad_from_flag(call.args[0], site, scoped=False)
        self.grad = frozenset(replace(fact, conditions=fact.conditions | self.assumptions) for fact in value)
        return True

    def enter_with(self, item: ast.withitem) -> None:
        expr = item.context_expr
        context = self.analyzer._grad_context(expr, self.function)
        if context is not None and isinstance(expr, ast.Call):
            for argument in [*expr.args, *(keyword.value for keyword in expr.keywords)]:
                self.evaluate(argument, None)
        else:
            self.evaluate(expr, None)
        self.grad_stack = (*self.grad_stack, self.grad)
        if context is not None:
            self.grad = frozenset(
                replace(fact, conditions=fact.conditions | self.assumptions) for fact in context
            )
        if item.optional_vars is not None:
            self.forget(set(stored_names(item.optional_vars)))

    def leave_with(self) -> None:
        if self.grad_stack:
            self.grad = self.grad_stack[-1]
            self.grad_stack = self.grad_stack[:-1]

    # -- expressions --------------------------------------------------------------------------

    def evaluate(self, expr: ast.expr, statement: ast.stmt | None) -> None:
        """Apply the events of an expression in evaluation order (callee and arguments first)."""
        for event in self.analyzer.events_of(expr):
            if isinstance(event, ast.NamedExpr):
                self.forget({event.target.id})
            else:
                self.call(event, statement)

    def call(self, call: ast.Call, statement: ast.stmt | None) -> None:
        func = call.func
        analyzer = self.analyzer
        if isinstance(func, ast.Attribute):
            receiver = _strip_wrappers(func.value)
            receiver_path = access_path(receiver) if receiver is not None else None
            if func.attr in ("train", "eval") and receiver_path is not None and self.is_model(receiver_path):
                assert receiver_path is not None
                # ``for m in model.modules(): m.eval()`` switches some of model's sub-modules.
                receiver_path = _submodule_alias(self.loops, receiver_path) or receiver_path
                value = self._switch_value(call, statement)
                self.set_path(receiver_path, value)
                if self.record is not None:
                    self.record.switches.append(
                        ModeSwitch(self.function, call, statement, receiver_path, value, self.loops)
                    )
                return
            step_kind = api_names.training_step_kind(call, analyzer.imports)
            if step_kind is not None:
                if self.record is not None:
                    self.record.steps.append(
                        TrainingStep(self.function, call, step_kind, self.assumptions, self.loops, self.grad)
                    )
                return
            if func.attr == "forward" and receiver_path is not None and self.is_model(receiver_path):
                assert receiver_path is not None
                self._forward(call, statement, receiver_path)
                return
        path = access_path(func)
        if path is not None and self.is_model(path):
            self._forward(call, statement, path)
            return
        resolved = analyzer.resolve_call(self.function, call)
        if resolved is not None:
            callee, positional, keywords, owner = resolved
            self._apply_summary(call, statement, callee, positional, keywords, owner)

    def _forward(self, call: ast.Call, statement: ast.stmt | None, path: str) -> None:
        if self.record is not None:
            self.record.forward_calls.append(
                ForwardCall(
                    self.function,
                    call,
                    statement,
                    path,
                    self.value(path),
                    self.grad,
                    self.assumptions,
                    self.loops,
                )
            )

    def _switch_value(self, call: ast.Call, statement: ast.stmt | None) -> ModeValue:
        assert isinstance(call.func, ast.Attribute)
        site = self.analyzer._site(call, self.function, statement)
        if call.func.attr == "eval":
            return frozenset({self._new_fact("eval", (site,))})
        flag: ast.expr | None = call.args[0] if call.args else None
        for keyword in call.keywords:
            if keyword.arg == "mode":
                flag = keyword.value
        if flag is None:
            return frozenset({self._new_fact("train", (site,))})
        if isinstance(flag, ast.Constant):
            return frozenset({self._new_fact("train" if flag.value else "eval", (site,))})
        if isinstance(flag, ast.Name) and f"{flag.id}.{TRAINING_SNAPSHOT}" in self.modes:
            # ``model.train(was_training)``: back to the mode saved in ``was_training``.
            return self.modes[f"{flag.id}.{TRAINING_SNAPSHOT}"]
        text = self.document.source_of(flag)
        return frozenset(
            {
                self._new_fact("train", (site,), frozenset({condition_of(flag, True, text)})),
                self._new_fact("eval", (site,), frozenset({condition_of(flag, False, text)})),
            }
        )

    def _apply_summary(
        self,
        call: ast.Call,
        statement: ast.stmt | None,
        callee: Function,
        positional: list[str | None],
        keywords: dict[str, str | None],
        owner: ModuleAnalyzer,
    ) -> None:
        other_file = owner is not self.analyzer
        if other_file:
            with owner.project_lock():
                summary = owner.summary_of(callee)
        else:
            summary = self.analyzer.summary_of(callee)
        bindings: dict[str, str | None] = {}
        for name, argument in zip(callee.parameters[: callee.positional_count], positional, strict=False):
            bindings[name] = argument
        for name, argument in keywords.items():
            if name in callee.parameters:
                bindings[name] = argument
        if self.record is not None and not other_file:
            # Rules look into a same-file callee's own facts; another file's are in its analysis.
            bound = tuple((name, path) for name, path in bindings.items() if path is not None)
            self.record.call_sites.append(
                CallSite(
                    self.function,
                    call,
                    statement,
                    callee,
                    bound,
                    tuple(self.modes.items()),
                    self.loops,
                )
            )
        if not summary.effects and summary.grad is None:
            return
        site = self.analyzer._site(call, self.function, statement)
        before = dict(self.modes)
        flags = _constant_flags(callee, call, has_receiver=len(positional) > len(call.args))
        for effect_path, effect_value in sorted(summary.effects, key=lambda item: item[0].count(".")):
            root, dot, rest = effect_path.partition(".")
            if root in callee.parameters:
                argument = bindings.get(root)
                if argument is None:
                    continue
                target = argument + dot + rest
            else:
                # A global of the callee: the same object only if it is a global here too
                # (another file's globals are its own).
                if other_file or (not self.function.is_module and root in self.function.locals):
                    continue
                target = effect_path
            affected = [path for path in before if is_under(path, target) and path != target]
            for path in [target, *affected]:
                old = self.lookup.value(before, path)
                new: set[ModeFact] = set()
                for fact in effect_value:
                    if any(
                        flags.get(_flag_name(condition), condition.truth) != condition.truth
                        for condition in fact.conditions
                    ):
                        continue  # ``set_mode(model, False)`` never takes the ``train`` branch
                    if fact.mode == "entry":
                        new |= old
                    else:
                        new.add(replace(fact, origin=_chain(site, fact.origin), conditions=self.assumptions))
                self.modes[path] = frozenset(new)
            self.mirror(target)
        if summary.grad is not None:
            new_grad: set[GradFact] = set()
            for grad_fact in summary.grad:
                if grad_fact.grad == "entry":
                    new_grad |= self.grad
                else:
                    new_grad.add(
                        replace(grad_fact, origin=_chain(site, grad_fact.origin), conditions=self.assumptions)
                    )
            self.grad = frozenset(new_grad)


def _flag_name(condition: Condition) -> str:
    """The parameter a summary condition tests (only plain ``Name`` tests are kept)."""
    return next(iter(condition.names)) if len(condition.names) == 1 else ""


def _parameter_conditions(conditions: Conditions, function: Function) -> Conditions:
    kept = set()
    for condition in conditions:
        name = _flag_name(condition)
        if name in function.parameters and condition.key == ast.dump(ast.Name(id=name, ctx=ast.Load())):
            kept.add(condition)
    return frozenset(kept)


def _constant_flags(callee: Function, call: ast.Call, has_receiver: bool) -> dict[str, bool]:
    """Parameters of ``callee`` that this call sets to a constant (or leaves at a constant default)."""
    flags: dict[str, bool] = {}
    node = callee.node
    if node is not None:
        positional = [*node.args.posonlyargs, *node.args.args]
        defaults = node.args.defaults
        for parameter, default in zip(positional[len(positional) - len(defaults) :], defaults, strict=True):
            if isinstance(default, ast.Constant):
                flags[parameter.arg] = bool(default.value)
        for parameter, keyword_default in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True):
            if isinstance(keyword_default, ast.Constant):
                flags[parameter.arg] = bool(keyword_default.value)
    offset = 1 if has_receiver else 0
    names = callee.parameters[: callee.positional_count]
    for index, argument in enumerate(call.args):
        if isinstance(argument, ast.Starred) or index + offset >= len(names):
            break
        name = names[index + offset]
        if isinstance(argument, ast.Constant):
            flags[name] = bool(argument.value)
        else:
            flags.pop(name, None)
    for keyword in call.keywords:
        if keyword.arg is None:
            continue
        if isinstance(keyword.value, ast.Constant):
            flags[keyword.arg] = bool(keyword.value.value)
        else:
            flags.pop(keyword.arg, None)
    return flags


_MAX_CHAIN = 6


def _chain(site: Site, origin: tuple[Site, ...]) -> tuple[Site, ...]:
    """Prefix a call site to a provenance chain, eliding the middle of very deep chains.

    Messages name the call in this function and the statement that set the mode;
    the calls in between are context. Unbounded chains would make every fact as
    long as the call depth, and hashing them quadratic in it.
    """
    if len(origin) < _MAX_CHAIN:
        return (site, *origin)
    return (site, *origin[:2], *origin[-(_MAX_CHAIN - 3) :])


class _NoLock:
    """The lock of an analyzer without a project: nothing is shared."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        return None


_NO_LOCK = _NoLock()

# Summaries being computed in this thread, across every file's analyzer: a call chain
# through several files counts against one depth budget.
_DEPTH = threading.local()


def _summary_depth() -> int:
    return getattr(_DEPTH, "value", 0)


def _real_path(path: str) -> Path | None:
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


def analyze(document: Document, project: Project | None = None) -> FileAnalysis | None:
    """All facts of one document, or None when it does not parse.

    With a project, calls and classes imported from its other files are followed.
    """
    if project is not None:
        project.begin_check()
        path = _real_path(document.path)
        if path is not None and path.suffix == ".py":
            # The project keeps this file's analyzer: a later file importing from it reuses
            # its parse and fixpoints, and if an earlier one did, this check reuses theirs.
            # Under the project lock, as every shared analyzer.
            with project.lock:
                analyzer = project.analyzer_for_document(path, document)
                if analyzer is not None:
                    return analyzer.run()
    tree = document.tree
    if tree is None:
        return None
    return ModuleAnalyzer(document, tree, project).run()
