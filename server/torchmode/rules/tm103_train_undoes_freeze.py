"""TM103 train-undoes-freeze."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from torchmode.analysis.facts import SUBMODULES, CallSite, FileAnalysis, Function, ModeSwitch, mode_in
from torchmode.analysis.lattice import ModeFact, ModeValue, Site
from torchmode.analysis.names import is_under
from torchmode.analysis.walk import statements_of
from torchmode.findings import Finding, Fix, Related
from torchmode.fixes import insert_line_after, is_alone_on_its_lines, parses_after
from torchmode.rules.base import Invalid, Rule, RuleContext, Valid
from torchmode.syntax.document import Document
from torchmode.syntax.positions import Span

_FROZEN_BACKBONE = """\
def fine_tune(model, optimizer, loader, epochs):
    model.backbone.eval()
    for epoch in range(epochs):
        model.train()
        for x, y in loader:
            loss = (model(x) - y).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
"""

_FROZEN_BACKBONE_FIXED = _FROZEN_BACKBONE.replace(
    "        model.train()\n", "        model.train()\n        model.backbone.eval()\n"
)


class TrainUndoesFreeze(Rule):
    """A parent's ``train()`` switches a frozen sub-module back to train mode.

    Anchor: the ``train()`` call. A sub-module set to eval (``model.backbone.eval()``,
    a loop over ``model.modules()`` that calls ``eval()`` on the batch-norm layers, a
    helper doing either) is switched back by any later ``train()`` of a parent,
    because ``train()`` recurses into every child.
    """

    code = "TM103"
    name = "train-undoes-freeze"
    about_model_mode = True

    VALID = (
        Valid(_FROZEN_BACKBONE_FIXED),
        Valid(_FROZEN_BACKBONE.replace("    model.backbone.eval()\n", "")),
        Valid(
            """\
