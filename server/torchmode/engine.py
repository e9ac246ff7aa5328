"""The one entry point that the CLI and the language server call.

text -> syntax.Document -> analysis (facts) -> rules (findings with fixes).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Generic, Literal, Protocol, TypeVar

from torchmode.analysis.facts import FileAnalysis
from torchmode.analysis.layers import LayerSensitivity
from torchmode.analysis.names import access_path
from torchmode.analysis.project import (
    Project,
    analyze,
    interpreter_library_paths,
    project_for_paths,
    read_disk,
)
from torchmode.analysis.roles import TrainingRoles
from torchmode.docs import CellLines, normalize_locale, text
from torchmode.findings import Applicability, Finding, Fix, Severity
from torchmode.hover.api import api_hover, suppression_code_hover
from torchmode.hover.state import state_hover
from torchmode.rules import ALL_RULES, RULES_BY_CODE, Rule, RuleContext
from torchmode.settings import Settings
from torchmode.syntax import Document, ParseFailure, Position, Span, TextEdit, apply_edits, suppression
from torchmode.syntax.document import parse

__all__ = [
    "DEFAULT_SETTINGS",
    "MAX_FIX_PASSES",
    "CheckResult",
    "Editable",
    "FixOutcome",
    "FixRefusal",
    "ForwardCallState",
    "HoverText",
    "PlainText",
    "RuleInfo",
    "Settings",
    "Workspace",
    "apply_fix_safety",
    "check_document",
    "check_source",
    "fix_until_stable",
    "forward_call_states",
    "hover_at",
    "is_selected",
    "read_disk",
    "rule_catalogue",
    "rule_codes",
]

DEFAULT_SETTINGS = Settings()

_log = logging.getLogger(__name__)

EditableT = TypeVar("EditableT", bound="Editable")


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


def forward_call_states(
    document: Document, workspace: Workspace | Project | None = None
) -> tuple[ForwardCallState, ...]:
    analysis = analyze(document, _project_of(workspace))
    if analysis is None:
        return ()
    roles = TrainingRoles(analysis)
    states = []
    for forward in analysis.forward_calls:
        if forward.indirect:
            continue  # a call of a function that runs the forward: its own forward call has the state
        modes = frozenset(
            "unknown" if fact.mode in ("entry", "unknown") else fact.mode for fact in forward.value
        )
        in_step = bool(roles.steps_after(forward))
        grad = frozenset(fact.grad if fact.grad in ("on", "off") else "unknown" for fact in forward.grad)
        states.append(ForwardCallState(document.span_of(forward.call), forward.path, modes, in_step, grad))
    return tuple(states)


def is_selected(code: str, settings: Settings) -> bool:
    """Does ``settings`` report ``code`` (``select`` minus ``ignore``)? For findings that do
    not come from a check, like those a run observed (``torchmode run``'s report)."""
    return _selected(code, settings)


def _selected(code: str, settings: Settings) -> bool:
    def matches(prefixes: tuple[str, ...]) -> bool:
        return any(prefix == "ALL" or code.startswith(prefix.upper()) for prefix in prefixes)

    return matches(settings.select) and not matches(settings.ignore)


def suppressed(document: Document, finding: Finding) -> bool:
    """A ``# noqa`` / ``# torchmode: ignore`` directive for the finding's code on the line it
    starts on (the grammar: ``syntax.suppression``)."""
    return suppression.silences(document.line_text(finding.span.start.line), finding.code)


def _is_about_model_mode(finding: Finding) -> bool:
    rule = RULES_BY_CODE.get(finding.code)
    return rule is not None and rule.about_model_mode


def _harmless_for_this_model(
    finding: Finding, analysis: FileAnalysis, layers: LayerSensitivity | None, locale: str
) -> Finding:
    """A mode finding on a model with no mode-dependent layer is true but harmless today: a Hint.

    Only when every ``Net(...)`` the file assigns to that name is known to be made of
    layers that compute the same in both modes (Linear, Conv, ReLU, LayerNorm...).
    """
    if layers is None or not finding.subject or not _is_about_model_mode(finding):
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
    document: Document,
    settings: Settings = DEFAULT_SETTINGS,
    workspace: Workspace | Project | None = None,
    cells: CellLines | None = None,
) -> CheckResult:
    """Every selected rule's findings on one document, with the settings' fix policy applied.

    With a ``workspace``, calls into its other files (``from engine import evaluate``) and
    their classes are followed; without one, the document is analysed alone. ``cells``: the
    notebook whose joined program ``document`` is, so that messages name cells' lines.
    """
    project = _project_of(workspace)
    if project is not None:
        document = project.shared_document(document)
    rules = [rule for rule in ALL_RULES if _selected(rule.code, settings) and rule.may_apply(document.text)]
    if not rules:
        # Still parse: a file that does not parse is reported whatever the rules.
        return CheckResult(document, (), document.parse_failure)
    try:
        return _check_parsed(document, settings, project, rules, cells)
    except RecursionError:
        # Code nested deeper than the interpreter's stack (a generated file): the depth
        # budget of last resort. Nothing is known, so nothing is reported; said once.
        _log.info("%s: nested too deeply to analyse; no findings", document.path)
        return CheckResult(document, (), None)


