"""Named policies passed explicitly to designs and estimators.

Each option that changes numbers is an :class:`enum.Enum` (never a global switch, unlike R's
``options(survey.lonely.psu=...)``) and is recorded with the design that uses it.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. Section 2.2 (lonely PSUs).
"""

from __future__ import annotations

from enum import Enum, unique
from typing import TypeVar

from analysis.errors import DesignError

__all__ = ["LonelyPSU", "CIMethod", "ReplicateType", "QuantileRule", "coerce"]


@unique
class LonelyPSU(Enum):
    """What to do with a stratum holding a single PSU (R's ``survey.lonely.psu``)."""

    FAIL = "fail"
    REMOVE = "remove"
    ADJUST = "adjust"
    CERTAINTY = "certainty"
    AVERAGE = "average"


@unique
class CIMethod(Enum):
    """Confidence interval for a proportion, as R's ``svyciprop`` (see :mod:`analysis.intervals`).

    ``wald`` is R's ``method="mean"``; ``"mean"`` is accepted as its other name. R's
    ``likelihood`` is not offered (asking for it raises).
    """

    LOGIT = "logit"
    BETA = "beta"
    XLOGIT = "xlogit"
    ASIN = "asin"
    WALD = "wald"

    @classmethod
    def _missing_(cls, value):
        return cls.WALD if isinstance(value, str) and value.lower() == "mean" else None


@unique
class ReplicateType(Enum):
    """Replicate-weight methods of R's ``as.svrepdesign``."""

    JK1 = "JK1"
    JKN = "JKn"
    BOOTSTRAP = "bootstrap"


@unique
class QuantileRule(Enum):
    """Quantile definitions of R's ``svyquantile`` (``qrule=``)."""

    MATH = "math"
    HF7 = "hf7"


E = TypeVar("E", bound=Enum)


def coerce(enum: type[E], value: E | str, name: str) -> E:
    """Return ``value`` as a member of ``enum``; a ``DesignError`` names the bad value and the allowed set."""
    if isinstance(value, enum):
        return value
    try:
        return enum(value)
    except ValueError:
        pass
    for member in enum:
        if value == member.value or (isinstance(value, str) and value.lower() == member.value.lower()):
            return member
    allowed = ", ".join(repr(m.value) for m in enum)
    raise DesignError(f"{name}={value!r} is not allowed; choose one of {allowed}")
