"""Roles of code: which forward calls are part of a training step, which of an evaluation."""

from __future__ import annotations

import ast
from bisect import bisect_right
from dataclasses import dataclass

from torchmode.analysis import api_names
from torchmode.analysis.facts import FileAnalysis, ForwardCall, TrainingStep
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

    A forward call is part of a training step when a ``backward()`` or
    ``optimizer.step()`` follows it in the same loop body (or the same function
    body, outside loops) and autograd is not certainly off at the call: a
    forward pass under ``no_grad`` feeds no backward.
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

    @staticmethod
    def region(item: ForwardCall | TrainingStep) -> tuple[int, int]:
        return (id(item.function), item.loops[-1].head if item.loops else -1)

    def steps_after(self, forward: ForwardCall) -> list[TrainingStep]:
        if forward.grad and all(fact.grad == "off" for fact in forward.grad):
            return []
        region = self.region(forward)
        steps = self._steps_by_region.get(region)
        if not steps:
            return []
        return steps[bisect_right(self._positions_by_region[region], _position(forward)) :]


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
    """Why a forward call counts as an evaluation: its function's name, its loop, or no_grad."""

    reason: str  # "function", "loop" or "no_grad"
    detail: str  # the function name, the loop's iterable, or ""


class EvaluationRoles:
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
        self._functions_with_steps = {id(step.function) for step in analysis.steps}
        self._class_bases: dict[str, frozenset[str]] | None = None

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

    def evaluation_of(self, forward: ForwardCall) -> Evaluation | None:
        if self.training.steps_after(forward):
            return None
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
        if (
            not forward.function.is_module
            and name_words(function_name) & self.eval_names
            and not name_words(function_name) & self.train_names
            and id(forward.function) not in self._functions_with_steps
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
        if (
            forward.grad
            and all(fact.grad == "off" for fact in forward.grad)
            and id(forward.function) not in self._functions_with_steps
        ):
            return Evaluation("no_grad", "")
        return None
