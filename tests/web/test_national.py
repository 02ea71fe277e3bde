"""Surveys covering several provinces or the whole country: the area question asks province then commune
(in two server-rendered steps without JavaScript), results come by province and for the whole country,
weights are calibrated to province x sex x age margins, and the national demo shows all 34 provinces."""

from __future__ import annotations

import gzip
import html
import io
import re
from pathlib import Path

import pytest
from sqlmodel import select

import surveys
from surveys import areas, collation
from tests.conftest import NATIONAL
from tests.web.helpers import complete
from web import catalog, db
from web.models import ProvinceMargin, Response, SurveyVersion
from web.national_demo import SLUG, national_instrument
from web.research.weighting import province_margins_frame, weighted

FIXTURES = Path(__file__).parent.parent / "fixtures" / "national"
HCMC = 79
PROVINCE_ORDER = [p.name for p in sorted(areas.provinces(), key=lambda p: collation.province_key(p.name))]


def publish(app, name: str) -> surveys.Instrument:
    instrument = surveys.load_yaml(FIXTURES / name)
    with app.app_context():
        catalog.publish(db.session(), instrument, controller=catalog.DEMO_CONTROLLER, contact=catalog.DEMO_CONTACT)
    return instrument


def options(html: str, select_id: str) -> list[str]:
    block = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    return re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', block.group(1)) if block else []


def test_without_javascript_the_province_comes_first_then_its_communes(client, app):
    publish(app, "whole-country.yaml")
    client.post("/s/whole-country")
    first = client.get("/s/whole-country/p/0").get_data(as_text=True)
    assert options(first, "i-ward-province") == PROVINCE_ORDER
    assert options(first, "i-ward") == []  # no commune list before the province: the page stays light
    assert len(gzip.compress(first.encode())) < 14_000
    shown = client.post("/s/whole-country/p/0", data={"ward.province": str(HCMC), "nav": "area-ward"})
    assert shown.status_code == 302 and "ward.province=79" in shown.headers["Location"]
    second = client.get(shown.headers["Location"]).get_data(as_text=True)
    communes = options(second, "i-ward")
    assert len(communes) == len(areas.wards(HCMC)) == 168
    assert communes == [w.name for w in sorted(areas.wards(HCMC),
                                               key=lambda w: collation.ward_key(w.name, w.division_type))]
    assert 'value="79" selected' in second and len(gzip.compress(second.encode())) < 14_000
    ward = areas.wards(HCMC)[5]
    after = client.post("/s/whole-country/p/0", data={"ward.province": str(HCMC), "ward": str(ward.code)})
    assert after.status_code == 302 and after.headers["Location"].endswith("/p/1")
    client.post("/s/whole-country/p/1", data={"satisfied": "1"})
    with app.app_context():
        [stored] = db.session().exec(select(Response)).all()
    assert stored.ward_code == ward.code


@pytest.mark.both_backends
def test_the_personal_result_names_the_commune_of_any_province(client, app):
    with app.app_context():
        catalog.publish(db.session(), national_instrument(), controller=catalog.DEMO_CONTROLLER,
                        contact=catalog.DEMO_CONTACT)
    ward = areas.wards(96)[3]  # Cà Mau, far from the installation's Hà Nội
    done = complete(client, app, slug=SLUG, overrides={"ward": str(ward.code), "ward.province": "96"})
    assert ward.name in done.get_data(as_text=True)


def test_next_with_only_a_province_shows_its_communes_and_another_province_is_refused(client, app):
    publish(app, "two-provinces.yaml")
    client.post("/s/two-cities")
    page = client.get("/s/two-cities/p/0").get_data(as_text=True)
    assert options(page, "i-ward-province") == ["Thành phố Hà Nội", "Thành phố Hồ Chí Minh"]
    shown = client.post("/s/two-cities/p/0", data={"ward.province": "1"})
    assert "ward.province=1" in shown.headers["Location"]
    danang = areas.wards(48)[0]
    refused = client.post("/s/two-cities/p/0?lang=en", data={"ward.province": "48", "ward": str(danang.code)})
    assert refused.status_code == 422 and "ward.province" not in refused.headers.get("Location", "")
    again = client.post("/s/two-cities/p/0", data={"ward": str(danang.code)})
    assert again.status_code == 422
    with app.app_context():
        assert db.session().exec(select(Response)).all() == []


def test_a_province_list_is_json_in_vietnamese_order_and_an_unknown_province_is_404(client):
    listed = client.get(f"/areas/{HCMC}.json")
    assert listed.status_code == 200 and listed.cache_control.max_age == 86400
    body = listed.get_json()
    assert body["name"] == "Thành phố Hồ Chí Minh" and len(body["wards"]) == 168
    assert [w[1] for w in body["wards"]] == [w.name for w in sorted(
        areas.wards(HCMC), key=lambda w: collation.ward_key(w.name, w.division_type))]
    own = [w[1].split(" ", 1)[1].removeprefix("khu ") for w in body["wards"]]
    assert own.index("Côn Đảo") < own.index("Củ Chi")  # by the unit's own name, whatever its kind
    assert client.get("/areas/999.json").status_code == 404


