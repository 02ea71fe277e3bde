"""The app's one in-memory cache: published versions, instruments, weighted designs and what is derived
from them (rankings, protected table families, releases, small-area fits).

One :class:`AppCache` per app (``app.extensions["khaosat_cache"]``), bounded per kind (least recently
used entries go first; weighted designs are large, so few are kept), guarded by one lock, and cleared
in one call (:meth:`AppCache.clear`), which also empties the tables the protected families share
(:func:`analysis.cell_suppression.forget`: that memo lives in :mod:`analysis`, which never imports
``web``, bounded and locked there). Everything in it is shared by every request of the process and
is treated as frozen: a request that needs a changed table makes its own copy.

Nothing here goes stale, so nothing clears it when a version is published, closed or retired or when
responses change: a cached version holds only what never changes (its definition; its state and dates
are read at every use, :func:`web.catalog.find_version`), an instrument is keyed by its version's id and
checksum, and a weighted design, with all that is derived from it, is checked against what it was made
from (:class:`web.research.weighting.Stamp`: the survey's :func:`web.tables.data_stamp`, which a new
response, an exclusion, an edit or an erasure moves, the margins and the fieldwork) before it is used.

Outside an app context (a script, the command line) nothing is cached: :func:`cached` builds the value.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from cachetools import LRUCache
from flask import Flask, current_app, has_app_context

from analysis import cell_suppression

T = TypeVar("T")

#: how many entries of each kind are kept
SIZES = {"version": 1024, "instrument": 128, "weighted": 8, "derived": 512, "chart": 256, "too_large": 64}


class AppCache:
    """Bounded, thread-safe caches by kind, cleared together."""

    def __init__(self, sizes: dict[str, int] | None = None) -> None:
        self._lock = threading.RLock()
        self._parts = {kind: LRUCache(maxsize=size) for kind, size in (sizes or SIZES).items()}
        self._building: dict[tuple, threading.Lock] = {}
        #: how many values were built, by (kind, the first text of their key: "ranking", "estimate", ...)
        self.built: Counter[tuple[str, str]] = Counter()

    def get(self, kind: str, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            return self._parts[kind].get(key, default)

    def put(self, kind: str, key: Hashable, value: Any) -> None:
        with self._lock:
            self._parts[kind][key] = value

    def get_or_build(self, kind: str, key: Hashable, build: Callable[[], T]) -> T:
        """The cached value, or ``build()``'s, built once however many threads ask at the same time."""
        missing = object()
        value = self.get(kind, key, missing)
        if value is not missing:
            return value
        with self.key_lock(kind, key):
            value = self.get(kind, key, missing)
            if value is missing:
                value = self.build_into(kind, key, build)
            return value

    def build_into(self, kind: str, key: Hashable, build: Callable[[], T]) -> T:
        """Build a value and keep it (the caller holds :meth:`key_lock`)."""
        value = build()
        self.put(kind, key, value)
        with self._lock:
            self.built[kind, _name(key)] += 1
        return value

    def key_lock(self, kind: str, key: Hashable) -> threading.Lock:
        with self._lock:
            if len(self._building) > 4096:  # locks of keys long built
                self._building = {k: v for k, v in self._building.items() if v.locked()}
            return self._building.setdefault((kind, key), threading.Lock())

    def clear(self) -> None:
        """Forget everything, the process's protected tables too (after the database is emptied or restored)."""
        with self._lock:
            for part in self._parts.values():
                part.clear()
        cell_suppression.forget()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(part) for part in self._parts.values())


def _name(key: Hashable) -> str:
    return next((k for k in key if isinstance(k, str)), "") if isinstance(key, tuple) else str(key)


def init_app(app: Flask) -> None:
    app.extensions["khaosat_cache"] = AppCache()


def app_cache() -> AppCache | None:
    """The current app's cache; None outside an app context."""
    return current_app.extensions.get("khaosat_cache") if has_app_context() else None


def cached(kind: str, key: Hashable, build: Callable[[], T]) -> T:
    """``build()``, kept in the app's cache under ``(kind, key)``."""
    cache = app_cache()
    return build() if cache is None else cache.get_or_build(kind, key, build)
