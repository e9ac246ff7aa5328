"""Roles of code: which forward calls are part of a training step, which of an evaluation."""

from __future__ import annotations

import ast
from bisect import bisect_right
from dataclasses import dataclass

from torchmode.analysis import api_names
from torchmode.analysis.facts import FileAnalysis, ForwardCall, TrainingStep
from torchmode.analysis.names import is_under
from torchmode.settings import (
    DEFAULT_EVAL_LOADER_NAMES,
    DEFAULT_EVAL_NAMES,
    DEFAULT_TRAIN_NAMES,
    name_words,
)
from torchmode.syntax.document import Document
from torchmode.syntax.node_index import node_index


class TrainingRoles:
    """Answers "which training steps follow this forward call?" for one file's analysis.

    A forward call is part of a training step when an ``optimizer.step()`` follows it in the
    same loop body (or the same function body, outside loops), the optimizer updates the
    parameters of that model (when the file says which: ``SGD(model.parameters())``), and
    autograd is not certainly off at the call (a forward pass under ``no_grad`` feeds no
    backward). A ``backward()`` with no step after it (input gradients, saliency) trains
    nothing; it only shows that the forward's output is differentiated.
    """

    def __init__(self, analysis: FileAnalysis) -> None:
        self.analysis = analysis
        self._steps_by_region: dict[tuple[int, int], list[TrainingStep]] = {}
        for step in analysis.steps:
            self._steps_by_region.setdefault(self.region(step), []).append(step)
        # In source order, with their positions alongside: ``steps_after`` bisects instead of
        # scanning, which made a long loop body (n forwards, n steps) quadratic.
        for steps in self._steps_by_region.values():
            steps.sort(key=_position)
        self._positions_by_region = {
            region: [_position(step) for step in steps] for region, steps in self._steps_by_region.items()
        }
        self._forwards_by_region: dict[tuple[int, int], list[ForwardCall]] = {}
        for forward in analysis.forward_calls:
            self._forwards_by_region.setdefault(self.region(forward), []).append(forward)

    @staticmethod
    def region(item: ForwardCall | TrainingStep) -> tuple[int, int]:
        return (id(item.function), item.loops[-1].head if item.loops else -1)

    def _region_steps_after(self, forward: ForwardCall) -> list[TrainingStep]:
        region = self.region(forward)
        steps = self._steps_by_region.get(region)
        if not steps:
            return []
        return steps[bisect_right(self._positions_by_region[region], _position(forward)) :]

    def _after(self, forward: ForwardCall) -> list[TrainingStep]:
        if forward.grad and all(fact.grad == "off" for fact in forward.grad):
            return []
        return self._region_steps_after(forward)

    def steps_after(self, forward: ForwardCall) -> list[TrainingStep]:
        """The optimizer steps after ``forward`` that train its model."""
        return [step for step in self._after(forward) if step.kind == "step" and self._trains(step, forward)]

    def backwards_after(self, forward: ForwardCall) -> list[TrainingStep]:
        """Every backward or step after ``forward`` in its region: its output may be
        differentiated there (a training step, or input gradients)."""
        return self._after(forward)

    def in_training_region(self, forward: ForwardCall) -> bool:
        """An optimizer step follows ``forward`` in its region, whatever the grad mode there:
        a forward under ``no_grad`` inside a training step computes targets, not an evaluation."""
        return any(step.kind == "step" for step in self._region_steps_after(forward))

    def tied_to_a_step(self, forward: ForwardCall) -> bool:
        """Some optimizer step after ``forward`` in its region is known to update its model."""
        optimizers = self.analysis.optimizers
        return any(
            step.kind == "step" and step.optimizer in optimizers and self._tied(step, forward)
            for step in self._region_steps_after(forward)
        )

    def _trains(self, step: TrainingStep, forward: ForwardCall) -> bool:
        optimizers = self.analysis.optimizers
        if step.optimizer is None or step.optimizer not in optimizers:
            return True  # an optimizer the file does not build: it may train anything
        if self._tied(step, forward):
            return True
        # Its parameters are named in a way no forward of this region matches (another
        # function's name for the model): no tie is known, so it may train any of them.
        return not any(
            self._tied(step, other) for other in self._forwards_by_region.get(self.region(forward), ())
        )

    def _tied(self, step: TrainingStep, forward: ForwardCall) -> bool:
        assert step.optimizer is not None
        model = forward.identity or forward.path
        return any(
            is_under(model, trained) or is_under(trained, model) or is_under(forward.path, trained)
            for trained in self.analysis.optimizers[step.optimizer]
        )


