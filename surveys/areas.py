"""Vietnam's administrative units after the July 2025 reform (34 provinces, 3,321 wards/communes).

The official GSO codes come from ``data/areas_gso.csv``, built by ``data/build_areas.py`` from the
``vietnam-provinces`` 2026.9.0 wheel (the releases with official codes need Python >= 3.12; the one
for 3.11 has draft numbers). Every stored area code carries the name of the code list it belongs to
(:data:`CODE_LIST`); ``data/draft_codes.csv`` maps the draft list KhaoSat used before to this one.
The former districts each new ward/commune was formed from come from the GSO conversion table shipped
by ``vietnam-provinces`` 2026.x, kept as a snapshot in ``data/former_districts.csv`` (see
``data/build_former_districts.py``).

:func:`name_key` is hand-written for exactness: Vietnamese names are compared with case, Unicode form
and the old/new placement of tone marks ("Thuỷ" = "Thủy", "Hoà" = "Hòa") ignored, but never the
letters or diacritics that tell two names apart ("Văn Lang" and "Văn Lăng" are two communes).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HANOI = 1
DATA = Path(__file__).parent / "data"
AREAS_CSV = DATA / "areas_gso.csv"
DRAFT_CSV = DATA / "draft_codes.csv"

#: the code list of the official GSO codes in force since 1 July 2025, as vietnam-provinces 2026.9 has them
OFFICIAL_LIST = "gso-2025-07@2026.9"
#: the draft numbering of vietnam-provinces 2025.10.1, which KhaoSat stored before revision 0007
DRAFT_LIST = "draft@2025.10.1"
#: the list every area code stored today belongs to
CODE_LIST = OFFICIAL_LIST
CODE_LISTS = (DRAFT_LIST, OFFICIAL_LIST)  #: oldest first
#: the short name of :data:`CODE_LIST` in links and QR codes (``?ward=229&codes=gso25``)
LINK_TAG = "gso25"


@dataclass(frozen=True)
class Area:
    code: int  #: official code (GSO numbering)
    name: str  #: Vietnamese name with its prefix, e.g. "Phường Hoàn Kiếm"
    level: str  #: "province" or "ward" (a ward, commune or special zone)
    division_type: str  #: "phường", "xã", "đặc khu", "tỉnh", "thành phố trung ương"
    parent_code: int | None = None
    codename: str = ""  #: the package's ascii name, e.g. "phuong_hoan_kiem"


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        yield from csv.DictReader(line for line in f if not line.startswith("#"))


@cache
def _table() -> tuple[Area, ...]:
    return tuple(Area(int(r["code"]), r["name"], r["level"], r["division_type"],
                      int(r["province_code"]) if r["province_code"] else None, r["codename"])
                 for r in _rows(AREAS_CSV))


@cache
def provinces() -> tuple[Area, ...]:
    return tuple(a for a in _table() if a.level == "province")


@cache
def wards(province_code: int = HANOI) -> tuple[Area, ...]:
    """The wards and communes of one province, in the package's order."""
    return tuple(a for a in _table() if a.level == "ward" and a.parent_code == province_code)


@cache
def ward_codes(province_code: int = HANOI) -> frozenset[int]:
    return frozenset(w.code for w in wards(province_code))


@cache
def all_wards() -> dict[int, Area]:
    """Every ward/commune of the country by its official code."""
    return {a.code: a for a in _table() if a.level == "ward"}


NATIONAL = "national"  #: a survey's ``area`` setting for the whole country


def coverage(setting: object) -> tuple[int, ...] | None:
    """The provinces a survey's ``area`` setting names, in code order: ``"national"`` (every province) or
    ``{"provinces": [1, 79]}``; ``None`` when the setting is not one of these or names an unknown province."""
    known = tuple(p.code for p in provinces())
    if setting == NATIONAL:
        return known
    chosen = setting.get("provinces") if isinstance(setting, dict) and set(setting) == {"provinces"} else None
    if not isinstance(chosen, list) or not chosen or not all(type(c) is int for c in chosen):
        return None
    return tuple(sorted(set(chosen))) if set(chosen) <= set(known) else None


