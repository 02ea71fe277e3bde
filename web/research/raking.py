"""The final weight of each weighting cell: raked to the population margins, trimmed, raked again.

A respondent's final weight depends only on its cell: its ward (or province), sex, age band and base weight
(the stored design weight, adjusted for non-response). Raking multiplies every weight of a cell of the margin
variables by the same factors, and trimming caps each weight by the same bounds and shares the excess in
proportion to the weights, so the rows of one cell keep one weight throughout. :func:`weigh` therefore works on
the cross-table of those cells with their counts: the one code that makes the weights, whether the cross-table
was grouped from the responses in memory (:func:`web.research.weighting.calibrate`) or by the database without
reading them (:mod:`web.research.cross_table`). The raking is :class:`analysis.cell_raking.CellRaking` (what
:meth:`analysis.sql.SqlDesign.rake` rakes with), the trimming :func:`analysis.weighting.trimmed_weights` and the
median :func:`analysis.weighting.median_weight`, each on the cells with their counts: the numbers of the rows,
to rounding.

See :mod:`web.research.weighting` for what the steps are and why.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from analysis import CalibrationError
from analysis.cell_raking import CellRaking
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.weighting import median_weight, trimmed_weights
from surveys.messages import Message

RAKE_MAX_ITER = 50
TRIM_RATIO = 5.0  #: weights are kept within [median / TRIM_RATIO, median x TRIM_RATIO]
TRIM_ROUNDS = 10  #: rounds of trimming and raking again
#: the columns of a cross-table: a cell's ward, province (when raked by province), sex and age band as code
#: text, the base weight of each of its respondents, and ``n`` their count
COLUMNS = ("ward_code", "province_code", "sex", "age_band", "base_weight", "n")


@dataclass(frozen=True)
class Weights:
    """Per cell of a cross-table: the weight of each of its respondents after the first raking, and the final one
    (both None when the weights could not be raked: :attr:`problem` says why)."""

    raked: np.ndarray | None
    final: np.ndarray | None
    problem: Message | None = None
    unrepresented: tuple[int, ...] = ()
    level: str = "ward"  #: the margins raked to: "ward" or "province"


TOO_FEW_UNITS = Message("calibration.too_few_units")


def unweightable(units: int, margins: pd.DataFrame, by_province: pd.DataFrame | None,
                 columns: Iterable[str]) -> Message | None:
    """Why the base weights are kept as they are, before any raking (None: they are raked): one sampling unit
    (``units``: how many), no margins, or no sex and age band in the responses (``columns``)."""
    if units < 2:
        return TOO_FEW_UNITS
    if margins.empty and (by_province is None or by_province.empty):
        return Message("calibration.no_margins")
    if not {"sex", "age_band"} <= set(columns):
        return Message("calibration.no_sex_age")
    return None


def weigh(cells: pd.DataFrame, margins: pd.DataFrame, by_province: pd.DataFrame | None = None) -> Weights:
    """Rake the cells' base weights to ``margins`` (ward x sex x age-band counts) when there are any, else to
    ``by_province`` (province x sex x age-band counts), trim and rake again (``cells``: :data:`COLUMNS`)."""
    if margins.empty:
        return _by_province(cells, by_province)
    sex = cells["sex"].astype(str)
    usable = (cells["ward_code"].isin(margins["ward_code"]) & sex.isin(["1", "2"]) & cells["age_band"].notna()) \
        .to_numpy()
    sample = cells[usable].assign(sex_age=sex[usable] + ":" + cells.loc[usable, "age_band"].astype(str))
    represented = margins[margins["ward_code"].isin(sample["ward_code"].unique())]
    unrepresented = tuple(sorted(set(margins["ward_code"]) - set(represented["ward_code"])))
    sex_age = represented.assign(key=represented["sex"] + ":" + represented["age_band"]).groupby("key")["count"].sum()
    targets = {"ward_code": {str(k): v for k, v in represented.groupby("ward_code")["count"].sum().items()},
               "sex_age": sex_age.to_dict()}
    missing = sorted(set(sex_age.index) - set(sample["sex_age"]))
    if missing:
        return Weights(None, None, Message("calibration.empty_cells", {"cells": ", ".join(missing)}), unrepresented)
    return _raked(cells, usable, sample, targets, unrepresented, "ward")


def _by_province(cells: pd.DataFrame, by_province: pd.DataFrame) -> Weights:
    """The cells' weights raked within each province to its sex and age-band totals."""
    sex = cells["sex"].astype(str)
    usable = (cells["province_code"].isin(by_province["province_code"]) & sex.isin(["1", "2"])
              & cells["age_band"].notna()).to_numpy()
    province = cells.loc[usable, "province_code"].astype(int).astype(str)
    sample = cells[usable].assign(province_sex=province + ":" + sex[usable],
                                  province_age=province + ":" + cells.loc[usable, "age_band"].astype(str))
    targets = province_targets(sample, by_province)
    missing = sorted(set(targets["province_sex"]) - set(sample["province_sex"])
                     | set(targets["province_age"]) - set(sample["province_age"]))
    if missing:
        return Weights(None, None, Message("calibration.empty_cells", {"cells": ", ".join(missing)}), level="province")
    return _raked(cells, usable, sample, targets, (), "province")


