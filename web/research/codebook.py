"""The codebook of a survey's microdata: every exported variable, its question, codes, labels,
skip logic and, for derived indicators, how they are computed. Used by every export format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import surveys
from surveys.questions import kind
from web.i18n import languages, lazy_gettext
from web.messages import in_every_language
from web.population import AGE_BANDS
from web.research import derived

#: identifying answers left out of the de-identified microdata (age band is kept instead of birth year)
WITHHELD = ("birth_year",)
#: design variables holding whole numbers
INTEGER_DESIGN = ("id", "survey_version", "ward_code", "province_code", "age_band", "edited")
DESIGN = [
    ("id", "num", lazy_gettext("Response id (database row)")),
    ("survey_version", "num", lazy_gettext("Questionnaire version")),
    ("ward_code", "num", lazy_gettext("Ward/commune code (GSO)")),
    ("ward", "str", lazy_gettext("Ward/commune name")),
    ("province_code", "num", lazy_gettext("Province code (GSO) of the ward/commune")),
    ("province", "str", lazy_gettext("Province name")),
    ("area_type", "str", lazy_gettext("Unit type: urban = phường, rural = xã")),
    ("stratum", "str", lazy_gettext("Sampling stratum (design variable)")),
    ("psu", "str", lazy_gettext("Primary sampling unit (cluster, design variable)")),
    ("base_weight", "num", lazy_gettext("Design (base) weight")),
    ("weight", "num", lazy_gettext("Final weight (calibrated to the population; empty for self-selected responses, which the "
                                            "official estimates leave out)")),
    ("channel", "str", lazy_gettext("Channel: self-completion or interview")),
    ("stream", "str", lazy_gettext("Stream: probability = the probability sample (a drawn household), "
                                     "nonprobability = self-selected (QR code, link, a household not drawn)")),
    ("language", "str", lazy_gettext("Language of the answers")),
    ("edited", "num", lazy_gettext("Corrected by staff after it arrived (1 = yes, 0 = no); values are the current ones")),
    ("submitted_month", "str", lazy_gettext("Month submitted (YYYY-MM, Vietnam time)")),
    ("age_band", "str", lazy_gettext("Age band (from the year of birth)")),
]


NOT_CHOSEN, CHOSEN = lazy_gettext("Not chosen"), lazy_gettext("Chosen")
NUMBER_OF_ROWS = lazy_gettext("number of rows")


@dataclass
class Variable:
    name: str
    kind: str  #: "num" or "str"
    label: dict[str, str]
    codes: list[tuple[str, dict[str, str]]] = field(default_factory=list)  #: (code, labels)
    numeric_codes: dict[str, int] = field(default_factory=dict)  #: code -> number in .sav/.dta
    relevant: str = ""
    derivation: str = ""
    question_type: str = ""
    integer: bool = False  #: whole numbers (ids, codes, counts): integer types in every format


def _numeric_codes(codes: list[str]) -> dict[str, int]:
    if all(c.lstrip("-").isdigit() for c in codes):
        return {c: int(c) for c in codes}
    return {c: i for i, c in enumerate(codes, start=1)}


def _text(instrument: surveys.Instrument, text) -> dict[str, str]:
    return {lang: instrument.text(text, lang) for lang in dict.fromkeys(("vi", "en", *languages()))}


def _relevance(instrument: surveys.Instrument) -> dict[str, str]:
    out = {}
    for page in instrument.pages:
        for q in page.questions:
            conditions = [c for c in (page.relevant, q.relevant) if c]
            for v in q.variables:
                out[v.name] = " and ".join(f"({c})" for c in conditions) if len(conditions) > 1 else \
                    (conditions[0] if conditions else "")
    return out


def _question_variables(instrument: surveys.Instrument, q: surveys.Question, relevant: str,
                        derivations: dict[str, str]) -> list[Variable]:
    """The exported variables of one question: one, or one 0/1 per choice of a multiple choice."""
    label = _text(instrument, q.label)
    question_type = kind(q.type)
    if question_type.many_codes:
        return [Variable(f"{q.name}_{choice.code}", "num",
                         {lang: f"{label[lang]} — {chosen[lang]}" for lang in label},
                         [("0", in_every_language(NOT_CHOSEN)), ("1", in_every_language(CHOSEN))],
                         {"0": 0, "1": 1}, relevant, question_type=q.type, integer=True)
                for choice in q.choices for chosen in [_text(instrument, choice.label)]]
    if q.type == "repeat":  # the main table holds a roster's number of rows; the rows are a table of their own
        rows = in_every_language(NUMBER_OF_ROWS)
        return [Variable(q.name, "num", {lang: f"{label[lang]} — {rows[lang]}" for lang in label},
                         relevant=relevant, question_type=q.type, integer=True)]
    codes = [(c.code, _text(instrument, c.label)) for c in q.choices]
    numeric = question_type.numeric or (codes and all(
        c.lstrip("-").isdigit() for c, _ in codes))
    return [Variable(q.name, "num" if numeric else "str", label, codes,
                     _numeric_codes([c for c, _ in codes]) if codes else {},
                     relevant, derivations.get(q.name, q.calculation or ""), q.type,
                     integer=bool(codes) or question_type.whole_numbers)]


def _roster_keys() -> list[Variable]:
    return [Variable("id", "num", in_every_language(lazy_gettext("Response id (matches the id column of the main "
                                                                 "table)")), integer=True),
            Variable("row", "num", in_every_language(lazy_gettext("Row number in the roster (from 1)")), integer=True)]


def rosters(instrument: surveys.Instrument) -> dict[str, list[Variable]]:
    """Each roster (repeat) of the instrument and the variables of its own table: the response id, the
    row number, then the roster's questions (as Kobo and ODK export a repeat group: one row per row)."""
    relevance = _relevance(instrument)
    derivations = _derivations(instrument)
    out = {}
    for q in instrument.variables:
        if q.type == "repeat":
            fields = [v for item in q.items if kind(item.type).exported
                      for v in _question_variables(instrument, item, relevance.get(item.name, ""), derivations)]
            out[q.name] = [*_roster_keys(), *fields]
    return out


