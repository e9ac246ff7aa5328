"""What to report, how severely, in which language, and the names that mark evaluations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from torchmode.findings import Severity

# Words that make a function or loop an evaluation; configurable as ``eval-names``.
DEFAULT_EVAL_NAMES = (
    "eval",
    "evaluate",
    "evaluation",
    "validate",
    "validation",
    "valid",
    "val",
    "test",
    "testing",
    "predict",
    "prediction",
    "infer",
    "inference",
)
# Words that make a function a training driver (``train_and_validate``, ``fit_eval``): its
# name then never makes it an evaluation. Configurable as ``train-names``.
DEFAULT_TRAIN_NAMES = ("train", "training", "fit", "finetune")
# Words that make a data loader an evaluation loader: ``val_loader``, ``dataloaders["test"]``.
DEFAULT_EVAL_LOADER_NAMES = ("val", "valid", "validation", "test", "eval", "dev")

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def name_words(name: str) -> frozenset[str]:
    """``validate_epoch`` -> {validate, epoch}; ``runValidation`` -> {run, validation}."""
    return frozenset(word.lower() for word in _WORD.findall(name))


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
