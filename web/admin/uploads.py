"""An uploaded instrument between its check and the admin's confirmation (a two-step upload).

The checked instrument waits as plain data in ``pending_uploads`` for the admin who uploaded it; the
review page shows what the file says about itself (slug, titles) and where that came from, and
saving makes a draft version. Pending uploads older than a day are removed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import tempfile
from pathlib import Path

from flask import current_app
from sqlmodel import delete, select
from werkzeug.datastructures import FileStorage

import surveys
from surveys.slugs import slug_from
from web import db
from web.config import upload_limits
from web.models import PendingUpload
from web.models.base import utcnow

SUFFIXES = (".yaml", ".yml", ".xlsx", ".xls")
KEPT_FOR = dt.timedelta(days=1)
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class NotAnInstrument(Exception):
    """The file is not a .yaml or .xlsx one, or could not be read at all."""


def check(upload: FileStorage, attached: FileStorage | None = None) -> surveys.Instrument:
    """The instrument in an uploaded file, checked against the upload caps; raises
    :class:`surveys.InstrumentError` (its problems name the user's file) or :class:`NotAnInstrument`.
    ``attached``: the optional CSV an XLSForm's ``select_one_from_file`` names (its rows become the
    instrument's choices, so the pending upload needs no file of its own)."""
    name = Path(getattr(upload, "filename", None) or "").name
    if not name or Path(name).suffix.lower() not in SUFFIXES:
        raise NotAnInstrument()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{Path(name).suffix.lower()}"
        upload.save(str(path))
        try:
            return surveys.load_instrument(path, name, upload_limits(current_app.config),
                                           _attachments(attached, Path(folder)))
        except surveys.InstrumentError:
            raise
        except Exception as exc:  # noqa: BLE001 - an unreadable file is the uploader's problem, not a 500
            raise NotAnInstrument() from exc


def _attachments(attached: FileStorage | None, folder: Path) -> dict[str, Path]:
    """The optional CSV sent with an XLSForm, by the file name the form gives it."""
    name = Path(getattr(attached, "filename", None) or "").name
    if not name:
        return {}
    path = folder / "attachment.csv"
    attached.save(str(path))
    return {name: path}


def keep(instrument: surveys.Instrument, file: str, user_id: int) -> PendingUpload:
    """Keep a checked instrument for the review page (and forget those over a day old)."""
    session = db.session()
    session.exec(delete(PendingUpload).where(PendingUpload.created_at < utcnow() - KEPT_FOR))
    pending = PendingUpload(token=secrets.token_urlsafe(24), user_id=user_id, file=file[:200],
                            definition=json.loads(json.dumps(instrument.source, ensure_ascii=False, default=str)),
                            from_file_name=instrument.slug == slug_from("", Path(file).stem))
    session.add(pending)
    session.commit()
    return pending


def find(token: str, user_id: int) -> PendingUpload | None:
    """The pending upload ``token`` of this admin, or None."""
    if not TOKEN_RE.match(token or ""):
        return None
    return db.session().exec(select(PendingUpload).where(PendingUpload.token == token,
                                                         PendingUpload.user_id == user_id)).first()


def instrument_of(pending: PendingUpload) -> surveys.Instrument:
    return surveys.from_dict(pending.definition, pending.file)


def drop(pending: PendingUpload) -> None:
    session = db.session()
    session.delete(pending)
    session.commit()
