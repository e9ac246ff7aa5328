"""What the objects of a file are: which access paths are models, which of them get trained
or loaded, which optimizer updates which model, and what builds each of them.

What an object is comes from the program, not from its name: ``X(...)`` builds a model when
``X`` resolves to an ``nn.Module`` subclass (in this file, another file of the project or an
installed package, or a name bound to such a class), when ``X`` is a function whose returns
build one (a factory), or ``X.from_pretrained`` of transformers or diffusers. A path that is an
instance of a class known not to be a module (a trainer with its own ``eval(metric)``, a
predictor object) is no model, whatever is called on it. Names are used only where the code
says nothing else: a called parameter named like a model (``def evaluate(model, loader)``).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from torchmode.analysis import api_names
from torchmode.analysis.calls import CallResolver
from torchmode.analysis.facts import Function
from torchmode.analysis.functions import FunctionTable
from torchmode.analysis.identity import strip_mode_chain, strip_wrappers
from torchmode.analysis.layers import LayerSensitivity
from torchmode.analysis.names import ImportMap, access_path, root_of, stored_names
from torchmode.analysis.reuse import Discovered, Reads, ReuseCache
from torchmode.analysis.walk import statements_of
from torchmode.syntax.document import Document

_NAME_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")

# Libraries whose ``from_pretrained`` returns the model in eval mode (they call ``eval()``).
_EVAL_FROM_PRETRAINED = ("transformers.", "diffusers.")
# Calls that collect parameters without being an optimizer.
_PARAMETER_COLLECTIONS = frozenset({"list", "tuple", "set", "sorted", "filter", "chain", "itertools.chain"})
# Calls that load trained weights into the module they are called on.
_LOADERS = frozenset({"load_state_dict", "load_weights", "load_checkpoint", "load_pretrained"})
# Words that make a parameter named like a model something else: a class or a builder of one
# (``model_cls``, ``model_fn``, ``build_model``).
_NOT_AN_INSTANCE = frozenset(
    {
        "cls",
        "class",
        "type",
        "fn",
        "func",
        "factory",
        "builder",
        "build",
        "constructor",
        "creator",
        "maker",
        "getter",
    }
)
# How deep factories calling factories are followed.
_MAX_FACTORY_DEPTH = 4


class ModelDiscovery:
    """Finds the model paths of one file and what is known of each of them.

    * ``model_paths``: access paths that hold a model somewhere in the file;
    * ``not_models``: paths that hold an instance of a class known not to be a module;
    * ``trained_paths``: models put in train mode or whose parameters are handed out;
    * ``loaded_paths``: models given trained weights (``load_state_dict``, ``from_pretrained``);
    * ``constructors``: each path's ``Net(...)`` constructions (what the model is made of);
    * ``optimizers``: optimizer path -> the model paths whose parameters it updates;
    * ``wrappers``: wrapper path (``DataParallel(net)``) -> the path it wraps;
    * ``pretrained_eval``: construction calls that return a model in eval mode.
    """

    def __init__(
        self,
        document: Document,
        tree: ast.Module,
        imports: ImportMap,
        table: FunctionTable,
        module_classes: frozenset[str],
        calls: CallResolver,
        previous: ReuseCache | None = None,
        reuse: ReuseCache | None = None,
    ) -> None:
        """``previous``: what the previous version's discovery left (language server only);
        ``reuse``: where this one leaves its findings for the next version."""
        self.document = document
        self.tree = tree
        self.imports = imports
        self.table = table
        self.module_classes = module_classes
        self.calls = calls
        self.trained_paths: set[str] = set()
        self.loaded_paths: set[str] = set()
        self.constructors: dict[str, list[ast.Call]] = {}
        self.optimizers: dict[str, frozenset[str]] = {}
        self.wrappers: dict[str, str] = {}
        self.not_models: set[str] = set()
        self.pretrained_eval: set[int] = set()  # ids of ``from_pretrained`` calls
        self._bound_classes: dict[int, dict[str, ast.expr]] = {}
        # Each function's answer with what it read (None while it is being computed).
        # Factories (``returns_module``), answered so that no answer depends on the order the
        # questions came in: an answer that met neither the depth budget nor a recursion is
        # the same wherever it is asked (kept by function); one the budget cut depends on the
        # depth it was asked at (kept by function and depth); one that met a recursion depends
        # on what was in progress (not kept). Each with what it read.
        self._returns_module: dict[int, tuple[bool, Reads]] = {}
        self._returns_module_at: dict[tuple[int, int], tuple[bool, Reads]] = {}
        self._asking: dict[int, _Asked] = {}  # the factories being answered, by function
        # What each call builds, asked by discovery and then by every pass of the fixpoint
        # over the same nodes; the answer of a factory in another file costs its analyzer.
        self._construction_kinds: dict[int, tuple[ast.Call, api_names.ClassKind | None]] = {}
        self.model_paths: frozenset[str] = frozenset()
        self._previous = previous
        self._reuse = reuse
        # The function whose statements are being walked, recording what it finds (``Discovered``).
        self._recording: Discovered | None = None
        self.replayed_functions = 0  # kept functions whose findings were taken over

    def discover(self) -> None:
        """Find the paths (once the analyzer holds this object: discovery may ask it whether a
        function of this file is a factory)."""
        paths = self._find_model_paths()
        self.model_paths = paths - self._criteria(paths)

    def _criteria(self, paths: frozenset[str]) -> set[str]:
        """Modules that are no model to report: losses (``nn.CrossEntropyLoss()``, a project's
        ``FocalLoss``) and other built modules that no mode can change and nothing trains or
        loads. They are called on a model's outputs; their mode changes nothing."""
        found: set[str] = set()
        layers: LayerSensitivity | None = None
        uses: dict[str, list[tuple[Function, ast.Call]]] | None = None  # every call, found when needed
        for path in paths:
            calls = self.constructors.get(path)
            if not calls or path in self.trained_paths or path in self.loaded_paths:
                continue
            if all(self._is_loss(call) for call in calls):
                found.add(path)
                continue
            if layers is None:
                layers = self._layer_sensitivity()
            if all(layers.of_expression(call) is False for call in calls):
                if uses is None:
                    uses = self._calls_by_path()
                if self._applied_to_outputs(path, paths, uses.get(path, [])):
                    found.add(path)
        return found

    def _calls_by_path(self) -> dict[str, list[tuple[Function, ast.Call]]]:
        found: dict[str, list[tuple[Function, ast.Call]]] = {}
        for function in self.table.functions:
            for call in self.table.own_calls(function):
                path = access_path(call.func)
                if path is not None:
                    found.setdefault(path, []).append((function, call))
        return found

    def _applied_to_outputs(
        self, path: str, paths: frozenset[str], uses: list[tuple[Function, ast.Call]]
    ) -> bool:
        """Every call of ``path`` takes another model's output (``criterion(model(x), y)``, or a
        name assigned from a model call in the same function): it is applied to what models
        compute, as a loss or a metric is."""
        if not uses:
            return False
        outputs_of: dict[int, set[str]] = {}
        for function, call in uses:
            outputs = outputs_of.get(id(function))
            if outputs is None:
                outputs = outputs_of[id(function)] = self._model_outputs(function, paths - {path})
            arguments = [*call.args, *(keyword.value for keyword in call.keywords)]
            if not any(self._is_output(argument, paths - {path}, outputs) for argument in arguments):
                return False
        return True

    def _model_outputs(self, function: Function, paths: frozenset[str]) -> set[str]:
        names: set[str] = set()
        for statement in statements_of(function.body):
            if isinstance(statement, ast.Assign) and self._is_output(statement.value, paths, names):
                for target in statement.targets:
                    names.update(stored_names(target))
        return names

    @staticmethod
    def _is_output(expr: ast.expr, paths: frozenset[str], outputs: set[str]) -> bool:
        for node in ast.walk(expr):
            if isinstance(node, ast.Call) and access_path(node.func) in paths:
                return True
            if isinstance(node, ast.Name) and node.id in outputs:
                return True
        return False

    def _is_loss(self, call: ast.Call) -> bool:
        qualified = self.imports.qualified_name(call.func) or ""
        return qualified.startswith("torch.nn.") and qualified.endswith("Loss")

    def _layer_sensitivity(self) -> LayerSensitivity:
        project, path, imports = self.calls.project, self.calls.path, self.imports
        external = (
            (lambda local: project.class_sensitivity(path, imports, local))
            if project is not None and path is not None
            else None
        )
        return LayerSensitivity(self.tree, imports, self.module_classes, external)

    # -- the whole file ------------------------------------------------------------------------

    def _find_model_paths(self) -> frozenset[str]:
        found = _FoundSoFar()
        paths, copies = found.paths, found.copies
        context = self._context() if self._reuse is not None else None
        previous = self._previous
        same_context = previous is not None and previous.discovery_context == context
        taken_over = previous.discovered if previous is not None and same_context else {}
        for function in self.table.functions:
            if self._reuse is None:
                self._discover_in(function, found)
                continue
            node = function.node
            previously = taken_over.get(id(node)) if node is not None else None
            record = previously[1] if previously is not None and previously[0] is node else None
            if record is None or not self._replay(record, found):
                record = Discovered()
                if node is not None:
                    record.reads.nodes[id(node)] = node
                self._recording = record
                try:
                    with self.calls.recorder.recording(record.reads):
                        self._discover_in(function, found)
                finally:
                    self._recording = None
            if node is not None:
                self._reuse.discovered[id(node)] = (node, record)
        if self._reuse is not None:
            self._reuse.discovery_context = context
        changed = True
        while changed:  # a copy of a copy of a model
            changed = False
            for copy, original in copies.items():
                if original in paths and copy not in paths:
                    paths.add(copy)
                    changed = True
        return frozenset(paths - self.not_models)

    def _context(self) -> object:
        """The file-wide facts one function's discovery reads besides its own code, the
        functions and instance lookups in its ``Reads`` and what the functions before it found
        (compared by value between versions; expression nodes by identity, which is how
        ``ast`` nodes compare)."""
        table = self.table
        project = self.calls.project
        return (
            self.document.path,
            self.module_classes,
            tuple(sorted(self.imports.aliases.items())),
            tuple(sorted(self.imports.relative.items())),
            tuple(self.imports.star_imports),
            # Which def a called name resolves to changes only when a def of that name comes or
            # goes (counted by name); the def it resolved to is in the function's reads.
            tuple(sorted(Counter(function.name for function in table.functions).items())),
            tuple(sorted(table.class_counts.items())),
            tuple(sorted((name, tuple(bases)) for name, bases in table.class_bases.items())),
            # Names bound to classes at module level (``MODELS = {"a": A}``), read by every
            # function's construction kinds.
            tuple(sorted(self.bound_classes(table.module).items(), key=lambda item: item[0])),
            project.generation if project is not None else None,
        )

    def _replay(self, record: Discovered, found: _FoundSoFar) -> bool:
        """Take over what a kept function found in the previous version, if everything it read
        says the same now (the functions before it in table order have been discovered)."""
        reads = record.reads
        if not reads.clean or not reads.still_hold(
            self.table.is_kept, self.calls.instances, self.table.switched_attributes
        ):
            return False
        if any((path in self.not_models) != was for path, was in record.not_models_read.items()):
            return False
        paths, parameter_sources, copies = found.paths, found.parameter_sources, found.copies
        for name, held in record.sources_read.items():
            now = parameter_sources.get(name)
            if (frozenset(now) if now is not None else None) != held:
                return False
        paths.update(record.paths)
        self.trained_paths.update(record.trained)
        self.loaded_paths.update(record.loaded)
        self.not_models.update(record.not_models)
        for path, call in record.constructors:
            self.constructors.setdefault(path, []).append(call)
        for path, wrapped in record.wrappers:
            self.wrappers[path] = wrapped
        for path, sources in record.optimizers:
            self.optimizers[path] = sources
        for path, sources in record.sources:
            parameter_sources[path] = set(sources)
        for copy, original in record.copies:
            copies[copy] = original
        self.pretrained_eval.update(map(id, record.pretrained_eval))
        for call, kind in record.kinds:
            self._construction_kinds[id(call)] = (call, kind)
        # The answers it found first, which the functions after it take from the cache (a
        # function the budget cut would find otherwise: the order of questions is kept).
        for node, answer, reads in record.factories:
            factory = self.table.by_node.get(id(node))
            if factory is not None and factory.node is node:
                self._returns_module.setdefault(id(factory), (answer, reads))
        self.replayed_functions += 1
        return True

    def _discover_in(self, function: Function, found: _FoundSoFar) -> None:
        """What one function's own statements say about the file's models."""
        paths, parameter_sources, copies = found.paths, found.parameter_sources, found.copies
        record = self._recording
        kept = _kept_attributes(function)
        for statement in statements_of(function.body):
            if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
                self._assignment(function, statement, paths, parameter_sources, kept)
                original = self.copied(statement.value)
                targets: list[ast.expr] = (
                    list(statement.targets) if isinstance(statement, ast.Assign) else [statement.target]
                )
                if original is not None:
                    for copy in map(access_path, targets):
                        if copy is not None:
                            copies[copy] = original
                            if record is not None:
                                record.copies.append((copy, original))
                handed_back = (
                    self.identity_arguments(statement.value)
                    if isinstance(statement.value, ast.Call)
                    else None
                )
                for target in targets if handed_back is not None else ():
                    if isinstance(target, (ast.Tuple, ast.List)):
                        for element, argument in zip(target.elts, handed_back or [], strict=False):
                            element_path, argument_path = access_path(element), access_path(argument)
                            if element_path is not None and argument_path is not None:
                                copies[element_path] = argument_path
                                if record is not None:
                                    record.copies.append((element_path, argument_path))
        for call in self.table.own_calls(function):
            self._call(function, call, paths)
        # Parameters this function calls as models (found per function, replayed with the rest).
        called = self._called_in_training_step(function) | self._called_parameters_named_like_models(function)
        paths.update(called)
        if record is not None:
            record.paths.extend(sorted(called))

    def identity_arguments(self, call: ast.Call) -> list[ast.expr] | None:
        """The arguments a call hands back as they were (``accelerator.prepare(model, opt)``),
        in order; None for any other call."""
        func = call.func
        if not isinstance(func, ast.Attribute):
            return None
        receiver = access_path(func.value)
        classes = self.calls.instances.get(receiver, set()) if receiver is not None else set()
        for name in classes:
            qualified = self.imports.qualify(name)
            if qualified is not None and func.attr in api_names.IDENTITY_METHODS.get(qualified, ()):
                return list(call.args)
        return None

    def copied(self, value: ast.expr) -> str | None:
        """``copy.deepcopy(model)`` -> ``model``: a new module in the same mode."""
        if not (isinstance(value, ast.Call) and value.args):
            return None
        if self.imports.qualified_name(value.func) not in ("copy.deepcopy", "copy.copy"):
            return None
        inner = strip_wrappers(value.args[0])
        return access_path(inner) if inner is not None else None

    def _assignment(
        self,
        function: Function,
        statement: ast.Assign | ast.AnnAssign,
        paths: set[str],
        parameter_sources: dict[str, set[str]],
        kept: dict[str, set[str]],
    ) -> None:
        value = statement.value
        assert value is not None
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        target_paths = [path for path in map(access_path, targets) if path is not None]
        record = self._recording
        inner = strip_mode_chain(value)
        if isinstance(inner, ast.Call):
            kind = self.construction_kind(inner, function)
            if kind == "module":
                loaded = _loads_weights(inner)
                for path in target_paths:
                    paths.add(path)
                    self.constructors.setdefault(path, []).append(inner)
                    if record is not None:
                        record.paths.append(path)
                        record.constructors.append((path, inner))
                    if loaded:
                        root = root_of(path)
                        local = not function.is_module and root in function.locals
                        self._loaded(f"{function.name}:{path}" if local else path)
                wrapped = self._wrapped(inner)
                if wrapped is not None:
                    for path in target_paths:
                        self.wrappers[path] = wrapped
                        if record is not None:
                            record.wrappers.append((path, wrapped))
                return
            if kind == "other":
                self.not_models.update(target_paths)  # an optimizer, a predictor object...
                if record is not None:
                    record.not_models.extend(target_paths)
        sources = self._parameter_sources(value, parameter_sources)
        # ``self.model = model`` in the same function: the optimizer over ``model`` updates
        # ``self.model`` too, the name the other methods use.
        sources |= {attribute for source in sources for attribute in kept.get(source, ())}
        if sources:
            if isinstance(value, ast.Call) and not self._collects_parameters(value):
                for path in target_paths:
                    self.optimizers[path] = frozenset(sources)
                    if record is not None:
                        record.optimizers.append((path, frozenset(sources)))
            else:
                for path in target_paths:
                    parameter_sources[path] = sources
                    if record is not None:
                        record.sources.append((path, frozenset(sources)))

    def _loaded(self, path: str) -> None:
        self.loaded_paths.add(path)
        if self._recording is not None:
            self._recording.loaded.append(path)

    def _call(self, function: Function, call: ast.Call, paths: set[str]) -> None:
        func = call.func
        if not isinstance(func, ast.Attribute):
            return
        receiver = strip_wrappers(func.value)
        path = access_path(receiver) if receiver is not None else None
        if path is None or self.is_library_path(path):
            return
        record = self._recording
        if func.attr in ("train", "eval"):
            if self.instance_kind(path, function) == "other":
                return  # a class's own ``eval(metric)``: a method call, no mode switch
            paths.add(path)
            if record is not None:
                record.paths.append(path)
            if func.attr == "train":
                self.trained_paths.add(path)
                if record is not None:
                    record.trained.append(path)
        elif func.attr in ("parameters", "named_parameters"):
            if self.instance_kind(path, function) != "other":
                paths.add(path)
                self.trained_paths.add(path)
                if record is not None:
                    record.paths.append(path)
                    record.trained.append(path)
        elif func.attr in _LOADERS:
            root = root_of(path)
            local = not function.is_module and root in function.locals and root not in function.parameters
            # A local's weights are loaded in its function only (``model`` there is not the
            # ``model`` of another function).
            self._loaded(f"{function.name}:{path}" if local else path)

    def _parameter_sources(self, value: ast.expr, known: dict[str, set[str]]) -> set[str]:
        """The model paths whose parameters ``value`` holds: ``model.parameters()``, param
        groups, lists and chains of them, names bound to such collections."""
        found: set[str] = set()
        for node in ast.walk(value):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("parameters", "named_parameters")
            ):
                path = access_path(node.func.value)
                if path is not None:
                    found.add(path)
            elif isinstance(node, ast.Name):
                held = known.get(node.id)
                record = self._recording
                if (
                    record is not None
                    and node.id not in record.sources_read
                    and all(name != node.id for name, _ in record.sources)  # not its own finding
                ):
                    record.sources_read[node.id] = frozenset(held) if held is not None else None
                if held is not None:
                    found |= held
        return found

    def _collects_parameters(self, call: ast.Call) -> bool:
        """``list(model.parameters())`` and kin: a collection of parameters, no optimizer."""
        path = access_path(call.func)
        if path is None:
            return isinstance(call.func, ast.Attribute) and call.func.attr in (
                "parameters",
                "named_parameters",
            )
        qualified = self.imports.qualify(path) or path
        return (
            qualified in _PARAMETER_COLLECTIONS
            or path.rsplit(".", 1)[-1] in ("parameters", "named_parameters")
            or (path in ("list", "tuple") and not call.keywords)
        )

    def _wrapped(self, call: ast.Call) -> str | None:
        """``DataParallel(net)`` -> ``net``: the path a wrapper forwards to."""
        qualified = self.imports.qualified_name(call.func)
        if qualified in api_names.WRAPPER_CONSTRUCTORS and call.args:
            inner = strip_wrappers(call.args[0])
            return access_path(inner) if inner is not None else None
        return None

    # -- what a name is ------------------------------------------------------------------------

    def instance_kind(self, path: str, function: Function) -> api_names.ClassKind | None:
        """What ``path`` holds, as far as its class tells: ``self`` in a method is an instance
        of the method's class; other paths of the classes every assignment built."""
        if function.class_name is not None and function.parameters and path == function.parameters[0]:
            return self.calls.class_kind(function.class_name)
        if self._is_not_model(path):
            return "other"
        classes = self.calls.instances.get(path)
        if classes:
            kinds = {self.calls.class_kind(name) for name in classes}
            if kinds == {"other"}:
                return "other"
            if kinds == {"module"}:
                return "module"
        return None

    def _is_not_model(self, path: str) -> bool:
        """Is ``path`` known not to be a model (recorded: it depends on what the functions
        before the one being discovered found)?"""
        found = path in self.not_models
        record = self._recording
        if record is not None and path not in record.not_models and path not in record.not_models_read:
            record.not_models_read[path] = found
        return found

    def construction_kind(
        self, call: ast.Call, function: Function, depth: int = 0
    ) -> api_names.ClassKind | None:
        """What ``X(...)`` builds: a module, another object, or unknown (None)."""
        if depth:
            return self._construction_kind(call, function, depth)
        known = self._construction_kinds.get(id(call))
        if known is not None and known[0] is call:
            return known[1]
        kind = self._construction_kind(call, function, 0)
        self._construction_kinds[id(call)] = (call, kind)
        if self._recording is not None:
            self._recording.kinds.append((call, kind))
        return kind

    def _construction_kind(
        self, call: ast.Call, function: Function, depth: int
    ) -> api_names.ClassKind | None:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "from_pretrained":
            return self._from_pretrained_kind(call, func.value, function)
        qualified = self.imports.qualified_name(func)
        if qualified is not None and qualified in api_names.WRAPPER_CONSTRUCTORS:
            if not call.args:
                return None
            inner = strip_mode_chain(call.args[0])
            if isinstance(inner, ast.Call):
                return self.construction_kind(inner, function, depth + 1)
            path = access_path(inner)
            return "module" if path is not None else None
        if qualified is not None and api_names.is_module_factory(qualified):
            return "module"
        path = access_path(func)
        if path is None:
            if isinstance(func, ast.Subscript):
                return self._bound_kind(func, function)
            return None
        if isinstance(func, ast.Name) and func.id in self.module_classes:
            return "module"
        kind = self.calls.class_kind(path)
        if kind is not None:
            return kind
        bound = self.bound_classes(function).get(path)
        if bound is not None:
            return self._bound_kind(bound, function)
        if self._calls_a_factory(call, function, depth):
            return "module"
        return None

    def _bound_kind(self, expr: ast.expr, function: Function) -> api_names.ClassKind | None:
        """The kind of the classes an expression names: ``Net``, ``MODELS["net"]`` with
        ``MODELS = {"net": Net, ...}`` (every value a class of one kind)."""
        if isinstance(expr, ast.Subscript):
            container = access_path(expr.value)
            literal = self.bound_classes(function).get(container) if container is not None else None
            if isinstance(literal, ast.Dict):
                kinds = {self._bound_kind(value, function) for value in literal.values if value is not None}
                return next(iter(kinds)) if len(kinds) == 1 else None
            return None
        path = access_path(expr)
        return self.calls.class_kind(path) if path is not None else None

    def bound_classes(self, function: Function) -> dict[str, ast.expr]:
        """Names bound once to a class or a dict of classes in ``function`` or at module level
        (``model_cls = Net``, ``MODELS = {"a": A}``), and parameters whose default is a class."""
        known = self._bound_classes.get(id(function))
        if known is not None:
            return known
        found: dict[str, ast.expr] = {}
        if not function.is_module:
            found.update(self.bound_classes(self.table.module))
        assigned: dict[str, list[ast.expr]] = {}
        for statement in statements_of(function.body):
            if isinstance(statement, ast.Assign):
                for target in statement.targets:
                    for name in stored_names(target):
                        assigned.setdefault(name, []).append(
                            statement.value if isinstance(target, ast.Name) else target
                        )
        for name, values in assigned.items():
            if len(values) == 1 and self._names_classes(values[0], found):
                found[name] = values[0]
            else:
                found.pop(name, None)
        node = function.node
        if node is not None:
            arguments = node.args
            positional = [*arguments.posonlyargs, *arguments.args]
            for argument, default in zip(
                positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True
            ):
                if self._names_classes(default, found):
                    found[argument.arg] = default
        self._bound_classes[id(function)] = found
        return found

    def _names_classes(self, expr: ast.expr, known: dict[str, ast.expr]) -> bool:
        if isinstance(expr, ast.Dict):
            return bool(expr.values) and all(
                value is not None and self._names_classes(value, known) for value in expr.values
            )
        if isinstance(expr, ast.Subscript):
            container = access_path(expr.value)
            return container is not None and isinstance(known.get(container), ast.Dict)
        path = access_path(expr)
        if path is None or path in known:
            return False
        return path in self.table.class_bases or (
            root_of(path) in self.imports.aliases and self.calls.class_kind(path) is not None
        )

    def _from_pretrained_kind(
        self, call: ast.Call, owner: ast.expr, function: Function
    ) -> api_names.ClassKind | None:
        """``X.from_pretrained(...)``: transformers' and diffusers' return an eval-mode model;
        a project class's own ``from_pretrained`` is read like any other function; anything
        else is unknown (no claim)."""
        path = access_path(owner)
        if path is None:
            return None
        qualified = self.imports.qualify(path)
        if qualified is not None and qualified.startswith(_EVAL_FROM_PRETRAINED):
            kind = api_names.library_class_kind(qualified)
            if kind == "module":
                self.pretrained_eval.add(id(call))
                if self._recording is not None:
                    self._recording.pretrained_eval.append(call)
            return kind
        kind = self.calls.class_kind(path)
        if kind == "other":
            return "other"
        if kind == "module":
            found = self.calls.method(path, "from_pretrained") if path in self.table.class_bases else None
            if found is None:
                return "module"  # inherited from an installed base: a module, mode unknown
            method, owner_analyzer = found
            if owner_analyzer is self.calls.owner:
                self.calls.recorder.function(method)
            returned = owner_analyzer.returns_module(method)
            return "module" if returned else None
        return None

    def _calls_a_factory(self, call: ast.Call, function: Function, depth: int) -> bool:
        if depth >= _MAX_FACTORY_DEPTH:
            for asked in self._asking.values():
                asked.cut = True  # each answer in progress now depends on its depth
            return False
        resolved = self.calls.resolve_call(function, call)
        if resolved is None:
            return False
        return resolved.owner.returns_module(resolved.callee, depth + 1)

    def returns_module(self, function: Function, depth: int = 0) -> bool:
        """Does every ``return`` of ``function`` that returns something give a module it built
        (``return Net(...)``, a name assigned one, ``cls(...)`` in a classmethod of a module
        class, another factory)?"""
        key = id(function)
        recorder = self.calls.recorder
        known = self._returns_module.get(key) or self._returns_module_at.get((key, depth))
        if known is not None:
            recorder.reads(known[1])  # what the answer read, for whoever asks now
            return known[0]
        if key in self._asking:
            for asked in self._asking.values():
                asked.recursive = True
            return False  # recursion: not a factory
        reads = Reads()
        if function.node is not None:
            reads.nodes[id(function.node)] = function.node
        asked = self._asking[key] = _Asked()
        try:
            with recorder.recording(reads):
                values = list(_returned_values(function))
                built = self._built_names(function, depth)
                found = bool(values) and all(
                    (isinstance(value, ast.Call) and self._builds(value, function, depth))
                    or (access_path(value) in built)
                    for value in values
                )
        finally:
            del self._asking[key]
        if asked.recursive:
            return found
        if asked.cut:
            self._returns_module_at[key, depth] = (found, reads)
            return found
        self._returns_module[key] = (found, reads)
        if self._recording is not None and function.node is not None:
            self._recording.factories.append((function.node, found, reads))
        return found

    def _builds(self, call: ast.Call, function: Function, depth: int) -> bool:
        inner = strip_mode_chain(call)
        if not isinstance(inner, ast.Call):
            return False
        if (
            isinstance(inner.func, ast.Name)
            and function.class_name is not None
            and function.parameters
            and inner.func.id == function.parameters[0]
            and self.calls.class_kind(function.class_name) == "module"
        ):
            return True  # ``cls(...)`` in a classmethod of a module class
        return self.construction_kind(inner, function, depth + 1) == "module"

    def _built_names(self, function: Function, depth: int) -> set[str]:
        built: set[str] = set()
        for statement in statements_of(function.body):
            if (
                isinstance(statement, ast.Assign)
                and isinstance(statement.value, ast.Call)
                and self._builds(statement.value, function, depth)
            ):
                built.update(path for path in map(access_path, statement.targets) if path is not None)
        return built

    # -- parameters called like models ----------------------------------------------------------

    def _called_in_training_step(self, function: Function) -> set[str]:
        """Parameters called before a ``backward()``/``step()`` in the same function are models.

        ``def step(net, opt, x): net(x).sum().backward()`` trains ``net`` whatever its
        name. Only parameters count (not helpers, imports or builtins), so a call of a
        local function or of ``print`` is never taken for a forward pass.
        """
        found: set[str] = set()
        if function.node is None:
            return found
        calls = self.table.own_calls(function)
        kind_of = api_names.training_step_kind
        step_lines = [call.lineno for call in calls if kind_of(call, self.imports) is not None]
        if not step_lines:
            return found
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

    def _called_parameters_named_like_models(self, function: Function) -> set[str]:
        """``def evaluate(model, loader): model(x)``: a called parameter named like a model is one.

        The name matters: ``criterion(out, y)`` or ``fn(x)`` are called too and are no model.
        Where the code says what the parameter is (its default is a function or a class that
        is no module), the name does not count.
        """
        found: set[str] = set()
        candidates = {
            name
            for name in function.parameters
            if api_names.MODEL_NAME_WORDS & (words := {word.lower() for word in _NAME_WORD.findall(name)})
            and not words & _NOT_AN_INSTANCE
        } - self._function_defaults(function)
        if not candidates:
            return found
        for call in self.table.own_calls(function):
            # A forward takes its input positionally; ``model_cls(**kwargs)`` builds one.
            if isinstance(call.func, ast.Name) and call.func.id in candidates and call.args:
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

    # -- answers for the transfer ---------------------------------------------------------------

    def is_library_path(self, path: str) -> bool:
        """``torch.something.eval()`` is not a model of the user's."""
        return root_of(path) in self.imports.aliases

    def constructs_module(self, expr: ast.expr, function: Function) -> bool:
        inner = strip_mode_chain(expr)
        return isinstance(inner, ast.Call) and self.construction_kind(inner, function) == "module"

    def is_module_constructor(self, call: ast.Call, function: Function) -> bool:
        return self.construction_kind(call, function) == "module"


