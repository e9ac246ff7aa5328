"""Which modules behave differently in train and eval mode.

A mode finding is only worth reporting when the mode changes what the model
computes. torch.nn's own layers are judged by what their code does with
``self.training`` given their settings:

* Dropout (all ``_DropoutNd`` kinds) with ``p > 0``;
* BatchNorm (``_BatchNorm``, SyncBatchNorm, lazy ones) keeping running statistics
  (with ``track_running_stats=False`` both modes normalise with the batch);
* InstanceNorm with ``track_running_stats=True`` (off by default);
* RReLU with ``lower != upper`` (random slopes in training);
* RNN, LSTM, GRU with ``dropout > 0`` and more than one layer (the dropout sits between layers);
* MultiheadAttention with ``dropout > 0``.

Every other torch.nn layer is mode-blind (Linear, convolutions, LayerNorm, GroupNorm,
containers; a Transformer layer's dropout is its own Dropout children). A class from
anywhere else (the user's, timm's, ``torch.ao``'s) counts when its ``forward``, or a
method of the class that ``forward`` names, reads an attribute called ``training``:
a cheap reading of the compiled code, done once per class. It can be wrong both ways
(``training`` read only for logging; the mode read through a helper function outside
the class); it never runs the module.
"""

from __future__ import annotations

from types import CodeType, FunctionType
from typing import Any

from torch import nn

# torch.nn's own classes: judged by their settings above, never by reading their code.
_TORCH_NN_PREFIX = "torch.nn.modules."
_SEARCH_DEPTH = 3  # forward -> helper -> helper's helper

_class_reads_training: dict[type, bool] = {}


def _code_reads_training(code: CodeType) -> bool:
    if "training" in code.co_names:
        return True
    # Nested functions and comprehensions (3.10/3.11) are constants of the outer code.
    return any(
        isinstance(constant, CodeType) and _code_reads_training(constant) for constant in code.co_consts
    )


def _reads_training(cls: type) -> bool:
    """Whether ``cls.forward``, or a method of ``cls`` it names (transitively), reads ``.training``."""
    seen: set[str] = set()
    pending = [("forward", 0)]
    while pending:
        name, depth = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        function = _own_function(cls, name)
        if function is None:
            continue
        code = function.__code__
        if _code_reads_training(code):
            return True
        if depth < _SEARCH_DEPTH:
            pending.extend((called, depth + 1) for called in code.co_names if called not in seen)
    return False


def _own_function(cls: type, name: str) -> FunctionType | None:
    """``cls``'s function ``name`` unless it is nn.Module's own (``train``, ``__call__``, ...)."""
    for klass in cls.__mro__:
        if klass is nn.Module or klass is object:
            return None
        value = klass.__dict__.get(name)
        if value is not None:
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            return value if isinstance(value, FunctionType) else None
    return None


def class_reads_training(cls: type) -> bool:
    found = _class_reads_training.get(cls)
    if found is None:
        try:
            found = _reads_training(cls)
        except (AttributeError, TypeError):
            found = False
        _class_reads_training[cls] = found
    return found


def _positive(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


_KNOWN_SENSITIVE_KINDS = (
    nn.modules.dropout._DropoutNd,
    nn.modules.batchnorm._BatchNorm,
    nn.modules.instancenorm._InstanceNorm,
    nn.RReLU,
    nn.RNNBase,
    nn.MultiheadAttention,
)
_class_may_be_sensitive: dict[type, bool] = {}


def _may_be_sensitive(cls: type) -> bool:
    """False for a class whose instances never are (Linear, Conv2d, containers): asked once per class,
    so that walking a model's modules costs one dictionary lookup for most of them."""
    found = _class_may_be_sensitive.get(cls)
    if found is None:
        if issubclass(cls, _KNOWN_SENSITIVE_KINDS):
            found = True
        elif cls.__module__.startswith(_TORCH_NN_PREFIX):
            found = False
        else:
            found = class_reads_training(cls)
        _class_may_be_sensitive[cls] = found
    return found


def is_mode_sensitive(module: nn.Module) -> bool:
    """Whether ``module`` itself (not its children) computes differently in train and eval mode."""
    if not _may_be_sensitive(type(module)):
        return False
    if isinstance(module, nn.modules.dropout._DropoutNd):
        return _positive(module.p)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return bool(module.track_running_stats) and module.running_mean is not None
    if isinstance(module, nn.modules.instancenorm._InstanceNorm):
        return bool(module.track_running_stats)
    if isinstance(module, nn.RReLU):
        return bool(module.lower != module.upper)
    if isinstance(module, nn.RNNBase):
        return _positive(module.dropout) and int(module.num_layers) > 1
    if isinstance(module, nn.MultiheadAttention):
        return _positive(module.dropout)
    cls = type(module)
    if cls.__module__.startswith(_TORCH_NN_PREFIX):
        return False
    return class_reads_training(cls)


def sensitive_parts(root: nn.Module) -> list[tuple[str, nn.Module]]:
    """The mode-sensitive modules inside ``root`` (itself included), with their names in it."""
    return [(name, module) for name, module in root.named_modules() if is_mode_sensitive(module)]


def describe(module: nn.Module) -> str:
    """A module's class for messages; wrappers show what they wrap: ``DataParallel(Net)``."""
    inner = getattr(module, "module", None)
    if isinstance(inner, nn.Module) and isinstance(
        module, (nn.DataParallel, nn.parallel.DistributedDataParallel)
    ):
        return f"{type(module).__name__}({describe(inner)})"
    original = getattr(module, "_orig_mod", None)
    if isinstance(original, nn.Module):
        return describe(original)
    return type(module).__name__


__all__ = ["class_reads_training", "describe", "is_mode_sensitive", "sensitive_parts"]
