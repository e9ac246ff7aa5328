"""Which function a call runs: same-file functions, methods through classes and their bases,
instances of known classes, and names imported from the project's other files.

Other files are reached through ``OtherFiles`` (``analysis.project.Project`` implements it):
this module knows what it asks of them, not how they are found, so the project can build
analyzers without the analysis importing the project.
"""

from __future__ import annotations

import ast
import threading
import weakref
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from torchmode.analysis.api_names import BUILTIN_CLASSES, ClassKind, library_class_kind
from torchmode.analysis.facts import Function, Summary
from torchmode.analysis.functions import FunctionTable
from torchmode.analysis.identity import strip_wrappers
from torchmode.analysis.names import ImportMap, access_path, root_of
from torchmode.analysis.reuse import InstanceMap, ReadRecorder
from torchmode.analysis.walk import all_statements, statements_of
from torchmode.syntax.document import Document
from torchmode.syntax.node_index import node_index


class FileAnalyzer(Protocol):
    """Another file's analyzer, as far as this file's analysis uses it."""

    calls: CallResolver

    @property
    def imports(self) -> ImportMap: ...

    def summary_of(self, function: Function) -> Summary: ...

    def project_lock(self) -> AbstractContextManager[Any]: ...

    def returns_module(self, function: Function, depth: int = 0) -> bool: ...


class Definition(Protocol):
    """The function or class an imported name refers to, in a file of the project."""

    @property
    def kind(self) -> Literal["function", "class"]: ...

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> Path: ...

    @property
    def analyzer(self) -> FileAnalyzer | None: ...

    def function_and_analyzer(self) -> tuple[Function, FileAnalyzer] | None: ...


class OtherFiles(Protocol):
    """What the analysis of one file asks of the others (``analysis.project.Project``)."""

    @property
    def lock(self) -> threading.RLock: ...

    @property
    def generation(self) -> int: ...

    def resolve(
        self, importer: Path, imports: ImportMap, local_name: str, library: bool = False
    ) -> Definition | None: ...

    def is_module_class(self, path: Path, class_name: str, depth: int = 0) -> bool: ...

    def class_kind(self, path: Path, class_name: str, depth: int = 0) -> ClassKind | None: ...

    def class_sensitivity(
        self, importer: Path, imports: ImportMap, local_name: str, depth: int = 0
    ) -> bool | None: ...

    def star_aliases(self, importer: Path, imports: ImportMap, depth: int = 0) -> dict[str, str]: ...


@dataclass(frozen=True)
class ResolvedCall:
    """The function a call runs, the file that has it, and the caller's argument paths:
    positional (the receiver first for a method), and by keyword."""

    callee: Function
    positional: list[str | None]
    keywords: dict[str, str | None]
    owner: FileAnalyzer


