"""The language of the CLI's texts: --lang (alias --locale), and LANG for rules/explain."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from torchmode.cli import main
from torchmode.cli.common import locale_from_environment

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed_loop.py"


def run(argv: list[str]) -> tuple[int, str]:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main(argv)
    return code, buffer.getvalue()


def test_explain_in_chinese() -> None:
    code, text = run(["explain", "TM101", "--lang", "zh-CN"])
    assert code == 0 and text.startswith("# TM101 train-step-in-eval-mode") and "为什么" in text


@pytest.mark.parametrize("spelling", ["zh-CN", "zh_CN", "zh", "ZH-cn"])
def test_check_messages_in_chinese(spelling: str) -> None:
    code, text = run(["check", str(SEED), "--lang", spelling])
    assert code == 1 and "可能处于 eval 模式" in text


def test_unknown_language_is_a_usage_error() -> None:
    assert run(["explain", "TM101", "--lang", "fr"])[0] == 2


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh-cn"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh-cn"),
        ({"LANG": "C"}, "en"),
        ({}, "en"),
    ],
)
def test_language_from_environment(environment: dict[str, str], expected: str) -> None:
    assert locale_from_environment(environment) == expected


def test_rules_follow_lang(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert "训练步骤" in run(["rules"])[1]
    assert "training step" in run(["rules", "--lang", "en"])[1]
