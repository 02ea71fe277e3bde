"""The analysis design of a survey: responses, design variables, and weights calibrated to the census.

Base weights come from the sampling plan (stored on each response). When population margins
(ward x sex x age band) are loaded, the weights are raked to two margins: the ward totals and the
sex x age-band totals, over the wards that have respondents (wards without any respondent cannot
be represented and are listed). Raking rather than full post-stratification, because with a few
dozen respondents per ward many ward x sex x age cells are empty. Rows without a ward, sex or age
band keep their base weight times the overall calibration factor.

Trimming: the raked weights are then held within [median / 5, 5 x median] (``TRIM_RATIO``): a weight
outside is set to the bound and the difference is shared over the other weights in proportion to them
(R ``survey::trimWeights(..., strict = TRUE)``, Potter 1990), then the weights are raked again, and so on
until raking leaves every weight within the bounds (1% slack) or after ``TRIM_ROUNDS`` rounds, as
ANES's ``anesrake`` caps weights inside raking. The last step is a raking, so the margins hold; the
weights end within (or very near) the bounds. These are the ``weight`` column of every export. The weighting page warns when
the largest weight is more than ``WARN_RATIO`` times the smallest or Kish's design effect from
weighting is above ``WARN_DEFF`` (rules of thumb: a deff above 2 halves the effective sample).

Results are cached per survey until a response or the margins change.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import case, func
from sqlmodel import Session, select

from analysis import CalibrationError, SurveyDesign, trim_weights, weight_diagnostics
from surveys import areas
from web.area_codes import MixedCodeLists
from web.models import PopulationMargin, Response, Survey, SurveyVersion
from web.tables import responses_frame

RAKE_MAX_ITER = 50
TRIM_RATIO = 5.0  #: weights are kept within [median / TRIM_RATIO, median x TRIM_RATIO]
TRIM_ROUNDS = 10  #: rounds of trimming and raking again
WARN_RATIO = 30.0  #: warn when the largest weight is more than this many times the smallest
WARN_DEFF = 2.0  #: warn when Kish's design effect from weighting is above this


@dataclass
class Weighted:
    """A survey's responses with final weights, its design, and how the weights were made."""

    frame: pd.DataFrame  #: responses with ``base_weight`` and the final ``weight``
    design: SurveyDesign | None
    method: str  #: "base" or "raked"
    diagnostics: pd.DataFrame  #: one row per step: step, n, sum_weights, kish_deff, effective_n, min, max
    problem: str | None = None  #: why calibration was not done, in English (shown with a translation)
    unrepresented_wards: list[int] = field(default_factory=list)
    rankings: dict = field(default_factory=dict)  #: left-behind reports by indicator, computed once
    facts: dict = field(default_factory=dict)  #: per column: (has data, is 0/1), computed once
    families: dict = field(default_factory=dict)  #: per indicator: its protected tables (privacy.table_family)


def margins_frame(session: Session, province: int) -> pd.DataFrame:
    rows = session.exec(select(PopulationMargin).where(PopulationMargin.province_code == province)).all()
    return pd.DataFrame([{"ward_code": r.ward_code, "sex": r.sex, "age_band": r.age_band, "count": r.count}
                         for r in rows], columns=["ward_code", "sex", "age_band", "count"])


def _stamp(session: Session, slug: str, province: int) -> tuple:
    """What the weighted design depends on: the survey's responses (how many, the newest, which are
    excluded after review; erasures change the count) and the margins. The last two numbers are the
    responses and margin cells whose ward codes are of another code list than the current one."""
    def of_survey(statement):
        return (statement.join(SurveyVersion, SurveyVersion.id == Response.survey_version_id)
                .join(Survey, Survey.id == SurveyVersion.survey_id).where(Survey.slug == slug))

    def other_list(column):
        return func.coalesce(func.sum(case((column != areas.CODE_LIST, 1), else_=0)), 0)

    responses = session.exec(of_survey(select(func.count(Response.id), func.max(Response.id),
                                              other_list(Response.code_list)))).one()
    excluded = tuple(session.exec(of_survey(select(Response.id)).where(Response.is_excluded == True)  # noqa: E712
                                  .order_by(Response.id)).all())
    margins = session.exec(select(func.count(PopulationMargin.id), func.max(PopulationMargin.uploaded_at),
                                  other_list(PopulationMargin.code_list))
                           .where(PopulationMargin.province_code == province)).one()
    return (slug, province, *responses[:2], excluded, *margins[:2], int(responses[2]), int(margins[2]))


