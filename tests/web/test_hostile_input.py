"""The hostile-input corpus (tests/fixtures/hostile/): each body gets its 4xx, in the bilingual error
shape, and stores nothing; then the same cases as form posts to every page that takes one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ON_POSTGRESQL
from tests.web.helpers import instrument
from tests.web.test_api import count, submission, valid_answers
from tests.web.test_fuzz_posts import FIELDS, RowWatch, post_endpoints, real_ids
from tests.web.test_hardening import row_counts
from web.api.validation import storable

CORPUS = json.loads((Path(__file__).parent.parent / "fixtures" / "hostile" / "submissions.json").read_text())["cases"]
PLACEHOLDER = "\u0001hostile\u0001"


def first_text_question(app, slug: str) -> str:
    return next(q.name for q in instrument(app, slug).questions if q.type == "text")


def raw_body(app, case: dict) -> bytes:
    """The bytes the case sends: a valid submission with one place replaced, or a body of its own."""
    if "body" in case:
        body = case["body"]
        if "nest" in body:
            return ("[" * body["nest"] + "]" * body["nest"]).encode()
        return bytes.fromhex(body["hex"]) if "hex" in body else body["text"].encode()
    slug = case.get("survey", "digital-skills")
    data = submission(app, survey=slug, version=instrument(app, slug).version, uuid="hostile-0001")
    if slug != "digital-skills":
        data["answers"] = valid_answers(app, slug)
    if case.get("consent"):
        data["meta"]["gps_consent"] = True
    *parents, last = [first_text_question(app, slug) if p == "@text" else p for p in case["at"].split(".")]
    target = data
    for name in parents:
        target = target[name]
    target[last] = PLACEHOLDER
    raw = case["raw"].replace("{zeros}", "0" * case.get("zeros", 0))
    raw = raw.replace("{repeat}", case.get("repeat", "") * case.get("times", 0))
    return json.dumps(data, ensure_ascii=False).replace(json.dumps(PLACEHOLDER), raw).encode()


def assert_bilingual_errors(payload: dict, field: str) -> None:
    errors = payload["errors"]
    assert field in errors, errors
    for message in errors.values():
        assert set(message) == {"vi", "en"} and all(message.values()) and message["vi"] != message["en"], message


@pytest.mark.both_backends
@pytest.mark.parametrize("case", CORPUS, ids=[c["case"] for c in CORPUS])
def test_each_hostile_body_gets_its_4xx_in_both_languages_and_stores_nothing(app, client, accounts, case):
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    before = row_counts(app)
    response = client.post("/api/v1/submissions", data=raw_body(app, case), content_type="application/json",
                           headers=headers)
    assert response.status_code == case["status"], response.get_data(as_text=True)[:300]
    field = first_text_question(app, case["survey"]) if case.get("field") == "@text" else case["field"]
    assert_bilingual_errors(response.get_json(), field)
    assert row_counts(app) == before


def test_the_corpus_bodies_are_otherwise_valid(app, client, accounts):
    """The base body of each case is accepted, so each refusal is due to its hostile part alone."""
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    for number, slug in enumerate(["digital-skills", "service-satisfaction"]):
        case = {"survey": slug, "at": "meta.language", "raw": '"vi"'}
        body = raw_body(app, case).replace(b"hostile-0001", f"hostile-ok-{number}".encode())
        response = client.post("/api/v1/submissions", data=body, content_type="application/json", headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert count(app) == 2


@pytest.mark.parametrize("status,headers", [
    (401, {"Authorization": "Bearer nope"}), (401, {}), (405, None), (404, None), (413, None), (403, "researcher"),
])
def test_every_api_refusal_has_the_bilingual_shape(app, client, accounts, status, headers):
    url, method, data = "/api/v1/submissions", "POST", b"{}"
    if headers == "researcher":
        headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    elif headers is None:
        headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
        url, method = {405: (url, "PUT"), 404: ("/api/v1/nothing", "GET"), 413: (url, "POST")}[status]
        data = b'{"a": "' + b"x" * (2 * 1024 * 1024) + b'"}' if status == 413 else data
    response = client.open(url, method=method, data=data, content_type="application/json", headers=headers)
    assert response.status_code == status
    assert_bilingual_errors(response.get_json(), "_")


FORM_VALUES = json.loads((Path(__file__).parent.parent / "fixtures" / "hostile" / "form_values.json").read_text())
FORM_VALUES = FORM_VALUES["values"]


def form_body(case: dict, names: list[str]) -> tuple[bytes | dict, str]:
    if "urlencoded" in case:
        return "&".join(f"{name}={case['urlencoded']}" for name in names).encode(), "application/x-www-form-urlencoded"
    value = case["value"].replace("{zeros}", "0" * case.get("zeros", 0)) * case.get("times", 1)
    return {name: value for name in names}, "multipart/form-data"


@pytest.mark.slow
@ON_POSTGRESQL
def test_hostile_values_in_every_form_never_500_and_refusals_change_nothing(app, accounts):
    client = app.test_client()
    ids = real_ids(app, accounts, client)
    accounts.login("admin")
    client.post("/s/digital-skills")  # a draft, so the page posts reach the answer checks
    names = sorted({*FIELDS, *(q.name for q in instrument(app).questions), "instrument"})
    endpoints = [(e, url) for e, url in post_endpoints(app, ids) if e != "accounts.logout"]
    assert len(endpoints) >= 20
    with RowWatch.of(app) as watch:
        for case in FORM_VALUES:
            data, content_type = form_body(case, names)
            for endpoint, url in endpoints:
                watch.before()
                response = client.post(url, data=data, content_type=content_type)
                watch.check(endpoint, url, response)


@pytest.mark.parametrize("url", ["/s/digital%00skills", "/api/v1/surveys/a%00b", "/api/v1/results/a%00b",
                                 "/research/digital-skills?indicator=%00", "/collect/poster/a%00b",
                                 "/research/a%00b/export.csv"])
def test_a_nul_in_a_path_or_query_is_a_400_not_a_500(app, client, accounts, url):
    accounts.login("admin")
    response = client.get(url + ("&" if "?" in url else "?") + "lang=en")
    assert response.status_code == 400
    if url.startswith("/api/"):
        assert_bilingual_errors(response.get_json(), "_")
    else:
        assert "cannot be stored" in response.get_data(as_text=True)


@pytest.mark.parametrize("raw", [
    r'{"a": "\u0000"}', r'{"\u0000": 1}', r'{"a": "\uD800"}', r'{"a": "\ud83d\ude00"}', r'{"a": "\\u0000"}',
    '{"a": 9007199254740991}', '{"a": 9007199254740992}', '{"a": [-90071992547409920]}', '{"a": 1.5e300}',
    '{"a": "Cần thêm lớp học", "b": [1, 2, {"c": null}]}',
    '{"a": ' + "[" * 16 + "]" * 16 + "}", '{"a": ' + "[" * 17 + "]" * 17 + "}",
    '{"a": ' + '{"b": ' * 17 + "1" + "}" * 17 + "}",
])
def test_the_raw_text_scan_finds_what_the_walk_of_every_value_finds(app, raw):
    """A body is walked value by value only when its raw JSON holds something that could be unstorable; the
    answer is the same as walking it always."""
    with app.test_request_context():
        body = json.loads(raw)
        assert storable(body, raw.encode()) == storable(body)