def _base_names(document: Document) -> dict[str, frozenset[str]]:
    """Each class of the file (nested ones too) -> the last names of its bases.

    ``class Unit(EvalUnit[Batch])`` -> {EvalUnit}.
    """
    bases: dict[str, set[str]] = {}
    index = node_index(document)
    for node in index.of_type(ast.ClassDef) if index is not None else ():
        if isinstance(node, ast.ClassDef):
            names = bases.setdefault(node.name, set())
            for base in node.bases:
                while isinstance(base, ast.Subscript):
                    base = base.value
                if isinstance(base, ast.Name):
                    names.add(base.id)
                elif isinstance(base, ast.Attribute):
                    names.add(base.attr)
    return {name: frozenset(found) for name, found in bases.items()}


def _position(item: ForwardCall | TrainingStep) -> tuple[int, int]:
    return (item.call.lineno, item.call.col_offset)


@dataclass(frozen=True)
class Evaluation:
    """Why a forward call counts as an evaluation.

    ``reason``: ``no_grad`` (autograd is off there), ``switched`` (the function puts the model
    in eval mode itself), ``loaded`` (a model given trained weights that nothing in the file
    trains: an inference script), or the words around it (``function``: its function's name,
    ``loop``: a loop over a validation or test loader), which only rank a forward that nothing
    else says is training.
    """

    reason: str
    detail: str  # the function name, the loop's iterable, or ""


