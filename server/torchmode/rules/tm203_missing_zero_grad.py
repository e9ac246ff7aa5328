"""TM203 missing-zero-grad."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from torchmode.analysis import api_names
from torchmode.analysis.cfg import Loop
from torchmode.analysis.facts import FileAnalysis, Function, TrainingStep
from torchmode.analysis.grad_facts import GradFacts
from torchmode.analysis.lattice import Site
from torchmode.analysis.names import access_path, is_under
from torchmode.findings import Finding, Fix, Related
from torchmode.fixes import insert_line_before, parses_after
from torchmode.fixes.wrap import parent_of
from torchmode.rules.base import Invalid, Rule, RuleContext, Valid
from torchmode.syntax.document import Document
from torchmode.syntax.positions import TextEdit

_TRAIN = """\
import torch.nn.functional as F


def train(model, optimizer, loader):
    model.train()
    for x, y in loader:
        output = model(x)
        loss = F.cross_entropy(output, y)
        loss.backward()
        optimizer.step()
"""

_TRAIN_FIXED = """\
import torch.nn.functional as F


def train(model, optimizer, loader):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        output = model(x)
        loss = F.cross_entropy(output, y)
        loss.backward()
        optimizer.step()
"""

_ONCE_PER_EPOCH = """\
def fit(model, opt, loader, epochs):
    for epoch in range(epochs):
        opt.zero_grad()
        for x, y in loader:
            loss = (model(x) - y).pow(2).mean()
            loss.backward()
            opt.step()
"""

_ACCUMULATION = """\
def train(model, optimizer, loader, accumulation_steps=4):
    optimizer.zero_grad()
    for i, (x, y) in enumerate(loader):
        loss = (model(x) - y).pow(2).mean() / accumulation_steps
        loss.backward()
        if (i + 1) % accumulation_steps == 0:
            optimizer.step()
            optimizer.zero_grad()