def test_province_margins_are_checked_and_stored_for_their_provinces(client, app, accounts):
    accounts.login("admin")
    bad = "province_code,sex,age_band,count\n1,1,16-29,100\n999,2,30-44,5\n1,3,60+,x\n"
    refused = client.post("/research/margins/provinces?lang=en",
                          data={"file": (io.BytesIO(bad.encode()), "bad.csv")})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Line 3, column province_code: “999” is not the code of a province" in text
    assert "Line 4, column sex: sex must be 1" in text
    good = "province_code,sex,age_band,count\n1,1,16-29,100\n1,2,16-29,120\n79,1,60+,50\n"
    checked = client.post("/research/margins/provinces",
                          data={"file": (io.BytesIO(good.encode()), "provinces.csv")})
    assert checked.status_code == 200  # compared, not stored until confirmed (tests/web/test_nationwide.py)
    fields = dict(re.findall(r'<input[^>]*name="(content|filename|digest|csrf_token)"[^>]*value="([^"]*)"',
                             checked.get_data(as_text=True)))
    saved = client.post("/research/margins/provinces", data=fields)
    assert saved.status_code == 302
    with app.app_context():
        cells = {(m.province_code, m.sex, m.age_band): m.count for m in db.session().exec(select(ProvinceMargin))}
    assert cells == {(1, "1", "16-29"): 100, (1, "2", "16-29"): 120, (HCMC, "1", "60+"): 50}
    assert "Province margins in use: 2 provinces, 270 people." in client.get("/research/margins?lang=en").get_data(
        as_text=True)


def test_the_admin_sets_a_survey_national_as_a_new_draft_version(client, app, accounts):
    accounts.login("admin")
    with app.app_context():
        survey_id = catalog.current_version(db.session(), "service-satisfaction").survey_id
    page = client.get(f"/admin/surveys/{survey_id}/settings?lang=en").get_data(as_text=True)
    assert 'value="default" checked' in page or "value=\"default\"" in page
    refused = client.post(f"/admin/surveys/{survey_id}/area", data={"coverage": "provinces"})
    assert refused.status_code == 422
    saved = client.post(f"/admin/surveys/{survey_id}/area", data={"coverage": "national"})
    assert saved.status_code == 302
    with app.app_context():
        newest = db.session().exec(select(SurveyVersion).where(SurveyVersion.survey_id == survey_id)
                                   .order_by(SurveyVersion.version.desc())).first()
        assert newest.status == "draft" and catalog.instrument_of(newest).area == areas.coverage("national")
        assert catalog.survey_provinces(db.session(), "service-satisfaction") == (1,)  # until it is published


@pytest.fixture
def national(app, demo_templates):
    """The national demo, next to Hà Nội's ward margins (which a national survey must not be raked to):
    seeded once per run (``tests.conftest._seed_national``) and copied into the test's database."""
    demo_templates.copy_into(app, NATIONAL)
    return app


def test_the_national_demo_gives_results_for_all_34_provinces_in_vietnamese_order(national, client, accounts):
    accounts.login("researcher")
    page = client.get(f"/research/{SLUG}?level=province&lang=vi")
    assert page.status_code == 200
    rows = re.findall(r'<tr class="[^"]*"><td>([^<]*)</td>', page.get_data(as_text=True))
    assert rows == PROVINCE_ORDER
    whole = client.get(f"/research/{SLUG}?level=national&lang=en").get_data(as_text=True)
    assert re.findall(r'<tr class="[^"]*"><td>([^<]*)</td>', whole) == ["Whole country"]
    assert "calibrated to the population" in whole


def test_the_api_and_the_weights_work_at_province_level(national, client, accounts):
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    body = client.get(f"/api/v1/results/{SLUG}?level=province", headers=headers).get_json()
    assert body["level"] == "province" and body["weights"] == "raked"
    assert sorted(r["province_code"] for r in body["rows"]) == sorted(p.code for p in areas.provinces())
    assert all(r["ci_low"] <= r["estimate"] <= r["ci_high"] for r in body["rows"] if r["estimate"] is not None)
    assert client.get(f"/api/v1/results/{SLUG}?level=commune", headers=headers).status_code == 422
    wards = client.get(f"/api/v1/results/{SLUG}?level=ward", headers=headers).get_json()["rows"]
    assert len({areas.province_of(r["ward_code"]) for r in wards}) == 34
    with national.app_context():
        data = weighted(db.session(), SLUG, catalog.survey_provinces(db.session(), SLUG))
        margins = province_margins_frame(db.session(), data.frame["province_code"].unique().tolist())
    frame = data.frame
    got = frame.groupby([frame["province_code"].astype(int), frame["sex"].astype(str)])["weight"].sum()
    want = margins.groupby(["province_code", "sex"])["count"].sum()
    assert ((got - want).abs() / want).max() < 0.01  # the weights hold each province's sex totals
    assert data.margins_level == "province"
    page = client.get(f"/research/{SLUG}/weighting?lang=en", headers=headers).get_data(as_text=True)
    assert "272 cells (province × sex × age band) for 34 provinces" in page


def test_the_left_behind_page_of_a_national_survey_compares_with_the_whole_country(national, client, accounts):
    accounts.login("researcher")
    for lang, note, whole, across in (
            ("vi", "thấp hơn mức chung cả nước ít nhất 10 điểm", "mức chung cả nước", "Trên cả nước, "),
            ("en", "below the whole country by at least 10 points", "the whole country.", "Across the whole country, ")):
        for level in ("province", "ward"):
            page = client.get(f"/research/{SLUG}/left-behind?indicator=dsi_index&level={level}&all=1&lang={lang}")
            text = html.unescape(page.get_data(as_text=True))
            assert page.status_code == 200 and note in text
            said = re.findall(r'<p class="sentence">(.*?)</p>', text, re.S)
            shown = [s for s in said if s.startswith(("Ở ", "In ", across))]
            assert shown and all(s.startswith(across) or whole in s for s in shown)
            assert not re.search(r"toàn thành phố|whole city|the city", text)
        ranking = client.get(f"/research/{SLUG}/left-behind.csv?indicator=dsi_index&level=province&lang={lang}")
        assert across in ranking.get_data(as_text=True) and whole in ranking.get_data(as_text=True)
