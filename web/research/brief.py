"""A printable one-page brief per ward for its People's Committee, and what a ward official may read.

The brief gives the ward's main indicators with 95% intervals and the number of people they stand for,
the city's value beside each, the ward's groups furthest behind (sentences of the left-behind ranking),
and what the estimates can and cannot say (respondents, margin of error). Shares use the logit interval
(``SurveyDesign.proportion(ci_method="logit")``, never outside 0-100%); the number of people is the
share times the ward's adult population, which the weights are calibrated to (so it is known, and the
interval of the count is the share's interval times it).

A ward official (role ``ward_official``) is read-only: the briefs of the wards assigned to them (admin
page "Ward assignments") and nothing else; researchers and admins read every ward's brief.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlmodel import select

import surveys
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from surveys import areas, collation
from web import area_lists, db
from web.auth import requesting_user, role_required
from web.catalog import reported_version, survey_provinces
from web.i18n import _
from web.models import Role, Survey, WardAssignment
from web.research import bp, database_results, derived, query, ranking, results, variables

#: the derived indicators a brief shows, at most this many (headline first)
MAX_INDICATORS = 5
MAX_GROUPS = 4


@dataclass
class Line:
    """One indicator of the brief: the ward's estimate, its interval and n, the city's value."""

    label: str
    share: bool
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    city: float | None
    people: float | None = None  #: for a share: the people it stands for
    people_low: float | None = None
    people_high: float | None = None

    @property
    def difference(self) -> float | None:
        return None if self.estimate is None or self.city is None else self.estimate - self.city


def allowed_wards() -> set[int] | None:
    """The wards the requesting user may read (None: every ward)."""
    user = requesting_user()
    if user.role != Role.ward_official.value:
        return None
    return set(db.session().exec(select(WardAssignment.ward_code).where(WardAssignment.user_id == user.id)).all())


def _estimates(design, indicator: variables.Indicator) -> tuple[pd.DataFrame, float]:
    """The indicator by ward (estimate, ci_low, ci_high, n) and its city value, from the design in memory or the
    database's (:class:`analysis.sql.SqlDesign`)."""
    design = results.prepared(design, indicator)  # a view with the indicator as numbers: the cached design is shared
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if indicator.share:
            table = design.proportion(indicator.name, by="ward_code", ci_method="logit")
            table = table[table[indicator.name].astype(float) == 1]
            city = design.proportion(indicator.name, ci_method="logit")
            city = city[city[indicator.name].astype(float) == 1]["estimate"]
        else:
            table = design.mean(indicator.name, by="ward_code")
            city = design.mean(indicator.name)["estimate"]
    table = table.assign(ward_code=pd.to_numeric(table["ward_code"]).astype("int64"))
    return table.set_index("ward_code"), float(city.iloc[0]) if len(city) else np.nan


def in_ward(q: query.Query, ward: int) -> tuple[int, float]:
    """The ward's respondents and their sum of weights (its estimated adult population), from the design in memory
    or the roll-up of a survey over the in-memory limit."""
    if q.figures is not None:
        sums = q.figures.sums(["nr", "swall"], ["ward_code"])
        row = sums[pd.to_numeric(sums["ward_code"]) == ward]
        return (int(row["nr"].iloc[0]), float(row["swall"].iloc[0])) if len(row) else (0, 0.0)
    frame = q.data.frame
    respondents = int((frame["ward_code"] == ward).sum()) if "ward_code" in frame else 0
    design = q.data.design
    if design is None:
        return respondents, 0.0
    return respondents, float(design.weights[(design.data["ward_code"] == ward).to_numpy()].sum())


def lines(q: query.Query, ward: int) -> list[Line]:
    """The brief's indicators for ``ward`` (cells with fewer than the minimum respondents left empty)."""
    design = query.design(q)
    if design is None:
        return []
    people = in_ward(q, ward)[1]
    minimum = current_app.config["MIN_CELL_COUNT"]
    out = []
    named = [i for i in q.offered if i.name in derived.HEADLINE][:MAX_INDICATORS]
    for indicator in named:
        table, city = query.derived(q, ("brief", indicator.name), lambda i=indicator: _estimates(design, i),
                                    aside=False)
        row = table.loc[ward] if ward in table.index else None
        n = int(row["n"]) if row is not None else 0
        if row is None or n < minimum:
            out.append(Line(indicator.label, indicator.share, None, None, None, n, city))
            continue
        line = Line(indicator.label, indicator.share, float(row["estimate"]), float(row["ci_low"]),
                    float(row["ci_high"]), n, city)
        if indicator.share:
            line.people, line.people_low, line.people_high = (people * line.estimate, people * line.ci_low,
                                                              people * line.ci_high)
        out.append(line)
    return out


