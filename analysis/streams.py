"""The gap between two estimates of the same cells from two samples taken independently of each other.

Used for the self-selected stream (QR posters, links) beside the probability sample: the gap in a cell
is ``second - first`` with standard error ``sqrt(se_first^2 + se_second^2)``, the variance of a
difference of independent estimates (no covariance term: no respondent and no sampling unit is in
both), and a normal-quantile interval, as :func:`analysis.rounds.round_change` gives for rounds drawn
independently. The self-selected stream's own standard error treats its respondents as a stratified
random sample within wards, which they are not: its interval (and so the gap's) describes sampling
error only, not the selection bias the gap exists to show.

References
----------
Lohr, S. L. (2019). *Sampling: Design and Analysis*, 2nd ed., section 9.1 (differences of independent
estimates) and 15.1 (non-probability samples).
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.results import wald_ci

__all__ = ["independent_gap"]

FIGURES = ("estimate", "se", "ci_low", "ci_high", "n", "reliability")


def independent_gap(first: pd.DataFrame, second: pd.DataFrame, keys: Sequence[str], level: float = 0.95
                    ) -> pd.DataFrame:
    """One row per cell of ``first`` (cells missing from ``second`` have no gap): the keys, ``first_*`` and
    ``second_*`` (estimate, se, ci_low, ci_high, n, reliability), ``gap`` (second - first), ``gap_se``,
    ``gap_ci_low``, ``gap_ci_high``. A cell suppressed in either table has no gap.

    The gap is not built as an :class:`analysis.results.Estimate`: its frame is the two input tables side by
    side, each with its own figures and reliability, and the gap's columns are added to that merge; the
    interval is still :func:`analysis.results.wald_ci`'s."""
    keys = list(keys)
    left = first[[*keys, *FIGURES]].rename(columns={f: f"first_{f}" for f in FIGURES})
    right = second[[*keys, *FIGURES]].rename(columns={f: f"second_{f}" for f in FIGURES})
    out = left.merge(right, on=keys, how="left") if keys else pd.concat([left, right], axis=1)
    hidden = (out["first_reliability"] == "suppressed") | (out["second_reliability"] != out["second_reliability"]) \
        | (out["second_reliability"] == "suppressed")
    gap = (out["second_estimate"] - out["first_estimate"]).astype(float)
    se = np.sqrt(out["first_se"].astype(float) ** 2 + out["second_se"].astype(float) ** 2)
    out["gap"] = gap.where(~hidden)
    out["gap_se"] = se.where(~hidden)
    out["gap_ci_low"], out["gap_ci_high"] = wald_ci(out["gap"], out["gap_se"], level)
    return out
