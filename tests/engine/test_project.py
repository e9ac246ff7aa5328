"""Other files: import resolution, cross-file summaries and classes, invalidation."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from torchmode.analysis.dataflow import ModuleAnalyzer
from torchmode.analysis.project import Project, project_for_paths
from torchmode.engine import check_document
from torchmode.findings import Finding
from torchmode.syntax import Document

TRAIN_LOOP = """\
import torch
from torch import nn
{import_line}


def train(model, loader, val_loader, opt):
    model.train()
    for epoch in range(3):
        for x, y in loader:
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
        {call}(model, val_loader)
"""

EVALUATE = """\
import torch


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        for x in loader:
            model(x)
"""

EVALUATE_RESTORING = EVALUATE + "    model.train()\n"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def check(root: Path, name: str, project: Project | None = None) -> list[Finding]:
    path = root / name
    project = project if project is not None else Project([root])
    document = Document(path.read_text(encoding="utf-8"), str(path))
    return list(check_document(document, workspace=project).findings)


def codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


def train_loop(import_line: str, call: str = "evaluate") -> str:
    return TRAIN_LOOP.format(import_line=import_line, call=call)


# --- resolution ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "import_line", "call"),
    [
        pytest.param({"engine.py": EVALUATE}, "from engine import evaluate", "evaluate", id="from-import"),
        pytest.param({"engine.py": EVALUATE}, "from engine import evaluate as ev", "ev", id="alias"),
        pytest.param({"engine.py": EVALUATE}, "import engine", "engine.evaluate", id="module-import"),
        pytest.param({"engine.py": EVALUATE}, "import engine as E", "E.evaluate", id="module-alias"),
        pytest.param(
            {"pkg/__init__.py": "", "pkg/engine.py": EVALUATE},
            "from pkg.engine import evaluate",
            "evaluate",
            id="package-module",
        ),
        pytest.param(
            {"pkg/__init__.py": "from .core import evaluate as ev\n", "pkg/core.py": EVALUATE},
            "from pkg import ev",
            "ev",
            id="init-reexport-alias",
        ),
        pytest.param(
            {"pkg/__init__.py": "from pkg.core import *\n", "pkg/core.py": EVALUATE},
            "from pkg import evaluate",
            "evaluate",
            id="init-star-reexport",
        ),
        pytest.param(
            {"pkg/__init__.py": "from . import engine\n", "pkg/engine.py": EVALUATE},
            "import pkg",
            "pkg.engine.evaluate",
            id="submodule-attribute",
        ),
    ],
)
def test_an_imported_evaluate_that_switches_to_eval_is_followed(
    tmp_path: Path, files: dict[str, str], import_line: str, call: str
) -> None:
    write(tmp_path, {**files, "train.py": train_loop(import_line, call)})
    findings = check(tmp_path, "train.py")
    assert codes(findings) == ["TM101"]
    # Without other files, the call is unknown and nothing is reported.
    alone = check_document(Document((tmp_path / "train.py").read_text(), str(tmp_path / "train.py")))
    assert codes(list(alone.findings)) == []


def test_relative_import_inside_a_package(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/engine.py": EVALUATE,
            "proj/training/__init__.py": "",
            "proj/training/loop.py": train_loop("from ..engine import evaluate"),
            "proj/training/loop2.py": train_loop("from .. import engine", "engine.evaluate"),
        },
    )
    assert codes(check(tmp_path, "proj/training/loop.py")) == ["TM101"]
    assert codes(check(tmp_path, "proj/training/loop2.py")) == ["TM101"]


def test_src_layout_resolves_from_the_project_root(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'x'\n",
            "src/mylib/__init__.py": "",
            "src/mylib/engine.py": EVALUATE,
            "scripts/train.py": train_loop("from mylib.engine import evaluate"),
        },
    )
    project = project_for_paths([tmp_path / "scripts" / "train.py"])
    assert codes(check(tmp_path, "scripts/train.py", project)) == ["TM101"]


def test_related_information_points_into_the_other_file(tmp_path: Path) -> None:
    write(tmp_path, {"engine.py": EVALUATE, "train.py": train_loop("from engine import evaluate")})
    (finding,) = check(tmp_path, "train.py")
    inner = [related for related in finding.related if related.path]
    assert [Path(related.path).name for related in inner] == ["engine.py"]
    assert inner[0].span.start.line == 5  # model.eval() in engine.py


def test_an_evaluate_that_restores_train_mode_is_silent(tmp_path: Path) -> None:
    write(tmp_path, {"engine.py": EVALUATE_RESTORING, "train.py": train_loop("from engine import evaluate")})
    assert codes(check(tmp_path, "train.py")) == []


def test_a_local_def_shadows_the_import(tmp_path: Path) -> None:
    text = train_loop("from engine import evaluate") + "\n\ndef evaluate(model, loader):\n    pass\n"
    write(tmp_path, {"engine.py": EVALUATE, "train.py": text})
    assert codes(check(tmp_path, "train.py")) == []


def test_unresolvable_and_library_imports_stay_unknown(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.py": train_loop("from nowhere import evaluate"),
            "b.py": train_loop("from torch.utils import evaluate"),
        },
    )
    project = Project([tmp_path])
    assert codes(check(tmp_path, "a.py", project)) == []
    assert codes(check(tmp_path, "b.py", project)) == []
    assert project.files_parsed == 0


def test_import_cycles_terminate(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.py": "from b import g\n\ndef f(model):\n    g(model)\n",
            "b.py": "from a import f\n\ndef g(model):\n    f(model)\n    model.eval()\n",
            "pkg/__init__.py": "from pkg import x\nfrom .x import *\n",
            "pkg/x.py": "from pkg import *\n",
            "train.py": train_loop("from a import f", "f") + "\nfrom pkg import missing\nmissing(1)\n",
        },
    )
    assert codes(check(tmp_path, "train.py")) == ["TM101"]


# --- classes from other files --------------------------------------------------------------

TRAINER = """\
import torch


