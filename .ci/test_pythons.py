#!/usr/bin/env python3
"""`make test-pythons`: the test suite on each supported Python other than the main one.

torchmode supports Python 3.10 to 3.13. `make test` runs everything on the main interpreter
(`.venv`); this runs pytest again on every other version, each in its own `.venv-3.X`
(gitignored), created on first use and reinstalled only when pyproject.toml changes.

Interpreters are found as `python3.X` on PATH, else in pyenv's versions folder (pyenv's shims
refuse a version that is not selected). A version that cannot be found fails the run.

Left out on these versions, because they already run once in `make test` and add time more
than coverage here: the real-editor tests (tests/editors: VS Code and Neovim talk to one
server whatever Python it is on), the pre-commit hook test (pre-commit builds its own
environment), the registry corpus (tests/realworld: minutes per run, through the same engine
code the case files and the fuzz tests exercise on every version), the benchmark scripts'
smoke test (tests/bench: tooling, timing-sensitive when three runs share two cores), and the
docs/robustness.md table check (the table quotes the main interpreter's messages; its no-crash
twin still runs).

torch is not installed on these versions unless TORCHMODE_PYTHONS_WITH_TORCH=1: the tests that
run real PyTorch (TORCH_TESTS below) run on the main interpreter in `make test`, and on PyPI the
Linux wheel of torch==2.13.0 for these versions is the CUDA build, about 4 GB per environment
downloaded on every fresh CI machine. With the variable set it is installed (it runs on the CPU;
all four versions pass); when it does not install or import, those tests are left out on that
version and the reason is printed. Everything else runs on every version.

Installs run in parallel (they wait on the network), and so do the test runs (--jobs, default
all): a run mostly waits on the processes it starts (CLI, language server, torch), so on two
cores three runs at once take less time than two then one. Each run's full output is in
.venv-3.X/pytest.log; a failing run's tail is printed. The last line totals the runs in
pytest's words ("N passed, N failed").

Usage: .ci/test_pythons.py [--jobs N] [VERSION ...] [-- PYTEST_ARGS ...]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the runner itself may run on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
# Not repeated on the other versions (see the module docstring).
LEFT_OUT = [
    "--ignore=tests/editors",
    "--ignore=tests/cli/test_pre_commit_hook.py",
    "--ignore=tests/realworld",
    "--ignore=tests/bench",
    "--deselect=tests/robustness/test_bad_input.py::test_docs_table_matches_observed_behaviour",
]
# Tests that run real PyTorch; the rest of the suite needs no torch.
TORCH_TESTS = ("tests/runtime", "tests/programs/test_programs_under_torch.py")
SUMMARY = re.compile(r"^=* ?(?P<text>(\d+ \w+(, )?)+ in [\d.]+s.*?) ?=*$")
COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|deselected|xfailed|xpassed)")
# `pip install -e .` writes server/torchmode.egg-info in the shared source tree: one at a time.
EDITABLE_LOCK = threading.Lock()
PRINT_LOCK = threading.Lock()


def say(text: str) -> None:
    with PRINT_LOCK:
        print(text, flush=True)


@dataclass
class Run:
    version: str
    python: Path | None = None
    venv: Path = field(init=False)
    status: str = "pending"  # ok | failed | error
    detail: str = ""
    torch_note: str = ""
    install_seconds: float = 0.0
    test_seconds: float = 0.0
    summary: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.venv = ROOT / f".venv-{self.version}"

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def log(self) -> Path:
        return self.venv / "pytest.log"


def find_interpreter(version: str) -> Path | None:
    """``python3.X`` on PATH if it runs, else the newest pyenv install of 3.X."""
    name = f"python{version}"
    candidates: list[Path] = []
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    installs = sorted(
        (pyenv_root / "versions").glob(f"{version}.*"),
        key=lambda path: [int(part) if part.isdigit() else -1 for part in path.name.split(".")],
        reverse=True,
    )
    candidates.extend(install / "bin" / name for install in installs)
    for candidate in candidates:
        try:
            done = subprocess.run(
                [str(candidate), "-c", "import sys, venv, ensurepip; print(sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip() == str(tuple(map(int, version.split(".")))):
            return candidate
    return None


def requirements() -> tuple[list[str], str]:
    """The package's dependencies plus its ``test`` extra, and a checksum of pyproject.toml."""
    data = (ROOT / "pyproject.toml").read_bytes()
    project = tomllib.loads(data.decode("utf-8"))["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return requirements, hashlib.sha256(data).hexdigest()[:16]


def is_torch(requirement: str) -> bool:
    return re.match(r"torch\b(?![-_.\w])", requirement.strip()) is not None


def pip(run: Run, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(run.bin / "python"), "-m", "pip", "install", "--progress-bar", "off", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def last_lines(text: str, count: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-count:])


def install(run: Run, needed: list[str], checksum: str) -> None:
    started = time.monotonic()
    stamp = run.venv / f".torchmode-setup-{checksum}"
    try:
        if stamp.exists():
            return
        if run.python is None:
            return
        if run.venv.exists():
            shutil.rmtree(run.venv)
        say(f"{run.version}: creating {run.venv.name} with {run.python} and installing the test dependencies")
        subprocess.run([str(run.python), "-m", "venv", str(run.venv)], check=True, capture_output=True)
        done = pip(run, *needed)
        if done.returncode != 0:
            without_torch = [requirement for requirement in needed if not is_torch(requirement)]
            say(
                f"{run.version}: installing with torch failed; retrying without it "
                f"(pip said: {last_lines(done.stdout + done.stderr, 3)})"
            )
            done = pip(run, *without_torch)
            if done.returncode != 0:
                run.status = "error"
                run.detail = "pip install failed:\n" + last_lines(done.stdout + done.stderr)
                return
        with EDITABLE_LOCK:
            done = pip(run, "--no-deps", "-e", ".")
        if done.returncode != 0:
            run.status = "error"
            run.detail = "pip install -e . failed:\n" + last_lines(done.stdout + done.stderr)
            return
        stamp.touch()
    finally:
        run.install_seconds = time.monotonic() - started


def torch_problem(run: Run) -> str | None:
    """None if torch imports in the run's environment, else why not."""
    done = subprocess.run(
        [str(run.bin / "python"), "-c", "import torch"], capture_output=True, text=True, cwd="/"
    )
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"import torch exited with {done.returncode}"


def test(run: Run, pytest_args: list[str]) -> None:
    if run.status == "error" or run.python is None:
        return
    args = [*LEFT_OUT]
    problem = torch_problem(run)
    if problem is not None:
        args.extend(f"--ignore={path}" for path in TORCH_TESTS)
        run.torch_note = f"{', '.join(TORCH_TESTS)} not run: torch is not importable here ({problem})"
        say(f"{run.version}: {run.torch_note}")
    say(f"{run.version}: running pytest")
    started = time.monotonic()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("VIRTUAL_ENV", None)
    with run.log.open("w") as log:
        done = subprocess.run(
            [str(run.bin / "python"), "-m", "pytest", "-p", "no:cacheprovider", *args, *pytest_args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env=env,
        )
    run.test_seconds = time.monotonic() - started
    output = run.log.read_text(errors="replace")
    for line in reversed(output.splitlines()):
        match = SUMMARY.match(line.strip())
        if match:
            run.summary = match.group("text")
            break
    for number, word in COUNT.findall(run.summary):
        key = "errors" if word.startswith("error") else word
        run.counts[key] = run.counts.get(key, 0) + int(number)
    if done.returncode == 0:
        run.status = "ok"
    else:
        run.status = "failed"
        run.detail = f"pytest exited with {done.returncode}; the end of {run.log.relative_to(ROOT)}:\n"
        run.detail += last_lines(output, 40)
    say(f"{run.version}: {run.summary or 'no summary'} ({run.status}, {run.test_seconds:.0f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("versions", nargs="*", help=f"default: {' '.join(SUPPORTED)} except the main one")
    parser.add_argument("--jobs", type=int, default=0, help="test runs at a time (default: all)")
    parser.add_argument(
        "--main",
        default=f"{sys.version_info.major}.{sys.version_info.minor}",
        help="the version `make test` covers, skipped (default: this interpreter's)",
    )
    argv = sys.argv[1:]
    pytest_args: list[str] = []
    if "--" in argv:
        index = argv.index("--")
        argv, pytest_args = argv[:index], argv[index + 1 :]
    options = parser.parse_args(argv)
    versions = options.versions or [version for version in SUPPORTED if version != options.main]
    if options.main in SUPPORTED and not options.versions:
        say(f"{options.main}: covered by `make test` (.venv), not repeated")

    needed, checksum = requirements()
    if os.environ.get("TORCHMODE_PYTHONS_WITH_TORCH") != "1":
        needed = [requirement for requirement in needed if not is_torch(requirement)]
        checksum += "-no-torch"
    runs = [Run(version) for version in versions]
    started = time.monotonic()
    for run in runs:
        run.python = find_interpreter(run.version)
        if run.python is None:
            run.status = "error"
            run.detail = (
                f"no Python {run.version} found (neither python{run.version} on PATH "
                "nor a pyenv install of it)"
            )
    with ThreadPoolExecutor(max_workers=len(runs) or 1) as pool:
        list(pool.map(lambda run: install(run, needed, checksum), runs))
    jobs = options.jobs if options.jobs > 0 else max(1, len(runs))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(lambda run: test(run, pytest_args), runs))
    elapsed = time.monotonic() - started

    print("\nPython versions (`make test-pythons`):")
    for run in runs:
        where = f" {run.python}" if run.python else ""
        print(
            f"  {run.version}: {run.status.upper():6}  (install {run.install_seconds:.0f} s, "
            f"tests {run.test_seconds:.0f} s)  {run.summary or '-'}  [{where.strip()}]"
        )
        if run.torch_note:
            print(f"      {run.torch_note}")
    for run in runs:
        if run.detail:
            print(f"\n--- {run.version}: {run.detail}")
    print(f"\ntotal {elapsed:.0f} s with {jobs} test run(s) at a time")
    totals: dict[str, int] = {}
    for run in runs:
        for key, value in run.counts.items():
            totals[key] = totals.get(key, 0) + value
    failed = totals.get("failed", 0) + totals.get("errors", 0)
    line = f"test-pythons: {totals.get('passed', 0)} passed, {failed} failed"
    if totals.get("skipped"):
        line += f", {totals['skipped']} skipped"
    print(line)
    return 0 if runs and all(run.status == "ok" for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
