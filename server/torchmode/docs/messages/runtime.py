"""``torchmode run`` and the runtime guard: what it observed, its notes and its summary.

The claims about PyTorch in these texts are checked against real torch in
tests/runtime_guard/test_message_facts.py.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    # --- observed findings ----------------------------------------------------------------------
    "runtime.TM101.message": {
        "en": "`{module}` was trained in eval mode (observed at run time {times}, {steps}): this forward pass ran with {parts} in eval mode, and an optimizer step then updated its parameters from it. {cause} In eval mode dropout passes every activation through and batch norm normalises with its running statistics without updating them: call `train()` on the model before its training steps.",
        "zh-cn": "`{module}` 在 eval 模式下被训练(运行时观察到 {times},{steps}):这次前向计算时 {parts} 处于 eval 模式,随后一个优化器步骤用它的结果更新了参数。{cause}在 eval 模式下 Dropout 让所有激活直接通过,BatchNorm 用 running 统计量归一化且不更新它们:请在训练步骤之前对模型调用 `train()`。",
    },
    "runtime.TM102.message": {
        "en": "`{module}` was evaluated in train mode (observed at run time {times}, {steps}): this forward pass ran with autograd off ({context}) and with {parts} in train mode, and no optimizer step used its output. {cause} Turning autograd off does not change the mode: dropout still zeroes activations at random, and batch norm normalises with each batch's statistics and updates its running statistics. Call `eval()` on the model before evaluating.",
        "zh-cn": "`{module}` 在 train 模式下被评估(运行时观察到 {times},{steps}):这次前向计算在 autograd 关闭({context})时执行,而 {parts} 处于 train 模式,且没有任何优化器步骤使用它的输出。{cause}关闭 autograd 不会改变模式:Dropout 仍会随机置零激活,BatchNorm 仍用每个 batch 的统计量归一化并更新 running 统计量。请在评估之前对模型调用 `eval()`。",
    },
    "runtime.TM201.message": {
        "en": "`{module}` was evaluated with autograd on (observed at run time {times}, {steps}): this forward pass ran in eval mode and recorded an autograd graph that no backward pass used before it was freed. `eval()` does not turn autograd off: wrap the evaluation in `with torch.no_grad():` (or `torch.inference_mode()`) to save the graph's memory and time.",
        "zh-cn": "`{module}` 在 autograd 开启时被评估(运行时观察到 {times},{steps}):这次前向计算在 eval 模式下执行,记录的计算图直到被释放都没有被任何反向传播使用。`eval()` 不会关闭 autograd:请把评估放进 `with torch.no_grad():`(或 `torch.inference_mode()`)中,以节省计算图占用的显存和时间。",
    },
    # Why the parts were in that mode: the switch the guard saw, or none.
    "runtime.cause.eval_switch": {
        "en": "`{call}` ({where}) left it in eval mode.",
        "zh-cn": "`{call}`({where})使它停留在 eval 模式。",
    },
    "runtime.cause.eval_unknown": {
        "en": "No `train()` or `eval()` call switched it while the guard watched: it was already in eval mode (loaded, copied, or switched before the guard started).",
        "zh-cn": "守护程序观察期间没有任何 `train()` 或 `eval()` 调用切换过它:它一开始就处于 eval 模式(被加载、复制,或在守护程序启动前被切换)。",
    },
    "runtime.cause.train_switch": {
        "en": "`{call}` ({where}) put it in train mode and nothing switched it to eval since.",
        "zh-cn": "`{call}`({where})把它设为 train 模式,此后没有任何调用把它切换到 eval 模式。",
    },
    "runtime.cause.train_fresh": {
        "en": "No `eval()` was called on it since it was built, and a new module starts in train mode.",
        "zh-cn": "自构建以来从未对它调用 `eval()`,而新建的模块默认处于 train 模式。",
    },
    "runtime.where.same_file": {"en": "{line}", "zh-cn": "{line}"},
    "runtime.where.other_file": {"en": "{file}, {line}", "zh-cn": "{file} {line}"},
    "runtime.context.no_grad": {"en": "`no_grad`", "zh-cn": "`no_grad`"},
    "runtime.context.inference_mode": {"en": "`inference_mode`", "zh-cn": "`inference_mode`"},
    # How often and when.
    "runtime.frequency": {"en": "{times}, {steps}", "zh-cn": "{times},{steps}"},
    "runtime.times.one": {"en": "once", "zh-cn": "1 次"},
    "runtime.times.many": {"en": "{count} times", "zh-cn": "{count} 次"},
    "runtime.steps.training.one": {"en": "at optimizer step {first}", "zh-cn": "在第 {first} 个优化器步骤"},
    "runtime.steps.training.range": {
        "en": "in optimizer steps {first} to {last}",
        "zh-cn": "在第 {first} 至第 {last} 个优化器步骤",
    },
    "runtime.steps.evaluation.before": {
        "en": "before the first optimizer step",
        "zh-cn": "在第一个优化器步骤之前",
    },
    "runtime.steps.evaluation.one": {
        "en": "after optimizer step {first}",
        "zh-cn": "在第 {first} 个优化器步骤之后",
    },
    "runtime.steps.evaluation.range": {
        "en": "after optimizer steps {first} to {last}",
        "zh-cn": "在第 {first} 至第 {last} 个优化器步骤之后",
    },
    "runtime.steps.evaluation.from_start": {
        "en": "from before the first optimizer step to after step {last}",
        "zh-cn": "从第一个优化器步骤之前到第 {last} 个步骤之后",
    },
    # The mode-sensitive parts: `dropout` (Dropout), `bn1` (BatchNorm2d) and 3 more.
    "runtime.part.self": {"en": "`{kind}`", "zh-cn": "`{kind}`"},
    "runtime.part.named": {"en": "`{name}` ({kind})", "zh-cn": "`{name}`({kind})"},
    "runtime.parts.separator": {"en": ", ", "zh-cn": "、"},
    "runtime.parts.two": {"en": "{first} and {second}", "zh-cn": "{first}和{second}"},
    "runtime.parts.more": {"en": "{parts} and {more} more", "zh-cn": "{parts}等另外 {more} 个模块"},
    # Related information: where the switch was made.
    "runtime.related.eval": {
        "en": "`{call}` switched `{module}` to eval mode here",
        "zh-cn": "`{call}` 在这里把 `{module}` 切换到 eval 模式",
    },
    "runtime.related.train": {
        "en": "`{call}` switched `{module}` to train mode here",
        "zh-cn": "`{call}` 在这里把 `{module}` 切换到 train 模式",
    },
    # --- notes, warnings, summary (stderr, prefixed with "torchmode: ") --------------------------
    "runtime.note.compiled": {
        "en": "`{module}` is a `torch.compile`d module: the guard watches it through its wrapper (`OptimizedModule`), never inside the compiled code, and silences torch's warning that global module hooks also fire for the wrapper.",
        "zh-cn": "`{module}` 是经过 `torch.compile` 的模块:守护程序通过它的包装对象(`OptimizedModule`)观察它,从不进入编译后的代码,并屏蔽 torch 关于全局模块钩子也会在包装对象上触发的警告。",
    },
    "runtime.note.unwatched_forwards": {
        "en": "{steps} ran but no forward pass of a module was seen: forward passes inside `torch.compile`d functions (or ones that do not go through `nn.Module.__call__`) are not watched.",
        "zh-cn": "执行了 {steps},但没有观察到任何模块的前向计算:`torch.compile` 编译的函数内部(或不经过 `nn.Module.__call__`)的前向计算不在观察范围内。",
    },
    "runtime.warning.disabled": {
        "en": "the runtime guard failed ({error}) and turned itself off; the program goes on unwatched.",
        "zh-cn": "运行时守护程序出错({error}),已自行关闭;程序继续运行,但不再被观察。",
    },
    "runtime.warning.no_torch": {
        "en": "PyTorch is not installed for {python}: there is nothing to watch, the program runs without the guard.",
        "zh-cn": "{python} 中没有安装 PyTorch:没有可观察的内容,程序将在没有守护程序的情况下运行。",
    },
    "runtime.warning.report_not_written": {
        "en": "could not write the runtime report {path}: {error}",
        "zh-cn": "无法写入运行时报告 {path}:{error}",
    },
    "runtime.summary.findings": {
        "en": "{findings} observed in {steps}; report: {path}",
        "zh-cn": "在 {steps}中观察到 {findings};报告:{path}",
    },
    "runtime.summary.none": {
        "en": "nothing observed in {steps} and {forwards}; report: {path}",
        "zh-cn": "在 {steps}和 {forwards}中没有观察到问题;报告:{path}",
    },
    "runtime.count.findings.one": {"en": "1 finding", "zh-cn": "1 个问题"},
    "runtime.count.findings.many": {"en": "{count} findings", "zh-cn": "{count} 个问题"},
    "runtime.count.steps.one": {"en": "1 optimizer step", "zh-cn": "1 个优化器步骤"},
    "runtime.count.steps.many": {"en": "{count} optimizer steps", "zh-cn": "{count} 个优化器步骤"},
    "runtime.count.forwards.one": {"en": "1 forward pass", "zh-cn": "1 次前向计算"},
    "runtime.count.forwards.many": {"en": "{count} forward passes", "zh-cn": "{count} 次前向计算"},
}
