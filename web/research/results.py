"""Weighted estimates of an indicator by area and group, with 95% CIs, reliability flags and suppression.

How each kind of indicator is estimated (see :mod:`web.research.derived`):

* a **share** (0/1) through ``design.proportion`` with the logit interval (R's ``svyciprop``
  default); at 0% and 100% the Korn-Graubard interval with the actual number of respondents
  (:mod:`analysis.intervals`: R gives a zero-width interval there). Never outside [0, 1], never
  zero-width;
* a **categorical** indicator as the share of each category, the same way, one row per category;
* a **score** (a number on a scale) by ``design.mean`` with its Wald interval: the only mean.

Beside every share, the number of people it stands for: the share times the estimated population
of the cell (the sum of its respondents' weights, which calibration ties to the census), and the
share's interval times the same population (so the count's interval stays between 0 and that
population; the uncertainty of the population itself is left out, which is small where weights are
calibrated to ward x sex x age totals).

Rules (the publication cut-offs of statistical offices: US NCHS, n < 30 not shown and RSE >= 30%
flagged; NCHS Data Presentation Standards for Proportions, Parker et al. 2017, Vital Health Stat
2(175), on the effective sample size and the Korn-Graubard interval's width):

* privacy: a cell with fewer than ``MIN_CELL_COUNT`` respondents is suppressed (no estimate shown), with
  the cells that would give it away (secondary suppression), by :func:`web.privacy.suppress`, the one
  suppression rule of the app;
* reliability, after the US NCHS presentation standards: a mean is flagged "unreliable" with fewer
  than 30 respondents or a relative standard error (cv) above 30%; a share (NCHS 2017, for
  proportions) with fewer than 30 respondents or an effective sample size below 30, an interval
  30 points wide or more, or one wider than 5 points and than 130% of the share; and a share
  without an interval (a cell whose respondents are all in one sampling unit has no design degree
  of freedom: no interval, as in R, rather than a made-up one).

Domains are estimated on the full design (``by=``), never on a subset.
"""

from __future__ import annotations

import copy
import warnings

from analysis import SurveyDesign
from analysis.cell_suppression import TableFamily
from analysis.domains import domains
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.results import MIN_N, reliability
from web.privacy.suppression import hidden_cells, suppress
from web.research.variables import Indicator
from web.research.weighting import code

SHARE_MAX_WIDTH = 0.30
SHARE_MAX_RELATIVE_WIDTH = 1.30
SHARE_SMALL_WIDTH = 0.05
CI_METHOD = "logit"
COLUMNS = ["estimate", "se", "ci_low", "ci_high", "n", "cv", "reliability", "people", "people_low", "people_high"]


def prepared(design: SurveyDesign, indicator: Indicator) -> SurveyDesign:
    """A view of the cached design with a categorical indicator as code text and any other as numbers
    (the group columns were coded when the design was built: :func:`web.research.weighting.calibrate`).

    The cached design is never changed: requests share it, and the exports read its frame. A design in the
    database (:class:`analysis.sql.SqlDesign`, no frame) is returned as it is: its indicators are numbers there.
    """
    data = getattr(design, "data", None)
    if data is None:
        return design
    if indicator.categorical and pd.api.types.is_numeric_dtype(data[indicator.name]):
        column = data[indicator.name].map(code)
    elif not indicator.categorical and not pd.api.types.is_numeric_dtype(data[indicator.name]):
        column = pd.to_numeric(data[indicator.name], errors="coerce")
    else:
        return design
    view = copy.copy(design)
    view.data = data.copy(deep=False)  # a new frame sharing the columns; the one replaced is not written
    view.data[indicator.name] = column
    return view


def _population(design: SurveyDesign, variable: str, by: list[str]) -> np.ndarray:
    """The estimated population (sum of weights of respondents with an answer) of each domain."""
    dom = domains(design.data, by or None)
    answered = design.data[variable].notna().to_numpy() & dom.member
    return np.bincount(dom.safe_codes(), weights=np.where(answered, design.weights, 0.0), minlength=dom.size)


