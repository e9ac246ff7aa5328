"""Small complete training programs under real PyTorch: the markers are what a run shows.

Each program in ``cases/`` runs under real PyTorch (CPU, seconds) while ``oracle.py`` records
where it really trains a model in eval mode (TM101), evaluates a trained model in train mode
(TM102) or with autograd on (TM201). For each program:

* every mistake the run showed is reported (recall): a finding of its code on one of the
  program lines on its stack (the forward call, or the call of a helper that runs it);
* every TM101, TM102 and TM201 finding is a mistake the run showed (precision).

``test_training_programs.py`` holds the findings to the ``# expect:`` markers; together the
two say the markers are right. This file needs torch: the runs on other Pythons leave it out
with tests/runtime when torch does not install there (``.ci/test_pythons.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from oracle import Truth, run_program
from test_training_programs import CASES, describe, findings_of

from torchmode.findings import Finding

RUNTIME_CODES = frozenset({"TM101", "TM102", "TM201"})


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.stem)
def test_findings_are_what_the_run_shows(case: Path) -> None:
    truths = run_program(case)
    found = [finding for finding in findings_of(case) if finding.code in RUNTIME_CODES]

    def answers(finding: Finding, truth: Truth) -> bool:
        return finding.code == truth.code and finding.span.start.line in truth.lines

    missed = [truth for truth in truths if not any(answers(finding, truth) for finding in found)]
    false = [finding for finding in found if not any(answers(finding, truth) for truth in truths)]
    assert not missed, f"{case.name}: the run shows {sorted(missed, key=str)}; findings\n{describe(found)}"
    assert not false, f"{case.name}: not shown by the run:\n{describe(false)}\nrun: {sorted(truths, key=str)}"


# -- the oracle's own judgement, on programs that differ in one line -------------------------

_FROZEN_BN_TRAINING = """\
import torch
import torch.nn.functional as F
from torch import nn

model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model.train()
model[1].eval()
for x, y in [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(2)]:
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""

_FROZEN_BACKBONE_FORWARD = """\
import torch
from torch import nn

backbone = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU())
backbone.load_state_dict(backbone.state_dict())
backbone.eval()
backbone.requires_grad_(False)
for x in [torch.randn(4, 8) for _ in range(2)]:
    features = backbone(x)
"""


def _codes(tmp_path: Path, source: str) -> set[str]:
    program = tmp_path / "program.py"
    program.write_text(source, encoding="utf-8")
    return {truth.code for truth in run_program(program)}


def test_oracle_a_part_frozen_under_a_training_model_is_no_mistake(tmp_path: Path) -> None:
    assert "TM101" not in _codes(tmp_path, _FROZEN_BN_TRAINING)
    # The whole model in eval mode while it trains is one.
    assert "TM101" in _codes(tmp_path, _FROZEN_BN_TRAINING.replace("model[1].eval()", "model.eval()"))


def test_oracle_a_wrapper_counts_the_mode_of_the_model_it_runs(tmp_path: Path) -> None:
    wrapped = (
        _FROZEN_BN_TRAINING.replace(
            "optimizer = torch.optim", "parallel = nn.DataParallel(model)\noptimizer = torch.optim"
        )
        .replace("model[1].eval()", "parallel.module.eval()")
        .replace("model(x)", "parallel(x)")
    )
    assert "TM101" in _codes(tmp_path, wrapped)


def test_oracle_a_frozen_forward_that_records_no_graph_needs_no_no_grad(tmp_path: Path) -> None:
    assert "TM201" not in _codes(tmp_path, _FROZEN_BACKBONE_FORWARD)
    # Not frozen: autograd records the graph of every batch for nothing.
    assert "TM201" in _codes(
        tmp_path, _FROZEN_BACKBONE_FORWARD.replace("backbone.requires_grad_(False)\n", "")
    )
