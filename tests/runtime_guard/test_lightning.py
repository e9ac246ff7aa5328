"""The guard under a real PyTorch Lightning Trainer (CPU, one epoch, a few tiny batches).

Lightning's loops switch modes in their own way: ``on_validation_model_eval`` calls ``eval()``
on the model, and afterwards the loop restores the mode it captured of every submodule by
assigning ``training`` instead of calling ``train()``; the optimizer step runs the training step
inside its closure (forward, ``zero_grad``, backward, all within ``optimizer.step``). A correct
LightningModule must stay silent through all of that, and one whose hook switches it to eval
must be caught at its training step's forward, every step, with the hook's line as the cause.
(test_programs.py also runs both programs with their markers and compares their output.)
"""

from __future__ import annotations

import importlib.util
import sys
from importlib import metadata
from pathlib import Path

from guard_helpers import PROGRAMS, run_guarded
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

FIT = PROGRAMS / "lightning_fit.py"
EVAL_HOOK = PROGRAMS / "lightning_eval_hook.py"
ROOT = PROGRAMS.parents[2]
TRAIN_BATCHES = 4
# The sanity check's two validation batches, then two after every second training batch.
VALIDATION_FORWARDS = 2 + 2 * 2


def _line_of(program: Path, text: str) -> int:
    lines = program.read_text(encoding="utf-8").splitlines()
    (number,) = [index for index, line in enumerate(lines, start=1) if text in line]
    return number


def test_lightning_loops_are_watched_and_nothing_is_observed(tmp_path: Path) -> None:
    run = run_guarded(FIT, tmp_path / "runtime.json")

    assert run.status == 0, run.stderr
    assert run.report is not None
    assert run.findings == [], run.stderr
    # Silent because every pass was seen and judged, not because the guard saw nothing.
    assert run.report["steps"] == TRAIN_BATCHES
    assert run.report["forwards"] == TRAIN_BATCHES + VALIDATION_FORWARDS
    assert "nothing observed in 4 optimizer steps and 10 forward passes" in run.stderr
    assert "torchmode: warning" not in run.stderr
    # The validations ran in eval mode and the training steps in train mode, as printed.
    assert run.stdout.count("(training=False)") == VALIDATION_FORWARDS
    assert run.stdout.endswith("after fit, training 1.0\n")


def test_eval_in_a_lightning_hook_is_observed_at_the_training_step_every_step(tmp_path: Path) -> None:
    run = run_guarded(EVAL_HOOK, tmp_path / "runtime.json")

    assert run.status == 0, run.stderr
    assert run.stdout.count("(training=False)") == TRAIN_BATCHES  # the bug is real: no step trained
    (finding,) = run.findings
    assert finding["code"] == "TM101"
    assert finding["filename"] == str(EVAL_HOOK)
    assert finding["location"]["row"] == _line_of(EVAL_HOOK, "self(data), target)  # observed")
    assert "loss = F.cross_entropy(self(data), target)" in finding["line_text"]
    (switch,) = finding["related"]
    assert switch["filename"] == str(EVAL_HOOK)
    switch_line = _line_of(EVAL_HOOK, "self.eval()  # switch")
    assert switch["location"]["row"] == switch_line
    # Every training step of the epoch, validation in between notwithstanding.
    assert (finding["count"], finding["first_seen_step"], finding["last_seen_step"]) == (4, 1, 4)
    assert "`Classifier` was trained in eval mode" in finding["message"]
    assert "`net.bn` (BatchNorm1d) and `net.dropout` (Dropout)" in finding["message"]
    assert f"`self.eval()` (line {switch_line})" in finding["message"]
    # Printed once, when first seen.
    assert run.stderr.count(": TM101 ") == 1


def _requires(name: str) -> list[str]:
    """The names a distribution installed here requires (markers evaluated, no extras)."""
    try:
        requirements = metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        return []
    needed = []
    for line in requirements:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            needed.append(canonicalize_name(requirement.name))
    return needed


def _closure(names: list[str]) -> set[str]:
    seen: set[str] = set()
    waiting = list(names)
    while waiting:
        name = waiting.pop()
        if name not in seen:
            seen.add(name)
            waiting.extend(_requires(name))
    return seen


def test_the_other_pythons_leave_out_every_test_dependency_that_pulls_in_torch() -> None:
    """.ci/test_pythons.py installs the test dependencies without torch on the other Pythons:
    its filter must leave out pytorch-lightning too (and anything else that requires torch)."""
    spec = importlib.util.spec_from_file_location("test_pythons", ROOT / ".ci" / "test_pythons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    requirements, _ = module.requirements()
    assert module.is_torch("pytorch-lightning==2.6.6") and module.is_torch("torch==2.13.0")
    assert not module.is_torch("torchmetrics") and not module.is_torch("lightning-utilities")
    kept = [canonicalize_name(Requirement(line).name) for line in requirements if not module.is_torch(line)]
    left_out = {canonicalize_name(Requirement(line).name) for line in requirements} - set(kept)
    assert left_out == {"torch", "pytorch-lightning"}
    # What the kept requirements install here, all the way down: torch must not be among it
    # (the walk does find it below pytorch-lightning).
    assert "torch" in _closure(["pytorch-lightning"])
    assert not {"torch", "pytorch-lightning"} & _closure(kept)