def _shares(design: SurveyDesign, indicator: Indicator, by: list[str]) -> pd.DataFrame:
    """One row per domain (and category): the share with its logit interval and its number of people."""
    table = design.proportion(indicator.name, by=by or None, ci_method=CI_METHOD)
    population = _population(design, indicator.name, by)
    return with_people(table, indicator, np.repeat(population, len(table) // len(population)))  # domain-major


def with_people(table: pd.DataFrame, indicator: Indicator, population: np.ndarray) -> pd.DataFrame:
    """The rows of a table of proportions (one per domain and level) a share or categorical indicator shows, with
    the number of people each stands for (``population``: the estimated population of each row's domain)."""
    if indicator.share:
        table, population = _yes_rows(table, indicator.name, population)
    else:
        table = table.rename(columns={indicator.name: "category"})
        table["category"] = table["category"].astype(str)
    table["people"] = table["estimate"] * population
    table["people_low"] = table["ci_low"] * population
    table["people_high"] = table["ci_high"] * population
    return table


def _yes_rows(table: pd.DataFrame, name: str, population: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of level 1 of a 0/1 share (from the rows of 0, as 1 - p, where nobody has a 1)."""
    level = pd.to_numeric(table[name]).to_numpy()
    if (level == 1).any():
        return table[level == 1].drop(columns=[name]), population[level == 1]
    out = table[level == 0].drop(columns=[name]).copy()
    out["estimate"], out["ci_low"], out["ci_high"] = 1 - out["estimate"], 1 - out["ci_high"], 1 - out["ci_low"]
    return out, population[level == 0]


def _share_reliability(table: pd.DataFrame) -> np.ndarray:
    p, width = table["estimate"], table["ci_high"] - table["ci_low"]
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(table["se"] > 0, p * (1 - p) / table["se"] ** 2, table["n"])
        relative = np.where(p > 0, width / p, np.inf)
    return ((table["n"] < MIN_N) | (n_eff < MIN_N) | (width >= SHARE_MAX_WIDTH) | width.isna()
            | ((width > SHARE_SMALL_WIDTH) & (relative > SHARE_MAX_RELATIVE_WIDTH))).to_numpy()


def estimate(design: SurveyDesign, indicator: Indicator, by: list[str], min_cell: int | None = None,
             family: TableFamily | None = None) -> pd.DataFrame:
    """One row per domain (one per domain and category for a categorical indicator; one row overall
    when ``by`` is empty), reliability flagged and cells with fewer than ``min_cell`` respondents
    (default: ``MIN_CELL_COUNT``) suppressed, with the cells that ``family``'s protection hides
    besides them."""
    by = [b for b in by if b]
    design = prepared(design, indicator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if indicator.kind == "score":
            table = design.mean(indicator.name, by=by or None)
            table["people"] = table["people_low"] = table["people_high"] = np.nan
        else:
            table = _shares(design, indicator, by)
    return finished(table, indicator, by, min_cell, family)


def finished(table: pd.DataFrame, indicator: Indicator, by: list[str], min_cell: int | None = None,
             family: TableFamily | None = None) -> pd.DataFrame:
    """A table of estimates (``design.mean``'s, or :func:`with_people`'s) with the rules applied: reliability
    flagged, small cells suppressed with those ``family``'s protection hides."""
    if by:
        table = table.dropna(subset=by)
    table = table[table["n"] > 0].copy()
    # the NCHS rule; a cell too small for it is shown flagged, not hidden: only the disclosure rule hides
    unreliable = (reliability(table["n"], table["cv"]) != "ok") if indicator.kind == "score" \
        else _share_reliability(table)
    table["reliability"] = np.where(unreliable, "unreliable", "ok")
    hidden = hidden_cells(family, table, by) if family is not None else None
    table = suppress(table, "n", min_cell, hidden=hidden)
    keep = [*by, *(["category"] if indicator.categorical else []), *COLUMNS]
    out = table[keep].reset_index(drop=True)
    out.attrs = {}  # the estimator's variance matrix: not for pages, and pandas cannot compare it
    return out


def counted(design: SurveyDesign, indicator: str) -> pd.DataFrame:
    """The rows a table of ``indicator`` counts in ``n``: an answer and a weight that is not zero."""
    values = pd.to_numeric(design.data[indicator], errors="coerce")
    return design.data[values.notna().to_numpy() & (np.asarray(design.weights) != 0)]


def overall(design: SurveyDesign, indicator: Indicator) -> float | None:
    """The city-wide (whole-sample) weighted estimate: the benchmark line of charts (none for a
    categorical indicator, which has one share per category)."""
    if indicator.categorical:
        return None
    return float(estimate(design, indicator, [], 0)["estimate"].iloc[0])


def unweighted_vs_weighted(frame: pd.DataFrame, design: SurveyDesign, indicator: Indicator, by: str | None,
                           min_cell: int | None = None, family: TableFamily | None = None) -> pd.DataFrame | None:
    """The weighted estimate next to the unweighted mean (share), by ``by`` (or overall); None for a
    categorical indicator."""
    if indicator.categorical:
        return None
    weighted = estimate(design, indicator, [by] if by else [], min_cell, family)
    values = pd.to_numeric(frame[indicator.name], errors="coerce")
    return beside(weighted, values.groupby(frame[by]).mean() if by else float(values.mean()), by)


def beside(weighted: pd.DataFrame, plain: pd.Series | float, by: str | None) -> pd.DataFrame:
    """The weighted estimates (:func:`estimate`'s table) with the unweighted mean of each row's domain beside them
    (``plain``: by the values of ``by``, or the one whole-sample mean) and the difference; not shown where the
    weighted one is suppressed."""
    if by:
        weighted = weighted.merge(plain.rename("unweighted"), left_on=by, right_index=True, how="left")
    else:
        weighted["unweighted"] = plain
    weighted.loc[weighted["reliability"] == "suppressed", "unweighted"] = np.nan
    weighted["difference"] = weighted["estimate"] - weighted["unweighted"]
    return weighted
