"""The analysis design of a survey: responses, design variables, and weights calibrated to the census.

Base weights come from the sampling plan (stored on each response). When population margins
(ward x sex x age band) are loaded, the weights are raked to two margins: the ward totals and the
sex x age-band totals, over the wards that have respondents (wards without any respondent cannot
be represented and are listed). Raking rather than full post-stratification, because with a few
dozen respondents per ward many ward x sex x age cells are empty. Rows without a ward, sex or age
band keep their base weight times the overall calibration factor.

Trimming: the raked weights are then held within [median / 5, 5 x median] (:data:`web.research.raking.TRIM_RATIO`): a weight
outside is set to the bound and the difference is shared over the other weights in proportion to them
(R ``survey::trimWeights(..., strict = TRUE)``, Potter 1990), then the weights are raked again, and so on
until raking leaves every weight within the bounds (1% slack) or after ``raking.TRIM_ROUNDS`` rounds, as
ANES's ``anesrake`` caps weights inside raking. The last step is a raking, so the margins hold; the
weights end within (or very near) the bounds. These are the ``weight`` column of every export. The weighting page warns when
the largest weight is more than ``WARN_RATIO`` times the smallest or Kish's design effect from
weighting is above ``WARN_DEFF`` (rules of thumb: a deff above 2 halves the effective sample).

A final weight depends only on the respondent's cell (ward or province, sex, age band, base weight), so the
raking and trimming are done once per cell of the frame's cross-table (:mod:`web.research.raking`, the code
that also weights a large survey's cells grouped by the database: :mod:`web.research.weight_cells`).

Results are cached per survey in the app's cache (:mod:`web.cache`) and checked in O(1): see
:func:`current`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from flask import copy_current_request_context, current_app, g, has_request_context
from sqlalchemy import case, func, text
from sqlmodel import Session, select

from analysis import SurveyDesign, weight_diagnostics
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from surveys import areas
from surveys.messages import Message
from web import background
from web.area_codes import MixedCodeLists
from web.cache import AppCache, app_cache, cached
from web.i18n import local_zone
from web.models import PopulationMargin, ProvinceMargin, Response, Survey, SurveyRound, SurveyVersion, Visit
from web.research import raking, snapshots
from web.sampling import nonresponse_factors
from web.tables import PROBABILITY, data_stamp, response_count, responses_frame

T = TypeVar("T")

WARN_RATIO = 30.0  #: warn when the largest weight is more than this many times the smallest
WARN_DEFF = 2.0  #: warn when Kish's design effect from weighting is above this


#: the group columns, coded as text once when the design is built ("2", not 2.0); see variables.GROUP_NAMES
GROUP_COLUMNS = ("age_band", "sex", "ethnicity", "area_type", "urban_rural", "education", "disability", "income")


@dataclass(frozen=True)
class Stamp:
    """What a weighted design was made from: O(1) to read (see :func:`web.tables.data_stamp`)."""

    data_version: int  #: the survey's count of changes other than new responses
    newest: int  #: the newest response id
    margins: tuple[str, ...]  #: the margins' count and newest upload, and the fieldwork (visits, rounds)

    def only_newer(self, now: Stamp) -> bool:
        """``now`` differs from this only by new responses (which may be shown after a short delay)."""
        return now.data_version == self.data_version and now.margins == self.margins and now.newest >= self.newest


@dataclass(frozen=True, eq=False)
class Weighted:
    """A survey's responses with final weights, its design, and how the weights were made.

    Shared by every request once built, so never changed: its frame's group columns are coded when
    it is built, and what requests derive from it is kept in the app's cache under :attr:`token`.
    """

    frame: pd.DataFrame  #: responses with ``base_weight`` and the final ``weight``
    design: SurveyDesign | None
    method: str  #: "base" or "raked"
    diagnostics: pd.DataFrame  #: one row per step: step, n, sum_weights, kish_deff, effective_n, min, max
    problem: Message | None = None  #: why calibration was not done (``calibration.*``, see web.messages)
    unrepresented_wards: tuple[int, ...] = ()
    facts: Mapping[str, tuple[bool, bool]] = field(default_factory=dict)  #: per column: (has data, is 0/1)
    stamp: Stamp | None = None
    as_of: dt.datetime | None = None  #: when the responses were read (UTC)
    seconds: float = 0.0  #: how long it took to make
    token: int = field(default_factory=lambda: next(_tokens))  #: names it in the app's cache
    #: responses of the non-probability stream left out because a probability sample exists
    nonprobability: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())  # pandas loaded at first use
    #: the margins calibrated to: "ward", "province" (see :func:`chosen_margins`) or "area" (the whole area's
    #: sex and age totals: :func:`calibrate_to_whole_area`)
    margins_level: str = "ward"

    def derived(self, key: tuple, build: Callable[[], T], aside: bool = False) -> T:
        """``build()`` (something computed from this design: a ranking, a table family), kept in the
        app's cache for as long as this design is current. ``aside``: in a person's request on a large design,
        computed in a thread of this process; the request waits for it ``KHAOSAT_ASIDE_WAIT_SECONDS`` at most, then
        answers "being prepared" (:class:`BeingPrepared`) and a later request finds it made."""
        if aside and _answers_aside() and len(self.frame) > current_app.config["KHAOSAT_WEIGHTING_JOB_THRESHOLD"]:
            return _computed_aside(("derived", (self.token, *key)), build)
        return cached("derived", (self.token, *key), build)


_tokens = itertools.count(1)
#: set by :mod:`web.research.weighting_jobs`: given a survey whose served design is out of date, queue a weighting
#: run when the survey is large and say so (True: serve the last complete design meanwhile)
in_background: Callable[[Session, str, areas.Provinces, Weighted, Stamp], bool] | None = None
#: set by :mod:`web.research.weighting_jobs`: given a survey with no weights made yet, queue its first weighting run
#: when the survey is large and return the run (the request then answers "being prepared"), else None (made now)
first_in_background: Callable[[Session, str, areas.Provinces], object | None] | None = None
#: called with (session, slug, provinces, design) whenever a worker makes a design (the weighting cells)
ON_BUILT: list[Callable[[Session, str, areas.Provinces, Weighted], None]] = []
#: called with (design, slug, provinces) before a design made or loaded in the background is served: what the
#: pages viewed lately derive from it is computed then, not in their next request (:func:`web.research.query.warm`)
BEFORE_SERVED: list[Callable[[Weighted, str, areas.Provinces], None]] = []


@dataclass(frozen=True)
class Preparing:
    """What a "being prepared" answer waits for when it is not a weighting run: ``"loading"`` (this process reads
    the saved weights), ``"computing"`` (a table or ranking of them); its progress is not known."""

    what: str
    percent: None = None
    done_rows: int = 0
    total_rows: int = 0


class TooLarge(Exception):
    """A survey of more responses than its weighted design is made in memory for (:attr:`limit`,
    ``KHAOSAT_CELLS_IN_DATABASE_THRESHOLD``): its pages are not computed, and no weighting run is queued for them
    (the run of such a survey makes only the weighting cells of its data file)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} responses, the most weighed in memory")
        self.limit = limit


