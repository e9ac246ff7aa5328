"""Code action titles that belong to no rule: suppressing a finding, fixing every finding."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "action.suppress": {"en": "Disable {code} for this line", "zh-cn": "在此行禁用 {code}"},
    "action.fix_all": {"en": "Fix all torchmode issues", "zh-cn": "修复所有 torchmode 问题"},
}
