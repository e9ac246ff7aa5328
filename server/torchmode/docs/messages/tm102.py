"""TM102 eval-in-train-mode: messages, fix titles and related-information texts."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "TM102.summary": {
        "en": "An evaluation runs while the model may be in train mode",
        "zh-cn": "评估时模型可能处于 train 模式",
    },
    "TM102.where.function": {"en": "the evaluation `{detail}`", "zh-cn": "评估函数 `{detail}` 中"},
    "TM102.where.loop": {
        "en": "the evaluation loop over `{detail}`",
        "zh-cn": "遍历 `{detail}` 的评估循环中",
    },
    "TM102.where.no_grad": {"en": "this no_grad evaluation{detail}", "zh-cn": "这段 no_grad 评估中{detail}"},
    "TM102.where.switched": {"en": "the evaluation in `{detail}`", "zh-cn": "`{detail}` 中的评估"},
    "TM102.where.loaded": {
        "en": "this inference with loaded weights{detail}",
        "zh-cn": "这段使用已加载权重的推理中{detail}",
    },
    "TM102.consequence": {
        "en": "Dropout stays on and batch norm normalises with batch statistics and updates its running estimates: the results are noisy and evaluating changes the model.",
        "zh-cn": "Dropout 仍然开启,BatchNorm 使用当前 batch 的统计量归一化并更新 running 统计量:结果带有随机性,评估还会改变模型。",
    },
    "TM102.message.fresh": {
        "en": "`{path}` is in train mode in {where}: `{site}` ({line}) builds it and a new module starts in train mode, and nothing calls `{path}.eval()` before this forward pass. {consequence}",
        "zh-cn": "`{path}` 在{where}处于 train 模式:`{site}`({line})构建了它,新建的模块默认处于 train 模式,而在这次前向计算之前没有调用 `{path}.eval()`。{consequence}",
    },
    "TM102.message.switch": {
        "en": "`{path}` may be in train mode in {where}: `{site}` ({line}) switches it to train and nothing calls `{path}.eval()` before this forward pass. {consequence}",
        "zh-cn": "`{path}` 在{where}可能处于 train 模式:`{site}`({line})把它切换到 train 模式,而在这次前向计算之前没有调用 `{path}.eval()`。{consequence}",
    },
    "TM102.message.call": {
        "en": "`{path}` may be in train mode in {where}: `{site}` ({line}) switches it to train and nothing calls `{path}.eval()` before this forward pass. {consequence}",
        "zh-cn": "`{path}` 在{where}可能处于 train 模式:`{site}`({line})通过调用把它切换到 train 模式,而在这次前向计算之前没有调用 `{path}.eval()`。{consequence}",
    },
    "TM102.message.caller_flag": {
        "en": "`{path}` may be in train mode in {where}: `{function}` calls `{path}.eval()` only when `{condition}`, which `{call}(…)` ({call_line}) does not make true, and it passes the model in train mode (set by `{site}`, {line}). {consequence}",
        "zh-cn": "`{path}` 在{where}可能处于 train 模式:`{function}` 只在 `{condition}` 时才调用 `{path}.eval()`,而 `{call}(…)`({call_line})的参数不满足这一条件,传入时模型又处于 train 模式(由{line}的 `{site}` 设置)。{consequence}",
    },
    "TM102.message.caller": {
        "en": "`{path}` may be in train mode in {where}: `{function}` never calls `{path}.eval()`, and `{call}(…)` ({call_line}) passes it in train mode (set by `{site}`, {line}). {consequence}",
        "zh-cn": "`{path}` 在{where}可能处于 train 模式:`{function}` 从未调用 `{path}.eval()`,而 `{call}(…)`({call_line})传入时它处于 train 模式(由{line}的 `{site}` 设置)。{consequence}",
    },
    "TM102.related.fresh": {"en": "built here, in train mode", "zh-cn": "在这里构建,处于 train 模式"},
    "TM102.related.switch": {"en": "switched to train mode here", "zh-cn": "在这里切换到 train 模式"},
    "TM102.related.call": {
        "en": "switches it to train mode (through this call)",
        "zh-cn": "(通过这次调用)把它切换到 train 模式",
    },
    "TM102.related.caller": {
        "en": "passes `{path}` in train mode",
        "zh-cn": "传入的 `{path}` 处于 train 模式",
    },
    "TM102.related.train_site": {"en": "train mode is set here", "zh-cn": "train 模式在这里设置"},
    "TM102.fix.function_start": {
        "en": "Insert `{statement}` at the start of `{function}`",
        "zh-cn": "在 `{function}` 开头插入 `{statement}`",
    },
    "TM102.fix.before": {
        "en": "Insert `{statement}` before the evaluation",
        "zh-cn": "在评估之前插入 `{statement}`",
    },
}
