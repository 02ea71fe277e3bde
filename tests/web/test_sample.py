"""A probability sample end to end: the frame upload, a reproducible draw whose weights add up to the
frame, assignments, an interview that carries its stratum, PSU and base weight, and outcome rates."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import func, select

from tests.web.test_api import submission
from tests.web.test_national import publish
from web import db, sampling
from web.models import (
    FrameGroup,
    FrameHousehold,
    Response,
    SampledHousehold,
    SampleDraw,
    Survey,
    User,
    WardAssignment,
    WardCovariate,
    WardQuota,
)
from web.tables import responses_frame

pytestmark = pytest.mark.both_backends  # stores and reads back: SQLite and PostgreSQL

FRAMES = Path(__file__).parent.parent / "fixtures" / "frames"


def upload(client, name: str, kind: str = "groups", lang: str = "en"):
    data = {"kind": kind, "file": (io.BytesIO((FRAMES / name).read_bytes()), name)}
    return client.post(f"/research/frames?lang={lang}", data=data, content_type="multipart/form-data")


@pytest.fixture
def admin(client, accounts):
    accounts.create("admin", "boss")
    client.post("/accounts/login", data={"username": "boss", "password": "correct-horse-9"})
    return client


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session().exec(select(func.count()).select_from(FrameGroup)).one(),
                db.session().exec(select(func.count()).select_from(FrameHousehold)).one())


def test_a_bad_frame_names_every_problem_by_line_and_stores_nothing(admin, app):
    response = upload(admin, "groups_bad.csv")
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "Line 3 repeats the group of line 2." in page
    assert "Line 4: ward code 8 is “Phường Ngọc Hà”, not “Hoàn Kiếm”" in page
    assert "Line 5: households must be a whole number from 1 to 99999, not “0”." in page
    assert "Line 6: the group code must be 1 to 40 characters" in page
    assert "Line 7: unknown ward code “99999”." in page
    assert "Line 8: households must be a whole number" in page
    assert counts(app) == (0, 0)
    vietnamese = html.unescape(upload(admin, "groups_bad.csv", lang="vi").get_data(as_text=True))
    assert "Dòng 3" in vietnamese


def test_groups_then_lists_are_stored_and_a_list_for_an_unknown_group_is_refused(admin, app):
    assert upload(admin, "households.csv", kind="households").status_code == 422  # no groups yet
    assert counts(app) == (0, 0)
    assert upload(admin, "groups.csv").status_code == 302
    assert upload(admin, "households.csv", kind="households").status_code == 302
    groups, listed = counts(app)
    assert groups == 36 and listed == 2116
    page = html.unescape(admin.get("/research/frames?lang=en").get_data(as_text=True))
    assert "36 residential groups" in page


def _survey_id(app) -> int:
    return db.session().exec(select(Survey.id).where(Survey.slug == "digital-skills")).one()


def test_a_draw_is_reproducible_and_its_weights_add_up_to_the_frame(admin, app):
    upload(admin, "groups.csv")
    upload(admin, "households.csv", kind="households")
    with app.app_context():
        session = db.session()
        plan = {4: 4, 8: 3, 25: 3}
        one = sampling.draw_sample(session, _survey_id(app), 1, plan, 8, seed=20261126)
        two = sampling.draw_sample(session, _survey_id(app), 1, plan, 8, seed=20261126)
        rows = {d.id: session.exec(select(SampledHousehold).where(SampledHousehold.draw_id == d.id)
                                   .order_by(SampledHousehold.id)).all() for d in (one, two)}
        first, second = rows[one.id], rows[two.id]
        assert [(h.address, h.probability) for h in first] == [(h.address, h.probability) for h in second]
        assert len(first) == 10 * 8
        frame = {g.ward_code: 0 for g in session.exec(select(FrameGroup)).all()}
        for g in session.exec(select(FrameGroup)).all():
            frame[g.ward_code] += g.households
        for ward, total in frame.items():
            weights = sum(1 / h.probability for h in first if h.ward_code == ward)
            assert weights == pytest.approx(total, rel=1e-9), ward  # listed (ward 4) and random-walk wards
        assert any("random walk" in h.address for h in first if h.ward_code == 8)


def _volunteer_of_ward_4(admin, app, accounts) -> str:
    """The frame (groups and household lists) uploaded, and an API volunteer assigned ward 4: their token."""
    upload(admin, "groups.csv")
    upload(admin, "households.csv", kind="households")
    token = accounts.token("volunteer")
    with app.app_context():
        session = db.session()
        volunteer = session.exec(select(User).where(User.username == "volunteer-api")).one()
        session.add(WardAssignment(user_id=volunteer.id, ward_code=4))
        session.commit()
    return token


def test_an_interview_of_a_sampled_household_carries_its_design(admin, app, client, accounts):
    token = _volunteer_of_ward_4(admin, app, accounts)
    with app.app_context():
        session = db.session()
        draw = sampling.draw_sample(session, _survey_id(app), 1, {4: 3}, 5, seed=7, oversample={"age60": 2.0})
        assert sampling.assign_by_ward(session, draw) == 15
        household = session.exec(select(SampledHousehold).order_by(SampledHousehold.id)).first()
        expected_pi = household.probability
        household_id, group_id = household.id, household.group_id
    adults = [{"sex": "1", "age": 70}, {"sex": "2", "age": 40}]
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()  # the admin's client has a session cookie, which would take precedence
    bad = client.post("/api/v1/submissions", json=submission(app, household={"id": household_id}), headers=headers)
    assert bad.status_code == 422 and "household" in bad.get_json()["errors"]
    sent = client.post("/api/v1/submissions", json=submission(app, household={"id": household_id, "adults": adults}),
                       headers=headers)
    assert sent.status_code == 201, sent.get_json()
    with app.app_context():
        session = db.session()
        stored = session.exec(select(Response)).one()
        assert (stored.stratum, stored.psu) == ("4", f"g{group_id}")
        pi_adult = 2 / 3 if sampling.adult_probability(
            session.get(sampling.SampleDraw, draw.id), session.get(SampledHousehold, household_id), adults)[0] == 0 \
            else 1 / 3
        assert stored.base_weight == pytest.approx(1 / (expected_pi * pi_adult))
        frame = responses_frame(session, "digital-skills")
        assert list(frame["stream"]) == ["probability"]
        rates = sampling.outcome_rates(session, draw.id)
        assert rates.loc[0, "I"] == 1 and rates.loc[0, "RR1"] == pytest.approx(1 / 15)
        # non-response: the one interview stands for the eligible households drawn; a vacant dwelling (4.60)
        # is not eligible and drops out; of the 13 never visited (eligibility unknown) a share e is carried,
        # e = AAPOR's proportional allocation: 1 eligible of the 2 households whose eligibility is known
        households = session.exec(select(SampledHousehold).where(SampledHousehold.draw_id == draw.id)).all()
        vacant = next(h for h in households if h.id != household_id)
        sampling.record_visit(session, vacant, "4.60", None)
        unknown = sum(1 / h.probability for h in households if h.id not in (vacant.id, household_id))
        factor = sampling.nonresponse_factors(session, [stored.id])[stored.id]
        assert factor * (1 / expected_pi) == pytest.approx(1 / expected_pi + 0.5 * unknown)
        with pytest.raises(sampling.SamplingError):
            sampling.record_visit(session, vacant, "9.99", None)


def test_the_weighting_page_shows_the_non_response_step(admin, app, accounts):
    test_an_interview_of_a_sampled_household_carries_its_design(admin, app, None, accounts)
    page = html.unescape(admin.get("/research/digital-skills/weighting?lang=en").get_data(as_text=True))
    assert "Adjusted for non-response (collapsed classes, e)" in page
    # 15 households: 1 interview, 1 vacant, 13 never reached; e = 1 / 2; the one class is the whole draw
    assert "1 interviewed, 0 eligible but not interviewed" in page and "13 whose eligibility is unknown" in page
    assert "e = 0.500" in page and "fewer than 20 interviews or a factor above 2" in page
    assert "Whole draw" in page
    eligible = page.split("Check: design weights of the eligible households plus e × those of unknown "
                          "eligibility: ")[1].split(";")[0]
    assert page.split("adjusted weights of the interviewed households: ")[1].split(".")[0] == eligible.split(".")[0]
    vietnamese = html.unescape(admin.get("/research/digital-skills/weighting?lang=vi").get_data(as_text=True))
    assert "e = 0,500" in vietnamese


def test_the_sample_page_plans_writes_quotas_and_draws(admin, app, accounts):
    upload(admin, "groups.csv")
    page = admin.get("/research/digital-skills/sample?lang=en&half_width=10&cluster_size=8&icc=0.05&"
                     "response_rate=70&p=50&oversample=1")
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and "Groups to draw" in text and "Phường Ba Đình" in text
    query = "?lang=en&half_width=10&cluster_size=8&icc=0.05&response_rate=70&p=50&oversample=1"
    assert admin.post(f"/research/digital-skills/sample{query}", data={"action": "quotas"}).status_code == 302
    with app.app_context():
        quotas = {q.ward_code: q.target for q in db.session().exec(select(WardQuota)).all()}
    assert set(quotas) == {4, 8, 25} and all(t > 50 for t in quotas.values())
    drawn = admin.post(f"/research/digital-skills/sample{query}", data={"action": "draw", "seed": "99",
                                                                        "rule": "kish"})
    assert drawn.status_code == 302
    with app.app_context():
        draw = db.session().exec(select(SampleDraw)).one()
        assert draw.seed == 99 and draw.households_per_group == 8
    text = html.unescape(admin.get("/research/digital-skills/sample?lang=en").get_data(as_text=True))
    assert "Draw 1, seed 99" in text and "RR1" in text
    bad = admin.get("/research/digital-skills/sample?lang=en&half_width=abc")
    assert bad.status_code == 200 and "Groups to draw" not in html.unescape(bad.get_data(as_text=True))


def test_assignments_show_in_the_collect_app_and_visits_are_recorded(admin, app, accounts):
    token = _volunteer_of_ward_4(admin, app, accounts)
    with app.app_context():
        session = db.session()
        draw = sampling.draw_sample(session, _survey_id(app), 1, {4: 2}, 4, seed=3)
        sampling.assign_by_ward(session, draw)
        first = session.exec(select(SampledHousehold).order_by(SampledHousehold.id)).first()
        first_id, address = first.id, first.address
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    listed = client.get("/collect/households", headers=headers).get_json()["households"]
    assert len(listed) == 8 and listed[0]["address"] == address and listed[0]["visits"] == 0
    callback = client.post("/api/v1/visits", headers=headers, json={
        "uuid": "visit-one", "household": first_id, "code": "2.24", "visited_at": "2026-11-26T09:00:00+07:00",
        "callback_at": "2026-11-27T18:00:00+07:00"})
    assert callback.status_code == 201 and callback.get_json()["final"] is None  # a callback is not final
    refused = client.post("/api/v1/visits", headers=headers, json={"uuid": "visit-two", "household": first_id,
                                                                   "code": "2.11"})
    assert refused.status_code == 201 and refused.get_json()["final"] == "2.11"
    for body in ({"uuid": "visit-3", "household": first_id, "code": "7.7"},
                 {"uuid": "visit-3", "household": 999999, "code": "1.1"},
                 {"uuid": "visit-3", "household": first_id, "code": "2.11", "callback_at": "tomorrow"},
                 {"household": first_id, "code": "2.11"}, {"uuid": "x", "household": first_id, "code": "2.11"}, []):
        bad = client.post("/api/v1/visits", headers=headers, json=body)
        assert bad.status_code == 422 and set(next(iter(bad.get_json()["errors"].values()))) == {"vi", "en"}
    listed = client.get("/collect/households", headers=headers).get_json()["households"]
    assert listed[0]["visits"] == 2 and listed[0]["final"] == "2.11"
    with app.app_context():
        rates = sampling.outcome_rates(db.session(), draw.id, "volunteer_id")
        assert rates.loc[0, "R"] == 1 and rates.loc[0, "RR1"] == 0


def test_the_collect_app_lists_the_volunteers_households(app, accounts, client):
    accounts.create("admin", "boss")
    admin = app.test_client()
    admin.post("/accounts/login", data={"username": "boss", "password": "correct-horse-9"})
    upload(admin, "groups.csv")
    accounts.login("volunteer")
    with app.app_context():
        session = db.session()
        volunteer = session.exec(select(User).where(User.username == "volunteer-user")).one()
        session.add(WardAssignment(user_id=volunteer.id, ward_code=8))
        session.commit()
        sampling.assign_by_ward(session, sampling.draw_sample(session, _survey_id(app), 1, {8: 1}, 3, seed=5))
    page = html.unescape(client.get("/collect/?lang=en").get_data(as_text=True))
    assert "My households (probability sample)" in page and "random walk" in page


def test_the_planner_warns_when_the_frame_or_the_budget_falls_short(admin, app, accounts):
    upload(admin, "groups.csv")
    base = "/research/digital-skills/sample?half_width=2.5&cluster_size=8&icc=0.05&response_rate=70&p=50&oversample=1"
    text = html.unescape(admin.get(f"{base}&lang=en").get_data(as_text=True))
    # ±2.5 points needs about 2,700 visits a ward: more than the 12 groups and the households of each ward
    assert "Phường Ba Đình has only 12 residential groups on the frame, fewer than the" in text
    assert "it takes all 12, with" in text
    assert "households on the frame, fewer than the" in text and "the plan visits" in text
    assert "The budget of" not in text
    budget = html.unescape(admin.get(f"{base}&budget=200&lang=en").get_data(as_text=True))
    assert "The budget of 200 households cannot reach ±2.5 points in every ward" in budget
    assert "The plan scales every ward down in proportion instead" in budget
    vietnamese = html.unescape(admin.get(f"{base}&budget=200&lang=vi").get_data(as_text=True))
    assert "Ngân sách 200 hộ" in vietnamese
    fine = html.unescape(admin.get("/research/digital-skills/sample?half_width=15&cluster_size=8&icc=0.05&"
                                   "response_rate=70&p=50&oversample=1&lang=en").get_data(as_text=True))
    assert "residential groups on the frame, fewer than" not in fine and "The budget of" not in fine


def test_a_group_too_small_in_a_ward_gets_no_half_width_but_its_expected_interviews(admin, app, accounts):
    """Ethnic minorities are 0.2% of one ward's adults: the plan expects well under one interview there, and the
    page says "too few" with that number instead of a half-width wider than the 0-100 scale."""
    upload(admin, "groups.csv")
    with app.app_context():
        session = db.session()
        for ward, share in ((4, 0.002), (8, 0.40), (25, 0.50)):
            session.add(WardCovariate(province_code=1, name="share_ethnic_minority", label_vi="Tỷ lệ dân tộc thiểu số",
                                      label_en="Share of ethnic minorities", ward_code=ward, value=share))
        session.commit()
    for lang, too_few in (("en", "too few"), ("vi", "quá ít")):
        text = html.unescape(admin.get(f"/research/digital-skills/sample?lang={lang}&half_width=10&cluster_size=8&"
                                       "icc=0.05&response_rate=70&p=50&oversample=1").get_data(as_text=True))
        rows = {row.split("</td>")[0].split(">")[-1]: row for row in text.split("<tr><td>")[1:]}
        minorities = {name: re.findall(r'<td class="num">(.*?)</td>', row)[-1] for name, row in rows.items()}
        ba_dinh = next(cell for name, cell in minorities.items() if "Ba Đình" in name)
        assert f"{too_few} (≈0" in ba_dinh
        others = [cell for name, cell in minorities.items() if "Ba Đình" not in name]
        assert len(others) == 2 and all(0 < float(cell.replace(",", ".")) < 100 for cell in others)


def _minorities(app, shares: dict[int, float]) -> None:
    with app.app_context():
        session = db.session()
        for ward, share in shares.items():
            session.add(WardCovariate(province_code=1, name="share_ethnic_minority", label_vi="Tỷ lệ dân tộc thiểu số",
                                      label_en="Share of ethnic minorities", ward_code=ward, value=share))
        session.commit()


def test_a_group_half_width_wider_than_the_scale_is_not_shown_as_a_number(admin, app, accounts):
    """±2.5 points with ρ = 0.3: each ward takes all 12 of its groups with ~175 households each (design effect
    ~37); Ba Đình's minorities (5%, ~74 interviews) would get ±70 points, which is no precision: the page
    says "wider than the scale (> 50 points)" with a note why, and the CSV leaves the value empty and says why."""
    upload(admin, "groups.csv")
    _minorities(app, {4: 0.05, 8: 0.40, 25: 0.50})
    query = "half_width=2.5&cluster_size=8&icc=0.3&response_rate=70&p=50&oversample=1"
    for lang, wider, note in (
            ("en", "wider than the scale (> 50 points)", "“Wider than the scale” marks an expected half-width above "
                                                        "50 points: the interval would span every possible share"),
            ("vi", "rộng hơn thang đo (> 50 điểm)", "“Rộng hơn thang đo” nghĩa là nửa độ rộng dự kiến trên 50 điểm: "
                                                   "khoảng tin cậy sẽ bao trùm mọi tỷ lệ có thể")):
        text = html.unescape(admin.get(f"/research/digital-skills/sample?lang={lang}&{query}").get_data(as_text=True))
        rows = {row.split("</td>")[0].split(">")[-1]: row for row in text.split("<tr><td>")[1:4]}
        minorities = {name: re.findall(r'<td class="num">(.*?)</td>', row, re.S)[-1] for name, row in rows.items()}
        ba_dinh = next(cell for name, cell in minorities.items() if "Ba Đình" in name)
        assert wider in ba_dinh and "70" not in ba_dinh
        others = [cell for name, cell in minorities.items() if "Ba Đình" not in name]
        assert len(others) == 2 and all(0 < float(cell.replace(",", ".")) < 50 for cell in others)
        assert note in text
        visits = [re.findall(r'<td class="num">(.*?)</td>', row, re.S)[3] for row in rows.values()]
        grouped = r"\d{1,3}(\.\d{3})+" if lang == "vi" else r"\d{1,3}(,\d{3})+"  # thousands, as Babel writes them
        assert all(re.fullmatch(grouped, cell) for cell in visits), visits
    csv = admin.get(f"/research/digital-skills/sample-plan.csv?{query}")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    plan = pd.read_csv(io.BytesIO(csv.data), encoding="utf-8-sig").set_index("ward_code")
    assert pd.isna(plan.loc[4, "half_width_minority_points"]) and plan.loc[4, "half_width_minority_status"] == "too_wide"
    assert 50 < plan.loc[4, "interviews_minority"] < 100
    assert plan.loc[[8, 25], "half_width_minority_points"].between(1, 50).all()
    assert plan.loc[[8, 25], "half_width_minority_status"].isna().all()  # an empty cell: a precision stands
    bad = admin.get("/research/digital-skills/sample-plan.csv?half_width=abc&lang=en")
    assert bad.status_code == 422 and "Half-width wanted, percentage points (95%): Please enter a number." in bad.text
    quiet = html.unescape(admin.get("/research/digital-skills/sample?lang=en&half_width=10&cluster_size=8&icc=0.05&"
                                    "response_rate=70&p=50&oversample=1").get_data(as_text=True))
    assert "Wider than the scale" not in quiet


HCMC_FRAME = ("ward_code,ward_name,group_code,group_name,households\n"
              + "".join(f"25747,Phường Thủ Dầu Một,KP {i:02d},Khu phố {i},{150 + i}\n" for i in range(1, 9)))


def test_a_survey_of_two_provinces_plans_the_sample_of_the_province_chosen(admin, app, accounts):
    publish(app, "two-provinces.yaml")
    upload(admin, "groups.csv")  # Hà Nội, the installation's province
    data = {"kind": "groups", "province": "79", "file": (io.BytesIO(HCMC_FRAME.encode()), "hcmc.csv")}
    assert admin.post("/research/frames?lang=en", data=data, content_type="multipart/form-data").status_code == 302
    query = "half_width=10&cluster_size=8&icc=0.05&response_rate=70&p=50&oversample=1"
    for lang, size in (("en", "Sample size"), ("vi", "Cỡ mẫu")):
        first = html.unescape(admin.get(f"/research/two-cities/sample?lang={lang}").get_data(as_text=True))
        choice = re.search(r'<select id="province-choice" name="province">(.*?)</select>', first, re.S).group(1)
        assert re.findall(r">([^<]+)</option>", choice) == ["Thành phố Hà Nội", "Thành phố Hồ Chí Minh"]
        assert f"{size}: Thành phố Hà Nội" in first and "Phường Ba Đình" in first
        text = html.unescape(admin.get(f"/research/two-cities/sample?lang={lang}&province=79&{query}")
                             .get_data(as_text=True))
        assert f"{size}: Thành phố Hồ Chí Minh" in text
        assert "<tr><td>Phường Thủ Dầu Một</td>" in text and "Phường Ba Đình" not in text
        assert '<input type="hidden" name="province" value="79">' in text
    assert admin.post(f"/research/two-cities/sample?province=79&{query}", data={"action": "quotas"}).status_code == 302
    with app.app_context():
        assert {q.ward_code for q in db.session().exec(select(WardQuota)).all()} == {25747}
    csv = admin.get(f"/research/two-cities/sample-plan.csv?province=79&{query}").get_data(as_text=True)
    assert "Phường Thủ Dầu Một" in csv and "Ba Đình" not in csv
    assert admin.get("/research/two-cities/sample?province=48&lang=en").status_code == 200  # not covered: the first
