"""Helpers shared by every test folder (``tests/`` is on ``sys.path`` through its conftest)."""
