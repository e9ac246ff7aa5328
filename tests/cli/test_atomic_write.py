"""The one atomic writer behind --fix, the cache and the runtime report."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from torchmode.files.writing import TEMPORARY_PREFIX, write_atomically


def test_a_new_file_is_created_like_any_other(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        target = tmp_path / "report.json"
        write_atomically(target, b"{}\n")
    finally:
        os.umask(old_umask)
    assert target.read_bytes() == b"{}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # not mkstemp's owner-only 0o600
    assert not list(tmp_path.glob(f"{TEMPORARY_PREFIX}*"))


def test_a_rewritten_source_keeps_its_permissions(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("old\n", encoding="utf-8")
    script.chmod(0o751)
    write_atomically(script, b"new\n", keep_mode_of=script)
    assert script.read_text(encoding="utf-8") == "new\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o751


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "entry.json"
    target.write_bytes(b"old")

    def refuse(source: object, destination: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        write_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert not list(tmp_path.glob(f"{TEMPORARY_PREFIX}*"))
