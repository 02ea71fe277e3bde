"""The results of a survey too large for its design in memory: its results page and API answer from the database.

Over ``KHAOSAT_CELLS_IN_DATABASE_THRESHOLD`` responses the weighted design is not made in memory
(:class:`web.research.weighting.TooLarge`); the results page and ``/api/v1/results/<slug>`` then read the survey's
roll-up in the database (:mod:`web.research.in_database`): every share, score and categorical indicator (a level's
share from its 0/1 column), by the whole area, province or ward, by sex and age band or by another group (each in a
roll-up of its own by area, not crossed with sex or age band), with the same intervals,
reliability flags and suppression as a survey weighed in memory; by former district too where the province has
its conversion table. The first view queues the weighting run that makes
the roll-up and says it is being prepared; a roll-up older only by new responses is served labelled with its time
while a new run adds them. Its chart and the table's CSV and XLSX are drawn from the same table, and its left-behind
ranking from the same roll-up (:mod:`web.research.ranking`), its small-area, weighting and rounds pages too;
:func:`read_or_404` reads the question of each. The disclosure-risk page and the protected files read the records
themselves (:mod:`web.research.releases_in_database`); the two streams side by side are not offered at this size
(409, and why).
"""

from __future__ import annotations

from flask import abort, current_app

from web import db
from web.catalog import survey_provinces
from web.i18n import language
from web.research import in_database, query, weighting, weighting_jobs

LEVELS = ("national", "province", "ward", "former_district")  #: the levels a roll-up holds


def served(slug: str) -> in_database.Served:
    """The survey's figures in the database; queues the run that makes them (or adds new responses to them).

    :raise BeingPrepared: while its first figures are being made
    :raise TooLarge: outside a signed-in request, with no figures to serve
    """
    session = db.session()
    provinces = survey_provinces(session, slug)
    found = in_database.served(session, slug, provinces)
    if found is None or found.pending:
        run = weighting_jobs.run_in_database(session, slug, provinces)
        session.commit()
        if found is None:
            if run is None:
                raise weighting.TooLarge(current_app.config["KHAOSAT_CELLS_IN_DATABASE_THRESHOLD"])
            raise weighting.BeingPrepared(run)
    return found


def read(slug: str, args, figures: in_database.Served, *, api: bool = False) -> query.Query:
    """The question in ``args`` about a survey served by the database, as :func:`web.research.query.read` reads
    it; raises :class:`web.research.query.BadQuery` for what this survey does not offer at its size."""
    instrument = query.load_instrument(slug)
    provinces = survey_provinces(db.read_session(), slug)
    levels = tuple(lv for lv in query.offered_levels(provinces) if lv in LEVELS)
    asked = query.asked(slug, instrument, None, args, in_database.offered(figures, instrument, language()),
                        in_database.groups(figures), levels, provinces, api=api, pending=figures.pending,
                        figures=figures)
    if figures.covering(asked.columns) is None:  # another group is not crossed with sex or age band at this size:
        if api:  # the API says so; a page shows the first group, and says why not the second
            raise query.BadQuery("by2")
        asked.not_crossed, asked.by2 = asked.by2, ""
    return asked


def read_or_404(slug: str, args) -> query.Query:
    """The question in ``args`` (:func:`web.research.query.read_or_404`) about the survey's design in memory or, over
    the in-memory limit, about its figures in the database (``figures`` set); a 404 for what is not offered."""
    try:
        return query.read_or_404(slug, args)
    except weighting.TooLarge:
        figures = served(slug)
        try:
            return read(slug, args, figures)
        except query.BadQuery:
            abort(404)
