"""The one estimator interface of every design class, as a :class:`typing.Protocol`.

:class:`~analysis.design.SurveyDesign` (Taylor linearisation in memory),
:class:`~analysis.sql.SqlDesign` (the same sums pushed down to SQL) and
:class:`~analysis.replicate.ReplicateDesign` (replicate weights) answer these methods with the
same arguments, the same defaults and the same meaning, as R's ``svymean``, ``svytotal``,
``svyratio``, ``svyciprop`` and ``svyquantile`` answer every design class. Each returns a DataFrame
with the ``by`` columns (and the level of a proportion, or ``q``), ``estimate, se, ci_low, ci_high,
n, cv``. A design that cannot honour an option raises :class:`~analysis.errors.DesignError`;
none substitutes another method silently. ``tests/analysis/test_analysis_designs_agree.py`` runs
every method and option through the three classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from analysis.lazy import pandas as pd
from analysis.policies import CIMethod, QuantileRule

__all__ = ["Design", "ESTIMATORS"]

By = str | Sequence[str] | None

#: the methods every design class offers, with the same signature
ESTIMATORS = ("mean", "total", "ratio", "proportion", "quantile")


@runtime_checkable
class Design(Protocol):
    """What an analysis or a web page may call on any design."""

    def mean(self, variable: str, by: By = None, level: float = 0.95) -> pd.DataFrame:
        """Weighted mean per domain (R's ``svymean``/``svyby``), Wald interval."""

    def total(self, variable: str, by: By = None, level: float = 0.95) -> pd.DataFrame:
        """Weighted total per domain (R's ``svytotal``), Wald interval."""

    def ratio(self, numerator: str, denominator: str, by: By = None, level: float = 0.95) -> pd.DataFrame:
        """Ratio of two totals per domain (R's ``svyratio``)."""

    def proportion(self, variable: str, by: By = None, ci_method: CIMethod | str = "logit",
                   level: float = 0.95) -> pd.DataFrame:
        """Share of each level per domain; ``ci_method`` as R's ``svyciprop`` (:mod:`analysis.intervals`)."""

    def quantile(self, variable: str, q: float | Sequence[float] = 0.5, by: By = None,
                 rule: QuantileRule | str = "math", level: float = 0.95) -> pd.DataFrame:
        """Quantile(s) per domain; ``rule`` as R's ``qrule``."""
