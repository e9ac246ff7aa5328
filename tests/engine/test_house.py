"""The shape of the package that ``lint-imports`` does not check: no module too big to read.

A module past a thousand lines held several ideas at once (issue 15 split the three that
were); the analysis work that adds to the biggest ones must split them along their seams
rather than let them grow back.
"""

from __future__ import annotations

from pathlib import Path

import torchmode

PACKAGE = Path(torchmode.__file__).resolve().parent
MOST_LINES = 1000


def test_no_module_over_a_thousand_lines() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 50, "the package was not found where the test looks"
    too_long = {
        str(module.relative_to(PACKAGE)): lines
        for module in modules
        if (lines := len(module.read_text(encoding="utf-8").splitlines())) > MOST_LINES
    }
    assert not too_long, f"split these along their seams: {too_long}"
