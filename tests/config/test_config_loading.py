"""``[tool.torchmode]``: finding the nearest table, validating every key, layering, caching."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Collection
from pathlib import Path

import pytest

from torchmode import config
from torchmode.config import (
    ConfigLayer,
    ConfigLoader,
    load_settings,
    parse_layer,
    resolve_settings,
)
from torchmode.engine import CheckResult, apply_fix_safety
from torchmode.findings import Finding, Fix, Severity
from torchmode.settings import Settings
from torchmode.syntax import Document, Span, TextEdit

# A fixed registry, so these tests do not change as rules are added.
CODES = ("TM101", "TM102", "TM103", "TM201", "TM202", "TM203", "TM301", "TM302", "TM303")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def resolve(file: Path, loader: ConfigLoader | None = None) -> tuple[Settings, list[str], Path | None]:
    resolved = (loader or ConfigLoader(CODES)).resolve_path(file)
    return resolved.settings, [str(problem) for problem in resolved.problems], resolved.config_path


# --- finding the table ----------------------------------------------------------------------


def test_no_pyproject_gives_the_defaults(tmp_path: Path) -> None:
    settings, problems, path = resolve(tmp_path / "a.py")
    assert (settings, problems, path) == (Settings(), [], None)


def test_the_nearest_table_wins_and_others_are_not_merged(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM201"]\nlocale = "zh-cn"\n')
    inner = write(tmp_path / "pkg" / "pyproject.toml", '[tool.torchmode]\nselect = ["TM1"]\n')
    settings, problems, path = resolve(tmp_path / "pkg" / "sub" / "a.py")
    assert path == inner and problems == []
    # Like ruff: the nearest file is the whole configuration; the outer one's keys do not leak in.
    assert settings == Settings(select=("TM1",))
    outer_settings, _, outer_path = resolve(tmp_path / "b.py")
    assert outer_path == tmp_path / "pyproject.toml"
    assert outer_settings == Settings(ignore=("TM201",), locale="zh-cn")


def test_a_pyproject_without_the_table_is_skipped(tmp_path: Path) -> None:
    outer = write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM3"]\n')
    write(tmp_path / "pkg" / "pyproject.toml", '[project]\nname = "pkg"\n\n[tool.ruff]\nline-length = 80\n')
    settings, problems, path = resolve(tmp_path / "pkg" / "a.py")
    assert (settings.ignore, problems, path) == (("TM3",), [], outer)


def test_an_empty_table_counts_and_stops_the_walk(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM3"]\n')
    inner = write(tmp_path / "pkg" / "pyproject.toml", "[tool.torchmode]\n")
    settings, _, path = resolve(tmp_path / "pkg" / "a.py")
    assert (settings, path) == (Settings(), inner)


def test_dotted_keys_and_sub_tables(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """\
        [tool]
        torchmode.ignore = ["TM203"]

        [tool.torchmode.severity]
        TM201 = "hint"
        """,
    )
    settings, problems, _ = resolve(tmp_path / "a.py")
    assert problems == []
    assert settings.ignore == ("TM203",)
    assert settings.severity == (("TM201", Severity.HINT),)


def test_load_settings_uses_the_real_registry(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nselect = ["TM101"]\nlocale = "zh-CN"\n')
    settings, problems = load_settings(tmp_path / "src" / "train.py")
    assert problems == []
    assert (settings.select, settings.locale) == (("TM101",), "zh-cn")


# --- every key ---------------------------------------------------------------------------------


def test_every_key_reaches_the_settings(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """\
        [tool.torchmode]
        select = ["tm1", "TM3"]
        extend-select = ["TM201"]
        ignore = ["TM103"]
        severity = { TM2 = "hint", TM201 = "error", TM301 = "Info" }
        fix-safe = { TM3 = true, TM303 = false }
        eval-names = ["Score", "check"]
        extend-eval-names = ["audit"]
        eval-loader-names = ["holdout"]
        extend-eval-loader-names = ["val"]
        locale = "zh_CN"
        """,
    )
    settings, problems, _ = resolve(tmp_path / "a.py")
    assert problems == []
    assert settings.select == ("TM1", "TM3", "TM201")
    assert settings.ignore == ("TM103",)
    # A longer prefix wins over a shorter one: TM201 error, the rest of TM2 hint.
    assert dict(settings.severity) == {
        "TM201": Severity.ERROR,
        "TM202": Severity.HINT,
        "TM203": Severity.HINT,
        "TM301": Severity.INFORMATION,
    }
    assert dict(settings.fix_safety) == {"TM301": True, "TM302": True, "TM303": False}
    assert settings.eval_names == ("score", "check", "audit")
    assert settings.eval_loader_names == ("holdout", "val")
    assert settings.locale == "zh-cn"


def test_all_selects_every_rule_and_fix_safe_takes_a_list(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nselect = ["ALL"]\nfix-safe = ["TM30"]\n')
    settings, problems, _ = resolve(tmp_path / "a.py")
    assert problems == []
    assert settings.select == ("TM",)
    assert dict(settings.fix_safety) == {"TM301": True, "TM302": True, "TM303": True}


def test_extend_eval_names_keeps_the_defaults(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nextend-eval-names = ["score"]\n')
    settings, _, _ = resolve(tmp_path / "a.py")
    assert settings.eval_names == (*Settings().eval_names, "score")


def test_select_nothing_is_a_choice(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.torchmode]\nselect = []\n")
    settings, problems, _ = resolve(tmp_path / "a.py")
    assert (settings.select, problems) == ((), [])


# --- problems --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fragments"),
    [
        ('select = "TM1"', ["select", "expected a list of rule codes", "got a string 'TM1'"]),
        ('select = ["TM999"]', ["select", "no rule code starts with 'TM999'"]),
        ('select = ["E501"]', ["select", "no rule code starts with 'E501'"]),
        ('ignore = ["TM-1"]', ["ignore", "'TM-1' is not a rule code or prefix"]),
        ("ignore = [101]", ["ignore", "got a number 101"]),
        ('extend-select = "TM2"', ["extend-select", "expected a list"]),
        ('severity = "hint"', ["severity", "expected a table of rule code = value", '{ TM201 = "hint" }']),
        ('severity = { TM201 = "loud" }', ["severity.TM201", "error, warning, information, hint", "'loud'"]),
        ('severity = { TM999 = "hint" }', ["severity.TM999", "no rule code starts with 'TM999'"]),
        ('fix-safe = { TM201 = "yes" }', ["fix-safe.TM201", "expected true", "or false", "'yes'"]),
        ("fix-safe = true", ["fix-safe", "expected a table"]),
        ('eval-names = ["val_step"]', ["eval-names", "'val_step' is not a single word"]),
        ('eval-names = ["val*"]', ["eval-names", "'val*' is not a single word"]),
        ('eval-names = "val"', ["eval-names", "expected a list of words"]),
        ("extend-eval-loader-names = [1]", ["extend-eval-loader-names", "expected a list of words"]),
        ('locale = "fr"', ["locale", "expected one of en, zh-cn", "'fr'"]),
        ("locale = 1", ["locale", "got a number 1"]),
        ('extend_select = ["TM1"]', ["extend_select", "unknown key", "did you mean 'extend-select'?"]),
        ('evalNames = ["x"]', ["evalNames", "unknown key", "did you mean 'eval-names'?"]),
        ('slect = ["TM1"]', ["slect", "unknown key", "did you mean 'select'?"]),
        ("frobnicate = 1", ["frobnicate", "unknown key", "known keys: select, extend-select"]),
    ],
)
def test_a_bad_key_is_one_clear_problem_and_keeps_its_default(
    tmp_path: Path, line: str, fragments: list[str]
) -> None:
    pyproject = write(tmp_path / "pyproject.toml", f'[project]\nname = "x"\n\n[tool.torchmode]\n{line}\n')
    settings, problems, _ = resolve(tmp_path / "a.py")
    assert len(problems) == 1, problems
    (problem,) = problems
    # The file, the line, the table and key, what was expected, and what happens now.
    assert problem.startswith(f"{pyproject}:5: [tool.torchmode] "), problem
    for fragment in fragments:
        assert fragment in problem
    assert "using the" in problem or "ignored" in problem
    assert settings == Settings()


def test_good_keys_still_apply_next_to_bad_ones(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """\
        [tool.torchmode]
        select = ["TM1", "TM999"]
        ignore = ["TM103"]
        severity = { TM101 = "error", TM102 = "loud" }
        """,
    )
    settings, problems, _ = resolve(tmp_path / "a.py")
    assert [problem.split(": ", 1)[1].split(":")[0] for problem in problems] == [
        "[tool.torchmode] select",
        "[tool.torchmode] severity.TM102",
    ]
    assert settings.select == ("TM",)  # the bad list as a whole falls back
    assert settings.ignore == ("TM103",)
    assert settings.severity == (("TM101", Severity.ERROR),)


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    pyproject = write(tmp_path / "pyproject.toml", '[tool.torchmode]\nselect = ["TM1"\nignore = []\n')
    settings, problems, path = resolve(tmp_path / "a.py")
    assert path == pyproject and settings == Settings()
    (problem,) = problems
    assert problem.startswith(f"{pyproject}:3: invalid TOML: ")
    assert "(column " in problem and "the defaults are used" in problem


def test_invalid_toml_of_another_tool_is_not_our_business(tmp_path: Path) -> None:
    outer = write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM3"]\n')
    write(tmp_path / "pkg" / "pyproject.toml", "[tool.black\nline-length = 80\n")
    settings, problems, path = resolve(tmp_path / "pkg" / "a.py")
    assert (settings.ignore, problems, path) == (("TM3",), [], outer)


def test_a_table_that_is_not_a_table(tmp_path: Path) -> None:
    pyproject = write(tmp_path / "pyproject.toml", '[tool]\ntorchmode = "strict"\n')
    settings, problems, _ = resolve(tmp_path / "a.py")
    assert settings == Settings()
    assert problems == [
        f"{pyproject}:2: [tool.torchmode] must be a table (a [tool.torchmode] section), "
        "got a string 'strict'; the defaults are used"
    ]


# --- encodings: TOML files are UTF-8 ----------------------------------------------------------

TABLE_TEXT = '[tool.torchmode]\nignore = ["TM3"]\nlocale = "zh-cn"\n'
IGNORED = "[tool.torchmode] is ignored and the defaults are used"


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_bytes(b"\xef\xbb\xbf" + TABLE_TEXT.encode())
    settings, problems, path = resolve(tmp_path / "a.py")
    assert (settings, problems, path) == (Settings(ignore=("TM3",), locale="zh-cn"), [], pyproject)


def test_a_utf8_bom_keeps_problem_lines_right(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_bytes(b"\xef\xbb\xbf[tool.torchmode]\n\nselect = 3\n")
    _, problems, _ = resolve(tmp_path / "a.py")
    assert [problem.split(": ")[0] for problem in problems] == [f"{pyproject}:3"]


def test_latin1_bytes_name_the_file_line_and_byte(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_bytes('[tool.torchmode]\n# Müller\nignore = ["TM3"]\n'.encode("latin-1"))
    settings, problems, path = resolve(tmp_path / "a.py")
    assert (settings, path) == (Settings(), pyproject)
    assert problems == [
        f"{pyproject}:2: cannot decode the file as UTF-8, which TOML requires: invalid start byte "
        f"(byte 0xfc); {IGNORED}"
    ]


def test_a_latin1_value_is_not_read_as_a_replacement_character(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b'[tool.torchmode]\nlocale = "\xff"\n')
    settings, problems, _ = resolve(tmp_path / "a.py")
    assert settings == Settings()
    (problem,) = problems
    assert ":2: cannot decode the file as UTF-8" in problem and "\ufffd" not in problem


@pytest.mark.parametrize(
    ("encoding", "name"),
    [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32")],
)
def test_utf16_and_utf32_with_a_bom_are_named(tmp_path: Path, encoding: str, name: str) -> None:
    pyproject = tmp_path / "pyproject.toml"
    data = TABLE_TEXT.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # the -be codec writes no byte order mark of its own
    pyproject.write_bytes(data)
    settings, problems, path = resolve(tmp_path / "a.py")
    assert (settings, path) == (Settings(), pyproject)
    assert problems == [
        f"{pyproject}: cannot decode the file as UTF-8, which TOML requires: it is {name} "
        f"(it starts with a {name} byte order mark); {IGNORED}"
    ]


def test_utf16_without_a_bom_is_caught_by_its_null_bytes(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_bytes(TABLE_TEXT.encode("utf-16-le"))
    settings, problems, _ = resolve(tmp_path / "a.py")
    assert settings == Settings()
    assert problems == [
        f"{pyproject}:1: cannot decode the file as UTF-8, which TOML requires: it contains null bytes "
        f"(UTF-16 without a byte order mark?); {IGNORED}"
    ]


@pytest.mark.parametrize(
    "data",
    [
        "[project]\nname = 'Müller'\n".encode("latin-1"),
        "[project]\nname = 'x'\n".encode("utf-16"),
        "[project]\nname = 'x'\n".encode("utf-16-le"),
    ],
    ids=["latin-1", "utf-16", "utf-16-no-bom"],
)
def test_an_undecodable_file_of_another_tool_is_not_our_business(tmp_path: Path, data: bytes) -> None:
    outer = write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM3"]\n')
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "pyproject.toml").write_bytes(data)
    settings, problems, path = resolve(tmp_path / "pkg" / "a.py")
    assert (settings.ignore, problems, path) == (("TM3",), [], outer)


def test_binary_garbage_never_raises(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b"torchmode" + bytes(range(256)) * 8)
    settings, problems, _ = resolve(tmp_path / "a.py")
    assert settings == Settings() and len(problems) == 1 and "cannot decode" in problems[0]


def test_unreadable_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pyproject = write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM3"]\n')
    real_read_bytes = Path.read_bytes

    def refuse(path: Path) -> bytes:
        if path == pyproject:
            raise PermissionError(13, "Permission denied")
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    settings, problems, _ = resolve(tmp_path / "a.py")
    assert settings == Settings()
    assert problems == [f"{pyproject}: cannot read the file: Permission denied; ignored"]


# --- caching ---------------------------------------------------------------------------------


def test_edits_are_seen_and_unchanged_files_are_not_reparsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyproject = write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM3"]\n')
    parsed: list[Path] = []
    real_read = config.read_pyproject

    def counting_read(path: Path, known_codes: Collection[str] = ()) -> object:
        parsed.append(path)
        return real_read(path, known_codes)

    monkeypatch.setattr(config, "read_pyproject", counting_read)
    loader = ConfigLoader(CODES)
    first, _, _ = resolve(tmp_path / "a.py", loader)
    again, _, _ = resolve(tmp_path / "b.py", loader)
    assert again == first and parsed == [pyproject]

    # An edit changes the mtime (and here the size): the next lookup re-reads the file.
    pyproject.write_text('[tool.torchmode]\nignore = ["TM30"]\n', encoding="utf-8")
    stat = pyproject.stat()
    os.utime(pyproject, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    changed, _, _ = resolve(tmp_path / "a.py", loader)
    assert changed.ignore == ("TM30",) and parsed == [pyproject, pyproject]


def test_a_new_nearer_pyproject_is_found(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM3"]\n')
    loader = ConfigLoader(CODES)
    assert resolve(tmp_path / "pkg" / "a.py", loader)[0].ignore == ("TM3",)
    write(tmp_path / "pkg" / "pyproject.toml", '[tool.torchmode]\nignore = ["TM2"]\n')
    assert resolve(tmp_path / "pkg" / "a.py", loader)[0].ignore == ("TM2",)


# --- layers ----------------------------------------------------------------------------------


def layer(**values: object) -> ConfigLayer:
    parsed, problems = parse_layer(values, "editor", "torchmode settings", CODES)
    assert problems == []
    return parsed


def test_a_later_select_replaces_the_selection_and_clears_ignores() -> None:
    file = layer(select=["TM1"], ignore=["TM101"])
    assert resolve_settings([file], CODES).select == ("TM1",)
    settings = resolve_settings([file, layer(select=["TM101"])], CODES)
    assert (settings.select, settings.ignore) == (("TM101",), ())


def test_later_ignore_and_extend_select_add() -> None:
    file = layer(select=["TM1"], ignore=["TM101"])
    settings = resolve_settings([file, layer(ignore=["TM102"], extendSelect=["TM3"])], CODES)
    assert (settings.select, settings.ignore) == (("TM1", "TM3"), ("TM101", "TM102"))


def test_a_later_extend_select_undoes_an_earlier_ignore_it_covers() -> None:
    file = layer(ignore=["TM101", "TM2"])
    settings = resolve_settings([file, layer(extendSelect=["TM1", "TM201"])], CODES)
    # TM101 is covered by TM1; "TM2" is wider than TM201 and stays (documented).
    assert settings.ignore == ("TM2",)


def test_tables_merge_code_by_code_and_lists_replace() -> None:
    file = layer(severity={"TM201": "hint", "TM202": "error"}, evalNames=["score"], locale="zh-cn")
    editor = layer(severity={"TM202": "warning"}, extendEvalNames=["audit"])
    settings = resolve_settings([file, editor], CODES)
    assert dict(settings.severity) == {"TM201": Severity.HINT, "TM202": Severity.WARNING}
    assert settings.eval_names == ("score", "audit")
    assert settings.locale == "zh-cn"


def test_editor_nulls_and_empty_select_mean_not_set() -> None:
    editor = layer(select=[], ignore=None, locale="auto", severity=None)
    assert resolve_settings([layer(select=["TM1"]), editor], CODES).select == ("TM1",)


def test_editor_keys_are_camel_case_and_unknown_ones_are_the_clients() -> None:
    parsed, problems = parse_layer(
        {"extendSelect": ["TM3"], "interpreter": ["python"], "extend-select": ["TM1"]},
        "editor",
        "torchmode settings",
        CODES,
    )
    assert problems == []
    assert parsed.extend_select == ("TM3",)


def test_editor_problems_name_the_setting() -> None:
    _, problems = parse_layer({"severity": {"TM201": 3}}, "editor", "torchmode settings", CODES)
    assert [str(problem) for problem in problems] == [
        "torchmode settings: severity.TM201: expected one of error, warning, information, hint, "
        "got a number 3; using the rule's default severity"
    ]


# --- fix safety ------------------------------------------------------------------------------


def finding(code: str, *kinds: str) -> Finding:
    span = Span.of(1, 0, 1, 1)
    fixes = tuple(Fix(f"fix {index}", (TextEdit(span, "y"),), kind) for index, kind in enumerate(kinds))  # type: ignore[arg-type]
    return Finding(code, "name", "message", span, Severity.WARNING, (), fixes)


def test_fix_safety_remarks_fixes_of_the_named_rules_only() -> None:
    result = CheckResult(
        Document("x\n", "a.py"),
        (finding("TM101", "safe", "unsafe"), finding("TM302", "unsafe"), finding("TM201", "safe")),
        None,
    )
    settings = Settings(fix_safety=(("TM101", False), ("TM302", True)))
    remarked = apply_fix_safety(result, settings)
    kinds = [[fix.applicability for fix in item.fixes] for item in remarked.findings]
    assert kinds == [["unsafe", "unsafe"], ["safe"], ["safe"]]
    assert apply_fix_safety(result, Settings()) is result


def test_train_names_keep_training_drivers_out_of_evaluations(tmp_path: Path) -> None:
    from torchmode.engine import check_document

    code = (
        "def fit_and_evaluate(model, loader):\n"
        "    for x in loader:\n"
        "        preds = model(x)\n"
        "\n"
        "def main(model, optimizer, loader):\n"
        "    model.train()\n"
        "    for x in loader:\n"
        "        optimizer.zero_grad()\n"
        "        model(x).sum().backward()\n"
        "        optimizer.step()\n"
        "    fit_and_evaluate(model, loader)\n"
    )
    script = write(tmp_path / "project" / "run.py", code)
    default_settings, _, _ = resolve(script)
    # "fit" is a default train word: a training driver is no evaluation by its name.
    assert not [f for f in check_document(Document(code), default_settings).findings if f.code == "TM102"]
    write(tmp_path / "project" / "pyproject.toml", '[tool.torchmode]\ntrain-names = ["train"]\n')
    settings, problems, _ = resolve(script)
    assert not problems and settings.train_names == ("train",)
    assert "TM102" in [f.code for f in check_document(Document(code), settings).findings]
