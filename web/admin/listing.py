"""The submissions table's query: filters read from the page's query string, sorting, and pages of 50.

Everything runs in the database: a page is one indexed query (``ORDER BY ... LIMIT 50 OFFSET n``) and
the count stops at :data:`COUNT_CAP`, so a filtered page over a million responses stays fast
(``bench/submissions_table.py``). The same :func:`selection` serves the page and the bulk actions.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, select

from web.models import Response, ResponseFlag, ReviewStatus, SurveyVersion

PAGE_SIZE = 50
COUNT_CAP = 10_000  #: counted up to this; beyond, the page says "more than"
MAX_PAGE = COUNT_CAP // PAGE_SIZE
CHANNELS = ("interview", "self")
SORTS = {  #: name -> (column, descending)
    "newest": (Response.submitted_at, True), "oldest": (Response.submitted_at, False),
    "id": (Response.id, False), "-id": (Response.id, True),
    "ward": (Response.ward_code, False), "-ward": (Response.ward_code, True),
}
SEARCH_RE = re.compile(r"^[A-Za-z0-9:_-]{1,64}$")


class BadFilter(ValueError):
    """A filter's value is not one the table offers; ``field`` names it."""

    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


@dataclass(frozen=True)
class Filters:
    survey_id: int | None = None
    version: int | None = None
    ward: int | None = None
    volunteer: int | None = None
    channel: str | None = None
    since: dt.date | None = None  #: first day, Hà Nội time
    until: dt.date | None = None  #: last day, Hà Nội time
    flag: str | None = None
    status: str | None = None
    q: str | None = None  #: a response id, or the start of its uuid
    sort: str = "newest"
    page: int = 1

    def args(self, **changes: Any) -> dict[str, Any]:
        """As query-string arguments (for links to other pages and sorts), without the empty ones."""
        values = {**asdict(self), **changes}
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in values.items()
                if v not in (None, "") and not (k == "page" and v == 1) and not (k == "sort" and v == "newest")}


def _int(args, name: str, low: int = 1, high: int = 2**31 - 1) -> int | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise BadFilter(name)
    return int(text)


def _day(args, name: str) -> dt.date | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadFilter(name) from None


def _choice(args, name: str, allowed) -> str | None:
    text = (args.get(name) or "").strip()
    if text and text not in allowed:
        raise BadFilter(name)
    return text or None


def read(args, flags) -> Filters:
    """The filters in a query string; :class:`BadFilter` names the first that is not offered."""
    q = (args.get("q") or "").strip()
    if q and not SEARCH_RE.match(q):
        raise BadFilter("q")
    return Filters(survey_id=_int(args, "survey_id"), version=_int(args, "version"), ward=_int(args, "ward"),
                   volunteer=_int(args, "volunteer"), channel=_choice(args, "channel", CHANNELS),
                   since=_day(args, "since"), until=_day(args, "until"), flag=_choice(args, "flag", flags),
                   status=_choice(args, "status", set(ReviewStatus)), q=q or None,
                   sort=_choice(args, "sort", SORTS) or "newest", page=_int(args, "page", 1, MAX_PAGE) or 1)


def _utc_start(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The first moment of ``day`` in ``zone``, in UTC."""
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


def version_ids(session: Session, filters: Filters) -> list[int] | None:
    """The survey versions the survey and version filters leave (None: every version). Looked up first,
    so that the database sees the ids and can use the (version, submitted_at) index for one version."""
    if filters.survey_id is None and filters.version is None:
        return None
    versions = select(SurveyVersion.id).order_by(SurveyVersion.id)
    if filters.survey_id is not None:
        versions = versions.where(SurveyVersion.survey_id == filters.survey_id)
    if filters.version is not None:
        versions = versions.where(SurveyVersion.version == filters.version)
    return list(session.exec(versions).all())


def selection(session: Session, filters: Filters, scope: set[int] | None, zone: dt.tzinfo):
    """``select(Response.id)`` with every filter and the ward scope (None: every ward), unordered. Answers
    given in a staff preview are tests, not submissions: they stay out (the versions page exports them)."""
    query = select(Response.id).where(Response.is_test == False)  # noqa: E712 - SQL
    versions = version_ids(session, filters)
    if versions is not None:
        query = query.where(Response.survey_version_id == versions[0] if len(versions) == 1
                            else Response.survey_version_id.in_(versions or [-1]))
    if scope is not None:
        query = query.where(Response.ward_code.in_(sorted(scope) or [-1]))
    if filters.ward is not None:
        query = query.where(Response.ward_code == filters.ward)
    if filters.volunteer is not None:
        query = query.where(Response.volunteer_id == filters.volunteer)
    if filters.channel:
        query = query.where(Response.channel == filters.channel)
    if filters.status:
        query = query.where(Response.review_status == filters.status)
    if filters.since:
        query = query.where(Response.submitted_at >= _utc_start(filters.since, zone))
    if filters.until:
        query = query.where(Response.submitted_at < _utc_start(filters.until + dt.timedelta(days=1), zone))
    if filters.flag:
        query = query.where(Response.id.in_(select(ResponseFlag.response_id).where(ResponseFlag.flag == filters.flag)))
    if filters.q:  # a prefix without "_" needs no escape, so PostgreSQL's pattern index serves it
        match = Response.uuid.startswith(filters.q, autoescape="_" in filters.q)
        query = query.where(or_(Response.id == int(filters.q), match) if filters.q.isdigit()
                            and int(filters.q) < 2**31 else match)
    return query


@dataclass
class Page:
    rows: list[Response]
    total: int  #: rows matching, up to :data:`COUNT_CAP` (then ``more`` is true)
    more: bool
    filters: Filters

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


@dataclass(frozen=True)
class Statements:
    """What a page runs: the ids of its rows in ``order``, and the count of the matches up to COUNT_CAP + 1."""

    ids: Any
    count: Any
    order: list


def statements(session: Session, filters: Filters, scope: set[int] | None, zone: dt.tzinfo) -> Statements:
    """The statements of one page of the table (the tests and bench/submissions_table.py read their plans)."""
    chosen = selection(session, filters, scope, zone)
    column, descending = SORTS[filters.sort]
    order = [column.desc(), Response.id.desc()] if descending else [column.asc(), Response.id.asc()]
    return Statements(ids=chosen.order_by(*order).limit(PAGE_SIZE).offset((filters.page - 1) * PAGE_SIZE),
                      count=select(func.count()).select_from(chosen.limit(COUNT_CAP + 1).subquery()), order=order)


def page(session: Session, filters: Filters, scope: set[int] | None, zone: dt.tzinfo) -> Page:
    """One page of the table, newest first unless sorted otherwise."""
    run = statements(session, filters, scope, zone)
    ids = run.ids.subquery()
    rows = list(session.exec(select(Response).join(ids, ids.c.id == Response.id).order_by(*run.order)).all())
    total = session.exec(run.count).one()
    return Page(rows, min(total, COUNT_CAP), total > COUNT_CAP, filters)
