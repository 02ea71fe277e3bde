"""The left-behind report: who falls furthest below the benchmark, by area, group and intersection.

For an indicator (a 0/1 or numeric column) the report estimates the mean in every cell (each area,
each group, each area x group, and each intersection of up to ``max_way`` groups), its gap to the
benchmark (the overall mean, or a target value) with a design-based SE, a p-value and a
Benjamini-Hochberg q-value over all cells, and flags ``left_behind`` when the gap is significantly
negative (q < ``alpha``) and at least ``material_points`` in size. The gap to the overall mean is
linearised jointly (the cell and the whole population share PSUs), see
:func:`analysis.hypothesis.ratio_totals`.

Reliability follows the US NCHS presentation rule (NCHS 2017, Parker et al.; NAMCS/NHAMCS): a cell
with fewer than 30 respondents is suppressed; a cell with a relative standard error (cv) above 30%
is shown but flagged unreliable. Both thresholds are arguments.

Intervals and tests use Student t on the design degrees of freedom (PSUs minus strata).

References
----------
UN ESCAP (2018). *Inequality of Opportunity in Asia and the Pacific* (leave-no-one-behind methodology).
Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate. *JRSS B* 57, 289-300.
Parker, J. D. et al. (2017). NCHS data presentation standards for proportions. *Vital Health Stat* 2(175).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.design import SurveyDesign
from analysis.domains import domains
from analysis.estimators import numeric
from analysis.formatting import format_number
from analysis.hypothesis import _contrast, ratio_totals
from analysis.results import critical_value

__all__ = ["left_behind", "bh_qvalues", "domain_means"]

Labels = Mapping[str, Mapping[Any, Any]]


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN and is not counted)."""
    p = np.asarray(p, dtype=float)
    q = np.full(len(p), np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if len(ok) == 0:
        return q
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order] * len(ok) / np.arange(1, len(ok) + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q


def domain_means(t: np.ndarray, v: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Domain means ``Y_k / W_k`` and their variances from the totals of :func:`ratio_totals`."""
    yk, wk = t[2:2 + k], t[2 + k:]
    idx = np.arange(k)
    grads = np.zeros((len(t), k))
    grads[2 + idx, idx] = 1 / wk
    grads[2 + k + idx, idx] = -yk / wk**2
    return yk / wk, np.einsum("ik,ij,jk->k", grads, v, grads)


def _partitions(areas: str | None, groups: Sequence[str], max_way: int) -> list[tuple[str, list[str]]]:
    parts = [("area", [areas])] if areas else []
    parts += [("group", [g]) for g in groups]
    if areas:
        parts += [("area x group", [areas, g]) for g in groups]
    for way in range(2, max_way + 1):
        parts += [(f"{way}-way groups", list(c)) for c in combinations(groups, way)]
    return parts


def _label(labels: Labels, column: str, value: Any, lang: str) -> str:
    found = labels.get(column, {}).get(value, labels.get(column, {}).get(str(value)))
    if found is None:
        return f"{column} {value}"
    return found.get(lang, str(value)) if isinstance(found, Mapping) else str(found)


def _sentences(row: pd.Series, areas: str | None, groups: Sequence[str], ctx: dict) -> tuple[str, str]:
    scale, digits, labels = ctx["scale"], ctx["digits"], ctx["labels"]
    est, moe = row["estimate"] * scale, (row["ci_high"] - row["ci_low"]) / 2 * scale
    out = []
    for lang in ("vi", "en"):
        def fmt(x: float, lang: str = lang) -> str:
            return format_number(x, lang, digits)

        subject = " ".join(_label(labels, g, row[g], lang) for g in groups if pd.notna(row.get(g)))
        area = _label(labels, areas, row[areas], lang) if areas and pd.notna(row.get(areas)) else None
        bench = ctx["benchmark_text"][lang].format(value=fmt(ctx["benchmark"] * scale))
        indicator = ctx["indicator_label"][lang]
        if lang == "vi":
            loc = f"Ở {area}, " if area else ""
            text = f"{loc}{fmt(est)}% (±{fmt(moe)} điểm) {subject or 'người dân'} {indicator}, so với {bench}."
        else:
            loc = f"In {area}, " if area else ""
            text = f"{loc}{fmt(est)}% (±{fmt(moe)} points) of {subject or 'residents'} {indicator}, compared with {bench}."
        out.append(text[0].upper() + text[1:])
    return out[0], out[1]


def _cells(design: SurveyDesign, y: np.ndarray, ok: np.ndarray, cell_type: str, cols: list[str],
           target: float | None) -> pd.DataFrame:
    dom = domains(design.data, cols)
    t, v = ratio_totals(design, y, ok, dom)
    est, var = domain_means(t, v, dom.size)
    if target is None:
        gap, gap_var = _contrast(t, v, dom.size, "overall")
    else:
        gap, gap_var = est - target, var
    n = np.bincount(dom.safe_codes(), weights=(dom.member & ok & (design.weights != 0)).astype(float),
                    minlength=dom.size)
    out = dom.keys.copy()
    out.insert(0, "cell_type", cell_type)
    out["estimate"], out["se"], out["n"] = est, np.sqrt(var), n.astype(np.int64)
    out["gap"], out["gap_se"] = gap, np.sqrt(gap_var)
    return out


def left_behind(design: SurveyDesign, indicator: str, areas: str | None = None, groups: Sequence[str] = (),
                max_way: int = 2, benchmark: str | float = "overall", min_n: int = 30, max_cv: float = 0.3,
                material_points: float = 10.0, alpha: float = 0.05, level: float = 0.95, scale: float = 100.0,
                digits: int = 0, labels: Labels | None = None, indicator_label: Mapping[str, str] | None = None,
                benchmark_label: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Cells furthest behind the benchmark, with gaps, q-values and bilingual sentences.

    Parameters
    ----------
    indicator : str
        0/1 (share) or numeric column; ``scale`` (100) turns a share into percentage points.
    areas, groups : str, list of str
        The area column (e.g. ward) and the circumstance columns (sex, age band, ...).
    benchmark : "overall" or float
        Compare with the overall mean (gap linearised jointly) or a fixed target (on the 0-1 scale).
    min_n, max_cv : NCHS rule: suppress when n < ``min_n``; flag unreliable when cv > ``max_cv``.
    material_points : smallest gap (in points of ``scale``) worth flagging.
    labels : ``{column: {value: {"vi": ..., "en": ...}}}`` for the sentences.

    Returns
    -------
    DataFrame, sorted furthest-behind first: cell_type, the area and group columns, estimate, se,
    ci_low, ci_high, n, cv, reliability, gap, gap_se, gap_ci_low, gap_ci_high, p_value, q_value,
    left_behind, sentence_vi, sentence_en.
    """
    y, ok = numeric(design, indicator)
    w = np.where(ok, design.weights, 0.0)
    overall = float(np.sum(w * y) / np.sum(w))
    target = None if benchmark == "overall" else float(benchmark)
    frames = [_cells(design, y, ok, kind, cols, target) for kind, cols in _partitions(areas, list(groups), max_way)]
    out = pd.concat(frames, ignore_index=True)
    df = float(design.degf(ok))
    q = critical_value(level, df)
    out["ci_low"], out["ci_high"] = out["estimate"] - q * out["se"], out["estimate"] + q * out["se"]
    out["cv"] = out["se"] / out["estimate"].abs()
    suppressed = out["n"] < min_n
    out["reliability"] = np.where(suppressed, "suppressed", np.where(out["cv"] > max_cv, "unreliable", "ok"))
    out["gap_ci_low"], out["gap_ci_high"] = out["gap"] - q * out["gap_se"], out["gap"] + q * out["gap_se"]
    p = 2 * stats.t.sf(np.abs(out["gap"] / out["gap_se"]), df)
    out["p_value"] = np.where(suppressed, np.nan, p)
    out["q_value"] = bh_qvalues(out["p_value"].to_numpy())
    out["left_behind"] = (~suppressed & (out["gap"] < 0) & (out["q_value"] < alpha)
                          & (-out["gap"] * scale >= material_points))
    default_bench = ({"vi": "{value}% của toàn thành phố", "en": "{value}% city-wide"} if target is None
                     else {"vi": "mục tiêu {value}%", "en": "the {value}% target"})
    ctx = {"scale": scale, "digits": digits, "labels": labels or {}, "benchmark": overall if target is None else target,
           "benchmark_text": benchmark_label or default_bench,
           "indicator_label": indicator_label or {"vi": f"đạt '{indicator}'", "en": f"meet '{indicator}'"}}
    texts = [_sentences(row, areas, list(groups), ctx) if not s else (None, None)
             for (_, row), s in zip(out.iterrows(), suppressed, strict=True)]
    out["sentence_vi"] = [t[0] for t in texts]
    out["sentence_en"] = [t[1] for t in texts]
    out["_suppressed"] = suppressed
    out = out.sort_values(["_suppressed", "gap"], kind="stable").drop(columns="_suppressed").reset_index(drop=True)
    out.attrs.update({"overall": overall, "benchmark": ctx["benchmark"], "df": df,
                      "reliability_rule": f"NCHS: suppress n < {min_n}; unreliable if cv > {max_cv}"})
    return out
