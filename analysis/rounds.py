"""Change between two rounds (waves) of a survey, with the standard error of the difference.

Both rounds are domains of one design (:class:`analysis.SurveyDesign`), so the covariance of the two
rounds' estimates comes out of the same linearisation: zero when the rounds are independent samples
(their PSUs differ, e.g. strata = round x ward), and the covariance of the PSU totals when the rounds
revisit the same PSUs (a panel of residential groups). This is R's
``svycontrast(svyby(~y, ~round + group, design, svymean, covmat = TRUE), ...)``:
``var(second - first) = v_2 + v_1 - 2 cov_12``.

References
----------
Lumley, T. (2010). *Complex Surveys*. Wiley, section 2.4 (domains) and 3.5 (contrasts).
Kish, L. (1965). *Survey Sampling*, section 12.4 (overlapping samples in repeated surveys).
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.design import SurveyDesign
from analysis.errors import DesignError
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.results import Estimate

__all__ = ["round_change", "comparable_versions"]


def round_change(design: SurveyDesign, variable: str, round_column: str, first, second,
                 by: str | Sequence[str] | None = None, level: float = 0.95,
                 respondents: str | None = None) -> pd.DataFrame:
    """The mean of ``variable`` in round ``first`` and round ``second`` and their difference, by ``by``.

    Returns one row per ``by`` level: the ``by`` columns, first, second, change (second - first), se,
    ci_low, ci_high (normal quantile, as ``confint(svycontrast(...))``), covariance (of the two rounds'
    means), n_first, n_second. The change is an :class:`analysis.results.Estimate` like any other, so its
    interval and frame come from the one place every estimator's do. ``respondents``: a column of how many
    respondents each row stands for (a roll-up's groups, :func:`analysis.rollup.as_design`), else one a row.
    """
    groups = [] if by is None else [by] if isinstance(by, str) else list(by)
    table = design.mean(variable, by=[round_column, *groups], level=level)
    vcov = table.attrs["vcov"]
    table = table.reset_index(drop=True)
    if respondents is not None:
        table["n"] = _respondents(design, variable, [round_column, *groups], respondents, table)
    firsts, seconds = [], []
    keys = table[groups].drop_duplicates().itertuples(index=False) if groups else [()]
    for key in keys:
        here = np.ones(len(table), dtype=bool)
        for column, value in zip(groups, key, strict=True):
            here &= (table[column] == value).to_numpy()
        one = np.flatnonzero(here & (table[round_column] == first).to_numpy())
        two = np.flatnonzero(here & (table[round_column] == second).to_numpy())
        if len(one) == 1 and len(two) == 1:  # a group seen in only one round has no change
            firsts.append(one[0])
            seconds.append(two[0])
    if not firsts:
        raise DesignError(f"no group has responses in both rounds {first!r} and {second!r}")
    i, j = np.array(firsts), np.array(seconds)
    estimate, n = table["estimate"].to_numpy(), table["n"].to_numpy()
    change = Estimate.from_vcov(
        table[groups].iloc[i].reset_index(drop=True), estimate[j] - estimate[i],
        vcov[i, i] + vcov[j, j] - 2 * vcov[i, j], n=None, statistic="change", level=level,
        extra={"covariance": vcov[i, j], "first": estimate[i], "second": estimate[j],
               "n_first": n[i].astype(np.int64), "n_second": n[j].astype(np.int64)})
    return change.to_frame("change", columns=[*groups, "first", "second", "change", "se", "ci_low", "ci_high",
                                              "covariance", "n_first", "n_second"])


def comparable_versions(first: dict[str, dict], second: dict[str, dict]) -> dict[str, str]:
    """Questions that differ between the instruments two rounds answered.

    ``first`` and ``second`` map a question name to ``{"type": ..., "codes": [...]}``. Returns
    ``{name: why}`` with why one of "only_first", "only_second", "type", "codes"; an empty dict means
    every question has the same name, type and codes in both rounds.
    """
    out: dict[str, str] = {}
    for name in sorted(first.keys() | second.keys()):
        if name not in second:
            out[name] = "only_first"
        elif name not in first:
            out[name] = "only_second"
        elif first[name].get("type") != second[name].get("type"):
            out[name] = "type"
        elif list(first[name].get("codes") or []) != list(second[name].get("codes") or []):
            out[name] = "codes"
    return out


def _respondents(design: SurveyDesign, variable: str, keys: list[str], respondents: str,
                 table: pd.DataFrame) -> np.ndarray:
    """For each row of ``table`` (a domain of ``keys``), the sum of ``respondents`` over the rows with a value of
    ``variable`` there."""
    rows = pd.DataFrame({k: design.column(k) for k in keys})
    rows["_n"] = design.column(respondents).to_numpy(dtype="float64")
    rows = rows[design.column(variable).notna().to_numpy()]
    counted = rows.groupby(keys, dropna=True, sort=False)["_n"].sum()
    return counted.reindex(pd.MultiIndex.from_frame(table[keys])).to_numpy(dtype="float64")
