"""Runtime oracle: the static mode states must cover what really happens under PyTorch.

Each case program is run with real torch (CPU, tiny random data) while a global
forward pre-hook records ``module.training`` and ``torch.is_grad_enabled()`` at
every top-level forward call (see ``runtime_oracle.py``). The static analysis
(``forward_call_states``) is then held against the recording:

* coverage: at every recorded call the observed mode is among the static modes
  (or the analysis admits "unknown");
* exactness at training forward calls: "eval" is a static mode there exactly
  when eval was observed there, and "train" is one wherever train was observed
  (these programs keep everything in one file, so nothing may be "unknown");
* ``in_training_step`` agrees with the run;
* TM101 is reported exactly for the programs whose run trained in eval mode;
* the preferred TM101 fix, applied to the text and run again, makes every
  training forward run in train mode, changes nothing else that runs, and
  leaves no TM101 behind.

A *training forward call* is one made with grad enabled: every program runs its
validation under ``torch.no_grad()``, as the article recommends, so the run
itself tells training calls from validation calls. The test checks that the
convention holds for each line rather than trusting it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from runtime_oracle import ForwardRecord, run_program

from torchmode.engine import ForwardCallState, Settings, check_document, forward_call_states
from torchmode.syntax import Document, apply_edits

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PROGRAMS = Path(__file__).resolve().parent / "programs"


@dataclass(frozen=True)
class Case:
    path: Path
    # Whether a run trains some batch in eval mode (the bug TM101 is about).
    buggy: bool

    @property
    def id(self) -> str:
        return self.path.stem


CASES = [
    Case(EXAMPLES / "seed_loop.py", buggy=True),
    Case(EXAMPLES / "epoch_end_validation.py", buggy=True),
    Case(EXAMPLES / "nested_loops.py", buggy=True),
    Case(EXAMPLES / "call_chain.py", buggy=True),
    Case(EXAMPLES / "train_false.py", buggy=True),
    Case(PROGRAMS / "train_mode_keyword.py", buggy=True),
    Case(PROGRAMS / "continue_skips_restore.py", buggy=True),
    Case(PROGRAMS / "trainer_class.py", buggy=True),
    Case(PROGRAMS / "mode_from_parameter.py", buggy=True),
    Case(EXAMPLES / "ok_train_in_loop.py", buggy=False),
    Case(EXAMPLES / "ok_eval_restores_train.py", buggy=False),
    Case(EXAMPLES / "ok_validate_after_loop.py", buggy=False),
    Case(PROGRAMS / "try_finally_restore.py", buggy=False),
]
BUGGY = [case for case in CASES if case.buggy]


@dataclass(frozen=True)
class Observation:
    """One program's run next to its static analysis."""

    text: str
    path: Path
    records: tuple[ForwardRecord, ...]
    states: tuple[ForwardCallState, ...]

    def states_at(self, line: int) -> list[ForwardCallState]:
        return [state for state in self.states if state.span.start.line <= line <= state.span.end.line]

    def static_modes_at(self, line: int) -> set[str]:
        return {mode for state in self.states_at(line) for mode in state.modes}

    def observed_modes_at(self, line: int) -> set[str]:
        return {record.mode for record in self.records if record.line == line}

    @property
    def training_lines(self) -> list[int]:
        return sorted({record.line for record in self.records if record.grad_enabled})

    @property
    def validation_lines(self) -> list[int]:
        return sorted({record.line for record in self.records if not record.grad_enabled})


def observe(path: Path, text: str | None = None) -> Observation:
    text = path.read_text(encoding="utf-8") if text is None else text
    records = tuple(run_program(path))
    states = forward_call_states(Document(text, str(path)))
    return Observation(text, path, records, states)


def tm101_lines(text: str, path: Path) -> list[int]:
    result = check_document(Document(text, str(path)), Settings())
    return [finding.span.start.line for finding in result.findings if finding.code == "TM101"]


def describe(observation: Observation, lines: Iterable[int]) -> str:
    rows = []
    for line in lines:
        source = observation.text.splitlines()[line - 1].strip()
        rows.append(
            f"  line {line}: observed {sorted(observation.observed_modes_at(line))}, "
            f"static {sorted(observation.static_modes_at(line))}: {source}"
        )
    return "\n".join(rows)


def assert_static_covers_run(observation: Observation) -> None:
    assert observation.records, "the program made no top-level forward call"
    for line in sorted({record.line for record in observation.records}):
        states = observation.states_at(line)
        assert states, f"no static forward call state at line {line}:\n{describe(observation, [line])}"
        static = observation.static_modes_at(line)
        for mode in observation.observed_modes_at(line):
            assert mode in static or "unknown" in static, (
                f"{mode} observed but not statically possible:\n{describe(observation, [line])}"
            )


def assert_exact_at_training_calls(observation: Observation) -> None:
    for line in observation.training_lines:
        static = observation.static_modes_at(line)
        observed = observation.observed_modes_at(line)
        assert ("eval" in static) == ("eval" in observed), describe(observation, [line])
        if "train" in observed:
            assert "train" in static, describe(observation, [line])


