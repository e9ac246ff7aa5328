"""TM102 eval-in-train-mode."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from torchmode.analysis.facts import CallSite, FileAnalysis, ForwardCall, Function
from torchmode.analysis.flags import condition_text, constant_flags, decided_otherwise, is_flag_condition
from torchmode.analysis.grad_facts import called_functions
from torchmode.analysis.lattice import Condition, ModeFact, contradicts
from torchmode.analysis.names import access_path, root_of
from torchmode.analysis.roles import Evaluation
from torchmode.findings import Finding, Fix, Related
from torchmode.fixes import insert_line_after, insert_line_before, parses_after
from torchmode.fixes.wrap import parent_of
from torchmode.rules.base import Invalid, Rule, RuleContext, Valid
from torchmode.syntax.positions import Span, TextEdit

_FRESH = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))

    def forward(self, x):
        return self.body(x)


def predict(batches):
    model = Net()
    model.load_state_dict(torch.load("weights.pt"))
    with torch.no_grad():
        return [model(x) for x in batches]
"""

_FRESH_FIXED = _FRESH.replace(
    "    with torch.no_grad():\n        return [model(x)",
    "    model.eval()\n    with torch.no_grad():\n        return [model(x)",
)

_UNKNOWN_CALLER = """\
import torch


def evaluate(model, loader):
    total = 0.0
    with torch.no_grad():
        for x, y in loader:
            total += float((model(x) - y).abs().sum())
    return total
"""


_TRAINED_CALLER = """

model = torch.nn.Dropout(0.5)
model.train()
evaluate(model, [])
"""


def _train_from_callers(
    analysis: FileAnalysis,
    function: Function,
    path: str,
    depth: int = 0,
    seen: frozenset[int] = frozenset(),
    flagged_evals: tuple[ModeFact, ...] = (),
) -> tuple[CallSite, ModeFact] | None:
    """A call of ``function`` where the model at ``path`` may be in train mode, looking up the
    chain of callers (``train -> validate -> predict``) while each passes it on as it got it.

    ``flagged_evals``: the function's own ``eval()`` facts that hold only under a test of a
    parameter (``if checkpoint is not None: model.eval()``); a call whose constants rule all
    of them out (``evaluate(model, loader)``, ``checkpoint`` left at None) evaluates in the
    mode it passes."""
    root, dot, rest = path.partition(".")
    is_global = root not in function.parameters and root not in function.locals and not function.is_module
    if depth > 3 or id(function) in seen or not (root in function.parameters or is_global):
        return None
    seen = seen | {id(function)}
    for call_site in analysis.call_sites:
        if call_site.callee is not function:
            continue
        if flagged_evals:
            receiver = isinstance(call_site.call.func, ast.Attribute) and function.class_name is not None
            flags = constant_flags(function, call_site.call, has_receiver=receiver)
            if not all(
                any(decided_otherwise(condition, flags) for condition in fact.conditions)
                for fact in flagged_evals
            ):
                continue  # this call may take a branch that switches to eval
        value = call_site.argument_value(path)
        if value is None:
            continue
        trains = [fact for fact in value if fact.mode == "train" and fact.origin]
        if trains and not any(fact.mode == "eval" for fact in value):
            return call_site, trains[0]
        if any(fact.mode == "entry" for fact in value) and not any(fact.mode == "eval" for fact in value):
            caller_path = dict(call_site.bindings).get(root, root) + dot + rest
            found = _train_from_callers(analysis, call_site.function, caller_path, depth + 1, seen)
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class _Cause:
    """Why the model may be in train mode at an evaluation."""

    kind: str  # "fresh", "switch", "call" or "caller"
    fact: ModeFact | None = None
    call_site: CallSite | None = None
    # For "caller": the test of a parameter the function switches to eval under, which the
    # caller's arguments rule out (``checkpoint is not None``).
    flag: Condition | None = None


