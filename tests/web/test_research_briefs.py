"""The ward brief: one page per ward with intervals and people counts that match the design, in both
languages; a ward official reads only the briefs of their own wards and nothing else."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from sqlmodel import select

from tests.web.over_the_limit import busiest_wards, in_memory, over_the_limit
from tests.web.test_weighting_jobs import _wait
from web import db
from web.auth import hash_password
from web.models import User, WardAssignment
from web.research import brief, database_results, query
from web.research.weighting import weighted


@pytest.fixture
def demo(load_demo):
    load_demo(8)  # the size most research tests share (one template seeded per run)


def _two_wards(app) -> tuple[int, int]:
    """The two wards with the most respondents (picked at run time, never hard-coded)."""
    with app.app_context():
        frame = weighted(db.session(), "digital-skills", app.config["KHAOSAT_PROVINCE"]).frame
    counts = frame["ward_code"].value_counts()
    return int(counts.index[0]), int(counts.index[1])


def _official(app, client, ward: int) -> None:
    with app.app_context():
        user = User(username="ward-official", role="ward_official", password_hash=hash_password("correct-horse-9"))
        db.session().add(user)
        db.session().commit()
        db.session().add(WardAssignment(user_id=user.id, ward_code=ward))
        db.session().commit()
    assert client.post("/accounts/login", data={"username": "ward-official", "password": "correct-horse-9"}
                       ).status_code == 302


def test_a_ward_official_reads_only_their_own_wards_brief(app, client, demo):
    mine, other = _two_wards(app)
    _official(app, client, mine)
    listing = client.get("/research/wards?lang=en").get_data(as_text=True)
    assert listing.count("/ward/") == 3 and f"/ward/{mine}" in listing and f"/ward/{other}" not in listing
    for slug in ("digital-skills", "service-satisfaction"):
        assert client.get(f"/research/{slug}/ward/{mine}").status_code == 200
        assert client.get(f"/research/{slug}/ward/{other}").status_code == 403
    for denied in ("/research/", "/research/digital-skills", "/research/digital-skills/left-behind",
                   "/research/digital-skills/export.csv", "/research/digital-skills/weighting",
                   "/research/digital-skills/table.csv", "/api/v1/results/digital-skills", "/admin/",
                   "/collect/"):
        assert client.get(denied).status_code in (401, 403), denied
    home = client.get("/?lang=en").get_data(as_text=True)
    assert "Ward briefs" in home and "/research/wards" in home


def _cells(html: str) -> list[list[str]]:
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    return [[re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_brief_shows_intervals_and_people_that_match_the_design_in_both_languages(app, client, accounts, demo):
    ward, _ = _two_wards(app)
    accounts.login("researcher")
    vi = client.get(f"/research/digital-skills/ward/{ward}?lang=vi").get_data(as_text=True)
    en = client.get(f"/research/digital-skills/ward/{ward}?lang=en").get_data(as_text=True)
    for page, words in ((vi, ("Các chỉ số chính", "Các nhóm tụt lại xa nhất", "nói được gì và không nói được gì",
                              "Có kỹ năng số từ cơ bản trở lên", "Dữ liệu mô phỏng")),
                        (en, ("Main indicators", "Groups furthest behind", "What these estimates can and cannot say",
                              "At least basic digital skills", "Synthetic demo data"))):
        for word in words:
            assert word in page, word
    assert "Có kỹ năng số" not in en and "At least basic" not in vi
    with app.app_context():
        design = weighted(db.session(), "digital-skills", app.config["KHAOSAT_PROVINCE"]).design
        design.data["at_least_basic"] = pd.to_numeric(design.data["at_least_basic"])
        share = design.proportion("at_least_basic", by="ward_code", ci_method="logit")
        share = share[(share["ward_code"] == ward) & (share["at_least_basic"] == 1)].iloc[0]
        people = design.weights[(design.data["ward_code"] == ward).to_numpy()].sum()
    row = next(r for r in _cells(en) if r[0][:3] == ["At", "least", "basic"])
    assert row[1] == [f"{share.estimate * 100:.0f}%", f"{share.ci_low * 100:.0f}%", "–", f"{share.ci_high * 100:.0f}%"]
    assert row[2] == ["≈", f"{share.estimate * people:,.0f}", f"{share.ci_low * people:,.0f}", "–",
                      f"{share.ci_high * people:,.0f}"]
    assert row[-1] == [str(int(share.n))]
    assert f"{int(share.n)} residents of the ward answered" in en
    assert client.get("/research/digital-skills/ward/999999").status_code == 404
    css = client.get("/static/style.css").get_data(as_text=True)
    assert "@page{size:A4" in css


def test_an_admin_assigns_a_ward_to_a_ward_official(app, client, demo):
    mine, _ = _two_wards(app)
    with app.app_context():
        db.session().add(User(username="boss", role="admin", password_hash=hash_password("correct-horse-9")))
        db.session().add(User(username="chu-tich", role="ward_official", password_hash=hash_password("x-correct-9")))
        db.session().commit()
        official = db.session().exec(select(User).where(User.username == "chu-tich")).one()
    client.post("/accounts/login", data={"username": "boss", "password": "correct-horse-9"})
    page = client.get("/admin/assignments?lang=en").get_data(as_text=True)
    assert "chu-tich (ward_official)" in page
    assert client.post("/admin/assignments", data={"user_id": official.id, "ward_code": mine}).status_code == 302
    with app.app_context():
        assert db.session().exec(select(WardAssignment.ward_code).where(WardAssignment.user_id == official.id)
                                 ).all() == [mine]


@pytest.mark.both_backends
def test_the_brief_of_a_survey_over_the_in_memory_limit_is_the_design_in_memorys(app, client, accounts, demo,
                                                                                   tmp_path):
    """Over ``KHAOSAT_CELLS_IN_DATABASE_THRESHOLD`` the brief reads the roll-up in the database: the ward's
    respondents, each headline indicator's estimate, interval, people and n, and the city's value, are those of
    the design in memory; it says so when its figures are being prepared, and a ward official reads their own."""
    ward, other = busiest_wards(app)[:2]
    over_the_limit(app, tmp_path)
    accounts.login("researcher")
    first = client.get(f"/research/digital-skills/ward/{ward}?lang=en")
    assert first.status_code == 200 and "being prepared" in first.get_data(as_text=True)
    _wait(app)
    en = client.get(f"/research/digital-skills/ward/{ward}?lang=en").get_data(as_text=True)
    assert "Figures as of" in en and "Groups furthest behind" in en
    with app.test_request_context(query_string={"lang": "en"}):
        data = in_memory(app)
        memory = brief.lines(query.read("digital-skills", {}, data=data), ward)
        respondents = int((data.frame["ward_code"] == ward).sum())
    assert f"{respondents} residents of the ward answered" in en
    rows = {" ".join(r[0]): r for r in _cells(en)}
    shown = [line for line in memory if line.estimate is not None]
    assert len(shown) >= 2 and any(line.share for line in shown) and not all(line.share for line in shown)
    for line in shown:
        row = rows[str(line.label)]
        if line.share:
            assert row[1] == [f"{line.estimate * 100:.0f}%", f"{line.ci_low * 100:.0f}%", "–",
                              f"{line.ci_high * 100:.0f}%"], line.label
            assert row[2] == ["≈", f"{line.people:,.0f}", f"{line.people_low:,.0f}", "–", f"{line.people_high:,.0f}"]
        assert row[-1] == [str(line.n)], line.label
    with app.test_request_context(query_string={"lang": "en"}):
        figures = database_results.served("digital-skills")
        served = brief.lines(database_results.read("digital-skills", {}, figures), ward)
    for got, want in zip(served, memory, strict=True):
        assert (got.label, got.n, got.share) == (want.label, want.n, want.share)
        for name in ("estimate", "ci_low", "ci_high", "city", "people"):
            if getattr(want, name) is None:  # a cell too small to show, or no count of people for a score
                assert getattr(got, name) is None, (want.label, name)
            else:
                assert getattr(got, name) == pytest.approx(getattr(want, name), rel=1e-9), (want.label, name)
    _official(app, client, ward)
    assert client.get(f"/research/digital-skills/ward/{ward}?lang=vi").status_code == 200
    assert client.get(f"/research/digital-skills/ward/{other}?lang=vi").status_code == 403
