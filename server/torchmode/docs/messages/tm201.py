"""TM201 eval-without-no-grad: message, fix titles and related-information texts.

The claims (outputs require grad, a graph with saved tensors is kept, a running total
keeps every batch's graph reachable) are observed in tests/runtime/test_grad_rules_runtime.py.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "TM201.summary": {
        "en": "An evaluation forward pass runs with autograd on",
        "zh-cn": "评估时的前向计算在 autograd 开启的状态下执行",
    },
    "TM201.message": {
        "en": "`{call}` runs in an evaluation ({where}) with autograd on{how}: PyTorch records a graph for it and keeps the tensors backward would need, so its outputs have `requires_grad=True` and it costs memory and time.{total} Wrap the evaluation in `with torch.no_grad():`.",
        "zh-cn": "`{call}` 在评估中({where})执行时仍处于梯度计算模式(autograd 开启){how}:PyTorch 会为它记录计算图并保存反向传播所需的张量,因此输出的 `requires_grad=True`,既占显存又耗时间。{total}请把评估放进 `with torch.no_grad():` 中。",
    },
    "TM201.total": {
        "en": " Here `{statement}` ({line}) adds up such tensors, which keeps every batch's graph alive until the total is freed.",
        "zh-cn": "此处{line}的 `{statement}` 把这样的张量累加起来,每个 batch 的计算图都会一直保留,直到总和被释放。",
    },
    "TM201.where.function": {
        "en": "function `{function}`",
        "zh-cn": "函数 `{function}`",
    },
    "TM201.where.loop": {
        "en": "loop over `{loop}`",
        "zh-cn": "遍历 `{loop}` 的循环",
    },
    "TM201.where.loaded": {
        "en": "inference with loaded weights",
        "zh-cn": "使用已加载权重的推理",
    },
    "TM201.how.caller": {
        "en": " (`{call}` on {line} calls it that way)",
        "zh-cn": ",{line}的 `{call}` 就是这样调用它的",
    },
    "TM201.how.no_caller": {
        "en": " unless its caller turns autograd off (no call of `{function}` in this file is known)",
        "zh-cn": ",除非调用者关闭了 autograd(本文件中没有找到对 `{function}` 的调用)",
    },
    "TM201.related.caller": {
        "en": "this call runs the evaluation with autograd on",
        "zh-cn": "此调用在 autograd 开启时执行评估",
    },
    "TM201.related.other_forward": {
        "en": "another forward pass of the same evaluation, also with autograd on",
        "zh-cn": "同一评估中的另一次前向计算,同样开启了 autograd",
    },
    "TM201.fix.wrap": {
        "en": "Wrap the evaluation in `with {context}:`",
        "zh-cn": "把评估放进 `with {context}:` 中",
    },
    "TM201.fix.decorate": {
        "en": "Decorate `{function}` with `@{decorator}`",
        "zh-cn": "给 `{function}` 加上装饰器 `@{decorator}`",
    },
    "TM201.fix.inference_mode": {
        "en": "Wrap the evaluation in `with {context}:` (faster; its tensors cannot be used by autograd later)",
        "zh-cn": "把评估放进 `with {context}:` 中(更快;其中产生的张量之后不能再用于 autograd)",
    },
}
