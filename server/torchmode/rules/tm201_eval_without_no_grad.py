"""TM201 eval-without-no-grad."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from torchmode.analysis import api_names
from torchmode.analysis.facts import FileAnalysis, ForwardCall, Function
from torchmode.analysis.grad_facts import GradFacts
from torchmode.analysis.lattice import GradFact, Site
from torchmode.analysis.names import access_path, stored_names
from torchmode.analysis.roles import Evaluation
from torchmode.analysis.walk import own_expressions, statements_of
from torchmode.findings import Applicability, Finding, Fix, Related, Severity
from torchmode.fixes import parses_after
from torchmode.fixes.wrap import (
    add_decorator,
    combine,
    first_line,
    parent_of,
    torch_spelling,
    wrap_statements,
)
from torchmode.rules.base import Invalid, Rule, RuleContext, Valid
from torchmode.syntax.positions import TextEdit

_EVALUATE = """\
import torch
import torch.nn.functional as F


def evaluate(model, loader):
    model.eval()
    total = 0.0
    # Sum the loss over the validation set.
    for x, y in loader:
        output = model(x)
        total += F.cross_entropy(output, y).item()
    return total / len(loader)
"""

_EVALUATE_FIXED = """\
import torch
import torch.nn.functional as F


def evaluate(model, loader):
    model.eval()
    total = 0.0
    # Sum the loss over the validation set.
    with torch.no_grad():
        for x, y in loader:
            output = model(x)
            total += F.cross_entropy(output, y).item()
    return total / len(loader)
"""

_VAL_LOOP_IN_TRAINING = """\
import torch.nn as nn
import torch.nn.functional as F


def fit(model, optimizer, train_loader, val_loader):
    for epoch in range(10):
        model.train()
        for x, y in train_loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        correct = 0
        for x, y in val_loader:
            correct += (model(x).argmax(1) == y).sum().item()
        print(epoch, correct)
"""

_VAL_LOOP_IN_TRAINING_FIXED = """\
import torch.nn as nn
import torch.nn.functional as F
import torch


def fit(model, optimizer, train_loader, val_loader):
    for epoch in range(10):
        model.train()
        for x, y in train_loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in val_loader:
                correct += (model(x).argmax(1) == y).sum().item()
        print(epoch, correct)
"""


# Names whose use means the evaluation differentiates on purpose (saliency maps,
# adversarial examples, input gradients): turning grad off there would break it.
_AUTOGRAD_ATTRIBUTES = frozenset(
    {"backward", "grad", "requires_grad", "requires_grad_", "retain_grad", "jacrev", "jacfwd", "vjp", "jvp"}
)


@dataclass
class _Group:
    """The forward calls of one evaluation (a function, or one loop), reported once."""

    function: Function
    evaluation: Evaluation
    loop: ast.stmt | None  # the evaluation loop, for evaluations recognised by their loop
    forwards: list[ForwardCall] = field(default_factory=list)
    callers: list[tuple[ast.Call, bool]] = field(default_factory=list)  # (call, grad on there)


# Calls whose result holds no graph: a Python number, a detached tensor, an integer or
# boolean tensor (no gradient flows through argmax or a comparison).
_GRAPHLESS_METHODS = frozenset(
    {"item", "detach", "tolist", "numpy", "argmax", "argmin", "eq", "ne", "lt", "le", "gt", "ge"}
)
_GRAPHLESS_FUNCTIONS = frozenset({"float", "int", "bool", "len", "round"})


def _running_total(function: Function, forward_calls: set[int]) -> ast.AugAssign | None:
    """``total += loss`` where ``loss`` comes from a forward pass of the evaluation without
    ``.item()``/``.detach()`` on the way: a sum that keeps every batch's graph alive."""
    carrying: set[str] = set()

    def carries(expr: ast.expr) -> bool:
        stack: list[ast.AST] = [expr]
        while stack:
            node = stack.pop()
            if id(node) in forward_calls:
                return True
            if isinstance(node, ast.Name) and node.id in carrying:
                return True
            if isinstance(node, ast.Compare):
                continue
            if isinstance(node, ast.Call):
                func = node.func
                if (isinstance(func, ast.Attribute) and func.attr in _GRAPHLESS_METHODS) or (
                    isinstance(func, ast.Name) and func.id in _GRAPHLESS_FUNCTIONS
                ):
                    continue
            if isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            stack.extend(ast.iter_child_nodes(node))
        return False

    statements = list(statements_of(function.body))
    for _ in range(2):  # a loop body may use a name before the line that binds it
        for statement in statements:
            if isinstance(statement, ast.AugAssign) and isinstance(statement.op, ast.Add):
                if carries(statement.value):
                    return statement
            elif (
                isinstance(statement, (ast.Assign, ast.AnnAssign))
                and statement.value is not None
                and carries(statement.value)
            ):
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                for target in targets:
                    carrying.update(stored_names(target))
    return None