class EvaluationRoles:
    """Answers "is this forward call an evaluation?": a forward of a model that is not being
    trained there, whose output no backward uses, of a model that has been trained or loaded
    (a smoke test of a fresh, untrained network evaluates nothing)."""

    def __init__(
        self,
        analysis: FileAnalysis,
        training: TrainingRoles,
        eval_names: tuple[str, ...] = DEFAULT_EVAL_NAMES,
        loader_names: tuple[str, ...] = DEFAULT_EVAL_LOADER_NAMES,
        train_names: tuple[str, ...] = DEFAULT_TRAIN_NAMES,
    ) -> None:
        self.analysis = analysis
        self.training = training
        self.eval_names = frozenset(name.lower() for name in eval_names)
        self.loader_names = frozenset(name.lower() for name in loader_names)
        self.train_names = frozenset(name.lower() for name in train_names)
        self._functions_with_steps = {id(step.function) for step in analysis.steps if step.kind == "step"}
        self._class_bases: dict[str, frozenset[str]] | None = None
        self._switched: dict[int, set[str]] = {}
        for switch in analysis.switches:
            if switch.value and all(fact.mode == "eval" and not fact.conditions for fact in switch.value):
                self._switched.setdefault(id(switch.function), set()).add(switch.path)
        self._test_module = _is_test_module(analysis)

    def _bases_of(self, class_name: str) -> frozenset[str]:
        """Unqualified names of a class's bases, through the file's own classes (``A(B)``, ``B(Trainer)``)."""
        if self._class_bases is None:
            self._class_bases = _base_names(self.analysis.document)
        found: set[str] = set()
        pending = [class_name]
        while pending:
            for base in self._class_bases.get(pending.pop(), ()):
                if base not in found:
                    found.add(base)
                    pending.append(base)
        return frozenset(found)

    def _is_unit_test(self, forward: ForwardCall, function_name: str) -> bool:
        """pytest/unittest tests call models to test them, not to evaluate a trained one."""
        if not function_name.startswith("test_") and function_name not in ("setUp", "setup_method"):
            return False
        path = self.analysis.document.path.replace("\\", "/").rsplit("/", 1)[-1]
        imports = self.analysis.imports
        test_module = path.startswith("test_") or path.endswith("_test.py") or path == "conftest.py"
        if imports is not None:
            test_module = test_module or any(
                name.split(".")[0] in ("pytest", "unittest") for name in imports.aliases.values()
            )
        return test_module or not forward.function.parameters

    def _untrained(self, forward: ForwardCall) -> bool:
        """A model built in this file that nothing in the file trains or loads: calling it is a
        smoke test (a shape check), not an evaluation."""
        analysis = self.analysis
        model = forward.identity or forward.path
        built = model in analysis.constructors or (
            bool(forward.value) and all(fact.fresh and fact.mode == "train" for fact in forward.value)
        )
        if not built or any(fact.mode == "entry" for fact in forward.value):
            return False
        trained = analysis.trained_paths | analysis.loaded_paths
        if f"{forward.function.name}:{model}" in analysis.loaded_paths:
            return False  # weights loaded into this function's local model
        return (
            not any(is_under(model, path) or is_under(path, model) for path in trained)
            and not any(is_under(model, path) for paths in analysis.optimizers.values() for path in paths)
            and not self._given_to_training(model)
        )

    def _given_to_training(self, model: str) -> bool:
        """Passed to a function of this file that trains (runs an optimizer step)."""
        training = {id(step.function) for step in self.analysis.steps if step.kind == "step"}
        return any(
            id(site.callee) in training and any(is_under(model, path) for _, path in site.bindings)
            for site in self.analysis.call_sites
        )

    def _loaded_for_inference(self, forward: ForwardCall) -> bool:
        """A model given trained weights (``load_state_dict``, ``from_pretrained``) that nothing
        in the file trains: what it computes is inference."""
        analysis = self.analysis
        model = forward.identity or forward.path
        scoped = f"{forward.function.name}:{model}"
        loaded = (
            any(is_under(model, path) for path in analysis.loaded_paths)
            or scoped in analysis.loaded_paths
            or any(fact.fresh and fact.mode == "eval" for fact in forward.value)
        )
        if not loaded:
            return False
        trained_paths = [path for paths in analysis.optimizers.values() for path in paths]
        trained_paths.extend(analysis.trained_paths)
        return not any(is_under(model, path) or is_under(path, model) for path in trained_paths)

    def untrained_through_callers(self, forward: ForwardCall, depth: int = 0) -> bool:
        """The model comes from the callers, and every known caller passes a model built in
        this file that nothing trains: ``test_model(FaSNet(...))``, a shape check."""
        function = forward.function
        root, dot, rest = forward.path.partition(".")
        if depth > 3 or root not in function.parameters:
            return False
        sites = [site for site in self.analysis.call_sites if site.callee is function]
        if not sites:
            return False
        for site in sites:
            argument = dict(site.bindings).get(root)
            if argument is None:
                return False
            caller_path = argument + dot + rest
            value = site.argument_value(forward.path) or frozenset()
            as_caller = ForwardCall(
                site.function,
                site.call,
                site.statement,
                caller_path,
                value,
                frozenset(),
                frozenset(),
                site.loops,
                identity=caller_path,
            )
            if any(fact.mode == "entry" for fact in value):
                if not self.untrained_through_callers(as_caller, depth + 1):
                    return False
            elif not self._untrained(as_caller):
                return False
        return True

    def _teacher_in_a_step(self, forward: ForwardCall) -> bool:
        """Inside a training step, a model the step does not train, run under ``no_grad``
        and never put in train mode on purpose (a distillation teacher, a target network):
        what it computes is an evaluation, even though the step follows."""
        grad_off = bool(forward.grad) and all(fact.grad == "off" for fact in forward.grad)
        switched_to_train = any(fact.mode == "train" and not fact.fresh for fact in forward.value)
        return grad_off and not switched_to_train and not self.training.tied_to_a_step(forward)

    def evaluation_of(self, forward: ForwardCall) -> Evaluation | None:
        if self.training.backwards_after(forward) or (
            self.training.in_training_region(forward) and not self._teacher_in_a_step(forward)
        ):
            return None  # trained, its output differentiated on purpose, or part of a step
        if not forward.output_used or self._test_module:
            return None  # run for its side effects; or a test checking behaviour, not a result
        function = forward.function
        if (
            function.class_name in self.analysis.module_classes
            and function.parameters
            and forward.path.split(".", 1)[0] == function.parameters[0]
        ):
            return None  # a module's method calling its own parts: they follow the module's mode
        function_name = forward.function.name.rsplit(".", 1)[-1]
        if self._is_unit_test(forward, function_name):
            return None
        if api_names.is_framework_evaluation_hook(forward.function.class_name, function_name):
            return None  # the framework sets the mode around its hooks
        class_name = forward.function.class_name
        if class_name is not None and api_names.is_framework_mode_hook(
            self._bases_of(class_name), function_name
        ):
            return None  # an override of a framework method its loop calls in the mode it set
        if self._untrained(forward) or self.untrained_through_callers(forward):
            return None
        if forward.grad and all(fact.grad == "off" for fact in forward.grad):
            return Evaluation("no_grad", "")
        switched = self._switched.get(id(forward.function), set())
        if any(is_under(forward.path, path) for path in switched):
            return Evaluation("switched", forward.function.name)
        if self._loaded_for_inference(forward):
            return Evaluation("loaded", "")
        if id(forward.function) in self._functions_with_steps:
            return None  # a training function's other forwards are its business
        if (
            not forward.function.is_module
            and name_words(function_name) & self.eval_names
            and not name_words(function_name) & self.train_names
        ):
            return Evaluation("function", forward.function.name)
        document = self.analysis.document
        for loop in reversed(forward.loops):
            iterable = getattr(loop.statement, "iter", None)
            if iterable is None:
                continue
            words: set[str] = set()
            for node in ast.walk(iterable):
                if isinstance(node, ast.Name):
                    words |= name_words(node.id)
                elif isinstance(node, ast.Attribute):
                    words |= name_words(node.attr)
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    words |= name_words(node.value)
            if words & self.loader_names:
                return Evaluation("loop", document.source_of(iterable))
        return None


def _is_test_module(analysis: FileAnalysis) -> bool:
    """A test file (``test_*.py``, ``*_test.py``, ``conftest.py``): it calls models to check
    what they do, not to evaluate a trained one."""
    name = analysis.document.path.replace("\\", "/").rsplit("/", 1)[-1]
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