def too_large(responses: int) -> bool:
    """Whether a survey of ``responses`` is over ``KHAOSAT_CELLS_IN_DATABASE_THRESHOLD``: its design (about 4 GiB a
    million responses) is not made in memory, only its weighting cells, in the database."""
    return responses > current_app.config["KHAOSAT_CELLS_IN_DATABASE_THRESHOLD"]


def refuse_too_large(session: Session, slug: str, province: areas.Provinces, responses: int | None = None,
                     count: bool = True) -> None:
    """Raise :class:`TooLarge` for a survey over the limit of :func:`too_large`, before a weighting run is queued
    for its pages. Its ``responses`` are counted unless given (0.3 s at 1,000,000) or ``count`` is False (then only a
    survey remembered as too large raises); a survey found too large is remembered until its count of changes other
    than new responses moves (new responses only make it larger)."""
    cache = app_cache()
    key = (session.get_bind().url.render_as_string(), slug, areas.province_codes(province))
    version = data_stamp_of(session, slug, province).data_version
    limit = current_app.config["KHAOSAT_CELLS_IN_DATABASE_THRESHOLD"]
    if cache is not None and cache.get("too_large", key) == version:
        raise TooLarge(limit)
    if responses is None and not count:
        return
    if too_large(response_count(session, slug) if responses is None else responses):
        if cache is not None:
            cache.put("too_large", key, version)
        raise TooLarge(limit)


class BeingPrepared(Exception):
    """A large survey's figures are being prepared in the background (:attr:`run`: the weighting run making its
    first weights, or a :class:`Preparing`: the saved weights being loaded, a table being computed)."""

    def __init__(self, run) -> None:
        super().__init__("the weights are being prepared")
        self.run = run


