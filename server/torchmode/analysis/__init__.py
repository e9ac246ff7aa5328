"""Static facts about modes: CFGs, the mode/grad lattice, dataflow and function summaries.

Nothing here knows about LSP or output formats; rules read the facts.
"""
