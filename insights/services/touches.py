"""Touches: a placeholder until helper A's module lands (the lead takes A's version
on merge)."""


def flush() -> None:
    """Helper A replaces this."""