class EvalInTrainMode(Rule):
    """An evaluation runs a forward pass while the model may be in train mode.

    Anchor: the model's forward call in the evaluation (a function or loop whose
    names say eval/validate/test/predict/infer, a loop over a val/test loader, or
    a no_grad block in a function without a training step).
    """

    code = "TM102"
    name = "eval-in-train-mode"
    about_model_mode = True

    VALID = (
        Valid(_FRESH_FIXED),
        # No caller is known: the mode comes from outside, and nothing says it is train.
        Valid(_UNKNOWN_CALLER),
        # The official tutorial's phase loop: eval() on the "val" branch.
        Valid(
            """\
import torch


def run(model, loaders, optimizer):
    for phase in ["train", "val"]:
        if phase == "train":
            model.train()
        else:
            model.eval()
        for x, y in loaders[phase]:
            with torch.set_grad_enabled(phase == "train"):
                loss = (model(x) - y).pow(2).mean()
                if phase == "train":
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
"""
        ),
    )
    INVALID = (
        Invalid(_FRESH, line=18, fixed=_FRESH_FIXED),
        Invalid(
            _UNKNOWN_CALLER + "\n\nmodel = torch.nn.Dropout(0.5)\nmodel.train()\nevaluate(model, [])\n",
            line=8,
        ),
    )

    @classmethod
    def may_apply(cls, text: str) -> bool:
        return True  # a fresh model needs no keyword at all; the analysis decides

    def check(self, context: RuleContext) -> Iterator[Finding]:
        analysis = context.analysis
        reported: set[tuple[tuple[int, int], str]] = set()
        for forward in sorted(
            analysis.forward_calls, key=lambda item: (item.call.lineno, item.call.col_offset)
        ):
            if forward.indirect and not forward.other_file:
                continue  # the function of this file that runs it is judged with its callers
            evaluation = context.evaluations.evaluation_of(forward)
            if evaluation is None:
                continue
            key = (context.training.region(forward), forward.path)
            if key in reported:
                continue
            cause = self._cause(context, forward)
            if cause is None:
                continue
            reported.add(key)
            yield self._finding(context, forward, evaluation, cause)

    def _cause(self, context: RuleContext, forward: ForwardCall) -> _Cause | None:
        # Facts whose branch conditions contradict the ones known at the call are on no path here.
        relevant = [fact for fact in forward.value if not contradicts(fact.conditions, forward.assumptions)]
        # A train fact under a condition comes from ``model.train(flag)`` or a branch on a
        # flag: the function is written to run both ways (an epoch runner), no mistake.
        trains = sorted(
            (fact for fact in relevant if fact.mode == "train" and fact.origin and not fact.conditions),
            key=lambda fact: fact.origin[0].span.start,
        )
        if trains:
            fact = trains[0]
            kind = "fresh" if fact.fresh else "call" if len(fact.origin) > 1 else "switch"
            return _Cause(kind, fact)
        if not any(fact.mode == "entry" for fact in relevant):
            return None
        evals = [fact for fact in relevant if fact.mode == "eval"]
        flagged = tuple(
            fact
            for fact in evals
            if any(is_flag_condition(condition, forward.function) for condition in fact.conditions)
        )
        if len(flagged) < len(evals):
            return None  # eval() on some paths here: leave the rest to the callers' own checks
        if _inside_eval_context(context, forward):
            return None
        root = root_of(forward.path)
        function = forward.function
        if function.is_module:
            return None
        if function.class_name in context.analysis.module_classes and function.parameters[0] == root:
            return None  # ``self.encoder(x)`` in a module's method follows the module's own mode
        found = _train_from_callers(context.analysis, function, forward.path, flagged_evals=flagged)
        if found is not None:
            flag = next(
                (
                    condition
                    for fact in flagged
                    for condition in sorted(fact.conditions, key=lambda item: item.text)
                    if is_flag_condition(condition, function)
                ),
                None,
            )
            return _Cause("caller", found[1], found[0], flag)
        # No caller known: the mode comes from outside and nothing here says it is train
        # (an unknown answers nothing).
        return None

    # -- message ------------------------------------------------------------------------------

    def _finding(
        self, context: RuleContext, forward: ForwardCall, evaluation: Evaluation, cause: _Cause
    ) -> Finding:
        document = context.document
        span = document.span_of(forward.call)
        where = context.text(f"TM102.where.{evaluation.reason}", detail=evaluation.detail)
        consequence = context.text("TM102.consequence")
        related: list[Related] = []
        severity = self.default_severity
        if cause.kind == "caller":
            assert cause.call_site is not None and cause.fact is not None
            call_span = document.span_of(cause.call_site.call)
            site = cause.fact.origin[0]
            message = context.text(
                "TM102.message.caller" if cause.flag is None else "TM102.message.caller_flag",
                path=forward.path,
                function=forward.function.name,
                condition=condition_text(cause.flag) if cause.flag is not None else "",
                where=where,
                call=document.source_of(cause.call_site.call).split("(")[0],
                call_line=call_span.start.line,
                site=site.short_text(),
                line=site.span.start.line,
                consequence=consequence,
            )
            related.append(Related(call_span, context.text("TM102.related.caller", path=forward.path)))
            related.append(Related(site.span, context.text("TM102.related.train_site")))
        else:
            assert cause.fact is not None
            site = cause.fact.origin[0]
            message = context.text(
                f"TM102.message.{cause.kind}",
                path=forward.path,
                where=where,
                site=site.short_text(),
                line=site.span.start.line,
                consequence=consequence,
            )
            related.append(Related(site.span, context.text(f"TM102.related.{cause.kind}")))
        return self.report(
            span,
            message,
            related=tuple(related),
            fixes=tuple(self._fixes(context, forward, evaluation, cause)),
            subject=forward.path,
            severity=severity,
        )

    # -- fixes --------------------------------------------------------------------------------

    def _fixes(
        self, context: RuleContext, forward: ForwardCall, evaluation: Evaluation, cause: _Cause
    ) -> Iterator[Fix]:
        document = context.document
        statement = f"{forward.path}.eval()"
        function = forward.function
        anchor = self._anchor(context, forward, evaluation, cause)
        if anchor is None:
            return
        where, anchor_span = anchor
        insert = insert_line_before(document, anchor_span, statement)
        if insert is None:
            return
        edits: list[TextEdit] = [insert]
        # The mode outlives the evaluation: a caller that goes on training after calling it
        # needs train mode back, or the fix would plant the classic TM101 bug there.
        for call_site in context.analysis.call_sites:
            if call_site.callee is not function or not call_site.loops:
                continue
            argument = dict(call_site.bindings).get(root_of(forward.path))
            if argument is None or not self._trains_after(context, call_site):
                continue
            if call_site.statement is None:
                return
            rest = forward.path[len(root_of(forward.path)) :]
            restore = insert_line_after(
                document, document.span_of(call_site.statement), f"{argument}{rest}.train()"
            )
            if restore is None:
                return
            edits.append(restore)
        if parses_after(document, edits):
            title_key = "TM102.fix.function_start" if where == "function" else "TM102.fix.before"
            yield Fix(context.text(title_key, statement=statement, function=function.name), tuple(edits))

    def _trains_after(self, context: RuleContext, call_site: CallSite) -> bool:
        outermost = call_site.loops[0]
        return any(
            step.function is call_site.function and outermost in step.loops for step in context.analysis.steps
        )

    def _anchor(
        self, context: RuleContext, forward: ForwardCall, evaluation: Evaluation, cause: _Cause
    ) -> tuple[str, Span] | None:
        """Where ``model.eval()`` goes: the function's first statement, or before the evaluation.

        The start of the function only when the train mode comes from the caller; a
        train switch or construction inside the function must come before the new
        ``eval()``, so it goes right before the evaluation then.
        """
        document = context.document
        function = forward.function
        root = root_of(forward.path)
        if (
            cause.kind == "caller"
            and function.node is not None
            and (root in function.parameters or root not in function.locals)
        ):
            return "function", document.span_of(_first_statement(function))
        after = cause.fact.origin[0].span.end if cause.fact is not None else None
        # The outermost loop of the evaluation that starts after the cause, else the statement.
        for loop in forward.loops:
            loop_span = document.span_of(loop.statement)
            if after is None or loop_span.start >= after:
                return "before", loop_span
        if forward.statement is not None:
            span = document.span_of(_outermost_block_statement(function, forward.statement))
            if after is None or span.start >= after:
                return "before", span
            span = document.span_of(forward.statement)
            if span.start >= after:
                return "before", span
        return None


