"""``geopoint``: a GPS position, personal data kept only with its own consent, apart from the answers.

The value is ``{"lat", "lon", "accuracy_m", "consent": true}``; a client sends that with ``"consent": true``, or ODK's
text ``"lat lon [altitude [accuracy]]"`` with the consent. The web page posts the text under the
question's name and the consent box under ``<name>.consent``. Without consent the position is
dropped, as the interview's own GPS fix is; it is then kept among the respondent's personal
details (latitude, longitude, accuracy), never with the answers or in an export.
"""

from __future__ import annotations

import math
from typing import Any

from surveys import messages as msg
from surveys.questions.base import Converted, Form, QuestionType, Writer, register
from surveys.schema import Question

MAX_ACCURACY_M = 100_000.0
YES = ("1", "true", "on", "yes", True)


def _number(value: Any, bound: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and -bound <= number <= bound else None


def _parts(value: Any) -> tuple[Any, Any, Any]:
    if isinstance(value, dict):
        return value.get("lat"), value.get("lon"), value.get("accuracy_m")
    words = str(value).replace(",", " ").split()
    if not 2 <= len(words) <= 4:
        return None, None, None
    return words[0], words[1], words[3] if len(words) == 4 else None


@register
class Geopoint(QuestionType):
    name = "geopoint"
    arithmetic = False
    exported = False
    in_repeat = False
    personal = True
    xlsform = ("geopoint",)
    xlsform_type = "geopoint"
    example = {"lat": 21.0285, "lon": 105.8542, "accuracy_m": 12, "consent": True}

    def form_value(self, q: Question, form: Form, name: str) -> Any:
        point = form.get(name)
        return {"point": point, "consent": form.get(name + ".consent")} if point else None

    def convert(self, q: Question, value: Any) -> Converted:
        if not isinstance(value, dict) or value.get("consent") not in YES:
            return None, None  # no consent: the position is not kept
        lat, lon, accuracy = _parts(value.get("point", value))
        where = {"lat": _number(lat, 90), "lon": _number(lon, 180), "consent": True}  # checked again as it is
        if where["lat"] is None or where["lon"] is None:
            return None, msg.NOT_A_LOCATION
        if accuracy is not None:
            where["accuracy_m"] = _number(accuracy, MAX_ACCURACY_M)
            if where["accuracy_m"] is None or where["accuracy_m"] < 0:
                return None, msg.NOT_A_LOCATION
        return where, None

    def personal_fields(self, value: Any) -> dict[str, Any]:
        return {"latitude": value["lat"], "longitude": value["lon"], "accuracy_m": value.get("accuracy_m"),
                "location_consent": True}

    def export(self, q: Question, row: dict[str, Any], writer: Writer) -> None:
        row["type"] = self.xlsform_type
        writer.rows.append(row)
