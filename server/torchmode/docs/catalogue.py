"""All user-facing strings, keyed; ``en`` and ``zh-cn`` side by side so they stay in step.

Hovers live here; each rule's texts live in ``messages/<code>.py`` so that adding
a rule touches its own files only. Claims about PyTorch here are checked against
real torch in tests/runtime/test_torch_facts.py.
"""

from __future__ import annotations

import importlib
import pkgutil

from torchmode.docs import messages

HOVERS: dict[str, dict[str, str]] = {
    # --- hovers ---------------------------------------------------------------------------------
    "hover.train": {
        "en": (
            "**`nn.Module.train(mode=True)`** sets training mode on this module **and every sub-module** "
            "(it recurses), and returns the module itself.\n\n"
            "- Changes: `Dropout` zeroes activations at random; `BatchNorm` normalises with the batch's "
            "statistics and updates its running mean and variance.\n"
            "- Does not change: autograd. Gradients are recorded in both modes; that is `torch.no_grad()`'s job.\n"
            "- `train(False)` is the same as `eval()`; a non-bool `mode` raises `ValueError`.\n"
            "- Common mistake: calling it once before the epoch loop while a validation call inside the "
            "loop switches the model to eval: call it at the start of each training iteration.\n\n"
            "```python\nfor batch in loader:\n    model.train()  # every iteration, after any validation\n```"
        ),
        "zh-cn": (
            "**`nn.Module.train(mode=True)`** 把本模块**及其所有子模块**设为训练模式(递归生效),并返回模块本身。\n\n"
            "- 会改变:`Dropout` 随机置零激活;`BatchNorm` 使用当前 batch 的统计量归一化,并更新 running mean/var。\n"
            "- 不会改变:autograd。两种模式下都会记录梯度,关闭梯度要用 `torch.no_grad()`。\n"
            "- `train(False)` 等同于 `eval()`;`mode` 不是 bool 时抛出 `ValueError`。\n"
            "- 常见错误:只在 epoch 循环前调用一次,而循环里的验证函数把模型切换成了 eval:"
            "应在每次训练迭代开始时调用。\n\n"
            "```python\nfor batch in loader:\n    model.train()  # 每次迭代都调用,放在任何验证之后\n```"
        ),
    },
    "hover.eval": {
        "en": (
            "**`nn.Module.eval()`** sets evaluation mode on this module **and every sub-module**; it is "
            "`train(False)` and returns the module itself.\n\n"
            "- Changes: `Dropout` passes every activation through; `BatchNorm` uses its running estimates "
            "and stops updating them.\n"
            "- Does not change: autograd. A forward pass in eval mode still builds a graph; wrap evaluation "
            "in `with torch.no_grad():` as well.\n"
            "- Written without `()` (`model.eval`) it does nothing at all.\n"
            "- It stays in effect until `train()` is called: after validating inside a training loop, switch back.\n\n"
            "```python\nmodel.eval()\nwith torch.no_grad():\n    val_loss = evaluate(model, val_loader)\nmodel.train()\n```"
        ),
        "zh-cn": (
            "**`nn.Module.eval()`** 把本模块**及其所有子模块**设为评估模式,等同于 `train(False)`,并返回模块本身。\n\n"
            "- 会改变:`Dropout` 让所有激活通过;`BatchNorm` 使用训练中学到的 running 统计量,且不再更新。\n"
            "- 不会改变:autograd。eval 模式下的前向计算仍会构建计算图,评估时还要加上 `with torch.no_grad():`。\n"
            "- 写成 `model.eval`(没有括号)则完全不起作用。\n"
            "- 它一直生效,直到调用 `train()`:在训练循环中验证之后要切换回来。\n\n"
            "```python\nmodel.eval()\nwith torch.no_grad():\n    val_loss = evaluate(model, val_loader)\nmodel.train()\n```"
        ),
    },
    "hover.no_grad": {
        "en": (
            "**`torch.no_grad()`** turns autograd off in this thread while the block (or decorated function) "
            "runs: results have `requires_grad=False`, no graph is kept, memory and time are saved.\n\n"
            "- Does not change: `module.training`. Dropout and batch norm still behave as in the current mode; "
            "a model in train mode still updates batch-norm running statistics under `no_grad`. "
            "Call `model.eval()` too.\n"
            "- `loss.backward()` on a result computed under it raises `RuntimeError`.\n"
            "- Use it as `with torch.no_grad():` or `@torch.no_grad()`; the bare decorator `@torch.no_grad` "
            "works since PyTorch 2.1. `with torch.no_grad:` (no parentheses) raises `TypeError`.\n\n"
            "```python\nmodel.eval()\nwith torch.no_grad():\n    output = model(data)\n```"
        ),
        "zh-cn": (
            "**`torch.no_grad()`** 在代码块(或被装饰的函数)执行期间关闭当前线程的 autograd:"
            "结果的 `requires_grad=False`,不保存计算图,节省显存和时间。\n\n"
            "- 不会改变:`module.training`。Dropout 和 BatchNorm 仍按当前模式工作;"
            "处于 train 模式的模型在 `no_grad` 下仍会更新 BatchNorm 的 running 统计量。还需要调用 `model.eval()`。\n"
            "- 对在其中计算出的结果调用 `loss.backward()` 会抛出 `RuntimeError`。\n"
            "- 用法:`with torch.no_grad():` 或 `@torch.no_grad()`;不带括号的装饰器 `@torch.no_grad` "
            "自 PyTorch 2.1 起可用。`with torch.no_grad:`(无括号)会抛出 `TypeError`。\n\n"
            "```python\nmodel.eval()\nwith torch.no_grad():\n    output = model(data)\n```"
        ),
    },
    "hover.enable_grad": {
        "en": (
            "**`torch.enable_grad()`** turns autograd back on inside a `no_grad` (or `set_grad_enabled(False)`) "
            "region, for this thread, until the block ends.\n\n"
            "- Does not change: `module.training`.\n"
            "- Inside `inference_mode` it reports grad enabled, but tensors created in inference mode still "
            "cannot be used in autograd.\n\n"
            "```python\nwith torch.no_grad():\n    with torch.enable_grad():\n        loss = model(x).sum()  # recorded\n```"
        ),
        "zh-cn": (
            "**`torch.enable_grad()`** 在 `no_grad`(或 `set_grad_enabled(False)`)区域内为当前线程重新开启 autograd,"
            "直到代码块结束。\n\n"
            "- 不会改变:`module.training`。\n"
            "- 在 `inference_mode` 中它会让 `is_grad_enabled()` 为真,但 inference 模式下创建的张量仍不能用于 autograd。\n\n"
            "```python\nwith torch.no_grad():\n    with torch.enable_grad():\n        loss = model(x).sum()  # 会被记录\n```"
        ),
    },
    "hover.inference_mode": {
        "en": (
            "**`torch.inference_mode(mode=True)`** is a stricter `no_grad`: no graph, and also no view tracking "
            "or version-counter bumps, so it is faster.\n\n"
            "- Does not change: `module.training`. It does **not** put the model in eval mode; call `model.eval()`.\n"
            "- Tensors created in it cannot be used later in computations recorded by autograd "
            '("Inference tensors cannot be saved for backward"); use `no_grad` when results feed training.\n'
            "- Works as `with torch.inference_mode():` and as a decorator (bare or called).\n\n"
            "```python\nmodel.eval()\nwith torch.inference_mode():\n    predictions = model(batch)\n```"
        ),
        "zh-cn": (
            "**`torch.inference_mode(mode=True)`** 是更严格的 `no_grad`:不建计算图,也不做视图追踪和版本计数,因此更快。\n\n"
            "- 不会改变:`module.training`。它**不会**把模型设为 eval 模式,需要调用 `model.eval()`。\n"
            "- 在其中创建的张量之后不能参与 autograd 记录的计算"
            '("Inference tensors cannot be saved for backward");结果还要用于训练时请用 `no_grad`。\n'
            "- 可以写成 `with torch.inference_mode():`,也可作装饰器(带或不带括号)。\n\n"
            "```python\nmodel.eval()\nwith torch.inference_mode():\n    predictions = model(batch)\n```"
        ),
    },
    "hover.set_grad_enabled": {
        "en": (
            "**`torch.set_grad_enabled(mode)`** turns autograd on or off for this thread.\n\n"
            '- As `with torch.set_grad_enabled(phase == "train"):` it is scoped: the old setting comes back '
            "when the block ends.\n"
            "- As a plain call, `torch.set_grad_enabled(False)` is **global until reset**: every later "
            "`loss.backward()` in this thread fails with `RuntimeError`, across function calls and loop iterations.\n"
            "- Does not change: `module.training`.\n\n"
            "```python\nwith torch.set_grad_enabled(is_train):\n    output = model(inputs)\n```"
        ),
        "zh-cn": (
            "**`torch.set_grad_enabled(mode)`** 为当前线程开启或关闭 autograd。\n\n"
            '- 写成 `with torch.set_grad_enabled(phase == "train"):` 时作用域有限:代码块结束后恢复原设置。\n'
            "- 作为普通调用,`torch.set_grad_enabled(False)` 会**一直生效直到被重置**:"
            "此后本线程中的 `loss.backward()` 都会抛出 `RuntimeError`,跨函数调用和循环迭代都是如此。\n"
            "- 不会改变:`module.training`。\n\n"
            "```python\nwith torch.set_grad_enabled(is_train):\n    output = model(inputs)\n```"
        ),
    },
}


def _collect() -> dict[str, dict[str, str]]:
    collected = dict(HOVERS)
    for module_info in sorted(pkgutil.iter_modules(messages.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{messages.__name__}.{module_info.name}")
        texts: dict[str, dict[str, str]] = module.TEXTS
        duplicated = collected.keys() & texts.keys()
        if duplicated:
            raise RuntimeError(f"text keys defined twice: {sorted(duplicated)}")
        collected.update(texts)
    return collected


CATALOGUE: dict[str, dict[str, str]] = _collect()