def _inside_eval_context(context: RuleContext, forward: ForwardCall) -> bool:
    """Inside ``with helper(...):`` where ``helper`` is a generator context manager of this file
    that may put the forward's model in eval mode before it yields (``model.eval()``,
    ``model.train(flag)``): the dataflow does not follow context managers.

    poutyne's ``with self._set_training_mode(False): self.network(x)``.
    """
    document = context.document
    child: ast.AST = forward.call
    parent = parent_of(document, child)
    while parent is not None and parent is not forward.function.node:
        if isinstance(parent, (ast.With, ast.AsyncWith)) and any(child is item for item in parent.body):
            for item in parent.items:
                call = item.context_expr
                if isinstance(call, ast.Call) and any(
                    _switches_to_eval(helper, call, forward)
                    for helper in called_functions(context.analysis, forward.function, call)
                ):
                    return True
        child, parent = parent, parent_of(document, parent)
    return False


def _switches_to_eval(helper: Function, call: ast.Call, forward: ForwardCall) -> bool:
    """``helper`` yields after ``X.eval()``/``X.train(not-True)`` where X, seen from the
    caller, is the forward's model (``self`` stays ``self``; a parameter is its argument)."""
    if not any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in ast.walk(helper.node or ast.Pass())):
        return False
    bound: dict[str, str] = {}
    parameters = list(helper.parameters)
    if helper.class_name is not None and parameters and forward.function.parameters:
        bound[parameters.pop(0)] = forward.function.parameters[0]
    for name, argument in zip(parameters, call.args, strict=False):
        path = access_path(argument)
        if path is not None:
            bound[name] = path
    for keyword in call.keywords:
        path = access_path(keyword.value) if keyword.arg is not None else None
        if path is not None and keyword.arg is not None:
            bound[keyword.arg] = path
    for node in ast.walk(helper.node or ast.Pass()):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr == "eval" and not node.args:
            pass
        elif node.func.attr == "train" and node.args:
            flag = node.args[0]
            if isinstance(flag, ast.Constant) and flag.value is True:
                continue
        else:
            continue
        path = access_path(node.func.value)
        if path is None:
            continue
        root, _, rest = path.partition(".")
        if root in bound and ".".join(filter(None, (bound[root], rest))) == forward.path:
            return True
    return False


def _first_statement(function: Function) -> ast.stmt:
    body = function.body
    has_docstring = (
        isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )
    return body[1] if has_docstring and len(body) > 1 else body[0]


def _outermost_block_statement(function: Function, statement: ast.stmt) -> ast.stmt:
    """The statement of the function's own body that holds ``statement`` (e.g. its ``with``)."""
    for candidate in function.body:
        if candidate.lineno <= statement.lineno <= (candidate.end_lineno or candidate.lineno):
            if isinstance(candidate, (ast.With, ast.AsyncWith)):
                return candidate
            return statement
    return statement
