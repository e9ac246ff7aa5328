"""State hovers: the mode and grad state of a model at a line, with where each value came from."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "state.title": {"en": "**`{path}`** at {line}", "zh-cn": "{line}的 **`{path}`**"},
    "state.mode": {"en": "**mode**: {modes}", "zh-cn": "**模式**:{modes}"},
    "state.mode.train": {"en": "train", "zh-cn": "train(训练模式)"},
    "state.mode.eval": {"en": "eval", "zh-cn": "eval(评估模式)"},
    "state.mode.entry": {"en": "as the caller left it", "zh-cn": "与调用者传入时相同"},
    "state.mode.unknown": {"en": "unknown", "zh-cn": "未知"},
    "state.grad": {"en": "**grad**: {grads}", "zh-cn": "**梯度**:{grads}"},
    "state.grad.on": {"en": "on", "zh-cn": "开启"},
    "state.grad.off": {"en": "off", "zh-cn": "关闭"},
    "state.grad.entry": {"en": "as the caller left it", "zh-cn": "与调用者相同"},
    "state.grad.unknown": {"en": "unknown", "zh-cn": "未知"},
    "state.value.train": {"en": "train", "zh-cn": "train"},
    "state.value.eval": {"en": "eval", "zh-cn": "eval"},
    "state.value.on": {"en": "grad on", "zh-cn": "梯度开启"},
    "state.value.off": {"en": "grad off", "zh-cn": "梯度关闭"},
    "state.origin": {
        "en": "{value}: set by `{site}` ({line})",
        "zh-cn": "{value}:由 `{site}`({line})设置",
    },
    "state.origin.earlier": {
        "en": "{value}: set by `{site}` ({line}) on an earlier loop iteration",
        "zh-cn": "{value}:由 `{site}`({line})在之前的循环迭代中设置",
    },
    "state.origin.fresh": {
        "en": "{value}: as built by `{site}` ({line})",
        "zh-cn": "{value}:由 `{site}`({line})构建时的模式",
    },
    "state.origin.inner": {
        "en": " → `{site}` ({line}, in `{function}`)",
        "zh-cn": " → `{site}`({line},位于 `{function}`)",
    },
    "state.origin.inner_file": {
        "en": " → `{site}` ({file}, {line}, in `{function}`)",
        "zh-cn": " → `{site}`({file} {line},位于 `{function}`)",
    },
}
