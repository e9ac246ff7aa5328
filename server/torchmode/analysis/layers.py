"""Which models can be hurt by a wrong mode: do they hold a mode-sensitive layer?

A module whose every layer behaves the same in train and eval mode (Linear, Conv,
ReLU, LayerNorm...) computes the same thing in both modes, so a mode mistake is
harmless for it today. Sensitive: dropout, batch norm, RReLU, transformer layers
(dropout inside), RNNs built with ``dropout=``, any read of ``self.training``, and
functional dropout. Anything the file cannot see (a class from elsewhere) is unknown.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable

from torchmode.analysis.api_names import MODEL_NAME_WORDS
from torchmode.analysis.names import ImportMap, access_path
from torchmode.analysis.walk import all_statements

_SENSITIVE_LAYERS = frozenset(
    {
        "Dropout",
        "Dropout1d",
        "Dropout2d",
        "Dropout3d",
        "AlphaDropout",
        "FeatureAlphaDropout",
        "BatchNorm1d",
        "BatchNorm2d",
        "BatchNorm3d",
        "LazyBatchNorm1d",
        "LazyBatchNorm2d",
        "LazyBatchNorm3d",
        "SyncBatchNorm",
        "RReLU",
        "Transformer",
        "TransformerEncoder",
        "TransformerDecoder",
        "TransformerEncoderLayer",
        "TransformerDecoderLayer",
        "MultiheadAttention",
    }
)
# Layers computing the same function in both modes (with their default arguments).
_INSENSITIVE_LAYERS = frozenset(
    {
        "Linear",
        "Bilinear",
        "LazyLinear",
        "Identity",
        "Flatten",
        "Unflatten",
        "Conv1d",
        "Conv2d",
        "Conv3d",
        "ConvTranspose1d",
        "ConvTranspose2d",
        "ConvTranspose3d",
        "ReLU",
        "ReLU6",
        "LeakyReLU",
        "PReLU",
        "ELU",
        "SELU",
        "CELU",
        "GELU",
        "SiLU",
        "Mish",
        "Sigmoid",
        "Tanh",
        "Softmax",
        "LogSoftmax",
        "Softplus",
        "Hardswish",
        "Hardsigmoid",
        "Hardtanh",
        "LayerNorm",
        "GroupNorm",
        "RMSNorm",
        "LocalResponseNorm",
        "Embedding",
        "EmbeddingBag",
        "MaxPool1d",
        "MaxPool2d",
        "MaxPool3d",
        "AvgPool1d",
        "AvgPool2d",
        "AvgPool3d",
        "AdaptiveAvgPool1d",
        "AdaptiveAvgPool2d",
        "AdaptiveAvgPool3d",
        "AdaptiveMaxPool1d",
        "AdaptiveMaxPool2d",
        "AdaptiveMaxPool3d",
        "Upsample",
        "PixelShuffle",
        "ZeroPad2d",
        "ConstantPad1d",
        "ConstantPad2d",
        "InstanceNorm1d",  # without track_running_stats (checked below): instance statistics both ways
        "InstanceNorm2d",
        "InstanceNorm3d",
    }
)
_RNNS = frozenset({"RNN", "LSTM", "GRU"})
_CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})
_FUNCTIONAL_DROPOUT = frozenset(
    {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"}
)

Sensitivity = bool | None  # True: a wrong mode changes results; False: it cannot; None: unknown

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")


class LayerSensitivity:
    """Per class of this file: can a wrong mode change what it computes?"""

    def __init__(
        self,
        tree: ast.Module,
        imports: ImportMap,
        module_classes: frozenset[str],
        external: Callable[[str], Sensitivity] | None = None,
    ) -> None:
        self.imports = imports
        # A class imported from another file of the project, by its local name: that file's
        # answer (None: unknown, as without a project).
        self.external = external
        self.classes = {
            node.name: node
            for node in all_statements(tree)
            if isinstance(node, ast.ClassDef) and node.name in module_classes
        }
        self._memo: dict[str, Sensitivity] = {}

    def of_class(self, name: str) -> Sensitivity:
        if name in self._memo:
            return self._memo[name]
        self._memo[name] = None  # a class that contains itself: unknown, not a loop
        node = self.classes.get(name)
        result: Sensitivity = None if node is None else self._class_body(node)
        self._memo[name] = result
        return result

    def _class_body(self, node: ast.ClassDef) -> Sensitivity:
        results: list[Sensitivity] = []
        for base in node.bases:
            if self.imports.qualified_name(base) in ("torch.nn.Module", "torch.nn.modules.module.Module"):
                continue
            base_name = access_path(base)
            # A base of this file counts like a part; one from another file of the project too;
            # one from elsewhere (Lightning...) is unknown.
            if base_name in self.classes:
                results.append(self.of_class(base_name))
            else:
                results.append(self._external(base_name))
        for child in ast.walk(node):
            if (
                isinstance(child, ast.Attribute)
                and child.attr == "training"
                and isinstance(child.ctx, ast.Load)
            ):
                return True  # the module reads its own mode
            if isinstance(child, ast.Call):
                qualified = self.imports.qualified_name(child.func) or ""
                if ".functional." in qualified and qualified.rsplit(".", 1)[-1] in _FUNCTIONAL_DROPOUT:
                    return True
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and child.name == "__init__":
                results.extend(self._constructor(child))
        return _combine(results)

    def _constructor(self, init: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Sensitivity]:
        """What ``__init__`` stores on ``self``: built layers, and modules handed in (unknown)."""
        parameters = {argument.arg for argument in [*init.args.args, *init.args.kwonlyargs]}
        results: list[Sensitivity] = []
        for statement in ast.walk(init):
            if not isinstance(statement, (ast.Assign, ast.AnnAssign)) or statement.value is None:
                continue
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if not any(isinstance(target, ast.Attribute) for target in targets):
                continue
            value = statement.value
            if isinstance(value, ast.Name) and value.id in parameters:
                words = {word.lower() for word in _WORD.findall(value.id)}
                if words & MODEL_NAME_WORDS:
                    results.append(None)  # ``self.encoder = encoder``: a module we cannot see
                continue
            if isinstance(value, (ast.Call, ast.List, ast.Tuple)):
                results.append(self.of_expression(value))
        return results

    def of_expression(self, expr: ast.expr) -> Sensitivity:
        """The sensitivity of the module an expression builds; plain values count as insensitive."""
        if isinstance(expr, ast.Starred):
            return self.of_expression(expr.value)
        if isinstance(expr, (ast.ListComp, ast.GeneratorExp)):
            return self.of_expression(expr.elt)
        if isinstance(expr, (ast.List, ast.Tuple)):
            return _combine(self.of_expression(element) for element in expr.elts)
        if not isinstance(expr, ast.Call):
            return None
        qualified = self.imports.qualified_name(expr.func)
        local = access_path(expr.func)
        if qualified is not None and qualified.startswith("torch.nn.") and ".functional." not in qualified:
            layer = qualified.rsplit(".", 1)[-1]
            if layer in _SENSITIVE_LAYERS:
                return True
            if layer in _CONTAINERS:
                parts = [*expr.args, *(keyword.value for keyword in expr.keywords if keyword.arg is None)]
                return _combine(self.of_expression(argument) for argument in parts)
            if layer in _RNNS:
                dropout = _keyword(expr, "dropout")
                return not (dropout is None or (isinstance(dropout, ast.Constant) and not dropout.value))
            if layer.startswith("InstanceNorm"):
                tracking = _keyword(expr, "track_running_stats")
                return isinstance(tracking, ast.Constant) and bool(tracking.value)
            if layer in _INSENSITIVE_LAYERS:
                return False
            if layer in ("Parameter", "ParameterList", "ParameterDict"):
                return False
            return None
        if local is not None and local in self.classes:
            return self.of_class(local)
        return self._external(local)

    def _external(self, local: str | None) -> Sensitivity:
        if local is None or self.external is None:
            return None
        return self.external(local)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def _combine(results: Iterable[Sensitivity]) -> Sensitivity:
    """Sensitive if any part is; insensitive only if every part is known to be."""
    seen_unknown = False
    for result in results:
        if result is True:
            return True
        if result is None:
            seen_unknown = True
    return None if seen_unknown else False
