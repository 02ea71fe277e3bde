"""The two streams of a survey side by side: the probability sample (official) and the self-selected one.

Once a survey has a probability sample, official estimates come from it alone
(:func:`web.research.weighting.official_stream`); the responses through QR posters and links (and
interviews of no sampled household) are kept apart. This module estimates the same indicator from that
self-selected stream, its weights raked to the same census margins as the official ones (so the gap is
not a matter of sex and age), and the gap between the two in each cell, treating the streams as
independent samples (:func:`analysis.streams.independent_gap`). The self-selected figures are never
official: the pages, charts, API and downloads say which is which.
"""

from __future__ import annotations

from flask import current_app

from analysis.lazy import pandas as pd
from analysis.streams import independent_gap
from web import db
from web.i18n import _
from web.privacy.suppression import table_family
from web.research import query, results
from web.research.weighting import Weighted, calibrate, calibrate_to_whole_area, chosen_margins, with_rounds
from web.tables import NONPROBABILITY, PROBABILITY


def official_label(q: query.Query) -> str:
    """The stream the official estimates (the results table) come from: the probability sample once
    there is one, else the self-selected responses, which are all there is."""
    if q.figures is not None:
        return q.figures.stream
    frame = q.data.frame
    if "stream" in frame and len(frame) and (frame["stream"] == PROBABILITY).all():
        return PROBABILITY
    return NONPROBABILITY if len(frame) else PROBABILITY


def stream_label(stream: str) -> str:
    """The label of a stream, as the pages, charts and downloads carry it."""
    if stream == PROBABILITY:
        return _("Probability sample")
    return _("Self-selected (QR/link), not representative")


def labelled(table: pd.DataFrame, stream: str) -> pd.DataFrame:
    """A downloaded table with two last columns saying on every row where its figures come from:
    ``stream`` (``probability`` or ``nonprobability``, as :func:`official_label` tells it) and ``stream_label`` (in
    the request's language), so the label survives sorting, filtering and copying rows into another sheet."""
    return table.assign(stream=stream, stream_label=stream_label(stream))


def self_selected(q: query.Query) -> Weighted | None:
    """The self-selected stream's weighted design (None when nothing was kept apart), built once per design."""
    if q.data.nonprobability.empty:
        return None

    def build() -> Weighted:
        session = db.session()
        frame = with_rounds(session, q.slug, q.data.nonprobability)
        wards, by_province = chosen_margins(session, q.provinces)  # the margins the official stream has
        made = calibrate(frame, wards, by_province)
        if made.method != "raked" and wards.empty and not by_province.empty:  # too few in some province
            made = calibrate_to_whole_area(frame, by_province)
        return made
    return q.data.derived(("self_selected",), build, aside=True)


def side_by_side(q: query.Query) -> pd.DataFrame | None:
    """One row per cell of the official table: both streams' estimates and the gap (self-selected minus
    official) with its 95% interval, labelled like the results table; None when there is no second
    stream, no design for it, or the indicator is categorical (one share per answer: no single gap)."""
    other = self_selected(q)
    if other is None or other.design is None or q.indicator is None or q.indicator.categorical \
            or q.data.design is None:
        return None
    key = ("streams", q.indicator, tuple(q.columns), current_app.config["MIN_CELL_COUNT"])

    def build() -> pd.DataFrame:
        official = results.estimate(q.data.design, q.indicator, q.columns, family=query.cell_family(q))
        records = results.counted(other.design, q.indicator.name)
        apart = results.estimate(other.design, q.indicator, q.columns,
                                 family=table_family(records, [g for g in q.groups if g in records]))
        return independent_gap(official, apart, q.columns)
    return query.label(q, query.in_province_order(q.data.derived(key, build, aside=True).copy()))
