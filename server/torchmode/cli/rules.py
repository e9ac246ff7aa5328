"""``torchmode rules`` (the rule table, or JSON) and ``torchmode explain CODE`` (a rule's page),
both read from ``engine.rule_catalogue()``."""

from __future__ import annotations

import argparse
import json
import os
from typing import TextIO

from torchmode import engine
from torchmode.cli.common import EXIT_CLEAN, UsageError, locale_from_environment


def _locale(args: argparse.Namespace) -> str:
    """``--locale``, else the terminal's language (LC_ALL, LC_MESSAGES, LANG), else English."""
    locale: str | None = args.locale
    return locale if locale is not None else locale_from_environment(os.environ)


def run_rules(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Code, name, default severity, fix (yes/unsafe/no) and summary of every rule."""
    rules = engine.rule_catalogue()
    locale = _locale(args)
    if args.format == "json":
        records = [
            {
                "code": rule.code,
                "name": rule.name,
                "default_severity": rule.default_severity.value,
                "fix": rule.fix_label() != "no",
                "fix_applicability": list(rule.fix_applicabilities),
                "summary": rule.summary(locale),
                "url": rule.url() or None,
            }
            for rule in rules
        ]
        json.dump(records, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return EXIT_CLEAN
    headers = ("code", "name", "severity", "fix", "summary")
    rows = [
        (rule.code, rule.name, rule.default_severity.value, rule.fix_label(), rule.summary(locale))
        for rule in rules
    ]
    widths = [max(len(row[index]) for row in [headers, *rows]) for index in range(4)]
    for row in [headers, *rows]:
        cells = [f"{cell:<{width}}" for cell, width in zip(row[:4], widths, strict=True)]
        print("  ".join([*cells, row[4]]).rstrip(), file=out)
    return EXIT_CLEAN


def run_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """A rule's Markdown page, found by code or name; the page each diagnostic links to."""
    wanted = args.rule.strip()
    locale = _locale(args)
    for rule in engine.rule_catalogue():
        if wanted.upper() == rule.code or wanted.lower() == rule.name:
            docs = rule.docs(locale)
            if docs is None:
                docs = f"# {rule.code} {rule.name}\n\n{rule.summary(locale)}\n"
            out.write(docs if docs.endswith("\n") else docs + "\n")
            return EXIT_CLEAN
    raise UsageError(f"unknown rule {wanted!r}; `torchmode rules` lists them")