class Trainer:
    def __init__(self, model, opt):
        self.model = model
        self.opt = opt

    def evaluate(self, loader):
        self.model.eval()
        with torch.no_grad():
            for x in loader:
                self.model(x)
{restore}
    def fit(self, loader, val_loader):
        self.model.train()
        for epoch in range(3):
            for x, y in loader:
                self.opt.zero_grad()
                loss = (self.model(x) - y).pow(2).mean()
                loss.backward()
                self.opt.step()
            self.evaluate(val_loader)
"""


def test_a_subclass_inherits_a_mid_epoch_evaluate_from_another_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base.py": TRAINER.format(restore=""),
            "my_trainer.py": """\
                from base import Trainer


                class MyTrainer(Trainer):
                    def run(self, loader, val_loader):
                        self.model.train()
                        for epoch in range(3):
                            for x, y in loader:
                                self.opt.zero_grad()
                                self.model(x).sum().backward()
                                self.opt.step()
                            self.evaluate(val_loader)
            """,
        },
    )
    assert codes(check(tmp_path, "my_trainer.py")) == ["TM101"]
    write(
        tmp_path,
        {"base.py": TRAINER.format(restore="        self.model.train()\n")},
    )
    assert codes(check(tmp_path, "my_trainer.py")) == []


def test_a_trainer_instance_of_an_imported_class(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "trainers.py": """\
                class Evaluator:
                    def __init__(self, model):
                        self.model = model

                    def run(self, loader):
                        self.model.eval()
            """,
            "train.py": """\
                from trainers import Evaluator


                def train(model, loader, val_loader, opt):
                    evaluator = Evaluator(model)
                    model.train()
                    for epoch in range(3):
                        for x, y in loader:
                            opt.zero_grad()
                            model(x).sum().backward()
                            opt.step()
                        evaluator.run(val_loader)
            """,
        },
    )
    # ``__init__`` keeps ``self.model = model``: ``evaluator.model`` is the caller's model.
    assert codes(check(tmp_path, "train.py")) == ["TM101"]


def test_a_model_class_imported_from_another_file_is_a_model(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "models/__init__.py": "from .net import Net\n",
            "models/base.py": "from torch import nn\n\n\nclass Base(nn.Module):\n    pass\n",
            "models/net.py": """\
                from torch import nn
                from .base import Base


                class Net(Base):
                    def __init__(self):
                        super().__init__()
                        self.drop = nn.Dropout(0.5)
            """,
            "predict.py": """\
                import torch
                from models import Net


                def predict(loader):
                    model = Net()
                    model.load_state_dict(torch.load("w.pt"))
                    with torch.no_grad():
                        return [model(x) for x in loader]
            """,
        },
    )
    # A fresh Net is in train mode: predicting with it is TM102.
    assert codes(check(tmp_path, "predict.py")) == ["TM102"]
    # Alone, ``Net`` is just a name: nothing is known.
    alone = check_document(Document((tmp_path / "predict.py").read_text(), str(tmp_path / "predict.py")))
    assert codes(list(alone.findings)) == []


def test_a_module_class_check_through_bases_in_several_files(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.py": "import torch.nn as nn\n\nclass A(nn.Module):\n    pass\n",
            "b.py": "from a import A\n\nclass B(A):\n    pass\n",
            "c.py": "from b import B\n\nclass C(B):\n    pass\n\nclass Plain:\n    pass\n",
        },
    )
    project = Project([tmp_path])
    analyzer = project.analyzer_for(tmp_path / "c.py")
    assert isinstance(analyzer, ModuleAnalyzer)
    assert analyzer.is_module_class("C")
    assert not analyzer.is_module_class("Plain")


# --- caching and invalidation ---------------------------------------------------------------


def test_changed_file_invalidates_its_dependents_transitively(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "helpers.py": "def switch(model):\n    model.eval()\n",
            "engine.py": "from helpers import switch\n\ndef evaluate(model, loader):\n    switch(model)\n",
            "train.py": train_loop("from engine import evaluate"),
        },
    )
    texts: dict[Path, str] = {}

    def reader(path: Path) -> str | None:
        return texts.get(path) or (path.read_text() if path.is_file() else None)

    project = Project([tmp_path], reader=reader)
    assert codes(check(tmp_path, "train.py", project)) == ["TM101"]
    parsed = project.files_parsed
    # Unchanged: served from the cache.
    assert codes(check(tmp_path, "train.py", project)) == ["TM101"]
    assert project.files_parsed == parsed
    helpers = (tmp_path / "helpers.py").resolve()
    texts[helpers] = "def switch(model):\n    model.eval()\n    model.train()\n"
    stale = project.changed(helpers, texts[helpers])
    assert {path.name for path in stale} == {"engine.py", "train.py"}
    assert codes(check(tmp_path, "train.py", project)) == []
    # The same text again changes nothing.
    assert project.changed(helpers, texts[helpers]) == set()


def test_file_budget_degrades_to_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchmode.analysis.project as project_module

    monkeypatch.setattr(project_module, "MAX_FILES_PER_CHECK", 0)
    write(tmp_path, {"engine.py": EVALUATE, "train.py": train_loop("from engine import evaluate")})
    assert codes(check(tmp_path, "train.py")) == []


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en", "(engine.py, line 5, in `evaluate`)"), ("zh-cn", "(engine.py 第 5 行,位于 `evaluate`)")],
)
def test_state_hover_names_the_other_file(tmp_path: Path, locale: str, expected: str) -> None:
    from torchmode.engine import Settings, hover_at
    from torchmode.syntax import Position

    write(tmp_path, {"engine.py": EVALUATE, "train.py": train_loop("from engine import evaluate")})
    path = tmp_path / "train.py"
    document = Document(path.read_text(), str(path))
    line = next(number for number, text in enumerate(document.text.splitlines(), 1) if "model(x)" in text)
    column = document.line_text(line).index("model(x)")
    hover = hover_at(document, Position(line, column + 1), Settings(locale=locale), Project([tmp_path]))
    assert hover is not None
    assert expected in hover.markdown


def test_installed_packages_are_read_only_for_calls_that_get_a_model(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    write(site, {"trainlib/__init__.py": "from .loops import evaluate\n", "trainlib/loops.py": EVALUATE})
    workspace = tmp_path / "ws"
    write(
        workspace,
        {
            "train.py": train_loop("from trainlib import evaluate"),
            "other.py": "from trainlib import evaluate\n\nevaluate(1, 2)\n",
        },
    )
    project = Project([workspace], library_paths=[site])
    assert codes(check(workspace, "train.py", project)) == ["TM101"]
    # Without the installed package's folder it is unknown.
    assert codes(check(workspace, "train.py", Project([workspace]))) == []
    # A call that gets no model does not read the package at all.
    fresh = Project([workspace], library_paths=[site])
    assert codes(check(workspace, "other.py", fresh)) == []
    assert fresh.files_parsed == 0  # no file read besides the checked one


MODELS = """\
from torch import nn


