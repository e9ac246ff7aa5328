"""A switch added to one method of a class changes the other methods' analysis only where it
matters: where ``__init__`` set a mode that the other methods take (``_modes_from_init``).

Each method that took a mode ``__init__`` set records which parts of ``self`` the class's
methods switch (``Reads.switched``); the next version re-analyses it when that set changed,
and takes over the methods that never read it.
"""

from __future__ import annotations

import pytest

from torchmode.analysis.dataflow import ModuleAnalyzer
from torchmode.engine import check_document
from torchmode.syntax import Document
from torchmode.syntax.incremental import reparse

# ``Distiller`` is no module: the teacher's eval mode set in ``__init__`` holds in ``score``
# unless another method switches the teacher again.
DISTILLER = """\
import torch
from torch import nn


class Distiller:
    def __init__(self, teacher, student):
        self.teacher = teacher
        self.teacher.eval()
        self.student = student

    def score(self, batch):
        with torch.no_grad():
            return self.teacher(batch)

    def fit(self, batch, optimizer):
        self.student.train()
        loss = self.student(batch).sum()
        loss.backward()
        optimizer.step()

    def report(self, batch):
        return len(batch)
"""

# No mode set in ``__init__``: a switch added elsewhere changes nothing the methods start from.
# (``Other`` makes ``self.model`` a model of the file already: the edit changes no file-wide fact.)
PLAIN = """\
import torch
from torch import nn


class Runner:
    def __init__(self, model):
        self.model = model

    def first(self, batch):
        return self.model(batch)

    def second(self, batch):
        return len(batch)

    def third(self, batch):
        return self.model(batch) + 1


class Other:
    def go(self):
        self.model.eval()
"""

TEACHER_SWITCHED = "    def report(self, batch):\n        self.teacher.eval()\n        return len(batch)\n"
MODEL_SWITCHED = "    def second(self, batch):\n        self.model.eval()\n        return len(batch)\n"


def _modes_at_forwards(document: Document) -> list[tuple[int, str, str]]:
    """The mode the analysis finds at each forward call (before any rule reads it)."""
    assert document.tree is not None
    analysis = ModuleAnalyzer(document, document.tree).run()
    return [(forward.call.lineno, forward.path, repr(forward.value)) for forward in analysis.forward_calls]


def _reused(document: Document) -> int:
    assert document.tree is not None
    analyzer = ModuleAnalyzer(document, document.tree)
    analyzer.run()
    return analyzer.work.reused_fixpoints


@pytest.mark.parametrize("direction", ["add", "remove"])
def test_a_switch_added_in_another_method_changes_the_mode_init_set(direction: str) -> None:
    edited = DISTILLER.replace("    def report(self, batch):\n        return len(batch)\n", TEACHER_SWITCHED)
    assert edited != DISTILLER
    before, after = (DISTILLER, edited) if direction == "add" else (edited, DISTILLER)
    first = Document(before, "distiller.py", incremental=True)
    _modes_at_forwards(first)
    second = reparse(first, after)
    modes = _modes_at_forwards(second)
    assert modes == _modes_at_forwards(Document(after, "distiller.py"))
    # The teacher's mode in ``score`` is not the same with and without the switch elsewhere.
    assert modes != _modes_at_forwards(Document(before, "distiller.py"))
    fresh = Document(after, "distiller.py")
    assert check_document(reparse(first, after)).findings == check_document(fresh).findings


def test_methods_that_took_no_mode_from_init_are_taken_over() -> None:
    first = Document(PLAIN, "runner.py", incremental=True)
    _reused(first)
    edited_text = PLAIN.replace("    def second(self, batch):\n        return len(batch)\n", MODEL_SWITCHED)
    assert edited_text != PLAIN
    edited = reparse(first, edited_text)
    # ``__init__``, ``first``, ``third`` and ``Other.go`` read nothing the edit changed.
    assert _reused(edited) >= 4
    assert check_document(reparse(first, edited_text)).findings == (
        check_document(Document(edited_text, "runner.py")).findings
    )


# A model path found in one method (``self.head.eval()`` pasted into ``second``): only the
# functions that asked whether ``self.head`` is a model are analysed again.
HEADLESS = """\
import torch


class Runner:
    def __init__(self, model, head):
        self.model = model
        self.parts = [head]

    def first(self, batch):
        self.model.train()
        return self.model(batch)

    def second(self, batch):
        return len(batch)

    def third(self, batch):
        self.head = self.parts[0]
        return self.head(batch)

    def fourth(self, batch):
        self.model.eval()
        return self.model(batch) + 1
"""


def test_a_new_model_path_re_analyses_only_the_functions_that_asked_about_it() -> None:
    first = Document(HEADLESS, "runner.py", incremental=True)
    _reused(first)
    edited_text = HEADLESS.replace(
        "    def second(self, batch):\n        return len(batch)\n",
        "    def second(self, batch):\n        self.head.eval()\n        return len(batch)\n",
    )
    assert edited_text != HEADLESS
    edited = reparse(first, edited_text)
    assert edited.tree is not None
    analyzer = ModuleAnalyzer(edited, edited.tree)
    analysis = analyzer.run()
    modes = [(forward.call.lineno, forward.path, repr(forward.value)) for forward in analysis.forward_calls]
    assert modes == _modes_at_forwards(Document(edited_text, "runner.py"))
    assert "self.head" in analysis.model_paths
    # ``third`` asked whether ``self.head`` is a model (no before, yes now): analysed again;
    # ``__init__``, ``first`` and ``fourth`` asked only about other paths: taken over.
    assert analyzer.work.reused_fixpoints >= 3
