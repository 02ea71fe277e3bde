"""A survey's URL name (its slug): the pattern it must match, and one made from a form's id or file name.

Kept apart from the XLSForm reader so that the admin pages can name an upload without loading pyxform.
"""

from __future__ import annotations

import re
import unicodedata

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,63}$")


def slug_from(form_id: str, stem: str) -> str:
    """The survey's URL name: from the form's id, else the file's name (Vietnamese letters unaccented)."""
    for candidate in (form_id, stem):
        slug = re.sub(r"[^a-z0-9-]+", "-", ascii_letters(candidate).lower()).strip("-")
        slug = re.sub(r"-{2,}", "-", slug)
        if slug and not slug[0].isalpha():
            slug = "form-" + slug
        if SLUG_RE.match(slug[:64]):
            return slug[:64]
    return "imported-form"


def ascii_letters(text: str) -> str:
    """'Khảo sát Đống Đa' -> 'Khao sat Dong Da'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
