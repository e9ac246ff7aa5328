"""TM202 backward-under-no-grad."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from torchmode.analysis.facts import FileAnalysis
from torchmode.analysis.grad_facts import (
    BackwardCall,
    BackwardProvenance,
    Computation,
    GradFacts,
    root_name,
    verdict,
)
from torchmode.analysis.lattice import GradFact, Site
from torchmode.findings import Finding, Fix, Related, Severity
from torchmode.fixes import parses_after
from torchmode.fixes.wrap import dedent_out_of_with, parent_of
from torchmode.rules.base import Invalid, Rule, RuleContext, Valid

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

_STEP_LIKE_METHODS = frozenset({"step", "zero_grad", "update", "backward", "append", "add_scalar", "log"})
_LOGGING_FUNCTIONS = frozenset({"print", "log", "info", "debug", "warning"})


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
        provenance = BackwardProvenance(analysis, facts)
        for backward in provenance.backwards():
            state = analysis.state_before(backward.statement)
            assumptions = state.assumptions if state is not None else frozenset()
            computations = provenance.computations(backward.function, backward.tensor, backward.statement)
            if not computations:
                continue
            verdicts = [verdict(computation, assumptions) for computation in computations]
            known = [found for found in verdicts if found is not None]
            if len(known) != len(verdicts):
                continue  # autograd may be on where some binding was computed
            kinds = {kind for kind, _ in known}
            yield self._finding(context, facts, backward, computations, known, leak=kinds != {"off"})

    # -- the finding --------------------------------------------------------------------------

    def _finding(
        self,
        context: RuleContext,
        facts: GradFacts,
        backward: BackwardCall,
        computations: list[Computation],
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
    def _cause(context: RuleContext, computation: Computation, fact: GradFact, related: list[Related]) -> str:
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
        backward: BackwardCall,
        computations: list[Computation],
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
                root = root_name(node)
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
