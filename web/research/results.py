"""Weighted estimates of an indicator by area and group, with 95% CIs, reliability flags and suppression.

Rules (see ``/shared/frameworks.md`` section 8):

* privacy: a cell with fewer than ``MIN_CELL_COUNT`` respondents is suppressed (no estimate shown), with
  the cells that would give it away (secondary suppression), by :func:`web.privacy.suppress`, the one
  suppression rule of the app;
* reliability, after the US NCHS presentation standard: a cell with fewer than 30 respondents or a
  relative standard error (cv) above 30% is shown but flagged "unreliable".

Domains are estimated on the full design (``SurveyDesign.mean(by=...)``), never on a subset.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from analysis import SurveyDesign
from analysis.cell_suppression import TableFamily
from web.privacy.suppression import hidden_cells, suppress

RELIABLE_MIN_N = 30
RELIABLE_MAX_CV = 0.3
COLUMNS = ["estimate", "se", "ci_low", "ci_high", "n", "cv", "reliability"]


def _code(value) -> str | None:
    """A group value as its code text ("2", not 2.0); missing stays missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def estimate(design: SurveyDesign, indicator: str, by: list[str], min_cell: int | None = None,
             family: TableFamily | None = None) -> pd.DataFrame:
    """One row per domain (or one row overall when ``by`` is empty), reliability flagged and cells with
    fewer than ``min_cell`` respondents (default: ``MIN_CELL_COUNT``) suppressed, with the cells that
    ``family``'s protection hides besides them."""
    data = design.data
    if not pd.api.types.is_numeric_dtype(data[indicator]):
        data[indicator] = pd.to_numeric(data[indicator], errors="coerce")
    by = [b for b in by if b]
    for column in by:
        if column != "ward_code":
            data[column] = data[column].map(_code)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        table = design.mean(indicator, by=by or None)
    if by:
        table = table.dropna(subset=by)
    table = table[table["n"] > 0].copy()
    table["reliability"] = np.where((table["n"] < RELIABLE_MIN_N) | (table["cv"] > RELIABLE_MAX_CV),
                                    "unreliable", "ok")
    hidden = hidden_cells(family, table, by) if family is not None else None
    table = suppress(table, "n", min_cell, hidden=hidden)
    keep = [*by, *COLUMNS]
    return table[keep].reset_index(drop=True)


def counted(design: SurveyDesign, indicator: str) -> pd.DataFrame:
    """The rows a table of ``indicator`` counts in ``n``: an answer and a weight that is not zero."""
    values = pd.to_numeric(design.data[indicator], errors="coerce")
    return design.data[values.notna().to_numpy() & (np.asarray(design.weights) != 0)]


def overall(design: SurveyDesign, indicator: str) -> float:
    """The city-wide (whole-sample) weighted estimate: the benchmark line of charts."""
    return float(estimate(design, indicator, [], 0)["estimate"].iloc[0])


def unweighted_vs_weighted(frame: pd.DataFrame, design: SurveyDesign, indicator: str, by: str | None,
                           min_cell: int | None = None, family: TableFamily | None = None) -> pd.DataFrame:
    """The weighted estimate next to the unweighted mean, by ``by`` (or overall)."""
    weighted = estimate(design, indicator, [by] if by else [], min_cell, family)
    values = pd.to_numeric(frame[indicator], errors="coerce")
    if by:
        plain = values.groupby(frame[by].map(_code) if by != "ward_code" else frame[by]).mean().rename("unweighted")
        weighted = weighted.merge(plain, left_on=by, right_index=True, how="left")
    else:
        weighted["unweighted"] = values.mean()
    weighted.loc[weighted["reliability"] == "suppressed", "unweighted"] = np.nan
    weighted["difference"] = weighted["estimate"] - weighted["unweighted"]
    return weighted
