"""Shared column helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def utcnow() -> dt.datetime:
    """Now, as an aware UTC datetime (SQLModel stores datetimes as UTC on every backend)."""
    return dt.datetime.now(dt.UTC)


def as_loaded(model: type[T], values: Mapping[str, Any]) -> T:
    """An instance of ``model`` holding ``values``, in no session, made as the ORM makes the rows it reads:
    without the model's ``__init__``, which checks and defaults every field again (a tenth of a submission's
    time)."""
    instance = model.__mapper__.class_manager.new_instance()
    instance.__dict__.update(values)
    return instance
