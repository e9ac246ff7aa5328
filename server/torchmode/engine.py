"""The one entry point that the CLI and the language server call.

text -> syntax.Document -> analysis (facts) -> rules (findings with fixes).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from torchmode.analysis.dataflow import FileAnalysis, analyze
from torchmode.analysis.layers import LayerSensitivity
from torchmode.analysis.names import access_path
from torchmode.analysis.project import Project
from torchmode.analysis.roles import TrainingRoles
from torchmode.docs import normalize_locale, text
from torchmode.docs.hover import api_hover, suppression_code_hover
from torchmode.docs.state_hover import state_hover
from torchmode.findings import Finding, Severity
from torchmode.rules import ALL_RULES, Rule, RuleContext
from torchmode.settings import Settings
from torchmode.syntax import Document, ParseFailure, Position, Span, suppression

__all__ = [
    "DEFAULT_SETTINGS",
    "CheckResult",
    "ForwardCallState",
    "HoverText",
    "Settings",
    "check_document",
    "check_source",
    "forward_call_states",
    "hover_at",
]

DEFAULT_SETTINGS = Settings()

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    document: Document
    findings: tuple[Finding, ...]
    parse_failure: ParseFailure | None


@dataclass(frozen=True)
class HoverText:
    markdown: str
    span: Span


@dataclass(frozen=True)
class ForwardCallState:
    """The statically inferred mode of a tracked model at one of its forward calls.

    ``modes`` holds "train" and/or "eval", plus "unknown" when some path reaches
    the call with a mode the analysis cannot know (e.g. a function parameter with
    no known caller). ``in_training_step`` says whether the call belongs to a
    training step (``backward()`` / ``optimizer.step()`` in the same loop body or
    function).
    """

    span: Span
    path: str
    modes: frozenset[str]
    in_training_step: bool
    grad: frozenset[str] = frozenset({"unknown"})  # "on" and/or "off", or "unknown"


def forward_call_states(document: Document, project: Project | None = None) -> tuple[ForwardCallState, ...]:
    analysis = analyze(document, project)
    if analysis is None:
        return ()
    roles = TrainingRoles(analysis)
    states = []
    for forward in analysis.forward_calls:
        modes = frozenset(
            "unknown" if fact.mode in ("entry", "unknown") else fact.mode for fact in forward.value
        )
        in_step = bool(roles.steps_after(forward))
        grad = frozenset(fact.grad if fact.grad in ("on", "off") else "unknown" for fact in forward.grad)
        states.append(ForwardCallState(document.span_of(forward.call), forward.path, modes, in_step, grad))
    return tuple(states)


def _selected(code: str, settings: Settings) -> bool:
    def matches(prefixes: tuple[str, ...]) -> bool:
        return any(prefix == "ALL" or code.startswith(prefix.upper()) for prefix in prefixes)

    return matches(settings.select) and not matches(settings.ignore)


def suppressed(document: Document, finding: Finding) -> bool:
    """A ``# noqa`` / ``# torchmode: ignore`` directive for the finding's code on the line it
    starts on (the grammar: ``syntax.suppression``)."""
    return suppression.silences(document.line_text(finding.span.start.line), finding.code)


_MODE_RULES = frozenset({"TM101", "TM102", "TM103"})


def _harmless_for_this_model(
    finding: Finding, analysis: FileAnalysis, layers: LayerSensitivity | None, locale: str
) -> Finding:
    """A mode finding on a model with no mode-dependent layer is true but harmless today: a Hint.

    Only when every ``Net(...)`` the file assigns to that name is known to be made of
    layers that compute the same in both modes (Linear, Conv, ReLU, LayerNorm...).
    """
    if layers is None or finding.code not in _MODE_RULES or not finding.subject:
        return finding
    constructors = analysis.constructors.get(finding.subject, ())
    if not constructors or any(layers.of_expression(call) is not False for call in constructors):
        return finding
    model = next(iter(constructors)).func
    name = access_path(model) or "this model"
    note = text("layers.harmless", locale, model=name)
    return replace(finding, severity=Severity.HINT, message=f"{finding.message} {note}")


def _imported_class_sensitivity(
    project: Project | None, document: Document, analysis: FileAnalysis
) -> Callable[[str], bool | None] | None:
    """How a model class imported from another project file answers ``LayerSensitivity``."""
    imports = analysis.imports
    if project is None or imports is None or not os.path.isabs(document.path):
        return None
    importer = Path(document.path)
    return lambda local: project.class_sensitivity(importer, imports, local)


def check_document(
    document: Document, settings: Settings = DEFAULT_SETTINGS, project: Project | None = None
) -> CheckResult:
    """Every selected rule's findings on one document.

    With a ``project``, calls into its other files (``from engine import evaluate``) and
    their classes are followed; without one, the document is analysed alone.
    """
    if project is not None:
        document = project.shared_document(document)
    rules = [rule for rule in ALL_RULES if _selected(rule.code, settings) and rule.may_apply(document.text)]
    if not rules:
        # Still parse: a file that does not parse is reported whatever the rules.
        return CheckResult(document, (), document.parse_failure)
    try:
        return _check_parsed(document, settings, project, rules)
    except RecursionError:
        # Code nested deeper than the interpreter's stack (a generated file): the depth
        # budget of last resort. Nothing is known, so nothing is reported; said once.
        _log.info("%s: nested too deeply to analyse; no findings", document.path)
        return CheckResult(document, (), None)


def _check_parsed(
    document: Document, settings: Settings, project: Project | None, rules: list[type[Rule]]
) -> CheckResult:
    analysis = analyze(document, project)
    if analysis is None:
        return CheckResult(document, (), document.parse_failure)
    context = RuleContext(document, analysis, normalize_locale(settings.locale), settings)
    layers: LayerSensitivity | None = None  # built on the first mode finding, most files have none
    findings: list[Finding] = []
    for rule in rules:
        for finding in rule().check(context):
            if not suppressed(document, finding):
                if finding.code in _MODE_RULES and layers is None and analysis.imports is not None:
                    assert document.tree is not None
                    layers = LayerSensitivity(
                        document.tree,
                        analysis.imports,
                        analysis.module_classes,
                        _imported_class_sensitivity(project, document, analysis),
                    )
                finding = _harmless_for_this_model(finding, analysis, layers, context.locale)
                severity = settings.severity_for(finding.code, finding.severity)
                findings.append(
                    finding if severity is finding.severity else replace(finding, severity=severity)
                )
    findings.sort(key=lambda finding: (finding.span.start, finding.code))
    return CheckResult(document, tuple(findings), None)


def check_source(text: str, path: str = "<string>", settings: Settings = DEFAULT_SETTINGS) -> CheckResult:
    return check_document(Document(text, path), settings)


def hover_at(
    document: Document,
    position: Position,
    settings: Settings = DEFAULT_SETTINGS,
    project: Project | None = None,
) -> HoverText | None:
    """Markdown for what is under ``position`` (1-based line, code-point column).

    On a rule code in a suppression comment: the rule's page. On a mode or grad API
    (``eval``, ``no_grad``...): what it does. On a tracked model (``model`` in
    ``model(x)``): its inferred mode and grad state there.
    """
    locale = normalize_locale(settings.locale)
    found = suppression_code_hover(document, position, locale) or api_hover(document, position, locale)
    if found is None:
        analysis = analyze(document, project)
        if analysis is not None:
            found = state_hover(document, analysis, position, locale)
    if found is None:
        return None
    markdown, span = found
    return HoverText(markdown, span)
