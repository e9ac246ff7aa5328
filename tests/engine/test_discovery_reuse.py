"""Model discovery on the language server's path takes over what kept functions found.

``ModelDiscovery`` walks every function's statements for what builds, trains, loads and
optimizes models. A version parsed from the one before (``syntax.incremental.reparse``)
replays, for each kept function, what it found in the previous version, when everything it
read still says the same: the functions and instance lookups it depended on, the file-wide
facts, and what the functions before it had found. These tests compare every version's
discovered facts with a discovery from scratch, show that a kept function whose inputs
changed is walked again, and that an edit in one method leaves the others replayed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from support.edit_kinds import methods
from torchmode.analysis.dataflow import ModuleAnalyzer
from torchmode.analysis.models import ModelDiscovery
from torchmode.syntax import Document
from torchmode.syntax.incremental import reparse

ROOT = Path(__file__).resolve().parents[2]
TRAINER = ROOT / "tests" / "engine" / "incremental_sources" / "trainer_class.py"
CLASS_FILES = [
    TRAINER,
    *sorted(
        path
        for path in (ROOT / "tests" / "cases").glob("tm*/*.py")
        if any(isinstance(node, ast.ClassDef) for node in ast.parse(path.read_text(encoding="utf-8")).body)
    ),
]

Facts = tuple[object, ...]


def _discover(document: Document) -> ModelDiscovery:
    """Analyse ``document`` as the language server does (its cache is left for the next
    version) and return its model discovery."""
    assert document.tree is not None
    analyzer = ModuleAnalyzer(document, document.tree)
    analyzer.run()
    return analyzer.models


def _facts(models: ModelDiscovery, tree: ast.Module) -> Facts:
    def where(call: ast.Call) -> tuple[int, int, str]:
        return call.lineno, call.col_offset, ast.dump(call)

    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    pretrained = sorted(where(call) for call in calls if id(call) in models.pretrained_eval)
    return (
        models.model_paths,
        frozenset(models.trained_paths),
        frozenset(models.loaded_paths),
        frozenset(models.not_models),
        {path: [where(call) for call in calls] for path, calls in models.constructors.items()},
        dict(models.optimizers),
        dict(models.wrappers),
        pretrained,
    )


def _fresh_facts(text: str, path: str) -> Facts:
    document = Document(text, path, incremental=True)
    assert document.tree is not None
    return _facts(_discover(document), document.tree)


def _offset(text: str, line: int, column: int) -> int:
    lines = text.splitlines(keepends=True)
    start = sum(len(line_text) for line_text in lines[: line - 1])
    return start + len(lines[line - 1].encode("utf-8")[:column].decode("utf-8", errors="ignore"))


# Lines pasted into a method: each changes what discovery finds (a model built, trained,
# given to an optimizer, a non-module object, a copy, a load).
PASTED = (
    "self.extra = torch.nn.Linear(2, 2)",
    "self.extra.train()",
    "extra_optimizer = torch.optim.SGD(self.extra.parameters(), lr=0.1)",
    "self.extra.load_state_dict({})",
    "shadow = copy.deepcopy(self.extra)",
)


def _versions(text: str, method: ast.FunctionDef) -> list[str]:
    """A character typed into the first assigned name of the method (renaming what it
    assigns), a block pasted after its middle statement, and back to the original."""
    versions: list[str] = []
    assigned = next(
        (
            target
            for statement in method.body
            if isinstance(statement, ast.Assign)
            for target in statement.targets
            if isinstance(target, (ast.Name, ast.Attribute))
        ),
        None,
    )
    if assigned is not None:
        at = _offset(text, assigned.end_lineno or assigned.lineno, assigned.end_col_offset or 0)
        versions.append(text[:at] + "x" + text[at:])
        versions.append(text)
    statement = method.body[len(method.body) // 2]
    lines = text.splitlines(keepends=True)
    end_line = statement.end_lineno or statement.lineno
    indentation = " " * statement.col_offset
    block = "".join(f"{indentation}{line}\n" for line in PASTED)
    versions.append("".join(lines[:end_line]) + block + "".join(lines[end_line:]))
    versions.append(text)
    return versions


@pytest.mark.parametrize("source", CLASS_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_version_discovers_what_a_discovery_from_scratch_does(source: Path) -> None:
    text = source.read_text(encoding="utf-8")
    path = str(source)
    previous = Document(text, path, incremental=True)
    _discover(previous)
    replayed = 0
    tree = ast.parse(text)
    functions = sum(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) for node in ast.walk(tree))
    for method in methods(text):
        for version in _versions(text, method):
            document = reparse(previous, version)
            if document.tree is None:
                previous = document
                continue
            models = _discover(document)
            replayed += models.replayed_functions
            assert _facts(models, document.tree) == _fresh_facts(version, path), version
            previous = document
    if functions >= 3:  # one edited, another reading it: a third is left to take over
        assert replayed > 0, "no function's discovery was taken over"


def test_an_edit_in_one_method_replays_the_others() -> None:
    text = TRAINER.read_text(encoding="utf-8")
    path = str(TRAINER)
    first = Document(text, path, incremental=True)
    _discover(first)
    every = methods(text)
    method = every[len(every) // 2]
    edited = reparse(first, _versions(text, method)[0])
    models = _discover(edited)
    analysed = len(models.table.functions) - models.replayed_functions
    # The module's own statements and the edited method are walked again; what else is
    # walked read the renamed name.
    assert models.replayed_functions > 0
    assert analysed <= 4, f"{analysed} of {len(models.table.functions)} functions walked again"


# Kept functions whose findings depend on a function before them that changed.
DEPENDENT = """\
import copy
import torch
from torch import nn


