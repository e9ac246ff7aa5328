"""Questions about the grad mode that the grad rules share, answered from the dataflow's facts.

* Where was this value computed?  ``definitions_reaching`` walks a function's
  control-flow graph backwards from a use of a name to the statements that may
  have bound it last (reaching definitions for one name), so ``loss.backward()``
  can be judged by the grad mode where ``loss`` was computed rather than where
  ``backward()`` runs: PyTorch only fails in the first case.
* What grad mode do the callers give a function whose grad is ``entry``?
  ``caller_grad`` follows the known call sites in the file, a few levels up.
* Which grad mode does a decorator set?  ``decorator_grad``.

* Which computation does a ``backward()`` differentiate, and under which grad mode was
  it computed?  ``BackwardProvenance`` (TM202's question).

Nothing here changes the dataflow; it only reads ``FileAnalysis``.
"""

from __future__ import annotations

import ast
import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from torchmode.analysis import api_names
from torchmode.analysis.cfg import ControlFlowGraph, Node, NodeKind
from torchmode.analysis.facts import CallSite, FileAnalysis, Function
from torchmode.analysis.lattice import Conditions, GradFact, GradValue, contradicts
from torchmode.analysis.names import ImportMap, access_path, stored_names
from torchmode.analysis.reuse import cache_of
from torchmode.analysis.walk import own_expressions, statements_of
from torchmode.syntax.node_index import node_index


@dataclass(frozen=True)
class Definition:
    """A statement that may give a name the value seen at a use.

    ``kind`` is ``assign`` (``x = value``, ``x: T = value``), ``augassign`` (``x += value``)
    or ``other`` (a ``for`` target, ``with ... as x``, an import, a walrus, ...).
    ``value`` is the assigned expression for ``assign`` and ``augassign``.
    """

    node: ast.AST  # the statement; for ``with ... as`` the with item, for ``except ... as`` the handler
    kind: str
    value: ast.expr | None


@dataclass(frozen=True)
class Reaching:
    definitions: tuple[Definition, ...]
    from_entry: bool  # some path reaches the use without binding the name (a parameter, a global)


def decorator_grad(function: Function, imports: ImportMap | None) -> str | None:
    """``off`` for ``@torch.no_grad()``/``@torch.no_grad``/``@torch.inference_mode(...)``, ``on``
    for ``@torch.enable_grad``; None without a grad decorator (or an unknown flag)."""
    if function.node is None or imports is None:
        return None
    found: str | None = None
    # Decorators apply bottom-up, so the top one decides what a caller gets.
    for decorator in reversed(function.node.decorator_list):
        call = decorator if isinstance(decorator, ast.Call) else None
        qualified = imports.qualified_name(call.func if call is not None else decorator)
        kind = api_names.grad_context_kind(qualified) if qualified is not None else None
        if kind in ("no_grad", "inference_mode"):
            flag = call.args[0] if call is not None and call.args else None
            if kind == "inference_mode" and isinstance(flag, ast.Constant) and flag.value is False:
                continue
            found = "off"
        elif kind == "enable_grad":
            found = "on"
        elif kind == "set_grad_enabled" and call is not None and call.args:
            flag = call.args[0]
            if isinstance(flag, ast.Constant) and isinstance(flag.value, bool):
                found = "on" if flag.value else "off"
    return found


_OFF_KINDS = frozenset({"no_grad", "inference_mode", "set_grad_enabled"})


def builds_grad_off_context(expr: ast.AST, imports: ImportMap | None) -> bool:
    """``expr`` contains a call of ``torch.no_grad``/``inference_mode``/``set_grad_enabled``."""
    if imports is None:
        return False
    for node in ast.walk(expr):
        if isinstance(node, ast.Call):
            qualified = imports.qualified_name(node.func)
            if qualified is not None and api_names.grad_context_kind(qualified) in _OFF_KINDS:
                return True
    return False


