"""``--format github``: one GitHub Actions workflow command per finding, which the runner shows
as an annotation on the file's line."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TextIO

from torchmode.cli.sources import Source
from torchmode.findings import Finding, Severity


def print_github(entries: Sequence[tuple[Source, Finding]], out: TextIO) -> None:
    for source, finding in entries:
        print(github_line(source, finding), file=out)


def _github_escape(value: str, in_property: bool) -> str:
    # GitHub workflow-command escaping (the runner's own rules): "%" first, so that the
    # escapes it introduces are not escaped again; properties also escape ":" and ",",
    # which separate a command's properties from each other and from the message.
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if in_property:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


_GITHUB_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "notice",
    Severity.HINT: "notice",
}


def github_line(source: Source, finding: Finding) -> str:
    """``::warning file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`` (1-based columns).

    The file is absolute, as in ruff: the runner turns paths inside the workspace
    into repository paths, whatever folder torchmode ran in. The message repeats
    the location so that the raw log line is useful on its own.
    """
    # In a notebook the annotation points at the cell's line; the text names the cell.
    _, start_line, start_column = source.locate(finding.span.start)
    _, end_line, end_column = source.locate(finding.span.end)
    properties = ",".join(
        f"{key}={_github_escape(str(value), True)}"
        for key, value in (
            ("title", f"{finding.code} {finding.name}" if finding.name else finding.code),
            ("file", os.path.abspath(source.path)),
            ("line", start_line),
            ("col", start_column + 1),
            ("endLine", end_line),
            ("endColumn", end_column + 1),
        )
    )
    text = f"{source.where(finding.span.start)}: {finding.code} {finding.message}"
    return f"::{_GITHUB_LEVEL[finding.severity]} {properties}::{_github_escape(text, False)}"
