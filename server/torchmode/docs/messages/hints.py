"""Inlay hints at forward calls: the mode (and no-grad) a model may be in there."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "hint.label": {"en": "mode: {modes}", "zh-cn": "模式: {modes}"},
    "hint.no_grad": {"en": " · no-grad", "zh-cn": " · 无梯度"},
    "hint.tooltip": {
        "en": "`{path}` may be in {modes} mode at this call, as far as torchmode can tell.",
        "zh-cn": "据 torchmode 推断,`{path}` 在此处调用时可能处于 {modes} 模式。",
    },
    "hint.unknown": {"en": " (or a mode set elsewhere)", "zh-cn": "(也可能是其他地方设置的模式)"},
}
