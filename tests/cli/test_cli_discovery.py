"""Which files `torchmode check` looks at: recursion, default and --exclude skips, .gitignore."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from cli_helpers import RunCli

from torchmode.cli import common
from torchmode.cli.common import Problems
from torchmode.files.discovery import Discovery, ExcludeGlob, IgnorePattern

pytestmark = pytest.mark.usefixtures("fake_engine")


def tree(root: Path, *files: str) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("leak()\n" if name.endswith(".py") else "x\n")


def found(*paths: str, excludes: tuple[str, ...] = (), gitignore: bool = True) -> list[str]:
    problems = Problems(io.StringIO())
    discovery = Discovery([ExcludeGlob(glob) for glob in excludes], gitignore, problems)
    return [path.as_posix() for path in discovery.files(list(paths))]


def test_recursion_skips_default_and_hidden_folders(tmp_path: Path) -> None:
    tree(
        tmp_path,
        "a.py",
        "notes.txt",
        "pkg/b.py",
        "pkg/sub/c.py",
        ".git/hooks/h.py",
        ".venv/lib/v.py",
        "venv/lib/v.py",
        "node_modules/x/n.py",
        "pkg/__pycache__/b.py",
        "build/lib/b.py",
        "dist/d.py",
        ".hidden/h.py",
        ".dotfile.py",
    )
    assert found(".") == [".dotfile.py", "a.py", "pkg/b.py", "pkg/sub/c.py"]


def test_a_folder_named_explicitly_is_walked_even_if_it_would_be_skipped(tmp_path: Path) -> None:
    tree(tmp_path, "build/gen.py", "build/.cache/x.py")
    assert found("build") == ["build/gen.py"]


def test_exclude_by_name_and_by_relative_path(tmp_path: Path) -> None:
    tree(
        tmp_path,
        "a.py",
        "legacy/old.py",
        "pkg/legacy/old.py",
        "pkg/gen_x.py",
        "pkg/keep.py",
        "other/gen_y.py",
    )
    assert found(".", excludes=("legacy",)) == ["a.py", "other/gen_y.py", "pkg/gen_x.py", "pkg/keep.py"]
    assert found(".", excludes=("gen_*.py",)) == ["a.py", "legacy/old.py", "pkg/keep.py", "pkg/legacy/old.py"]
    assert found(".", excludes=("pkg/*.py",)) == [
        "a.py",
        "legacy/old.py",
        "other/gen_y.py",
        "pkg/legacy/old.py",
    ]
    assert found(".", excludes=("pkg/**",)) == ["a.py", "legacy/old.py", "other/gen_y.py"]
    assert found(".", excludes=("legacy/",)) == ["a.py", "other/gen_y.py", "pkg/gen_x.py", "pkg/keep.py"]


def test_a_file_named_explicitly_is_checked_despite_excludes(tmp_path: Path) -> None:
    tree(tmp_path, "legacy/old.py", "build/x.py")
    assert found("legacy/old.py", "build/x.py", excludes=("legacy",)) == ["legacy/old.py", "build/x.py"]


def test_gitignore_patterns(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text(
        "# generated\n*_pb2.py\n/top_only.py\ndata/\n!keep_pb2.py\nsub/deep/*.py\n**/cache/**\n"
    )
    tree(
        tmp_path,
        "a.py",
        "msg_pb2.py",
        "keep_pb2.py",
        "top_only.py",
        "pkg/top_only.py",
        "pkg/data/d.py",
        "data.py",
        "sub/deep/x.py",
        "sub/deep/more/y.py",
        "x/cache/z.py",
    )
    assert found(".") == ["a.py", "data.py", "keep_pb2.py", "pkg/top_only.py", "sub/deep/more/y.py"]
    assert len(found(".", gitignore=False)) == 10


def test_nested_gitignore_overrides_the_outer_one(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("gen_*.py\n")
    tree(tmp_path, "gen_a.py", "pkg/gen_b.py", "pkg/c.py")
    (tmp_path / "pkg" / ".gitignore").write_text("!gen_b.py\nc.py\n")
    assert found(".") == ["pkg/gen_b.py"]


def test_gitignore_above_the_walked_folder_counts_inside_a_git_work_tree(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("gen_*.py\n")
    tree(tmp_path, "src/gen_a.py", "src/b.py")
    assert found("src") == ["src/b.py"]


def test_gitignore_above_is_ignored_outside_a_git_work_tree(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("gen_*.py\n")
    tree(tmp_path, "src/gen_a.py", "src/b.py")
    assert found("src") == ["src/b.py", "src/gen_a.py"]


def test_each_file_is_checked_once(tmp_path: Path) -> None:
    tree(tmp_path, "a.py", "pkg/b.py")
    assert found(".", "a.py", "pkg", "./pkg/b.py") == ["a.py", "pkg/b.py"]


@pytest.mark.parametrize(
    ("line", "relative", "is_dir", "expected"),
    [
        ("*.py", "a/b.py", False, True),
        ("/*.py", "a/b.py", False, False),
        ("/*.py", "b.py", False, True),
        ("a/*.py", "a/b.py", False, True),
        ("a/*.py", "a/c/b.py", False, False),
        ("a/**/b.py", "a/x/y/b.py", False, True),
        ("a/**/b.py", "a/b.py", False, True),
        ("build/", "build", False, False),
        ("build/", "build", True, True),
        ("b?.py", "bc.py", False, True),
        ("b[0-9].py", "b7.py", False, True),
        ("b[!0-9].py", "b7.py", False, False),
        ("\\#x.py", "#x.py", False, True),
        ("trailing.py   ", "trailing.py", False, True),
    ],
)
def test_gitignore_pattern_syntax(line: str, relative: str, is_dir: bool, expected: bool) -> None:
    pattern = IgnorePattern.parse(line)
    assert pattern is not None
    assert pattern.matches(relative, relative.rsplit("/", 1)[-1], is_dir) is expected


@pytest.mark.parametrize("line", ["", "   ", "# comment", "/"])
def test_gitignore_lines_without_pattern(line: str) -> None:
    assert IgnorePattern.parse(line) is None


def test_cli_recursion_with_excluded_folder(run: RunCli, tmp_path: Path) -> None:
    tree(tmp_path, "proj/a.py", "proj/vendored/b.py", "proj/pkg/c.py", "proj/.venv/d.py")
    result = run("check", "--exclude", "vendored", "proj")
    assert result.code == 1
    assert [line.split(":")[0] for line in result.out.splitlines() if "TM101" in line] == [
        "proj/a.py",
        "proj/pkg/c.py",
    ]


def test_default_path_is_the_current_folder(run: RunCli, tmp_path: Path) -> None:
    tree(tmp_path, "a.py")
    result = run("check")
    assert result.code == 1
    assert result.out.startswith("a.py:1:1: TM101")


def test_missing_path_is_an_error_but_the_others_are_checked(run: RunCli, tmp_path: Path) -> None:
    tree(tmp_path, "a.py")
    result = run("check", "missing.py", "a.py")
    assert result.code == 2
    assert "torchmode: error: missing.py: No such file or directory" in result.err
    assert "a.py:1:1: TM101" in result.out


def test_broken_symlink_named_explicitly(run: RunCli, tmp_path: Path) -> None:
    (tmp_path / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    result = run("check", "dangling.py")
    assert result.code == 2
    assert "dangling.py: cannot read file" in result.err


def test_folder_without_python_files_warns_and_passes(run: RunCli, tmp_path: Path) -> None:
    tree(tmp_path, "empty/readme.txt")
    result = run("check", "empty")
    assert result.code == 0
    assert "No Python files found" in result.err


def test_paths_outside_the_current_folder_are_shown_as_given(
    run: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree(tmp_path, "proj/a.py", "elsewhere/x")
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = run("check", tmp_path / "proj" / "a.py")
    assert result.out.startswith(f"{tmp_path}/proj/a.py:1:1: TM101")
    assert common.display_path(tmp_path / "elsewhere" / "x") == "x"


def test_includes_answers_for_one_file_what_the_walk_finds(tmp_path: Path) -> None:
    """The language server asks ``includes`` about a file the editor says changed: it must
    agree with the walk (hidden and default-excluded folders, .gitignore, excludes relative
    to the workspace folder)."""
    tree(tmp_path, "a.py", "pkg/b.py", "pkg/gen/c.py", ".hidden/d.py", "build/e.py", "x/y.txt", "nb.ipynb")
    tree(tmp_path, "skip_me.py", "pkg/skip_too.py")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("gen/\n")
    problems = Problems(io.StringIO())
    discovery = Discovery(
        [ExcludeGlob("skip_*.py", tmp_path), ExcludeGlob("pkg/skip_too.py", tmp_path)], True, problems
    )
    walked = set(discovery.files([str(tmp_path)]))
    every_file = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert walked == {path for path in every_file if discovery.includes(path, tmp_path)}
    assert {path.relative_to(tmp_path).as_posix() for path in walked} == {"a.py", "pkg/b.py", "nb.ipynb"}
    assert not discovery.includes(tmp_path.parent / "elsewhere.py", tmp_path)