@dataclass
class _FoundSoFar:
    """What discovery found in the functions walked (or replayed) so far, in table order."""

    paths: set[str] = field(default_factory=set)
    # name -> the model paths whose parameters it holds
    parameter_sources: dict[str, set[str]] = field(default_factory=dict)
    # ``ema = copy.deepcopy(model)``: the copy -> the original
    copies: dict[str, str] = field(default_factory=dict)


class _Asked:
    """What answering one factory question met on the way."""

    __slots__ = ("cut", "recursive")

    def __init__(self) -> None:
        self.cut = False  # the depth budget
        self.recursive = False  # a function already being answered


def _returned_values(function: Function) -> Iterator[ast.expr]:
    """The values of ``function``'s own ``return`` statements (not of nested defs)."""
    for statement in statements_of(function.body):
        if isinstance(statement, ast.Return) and statement.value is not None:
            yield statement.value


def _loads_weights(call: ast.Call) -> bool:
    """A construction that loads trained weights: ``from_pretrained``, ``pretrained=True``,
    ``weights=...`` (torchvision), ``checkpoint_path=...`` (timm)."""
    if isinstance(call.func, ast.Attribute) and call.func.attr == "from_pretrained":
        return True
    for keyword in call.keywords:
        value = keyword.value
        if keyword.arg == "pretrained" and not (isinstance(value, ast.Constant) and not value.value):
            return True
        if keyword.arg in ("weights", "checkpoint_path") and not (
            isinstance(value, ast.Constant) and value.value is None
        ):
            return True
    return False


def _kept_attributes(function: Function) -> dict[str, set[str]]:
    """``self.model = model`` (or any ``a.b = name``): name -> the attribute paths keeping it."""
    kept: dict[str, set[str]] = {}
    for statement in statements_of(function.body):
        if isinstance(statement, ast.Assign):
            source = strip_wrappers(statement.value)
            name = access_path(source) if source is not None else None
            if name is None:
                continue
            for target in statement.targets:
                path = access_path(target)
                if path is not None and path != name and "." in path:
                    kept.setdefault(name, set()).add(path)
    return kept
