"""What rules report: findings with their provenance and fixes. Free of LSP and CLI types."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from torchmode.syntax.positions import Span, TextEdit


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"
    HINT = "hint"


Applicability = Literal["safe", "unsafe"]


@dataclass(frozen=True)
class Related:
    """A place that explains a finding, e.g. the ``model.eval()`` that caused it."""

    span: Span
    message: str
    # The file it is in when that is not the finding's own (a function imported from
    # another file set the mode); empty for the finding's file.
    path: str = ""


@dataclass(frozen=True)
class Fix:
    """A rewrite that removes a finding. ``safe`` fixes are applied by ``--fix`` and fix-all."""

    title: str
    edits: tuple[TextEdit, ...]
    applicability: Applicability = "safe"


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    message: str
    span: Span
    severity: Severity = Severity.WARNING
    related: tuple[Related, ...] = ()
    fixes: tuple[Fix, ...] = field(default=())
    url: str = ""
    subject: str = ""  # the model path a mode finding is about, when there is one

    @property
    def preferred_fix(self) -> Fix | None:
        return self.fixes[0] if self.fixes else None
