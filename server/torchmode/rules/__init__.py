"""The rule catalogue. Adding a rule: one module here, its texts in docs/, and a line below."""

from __future__ import annotations

from torchmode.rules.base import Invalid, Rule, RuleContext, Valid
from torchmode.rules.tm101_train_step_in_eval_mode import TrainStepInEvalMode

ALL_RULES: list[type[Rule]] = [TrainStepInEvalMode]

RULES_BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}

__all__ = ["ALL_RULES", "RULES_BY_CODE", "Invalid", "Rule", "RuleContext", "Valid"]