def _check_parsed(
    document: Document,
    settings: Settings,
    project: Project | None,
    rules: list[type[Rule]],
    cells: CellLines | None = None,
) -> CheckResult:
    analysis = analyze(document, project)
    if analysis is None:
        return CheckResult(document, (), document.parse_failure)
    context = RuleContext(document, analysis, normalize_locale(settings.locale), settings, cells)
    layers: LayerSensitivity | None = None  # built on the first mode finding, most files have none
    findings: list[Finding] = []
    for rule in rules:
        for finding in rule().check(context):
            if not suppressed(document, finding):
                if _is_about_model_mode(finding) and layers is None and analysis.imports is not None:
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
    return apply_fix_safety(CheckResult(document, tuple(findings), None), settings)


def apply_fix_safety(result: CheckResult, settings: Settings) -> CheckResult:
    """Re-mark fixes as safe or unsafe per ``fix-safe``; ``--fix`` and fix-all apply only safe ones.

    Done on the rules' result rather than inside them: which fixes a team trusts is
    policy, like ``--unsafe-fixes``, not analysis.
    """
    if not settings.fix_safety:
        return result
    overrides = dict(settings.fix_safety)
    findings = []
    changed = False
    for finding in result.findings:
        safe = overrides.get(finding.code)
        if safe is None or not finding.fixes:
            findings.append(finding)
            continue
        applicability: Applicability = "safe" if safe else "unsafe"
        fixes = tuple(
            fix if fix.applicability == applicability else replace(fix, applicability=applicability)
            for fix in finding.fixes
        )
        changed = changed or fixes != finding.fixes
        findings.append(replace(finding, fixes=fixes))
    return replace(result, findings=tuple(findings)) if changed else result


def check_source(text: str, path: str = "<string>", settings: Settings = DEFAULT_SETTINGS) -> CheckResult:
    return check_document(Document(text, path), settings)


def hover_at(
    document: Document,
    position: Position,
    settings: Settings = DEFAULT_SETTINGS,
    workspace: Workspace | Project | None = None,
    cells: CellLines | None = None,
) -> HoverText | None:
    """Markdown for what is under ``position`` (1-based line, code-point column).

    On a rule code in a suppression comment: the rule's page. On a mode or grad API
    (``eval``, ``no_grad``...): what it does. On a tracked model (``model`` in
    ``model(x)``): its inferred mode and grad state there.
    """
    locale = normalize_locale(settings.locale)
    found = suppression_code_hover(document, position, locale) or api_hover(document, position, locale)
    if found is None:
        analysis = analyze(document, _project_of(workspace))
        if analysis is not None:
            found = state_hover(document, analysis, position, locale, cells)
    if found is None:
        return None
    markdown, span = found
    return HoverText(markdown, span)


# --- applying fixes until nothing changes ------------------------------------------------------

