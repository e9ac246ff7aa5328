"""TM203 missing-zero-grad: message, fix title and related-information texts.

The accumulation claim (a second ``backward()`` adds to ``.grad``, so the step applies
the sum) is observed in tests/runtime/test_grad_rules_runtime.py.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "TM203.summary": {
        "en": "A training loop steps the optimizer without clearing the gradients",
        "zh-cn": "训练循环在更新参数前没有清零梯度",
    },
    "TM203.message": {
        "en": "`{step}` runs on every iteration of this loop, but nothing in the loop clears the gradients{outside}: `{backward}` adds to each parameter's `.grad`, so every step applies the sum of the gradients of all batches so far. Call {clears} once per iteration, before the backward pass.",
        "zh-cn": "`{step}` 在这个循环的每次迭代中都会执行,但循环中没有任何语句清零梯度{outside}:`{backward}` 会把梯度累加到每个参数的 `.grad` 上,因此每一步更新用的都是此前所有 batch 梯度之和。请在每次迭代的反向传播之前调用 {clears}。",
    },
    "TM203.outside": {
        "en": " (`{site}` on {line} runs outside it)",
        "zh-cn": "({line}的 `{site}` 在循环之外)",
    },
    "TM203.related.backward": {
        "en": "this backward pass adds to the gradients left by the previous iterations",
        "zh-cn": "这次反向传播会在之前迭代留下的梯度上继续累加",
    },
    "TM203.related.outside": {
        "en": "gradients are cleared here only, outside the loop",
        "zh-cn": "只在循环之外的此处清零梯度",
    },
    "TM203.fix.before_forward": {
        "en": "Insert {clears} before the forward pass of each iteration",
        "zh-cn": "在每次迭代的前向计算之前插入 {clears}",
    },
    "TM203.fix.before_backward": {
        "en": "Insert {clears} before the backward pass of each iteration",
        "zh-cn": "在每次迭代的反向传播之前插入 {clears}",
    },
}
