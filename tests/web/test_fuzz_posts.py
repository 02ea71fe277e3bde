"""Random and hostile form posts and JSON bodies to every POST endpoint (hypothesis).

Every POST route in the URL map gets form data and JSON bodies made of random text, hostile strings
and random structure, posted by a logged-in admin (so the role checks let the request reach the
validation), with real ids in the URL. The server must never answer 500, and a request it refuses
(4xx) must not change a single row in any table.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from tests.conftest import ON_POSTGRESQL
from tests.web.helpers import instrument
from tests.web.test_access import routes
from tests.web.test_api import submission
from tests.web.test_hardening import row_counter
from web import db
from web.api.bodies import MAX_META_BYTES, Paradata
from web.models import ApiToken, Response, Survey, SurveyRound, SurveyVersion, User, WardAssignment

pytestmark = pytest.mark.slow  # random and hostile bodies to every POST route

HOSTILE = [
    "", " ", "<script>alert(1)</script>", "' OR '1'='1' --", "\x00", "=HYPERLINK(\"http://evil\")", "@SUM(A1)",
    "../../etc/passwd", "9" * 400, "-1", "0", "1e308", "NaN", "yes", "exclude", "include", "admin", "vi", "en",
    "next", "back", "70", "digital-skills", "%s%n%x", "{{7*7}}", "😀", "Phường Hoàn Kiếm", "\u202e", "null",
    "9223372036854775808", "3000000000", "1e300", "1e400", "-Infinity", "1" + "0" * 400, "9999-12-31T23:59:59-14:00",
    "a\x00b", "0000-01-01", "x" * 5000,
]
#: what a broken phone or a hostile client puts in JSON: non-finite and huge numbers, half an emoji, NUL
numbers = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([2**63, 3_000_000_000, 1e300, -(2**53)]))
bad_text = st.one_of(st.text(st.characters(categories=["Cs", "Cc", "Lo", "So"]), max_size=12),
                     st.sampled_from(["\ud800", "Cần thêm lớp học \ud83d", "a\x00b", "9999-12-31T23:59:59-14:00",
                                      "0001-01-01T00:00:00+14:00", "2026-11-20T08:15:00+07:00"]))
FIELDS = ["username", "password", "role", "user_id", "ward_code", "survey_id", "target", "code", "confirm",
          "decision", "flag", "nav", "lang", "response_id", "consent", "ward", "birth_year", "sex", "education"]
FORM_EXAMPLES, JSON_EXAMPLES = 15, 10  #: per endpoint, so the suite stays fast

values = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60))
forms = st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(min_size=1, max_size=12)),
                        st.one_of(values, st.lists(values, max_size=3)), max_size=8)
json_bodies = st.one_of(
    st.recursive(st.none() | st.booleans() | numbers | bad_text | st.text(max_size=20),
                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                 max_leaves=12),
    st.fixed_dictionaries({"uuid": values, "survey": values, "version": st.integers() | values,
                           "answers": st.dictionaries(st.sampled_from(FIELDS), values | st.integers(), max_size=5),
                           "meta": st.dictionaries(st.text(max_size=8), values | st.integers(), max_size=3)}),
)
uploads = st.tuples(st.binary(max_size=300), st.sampled_from(["form.yaml", "form.xlsx", "form.yml", "x.txt", ""]))

def bounded(examples: int):
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def real_ids(app, accounts, client) -> dict[str, int]:
    """Objects the URLs point at, so the requests reach the code behind the 404 checks."""
    accounts.create("volunteer", "target-volunteer")
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    assert client.post("/api/v1/submissions", json=submission(app), headers=headers).status_code == 201
    with app.app_context():
        session = db.session()
        volunteer = session.exec(select(User).where(User.username == "target-volunteer")).one()
        session.add(WardAssignment(user_id=volunteer.id, ward_code=70))
        session.commit()
        return {
            "user_id": volunteer.id,
            "token_id": session.exec(select(ApiToken)).first().id,
            "assignment_id": session.exec(select(WardAssignment)).first().id,
            "response_id": session.exec(select(Response)).first().id,
            "version_id": session.exec(select(SurveyVersion)).first().id,
            "survey_id": session.exec(select(SurveyVersion)).first().survey_id,
            "round_id": _a_round(session),
        }


def _a_round(session) -> int:
    """A round of digital-skills holding the one response, so its edit and delete posts reach their checks."""
    survey_id = session.exec(select(Survey.id).where(Survey.slug == "digital-skills")).one()
    today = dt.date.today()
    found = SurveyRound(survey_id=survey_id, number=1, starts_on=today - dt.timedelta(days=3),
                        ends_on=today + dt.timedelta(days=3))
    session.add(found)
    session.commit()
    return found.id


def post_endpoints(app, ids):
    for endpoint, _url, method in routes(app):
        if method != "POST":
            continue
        rule = next(r for r in app.url_map.iter_rules(endpoint=endpoint))
        values = {name: ids.get(name, 0 if name == "index" else "digital-skills") for name in rule.arguments}
        yield endpoint, rule.build(values, append_unknown=False)[1]


class RowWatch:
    """The row counts of every table, taken again only when a request may have changed them.

    A refused request must change no row, so the counts after it (checked against those before it)
    are also the counts before the next request; only after a request the server accepts are they
    counted again. Each request is still compared with counts taken just before it, with nothing in
    between, at about half the queries of counting before and after every request.
    """

    def __init__(self, count: Callable[[], dict[str, int]]):
        self.count, self.known, self.pending = count, None, False

    @classmethod
    @contextmanager
    def of(cls, app) -> Iterator[RowWatch]:
        with row_counter(app) as count:
            yield cls(count)

    def before(self) -> None:
        """Call just before each request; counts again unless the last request was checked and refused."""
        if self.known is None or self.pending:  # pending: the last request raised before its check
            self.known = self.count()
        self.pending = True

    def check(self, endpoint: str, url: str, response) -> None:
        """No 500, and a refusal (4xx) changed no row in any table."""
        before, self.pending = dict(self.known), False
        if response.status_code < 400:
            self.known = None  # accepted: it may have changed rows
            return
        self.known = self.count()
        assert response.status_code < 500, f"{endpoint} {url}: {response.status_code}"
        after = dict(self.known)
        if endpoint == "accounts.login":  # a failed login is itself recorded in the audit log
            after.pop("audit_events"), before.pop("audit_events")
        assert after == before, f"{endpoint} {url} changed rows on {response.status_code}"


def fuzz(app, client, watch: RowWatch, endpoint: str, url: str, names: list[str]) -> None:
    """Post random forms, then random JSON bodies, to one endpoint."""
    @bounded(FORM_EXAMPLES)
    @given(data=forms, extra=st.dictionaries(st.sampled_from(names), values, max_size=4), upload=uploads)
    def form_post(data, extra, upload):
        watch.before()
        body = {**data, **extra}
        if endpoint == "admin.upload_instrument":
            body["instrument"] = (io.BytesIO(upload[0]), upload[1])
        response = client.post(url, data=body, content_type="multipart/form-data")
        watch.check(endpoint, url, response)

    @bounded(JSON_EXAMPLES)
    @given(body=json_bodies)
    def json_post(body):
        watch.before()
        try:
            response = client.post(url, json=body)
        except ValueError:  # NaN/inf are not JSON: send them as the raw text a client might
            response = client.post(url, data=repr(body), content_type="application/json")
        watch.check(endpoint, url, response)

    form_post()
    json_post()


@ON_POSTGRESQL
def test_random_and_hostile_posts_never_500_and_refusals_change_nothing(app, accounts):
    client = app.test_client()
    ids = real_ids(app, accounts, client)
    accounts.create("admin")
    client.post("/accounts/login", data={"username": "admin-user", "password": "correct-horse-9"})
    client.post("/s/digital-skills")  # a draft, so the page posts reach the answer checks
    names = [q.name for q in instrument(app).questions]
    endpoints = list(post_endpoints(app, ids))
    assert len(endpoints) >= 20
    with RowWatch.of(app) as watch:
        for endpoint, url in endpoints:
            fuzz(app, client, watch, endpoint, url, names)


SUBMISSION_EXAMPLES = 60


@ON_POSTGRESQL
def test_random_submissions_with_hostile_parts_never_500_and_store_only_clean_paradata(app, accounts):
    """A valid submission with random parts made hostile: refused whole (nothing stored) or stored clean."""
    META_SCHEMA = list(Paradata.model_fields)

    client = app.test_client()
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    names = [q.name for q in instrument(app).questions]
    places = st.one_of(st.sampled_from(["uuid", "survey", "version", "meta", "answers"]),
                       st.sampled_from(names).map(lambda n: "answers." + n),
                       st.sampled_from([*META_SCHEMA, "gpsLat", "position", "note", "gps.lat"]).map(lambda k: "meta." + k))
    hostile = st.recursive(st.none() | st.booleans() | numbers | bad_text | st.sampled_from(HOSTILE),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(bad_text, inner, max_size=3),
                           max_leaves=6)

    @bounded(SUBMISSION_EXAMPLES)
    @given(changes=st.lists(st.tuples(places, hostile), min_size=1, max_size=3), uuid=st.uuids())
    def post(changes, uuid):
        body = submission(app, uuid=str(uuid))
        body["meta"]["gps_consent"] = True
        for place, value in changes:
            *parents, last = place.split(".")
            target = body
            for name in parents:
                target = target.setdefault(name, {}) if isinstance(target, dict) else {}
            if isinstance(target, dict):
                target[last] = value
        watch.before()
        response = client.post("/api/v1/submissions", json=body, headers=headers)
        assert response.status_code < 500, (changes, response.get_data(as_text=True)[:300])
        reply = response.get_json()
        watch.check("api.submit", "/api/v1/submissions", response)
        if response.status_code >= 400:
            assert all(set(m) == {"vi", "en"} for m in reply["errors"].values()), reply
            return
        with app.app_context():
            stored = db.session().exec(select(Response).where(Response.uuid == str(uuid))).one()
        assert set(stored.meta) <= set(META_SCHEMA) - {"gps"}  # the fix goes to personal details, if anywhere
        assert len(json.dumps(stored.meta, ensure_ascii=False).encode()) <= MAX_META_BYTES

    with RowWatch.of(app) as watch:
        post()
