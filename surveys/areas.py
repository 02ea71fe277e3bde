"""Vietnam's administrative units after the July 2025 reform (34 provinces, 3,321 wards/communes).

Read from the maintained ``vietnam-provinces`` package, so that codes are the official GSO codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

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