# Fixes can interact (one moves a statement another anchors on), so fixes are applied one at
# a time with a check after each. A fix that keeps producing new text would loop forever;
# this bounds it, like ruff's 100-iteration limit.
MAX_FIX_PASSES = 100


class Editable(Protocol):
    """What fixes are applied to: a file's text, or a notebook's program of cells."""

    @property
    def text(self) -> str: ...

    def apply(self: EditableT, edits: Sequence[TextEdit]) -> EditableT: ...


@dataclass(frozen=True)
class PlainText:
    """A file's text as an ``Editable``."""

    text: str

    def apply(self, edits: Sequence[TextEdit]) -> PlainText:
        return PlainText(apply_edits(self.text, tuple(edits)))


@dataclass(frozen=True)
class FixRefusal:
    """A fix that was not applied, and why: its edits could not be applied (``edit``, with the
    error), or the result would not parse (``syntax``)."""

    finding: Finding
    fix: Fix
    reason: Literal["edit", "syntax"]
    detail: str = ""


@dataclass(frozen=True)
class FixOutcome(Generic[EditableT]):
    """Where ``fix_until_stable`` stopped.

    ``result`` is the check of ``program`` (None when a check failed: the front reported
    it); ``converged`` is False when ``MAX_FIX_PASSES`` fixes were applied and some
    applicable fix remained.
    """

    program: EditableT
    result: CheckResult | None
    applied: int
    refusals: tuple[FixRefusal, ...]
    converged: bool = True


def fix_until_stable(
    first: CheckResult,
    program: EditableT,
    check: Callable[[EditableT], CheckResult | None],
    unsafe: bool = False,
) -> FixOutcome[EditableT]:
    """Apply fixes one at a time, checking again after each, until none applies.

    The one fix loop of ``check --fix``, the editor's fix-all and notebook fix-all. Fixes
    are tried in the order of their findings (position, code), safe ones only unless
    ``unsafe``. A fix is refused when its edits cannot be applied or its result would not
    parse (code that does not parse is never produced), and skipped when it leads back to
    a text already seen (a fix that does not remove its finding, or two that undo each
    other).
    """
    result = first
    applied = 0
    refusals: list[FixRefusal] = []
    refused: set[tuple[str, Span, str]] = set()
    seen = {program.text}
    while True:
        chosen = _next_fix(result, program, unsafe, refused, seen, refusals)
        if chosen is None:
            return FixOutcome(program, result, applied, tuple(refusals))
        if applied >= MAX_FIX_PASSES:
            return FixOutcome(program, result, applied, tuple(refusals), converged=False)
        program = chosen
        seen.add(program.text)
        applied += 1
        checked = check(program)
        if checked is None:
            return FixOutcome(program, None, applied, tuple(refusals))
        result = checked


def _next_fix(
    result: CheckResult,
    program: EditableT,
    unsafe: bool,
    refused: set[tuple[str, Span, str]],
    seen: set[str],
    refusals: list[FixRefusal],
) -> EditableT | None:
    """The program after the first fix that applies, recording the ones that do not."""
    if result.parse_failure is not None:
        return None  # positions in a text that does not parse mean nothing
    for finding in sorted(result.findings, key=lambda finding: (finding.span.start, finding.code)):
        for fix in finding.fixes:
            if fix.applicability != "safe" and not unsafe:
                continue
            key = (finding.code, finding.span, fix.title)
            if key in refused:
                continue
            try:
                candidate = program.apply(fix.edits)
            except (ValueError, IndexError) as error:
                refused.add(key)
                refusals.append(FixRefusal(finding, fix, "edit", str(error)))
                continue
            if candidate.text in seen:
                refused.add(key)  # a no-op or a cycle between fixes
                continue
            if parse(candidate.text) is None:
                refused.add(key)
                refusals.append(FixRefusal(finding, fix, "syntax"))
                continue
            return candidate
    return None


# --- the workspace: other files ----------------------------------------------------------------