def fit(model, optimizer, loader):
    for x, y in loader:
        model.train()
        model.backbone.eval()
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
"""
        ),
    )
    INVALID = (Invalid(_FROZEN_BACKBONE, line=4, fixed=_FROZEN_BACKBONE_FIXED),)

    @classmethod
    def may_apply(cls, text: str) -> bool:
        # The freeze may be in another file (a constructor, a helper): only the train() is here.
        return "train(" in text

    def check(self, context: RuleContext) -> Iterator[Finding]:
        analysis = context.analysis
        for switch in analysis.switches:
            if switch.statement is None or not any(fact.mode == "train" for fact in switch.value):
                continue
            state = analysis.state_before(switch.statement)
            if state is None:
                continue
            site_span = context.document.span_of(switch.call)
            whole = mode_in(state, switch.path, switch.function)
            found = False
            for path, value in state.modes:
                if not (is_under(path, switch.path) and path != switch.path):
                    continue
                freezes = _freezes(value, whole)
                if freezes and _unfreeze_is_used(analysis, switch, site_span, path):
                    yield self._finding(context, switch, site_span, path, freezes[0])
                    found = True
                    break  # one finding per train() call; its fix re-applies this freeze
            if found or not any(fact.mode == "entry" for fact in whole):
                continue
            # The model comes from the callers: a part one of them froze before the call.
            from_caller = _freeze_from_callers(analysis, switch.function, switch.path)
            if from_caller is not None:
                call_site, path, freeze = from_caller
                if _unfreeze_is_used(analysis, switch, site_span, path):
                    yield self._finding(context, switch, site_span, path, freeze, call_site)

    def _finding(
        self,
        context: RuleContext,
        switch: ModeSwitch,
        site_span: Span,
        path: str,
        freeze: ModeFact,
        call_site: CallSite | None = None,
    ) -> Finding:
        document = context.document
        freeze_site = freeze.origin[0]
        call_text = document.source_of(switch.call)
        if path.endswith(SUBMODULES):
            frozen = context.text("TM103.frozen.submodules", owner=path[: -len(SUBMODULES) - 1])
        else:
            frozen = context.text("TM103.frozen.path", path=path)
        message = context.text(
            "TM103.message",
            call=call_text,
            frozen=frozen,
            site=freeze_site.short_text(),
            line=freeze_site.span.start.line,
        )
        related = [Related(freeze_site.span, context.text("TM103.related.freeze"))]
        if call_site is not None:
            related.append(Related(document.span_of(call_site.call), context.text("TM103.related.caller")))
        related.extend(
            context.related(
                site, context.text("TM103.related.inner", site=site.short_text(), function=site.function)
            )
            for site in freeze.origin[1:]
        )
        fixes: list[Fix] = []
        # A freeze made by a caller is that caller's business: re-freezing in this function
        # would freeze the part for every other caller too, so no fix is offered then.
        freeze_code = _freeze_code(document, switch.function, freeze, path) if call_site is None else None
        if freeze_code is not None and switch.statement is not None:
            code, title = freeze_code
            statement_span = document.span_of(switch.statement)
            # Every line after the first of a re-run loop gets the train() line's indentation too.
            indentation = document.indentation_of_line(statement_span.start.line)
            text = (document.newline + indentation).join(code)
            insert = insert_line_after(document, statement_span, text)
            if insert is not None and parses_after(document, [insert]):
                fixes.append(Fix(context.text("TM103.fix.reapply", statement=title), (insert,)))
        return self.report(
            site_span,
            message,
            related=tuple(related),
            fixes=tuple(fixes),
            subject=switch.path,
        )


def _freezes(part: ModeValue, whole: ModeValue) -> list[ModeFact]:
    """The eval facts of a part that are its own: a ``model.eval()`` reaches every part, so
    an eval the whole model has too is no freeze of the part."""
    return sorted(
        (fact for fact in part if fact.mode == "eval" and fact.origin and fact not in whole),
        key=lambda fact: fact.origin[0].span.start,
    )


def _freeze_from_callers(
    analysis: FileAnalysis, function: Function, path: str, depth: int = 0, seen: frozenset[int] = frozenset()
) -> tuple[CallSite, str, ModeFact] | None:
    """A call of ``function`` after which a part of the model at ``path`` is frozen (the
    caller ran ``model.backbone.eval()`` first), looking up the chain of callers while each
    passes the model on as it got it: (the call, the part as ``function`` names it, the freeze)."""
    root, dot, rest = path.partition(".")
    is_global = root not in function.parameters and root not in function.locals and not function.is_module
    if depth > 3 or id(function) in seen or not (root in function.parameters or is_global):
        return None
    seen = seen | {id(function)}
    for call_site in analysis.call_sites:
        if call_site.callee is not function:
            continue
        argument = dict(call_site.bindings).get(root, root if is_global else None)
        if argument is None:
            continue
        caller_path = argument + dot + rest
        whole = call_site.argument_value(path) or frozenset()
        for part, value in call_site.modes:
            if not (is_under(part, caller_path) and part != caller_path):
                continue
            freezes = _freezes(value, whole)
            if freezes:
                return call_site, path + part[len(caller_path) :], freezes[0]
        if any(fact.mode == "entry" for fact in whole):
            found = _freeze_from_callers(analysis, call_site.function, caller_path, depth + 1, seen)
            if found is not None:
                outer_call, outer_part, freeze = found
                return outer_call, path + outer_part[len(caller_path) :], freeze
    return None


def _unfreeze_is_used(analysis: FileAnalysis, switch: ModeSwitch, site_span: Span, path: str) -> bool:
    """Does a forward pass, or a call that gets the model, see the unfrozen sub-module?

    ``model.train(); model.backbone.eval()`` re-freezes at once: nothing runs with
    the backbone in train mode, so there is nothing to report.
    """
    function = switch.function

    def unfrozen(statement: ast.stmt | None) -> bool:
        if statement is None:
            return False
        state = analysis.state_before(statement)
        if state is None:
            return False
        value = mode_in(state, path, function)
        # Any eval left at the use means a freeze ran again after the train() call (a
        # freeze of "some sub-modules" keeps the others' train fact beside it).
        return not any(fact.mode == "eval" for fact in value) and any(
            fact.mode == "train" and fact.origin and fact.origin[0].span == site_span for fact in value
        )

    for forward in analysis.forward_calls:
        related = is_under(path, forward.path) or is_under(forward.path, switch.path)
        if forward.function is function and related and unfrozen(forward.statement):
            return True
    # A callee that runs the model (not one that freezes it again, like ``freeze_bn``).
    runners = {id(forward.function) for forward in analysis.forward_calls} | {
        id(step.function) for step in analysis.steps
    }
    for call_site in analysis.call_sites:
        if id(call_site.callee) not in runners:
            continue
        passes_model = any(
            is_under(path, argument) or is_under(argument, switch.path) for _, argument in call_site.bindings
        )
        if call_site.function is function and passes_model and unfrozen(call_site.statement):
            return True
    return False


def _freeze_code(
    document: Document, function: Function, freeze: ModeFact, path: str
) -> tuple[list[str], str] | None:
    """The code that froze the sub-module, to run again: its lines (dedented) and a title."""
    site: Site = freeze.origin[0]
    if site.function != function.name or site.statement is None:
        return None
    if _is_assignment(function, document, site.statement):
        # ``model = Net()`` whose ``__init__`` froze ``model.backbone``: building the model
        # again is no fix; switching that part back to eval is.
        if path.endswith(SUBMODULES):
            return None
        code = f"{path}.eval()"
        return [code], code
    loop = _enclosing_module_loop(function, site.span, document) if len(freeze.origin) == 1 else None
    if loop is None:
        # ``freeze_bn(model)`` or ``model.backbone.eval()`` as a statement of its own.
        if site.statement.start.line != site.statement.end.line or not is_alone_on_its_lines(
            document, site.statement
        ):
            return None
        return [document.line_text(site.statement.start.line).strip()], site.short_text()
    # ``m.eval()`` inside ``for m in model.modules(): ...``: re-run the whole loop.
    loop_span = document.span_of(loop)
    base = document.indentation_of_line(loop_span.start.line)
    lines = [document.line_text(line) for line in range(loop_span.start.line, loop_span.end.line + 1)]
    if any(line.strip() and not line.startswith(base) for line in lines):
        return None
    header = lines[0].strip().rstrip(":")
    return [line[len(base) :] if line.strip() else "" for line in lines], header


def _is_assignment(function: Function, document: Document, span: Span) -> bool:
    return any(
        isinstance(statement, (ast.Assign, ast.AnnAssign)) and document.span_of(statement) == span
        for statement in statements_of(function.body)
    )


def _enclosing_module_loop(function: Function, span: Span, document: Document) -> ast.For | None:
    """The innermost ``for ... in X.modules()`` (or children/named_*) of the function around ``span``."""
    best: ast.For | None = None
    for node in ast.walk(ast.Module(body=function.body, type_ignores=[])):
        if not (
            isinstance(node, ast.For)
            and isinstance(node.iter, ast.Call)
            and isinstance(node.iter.func, ast.Attribute)
            and node.iter.func.attr in ("modules", "children", "named_modules", "named_children")
        ):
            continue
        node_span = document.span_of(node)
        inside = node_span.start <= span.start and span.end <= node_span.end
        if inside and (best is None or document.span_of(best).start < node_span.start):
            best = node
    return best
