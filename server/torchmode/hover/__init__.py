"""Hovers: what a mode or grad API does (``api``), and the mode and grad state a model is in
at a line and where it came from (``state``). Features above the rules; texts from ``docs``."""
