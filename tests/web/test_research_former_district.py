"""A researcher sees the weighted table by former district (districts were abolished on 1 July 2025)."""

import csv
import io
import re

import pandas as pd
import pytest

from analysis import SurveyDesign
from surveys import areas
from web import db
from web.research import query
from web.research.weighting import calibrate, margins_frame, official_stream, with_former_district
from web.tables import responses_frame


@pytest.fixture
def demo_data(load_demo):
    load_demo(8)


def test_every_hanoi_ward_has_a_former_district():
    districts = areas.former_districts(areas.HANOI)
    assert set(districts) == areas.ward_codes(areas.HANOI)  # all 126
    assert len(areas.former_district_names(areas.HANOI)) == 30  # 12 quận, 17 huyện, 1 thị xã before 2025
    hoan_kiem = districts[70]  # Phường Hoàn Kiếm: mostly old Quận Hoàn Kiếm
    assert hoan_kiem.name == "Quận Hoàn Kiếm" and not hoan_kiem.is_whole
    assert districts[283].code == areas.SEVERAL  # Phường Vĩnh Tuy: equally Hai Bà Trưng and Hoàng Mai
    assert {s[1] for s in districts[283].sources} == {"Quận Hai Bà Trưng", "Quận Hoàng Mai"}


def test_every_ward_of_the_conversion_table_is_found_under_its_official_code():
    # the conversion table names wards by codename and official code; both must lead to the same ward
    rows = list(csv.DictReader(line for line in areas.FORMER_DISTRICTS_CSV.open(encoding="utf-8")
                               if not line.startswith("#")))
    official = areas.all_wards()
    assert all(official[int(r["ward_code"])].codename == r["ward_codename"] for r in rows)
    assert sum(len(areas.former_districts(p.code)) for p in areas.provinces()) == 3308  # of 3,321 wards


def assert_mixed_wards_listed(en: str, vi: str) -> None:
    """The note says, in both languages, how a ward from several former districts is counted, and lists them."""
    assert "counted in the former district that contributed most" in en
    assert "tính vào quận, huyện cũ đã góp nhiều phường, xã, thị trấn cũ nhất" in vi
    assert "The 64 wards and communes formed from parts of several former districts" in en
    assert "64 phường, xã được hình thành từ các phần của nhiều quận, huyện cũ" in vi
    listed = re.search(r'<details>.*?</details>', en, re.S).group(0)
    assert listed.count("<tr><td>") == 64
    ward, district = next((w, areas.former_districts(areas.HANOI)[w.code]) for w in areas.wards(areas.HANOI)
                          if not areas.former_districts(areas.HANOI)[w.code].is_whole)
    biggest = max(district.sources, key=lambda s: s[2])
    assert f"<tr><td>{ward.name}</td>" in listed and f"{biggest[1]} ({biggest[2]})" in listed


def test_table_by_former_district_matches_the_design_based_estimate(client, app, accounts, demo_data):
    accounts.login("researcher")
    page = client.get("/research/digital-skills?indicator=dsi_index&level=former_district&lang=en")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Former district (before July 2025)" in text and "Quận Ba Đình" in text and "Huyện Ba Vì" in text
    assert "Several former districts" in text and "Districts were abolished on 1 July 2025" in text
    vi = client.get("/research/digital-skills?indicator=dsi_index&level=former_district&lang=vi").get_data(
        as_text=True)
    assert "Quận, huyện cũ (trước tháng 7/2025)" in vi and "Nhiều quận, huyện cũ" in vi
    assert_mixed_wards_listed(text, vi)

    csv = client.get("/research/digital-skills/table.csv?indicator=dsi_index&level=former_district&lang=en")
    table = pd.read_csv(io.BytesIO(csv.data), encoding="utf-8-sig", dtype={"former_district": str})
    assert list(table.columns[:2]) == ["former_district", "former_district_label"]
    assert len(table) == 31  # 30 former districts and Phường Vĩnh Tuy's "several"

    with app.app_context():
        frame = official_stream(with_former_district(responses_frame(db.session(), "digital-skills"), areas.HANOI))[0]
        margins = margins_frame(db.session(), areas.HANOI)
    design = SurveyDesign(calibrate(frame, margins).frame, weights="weight", strata="stratum", psu="psu",
                          lonely_psu="adjust")
    expected = design.mean("dsi_index", by="former_district").set_index("former_district")
    shown = table[table["reliability"] != "suppressed"].set_index("former_district")
    assert len(shown) >= 25
    assert shown["estimate"].to_numpy() == pytest.approx(expected.loc[shown.index, "estimate"].to_numpy(), rel=1e-9)
    assert shown["se"].to_numpy() == pytest.approx(expected.loc[shown.index, "se"].to_numpy(), rel=1e-9)
    assert expected["n"].sum() == len(frame)  # every respondent is in exactly one former district


