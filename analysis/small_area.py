"""Fay–Herriot small-area estimation: area-level EBLUPs with their MSEs, as R ``sae``'s ``eblupFH``/``mseFH``.

The model has two layers: the direct estimate of area d is y_d = θ_d + e_d with e_d ~ N(0, ψ_d) and ψ_d
known (the sampling variance), and θ_d = x_d'β + u_d with u_d ~ N(0, A). The EBLUP is
θ̂_d = γ_d y_d + (1 − γ_d) x_d'β̂ with γ_d = Â/(Â + ψ_d): a ward with a small sampling variance keeps
its direct estimate, a ward with few respondents borrows strength from the regression.

Fitting: Â by Fisher scoring (REML, ML, or Fay and Herriot's moment equation), with the score and
information written with diagonal formulas only (traces of p × p matrices), so a fit over 3,321
communes never forms an m × m matrix (R ``sae`` builds and multiplies them: O(m³)). The stopping rule
is |Â_{k+1} − Â_k| ≤ ``tol`` · Â_k with ``tol = 1e-12`` by default (``sae``'s default 1e-4 leaves
EBLUPs off by up to 1e-6). Iterates are clamped at 0; when the score at 0 points below zero the
estimate is the boundary Â = 0 (every EBLUP is then the synthetic estimate) and the fit says so
(``refvar_at_boundary``). ``sae`` lets iterates go negative and truncates after the loop: the same
answer whenever ``sae`` converges. If scoring does not settle in ``maxiter`` steps, the score's root is
bracketed and found by Brent's method (the fit records it); a fit never returns NaN silently.

MSE (``sae``'s ``mseFH``): g1 = γψ, g2 = (1−γ)² x'Qx with Q = V(β̂), g3 = (1−γ)² V̄(Â)/(Â+ψ);
REML: Prasad–Rao g1 + g2 + 2g3; ML: Datta–Lahiri, minus b_ML (1−γ)²; FH: Datta–Rao–Smith, minus
b_FH (1−γ)². An area with no direct estimate is out of sample: its estimate is the synthetic x'β̂
and its MSE Â + x'Qx − b, the limit of the in-sample MSE as ψ → ∞ (for REML, b = 0: exactly
σ²ᵤ + x'V(β̂)x; for ML and FH, b corrects the first-order bias of Â the same way in and out of sample).

Shares: ``transform="arcsin"`` fits on y* = arcsin √p with ψ* = ψ/(4p(1−p)) (or 1/(4ñ) from an
effective sample size column), and back-transforms with the bias correction E[sin² T],
T ~ N(θ̂*, s²), s² = g1* (in sample) or Â* (out of sample), which has the closed form
½[1 − exp(−2s²) cos 2θ̂*]. emdi's ``"arcsin"`` integrates over [0, π/2] only and without
renormalising, which pulls estimates near 1 far down; the whole-line form here does not. Intervals
are the transformed-scale intervals mapped back (so they lie in [0, 1]); the MSE on the share scale
is the delta-method (sin 2θ̂*)² · mse*.

References
----------
Fay, R. E. and Herriot, R. A. (1979). Estimates of income for small places. *JASA* 74, 269-277.
Prasad, N. G. N. and Rao, J. N. K. (1990). *JASA* 85, 163-171.
Datta, G. S. and Lahiri, P. (2000). *Statistica Sinica* 10, 613-627.
Datta, G. S., Rao, J. N. K. and Smith, D. D. (2005). *Biometrika* 92, 183-196.
Rao, J. N. K. and Molina, I. (2015). *Small Area Estimation*, 2nd ed. Wiley, ch. 6.
Molina, I. and Marhuenda, Y. (2015). sae: an R package for small area estimation. *R Journal* 7(1).
Hadam, S., Würz, N. and Kreutzmann, A.-K. (2020). Estimating regional unemployment with mobile network
data for functional urban areas in Germany (arcsine back-transformation). FU Berlin discussion paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from analysis.benchmarking import benchmark
from analysis.errors import DesignError
from analysis.lazy import numpy as np
from analysis.lazy import optimize, stats
from analysis.lazy import pandas as pd
from analysis.results import wald_ci
from analysis.small_area_diagnostics import diagnose

__all__ = ["fay_herriot", "FayHerriotFit", "METHODS"]

METHODS = ("REML", "ML", "FH")
Method = Literal["REML", "ML", "FH"]
TABLE_COLUMNS = ["direct", "direct_se", "eblup", "mse", "rmse", "ci_low", "ci_high", "gamma", "synthetic",
                 "in_sample"]


@dataclass(frozen=True)
class FayHerriotFit:
    """A fitted Fay–Herriot model; ``table`` holds one row per area in input order.

    Attributes
    ----------
    table : DataFrame
        The area column, ``direct``, ``direct_se``, ``eblup``, ``mse``, ``rmse``, ``ci_low``,
        ``ci_high``, ``gamma`` (shrinkage weight Â/(Â+ψ), 0 out of sample), ``synthetic`` (x'β̂) and
        ``in_sample``. With ``transform="arcsin"`` every column is on the share scale.
    refvar : float
        Â, the between-area variance (on the fitting scale).
    coefficients : DataFrame
        Index ``(Intercept)`` and the covariate columns; ``estimate``, ``se``, ``t``, ``p`` (normal).
    loglike, aic, bic : float
        The ordinary log-likelihood at the estimates (as ``sae``, also after REML), AIC, BIC.
    iterations : int
        Fisher-scoring steps taken.
    converged : bool
        Whether Â met the tolerance (scoring, or Brent's method as a fallback).
    refvar_at_boundary : bool
        True when the variance estimate was at or below zero and has been set to 0.
    notes : list of str
        Codes of what the fit did that a reader must know (``refvar_zero``, ``brent_fallback``,
        ``areas_synthetic:<areas>``).
    """

    table: pd.DataFrame
    refvar: float
    coefficients: pd.DataFrame
    loglike: float
    aic: float
    bic: float
    iterations: int
    converged: bool
    method: str
    refvar_at_boundary: bool
    transform: str | None
    level: float
    area: str
    covariates: tuple[str, ...]
    notes: tuple[str, ...] = ()
    refvar_null: float = float("nan")  # Â of the intercept-only model (for the variance explained)
    # On the fitting scale, in-sample areas only, for diagnostics: y, psi, eblup, synthetic.
    fitted: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(), repr=False)  # pandas at first use

    @property
    def n_in_sample(self) -> int:
        return int(self.table["in_sample"].sum())

    def diagnostics(self):
        """Residual checks, variance explained, CV gain (:func:`analysis.small_area_diagnostics.diagnose`)."""
        return diagnose(self)

    def benchmark(self, weights: np.ndarray | pd.Series, target: float,
                  kind: Literal["ratio", "difference"] = "ratio") -> pd.DataFrame:
        """``table`` plus ``eblup_benchmarked`` and ``mse_benchmarked`` (see :mod:`analysis.benchmarking`).

        ``weights``: each area's population (in table order); ``target``: the direct city-wide estimate.
        """
        adjusted, mse = benchmark(self.table["eblup"].to_numpy(), self.table["mse"].to_numpy(),
                                  np.asarray(weights, dtype=float), target, kind)
        return self.table.assign(eblup_benchmarked=adjusted, mse_benchmarked=mse)


def fay_herriot(data: pd.DataFrame, estimate: str, variance: str, covariates: list[str] | tuple[str, ...] = (),
                area: str = "area", method: Method = "REML", *, transform: Literal["arcsin"] | None = None,
                effective_n: str | None = None, level: float = 0.95, tol: float = 1e-12, maxiter: int = 1000,
                zero_variance: Literal["error", "synthetic"] = "error") -> FayHerriotFit:
    """Fit the Fay–Herriot model and predict every area (see the module docstring).

    Parameters
    ----------
    data : DataFrame
        One row per area: ``area``, the direct ``estimate`` (NaN for an area with no sample, which
        is then out of sample), its sampling ``variance``, and the covariates (numeric; a text or
        categorical column is expanded with treatment coding, first level dropped; the intercept is
        always included). Covariates must be known for every area.
    method : "REML" (default), "ML" or "FH"
    transform : None or "arcsin"
        ``"arcsin"`` for shares in [0, 1]: fit on arcsin √p, back-transform with bias correction.
    effective_n : str, optional
        With ``"arcsin"``: a column of effective sample sizes ñ = n/deff, giving ψ* = 1/(4ñ) (needed
        for a share of exactly 0 or 1; otherwise ψ* = ψ/(4p(1−p))).
    zero_variance : "error" (default) or "synthetic"
        What to do with an in-sample area whose variance is missing or ≤ 0 (one respondent, or a
        share of 0 or 1): raise, naming the areas, or predict it synthetically like an
        out-of-sample area and record it in ``notes``. Smooth the variances first
        (:func:`analysis.smooth_variances`) to keep such areas in the model.
    """
    _check_options(method, transform, zero_variance, level)
    covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    _check_columns(data, [area, estimate, variance, *covariates, *([effective_n] if effective_n else [])])
    X, names = design_matrix(data, covariates)
    direct = pd.to_numeric(data[estimate], errors="coerce").to_numpy(dtype=float)
    psi_direct = pd.to_numeric(data[variance], errors="coerce").to_numpy(dtype=float)
    y, psi = _fitting_scale(data, direct, psi_direct, transform, effective_n)
    used, notes = _usable(data[area].to_numpy(), direct, y, psi, zero_variance)
    m, p = int(used.sum()), X.shape[1]
    if m <= p:
        raise DesignError(f"{m} area(s) with a usable direct estimate for {p} regression coefficients; "
                          "the model needs more areas than coefficients")
    core = _fit(y[used], psi[used], X[used], method, tol, maxiter)
    notes.extend(core.notes)
    null = _fit(y[used], psi[used], X[used][:, :1], method, tol, maxiter) if covariates else core
    table = _predict(core, X, y, psi, used, method, level)
    fitted = pd.DataFrame({"y": y[used], "psi": psi[used], "eblup": table["eblup"].to_numpy()[used],
                           "synthetic": table["synthetic"].to_numpy()[used]}, index=np.flatnonzero(used))
    if transform == "arcsin":
        table = _back_transform(table, core.refvar, psi, used, level)
    table["direct"] = direct
    table["direct_se"] = np.sqrt(np.where(psi_direct >= 0, psi_direct, np.nan))
    table.insert(0, area, data[area].to_numpy())
    return FayHerriotFit(
        table=table[[area, *TABLE_COLUMNS]], refvar=core.refvar, coefficients=_coefficients(core, names),
        loglike=core.loglike, aic=-2 * core.loglike + 2 * (p + 1), bic=-2 * core.loglike + (p + 1) * np.log(m),
        iterations=core.iterations, converged=core.converged, method=method,
        refvar_at_boundary=core.at_boundary, transform=transform, level=level, area=area, covariates=covariates,
        notes=tuple(notes), refvar_null=null.refvar, fitted=fitted)


def _check_options(method: str, transform: str | None, zero_variance: str, level: float) -> None:
    if method not in METHODS:
        raise DesignError(f"method={method!r} must be one of {', '.join(METHODS)}")
    if transform not in (None, "arcsin"):
        raise DesignError(f"transform={transform!r} must be None or 'arcsin'")
    if zero_variance not in ("error", "synthetic"):
        raise DesignError(f"zero_variance={zero_variance!r} must be 'error' or 'synthetic'")
    if not 0 < level < 1:
        raise DesignError(f"level={level!r} must be strictly between 0 and 1")


def _usable(areas: np.ndarray, direct: np.ndarray, y: np.ndarray, psi: np.ndarray,
            zero_variance: str) -> tuple[np.ndarray, list[str]]:
    """The in-sample areas the model can use, and a note naming those predicted synthetically instead
    (``zero_variance="synthetic"``; with ``"error"`` they raise)."""
    sampled = ~np.isnan(direct)
    unusable = sampled & ~(np.isfinite(psi) & (psi > 0) & np.isfinite(y))
    notes = []
    if unusable.any():
        bad = ", ".join(map(str, areas[unusable][:20]))
        if zero_variance == "error":
            raise DesignError(f"{int(unusable.sum())} area(s) have a direct estimate but no usable sampling "
                              f"variance (missing or <= 0): {bad}; smooth the variances or pass "
                              "zero_variance='synthetic'")
        notes.append(f"areas_synthetic:{bad}")
    return sampled & ~unusable, notes


def design_matrix(data: pd.DataFrame, covariates: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """The intercept and the covariates; text/categorical columns in treatment coding (R's default)."""
    columns, names = [np.ones(len(data))], ["(Intercept)"]
    for name in covariates:
        col = data[name]
        if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object or pd.api.types.is_string_dtype(col):
            cat = col.astype("category") if not isinstance(col.dtype, pd.CategoricalDtype) else col
            if cat.isna().any():
                raise DesignError(f"covariate {name!r} is missing for {int(cat.isna().sum())} area(s)")
            for level in cat.cat.categories[1:]:
                columns.append((cat == level).to_numpy(dtype=float))
                names.append(f"{name}{level}")
            continue
        values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise DesignError(f"covariate {name!r} is missing or not numeric for "
                              f"{int((~np.isfinite(values)).sum())} area(s)")
        columns.append(values)
        names.append(name)
    return np.column_stack(columns), names


def _check_columns(data: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DesignError(f"column(s) {', '.join(map(repr, missing))} not in the data")


def _fitting_scale(data, direct, psi, transform, effective_n):
    if transform is None:
        return direct, psi
    if np.any((direct < 0) | (direct > 1)):
        raise DesignError("transform='arcsin' needs shares between 0 and 1")
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.arcsin(np.sqrt(direct))
        if effective_n is not None:
            n_eff = pd.to_numeric(data[effective_n], errors="coerce").to_numpy(dtype=float)
            psi_star = np.where(n_eff > 0, 1 / (4 * n_eff), np.nan)
        else:
            psi_star = psi / (4 * direct * (1 - direct))
    return y, psi_star


@dataclass
class _Core:
    """The estimates on the fitting scale over the m in-sample areas."""

    refvar: float
    beta: np.ndarray
    Q: np.ndarray  # V(β̂) = (X'V⁻¹X)⁻¹
    bias: float  # b in the MSE (0 for REML)
    var_refvar: float  # V̄(Â), the asymptotic variance of Â
    loglike: float
    iterations: int
    converged: bool
    at_boundary: bool
    notes: list[str]


class _Scoring:
    """Score and expected information of A for one method, by diagonal formulas (no m × m matrix)."""

    def __init__(self, y: np.ndarray, psi: np.ndarray, X: np.ndarray, method: str):
        self.y, self.psi, self.method = y, psi, method
        self.scale = np.maximum(np.abs(X).max(axis=0), 1e-300)  # columns scaled for a well-conditioned Q
        self.Xs = X / self.scale

    def gls(self, A: float):
        """w = 1/V, Qs = (Xs'WXs)⁻¹, β̃ (scaled), residuals r̃."""
        w = 1.0 / (A + self.psi)
        Qs = np.linalg.inv((self.Xs * w[:, None]).T @ self.Xs)
        beta_s = Qs @ (self.Xs.T @ (w * self.y))
        return w, Qs, beta_s, self.y - self.Xs @ beta_s

    def score_information(self, A: float) -> tuple[float, float]:
        w, Qs, _, r = self.gls(A)
        m, p = self.Xs.shape
        if self.method == "FH":
            return float(np.sum(r * r * w) - (m - p)), float(np.sum(w))
        quad = float(np.sum((r * w) ** 2))
        if self.method == "ML":
            return 0.5 * quad - 0.5 * float(np.sum(w)), 0.5 * float(np.sum(w * w))
        M2 = Qs @ ((self.Xs * (w * w)[:, None]).T @ self.Xs)
        M3 = Qs @ ((self.Xs * (w ** 3)[:, None]).T @ self.Xs)
        trace_p = float(np.sum(w)) - float(np.trace(M2))
        trace_p2 = float(np.sum(w * w)) - 2 * float(np.trace(M3)) + float(np.sum(M2 * M2.T))
        return 0.5 * quad - 0.5 * trace_p, 0.5 * trace_p2


def _fit(y: np.ndarray, psi: np.ndarray, X: np.ndarray, method: str, tol: float, maxiter: int) -> _Core:
    scoring = _Scoring(y, psi, X, method)
    if np.linalg.matrix_rank(scoring.Xs) < X.shape[1]:
        raise DesignError("the covariates are collinear (or a level has no in-sample area); drop one")
    A, iterations, converged, at_boundary, notes = float(np.median(psi)), 0, False, False, []
    while iterations < maxiter:
        iterations += 1
        score, info = scoring.score_information(A)
        new = max(A + score / info, 0.0)
        if new == 0.0 and A == 0.0:
            converged = at_boundary = True
            break
        if abs(new - A) <= tol * max(A, new):
            A, converged = new, True
            break
        A = new
    if not converged:
        A, converged, at_boundary = _brent(scoring, tol)
        notes.append("brent_fallback")
    if at_boundary or A == 0.0:
        at_boundary = True
        notes.append("refvar_zero")
    return _core_at(scoring, A, iterations, converged, at_boundary, notes)


def _brent(scoring: _Scoring, tol: float) -> tuple[float, bool, bool]:
    """The root of the score on [0, ∞) when Fisher scoring does not settle (score(0) ≤ 0: boundary)."""
    def score(a):
        return scoring.score_information(a)[0]
    if score(0.0) <= 0:
        return 0.0, True, True
    upper = max(float(np.median(scoring.psi)), 1e-12)
    while score(upper) > 0:
        upper *= 4
        if upper > 1e300:
            return float("nan"), False, False
    root = optimize.brentq(score, 0.0, upper, xtol=1e-300, rtol=max(tol, 4 * np.finfo(float).eps), maxiter=500)
    return float(root), True, False


def _core_at(scoring: _Scoring, A: float, iterations: int, converged: bool, at_boundary: bool,
             notes: list[str]) -> _Core:
    w, Qs, beta_s, r = scoring.gls(A)
    beta = beta_s / scoring.scale
    Q = Qs / np.outer(scoring.scale, scoring.scale)
    m = len(w)
    sum_w, sum_w2 = float(np.sum(w)), float(np.sum(w * w))
    if scoring.method == "FH":
        var_refvar = 2 * m / sum_w ** 2
        bias = 2 * (m * sum_w2 - sum_w ** 2) / sum_w ** 3
    else:
        var_refvar = 2 / sum_w2
        bias = 0.0
        if scoring.method == "ML":
            bias = -float(np.trace(Qs @ ((scoring.Xs * (w * w)[:, None]).T @ scoring.Xs))) / sum_w2
    loglike = -0.5 * float(np.sum(np.log(2 * np.pi / w) + r * r * w))
    return _Core(A, beta, Q, bias, var_refvar, loglike, iterations, converged, at_boundary, notes)


def _predict(core: _Core, X: np.ndarray, y: np.ndarray, psi: np.ndarray, used: np.ndarray, method: str,
             level: float) -> pd.DataFrame:
    """EBLUP and MSE for every area on the fitting scale (synthetic for areas out of the fit).

    Not an :class:`analysis.results.Estimate`: an EBLUP's uncertainty is a model-based MSE (g1 + g2 + g3,
    with the bias term), not a design-based standard error, and the table carries the shrinkage
    (gamma), the synthetic estimate and the share-scale back-transform, which no other estimator has;
    its interval, ``eblup -/+ q rmse``, is :func:`analysis.results.wald_ci`'s."""
    A = core.refvar
    synthetic = X @ core.beta
    xQx = np.einsum("ij,jk,ik->i", X, core.Q, X)
    with np.errstate(divide="ignore", invalid="ignore"):
        V = A + psi
        gamma = np.where(used, A / V, 0.0)
        shrink = 1 - gamma  # B_d
        g1 = gamma * psi
        g2 = shrink ** 2 * xQx
        g3 = shrink ** 2 * core.var_refvar / V
        mse_in = g1 + g2 + 2 * g3 - core.bias * shrink ** 2
    mse_out = A + xQx - core.bias
    eblup = np.where(used, synthetic + gamma * (y - synthetic), synthetic)
    mse = np.where(used, mse_in, mse_out)
    rmse = np.sqrt(np.clip(mse, 0, None))
    low, high = wald_ci(eblup, rmse, level)
    return pd.DataFrame({"eblup": eblup, "mse": mse, "rmse": rmse, "ci_low": low, "ci_high": high,
                         "gamma": gamma, "synthetic": synthetic, "in_sample": used})


def arcsin_back(theta: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """E[sin² T] for T ~ N(θ, s²): ½[1 − exp(−2s²) cos 2θ], the bias-corrected share."""
    return 0.5 * (1 - np.exp(-2 * np.asarray(s2)) * np.cos(2 * np.asarray(theta)))


def _naive_share(theta: np.ndarray) -> np.ndarray:
    return np.sin(np.clip(theta, 0, np.pi / 2)) ** 2


def _back_transform(table: pd.DataFrame, A: float, psi_star: np.ndarray, used: np.ndarray,
                    level: float) -> pd.DataFrame:
    """The share-scale table: bias-corrected EBLUP, delta-method MSE, intervals mapped back."""
    theta = table["eblup"].to_numpy()
    s2 = np.where(used, table["gamma"].to_numpy() * np.where(used, psi_star, 0.0), A)
    out = table.copy()
    out["eblup"] = arcsin_back(theta, s2)
    out["synthetic"] = arcsin_back(table["synthetic"].to_numpy(), A)
    out["mse"] = np.sin(2 * np.clip(theta, 0, np.pi / 2)) ** 2 * table["mse"].to_numpy()
    out["rmse"] = np.sqrt(np.clip(out["mse"], 0, None))
    out["ci_low"] = _naive_share(table["ci_low"].to_numpy())
    out["ci_high"] = _naive_share(table["ci_high"].to_numpy())
    return out


def _coefficients(core: _Core, names: list[str]) -> pd.DataFrame:
    se = np.sqrt(np.diag(core.Q))
    t = core.beta / se
    return pd.DataFrame({"estimate": core.beta, "se": se, "t": t, "p": 2 * stats.norm.sf(np.abs(t))},
                        index=pd.Index(names, name=None))
