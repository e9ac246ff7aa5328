"""``bench/jedi_resolution.py`` runs on a tiny project and writes well-formed figures (no timing asserted).

The project imports from ``fakelib``, a package that is not in it, as an installed package
would be: a class deriving from ``torch.nn.Module`` through a base of its own, a plain class,
a function that builds the module, and a function a model is handed to (it switches the
model to eval, inside a training loop: a finding once jedi says what it is). torchmode's table
knows none of them, so each is a give-up site; jedi (pinned, alone in its venv under the
bench cache: ``--bare``, installed from the package index as the other peers are) sees
``fakelib`` and a stub ``torch`` beside the project and settles them. The stub keeps the
test to seconds: it is the name jedi finds, ``torch.nn.modules.module.Module``, that counts.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from support.checkout import checkout_env

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"

FILES = {
    "app/train.py": """
        import torch
        from fakelib import Block, Plain, export, make_block


        def run(loader, optimizer):
            net = Block()
            helper = Plain()
            built = make_block()
            net.train()
            for x in loader:
                loss = net(x).sum()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                export(net)
            return helper, built
    """,
    "site/fakelib/__init__.py": """
        from fakelib.layers import Block, Plain, export, make_block
    """,
    "site/fakelib/layers.py": """
        from torch import nn


        class Base(nn.Module):
            pass


        class Block(Base):
            def forward(self, x):
                return x


        class Plain:
            pass


        def make_block():
            return Block()


        def export(model):
            model.eval()
    """,
    "site/torch/__init__.py": "",
    "site/torch/nn/__init__.py": """
        from torch.nn.modules.module import Module
    """,
    "site/torch/nn/modules/__init__.py": "",
    "site/torch/nn/modules/module.py": """
        class Module:
            def eval(self):
                return self
    """,
}


def write_project(folder: Path) -> None:
    for name, text in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def test_jedi_resolution_runs_and_its_report_renders(tmp_path: Path) -> None:
    write_project(tmp_path)
    out = tmp_path / "jedi.json"
    command = [
        sys.executable,
        str(BENCH / "jedi_resolution.py"),
        "--bare",
        "--files",
        str(tmp_path / "app"),
        str(tmp_path / "site"),
        "--json",
        str(out),
    ]
    completed = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env=checkout_env(), timeout=600, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    figures = json.loads(out.read_text(encoding="utf-8"))

    assert figures["files"] == len(FILES) and figures["projects"] == 2
    keys = {answer["key"]: answer for answer in figures["answers"]}
    assert keys["fakelib.Block"]["outcome"] == "module"
    assert keys["fakelib.Plain"]["outcome"] == "not a module"
    assert keys["fakelib.make_block"]["outcome"] == "function"
    assert keys["fakelib.make_block"]["returns"] == "module"
    assert keys["fakelib.export"]["outcome"] == "function" and "call" in keys["fakelib.export"]["reasons"]
    assert figures["settled_questions"] == figures["questions"] == len(keys)
    assert figures["settled_kinds"] == {"module": 2, "other": 1}
    assert figures["settled_functions"] == 1
    # ``export(net)`` in the loop, once jedi says which function it is, leaves ``net`` in eval.
    assert [(Path(path).name, line, code) for path, line, _, code, _ in figures["findings_added"]] == [
        ("train.py", 11, "TM101")
    ]
    assert figures["findings_removed"] == [] and figures["findings"] == 0
    assert figures["wall"]["first"] > 0 and figures["cpu"]["total"] > 0
    assert figures["jedi_wall"] > 0 and figures["torchmode_cpu"] > 0 and figures["jedi_peak_rss_mb"] > 10
    assert "settled" in completed.stdout and "jedi in all" in completed.stdout

    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    run_all = importlib.import_module("run_all")
    benchlib = importlib.import_module("benchlib")
    report = run_all.render({"jedi": figures}, [], benchlib.machine_info(), [0.0] * 3, 1.0, "make bench")
    section = report.split("## 9. jedi", 1)[1]
    assert "| a module (`torch.nn.Module` among its bases) | 1 | 1 |" in section
    assert "| jedi / torchmode |" in section
    summary = report.split("## Summary", 1)[1].split("\n## ", 1)[0]
    assert any(line.startswith("| 9. jedi") and line.count("|") == 5 for line in summary.splitlines())


def test_an_unresolved_name_is_told_apart_by_whether_its_package_is_there(tmp_path: Path) -> None:
    (tmp_path / "site" / "present").mkdir(parents=True)
    (tmp_path / "site" / "single.py").write_text("", encoding="utf-8")
    (tmp_path / "site" / "present-1.0.dist-info").mkdir()
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    jedi_resolution = importlib.import_module("jedi_resolution")
    installed = jedi_resolution.package_finder([tmp_path / "site", tmp_path / "absent"])
    classify = jedi_resolution.classify
    assert classify({"kind": "unresolved"}, installed, "present.layers.Block") == "unresolved"
    assert classify({"kind": "unresolved"}, installed, "single.helper") == "unresolved"
    assert classify({"kind": "unresolved"}, installed, "missing.Block") == "package not installed"
    assert classify({"kind": "module"}, installed, "missing.Block") == "module"
    assert classify({"kind": "other"}, installed, "present.Plain") == "not a module"
