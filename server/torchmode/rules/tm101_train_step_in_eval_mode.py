"""TM101 train-step-in-eval-mode."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from torchmode.analysis.cfg import Loop
from torchmode.analysis.facts import CallSite, FileAnalysis, ForwardCall, Function, mode_in
from torchmode.analysis.lattice import ModeFact, ModeValue, Site, contradicts
from torchmode.analysis.names import root_of
from torchmode.findings import Finding, Fix, Related
from torchmode.fixes import (
    delete_statement_lines,
    insert_line_after,
    insert_line_before,
    is_alone_on_its_lines,
    parses_after,
)
from torchmode.rules.base import Invalid, Rule, RuleContext, Valid
from torchmode.syntax.positions import Span, TextEdit

_SEED = """\
def test(model, loader):
    model.eval()
    for data, target in loader:
        model(data)


def train(model, optimizer, train_loader, val_loader):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        output = model(data)
        loss = output.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if batch_idx % 50 == 0:
            test(model, val_loader)
"""

_SEED_FIXED = """\
def test(model, loader):
    model.eval()
    for data, target in loader:
        model(data)


def train(model, optimizer, train_loader, val_loader):
    for batch_idx, (data, target) in enumerate(train_loader):
        model.train()
        output = model(data)
        loss = output.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if batch_idx % 50 == 0:
            test(model, val_loader)
