"""Results of a supervisor's wards: a survey's weighted estimates by ward (and by a group) for the wards
assigned to them, and no other.

The figures are the researchers' (:func:`web.research.query.table`): the full weighted design with each
ward a domain of it (never a subset of rows), and the same disclosure control, small cells and the cells
that would give them away hidden across every ward's table. Only the rows shown are limited to the
supervisor's wards; no city-wide figure is shown, since no public page shows one and, beside a ward's
own, it would let the rest of the city be worked out. Admins see every ward; another ward is a 404.
"""

from __future__ import annotations

from flask import abort, render_template, request
from sqlmodel import select

from analysis.lazy import pandas as pd
from web import db
from web.admin.fieldwork import scope_wards
from web.admin.views import province_wards
from web.auth import role_required
from web.catalog import reported_version
from web.models import Role, Survey
from web.research import bp, charts, database_results, query, variables
from web.research.variables import GROUP_NAMES


@bp.route("/my-wards")
@role_required(Role.supervisor)
def ward_results_index():
    """The surveys with results, each a link to its estimates for the user's wards."""
    slugs = [s for s in db.session().exec(select(Survey.slug).order_by(Survey.slug)).all()
             if reported_version(db.session(), s)]
    return render_template("research/ward_results_index.html", instruments=[query.load_instrument(s) for s in slugs],
                           scope=scope_wards())


def _wards_shown(scope: set[int] | None) -> tuple[set[int] | None, int | None]:
    """The wards whose rows are shown (None: every ward) and the one asked for (``?ward=``), which must
    be one of the user's; any other is a 404."""
    text = (request.args.get("ward") or "").strip()
    if not text:
        return scope, None
    if not text.isdigit() or int(text) not in province_wards() or (scope is not None and int(text) not in scope):
        abort(404)
    return {int(text)}, int(text)


@bp.route("/<slug>/my-wards")
@role_required(Role.supervisor)
def ward_results(slug: str):
    scope = scope_wards()
    shown, ward = _wards_shown(scope)
    q = database_results.read_or_404(slug, {"indicator": request.args.get("indicator", ""), "level": "ward",
                                            "by": request.args.get("by", "")})
    table = query.table(q)
    if shown is not None and len(table):
        table = table[pd.to_numeric(table["ward_code"], errors="coerce").isin(sorted(shown))].reset_index(drop=True)
    wards = {code: name for code, name in province_wards().items() if scope is None or code in scope}
    return render_template("research/ward_results.html", q=q, table=table, instrument=q.instrument, wards=wards,
                           ward=ward, scope=scope, group_names=GROUP_NAMES, menu=variables.menu(q.offered),
                           max_bars=charts.MAX_BARS)
