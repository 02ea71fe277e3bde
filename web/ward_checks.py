"""Checks for a ward given in an uploaded table (margins today; covariates and sample frames next).

A line must give a ward code of the province; when it also gives a name, the name must be the
official one of that code (:func:`surveys.areas.ward_name_problem`: with or without the prefix
"Phường"/"Xã"/"Đặc khu", case, Unicode form and tone placement aside). A code whose name disagrees
is refused, naming the line, the code, the name given and the official name, because a table keyed
by codes of another list would otherwise weight the wrong wards without a word.
"""

from __future__ import annotations

import csv
import io
import re

from surveys import areas
from web.i18n import _

NAME_COLUMNS = ("ward_name", "ward")  #: header names under which an upload may give the ward's name
_CODE = re.compile(r"[0-9]{1,9}")


def csv_rows(data: bytes) -> tuple[list[list[str]] | None, list[str]]:
    """The lines of an uploaded CSV (UTF-8, with or without a byte-order mark), or ``None`` and why not."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [_("The file is not UTF-8 text. Save it as CSV UTF-8 and upload it again.")]
    try:
        return list(csv.reader(io.StringIO(text))), []
    except csv.Error:
        return None, [_("The file is not a readable CSV table.")]


def ward_problems(line: int, code_text: str, name: str, province: int) -> tuple[int | None, list[str]]:
    """The ward code of one line (``None`` when unusable) and the problems with it, in the user's language."""
    code = int(code_text) if _CODE.fullmatch(code_text) else None
    if code is None or code not in areas.ward_codes(province):
        other = areas.all_wards().get(code) if code is not None else None
        if other is not None:
            return None, [_("Line %(line)d: ward code %(code)d is “%(name)s”, which is not in this province.",
                            line=line, code=code, name=other.name)]
        return None, [_("Line %(line)d: unknown ward code “%(value)s”.", line=line, value=code_text)]
    official = areas.ward_name_problem(code, name)
    if official:
        return None, [_("Line %(line)d: ward code %(code)d is “%(official)s”, not “%(given)s”. Check that the "
                        "table uses the official codes of July 2025 (%(list)s).", line=line, code=code,
                        official=official, given=name, list=areas.CODE_LIST)]
    return code, []


def name_column(header: list[str]) -> int | None:
    """The position of the ward-name column in a header, if the table has one."""
    return next((header.index(c) for c in NAME_COLUMNS if c in header), None)
