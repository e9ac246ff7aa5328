"""bench/runtime_overhead.py runs and writes well-formed figures (tiny sizes; no timing is asserted)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

from support.checkout import checkout_env

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


def test_runtime_overhead_figure_runs_and_renders(tmp_path: Path) -> None:
    out = tmp_path / "runtime.json"
    command = [
        sys.executable,
        str(BENCH / "runtime_overhead.py"),
        *("--rounds", "1", "--steps", "2", "--warmup", "1", "--resnet-size", "32", "--json", str(out)),
    ]
    completed = subprocess.run(
        command, cwd=ROOT, env=checkout_env(), capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [model["name"] for model in data["models"]] == ["small", "resnet18"]
    for model in data["models"]:
        assert model["step_seconds"]["median"] > 0 and model["guarded_step_seconds"]["median"] > 0
        assert model["ratio"]["runs"] == 1 and model["forwards_watched"] > 0

    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    run_all = importlib.import_module("run_all")
    rows, missed = run_all.summary_rows({"runtime": data})
    assert [row[0] for row in rows] == [
        "6. runtime guard per training step, small (CPU)",
        "6. runtime guard per training step, resnet18 (CPU)",
    ]
    assert not missed  # reported in the summary, never sent to the profiler
    assert "## 6. Runtime guard overhead" in "\n".join(run_all.render_runtime(data))
