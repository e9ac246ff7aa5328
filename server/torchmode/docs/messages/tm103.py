"""TM103 train-undoes-freeze: messages, fix titles and related-information texts."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "TM103.summary": {
        "en": "A parent's train() switches a frozen sub-module back to train mode",
        "zh-cn": "父模块的 train() 把被冻结的子模块切回了 train 模式",
    },
    "TM103.message": {
        "en": "`{call}` puts every sub-module back in train mode, including {frozen}, frozen by `{site}` ({line}): its dropout is on again and its batch-norm running statistics update again.",
        "zh-cn": "`{call}` 会把所有子模块切回 train 模式,包括被 `{site}`({line})冻结的{frozen}:其中的 Dropout 重新开启,BatchNorm 的 running 统计量又会被更新。",
    },
    "TM103.frozen.path": {"en": "`{path}`", "zh-cn": " `{path}`"},
    "TM103.frozen.submodules": {
        "en": "the sub-modules of `{owner}` set to eval",
        "zh-cn": " `{owner}` 中被设为 eval 的子模块",
    },
    "TM103.related.freeze": {"en": "the freeze that train() undoes", "zh-cn": "被 train() 撤销的冻结"},
    "TM103.related.caller": {
        "en": "the model comes from this call, after the freeze",
        "zh-cn": "模型由这次调用传入,此时已被冻结",
    },
    "TM103.related.inner": {
        "en": "`{site}` runs here, inside `{function}`",
        "zh-cn": "`{site}` 在这里执行,位于 `{function}` 内",
    },
    "TM103.fix.reapply": {
        "en": "Re-apply `{statement}` after train()",
        "zh-cn": "在 train() 之后重新执行 `{statement}`",
    },
}
