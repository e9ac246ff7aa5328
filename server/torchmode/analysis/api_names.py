"""What the analysis knows of PyTorch's and its ecosystem's names."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import Literal

from torchmode.analysis.names import ImportMap, access_path
from torchmode.analysis.walk import all_statements

# Methods of nn.Module that return the module itself, so identity (and mode) carries over.
SAME_MODULE_METHODS = frozenset(
    {
        "to",
        "cuda",
        "cpu",
        "half",
        "float",
        "double",
        "bfloat16",
        "type",
        "to_empty",
        "requires_grad_",
        "share_memory",
        "xpu",
        "mps",
        "ipu",
    }
)

# Wrappers whose result forwards to the wrapped module (mode included).
WRAPPER_CONSTRUCTORS = frozenset(
    {
        "torch.compile",
        "torch.nn.DataParallel",
        "torch.nn.parallel.DataParallel",
        "torch.nn.parallel.DistributedDataParallel",
        "torch.nn.parallel.distributed.DistributedDataParallel",
        # peft's adapters wrap the model they are given; train()/eval() reach it.
        "peft.get_peft_model",
        "peft.PeftModel",
        "peft.prepare_model_for_kbit_training",
        "peft.mapping.get_peft_model",
    }
)

# Methods that hand back the objects they are given, prepared (``model, optimizer =
# accelerator.prepare(model, optimizer)``; Lightning Fabric's ``setup``), by the qualified
# name of the class they belong to.
IDENTITY_METHODS = {
    "accelerate.Accelerator": frozenset({"prepare", "prepare_model"}),
    "lightning.Fabric": frozenset({"setup", "setup_module"}),
    "lightning.fabric.Fabric": frozenset({"setup", "setup_module"}),
    "lightning_fabric.Fabric": frozenset({"setup", "setup_module"}),
}

# Words in a parameter name that make a called parameter a model: ``model``, ``net``, ``student``.
MODEL_NAME_WORDS = frozenset(
    {
        "model",
        "net",
        "network",
        "module",
        "encoder",
        "decoder",
        "backbone",
        "classifier",
        "generator",
        "discriminator",
        "policy",
        "critic",
        "actor",
        "teacher",
        "student",
        "transformer",
        "cnn",
        "rnn",
        "lstm",
        "mlp",
        "resnet",
        "unet",
        "vae",
        "autoencoder",
    }
)

_MODULE_BASES = frozenset(
    {
        "torch.nn.Module",
        "torch.nn.modules.module.Module",
        # Frameworks whose model classes are nn.Modules.
        "pytorch_lightning.LightningModule",
        "pytorch_lightning.core.LightningModule",
        "pytorch_lightning.core.module.LightningModule",
        "lightning.LightningModule",
        "lightning.pytorch.LightningModule",
        "lightning.pytorch.core.LightningModule",
        "lightning.pytorch.core.module.LightningModule",
        "transformers.PreTrainedModel",
        "transformers.modeling_utils.PreTrainedModel",
    }
)

# Methods a framework calls in the mode it sets itself (Lightning puts the model in eval and
# turns grad off around validation_step, test_step, predict_step and their on_* hooks).
_FRAMEWORK_EVALUATION_HOOK_PREFIXES = (
    "validation_",
    "test_",
    "on_validation_",
    "on_test_",
    "on_predict_",
)
# Only Lightning's own ``predict_*`` hooks: ``predict_proba`` or ``predict_batch`` of a
# scikit-learn-style estimator is an evaluation the class runs itself.
_FRAMEWORK_PREDICT_HOOKS = frozenset(
    {"predict_step", "predict_step_end", "predict_epoch_end", "predict_dataloader"}
)


def is_framework_evaluation_hook(class_name: str | None, method_name: str) -> bool:
    return class_name is not None and (
        method_name.startswith(_FRAMEWORK_EVALUATION_HOOK_PREFIXES) or method_name in _FRAMEWORK_PREDICT_HOOKS
    )


# Methods that a framework's loop calls with the mode and grad mode already set, by the
# (unqualified) name of the framework base class that declares them. An override in a
# subclass runs in whatever mode the loop chose: ``eval_step`` of a torchtnt ``EvalUnit``
# under ``module.eval()`` and ``no_grad``, ``prediction_step`` of a transformers
# ``Trainer`` after ``evaluation_loop``'s ``model.eval()``, skorch's ``infer`` (the
# forward pass of both ``train_step`` and ``evaluation_step``) in the mode each set.
_FRAMEWORK_MODE_HOOKS: dict[str, frozenset[str]] = {
    # torchtnt.framework
    "EvalUnit": frozenset({"eval_step"}),
    "PredictUnit": frozenset({"predict_step"}),
    "AutoUnit": frozenset({"eval_step", "predict_step"}),
    "AutoPredictUnit": frozenset({"predict_step"}),
    # transformers
    "Trainer": frozenset({"prediction_step"}),
    "Seq2SeqTrainer": frozenset({"prediction_step"}),
    # skorch
    "NeuralNet": frozenset({"infer"}),
    "NeuralNetClassifier": frozenset({"infer"}),
    "NeuralNetBinaryClassifier": frozenset({"infer"}),
    "NeuralNetRegressor": frozenset({"infer"}),
}


def is_framework_mode_hook(base_names: frozenset[str], method_name: str) -> bool:
    """An override of a method the framework of one of these base classes calls in its own mode."""
    return any(method_name in _FRAMEWORK_MODE_HOOKS.get(base, ()) for base in base_names)


_FACTORY_PREFIXES = ("torchvision.models.", "timm.models.")
_FACTORIES = frozenset({"timm.create_model"})

_GRAD_CONTEXTS = {
    "torch.no_grad": "no_grad",
    "torch.autograd.no_grad": "no_grad",
    "torch.autograd.grad_mode.no_grad": "no_grad",
    "torch.enable_grad": "enable_grad",
    "torch.autograd.enable_grad": "enable_grad",
    "torch.autograd.grad_mode.enable_grad": "enable_grad",
    "torch.inference_mode": "inference_mode",
    "torch.autograd.inference_mode": "inference_mode",
    "torch.autograd.grad_mode.inference_mode": "inference_mode",
    "torch.set_grad_enabled": "set_grad_enabled",
    "torch.autograd.set_grad_enabled": "set_grad_enabled",
    "torch.autograd.grad_mode.set_grad_enabled": "set_grad_enabled",
}


def grad_context_kind(qualified: str) -> str | None:
    """``no_grad``, ``enable_grad``, ``inference_mode`` or ``set_grad_enabled``; else None."""
    return _GRAD_CONTEXTS.get(qualified)


def is_module_factory(qualified: str) -> bool:
    """A call that builds a fresh ``nn.Module`` (in train mode)."""
    if qualified in _FACTORIES:
        return True
    if qualified.startswith(_FACTORY_PREFIXES):
        return True
    if qualified.startswith("torch.nn.") and not qualified.startswith("torch.nn.functional."):
        last = qualified.rsplit(".", 1)[-1]
        # Loss modules (``nn.CrossEntropyLoss()``) compute the same in both modes and are
        # never the model being trained or evaluated.
        return last[:1].isupper() and last not in ("Parameter", "DataParallel") and not last.endswith("Loss")
    return False


def module_classes(
    tree: ast.Module, imports: ImportMap, classes: Iterable[ast.stmt] | None = None
) -> frozenset[str]:
    """Names of classes in this file that derive from ``nn.Module`` (directly or through each
    other). ``classes``: its class statements in source order, when known."""
    bases_of: dict[str, list[ast.expr]] = {}
    found: set[str] = set()
    for node in classes if classes is not None else all_statements(tree):
        if isinstance(node, ast.ClassDef):
            bases_of[node.name] = node.bases
            # A base from another file (``class SamModel(SamPreTrainedModel)``) cannot be
            # followed here; a class with a base and a ``forward`` method is an nn.Module in
            # practice.
            defines_forward = any(
                isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == "forward"
                for item in node.body
            )
            if defines_forward and node.bases and not _only_builtin_bases(node.bases):
                found.add(node.name)
    changed = True
    while changed:
        changed = False
        for name, bases in bases_of.items():
            if name in found:
                continue
            for base in bases:
                qualified = imports.qualified_name(base)
                local = access_path(base)
                if (
                    qualified is not None and (qualified in _MODULE_BASES or is_module_factory(qualified))
                ) or (local in found):
                    found.add(name)
                    changed = True
                    break
    return frozenset(found)


# Classes of Python itself that a class may derive from without becoming a module.
BUILTIN_CLASSES = frozenset(
    {
        "object",
        "ABC",
        "Protocol",
        "Generic",
        "Exception",
        "BaseException",
        "RuntimeError",
        "ValueError",
        "dict",
        "list",
        "tuple",
        "set",
        "str",
        "int",
        "float",
        "NamedTuple",
        "TypedDict",
        "Enum",
        "IntEnum",
        "abc.ABC",
        "typing.Generic",
        "typing.Protocol",
        "typing.NamedTuple",
        "enum.Enum",
    }
)

ClassKind = Literal["module", "other"]

# Installed classes known not to be modules: optimizers, schedulers, data, scalers.
_OTHER_CLASS_PREFIXES = (
    "torch.optim.",
    "torch.utils.",
    "torch.cuda.amp.GradScaler",
    "torch.amp.GradScaler",
    "torch.distributed.",
    "numpy.",
    "collections.",
    "dataclasses.",
    "typing.",
    "abc.",
    "enum.",
)
# transformers classes that are models (``BertModel``, ``GPT2LMHeadModel``,
# ``AutoModelForCausalLM``...) as opposed to tokenizers, configs and processors.
# Models of transformers and diffusers, by their naming convention; their pipelines
# (``StableDiffusionPipeline``, ``TextClassificationPipeline``) hold models but are not
# nn.Module subclasses themselves, and their ``__call__`` runs under no_grad.
_TRANSFORMERS_MODEL = re.compile(r"^(transformers|diffusers)\.(.*\.)?(\w*Model\w*|\w*For\w+)$")


def library_class_kind(qualified: str) -> ClassKind | None:
    """What an installed class is, from its qualified name: a module, another kind of
    class, or unknown (None) when the name says nothing."""
    if qualified in _MODULE_BASES or is_module_factory(qualified) or qualified in WRAPPER_CONSTRUCTORS:
        return "module"
    if qualified in BUILTIN_CLASSES or qualified.startswith(_OTHER_CLASS_PREFIXES):
        return "other"
    if qualified.startswith("torch.nn.") and not qualified.startswith("torch.nn.functional."):
        last = qualified.rsplit(".", 1)[-1]
        if last[:1].isupper():
            return "module"  # losses too: modules, though never the model being trained
    if _TRANSFORMERS_MODEL.match(qualified):
        return "module"
    if qualified.startswith(("transformers.", "diffusers.")):
        return "other"  # tokenizers, configs, processors, schedulers
    return None


def _only_builtin_bases(bases: list[ast.expr]) -> bool:
    return all(
        isinstance(base, ast.Name) and base.id in ("object", "ABC", "Protocol", "Generic") for base in bases
    )


def _looks_like_optimizer(receiver: ast.expr) -> bool:
    path = access_path(receiver)
    return path is not None and looks_like_optimizer(path)


def looks_like_optimizer(path: str) -> bool:
    """Named like an optimizer: the last name of ``path``."""
    last = path.rsplit(".", 1)[-1]
    lower = last.lower()
    # optimizer, optim_g, optimizerD, optD, opt_g, g_opt, sgd, adam
    return (
        "optim" in lower
        or lower.startswith("opt")
        or lower in ("sgd", "adam", "adamw")
        or lower.endswith("_opt")
        or lower.endswith("_optimizer")
    )


def training_step_kind(call: ast.Call, imports: ImportMap) -> str | None:
    """``backward`` or ``step`` when a call is part of a training step, else None."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return None
    if func.attr == "backward":
        # loss.backward(), scaler.scale(loss).backward(), accelerator.backward(loss)
        return "backward"
    if func.attr == "step" and _looks_like_optimizer(func.value):
        return "step"
    if func.attr == "step" and call.args and _looks_like_optimizer(call.args[0]):
        return "step"  # scaler.step(optimizer)
    return None
