"""The protected microdata files of a survey over the in-memory limit, and their disclosure-risk report.

A survey of more than ``KHAOSAT_CELLS_IN_DATABASE_THRESHOLD`` responses has no weighted design in memory
(:mod:`web.research.in_database`), yet its scientific- and public-use files need every record's quasi-identifiers
and final weight side by side: local suppression compares each risky record with the others. That is a few
columns, not the design: :func:`records` reads the responses chunk by chunk as the file itself is read
(:func:`web.tables.iter_frames`), keeps of each only its id, area, stream and quasi-identifiers
(:data:`web.research.releases.QUASI_IDENTIFIERS` and the rosters' numbers of rows), and gives it the final weight of
the served weighting cells (:func:`web.research.weight_cells.served`: the weight the figures and the file carry).
Its rows are the design in memory's (the official stream's responses with a ward, in the same order, group values
as code text), so :func:`web.research.releases.protect` makes the same release from them: the same values
suppressed, the same risk before and after, the same public weights (``tests/web/test_releases_in_database.py``
checks each against the design in memory). Each group value is one text object shared by its records (:func:`web.research.weighting.coded`).

Measuring and protecting a million records takes minutes, so it is never done in a person's request: a file is
prepared in the background at that size (:mod:`web.research.prepared`), and the disclosure-risk page reads the
report the ``disclosure`` job saved for every worker (:func:`report`, in :mod:`web.research.snapshots`, without
any record), labelled with the time the responses were read; while there is none for the data as they are, the
page queues that job and says the risk is being measured.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import current_app
from sqlmodel import Session

import surveys
from analysis.lazy import pandas as pd
from surveys import areas
from web import db, jobs
from web.auth import requesting_user
from web.i18n import language
from web.models import JobStatus
from web.research import database_results, query, releases, snapshots, weight_cells
from web.research.weighting import (
    BeingPrepared,
    Stamp,
    coded_groups,
    data_stamp_of,
    snapshot_key,
    with_former_district,
)
from web.tables import PROBABILITY, iter_frames, response_count

KIND = "disclosure"
#: the columns of a record kept besides its quasi-identifiers
KEPT = ("response_id", "weight", "ward_code", "province_code", "former_district", "stream")


def _kept(chunk: pd.DataFrame, cells: weight_cells.Cells, rosters: Sequence[str]) -> pd.DataFrame:
    """A chunk's rows with their final weight, only the columns a protected file's release reads, and the groups as
    code text (:func:`web.research.weighting.coded_groups`, as the design in memory holds them)."""
    chunk = chunk.assign(weight=cells.weights(chunk).to_numpy())  # its base weight is read first, by the cells
    return coded_groups(chunk[[c for c in (*KEPT, *releases.QUASI_IDENTIFIERS, *rosters) if c in chunk.columns]])


def records(session: Session, slug: str, provinces: areas.Provinces, instrument: surveys.Instrument,
            cells: weight_cells.Cells, on_chunk: Callable[[int], None] | None = None) -> tuple[pd.DataFrame, set[int]]:
    """The records the protected files are made of (the served design's rows: ``response_id``, ``weight``, area,
    quasi-identifiers), and the responses kept apart from them (the self-selected stream, when a probability sample
    exists: :func:`web.research.weighting.official_stream`). ``on_chunk(rows)`` hears of each chunk read."""
    rosters = [q.name for q in instrument.variables if q.type == "repeat"]
    parts, apart = [], set()
    for chunk in iter_frames(session, slug):
        parts.append(_kept(with_former_district(chunk, provinces), cells, rosters))
        if on_chunk is not None:
            on_chunk(len(chunk))
    if not parts:
        return pd.DataFrame(columns=list(KEPT)), apart
    frame = pd.concat(parts, ignore_index=True)
    chosen = frame["stream"] == PROBABILITY
    if chosen.any():
        apart = set(frame.loc[~chosen, "response_id"].astype("int64").tolist())
        frame = frame[chosen]
    # the design's rows have a ward (a self-selected response without one is kept apart all the same), and responses
    # newer than the served weights are not in it yet
    frame = frame[frame["ward_code"].notna() & frame["weight"].notna()]
    return frame.reset_index(drop=True).astype({"ward_code": int}), apart


# -- the disclosure-risk report, measured in the background ---------------------------------------------------


def _key(slug: str, provinces: areas.Provinces) -> str:
    return f"{snapshot_key(slug, provinces)}:disclosure"


def _settings() -> list:
    config = current_app.config
    return [float(config["SCIENTIFIC_MAX_RISK"]), int(config["PUBLIC_K"])]


@dataclass(frozen=True)
class Measured:
    """The disclosure-risk report the ``disclosure`` job saved."""

    releases: list[releases.Release]  #: the scientific- and public-use files' (their report only, no record)
    as_of: dt.datetime  #: when the responses they were measured on were read (UTC)
    pending: bool  #: newer responses have arrived since (a weighting run and a job will measure them)
    newest: int  #: the newest response the weights it measured hold


def _stamp_json(stamp: Stamp) -> list:
    return [stamp.data_version, stamp.newest, list(stamp.margins)]


def report(session: Session, slug: str, provinces: areas.Provinces, instrument: surveys.Instrument,
           now: Stamp) -> Measured | None:
    """The report saved for the data as they are (``now``) or older only by new responses, the instrument's version
    and the protection's settings; else None."""
    saved = snapshots.meta(session, _key(slug, provinces))
    if saved is None or saved.get("settings") != _settings() or saved.get("version") != instrument.version:
        return None
    theirs = Stamp(saved["stamp"][0], saved["stamp"][1], tuple(saved["stamp"][2]))
    if theirs != now and not theirs.only_newer(now):
        return None
    return Measured([releases.Release.from_report(r) for r in saved["reports"]],
                    dt.datetime.fromisoformat(saved["as_of"]), theirs != now, theirs.newest)


