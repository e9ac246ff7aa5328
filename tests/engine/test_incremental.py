"""The language server's incremental path must give exactly what a from-scratch check gives.

``syntax.incremental.reparse`` parses only the edited top-level statement and keeps the
other statements' nodes; the node index and the analysis's syntax-only results
(``dataflow.SyntaxCache``) are carried over for those nodes. These tests apply chains of
random edits to the case files and examples, as a user typing would, and compare every
version with a fresh parse and a fresh check: the tree (positions included), whether it
parses, and every finding with its message, related locations and fixes.
"""

from __future__ import annotations

import ast
import gc
import random
import weakref
import zlib
from pathlib import Path

import pytest

from support import edit_kinds
from torchmode.analysis.dataflow import ModuleAnalyzer
from torchmode.analysis.facts import FileAnalysis
from torchmode.analysis.project import Project
from torchmode.analysis.reuse import cache_of
from torchmode.engine import check_document, forward_call_states, hover_at
from torchmode.syntax import Document
from torchmode.syntax.incremental import reparse
from torchmode.syntax.node_index import node_index

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "tests" / "cases").glob("tm*/*.py")) + sorted((ROOT / "examples").glob("*.py"))
# What typing inserts, and what breaks the incremental path's assumptions: line breaks of
# every kind, continuations, strings left open, decorators, a new top-level def, tabs.
PIECES = [
    "x",
    "_1",
    " ",
    "\n",
    "\r\n",
    "\r",
    "(",
    ")",
    ":",
    "#",
    '"',
    "'''",
    "\\",
    "\t",
    "    ",
    "pass\n",
    "def helper():\n    pass\n",
    "@decorator\n",
    "from __future__ import annotations\n",
    "model.eval()\n",
    "    model.train()\n",
    "        with torch.no_grad():\n",
    "; y = 2",
]


def _edit(text: str, rng: random.Random) -> str:
    position = rng.randrange(len(text) + 1)
    choice = rng.random()
    if choice < 0.2:
        # Typing inside a line of code, the common case: after an identifier character.
        candidates = [index for index in range(len(text)) if text[index].isalnum()]
        if candidates:
            position = rng.choice(candidates) + 1
        return text[:position] + rng.choice("xyz_0") + text[position:]
    if choice < 0.55:
        return text[:position] + rng.choice(PIECES) + text[position:]
    if choice < 0.85:
        return text[:position] + text[position + rng.randint(1, 6) :]
    return text[:position] + rng.choice(PIECES) + text[position + rng.randint(1, 4) :]


def _dump(document: Document) -> str | None:
    tree = document.tree
    return ast.dump(tree, include_attributes=True) if tree is not None else None


def _versions(source: Path, count: int, seed: int) -> list[str]:
    """A chain of edited texts; a text that stops parsing is sometimes kept (users type
    through broken states), sometimes reverted to the last one that parsed."""
    rng = random.Random(seed)
    texts = [source.read_text(encoding="utf-8")]
    last_good = texts[0]
    for _ in range(count):
        text = _edit(texts[-1], rng)
        if Document(text).tree is not None:
            last_good = text
        elif rng.random() < 0.5:
            text = last_good
        texts.append(text)
    return texts


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_incremental_parse_equals_a_full_parse(source: Path) -> None:
    previous = Document(source.read_text(encoding="utf-8"), incremental=True)
    previous.tree  # noqa: B018 - the first version is parsed in full
    spliced = 0
    texts = _versions(source, 80, seed=zlib.crc32(source.name.encode()))
    for text in texts[1:]:
        document = reparse(previous, text)
        spliced += "_parsed" in document.__dict__
        assert _dump(document) == _dump(Document(text)), text
        previous = document
    # Not vacuous: most typing edits stay inside one statement.
    assert spliced >= len(texts) // 10


