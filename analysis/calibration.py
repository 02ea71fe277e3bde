"""Weighting to population information: post-stratification, raking and linear (GREG) calibration.

Each function returns a new design whose weights meet the population counts or totals and which
remembers a *step* that removes, from any influence values, the part explained by the
calibration variables, exactly as R's ``svyrecvar`` does with ``design$postStrata``:

* post-stratification: :math:`x - w_{new} \\cdot \\overline{(x\\, w_{old}/w_{new})}_{cell}` (``postStratify``);
* raking: ten sweeps of :math:`x - w_m \\, \\mathrm{ave}(x / w_m, \\mathrm{margin})` over the margins
  (``rake``), with the weights of the last raking iteration;
* GREG: residuals of the weighted regression of :math:`x/w` on the calibration variables
  (``calibrate``, ``regcalibrate``, ``grake`` with the linear calibration function and bounds).

Why hand-written: the variance of a calibrated estimator needs the calibration's own residual
step inside the variance engine (R's ``postStrata``), which a weights-only calibration library
(e.g. samplics' ``SampleWeight``) does not give back; matching R's ``rake`` and ``calibrate`` to 1e-8
needs their exact iteration and stopping rules.

References
----------
Deville, J.-C. and Sarndal, C.-E. (1992). Calibration estimators in survey sampling. *JASA* 87, 376-382.
Lumley, T. (2010). *Complex Surveys*. Wiley, ch. 7.
Lohr, S. L. (2019). *Sampling: Design and Analysis*, 2nd ed. CRC, sections 4.4 and 8.6.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analysis.domains import domains
from analysis.errors import CalibrationError, ConvergenceError
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.variance import group_sums

if TYPE_CHECKING:
    from analysis.design import SurveyDesign

__all__ = ["poststratify", "rake", "rake_weights", "calibrate", "PostStratStep", "RakeStep", "GregStep"]


def _group_sum(codes: np.ndarray, x: np.ndarray, size: int) -> np.ndarray:
    return group_sums(codes, x, size)


@dataclass(frozen=True)
class PostStratStep:
    """Post-stratification residuals (R's ``postStrata`` index with its weights)."""

    cells: np.ndarray
    n_cells: int
    weights: np.ndarray
    old_weights: np.ndarray

    def adjust(self, x: np.ndarray) -> np.ndarray:
        psw = np.where((self.weights == 0) & (self.old_weights == 0), 1.0, self.weights)
        with np.errstate(divide="ignore", invalid="ignore"):
            sums = _group_sum(self.cells, x * (self.old_weights / psw)[:, None], self.n_cells)
            means = sums / np.bincount(self.cells, weights=self.old_weights, minlength=self.n_cells)[:, None]
        return x - means[self.cells] * psw[:, None]


@dataclass(frozen=True)
class RakeStep:
    """Raking residuals: ten sweeps over the margins of the final raking iteration (as R)."""

    margins: tuple[tuple[np.ndarray, int, np.ndarray], ...]

    def adjust(self, x: np.ndarray) -> np.ndarray:
        for _ in range(10):
            for cells, size, psw in self.margins:
                counts = np.bincount(cells, minlength=size)[:, None]
                means = _group_sum(cells, x / psw[:, None], size) / counts
                x = x - psw[:, None] * means[cells]
        return x

    def adjust_cells(self, sums: np.ndarray, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """:meth:`adjust` when this step was made on a table of cells (one row per cell of the margin
        variables, holding its sum of weights) rather than on the respondents.

        Within a cell every respondent's weight at each raking step is its final weight times the
        same ratio ``psw / weights`` of the cell, so the adjusted influence of respondent ``i`` in
        cell ``c`` is ``w_i (x_i / w_i - h_c)``. Given ``sums`` (per cell and column, the sum of
        ``x_i / w_i``), ``rows`` (respondents per cell) and ``weights`` (final sum of weights per
        cell), this returns ``h`` (cells x columns), by the same ten sweeps as :meth:`adjust`.
        """
        h = np.zeros_like(sums)
        for _ in range(10):
            for cells, size, psw in self.margins:
                ratio = (psw / weights)[:, None]
                moved = _group_sum(cells, (sums - rows[:, None] * h) / ratio, size)
                h = h + ratio * (moved / np.bincount(cells, weights=rows, minlength=size)[:, None])[cells]
        return h


@dataclass(frozen=True)
class GregStep:
    """GREG residuals: ``qr.resid(qr(X sqrt(d)), x / w) * w`` with ``w = g sqrt(d)`` (R's ``greg_calibration``)."""

    basis: np.ndarray
    w: np.ndarray

    def adjust(self, x: np.ndarray) -> np.ndarray:
        y = x / self.w[:, None]
        return (y - self.basis @ (self.basis.T @ y)) * self.w[:, None]


def _cells(data: pd.DataFrame, variables: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    dom = domains(data, list(variables))
    if not dom.member.all():
        raise CalibrationError(f"missing values in weighting variable(s) {list(variables)}; impute or drop them first",
                               "calibration.missing_values", variables=", ".join(map(str, variables)))
    return dom.codes, dom.keys


def _population_vector(keys: pd.DataFrame, population: Mapping, partial: bool, what: str) -> np.ndarray:
    lookup = {(k if isinstance(k, tuple) else (k,)): float(v) for k, v in population.items()}
    lookup = {tuple(str(p) for p in k): v for k, v in lookup.items()}
    sample_keys = [tuple(str(v) for v in row) for row in keys.itertuples(index=False)]
    missing = [k for k in sample_keys if k not in lookup or lookup[k] == 0]
    if missing:
        raise CalibrationError(f"{what}: sample level(s) {missing[:5]} have respondents but no population count",
                               "calibration.no_population", levels=_levels(missing[:5]))
    absent = sorted(set(lookup) - set(sample_keys))
    absent = [k for k in absent if lookup[k] != 0]
    if absent and not partial:
        raise CalibrationError(
            f"{what}: population level(s) {absent[:5]} have no respondents; collapse them with a "
            "neighbouring level, or pass partial=True to ignore them", "calibration.no_sample", levels=_levels(absent[:5])
        )
    return np.array([lookup[k] for k in sample_keys])


def _levels(keys: Sequence[tuple]) -> str:
    """Levels for a message: "1 × 16-29, 2 × 60+"."""
    return ", ".join(" × ".join(map(str, k)) for k in keys)


def _poststratify_weights(data, variables, population, partial, weights):
    cells, keys = _cells(data, variables)
    pop = _population_vector(keys, population, partial, f"post-stratification on {list(variables)}")
    sample = np.bincount(cells, weights=weights, minlength=len(keys))
    new = weights * (pop / sample)[cells]
    return cells, len(keys), new


def poststratify(design: SurveyDesign, variables: str | Sequence[str], population: Mapping,
                 partial: bool = False) -> SurveyDesign:
    """Post-stratify to population counts per cell (R's ``postStratify``).

    Parameters
    ----------
    variables : str or list of str
        Cell-defining column(s).
    population : mapping
        Population count per level (a tuple of levels when several variables).
    partial : bool
        Ignore population cells with no respondents instead of raising ``CalibrationError``.
    """
    variables = [variables] if isinstance(variables, str) else list(variables)
    cells, size, new = _poststratify_weights(design.data, variables, population, partial, design.weights)
    return design.reweighted(new, PostStratStep(cells, size, new, design.weights))


def _joint_table(margin_cells, weights):
    key = np.zeros(len(weights), dtype=np.int64)
    for cells, size in margin_cells:
        key = key * size + cells
    return np.bincount(np.unique(key, return_inverse=True)[1], weights=weights)


def rake(design: SurveyDesign, margins: Mapping[str, Mapping], tol: float = 1.0, max_iter: int = 10) -> SurveyDesign:
    """Rake (iterative proportional fitting) to population margins (R's ``rake``).

    Parameters
    ----------
    margins : mapping
        ``{variable: {level: population count}}``; a tuple of variables as key rakes to a joint margin.
    tol : float
        Convergence when no cell of the joint sample table moves by ``tol`` or more (weighted
        count units); a ``tol`` below 1 is relative to the sum of weights (R's ``epsilon``).
    max_iter : int
        Sweeps before ``ConvergenceError`` (R's ``maxit``, default 10).
    """
    return design.reweighted(*rake_weights(design.data, design.weights, margins, tol, max_iter))


def rake_weights(data: pd.DataFrame, weights: np.ndarray, margins: Mapping[str, Mapping], tol: float = 1.0,
                 max_iter: int = 10) -> tuple[np.ndarray, RakeStep]:
    """The raked weights of the rows of ``data`` and the step their variance needs (see :func:`rake`).

    The rows may be respondents, or the cells of the margin variables' cross-table with their sums
    of weights (what :class:`analysis.sql.SqlDesign` reads): raking multiplies every weight of a
    cell by the same factors, so both give the same factors per cell.
    """
    names = [[k] if isinstance(k, str) else list(k) for k in margins]
    eps = tol * weights.sum() if tol < 1 else tol
    margin_cells = [_cells(data, v) for v in names]
    for (_, keys), v, pop in zip(margin_cells, names, margins.values(), strict=True):
        _population_vector(keys, pop, False, f"raking margin {v}")
    sizes = [(c, len(k)) for c, k in margin_cells]
    w = weights
    old = _joint_table(sizes, w)
    for _ in range(max_iter):
        steps = []
        for v, pop in zip(names, margins.values(), strict=True):
            cells, size, new = _poststratify_weights(data, v, pop, False, w)
            steps.append((cells, size, new))
            w = new
        table = _joint_table(sizes, w)
        if np.max(np.abs(old - table)) < eps:
            return w, RakeStep(tuple(steps))
        old = table
    raise ConvergenceError(f"raking did not converge in {max_iter} iterations (tol={tol}); raise max_iter, "
                           "loosen tol or collapse sparse margins", "calibration.not_converged")


def _model_matrix(design: SurveyDesign, population: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    columns, totals, first_categorical = [], [], True
    for name, target in population.items():
        col = design.column(name)
        if isinstance(target, Mapping):
            levels = [str(k) for k in target]
            values = col.astype(str).to_numpy()
            unknown = sorted(set(np.unique(values)) - set(levels))
            if col.isna().any() or unknown:
                raise CalibrationError(f"calibration variable {name!r} has value(s) {unknown[:5] or ['NA']} "
                                       f"without a population count; known levels are {levels}",
                                       "calibration.unknown_levels", variable=name,
                                       levels=", ".join(unknown[:5]) or "NA")
            use = levels if first_categorical else levels[1:]
            first_categorical = False
            for level in use:
                columns.append((values == level).astype(float))
                totals.append(float(target[level] if level in target else dict(
                    (str(k), v) for k, v in target.items())[level]))
        else:
            x = pd.to_numeric(col).to_numpy(dtype=float)
            if np.isnan(x).any():
                raise CalibrationError(f"calibration variable {name!r} has missing values", "calibration.missing_values",
                                       variables=name)
            columns.append(x)
            totals.append(float(target))
    return np.column_stack(columns), np.array(totals)


def _linear_bounded(mm, ww, population, bounds, max_iter, tol) -> np.ndarray:
    """R's ``grake`` with ``cal.linear``: Newton steps on the truncated linear calibration function."""
    lower, upper = bounds[0] - 1, bounds[1] - 1
    sample_total = mm.T @ ww
    eta = np.zeros(mm.shape[1])
    for _ in range(max_iter):
        u = mm @ eta
        deriv = ((u < upper) & (u > lower)).astype(float)
        tmat = (mm * (ww * deriv)[:, None]).T @ mm
        misfit = population - sample_total - mm.T @ (ww * np.clip(u, lower, upper))
        eta = eta + np.linalg.pinv(tmat, rcond=256 * np.finfo(float).eps) @ misfit
        u = mm @ eta
        misfit = population - sample_total - mm.T @ (ww * np.clip(u, lower, upper))
        if np.all(np.abs(misfit) / (1 + np.abs(population)) < tol):
            return 1 + np.clip(u, lower, upper)
    raise ConvergenceError(f"bounded calibration did not converge in {max_iter} iterations; widen bounds={bounds}",
                           "calibration.not_converged")


def calibrate(design: SurveyDesign, population: Mapping[str, Any], bounds: tuple[float, float] = (-math.inf, math.inf),
              max_iter: int = 50, tol: float = 1e-7) -> SurveyDesign:
    """Linear (GREG) calibration to population totals, optionally with bounds on the g-weights.

    Parameters
    ----------
    population : mapping
        ``{variable: {level: count}}`` for a categorical variable, ``{variable: total}`` for a
        numeric one. Every level of the first categorical variable is a column (so no intercept
        is needed); later categorical variables drop their first level.
    bounds : (float, float)
        Lower and upper bounds on ``g = w_new / w_old`` (R's ``bounds=``).
    """
    mm, totals = _model_matrix(design, population)
    ww = design.weights
    if np.all(np.isinf(bounds)):
        tmat = (mm * ww[:, None]).T @ mm
        g = 1 + mm @ np.linalg.solve(tmat, totals - mm.T @ ww)
    else:
        g = _linear_bounded(mm, ww, totals, bounds, max_iter, tol)
    whalf = np.sqrt(ww)
    u, s, _ = np.linalg.svd(mm * whalf[:, None], full_matrices=False)
    basis = u[:, s > s.max() * len(s) * np.finfo(float).eps]
    return design.reweighted(ww * g, GregStep(basis, g * whalf))
