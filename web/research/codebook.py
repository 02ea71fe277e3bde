"""The codebook of a survey's microdata: every exported variable, its question, codes, labels,
skip logic and, for derived indicators, how they are computed. Used by every export format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import surveys
from web.population import AGE_BANDS

SKIPPED_TYPES = ("text", "note", "consent", "area", "date", "datetime", "geopoint", "image")
#: identifying answers left out of the de-identified microdata (age band is kept instead of birth year)
WITHHELD = ("birth_year",)
DESIGN = [
    ("id", "num", {"vi": "Mã phiếu (số thứ tự trong cơ sở dữ liệu)", "en": "Response id (database row)"}),
    ("survey_version", "num", {"vi": "Phiên bản bảng hỏi", "en": "Questionnaire version"}),
    ("ward_code", "num", {"vi": "Mã phường/xã (GSO)", "en": "Ward/commune code (GSO)"}),
    ("ward", "str", {"vi": "Tên phường/xã", "en": "Ward/commune name"}),
    ("area_type", "str", {"vi": "Loại đơn vị: urban = phường, rural = xã", "en": "Unit type: urban = phường, rural = xã"}),
    ("stratum", "str", {"vi": "Tầng chọn mẫu (biến thiết kế)", "en": "Sampling stratum (design variable)"}),
    ("psu", "str", {"vi": "Đơn vị mẫu cấp 1 (cụm, biến thiết kế)", "en": "Primary sampling unit (cluster, design variable)"}),
    ("base_weight", "num", {"vi": "Trọng số thiết kế", "en": "Design (base) weight"}),
    ("weight", "num", {"vi": "Trọng số cuối cùng (đã hiệu chỉnh theo dân số)", "en": "Final weight (calibrated to the population)"}),
    ("channel", "str", {"vi": "Kênh: self = tự trả lời, interview = phỏng vấn", "en": "Channel: self-completion or interview"}),
    ("language", "str", {"vi": "Ngôn ngữ trả lời", "en": "Language of the answers"}),
    ("submitted_month", "str", {"vi": "Tháng gửi (YYYY-MM, giờ Việt Nam)", "en": "Month submitted (YYYY-MM, Vietnam time)"}),
    ("age_band", "str", {"vi": "Nhóm tuổi (tính từ năm sinh)", "en": "Age band (from the year of birth)"}),
]


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


def _numeric_codes(codes: list[str]) -> dict[str, int]:
    if all(c.lstrip("-").isdigit() for c in codes):
        return {c: int(c) for c in codes}
    return {c: i for i, c in enumerate(codes, start=1)}


def _text(instrument: surveys.Instrument, text) -> dict[str, str]:
    return {lang: instrument.text(text, lang) for lang in ("vi", "en")}


def _relevance(instrument: surveys.Instrument) -> dict[str, str]:
    out = {}
    for page in instrument.pages:
        for q in page.questions:
            conditions = [c for c in (page.relevant, q.relevant) if c]
            for v in q.variables:
                out[v.name] = " and ".join(f"({c})" for c in conditions) if len(conditions) > 1 else \
                    (conditions[0] if conditions else "")
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
    out = [Variable(name, kind, label) for name, kind, label in DESIGN]
    out[-1].codes = [(b, {"vi": b, "en": b}) for b in AGE_BANDS]
    relevance = _relevance(instrument)
    derived = _derivations(instrument)
    indicators = surveys.indicator_names(instrument)
    for q in instrument.variables:
        if q.type in SKIPPED_TYPES or q.name in withheld or q.name in indicators:
            continue
        label = _text(instrument, q.label)
        if q.type == "multiple":
            for choice in q.choices:
                chosen = _text(instrument, choice.label)
                out.append(Variable(f"{q.name}_{choice.code}", "num",
                                    {lang: f"{label[lang]} — {chosen[lang]}" for lang in label},
                                    [("0", {"vi": "Không chọn", "en": "Not chosen"}),
                                     ("1", {"vi": "Có chọn", "en": "Chosen"})], {"0": 0, "1": 1},
                                    relevance.get(q.name, ""), question_type=q.type))
            continue
        if q.type == "repeat":  # the table holds a roster's number of rows, not the rows
            out.append(Variable(q.name, "num", {"vi": f"{label['vi']} — số dòng", "en": f"{label['en']} — number of rows"},
                                relevant=relevance.get(q.name, ""), question_type=q.type))
            continue
        codes = [(c.code, _text(instrument, c.label)) for c in q.choices]
        numeric = q.type in ("integer", "decimal", "calculate") or (codes and all(
            c.lstrip("-").isdigit() for c, _ in codes))
        out.append(Variable(q.name, "num" if numeric else "str", label, codes,
                            _numeric_codes([c for c, _ in codes]) if codes else {},
                            relevance.get(q.name, ""), derived.get(q.name, q.calculation or ""), q.type))
    for name in indicators:
        how = derived.get(name) or next((v for k, v in derived.items() if name.startswith(k + "_")), "")
        out.append(Variable(name, "num", {"vi": f"Chỉ số suy ra: {name}", "en": f"Derived indicator: {name}"},
                            derivation=how,
                            question_type="indicator"))
    return out