class GradFacts:
    """Per-file helper: statement lookup, CFGs and reaching definitions, built on demand."""

    def __init__(self, analysis: FileAnalysis) -> None:
        self.analysis = analysis
        self._graphs: dict[int, ControlFlowGraph] = {}
        self._statement_of: dict[int, dict[int, ast.stmt]] = {}

    # -- statements -------------------------------------------------------------------------

    def statement_of(self, function: Function, node: ast.AST) -> ast.stmt | None:
        """The innermost statement of ``function`` whose own expressions hold ``node``."""
        return self.statement_index(function).get(id(node))

    def statement_index(self, function: Function) -> dict[int, ast.stmt]:
        """Every own expression of ``function`` (by id) -> its innermost statement. Syntax
        only: kept with the document's other reusable results for the next version."""
        index = self._statement_of.get(id(function))
        if index is not None:
            return index
        reusable = cache_of(self.analysis.document)
        node = function.node
        if reusable is not None and node is not None:
            index = reusable.statement_index_of(node)
        if index is None:
            index = {}
            for statement in statements_of(function.body):
                for expression in own_expressions(statement):
                    index[id(expression)] = statement
            if reusable is not None and node is not None:
                reusable.statement_indexes[id(node)] = (node, index)
        self._statement_of[id(function)] = index
        return index

    def function_of(self, node: ast.AST) -> Function | None:
        for function in self.analysis.functions:
            if self.statement_of(function, node) is not None:
                return function
        return None

    def graph(self, function: Function) -> ControlFlowGraph:
        graph = self._graphs.get(id(function))
        if graph is None:
            graph = ControlFlowGraph(function.body)
            self._graphs[id(function)] = graph
        return graph

    # -- reaching definitions ---------------------------------------------------------------

    def definitions_reaching(self, function: Function, use: ast.stmt, name: str) -> Reaching | None:
        """The bindings of ``name`` that may reach ``use`` (a statement of ``function``).

        None when ``use`` is not a node of the function's graph.
        """
        graph = self.graph(function)
        starts = [node.index for node in graph.nodes if node.statement is use]
        if not starts:
            return None
        found: dict[int, Definition] = {}
        from_entry = False
        seen: set[int] = set(starts)
        pending = [predecessor for start in starts for predecessor in graph.nodes[start].predecessors]
        while pending:
            index = pending.pop()
            if index in seen:
                continue
            seen.add(index)
            node = graph.nodes[index]
            if node.kind is NodeKind.ENTRY:
                from_entry = True
                continue
            definition = _definition_at(node, name)
            if definition is not None:
                found.setdefault(id(definition.node), definition)
                continue
            pending.extend(node.predecessors)
        return Reaching(tuple(found.values()), from_entry)

    # -- context managers the dataflow does not follow ------------------------------------------

    def indirect_grad_off(self, function: Function, expr: ast.expr) -> bool:
        """A ``with`` item that may turn grad off although the dataflow does not see it.

        ``context = torch.no_grad()`` then ``with context:``; ``with maybe_no_grad(flag):``
        where a function of this file returns ``torch.no_grad()``; and ``with torch.no_grad:``
        written without the call (TM302 reports it; the author meant grad off).
        """
        imports = self.analysis.imports
        if imports is None:
            return False
        if imports.star_imports and _unresolved_grad_context(expr, imports):
            return True  # ``torch`` from a ``from x import *`` this check could not follow
        if not isinstance(expr, ast.Call):
            qualified = imports.qualified_name(expr)
            if qualified is not None and api_names.grad_context_kind(qualified) is not None:
                return True
        if isinstance(expr, ast.Name):
            scopes = [function, *([function.parent] if function.parent is not None else [])]
            for scope in scopes:
                for statement in statements_of(scope.body):
                    if (
                        isinstance(statement, ast.Assign)
                        and any(expr.id in stored_names(target) for target in statement.targets)
                        and builds_grad_off_context(statement.value, imports)
                    ):
                        return True
        if isinstance(expr, ast.Call):
            for candidate in called_functions(self.analysis, function, expr):
                for statement in statements_of(candidate.body):
                    if (
                        isinstance(statement, ast.Return)
                        and statement.value is not None
                        and builds_grad_off_context(statement.value, imports)
                    ):
                        return True
                    # A generator context manager: ``with torch.set_grad_enabled(flag): yield``.
                    if (
                        isinstance(statement, (ast.With, ast.AsyncWith))
                        and any(
                            builds_grad_off_context(item.context_expr, imports) for item in statement.items
                        )
                        and _yields(statement.body)
                    ):
                        return True
        return False

    # -- callers ----------------------------------------------------------------------------

    def caller_grad(
        self, function: Function, depth: int = 0, seen: frozenset[int] = frozenset()
    ) -> list[tuple[CallSite, GradValue]]:
        """The grad mode at each known call of ``function``, through callers whose grad is ``entry``.

        A caller that itself runs in its own caller's mode is replaced by what its callers
        give, up to three levels; where that chain ends, its ``entry`` facts stay.
        """
        results: list[tuple[CallSite, GradValue]] = []
        if depth > 3 or id(function) in seen:
            return results
        seen = seen | {id(function)}
        for call_site in self.analysis.call_sites:
            if call_site.callee is not function:
                continue
            state = (
                self.analysis.state_before(call_site.statement) if call_site.statement is not None else None
            )
            grad: GradValue = state.grad if state is not None else frozenset({GradFact("unknown")})
            if any(fact.grad == "entry" for fact in grad):
                above = self.caller_grad(call_site.function, depth + 1, seen)
                if above:
                    inherited = frozenset(fact for _, value in above for fact in value)
                    grad = frozenset(fact for fact in grad if fact.grad != "entry") | inherited
            results.append((call_site, grad))
        return results


