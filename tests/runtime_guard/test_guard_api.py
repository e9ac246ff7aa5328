"""The API (install/guard/report), a guard that fails, compiled modules and DataParallel, in this process."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import torchmode.runtime as tmr
from torchmode.runtime.hooks import Guard


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2))


def _steps(model: nn.Module, count: int = 3) -> list[float]:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(1)
    losses = []
    for _ in range(count):
        data, target = torch.randn(8, 4, generator=generator), torch.randint(0, 2, (8,), generator=generator)
        loss = F.cross_entropy(model(data), target)  # the forward line the tests look for
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


FORWARD_LINE = _steps.__code__.co_firstlineno + 6


def test_guard_block_reports_and_writes_at_its_end(tmp_path: Path) -> None:
    stream = io.StringIO()
    report = tmp_path / "runtime.json"
    model = _net()
    with tmr.guard(report=report, stream=stream, locale="zh-cn") as guard:
        model.eval()
        _steps(model)
        assert guard.active and [found.code for found in tmr.findings()] == ["TM101"]
        items = tmr.report(write=False)
        assert items[0]["count"] == 3 and items[0]["location"]["row"] == FORWARD_LINE
        assert items[0]["message"] == items[0]["messages"]["zh-cn"]
        assert not report.exists()  # nothing written inside the block unless asked
    assert not guard.active
    written = json.loads(report.read_text(encoding="utf-8"))
    assert [item["code"] for item in written["findings"]] == ["TM101"]
    assert written["steps"] == 3
    assert "在 eval 模式下被训练" in stream.getvalue()  # printed once, in the chosen language
    assert stream.getvalue().count("TM101") == 1
    assert tmr.findings() == [] and tmr.report() == []  # nothing installed any more


def test_install_twice_is_one_guard_and_uninstall_writes(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    first = tmr.install(report=report, stream=io.StringIO(), write_at_exit=False)
    try:
        assert tmr.install() is first
        _steps(_net())
    finally:
        written = tmr.uninstall()
    assert written == report and json.loads(report.read_text(encoding="utf-8"))["findings"] == []
    assert tmr.uninstall() is None


def test_a_failing_guard_turns_itself_off_with_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _steps(_net(), count=4)

    def broken(self: Guard, module: nn.Module, output: object) -> None:
        raise RuntimeError("inspection failed")

    monkeypatch.setattr(Guard, "_outermost_forward", broken)
    stream = io.StringIO()
    with tmr.guard(stream=stream, write=False) as guard:
        losses = _steps(_net(), count=4)
    assert losses == expected  # the program went on, computing the same
    assert guard.failed and not guard.active
    assert stream.getvalue().count("torchmode: warning:") == 1
    assert "RuntimeError: inspection failed" in stream.getvalue()


def test_a_failing_train_wrapper_still_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Guard, *args: object) -> None:
        raise KeyError("switch bookkeeping")

    monkeypatch.setattr(Guard, "_switch_event", broken)
    model = _net()
    with tmr.guard(stream=io.StringIO(), write=False) as guard:
        assert model.eval() is model and not model[1].training
        assert model.train() is model and model[1].training
    assert guard.failed


def test_compiled_module_watched_through_its_wrapper_without_graph_breaks() -> None:
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    model = _net()
    compiled = torch.compile(model, backend="eager")
    stream = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's warning about global hooks must not escape
        with tmr.guard(stream=stream, write=False):
            compiled.eval()
            _steps(compiled)
            found = tmr.findings()
    assert not counters["graph_break"], dict(counters["graph_break"])
    assert [(item.code, item.module) for item in found] == [("TM101", "Sequential")]
    assert {part.name for part in found[0].parts} == {"1", "2"}  # names inside the model, not _orig_mod
    assert stream.getvalue().count("torchmode: note:") == 1
    torch._dynamo.reset()


def test_data_parallel_wrapper_and_eval_of_the_inner_model() -> None:
    model = _net()
    wrapper = nn.DataParallel(model)  # on CPU it calls the module directly
    with tmr.guard(stream=io.StringIO(), write=False):
        wrapper.train()
        model.eval()  # switched through the inner model; the wrapper still says training
        assert wrapper.training
        _steps(wrapper)
        found = tmr.findings()
    assert [(item.code, item.module, item.count) for item in found] == [
        ("TM101", "DataParallel(Sequential)", 3)
    ]
    assert found[0].switch is not None and found[0].switch.call == "model.eval()"


def test_uninstalled_guard_leaves_nothing_watching() -> None:
    guard = Guard(stream=io.StringIO()).install()
    guard.uninstall()
    model = _net().eval()
    _steps(model)
    assert guard.findings == [] and guard.forwards == 0
