"""The sampled household an interview comes from: its adults as the volunteer listed them, the adult the
household's rule chose, and the design row (stratum, PSU, base weight) the interview gets from them.

The phone chooses the adult offline (``web/static/adults.js``); the server chooses again from the same list
with :func:`analysis.sampling.doorstep_adult` and refuses an interview whose chosen adult or probability
differs, so a weight never rests on a choice the server cannot repeat. Names stay on the phone: only sex,
age and the birthday's day and month (for the last-birthday rule) are read, and none of them is stored.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from analysis.sampling import SamplingError, days_since_birthday
from web import sampling
from web.i18n import lazy_gettext
from web.models import SampledHousehold

HOUSEHOLD = lazy_gettext("'household' must name a sampled household assigned to you ('id') and list its "
                         "adults ('adults': [{'sex', 'age'}, ...]).")
NOT_THE_RULES_CHOICE = lazy_gettext("The adult chosen on the phone is not the one this household's rule chooses "
                                    "from the adults listed, so the interview cannot be weighted. Ask your "
                                    "supervisor; the interview stays on the phone.")


@dataclass(frozen=True)
class Design:
    """What an interview of a sampled household stores."""

    household: SampledHousehold
    stratum: str
    psu: str
    base_weight: float
    adults: int  #: adults listed
    adult_probability: float  #: the chosen adult's probability of selection within the household


def listed_adults(household: dict) -> tuple[list[dict], dt.date | None] | None:
    """The adults (sex "1"/"2", age, optional birthday MM-DD) and the local date they were listed on, or None
    when the list is malformed."""
    adults, on = household.get("adults"), household.get("on")
    if not isinstance(adults, list) or not 1 <= len(adults) <= 30:
        return None
    kept = [_person(p) for p in adults]
    try:
        day = dt.date.fromisoformat(on) if on is not None else None
    except (TypeError, ValueError):
        return None
    return (kept, day) if all(kept) else None


def _person(person: Any) -> dict | None:
    """One adult as the rule reads them, or None."""
    if not isinstance(person, dict) or person.get("sex") not in ("1", "2"):
        return None
    age, birthday = person.get("age"), person.get("birthday")
    if not isinstance(age, int) or isinstance(age, bool) or not 0 <= age <= 130:
        return None
    if birthday is not None:
        try:
            days_since_birthday(birthday, dt.date(2000, 12, 31))
        except SamplingError:
            return None
    return {"sex": person["sex"], "age": age, **({"birthday": birthday} if birthday is not None else {})}


def sample_design(session: Session, household: Any, volunteer_id: int) -> tuple[Design | None, Any]:
    """(the interview's design, None), (None, None) when the body names no household, or (None, a message)
    when it names one badly: not assigned to this volunteer, adults missing, or another adult than the
    rule's (``selected``, ``probability``, when the phone sends them, must be the server's)."""
    if household is None:
        return None, None
    listed = listed_adults(household) if isinstance(household, dict) else None
    found = sampling.assigned_household(session, household.get("id"), volunteer_id) if listed else None
    if found is None:
        return None, HOUSEHOLD
    adults, on = listed
    stratum, psu, weight, chosen, probability = sampling.design_of(session, found.id, adults, on)
    selected, claimed = household.get("selected", chosen), household.get("probability", probability)
    if (selected != chosen or isinstance(selected, bool) or not isinstance(claimed, int | float)
            or isinstance(claimed, bool) or not math.isclose(claimed, probability, rel_tol=1e-12)):
        return None, NOT_THE_RULES_CHOICE
    return Design(found, stratum, psu, weight, len(adults), probability), None