def _default_on(fact: GradFact) -> bool:
    """Grad on because nothing turned it off, as opposed to an explicit ``enable_grad``."""
    return fact.grad in ("on", "unknown") and not fact.origin


class EvalWithoutNoGrad(Rule):
    """A forward pass in an evaluation runs with autograd on.

    An evaluation is a forward call in a function or loop whose name says
    eval/validate/test/predict/infer, or in a loop over a val/test loader, with no
    ``backward()``/``optimizer.step()`` after it. Autograd then records a graph for
    every batch: memory and time for nothing, and a running total of loss tensors keeps
    every graph alive. Silent when autograd is off there (``with torch.no_grad()``,
    ``@torch.no_grad()``/``@torch.no_grad``, ``inference_mode``, ``set_grad_enabled(False)``),
    when every known caller runs the function with autograd off, when grad was turned
    on explicitly (``enable_grad``, ``set_grad_enabled(flag)``), when the code uses
    autograd on purpose (``.backward()``, ``torch.autograd.grad``, ``requires_grad``),
    when a caller trains on the result, and inside Lightning's evaluation hooks.
    One finding per evaluation, on its first forward call.
    """

    code = "TM201"
    name = "eval-without-no-grad"
    default_severity = Severity.INFORMATION

    VALID = (
        Valid(_EVALUATE_FIXED),
        # Decorated evaluators, with the called and the bare (torch >= 2.1) decorator.
        Valid(_EVALUATE.replace("def evaluate", "@torch.no_grad()\ndef evaluate")),
        Valid(_EVALUATE.replace("def evaluate", "@torch.no_grad\ndef evaluate")),
        Valid(_EVALUATE.replace("def evaluate", "@torch.inference_mode()\ndef evaluate")),
        # Every caller runs it under no_grad.
        Valid(
            _EVALUATE
            + "\n\ndef fit(model, loader):\n    with torch.no_grad():\n        evaluate(model, loader)\n"
        ),
        # A Lightning-style validation_step: the framework turns grad off.
        Valid(
            "import torch\nfrom torch import nn\n\n\nclass Classifier(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.net = nn.Linear(4, 2)\n\n"
            "    def validation_step(self, batch, batch_idx):\n        x, y = batch\n"
            "        return nn.functional.cross_entropy(self.net(x), y)\n"
        ),
        # An epoch runner: model.train(is_train) with torch.set_grad_enabled(is_train).
        Valid(
            "import torch\n\n\ndef run_epoch(model, loader, optimizer, is_train):\n"
            "    model.train(is_train)\n    with torch.set_grad_enabled(is_train):\n"
            "        for x, y in loader:\n            loss = (model(x) - y).pow(2).mean()\n"
            "            if is_train:\n                optimizer.zero_grad()\n"
            "                loss.backward()\n                optimizer.step()\n\n\n"
            "def validate(model, loader):\n    run_epoch(model, loader, None, False)\n"
        ),
    )
    INVALID = (
        Invalid(_EVALUATE, line=10, fixed=_EVALUATE_FIXED),
        Invalid(_VAL_LOOP_IN_TRAINING, line=16, fixed=_VAL_LOOP_IN_TRAINING_FIXED),
    )

    @classmethod
    def may_apply(cls, text: str) -> bool:
        # A tracked model comes from torch/timm/transformers names or a train/eval/parameters
        # call, and an evaluation has at least one of those words around it.
        return any(
            word in text for word in ("torch", "timm", "from_pretrained", "eval", "train", "parameters")
        )

    def check(self, context: RuleContext) -> Iterator[Finding]:
        analysis = context.analysis
        facts = GradFacts(analysis)
        groups: dict[tuple[int, int], _Group] = {}
        for forward in sorted(
            analysis.forward_calls, key=lambda item: (item.call.lineno, item.call.col_offset)
        ):
            if forward.indirect and not forward.other_file:
                continue  # the function of this file that runs it is judged with its callers
            evaluation = context.evaluations.evaluation_of(forward)
            if evaluation is None or evaluation.reason == "no_grad":
                continue
            function = forward.function
            if api_names.is_framework_evaluation_hook(function.class_name, function.name.rsplit(".", 1)[-1]):
                continue  # Lightning runs these hooks with grad off itself
            if (
                function.class_name in analysis.module_classes
                and function.parameters
                and forward.path.split(".", 1)[0] == function.parameters[0]
            ):
                continue  # a module's method calling its own sub-modules: grad is the caller's call
            callers = self._grad_on(facts, forward)
            if callers is None or self._inside_indirect_no_grad(context, facts, forward):
                continue
            if (
                not callers
                and any(fact.grad == "entry" for fact in forward.grad)
                and not any(_default_on(fact) for fact in forward.grad)
                and evaluation.reason not in ("switched", "loaded")
            ):
                # Runs in its caller's grad mode and no caller is known: only a function that
                # evaluates by itself (it calls eval(), or runs a loaded model) is judged.
                continue
            loop = self._evaluation_loop(context, forward, evaluation)
            key = (id(function), id(loop) if loop is not None else 0)
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group(function, evaluation, loop)
            group.forwards.append(forward)
            group.callers.extend(call for call in callers if call not in group.callers)
        for group in groups.values():
            # A loop is judged by itself: the training function around a validation loop
            # calls backward() elsewhere.
            scope = [group.loop] if group.loop is not None else group.function.body
            if _uses_autograd(scope) or self._feeds_training(analysis, group.function):
                continue
            yield self._finding(context, facts, group)

    # -- deciding ------------------------------------------------------------------------------

    @staticmethod
    def _grad_on(facts: GradFacts, forward: ForwardCall) -> list[tuple[ast.Call, bool]] | None:
        """None when autograd is off (or on deliberately) at the call; else the known calls of
        its function, each with whether autograd is on there (empty: no caller is known or the
        grad is on by default right here)."""
        grad = forward.grad
        if not grad or all(fact.grad == "off" for fact in grad):
            return None
        if any(_default_on(fact) for fact in grad):
            return []
        if not any(fact.grad == "entry" for fact in grad):
            return None  # on only where code turned it on: deliberate
        through = facts.caller_grad(forward.function)
        if not through:
            return []  # runs in its caller's mode and no caller is known: on by default
        callers: list[tuple[ast.Call, bool]] = []
        for call_site, value in through:
            on = any(_default_on(fact) or fact.grad == "entry" for fact in value)
            callers.append((call_site.call, on))
        if not any(on for _, on in callers):
            return None  # every known caller turns autograd off (or on on purpose)
        return callers

    @staticmethod
    def _inside_indirect_no_grad(context: RuleContext, facts: GradFacts, forward: ForwardCall) -> bool:
        """Inside a ``with`` whose item may turn grad off in a way the dataflow does not follow."""
        child: ast.AST = forward.call
        parent = parent_of(context.document, child)
        while parent is not None and parent is not forward.function.node:
            if (
                isinstance(parent, (ast.With, ast.AsyncWith))
                and any(child is item for item in parent.body)
                and any(facts.indirect_grad_off(forward.function, item.context_expr) for item in parent.items)
            ):
                return True
            child, parent = parent, parent_of(context.document, parent)
        return False

    def _evaluation_loop(
        self, context: RuleContext, forward: ForwardCall, evaluation: Evaluation
    ) -> ast.stmt | None:
        if evaluation.reason != "loop":
            # The innermost loop around it: a training function's validation loop is judged by
            # itself (the function calls backward() elsewhere).
            return forward.loops[-1].statement if forward.loops else None
        document = context.document
        for loop in reversed(forward.loops):
            iterable = getattr(loop.statement, "iter", None)
            if iterable is not None and document.source_of(iterable) == evaluation.detail:
                return loop.statement
        return forward.loops[-1].statement if forward.loops else None

    @staticmethod
    def _feeds_training(analysis: FileAnalysis, function: Function) -> bool:
        """A caller runs ``backward()``/``step()`` after calling the function, in the same loop
        body: its result (or its side effects) may be trained on, so no_grad would break it."""
        for call_site in analysis.call_sites:
            if call_site.callee is not function:
                continue
            head = call_site.loops[-1].head if call_site.loops else -1
            position = (call_site.call.lineno, call_site.call.col_offset)
            for step in analysis.steps:
                step_head = step.loops[-1].head if step.loops else -1
                if (
                    step.function is call_site.function
                    and step_head == head
                    and (step.call.lineno, step.call.col_offset) > position
                ):
                    return True
        return False

    # -- reporting -------------------------------------------------------------------------------

    def _finding(self, context: RuleContext, facts: GradFacts, group: _Group) -> Finding:
        document = context.document
        forward = group.forwards[0]
        call_span = document.span_of(forward.call)
        call_text = Site(call_span, document.source_of(forward.call), group.function.name).short_text()
        if group.evaluation.reason == "loop":
            where = context.text("TM201.where.loop", loop=group.evaluation.detail)
        elif group.evaluation.reason == "loaded":
            where = context.text("TM201.where.loaded")
        else:
            where = context.text("TM201.where.function", function=group.function.name)
        related: list[Related] = []
        on_callers = [call for call, on in group.callers if on]
        if on_callers:
            caller = on_callers[0]
            caller_text = Site(document.span_of(caller), document.source_of(caller), "").short_text()
            how = context.text("TM201.how.caller", call=caller_text, line=caller.lineno)
            related.append(Related(document.span_of(caller), context.text("TM201.related.caller")))
        elif (
            any(fact.grad == "entry" for fact in forward.grad)
            and not any(_default_on(fact) for fact in forward.grad)
            and not group.function.is_module
            # A function that trains is not called with autograd off: no "unless" about it.
            and not any(step.function is group.function for step in context.analysis.steps)
        ):
            how = context.text("TM201.how.no_caller", function=group.function.name)
        else:
            how = ""
        total_statement = _running_total(group.function, {id(forward.call) for forward in group.forwards})
        total = ""
        if total_statement is not None:
            total_span = document.span_of(total_statement)
            total_text = Site(total_span, document.source_of(total_statement), "").short_text()
            total = context.text("TM201.total", statement=total_text, line=total_span.start.line)
        message = context.text("TM201.message", call=call_text, where=where, how=how, total=total)
        related.extend(
            Related(document.span_of(other.call), context.text("TM201.related.other_forward"))
            for other in group.forwards[1:]
        )
        return self.report(
            call_span,
            message,
            related=tuple(related),
            fixes=tuple(self._fixes(context, facts, group)),
        )

    # -- fixes --------------------------------------------------------------------------------

    def _run(self, context: RuleContext, facts: GradFacts, group: _Group) -> list[ast.stmt] | None:
        """The statements to wrap: the evaluation loop, or the function body's statements from
        the first to the last one that holds an evaluation forward call."""
        if group.loop is not None:
            return [group.loop]
        function = group.function
        body = function.body
        indexes: list[int] = []
        for forward in group.forwards:
            statement = forward.statement or facts.statement_of(function, forward.call)
            top = _top_level(context, statement, body)
            if top is None:
                return None
            indexes.append(top)
        return body[min(indexes) : max(indexes) + 1]

    def _fixes(self, context: RuleContext, facts: GradFacts, group: _Group) -> Iterator[Fix]:
        run = self._run(context, facts, group)
        wrappable = run is not None and not any(_suspends(statement) for statement in run)
        if run is not None and wrappable:
            # A value returned from inside the wrapped code may be differentiated by a caller
            # in another file; then turning grad off is a change of behaviour to review.
            # A tensor that leaves the wrapped code (returned, stored on an object) may be
            # differentiated by a caller in another file: then turning grad off is a change of
            # behaviour to review. Python numbers (``.item()``) and printed results cannot be.
            escapes = _tensors_escape(group.function, run)
            yield from self._wrap_fix(
                context, run, "no_grad", "TM201.fix.wrap", "unsafe" if escapes else "safe"
            )
        yield from self._decorator_fix(context, group)
        if run is not None and wrappable:
            # Stricter than no_grad: its tensors cannot be saved for backward or updated in place
            # outside it later, which code after the evaluation may do.
            yield from self._wrap_fix(context, run, "inference_mode", "TM201.fix.inference_mode", "unsafe")

    @staticmethod
    def _wrap_fix(
        context: RuleContext, run: list[ast.stmt], attribute: str, key: str, applicability: Applicability
    ) -> Iterator[Fix]:
        document = context.document
        spelling = torch_spelling(document, attribute, first_line(run[0]))
        if spelling is None:
            return
        context_text = spelling.call()
        wrap = wrap_statements(document, run, f"with {context_text}:")
        if wrap is None:
            return
        edits = combine([wrap, *spelling.edits])
        if parses_after(document, list(edits)):
            yield Fix(context.text(key, context=context_text), edits, applicability)

    def _decorator_fix(self, context: RuleContext, group: _Group) -> Iterator[Fix]:
        """``@torch.no_grad()`` on the function: every caller, in any file, gets results without
        a graph, so this is never applied automatically."""
        function = group.function
        node = function.node
        if not isinstance(node, ast.FunctionDef) or any(
            step.function is function for step in context.analysis.steps
        ):
            return  # async: the decorator would only cover creating the coroutine
        document = context.document
        spelling = torch_spelling(document, "no_grad", node.lineno)
        if spelling is None:
            return
        decorator = spelling.call()
        edit = add_decorator(document, node, decorator)
        if edit is None:
            return
        edits: tuple[TextEdit, ...] = combine([edit, *spelling.edits])
        if parses_after(document, list(edits)):
            yield Fix(
                context.text("TM201.fix.decorate", decorator=decorator, function=function.name),
                edits,
                "unsafe",
            )