class MeasurementFailed(Exception):
    """The last measurement of these weights failed (the page says so, and offers to measure again)."""


def measured(session: Session, slug: str, provinces: areas.Provinces, instrument: surveys.Instrument,
             again: bool = False) -> Measured:
    """:func:`report`. The served weights are brought up to date as the results pages do
    (:func:`web.research.database_results.served`: a weighting run when new responses have arrived), and a
    ``disclosure`` job is queued when they hold responses the report does not, unless one is waiting or under way, or
    one already measured these weights (then only when its report is gone, or ``again`` after it failed).

    :raise BeingPrepared: while there is no report to show: with the job measuring it, or the run making the survey's
        first weights
    :raise MeasurementFailed: when there is none because the last measurement of these weights failed
    """
    weights = database_results.served(slug).stamp  # the weights a new measurement would read
    found = report(session, slug, provinces, instrument, data_stamp_of(session, slug, provinces))
    if found is not None and found.newest >= weights.newest:
        return found
    params = {"slug": slug, "provinces": list(areas.province_codes(provinces))}
    run = jobs.latest(KIND, **params)
    waiting = run is not None and run.status in (JobStatus.queued, JobStatus.running)
    these = run is not None and run.params.get("weights") == _stamp_json(weights)
    failed = these and run.status == JobStatus.failed
    if not waiting and (not these or (found is None and (not failed or again))):
        run = jobs.submit(KIND, {**params, "lang": language(), "weights": _stamp_json(weights)}, requesting_user(),
                          f"disclosure risk {slug}")
    elif found is None and failed:
        raise MeasurementFailed
    if found is None:
        raise BeingPrepared(run)
    return found


@jobs.task(KIND)
def disclosure_task(params: dict, progress: jobs.Progress) -> None:
    """Read the records (reporting each chunk), protect them for both files and save their report."""
    session = db.session()
    slug, provinces = params["slug"], tuple(params["provinces"])
    instrument = query.load_instrument(slug)
    as_of, stamp = dt.datetime.now(dt.UTC), data_stamp_of(session, slug, provinces)
    progress.start(response_count(session, slug))
    cells = weight_cells.served(session, slug, provinces)
    frame, _apart = records(session, slug, provinces, instrument, cells, progress.advance)
    made = [releases.protect(frame, instrument, tier) for tier in (releases.SCIENTIFIC, releases.PUBLIC)]
    # the weights served may be older than these data by new responses: those are not measured
    measured_on = Stamp(stamp.data_version, min(stamp.newest, cells.newest), stamp.margins)
    meta = {"stamp": _stamp_json(measured_on), "as_of": as_of.isoformat(),
            "settings": _settings(), "version": instrument.version, "reports": [m.report() for m in made]}
    snapshots.save(session, _key(slug, provinces), meta, pd.DataFrame(), pd.DataFrame())