class Net(nn.Module):
    def forward(self, x):
        return x


class Scorer:
    def eval(self, batch):
        return batch


def setup(net):
    global scorer, params
    scorer = Scorer()
    params = list(net.parameters())


def other():
    scorer = make_scorer()


def run(batch):
    scorer.eval()
    optimizer = torch.optim.SGD(params, lr=0.1)
    model = build()
    return optimizer, model


def build():
    return Net()
"""

DEPENDENT_EDITS = [
    # ``scorer`` stops being a known non-module: ``scorer.eval()`` in ``run`` is a mode switch.
    ("    scorer = Scorer()\n", "    scorer = Unknown()\n", "scorer"),
    # ``params`` now holds another model's parameters: ``run``'s optimizer updates that one.
    ("params = list(net.parameters())", "params = list(head.parameters())", "head"),
    # ``build`` stops being a factory: ``model`` in ``run`` is no longer a model.
    ("    return Net()\n", "    return object()\n", "model"),
]


def _mentioned(models: ModelDiscovery) -> set[str]:
    """The model paths, and the models the optimizers update."""
    return {*models.model_paths, *(path for sources in models.optimizers.values() for path in sources)}


@pytest.mark.parametrize(("old", "new", "changed_path"), DEPENDENT_EDITS)
def test_a_kept_function_reading_a_changed_one_is_walked_again(old: str, new: str, changed_path: str) -> None:
    first = Document(DEPENDENT, "dependent.py", incremental=True)
    before = _discover(first)
    assert DEPENDENT.count(old) == 1
    edited_text = DEPENDENT.replace(old, new)
    edited = reparse(first, edited_text)
    assert edited.tree is not None
    after = _discover(edited)
    facts = _facts(after, edited.tree)
    assert facts == _fresh_facts(edited_text, "dependent.py")
    assert facts != _facts(before, ast.parse(DEPENDENT)), "the edit changed nothing discovery finds"
    mentioned = _mentioned(after)
    was_mentioned = _mentioned(before)
    assert (changed_path in mentioned) != (changed_path in was_mentioned)
    # And back: the original facts again, from the edited version's discovery.
    back = reparse(edited, DEPENDENT)
    assert back.tree is not None
    assert _facts(_discover(back), back.tree) == _fresh_facts(DEPENDENT, "dependent.py")