def called_functions(analysis: FileAnalysis, caller: Function, call: ast.Call) -> list[Function]:
    """The functions of this file a call may run: ``helper(...)`` by name, ``self.helper(...)``
    (and ``cls.``) as a method of the caller's class."""
    func = call.func
    if isinstance(func, ast.Name):
        return [
            candidate
            for candidate in analysis.functions
            if candidate.node is not None and candidate.name == func.id
        ]
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and caller.class_name is not None
        and caller.parameters
        and func.value.id == caller.parameters[0]
    ):
        wanted = f"{caller.class_name}.{func.attr}"
        return [
            candidate
            for candidate in analysis.functions
            if candidate.node is not None
            and candidate.class_name == caller.class_name
            and (candidate.name == wanted or candidate.name.endswith(f".{wanted}"))
        ]
    return []


def _yields(body: list[ast.stmt]) -> bool:
    return any(
        isinstance(node, (ast.Yield, ast.YieldFrom)) for statement in body for node in ast.walk(statement)
    )


def _walrus_binds(node: ast.AST, name: str) -> bool:
    return any(
        isinstance(expression, ast.NamedExpr) and expression.target.id == name
        for expression in own_expressions(node)
    )


def _definition_at(node: Node, name: str) -> Definition | None:
    statement = node.statement
    kind = node.kind
    if kind is NodeKind.STATEMENT and isinstance(statement, ast.stmt):
        if node.expression is not None:  # a match subject
            return Definition(statement, "other", None) if _walrus_binds(node.expression, name) else None
        if isinstance(statement, ast.Assign):
            if any(name in stored_names(target) for target in statement.targets):
                return Definition(statement, "assign", statement.value)
        elif isinstance(statement, ast.AnnAssign):
            if statement.value is not None and name in stored_names(statement.target):
                return Definition(statement, "assign", statement.value)
        elif isinstance(statement, ast.AugAssign):
            if isinstance(statement.target, ast.Name) and statement.target.id == name:
                return Definition(statement, "augassign", statement.value)
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            if any((alias.asname or alias.name).split(".")[0] == name for alias in statement.names):
                return Definition(statement, "other", None)
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if statement.name == name:
                return Definition(statement, "other", None)
        elif isinstance(statement, ast.Delete) and any(
            name in stored_names(target) for target in statement.targets
        ):
            return Definition(statement, "other", None)
        if _walrus_binds(statement, name):
            return Definition(statement, "other", None)
        return None
    if kind in (NodeKind.TEST, NodeKind.FOR_ITER) and isinstance(statement, ast.stmt):
        if node.expression is not None and _walrus_binds(node.expression, name):
            return Definition(statement, "other", None)
        return None
    if kind is NodeKind.FOR_NEXT and isinstance(statement, (ast.For, ast.AsyncFor)):
        if name in stored_names(statement.target):
            return Definition(statement, "other", None)
        return None
    if kind is NodeKind.WITH_ENTER and isinstance(statement, ast.withitem):
        if statement.optional_vars is not None and name in stored_names(statement.optional_vars):
            return Definition(statement, "other", None)
        return None
    if kind is NodeKind.JOIN and isinstance(statement, ast.ExceptHandler) and statement.name == name:
        return Definition(statement, "other", None)
    return None