class CallResolver:
    """Answers "which function does this call run?" for one file."""

    def __init__(
        self,
        document: Document,
        tree: ast.Module,
        imports: ImportMap,
        table: FunctionTable,
        module_classes: frozenset[str],
        owner: FileAnalyzer,
        recorder: ReadRecorder,
        project: OtherFiles | None,
        path: Path | None,
    ) -> None:
        self.imports = imports
        self.table = table
        self.module_classes = module_classes
        # This file's analyzer (the owner of same-file callees), which owns this resolver: held
        # weakly, so the two are no reference cycle. In a cycle, each superseded version's
        # analyzer (its graphs, states and facts, about a thousand objects an edit) waited
        # for the collector's older generations instead of going when the project let it
        # go, and the young collections it made more frequent were the language server's
        # slowest edits.
        self._owner = weakref.ref(owner)
        self.recorder = recorder
        self.project = project
        self.path = path
        # The model paths of this file, known once model discovery ran (it asks this
        # resolver which classes are modules first): installed packages are read only for
        # calls that get a model.
        self.model_paths: frozenset[str] = frozenset()
        self._imported: dict[tuple[str, bool], Definition | None] = {}
        self._imported_module_classes: dict[str, bool] = {}
        self._elements: dict[str, set[str]] | None = None
        # ``trainer = Trainer(model)``: the classes of this file each path is an instance of
        # (a path assigned anything else too gets no class).
        # Lookups are recorded in the computations that make them (``reuse.InstanceMap``).
        self.instances: dict[str, set[str]] = InstanceMap(self._find_instances(document, tree), recorder)

    @property
    def owner(self) -> FileAnalyzer:
        owner = self._owner()
        assert owner is not None, "a call resolver outlived the analyzer that owns it"
        return owner

    # -- classes ---------------------------------------------------------------------------------

    def _find_instances(self, document: Document, tree: ast.Module) -> dict[str, set[str]]:
        instances: dict[str, set[str]] = {}
        unknown: set[str] = set()
        index = node_index(document)
        classes = self.table.classes
        for statement in index.of_type(ast.Assign) if index is not None else all_statements(tree):
            if not isinstance(statement, ast.Assign):
                continue
            value = statement.value
            if isinstance(value, ast.Constant) and value.value is None:
                continue  # a placeholder until the real object is built
            name = access_path(value.func) if isinstance(value, ast.Call) else None
            for target in statement.targets:
                path = access_path(target)
                if path is None:
                    continue
                # A class of this file, or an imported name (resolved when a method is called).
                if name is not None and (
                    name in classes
                    or root_of(name) in self.imports.aliases
                    or root_of(name) in self.imports.relative
                ):
                    instances.setdefault(path, set()).add(name)
                else:
                    unknown.add(path)
        return {path: classes for path, classes in instances.items() if path not in unknown}

    def method(
        self, class_name: str, name: str, skip_own: bool = False, depth: int = 0
    ) -> tuple[Function, FileAnalyzer] | None:
        """A method as Python finds it: the class itself, then its bases in order (those of
        this file, and those imported from other files of the project)."""
        if depth > 20:
            return None  # a cycle of bases cannot exist at run time; do not loop on one here
        table = self.table
        if not skip_own:
            method = table.classes.get(class_name, {}).get(name)
            if method is not None:
                return method, self.owner
        for base in table.class_bases.get(class_name, []):
            if base in table.classes or base in table.class_bases:
                found = self.method(base, name, depth=depth + 1)
            else:
                imported = self.imported_definition(base)
                found = None
                owner = imported.analyzer if imported is not None and imported.kind == "class" else None
                if imported is not None and owner is not None:
                    with owner.project_lock():
                        found = owner.calls.method(imported.name, name, depth=depth + 1)
            if found is not None:
                return found
        return None

    def class_of(self, path: str) -> tuple[str, FileAnalyzer] | None:
        """The class (and its file's analyzer) that every assignment of ``path`` instantiates."""
        classes = self.instances.get(path)
        if classes is None or len(classes) != 1:
            return None
        name = next(iter(classes))
        if name in self.table.classes:
            return name, self.owner
        imported = self.imported_definition(name)
        owner = imported.analyzer if imported is not None and imported.kind == "class" else None
        if imported is None or owner is None:
            return None
        return imported.name, owner

    def is_module_class(self, class_name: str, depth: int = 0) -> bool:
        """A class of this file that derives from nn.Module, here or through imported bases."""
        if class_name in self.module_classes:
            return True
        if depth > 20:
            return False
        class_bases = self.table.class_bases
        for base in class_bases.get(class_name, []):
            if base in class_bases:
                if self.is_module_class(base, depth + 1):
                    return True
            elif self.is_imported_module_class(base):
                return True
        return False

    def class_kind(self, local_path: str, depth: int = 0) -> ClassKind | None:
        """What a class named in this file is (``Net``, ``models.Net``, ``nn.Linear``): an
        nn.Module subclass, a class known not to be one, or unknown (None)."""
        table = self.table
        if local_path in table.class_bases:
            if self.is_module_class(local_path):
                return "module"
            if depth > 20:
                return None
            kinds = [
                self.class_kind(base, depth + 1) if base not in BUILTIN_CLASSES else "other"
                for base in table.class_bases[local_path]
            ]
            return "other" if all(kind == "other" for kind in kinds) else None
        if local_path in BUILTIN_CLASSES:
            return "other"
        qualified = self.imports.qualify(local_path)
        if qualified is not None:
            known = library_class_kind(qualified)
            if known is not None:
                return known
        if self.is_imported_module_class(local_path):
            return "module"
        definition = self.imported_definition(local_path)
        if definition is None or definition.kind != "class" or self.project is None:
            return None
        return self.project.class_kind(definition.path, definition.name)

    def is_imported_module_class(self, local_path: str) -> bool:
        """``from models import Net``: is ``Net`` an nn.Module subclass in its file (or through
        its bases in further files)?"""
        known = self._imported_module_classes.get(local_path)
        if known is not None:
            return known
        self._imported_module_classes[local_path] = False  # a cycle of imports ends here
        definition = self.imported_definition(local_path)
        found = False
        if definition is not None and definition.kind == "class" and self.project is not None:
            found = self.project.is_module_class(definition.path, definition.name)
        self._imported_module_classes[local_path] = found
        return found

    # -- other files ----------------------------------------------------------------------------

    def imported_definition(self, local_path: str, library: bool = False) -> Definition | None:
        """The function or class an imported name refers to in another file of the project
        (with ``library``, also in installed packages: only for calls that get a model)."""
        if self.project is None or self.path is None:
            return None
        root = root_of(local_path)
        if root not in self.imports.aliases and root not in self.imports.relative:
            return None
        key = (local_path, library)
        if key not in self._imported:
            self._imported[key] = self.project.resolve(self.path, self.imports, local_path, library)
        return self._imported[key]

    def _gets_a_model(self, call: ast.Call) -> bool:
        """Is a model passed to this call? Only then is an installed package worth reading."""
        model_paths = self.model_paths
        for argument in [*call.args, *(keyword.value for keyword in call.keywords)]:
            stripped = strip_wrappers(argument.value if isinstance(argument, ast.Starred) else argument)
            path = access_path(stripped) if stripped is not None else None
            if path is not None and path in model_paths:
                return True
        return False

    # -- calls ----------------------------------------------------------------------------------

    def element_classes(self, path: str) -> frozenset[str]:
        """The classes of the objects a container holds (``self.callbacks = [EvalCallback(),
        ...]``, ``.append(X(...))``, or a list passed to ``__init__`` and kept)."""
        if self._elements is None:
            self._elements = self._find_elements()
        return frozenset(self._elements.get(path, ()))

    def _find_elements(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        kept: dict[str, list[tuple[str, str, int]]] = {}  # class -> (attribute path, parameter, index)
        for function in self.table.functions:
            for statement in statements_of(function.body):
                if isinstance(statement, ast.Assign):
                    classes = self._constructed_classes(statement.value)
                    for target in statement.targets:
                        path = access_path(target)
                        if path is not None and classes:
                            found.setdefault(path, set()).update(classes)
                    if (
                        function.class_name is not None
                        and function.node is not None
                        and function.node.name == "__init__"
                        and isinstance(statement.value, ast.Name)
                        and statement.value.id in function.parameters
                    ):
                        index = function.parameters.index(statement.value.id)
                        for target in statement.targets:
                            path = access_path(target)
                            if path is not None:
                                kept.setdefault(function.class_name, []).append(
                                    (path, statement.value.id, index)
                                )
            for call in self.table.own_calls(function):
                func = call.func
                if isinstance(func, ast.Attribute) and func.attr in ("append", "extend", "insert"):
                    container = access_path(func.value)
                    if container is not None:
                        for argument in call.args:
                            found.setdefault(container, set()).update(self._constructed_classes(argument))
        # ``Trainer(model, callbacks=[EvalCallback()])`` with ``self.callbacks = callbacks``.
        for function in self.table.functions:
            for call in self.table.own_calls(function):
                name = access_path(call.func)
                if name is None or name not in kept:
                    continue
                for path, parameter, index in kept[name]:
                    given: ast.expr | None = next(
                        (keyword.value for keyword in call.keywords if keyword.arg == parameter), None
                    )
                    if given is None and 0 < index <= len(call.args):
                        given = call.args[index - 1]  # the receiver is not passed
                    if given is not None:
                        found.setdefault(path, set()).update(self._constructed_classes(given))
        return found

    def _constructed_classes(self, value: ast.expr) -> set[str]:
        """The classes a list, tuple or set literal of constructions builds."""
        if not isinstance(value, (ast.List, ast.Tuple, ast.Set)):
            return set()
        classes: set[str] = set()
        for element in value.elts:
            if isinstance(element, ast.Call):
                name = access_path(element.func)
                if name is not None and (
                    name in self.table.classes
                    or name in self.table.class_bases
                    or root_of(name) in self.imports.aliases
                    or root_of(name) in self.imports.relative
                ):
                    classes.add(name)
        return classes

    def resolve_calls(
        self, function: Function, call: ast.Call, loop_items: dict[str, str] | None = None
    ) -> list[ResolvedCall]:
        """Every function a call may run: one, or for ``callback.on_epoch_end(self)`` in ``for
        callback in self.callbacks:`` the method of each class the container holds (each
        runs, one after the other)."""
        func = call.func
        if loop_items and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            container = loop_items.get(func.value.id)
            if container is not None:
                resolved: list[ResolvedCall] = []
                for class_name in sorted(self.element_classes(container)):
                    found = self._method_of_class(class_name, func.attr)
                    if found is not None and found[0].node is not None:
                        callee, owner = found
                        if owner is self.owner:
                            self.recorder.function(callee)
                        positional, keywords = self._arguments(call, func.value.id)
                        resolved.append(ResolvedCall(callee, positional, keywords, owner))
                if resolved:
                    return resolved
        single = self.resolve_call(function, call)
        return [single] if single is not None else []

    def freezing_constructor(self, call: ast.Call) -> tuple[Function, FileAnalyzer] | None:
        """The ``__init__`` a construction ``Net(...)`` of a project class runs, whose
        switches of ``self``'s parts (``self.backbone.eval()``) hold in the built object.

        None when the class (or a base) overrides ``train()``: a later ``model.train()``
        runs that override, which usually freezes the same parts again; and None for a
        name that is not plainly a class here (a local, an instance's attribute)."""
        name = access_path(call.func)
        if name is None:
            return None
        local = name in self.table.classes or name in self.table.class_bases
        if (
            not local
            and root_of(name) not in self.imports.aliases
            and root_of(name) not in self.imports.relative
        ):
            return None
        found = self._method_of_class(name, "__init__")
        if found is None or found[0].node is None or not found[0].parameters:
            return None
        if self._method_of_class(name, "train") is not None:
            return None
        callee, owner = found
        if owner is self.owner:
            self.recorder.function(callee)
        return found

    def _method_of_class(self, class_name: str, name: str) -> tuple[Function, FileAnalyzer] | None:
        if class_name in self.table.classes or class_name in self.table.class_bases:
            return self.method(class_name, name)
        imported = self.imported_definition(class_name)
        owner = imported.analyzer if imported is not None and imported.kind == "class" else None
        if imported is None or owner is None:
            return None
        with owner.project_lock():
            return owner.calls.method(imported.name, name)

    def _arguments(
        self, call: ast.Call, receiver: str | None
    ) -> tuple[list[str | None], dict[str, str | None]]:
        positional: list[str | None] = [receiver] if receiver is not None else []
        for argument in call.args:
            if isinstance(argument, ast.Starred):
                break
            stripped = strip_wrappers(argument)
            positional.append(access_path(stripped) if stripped is not None else None)
        keywords: dict[str, str | None] = {}
        for keyword in call.keywords:
            if keyword.arg is not None:
                stripped = strip_wrappers(keyword.value)
                keywords[keyword.arg] = access_path(stripped) if stripped is not None else None
        return positional, keywords

    def resolve_call(self, function: Function, call: ast.Call) -> ResolvedCall | None:
        """The function a call runs (in this file, or imported from another file of the
        project, with the analyzer of its file), with its argument paths bound to parameter names."""
        func = call.func
        receiver: str | None = None
        found: tuple[Function, FileAnalyzer] | None = None
        table = self.table
        if isinstance(func, ast.Name):
            scope: Function | None = function
            while scope is not None and found is None:
                nested = scope.nested.get(func.id)
                if nested is not None:
                    found = nested, self.owner
                elif func.id in scope.locals and not scope.is_module:
                    return None  # a local variable shadows any def of that name
                scope = scope.parent
            if found is None and func.id in table.module.nested:
                found = table.module.nested[func.id], self.owner
            if found is None and func.id not in table.classes:
                # ``from engine import evaluate``
                imported = self.imported_definition(func.id, self._gets_a_model(call))
                if imported is not None:
                    found = imported.function_and_analyzer()
        elif isinstance(func, ast.Attribute):
            target = func.value
            self_name = function.parameters[0] if function.class_name and function.parameters else None
            if (
                self_name is not None
                and isinstance(target, ast.Call)
                and isinstance(target.func, ast.Name)
                and target.func.id == "super"
            ):
                # ``super().evaluate()``: the first base that defines it.
                assert function.class_name is not None
                found = self.method(function.class_name, func.attr, skip_own=True)
                receiver = self_name
            elif isinstance(target, ast.Name) and target.id == self_name:
                assert function.class_name is not None
                found = self.method(function.class_name, func.attr)
                receiver = self_name
            else:
                # ``trainer.fit()`` where ``trainer = Trainer(...)``, a class of this file or
                # an imported one.
                path = access_path(target)
                owner_class = self.class_of(path) if path is not None else None
                if owner_class is not None:
                    class_name, class_owner = owner_class
                    with class_owner.project_lock():
                        found = class_owner.calls.method(class_name, func.attr)
                    receiver = path
                elif path is not None and (function.is_module or root_of(path) not in function.locals):
                    # ``engine.evaluate(...)`` after ``import engine``.
                    imported = self.imported_definition(f"{path}.{func.attr}", self._gets_a_model(call))
                    if imported is not None:
                        found = imported.function_and_analyzer()
        if found is None or found[0].node is None:
            return None
        callee, owner = found
        if owner is self.owner:
            self.recorder.function(callee)
        positional, keywords = self._arguments(call, receiver)
        return ResolvedCall(callee, positional, keywords, owner)
