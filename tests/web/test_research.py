"""A researcher sees the weighted table by ward (design-based, with CIs) and downloads it as CSV."""

import io
import re

import pandas as pd
import pytest
from sqlmodel import delete

from analysis import SurveyDesign
from web import db
from web.models import PopulationMargin
from web.research import charts
from web.research.weighting import calibrate, margins_frame, official_stream
from web.tables import responses_frame


@pytest.fixture
def demo_data(load_demo):
    load_demo(8)


def test_results_need_a_researcher(client, accounts):
    response = client.get("/research/digital-skills")
    assert response.status_code == 302 and "/accounts/login" in response.headers["Location"]
    accounts.login("volunteer")
    assert client.get("/research/digital-skills").status_code == 403


def test_wrong_password_is_refused_in_the_chosen_language(client, accounts):
    accounts.create("researcher", "thu")
    response = client.post("/accounts/login?lang=en", data={"username": "thu", "password": "nope-nope"})
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)


def test_ward_table_matches_the_design_based_estimate(client, app, accounts, demo_data):
    accounts.login("researcher")
    page = client.get("/research/digital-skills?indicator=dsi_index&level=ward")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Phường Hoàn Kiếm" in text and "Xã Sóc Sơn" in text
    assert "KTC 95%" in text

    csv = client.get("/research/digital-skills/wards.csv?indicator=dsi_index")
    assert csv.status_code == 200
    assert csv.data.startswith("\ufeff".encode())
    table = pd.read_csv(io.BytesIO(csv.data), encoding="utf-8-sig")
    assert list(table.columns[:2]) == ["ward_code", "ward"]
    assert {"estimate", "se", "ci_low", "ci_high", "n", "reliability"} <= set(table.columns)
    assert len(table) == 126
    assert "Phường Hoàn Kiếm" in set(table["ward"])

    with app.app_context():
        # the official estimates: the probability sample, the demo's self-selected (QR) stream kept apart
        frame, apart = official_stream(responses_frame(db.session(), "digital-skills"))
        margins = margins_frame(db.session(), 1)
    assert len(apart) and not margins.empty  # the demo saves its population margins, and the weights are calibrated to them
    calibrated = calibrate(frame, margins)
    assert calibrated.method == "raked"
    by_ward = calibrated.frame.groupby("ward_code")["weight"].sum()
    census = margins.groupby("ward_code")["count"].sum()
    assert by_ward.to_numpy() == pytest.approx(census.loc[by_ward.index].to_numpy(), abs=1.0)  # raked to within one person
    design = SurveyDesign(calibrated.frame, weights="weight", strata="stratum", psu="psu", lonely_psu="adjust")
    expected = design.mean("dsi_index", by="ward_code").set_index("ward_code")
    shown = table[table["reliability"] != "suppressed"].set_index("ward_code")
    got, expected = shown, expected.loc[shown.index]
    assert got["estimate"].to_numpy() == pytest.approx(expected["estimate"].to_numpy(), rel=1e-9)
    assert got["se"].to_numpy() == pytest.approx(expected["se"].to_numpy(), rel=1e-9)
    assert (got["ci_low"] < got["estimate"]).all() and (got["estimate"] < got["ci_high"]).all()
    small = table[table["reliability"] == "suppressed"]
    assert len(small) and small["estimate"].isna().all() and small["n"].isna().all()  # not even the count
    assert table["n"].min() >= 10


def test_table_numbers_use_the_locale(client, accounts, demo_data):
    accounts.login("researcher")
    vi = client.get("/research/digital-skills?lang=vi").get_data(as_text=True)
    en = client.get("/research/digital-skills?lang=en").get_data(as_text=True)
    assert re.search(r'<td class="num">\d+,\d</td>', vi)
    assert re.search(r'<td class="num">\d+\.\d</td>', en)


def test_groups_crossed_charts_and_flags(client, accounts, demo_data):
    accounts.login("researcher")
    page = client.get("/research/digital-skills?indicator=at_least_basic&by=age_band&by2=sex&lang=en")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "60 and over · Female" in text and "16–29 years · Male" in text
    assert 'src="/research/digital-skills/chart.png?' in text and "style=" not in text
    png = client.get("/research/digital-skills/chart.png?indicator=at_least_basic&by=age_band")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    svg = client.get("/research/digital-skills/chart.svg?indicator=at_least_basic&level=ward&download=1")
    assert svg.data.lstrip().startswith(b"<?xml") and b"<svg" in svg.data
    assert "attachment" in svg.headers["Content-Disposition"]
    table = pd.read_csv(io.BytesIO(client.get(
        "/research/digital-skills/table.csv?indicator=at_least_basic&level=ward&by=sex").data), encoding="utf-8-sig")
    assert set(table["reliability"]) <= {"ok", "unreliable", "suppressed"}
    assert (table.loc[table["n"] < 30, "reliability"] != "ok").all()
    xlsx = pd.read_excel(io.BytesIO(client.get(
        "/research/digital-skills/table.xlsx?indicator=at_least_basic&by=education&lang=vi").data))
    assert "Đại học trở lên" in set(xlsx["education_label"])
    assert client.get("/research/digital-skills?by=__class__").status_code == 404
    assert client.get("/research/digital-skills?level=district9").status_code == 404


