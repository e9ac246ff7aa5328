"""TM202 backward-under-no-grad."""

from __future__ import annotations

import ast
import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from torchmode.analysis.facts import FileAnalysis, Function
from torchmode.analysis.grad_facts import GradFacts, called_functions, decorator_grad
from torchmode.analysis.lattice import Conditions, GradFact, Site, contradicts
from torchmode.analysis.names import access_path
from torchmode.analysis.walk import own_expressions
from torchmode.findings import Finding, Fix, Related, Severity
from torchmode.fixes import parses_after
from torchmode.fixes.wrap import dedent_out_of_with, parent_of
from torchmode.rules.base import Invalid, Rule, RuleContext, Valid
from torchmode.syntax.node_index import node_index

_IN_WITH = """\
import torch


def train(model, optimizer, loader):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        with torch.no_grad():
            output = model(x)
            loss = torch.nn.functional.mse_loss(output, y)
            loss.backward()
        optimizer.step()
"""

_IN_WITH_FIXED = """\
import torch


def train(model, optimizer, loader):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        output = model(x)
        loss = torch.nn.functional.mse_loss(output, y)
        loss.backward()
        optimizer.step()
"""

_LEAK = """\
import torch


def evaluate(model, loader):
    model.eval()
    torch.set_grad_enabled(False)
    return sum(model(x).sum().item() for x, _ in loader)


def fit(model, optimizer, train_loader, val_loader, epochs):
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            loss = (model(x) - y).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        evaluate(model, val_loader)
"""

_DECORATED_HELPER = """\
import torch


@torch.no_grad()
def compute_loss(model, x, y):
    return (model(x) - y).abs().mean()


def step(model, optimizer, x, y):
    loss = compute_loss(model, x, y)
    loss.backward()
    optimizer.step()
"""

# Calls whose first argument is the tensor to differentiate.
_AUTOGRAD_FUNCTIONS = frozenset(
    {"torch.autograd.backward", "torch.autograd.grad", "torch.autograd.function.backward"}
)
# ``accelerator.backward(loss)`` and friends: the receiver is not the tensor, the argument is.
_DELEGATING_RECEIVERS = frozenset(
    {"accelerator", "fabric", "engine", "model_engine", "strategy", "trainer", "booster"}
)
_STEP_LIKE_METHODS = frozenset({"step", "zero_grad", "update", "backward", "append", "add_scalar", "log"})
_LOGGING_FUNCTIONS = frozenset({"print", "log", "info", "debug", "warning"})


@dataclass(frozen=True)
class _Backward:
    """One call that runs autograd backwards, and the tensor it differentiates."""

    function: Function
    call: ast.Call
    statement: ast.stmt
    tensor: ast.expr


@dataclass(frozen=True)
class _Computation:
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


def _root_name(expr: ast.expr) -> str | None:
    while isinstance(expr, (ast.Attribute, ast.Subscript)):
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else None


