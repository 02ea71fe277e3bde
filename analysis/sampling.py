"""Drawing a household sample and the numbers around it: selection, probabilities, outcome rates, planning.

A two-stage area sample as statistical offices run it door to door:

* stage 1, within each ward (stratum): residential groups (tổ dân phố, thôn) drawn with probability
  proportional to their household count by systematic PPS (Madow 1949), groups too large for the
  interval taken with certainty (:func:`pps_systematic`);
* stage 2, within each drawn group: households by systematic sampling from the list
  (:func:`systematic`), or, with no list, a random-walk rule whose start and interval are recorded
  (:func:`random_walk_rule`), with the probability ``m / M`` from the group's household count;
* stage 3, within each household: one adult by a stated rule (:func:`select_adult`): a Kish-type
  selection (adults in Kish's order, the household's stored random number picks one, exactly ``1/k``,
  or with oversampling factors ``f_j / sum f``), or the last birthday (``1/k`` assumed).

Every probability is returned so it can be stored; every random number comes from a
``numpy.random.Generator`` made from a recorded seed, so the same seed draws the same sample.

Weights from the design: base weight ``1 / pi``; :mod:`analysis.nonresponse` spreads the weight of
eligible non-respondents (and a share e of the cases of unknown eligibility) over the respondents of
their weighting class (Valliant et al. 2018, ch. 13).

Outcome rates: :func:`aapor_rates` computes RR1-RR6, COOP1-COOP4, REF1-REF3 and CON1-CON3 from final
disposition counts (AAPOR Standard Definitions, 2023, "Calculating rates from response distributions").

Planning: :func:`plan_allocation` proposes households per ward and clusters for a target precision.

References
----------
Madow, W. G. (1949). On the theory of systematic sampling, II. *Ann. Math. Stat.* 20, 333-354.
Kish, L. (1949). A procedure for objective respondent selection within the household. *JASA* 44, 380-387.
Kish, L. (1965). *Survey Sampling*. Wiley, sections 7.2 (PPS), 8.2 (deff = 1 + (m-1) rho), 11.7.
Lohr, S. L. (2019). *Sampling: Design and Analysis*, 2nd ed., ch. 6 (unequal-probability sampling).
Valliant, R., Dever, J. and Kreuter, F. (2018). *Practical Tools for Designing and Weighting Survey Samples*.
AAPOR (2023). *Standard Definitions: Final Dispositions of Case Codes and Outcome Rates for Surveys*, 10th ed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.results import MIN_N, critical_value

__all__ = ["pps_systematic", "systematic", "random_walk_rule", "select_adult", "kish_order",
           "days_since_birthday", "doorstep_adult", "OLDER_AGE",
           "aapor_rates", "disposition_class", "plan_allocation", "plan_shortfalls", "precision_status",
           "Shortfalls", "Selection",
           "SamplingError"]


#: adults this old or older get a draw's oversampling factor ("age60") in the Kish rule
OLDER_AGE = 60


class SamplingError(ValueError):
    """A draw or plan that cannot be made as asked; ``code`` names the problem, ``params`` its values."""

    def __init__(self, code: str, **params):
        super().__init__(f"{code}: {params}")
        self.code, self.params = code, params


@dataclass(frozen=True)
class Selection:
    """The units drawn (positions in the input, in frame order) and every unit's inclusion probability."""

    chosen: np.ndarray  #: positions of the drawn units
    probability: np.ndarray  #: inclusion probability of every unit of the frame (drawn or not)
    start: float  #: the random start on the cumulated scale
    interval: float  #: the sampling interval (0 when every unit is taken)
    certain: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  #: positions taken with certainty


