"""Weighted designs shared between worker processes (gunicorn workers, several hosts).

The worker that makes a survey's weighted design saves it here; another worker whose own cache is
empty or behind loads it (a Parquet read) instead of reading the responses and raking again. In Redis
when ``REDIS_URL`` is set, else in the database (``weight_snapshots``). Only data is stored (Parquet
and JSON, never pickles); the design object is made again from the weighted frame on loading.
A frame Parquet cannot hold (a column mixing numbers and text) is not shared: each worker makes its own.
The responses kept apart from the official stream (the self-selected ones: QR codes and links) are saved
with it (in the database as a second row, ``<key>#apart``, written in the same transaction and matched by
an id in both descriptions), so that a survey with both streams is shared too.
"""

from __future__ import annotations

import io
import json
import uuid

from flask import current_app
from sqlmodel import Session, select

from analysis.lazy import pandas as pd
from analysis.lazy import pyarrow as pa
from web.models import WeightSnapshot
from web.models.base import utcnow
from web.shared_state import EXPIRE_SECONDS, in_redis, redis_client, redis_key, writer

__all__ = ["load", "meta", "redis_key", "save"]


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, compression="lz4")
    return buffer.getvalue()


def save(session: Session, key: str, meta: dict, frame: pd.DataFrame, diagnostics: pd.DataFrame,
         apart: pd.DataFrame | None = None) -> None:
    """Keep a weighted design (and the responses kept apart from it) for the other workers (quietly nothing
    when a frame cannot be stored)."""
    try:
        frame, diagnostics = _parquet(frame), _parquet(diagnostics)
        apart = None if apart is None or apart.empty else _parquet(apart)
    except (pa.ArrowException, ValueError, TypeError):
        current_app.logger.info("the weights of %s are not shared: a column mixes types", key)
        return
    meta = {**meta, "id": uuid.uuid4().hex, "apart": None if apart is None else uuid.uuid4().hex}
    if in_redis():
        redis_client().hset(redis_key(session, key), mapping={"meta": json.dumps(meta), "frame": frame,
                                                       "diagnostics": diagnostics, "apart": apart or b""})
        redis_client().expire(redis_key(session, key), EXPIRE_SECONDS)
        return
    out = writer(session)  # a session on the read replica cannot write: the primary takes it
    out.merge(WeightSnapshot(key=key, meta=meta, frame=frame, diagnostics=diagnostics, made_at=utcnow()))
    if apart is not None:
        out.merge(WeightSnapshot(key=f"{key}#apart", meta={"apart": meta["apart"]}, frame=apart, diagnostics=b"",
                                 made_at=utcnow()))
    out.commit()
    if out is not session:
        out.close()


def meta(session: Session, key: str) -> dict | None:
    """The description of what is saved under ``key`` (its stamp first), without the tables."""
    if in_redis():
        stored = redis_client().hget(redis_key(session, key), "meta")
        return None if stored is None else json.loads(stored)
    return session.exec(select(WeightSnapshot.meta).where(WeightSnapshot.key == key)).first()


def load(session: Session, key: str) -> tuple[dict, pd.DataFrame, pd.DataFrame, pd.DataFrame] | None:
    """What another worker saved under ``key`` (meta, frame, diagnostics, the responses kept apart); None when
    there is none (or its two parts are of two different saves)."""
    if in_redis():
        stored = redis_client().hgetall(redis_key(session, key))
        if not stored:
            return None
        meta, frame, diagnostics = json.loads(stored[b"meta"]), stored[b"frame"], stored[b"diagnostics"]
        apart = stored.get(b"apart") or None
    else:
        row = session.get(WeightSnapshot, key)
        if row is None:
            return None
        meta, frame, diagnostics, apart = row.meta, row.frame, row.diagnostics, None
        session.expunge(row)
        if meta.get("apart"):
            part = session.get(WeightSnapshot, f"{key}#apart")
            if part is None or part.meta.get("apart") != meta["apart"]:  # saved again in between
                return None
            apart = part.frame
            session.expunge(part)
    if meta.get("apart") and apart is None:
        return None
    return (meta, pd.read_parquet(io.BytesIO(frame)), pd.read_parquet(io.BytesIO(diagnostics)),
            pd.read_parquet(io.BytesIO(apart)) if apart else pd.DataFrame())
