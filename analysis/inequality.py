"""Inequality of opportunity across groups, as UN ESCAP's leave-no-one-behind analysis.

* :func:`dissimilarity_index`: the D-index :math:`D = \\sum_i s_i |p_i - \\bar p| / (2 \\bar p)` over the
  groups formed by the circumstances, with population shares :math:`s_i`, and a linearised
  (delta-method) confidence interval from the joint totals of every group and the whole population.
  For a *barrier* indicator (where higher is worse) D is computed on the complement ``1 - y``.
* :func:`circumstance_tree`: a small weighted regression tree (CART, squared error, binary splits of
  categorical circumstances by Breiman's ordering of levels by their mean) that finds the
  intersecting groups furthest behind and ahead; each leaf is then estimated on the full design
  (domain estimation) with its gap to the overall mean.

References
----------
UN ESCAP (2018). *Inequality of Opportunity in Asia and the Pacific*, technical notes (D-index, trees).
Breiman, L., Friedman, J., Olshen, R. and Stone, C. (1984). *Classification and Regression Trees*,
section 9.4 (ordering categories). Lumley, T. (2010). *Complex Surveys*. Wiley, section 2.4.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from analysis.design import SurveyDesign
from analysis.domain_totals import domain_means, mean_differences, ratio_totals
from analysis.domains import Domains, domains
from analysis.errors import DesignError
from analysis.estimators import numeric
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.results import Estimate, wald_ci

__all__ = ["dissimilarity_index", "circumstance_tree"]


def dissimilarity_index(design: SurveyDesign, indicator: str, groups: Sequence[str], barrier: bool = False,
                        level: float = 0.95) -> pd.DataFrame:
    """ESCAP's D-index of ``indicator`` across the intersections of ``groups``, with a linearised CI."""
    y, ok = numeric(design, indicator)
    if barrier:
        y = np.where(ok, 1 - y, 0.0)
    dom = domains(design.data, list(groups))
    ok = ok & dom.member
    t, v = ratio_totals(design, y, ok, dom)
    k = dom.size
    big_y, big_w, yk, wk = t[0], t[1], t[2:2 + k], t[2 + k:]
    pbar = big_y / big_w
    s = np.sign(yk - pbar * wk)
    d = float(np.sum(np.abs(yk - pbar * wk)) / (2 * big_y))
    grad = np.zeros(len(t))
    grad[2:2 + k] = s / (2 * big_y)
    grad[2 + k:] = -s * pbar / (2 * big_y)
    grad[0] = -np.sum(s * wk) / (2 * big_y * big_w) - d / big_y
    grad[1] = np.sum(s * wk) / (2 * big_w**2)
    se = float(np.sqrt(grad @ v @ grad))
    low, high = wald_ci(d, se, level)
    keys = pd.DataFrame([{"indicator": indicator, "groups": " x ".join(groups), "n_groups": k}])
    result = Estimate(keys, np.array([d]), np.array([se]), None, np.array([np.inf]), np.array([max(0.0, low)]),
                      np.array([min(1.0, high)]), "D-index", level, extra={"barrier": barrier})
    out = result.to_frame("d_index", [*keys.columns, "d_index", "se", "ci_low", "ci_high", "barrier"])
    out.attrs = {}
    return out


@dataclass
class _Node:
    rows: np.ndarray
    conditions: tuple[tuple[str, tuple], ...]
    depth: int


def _best_split(x_codes: dict[str, tuple[np.ndarray, np.ndarray]], y, w, rows, min_n):
    best = None
    total_w, total_yw = w[rows].sum(), (w * y)[rows].sum()
    for name, (codes, levels) in x_codes.items():
        c = codes[rows]
        size = len(levels)
        sw = np.bincount(c, weights=w[rows], minlength=size)
        syw = np.bincount(c, weights=(w * y)[rows], minlength=size)
        cnt = np.bincount(c, minlength=size)
        present = np.flatnonzero(cnt > 0)
        if len(present) < 2:
            continue
        order = present[np.argsort(syw[present] / sw[present], kind="stable")]
        lw, lyw, ln = np.cumsum(sw[order])[:-1], np.cumsum(syw[order])[:-1], np.cumsum(cnt[order])[:-1]
        rw, ryw, rn = total_w - lw, total_yw - lyw, len(rows) - ln
        gain = lyw**2 / lw + ryw**2 / rw - total_yw**2 / total_w
        gain[(ln < min_n) | (rn < min_n)] = -np.inf
        j = int(np.argmax(gain))
        if np.isfinite(gain[j]) and (best is None or gain[j] > best[0]):
            best = (gain[j], name, order[: j + 1], order[j + 1:])
    return best


def circumstance_tree(design: SurveyDesign, indicator: str, circumstances: Sequence[str], max_depth: int = 3,
                      min_n: int = 50, level: float = 0.95) -> pd.DataFrame:
    """Leaves of a weighted CART on ``circumstances``, estimated on the full design, lowest first.

    Returns one row per leaf: ``leaf`` (the conditions, e.g. ``sex in {female} & age_band in {65+}``),
    estimate, se, ci_low, ci_high, n, gap (to the overall mean), gap_se.
    """
    if not circumstances:
        raise DesignError("circumstance_tree needs at least one circumstance column")
    y, ok = numeric(design, indicator)
    x_codes = {}
    for name in circumstances:
        codes, levels = pd.factorize(design.column(name), sort=True, use_na_sentinel=True)
        ok &= codes >= 0
        x_codes[name] = (np.where(codes >= 0, codes, 0), np.asarray(levels))
    w = np.where(ok, design.weights, 0.0)
    leaves, stack = [], [_Node(np.flatnonzero(ok & (w > 0)), (), 0)]
    while stack:
        node = stack.pop()
        split = _best_split(x_codes, y, w, node.rows, min_n) if node.depth < max_depth else None
        if split is None or split[0] <= 0:
            leaves.append(node)
            continue
        _, name, left, right = split
        codes, levels = x_codes[name]
        for side in (left, right):
            mask = np.isin(codes[node.rows], side)
            cond = (*node.conditions, (name, tuple(str(v) for v in levels[np.sort(side)])))
            stack.append(_Node(node.rows[mask], cond, node.depth + 1))
    leaf_codes = np.full(design.n, -1, dtype=np.int64)
    for i, leaf in enumerate(leaves):
        leaf_codes[leaf.rows] = i
    names = [" & ".join(f"{c} in {{{', '.join(v)}}}" for c, v in leaf.conditions) or "all" for leaf in leaves]
    dom = Domains(leaf_codes, pd.DataFrame({"leaf": names}))
    t, v = ratio_totals(design, y, ok, dom, blocks=True)
    est, var = domain_means(t, v, dom.size)
    gap, gap_var = mean_differences(t, v, dom.size, "overall")
    df = float(design.degf(ok))
    se = np.sqrt(var)
    result = Estimate(dom.keys, est, se, np.array([len(leaf.rows) for leaf in leaves]), np.full(dom.size, df),
                      *wald_ci(est, se, level, df), "mean", level, extra={"gap": gap, "gap_se": np.sqrt(gap_var)})
    out = result.to_frame(columns=["leaf", "estimate", "se", "ci_low", "ci_high", "n", "gap", "gap_se"])
    out.attrs = {}
    return out.sort_values("estimate", kind="stable").reset_index(drop=True)
