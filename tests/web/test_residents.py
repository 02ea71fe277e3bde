"""What a resident notices: a page that failed its check comes back as typed, progress that only moves
forward, times on the Hà Nội clock, wards in Vietnamese alphabetical order, "Tiếng Việt"."""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlmodel import select

import surveys
from surveys import areas
from tests.web.helpers import a_valid_answer, complete, instrument, page_index
from web import db
from web.models import Draft, Response, User
from web.research.exports import _months

ALPHABET = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
TONES = dict.fromkeys(map(ord, "\u0300\u0301\u0303\u0309\u0323"))


def letter(name: str) -> str:
    """The first letter of ``name`` without its tone mark ("Ứng Hòa" -> "ư")."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", name[0].lower()).translate(TONES))


def a_ward() -> int:
    return areas.wards(areas.HANOI)[0].code


def random_answer(q: surveys.Question, rng: random.Random):
    """A valid answer with a random choice, so that different walks take different skips."""
    if q.type == "area":
        return str(a_ward())
    if q.type == "multiple":
        return [rng.choice(q.choices).code]
    if q.choices and q.type != "consent":
        return rng.choice(q.choices).code
    return a_valid_answer(q)


def fields(q: surveys.Question, rng: random.Random) -> dict:
    if q.type == "grid":
        return {item.name: rng.choice(q.choices).code for item in q.items}
    value = random_answer(q, rng)
    return {} if value is None else {q.name: value}


def progress_of(html: str) -> tuple[int, int]:
    match = re.search(r'<progress max="(\d+)" value="(\d+)"', html)
    assert match, "no progress bar"
    return int(match[2]), int(match[1])


def test_progress_never_moves_backwards_whatever_the_skips(client, app):
    inst = instrument(app)
    for seed in range(6):
        rng = random.Random(seed)
        client = app.test_client()
        location = client.post("/s/digital-skills").headers["Location"]
        seen: list[tuple[int, int]] = []
        while page_index(location) is not None:
            html = client.get(location).get_data(as_text=True)
            seen.append(progress_of(html))
            data = {}
            for q in inst.pages[page_index(location)].questions:
                data.update(fields(q, rng))
            response = client.post(location, data=data)
            assert response.status_code == 302, response.get_data(as_text=True)[:800]
            location = response.headers["Location"]
        shares = [n / total for n, total in seen]
        assert shares == sorted(shares), (seed, seen)
        assert [t for _n, t in seen] == sorted((t for _n, t in seen), reverse=True), (seed, seen)
        assert [n for n, _t in seen] == list(range(1, len(seen) + 1))
        assert seen[-1][0] == seen[-1][1], "the last page shows a full bar"


@pytest.mark.both_backends
def test_a_page_that_fails_its_check_is_kept_as_typed_and_comes_back_with_the_resume_code(app):
    first, second = app.test_client(), app.test_client()
    first.post("/s/digital-skills")
    first.post("/s/digital-skills/p/0", data={"consent": "1"})
    ward = a_ward()
    page = {k: v for q in instrument(app).pages[1].questions for k, v in fields(q, random.Random(1)).items()}
    page.update(ward=str(ward), sex="2")
    failed = first.post("/s/digital-skills/p/1", data={**page, "birth_year": "năm 1958"})
    assert failed.status_code == 422
    with app.app_context():
        [draft] = db.session().exec(select(Draft)).all()
        code = draft.resume_code
        assert draft.typed == {"birth_year": "năm 1958"}
        assert "birth_year" not in draft.answers and draft.answers["sex"] == "2"
        assert db.session().exec(select(Response)).all() == []
    resumed = second.post("/resume", data={"code": code})
    assert resumed.headers["Location"].endswith("/s/digital-skills/p/1")
    html = second.get(resumed.headers["Location"]).get_data(as_text=True)
    assert 'value="năm 1958"' in html
    assert f'<option value="{ward}" selected>' in html
    assert re.search(r'name="sex" value="2"[^>]* checked', html)
    assert "Hãy nhập một số nguyên." in html, "the message says what to correct"
    fixed = second.post("/s/digital-skills/p/1", data={**page, "birth_year": "1958"})
    assert fixed.status_code == 302
    with app.app_context():
        draft = db.session().exec(select(Draft)).one()
        assert draft.typed == {} and draft.answers["birth_year"] == 1958


def test_going_back_keeps_what_was_typed_too(client, app):
    client.post("/s/digital-skills")
    client.post("/s/digital-skills/p/0", data={"consent": "1"})
    client.post("/s/digital-skills/p/1", data={"birth_year": "19x8", "nav": "back"})
    html = client.get("/s/digital-skills/p/1").get_data(as_text=True)
    assert 'value="19x8"' in html


def _done(client, app, lang: str):
    return complete(client, app, lang=lang, overrides={"ward": str(a_ward())}).get_data(as_text=True)


def test_done_page_shows_the_time_on_the_hanoi_clock(client, app):
    for lang, pattern in (("vi", "%H:%M %d/%m/%Y"), ("en", "%-d %b %Y, %H:%M")):
        html = _done(client, app, lang)
        with app.app_context():
            stored = db.session().exec(select(Response).order_by(Response.id.desc())).first()
        moment = stored.submitted_at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
        assert moment.strftime(pattern) in html, (lang, moment)
        assert re.search(r"\d{4}", html.split(moment.strftime(pattern))[0][-5:] + moment.strftime(pattern))


def test_ward_list_is_in_vietnamese_alphabetical_order(client, app):
    client.post("/s/digital-skills")
    client.post("/s/digital-skills/p/0", data={"consent": "1"})
    html = client.get("/s/digital-skills/p/1").get_data(as_text=True)
    select_html = html.split('name="ward"', 1)[1].split("</select>", 1)[0]
    names = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select_html)
    assert len(names) == len(areas.wards(areas.HANOI))
    own = {w.name: w.name[len(w.division_type):].strip() for w in areas.wards(areas.HANOI)}
    initials = [ALPHABET.index(letter(own[n])) for n in names]
    assert initials == sorted(initials), "first letters follow a ă â b c d đ e ê … o ô ơ … u ư"


def test_language_link_reads_tieng_viet(client):
    assert ">Tiếng Việt</a>" in client.get("/?lang=en").get_data(as_text=True)


def test_export_month_is_the_month_on_the_hanoi_clock(app):
    arrived = pd.Series([dt.datetime(2026, 11, 30, 17, 30), dt.datetime(2026, 11, 30, 16, 59), None])
    with app.test_request_context("/"):
        assert list(_months(arrived)) == ["2026-12", "2026-11", None]


def test_admin_times_are_on_the_hanoi_clock_with_a_four_digit_year(app, client, accounts):
    accounts.login("admin")
    with app.app_context():
        user = db.session().exec(select(User).where(User.username == "admin-user")).one()
        user.last_login_at = dt.datetime(2026, 11, 26, 0, 50, tzinfo=dt.UTC)
        db.session().add(user)
        db.session().commit()
    assert "07:50 26/11/2026" in client.get("/admin/users?lang=vi").get_data(as_text=True)
    assert "26 Nov 2026, 07:50" in client.get("/admin/users?lang=en").get_data(as_text=True)


def test_import_form_waits_for_the_privacy_settings_then_publishes(runner, app, client, tmp_path):
    source = Path("surveys/instruments/service-satisfaction.yaml").read_text(encoding="utf-8")
    path = tmp_path / "pilot.yaml"
    path.write_text(source.replace("slug: service-satisfaction", "slug: ward-pilot", 1), encoding="utf-8")
    first = runner.invoke(args=["import-form", str(path)])
    assert first.exit_code == 0 and "not published yet" in first.output
    assert client.get("/s/ward-pilot").status_code == 404
    again = runner.invoke(args=["import-form", str(path), "--controller", "UBND phường Yên Sở", "--contact",
                                "024 3861 0000"])
    assert again.exit_code == 0 and "not published yet" not in again.output
    assert again.output.split()[:2] == first.output.split()[:2], "the same version, now published"
    page = client.get("/s/ward-pilot").get_data(as_text=True)
    assert "UBND phường Yên Sở" in page and "024 3861 0000" in page
