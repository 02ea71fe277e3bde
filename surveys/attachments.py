"""Choice lists from a CSV attached to an XLSForm (``select_one_from_file wards.csv``).

The CSV has a ``name`` column (the code), a ``label`` column or ``label::Vietnamese (vi)`` style
columns, and any others (kept as the choice's columns, for ``choice_filter``), as ODK and KoboToolbox
read it. Rows are returned in the shape pyxform gives the choices sheet's rows.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from surveys.messages import Message

MAX_BYTES = 2_000_000
MAX_ROWS = 20_000


class AttachmentError(ValueError):
    """A CSV that cannot serve as a choice list; ``detail`` says why (``instrument.why.attachment_*``)."""

    def __init__(self, why: str, **params: Any):
        self.detail = Message(f"instrument.why.attachment_{why}", params)
        super().__init__(str(self.detail))


def read_choices(path: Path) -> list[dict[str, Any]]:
    """The rows of an attached CSV as choice items: ``{"name", "label", other columns}``."""
    if path.stat().st_size > MAX_BYTES:
        raise AttachmentError("too_large", limit=MAX_BYTES)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AttachmentError("not_utf8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if "name" not in (reader.fieldnames or []):
        raise AttachmentError("no_name_column")
    items = []
    for row in reader:
        if len(items) >= MAX_ROWS:
            raise AttachmentError("too_many_rows", limit=MAX_ROWS)
        if (row.get("name") or "").strip():
            items.append(_item(row))
    return items


def _item(row: dict[str | None, Any]) -> dict[str, Any]:
    labels = {str(k)[len("label::"):]: v for k, v in row.items() if str(k).startswith("label::") and v}
    item: dict[str, Any] = {k: v for k, v in row.items() if k and not str(k).startswith("label")}
    item["name"] = str(row["name"]).strip()
    item["label"] = labels or row.get("label") or item["name"]
    return item