def _top_level(context: RuleContext, statement: ast.stmt | None, body: list[ast.stmt]) -> int | None:
    """The index in ``body`` of the statement that holds ``statement``."""
    node: ast.AST | None = statement
    while node is not None:
        for index, candidate in enumerate(body):
            if candidate is node:
                return index
        node = parent_of(context.document, node)
    return None


def _suspends(statement: ast.stmt) -> bool:
    """``yield``/``await`` inside a ``with torch.no_grad()`` would leave grad off for the code
    that runs while it is suspended (grad mode is per thread, not per frame)."""
    return any(
        isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await))
        for node in ast.walk(statement)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
    )


_SCALAR_METHODS = frozenset({"item", "tolist", "numel", "dim", "size"})
_SCALAR_FUNCTIONS = frozenset({"float", "int", "bool", "len", "round", "str", "print"})
_GROWING_METHODS = frozenset({"append", "extend", "add", "update", "insert", "put"})


def _is_scalar(value: ast.expr) -> bool:
    """A Python number or string, not a tensor: ``loss.item()``, ``float(x)``, ``len(batch)``.

    Iterative: ``a + b + ... + z`` nests as deep as it is long.
    """
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Constant):
            continue
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                if func.attr not in _SCALAR_METHODS:
                    return False
            elif not (isinstance(func, ast.Name) and func.id in _SCALAR_FUNCTIONS):
                return False
        elif isinstance(node, ast.BinOp):
            pending.extend((node.left, node.right))
        elif isinstance(node, ast.UnaryOp):
            pending.append(node.operand)
        else:
            return False
    return True