def groups_behind(q: query.Query, ward: int) -> pd.DataFrame:
    """The ward's groups furthest below the city on the headline indicator, with their sentences: every
    group whose estimate may be shown (``MIN_CELL_COUNT``), those under 30 respondents marked unreliable."""
    report = ranking.ranking(q)
    if report.empty or "ward_code" not in report:
        return report
    mine = report[(pd.to_numeric(report["ward_code"], errors="coerce") == ward) & (report["cell_type"] == "area x group")
                  & report["estimate"].notna() & (report["gap"] < 0)]
    return ranking.with_sentences(q, mine.head(MAX_GROUPS))


def _briefed(session) -> list[tuple[surveys.Instrument, tuple[int, ...]]]:
    """Each survey with results and the provinces it covers."""
    slugs = [s for s in session.exec(select(Survey.slug).order_by(Survey.slug)).all() if reported_version(session, s)]
    return [(query.load_instrument(slug), survey_provinces(session, slug)) for slug in slugs]


@bp.route("/wards")
@role_required(Role.researcher, Role.ward_official)
def ward_briefs():
    """The wards whose briefs this user may read, with a link per survey covering them: a ward official's
    own wards; for others, the province first (when the surveys cover several), then its communes, and a
    searchable commune list that opens a brief (``?survey=&ward_code=``; without JavaScript, in two steps)."""
    session = db.session()
    briefed = _briefed(session)
    covered = tuple(sorted({code for _i, provinces in briefed for code in provinces})) or \
        (int(current_app.config["KHAOSAT_PROVINCE"]),)
    labels = area_lists.ward_labels(covered)
    allowed = allowed_wards()
    if allowed is not None:
        wards = [(code, labels[code], areas.province_of(code)) for code in allowed if code in labels]
        pick = area_lists.AreaPick(covered=covered)
    else:
        ward = _int(request.args.get("ward_code"))
        pick = area_lists.area_pick(covered, request.args.get("province"), ward)
        slug = request.args.get("survey", "")
        chosen = next(((i, p) for i, p in briefed if i.slug == slug), None)
        if ward is not None and chosen is not None and areas.province_of(ward) == pick.province:
            if ward in areas.ward_codes(pick.province) and pick.province in chosen[1]:
                return redirect(url_for("research.ward_brief", slug=slug, ward_code=ward))
            flash(_("This survey does not cover that commune; choose another survey or commune."))
        wards = [(w.code, w.name, w.parent_code) for w in pick.wards]
    wards = collation.sorted_by(wards, lambda item: item[1])
    return render_template("research/wards.html", wards=wards, briefed=briefed, pick=pick,
                           survey=request.args.get("survey", ""), official=allowed is not None,
                           province_names=areas.province_names())


def _int(text: str | None) -> int | None:
    try:
        return int(text or "")
    except ValueError:
        return None


@bp.route("/<slug>/ward/<int:ward_code>")
@role_required(Role.researcher, Role.ward_official)
def ward_brief(slug: str, ward_code: int):
    """The printable one-page brief of one ward (A4): a commune of the survey's area, else 404."""
    provinces = survey_provinces(db.session(), slug)
    labels = area_lists.ward_labels(provinces)
    if ward_code not in labels:
        abort(404)
    allowed = allowed_wards()
    if allowed is not None and ward_code not in allowed:
        abort(403)
    q = database_results.read_or_404(slug, {})
    respondents = in_ward(q, ward_code)[0]
    found = lines(q, ward_code)
    headline = next((line for line in found if line.estimate is not None), None)
    province = areas.province_of(ward_code)
    return render_template("research/brief.html", q=q, instrument=q.instrument, ward=labels[ward_code],
                           ward_code=ward_code, lines=found, headline=headline, respondents=respondents,
                           province=areas.province_names().get(province, "") if len(provinces) > 1 else "",
                           whole=query.whole_label(provinces),
                           behind=groups_behind(q, ward_code) if respondents else pd.DataFrame(),
                           minimum=current_app.config["MIN_CELL_COUNT"], now=dt.datetime.now(dt.UTC))
