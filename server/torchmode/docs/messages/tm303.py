"""TM303 functional-dropout-ignores-mode: messages and fix titles.

Each sentence about PyTorch is checked in tests/runtime/test_tm301_tm303_runtime.py.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "TM303.summary": {
        "en": "Functional dropout in an `nn.Module` ignores `model.eval()` / `model.train()`",
        "zh-cn": "`nn.Module` 中的函数式 dropout 不受 `model.eval()` / `model.train()` 控制",
    },
    "TM303.message.default_on": {
        "en": (
            "`{function}` without `training=` ignores the module's mode: `training` defaults to True, so "
            "dropout stays on after `model.eval()` and evaluation and inference outputs are random. "
            "Pass `training={instance}.training`."
        ),
        "zh-cn": (
            "没有 `training=` 参数的 `{function}` 不受模块模式控制:`training` 默认为 True,"
            "调用 `model.eval()` 之后 dropout 仍然生效,评估和推理的输出是随机的。"
            "请传入 `training={instance}.training`。"
        ),
    },
    "TM303.message.default_off": {
        "en": (
            "`{function}` without `training=` ignores the module's mode: `training` defaults to False, so "
            "it never drops anything, not even in train mode. Pass `training={instance}.training`."
        ),
        "zh-cn": (
            "没有 `training=` 参数的 `{function}` 不受模块模式控制:`training` 默认为 False,"
            "即使在 train 模式下它也什么都不丢弃。请传入 `training={instance}.training`。"
        ),
    },
    "TM303.message.module_built": {
        "en": (
            "`{constructor}` is built inside `{method}`, so every call makes a new module, and a new module "
            "is in train mode: `model.eval()` never reaches it and dropout stays on in evaluation and "
            "inference. Build it once in `__init__` (`{instance}.dropout = {constructor}`), or call "
            "`F.{function}(..., training={instance}.training)`."
        ),
        "zh-cn": (
            "`{constructor}` 在 `{method}` 中构建,每次调用都会新建一个模块,而新模块处于 train 模式:"
            "`model.eval()` 影响不到它,评估和推理时 dropout 仍然生效。请在 `__init__` 中构建一次"
            "(`{instance}.dropout = {constructor}`),或调用 `F.{function}(..., training={instance}.training)`。"
        ),
    },
    "TM303.fix.add_training": {
        "en": "Pass `{keyword}`",
        "zh-cn": "传入 `{keyword}`",
    },
    "TM303.fix.functional": {
        "en": "Replace with `{replacement}`",
        "zh-cn": "替换为 `{replacement}`",
    },
}
