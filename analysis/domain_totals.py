"""Domain means and their differences, linearised from the joint totals of the domains and the whole.

A domain and the whole population share PSUs, so a domain mean's gap to the overall mean (or to
the rest of the population) is linearised from the joint totals ``[Y, W, Y_1..Y_K, W_1..W_K]``
(delta method, as R's ``svycontrast``). The t-tests of :mod:`analysis.hypothesis`, the left-behind
cells and the D-index and tree of :mod:`analysis.inequality` all start here.

References
----------
Lumley, T. (2010). *Complex Surveys*. Wiley, sections 2.4 and 3.3 (``svycontrast``).
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer, ch. 6.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analysis.domains import Domains
from analysis.errors import DesignError
from analysis.lazy import numpy as np
from analysis.variance import Influence

if TYPE_CHECKING:
    from analysis.design import SurveyDesign

__all__ = ["ratio_totals", "domain_means", "mean_differences"]

AGAINST = ("rest", "overall")


def ratio_totals(design: SurveyDesign, y: np.ndarray, ok: np.ndarray, dom: Domains):
    """Totals ``[Y, W, Y_1..Y_K, W_1..W_K]`` (overall, then per domain) and their variance matrix."""
    w = np.where(ok, design.weights, 0.0)
    wd = dom.only_members(w)
    overall = Influence(np.column_stack([w * y, w]))
    by_domain = Influence(np.column_stack([wd * y, wd]), dom.safe_codes(), dom.size)
    t = np.concatenate([[np.sum(w * y), w.sum()],
                        np.bincount(dom.safe_codes(), weights=wd * y, minlength=dom.size),
                        np.bincount(dom.safe_codes(), weights=wd, minlength=dom.size)])
    v = design.vcov([overall, by_domain])
    k = dom.size
    order = np.concatenate([[0, 1], 2 + 2 * np.arange(k), 3 + 2 * np.arange(k)])
    return t, v[np.ix_(order, order)]


def _mean_gradient(t: np.ndarray, k: int):
    """Each domain mean's gradient: two non-zero entries, at ``Y_k`` and ``W_k``.

    Returns the positions of those entries in ``t`` and their values.
    """
    yk, wk = t[2:2 + k], t[2 + k:]
    idx = np.arange(k)
    return 2 + idx, 2 + k + idx, 1 / wk, -yk / wk**2


def domain_means(t: np.ndarray, v: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Domain means ``Y_k / W_k`` and their variances from the totals of :func:`ratio_totals`."""
    a, b, ga, gb = _mean_gradient(t, k)
    # g' V g from those two entries only: O(k), where the dense quadratic form took O(k^3) (28 s for 500 cells)
    return t[2:2 + k] / t[2 + k:], ga**2 * v[a, a] + 2 * ga * gb * v[a, b] + gb**2 * v[b, b]


def mean_differences(t: np.ndarray, v: np.ndarray, k: int, against: str) -> tuple[np.ndarray, np.ndarray]:
    """Each domain mean minus the overall mean (``"overall"``) or the rest's (``"rest"``), with
    delta-method variances."""
    if against not in AGAINST:
        raise DesignError(f"against={against!r} is not allowed; choose one of {AGAINST}")
    y, w, yk, wk = t[0], t[1], t[2:2 + k], t[2 + k:]
    a, b, ga, gb = _mean_gradient(t, k)
    idx = np.arange(k)
    grads = np.zeros((len(t), k))
    grads[a, idx] = ga
    grads[b, idx] = gb
    if against == "overall":
        est = yk / wk - y / w
        grads[0, :] -= 1 / w
        grads[1, :] += y / w**2
    else:
        yr, wr = y - yk, w - wk
        est = yk / wk - yr / wr
        grads[0, :] -= 1 / wr
        grads[1, :] += yr / wr**2
        grads[a, idx] += 1 / wr
        grads[b, idx] -= yr / wr**2
    var = np.sum(grads * (v @ grads), axis=0)  # diag(G' V G): BLAS, where einsum's loop took seconds
    return est, var