def _derivations(instrument: surveys.Instrument) -> dict[str, str]:
    out = {}
    for block in instrument.scoring.get("blocks") or []:
        method = block.get("method", "")
        of = block.get("of") or {}
        parts = [f"{k}×{v}" for k, v in of.items()] if isinstance(of, dict) else [str(k) for k in of]
        how = block.get("expression") or ", ".join(parts) or "items " + ", ".join(block.get("items", []))
        text = f"{method}: {how}"
        if block.get("assessed_if"):
            text += f"; assessed if {block['assessed_if']}"
        if block.get("output"):
            out[block["output"]] = text
        elif block.get("prefix"):
            out[block["prefix"]] = text
    return out


def variables(instrument: surveys.Instrument, withheld: tuple[str, ...] = WITHHELD) -> list[Variable]:
    """The exported variables in order: design variables, answers, then derived indicators; the
    answers in ``withheld`` left out (the full file for admins passes none)."""
    out = [Variable(name, kind, in_every_language(label), integer=name in INTEGER_DESIGN) for name, kind, label in DESIGN]
    out[-1].codes = [(b, {"vi": b, "en": b}) for b in AGE_BANDS]
    out[-1].numeric_codes = _numeric_codes(list(AGE_BANDS))
    relevance = _relevance(instrument)
    derivations = _derivations(instrument)
    indicators = surveys.indicator_names(instrument)
    for q in instrument.variables:
        if kind(q.type).exported and q.name not in withheld and q.name not in indicators:
            out += _question_variables(instrument, q, relevance.get(q.name, ""), derivations)
    for name in indicators:
        how = derivations.get(name) or next((v for k, v in derivations.items() if name.startswith(k + "_")), "")
        codes = derived.value_labels(instrument, name)
        out.append(Variable(name, "num", derived.label(instrument, name),
                            codes, {c: int(c) for c, _ in codes}, derivation=how, question_type="indicator",
                            integer=bool(codes)))
    return out