def coverage_setting(codes: tuple[int, ...]) -> str | dict[str, list[int]]:
    """The ``area`` setting that names ``codes`` (the inverse of :func:`coverage`)."""
    return NATIONAL if set(codes) == {p.code for p in provinces()} else {"provinces": sorted(codes)}


@cache
def province_names() -> dict[int, str]:
    """Province code -> name ("Thành phố Hà Nội", "Tuyên Quang")."""
    return {p.code: p.name for p in provinces()}


def province_of(ward_code: int) -> int | None:
    """The province a ward/commune belongs to."""
    ward = all_wards().get(ward_code)
    return None if ward is None else ward.parent_code


def data_version() -> str:
    """Where the official table comes from: release, data date and the wheel's sha256."""
    with AREAS_CSV.open(encoding="utf-8") as f:
        return f.readline().lstrip("# ").strip()


# Names ------------------------------------------------------------------------------------------------------

_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền, sắc, ngã, hỏi, nặng
_DASHES = re.compile(r"\s*[-\u2010-\u2015\u2212]\s*")
_APOSTROPHES = re.compile("[\u2018\u2019\u02bc\u0060\u00b4]")
PREFIXES = ("phường", "xã", "đặc khu", "thị trấn")  #: ward-level prefixes a name may be given without


def name_key(name: str) -> str:
    """``name`` reduced to what tells Vietnamese place names apart.

    Case, Unicode form (NFC/NFD), spacing, the kind of dash or apostrophe, and where the tone mark sits in a
    syllable (old style "hoà", "Thuỷ"; new style "hòa", "Thủy") are ignored; letters, vowel marks
    (ă, â, ê, ô, ơ, ư, đ) and the tone itself are kept.
    """
    text = unicodedata.normalize("NFD", name).casefold().replace("\u0111", "đ")
    text = _APOSTROPHES.sub("'", _DASHES.sub("-", " ".join(text.split())))
    words = re.split(r"([ -])", text)
    return "".join(unicodedata.normalize("NFC", "".join(c for c in w if c not in _TONES))
                   + "".join(c for c in w if c in _TONES) for w in words)


def sort_key(name: str) -> tuple[str, str]:
    """For listing names in Vietnamese alphabetical order, near enough: letters first, diacritics second."""
    bare = "".join(c for c in unicodedata.normalize("NFD", name.casefold()) if not unicodedata.combining(c))
    return bare.replace("đ", "dz"), name_key(name)


def _without_prefix(key: str) -> str:
    for prefix in PREFIXES:
        if key.startswith(name_key(prefix) + " "):
            return key[len(name_key(prefix)) + 1:]
    return key


def ward_name_problem(code: int, given: str) -> str | None:
    """``None`` when ``given`` names ward ``code``, else the official name (for the message).

    The name may be given in full ("Phường Hoàn Kiếm") or without its prefix ("Hoàn Kiếm"); a different
    prefix ("Xã Hoàn Kiếm") or any other letter or tone is a mismatch. An empty name is not checked.
    An unknown code is the caller's check (:func:`ward_codes`); here it is reported as a mismatch
    with an empty official name.
    """
    ward = all_wards().get(code)
    if ward is None:
        return ""
    if not given.strip():
        return None
    key, official = name_key(given), name_key(ward.name)
    return None if key in (official, _without_prefix(official)) else ward.name


# Code lists -------------------------------------------------------------------------------------------------

@cache
def draft_to_official() -> dict[int, int]:
    """Draft ward code (vietnam-provinces 2025.10.1) -> the official code of the same unit."""
    return {int(r["draft_code"]): int(r["official_code"]) for r in _rows(DRAFT_CSV)}


@cache
def draft_names() -> dict[int, str]:
    """Draft ward code -> the unit's name in the draft release (for migration reports)."""
    return {int(r["draft_code"]): r["draft_name"] for r in _rows(DRAFT_CSV)}


