"""How a rule is declared: metadata, check and its own examples in one class (as in Fixit)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePath
from typing import ClassVar

from torchmode.analysis.facts import FileAnalysis
from torchmode.analysis.lattice import Site
from torchmode.analysis.roles import EvaluationRoles, TrainingRoles
from torchmode.docs import CellLines, line_in_file, line_label, text
from torchmode.findings import Finding, Fix, Related, Severity
from torchmode.settings import Settings
from torchmode.syntax.document import Document
from torchmode.syntax.positions import Span

_RULE_DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


@dataclass(frozen=True)
class Valid:
    """Code on which the rule must stay silent."""

    code: str


@dataclass(frozen=True)
class Invalid:
    """Code on which the rule must report, on ``line`` (1-based, of the first finding).

    ``fixed`` is the whole file after applying the preferred fix, when the rule offers one.
    """

    code: str
    line: int
    fixed: str | None = None


@dataclass(frozen=True)
class RuleContext:
    document: Document
    analysis: FileAnalysis
    locale: str
    settings: Settings = field(default_factory=Settings)
    # A notebook's program: lines in messages are named by cell.
    cells: CellLines | None = None

    @cached_property
    def training(self) -> TrainingRoles:
        return TrainingRoles(self.analysis)

    @cached_property
    def evaluations(self) -> EvaluationRoles:
        return EvaluationRoles(
            self.analysis,
            self.training,
            self.settings.eval_names,
            self.settings.eval_loader_names,
            self.settings.train_names,
        )

    def text(self, key: str, **values: object) -> str:
        """A catalogue text; an ``int`` for ``line`` / ``*_line`` is a line of this document,
        named as the user sees it (a notebook cell's line in a notebook)."""
        return text(key, self.locale, self.cells, **values)

    def related(self, site: Site, message: str) -> Related:
        """A related place from a provenance site, which may be in another file."""
        other = site.path if site.path and site.path != self.document.path else ""
        return Related(site.span, message, other)

    def line_of(self, site: Site) -> str:
        """A site's line for a message: "line 12" (a notebook cell's line in a notebook), or
        "engine.py, line 12" in another file."""
        if site.path and site.path != self.document.path:
            return line_in_file(PurePath(site.path).name, site.span.start.line, self.locale)
        return line_label(site.span.start.line, self.locale, self.cells)


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    default_severity: ClassVar[Severity] = Severity.WARNING
    # Findings about the train/eval mode of a model: harmless (a Hint that says why) for a
    # model whose every layer computes the same in both modes.
    about_model_mode: ClassVar[bool] = False
    VALID: ClassVar[tuple[Valid, ...]] = ()
    INVALID: ClassVar[tuple[Invalid, ...]] = ()

    @classmethod
    def summary(cls, locale: str = "en") -> str:
        return text(f"{cls.code}.summary", locale)

    @classmethod
    def docs_path(cls, locale: str = "en") -> Path:
        suffix = "zh-cn" if locale == "zh-cn" else "en"
        return _RULE_DOCS / f"{cls.code}.{suffix}.md"

    @classmethod
    def url(cls) -> str:
        """A link that works offline: the rule's Markdown page shipped inside the package."""
        return cls.docs_path().as_uri()

    @classmethod
    def explanation(cls, locale: str = "en") -> str:
        return cls.docs_path(locale).read_text(encoding="utf-8")

    @classmethod
    def may_apply(cls, text: str) -> bool:
        """A cheap test on the raw text: False means the rule cannot report anything here.

        When no selected rule may apply, the engine skips the analysis altogether;
        most files of a project have no training loop.
        """
        return True

    def check(self, context: RuleContext) -> Iterator[Finding]:
        raise NotImplementedError

    def report(
        self,
        span: Span,
        message: str,
        *,
        related: Iterable[Related] = (),
        fixes: Iterable[Fix] = (),
        subject: str = "",
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of this rule at ``span`` (as Fixit's ``self.report``): the code, name,
        documentation link and default severity come from the rule."""
        return Finding(
            code=self.code,
            name=self.name,
            message=message,
            span=span,
            severity=self.default_severity if severity is None else severity,
            related=tuple(related),
            fixes=tuple(fixes),
            url=self.url(),
            subject=subject,
        )