# -- which computation a backward() differentiates ----------------------------------------------

# Calls whose first argument is the tensor to differentiate.
_AUTOGRAD_FUNCTIONS = frozenset(
    {"torch.autograd.backward", "torch.autograd.grad", "torch.autograd.function.backward"}
)
# ``accelerator.backward(loss)`` and friends: the receiver is not the tensor, the argument is.
_DELEGATING_RECEIVERS = frozenset(
    {"accelerator", "fabric", "engine", "model_engine", "strategy", "trainer", "booster"}
)


@dataclass(frozen=True)
class BackwardCall:
    """One call that runs autograd backwards, and the tensor it differentiates."""

    function: Function
    call: ast.Call
    statement: ast.stmt
    tensor: ast.expr


@dataclass(frozen=True)
class Computation:
    """Where a tensor was computed, and the grad mode there (facts that can hold at the backward)."""

    statement: ast.stmt
    grad: frozenset[GradFact]
    decorated: Function | None = None  # computed by calling this ``@torch.no_grad()`` function
    callers: tuple[ast.Call, ...] = ()  # the grad came from these calls of the function


def _backward_calls(analysis: FileAnalysis) -> list[tuple[ast.Call, ast.expr]]:
    """The file's backward-like calls with the tensor each differentiates, by line."""
    index = node_index(analysis.document)
    if index is None:
        return []
    imports = analysis.imports
    found = []
    for call in index.of_type(ast.Call):
        assert isinstance(call, ast.Call)
        qualified = imports.qualified_name(call.func) if imports is not None else None
        tensor = _tensor_of(call, qualified)
        if tensor is not None:
            found.append((call, tensor))
    found.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
    return found


def _tensor_of(call: ast.Call, qualified: str | None) -> ast.expr | None:
    if qualified in _AUTOGRAD_FUNCTIONS:
        if call.args:
            return call.args[0]
        for keyword in call.keywords:
            if keyword.arg in ("tensors", "outputs"):
                return keyword.value
        return None
    func = call.func
    if not isinstance(func, ast.Attribute):
        return None
    if func.attr == "manual_backward":  # Lightning: self.manual_backward(loss)
        return call.args[0] if call.args else None
    if func.attr != "backward":
        return None
    receiver = func.value
    if (
        isinstance(receiver, ast.Call)
        and isinstance(receiver.func, ast.Attribute)
        and receiver.func.attr == "scale"
        and receiver.args
    ):
        return receiver.args[0]  # scaler.scale(loss).backward()
    path = access_path(receiver)
    if path is not None and path.rsplit(".", 1)[-1] in _DELEGATING_RECEIVERS:
        return call.args[0] if call.args else None
    return receiver


