"""Model checks for a Fay–Herriot fit, with codes for plain-language warnings.

What a statistics office looks at before publishing model-based ward estimates (as emdi's
``summary.fh``): standardised realised residuals (y_d − θ̂_d)/√ψ_d and the predicted random effects
û_d = θ̂_d − x_d'β̂ (standardised by their standard deviation), each with skewness, kurtosis (3 under
normality) and the Shapiro–Wilk test; the share of the between-ward variance the covariates explain,
1 − Â/Â₀ with Â₀ from the intercept-only model (Rao and Molina 2015, §6.2); and the gain, the median
coefficient of variation of the direct estimates against the model-based ones over the sampled wards.

Warning codes (the web layer words them): ``residuals_not_normal`` / ``random_effects_not_normal``
(Shapiro–Wilk p < 0.05), ``covariates_explain_little`` (under 20% explained), ``refvar_zero`` (no
between-ward variation beyond sampling noise: every estimate is the regression's), ``few_areas``
(fewer than 15 sampled wards), ``no_gain`` (median CV not smaller than the direct one).
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.lazy import stats

__all__ = ["FayHerriotDiagnostics", "diagnose"]

ALPHA = 0.05
LITTLE_EXPLAINED = 0.20
FEW_AREAS = 15


@dataclass(frozen=True)
class FayHerriotDiagnostics:
    """Residual checks, variance explained and the CV gain; ``warnings`` holds codes."""

    residuals: pd.DataFrame  # area, standardised_residual, random_effect, standardised_random_effect
    normality: pd.DataFrame  # index residuals / random_effects; skewness, kurtosis, shapiro_w, shapiro_p
    variance_explained: float
    median_cv_direct: float
    median_cv_model: float
    warnings: tuple[str, ...]


def diagnose(fit) -> FayHerriotDiagnostics:
    """The checks of :class:`FayHerriotDiagnostics` for a :class:`analysis.small_area.FayHerriotFit`."""
    f = fit.fitted
    resid = (f["y"] - f["eblup"]) / np.sqrt(f["psi"])
    effect = f["eblup"] - f["synthetic"]
    sd = float(effect.std(ddof=1)) if len(effect) > 1 else 0.0
    std_effect = (effect - effect.mean()) / sd if sd > 0 else effect * np.nan
    residuals = pd.DataFrame({fit.area: fit.table[fit.area].to_numpy()[f.index],
                              "standardised_residual": resid.to_numpy(), "random_effect": effect.to_numpy(),
                              "standardised_random_effect": std_effect.to_numpy()})
    normality = pd.DataFrame([_normality(resid.to_numpy()), _normality(effect.to_numpy())],
                             index=["residuals", "random_effects"])
    explained = np.nan
    if fit.covariates and fit.refvar_null > 0:
        explained = float(np.clip(1 - fit.refvar / fit.refvar_null, 0, 1))
    t = fit.table[fit.table["in_sample"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        cv_direct = float(np.nanmedian(np.where(t["direct"] != 0, t["direct_se"] / t["direct"].abs(), np.nan)))
        cv_model = float(np.nanmedian(np.where(t["eblup"] != 0, t["rmse"] / t["eblup"].abs(), np.nan)))
    warnings = []
    if normality.loc["residuals", "shapiro_p"] < ALPHA:
        warnings.append("residuals_not_normal")
    if normality.loc["random_effects", "shapiro_p"] < ALPHA and not fit.refvar_at_boundary:
        warnings.append("random_effects_not_normal")
    if fit.refvar_at_boundary:
        warnings.append("refvar_zero")
    elif explained == explained and explained < LITTLE_EXPLAINED:
        warnings.append("covariates_explain_little")
    if fit.n_in_sample < FEW_AREAS:
        warnings.append("few_areas")
    if not cv_model < cv_direct:
        warnings.append("no_gain")
    return FayHerriotDiagnostics(residuals, normality, explained, cv_direct, cv_model, tuple(warnings))


def _normality(values: np.ndarray) -> dict[str, float]:
    values = values[np.isfinite(values)]
    out = {"skewness": np.nan, "kurtosis": np.nan, "shapiro_w": np.nan, "shapiro_p": np.nan}
    if len(values) >= 3 and np.ptp(values) > 0:
        out["skewness"] = float(stats.skew(values))
        out["kurtosis"] = float(stats.kurtosis(values, fisher=False))
        if len(values) < 5000:
            w, p = stats.shapiro(values)
            out["shapiro_w"], out["shapiro_p"] = float(w), float(p)
    return out
