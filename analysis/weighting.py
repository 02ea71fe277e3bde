"""A weighting pipeline for KhaoSat: base weights, calibration to census margins, trimming, diagnostics.

Typical use: base weights from the sampling plan (``N_h / n_h``; 1 for a convenience sample),
post-stratification to a ward x sex x age-band table from the census (or raking to its margins when
cells are too small), then trimming extreme weights, with Kish's design effect due to weighting,
the effective sample size and the weight range reported at each step.

References
----------
Kish, L. (1965). *Survey Sampling*. Wiley, section 11.7 (deff from weighting: 1 + cv^2 of weights).
Potter, F. (1990). A study of procedures to identify and trim extreme sampling weights. *Proc. ASA SRM*.
Valliant, R., Dever, J. and Kreuter, F. (2018). *Practical Tools for Designing and Weighting Survey
Samples*, 2nd ed. Springer, ch. 13-14.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from analysis.errors import DesignError
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd

if TYPE_CHECKING:
    from analysis.design import SurveyDesign

__all__ = ["base_weights", "weight_diagnostics", "trim_weights", "trimmed_weights", "median_weight",
           "weighting_pipeline"]


def base_weights(data: pd.DataFrame, stratum: str | None = None, population: Mapping | None = None) -> np.ndarray:
    """Design weights ``N_h / n_h`` per stratum from the sampling plan, or 1 (convenience sample).

    ``population`` maps each stratum to its population size; ``n_h`` is the respondents in it.
    """
    if stratum is None or population is None:
        return np.ones(len(data))
    counts = data[stratum].value_counts()
    missing = sorted(set(counts.index.astype(str)) - {str(k) for k in population})
    if missing:
        raise DesignError(f"strata {missing[:5]} have respondents but no population size in the plan")
    pop = {str(k): float(v) for k, v in population.items()}
    keys = data[stratum].astype(str)
    return keys.map(pop).to_numpy(float) / keys.map(counts.rename(index=str)).to_numpy(float)


def weight_diagnostics(weights: np.ndarray, counts: np.ndarray | None = None) -> dict[str, float]:
    """Kish's deff from weighting ``n sum(w^2) / (sum w)^2``, effective n, and the weight range. ``counts``: each
    weight stands for that many rows of that weight (the cells of a cross-table), with the figures of those rows."""
    w = np.asarray(weights, dtype=float)
    c = np.ones(len(w)) if counts is None else np.asarray(counts, dtype=float)
    kept = (w > 0) & (c > 0)
    w, c = w[kept], c[kept]
    n, total = c.sum(), np.sum(c * w)
    deff = n * np.sum(c * w**2) / total**2
    mean = total / n
    return {"n": float(n), "sum_weights": float(total), "kish_deff": float(deff), "effective_n": float(n / deff),
            "min": float(w.min()), "max": float(w.max()), "max_min_ratio": float(w.max() / w.min()),
            "cv": float(np.sqrt(np.sum(c * (w - mean) ** 2) / n) / mean)}


def trim_weights(design: SurveyDesign, upper: float | None = None, lower: float | None = None,
                 max_iter: int = 10) -> SurveyDesign:
    """Cap weights at ``[lower, upper]`` and share the excess over the other rows (R's ``trimWeights``).

    Repeats until no weight is outside the bounds (``strict=TRUE``) or ``max_iter``. The sum of
    weights is kept; calibration residuals of the design are kept, as R does.
    """
    return design.reweighted(trimmed_weights(design.weights, upper, lower, max_iter), _NoStep())


def trimmed_weights(weights: np.ndarray, upper: float | None = None, lower: float | None = None,
                    max_iter: int = 10, counts: np.ndarray | None = None) -> np.ndarray:
    """The weights of :func:`trim_weights`. ``counts``: each weight stands for that many rows of that weight
    (the cells of a cross-table), with the result the rows would get.

    :raise DesignError: when ``lower`` is above ``upper``
    """
    w = np.array(weights, dtype=float)
    n = np.ones(len(w)) if counts is None else np.asarray(counts, dtype=float)
    hi = np.inf if upper is None else upper
    lo = 0.0 if lower is None else lower
    if lo > hi:
        raise DesignError(f"lower={lower} is above upper={upper}")
    for _ in range(max_iter):
        new = np.clip(w, lo, hi)
        outside = (w > hi) | (w < lo)
        if not outside.any():
            break
        excess = np.sum(n * (w - new))
        inside = ~outside & (w > 0)
        new[inside] += excess * new[inside] / np.sum(n[inside] * new[inside])
        w = new
    return w


def median_weight(weights: np.ndarray, counts: np.ndarray | None = None) -> float:
    """``np.median`` of the weights; ``counts``: of the rows they stand for (each weight ``counts`` times),
    without making those rows."""
    w = np.asarray(weights, dtype=float)
    if counts is None:
        return float(np.median(w))
    order = np.argsort(w, kind="stable")
    ends = np.cumsum(np.asarray(counts, dtype=np.int64)[order])
    middle = w[order][np.searchsorted(ends, [(ends[-1] - 1) // 2, ends[-1] // 2], side="right")]
    return float((middle[0] + middle[1]) / 2)


class _NoStep:
    """Trimming changes weights only; variance adjustments of earlier steps stay (as R)."""

    def adjust(self, x: np.ndarray) -> np.ndarray:
        return x


def weighting_pipeline(design: SurveyDesign, cells: Sequence[str] | None = None, cell_counts: Mapping | None = None,
                       margins: Mapping[str, Mapping] | None = None, trim_ratio: float | None = 5.0
                       ) -> tuple[SurveyDesign, pd.DataFrame]:
    """Calibrate ``design`` to census cells (post-stratification) or margins (raking), then trim.

    Parameters
    ----------
    cells, cell_counts : columns and ``{(ward, sex, age_band): count}``, for post-stratification.
    margins : ``{column: {level: count}}``, for raking when cells are too sparse.
    trim_ratio : cap weights at ``trim_ratio`` times the median weight (None: no trimming).

    Returns
    -------
    (SurveyDesign, DataFrame) : the weighted design and one row of diagnostics per step.
    """
    steps = [("base", design)]
    if cells is not None and cell_counts is not None:
        design = design.poststratify(list(cells), cell_counts)
        steps.append(("post-stratified", design))
    if margins is not None:
        design = design.rake(margins)
        steps.append(("raked", design))
    if trim_ratio is not None:
        design = trim_weights(design, upper=trim_ratio * float(np.median(design.weights[design.weights > 0])))
        steps.append(("trimmed", design))
    diagnostics = pd.DataFrame([{"step": name, **weight_diagnostics(d.weights)} for name, d in steps])
    return design, diagnostics
