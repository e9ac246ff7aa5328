"""TM302 grad-context-not-called: messages and fix titles.

The TypeError of ``with torch.no_grad:`` (and of its siblings) and the lack of any effect
of a bare ``torch.no_grad()`` statement are observed in tests/runtime/test_grad_rules_runtime.py.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "TM302.summary": {
        "en": "A grad-mode context manager is used without its call",
        "zh-cn": "梯度模式的上下文管理器没有被调用",
    },
    "TM302.message.with": {
        "en": "`with {name}:` raises TypeError (\"'type' object does not support the context manager protocol\"; AttributeError `__enter__` before Python 3.11) when it runs: `{name}` is a class, and only an instance, `{name}()`, can be entered. Add `()`.",
        "zh-cn": "`with {name}:` 执行时会抛出 TypeError(\"'type' object does not support the context manager protocol\";Python 3.11 之前是 AttributeError `__enter__`):`{name}` 是一个类,只有它的实例 `{name}()` 才能用于 `with`。请加上 `()`。",
    },
    "TM302.message.with_set_grad_enabled": {
        "en": "`with {name}:` raises TypeError (\"'type' object does not support the context manager protocol\"; AttributeError `__enter__` before Python 3.11) when it runs: `{name}` is a class and needs the mode to build the context manager. Write `with {name}(False):` (or a flag such as `is_train`).",
        "zh-cn": "`with {name}:` 执行时会抛出 TypeError(\"'type' object does not support the context manager protocol\";Python 3.11 之前是 AttributeError `__enter__`):`{name}` 是一个类,需要传入模式才能得到上下文管理器。请写成 `with {name}(False):`(或传入 `is_train` 之类的标志)。",
    },
    "TM302.message.bare": {
        "en": "`{call}` on its own has no effect: it builds a context manager and throws it away without entering it, so the grad mode of the code after it does not change. Use `with {call}:` around that code, or decorate the function.",
        "zh-cn": "单独一行的 `{call}` 不起任何作用:它创建了一个上下文管理器,却没有进入就把它丢弃了,因此其后代码的梯度模式不会改变。请用 `with {call}:` 包住那段代码,或给函数加上装饰器。",
    },
    "TM302.fix.call": {
        "en": "Call it: `{name}()`",
        "zh-cn": "加上调用:`{name}()`",
    },
    "TM302.fix.wrap": {
        "en": "Wrap the statements that follow in `with {context}:`",
        "zh-cn": "把其后的语句放进 `with {context}:` 中",
    },
}