def _tensors_escape(function: Function, run: list[ast.stmt]) -> bool:
    """A value computed in ``run`` that may be a tensor reaches a ``return``, an attribute or
    item of an object, or a container the function returns."""
    kept: set[str] = set()  # names (or containers) in the run holding possibly-tensor values
    for statement in run:
        for node in ast.walk(statement):
            if isinstance(node, (ast.Return, ast.Yield)) and node.value is not None:
                if not _is_scalar(node.value):
                    return True
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and node.value is not None:
                if _is_scalar(node.value):
                    continue
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, (ast.Attribute, ast.Subscript)):
                        return True
                    kept.update(stored_names(target))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _GROWING_METHODS
                and not all(_is_scalar(argument) for argument in node.args)
            ):
                path = access_path(node.func.value)
                if path is None or "." in path:
                    return True  # self.outputs.append(...)
                kept.add(path)
    if function.is_module or not kept:
        return False
    returned_values = [
        statement.value
        for statement in statements_of(function.body)
        if isinstance(statement, ast.Return)
        and statement.value is not None
        and not _is_scalar(statement.value)
    ]
    returned = {
        name.id for value in returned_values for name in ast.walk(value) if isinstance(name, ast.Name)
    }
    return bool(kept & returned)


def _uses_autograd(body: list[ast.stmt]) -> bool:
    for statement in statements_of(body):
        for node in own_expressions(statement):
            if isinstance(node, ast.Attribute) and node.attr in _AUTOGRAD_ATTRIBUTES:
                return True
            path = access_path(node) if isinstance(node, ast.expr) else None
            if path is not None and path.endswith(("autograd.grad", "func.grad")):
                return True
    return False