class BackwardUnderNoGrad(Rule):
    """``backward()`` on a tensor that was computed while autograd was off.

    PyTorch raises ``RuntimeError: element 0 of tensors does not require grad and
    does not have a grad_fn`` exactly when the differentiated tensor has no graph,
    i.e. when it was *computed* under ``no_grad``/``inference_mode``/
    ``set_grad_enabled(False)``. Calling ``backward()`` inside ``no_grad`` on a loss
    computed with grad works. So the rule traces the receiver of ``backward()``
    (``loss``, ``scaler.scale(loss)``, ``accelerator.backward(loss)``,
    ``torch.autograd.grad(loss, ...)``) back to the statements that assigned it in
    the same function and reports when autograd was off at every one of them, or
    when a bare ``torch.set_grad_enabled(False)`` that nothing undoes reaches them
    (typically from an evaluation on an earlier iteration).
    """

    code = "TM202"
    name = "backward-under-no-grad"
    default_severity = Severity.ERROR

    VALID = (
        Valid(_IN_WITH_FIXED),
        # backward() inside no_grad on a loss computed with grad: PyTorch runs it fine.
        Valid(
            "import torch\n\n\ndef step(model, optimizer, x):\n"
            "    loss = model(x).sum()\n    with torch.no_grad():\n        loss.backward()\n"
            "    optimizer.step()\n"
        ),
        # The epoch runner of the transfer-learning tutorial: backward only when training.
        Valid(
            "import torch\n\n\ndef run_epoch(model, optimizer, loader, is_train):\n"
            "    model.train(is_train)\n    for x, y in loader:\n"
            "        with torch.set_grad_enabled(is_train):\n"
            "            loss = torch.nn.functional.cross_entropy(model(x), y)\n"
            "        if is_train:\n            optimizer.zero_grad()\n            loss.backward()\n"
            "            optimizer.step()\n"
        ),
        # A gradient-accumulation loop whose validation is scoped by ``with``.
        Valid(
            "import torch\n\n\ndef fit(model, optimizer, loader, val_x):\n"
            "    for i, (x, y) in enumerate(loader):\n"
            "        loss = (model(x) - y).pow(2).mean() / 4\n        loss.backward()\n"
            "        if (i + 1) % 4 == 0:\n            optimizer.step()\n            optimizer.zero_grad()\n"
            "            with torch.no_grad():\n                model(val_x)\n"
        ),
        # A tensor made to require grad under no_grad is a leaf autograd can use.
        Valid(
            "import torch\n\nwith torch.no_grad():\n    w = torch.zeros(3, requires_grad=True)\n"
            "(w * 2).sum().backward()\n"
        ),
    )
    INVALID = (
        Invalid(_IN_WITH, line=11, fixed=_IN_WITH_FIXED),
        Invalid(_LEAK, line=16),
        Invalid(_DECORATED_HELPER, line=11),
    )

    @classmethod
    def may_apply(cls, text: str) -> bool:
        # Autograd can only be off in a file that names one of the grad-off switches.
        return "no_grad" in text or "inference_mode" in text or "set_grad_enabled" in text

    def check(self, context: RuleContext) -> Iterator[Finding]:
        analysis = context.analysis
        facts = GradFacts(analysis)
        for backward in self._backwards(analysis, facts):
            state = analysis.state_before(backward.statement)
            assumptions = state.assumptions if state is not None else frozenset()
            computations = self._computations(
                context, facts, backward.function, backward.tensor, backward.statement, 0
            )
            if not computations:
                continue
            verdicts = [self._verdict(computation, assumptions) for computation in computations]
            known = [verdict for verdict in verdicts if verdict is not None]
            if len(known) != len(verdicts):
                continue  # autograd may be on where some binding was computed
            kinds = {kind for kind, _ in known}
            yield self._finding(context, facts, backward, computations, known, leak=kinds != {"off"})

    # -- where backward runs and what it differentiates ----------------------------------------

    def _backwards(self, analysis: FileAnalysis, facts: GradFacts) -> Iterator[_Backward]:
        """Every backward-like call with its function and statement. The calls come from the
        node index; each function holding one maps its own expressions to their statements
        (``GradFacts.statement_index``, kept across versions for unchanged functions)."""
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
                    yield _Backward(function, call, statement, tensor)

    def _computations(
        self,
        context: RuleContext,
        facts: GradFacts,
        function: Function,
        tensor: ast.expr,
        at: ast.stmt,
        depth: int,
    ) -> list[_Computation] | None:
        """The statements that computed ``tensor`` as used at ``at``; None when unknown."""
        if depth > 4:
            return None
        if isinstance(tensor, (ast.Name, ast.Attribute, ast.Subscript)):
            # ``outputs.loss`` and ``losses[0]`` name a value computed elsewhere: follow the root.
            root = _root_name(tensor)
            if root is None:
                return None
            return self._from_name(context, facts, function, root, at, depth)
        if not _is_computation(tensor) or _creates_grad_leaf(tensor):
            return None
        here = self._computed_at(context, facts, function, tensor, at)
        if here is not None and all(fact.grad == "off" for item in here for fact in item.grad):
            return here
        names = _operands(tensor)
        if names:
            # ``scores.sum()``, ``(a + b) / 2``: operations on tensors only; the result has a graph
            # only if one of them has one, whatever the grad mode here.
            found: list[_Computation] = []
            for name in names:
                inner = self._from_name(context, facts, function, name, at, depth + 1)
                if inner is None:
                    return here
                found.extend(inner)
            return found
        return here

    def _from_name(
        self,
        context: RuleContext,
        facts: GradFacts,
        function: Function,
        name: str,
        at: ast.stmt,
        depth: int,
    ) -> list[_Computation] | None:
        reaching = facts.definitions_reaching(function, at, name)
        if reaching is None or reaching.from_entry or not reaching.definitions:
            return None  # a parameter, a global, or a use we cannot place
        found: list[_Computation] = []
        for definition in reaching.definitions:
            node = definition.node
            if definition.value is None or not isinstance(node, ast.stmt):
                return None
            if definition.kind == "augassign":
                # ``x += y`` is in place: under no_grad it leaves x's graph as it was, so the
                # earlier binding decides; with grad on it may give x a graph (then unknown).
                state = context.analysis.state_before(node)
                if state is None or not state.grad or any(fact.grad != "off" for fact in state.grad):
                    return None
                earlier = self._from_name(context, facts, function, name, node, depth + 1)
                if earlier is None:
                    return None
                found.extend(earlier)
                continue
            inner = self._computations(context, facts, function, definition.value, node, depth + 1)
            if inner is None:
                return None
            found.extend(inner)
        return found

    def _computed_at(
        self, context: RuleContext, facts: GradFacts, function: Function, value: ast.expr, at: ast.stmt
    ) -> list[_Computation] | None:
        analysis = context.analysis
        callees = called_functions(analysis, function, value) if isinstance(value, ast.Call) else []
        callee = callees[0] if callees else None
        if callee is not None:
            decorated = decorator_grad(callee, analysis.imports)
            if decorated == "off":
                return [_Computation(at, frozenset({GradFact("off")}), decorated=callee)]
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
        return [_Computation(at, grad, callers=callers)]

    @staticmethod
    def _verdict(computation: _Computation, assumptions: Conditions) -> tuple[str, GradFact] | None:
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

    # -- the finding --------------------------------------------------------------------------

    def _finding(
        self,
        context: RuleContext,
        facts: GradFacts,
        backward: _Backward,
        computations: list[_Computation],
        verdicts: list[tuple[str, GradFact]],
        leak: bool,
    ) -> Finding:
        document = context.document
        call_text = Site(
            document.span_of(backward.call), document.source_of(backward.call), backward.function.name
        ).short_text()
        tensor_text = Site(
            document.span_of(backward.tensor), document.source_of(backward.tensor), ""
        ).short_text()
        pairs = sorted(
            zip(computations, verdicts, strict=True),
            key=lambda pair: (
                0 if pair[1][0] == ("leak" if leak else "off") else 1,
                pair[0].statement.lineno,
            ),
        )
        computation, (_, fact) = pairs[0]
        line = computation.statement.lineno
        related: list[Related] = [
            Related(
                document.span_of(computation.statement),
                context.text(
                    "TM202.related.computed_leak" if leak else "TM202.related.computed", tensor=tensor_text
                ),
            )
        ]
        if leak and fact.origin:
            first, last = fact.origin[0], fact.origin[-1]
            related.append(context.related(last, context.text("TM202.related.off_site")))
            inner = ""
            if len(fact.origin) > 1:
                related.append(Related(first.span, context.text("TM202.related.leaking_call")))
                inner = context.text("TM202.leak.inner", site=last.short_text(), line=context.line_of(last))
            message = context.text(
                "TM202.message.leak",
                call=call_text,
                tensor=tensor_text,
                line=line,
                site=first.short_text(),
                site_line=first.span.start.line,
                inner=inner,
            )
        else:
            cause = self._cause(context, computation, fact, related)
            message = context.text(
                "TM202.message", call=call_text, tensor=tensor_text, line=line, cause=cause
            )
        fixes: list[Fix] = []
        if not leak:
            fix = self._fix(context, facts, backward, computations)
            if fix is not None:
                fixes.append(fix)
        return self.report(
            document.span_of(backward.call),
            message,
            related=tuple(related),
            fixes=tuple(fixes),
        )

    @staticmethod
    def _cause(
        context: RuleContext, computation: _Computation, fact: GradFact, related: list[Related]
    ) -> str:
        document = context.document
        if computation.decorated is not None and computation.decorated.node is not None:
            node = computation.decorated.node
            decorator = node.decorator_list[0] if node.decorator_list else node
            related.append(Related(document.span_of(decorator), context.text("TM202.related.off_site")))
            return context.text(
                "TM202.cause.decorated",
                function=computation.decorated.name,
                decorator=document.source_of(decorator),
                line=decorator.lineno,
            )
        if computation.callers:
            call = computation.callers[0]
            related.append(Related(document.span_of(call), context.text("TM202.related.caller")))
            return context.text(
                "TM202.cause.callers",
                call=Site(document.span_of(call), document.source_of(call), "").short_text(),
                line=call.lineno,
            )
        if not fact.origin:
            return context.text("TM202.cause.unknown")
        site = fact.origin[-1]
        related.append(context.related(site, context.text("TM202.related.off_site")))
        if len(fact.origin) > 1:
            outer = fact.origin[0]
            related.append(Related(outer.span, context.text("TM202.related.caller")))
            return context.text(
                "TM202.cause.through_call",
                call=outer.short_text(),
                call_line=outer.span.start.line,
                site=site.short_text(),
                line=context.line_of(site),
            )
        key = "TM202.cause.unscoped" if not fact.scoped else "TM202.cause.scoped"
        return context.text(key, site=site.short_text(), line=site.span.start.line)

    # -- the fix: de-indent the step out of the ``with`` ------------------------------------------

    @staticmethod
    def _first_moved(analysis: FileAnalysis, body: list[ast.stmt], computed: int) -> int:
        """The first statement of the ``with`` body to move out with the loss computed at ``computed``.

        Everything the loss depends on (through names) must run with autograd on, or the loss
        still has no graph, or part of the model silently gets no gradient. Only a statement
        whose forward passes are all of models switched to eval and never trained in this file
        (a distillation teacher, a target network) may stay behind under no_grad, as meant.
        """
        frozen = {
            switch.path
            for switch in analysis.switches
            if switch.path not in analysis.trained_paths and any(fact.mode == "eval" for fact in switch.value)
        }
        needed_names = _loaded(body[computed:])
        needed: list[int] = []
        for index in range(computed - 1, -1, -1):
            if _stored([body[index]]) & needed_names:
                needed_names |= _loaded([body[index]])
                paths = _forward_paths(analysis, body[index])
                if not paths or not all(path in frozen for path in paths):
                    needed.append(index)
        return min([computed, *needed])

    def _fix(
        self,
        context: RuleContext,
        facts: GradFacts,
        backward: _Backward,
        computations: list[_Computation],
    ) -> Fix | None:
        document = context.document
        analysis = context.analysis
        block = parent_of(document, backward.statement)
        if (
            not isinstance(block, ast.With)
            or len(block.items) != 1
            or block.items[0].optional_vars is not None
        ):
            return None
        item = block.items[0]
        item_span = document.span_of(item.context_expr)
        # Autograd must be off because of this ``with`` and nothing else.
        for computation in computations:
            if computation.decorated is not None or computation.callers:
                return None
            if any(not fact.origin or fact.origin[-1].span != item_span for fact in computation.grad):
                return None
        outside = analysis.state_before(item)
        if outside is None or any(fact.grad == "off" for fact in outside.grad):
            return None
        body = block.body
        indexes = [index for index, statement in enumerate(body) if statement is backward.statement]
        computed_at = [
            index
            for index, statement in enumerate(body)
            for computation in computations
            if statement is computation.statement
        ]
        if not indexes or len(computed_at) != len(computations):
            return None
        backward_index = indexes[0]
        start = self._first_moved(analysis, body, min([*computed_at, backward_index]))
        moved = body[start:]
        if not all(_step_like(statement) for statement in body[backward_index + 1 :]):
            return None  # e.g. a manual SGD update that must stay under no_grad
        if any(_in_place_update(statement) for statement in moved):
            return None
        edit = dedent_out_of_with(document, block, start)
        if edit is None or not parses_after(document, [edit]):
            return None
        title_key = "TM202.fix.unwrap" if start == 0 else "TM202.fix.move_out"
        return Fix(
            context.text(title_key, context_text=document.source_of(item.context_expr)),
            (edit,),
        )


