"""The disclosure-risk report that comes with each microdata release, in the page's language or both.

Rows: records, sample uniques, records whose key fewer than 2, 3 and 5 records share, expected
re-identifications, global risk, the largest individual risk and, for the scientific-use file, the
records above the threshold; each before and after protection (sdcMicro's ``print(sdc, "risk")``).
"""

from __future__ import annotations

from flask_babel import force_locale

from analysis.lazy import pandas as pd
from web.i18n import _, lazy_gettext
from web.research.releases import SCIENTIFIC, Release

MEASURES = [
    ("records", lazy_gettext("Records")),
    ("sample_uniques", lazy_gettext("Sample uniques (no other record shares the key)")),
    ("below_2", lazy_gettext("Records whose key fewer than 2 records share")),
    ("below_3", lazy_gettext("Records whose key fewer than 3 records share")),
    ("below_5", lazy_gettext("Records whose key fewer than 5 records share")),
    ("expected_reidentifications", lazy_gettext("Expected re-identifications")),
    ("global_risk", lazy_gettext("Global risk (expected re-identifications ÷ records)")),
    ("max_risk", lazy_gettext("Largest individual risk")),
    ("above_threshold", lazy_gettext("Records whose individual risk exceeds the threshold")),
]


def _values(risk) -> dict:
    if risk is None:
        return {}
    d = risk.as_dict()
    return {**d, "below_2": d["below_k"][2], "below_3": d["below_k"][3], "below_5": d["below_k"][5]}


def rows(made: Release) -> list[dict]:
    """One row per measure: ``name``, ``label`` (current language), ``before``, ``after``."""
    before, after = _values(made.before), _values(made.after)
    return [{"name": name, "label": str(label), "before": before.get(name), "after": after.get(name)}
            for name, label in MEASURES if made.tier == SCIENTIFIC or name != "above_threshold"]


def report_frame(made: Release) -> pd.DataFrame:
    """The report as a sheet: measures with their labels in Vietnamese and English, before and after,
    then what was removed, recoded and suppressed."""
    labels = {}
    for lang in ("vi", "en"):
        with force_locale(lang):
            labels[lang] = {r["name"]: r["label"] for r in rows(made)}
            labels[lang]["_keys"] = _("Quasi-identifiers")
            labels[lang]["_area"] = _("Area level kept")
            labels[lang]["_removed"] = _("Variables left out")
            labels[lang]["_suppressed"] = _("Values suppressed")
    out = [{"measure": r["name"], "label_vi": labels["vi"][r["name"]], "label_en": labels["en"][r["name"]],
            "before": r["before"], "after": r["after"]} for r in rows(made)]
    out.append({"measure": "quasi_identifiers", "label_vi": labels["vi"]["_keys"], "label_en": labels["en"]["_keys"],
                "before": ", ".join(made.keys), "after": ", ".join(made.keys)})
    out.append({"measure": "area_level", "label_vi": labels["vi"]["_area"], "label_en": labels["en"]["_area"],
                "before": "ward_code", "after": made.area_level})
    out.append({"measure": "removed", "label_vi": labels["vi"]["_removed"], "label_en": labels["en"]["_removed"],
                "before": "", "after": ", ".join(made.removed)})
    for key, count in made.suppressed.items():
        out.append({"measure": f"suppressed:{key}", "label_vi": f"{labels['vi']['_suppressed']}: {key}",
                    "label_en": f"{labels['en']['_suppressed']}: {key}", "before": 0, "after": count})
    return pd.DataFrame(out, columns=["measure", "label_vi", "label_en", "before", "after"])
