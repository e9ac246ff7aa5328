"""What a long editing session leaves in memory: each old version goes when the next is checked.

The language server checks every version of a document, and tunes the garbage collector so
that full collections are rare (``gc_tuning``). Whatever of an old version sits in a
reference cycle waits for one: a session of 1,200 edits held the trees and analyses of a
thousand old versions (the server's RSS went from 134 to 355 MB) before one came. So an old
version must be freed by reference counting alone, as soon as nothing uses it: these tests
run with the collector off and count the versions still alive (never bytes or times).
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from torchmode.analysis.dataflow import ModuleAnalyzer
from torchmode.analysis.project import Project, analyze
from torchmode.engine import Workspace, check_document
from torchmode.syntax import Document
from torchmode.syntax.incremental import reparse

HELPERS = """\
import torch


def helper(model):
    model.eval()
    return model


class Trainer:
    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer

    def step(self, batch):
        def closure():
            loss = self.model(batch).sum()
            loss.backward()
            return loss

        self.optimizer.step(closure)

    def fit(self, loader):
        self.model.train()
        for batch in loader:
            self.step(batch)
"""

TRAIN = """\
from helpers import Trainer, helper


def train(model, optimizer, loader):
    trainer = Trainer(model, optimizer)
    trainer.fit(loader)
    helper(model)
    for batch in loader:
        loss = model(batch).sum()
        loss.backward()
        optimizer.step()
"""

VERSIONS = 40


@pytest.fixture
def no_collector() -> Iterator[None]:
    """The collector off: what is not freed by reference counting stays, and is counted."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def _edited(text: str, version: int) -> str:
    """Typing in ``helper`` (a character, or a line break that moves everything below)."""
    anchor = "    model.eval()\n"
    edit = f"    x{version} = 1\n" if version % 2 else f"    y{version} = 1\n\n"
    return text.replace(anchor, anchor + edit, 1)


def _alive(references: list[weakref.ref[Document]]) -> int:
    return sum(reference() is not None for reference in references)


def test_old_versions_of_a_document_are_freed_without_the_collector(no_collector: None) -> None:
    """The chain of versions the server keeps (each parsed from the one before): its old
    versions, their trees and analyses, are freed as soon as the next one is checked."""
    previous = Document(HELPERS, "/project/helpers.py", incremental=True)
    check_document(previous)
    versions = [weakref.ref(previous)]
    for version in range(VERSIONS):
        document = reparse(previous, _edited(HELPERS, version))
        check_document(document)
        versions.append(weakref.ref(document))
        previous = document
    # The latest, the one it was parsed from (its cache is the next one's), no more.
    assert _alive(versions) <= 2


def test_an_imported_files_old_versions_are_freed_without_the_collector(
    tmp_path: Path, no_collector: None
) -> None:
    """Typing in a file another one imports: the importer's check reads each new version
    through the workspace, which keeps one analyzer per file; the old ones are freed."""
    helpers, train = tmp_path / "helpers.py", tmp_path / "train.py"
    helpers.write_text(HELPERS, encoding="utf-8")
    train.write_text(TRAIN, encoding="utf-8")
    texts = {helpers: HELPERS, train: TRAIN}
    workspace = Workspace([tmp_path], reader=lambda path: texts.get(path), live=True)
    analyzers: list[weakref.ref[ModuleAnalyzer]] = []
    documents: list[weakref.ref[Document]] = []
    previous = Document(HELPERS, str(helpers), incremental=True)
    for version in range(VERSIONS):
        texts[helpers] = text = _edited(HELPERS, version)
        workspace.changed(helpers, text)
        document = reparse(previous, text)
        check_document(document, workspace=workspace)
        importer = check_document(Document(TRAIN, str(train)), workspace=workspace)
        assert {finding.code for finding in importer.findings}, "the importer's check found nothing"
        analyzer = workspace.project.analyzer_for(helpers)
        assert analyzer is not None
        analyzers.append(weakref.ref(analyzer))
        documents.append(weakref.ref(document))
        del analyzer
        previous = document
    assert sum(reference() is not None for reference in analyzers) <= 1
    assert _alive(documents) <= 2


def test_an_analysis_is_freed_with_its_last_user(no_collector: None) -> None:
    """No reference cycle through an analyzer (its call resolver, model discovery and alias
    table point back at it; nested functions at their parents): once the project forgets
    it and the caller drops its result, it is gone."""
    path = Path("/project/helpers.py").resolve()
    project = Project(reader=lambda _: HELPERS)
    analysis = analyze(Document(HELPERS, str(path)), project)
    assert analysis is not None
    analyzer = project.analyzer_for(path)
    assert analyzer is not None
    freed = weakref.ref(analyzer)
    del analyzer
    project.release(path)
    assert freed() is None
    # The analysis outlives its analyzer, and holds every function: parents too.
    nested = [function for function in analysis.functions if function.name == "Trainer.step.closure"]
    assert [function.parent.name for function in nested if function.parent is not None] == ["Trainer.step"]
