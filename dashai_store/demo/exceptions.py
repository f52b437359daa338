"""The demo's own two failures (a store failure raises its :mod:`dashai_store.errors` type)."""

from __future__ import annotations

__all__ = ["DemoFailed", "DemoHomeRefused"]


class DemoHomeRefused(Exception):
    """The demo home cannot be used (not a folder, or someone else's non-empty folder)."""


class DemoFailed(Exception):
    """A walkthrough's own cross-check failed (e.g. a table did not read back as written)."""