def test_results_api_by_former_district(client, accounts, demo_data):
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    body = client.get("/api/v1/results/digital-skills?indicator=at_least_basic&level=former_district&lang=en",
                      headers=headers).get_json()
    assert body["level"] == "former_district" and len(body["rows"]) == 31
    rows = {r["former_district"]: r for r in body["rows"]}
    assert rows["1"]["former_district_label"] == "Quận Ba Đình" and rows["1"]["cell"] == "Quận Ba Đình"
    assert rows[areas.SEVERAL]["cell"] == "Several former districts"
    accounts.login("researcher")
    chart = client.get("/research/digital-skills/chart.svg?indicator=at_least_basic&level=former_district")
    assert chart.status_code == 200 and "Quận Ba Đình" in chart.get_data(as_text=True)
    spec = client.get("/api/v1/openapi.json").get_json()
    level = next(p for p in spec["paths"]["/api/v1/results/{slug}"]["get"]["parameters"] if p["name"] == "level")
    assert "former_district" in level["schema"]["enum"]


def test_level_is_hidden_and_explained_without_a_table(client, accounts, demo_data, monkeypatch):
    monkeypatch.setattr(query.areas, "former_districts", lambda province: {})
    accounts.login("researcher")
    text = client.get("/research/digital-skills?indicator=dsi_index&lang=en").get_data(as_text=True)
    assert 'value="former_district"' not in text and "Former districts are not offered" in text
    assert client.get("/research/digital-skills?level=former_district").status_code == 404
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    assert client.get("/api/v1/results/digital-skills?level=former_district", headers=headers).status_code == 422


def test_left_behind_ranking_by_former_district(client, app, accounts, demo_data):
    accounts.login("researcher")
    page = client.get("/research/digital-skills/left-behind?level=former_district&all=1&lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<option value="former_district" selected>' in html and "Quận Hoàn Kiếm" in html
    vi = client.get("/research/digital-skills/left-behind?level=former_district&lang=vi").get_data(as_text=True)
    assert_mixed_wards_listed(html, vi)
    response = client.get("/research/digital-skills/left-behind.csv?level=former_district&indicator=dsi_index")
    assert response.status_code == 200
    assert "left-behind-former-district.csv" in response.headers["Content-Disposition"]
    report = pd.read_csv(io.BytesIO(response.data), encoding="utf-8-sig", dtype={"former_district": str})
    districts = report[(report["cell_type"] == "area") & (report["reliability"] != "suppressed")]
    assert len(districts) >= 10
    named = districts["sentence"].dropna()  # each district by its name, not its code ("Ở 281, ...")
    assert len(named) >= 10 and named.str.match(r"^(Ở|In) (Quận|Huyện|Thị xã) ").all(), named.head(3).tolist()
    with app.test_request_context():
        session = db.session()
        frame = official_stream(with_former_district(responses_frame(session, "digital-skills"), areas.HANOI))[0]
        design = calibrate(frame, margins_frame(session, areas.HANOI)).design
        expected = design.mean("dsi_index", by="former_district").set_index("former_district")
    for row in districts.itertuples():
        assert row.estimate == pytest.approx(expected.loc[row.former_district, "estimate"], rel=1e-9)
    # the ward ranking is still the default and names wards, not districts
    html = client.get("/research/digital-skills/left-behind?all=1&lang=en").get_data(as_text=True)
    assert "Phường Hoàn Kiếm" in html
    # an unknown level is not an error: the ranking stays by ward
    for bad in ("bogus", "<script>"):
        response = client.get(f"/research/digital-skills/left-behind?level={bad}&lang=en")
        assert response.status_code == 200 and "Phường" in response.get_data(as_text=True)
    # a NUL is refused before any view sees it (PostgreSQL cannot compare it)
    assert client.get("/research/digital-skills/left-behind?level=former_district%00&lang=en").status_code == 400
    assert client.get("/research/digital-skills/left-behind.csv?level=bogus").status_code == 200
