"""The settings of each checked file (its nearest ``[tool.torchmode]``, ``--config`` or
``--isolated``, then the command-line options on top) and ``--show-settings``, which prints them."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from torchmode.cli.common import EXIT_CLEAN, Problems, UsageError, display_path
from torchmode.config import ConfigLayer, ConfigLoader, ConfigProblem, ResolvedConfig
from torchmode.settings import Settings

_SELECTOR = re.compile(r"[A-Z]+[0-9]*")


def _selectors(raw: Sequence[str] | None, option: str, known_codes: Sequence[str] | None) -> tuple[str, ...]:
    """Comma-separated code prefixes, checked against the rule registry when it is available."""
    selectors: list[str] = []
    for chunk in raw or ():
        for item in chunk.split(","):
            code = item.strip().upper()
            if not code:
                continue
            if code == "ALL":
                code = "TM"
            if not _SELECTOR.fullmatch(code):
                raise UsageError(
                    f"invalid value {item.strip()!r} for {option}: expected a rule code or prefix"
                )
            if known_codes is not None and not any(known.startswith(code) for known in known_codes):
                raise UsageError(f"invalid value {item.strip()!r} for {option}: no rule code starts with it")
            selectors.append(code)
    return tuple(selectors)


class SettingsResolver:
    """The settings of each checked file: its nearest ``[tool.torchmode]``, then the command line.

    Each configuration problem is printed once (as a warning, like any file that
    could not be checked), however many files share the bad pyproject.toml.
    """

    def __init__(
        self, args: argparse.Namespace, known_codes: Sequence[str] | None, problems: Problems
    ) -> None:
        self.problems = problems
        self.loader = ConfigLoader(known_codes or ())
        self.command_line = ConfigLayer(
            select=_selectors(args.select, "--select", known_codes) or None,
            extend_select=_selectors(args.extend_select, "--extend-select", known_codes),
            ignore=_selectors(args.ignore, "--ignore", known_codes),
            locale=args.locale,
        )
        self.isolated = args.isolated
        self.fixed_config: ResolvedConfig | None = None
        self._explicit_layer: tuple[Path, ConfigLayer] | None = None
        self._reported: set[str] = set()
        if args.config is not None:
            self.fixed_config = self._explicit(Path(args.config))

    def _explicit(self, path: Path) -> ResolvedConfig:
        """``--config FILE``: one pyproject.toml for every file, wherever they are."""
        if not path.is_file():
            raise UsageError(f"--config {path}: no such file")
        absolute = Path(os.path.abspath(path))
        loaded = self.loader.config_file(absolute)
        if not loaded.owned:
            raise UsageError(f"--config {path}: the file has no [tool.torchmode] table")
        self._report(loaded.problems)
        self._explicit_layer = (absolute, loaded.layer)
        return self.loader.resolve(None, (loaded.layer, self.command_line))

    def cache_setting(self, folder: Path) -> tuple[str | None, Path] | None:
        """The ``cache-dir`` of the configuration in effect in ``folder`` (the current one), and
        the pyproject.toml it is written in; None without one (``--isolated``, none found).
        Its problems are reported when a checked file uses that configuration."""
        if self._explicit_layer is not None:
            path, layer = self._explicit_layer
            return layer.cache_dir, path
        if self.isolated:
            return None
        found, loaded = self.loader.find(folder)
        if found is None:
            return None
        return loaded.layer.cache_dir, found

    def resolve(self, path: Path) -> ResolvedConfig:
        if self.fixed_config is not None:
            return self.fixed_config
        if self.isolated:
            return self.loader.resolve(None, (self.command_line,))
        resolved = self.loader.resolve_path(path, (self.command_line,))
        self._report(resolved.problems)
        return resolved

    def _report(self, problems: Iterable[ConfigProblem]) -> None:
        for problem in problems:
            # Relative to the current folder, like the checked files' paths.
            text = str(dataclasses.replace(problem, source=display_path(Path(problem.source))))
            if text not in self._reported:
                self._reported.add(text)
                self.problems.warning(text)


def show_settings(
    resolver: SettingsResolver, paths: Sequence[Path], given: Sequence[str], out: TextIO
) -> int:
    """``--show-settings``: the effective settings of the first file (or folder), like ruff's."""
    target = paths[0] if paths else Path(given[0])
    resolved = resolver.resolve(target / "__init__.py" if target.is_dir() else target)
    print(f"Resolved settings for: {display_path(target)}", file=out)
    print(
        f"Settings path: {resolved.config_path or 'none (no pyproject.toml with [tool.torchmode])'}", file=out
    )
    print(file=out)
    for line in settings_lines(resolved.settings):
        print(line, file=out)
    return EXIT_CLEAN


def settings_lines(settings: Settings) -> list[str]:
    """``Settings`` as ``[tool.torchmode]`` lines (TOML), with the pyproject key names."""

    def toml(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(toml(item) for item in value) + "]"
        if isinstance(value, dict):
            return (
                "{ " + ", ".join(f"{key} = {toml(item)}" for key, item in value.items()) + " }"
                if value
                else "{}"
            )
        return str(value)

    values: list[tuple[str, object]] = [
        ("select", settings.select),
        ("ignore", settings.ignore),
        ("severity", {code: level.value for code, level in settings.severity}),
        ("fix-safe", dict(settings.fix_safety)),
        ("eval-names", settings.eval_names),
        ("eval-loader-names", settings.eval_loader_names),
        ("locale", settings.locale),
    ]
    return [f"{key} = {toml(value)}" for key, value in values]
