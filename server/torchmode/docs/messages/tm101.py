"""TM101 train-step-in-eval-mode: message, fix titles and related-information texts."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "TM101.summary": {
        "en": "A training step can run with the model in eval mode",
        "zh-cn": "训练步骤可能在模型处于 eval 模式时执行",
    },
    "TM101.message": {
        "en": "`{path}` may be in eval mode here: {cause}, and {reset}. {consequence}",
        "zh-cn": "此处 `{path}` 可能处于 eval 模式:{cause},而{reset}。{consequence}",
    },
    "TM101.cause.call": {
        "en": "`{site}` ({line}) switches it to eval{when}",
        "zh-cn": "{when}`{site}`({line})把它切换到了 eval 模式",
    },
    "TM101.cause.direct": {
        "en": "`{site}` ({line}) switches it to eval{when}",
        "zh-cn": "{when}`{site}`({line})把它切换到了 eval 模式",
    },
    "TM101.cause.pretrained": {
        "en": "`{site}` ({line}) returns it in eval mode (`from_pretrained` calls `eval()`){when}",
        "zh-cn": "`{site}`({line})返回的模型处于 eval 模式(`from_pretrained` 会调用 `eval()`){when}",
    },
    "TM101.cause.flag": {
        "en": "`{site}` ({line}) switches it to eval whenever `{flag}` is false{when}",
        "zh-cn": "{when}`{site}`({line})在 `{flag}` 为假时把它切换到了 eval 模式",
    },
    "TM101.when.earlier_iteration": {"en": " on an earlier iteration", "zh-cn": "在之前的迭代中,"},
    "TM101.when.before_step": {"en": " before this step", "zh-cn": "在这一步之前,"},
    "TM101.when.none": {"en": "", "zh-cn": ""},
    "TM101.reset.once_before_loop": {
        "en": "`{site}` ({line}) runs only once, before the loop",
        "zh-cn": "`{site}`({line})只在循环开始前执行一次",
    },
    "TM101.reset.fresh": {
        "en": "it is in train mode only as built ({line}), before the loop",
        "zh-cn": "它只在构建时({line})处于 train 模式,那是在循环开始之前",
    },
    "TM101.reset.not_every_path": {
        "en": "`{site}` ({line}) does not run on every path to this step",
        "zh-cn": "`{site}`({line})并非在到达此处的每条路径上都会执行",
    },
    "TM101.reset.nothing": {
        "en": "nothing switches it back to train in between",
        "zh-cn": "在此之间没有任何语句把它切回 train 模式",
    },
    "TM101.consequence.loop": {
        "en": "Dropout is off and batch-norm statistics are frozen for every later batch.",
        "zh-cn": "之后的每个 batch 都会在 Dropout 关闭、BatchNorm 统计量冻结的状态下训练。",
    },
    "TM101.consequence.step": {
        "en": "Dropout is off and batch-norm statistics are frozen during this training step.",
        "zh-cn": "这一训练步骤中 Dropout 关闭、BatchNorm 统计量冻结。",
    },
    "TM101.message.callee": {
        "en": "`{path}` may be in eval mode here: `{function}` never switches it to train, and `{call}` ({call_line}) runs it after `{site}` ({line}) switched it to eval{when}. {consequence}",
        "zh-cn": "此处 `{path}` 可能处于 eval 模式:`{function}` 从未把它切换到 train 模式,而 `{call}`({call_line})调用它时,`{site}`({line}){when}已把它切换到 eval 模式。{consequence}",
    },
    "TM101.message.global": {
        "en": "`{path}` may be in eval mode here: `{function}` never switches it to train, and `{site}` ({line}) leaves the global `{path}` in eval mode. {consequence}",
        "zh-cn": "此处 `{path}` 可能处于 eval 模式:`{function}` 从未把它切换到 train 模式,而 `{site}`({line})使全局变量 `{path}` 处于 eval 模式。{consequence}",
    },
    "TM101.callee_when.earlier_iteration": {"en": " on an earlier iteration", "zh-cn": "在之前的迭代中"},
    "TM101.callee_when.none": {"en": "", "zh-cn": ""},
    "TM101.consequence.call": {
        "en": "Dropout is off and batch-norm statistics are frozen while it trains.",
        "zh-cn": "训练时 Dropout 关闭、BatchNorm 统计量冻结。",
    },
    "TM101.related.call_site": {
        "en": "calls `{function}` while `{path}` may be in eval mode",
        "zh-cn": "调用 `{function}` 时 `{path}` 可能处于 eval 模式",
    },
    "TM101.fix.insert_function_start": {
        "en": "Insert `{statement}` at the start of `{function}`",
        "zh-cn": "在 `{function}` 开头插入 `{statement}`",
    },
    "TM101.related.eval_call": {
        "en": "switches `{path}` to eval mode (through this call)",
        "zh-cn": "(通过这次调用)把 `{path}` 切换到 eval 模式",
    },
    "TM101.related.eval_direct": {
        "en": "switches `{path}` to eval mode",
        "zh-cn": "把 `{path}` 切换到 eval 模式",
    },
    "TM101.related.eval_inner": {
        "en": "`{site}` runs here, inside `{function}`",
        "zh-cn": "`{site}` 在这里执行,位于 `{function}` 内",
    },
    "TM101.related.train_once": {
        "en": "train mode is set here only once, before the loop",
        "zh-cn": "train 模式只在这里、循环开始前设置一次",
    },
    "TM101.related.train_site": {
        "en": "train mode is set here",
        "zh-cn": "train 模式在这里设置",
    },
    "TM101.fix.move": {
        "en": "Move `{statement}` into the loop",
        "zh-cn": "把 `{statement}` 移到循环内",
    },
    "TM101.fix.insert_loop_start": {
        "en": "Insert `{statement}` at the start of the loop body",
        "zh-cn": "在循环体开头插入 `{statement}`",
    },
    "TM101.fix.insert_before_step": {
        "en": "Insert `{statement}` before the training step",
        "zh-cn": "在训练步骤之前插入 `{statement}`",
    },
    "TM101.fix.restore_after_call": {
        "en": "Restore train mode after `{site}`",
        "zh-cn": "在 `{site}` 之后恢复 train 模式",
    },
}
