"""The function table of a module: its body, functions, methods and nested defs as ``Function``
records, with the classes, their bases and what each function's own code calls."""

from __future__ import annotations

import ast
from collections import Counter

from torchmode.analysis.facts import MODULE_FUNCTION, Function, FunctionNode
from torchmode.analysis.identity import is_wrapper_call, strip_wrappers
from torchmode.analysis.names import access_path, local_names, root_of, stored_names
from torchmode.analysis.reuse import ReuseCache
from torchmode.analysis.walk import own_expressions, statements_of

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class FunctionTable:
    """Builds the ``Function`` records of a module (reusing the previous version's names of
    kept functions) and answers what each one's own code calls."""

    def __init__(self, tree: ast.Module, previous: ReuseCache | None, reuse: ReuseCache) -> None:
        self.functions: list[Function] = []
        self.module_level: dict[str, Function] = {}
        self.classes: dict[str, dict[str, Function]] = {}
        self.class_bases: dict[str, list[str]] = {}
        self.class_counts: Counter[str] = Counter()
        self._previous = previous
        self._reuse = reuse
        self._module_calls: list[ast.Call] | None = None
        self._switched_in_class: dict[str, set[str]] = {}
        self.module = Function(MODULE_FUNCTION, None, tree.body, [], 0, frozenset(), None, None)
        self.functions.append(self.module)
        self._scan(tree.body, self.module, None, None)
        self.module.nested = self.module_level
        self.by_node = {
            id(function.node): function for function in self.functions if function.node is not None
        }

    def _scan(
        self, body: list[ast.stmt], parent: Function, class_name: str | None, owner: ast.stmt | None
    ) -> None:
        for statement in self._definitions(owner, body):
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                function = self._function(statement, parent, class_name)
                if class_name is not None:
                    self.classes.setdefault(class_name, {})[statement.name] = function
                elif parent.is_module:
                    self.module_level[statement.name] = function
                else:
                    parent.nested[statement.name] = function
            elif isinstance(statement, ast.ClassDef):
                self.class_counts[statement.name] += 1
                self.class_bases[statement.name] = [
                    base_path for base_path in map(access_path, statement.bases) if base_path is not None
                ]
                self._scan(statement.body, parent, statement.name, statement)

    def _function(self, node: FunctionNode, parent: Function, class_name: str | None) -> Function:
        arguments = node.args
        positional = [arg.arg for arg in [*arguments.posonlyargs, *arguments.args]]
        keyword_only = [arg.arg for arg in arguments.kwonlyargs]
        prefix = f"{class_name}." if class_name else (f"{parent.name}." if not parent.is_module else "")
        function = Function(
            name=prefix + node.name,
            node=node,
            body=node.body,
            parameters=positional + keyword_only,
            positional_count=len(positional),
            locals=frozenset(),
            class_name=class_name,
            parent=parent,
        )
        known = self._previous.names_of(node) if self._previous is not None else None
        if known is None:
            known = (local_names(node), rebound_names(node, function))
        function.locals, function.rebound = known
        self._reuse.function_names[id(node)] = (node, known)
        self.functions.append(function)
        self._scan(node.body, function, None, node)
        return function

    def _definitions(self, owner: ast.stmt | None, body: list[ast.stmt]) -> list[ast.stmt]:
        """The defs and classes among the statements of a body, taken over from the previous
        version for a kept def or class (a class holding an edit is a new node: see
        ``syntax.incremental``)."""
        if owner is None:
            return [statement for statement in statements_of(body) if isinstance(statement, _DEFINITIONS)]
        found = self._reuse.definitions_of(owner)
        if found is None and self._previous is not None:
            found = self._previous.definitions_of(owner)
        if found is None:
            found = [statement for statement in statements_of(body) if isinstance(statement, _DEFINITIONS)]
        self._reuse.definitions[id(owner)] = (owner, found)
        return found

    def own_calls(self, function: Function) -> list[ast.Call]:
        """The calls in a function's own code (not nested defs), found once and kept."""
        node = function.node
        if node is None:
            if self._module_calls is None:
                self._module_calls = own_calls(function.body)
            return self._module_calls
        calls = self._reuse.own_calls_of(node)
        if calls is None:
            calls = self._previous.own_calls_of(node) if self._previous is not None else None
            if calls is None:
                calls = own_calls(function.body)
            self._reuse.own_calls[id(node)] = (node, calls)
        return calls

    def switched_attributes(self, class_name: str) -> set[str]:
        """The parts of ``self`` (``teacher``, ``model.backbone``, or "" for all of it) that
        a method of the class other than ``__init__`` switches."""
        found = self._switched_in_class.get(class_name)
        if found is None:
            found = set()
            for name, method in self.classes.get(class_name, {}).items():
                if name == "__init__" or not method.parameters:
                    continue
                own = method.parameters[0]
                for call in self.own_calls(method):
                    func = call.func
                    if isinstance(func, ast.Attribute) and func.attr in ("train", "eval"):
                        receiver = access_path(func.value)
                        if receiver == own:
                            found.add("")
                        elif receiver is not None and receiver.startswith(f"{own}."):
                            found.add(receiver[len(own) + 1 :])
            self._switched_in_class[class_name] = found
        return found

    def is_kept(self, key: int, node: FunctionNode) -> bool:
        """Is ``node`` (found under ``key`` in the previous version) a function of this one?"""
        function = self.by_node.get(key)
        return function is not None and function.node is node


def own_calls(body: list[ast.stmt]) -> list[ast.Call]:
    return [
        node
        for statement in statements_of(body)
        for node in own_expressions(statement)
        if isinstance(node, ast.Call)
    ]


def rebound_names(node: FunctionNode, function: Function) -> frozenset[str]:
    """Parameters assigned a new object, so effects after that do not reach the caller.

    ``model = model.to(device)`` keeps the object (``.to`` returns ``self``), so it
    is not a rebinding.
    """
    rebound: set[str] = set()
    for statement in statements_of(node.body):
        if isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                for name in stored_names(target):
                    value = statement.value
                    while isinstance(value, ast.Call) and value.args and is_wrapper_call(value):
                        value = value.args[0]  # ``model = DDP(model)`` keeps the module
                    kept = (
                        value is not None
                        and strip_wrappers(value) is not None
                        and root_of(access_path(strip_wrappers(value) or value) or "") == name
                    )
                    if name in function.parameters and not kept:
                        rebound.add(name)
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            rebound.update(name for name in stored_names(statement.target) if name in function.parameters)
    return frozenset(rebound)


def returned_name(function: Function) -> str | None:
    """The one name every ``return`` of ``function`` returns (``return model``), if it has
    returns and they agree: a function that hands back what it was given."""
    names: set[str] = set()
    for statement in statements_of(function.body):
        if isinstance(statement, ast.Return):
            if not isinstance(statement.value, ast.Name):
                return None
            names.add(statement.value.id)
    return next(iter(names)) if len(names) == 1 else None
