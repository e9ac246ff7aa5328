"""The language server: presentation of engine results over the LSP. It never analyses.

Importing this package does not import pygls; ``torchmode.lsp.server`` does.
"""