def _answers_aside() -> bool:
    """Whether this is a person's request, which answers "being prepared" rather than wait: not a job, nor a
    thread preparing the figures (:func:`in_place`)."""
    return has_request_context() and not g.get("khaosat_in_place", False)


class in_place:  # noqa: N801 - used as a function: ``with in_place():``
    """Within it, everything is computed (and the saved weights loaded) where it is asked for, never aside: in
    jobs and in the threads preparing the figures."""

    def __enter__(self) -> None:
        self.before = g.get("khaosat_in_place", False)
        g.khaosat_in_place = True

    def __exit__(self, *_exc) -> None:
        g.khaosat_in_place = self.before


_failed_aside: set = set()  #: keys whose computing aside failed: the next request computes them itself
_failed_lock = threading.Lock()


def _computed_aside(key: tuple, build: Callable[[], T]) -> T:
    """``build()``'s value from the app's cache; else computed in a thread (one per key), waited for
    ``KHAOSAT_ASIDE_WAIT_SECONDS``; :class:`BeingPrepared` when it is not ready by then. After a failure the next request
    computes it itself, so that what went wrong is shown as it would have been."""
    cache, missing = app_cache(), object()
    value = cache.get(*key, missing)
    if value is not missing:
        return value
    with _failed_lock:
        failed = key in _failed_aside
        _failed_aside.discard(key)
    if failed:
        return cache.get_or_build(*key, build)
    lock = cache.key_lock(*key)
    if lock.acquire(blocking=False):
        app = current_app._get_current_object()

        @copy_current_request_context
        def compute() -> None:
            try:
                with in_place():
                    cache.build_into(*key, build)
            except Exception:
                app.logger.exception("computing %s aside failed", key[1][1:])
                with _failed_lock:
                    _failed_aside.add(key)
            finally:
                lock.release()

        background.start(app, compute, "khaosat-aside")
    if lock.acquire(timeout=current_app.config["KHAOSAT_ASIDE_WAIT_SECONDS"]):
        lock.release()
    value = cache.get(*key, missing)
    if value is missing:
        raise BeingPrepared(Preparing("computing"))
    return value


def margins_frame(session: Session, provinces: areas.Provinces) -> pd.DataFrame:
    """The ward x sex x age-band margins of the provinces."""
    codes = areas.province_codes(provinces)
    rows = session.exec(select(PopulationMargin.ward_code, PopulationMargin.sex, PopulationMargin.age_band,
                               PopulationMargin.count).where(PopulationMargin.province_code.in_(codes))).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["ward_code", "sex", "age_band", "count"])


def province_margins_frame(session: Session, provinces: areas.Provinces) -> pd.DataFrame:
    """The province x sex x age-band margins of the provinces."""
    codes = areas.province_codes(provinces)
    rows = session.exec(select(ProvinceMargin.province_code, ProvinceMargin.sex, ProvinceMargin.age_band,
                               ProvinceMargin.count).where(ProvinceMargin.province_code.in_(codes))).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["province_code", "sex", "age_band", "count"])


