"""Rule docs cannot drift from the rule modules: every rule in ``ALL_RULES`` has its pages
(``server/torchmode/docs/rules/<CODE>.<locale>.md``) with the right heading and sections, the
README's rule table lists exactly the rules there are, and ``torchmode explain`` prints them.

When a rule is added, these tests say what else to write.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest
from cli_helpers import ROOT, RunCli

from torchmode.docs import SUPPORTED_LOCALES
from torchmode.engine import RuleInfo, check_source
from torchmode.rules import ALL_RULES, Rule

DOCS = ROOT / "server" / "torchmode" / "docs" / "rules"
EN_SECTIONS = ("## What it does", "## Why is this bad?", "## Example")


def rule_id(rule: type[Rule]) -> str:
    return rule.code


def sections(markdown: str) -> list[str]:
    """The ``##`` headings, outside code blocks."""
    found: list[str] = []
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("## "):
            found.append(line.rstrip())
    return found


@pytest.mark.parametrize("rule", ALL_RULES, ids=rule_id)
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_each_rule_has_a_page_per_language_headed_by_its_code_and_name(rule: type[Rule], locale: str) -> None:
    path = rule.docs_path(locale)
    assert path.parent == DOCS
    assert path.is_file(), f"{rule.code}: write {path.relative_to(ROOT)}"
    heading = path.read_text(encoding="utf-8").splitlines()[0]
    # The Chinese heading may add a translated name in (full-width) brackets.
    brackets = r"(?:\s*[(\uff08].*[)\uff09])?"
    assert re.fullmatch(rf"# {rule.code} {re.escape(rule.name)}{brackets}", heading), heading


@pytest.mark.parametrize("rule", ALL_RULES, ids=rule_id)
def test_pages_have_the_sections_and_the_languages_agree(rule: type[Rule]) -> None:
    english = rule.explanation("en")
    chinese = rule.explanation("zh-cn")
    english_sections = sections(english)
    for section in EN_SECTIONS:
        assert section in english_sections, f"{rule.code}: the English page needs a '{section}' section"
    # Translations are checked by shape: the same sections and the same code examples.
    assert len(sections(chinese)) == len(english_sections), (english_sections, sections(chinese))
    assert chinese.count("```") == english.count("```"), f"{rule.code}: code blocks differ between languages"


@pytest.mark.parametrize("rule", ALL_RULES, ids=rule_id)
def test_pages_describe_the_fixes_the_rule_makes(rule: type[Rule]) -> None:
    kinds = RuleInfo(rule.code, rule.name, rule).fix_applicabilities
    english = rule.explanation("en")
    if kinds:
        assert any(section.startswith("## Fix") for section in sections(english)), (
            f"{rule.code} offers fixes: its page needs a '## Fixes' section"
        )
    if "unsafe" in kinds:
        assert "unsafe" in english.lower(), f"{rule.code}: say which fixes are unsafe, and why"


def test_no_page_without_a_rule() -> None:
    codes = {rule.code for rule in ALL_RULES}
    orphans = sorted(path.name for path in DOCS.glob("*.md") if path.name.split(".")[0] not in codes)
    assert not orphans, f"pages of rules that do not exist: {orphans}"


def readme_rule_table() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Rules\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| *(TM\d+) *\| *([a-z0-9-]+) *\|", section, re.MULTILINE)
    return dict(rows)


def test_readme_lists_every_rule() -> None:
    table = readme_rule_table()
    expected = {rule.code: rule.name for rule in ALL_RULES}
    missing = sorted(set(expected) - set(table))
    assert not missing, f"add {missing} to the rule table in README.md ('## Rules')"
    stale = sorted(set(table) - set(expected))
    assert not stale, f"README.md lists rules that do not exist: {stale}"
    assert table == expected


@pytest.mark.parametrize("rule", ALL_RULES, ids=rule_id)
def test_explain_prints_the_page_and_the_diagnostic_links_to_it(run: RunCli, rule: type[Rule]) -> None:
    for locale in SUPPORTED_LOCALES:
        result = run("explain", rule.code, "--locale", locale)
        assert result.code == 0
        assert result.out == rule.explanation(locale)
    # codeDescription.href of a real diagnostic (and the JSON ``url``): a file URI that opens
    # the rule's English page, shipped in the package, headed by its code and name.
    finding = next(
        finding
        for example in rule.INVALID
        for finding in check_source(example.code, "example.py").findings
        if finding.code == rule.code
    )
    parsed = urlparse(finding.url)
    assert parsed.scheme == "file", finding.url
    page = Path(url2pathname(parsed.path))
    assert page.is_file(), finding.url
    text = page.read_text(encoding="utf-8")
    assert text == rule.explanation("en")
    assert text.splitlines()[0] == f"# {rule.code} {rule.name}"
