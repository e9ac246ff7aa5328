"""TM202 backward-under-no-grad: message, causes, fix titles and related-information texts.

Every claim here is observed in tests/runtime/test_grad_rules_runtime.py: the RuntimeError
and its text when the tensor was computed with autograd off, and no error when only
``backward()`` itself runs inside ``no_grad``.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "TM202.summary": {
        "en": "backward() on a tensor computed with autograd off raises RuntimeError",
        "zh-cn": "对在 autograd 关闭时计算出的张量调用 backward() 会抛出 RuntimeError",
    },
    "TM202.message": {
        "en": '`{call}` raises RuntimeError ("element 0 of tensors does not require grad and does not have a grad_fn"): `{tensor}` is computed at {line} with autograd off ({cause}), so it has no graph to run backward through. Compute it with autograd on; `backward()` itself may run inside `no_grad`.',
        "zh-cn": '`{call}` 会抛出 RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn"):`{tensor}` 在{line}计算时 autograd 处于关闭状态({cause}),因此它没有可供反向传播的计算图。请在开启 autograd 时计算它;`backward()` 本身放在 `no_grad` 中执行并无问题。',
    },
    "TM202.message.leak": {
        "en": '`{call}` raises RuntimeError ("element 0 of tensors does not require grad and does not have a grad_fn") once `{site}` ({site_line}) has run{inner}: nothing turns autograd back on after it, so from then on `{tensor}` ({line}) is computed without a graph to run backward through. Scope the evaluation with `with torch.no_grad():` instead of a bare `torch.set_grad_enabled(False)`, or call `torch.set_grad_enabled(True)` after it.',
        "zh-cn": '一旦 `{site}`({site_line})执行过{inner},`{call}` 就会抛出 RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn"):之后没有任何语句重新开启 autograd,因此此后 `{tensor}`({line})在计算时没有可供反向传播的计算图。请用 `with torch.no_grad():` 限定评估的范围,而不是直接调用 `torch.set_grad_enabled(False)`;或在其后调用 `torch.set_grad_enabled(True)`。',
    },
    "TM202.leak.inner": {
        "en": " (it runs `{site}`, {line})",
        "zh-cn": "(它执行了 `{site}`,{line})",
    },
    "TM202.related.leaking_call": {
        "en": "this call turns autograd off and leaves it off",
        "zh-cn": "此调用关闭了 autograd 且没有恢复",
    },
    "TM202.cause.scoped": {
        "en": "under `{site}`, {line}",
        "zh-cn": "处于 `{site}`({line})之下",
    },
    "TM202.cause.unscoped": {
        "en": "`{site}` ({line}) turns autograd off and nothing turns it back on",
        "zh-cn": "`{site}`({line})关闭了 autograd,且之后没有任何语句重新开启",
    },
    "TM202.cause.through_call": {
        "en": "`{call}` ({call_line}) runs `{site}` ({line}) and nothing turns autograd back on",
        "zh-cn": "`{call}`({call_line})执行了 `{site}`({line}),且之后没有任何语句重新开启 autograd",
    },
    "TM202.cause.decorated": {
        "en": "inside `{function}`, decorated with `@{decorator}` on {line}",
        "zh-cn": "在带有装饰器 `@{decorator}`({line})的 `{function}` 内部",
    },
    "TM202.cause.callers": {
        "en": "every call of this function in the file runs with autograd off, e.g. `{call}` ({line})",
        "zh-cn": "本文件中对该函数的每次调用都在 autograd 关闭时进行,例如 `{call}`({line})",
    },
    "TM202.cause.unknown": {
        "en": "autograd is off there",
        "zh-cn": "该处 autograd 已关闭",
    },
    "TM202.related.computed": {
        "en": "`{tensor}` is computed here, with autograd off",
        "zh-cn": "`{tensor}` 在此处计算,此时 autograd 已关闭",
    },
    "TM202.related.computed_leak": {
        "en": "`{tensor}` is computed here; autograd is off here once that call has run",
        "zh-cn": "`{tensor}` 在此处计算;那次调用执行之后,此处 autograd 处于关闭状态",
    },
    "TM202.related.off_site": {
        "en": "autograd is turned off here",
        "zh-cn": "autograd 在此处被关闭",
    },
    "TM202.related.caller": {
        "en": "this call runs with autograd off",
        "zh-cn": "此调用在 autograd 关闭时执行",
    },
    "TM202.fix.unwrap": {
        "en": "Remove `with {context_text}:` so the forward pass and `backward()` run with autograd on",
        "zh-cn": "去掉 `with {context_text}:`,让前向计算和 `backward()` 在开启 autograd 时执行",
    },
    "TM202.fix.move_out": {
        "en": "Move the loss computation and `backward()` out of `with {context_text}:`",
        "zh-cn": "把损失的计算和 `backward()` 移出 `with {context_text}:`",
    },
}