def _forward_paths(analysis: FileAnalysis, statement: ast.stmt) -> list[str]:
    inside = {id(node) for node in ast.walk(statement)}
    return [forward.path for forward in analysis.forward_calls if id(forward.call) in inside]


def _stored(statements: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                names.add(node.id)
            elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Store):
                root = _root_name(node)
                if root is not None:
                    names.add(root)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _loaded(statements: list[ast.stmt]) -> set[str]:
    return {
        node.id
        for statement in statements
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def _step_like(statement: ast.stmt) -> bool:
    """Statements that may follow ``backward()`` out of a ``no_grad`` block unchanged in effect:
    optimizer and scaler calls (they run under no_grad internally), logging, ``.item()``."""
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        func = statement.value.func
        if isinstance(func, ast.Attribute):
            return func.attr in _STEP_LIKE_METHODS or func.attr in _LOGGING_FUNCTIONS
        return isinstance(func, ast.Name) and func.id in _LOGGING_FUNCTIONS
    if isinstance(statement, (ast.Assign, ast.AugAssign)):
        return any(
            isinstance(node, ast.Attribute) and node.attr == "item" for node in ast.walk(statement.value)
        )
    return False


def _in_place_update(statement: ast.stmt) -> bool:
    """``p.add_(...)``, ``p.data.copy_(...)``, ``for p in params: p -= lr * p.grad``: updates that
    need no_grad on leaf tensors that require grad, so they must not leave the block."""
    for node in ast.walk(statement):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr.endswith("_")
            and not node.func.attr.startswith("_")
            and node.func.attr != "requires_grad_"
        ):
            return True
        if isinstance(node, ast.AugAssign) and (
            not isinstance(node.target, ast.Name)
            or any(
                isinstance(inner, ast.Attribute) and inner.attr == "grad" for inner in ast.walk(node.value)
            )
        ):
            return True
        if isinstance(node, (ast.For, ast.AsyncFor)) and any(
            isinstance(inner, ast.Attribute) and inner.attr == "parameters" for inner in ast.walk(node.iter)
        ):
            return True
    return False
