"""Names that are another path's object: ``m = model``, ``net = torch.compile(model)``, a
trainer that keeps the model it was given."""

from __future__ import annotations

import ast

from torchmode.analysis import api_names
from torchmode.analysis.calls import CallResolver
from torchmode.analysis.facts import Function
from torchmode.analysis.identity import strip_wrappers
from torchmode.analysis.names import ImportMap, access_path, root_of, stored_names
from torchmode.analysis.reuse import ReadRecorder, Reads
from torchmode.analysis.walk import statements_of


class AliasTable:
    """The aliases of each function of one file, found once per function (with what they read
    of other functions, for the next version's reuse)."""

    def __init__(self, imports: ImportMap, calls: CallResolver, recorder: ReadRecorder) -> None:
        self.imports = imports
        self.calls = calls
        self.recorder = recorder
        self._maps: dict[int, dict[str, str]] = {}
        self._reads: dict[int, Reads] = {}

    def aliases(self, function: Function) -> dict[str, str]:
        """Names of ``function`` that are another path's object: alias path -> that path.

        ``m = model`` (also ``model.to(device)``, ``torch.compile(model)``,
        ``DataParallel(model)``): switching ``m`` switches ``model``. ``trainer =
        Trainer(model)`` whose ``__init__`` keeps ``self.model = model``: ``trainer.model``
        is ``model``. Only names assigned once in the function, from a path whose root
        is not assigned another object there, so the alias holds wherever it is used.
        """
        cached = self._maps.get(id(function))
        if cached is not None:
            self.recorder.reads(self._reads.get(id(function)))
            return cached
        with self.recorder.recording(Reads()) as reads:
            aliases = self._find_aliases(function)
        self._maps[id(function)] = aliases
        self._reads[id(function)] = reads
        self.recorder.reads(reads)
        return aliases

    def _find_aliases(self, function: Function) -> dict[str, str]:
        assigned: dict[str, list[ast.expr | None]] = {}
        for statement in statements_of(function.body):
            if isinstance(statement, ast.Assign):
                for target in statement.targets:
                    for name in stored_names(target):
                        assigned.setdefault(name, []).append(
                            statement.value if isinstance(target, ast.Name) else None
                        )
            elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
                for name in stored_names(statement.target):
                    value = statement.value if isinstance(statement, ast.AnnAssign) else None
                    assigned.setdefault(name, []).append(value)
            elif isinstance(statement, (ast.For, ast.AsyncFor)):
                for name in stored_names(statement.target):
                    assigned.setdefault(name, []).append(None)
            elif isinstance(statement, (ast.With, ast.AsyncWith)):
                for item in statement.items:
                    if item.optional_vars is not None:
                        for name in stored_names(item.optional_vars):
                            assigned.setdefault(name, []).append(None)
        aliases: dict[str, str] = {}

        def stable(path: str) -> bool:
            root = root_of(path)
            if root in function.parameters:
                return root not in function.rebound
            values = assigned.get(root)
            return values is None or (len(values) == 1 and values[0] is not None)

        for name, values in assigned.items():
            if len(values) != 1 or values[0] is None or name in function.parameters:
                continue
            value = values[0]
            source = self._same_object(value)
            if source is not None:
                if root_of(source) != name and stable(source):
                    aliases[name] = source
                continue
            if isinstance(value, ast.Call):
                for attribute, argument in self._kept_arguments(value).items():
                    if root_of(argument) != name and stable(argument):
                        aliases[f"{name}.{attribute}"] = argument
        return aliases

    def _same_object(self, value: ast.expr) -> str | None:
        """The path whose module ``value`` is (mode-wise), through ``.to()`` and wrappers."""
        if isinstance(value, ast.Call) and value.args:
            qualified = self.imports.qualified_name(value.func)
            if qualified in api_names.WRAPPER_CONSTRUCTORS:
                # ``torch.compile(model)``: its ``.training`` is the module's; DataParallel's
                # ``train()`` reaches the wrapped module.
                return self._same_object(value.args[0])
        stripped = strip_wrappers(value)
        if stripped is None or isinstance(stripped, ast.Call):
            return None
        return access_path(stripped)

    def _kept_arguments(self, call: ast.Call) -> dict[str, str]:
        """``Trainer(model, opt)`` with ``self.model = model`` in ``__init__``: {"model": "model"}."""
        path = access_path(call.func)
        if path is None:
            return {}
        calls = self.calls
        if path in calls.table.classes or path in calls.table.class_bases:
            found = calls.method(path, "__init__")
        else:
            imported = calls.imported_definition(path)
            if imported is None or imported.kind != "class":
                return {}
            owner = imported.analyzer
            if owner is None:
                return {}
            with owner.project_lock():
                found = owner.calls.method(imported.name, "__init__")
        if found is None:
            return {}
        init = found[0]
        if found[1] is calls.owner:
            self.recorder.function(init)
        if not init.parameters or init.node is None:
            return {}
        self_name = init.parameters[0]
        arguments: dict[str, str] = {}
        for name, argument in zip(init.parameters[1 : init.positional_count], call.args, strict=False):
            if isinstance(argument, ast.Starred):
                break
            stripped = strip_wrappers(argument)
            argument_path = access_path(stripped) if stripped is not None else None
            if argument_path is not None:
                arguments[name] = argument_path
        for keyword in call.keywords:
            if keyword.arg is not None and keyword.arg in init.parameters:
                stripped = strip_wrappers(keyword.value)
                argument_path = access_path(stripped) if stripped is not None else None
                if argument_path is not None:
                    arguments[keyword.arg] = argument_path
        kept: dict[str, str] = {}
        for statement in init.node.body:  # the direct body: a conditional assignment may not run
            if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
                continue
            target = statement.targets[0]
            source = strip_wrappers(statement.value)
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == self_name
                and isinstance(source, ast.Name)
                and source.id in arguments
                and source.id not in init.rebound
            ):
                kept[target.attr] = arguments[source.id]
        return kept