def chosen_margins(session: Session, provinces: areas.Provinces) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ward margins, province margins) to calibrate to: a survey of several provinces is calibrated to the
    province margins when there are any (its sample has a few communes per province, so ward totals would
    weight those communes alone), else to ward margins as a one-province survey is."""
    wards, by_province = margins_frame(session, provinces), province_margins_frame(session, provinces)
    if len(areas.province_codes(provinces)) > 1 and not by_province.empty:
        return wards.iloc[0:0], by_province
    return wards, by_province.iloc[0:0]


def data_stamp_of(session: Session, slug: str, province: areas.Provinces) -> Stamp:
    """The survey's data version, its newest response, and the province's margins (a small table)."""
    data = data_stamp(session, slug) or (0, 0)
    margins = session.exec(select(func.count(PopulationMargin.id), func.max(PopulationMargin.uploaded_at))
                           .where(PopulationMargin.province_code.in_(areas.province_codes(province)))).one()
    by_province = session.exec(select(func.count(ProvinceMargin.id), func.max(ProvinceMargin.uploaded_at))
                               .where(ProvinceMargin.province_code.in_(areas.province_codes(province)))).one()
    rounds = hashlib.sha256(repr([(r.number, str(r.starts_on), str(r.ends_on))
                                  for r in survey_rounds(session, slug)]).encode()).hexdigest()[:16]
    fieldwork = (*session.exec(select(func.count(Visit.id), func.max(Visit.id))).one(), rounds)
    return Stamp(*data, tuple(str(m) for m in (*margins, *by_province, *fieldwork)))


def survey_rounds(session: Session, slug: str) -> list[SurveyRound]:
    """The survey's rounds, by number (their dates are in the weights' stamp: moving any day of any round makes the
    figures by round again)."""
    return list(session.exec(select(SurveyRound).join(Survey, Survey.id == SurveyRound.survey_id)
                             .where(Survey.slug == slug).order_by(SurveyRound.number)).all())


def round_bounds(rounds: Sequence[SurveyRound]) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """Each round's number (text) and the UTC instants its local days start and end (the end excluded): a response
    submitted at ``t`` belongs to the round with ``start <= t < end``."""
    zone = local_zone()
    return [(str(r.number), dt.datetime.combine(r.starts_on, dt.time(), zone).astimezone(dt.UTC),
             dt.datetime.combine(r.ends_on + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)) for r in rounds]


def _other_lists(session: Session, slug: str, province: areas.Provinces) -> tuple[int, int]:
    """How many responses and margin cells hold ward codes of another code list (read when building)."""
    def other_list(column):
        return func.coalesce(func.sum(case((column != areas.CODE_LIST, 1), else_=0)), 0)

    responses = session.exec(select(other_list(Response.code_list))
                             .join(SurveyVersion, SurveyVersion.id == Response.survey_version_id)
                             .join(Survey, Survey.id == SurveyVersion.survey_id).where(Survey.slug == slug)).one()
    margins = session.exec(select(other_list(PopulationMargin.code_list))
                           .where(PopulationMargin.province_code.in_(areas.province_codes(province)))).one()
    return int(responses), int(margins)


def check_code_lists(session: Session, slug: str, province: areas.Provinces) -> None:
    """:raise MixedCodeLists: when responses or margins hold ward codes of another code list"""
    mixed = _other_lists(session, slug, province)
    if any(mixed):
        raise MixedCodeLists(responses=mixed[0], margins=mixed[1])


def build(session: Session, slug: str, province: areas.Provinces,
          on_chunk: Callable[[int], None] | None = None) -> Weighted:
    """Read the responses and margins and make the weighted design (what :func:`weighted` caches);
    ``on_chunk(rows)`` hears of each chunk of responses read.

    :raise MixedCodeLists: when responses or margins hold ward codes of another code list
    """
    started, as_of = time.perf_counter(), dt.datetime.now(dt.UTC)
    stamp = data_stamp_of(session, slug, province)
    check_code_lists(session, slug, province)
    frame, apart = official_stream(with_former_district(responses_frame(session, slug, on_chunk), province))
    frame = with_rounds(session, slug, with_nonresponse_factors(session, frame))
    made = calibrate(frame, *chosen_margins(session, province))
    return replace(made, stamp=stamp, as_of=as_of, seconds=time.perf_counter() - started, nonprobability=apart)


def weighted(session: Session, slug: str, province: areas.Provinces) -> Weighted:
    """The survey's weighted design, from the app's cache (see :func:`current`)."""
    return current(session, slug, province)[0]


def current(session: Session, slug: str, province: areas.Provinces) -> tuple[Weighted, bool]:
    """The survey's weighted design, and whether newer responses are being added to it in the background.

    The cache is checked in O(1) (:class:`Stamp`). After an exclusion, a rejection, an edit, an erasure or
    new margins the design is made again before it is served. After new responses only, a design that
    took longer than ``WEIGHTS_SYNC_SECONDS`` to make is served as it is (its :attr:`Weighted.as_of`
    says when its responses were read) while a thread makes the new one.

    :raise MixedCodeLists: when responses or margins hold ward codes of another code list
    """
    cache = app_cache()
    if cache is None:
        return build(session, slug, province), False
    stamp = data_stamp_of(session, slug, province)
    key = (session.get_bind().url.render_as_string(), slug, areas.province_codes(province))
    latest = cache.get("weighted", key)
    if latest is not None and latest.stamp != stamp and _served_meanwhile(latest, stamp) \
            and _newer_saved(session, slug, province, stamp, latest):  # another worker made newer ones: loaded aside
        _later(cache, key, session.get_bind(), slug, province, load=True)
        return latest, True
    if latest is None and _loading_aside(cache, key, session, slug, province):
        raise BeingPrepared(Preparing("loading"))
    if latest is None or latest.stamp != stamp:  # another worker may have made a newer one
        shared = _shared(session, slug, province, stamp, latest)
        if shared is not None:
            cache.put("weighted", key, shared)
            latest = shared
    if latest is not None and latest.stamp == stamp:
        return latest, False
    if latest is not None and in_background is not None and in_background(session, slug, province, latest, stamp):
        return latest, True
    if latest is not None and latest.stamp.only_newer(stamp) \
            and latest.seconds >= current_app.config["WEIGHTS_SYNC_SECONDS"]:
        _later(cache, key, session.get_bind(), slug, province)
        return latest, True
    if latest is None and first_in_background is not None:
        run = first_in_background(session, slug, province)
        if run is not None:
            raise BeingPrepared(run)
    with cache.key_lock("weighted", key):
        latest = cache.get("weighted", key)
        if latest is None or latest.stamp != stamp:
            latest = _built_and_shared(session, slug, province)
            cache.put("weighted", key, latest)
    return latest, False


def _loading_aside(cache: AppCache, key: tuple, session: Session, slug: str, province: areas.Provinces) -> bool:
    """Whether the saved design is being loaded in a thread of this process: when nothing is served yet, in a
    person's request, and the saved design holds more than ``KHAOSAT_WEIGHTING_JOB_THRESHOLD`` responses (reading
    a large one takes seconds: 10 s of CPU at 1,000,000); a small one is loaded in the request."""
    if not _answers_aside():
        return False
    if key in _loads():  # being loaded already: its description is not read again
        return True
    described = snapshots.meta(session, snapshot_key(slug, province))
    if described is None or described.get("id") in _unreadable:
        return False
    rows = described["rows"] if "rows" in described else response_count(session, slug)  # saved before "rows"
    if rows <= current_app.config["KHAOSAT_WEIGHTING_JOB_THRESHOLD"]:
        return False
    _later(cache, key, session.get_bind(), slug, province, load=True)
    return True


def _served_meanwhile(latest: Weighted, stamp: Stamp) -> bool:
    """Whether a newer design of this one's survey is made ready aside while this one is served, rather than in
    the request: a large one's always (as its weighting runs), a slow one's after new responses only."""
    return len(latest.frame) > current_app.config["KHAOSAT_WEIGHTING_JOB_THRESHOLD"] \
        or (latest.seconds >= current_app.config["WEIGHTS_SYNC_SECONDS"] and latest.stamp.only_newer(stamp))


def _newer_saved(session: Session, slug: str, province: areas.Provinces, stamp: Stamp, latest: Weighted) -> bool:
    """Whether the saved design (:mod:`web.research.snapshots`) would replace ``latest`` (its description only)."""
    described = snapshots.meta(session, snapshot_key(slug, province))
    return described is not None and described.get("id") not in _unreadable \
        and _saved_usable(described, stamp, latest) and _stamp_of(described) != latest.stamp


def _stamp_of(described: dict) -> Stamp:
    return Stamp(described["stamp"][0], described["stamp"][1], tuple(described["stamp"][2]))


def _saved_usable(described: dict, stamp: Stamp, latest: Weighted | None) -> bool:
    """A saved design is served when it is current, when nothing is served yet, or when it only adds responses
    to the one served."""
    theirs = _stamp_of(described)
    return theirs == stamp or latest is None or (theirs.data_version == stamp.data_version
                                                 and theirs.margins == stamp.margins
                                                 and theirs.newest > latest.stamp.newest)


def refresh(session: Session, slug: str, province: areas.Provinces,
            on_chunk: Callable[[int], None] | None = None) -> Weighted:
    """Make the design now, share it with the other workers and keep it in this process's cache (a weighting
    run in the background: :mod:`web.research.weighting_jobs`), after computing what the pages viewed lately
    derive from it (:data:`BEFORE_SERVED`)."""
    cache = app_cache()
    if cache is None:
        return _built_and_shared(session, slug, province, on_chunk)
    key = (session.get_bind().url.render_as_string(), slug, areas.province_codes(province))
    with cache.key_lock("weighted", key):  # this process loads no saved copy of it meanwhile
        made = _built_and_shared(session, slug, province, on_chunk)
        _before_served(made, slug, province)
        cache.put("weighted", key, made)
    return made


def snapshot_key(slug: str, province: areas.Provinces) -> str:
    return f"{slug}:{','.join(map(str, areas.province_codes(province)))}"


def _built_and_shared(session: Session, slug: str, province: areas.Provinces,
                      on_chunk: Callable[[int], None] | None = None) -> Weighted:
    made = build(session, slug, province, on_chunk)
    meta = {"stamp": [made.stamp.data_version, made.stamp.newest, list(made.stamp.margins)], "method": made.method,
            "rows": len(made.frame),
            "problem": None if made.problem is None else {"code": made.problem.code, "params": dict(made.problem.params)},
            "unrepresented": list(made.unrepresented_wards),
            "has_design": made.design is not None, "as_of": made.as_of.isoformat(), "seconds": made.seconds,
            "facts": {k: list(v) for k, v in made.facts.items()}}
    snapshots.save(session, snapshot_key(slug, province), meta, made.frame, made.diagnostics, made.nonprobability)
    for hook in ON_BUILT:
        hook(session, slug, province, made)
    return made


def _shared(session: Session, slug: str, province: areas.Provinces, stamp: Stamp, latest: Weighted | None) -> Weighted | None:
    """The design another worker made and saved (:mod:`web.research.snapshots`) when it is current or newer
    than ``latest`` (read only then: its description is read first)."""
    described = snapshots.meta(session, snapshot_key(slug, province))
    if described is None or described.get("id") in _unreadable or not _saved_usable(described, stamp, latest):
        return None
    try:
        stored = snapshots.load(session, snapshot_key(slug, province))
    except Exception:  # unreadable (or written by another version): made again instead, by a run or the request
        current_app.logger.exception("the saved weights of %s could not be read; they are made again", slug)
        _unreadable.add(described.get("id"))
        return None
    if stored is None:
        return None
    meta, frame, diagnostics, apart = stored
    version, newest, margins = meta["stamp"]
    return Weighted(frame, _design(frame) if meta["has_design"] else None, meta["method"], diagnostics,
                    Message(meta["problem"]["code"], meta["problem"]["params"]) if meta["problem"] else None,
                    tuple(meta["unrepresented"]), {k: tuple(v) for k, v in meta["facts"].items()},
                    Stamp(version, newest, tuple(margins)), dt.datetime.fromisoformat(meta["as_of"]), meta["seconds"],
                    nonprobability=apart)


def _loads() -> set:
    """The designs (their cache keys) being loaded from a snapshot in a thread of this process."""
    return current_app.extensions.setdefault("khaosat_loading", set())


_unreadable: set = set()  #: the ids of saved designs this process could not read (made again, never read again)


def _claimed(session: Session, name: str) -> bool:
    """Whether this session may make the design ``name`` again: on PostgreSQL one process of all those sharing
    the database does at a time (a transaction-level advisory lock, let go when the snapshot is committed);
    elsewhere each process does."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    number = int.from_bytes(hashlib.sha256(f"khaosat-weights:{name}".encode()).digest()[:8], "big", signed=True)
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:n)"), {"n": number}).scalar())