def assert_training_step_flags(observation: Observation) -> None:
    training, validation = set(observation.training_lines), set(observation.validation_lines)
    # The program's own convention: a line is either a training call or a validation call.
    assert not training & validation, f"lines with and without grad: {sorted(training & validation)}"
    # Both directions: a forward call is part of a training step when a backward()
    # or step() follows it in the same loop body and grad is not certainly off, so a
    # validation call under no_grad inside the training loop body is not one.
    for line in training:
        states = observation.states_at(line)
        assert all(state.in_training_step for state in states), describe(observation, [line])
    for line in validation:
        states = observation.states_at(line)
        assert not any(state.in_training_step for state in states), describe(observation, [line])


def apply_preferred_tm101_fixes(text: str, path: Path) -> str:
    """Apply the preferred fix of the first TM101 until none is left (each fix may cover several)."""
    for _ in range(10):
        result = check_document(Document(text, str(path)), Settings())
        findings = [finding for finding in result.findings if finding.code == "TM101"]
        if not findings:
            return text
        fix = findings[0].preferred_fix
        assert fix is not None, f"TM101 without a fix: {findings[0].message}"
        text = apply_edits(text, fix.edits)
    raise AssertionError("TM101 fixes do not converge")


# --- the tests ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def observations() -> dict[str, Observation]:
    return {case.id: observe(case.path) for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_program_behaves_as_described(case: Case, observations: dict[str, Observation]) -> None:
    # Guards the oracle itself: a buggy program must really train in eval mode.
    observation = observations[case.id]
    assert observation.training_lines, "no training forward call was recorded"
    assert observation.validation_lines, "no validation forward call was recorded"
    trained_in_eval = [
        line for line in observation.training_lines if "eval" in observation.observed_modes_at(line)
    ]
    assert bool(trained_in_eval) == case.buggy
    # Validation always runs in eval mode in these programs.
    assert all(observation.observed_modes_at(line) == {"eval"} for line in observation.validation_lines)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_static_states_cover_the_run(case: Case, observations: dict[str, Observation]) -> None:
    assert_static_covers_run(observations[case.id])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_eval_is_possible_exactly_where_it_was_observed(
    case: Case, observations: dict[str, Observation]
) -> None:
    assert_exact_at_training_calls(observations[case.id])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_training_calls_are_flagged_as_training_steps(
    case: Case, observations: dict[str, Observation]
) -> None:
    assert_training_step_flags(observations[case.id])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_tm101_exactly_for_programs_that_train_in_eval(
    case: Case, observations: dict[str, Observation]
) -> None:
    observation = observations[case.id]
    lines = tm101_lines(observation.text, case.path)
    assert bool(lines) == case.buggy, f"TM101 at {lines}"
    recorded = {record.line for record in observation.records}
    for line in lines:
        # The anchor is a forward call or a backward()/step() line; a forward-call
        # anchor must be a training call that really ran in eval mode.
        if line in recorded:
            assert line in observation.training_lines, describe(observation, [line])
            assert "eval" in observation.observed_modes_at(line), describe(observation, [line])


@pytest.mark.parametrize("case", BUGGY, ids=lambda case: case.id)
def test_preferred_fix_makes_every_training_call_run_in_train_mode(
    case: Case, observations: dict[str, Observation], tmp_path: Path
) -> None:
    before = observations[case.id]
    fixed_text = apply_preferred_tm101_fixes(before.text, case.path)
    assert fixed_text != before.text
    compile(fixed_text, str(case.path), "exec")
    fixed_path = tmp_path / case.path.name
    fixed_path.write_text(fixed_text, encoding="utf-8")

    after = observe(fixed_path, fixed_text)

    training = [record for record in after.records if record.grad_enabled]
    assert training
    assert all(record.training for record in training), describe(after, after.training_lines)
    # The fix changes modes only: the same forward calls run, validation still in eval.
    assert Counter(record.grad_enabled for record in after.records) == Counter(
        record.grad_enabled for record in before.records
    )
    assert all(not record.training for record in after.records if not record.grad_enabled)

    assert tm101_lines(fixed_text, fixed_path) == []
    assert_static_covers_run(after)
    assert_exact_at_training_calls(after)


def test_oracle_rejects_an_analysis_that_misses_eval(observations: dict[str, Observation]) -> None:
    # Guards against a vacuous oracle: drop "eval" from the seed's training call
    # and both checks must fail.
    seed = observations["seed_loop"]
    blinded = tuple(
        ForwardCallState(
            state.span, state.path, state.modes - {"eval"} or frozenset({"train"}), state.in_training_step
        )
        for state in seed.states
    )
    wrong = Observation(seed.text, seed.path, seed.records, blinded)
    with pytest.raises(AssertionError):
        assert_static_covers_run(wrong)
    with pytest.raises(AssertionError):
        assert_exact_at_training_calls(wrong)