def test_left_behind_page_in_both_languages(client, accounts, demo_data):
    accounts.login("researcher")
    vi = client.get("/research/digital-skills/left-behind?indicator=at_least_basic&all=1")
    assert vi.status_code == 200
    assert "điểm phần trăm" in vi.get_data(as_text=True)
    en = client.get("/research/digital-skills/left-behind?indicator=at_least_basic&all=1&group=sex&lang=en")
    assert "percentage points below the" in en.get_data(as_text=True)
    ranking = pd.read_csv(io.BytesIO(client.get(
        "/research/digital-skills/left-behind.csv?indicator=at_least_basic&lang=en").data), encoding="utf-8-sig")
    assert {"gap", "q_value", "left_behind", "population", "sentence"} <= set(ranking.columns)
    assert ranking["sentence"].dropna().str.contains("percentage points").all()


def test_weighting_page_shows_margins_diagnostics_and_comparison(client, accounts, demo_data):
    accounts.login("researcher")
    text = client.get("/research/digital-skills/weighting?indicator=at_least_basic&by=age_band&lang=en").get_data(
        as_text=True)
    assert "1,008 cells" in text and "Effective n" in text and "Unweighted" in text  # counts grouped, as the people
    vi = client.get("/research/digital-skills/weighting?lang=vi").get_data(as_text=True)
    assert "1.008 ô" in vi and "1008" not in vi


def test_margins_without_a_group_that_has_respondents_are_explained_in_each_language(app, client, accounts,
                                                                                      demo_data):
    with app.app_context():  # the census table loses women aged 60 and over, who did respond
        db.session().exec(delete(PopulationMargin).where(PopulationMargin.sex == "2",
                                                         PopulationMargin.age_band == "60+"))
        db.session().commit()
    accounts.login("researcher")
    vi = client.get("/research/digital-skills/weighting?indicator=at_least_basic&lang=vi").get_data(as_text=True)
    en = client.get("/research/digital-skills/weighting?indicator=at_least_basic&lang=en").get_data(as_text=True)
    assert "không có người nào trong số liệu dân số (2:60+)" in vi and "population count" not in vi
    assert "have no people in the census table (2:60+)" in en


def test_unknown_indicator_is_404_not_500(client, accounts):
    accounts.login("researcher")
    assert client.get("/research/digital-skills?indicator=__class__").status_code == 404


def test_results_api_with_researcher_token(client, accounts, demo_data):
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    response = client.get("/api/v1/results/digital-skills?indicator=dsi_index&by=ward", headers=headers)
    assert response.status_code == 200
    rows = response.get_json()["rows"]
    assert len(rows) == 126 and {"ward_code", "estimate", "se", "ci_low", "ci_high", "n"} <= set(rows[0])
    crossed = client.get("/api/v1/results/digital-skills?indicator=at_least_basic&by=sex&by2=age_band&lang=en",
                         headers=headers).get_json()
    assert crossed["by"] == ["sex", "age_band"] and len(crossed["rows"]) == 8
    assert {"Female · 60 and over", "Male · 16–29 years"} <= {r["cell"] for r in crossed["rows"]}
    assert client.get("/api/v1/results/digital-skills?by=shoe_size", headers=headers).status_code == 422
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/api/v1/results/{slug}" in spec["paths"]
    assert "/research/{slug}/export.{fmt}" in spec["paths"]
    assert client.get("/api/v1/results/digital-skills?indicator=nope", headers=headers).status_code == 422
    assert client.get("/api/v1/results/digital-skills").status_code == 401


@pytest.mark.parametrize(("decimal", "name", "unit", "value", "says"), [
    (".", "Whole country", "", 48.46, "Whole country: 48.5"),  # the page writes 48.5: the legend too, not "48"
    (",", "Cả nước", "%", 48.46, "Cả nước: 48,5%"),
    (",", "TP. Hồ Chí Minh", "%", 7.04, "TP. Hồ Chí Minh: 7,0%"),  # the dot of a name is not a decimal mark
])
def test_the_chart_legend_writes_the_whole_area_as_the_page_does(decimal, name, unit, value, says):
    texts = charts.Texts(title="", axis="", benchmark=name, benchmark_unit=unit, decimal=decimal)
    assert charts.benchmark_label(texts, value) == says
