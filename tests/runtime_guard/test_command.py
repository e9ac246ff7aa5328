"""``torchmode run`` as a user runs it: the real console script in a fresh process.

What the program sees and shows must be its own: stdout byte for byte, ``sys.argv``,
``__file__``, ``sys.path[0]``, ``__name__``, its exception (traceback from its own first
frame) and its exit status. The guard speaks on stderr only, and writes the report
under the project root with a ``.gitignore`` beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from guard_helpers import PROGRAMS

from support.checkout import checkout_env, torchmode_command

INTROSPECT = """\
import sys, torch
print(repr(sys.argv))
print(repr(__file__))
print(repr(sys.path[0]))
print(__name__, __spec__ is None)
print("ünïcode ✓")
sys.stdout.write("no newline at the end")
"""

FAILING = """\
import torch
from torch import nn


def broken(model):
    model.eval()
    raise ValueError("the program's own error")


broken(nn.Dropout(0.5))
"""


def _run(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        arguments, cwd=cwd, env=checkout_env(), capture_output=True, timeout=300, check=False
    )


def test_program_sees_what_python_gives_it_and_its_stdout_is_byte_identical(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    (project / "scripts" / "introspect.py").write_text(INTROSPECT, encoding="utf-8")

    plain = _run([sys.executable, "scripts/introspect.py", "--lr", "3", "-m", "x"], project)
    guarded = _run([*torchmode_command(), "run", "scripts/introspect.py", "--lr", "3", "-m", "x"], project)

    assert plain.returncode == guarded.returncode == 0
    assert guarded.stdout == plain.stdout
    assert b"['scripts/introspect.py', '--lr', '3', '-m', 'x']" in plain.stdout
    assert guarded.stderr.decode().startswith("torchmode: nothing observed in 0 optimizer steps")
    report = project / ".torchmode" / "runtime.json"
    assert json.loads(report.read_text(encoding="utf-8"))["findings"] == []
    assert (project / ".torchmode" / ".gitignore").read_text(encoding="utf-8") == "*\n"


def test_a_failing_program_keeps_its_traceback_and_exit_status(tmp_path: Path) -> None:
    (tmp_path / "fails.py").write_text(FAILING, encoding="utf-8")
    (tmp_path / "exits.py").write_text("import sys\nprint('bye')\nsys.exit(3)\n", encoding="utf-8")
    (tmp_path / "message.py").write_text("raise SystemExit('stopped: bad config')\n", encoding="utf-8")

    plain = _run([sys.executable, "fails.py"], tmp_path)
    guarded = _run([*torchmode_command(), "run", "fails.py"], tmp_path)
    assert plain.returncode == guarded.returncode == 1
    assert plain.stdout == guarded.stdout == b""
    # The same traceback, from the program's first frame; then the guard's summary line.
    assert guarded.stderr.decode().startswith(plain.stderr.decode())
    assert "runpy" not in guarded.stderr.decode() and "command.py" not in guarded.stderr.decode()
    assert (tmp_path / ".torchmode" / "runtime.json").exists()  # written even so

    for script, status in (("exits.py", 3), ("message.py", 1)):
        plain = _run([sys.executable, script], tmp_path)
        guarded = _run([*torchmode_command(), "run", "--report", "r.json", script], tmp_path)
        assert plain.returncode == guarded.returncode == status
        assert plain.stdout == guarded.stdout
        assert guarded.stderr.decode().startswith(plain.stderr.decode())


def test_module_mode_json_format_and_a_finding_on_stderr_only(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "common.py").write_text((PROGRAMS / "common.py").read_text(encoding="utf-8"), encoding="utf-8")
    seed = (PROGRAMS / "seed_loop.py").read_text(encoding="utf-8").replace("from common", "from pkg.common")
    (package / "train.py").write_text(seed, encoding="utf-8")

    plain = _run([sys.executable, "-m", "pkg.train"], tmp_path)
    guarded = _run(
        [*torchmode_command(), "run", "--format", "json", "--report", "out/r.json", "-m", "pkg.train"],
        tmp_path,
    )
    assert plain.returncode == guarded.returncode == 0
    assert guarded.stdout == plain.stdout
    printed = json.loads(guarded.stderr)  # --format json: stderr is exactly the findings, as JSON
    written = json.loads((tmp_path / "out" / "r.json").read_text(encoding="utf-8"))
    assert [item["code"] for item in printed] == ["TM101"]
    assert printed == written["findings"]
    finding = printed[0]
    assert finding["filename"] == str(package / "train.py")
    assert finding["location"]["row"] == 20 and finding["related"][0]["location"]["row"] == 9
    assert finding["count"] == 6 and (finding["first_seen_step"], finding["last_seen_step"]) == (4, 12)
    assert written["steps"] == 12 and written["command"] == ["-m pkg.train"]


def test_usage_errors_and_a_missing_script(tmp_path: Path) -> None:
    missing = _run([*torchmode_command(), "run", "nowhere.py"], tmp_path)
    assert missing.returncode == 2 and b"can't open file" in missing.stderr
    for arguments in (["run"], ["run", "--select", "TM999", "x.py"], ["run", "--format", "xml", "x.py"]):
        result = _run([*torchmode_command(), *arguments], tmp_path)
        assert result.returncode == 2, arguments
        assert result.stdout == b""
    assert not (tmp_path / ".torchmode").exists()
    helped = _run([*torchmode_command(), "run", "--help"], tmp_path)
    assert helped.returncode == 0 and b"SCRIPT | -m MODULE" in helped.stdout
    listed = _run([*torchmode_command(), "--help"], tmp_path)
    assert b"run" in listed.stdout and listed.returncode == 0


def test_environment_of_the_checkout() -> None:
    # The processes above import this checkout's torchmode, not another install.
    assert os.path.isdir(checkout_env()["PYTHONPATH"].split(os.pathsep)[0])
