"""Each rule's own VALID/INVALID examples (declared in the rule class, Fixit-style) hold."""

from __future__ import annotations

import string

import pytest

from torchmode.docs import SUPPORTED_LOCALES
from torchmode.docs.catalogue import CATALOGUE
from torchmode.engine import Settings, check_source
from torchmode.rules import ALL_RULES, Rule
from torchmode.syntax import apply_edits

VALID = [(rule, index, case) for rule in ALL_RULES for index, case in enumerate(rule.VALID)]
INVALID = [(rule, index, case) for rule in ALL_RULES for index, case in enumerate(rule.INVALID)]


def only(rule: type[Rule]) -> Settings:
    return Settings(select=(rule.code,))


@pytest.mark.parametrize(("rule", "index", "case"), VALID, ids=lambda v: getattr(v, "code", str(v))[:12])
def test_valid_examples_stay_silent(rule: type[Rule], index: int, case: object) -> None:
    assert check_source(case.code, settings=only(rule)).findings == ()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("rule", "index", "case"), INVALID, ids=lambda v: getattr(v, "code", str(v))[:12])
def test_invalid_examples_report_and_fix(rule: type[Rule], index: int, case: object) -> None:
    findings = check_source(case.code, settings=only(rule)).findings  # type: ignore[attr-defined]
    assert [finding.code for finding in findings][:1] == [rule.code]
    assert findings[0].span.start.line == case.line  # type: ignore[attr-defined]
    if case.fixed is not None:  # type: ignore[attr-defined]
        fix = findings[0].preferred_fix
        assert fix is not None
        assert apply_edits(case.code, fix.edits) == case.fixed  # type: ignore[attr-defined]


def test_every_rule_has_examples_both_ways() -> None:
    for rule in ALL_RULES:
        assert rule.VALID and rule.INVALID, rule.code


def test_codes_and_names_are_unique_and_ruff_shaped() -> None:
    codes = [rule.code for rule in ALL_RULES]
    names = [rule.name for rule in ALL_RULES]
    assert len(set(codes)) == len(codes) and len(set(names)) == len(names)
    for rule in ALL_RULES:
        assert rule.code[:2] == "TM" and rule.code[2:].isdigit() and len(rule.code) == 5
        assert rule.name == rule.name.lower() and " " not in rule.name


def test_every_text_exists_in_every_locale() -> None:
    for key, entry in CATALOGUE.items():
        for locale in SUPPORTED_LOCALES:
            assert locale in entry, f"{key} has no {locale} text"
        # The same placeholders in every language, or a translation would crash on format().
        fields = [
            sorted({name for _, name, _, _ in string.Formatter().parse(entry[locale]) if name})
            for locale in SUPPORTED_LOCALES
        ]
        assert all(names == fields[0] for names in fields), key


def test_every_rule_has_docs_in_both_languages() -> None:
    for rule in ALL_RULES:
        for locale in SUPPORTED_LOCALES:
            docs = rule.explanation(locale)
            assert docs.startswith(f"# {rule.code} {rule.name}")
        assert "为什么" in rule.explanation("zh-cn") and "Why" in rule.explanation("en")


def test_chinese_messages_are_chinese() -> None:
    code = ALL_RULES[0].INVALID[0].code
    only_tm101 = ("TM101",)
    english = check_source(code, settings=Settings(select=only_tm101)).findings[0].message
    chinese = check_source(code, settings=Settings(select=only_tm101, locale="zh-CN")).findings[0].message
    assert english != chinese and "模式" in chinese


def test_may_apply_never_hides_a_finding() -> None:
    """The text prefilter is only a shortcut: every invalid example passes it."""
    for rule in ALL_RULES:
        for case in rule.INVALID:
            assert rule.may_apply(case.code), rule.code


def test_unparsable_text_is_reported_even_when_no_rule_applies() -> None:
    result = check_source("def f(:\n    pass\n")
    assert result.parse_failure is not None and result.parse_failure.position.line == 1