def _creates_grad_leaf(value: ast.expr) -> bool:
    """``torch.zeros(..., requires_grad=True)`` and ``.requires_grad_()`` give tensors that
    require grad even under ``no_grad``: a backward through them does not fail."""
    for node in own_expressions(value):
        if isinstance(node, ast.keyword) and node.arg == "requires_grad":
            return True
        if isinstance(node, ast.Attribute) and node.attr in ("requires_grad_", "requires_grad"):
            return True
    return False


def _is_computation(value: ast.expr) -> bool:
    """An expression that runs tensor operations (as opposed to naming or spelling a value)."""
    return any(isinstance(node, (ast.Call, ast.BinOp, ast.UnaryOp)) for node in own_expressions(value))


def _operands(expr: ast.expr) -> list[str] | None:
    """The names an expression combines when it only applies operators and tensor methods to
    them (``scores.sum()``, ``(a + b).mean(dim=1)``); None when it calls anything else, which
    may bring parameters (and a graph) in: ``model(x)``, ``F.mse_loss(out, y)``."""
    names: list[str] = []

    def visit(node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            names.append(node.id)
            return True
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.BinOp):
            return visit(node.left) and visit(node.right)
        if isinstance(node, ast.UnaryOp):
            return visit(node.operand)
        if isinstance(node, ast.Subscript):
            return visit(node.value) and _is_plain_index(node.slice)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return (
                visit(node.func.value)
                and all(isinstance(argument, ast.Constant) for argument in node.args)
                and all(isinstance(keyword.value, ast.Constant) for keyword in node.keywords)
            )
        return False

    return list(dict.fromkeys(names)) if visit(expr) and names else None


def _is_plain_index(index: ast.expr) -> bool:
    return all(
        isinstance(node, (ast.Constant, ast.Slice, ast.Tuple, ast.UnaryOp, ast.USub, ast.Load))
        for node in ast.walk(index)
    )


def root_name(expr: ast.expr) -> str | None:
    while isinstance(expr, (ast.Attribute, ast.Subscript)):
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else None


