"""``python -m torchmode.lsp``: the language server over stdio, as ``torchmode lsp``."""

from torchmode.lsp.server import start_stdio

start_stdio()
