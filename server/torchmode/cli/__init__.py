"""``torchmode check|fix|rules|explain|lsp``: the command-line face of the engine.

The CLI only presents: it finds files and reads them (``torchmode.files``, shared with the
language server), hands each text to ``engine.check_document`` and prints or applies what
comes back. It never analyses code itself. Its behaviour follows ruff's ``check`` command (output
shapes, ``--fix``/``--diff``, exit codes, configuration in the nearest
``pyproject.toml`` of each file with command-line options on top) so that CI
setups written for ruff carry over. Output formats: text, json (ruff's shape),
github (workflow commands) and sarif (SARIF 2.1.0 for code scanning).

Exit codes: 0 nothing found, 1 findings remain (or ``--diff`` has a diff),
2 usage error or a file that could not be read, decoded, parsed or written.

One question per module; ``common`` is the ground the others stand on:

- ``app``: the argument parser, the table of subcommands and ``main``
- ``check``: ``torchmode check`` / ``fix``, from paths to printed findings
- ``rules``: ``torchmode rules`` and ``torchmode explain``
- ``sources``: reading and writing files and notebooks
- ``settings``: each file's settings, ``--show-settings``
- ``checker``: the engine run on each file, ``--fix``, ``--jobs``
- ``formats``: one module per output format (text, json, github, sarif, diff)
- ``common``: exit codes, usage errors, problems, paths, the ``--locale`` option
"""

from torchmode.cli.app import main
from torchmode.cli.common import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS

# What ``main`` returns is part of the command line's contract, so the codes are named here too.
__all__ = ["EXIT_CLEAN", "EXIT_ERROR", "EXIT_FINDINGS", "main"]