def pps_probabilities(sizes: Sequence[float], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Inclusion probabilities ``n M_i / M`` with certainty units removed until none exceeds 1.

    Returns (probabilities, certainty mask)."""
    size = np.asarray(sizes, dtype=float)
    if n < 0 or n > len(size):
        raise SamplingError("too_many_units", n=n, units=len(size))
    if (size <= 0).any():
        raise SamplingError("size_not_positive", positions=np.flatnonzero(size <= 0).tolist())
    certain = np.zeros(len(size), dtype=bool)
    while True:
        rest, left = ~certain, n - certain.sum()
        pi = np.where(certain, 1.0, left * size / size[rest].sum() if left > 0 else 0.0)
        new = rest & (pi >= 1.0)
        if not new.any():
            return pi, certain
        certain |= new


def pps_systematic(sizes: Sequence[float], n: int, rng: np.random.Generator) -> Selection:
    """``n`` units with probability proportional to ``sizes``, systematically in the given order.

    Units whose ``n M_i / M`` reaches 1 are taken with certainty; the rest are drawn by one random
    start ``u ~ U(0, I)`` on the cumulated sizes with interval ``I = M' / n'``: unit ``i`` is drawn
    when a point ``u + k I`` falls in its slice, so its inclusion probability is exactly ``n' M_i / M'``.
    """
    size = np.asarray(sizes, dtype=float)
    pi, certain = pps_probabilities(size, n)
    rest = np.flatnonzero(~certain)
    left = n - int(certain.sum())
    if left == 0:
        return Selection(np.flatnonzero(certain), pi, 0.0, 0.0, np.flatnonzero(certain))
    cumulated = np.cumsum(size[rest])
    interval = cumulated[-1] / left
    start = float(rng.uniform(0, interval))
    points = start + interval * np.arange(left)
    hit = rest[np.searchsorted(cumulated, points, side="right")]
    chosen = np.sort(np.concatenate([np.flatnonzero(certain), hit]))
    return Selection(chosen, pi, start, float(interval), np.flatnonzero(certain))


def systematic(population: int, n: int, rng: np.random.Generator) -> Selection:
    """``n`` of ``population`` listed units by systematic sampling with a fractional interval
    ``k = N / n`` and a random start in ``[0, k)``: positions ``floor(u + j k)``, each with probability
    ``n / N`` exactly. Every unit is taken when ``n >= N``."""
    if population <= 0:
        raise SamplingError("empty_list")
    if n >= population:
        return Selection(np.arange(population), np.ones(population), 0.0, 0.0)
    interval = population / n
    start = float(rng.uniform(0, interval))
    chosen = np.floor(start + interval * np.arange(n)).astype(int)
    return Selection(chosen, np.full(population, n / population), start, interval)


def random_walk_rule(households: int, n: int, rng: np.random.Generator) -> dict:
    """The rule a team follows in a group with no household list: start at the ``start``-th dwelling
    from the group's landmark, keep right, take every ``interval``-th dwelling until ``n`` are done.
    The probability assumed is ``n / households`` (the group's count on the frame)."""
    if households <= 0:
        raise SamplingError("empty_list")
    n = min(n, households)
    interval = max(1, households // n)
    return {"rule": "random_walk", "start": int(rng.integers(1, interval + 1)), "interval": int(interval),
            "take": int(n), "probability": n / households}


def kish_order(adults: Sequence[Mapping]) -> list[int]:
    """Kish's (1949) listing order: men from oldest to youngest, then women from oldest to youngest.
    ``adults`` are mappings with ``sex`` ("1" male, "2" female) and ``age``; returns their positions
    (people of the same sex and age in the order they were listed)."""
    def key(i: int):
        person = adults[i]
        return (0 if str(person.get("sex")) == "1" else 1, -float(person.get("age") or 0), i)
    return sorted(range(len(adults)), key=key)


def days_since_birthday(birthday: str, on: dt.date) -> int:
    """Days from the adult's last birthday (``"MM-DD"``) to ``on``, 0 on the birthday itself. A birthday
    on 29 February falls on 28 February in a year that has no 29th.

    :raise SamplingError: ``bad_birthday`` when ``birthday`` is not a day of the year written MM-DD
    """
    if not isinstance(birthday, str) or not re.fullmatch(r"[0-9]{2}-[0-9]{2}", birthday):
        raise SamplingError("bad_birthday", value=birthday)
    month, day = int(birthday[:2]), int(birthday[3:])
    try:
        dt.date(2000, month, day)  # a leap year: every day of the year exists
    except ValueError:
        raise SamplingError("bad_birthday", value=birthday) from None

    def in_year(year: int) -> dt.date:
        return dt.date(year, month, 28 if (month, day) == (2, 29) and not calendar.isleap(year) else day)
    last = in_year(on.year) if in_year(on.year) <= on else in_year(on.year - 1)
    return (on - last).days


def select_adult(adults: Sequence[Mapping], rule: str, draw: float,
                 factors: Sequence[float] | None = None) -> tuple[int, float]:
    """The adult to interview and the probability of choosing them.

    ``rule="kish"``: adults in Kish's order; the household's stored random number ``draw`` in [0, 1)
    picks the person whose slice of the cumulated ``factors / sum(factors)`` holds it (equal factors:
    person ``floor(draw k)``, probability ``1/k``; a factor of 2 for people 60+ doubles their chance).
    ``rule="last_birthday"``: the adult whose birthday came last (``days_since_birthday`` smallest, the
    first listed of a tie), with probability ``1/k`` (the rule assumes birthdays are random).

    Hand-written with plain floats added one by one in Kish's order: the phone applies the same rule
    offline (``web/static/adults.js``), and the two must pick the same person to the last bit.
    """
    k = len(adults)
    if k == 0:
        raise SamplingError("no_adults")
    if not 0 <= draw < 1:
        raise SamplingError("draw_out_of_range", draw=draw)
    if rule == "last_birthday":
        days = [float(a.get("days_since_birthday", math.inf)) for a in adults]
        return days.index(min(days)), 1.0 / k
    if rule != "kish":
        raise SamplingError("unknown_rule", rule=rule, allowed=["kish", "last_birthday"])
    order = kish_order(adults)
    weight = [1.0] * k if factors is None else [float(factors[i]) for i in order]
    if any(not w > 0 for w in weight):
        raise SamplingError("factor_not_positive")
    total = 0.0
    for w in weight:
        total += w
    cumulated = 0.0
    for slot, w in enumerate(weight):
        cumulated += w / total
        if cumulated > draw or slot == k - 1:
            return order[slot], w / total
    raise AssertionError("unreachable")


def doorstep_adult(adults: Sequence[Mapping], rule: str, draw: float, on: dt.date | None = None,
                   older_factor: float | None = None) -> tuple[int, float]:
    """The adult the stated rule picks among the household's adults as the volunteer lists them, and the
    probability of picking them: ``adults`` are ``{"sex", "age"}`` and, for the last birthday, ``"birthday"``
    (MM-DD, counted back from the local date ``on``); with the Kish rule, people aged 60 or over get
    ``older_factor`` times the others' chance (the draw's oversampling). The phone's copy of this rule is
    ``KSAdults.choose`` in ``web/static/adults.js``; tests/web/test_adult_rule_parity.py checks they agree.
    """
    factors = None
    if rule == "kish" and older_factor:
        factors = [float(older_factor) if float(a.get("age") or 0) >= OLDER_AGE else 1.0 for a in adults]
    if rule == "last_birthday" and on is not None:
        adults = [{**a, "days_since_birthday": days_since_birthday(a["birthday"], on)} if a.get("birthday") else a
                  for a in adults]
    return select_adult(adults, rule, draw, factors)


#: AAPOR final disposition codes for in-person household surveys (Standard Definitions, table 2),
#: grouped by the letter used in the rate formulas
DISPOSITIONS: dict[str, str] = {
    "1.1": "I", "1.2": "P",
    "2.11": "R", "2.12": "R", "2.21": "NC", "2.23": "NC", "2.24": "NC", "2.25": "NC",
    "2.31": "O", "2.32": "O", "2.33": "O", "2.35": "O",
    "3.11": "UH", "3.17": "UH", "3.18": "UH", "3.19": "UH", "3.21": "UO", "3.90": "UO",
    "4.10": "NE", "4.50": "NE", "4.60": "NE", "4.70": "NE",
}


def disposition_class(code: str) -> str:
    """The letter of the rate formulas (I, P, R, NC, O, UH, UO, NE) for an AAPOR disposition code."""
    if code not in DISPOSITIONS:
        raise SamplingError("unknown_disposition", value=code, allowed=sorted(DISPOSITIONS))
    return DISPOSITIONS[code]


def aapor_rates(counts: Mapping[str, float], e: float | None = None) -> dict[str, float]:
    """Response, cooperation, refusal and contact rates from counts of I, P, R, NC, O, UH, UO, NE.

    ``e`` is the estimated share of the unknown-eligibility cases that are eligible; by default the
    share of eligible among cases whose eligibility is known (the "proportional allocation" the
    Standard Definitions describe). A rate whose denominator is 0 is NaN.
    """
    c = {k: float(counts.get(k, 0)) for k in ("I", "P", "R", "NC", "O", "UH", "UO", "NE")}
    interviews, eligible_non = c["I"] + c["P"], c["R"] + c["NC"] + c["O"]
    unknown = c["UH"] + c["UO"]
    if e is None:
        known = interviews + eligible_non + c["NE"]
        e = (interviews + eligible_non) / known if known else 1.0

    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    contacted = interviews + c["R"] + c["O"]
    return {
        "RR1": ratio(c["I"], interviews + eligible_non + unknown),
        "RR2": ratio(interviews, interviews + eligible_non + unknown),
        "RR3": ratio(c["I"], interviews + eligible_non + e * unknown),
        "RR4": ratio(interviews, interviews + eligible_non + e * unknown),
        "RR5": ratio(c["I"], interviews + eligible_non),
        "RR6": ratio(interviews, interviews + eligible_non),
        "COOP1": ratio(c["I"], interviews + c["R"] + c["O"]),
        "COOP2": ratio(interviews, interviews + c["R"] + c["O"]),
        "COOP3": ratio(c["I"], interviews + c["R"]),
        "COOP4": ratio(interviews, interviews + c["R"]),
        "REF1": ratio(c["R"], interviews + eligible_non + unknown),
        "REF2": ratio(c["R"], interviews + eligible_non + e * unknown),
        "REF3": ratio(c["R"], interviews + eligible_non),
        "CON1": ratio(contacted, contacted + c["NC"] + unknown),
        "CON2": ratio(contacted, contacted + c["NC"] + e * unknown),
        "CON3": ratio(contacted, contacted + c["NC"]),
        "e": float(e),
    }


def plan_allocation(wards: pd.DataFrame, *, half_width: float, p: float = 0.5, cluster_size: int = 10,
                    icc: float = 0.05, response_rate: float = 0.7, budget: int | None = None,
                    oversample: Mapping[str, float] | None = None, group_half_width: float | None = None,
                    confidence: float = 0.95) -> pd.DataFrame:
    """Households to visit per ward for a share near ``p`` to have a ``confidence`` interval of
    ``± half_width`` in every ward, and ``± group_half_width`` (when given) in every key group of it.

    ``wards`` has ``ward_code``, ``households`` and, for each key group ``g``, a column ``share_g`` (the
    group's share of the ward's adults). ``oversample`` maps a group to its selection factor within the
    household (:func:`select_adult` factors); oversampling raises that group's share of the sample to
    ``s f / sum(s f)`` at the cost of Kish's weighting deff ``(sum s f)(sum s / f)``.

    The design effect of clustering is ``1 + (m - 1) icc`` for ``m`` interviews per group (``cluster_size``
    households times the response rate). With a ``groups`` column (groups on the frame), a ward is never
    given more groups than it has: it gets more households per group instead, and the larger deff.
    Interviews needed: ``n0 = z^2 p (1 - p) / h^2`` effective, times the design effects, divided by
    the group's share of the sample for a group; households visited: interviews / ``response_rate``.
    With a ``budget`` (households that can be visited in all) smaller than the need, every ward is
    scaled down in proportion and its expected half-width grows; the columns say so.

    Returns one row per ward: ward_code, households, clusters, households_per_cluster, visits,
    interviews, deff, half_width (expected, ward), ``half_width_<group>`` and ``interviews_<group>`` (expected)
    per key group (a half-width means little where a group gives fewer interviews than the results would
    show: :data:`analysis.results.MIN_N`), and what the
    target alone asked for: clusters_wanted (before the frame's groups capped them) and visits_needed
    (before the budget); :func:`plan_shortfalls` reads what the plan had to give up.
    """
    if not 0 < half_width < 0.5 or not 0 < p < 1 or not 0 < response_rate <= 1 or cluster_size < 1:
        raise SamplingError("bad_target", half_width=half_width, p=p, response_rate=response_rate)
    z = float(critical_value(confidence))
    groups = [c.removeprefix("share_") for c in wards.columns if c.startswith("share_")]
    factors = {g: float((oversample or {}).get(g, 1.0)) for g in groups}
    deff_cluster = 1 + max(cluster_size * response_rate - 1, 0) * icc
    n0 = z**2 * p * (1 - p) / half_width**2
    rows = []
    for ward in wards.itertuples(index=False):
        shares = {g: float(getattr(ward, f"share_{g}")) for g in groups}
        weighting = _oversampling_deff(shares, factors)
        need = n0 * deff_cluster * weighting
        sample_share = {g: _sample_share(s, factors[g]) for g, s in shares.items()}
        if group_half_width is not None:
            n_group = z**2 * p * (1 - p) / group_half_width**2
            for s in sample_share.values():
                if s > 0:
                    need = max(need, n_group * deff_cluster / s)
        rows.append({"ward_code": ward.ward_code, "households": int(ward.households), "interviews": need,
                     "deff": deff_cluster * weighting, "sample_share": sample_share})
    plan = pd.DataFrame(rows)
    plan["visits"] = plan["interviews"] / response_rate
    plan["visits_needed"] = np.ceil(plan["visits"]).astype(int)
    if budget is not None and plan["visits"].sum() > budget:
        plan["visits"] *= budget / plan["visits"].sum()
    plan["clusters"] = np.maximum(1, np.ceil(plan["visits"] / cluster_size)).astype(int)
    plan["visits"] = np.minimum(plan["clusters"] * cluster_size, plan["households"]).astype(int)
    if budget is not None:
        plan = _fit_budget(plan, budget, cluster_size)
    plan["households_per_cluster"] = np.minimum(cluster_size, plan["visits"] // plan["clusters"]).astype(int)
    plan["clusters_wanted"] = plan["clusters"]
    if "groups" in wards:  # no more groups than the frame has: more households in each instead
        _cap_clusters(plan, wards.set_index("ward_code")["groups"].reindex(plan["ward_code"]).to_numpy())
    return _expected_precision(plan, groups, z=z, p=p, icc=icc, response_rate=response_rate,
                               deff_cluster=deff_cluster)


@dataclass(frozen=True)
class Shortfalls:
    """What a plan could not do as asked (:func:`plan_shortfalls`); empty frames when nothing."""

    too_few_groups: pd.DataFrame  #: ward_code, groups (on the frame), clusters_wanted, households_per_cluster
    too_few_households: pd.DataFrame  #: ward_code, households, visits_needed, visits (planned), half_width
    budget: dict | None  #: budget, visits_needed (in all), half_width_low, half_width_high; None when it sufficed

    def __bool__(self) -> bool:
        return bool(len(self.too_few_groups) or len(self.too_few_households) or self.budget)


def plan_shortfalls(plan: pd.DataFrame, wards: pd.DataFrame, budget: int | None = None) -> Shortfalls:
    """Where a plan of :func:`plan_allocation` departs from its target, and what it did instead:

    * a ward whose frame has fewer residential groups than the clusters the target needs: all its
      groups are taken, with more households in each (and a larger design effect);
    * a ward whose frame has fewer households than the visits the target needs: (nearly) every household
      is visited, and its expected half-width is wider than asked;
    * a ``budget`` below the visits the target needs: every ward is scaled down, the half-widths grow.
    """
    groups = wards.set_index("ward_code")["groups"] if "groups" in wards else None
    few = plan[plan["clusters"] < plan["clusters_wanted"]].copy()
    few["groups"] = few["ward_code"].map(groups) if groups is not None else few["clusters"]
    unbudgeted = plan["visits_needed"]
    small = plan[plan["households"] < unbudgeted].copy()
    short = None
    if budget is not None and unbudgeted.sum() > budget:
        short = {"budget": int(budget), "visits_needed": int(unbudgeted.sum()),
                 "half_width_low": float(plan["half_width"].min()), "half_width_high": float(plan["half_width"].max())}
    return Shortfalls(few[["ward_code", "groups", "clusters_wanted", "households_per_cluster"]].reset_index(drop=True),
                      small[["ward_code", "households", "visits_needed", "visits", "half_width"]].reset_index(drop=True), short)


def _cap_clusters(plan: pd.DataFrame, available: np.ndarray) -> None:
    """Give a ward no more clusters than its frame has groups: more households in each instead."""
    capped = plan["clusters"].to_numpy() > available
    per = np.maximum(plan["visits"] // np.maximum(available, 1), 1).astype(int)  # down: within the budget
    plan["households_per_cluster"] = np.where(capped, per, plan["households_per_cluster"])
    plan["clusters"] = np.where(capped, available, plan["clusters"]).astype(int)


def _expected_precision(plan: pd.DataFrame, groups: list[str], *, z: float, p: float, icc: float,
                        response_rate: float, deff_cluster: float) -> pd.DataFrame:
    """The plan's visits, interviews, design effect and expected half-widths (ward and each key group)."""
    plan["visits"] = np.minimum(plan["clusters"] * plan["households_per_cluster"], plan["households"]).astype(int)
    plan["interviews"] = plan["visits"] * response_rate
    # the design effect of the clusters actually planned (a capped ward has larger clusters)
    clustering = 1 + (plan["households_per_cluster"] * response_rate - 1).clip(lower=0) * icc
    plan["deff"] = plan["deff"] / deff_cluster * clustering
    plan["half_width"] = z * np.sqrt(p * (1 - p) * plan["deff"] / plan["interviews"])
    for g in groups:
        plan[f"interviews_{g}"] = plan["interviews"] * plan["sample_share"].map(lambda s, g=g: s[g])
        with np.errstate(divide="ignore"):
            plan[f"half_width_{g}"] = z * np.sqrt(p * (1 - p) * clustering / plan[f"interviews_{g}"])
    return plan.drop(columns=["sample_share"])[
        ["ward_code", "households", "clusters", "households_per_cluster", "visits", "interviews", "deff",
         "half_width", *[f"{c}_{g}" for g in groups for c in ("half_width", "interviews")],
         "clusters_wanted", "visits_needed"]]


#: an expected 95% half-width wider than this (50 points) spans the whole 0-100% scale: not a precision
MAX_HALF_WIDTH = 0.5


def precision_status(half_width: pd.Series, interviews: pd.Series | None = None) -> pd.Series:
    """Why an expected half-width of a plan is no precision to state: "too_few" where fewer interviews than
    :data:`analysis.results.MIN_N` are expected (the results would hide the estimate), "too_wide" where it
    is above :data:`MAX_HALF_WIDTH` (the interval would cover every possible share: a ward whose frame has
    few residential groups gets huge clusters and a design effect of 80 or more), else ""."""
    status = pd.Series("", index=half_width.index, dtype=object)
    status[~(half_width <= MAX_HALF_WIDTH)] = "too_wide"
    if interviews is not None:
        status[interviews < MIN_N] = "too_few"
    return status


def _sample_share(share: float, factor: float) -> float:
    """A group's expected share of interviews when it is chosen ``factor`` times as often in the household
    (rest of the ward at factor 1)."""
    return share * factor / (share * factor + (1 - share))


def _oversampling_deff(shares: Mapping[str, float], factors: Mapping[str, float]) -> float:
    """Kish's deff from the unequal weights oversampling makes: ``(sum s f)(sum s / f)``, per group with its
    factor, the rest of the adults at 1 (groups treated as disjoint; overlaps make it an approximation)."""
    rest = max(0.0, 1 - sum(shares.values()))
    a = rest + sum(s * factors[g] for g, s in shares.items())
    b = rest + sum(s / factors[g] for g, s in shares.items())
    return a * b


def _fit_budget(plan: pd.DataFrame, budget: int, cluster_size: int) -> pd.DataFrame:
    """Take clusters away from the wards with the most visits until the total fits the budget."""
    while plan["visits"].sum() > budget and (plan["clusters"] > 1).any():
        i = plan.loc[plan["clusters"] > 1, "visits"].idxmax()
        plan.loc[i, "clusters"] -= 1
        plan.loc[i, "visits"] = min(plan.loc[i, "clusters"] * cluster_size, plan.loc[i, "households"])
    return plan
