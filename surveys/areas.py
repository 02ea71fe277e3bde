"""Vietnam's administrative units after the July 2025 reform (34 provinces, 3,321 wards/communes).

Read from the maintained ``vietnam-provinces`` package, so that codes are the official GSO codes.
The former districts each new ward/commune was formed from come from the GSO conversion table shipped
by ``vietnam-provinces`` 2026.x, kept as a snapshot in ``data/former_districts.csv`` (see
``data/build_former_districts.py`` for why and how to rebuild it).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from vietnam_provinces import Province, Ward

HANOI = 1


@dataclass(frozen=True)
class Area:
    code: int  #: official code (GSO numbering)
    name: str  #: Vietnamese name with its prefix, e.g. "Phường Hoàn Kiếm"
    level: str  #: "province" or "ward" (a ward, commune or special zone)
    division_type: str  #: "phường", "xã", "đặc khu", "tỉnh", "thành phố trung ương"
    parent_code: int | None = None


@cache
def provinces() -> tuple[Area, ...]:
    return tuple(
        Area(int(p.code), p.name, "province", p.division_type.value) for p in Province.iter_all()
    )


@cache
def wards(province_code: int = HANOI) -> tuple[Area, ...]:
    """The wards and communes of one province, in the package's order."""
    return tuple(
        Area(int(w.code), w.name, "ward", w.division_type.value, int(w.province_code))
        for w in Ward.iter_all()
        if int(w.province_code) == province_code
    )


@cache
def ward_codes(province_code: int = HANOI) -> frozenset[int]:
    return frozenset(w.code for w in wards(province_code))


def data_version() -> str:
    import vietnam_provinces

    return str(getattr(vietnam_provinces, "__data_version__", "unknown"))


# Former districts (quận/huyện/thị xã, abolished on 1 July 2025) -------------------------------------------

FORMER_DISTRICTS_CSV = Path(__file__).parent / "data" / "former_districts.csv"
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
    codes = {w.codename: int(w.code) for w in Ward.iter_all() if int(w.province_code) == province_code}
    sources: dict[int, list[tuple[int, str, int]]] = {}
    with FORMER_DISTRICTS_CSV.open(encoding="utf-8") as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
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


def former_district_names(province_code: int = HANOI) -> dict[str, str]:
    """Former-district code -> name, for the districts wards of the province are counted in."""
    return {d.code: d.name for d in former_districts(province_code).values() if d.code != SEVERAL}
