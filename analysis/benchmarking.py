"""Benchmarking small-area estimates so that their population-weighted mean equals a direct city estimate.

With population shares ξ_d (Σ ξ = 1 after normalising the given weights) and target τ (the direct
estimate for the whole city, which is precise), the two forms of Datta, Ghosh, Steorts and Maples
(2011) are

* difference: θ^b_d = θ̂_d + (τ − Σ ξ θ̂), the same shift for every ward;
* ratio:      θ^b_d = θ̂_d · τ / Σ ξ θ̂, the same factor for every ward (keeps a share ≥ 0).

Then Σ ξ θ^b = τ exactly. The price is accuracy in each ward: to second order the benchmarked
estimator's MSE exceeds the EBLUP's by the squared adjustment (Steorts and Ghosh 2013, for the
difference form; applied here to both forms by plug-in), so ``mse_benchmarked = mse + (θ^b − θ̂)²``,
and intervals widen accordingly. Benchmarking protects the city total, not the wards.

References
----------
Datta, G. S., Ghosh, M., Steorts, R. and Maples, J. (2011). Bayesian benchmarking with applications to small
area estimation. *TEST* 20, 574-588.
Steorts, R. C. and Ghosh, M. (2013). On estimation of mean squared errors of benchmarked empirical Bayes
estimators. *Statistica Sinica* 23, 749-767.
"""

from __future__ import annotations

from typing import Literal

from analysis.errors import DesignError
from analysis.lazy import numpy as np

__all__ = ["benchmark"]


def benchmark(estimates: np.ndarray, mse: np.ndarray, weights: np.ndarray, target: float,
              kind: Literal["ratio", "difference"] = "ratio") -> tuple[np.ndarray, np.ndarray]:
    """Benchmarked estimates and their MSE (``mse + adjustment²``); ``weights`` are population sizes or shares."""
    if kind not in ("ratio", "difference"):
        raise DesignError(f"kind={kind!r} must be 'ratio' or 'difference'")
    estimates, mse, weights = (np.asarray(a, dtype=float) for a in (estimates, mse, weights))
    if not (np.isfinite(weights).all() and (weights >= 0).all() and weights.sum() > 0):
        raise DesignError("benchmark weights must be non-negative population sizes with a positive total")
    if not np.isfinite(estimates).all():
        raise DesignError("every area needs an estimate to benchmark")
    share = weights / weights.sum()
    current = float(share @ estimates)
    if kind == "difference":
        adjusted = estimates + (target - current)
    else:
        if current == 0:
            raise DesignError("ratio benchmarking needs a non-zero weighted mean of the estimates")
        adjusted = estimates * (target / current)
    return adjusted, mse + (adjusted - estimates) ** 2