def ward_from_link(code: int, tag: str | None) -> int | None:
    """The ward a link or QR code names: ``code`` when the link names the current list (``tag``), or when
    it names none (a poster printed earlier) and ``code`` is the same ward in every list; else ``None``
    (the person picks the ward), because an old code may now be the code of another ward."""
    if code not in all_wards():
        return None
    if tag == LINK_TAG:
        return code
    return code if draft_to_official().get(code) == code else None


def conversion(from_list: str, to_list: str = CODE_LIST) -> dict[int, int]:
    """Ward code in ``from_list`` -> code in ``to_list``; a code missing from the dict has no place."""
    if from_list == to_list:
        return {code: code for code in all_wards()}
    if (from_list, to_list) == (DRAFT_LIST, OFFICIAL_LIST):
        return draft_to_official()
    raise ValueError(f"no conversion from {from_list!r} to {to_list!r}; known lists: {', '.join(CODE_LISTS)}")


# Former districts (quận/huyện/thị xã, abolished on 1 July 2025) -------------------------------------------

FORMER_DISTRICTS_CSV = DATA / "former_districts.csv"
SEVERAL = "several"  #: the former-district code of a ward formed equally from several former districts
UNKNOWN = "unknown"  #: the former-district code of a ward the conversion table does not list


@dataclass(frozen=True)
class FormerDistrict:
    """The former district a new ward or commune is counted in, and every district it was formed from."""

    code: str  #: the pre-2025 GSO district code as text, or :data:`SEVERAL`
    name: str  #: "Quận Ba Đình"; empty for :data:`SEVERAL`
    #: (district code, name, former wards/communes of that district that went wholly or partly into the ward)
    sources: tuple[tuple[int, str, int], ...]

    @property
    def is_whole(self) -> bool:
        """True when every former ward/commune of the new ward lay in one former district."""
        return len(self.sources) == 1


def former_districts_source() -> str:
    """Where the conversion table comes from (the first line of the CSV snapshot)."""
    with FORMER_DISTRICTS_CSV.open(encoding="utf-8") as f:
        return f.readline().lstrip("# ").strip()


@cache
def former_districts(province_code: int = HANOI) -> dict[int, FormerDistrict]:
    """Each ward of the province (by its code in the installed package) -> the former district it is counted in.

    A new ward is counted in the former district that contributed the most former wards/communes to it
    (a ward split between several new wards counts for each of them); when two or more districts
    contributed equally it is counted under :data:`SEVERAL`. The table lists no areas or populations,
    so "most" is by number of former units. An empty dict means there is no table for the province.
    """
    codes = {w.codename: w.code for w in wards(province_code)}
    sources: dict[int, list[tuple[int, str, int]]] = {}
    for row in _rows(FORMER_DISTRICTS_CSV):
        if int(row["province_code"]) != province_code or row["ward_codename"] not in codes:
            continue
        sources.setdefault(codes[row["ward_codename"]], []).append(
            (int(row["former_district_code"]), row["former_district_name"], int(row["former_units"])))
    return {ward: _counted_in(tuple(rows)) for ward, rows in sources.items()}


def _counted_in(sources: tuple[tuple[int, str, int], ...]) -> FormerDistrict:
    ranked = sorted(sources, key=lambda s: -s[2])
    if len(ranked) > 1 and ranked[0][2] == ranked[1][2]:
        return FormerDistrict(SEVERAL, "", sources)
    return FormerDistrict(str(ranked[0][0]), ranked[0][1], sources)


Provinces = int | tuple[int, ...]  #: one province's code, or the codes of the provinces a survey covers


def province_codes(provinces: Provinces) -> tuple[int, ...]:
    """``provinces`` as a tuple of codes (one code becomes a 1-tuple)."""
    return (provinces,) if isinstance(provinces, int) else tuple(provinces)


def former_districts_in(provinces: Provinces) -> dict[int, FormerDistrict]:
    """:func:`former_districts` of every province in ``provinces`` (district codes are national)."""
    return {ward: d for code in province_codes(provinces) for ward, d in former_districts(code).items()}


def former_district_names(province_code: int = HANOI) -> dict[str, str]:
    """Former-district code -> name, for the districts wards of the province are counted in."""
    return {d.code: d.name for d in former_districts(province_code).values() if d.code != SEVERAL}
