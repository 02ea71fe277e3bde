"""A supervisor's results: the researchers' estimates by ward (same design, same suppressed cells) for
the supervisor's wards only, never another ward's row nor a city-wide figure; another ward is a 404."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests.web.over_the_limit import busiest_wards, over_the_limit
from tests.web.test_weighting_jobs import _wait
from web import db
from web.admin.views import province_wards
from web.models import User, WardAssignment
from web.research.weighting import weighted


@pytest.fixture
def demo(load_demo):
    load_demo(8)  # the size most research tests share (one template seeded per run)


def _wards(app) -> list[int]:
    """Wards by their number of respondents, most first (picked at run time, never hard-coded)."""
    with app.app_context():
        frame = weighted(db.session(), "digital-skills", app.config["KHAOSAT_PROVINCE"]).frame
    return [int(code) for code in frame["ward_code"].value_counts().index]


def _supervisor(app, accounts, wards: list[int]):
    username = accounts.create("supervisor", "sup-results")
    with app.app_context():
        user = db.session().exec(select(User).where(User.username == username)).one()
        db.session().add_all([WardAssignment(user_id=user.id, ward_code=w) for w in wards])
        db.session().commit()
    client = app.test_client()
    assert client.post("/accounts/login", data={"username": username, "password": "correct-horse-9"}).status_code == 302
    return client


def _rows(html: str) -> dict[str, list[str]]:
    """The results table: cell -> the texts of its other columns."""
    body = html[html.index('id="results-table"'):]
    rows = re.findall(r'<tr class="(?:ok|unreliable|suppressed)"><td>(.*?)</td>(.*?)</tr>', body, re.S)
    return {cell: [re.sub(r"<[^>]+>", " ", td).split() for td in re.findall(r"<td[^>]*>(.*?)</td>", rest, re.S)]
            for cell, rest in rows}


def test_a_supervisor_sees_the_researchers_figures_for_their_wards_only(app, accounts, client, demo):
    wards = _wards(app)
    mine, other = wards[:2], wards[2]
    supervisor = _supervisor(app, accounts, mine)
    accounts.login("researcher")
    for indicator, by in (("", ""), ("", "sex")):
        args = f"lang=en&indicator={indicator}&by={by}"
        researcher = _rows(client.get(f"/research/digital-skills?level=ward&{args}").get_data(as_text=True))
        page = supervisor.get(f"/research/digital-skills/my-wards?{args}")
        text = page.get_data(as_text=True)
        shown = _rows(text)
        assert page.status_code == 200 and shown
        with app.app_context():
            names = province_wards()
        assert {cell.split(" · ")[0] for cell in shown} == {names[w] for w in mine}
        assert all(shown[cell] == researcher[cell] for cell in shown)  # same estimates, same hidden cells
        assert names[other] not in text and "Whole city" not in text
    one = _rows(supervisor.get(f"/research/digital-skills/my-wards?lang=en&ward={mine[1]}").get_data(as_text=True))
    assert {cell.split(" · ")[0] for cell in one} == {names[mine[1]]}
    assert supervisor.get(f"/research/digital-skills/my-wards?ward={other}").status_code == 404
    assert supervisor.get("/research/digital-skills/my-wards?ward=abc").status_code == 404
    assert supervisor.get("/research/digital-skills/my-wards?indicator=nothing").status_code == 404
    vietnamese = supervisor.get("/research/digital-skills/my-wards?lang=vi").get_data(as_text=True)
    assert "Kết quả các phường của tôi" in vietnamese


def test_a_supervisor_reaches_no_other_results(app, accounts, demo):
    supervisor = _supervisor(app, accounts, _wards(app)[:1])
    listing = supervisor.get("/research/my-wards?lang=en").get_data(as_text=True)
    assert "/research/digital-skills/my-wards" in listing and "/research/service-satisfaction/my-wards" in listing
    for denied in ("/research/", "/research/digital-skills", "/research/digital-skills/table.csv",
                   "/research/digital-skills/chart.png", "/research/digital-skills/export.csv",
                   "/research/digital-skills/left-behind", "/research/digital-skills/small-area"):
        assert supervisor.get(denied).status_code == 403, denied
    token = supervisor.post("/collect/token", headers={"X-KhaoSat-Collect": "1"}).get_json()["token"]
    api = supervisor.get("/api/v1/results/digital-skills", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 403  # the results API is the researchers'


def test_a_supervisor_without_wards_is_told_so(app, accounts, demo):
    supervisor = _supervisor(app, accounts, [])
    page = supervisor.get("/research/digital-skills/my-wards?lang=en").get_data(as_text=True)
    assert "No ward is assigned to you yet." in page and "results-table" not in page


def test_over_the_in_memory_limit_a_supervisor_sees_the_databases_figures_for_their_wards(app, accounts, client,
                                                                                          load_demo, tmp_path):
    """A survey over ``KHAOSAT_CELLS_IN_DATABASE_THRESHOLD``: the supervisor's page reads the roll-up as the
    researchers' does, and shows the same rows for their wards only."""
    load_demo(8)
    over_the_limit(app, tmp_path)
    mine = busiest_wards(app)[:2]
    supervisor = _supervisor(app, accounts, mine)
    waiting = supervisor.get("/research/digital-skills/my-wards?lang=en")
    assert waiting.status_code == 200 and "being prepared" in waiting.get_data(as_text=True)
    _wait(app)
    accounts.login("researcher")
    researcher = _rows(client.get("/research/digital-skills?level=ward&lang=en").get_data(as_text=True))
    page = supervisor.get("/research/digital-skills/my-wards?lang=en").get_data(as_text=True)
    shown = _rows(page)
    with app.test_request_context():
        names = province_wards()
    assert len(shown) == 2 and "Figures as of" in page and any(row[0] != ["–"] for row in shown.values())
    for cell, columns in shown.items():
        assert any(names[w] in cell for w in mine) and columns == researcher[cell], cell
