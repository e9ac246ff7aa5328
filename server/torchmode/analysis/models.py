"""Which access paths of a file are models, which of them get trained, and what builds them."""

from __future__ import annotations

import ast
import re

from torchmode.analysis import api_names
from torchmode.analysis.calls import CallResolver
from torchmode.analysis.facts import Function
from torchmode.analysis.functions import FunctionTable
from torchmode.analysis.identity import strip_mode_chain, strip_wrappers
from torchmode.analysis.names import ImportMap, access_path, root_of
from torchmode.syntax.document import Document
from torchmode.syntax.node_index import node_index

_NAME_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")


class ModelDiscovery:
    """Finds the model paths of one file (``model_paths``), those that get trained
    (``trained_paths``) and each path's ``Net(...)`` constructions (``constructors``)."""

    def __init__(
        self,
        document: Document,
        tree: ast.Module,
        imports: ImportMap,
        table: FunctionTable,
        module_classes: frozenset[str],
        calls: CallResolver,
    ) -> None:
        self.document = document
        self.tree = tree
        self.imports = imports
        self.table = table
        self.module_classes = module_classes
        self.calls = calls
        # Paths ever put in train mode or whose parameters are handed out (to an
        # optimizer): models that get trained, as opposed to frozen teachers.
        self.trained_paths: set[str] = set()
        # Every ``path = Net(...)`` of the file, for what the model is made of.
        self.constructors: dict[str, list[ast.Call]] = {}
        self.model_paths = self._find_model_paths()

    def _find_model_paths(self) -> frozenset[str]:
        paths: set[str] = set()
        index = node_index(self.document)
        nodes = (
            index.of_type(ast.Call, ast.Assign, ast.AnnAssign) if index is not None else ast.walk(self.tree)
        )
        for node in nodes:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in ("train", "eval"):
                    receiver = strip_wrappers(node.func.value)
                    path = access_path(receiver) if receiver is not None else None
                    if path and not self.is_library_path(path):
                        paths.add(path)
                        if node.func.attr == "train":
                            self.trained_paths.add(path)
                elif node.func.attr == "parameters":
                    path = access_path(node.func.value)
                    if path:
                        paths.add(path)
                        self.trained_paths.add(path)
            elif (
                isinstance(node, (ast.Assign, ast.AnnAssign))
                and node.value is not None
                and self.constructs_module(node.value)
            ):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    path = access_path(target)
                    if path:
                        paths.add(path)
                        constructor = strip_mode_chain(node.value)
                        if isinstance(constructor, ast.Call):
                            self.constructors.setdefault(path, []).append(constructor)
        paths.update(self._called_in_training_steps())
        paths.update(self._called_parameters_named_like_models())
        return frozenset(paths)

    def _called_in_training_steps(self) -> set[str]:
        """Parameters called before a ``backward()``/``step()`` in the same function are models.

        ``def step(net, opt, x): net(x).sum().backward()`` trains ``net`` whatever its
        name. Only parameters count (not helpers, imports or builtins), so a call of a
        local function or of ``print`` is never taken for a forward pass.
        """
        found: set[str] = set()
        for function in self.table.functions:
            if function.node is None:
                continue
            calls = self.table.own_calls(function)
            step_lines = [
                call.lineno for call in calls if api_names.training_step_kind(call, self.imports) is not None
            ]
            if not step_lines:
                continue
            last_step = max(step_lines)
            for call in calls:
                path = access_path(call.func)
                if (
                    path is not None
                    and "." not in path
                    and path in function.parameters
                    and path != (function.parameters[0] if function.class_name else None)
                    and call.lineno <= last_step
                ):
                    found.add(path)
        return found

    def _called_parameters_named_like_models(self) -> set[str]:
        """``def evaluate(model, loader): model(x)``: a called parameter named like a model is one.

        The name matters: ``criterion(out, y)`` or ``fn(x)`` are called too and are no model.
        """
        found: set[str] = set()
        for function in self.table.functions:
            candidates = {
                name
                for name in function.parameters
                if api_names.MODEL_NAME_WORDS & {word.lower() for word in _NAME_WORD.findall(name)}
            } - self._function_defaults(function)
            if not candidates:
                continue
            for call in self.table.own_calls(function):
                if isinstance(call.func, ast.Name) and call.func.id in candidates:
                    found.add(call.func.id)
        return found

    def _function_defaults(self, function: Function) -> set[str]:
        """Parameters whose default is a function (``decoder=decode_tokens``, ``fn=lambda x: x``):
        whatever their name says, callers pass functions there, not models."""
        node = function.node
        if node is None:
            return set()
        arguments = node.args
        positional = [*arguments.posonlyargs, *arguments.args]
        pairs = list(
            zip(positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True)
        )
        pairs += [
            (arg, default)
            for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
            if default is not None
        ]
        return {
            arg.arg
            for arg, default in pairs
            if isinstance(default, ast.Lambda)
            or (isinstance(default, ast.Name) and default.id in self.table.module.nested)
        }

    def is_library_path(self, path: str) -> bool:
        """``torch.something.eval()`` is not a model of the user's."""
        return root_of(path) in self.imports.aliases

    def constructs_module(self, expr: ast.expr) -> bool:
        inner = strip_mode_chain(expr)
        if not isinstance(inner, ast.Call):
            return False
        return self.is_module_constructor(inner)

    def is_module_constructor(self, call: ast.Call) -> bool:
        func = call.func
        if isinstance(func, ast.Name) and func.id in self.module_classes:
            return True
        if isinstance(func, ast.Name) and func.id in self.table.class_bases:
            # A class of this file whose nn.Module base is imported from another file.
            return self.calls.project is not None and self.calls.is_module_class(func.id)
        if isinstance(func, ast.Attribute) and func.attr == "from_pretrained":
            return True
        qualified = self.imports.qualified_name(func)
        if qualified is not None and qualified in api_names.WRAPPER_CONSTRUCTORS:
            return bool(call.args) and self.constructs_module(call.args[0])
        if qualified is not None and api_names.is_module_factory(qualified):
            return True
        path = access_path(func)
        return (
            path is not None and self.calls.project is not None and self.calls.is_imported_module_class(path)
        )
