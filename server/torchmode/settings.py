"""What to report, how severely, in which language, and the names that mark evaluations."""

from __future__ import annotations

from dataclasses import dataclass

from torchmode.analysis.roles import DEFAULT_EVAL_LOADER_NAMES, DEFAULT_EVAL_NAMES, DEFAULT_TRAIN_NAMES
from torchmode.findings import Severity


@dataclass(frozen=True)
class Settings:
    """``select``/``ignore`` hold code prefixes (``TM1``, ``TM101``, ``ALL``)."""

    select: tuple[str, ...] = ("TM",)
    ignore: tuple[str, ...] = ()
    locale: str = "en"  # "en" or "zh-cn"
    severity: tuple[tuple[str, Severity], ...] = ()  # per-code overrides of the default severity
    eval_names: tuple[str, ...] = DEFAULT_EVAL_NAMES
    eval_loader_names: tuple[str, ...] = DEFAULT_EVAL_LOADER_NAMES
    train_names: tuple[str, ...] = DEFAULT_TRAIN_NAMES
    # Per-code overrides of fix applicability (``fix-safe`` in [tool.torchmode]): True makes
    # the rule's fixes safe (applied by --fix and fix-all), False makes them unsafe.
    fix_safety: tuple[tuple[str, bool], ...] = ()

    def severity_for(self, code: str, default: Severity) -> Severity:
        return dict(self.severity).get(code, default)
