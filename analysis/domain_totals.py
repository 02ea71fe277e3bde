"""Domain means and their differences, linearised from the joint totals of the domains and the whole.

A domain and the whole population share PSUs, so a domain mean's gap to the overall mean (or to
the rest of the population) is linearised from the joint totals ``[Y, W, Y_1..Y_K, W_1..W_K]``
(delta method, as R's ``svycontrast``). The t-tests of :mod:`analysis.hypothesis`, the left-behind
cells and the D-index and tree of :mod:`analysis.inequality` all start here.

A domain's mean and its gap take, of the totals' variance matrix, only the variances of ``(Y, W, Y_k, W_k)``
for each domain ``k``: :func:`ratio_totals` with ``blocks=True`` computes those ``K`` 4 x 4 blocks alone, from
sparse unit totals (:func:`analysis.variance.multistage_vcov`'s ``pairs``), where the whole matrix from dense ones
takes O(PSUs x K^2): the six partitions of a left-behind ranking over a roll-up's 10,101 PSUs (756 cells by ward and
age band) spent 0.57 s there, 0.15 s now. :func:`domain_means` and :func:`mean_differences` read the blocks.

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
from analysis.variance import SPARSE_COLUMNS, Influence

if TYPE_CHECKING:
    from analysis.design import SurveyDesign

__all__ = ["ratio_totals", "domain_means", "mean_differences"]

AGAINST = ("rest", "overall")


def ratio_totals(design: SurveyDesign, y: np.ndarray, ok: np.ndarray, dom: Domains, blocks: bool = False):
    """Totals ``[Y, W, Y_1..Y_K, W_1..W_K]`` (overall, then per domain) and their variance matrix or, with
    ``blocks``, each domain's variance matrix of ``(Y, W, Y_k, W_k)``, shape (K, 4, 4)."""
    w = np.where(ok, design.weights, 0.0)
    wd = dom.only_members(w)
    overall = Influence(np.column_stack([w * y, w]))
    by_domain = Influence(np.column_stack([wd * y, wd]), dom.safe_codes(), dom.size)
    t = np.concatenate([[np.sum(w * y), w.sum()],
                        np.bincount(dom.safe_codes(), weights=wd * y, minlength=dom.size),
                        np.bincount(dom.safe_codes(), weights=wd, minlength=dom.size)])
    k = dom.size
    if blocks and 2 + 2 * k > SPARSE_COLUMNS:  # few domains: their blocks are read off the whole matrix, made faster
        return t, _variance_blocks(design, [overall, by_domain], k)
    v = design.vcov([overall, by_domain])
    order = np.concatenate([[0, 1], 2 + 2 * np.arange(k), 3 + 2 * np.arange(k)])
    v = v[np.ix_(order, order)]
    return t, _as_blocks(v, k) if blocks else v


#: the entries of the (Y, W, Y_k, W_k) blocks computed (the rest by symmetry), and the influence's columns they are
#: the covariances of: Y and W (0, 1), every Y_k (2, 4, ...), every W_k (3, 5, ...)
_BLOCK = ((0, 0), (0, 1), (1, 1), (2, 2), (2, 3), (3, 3), (0, 2), (0, 3), (1, 2), (1, 3))
_COLUMNS = (0, 1, slice(2, None, 2), slice(3, None, 2))


def _variance_blocks(design: SurveyDesign, infl: list[Influence], k: int) -> np.ndarray:
    """The (K, 4, 4) blocks of the variance of ``[overall (Y, W), by_domain (Y_1, W_1, ..., Y_K, W_K)]``."""
    entries = design.vcov(infl, pairs=[(_COLUMNS[i], _COLUMNS[j]) for i, j in _BLOCK])
    out = np.empty((k, 4, 4))
    at = 0
    for i, j in _BLOCK:
        size = 1 if i < 2 and j < 2 else k
        out[:, i, j] = out[:, j, i] = entries[at:at + size]
        at += size
    return out


def _as_blocks(v: np.ndarray, k: int) -> np.ndarray:
    """The (K, 4, 4) blocks of a whole variance matrix of :func:`ratio_totals`."""
    index = np.empty((k, 4), dtype=np.int64)
    index[:, 0], index[:, 1], index[:, 2], index[:, 3] = 0, 1, 2 + np.arange(k), 2 + k + np.arange(k)
    return v[index[:, :, None], index[:, None, :]]


def domain_means(t: np.ndarray, b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Domain means ``Y_k / W_k`` and their variances from the totals and blocks of :func:`ratio_totals`."""
    yk, wk = t[2:2 + k], t[2 + k:]
    ga, gb = 1 / wk, -yk / wk**2  # a mean's gradient: two non-zero entries, at Y_k and W_k
    var = ga**2 * b[:, 2, 2] + 2 * ga * gb * b[:, 2, 3] + gb**2 * b[:, 3, 3]
    return yk / wk, np.maximum(var, 0.0)  # a quadratic form of a variance: below 0 only by rounding


def mean_differences(t: np.ndarray, b: np.ndarray, k: int, against: str) -> tuple[np.ndarray, np.ndarray]:
    """Each domain mean minus the overall mean (``"overall"``) or the rest's (``"rest"``), with
    delta-method variances (from the totals and blocks of :func:`ratio_totals`)."""
    if against not in AGAINST:
        raise DesignError(f"against={against!r} is not allowed; choose one of {AGAINST}")
    y, w, yk, wk = t[0], t[1], t[2:2 + k], t[2 + k:]
    grads = np.zeros((k, 4))  # each difference's gradient over (Y, W, Y_k, W_k)
    grads[:, 2], grads[:, 3] = 1 / wk, -yk / wk**2
    if against == "overall":
        est = yk / wk - y / w
        grads[:, 0], grads[:, 1] = -1 / w, y / w**2
    else:
        yr, wr = y - yk, w - wk
        est = yk / wk - yr / wr
        grads[:, 0], grads[:, 1] = -1 / wr, yr / wr**2
        grads[:, 2] += 1 / wr
        grads[:, 3] -= yr / wr**2
    return est, np.maximum(np.einsum("ki,kij,kj->k", grads, b, grads), 0.0)  # below 0 only by rounding
