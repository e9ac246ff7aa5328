"""TM301 mode-method-not-called."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from torchmode.analysis import api_names
from torchmode.analysis.facts import FileAnalysis, Function
from torchmode.analysis.lattice import ModeFact, Site
from torchmode.analysis.names import access_path, prefixes, root_of
from torchmode.analysis.walk import statements_of
from torchmode.findings import Finding, Fix, Related, Severity
from torchmode.fixes.calls import call_it
from torchmode.rules.base import Invalid, Rule, RuleContext, Valid
from torchmode.syntax.node_index import node_index

_MODE_METHODS = ("eval", "train")

# Words in a receiver's name that say "this is a network". A name is split on
# underscores and camelCase first, so ``ema_model``, ``netG`` and ``q_network`` match.
_MODEL_WORDS = frozenset(
    {
        "model",
        "models",
        "net",
        "nets",
        "network",
        "networks",
        "module",
        "modules",
        "encoder",
        "decoder",
        "backbone",
        "classifier",
        "head",
        "heads",
        "teacher",
        "student",
        "policy",
        "critic",
        "actor",
        "generator",
        "discriminator",
        "autoencoder",
        "vae",
        "unet",
        "transformer",
        "bert",
        "gpt",
        "resnet",
        "vgg",
        "cnn",
        "rnn",
        "lstm",
        "gru",
        "mlp",
        "layer",
        "layers",
        "block",
        "blocks",
        "ema",
        "ensemble",
        "embedder",
        "predictor",
        "regressor",
        "detector",
    }
)
_MODEL_SUFFIXES = ("net", "model", "former")

# Words of configuration objects: anything under them is a setting, not a network
# (``cfg.model.train`` is a flag of the config's model section).
_CONFIG_WORDS = frozenset(
    {
        "args",
        "arg",
        "argv",
        "opt",
        "opts",
        "option",
        "options",
        "config",
        "configs",
        "cfg",
        "conf",
        "hparams",
        "hparam",
        "params",
        "settings",
        "flags",
        "parser",
    }
)

# Words that say "this is not a network", even when ``.train()`` is called on it
# somewhere (``trainer.train()`` makes ``trainer`` look like a model to the analysis)
# or it has a ``train`` attribute (``dataset.train`` on torchvision's MNIST).
_OTHER_WORDS = _CONFIG_WORDS | frozenset(
    {
        "trainer",
        "engine",
        "evaluator",
        "dataset",
        "datasets",
        "data",
        "datamodule",
        "dm",
        "loader",
        "loaders",
        "dataloader",
        "split",
        "splits",
        "mode",
        "modes",
        "phase",
        "phases",
        "path",
        "paths",
        "dir",
        "file",
        "df",
        "session",
        "env",
        "logger",
        "writer",
        "metrics",
        "stats",
        "history",
        "results",
        "optimizer",
        "scheduler",
        "tokenizer",
    }
)

_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def _words(name: str) -> set[str]:
    return {word.lower() for part in name.split("_") for word in _WORD.findall(part)}


def _model_like(name: str) -> bool:
    words = _words(name)
    return bool(words & _MODEL_WORDS) or any(word.endswith(_MODEL_SUFFIXES) for word in words)


def _other_like(name: str) -> bool:
    return bool(_words(name) & _OTHER_WORDS)


def _strip_same_module(expr: ast.expr) -> ast.expr:
    """``model.to(device).eval`` -> ``model``: these calls return the module itself."""
    while (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and (expr.func.attr in api_names.SAME_MODULE_METHODS or expr.func.attr in _MODE_METHODS)
    ):
        expr = expr.func.value
    return expr


def _is_module_construction(call: ast.Call, analysis: FileAnalysis) -> bool:
    func = call.func
    if isinstance(func, ast.Name) and func.id in analysis.module_classes:
        return True
    if isinstance(func, ast.Attribute) and func.attr == "from_pretrained":
        return True
    qualified = analysis.imports.qualified_name(func) if analysis.imports is not None else None
    return qualified is not None and api_names.is_module_factory(qualified)


class ModeMethodNotCalled(Rule):
    """``model.eval`` or ``model.train`` written as a statement without ``()``.

    The statement only looks the bound method up and throws it away: the mode
    does not change and nothing fails. Reported when the receiver is plausibly an
    ``nn.Module``: a tracked model, ``self`` (or an attribute of it) inside an
    ``nn.Module`` subclass, a module built on the spot, or a name that says it is
    a network (``model``, ``net``, ``encoder``...). Names rooted in an import
    (``torch.eval``) and names that say they are something else (``trainer``,
    ``dataset``, ``args``) are left alone, and so is every use of the bound method
    as a value (``m = model.eval``, ``callbacks.append(model.train)``).
    """

    code = "TM301"
    name = "mode-method-not-called"
    default_severity = Severity.ERROR

    VALID = (
        # Called: the mode changes.
        Valid("def evaluate(model, batch):\n    model.eval()\n    return model(batch)\n"),
        # The bound method kept as a value and called later.
        Valid(
            "def set_mode(model, training):\n"
            "    switch = model.train if training else model.eval\n"
            "    switch()\n"
            "    callbacks = [model.eval]\n"
            "    callbacks.append(model.train)\n"
            "    return callbacks\n"
        ),
        # Not a network: a trainer object, a dataset attribute, a configuration section.
        Valid("def run(trainer, dataset, cfg):\n    trainer.train\n    dataset.train\n    cfg.model.train\n"),
        # Rooted in an import: not a model of the user's.
        Valid("import torch.nn as nn\n\nnn.Module.train\n"),
    )
    INVALID = (
        Invalid(
            "def evaluate(model, batch):\n    model.eval\n    return model(batch)\n",
            line=2,
            fixed="def evaluate(model, batch):\n    model.eval()\n    return model(batch)\n",
        ),
        Invalid(
            "import torch.nn as nn\n\n\n"
            "class Frozen(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.backbone = nn.Linear(4, 4)\n\n"
            "    def train(self, mode=True):\n"
            "        super().train(mode)\n"
            "        self.backbone.eval  # keep the backbone frozen\n"
            "        return self\n",
            line=11,
            fixed="import torch.nn as nn\n\n\n"
            "class Frozen(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.backbone = nn.Linear(4, 4)\n\n"
            "    def train(self, mode=True):\n"
            "        super().train(mode)\n"
            "        self.backbone.eval()  # keep the backbone frozen\n"
            "        return self\n",
        ),
        Invalid(
            "def fit(net, loader, optimizer):\n"
            "    for x, y in loader:\n"
            "        net.train\n"
            "        loss = (net(x) - y).pow(2).mean()\n"
            "        optimizer.zero_grad()\n"
            "        loss.backward()\n"
            "        optimizer.step()\n",
            line=3,
        ),
    )

    @classmethod
    def may_apply(cls, text: str) -> bool:
        return ".eval" in text or ".train" in text

    def check(self, context: RuleContext) -> Iterator[Finding]:
        analysis = context.analysis
        index = node_index(analysis.document)
        if index is not None and not any(_names_a_mode_method(node) for node in index.of_type(ast.Expr)):
            return  # no ``x.eval`` statement anywhere: no walk of every function's statements
        for function in analysis.functions:
            for statement in statements_of(function.body):
                if not isinstance(statement, ast.Expr):
                    continue
                attribute = statement.value
                if not (isinstance(attribute, ast.Attribute) and attribute.attr in _MODE_METHODS):
                    continue
                receiver = _strip_same_module(attribute.value)
                if not self._plausibly_module(receiver, function, analysis):
                    continue
                yield self._finding(context, function, statement, attribute)

    # -- which receivers are modules -----------------------------------------------------------

    def _plausibly_module(self, receiver: ast.expr, function: Function, analysis: FileAnalysis) -> bool:
        if isinstance(receiver, ast.Call):
            return _is_module_construction(receiver, analysis)
        if isinstance(receiver, ast.Subscript):
            # ``models[i].eval``, ``self.heads[name].train``: judge by the container's name.
            container = access_path(receiver.value)
            if container is None:
                return False
            last = container.rsplit(".", 1)[-1]
            return _model_like(last) and not _other_like(last)
        path = access_path(receiver)
        if path is None:
            return False
        root = root_of(path)
        imports = analysis.imports
        if imports is not None and root in imports.aliases and root not in function.locals:
            return False  # ``torch.eval``, ``nn.Module.train``: a library's name, not a model
        last = path.rsplit(".", 1)[-1]
        if _other_like(last) or any(_words(part) & _CONFIG_WORDS for part in path.split(".")):
            return False
        in_module_class = function.class_name is not None and function.class_name in analysis.module_classes
        self_name = function.parameters[0] if function.class_name and function.positional_count else None
        if path == self_name:
            return in_module_class
        tracked = [
            prefix
            for prefix in prefixes(path)
            if prefix in analysis.model_paths and (prefix != self_name or in_module_class)
        ]
        if tracked:
            return True
        if self_name is not None and root == self_name and in_module_class:
            return True  # an attribute of an nn.Module (a sub-module, in all likelihood)
        return _model_like(last)

    # -- message and fix ------------------------------------------------------------------------

    def _finding(
        self, context: RuleContext, function: Function, statement: ast.Expr, attribute: ast.Attribute
    ) -> Finding:
        document = context.document
        analysis = context.analysis
        expr_text = " ".join(document.source_of(attribute).split())
        receiver_text = " ".join(document.source_of(attribute.value).split())
        method = attribute.attr
        mode, cause = self._current_mode(analysis, statement, attribute.value)
        if cause is None:
            since = ""
        elif cause.fresh:
            since = context.text("TM301.since.built", line=cause.origin[0].span.start.line)
        else:
            site = cause.origin[0]
            since = context.text("TM301.since.call", site=site.short_text(), line=site.span.start.line)
        message = context.text(
            f"TM301.message.{method}.{mode}", expr=expr_text, path=receiver_text, since=since
        )
        related: tuple[Related, ...] = ()
        if cause is not None:
            key = "TM301.related.built" if cause.fresh else f"TM301.related.{mode}"
            related = (Related(cause.origin[0].span, context.text(key, path=receiver_text)),)
        span = document.span_of(attribute)
        fixes: list[Fix] = []
        edit = call_it(document, attribute)
        if edit is not None:
            fixes.append(Fix(context.text("TM301.fix.call", expr=expr_text), (edit,)))
        return self.report(
            span,
            message,
            related=related,
            fixes=tuple(fixes),
        )

    @staticmethod
    def _current_mode(
        analysis: FileAnalysis, statement: ast.stmt, receiver: ast.expr
    ) -> tuple[str, ModeFact | None]:
        """``train``, ``eval`` or ``unknown`` at the statement, with the fact that set it.

        The message can only say "stays in eval mode since line 12" when every path
        agrees; otherwise it says the model keeps whatever mode it had.
        """
        path = access_path(_strip_same_module(receiver))
        state = analysis.state_before(statement)
        if path is None or state is None:
            return "unknown", None
        modes = state.mode_map
        value = next((modes[prefix] for prefix in prefixes(path) if prefix in modes), None)
        if not value:
            return "unknown", None
        kinds = {fact.mode for fact in value}
        if len(kinds) != 1 or not kinds <= {"train", "eval"}:
            return "unknown", None
        with_origin = sorted(
            (fact for fact in value if fact.origin), key=lambda fact: _site_key(fact.origin[0])
        )
        return next(iter(kinds)), (with_origin[-1] if with_origin else None)


def _site_key(site: Site) -> tuple[int, int]:
    return (site.span.start.line, site.span.start.column)


def _names_a_mode_method(statement: ast.AST) -> bool:
    """An expression statement that is ``<something>.train`` or ``<something>.eval``."""
    value = statement.value if isinstance(statement, ast.Expr) else None
    return isinstance(value, ast.Attribute) and value.attr in _MODE_METHODS