def _before_served(made: Weighted, slug: str, province: areas.Provinces) -> None:
    with in_place():
        for hook in BEFORE_SERVED:
            try:
                hook(made, slug, province)
            except Exception:  # noqa: BLE001 - the design is served all the same; its pages compute in their request
                current_app.logger.exception("preparing the pages of %s failed", slug)


def _later(cache: AppCache, key: tuple, engine, slug: str, province: areas.Provinces, load: bool = False) -> None:
    """Make the design again in a thread (``load``: read the one another worker saved), unless one is already
    being made; what the pages viewed lately derive from it is computed before it is served."""
    lock = cache.key_lock("weighted", key)
    if not lock.acquire(blocking=False):
        return
    app = current_app._get_current_object()
    loads = _loads()
    if load:
        loads.add(key)

    def refresh() -> None:
        try:
            with app.app_context(), Session(engine) as session:
                if load:
                    made = _shared(session, slug, province, data_stamp_of(session, slug, province), cache.get(
                        "weighted", key))
                elif _claimed(session, snapshot_key(slug, province)):
                    made = _built_and_shared(session, slug, province)
                else:
                    return  # another process is making them: its snapshot is read at a later request
                if made is not None:
                    _before_served(made, slug, province)
                    cache.put("weighted", key, made)
        except Exception:  # the last complete design stays; the next request tries again
            app.logger.exception("making the weights of %s again failed", slug)
        finally:
            loads.discard(key)
            lock.release()

    background.start(app, refresh, f"khaosat-weights-{slug}")


