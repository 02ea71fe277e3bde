"""Shared column helpers."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Now, as an aware UTC datetime (SQLModel stores datetimes as UTC on every backend)."""
    return dt.datetime.now(dt.UTC)