def province_targets(sample: pd.DataFrame, by_province: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Province x sex and province x age-band totals of the provinces with respondents, as raking margins.

    Raking to these two margins within each province, rather than post-stratifying to the full province x
    sex x age cells, because with 60 respondents a province many of its 8 cells hold one or two people."""
    cells = by_province[by_province["province_code"].isin(sample["province_code"].unique())]
    code = cells["province_code"].astype(int).astype(str)
    return {"province_sex": cells.groupby(code + ":" + cells["sex"])["count"].sum().to_dict(),
            "province_age": cells.groupby(code + ":" + cells["age_band"])["count"].sum().to_dict()}


def _raked(cells: pd.DataFrame, usable: np.ndarray, sample: pd.DataFrame, targets: dict,
           unrepresented: tuple[int, ...], level: str) -> Weights:
    base, counts = sample["base_weight"].to_numpy(dtype=float), sample["n"].to_numpy(dtype=float)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            raked = _rake(sample, base, counts, targets)
            final = _trimmed(raked, sample, counts, targets)
    except CalibrationError as exc:
        return Weights(None, None, Message(exc.code or "calibration.failed", exc.params), unrepresented, level)
    return Weights(_whole(cells, usable, raked, base, counts), _whole(cells, usable, final, base, counts), None,
                   unrepresented, level)


def _rake(sample: pd.DataFrame, weights: np.ndarray, counts: np.ndarray, targets: dict) -> np.ndarray:
    """The weight of each respondent of the cells once raked (the cells' sums raked, the factor applied)."""
    return weights * CellRaking.of(sample.assign(sw=weights * counts), targets, 1.0, RAKE_MAX_ITER).factor


def _trimmed(raked: np.ndarray, sample: pd.DataFrame, counts: np.ndarray, targets: dict) -> np.ndarray:
    """Trim to [median / TRIM_RATIO, median x TRIM_RATIO] and rake again, until raking leaves the weights
    within the bounds (1% slack) or ``TRIM_ROUNDS`` rounds; the last step is a raking, so the margins hold."""
    for _ in range(TRIM_ROUNDS):
        median = median_weight(raked, counts)
        low, high = median / TRIM_RATIO, median * TRIM_RATIO
        if raked.min() >= low / 1.01 and raked.max() <= high * 1.01:
            break
        trimmed = trimmed_weights(raked, upper=high, lower=low, counts=counts)
        try:
            raked = _rake(sample, trimmed, counts, targets)
        except CalibrationError:  # raking cannot hold the margins from the trimmed weights: keep those
            return trimmed
    return raked


def _whole(cells: pd.DataFrame, usable: np.ndarray, raked: np.ndarray, base: np.ndarray,
           counts: np.ndarray) -> np.ndarray:
    """Every cell's weight: the raked one, and the base weight times the overall factor elsewhere."""
    weights = cells["base_weight"].to_numpy(dtype=float) * (np.sum(raked * counts) / np.sum(base * counts))
    weights[usable] = raked
    return weights
