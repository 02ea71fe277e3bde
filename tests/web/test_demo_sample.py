"""``khaosat demo`` seeds a frame, a drawn sample with visits, and rounds: the sample, response-rate and rounds
pages have content on the demo, and the demo's estimates do not depend on them."""

from __future__ import annotations

import html
import re

import pytest
from sqlmodel import func, select

from surveys import areas, collation
from web import db
from web.models import FrameGroup, SampledHousehold, SurveyRound, User, Visit, WardAssignment
from web.research.weighting import weighted


def test_the_demo_has_a_frame_a_drawn_sample_with_outcomes_and_rounds(app, client, accounts, load_demo):
    load_demo(8)
    with app.app_context():
        session = db.session()
        assert session.exec(select(func.count()).select_from(FrameGroup)).one() == 126 * 12
        households = session.exec(select(SampledHousehold)).all()
        assert len(households) == 6 * 4 * 8 and sum(h.final_code is not None for h in households) > 150
        assert any(h.volunteer_id for h in households)
        assert session.exec(select(func.count()).select_from(Visit)).one() > len(households) * 0.9
        assert [r.number for r in session.exec(select(SurveyRound).order_by(SurveyRound.number)).all()] == [1, 2]
        data = weighted(session, "digital-skills", 1)
        # the visits are not linked to the demo's responses: no weight is adjusted by them
        assert (data.frame.get("nonresponse_factor", 1.0) == 1.0).all()
        assert list(data.diagnostics["step"])[:2] == ["base", "raked"]
        assert set(data.frame["round"].dropna()) == {"1"} and data.frame["round"].notna().all()
    accounts.login("admin")
    sample = html.unescape(client.get("/research/digital-skills/sample?lang=en").get_data(as_text=True))
    assert "Upload a sample frame first" not in sample and "Groups to draw" in sample
    assert "Draw 1, seed 20261126" in sample and "RR1" in sample
    rounds = html.unescape(client.get("/research/digital-skills/rounds?lang=en").get_data(as_text=True))
    assert "Đợt 1 (demo)" in rounds and "Delete round 2" in rounds and "Delete round 1" not in rounds
    change = html.unescape(client.get("/research/digital-skills/rounds?lang=en&indicator=dsi_index&first=1&second=2")
                           .get_data(as_text=True))
    assert "These rounds have no responses to compare." in change  # the second round is planned: no one answered it
    assert "only in the first round" not in change  # nor are its questions said to differ



@pytest.mark.both_backends
def test_a_supervisor_reads_the_response_rates_of_their_wards_only(app, client, load_demo):
    load_demo(8)
    with app.app_context():
        session = db.session()
        supervisor = session.exec(select(User).where(User.username == "demo-supervisor")).one()
        drawn = session.exec(select(SampledHousehold)).all()
        some = sorted({h.ward_code for h in drawn})[:2]  # the supervisor keeps two of the draw's wards
        for assignment in session.exec(select(WardAssignment).where(WardAssignment.user_id == supervisor.id)):
            if assignment.ward_code not in some:
                session.delete(assignment)
        session.commit()
        kept = sum(h.ward_code in some for h in drawn)
    names = {w.code: w.name for w in areas.wards(1)}
    assert client.post("/accounts/login", data={"username": "demo-supervisor", "password": "khaosat-supervisor"}
                       ).status_code == 302
    page = html.unescape(client.get("/admin/fieldwork?lang=en").get_data(as_text=True))
    assert "Only the households of your wards are counted." in page
    rates = page.split("Response rates of the sample")[1]
    by_ward = rates.split("<th scope=\"col\">Volunteer</th>")[0]
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td>", by_ward)
    expected = sorted(((names[w], str(sum(h.ward_code == w for h in drawn))) for w in some),
                      key=lambda row: collation.sort_key(row[0]))
    assert rows == expected  # their wards only, in Vietnamese alphabetical order
    assert sum(int(n) for _, n in rows) == kept
    vi = html.unescape(client.get("/admin/fieldwork?lang=vi").get_data(as_text=True))
    assert "Tỷ lệ trả lời của mẫu" in vi and "RR1" in vi