def official_stream(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the rows official estimates come from, the rows kept apart): once any response comes from the
    probability sample, only those do; the self-selected stream (QR, link) is kept apart, because who
    answers a poster depends on what the survey measures. With no probability sample yet, every row is used."""
    if "stream" not in frame or not (frame["stream"] == PROBABILITY).any():
        return frame, frame.iloc[0:0]
    chosen = frame["stream"] == PROBABILITY
    return frame[chosen].reset_index(drop=True), frame[~chosen].reset_index(drop=True)


def with_rounds(session: Session, slug: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``round`` column (the round whose dates hold the local submission date), when the
    survey has rounds; responses outside every round have none."""
    rounds = survey_rounds(session, slug)
    if not rounds or frame.empty:
        return frame
    at = pd.to_datetime(frame["submitted_at"], utc=True)
    number = pd.Series(np.nan, index=frame.index, dtype=object)
    for code, start, end in round_bounds(rounds):
        number = number.where(~((at >= start) & (at < end)), code)
    return frame.assign(round=number)


def with_nonresponse_factors(session: Session, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``nonresponse_factor`` column (1 for responses of no sampled household), from the
    visit outcomes of the draws its interviews came from (:func:`web.sampling.nonresponse_factors`)."""
    if frame.empty or "stream" not in frame or not (frame["stream"] == PROBABILITY).any():
        return frame
    factors = nonresponse_factors(session, [int(i) for i in frame["response_id"]])
    return frame.assign(nonresponse_factor=frame["response_id"].map(factors).fillna(1.0).astype(float))


def with_former_district(frame: pd.DataFrame, province: areas.Provinces) -> pd.DataFrame:
    """``frame`` with a ``province_code`` column (the province of its ward) and a ``former_district`` one
    (see :func:`surveys.areas.former_districts`) when the provinces have a conversion table; wards the table
    does not list get :data:`surveys.areas.UNKNOWN`. When the survey covers several provinces, "several" and
    "unknown" are kept apart by province (``several:79``), so that every former district lies in one province."""
    if "ward_code" not in frame:
        return frame
    frame = frame.copy()
    frame["province_code"] = [None if pd.isna(c) else areas.province_of(int(c)) for c in frame["ward_code"]]
    codes = former_district_codes(frame["ward_code"].tolist(), province)
    if codes is not None:
        frame["former_district"] = codes
    return frame


def former_district_codes(wards: list, province: areas.Provinces) -> list[str | None] | None:
    """The former district of each ward code of ``wards`` (None stays None), as :func:`with_former_district` gives
    it; None when the provinces have no conversion table."""
    districts = areas.former_districts_in(province)
    if not districts:
        return None
    several = len(areas.province_codes(province)) > 1
    out = []
    for ward in wards:
        if ward is None or pd.isna(ward):
            out.append(None)
            continue
        code = districts[int(ward)].code if int(ward) in districts else areas.UNKNOWN
        out.append(f"{code}:{areas.province_of(int(ward))}" if several and code in (areas.SEVERAL, areas.UNKNOWN)
                   else code)
    return out


def _design(frame: pd.DataFrame) -> SurveyDesign:
    return SurveyDesign(frame, weights="weight", strata="stratum", psu="psu", lonely_psu="adjust")


def _diagnostics(step: str, weights: np.ndarray) -> dict:
    return {"step": step, **weight_diagnostics(weights)}


def code(value) -> str | None:
    """A group value as its code text ("2", not 2.0); missing stays missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def coded(column: pd.Series, missing: object = math.nan) -> pd.Series:
    """Each value of ``column`` as its code text (:func:`code`), ``missing`` where it has none: each distinct value
    coded once and its text one object shared by the rows that have it (coded row by row, a million records' group
    columns took 850 MB of memory instead of 515)."""
    numbers, distinct = pd.factorize(column, use_na_sentinel=True)
    texts = np.array([missing if (c := code(value)) is None else c for value in distinct] + [missing], dtype=object)
    return pd.Series(texts[numbers], index=column.index, dtype=object)


def coded_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its group columns as code text, as every table and ranking reads them."""
    return frame.assign(**{g: coded(frame[g]) for g in GROUP_COLUMNS if g in frame.columns})


def _facts(frame: pd.DataFrame) -> dict[str, tuple[bool, bool]]:
    """Per column: whether it has data, and whether its values are all 0 or 1 (read once per design:
    reading every column on each request took longer than the rest of the page). The numeric columns are
    read as one block (one pass instead of a few pandas calls for each of ~150 columns)."""
    numeric = [name for name, dtype in frame.dtypes.items() if pd.api.types.is_numeric_dtype(dtype)]
    facts: dict = {}
    if numeric:
        values = frame[numeric].to_numpy(dtype=float, na_value=np.nan)
        present = ~np.isnan(values)
        has_data = present.any(axis=0)
        binary = has_data & (~present | (values == 0.0) | (values == 1.0)).all(axis=0)
        facts.update(zip(numeric, zip(has_data.tolist(), binary.tolist(), strict=True), strict=True))
    for name, column in frame.items():
        if name in facts:
            continue
        present = column.notna().to_numpy()  # text: its few distinct values are read as numbers, not every row
        values = pd.to_numeric(pd.Series(column[present].unique(), dtype=object), errors="coerce").to_numpy(dtype=float)
        numbers = values[~np.isnan(values)]
        facts[name] = (bool(present.any()), bool(present.any() and len(numbers) and np.isin(numbers, (0.0, 1.0)).all()))
    return {str(name): facts[name] for name in frame.columns}


def _base_weights(frame: pd.DataFrame) -> list[dict]:
    """Set ``base_weight`` (the design weight, adjusted for non-response where visits say so); the steps."""
    frame["base_weight"] = frame["weight"].astype(float)
    steps = [_diagnostics("base", frame["base_weight"].to_numpy())]
    if "nonresponse_factor" in frame and (frame["nonresponse_factor"] != 1).any():
        frame["base_weight"] = frame["base_weight"] * frame["nonresponse_factor"]
        frame["weight"] = frame["base_weight"]
        steps.append(_diagnostics("nonresponse", frame["base_weight"].to_numpy()))
    return steps


def _made(frame: pd.DataFrame, design: SurveyDesign | None, method: str, steps: list[dict],
          problem: Message | None = None, unrepresented: list[int] | None = None) -> Weighted:
    return Weighted(frame, design, method, pd.DataFrame(steps), problem, tuple(unrepresented or ()), _facts(frame))


def calibrate(frame: pd.DataFrame, margins: pd.DataFrame, by_province: pd.DataFrame | None = None) -> Weighted:
    """Rake the base weights of ``frame`` to ``margins`` (ward x sex x age-band counts) when possible, else
    to ``by_province`` (province x sex x age-band counts), and trim: :func:`web.research.raking.weigh` on the
    frame's cross-table (:func:`cross_table`), each row then given its cell's weight."""
    frame = frame[frame["ward_code"].notna()].copy() if "ward_code" in frame else frame.copy()
    if frame.empty:
        return _made(frame, None, "base", [])
    frame = coded_groups(frame).astype({"ward_code": int})
    steps = _base_weights(frame)
    problem = raking.unweightable(frame["psu"].nunique(), margins, by_province, frame.columns)
    if problem is not None:  # with one sampling unit weights exist, standard errors cannot: no design
        return _made(frame, None if problem == raking.TOO_FEW_UNITS else _design(frame), "base", steps, problem)
    cells, cell = cross_table(frame)
    made = raking.weigh(cells, margins, by_province)
    if made.problem is not None:
        return _made(frame, _design(frame), "base", steps, made.problem, list(made.unrepresented))
    if made.level == "ward":
        steps.append(_diagnostics("raked", made.raked[cell]))
    frame["weight"] = made.final[cell]
    steps.append(_diagnostics("trimmed" if made.level == "ward" else "raked", frame["weight"].to_numpy()))
    return replace(_made(frame, _design(frame), "raked", steps, None, list(made.unrepresented)),
                   margins_level=made.level)


def cross_table(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The weighting cells of ``frame``'s rows (:data:`web.research.raking.COLUMNS`: ward, province, sex, age
    band, base weight, and ``n`` the rows of each), and the cell of each row."""
    keys = [c for c in raking.COLUMNS[:-1] if c in frame.columns]
    cell = frame.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
    first = np.unique(cell, return_index=True)[1]
    cells = frame[keys].iloc[first].reset_index(drop=True).assign(n=np.bincount(cell))
    return cells, cell


def calibrate_to_whole_area(frame: pd.DataFrame, by_province: pd.DataFrame) -> Weighted:
    """``frame`` raked to the sex and age-band totals of all the provinces of ``by_province`` taken together:
    for a sample too small to rake within each province (a self-selected stream spread over the country).
    Its ``margins_level`` is ``"area"``; each response keeps its province."""
    whole = by_province.groupby(["sex", "age_band"], as_index=False)["count"].sum().assign(province_code=0)
    made = calibrate(frame.assign(province_code=0), pd.DataFrame(), whole)
    if made.method != "raked":
        return made
    out = made.frame.assign(province_code=frame["province_code"].reindex(made.frame.index))
    return replace(made, frame=out, design=_design(out), facts=_facts(out), margins_level="area")


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
