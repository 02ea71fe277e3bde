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

import numpy as np
import pandas as pd
from flask import abort, current_app, render_template
from sqlmodel import select

from web import db
from web.auth import requesting_user, role_required
from web.catalog import current_version, ward_names
from web.models import Role, Survey, WardAssignment
from web.research import bp, derived, query, ranking, variables

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
    """The indicator by ward (estimate, ci_low, ci_high, n) and its city value."""
    design.data[indicator.name] = pd.to_numeric(design.data[indicator.name], errors="coerce")
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
    return table.set_index("ward_code"), float(city.iloc[0]) if len(city) else np.nan


def lines(q: query.Query, ward: int) -> list[Line]:
    """The brief's indicators for ``ward`` (cells with fewer than the minimum respondents left empty)."""
    design = q.data.design
    if design is None:
        return []
    frame = design.data
    people = float(design.weights[(frame["ward_code"] == ward).to_numpy()].sum())
    minimum = current_app.config["MIN_CELL_COUNT"]
    out = []
    named = [i for i in q.offered if i.name in derived.HEADLINE][:MAX_INDICATORS]
    for indicator in named:
        table, city = _estimates(design, indicator)
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


@bp.route("/wards")
@role_required(Role.researcher, Role.ward_official)
def ward_briefs():
    """The wards whose briefs this user may read, with a link per survey."""
    names = ward_names(db.session(), current_app.config["KHAOSAT_PROVINCE"])
    allowed = allowed_wards()
    wards = sorted((code, name) for code, name in names.items() if allowed is None or code in allowed)
    wards.sort(key=lambda item: item[1])
    slugs = [s for s in db.session().exec(select(Survey.slug).order_by(Survey.slug)).all()
             if current_version(db.session(), s)]
    instruments = [query.load_instrument(slug) for slug in slugs]
    return render_template("research/wards.html", wards=wards, instruments=instruments)


@bp.route("/<slug>/ward/<int:ward_code>")
@role_required(Role.researcher, Role.ward_official)
def ward_brief(slug: str, ward_code: int):
    """The printable one-page brief of one ward (A4)."""
    names = ward_names(db.session(), current_app.config["KHAOSAT_PROVINCE"])
    if ward_code not in names:
        abort(404)
    allowed = allowed_wards()
    if allowed is not None and ward_code not in allowed:
        abort(403)
    q = query.read_or_404(slug, {})
    frame = q.data.frame
    respondents = int((frame["ward_code"] == ward_code).sum()) if "ward_code" in frame else 0
    found = lines(q, ward_code)
    headline = next((line for line in found if line.estimate is not None), None)
    return render_template("research/brief.html", q=q, instrument=q.instrument, ward=names[ward_code],
                           ward_code=ward_code, lines=found, headline=headline, respondents=respondents,
                           behind=groups_behind(q, ward_code) if respondents else pd.DataFrame(),
                           minimum=current_app.config["MIN_CELL_COUNT"], now=dt.datetime.now(dt.UTC))
