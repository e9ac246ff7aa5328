"""``.pre-commit-hooks.yaml``: valid for pre-commit, and the hooks work when pre-commit installs them.

The second part is the real thing: ``pre-commit try-repo`` builds a virtualenv,
pip-installs torchmode from a git repository made of this working tree, and runs
the hooks on a small project. It needs git and the package registry, as CI has.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cli_helpers import ROOT, SEED

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

MANIFEST = ROOT / ".pre-commit-hooks.yaml"


def hooks() -> dict[str, dict[str, object]]:
    entries = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(entries, list)
    return {entry["id"]: entry for entry in entries}


def test_manifest_declares_the_check_and_fix_hooks() -> None:
    declared = hooks()
    assert set(declared) == {"torchmode", "torchmode-fix"}
    assert declared["torchmode"]["entry"] == "torchmode check"
    assert declared["torchmode-fix"]["entry"] == "torchmode check --fix"
    for hook in declared.values():
        assert hook["language"] == "python"
        assert hook["types"] == ["python"]
        assert hook["name"] and hook["description"]
    # The entry's command is the console script the package installs.
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["torchmode"] == "torchmode.cli:main"


def test_manifest_passes_pre_commits_own_validation() -> None:
    from pre_commit.clientlib import load_manifest

    loaded = load_manifest(str(MANIFEST))
    assert [hook["id"] for hook in loaded] == ["torchmode", "torchmode-fix"]


# --- the hooks installed by pre-commit ----------------------------------------------------------

GIT = shutil.which("git")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "torchmode tests",
    "GIT_AUTHOR_EMAIL": "tests@torchmode.invalid",
    "GIT_COMMITTER_NAME": "torchmode tests",
    "GIT_COMMITTER_EMAIL": "tests@torchmode.invalid",
    # The developer's own git configuration (hooks, signing) must not interfere.
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        [GIT or "git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A git repository holding what pip needs to install torchmode, plus the manifest.

    A copy rather than this checkout: try-repo only sees committed and tracked
    changes, and a test must not stage anything in the developer's repository.
    """
    if GIT is None:
        pytest.skip("git is not installed")
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, repo / name)
    shutil.copytree(
        ROOT / "server",
        repo / "server",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "torchmode", cwd=repo)
    # Shared by the tests of this module: the hook environment is built once.
    yield repo, tmp_path_factory.mktemp("pre-commit-home")


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    git("init", "-q", cwd=folder)
    git("add", "-A", cwd=folder)
    return folder


def try_repo(hook_repo: tuple[Path, Path], folder: Path, hook: str) -> subprocess.CompletedProcess[str]:
    repo, home = hook_repo
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(repo), hook, "--all-files", "--color", "never"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home)},
    )


def test_check_hook_fails_on_findings(hook_repo: tuple[Path, Path], tmp_path: Path) -> None:
    folder = project(tmp_path, {"seed_loop.py": SEED.read_text(encoding="utf-8"), "ok.py": "x = 1\n"})
    result = try_repo(hook_repo, folder, "torchmode")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "torchmode" in result.stdout and "Failed" in result.stdout
    assert "seed_loop.py:" in result.stdout and "TM101" in result.stdout


def test_check_hook_passes_a_clean_project_with_its_configuration(
    hook_repo: tuple[Path, Path], tmp_path: Path
) -> None:
    folder = project(
        tmp_path,
        {
            "seed_loop.py": SEED.read_text(encoding="utf-8"),
            # The hook reads the project's own table, like the command line does.
            "pyproject.toml": '[tool.torchmode]\nselect = ["TM1"]\nignore = ["TM101"]\n',
        },
    )
    result = try_repo(hook_repo, folder, "torchmode")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout


def test_fix_hook_rewrites_the_file(hook_repo: tuple[Path, Path], tmp_path: Path) -> None:
    folder = project(
        tmp_path,
        {
            "seed_loop.py": SEED.read_text(encoding="utf-8"),
            "pyproject.toml": '[tool.torchmode]\nselect = ["TM101"]\n',
        },
    )
    result = try_repo(hook_repo, folder, "torchmode-fix")
    # pre-commit fails a hook that modified files, so the user reviews the change.
    assert result.returncode == 1, result.stdout + result.stderr
    assert "files were modified by this hook" in result.stdout
    fixed = (folder / "seed_loop.py").read_text(encoding="utf-8")
    assert fixed != SEED.read_text(encoding="utf-8")
    assert "        model.train()\n" in fixed
