"""The rule catalogue: every module ``tmNNN_<name>.py`` in this package declares one rule.

Adding a rule means adding its module here and its texts in ``docs/`` (messages and
the rule page in both languages); nothing else needs to list it.
"""

from __future__ import annotations

import importlib
import pkgutil

from torchmode.rules.base import Invalid, Rule, RuleContext, Valid


def _discover() -> list[type[Rule]]:
    found: list[type[Rule]] = []
    for module_info in pkgutil.iter_modules(__path__):
        if not module_info.name.startswith("tm"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value.__module__ == module.__name__:
                found.append(value)
    return sorted(found, key=lambda rule: rule.code)


ALL_RULES: list[type[Rule]] = _discover()

RULES_BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}

RULE_CODES: tuple[str, ...] = tuple(RULES_BY_CODE)

__all__ = ["ALL_RULES", "RULES_BY_CODE", "RULE_CODES", "Invalid", "Rule", "RuleContext", "Valid"]