"""

# Methods that clear ``.grad`` in place when called on a gradient (``p.grad.zero_()``).
_CLEARING_METHODS = frozenset({"zero_", "fill_", "mul_", "copy_"})
# Words in a called name that say it resets gradients (helpers from other files we cannot read).
_CLEARING_WORDS = ("zero_grad", "zero_grads", "zero_gradients", "clear_grad", "reset_grad")


@dataclass
class _LoopSteps:
    function: Function
    loop: Loop
    backwards: list[TrainingStep] = field(default_factory=list)
    steps: list[TrainingStep] = field(default_factory=list)


def _optimizer_of(step: TrainingStep) -> str | None:
    """``optimizer`` for ``optimizer.step()`` and for ``scaler.step(optimizer)``: the analysis
    tells which it is (an optimizer the file builds, or one named like it); an argument of any
    other ``step`` (``opt.step(context_id)`` of distributed autograd) is no optimizer."""
    if step.optimizer is not None:
        return step.optimizer
    func = step.call.func
    if not isinstance(func, ast.Attribute):
        return None
    receiver = access_path(func.value)
    if step.call.args:
        argument = access_path(step.call.args[0])
        if argument is not None and receiver is not None and "scaler" in receiver.lower():
            return argument  # scaler.step(optimizer)
    return receiver


def _every_iteration(document: Document, node: ast.AST, loop: ast.stmt) -> bool:
    """True when nothing between ``node`` and ``loop`` makes it conditional (``if``, an inner
    loop, an ``except``/``else`` branch); ``with`` blocks and ``try`` bodies run every time."""
    child: ast.AST = node
    parent = parent_of(document, child)
    while parent is not None and parent is not loop:
        runs_always = (isinstance(parent, (ast.With, ast.AsyncWith)) and child in parent.body) or (
            isinstance(parent, ast.Try) and (child in parent.body or child in parent.finalbody)
        )
        if not runs_always and isinstance(parent, (ast.stmt, ast.excepthandler, ast.match_case)):
            return False
        child, parent = parent, parent_of(document, parent)
    return parent is loop and child in getattr(loop, "body", [])


def _clears(node: ast.AST) -> bool:
    """One node that resets gradients: ``zero_grad`` (called or passed on), ``p.grad = None``,
    ``del p.grad``, ``p.grad *= 0``, ``p.grad.zero_()``, or a helper named for it."""
    if isinstance(node, ast.Attribute) and node.attr == "zero_grad":
        return True
    if isinstance(node, ast.Name) and any(word in node.id for word in _CLEARING_WORDS):
        return True
    if isinstance(node, ast.Attribute) and any(word in node.attr for word in _CLEARING_WORDS):
        return True
    if isinstance(node, (ast.Assign, ast.Delete)):
        targets = node.targets
        return any(isinstance(target, ast.Attribute) and target.attr == "grad" for target in targets)
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return isinstance(node.target, ast.Attribute) and node.target.attr == "grad"
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _CLEARING_METHODS
    ):
        path = access_path(node.func.value)
        return path is not None and "grad" in path.split(".")
    return False


class MissingZeroGrad(Rule):
    """A training loop steps the optimizer every iteration but never clears the gradients.

    ``backward()`` adds to each parameter's ``.grad``; without ``optimizer.zero_grad()``
    (or ``model.zero_grad()``, ``p.grad = None``...) somewhere in the loop, every step
    applies the sum of the gradients of all batches so far. The rule needs a
    ``backward()`` and an ``optimizer.step()`` that both run on every iteration (not
    under an ``if`` or an inner loop) and no clearing anywhere in the loop body, in
    helpers of this file that the loop calls, or under any condition. So gradient
    accumulation (a conditional step, or a conditional ``zero_grad``) is left alone.
    Anchor: the ``optimizer.step()`` call.
    """

    code = "TM203"
    name = "missing-zero-grad"

    VALID = (
        Valid(_TRAIN_FIXED),
        # Gradient accumulation: zero_grad and step every N batches.
        Valid(_ACCUMULATION),
        # Clearing after the step, with set_to_none, on the model, or by hand.
        Valid(
            _TRAIN.replace(
                "optimizer.step()\n", "optimizer.step()\n        model.zero_grad(set_to_none=True)\n"
            )
        ),
        Valid(
            _TRAIN.replace(
                "        output = model(x)\n",
                "        for p in model.parameters():\n"
                "            p.grad = None\n"
                "        output = model(x)\n",
            )
        ),
        # A Lightning-style step: the framework clears and steps.
        Valid(
            "import torch\nfrom torch import nn\n\n\nclass Model(nn.Module):\n"
            "    def training_step(self, batch, batch_idx):\n        x, y = batch\n"
            "        return nn.functional.mse_loss(self(x), y)\n\n"
            "    def configure_optimizers(self):\n        return torch.optim.Adam(self.parameters())\n"
        ),
    )
    INVALID = (
        Invalid(_TRAIN, line=10, fixed=_TRAIN_FIXED),
        Invalid(_ONCE_PER_EPOCH, line=7),
    )

    @classmethod
    def may_apply(cls, text: str) -> bool:
        return "backward" in text and "step" in text

    def check(self, context: RuleContext) -> Iterator[Finding]:
        analysis = context.analysis
        document = context.document
        groups: dict[tuple[int, int], _LoopSteps] = {}
        for step in analysis.steps:
            if not step.loops:
                continue
            loop = step.loops[-1]
            group = groups.setdefault((id(step.function), loop.head), _LoopSteps(step.function, loop))
            (group.backwards if step.kind == "backward" else group.steps).append(step)
        facts = GradFacts(analysis)
        for group in groups.values():
            loop_statement = group.loop.statement
            backwards = [
                step
                for step in group.backwards
                if _every_iteration(document, self._holder(facts, step), loop_statement)
            ]
            steps = [
                step
                for step in group.steps
                if _every_iteration(document, self._holder(facts, step), loop_statement)
                and _optimizer_of(step) is not None
            ]
            if not backwards or not steps:
                continue
            if _rebuilt_in(loop_statement.body, steps):
                continue  # a new optimizer (and model) every iteration starts with no gradients
            if all(_distributed_backward(step, analysis) for step in backwards):
                continue  # distributed autograd keeps each iteration's gradients in its own context
            cleared = self._cleared_in(analysis, group.function, loop_statement.body, 0)
            if cleared is None:
                continue  # something clears every gradient (a helper, ``p.grad = None``...)
            uncleared = [step for step in steps if not _is_cleared(_optimizer_of(step), cleared, analysis)]
            if uncleared:
                yield self._finding(context, facts, group, backwards, uncleared)

    @staticmethod
    def _holder(facts: GradFacts, step: TrainingStep) -> ast.AST:
        return facts.statement_of(step.function, step.call) or step.call

    def _cleared_in(
        self, analysis: FileAnalysis, function: Function, body: list[ast.stmt], depth: int
    ) -> set[str] | None:
        """What ``body`` (or a same-file function it calls) clears the gradients of: the
        receivers of its ``zero_grad()`` calls; None when it clears everything or something
        it names no receiver for (``p.grad = None``, a helper named for it)."""
        calls: list[ast.Call] = []
        receivers: set[str] = set()
        for statement in body:
            for node in ast.walk(statement):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "zero_grad"
                    and access_path(node.func.value) is not None
                ):
                    receivers.add(access_path(node.func.value) or "")
                    continue
                if _clears(node) and not (
                    isinstance(node, ast.Attribute) and node.attr == "zero_grad" and access_path(node.value)
                ):
                    return None
                if isinstance(node, ast.Call):
                    calls.append(node)
        if depth >= 2:
            return receivers
        called = {id(call) for call in calls}
        for call_site in analysis.call_sites:
            callee = call_site.callee
            if id(call_site.call) in called and callee.node is not None:
                inner = self._cleared_in(analysis, callee, callee.body, depth + 1)
                if inner is None:
                    return None
                receivers |= inner
        return receivers

    # -- reporting -------------------------------------------------------------------------------

    def _finding(
        self,
        context: RuleContext,
        facts: GradFacts,
        group: _LoopSteps,
        backwards: list[TrainingStep],
        steps: list[TrainingStep],
    ) -> Finding:
        document = context.document
        step = min(steps, key=lambda item: (item.call.lineno, item.call.col_offset))
        backward = min(backwards, key=lambda item: (item.call.lineno, item.call.col_offset))
        optimizers = list(dict.fromkeys(name for name in map(_optimizer_of, steps) if name is not None))

        def short(node: ast.AST) -> str:
            return Site(document.span_of(node), document.source_of(node), "").short_text()

        outside = self._clearing_outside(group)
        related = [Related(document.span_of(backward.call), context.text("TM203.related.backward"))]
        if outside is not None:
            where = context.text("TM203.outside", site=short(outside), line=outside.lineno)
            related.append(Related(document.span_of(outside), context.text("TM203.related.outside")))
        else:
            where = ""
        message = context.text(
            "TM203.message",
            step=short(step.call),
            backward=short(backward.call),
            clears=_clears_text(optimizers),
            outside=where,
        )
        fixes: list[Fix] = []
        fix = self._fix(context, facts, group, backward, optimizers)
        if fix is not None:
            fixes.append(fix)
        return self.report(
            document.span_of(step.call),
            message,
            related=tuple(related),
            fixes=tuple(fixes),
        )

    @staticmethod
    def _clearing_outside(group: _LoopSteps) -> ast.Call | None:
        """A ``zero_grad()`` in the same function but outside the loop (e.g. once per epoch)."""
        function = group.function
        loop = group.loop.statement
        inside = {id(node) for node in ast.walk(loop)}
        for statement in function.body:
            for node in ast.walk(statement):
                if id(node) not in inside and isinstance(node, ast.Call) and _clears(node.func):
                    return node
        return None

    def _fix(
        self,
        context: RuleContext,
        facts: GradFacts,
        group: _LoopSteps,
        backward: TrainingStep,
        optimizers: list[str],
    ) -> Fix | None:
        """``optimizer.zero_grad()`` before the forward pass that feeds the backward (or before
        the backward when the forward cannot be found): any point of the iteration before the
        backward clears the previous iteration's gradients, and next to the forward pass is
        where readers expect it."""
        document = context.document
        body = group.loop.body
        anchors: list[int] = []
        backward_index = _index_in(document, self._holder(facts, backward), body)
        if backward_index is None:
            return None
        anchors.append(backward_index)
        for forward in context.analysis.forward_calls:
            if (
                forward.function is group.function
                and forward.loops
                and forward.loops[-1].head == group.loop.head
                and (forward.call.lineno, forward.call.col_offset)
                < (backward.call.lineno, backward.call.col_offset)
            ):
                index = _index_in(document, forward.statement or forward.call, body)
                if index is not None and _every_iteration(document, body[index], group.loop.statement):
                    anchors.append(index)
        first = min(anchors)
        anchor = body[first]
        edits: list[TextEdit] = []
        for optimizer in optimizers:
            edit = insert_line_before(document, document.span_of(anchor), f"{optimizer}.zero_grad()")
            if edit is None:
                return None
            edits.append(edit)
        # One edit for all lines: several insertions at one position may be applied in any order.
        merged = TextEdit(edits[0].span, "".join(edit.new_text for edit in edits))
        if not parses_after(document, [merged]):
            return None
        key = "TM203.fix.before_backward" if first == backward_index else "TM203.fix.before_forward"
        # Safe only when each name is an optimizer (one the file builds, or one named like one
        # whose step() this is): ``zero_grad()`` exists there. Another object may have none.
        built = all(
            optimizer in context.analysis.optimizers or api_names.looks_like_optimizer(optimizer)
            for optimizer in optimizers
        )
        return Fix(
            context.text(key, clears=_clears_text(optimizers)),
            (merged,),
            applicability="safe" if built else "unsafe",
        )


def _rebuilt_in(body: list[ast.stmt], steps: list[TrainingStep]) -> bool:
    """Every stepped optimizer is assigned anew inside the loop (meta-learning inner loops,
    ``optimizer = SGD(copy.parameters())`` per task): nothing carries over between iterations."""
    assigned: set[str] = set()
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                assigned.update(path for path in map(access_path, targets) if path is not None)
    optimizers = [_optimizer_of(step) for step in steps]
    return all(optimizer is not None and optimizer in assigned for optimizer in optimizers)


def _clears_text(optimizers: list[str]) -> str:
    return ", ".join(f"`{optimizer}.zero_grad()`" for optimizer in optimizers)


def _index_in(document: Document, node: ast.AST, body: list[ast.stmt]) -> int | None:
    current: ast.AST | None = node
    while current is not None:
        for index, statement in enumerate(body):
            if statement is current:
                return index
        current = parent_of(document, current)
    return None


def _is_cleared(optimizer: str | None, cleared: set[str], analysis: FileAnalysis) -> bool:
    """Are the gradients ``optimizer`` steps with cleared: by its own ``zero_grad()``, by the
    ``zero_grad()`` of a model whose parameters it updates, or by a ``zero_grad()`` on
    something the file does not say (it may be either)?"""
    if optimizer is None or optimizer in cleared:
        return True
    optimizers = analysis.optimizers
    updated = optimizers.get(optimizer)
    for receiver in cleared:
        if receiver in optimizers:
            continue  # another optimizer's zero_grad clears only its own parameters
        if updated is None:
            return True  # an optimizer of unknown parameters: any model's zero_grad may clear them
        if any(is_under(model, receiver) or is_under(receiver, model) for model in updated):
            return True
        if receiver not in analysis.model_paths:
            return True  # not known to be anything else
    return False


def _distributed_backward(step: TrainingStep, analysis: FileAnalysis) -> bool:
    """``dist_autograd.backward(context_id, [loss])``: gradients live in the context."""
    imports = analysis.imports
    qualified = imports.qualified_name(step.call.func) if imports is not None else None
    return qualified is not None and qualified.startswith("torch.distributed.autograd.")