class BackwardProvenance:
    """Answers "which computation does this ``backward()`` differentiate, and under which grad
    mode was it computed?" (PyTorch fails only when the differentiated tensor was computed with
    autograd off, not when ``backward()`` itself runs under ``no_grad``)."""

    def __init__(self, analysis: FileAnalysis, facts: GradFacts) -> None:
        self.analysis = analysis
        self.facts = facts

    def backwards(self) -> Iterator[BackwardCall]:
        """Every backward-like call with its function and statement. The calls come from the
        node index; each function holding one maps its own expressions to their statements
        (``GradFacts.statement_index``, kept across versions for unchanged functions)."""
        analysis, facts = self.analysis, self.facts
        calls = _backward_calls(analysis)
        if not calls:
            return
        lines = [call.lineno for call, _ in calls]
        for function in analysis.functions:
            defined = function.node
            # Only the calls within the function's lines can be its own (all, for the module).
            low, high = (
                (0, len(calls))
                if defined is None
                else (
                    bisect.bisect_left(lines, defined.lineno),
                    bisect.bisect_right(lines, defined.end_lineno or defined.lineno),
                )
            )
            if low == high:
                continue
            index = facts.statement_index(function)
            for call, tensor in calls[low:high]:
                statement = index.get(id(call))
                if statement is not None:
                    yield BackwardCall(function, call, statement, tensor)

    def computations(
        self, function: Function, tensor: ast.expr, at: ast.stmt, depth: int = 0
    ) -> list[Computation] | None:
        """The statements that computed ``tensor`` as used at ``at``; None when unknown."""
        if depth > 4:
            return None
        if isinstance(tensor, (ast.Name, ast.Attribute, ast.Subscript)):
            # ``outputs.loss`` and ``losses[0]`` name a value computed elsewhere: follow the root.
            root = root_name(tensor)
            if root is None:
                return None
            return self._from_name(function, root, at, depth)
        if not _is_computation(tensor) or _creates_grad_leaf(tensor):
            return None
        here = self._computed_at(function, tensor, at)
        if here is not None and all(fact.grad == "off" for item in here for fact in item.grad):
            return here
        names = _operands(tensor)
        if names:
            # ``scores.sum()``, ``(a + b) / 2``: operations on tensors only; the result has a graph
            # only if one of them has one, whatever the grad mode here.
            found: list[Computation] = []
            for name in names:
                inner = self._from_name(function, name, at, depth + 1)
                if inner is None:
                    return here
                found.extend(inner)
            return found
        return here

    def _from_name(self, function: Function, name: str, at: ast.stmt, depth: int) -> list[Computation] | None:
        reaching = self.facts.definitions_reaching(function, at, name)
        if reaching is None or reaching.from_entry or not reaching.definitions:
            return None  # a parameter, a global, or a use we cannot place
        found: list[Computation] = []
        for definition in reaching.definitions:
            node = definition.node
            if definition.value is None or not isinstance(node, ast.stmt):
                return None
            if definition.kind == "augassign":
                # ``x += y`` is in place: under no_grad it leaves x's graph as it was, so the
                # earlier binding decides; with grad on it may give x a graph (then unknown).
                state = self.analysis.state_before(node)
                if state is None or not state.grad or any(fact.grad != "off" for fact in state.grad):
                    return None
                earlier = self._from_name(function, name, node, depth + 1)
                if earlier is None:
                    return None
                found.extend(earlier)
                continue
            inner = self.computations(function, definition.value, node, depth + 1)
            if inner is None:
                return None
            found.extend(inner)
        return found

    def _computed_at(self, function: Function, value: ast.expr, at: ast.stmt) -> list[Computation] | None:
        analysis, facts = self.analysis, self.facts
        callees = called_functions(analysis, function, value) if isinstance(value, ast.Call) else []
        callee = callees[0] if callees else None
        if callee is not None:
            decorated = decorator_grad(callee, analysis.imports)
            if decorated == "off":
                return [Computation(at, frozenset({GradFact("off")}), decorated=callee)]
            if decorated == "on":
                return None
        state = analysis.state_before(at)
        if state is None or not state.grad:
            return None
        grad = state.grad
        callers: tuple[ast.Call, ...] = ()
        if any(fact.grad == "entry" for fact in grad):
            # The function runs in its caller's grad mode: ask the callers in this file.
            # Without known callers ``entry`` stays: autograd is on unless the caller turned it off.
            through = facts.caller_grad(function)
            if through:
                inherited = frozenset(fact for _, value_at_call in through for fact in value_at_call)
                grad = frozenset(fact for fact in grad if fact.grad != "entry") | inherited
                callers = tuple(call_site.call for call_site, _ in through)
        return [Computation(at, grad, callers=callers)]


def verdict(computation: Computation, assumptions: Conditions) -> tuple[str, GradFact] | None:
    """("off", fact) when autograd was certainly off there; ("leak", fact) when a bare
    ``set_grad_enabled(False)`` that nothing undid reaches it on some path; else None."""
    relevant = [fact for fact in computation.grad if not contradicts(fact.conditions, assumptions)]
    offs = [fact for fact in relevant if fact.grad == "off"]
    if relevant and len(offs) == len(relevant):
        return ("off", offs[0])
    leaks = [fact for fact in offs if not fact.scoped]
    if leaks:
        return ("leak", leaks[0])
    return None


def _unresolved_grad_context(expr: ast.expr, imports: ImportMap) -> bool:
    """``torch.no_grad()`` (or ``no_grad()``) whose root name no import of this file binds, in
    a file with star imports: it may well be torch's. Only ever used to stay silent."""
    target = expr.func if isinstance(expr, ast.Call) else expr
    path = access_path(target)
    if path is None or imports.qualify(path) is not None:
        return False
    return path.rsplit(".", 1)[-1] in ("no_grad", "inference_mode", "set_grad_enabled")
