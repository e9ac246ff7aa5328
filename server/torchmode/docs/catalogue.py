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
    "hover.requires_grad_": {
        "en": (
            "**`requires_grad_(False)`** freezes parameters: autograd stops computing their gradients, so the "
            "optimizer leaves them alone.\n\n"
            "- Does not change: `module.training`. Frozen layers still run dropout in train mode, and batch norm "
            "in train mode still updates its running statistics: freezing weights is not freezing batch norm. "
            "Call `eval()` on those sub-modules too (and again after every `train()`).\n"
            "- The output still requires grad when the input does; it is not `torch.no_grad()`.\n\n"
            "```python\nmodel.backbone.requires_grad_(False)\nmodel.backbone.eval()  # after each model.train()\n```"
        ),
        "zh-cn": (
            "**`requires_grad_(False)`** 冻结参数:autograd 不再为它们计算梯度,优化器也就不会更新它们。\n\n"
            "- 不会改变:`module.training`。被冻结的层在 train 模式下仍会执行 Dropout,BatchNorm 在 train 模式下仍会更新 running 统计量:"
            "冻结权重不等于冻结 BatchNorm。还需要对这些子模块调用 `eval()`(并且每次 `train()` 之后都要重新调用)。\n"
            "- 输入需要梯度时,输出仍然需要梯度;它不等同于 `torch.no_grad()`。\n\n"
            "```python\nmodel.backbone.requires_grad_(False)\nmodel.backbone.eval()  # 每次 model.train() 之后\n```"
        ),
    },
    "hover.zero_grad": {
        "en": (
            "**`zero_grad(set_to_none=True)`** clears the gradients before the next `backward()`; by default it "
            "sets every `.grad` to `None` (since PyTorch 2.0) instead of filling it with zeros.\n\n"
            "- Without it, `backward()` **adds** to the gradients already there, so each step uses the sum over all "
            "earlier batches. Skipping it on purpose is gradient accumulation: then step and clear every N batches.\n"
            "- Does not change: `module.training` or the grad mode.\n\n"
            "```python\noptimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()\n```"
        ),
        "zh-cn": (
            "**`zero_grad(set_to_none=True)`** 在下一次 `backward()` 之前清除梯度;默认(自 PyTorch 2.0 起)把每个 `.grad` "
            "设为 `None`,而不是填充为 0。\n\n"
            "- 不调用它,`backward()` 会把新梯度**累加**到已有梯度上,每一步用的都是之前所有 batch 的梯度之和。"
            "有意不清零就是梯度累积:此时每 N 个 batch 执行一次 step 并清零。\n"
            "- 不会改变:`module.training` 或梯度模式。\n\n"
            "```python\noptimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()\n```"
        ),
    },
    "hover.dropout_functional": {
        "en": (
            "**`F.dropout(input, p=0.5, training=True, inplace=False)`** zeroes each element with probability `p` "
            "and scales the rest by `1/(1-p)`.\n\n"
            "- Its `training` argument defaults to **True**: it does not look at `model.eval()`. Inside a module, "
            "pass `training=self.training`, or use an `nn.Dropout` sub-module, which follows the mode.\n"
            "- `dropout1d/2d/3d`, `alpha_dropout` and `feature_alpha_dropout` behave the same way.\n\n"
            "```python\nx = F.dropout(x, p=0.2, training=self.training)\n```"
        ),
        "zh-cn": (
            "**`F.dropout(input, p=0.5, training=True, inplace=False)`** 以概率 `p` 把每个元素置零,并把其余元素乘以 `1/(1-p)`。\n\n"
            "- 它的 `training` 参数默认为 **True**:不会理会 `model.eval()`。在模块内部请传入 `training=self.training`,"
            "或者改用会随模式切换的 `nn.Dropout` 子模块。\n"
            "- `dropout1d/2d/3d`、`alpha_dropout` 和 `feature_alpha_dropout` 也是如此。\n\n"
            "```python\nx = F.dropout(x, p=0.2, training=self.training)\n```"
        ),
    },
    "hover.dropout_module": {
        "en": (
            "**`nn.Dropout(p=0.5)`**: in train mode it zeroes each element with probability `p` and scales the "
            "rest by `1/(1-p)`; in eval mode it passes the input through unchanged.\n\n"
            "- It follows `model.train()` / `model.eval()` as a sub-module. Built inside `forward` "
            "(`nn.Dropout(p)(x)`), it is a new module each call, always in train mode.\n"
            "- `torch.no_grad()` does not turn it off; only eval mode does.\n\n"
            "```python\nself.drop = nn.Dropout(0.1)  # in __init__\nx = self.drop(x)             # in forward\n```"
        ),
        "zh-cn": (
            "**`nn.Dropout(p=0.5)`**:train 模式下以概率 `p` 把每个元素置零,并把其余元素乘以 `1/(1-p)`;eval 模式下原样输出。\n\n"
            "- 作为子模块,它随 `model.train()` / `model.eval()` 切换。若在 `forward` 中临时构建(`nn.Dropout(p)(x)`),"
            "每次调用都是新模块,始终处于 train 模式。\n"
            "- `torch.no_grad()` 不会关闭它,只有 eval 模式会。\n\n"
            "```python\nself.drop = nn.Dropout(0.1)  # 在 __init__ 中\nx = self.drop(x)             # 在 forward 中\n```"
        ),
    },
    "hover.batchnorm": {
        "en": (
            "**`nn.BatchNorm1d/2d/3d`**: in train mode it normalises with the current batch's mean and variance "
            "and updates `running_mean`/`running_var` (new = 0.9·old + 0.1·batch with the default `momentum=0.1`); "
            "in eval mode it uses the running estimates and leaves them alone.\n\n"
            "- Train mode updates the running statistics **even under `torch.no_grad()`**: evaluate in eval mode.\n"
            "- In train mode a batch with one value per channel raises `ValueError: Expected more than 1 value per "
            "channel when training`: a common symptom of a forgotten `eval()` at single-sample inference.\n"
            "- With `track_running_stats=False` it keeps no running statistics and uses batch statistics in "
            "both modes.\n\n"
            "```python\nmodel.eval()\nwith torch.no_grad():\n    prediction = model(sample.unsqueeze(0))\n```"
        ),
        "zh-cn": (
            "**`nn.BatchNorm1d/2d/3d`**(批归一化):train 模式下使用当前 batch 的均值和方差归一化,并更新 "
            "`running_mean`/`running_var`(默认 `momentum=0.1` 时,新值 = 0.9·旧值 + 0.1·batch 统计量);"
            "eval 模式下使用 running 统计量且不再更新。\n\n"
            "- 即使在 `torch.no_grad()` 下,train 模式也**会**更新 running 统计量:评估时请使用 eval 模式。\n"
            "- train 模式下每个通道只有一个值时会抛出 `ValueError: Expected more than 1 value per channel when training`:"
            "单样本推理时忘记 `eval()` 的典型症状。\n"
            "- 设置 `track_running_stats=False` 时不保存 running 统计量,两种模式都使用 batch 统计量。\n\n"
            "```python\nmodel.eval()\nwith torch.no_grad():\n    prediction = model(sample.unsqueeze(0))\n```"
        ),
    },
    "hover.compile": {
        "en": (
            "**`torch.compile(model)`** returns a wrapper (`OptimizedModule`) around the same module.\n\n"
            "- The wrapper's `.training` is the original module's: `compiled.eval()` and `model.eval()` switch the "
            "same model (PyTorch 2.13).\n"
            "- The first forward pass in a mode not seen before compiles a new graph (a one-off pause after the "
            "first `eval()`); switching back to a mode already seen reuses its graph.\n"
            "- Mode mistakes carry over unchanged: compiling does not set eval or disable autograd.\n\n"
            "```python\ncompiled = torch.compile(model)\ncompiled.eval()  # the same as model.eval()\n```"
        ),
        "zh-cn": (
            "**`torch.compile(model)`** 返回包装同一模块的对象(`OptimizedModule`)。\n\n"
            "- 包装对象的 `.training` 就是原模块的 `.training`:`compiled.eval()` 和 `model.eval()` 切换的是同一个模型(PyTorch 2.13)。\n"
            "- 在一个之前没出现过的模式下第一次前向计算时会编译新的计算图(第一次 `eval()` 之后会有一次性的停顿);"
            "切换回已经出现过的模式会复用已编译的图。\n"
            "- 模式错误会原样保留:编译不会设置 eval,也不会关闭 autograd。\n\n"
            "```python\ncompiled = torch.compile(model)\ncompiled.eval()  # 等同于 model.eval()\n```"
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
