"""What the worker processes of one installation share: in Redis when ``REDIS_URL`` is set, else in the
database's ``weight_snapshots`` table (one row a key).

Two kinds are kept: the weighted designs (:mod:`web.research.snapshots`, Parquet and JSON) and the
cell-suppression patterns (:mod:`web.privacy.suppression`, JSON: which cells of which tables are hidden for
given counts). Each is data, never a pickle, made again by any worker that finds nothing here; an entry
nobody renewed for :data:`EXPIRE_SECONDS` leaves Redis, or the table when another of its kind is saved.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from flask import current_app
from sqlmodel import Session, delete

from analysis.lazy import LazyModule
from web import db
from web.models import WeightSnapshot
from web.models.base import utcnow

# Redis (~0.1 s of CPU to import) is loaded only where REDIS_URL is set (here and in web.jobs, which takes it
# from here): an installation without it never pays for it
redis = LazyModule("redis")

EXPIRE_SECONDS = 7 * 24 * 3600  #: an entry nobody renewed for a week is removed


def redis_key(session: Session, key: str) -> str:
    """The Redis key: one database's entries apart from another's sharing the same Redis (the engine's
    options count: two schemas of one PostgreSQL database, chosen by ``search_path``, are two databases)."""
    options = json.dumps(current_app.config.get("ENGINE_OPTIONS", {}), sort_keys=True, default=str)
    database = hashlib.sha256(f"{session.get_bind().url.render_as_string()} {options}".encode()).hexdigest()[:16]
    return f"khaosat:weights:{database}:{key}"


def in_redis() -> bool:
    return bool(current_app.config.get("REDIS_URL"))


def redis_client():
    """A client of the installation's Redis (``REDIS_URL``)."""
    return redis.Redis.from_url(current_app.config["REDIS_URL"])


def writer(session: Session) -> Session:
    """A session that may write: ``session``, unless it reads the replica (:func:`web.db.read_session`); then
    one on the primary, which the caller closes."""
    return session if session.get_bind() is db.engine() else Session(db.engine())


def save_json(session: Session, key: str, value: Any) -> None:
    """Keep ``value`` (JSON) under ``key`` for the other workers; in the database, entries of the same kind
    (the key's part before its first colon) older than :data:`EXPIRE_SECONDS` are removed with it."""
    if in_redis():
        redis_client().set(redis_key(session, key), json.dumps(value), ex=EXPIRE_SECONDS)
        return
    out = writer(session)
    try:
        kind = key.split(":", 1)[0]
        out.exec(delete(WeightSnapshot).where(WeightSnapshot.key.startswith(f"{kind}:"), WeightSnapshot.key != key,
                                              WeightSnapshot.made_at < utcnow() - dt.timedelta(seconds=EXPIRE_SECONDS)))
        out.merge(WeightSnapshot(key=key, meta=value, frame=b"", diagnostics=b"", made_at=utcnow()))
        out.commit()
    finally:
        if out is not session:
            out.close()


def load_json(session: Session, key: str) -> Any:
    """What :func:`save_json` kept under ``key``; None when nothing is."""
    if in_redis():
        stored = redis_client().get(redis_key(session, key))
        return None if stored is None else json.loads(stored)
    row = session.get(WeightSnapshot, key)
    if row is None:
        return None
    session.expunge(row)
    return row.meta