@pytest.fixture
def reuse_counter(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the fixpoints taken from a previous version (proves the tests reach reuse)."""
    taken = [0]
    original = ModuleAnalyzer.run

    def counting(self: ModuleAnalyzer) -> FileAnalysis:
        ran = self._ran
        result = original(self)
        if not ran:
            taken[0] += self.work.reused_fixpoints
        return result

    monkeypatch.setattr(ModuleAnalyzer, "run", counting)
    return taken


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_incremental_check_equals_a_check_from_scratch(source: Path, reuse_counter: list[int]) -> None:
    """The findings of every version, checked as the language server checks (each version
    parsed and analysed from the previous one), equal a fresh check's."""
    previous: Document | None = None
    for text in _versions(source, 30, seed=zlib.crc32(source.name.encode()) + 1):
        document = (
            reparse(previous, text) if previous is not None else Document(text, str(source), incremental=True)
        )
        incremental = check_document(document)
        fresh = check_document(Document(text, str(source)))
        assert incremental.findings == fresh.findings, text
        assert (incremental.parse_failure is None) == (fresh.parse_failure is None)
        assert forward_call_states(document) == forward_call_states(Document(text, str(source)))
        previous = document
    if sum(isinstance(node, ast.FunctionDef) for node in ast.parse(source.read_text()).body) >= 3:
        assert reuse_counter[0] > 0, "no fixpoint was reused"


SEED = (ROOT / "examples" / "seed_loop.py").read_text(encoding="utf-8")
# Edits that change what another, untouched function's findings depend on: the callee's
# switch, the call's resolution, names and imports the whole file reads.
DEPENDENCY_EDITS = [
    ("    model.eval()\n    test_loss", "    test_loss"),  # the callee stops switching
    ("def test(model, test_loader):", "def test2(model, test_loader):"),  # the call no longer resolves
    ("def make_loader(", "def test(model, loader):\n    model.train()\n\n\ndef make_loader("),  # shadowed
    ("import torch.nn.functional as F", "import torch.nn.functional as G"),
    ('            print(f"validation', '            model.train()\n            print(f"validation'),
    ("class Net(nn.Module):", "class Net(object):"),
    ("    model.eval()\n    test_loss", "    model.eval()\n    model.train(False)\n    test_loss"),
]


@pytest.mark.parametrize(("old", "new"), DEPENDENCY_EDITS)
def test_an_edit_another_function_depends_on_is_seen(old: str, new: str, reuse_counter: list[int]) -> None:
    assert old in SEED
    first = Document(SEED, "seed_loop.py", incremental=True)
    check_document(first)
    edited_text = SEED.replace(old, new, 1)
    edited = reparse(first, edited_text)
    assert check_document(edited).findings == check_document(Document(edited_text, "seed_loop.py")).findings
    # And back: the original findings again, from the edited version's analysis.
    back = reparse(edited, SEED)
    assert check_document(back).findings == check_document(Document(SEED, "seed_loop.py")).findings


def test_incremental_check_with_a_project_equals_a_fresh_project(tmp_path: Path) -> None:
    """With imports followed, as in the server: one project across the versions (told of
    each change) against a new project per version."""
    (tmp_path / "engine.py").write_text(
        "def evaluate(model, loader):\n    model.eval()\n    return [model(x) for x in loader]\n",
        encoding="utf-8",
    )
    train = tmp_path / "train.py"
    text = (
        "import torch\nfrom engine import evaluate\n\n\n"
        "def train(model, optimizer, loader):\n"
        "    model.train()\n"
        "    for epoch in range(3):\n"
        "        for x, y in loader:\n"
        "            loss = torch.nn.functional.mse_loss(model(x), y)\n"
        "            optimizer.zero_grad()\n"
        "            loss.backward()\n"
        "            optimizer.step()\n"
        "        evaluate(model, loader)\n"
    )
    train.write_text(text, encoding="utf-8")
    project = Project(roots=[tmp_path])
    rng = random.Random(7)
    previous = Document(text, str(train), incremental=True)
    assert [finding.code for finding in check_document(previous, workspace=project).findings] == ["TM101"]
    for _ in range(60):
        text = _edit(text, rng)
        project.changed(train, text)
        document = reparse(previous, text)
        incremental = check_document(document, workspace=project)
        fresh = check_document(Document(text, str(train)), workspace=Project(roots=[tmp_path]))
        assert incremental.findings == fresh.findings, text
        previous = document


def test_a_superseded_version_s_analysis_is_freed_without_the_collector(tmp_path: Path) -> None:
    """The server's project keeps one analyzer per file; when the next version's replaces it,
    the old one (its graphs, states and facts) must go by reference counting. Left in a
    reference cycle, each version's analysis waited for the collector's older generations and
    filled the young one, and those collections were the server's slowest edits."""
    (tmp_path / "engine.py").write_text(
        "def evaluate(model, loader):\n    model.eval()\n    return [model(x) for x in loader]\n",
        encoding="utf-8",
    )
    train = tmp_path / "train.py"
    text = (
        "import torch\nfrom engine import evaluate\n\n\n"
        "def step(model, optimizer, x, y):\n"
        "    loss = torch.nn.functional.mse_loss(model(x), y)\n"
        "    optimizer.zero_grad()\n"
        "    loss.backward()\n"
        "    optimizer.step()\n\n\n"
        "def train(model, optimizer, loader):\n"
        "    model.train()\n"
        "    for epoch in range(3):\n"
        "        for x, y in loader:\n"
        "            step(model, optimizer, x, y)\n"
        "        evaluate(model, loader)\n"
    )
    train.write_text(text, encoding="utf-8")
    project = Project(roots=[tmp_path])
    first = Document(text, str(train), incremental=True)
    assert [finding.code for finding in check_document(first, workspace=project).findings] == ["TM101"]
    analyzer = project.analyzer_for_document(train, first)
    assert analyzer is not None and analyzer.work.fixpoint_steps > 0
    first_analyzer = weakref.ref(analyzer)
    del analyzer
    edited = text.replace("step(model, optimizer, x, y)\n", "step(model, optimizer, x, y)  # edited\n")
    gc.disable()
    try:
        project.changed(train, edited)
        second = reparse(first, edited)
        del first
        assert [finding.code for finding in check_document(second, workspace=project).findings] == ["TM101"]
        assert first_analyzer() is None, "the superseded analysis is garbage in a reference cycle"
    finally:
        gc.enable()


def test_an_edit_inside_one_function_reuses_the_others() -> None:
    """Not vacuous: the untouched functions' nodes, index parts and syntax results are the
    previous version's own objects."""
    source = (ROOT / "examples" / "seed_loop.py").read_text(encoding="utf-8")
    first = Document(source, "seed_loop.py", incremental=True)
    check_document(first)
    tree = first.tree
    assert tree is not None
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert len(functions) >= 3
    edited = functions[0]
    line = first.line_text(edited.body[0].lineno)
    offset = first.line_offsets[edited.body[0].lineno - 1] + len(line)
    second = reparse(first, source[:offset] + "  # edited" + source[offset:])
    new_tree = second.tree
    assert new_tree is not None
    kept = [node for node in new_tree.body if any(node is old for old in tree.body)]
    assert len(kept) == len(tree.body) - 1
    assert all(node is not edited for node in new_tree.body)
    old_index, new_index = node_index(first), node_index(second)
    assert old_index is not None and new_index is not None
    assert new_index._by_statement[id(kept[-1])] is old_index._by_statement[id(kept[-1])]
    analyzer = ModuleAnalyzer(second, new_tree)
    previous_cache = cache_of(first)
    analyzer.run()
    # ``train`` calls ``test``, not the edited function: its fixpoint is reused too.
    assert analyzer.work.reused_fixpoints >= 2
    reused = [
        node
        for node in functions[1:]
        if analyzer.reuse.graph_of(node) is not None
        and previous_cache is not None
        and analyzer.reuse.graph_of(node) == previous_cache.graph_of(node)
    ]
    assert reused, "no control-flow graph was carried over"
    assert check_document(second).findings == check_document(Document(second.text, "seed_loop.py")).findings


# --- inside the methods of a big class: the four ways people type ---------------------------
#
# What the language server sees most: one character within a line, Enter (a line break and
# the indentation of the next line), a pasted block of lines, and a statement typed one
# character at a time (most of its versions do not parse): ``support/edit_kinds.py``, the
# same versions ``bench/class_edits.py`` times. Each is made in every method of a trainer
# class (``incremental_sources/trainer_class.py``: ``__init__`` calls the other methods,
# methods call each other and back, properties, a nested class...) and of the case files
# with classes; every version is compared with a check from scratch, the tree with
# positions included (the nodes below an edit that adds lines are moved, not parsed again).

TRAINER = Path(__file__).resolve().parent / "incremental_sources" / "trainer_class.py"
CLASS_SOURCES = [TRAINER] + [
    path
    for path in SOURCES
    if any(isinstance(node, ast.ClassDef) for node in ast.parse(path.read_text(encoding="utf-8")).body)
]


@pytest.mark.parametrize("kind", edit_kinds.KINDS)
def test_each_edit_kind_is_a_chain_back_to_the_text(kind: str) -> None:
    """Not vacuous: every kind changes the method's text and ends back at it; typing goes
    through versions that do not parse and then one that parses again (the versions the
    comparison below must also cover); the character lands after a name."""
    text = TRAINER.read_text(encoding="utf-8")
    method = {method.name: method for method in edit_kinds.methods(text)}["compute_loss"]
    chain = edit_kinds.versions(text, method, kind)
    assert chain[-1] == text and all(version != text for version in chain[:-1])
    parses = [Document(version).tree is not None for version in chain]
    if kind == "typing":
        broken = [index for index, parsed in enumerate(parses) if not parsed]
        assert len(broken) >= len(chain) // 2 and parses[broken[-1] + 1]
        assert "        with torch.no_grad():\n            pass\n" in chain[-2]
    else:
        assert all(parses)
    if kind == "character":
        assert "        lossx = F.cross_entropy(" in chain[0]
        assert "        lossxx = F.cross_entropy(" in chain[1]


def _hovers(document: Document) -> list[str | None]:
    """The hover at each forward call (the inferred mode there, and why)."""
    hovers = []
    for state in forward_call_states(document):
        found = hover_at(document, state.span.start)
        hovers.append(found.markdown if found is not None else None)
    return hovers


def _assert_same_as_from_scratch(document: Document, text: str, path: str) -> None:
    fresh = Document(text, path)
    assert _dump(document) == _dump(fresh), text
    incremental, scratch = check_document(document), check_document(fresh)
    assert incremental.findings == scratch.findings, text
    assert (incremental.parse_failure is None) == (scratch.parse_failure is None), text
    assert forward_call_states(document) == forward_call_states(fresh), text
    assert _hovers(document) == _hovers(fresh), text


@pytest.mark.parametrize("kind", edit_kinds.KINDS)
@pytest.mark.parametrize("source", CLASS_SOURCES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_edits_inside_methods_equal_a_check_from_scratch(source: Path, kind: str) -> None:
    """Every version of every edit, in every method, checked as the language server checks
    it (each version parsed and analysed from the one before), equals a check from scratch:
    findings with their related places and fixes, whether it parses, the modes at forward
    calls and the hovers there. Also the versions that do not parse and the first that does
    again."""
    original = source.read_text(encoding="utf-8")
    path = str(source)
    previous = Document(original, path, incremental=True)
    check_document(previous)
    methods = edit_kinds.methods(original)
    # Every method of the trainer; a few of each case file (typing makes long chains).
    wanted = 3 if kind == "typing" else (len(methods) if source == TRAINER else 2)
    for method in methods[:: max(len(methods) // wanted, 1)]:
        for text in edit_kinds.versions(original, method, kind):
            document = reparse(previous, text)
            _assert_same_as_from_scratch(document, text, path)
            previous = document


def test_sites_and_parse_failures_pickle_and_copy() -> None:
    """The CLI's jobs and other processes get findings pickled: an anchored site arrives with
    the lines it reads now; copies are the site itself; a failure found later is found."""
    import copy
    import pickle

    from torchmode.analysis.lattice import Site
    from torchmode.syntax.document import ParseFailure
    from torchmode.syntax.positions import LineAnchor, Position, Span

    anchor = LineAnchor()
    span = Span(Position(3, 4), Position(3, 9))
    site = Site(span, "model", "f", Span(Position(3, 0), Position(3, 9)), "a.py", anchor)
    anchor.shift = 2
    assert site.span == Span(Position(5, 4), Position(5, 9))
    arrived = pickle.loads(pickle.dumps(site))
    assert (arrived.span, arrived.statement, arrived.text, arrived.anchor) == (
        site.span,
        site.statement,
        "model",
        None,
    )
    assert copy.copy(site) is site and copy.deepcopy(site) is site

    later = ParseFailure.found_later(lambda: ParseFailure("invalid syntax", Position(2, 1)))
    assert pickle.loads(pickle.dumps(later)) == ParseFailure("invalid syntax", Position(2, 1))


@pytest.mark.parametrize("kind", edit_kinds.KINDS)
def test_an_edit_in_a_method_keeps_the_rest(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not vacuous: an edit in one method parses that method only (no full parse, also when
    a version does not parse), keeps every other method's nodes (moved when lines were added
    above them), and takes over the analysis of every function that read nothing that
    changed, whatever was in progress when it was analysed."""
    full_parses = [0]
    original_parse = Document._parse_in_full

    def counting(self: Document) -> object:
        full_parses[0] += self.incremental  # not the documents checked from scratch here
        return original_parse(self)

    text = TRAINER.read_text(encoding="utf-8")
    previous = Document(text, str(TRAINER), incremental=True)
    check_document(previous)
    monkeypatch.setattr(Document, "_parse_in_full", counting)
    methods = {method.name: method for method in edit_kinds.methods(text)}
    edited = methods["compute_loss"]
    for version in edit_kinds.versions(text, edited, kind)[:-1]:
        old_tree = previous.tree
        assert old_tree is not None
        old_methods = {id(node): node for node in _methods_of(old_tree)}
        document = reparse(previous, version)
        assert document.parse_known, "decided without a full parse"
        analyzer = ModuleAnalyzer(document, document.tree) if document.tree is not None else None
        if analyzer is not None:
            analyzer.run()
            tree = document.tree
            assert tree is not None
            kept = [node for node in _methods_of(tree) if id(node) in old_methods]
            assert len(kept) == len(old_methods) - 1, "every other method kept"
            assert not any(node.name == "compute_loss" for node in kept)
            # Analysed again: the module's code, the edited method and what reads it, through
            # calls: training_step, fit (calls training_step), restart (calls fit), main.
            assert analyzer.work.reused_fixpoints == len(analyzer.functions) - 6
            previous = document
        assert check_document(document).findings == check_document(Document(version, str(TRAINER))).findings
    assert full_parses[0] == 0


def _methods_of(tree: ast.Module) -> list[ast.FunctionDef]:
    return [
        member
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for member in node.body
        if isinstance(member, ast.FunctionDef)
    ]