class Base(nn.Module):
    pass


class LinearNet(Base):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))


class DropoutNet(Base):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 1))


class Wrapper(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = DropoutNet()
"""

SCRIPT = """\
import torch
from models import {name}


def main(loader, val_loader):
    model = {name}()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for epoch in range(3):
        for x, y in loader:
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
        model.eval()
"""


@pytest.mark.parametrize(
    ("name", "severity"),
    [("LinearNet", "hint"), ("DropoutNet", "warning"), ("Wrapper", "warning")],
)
def test_layer_aware_severity_for_a_model_class_from_another_file(
    tmp_path: Path, name: str, severity: str
) -> None:
    write(tmp_path, {"models.py": MODELS, "train.py": SCRIPT.format(name=name)})
    (finding,) = check(tmp_path, "train.py")
    assert (finding.code, finding.severity.value) == ("TM101", severity)


RUN_TRAINER = """

def run(loader, val_loader):
    model = LinearNet()
    Trainer(model, None).fit(loader, val_loader)
"""


def test_evicted_files_over_the_budget_are_unknown_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchmode.analysis.project as project_module

    # Found on the corpus: a definition resolved, its file evicted from the cache, and the
    # check's budget of new files spent before its analyzer was needed.
    monkeypatch.setattr(project_module, "MAX_CACHED_FILES", 1)
    monkeypatch.setattr(project_module, "MAX_FILES_PER_CHECK", 2)
    write(
        tmp_path,
        {
            "base.py": TRAINER.format(restore=""),
            "engine.py": EVALUATE,
            "models.py": MODELS,
            "train.py": train_loop(
                "from engine import evaluate\nfrom base import Trainer\nfrom models import LinearNet"
            )
            + RUN_TRAINER,
        },
    )
    project = Project([tmp_path])
    for _ in range(3):
        check(tmp_path, "train.py", project)  # whatever is found, nothing raises


# --- what exists on disk, cached ---------------------------------------------------------------


def test_a_new_text_keeps_the_file_lookups_a_created_file_clears_them(tmp_path: Path) -> None:
    loop = train_loop("from engine import evaluate")
    write(tmp_path, {"train.py": loop, "train2.py": loop})
    project = Project([tmp_path])
    train = (tmp_path / "train.py").resolve()
    assert codes(check(tmp_path, "train.py", project)) == []
    assert project.module_file("engine", train) is None
    write(tmp_path, {"engine.py": EVALUATE})
    engine = tmp_path / "engine.py"
    # A new text of a file says nothing about which files exist (the server sends one per
    # keystroke): the lookups are kept, so engine.py, created behind the project's back,
    # is not seen yet.
    project.changed(engine, EVALUATE)
    assert project.module_file("engine", train) is None
    # Created (a watched-file event, no text): looked up again, though engine.py was never
    # read and nothing depended on it.
    assert project.changed(engine) == set()
    assert project.module_file("engine", train) == engine.resolve()
    # (train.py's analysis is kept: its text and every file it read are unchanged.)
    assert codes(check(tmp_path, "train2.py", project)) == ["TM101"]
    # Deleted: it stops resolving.
    engine.unlink()
    project.changed(engine)
    assert project.module_file("engine", train) is None


def test_module_files_match_a_search_of_every_root_in_order(tmp_path: Path) -> None:
    """The lookup shared by every folder (the project roots and their ``src``, the library
    paths) answers as the importer's own list of search roots searched one by one, also
    where that list skips a shared root (a root that is the importer's folder has its
    ``src`` skipped) and for modules found in several roots."""
    from torchmode.analysis.project import _file_in

    layout = {
        "a/pyproject.toml": "",
        "a/util.py": "",
        "a/src/lib/__init__.py": "",
        "a/src/lib/core.py": "",
        "a/src/only_src.py": "",
        "a/scripts/run.py": "",
        "a/pkg/__init__.py": "",
        "a/pkg/inner/__init__.py": "",
        "a/pkg/inner/deep.py": "",
        "a/pkg/util.py": "",
        "b/util.py": "",
        "b/ns/part.py": "",  # a namespace package: no __init__.py
        "b/tool.py": "",
        "site/lib/__init__.py": "",
        "site/lib/extra.py": "",
        "site/installed.py": "",
    }
    write(tmp_path, layout)
    project = Project(
        [tmp_path / "a", tmp_path / "b", tmp_path / "a" / "src"], library_paths=[tmp_path / "site"]
    )
    importers = [
        tmp_path / "a" / "train.py",
        tmp_path / "a" / "scripts" / "run.py",
        tmp_path / "a" / "pkg" / "inner" / "deep.py",
        tmp_path / "a" / "src" / "lib" / "core.py",
        tmp_path / "b" / "tool.py",
        tmp_path / "elsewhere" / "x.py",
        None,
    ]
    modules = [
        "util", "lib", "lib.core", "lib.extra", "only_src", "pkg", "pkg.util", "pkg.inner.deep",
        "inner", "inner.deep", "deep", "ns.part", "ns", "tool", "installed", "missing", "missing.sub",
    ]  # fmt: skip
    for library in (False, True):
        for importer in importers:
            for module in modules:
                expected = next(
                    (
                        found
                        for root in project.search_roots(importer, library)
                        if (found := _file_in(root, module)) is not None
                    ),
                    None,
                )
                assert project.module_file(module, importer, library=library) == expected, (
                    importer,
                    module,
                    library,
                )
    # The skipped ``src``: from the root folder itself, ``only_src`` is not found; from a
    # folder below it, it is.
    alone = Project([tmp_path / "a"])
    assert alone.module_file("only_src", tmp_path / "a" / "train.py") is None
    assert alone.module_file("only_src", tmp_path / "a" / "scripts" / "run.py") is not None


def test_torch_through_a_star_import_is_still_torch(tmp_path: Path) -> None:
    """``from helpers import *`` brings in the ``torch`` that helpers imported: its no_grad is
    torch's no_grad (no TM201), and a bare no_grad call is still TM302."""
    write(
        tmp_path,
        {
            "helpers.py": "import torch\nfrom torch import nn\n",
            "predict.py": """\
                from helpers import *


                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.drop = nn.Dropout(0.5)

                    def forward(self, x):
                        return self.drop(x)


                def predict(batches):
                    model = Net()
                    model.load_state_dict(torch.load("w.pt"))
                    model.eval()
                    with torch.no_grad():
                        return [model(x) for x in batches]


                def careless(batches):
                    model = Net()
                    model.load_state_dict(torch.load("w.pt"))
                    model.eval()
                    torch.no_grad()
                    return [model(x) for x in batches]
            """,
        },
    )
    found = [(finding.code, finding.span.start.line) for finding in check(tmp_path, "predict.py")]
    assert found == [("TM302", 25), ("TM201", 26)]  # careless() only: predict() is clean
    # Alone (no project), helpers' names are unknown: their no_grad may be torch's, so predict()
    # stays silent; careless() really runs with grad on (its bare call is unknown as TM302).
    alone = check_document(Document((tmp_path / "predict.py").read_text(), str(tmp_path / "predict.py")))
    assert [(finding.code, finding.span.start.line) for finding in alone.findings] == [("TM201", 26)]


# -- parts a constructor freezes, in another file, built directly or by a factory ----------------

_NETS = """\
import torch
from torch import nn


class Distiller(nn.Module):
    def __init__(self, student, teacher):
        super().__init__()
        self.student = student
        self.teacher = teacher.eval()

    def forward(self, x):
        with torch.no_grad():
            target = self.teacher(x)
        return self.student(x), target


class FrozenStats(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
        self.freeze_bn()

    def freeze_bn(self):
        for module in self.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()

    def forward(self, x):
        return self.body(x)


class Plain(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.shape = shape
        self.body = nn.Linear(4, 4)

    def forward(self, x):
        return self.body(x)


def build(kind):
    if kind == "frozen":
        return FrozenStats()
    return Plain((4, 4))
"""

_FIT = """\
import torch
from nets import {imported}


def fit(loader, student, teacher):
    model = {construction}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for x, y in loader:
        loss = model(x)[0].mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""


@pytest.mark.parametrize(
    ("imported", "construction", "frozen"),
    [
        ("Distiller", "Distiller(student, teacher)", "`model.teacher`"),
        ("FrozenStats", "FrozenStats()", "the sub-modules of `model` set to eval"),
        ("build", 'build("frozen")', "the sub-modules of `model` set to eval"),
    ],
)
def test_train_undoes_a_freeze_made_by_a_constructor_in_another_file(
    tmp_path: Path, imported: str, construction: str, frozen: str
) -> None:
    write(tmp_path, {"nets.py": _NETS, "fit.py": _FIT.format(imported=imported, construction=construction)})
    findings = [finding for finding in check(tmp_path, "fit.py") if finding.code == "TM103"]
    assert [finding.span.start.line for finding in findings] == [8]  # model.train()
    assert frozen in findings[0].message and construction in findings[0].message
    # Where the freeze runs is shown beside the finding, in the other file.
    assert any(related.path.endswith("nets.py") for related in findings[0].related)


def test_a_constructor_that_freezes_nothing_leaves_train_alone(tmp_path: Path) -> None:
    write(tmp_path, {"nets.py": _NETS, "fit.py": _FIT.format(imported="Plain", construction="Plain((4, 4))")})
    assert not [finding for finding in check(tmp_path, "fit.py") if finding.code == "TM103"]


# -- installed packages: their decorators say what grad mode their functions run in ------------

_INSTALLED = """\
import torch


@torch.no_grad()
def sample(model, x):
    return model(x)


def sample_with_grad(model, x):
    return model(x)
"""

_INFERENCE = """\
import torch
from samplers import {function}

model = torch.nn.Linear(2, 2)
model.load_state_dict(torch.load("weights.pt"))
model.eval()
out = {function}(model, torch.randn(1, 2))
print(out)
"""


@pytest.mark.parametrize(("function", "reported"), [("sample", False), ("sample_with_grad", True)])
def test_an_installed_function_decorated_with_no_grad_runs_the_model_without_grad(
    tmp_path: Path, function: str, reported: bool
) -> None:
    site = tmp_path / "site-packages"
    write(site, {"samplers/__init__.py": _INSTALLED})
    write(tmp_path / "project", {"run.py": _INFERENCE.format(function=function)})
    project = Project([tmp_path / "project"], library_paths=[site])
    codes = [finding.code for finding in check(tmp_path / "project", "run.py", project)]
    assert ("TM201" in codes) is reported


def test_a_diffusers_pipeline_is_no_module_to_evaluate(tmp_path: Path) -> None:
    # DiffusionPipeline holds modules but is not one, and its __call__ runs under no_grad.
    script = (
        "from diffusers import StableDiffusionPipeline\n"
        'pipe = StableDiffusionPipeline.from_pretrained("sd-model")\n'
        'image = pipe("an astronaut riding a horse").images[0]\n'
        'image.save("astronaut.png")\n'
    )
    write(tmp_path, {"generate.py": script})
    assert check(tmp_path, "generate.py") == []
    # A diffusers model (an nn.Module) loaded the same way and run with autograd on is reported.
    unet = script.replace("StableDiffusionPipeline", "UNet2DModel").replace(
        'pipe("an astronaut riding a horse").images[0]', "pipe(noise, timestep).sample"
    )
    write(tmp_path, {"generate.py": unet})
    assert [finding.code for finding in check(tmp_path, "generate.py")] == ["TM201"]
