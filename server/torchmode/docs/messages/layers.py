"""Layer-aware severity: a mode mistake on a model whose layers ignore the mode."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "layers.harmless": {
        "en": "Harmless for `{model}` today: none of its layers depends on the mode (no dropout, batch norm or `self.training`); it becomes a real bug as soon as one is added.",
        "zh-cn": "目前对 `{model}` 无害:它的所有层都与模式无关(没有 Dropout、BatchNorm 或 `self.training`);一旦加入这类层就会成为真正的错误。",
    },
}
