"""The demo's errors: each is one line for ``zkclear demo`` (exit 1; the
CLI reads ``exit_code``)."""
from __future__ import annotations


class DemoError(Exception):
    """The demo could not run (one line, exit 1)."""

    exit_code = 1


class PortTaken(DemoError):
    """A node could not listen on its port (taken since it was found free)."""


__all__ = ["DemoError", "PortTaken"]