class Workspace:
    """The fronts' handle on the other files of a project: where imported names are defined.

    A check given a workspace follows calls and classes into the files it imports (and,
    with ``library_paths``, into installed packages); without one a document is analysed
    alone. The workspace keeps one analysis per file and content; the fronts tell it when a
    file changed and learn which of the files they show read it.
    """

    def __init__(
        self,
        roots: Iterable[Path] = (),
        reader: Callable[[Path], str | None] = read_disk,
        library_paths: Sequence[Path] = (),
    ) -> None:
        self.project = Project(roots, reader, library_paths)

    @classmethod
    def for_paths(cls, paths: Iterable[Path], follow_installed: bool = True) -> Workspace:
        """The CLI's workspace: each checked path's project root (pyproject.toml, setup.py or
        .git above it, else its folder); with ``follow_installed``, this interpreter's
        site-packages too (the checked project's dependencies, when the CLI runs in its
        environment)."""
        workspace = cls()
        workspace.project = project_for_paths(paths, interpreter_library_paths() if follow_installed else ())
        return workspace

    @property
    def roots(self) -> list[Path]:
        return self.project.roots

    def add_root(self, root: Path) -> None:
        self.project.add_root(root)

    def changed(self, path: Path, text: str | None = None) -> set[Path]:
        """``path`` has a new ``text`` (None: created, deleted, or back to the disk's): the
        files whose analysis read it, which are stale now."""
        return self.project.changed(path, text)

    def release(self, path: Path) -> None:
        """Drop ``path``'s parse and analysis to save memory (its text did not change)."""
        self.project.release(path)

    def document_of(self, path: str) -> Document | None:
        """Another file as it was analysed: for the ranges of related places in it."""
        return self.project.document_of(path)


def _project_of(workspace: Workspace | Project | None) -> Project | None:
    """The analysis' project behind a workspace (tests of the analysis pass one directly)."""
    return workspace.project if isinstance(workspace, Workspace) else workspace


# --- the rule catalogue ------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInfo:
    """What the fronts list and explain of a rule (``torchmode rules``, ``explain``, SARIF)."""

    code: str
    name: str
    rule: type[Rule] | None = None  # None for entries made up by tests

    def summary(self, locale: str) -> str:
        return self.rule.summary(locale) if self.rule is not None else ""

    @property
    def default_severity(self) -> Severity:
        return self.rule.default_severity if self.rule is not None else Severity.WARNING

    def url(self) -> str:
        return self.rule.url() if self.rule is not None else ""

    @cached_property
    def fix_applicabilities(self) -> tuple[str, ...]:
        """The kinds of fix ("safe", "unsafe") the rule offers on its own INVALID examples.

        Read from what the rule does rather than declared next to it, so the listing
        cannot claim a fix the rule does not make.
        """
        if self.rule is None:
            return ()
        found: set[str] = set()
        settings = Settings(select=(self.code,))
        for example in self.rule.INVALID:
            try:
                result = check_document(Document(example.code, "<example>"), settings)
            except Exception:  # a listing must not fail on a rule bug; the rule's own tests catch it
                continue
            for finding in result.findings:
                if finding.code == self.code:
                    found.update(fix.applicability for fix in finding.fixes)
        return tuple(kind for kind in ("safe", "unsafe") if kind in found)

    def fix_label(self) -> str:
        """``yes`` with a safe fix, ``unsafe`` when every fix needs --unsafe-fixes, else ``no``."""
        kinds = self.fix_applicabilities
        return "yes" if "safe" in kinds else "unsafe" if kinds else "no"

    def docs(self, locale: str) -> str | None:
        """The rule's Markdown page, or None when it ships none."""
        if self.rule is None:
            return None
        try:
            docs = self.rule.explanation(locale)
        except OSError:  # the page is missing from the installed package
            return None
        return docs if docs.strip() else None


def rule_catalogue() -> tuple[RuleInfo, ...]:
    """Every rule, by code."""
    return tuple(
        sorted((RuleInfo(rule.code, rule.name, rule) for rule in ALL_RULES), key=lambda info: info.code)
    )


def rule_codes() -> tuple[str, ...]:
    """Every rule code, for configuration (``select``, ``ignore``, ``severity``...)."""
    return tuple(rule.code for rule in ALL_RULES)
