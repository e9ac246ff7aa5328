"""TM301 mode-method-not-called: message, fix title and related-information texts.

Each sentence about PyTorch is checked in tests/runtime/test_tm301_tm303_runtime.py.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "TM301.summary": {
        "en": "`model.eval` / `model.train` without `()` does nothing",
        "zh-cn": "`model.eval` / `model.train` 缺少 `()`,不起任何作用",
    },
    # eval without (), by the mode the model is in at that line.
    "TM301.message.eval.train": {
        "en": (
            "`{expr}` without `()` does nothing: it only looks the method up. `{path}` stays in train "
            "mode{since}, so dropout stays active and batch norm keeps normalising with batch statistics "
            "and updating its running statistics. Call it: `{expr}()`."
        ),
        "zh-cn": (
            "缺少 `()` 的 `{expr}` 不起任何作用:它只是取到了这个方法。`{path}` 仍处于 train 模式{since},"
            "Dropout 仍然生效,BatchNorm 仍用当前 batch 的统计量归一化并更新 running 统计量。"
            "请调用它:`{expr}()`。"
        ),
    },
    "TM301.message.eval.unknown": {
        "en": (
            "`{expr}` without `()` does nothing: it only looks the method up. `{path}` keeps the mode it "
            "had (a module is in train mode until `eval()` is called), so dropout and batch norm are "
            "not switched to evaluation behaviour. Call it: `{expr}()`."
        ),
        "zh-cn": (
            "缺少 `()` 的 `{expr}` 不起任何作用:它只是取到了这个方法。`{path}` 保持原来的模式"
            "(模块在调用 `eval()` 之前一直处于 train 模式),Dropout 和 BatchNorm 不会切换到评估行为。"
            "请调用它:`{expr}()`。"
        ),
    },
    "TM301.message.eval.eval": {
        "en": (
            "`{expr}` without `()` does nothing: it only looks the method up. `{path}` is already in eval "
            "mode here{since}, but not because of this line, which changes nothing. "
            "Call it: `{expr}()`."
        ),
        "zh-cn": (
            "缺少 `()` 的 `{expr}` 不起任何作用:它只是取到了这个方法。`{path}` 此处已处于 eval 模式{since},"
            "但这并不是这一行的作用,这一行什么也没改变。请调用它:`{expr}()`。"
        ),
    },
    # train without (), by the mode the model is in at that line.
    "TM301.message.train.eval": {
        "en": (
            "`{expr}` without `()` does nothing: it only looks the method up. `{path}` stays in eval "
            "mode{since}, so it trains with dropout off and batch-norm statistics frozen. "
            "Call it: `{expr}()`."
        ),
        "zh-cn": (
            "缺少 `()` 的 `{expr}` 不起任何作用:它只是取到了这个方法。`{path}` 仍处于 eval 模式{since},"
            "训练时 Dropout 关闭、BatchNorm 统计量冻结。请调用它:`{expr}()`。"
        ),
    },
    "TM301.message.train.unknown": {
        "en": (
            "`{expr}` without `()` does nothing: it only looks the method up. `{path}` keeps the mode it "
            "had: after an earlier `eval()` it trains with dropout off and batch-norm statistics "
            "frozen. Call it: `{expr}()`."
        ),
        "zh-cn": (
            "缺少 `()` 的 `{expr}` 不起任何作用:它只是取到了这个方法。`{path}` 保持原来的模式:"
            "如果之前调用过 `eval()`,训练时 Dropout 关闭、BatchNorm 统计量冻结。请调用它:`{expr}()`。"
        ),
    },
    "TM301.message.train.train": {
        "en": (
            "`{expr}` without `()` does nothing: it only looks the method up. `{path}` is already in train "
            "mode here{since}, but not because of this line, which changes nothing: "
            "after an `eval()` the model would stay in eval mode. Call it: `{expr}()`."
        ),
        "zh-cn": (
            "缺少 `()` 的 `{expr}` 不起任何作用:它只是取到了这个方法。`{path}` 此处已处于 train 模式{since},"
            "但这并不是这一行的作用,这一行什么也没改变:如果之前执行过 `eval()`,模型会停留在 eval 模式。请调用它:`{expr}()`。"
        ),
    },
    "TM301.since.call": {
        "en": " (since `{site}`, {line})",
        "zh-cn": "(来自{line}的 `{site}`)",
    },
    "TM301.since.built": {
        "en": " (as built, {line})",
        "zh-cn": "(构建于{line})",
    },
    "TM301.related.eval": {
        "en": "`{path}` was switched to eval mode here",
        "zh-cn": "`{path}` 在这里被切换到 eval 模式",
    },
    "TM301.related.train": {
        "en": "`{path}` was put in train mode here",
        "zh-cn": "`{path}` 在这里处于 train 模式",
    },
    "TM301.related.built": {
        "en": "`{path}` was built here, in train mode",
        "zh-cn": "`{path}` 在这里构建,处于 train 模式",
    },
    "TM301.fix.call": {
        "en": "Call it: `{expr}()`",
        "zh-cn": "调用它:`{expr}()`",
    },
}
