"""What the area question offers on a page: the province list (when the survey covers several) and the
chosen province's wards and communes, both in Vietnamese alphabetical order.

With JavaScript off the person picks the province, presses "Show its communes", and the page comes back
with that province's communes: a national survey's page holds 34 provinces and at most one province's
168 communes, never all 3,321. ``area.js`` fetches a province's list (:func:`province_json`) instead; the collection app keeps every
covered province's list offline (``/collect/areas.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache

from flask import Response

import surveys
from surveys import areas, collation
from surveys.questions import area as area_type
from surveys.questions import kind


@dataclass(frozen=True)
class AreaList:
    provinces: tuple[areas.Area, ...] = ()  #: empty when the question covers one province
    province: int | None = None  #: the province whose wards are listed
    wards: tuple[areas.Area, ...] = field(default=())


@cache
def sorted_provinces(codes: tuple[int, ...]) -> tuple[areas.Area, ...]:
    return tuple(sorted((p for p in areas.provinces() if p.code in codes),
                        key=lambda p: collation.province_key(p.name)))


@cache
def sorted_wards(province: int) -> tuple[areas.Area, ...]:
    return tuple(sorted(areas.wards(province), key=lambda w: collation.ward_key(w.name, w.division_type)))


def chosen_province(q: surveys.Question, value, asked: str | None) -> int | None:
    """The province to list: the one asked for (form or link), else the answer's, else the only one."""
    covered = area_type.provinces(q)
    if len(covered) == 1:
        return covered[0]
    try:
        wanted = int(asked or "")
    except ValueError:
        wanted = None
    if wanted in covered:
        return wanted
    try:
        return areas.province_of(int(value))
    except (TypeError, ValueError):
        return None


def area_lists(page: surveys.Page, answers: dict, asked: dict) -> dict[str, AreaList]:
    """Each area question of ``page`` by name -> its lists; ``asked`` maps ``<name>.province`` to a code."""
    out = {}
    for q in page.questions:
        if not kind(q.type).ward_code:
            continue
        covered = area_type.provinces(q)
        province = chosen_province(q, answers.get(q.name), asked.get(f"{q.name}.province"))
        out[q.name] = AreaList(sorted_provinces(covered) if len(covered) > 1 else (), province,
                               sorted_wards(province) if province is not None else ())
    return out


def province_changed(page: surveys.Page, form) -> dict[str, int] | None:
    """When the person asked to see another province's communes (the button, or a province that is not
    the posted commune's): ``{"<name>.province": code}`` for the page's link, else ``None``."""
    for q in page.questions:
        if not kind(q.type).ward_code or len(area_type.provinces(q)) < 2:
            continue
        posted = chosen_province(q, None, form.get(f"{q.name}.province"))
        ward = chosen_province(q, form.get(q.name), None)
        if posted is not None and (form.get("nav") == f"area-{q.name}" or posted != ward):
            return {f"{q.name}.province": posted}
    return None


def compact_json(data) -> Response:
    """``data`` as UTF-8 JSON without spaces or ``\\u`` escapes (a national list is 40% smaller than jsonify's)."""
    return Response(json.dumps(data, ensure_ascii=False, separators=(",", ":")), mimetype="application/json")


def province_json(province: int) -> dict | None:
    """A province's wards for ``area.js`` and the collection app, or ``None`` for an unknown province."""
    if province not in areas.province_names():
        return None
    return {"province": province, "name": areas.province_names()[province],
            "wards": [[w.code, w.name] for w in sorted_wards(province)]}


@dataclass(frozen=True)
class AreaPick:
    """A staff page's province -> commune choice (ward briefs, small-area estimates, sample frames, ward
    assignments): the provinces offered when there are several, the chosen province and its communes."""

    provinces: tuple[areas.Area, ...] = ()  #: empty when only one province is offered
    province: int | None = None
    wards: tuple[areas.Area, ...] = ()
    covered: tuple[int, ...] = ()  #: every province offered (codes)

    @property
    def several(self) -> bool:
        return len(self.covered) > 1


def area_pick(covered: tuple[int, ...], asked: str | int | None = None, ward: int | None = None) -> AreaPick:
    """The choice over ``covered``: the province asked for (``?province=``) when covered, else the chosen
    ward's, else the only one; an unknown or uncovered province is ignored (nothing is listed yet)."""
    covered = tuple(sorted(set(covered)))
    try:
        wanted = int(asked) if asked not in (None, "") else None
    except (TypeError, ValueError):
        wanted = None
    if wanted not in covered:
        wanted = areas.province_of(ward) if ward is not None else None
    if wanted not in covered:
        wanted = covered[0] if len(covered) == 1 else None
    return AreaPick(sorted_provinces(covered) if len(covered) > 1 else (), wanted,
                    sorted_wards(wanted) if wanted is not None else (), covered)


def ward_labels(covered: tuple[int, ...]) -> dict[int, str]:
    """Ward code -> its name for the communes of ``covered``, followed by its province's name where communes
    of different covered provinces share that name ("Xã Tân Phú (Tỉnh Đồng Nai)")."""
    names = areas.province_names()
    wards = [w for code in sorted(set(covered)) for w in areas.wards(code)]
    provinces_of: dict[str, set[int]] = {}
    for w in wards:
        provinces_of.setdefault(w.name, set()).add(w.parent_code)
    return {w.code: (f"{w.name} ({names.get(w.parent_code, w.parent_code)})" if len(provinces_of[w.name]) > 1
                     else w.name) for w in wards}


def upload_province(covered: tuple[int, ...], asked: str | None, default: int) -> AreaPick:
    """The province a staff upload is about (sample frames, ward covariates): the one asked for among
    ``covered``, else ``default`` when covered, else the first in alphabetical order."""
    pick = area_pick(covered, asked)
    if pick.province is None:
        first = default if default in pick.covered else sorted_provinces(pick.covered)[0].code
        pick = area_pick(covered, first)
    return pick