_cache: dict[tuple, Weighted] = {}


def weighted(session: Session, slug: str, province: int) -> Weighted:
    """The survey's weighted design (cached until its responses or the margins change).

    :raise MixedCodeLists: when responses or margins hold ward codes of another code list
    """
    stamp = _stamp(session, slug, province)
    if stamp[-2] or stamp[-1]:
        raise MixedCodeLists(responses=stamp[-2], margins=stamp[-1])
    key = (str(session.get_bind().url), *stamp)
    if key not in _cache:
        if len(_cache) > 16:
            _cache.clear()
        frame = with_former_district(responses_frame(session, slug), province)
        _cache[key] = calibrate(frame, margins_frame(session, province))
    return _cache[key]


def problem_message(problem: str | None) -> str:
    """Why the weights were not calibrated, in the user's language (``problem`` is kept in English)."""
    from web.i18n import _

    if not problem:
        return ""
    if problem == "fewer than two sampling units":
        return _("fewer than two sampling units have responded, so standard errors cannot be computed yet.")
    if problem == "the survey does not ask sex and age":
        return _("the survey does not ask sex and age.")
    if problem.startswith("no respondents in sex x age cells"):
        return _("some sex and age-band groups of the census have no respondents (%(cells)s).",
                 cells=problem.removeprefix("no respondents in sex x age cells").strip())
    if problem.endswith("have respondents but no population count"):  # from analysis.calibration
        return _("some groups that have respondents have no people in the census table (%(cells)s).",
                 cells=", ".join(re.findall(r"'([^']*)'", problem.partition("level(s)")[2])))
    if problem.startswith("raking did not converge"):
        return _("the raking did not converge.")
    return _("the margins do not fit the responses (%(detail)s).", detail=problem)


def with_former_district(frame: pd.DataFrame, province: int) -> pd.DataFrame:
    """``frame`` with a ``former_district`` column (see :func:`surveys.areas.former_districts`), when the
    province has a conversion table; wards the table does not list get :data:`surveys.areas.UNKNOWN`."""
    districts = areas.former_districts(province)
    if not districts or "ward_code" not in frame:
        return frame
    frame = frame.copy()
    frame["former_district"] = [
        None if pd.isna(c) else districts[int(c)].code if int(c) in districts else areas.UNKNOWN
        for c in frame["ward_code"]]
    return frame


def _design(frame: pd.DataFrame) -> SurveyDesign:
    return SurveyDesign(frame, weights="weight", strata="stratum", psu="psu", lonely_psu="adjust")


def _diagnostics(step: str, weights: np.ndarray) -> dict:
    return {"step": step, **weight_diagnostics(weights)}


