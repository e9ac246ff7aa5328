"""The report file: its shape, round trip, languages, atomic writing, and the merge of per-rank files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import torchmode.runtime as tmr
from torchmode.runtime.observations import Observation, Part, SourceSpan, Switch, render_message
from torchmode.runtime.report import (
    RunReport,
    default_report_path,
    load_report,
    observation_from_json,
    observation_to_json,
    rank_file,
    write_report,
)


def _observation(count: int = 3, first: int = 2, last: int = 9, ranks: tuple[int, ...] = ()) -> Observation:
    span = SourceSpan("/p/train.py", 20, 17, 20, 28)
    switch = Switch(SourceSpan("/p/engine.py", 9, 4, 9, 16), "model.eval()", training=False)
    observation = Observation(
        code="TM101",
        span=span,
        module="Net",
        parts=(
            Part("bn", "BatchNorm1d"),
            Part("dropout", "Dropout"),
            Part("head.drop", "Dropout"),
            Part("x", "RReLU"),
        ),
        parts_total=4,
        switch=switch,
        line_text="        output = model(data)",
        ranks=ranks,
    )
    for step in range(first, last + 1):
        if observation.count < count:
            observation.add(step, 100.0 + step)
    observation.last_seen_step = last
    return observation


def test_item_has_the_check_json_shape_plus_what_the_run_knows() -> None:
    item = observation_to_json(_observation(), "en")
    check_keys = {
        "cell",
        "code",
        "name",
        "message",
        "severity",
        "filename",
        "location",
        "end_location",
        "fix",
        "url",
    }
    assert check_keys <= item.keys()
    assert item["location"] == {"row": 20, "column": 18} and item["end_location"] == {"row": 20, "column": 29}
    assert (item["observed"], item["count"], item["first_seen_step"], item["last_seen_step"]) == (
        True,
        3,
        2,
        9,
    )
    assert item["name"] == "train-step-in-eval-mode" and item["severity"] == "warning"
    assert item["related"][0]["filename"] == "/p/engine.py" and item["related"][0]["location"]["row"] == 9
    assert "observed at run time 3 times, in optimizer steps 2 to 9" in item["message"]
    assert "`model.eval()` (engine.py, line 9)" in item["message"]
    assert "`bn` (BatchNorm1d), `dropout` (Dropout), `head.drop` (Dropout) and 1 more" in item["message"]
    assert "运行时观察到 3 次" in item["messages"]["zh-cn"]
    assert observation_from_json(json.loads(json.dumps(item))) == _observation()


def test_messages_for_the_other_rules_and_step_phrases() -> None:
    span = SourceSpan("/p/eval.py", 3, 4, 3, 14)
    fresh = Observation("TM102", span, "Net", (Part("", "Dropout"),), 1, None, context="inference_mode")
    fresh.add(0, 1.0)
    message = render_message(fresh, "en")
    assert "once, before the first optimizer step" in message and "`inference_mode`" in message
    assert "since it was built" in message and "`Dropout`" in message
    fresh.add(7, 2.0)
    assert "from before the first optimizer step to after step 7" in render_message(fresh, "en")
    unused = Observation("TM201", span, "Net", (), 0, None)
    unused.add(4, 1.0)
    assert "after optimizer step 4" in render_message(unused, "en")
    assert "在第 4 个优化器步骤之后" in render_message(unused, "zh-cn")


def test_write_is_atomic_and_keeps_the_folder_out_of_git(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "src" / "deep").mkdir(parents=True)
    path = default_report_path(tmp_path / "src" / "deep")
    assert path == tmp_path / ".torchmode" / "runtime.json"
    report = RunReport(findings=[_observation()], started=1.0, finished=2.0, steps=9)
    write_report(report, path)
    write_report(report, path)  # over an existing one
    assert sorted(entry.name for entry in path.parent.iterdir()) == [".gitignore", "runtime.json"]
    assert (path.parent / ".gitignore").read_text(encoding="utf-8") == "*\n"
    loaded = load_report(path)
    assert loaded.steps == 9 and loaded.findings == [_observation()]
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["kind"] == "runtime-report" and data["timestamp"] >= data["finished"]
    with pytest.raises(ValueError):
        (tmp_path / "other.json").write_text("[]", encoding="utf-8")
        load_report(tmp_path / "other.json")


def _rank_run(rank: int, steps: int, monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """One rank of a two-process run: the same guard code, the rank told by torchrun's variables."""
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "run-42")
    torch.manual_seed(rank)
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.2), nn.Linear(4, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with tmr.guard(report=path, stream=io.StringIO()):
        model.eval()
        for _ in range(steps):
            loss = F.cross_entropy(model(torch.randn(4, 4)), torch.zeros(4, dtype=torch.long))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def test_each_rank_writes_its_file_and_the_report_merges_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / ".torchmode" / "runtime.json"
    # A rank file left by an earlier run (another run id) must not be merged in.
    stale = RunReport(findings=[_observation(count=50)], started=1.0, finished=2.0, rank=1, ranks=(1,))
    stale.world_size, stale.run_id = 2, "run-41"
    write_report(stale, path)

    _rank_run(0, 3, monkeypatch, path)
    first = json.loads(path.read_text(encoding="utf-8"))
    assert first["ranks"] == [0] and first["findings"][0]["count"] == 3

    _rank_run(1, 5, monkeypatch, path)
    merged = json.loads(path.read_text(encoding="utf-8"))
    assert rank_file(path, 0).exists() and rank_file(path, 1).exists()
    assert merged["ranks"] == [0, 1] and merged["world_size"] == 2 and merged["steps"] == 5
    (finding,) = merged["findings"]
    assert finding["count"] == 8 and finding["ranks"] == [0, 1]
    assert (finding["first_seen_step"], finding["last_seen_step"]) == (1, 5)
    assert "8 times" in finding["message"]  # the message is rendered from the merged counts
