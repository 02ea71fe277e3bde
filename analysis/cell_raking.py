"""Raking from the cross-table of the margin variables, for designs whose rows stay in a database.

Raking multiplies every weight of a cell of the margin variables (every combination of their
levels) by the same factor, so it needs only the cross-table: one row per cell with its sum of
weights and its count of respondents. :class:`CellRaking` rakes that table with the same code as
the in-memory design (:func:`analysis.calibration.rake_weights`) and keeps one factor per cell.

The variance of a raked estimator uses the raking residuals (R's ``svyrecvar`` with
``design$postStrata``, :class:`analysis.calibration.RakeStep`): ten sweeps of
:math:`x - w_m\\,\\mathrm{ave}(x / w_m)` over the margins. Within a cell every weight of a raking
step is the final weight times the same ratio, so the residual of respondent :math:`i` in cell
:math:`c` is :math:`w_i (x_i / w_i - h_c)`, and :math:`h` (cells x estimates) needs, per cell, only the
sum of :math:`x_i / w_i` and the count of respondents (:meth:`RakeStep.adjust_cells`). A unit's
residual total is then its influence total minus :math:`\\sum_c h_c W_{unit,c}`: sums per sampling unit
and cell, which is what :class:`analysis.sql.SqlDesign` asks the database for. The numbers are
those of :class:`analysis.design.SurveyDesign`'s ``rake`` on the same rows (and so R's ``rake``),
to rounding.

Why hand-written: no library computes raking residuals from a cross-table; the identity above
is exact, so the SQL design agrees with the in-memory one to 1e-8 (tests/analysis/test_analysis_sql_raking.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from analysis.calibration import RakeStep, rake_weights
from analysis.errors import DesignError
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.lazy import sparse
from analysis.policies import LonelyPSU
from analysis.variance import Influence, Stage, multistage_vcov

__all__ = ["CellRaking", "GroupedRows", "margin_variables", "CHUNK_ENTRIES"]

#: residuals are made for at most this many (row x estimate) entries at once, so memory stays bounded
CHUNK_ENTRIES = 1 << 23


def margin_variables(margins: Mapping[str, Mapping]) -> list[str]:
    """The columns named by ``margins`` (a tuple key names several), each once, in order."""
    names = [[k] if isinstance(k, str) else list(k) for k in margins]
    return list(dict.fromkeys(v for group in names for v in group))


@dataclass(frozen=True)
class CellRaking:
    """The raking of a cross-table: a factor per cell, and the step its residuals need."""

    variables: list[str]
    keys: pd.DataFrame  #: one row per cell: the levels of ``variables``
    factor: np.ndarray  #: final weight / base weight, per cell
    weights: np.ndarray  #: final sum of weights per cell
    step: RakeStep

    @classmethod
    def of(cls, table: pd.DataFrame, margins: Mapping[str, Mapping], tol: float, max_iter: int) -> CellRaking:
        """Rake ``table`` (the margin variables' columns, ``sw`` the sum of base weights) to ``margins``."""
        variables = margin_variables(margins)
        base = table["sw"].to_numpy(dtype=float)
        weights, step = rake_weights(table, base, margins, tol, max_iter)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(base > 0, weights / base, 1.0)
        return cls(variables, table[variables].reset_index(drop=True), factor, weights, step)

    def cells(self, frame: pd.DataFrame) -> np.ndarray:
        """The cell of each row of ``frame`` (which holds the margin variables' columns).

        :raise DesignError: when a row's cell was not in the cross-table (the data changed since raking)
        """
        found = pd.MultiIndex.from_frame(self.keys).get_indexer(pd.MultiIndex.from_frame(frame[self.variables]))
        if np.any(found < 0):
            raise DesignError("the data has cells of the margin variables that were not there when it was raked; "
                              "rake the design again")
        return found

    def variances(self, unit: np.ndarray, units: list[Stage], lonely_psu: LonelyPSU, grouped: GroupedRows,
                  infl: Influence, ratios: Influence, full: bool) -> np.ndarray:
        """Variance of the totals of ``infl`` after the raking residuals, from grouped rows.

        Parameters
        ----------
        unit : the last-stage unit of each grouped row (one row per unit path, domain and cell)
        units : the design's stages over one row per last-stage unit, in the order of ``unit``'s codes
        lonely_psu : what to do with a stratum of one PSU
        grouped : per grouped row: its cell, its respondents, its sum of final weights
        infl : per grouped row, the sum of the influence values (final weights)
        ratios : per grouped row, the sum of influence / weight over its respondents
        full : the whole matrix (else only the variances, a block of columns at a time)

        Each block sums the residuals to last-stage units first (``A - M h``: influence totals per unit,
        minus the units' weights per cell times ``h``), so only units x columns numbers are dense.
        """
        n_units, n_cells, size = len(units[0].unit), len(self.factor), infl.n_columns
        count = np.bincount(grouped.cells, weights=grouped.rows, minlength=n_cells)
        totals = _sparse(infl, unit, n_units)
        per_cell = _sparse(ratios, grouped.cells, n_cells)
        unit_cells = sparse.csr_matrix((grouped.weights, (unit, grouped.cells)), shape=(n_units, n_cells))
        block = size if full else max(1, CHUNK_ENTRIES // max(n_units, n_cells))
        adjust = self._adjuster(count, size)
        parts = []
        for start in range(0, size, block):
            columns = slice(start, min(size, start + block))
            h = adjust(per_cell[:, columns].toarray())
            x = totals[:, columns].toarray() - unit_cells @ h
            parts.append(multistage_vcov(units, Influence(x), lonely_psu, diagonal=not full))
        return parts[0] if full else np.concatenate(parts)

    def _adjuster(self, count: np.ndarray, size: int):
        """``sums -> h`` of :meth:`RakeStep.adjust_cells`. The ten sweeps are linear in the sums, so past
        as many columns as cells (3,321 communes over 408 cells) they are applied once, to the identity,
        and every block of columns is one product with that cells x cells matrix."""
        if size <= len(self.factor):
            return lambda sums: self.step.adjust_cells(sums, count, self.weights)
        operator = self.step.adjust_cells(np.eye(len(self.factor)), count, self.weights)
        return lambda sums: operator @ sums


@dataclass(frozen=True)
class GroupedRows:
    """What the raking residuals need of each grouped row: its cell, respondents and final weight."""

    cells: np.ndarray
    rows: np.ndarray
    weights: np.ndarray


def _sparse(infl: Influence, rows: np.ndarray, n_rows: int) -> sparse.csc_matrix:
    """``infl``'s full matrix summed into ``n_rows`` rows (``rows[i]`` for row i), sparse by columns."""
    values = infl.values
    m = values.shape[1]
    codes = np.zeros(len(values), dtype=np.int64) if infl.codes is None else infl.codes
    cols = (codes[:, None] * m + np.arange(m)[None, :]).ravel()
    return sparse.csc_matrix((values.ravel(), (np.repeat(rows, m), cols)), shape=(n_rows, infl.n_columns))