def calibrate(frame: pd.DataFrame, margins: pd.DataFrame) -> Weighted:
    """Rake the base weights of ``frame`` to ``margins`` (ward x sex x age-band counts) when possible."""
    frame = frame[frame["ward_code"].notna()].copy() if "ward_code" in frame else frame
    if frame.empty:
        return Weighted(frame, None, "base", pd.DataFrame())
    frame["ward_code"] = frame["ward_code"].astype(int)
    frame["base_weight"] = frame["weight"].astype(float)
    steps = [_diagnostics("base", frame["base_weight"].to_numpy())]
    if frame["psu"].nunique() < 2:  # one sampling unit: weights exist, standard errors cannot
        return Weighted(frame, None, "base", pd.DataFrame(steps), "fewer than two sampling units")
    if margins.empty:
        return Weighted(frame, _design(frame), "base", pd.DataFrame(steps), "no population margins are loaded")
    if not {"sex", "age_band"} <= set(frame.columns):
        return Weighted(frame, _design(frame), "base", pd.DataFrame(steps), "the survey does not ask sex and age")
    sex = frame["sex"].astype(str)
    usable = frame["ward_code"].isin(margins["ward_code"]) & sex.isin(["1", "2"]) & frame["age_band"].notna()
    sample = frame[usable].assign(sex_age=sex[usable] + ":" + frame.loc[usable, "age_band"].astype(str))
    represented = margins[margins["ward_code"].isin(sample["ward_code"].unique())]
    unrepresented = sorted(set(margins["ward_code"]) - set(represented["ward_code"]))
    ward_totals = {str(k): v for k, v in represented.groupby("ward_code")["count"].sum().items()}
    sex_age = represented.assign(key=represented["sex"] + ":" + represented["age_band"]).groupby("key")["count"].sum()
    try:
        missing = sorted(set(sex_age.index) - set(sample["sex_age"]))
        if missing:
            raise CalibrationError(f"no respondents in sex x age cells {missing}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            raked = _design(sample).rake({"ward_code": ward_totals, "sex_age": sex_age.to_dict()},
                                         max_iter=RAKE_MAX_ITER)
    except CalibrationError as exc:
        return Weighted(frame, _design(frame), "base", pd.DataFrame(steps), str(exc), unrepresented)
    steps.append(_diagnostics("raked", _whole(frame, usable, raked, sample)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        raked = _trimmed(raked, sample, {"ward_code": ward_totals, "sex_age": sex_age.to_dict()})
    frame["weight"] = _whole(frame, usable, raked, sample)
    steps.append(_diagnostics("trimmed", frame["weight"].to_numpy()))
    return Weighted(frame, _design(frame), "raked", pd.DataFrame(steps), None, unrepresented)


def _whole(frame: pd.DataFrame, usable: pd.Series, raked: SurveyDesign, sample: pd.DataFrame) -> np.ndarray:
    """Final weights for every row: the raked ones, and the base weight times the overall factor elsewhere."""
    weights = frame["base_weight"].to_numpy() * (raked.weights.sum() / sample["weight"].sum())
    weights[usable.to_numpy()] = raked.weights
    return weights


def _trimmed(raked: SurveyDesign, sample: pd.DataFrame, margins: dict) -> SurveyDesign:
    """Trim to [median / TRIM_RATIO, median x TRIM_RATIO] and rake again, until raking leaves the weights
    within the bounds (1% slack) or ``TRIM_ROUNDS`` rounds; the last step is a raking, so the margins hold."""
    for _ in range(TRIM_ROUNDS):
        median = float(np.median(raked.weights))
        low, high = median / TRIM_RATIO, median * TRIM_RATIO
        if raked.weights.min() >= low / 1.01 and raked.weights.max() <= high * 1.01:
            break
        trimmed = trim_weights(raked, upper=high, lower=low).weights
        try:
            raked = _design(sample.assign(weight=trimmed)).rake(margins, max_iter=RAKE_MAX_ITER)
        except CalibrationError:  # raking cannot hold the margins from the trimmed weights: keep those
            return _design(sample.assign(weight=trimmed))
    return raked


def weight_warnings(diagnostics: pd.DataFrame) -> dict[str, float]:
    """What passes a threshold in the final weights: ``{"ratio": ...}`` and/or ``{"deff": ...}``."""
    if diagnostics.empty:
        return {}
    final = diagnostics.iloc[-1]
    out = {}
    if final["max_min_ratio"] > WARN_RATIO:
        out["ratio"] = float(final["max_min_ratio"])
    if final["kish_deff"] > WARN_DEFF:
        out["deff"] = float(final["kish_deff"])
    return out