"""


_FLAG_ARGUMENT = re.compile(r"\.train\(\s*(?:mode\s*=\s*)?(?P<flag>[^)]+?)\s*\)$", re.DOTALL)


def _mode_flag(call_text: str) -> str | None:
    """``is_train`` for ``model.train(is_train)``: the eval switch happens only when it is false."""
    match = _FLAG_ARGUMENT.search(call_text)
    if match is None or match.group("flag") in ("False", "True", "0", "1"):
        return None
    return match.group("flag")


def _first_eval(value: ModeValue) -> ModeFact | None:
    evals = sorted(
        (fact for fact in value if fact.mode == "eval" and fact.origin and not fact.frozen),
        key=lambda fact: fact.origin[0].span.start,
    )
    return evals[0] if evals else None


def _eval_from_callers(
    analysis: FileAnalysis, function: Function, path: str, depth: int = 0, seen: frozenset[int] = frozenset()
) -> tuple[CallSite | None, ModeFact] | None:
    """A call of ``function`` where the argument for ``path`` may be in eval mode.

    Follows callers that themselves pass their parameter on unchanged, a few levels
    up, so ``fit -> run_epoch -> train_steps`` is found from ``train_steps``. For a
    global model with no caller in the file, the module-level state after the last
    top-level statement stands in for the caller (the call site is then None).
    """
    root, dot, rest = path.partition(".")
    is_global = root not in function.parameters and root not in function.locals and not function.is_module
    if depth > 3 or id(function) in seen or not (root in function.parameters or is_global):
        return None
    seen = seen | {id(function)}
    called = False
    for call_site in analysis.call_sites:
        if call_site.callee is not function:
            continue
        value = call_site.argument_value(path)
        if value is None:
            continue
        called = True
        cause = _first_eval(value)
        if cause is not None:
            return call_site, cause
        if any(fact.mode == "entry" for fact in value):
            caller_path = dict(call_site.bindings).get(root, root) + dot + rest
            found = _eval_from_callers(analysis, call_site.function, caller_path, depth + 1, seen)
            if found is not None:
                return found
    if is_global and not called and analysis.module_exit is not None:
        module = analysis.functions[0]
        cause = _first_eval(mode_in(analysis.module_exit, path, module))
        if cause is not None:
            return None, cause
    return None


def _contains(outer: Span, inner: Span) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


class TrainStepInEvalMode(Rule):
    """A training step can run while the model is in eval mode.

    Anchor: the forward call of the model (``output = model(data)``) that belongs
    to a training step, i.e. a ``backward()`` or ``optimizer.step()`` follows it
    in the same loop body (or function body, outside loops). The forward pass is
    where dropout and batch norm behave by the mode; the finding points there.
    """

    code = "TM101"
    name = "train-step-in-eval-mode"
    about_model_mode = True

    VALID = (
        # train() at the top of every iteration undoes the previous iteration's eval().
        Valid(_SEED_FIXED),
        # Validation only after the loop cannot leak into it.
        Valid(
            _SEED.replace("        if batch_idx % 50 == 0:\n            test(model, val_loader)\n", "")
            + "    test(model, val_loader)\n"
        ),
    )
    INVALID = (Invalid(_SEED, line=10, fixed=_SEED_FIXED),)

    @classmethod
    def may_apply(cls, text: str) -> bool:
        # An eval switch (eval(), train(...), from_pretrained) and a training step must both be written.
        switches = "eval(" in text or "train(" in text or "from_pretrained(" in text
        return switches and ("backward(" in text or "step(" in text)

    def check(self, context: RuleContext) -> Iterator[Finding]:
        analysis = context.analysis
        roles = context.training
        reported: set[tuple[tuple[int, int], str]] = set()
        document = context.document
        for forward in sorted(
            analysis.forward_calls, key=lambda item: (item.call.lineno, item.call.col_offset)
        ):
            later_steps = roles.steps_after(forward)
            if not later_steps:
                continue
            forward_span = document.span_of(forward.call)
            # Facts that contradict every step's branch conditions are on paths where no
            # step runs (``if phase == "train": loss.backward()`` after ``model.eval()``
            # in the ``else`` branch).
            relevant = [
                fact
                for fact in forward.value
                if any(not contradicts(fact.conditions, step.assumptions) for step in later_steps)
            ]
            # A frozen model (``requires_grad_(False)``) kept in eval on purpose is no step's
            # model: its parameters take no gradient.
            evals = [fact for fact in relevant if fact.mode == "eval" and fact.origin and not fact.frozen]
            key = (roles.region(forward), forward.path)
            if key in reported:
                continue
            if (
                evals
                and all(fact.mode == "eval" for fact in relevant)
                and forward.path not in analysis.trained_paths
                and not roles.tied_to_a_step(forward)
            ):
                # Certainly in eval and never trained anywhere in the file: a frozen model
                # on purpose (a distillation teacher, a target network), not a mistake.
                continue
            if evals:
                reported.add(key)
                yield self._finding(context, forward, forward_span, relevant, evals)
            elif any(fact.mode == "entry" for fact in relevant):
                # The function trains in whatever mode its caller left: look at the callers.
                through_caller = _eval_from_callers(context.analysis, forward.function, forward.path)
                if through_caller is not None:
                    reported.add(key)
                    yield self._caller_finding(context, forward, forward_span, *through_caller)

    # -- message ------------------------------------------------------------------------------

    def _finding(
        self,
        context: RuleContext,
        forward: ForwardCall,
        forward_span: Span,
        relevant: list[ModeFact],
        evals: list[ModeFact],
    ) -> Finding:
        document = context.document
        loop_spans = [(loop, document.span_of(loop.statement)) for loop in forward.loops]

        def carrier_of(site: Site) -> Loop | None:
            for loop, span in reversed(loop_spans):
                if _contains(span, site.span):
                    return loop
            return None

        def sort_key(fact: ModeFact) -> tuple[int, object]:
            site = fact.origin[0]
            carried = carrier_of(site) is not None and site.span.start > forward_span.start
            return (0 if carried else 1, site.span.start)

        evals = sorted(evals, key=sort_key)
        cause_fact = evals[0]
        cause = cause_fact.origin[0]
        carrier = carrier_of(cause)
        if carrier is not None and cause.span.start > forward_span.start:
            when = "earlier_iteration"
        elif cause.span.start < forward_span.start:
            when = "before_step"
        else:
            when = "none"
        flag = _mode_flag(cause.text) if len(cause_fact.origin) == 1 else None
        cause_key = (
            "TM101.cause.pretrained"
            if cause_fact.fresh
            else (
                "TM101.cause.flag"
                if flag
                else "TM101.cause.call"
                if len(cause_fact.origin) > 1
                else "TM101.cause.direct"
            )
        )
        cause_text = context.text(
            cause_key,
            site=cause.short_text(),
            line=cause.span.start.line,
            flag=flag,
            when=context.text(f"TM101.when.{when}"),
        )
        trains = sorted(
            (fact for fact in relevant if fact.mode == "train" and fact.origin),
            key=lambda fact: fact.origin[0].span.start,
        )
        train_site = trains[0].origin[0] if trains else None
        carrier_span = document.span_of(carrier.statement) if carrier is not None else None
        if train_site is None:
            reset = context.text("TM101.reset.nothing")
        elif trains[0].fresh:
            reset = context.text("TM101.reset.fresh", line=train_site.span.start.line)
        elif carrier_span is not None and not _contains(carrier_span, train_site.span):
            reset = context.text(
                "TM101.reset.once_before_loop", site=train_site.short_text(), line=train_site.span.start.line
            )
        else:
            reset = context.text(
                "TM101.reset.not_every_path", site=train_site.short_text(), line=train_site.span.start.line
            )
        consequence = context.text(
            "TM101.consequence.loop" if when == "earlier_iteration" else "TM101.consequence.step"
        )
        message = context.text(
            "TM101.message", path=forward.path, cause=cause_text, reset=reset, consequence=consequence
        )
        related = [
            Related(
                cause.span,
                context.text(
                    "TM101.related.eval_call" if len(cause_fact.origin) > 1 else "TM101.related.eval_direct",
                    path=forward.path,
                ),
            )
        ]
        related.extend(
            context.related(
                site, context.text("TM101.related.eval_inner", site=site.short_text(), function=site.function)
            )
            for site in cause_fact.origin[1:]
        )
        if train_site is not None:
            once = carrier_span is not None and not _contains(carrier_span, train_site.span)
            related.append(
                Related(
                    train_site.span,
                    context.text("TM101.related.train_once" if once else "TM101.related.train_site"),
                )
            )
        return self.report(
            forward_span,
            message,
            related=tuple(related),
            fixes=tuple(self._fixes(context, forward, forward_span, evals, trains)),
            subject=forward.path,
        )

    def _caller_finding(
        self,
        context: RuleContext,
        forward: ForwardCall,
        forward_span: Span,
        call_site: CallSite | None,
        cause: ModeFact,
    ) -> Finding:
        """The training function never sets train mode and a caller hands it a model in eval."""
        document = context.document
        function = forward.function
        eval_site = cause.origin[0]
        related: list[Related] = []
        if call_site is None:
            message = context.text(
                "TM101.message.global",
                path=forward.path,
                function=function.name,
                site=eval_site.short_text(),
                line=eval_site.span.start.line,
                consequence=context.text("TM101.consequence.call"),
            )
        else:
            call_span = document.span_of(call_site.call)
            in_common_loop = any(
                _contains(document.span_of(loop.statement), eval_site.span) for loop in call_site.loops
            )
            when = (
                "earlier_iteration" if in_common_loop and eval_site.span.start > call_span.start else "none"
            )
            call_text = Site(
                call_span, document.source_of(call_site.call), call_site.function.name
            ).short_text()
            message = context.text(
                "TM101.message.callee",
                path=forward.path,
                function=function.name,
                call=call_text,
                call_line=call_span.start.line,
                site=eval_site.short_text(),
                line=eval_site.span.start.line,
                when=context.text(f"TM101.callee_when.{when}"),
                consequence=context.text("TM101.consequence.call"),
            )
            related.append(
                Related(
                    call_span,
                    context.text("TM101.related.call_site", function=function.name, path=forward.path),
                )
            )
        related.append(
            Related(
                eval_site.span,
                context.text(
                    "TM101.related.eval_call" if len(cause.origin) > 1 else "TM101.related.eval_direct",
                    path=root_of(eval_site.text) if len(cause.origin) == 1 else forward.path,
                ),
            )
        )
        fixes: list[Fix] = []
        body = function.body
        # Insert after a docstring, so it stays the function's docstring.
        has_docstring = (
            isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        )
        first = body[1] if has_docstring and len(body) > 1 else body[0]
        statement = f"{forward.path}.train()"
        insert = insert_line_before(document, document.span_of(first), statement)
        if insert is not None and parses_after(document, [insert]):
            fixes.append(
                Fix(
                    context.text(
                        "TM101.fix.insert_function_start", statement=statement, function=function.name
                    ),
                    (insert,),
                )
            )
        return self.report(
            forward_span,
            message,
            related=tuple(related),
            fixes=tuple(fixes),
            subject=forward.path,
        )

    # -- fixes --------------------------------------------------------------------------------

    def _fixes(
        self,
        context: RuleContext,
        forward: ForwardCall,
        forward_span: Span,
        evals: list[ModeFact],
        trains: list[ModeFact],
    ) -> Iterator[Fix]:
        document = context.document
        statement = f"{forward.path}.train()"
        innermost = forward.loops[-1] if forward.loops else None
        innermost_span = document.span_of(innermost.statement) if innermost is not None else None
        eval_sites = [fact.origin[0] for fact in evals]
        # Inserting at the loop's start only helps when no eval switch in that loop runs
        # between the loop's start and the step.
        loop_start_works = innermost_span is not None and not any(
            _contains(innermost_span, site.span) and site.span.start < forward_span.start
            for site in eval_sites
        )
        candidates: list[Fix] = []
        if innermost is not None and loop_start_works:
            first = document.span_of(innermost.body[0])
            moved = self._move_edits(context, forward, trains, innermost_span, first)
            if moved is not None:
                candidates.append(moved)
            else:
                insert = insert_line_before(document, first, statement)
                if insert is not None:
                    candidates.append(
                        Fix(context.text("TM101.fix.insert_loop_start", statement=statement), (insert,))
                    )
        if not candidates and forward.statement is not None:
            insert = insert_line_before(document, document.span_of(forward.statement), statement)
            if insert is not None:
                candidates.append(
                    Fix(context.text("TM101.fix.insert_before_step", statement=statement), (insert,))
                )
        distinct_sites = {site.span for site in eval_sites}
        cause = evals[0]
        if len(distinct_sites) == 1 and len(cause.origin) > 1 and cause.origin[0].statement is not None:
            insert = insert_line_after(document, cause.origin[0].statement, statement)
            if insert is not None:
                candidates.append(
                    Fix(
                        context.text("TM101.fix.restore_after_call", site=cause.origin[0].short_text()),
                        (insert,),
                    )
                )
        for fix in candidates:
            if parses_after(document, list(fix.edits)):
                yield fix

    def _move_edits(
        self,
        context: RuleContext,
        forward: ForwardCall,
        trains: list[ModeFact],
        loop_span: Span | None,
        first_in_body: Span,
    ) -> Fix | None:
        """Move the single ``model.train()`` that runs before the loop to the loop's first line."""
        document = context.document
        sites = {fact.origin[0] for fact in trains}
        if (
            loop_span is None
            or len(sites) != 1
            or any(fact.fresh or len(fact.origin) != 1 for fact in trains)
        ):
            return None
        site = next(iter(sites))
        if (
            site.statement is None
            or site.statement != site.span
            or not is_alone_on_its_lines(document, site.span)
        ):
            return None  # the call is part of a larger statement; moving it would move more
        if _mode_flag(site.text) is not None:
            return None  # ``model.train(flag)`` moved into the loop could still switch to eval there
        if not site.span.end <= loop_span.start:
            return None
        # Something between the old place and the loop may rely on train mode.
        for other in context.analysis.forward_calls:
            if other.function is forward.function and other.path == forward.path:
                other_span = document.span_of(other.call)
                if site.span.end <= other_span.start and other_span.end <= loop_span.start:
                    return None
        moved_line = document.line_text(site.span.start.line).strip()
        insert = insert_line_before(document, first_in_body, moved_line)
        if insert is None:
            return None
        edits: tuple[TextEdit, ...] = (delete_statement_lines(document, site.span), insert)
        return Fix(context.text("TM101.fix.move", statement=site.text), edits)
