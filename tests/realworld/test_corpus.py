"""The corpus downloader without the network: file selection, hash pinning, atomic extraction."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path
from typing import Any

import corpus
import pytest
from corpus import PINS, CorpusError, Pin


def _pin(name: str) -> Pin:
    return next(pin for pin in PINS if pin.name == name)


def test_the_pins_are_distinct_and_pinned() -> None:
    assert len({pin.name for pin in PINS}) == len(PINS) >= 8
    for pin in PINS:
        assert len(pin.sha256) == 64 and pin.wheel.endswith(".whl"), pin.name


def test_file_selection() -> None:
    timm = _pin("timm")
    assert timm.selects("timm/__init__.py")
    assert timm.selects("timm/utils/model_ema.py")
    assert timm.selects("timm/layers/norm/deep.py")  # ** crosses folders
    assert timm.selects("timm/models/_builder.py")
    assert timm.selects("timm/models/resnet.py")
    assert not timm.selects("timm/models/beit.py")
    assert not timm.selects("timm/models/README.md")
    transformers = _pin("transformers")
    assert transformers.selects("transformers/trainer.py")
    assert not transformers.selects("transformers/models/bert/modeling_bert.py")
    ignite = _pin("pytorch-ignite")
    assert ignite.selects("ignite/engine/engine.py")
    assert not ignite.selects("pytorch_ignite-0.5.5.dist-info/RECORD")


def _fake_wheel(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pkg/__init__.py", "")
        archive.writestr("pkg/train.py", "def train(model):\n    model.train()\n")
        archive.writestr("pkg/data.json", "{}")
        archive.writestr("pkg-1.0.dist-info/METADATA", "Name: pkg\n")


def _pin_for(wheel: Path) -> Pin:
    return Pin("pkg", "1.0", wheel.name, corpus._sha256(wheel))


def test_extraction_is_atomic_and_idempotent(tmp_path: Path) -> None:
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    _fake_wheel(wheel)
    pin = _pin_for(wheel)
    sources = tmp_path / "src"
    # A half-finished earlier run leaves a temp folder behind: it is neither used nor in the way.
    (sources / f".{pin.key}-leftover").mkdir(parents=True)
    root = corpus._extract(pin, wheel, sources)
    assert sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()) == [
        "pkg/__init__.py",
        "pkg/train.py",
    ]
    (root / "pkg" / "train.py").write_text("# kept\n")
    assert corpus._extract(pin, wheel, sources) == root  # already there: not extracted again
    assert (root / "pkg" / "train.py").read_text() == "# kept\n"


def test_a_download_with_another_hash_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good" / "pkg-1.0-py3-none-any.whl"
    good.parent.mkdir()
    _fake_wheel(good)
    pin = _pin_for(good)

    def fake_pip(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        target = Path(command[command.index("-d") + 1]) / pin.wheel
        target.write_bytes(b"not the pinned wheel")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_pip)
    with pytest.raises(CorpusError, match="does not match the pinned"):
        corpus._download(pin, tmp_path / "wheels")
    assert not (tmp_path / "wheels" / pin.wheel).exists()


def test_a_failed_download_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_pip(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "ERROR: Could not find a version")

    monkeypatch.setattr(subprocess, "run", failing_pip)
    with pytest.raises(CorpusError, match=r"could not download skorch==1\.4\.0 from PyPI"):
        corpus._download(_pin("skorch"), tmp_path / "wheels")
