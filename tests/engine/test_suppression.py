"""Suppression comments silence the codes they name, on the line a finding starts, and nothing else.

The grammar (ruff's for ``noqa``): ``# noqa`` and ``# torchmode: ignore`` silence every
rule on their line; ``# noqa: TM101, TM303`` and ``# torchmode: ignore[TM101, TM303]``
only the codes listed (full codes, any case). A finding that spans several lines is
silenced by a comment on its *first* line, the line the editor and the CLI report.
"""

from __future__ import annotations

import pytest

from torchmode.engine import check_source

# Two findings of different rules: TM303 (``F.dropout`` without ``training=``) on the
# ``return`` line, TM301 (``model.eval`` without the call) on the last line.
PROGRAM = """\
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return F.dropout(self.fc(x), 0.5){dropout_comment}


model = Net()
model.eval{eval_comment}
"""


def codes(dropout_comment: str = "", eval_comment: str = "") -> list[str]:
    text = PROGRAM.format(dropout_comment=dropout_comment, eval_comment=eval_comment)
    return sorted(finding.code for finding in check_source(text, "net.py").findings)


def test_both_findings_without_comments() -> None:
    assert codes() == ["TM301", "TM303"]


@pytest.mark.parametrize(
    "comment",
    [
        "  # noqa: TM303",
        "  # noqa:TM303",
        "  # noqa: tm303",
        "  # NOQA: TM303",
        "  # noqa: TM201, TM303",
        "  # noqa: TM303,TM201",
        "  # torchmode: ignore[TM303]",
        "  # torchmode: ignore[tm303]",
        "  # torchmode: ignore[TM201, TM303]",
        "  # noqa",
        "  # torchmode: ignore",
        "  # some words  # noqa: TM303",
    ],
)
def test_a_comment_naming_the_code_or_none_silences_it(comment: str) -> None:
    assert codes(dropout_comment=comment) == ["TM301"]


@pytest.mark.parametrize(
    "comment",
    [
        "  # noqa: TM301",  # another rule's code
        "  # noqa: TM201, TM101",
        "  # torchmode: ignore[TM301]",
        "  # torchmode: ignore[TM201,TM102]",
        "  # noqa: E501",  # another tool's code
        "  # noqa: TM3",  # a prefix is not a code (as in ruff)
        "  # noqa: TM30",
        "  # type: ignore",
        "  # torchmode: enable",
    ],
)
def test_a_comment_naming_other_codes_leaves_the_finding(comment: str) -> None:
    assert codes(dropout_comment=comment) == ["TM301", "TM303"]


def test_each_line_is_silenced_by_its_own_comment() -> None:
    assert codes(eval_comment="  # noqa: TM303") == ["TM301", "TM303"]
    assert codes(eval_comment="  # noqa: TM301") == ["TM303"]
    assert codes(dropout_comment="  # noqa: TM303", eval_comment="  # noqa: TM301") == []


def test_suppression_words_inside_a_string_are_not_a_comment() -> None:
    text = PROGRAM.format(dropout_comment="", eval_comment="").replace(
        "model.eval\n", 'model.eval; label = "# noqa: TM301"\n'
    )
    assert sorted(finding.code for finding in check_source(text, "net.py").findings) == ["TM301", "TM303"]


MULTI_LINE = """\
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return F.dropout({first}
            self.fc(x),{middle}
            0.5,
        ){last}
"""


def multi_line_codes(first: str = "", middle: str = "", last: str = "") -> list[tuple[str, int, int]]:
    text = MULTI_LINE.format(first=first, middle=middle, last=last)
    return [
        (finding.code, finding.span.start.line, finding.span.end.line)
        for finding in check_source(text, "net.py").findings
    ]


def test_a_finding_over_several_lines_is_silenced_on_its_first_line_only() -> None:
    (found,) = multi_line_codes()
    assert found[0] == "TM303" and found[2] > found[1], found  # it really spans lines
    assert multi_line_codes(first="  # noqa: TM303") == []
    assert multi_line_codes(middle="  # noqa: TM303") == [found]
    assert multi_line_codes(last="  # noqa: TM303") == [found]
