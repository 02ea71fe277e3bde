"""Shares are proportions, categories are distributions, the menu is labelled, charts fit (issue 13).

Run on the demo data in SQLite and PostgreSQL: what a researcher reads on the page, in the table
download and from the API.
"""

from __future__ import annotations

import io
import re
import struct

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign
from web import db
from web.research.weighting import weighted


@pytest.fixture
def demo_data(load_demo):
    load_demo(8)


def _csv(client, url: str) -> pd.DataFrame:
    response = client.get(url)
    assert response.status_code == 200, url
    return pd.read_csv(io.BytesIO(response.data), encoding="utf-8-sig")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG")
    return struct.unpack(">II", data[16:24])


def test_shares_are_proportions_with_people_and_never_leave_0_100(app, client, accounts, demo_data):
    app.config["MIN_CELL_COUNT"] = 3  # small cells shown, so 0% and 100% cells appear in the demo's 8 per ward
    accounts.login("researcher")
    url = "indicator=at_least_basic&level=ward&by=sex"
    table = _csv(client, f"/research/digital-skills/table.csv?{url}")
    shown = table[table["reliability"] != "suppressed"]
    no_df = shown["ci_low"].isna()  # every respondent of the cell in one sampling unit: no interval, as R
    assert (shown.loc[no_df, "reliability"] == "unreliable").all() and no_df.sum() < len(shown) / 5
    shown = shown[~no_df]
    assert len(shown) > 20
    assert (shown["ci_low"] >= 0).all() and (shown["ci_high"] <= 1).all()
    assert (shown["ci_high"] > shown["ci_low"]).all()  # never zero-width, not even at 0% or 100%
    edge = shown[shown["estimate"].isin([0.0, 1.0])]
    assert len(edge) and ((edge["ci_high"] - edge["ci_low"]) > 0.05).all()
    assert ((shown["people_low"] <= shown["people"] + 1e-6) & (shown["people"] <= shown["people_high"] + 1e-6)).all()

    with app.app_context():  # the same numbers as analysis' proportion on the cached design
        design = weighted(db.session(), "digital-skills", 1).design
        data = design.data.assign(yes=pd.to_numeric(design.data["at_least_basic"], errors="coerce"))
        expected = SurveyDesign(data, weights="weight", strata="stratum", psu="psu", lonely_psu="adjust").proportion(
            "yes", by="ward_code", ci_method="logit")
        population = data.assign(w=np.where(data["yes"].notna(), design.weights, 0)).groupby("ward_code")["w"].sum()
    expected = expected[expected["yes"] == 1].set_index("ward_code")
    wards = _csv(client, "/research/digital-skills/table.csv?indicator=at_least_basic&level=ward")
    wards = wards[wards["reliability"] != "suppressed"].set_index("ward_code")
    for col in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(wards[col], expected.loc[wards.index, col], rtol=1e-9, err_msg=col)
    np.testing.assert_allclose(wards["people"], wards["estimate"] * population.loc[wards.index], rtol=1e-9)

    page = client.get(f"/research/digital-skills?{url}&lang=vi").get_data(as_text=True)
    assert "≈" in page and " người" in page and "Korn–Graubard" in page
    en = client.get(f"/research/digital-skills?{url}&lang=en").get_data(as_text=True)
    assert " people" in en
    numbers = [float(x.replace(",", "")) for x in re.findall(r'<td class="num">([\d.,]+) – ([\d.,]+)</td>', en)
               for x in x]
    assert numbers and min(numbers) >= 0 and max(numbers) <= 100

    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    api = client.get(f"/api/v1/results/digital-skills?{url}", headers=headers).get_json()
    assert api["kind"] == "share" and api["ci_method"] == "logit"
    rows = [r for r in api["rows"] if r["reliability"] != "suppressed" and r["ci_low"] is not None]
    assert all(0 <= r["ci_low"] < r["ci_high"] <= 1 and r["people"] is not None for r in rows)

    png = client.get(f"/research/digital-skills/chart.png?{url}").data
    assert _png_size(png)[1] <= 1200  # 252 cells: the 20 lowest and highest are drawn, not 252 bars
    svg = client.get(f"/research/digital-skills/chart.svg?{url}").get_data(as_text=True)
    assert set(re.findall(r"<!-- (-?\d+) -->", svg)) == {"0", "20", "40", "60", "80", "100"}  # the share axis
    assert "alt=\"" in page and 'href="#results-table"' in page


def test_categories_are_distributions_and_the_menu_is_labelled(app, client, accounts, demo_data):
    accounts.login("researcher")
    table = _csv(client, "/research/digital-skills/table.csv?indicator=wg_seeing&by=sex&lang=en")
    shown = table[table["reliability"] != "suppressed"]
    assert set(shown["category"].astype(str)) == {"1", "2", "3", "4"}
    assert {"No difficulty", "Cannot do at all"} <= set(shown["category_label"])
    sums = shown.groupby("sex")["estimate"].sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-9)  # shares of each answer, not a mean of codes
    assert (shown["ci_low"] >= 0).all() and (shown["ci_high"] <= 1).all()
    level = _csv(client, "/research/digital-skills/table.csv?indicator=dsi_level&by=sex&lang=vi")
    assert "Trên cơ bản" in set(level["category_label"]) and level["estimate"].max() <= 1
    with app.app_context():  # the cached data the exports read keep their types: pages work on a view
        frame = weighted(db.session(), "digital-skills", 1).frame
        assert pd.api.types.is_float_dtype(frame["dsi_level"]) and not pd.api.types.is_numeric_dtype(frame["sex"])

    en = client.get("/research/digital-skills?indicator=wg_seeing&by=sex&lang=en").get_data(as_text=True)
    vi = client.get("/research/digital-skills?indicator=wg_seeing&by=sex&lang=vi").get_data(as_text=True)
    for text in ('<optgroup label="Headline indicators">', '<optgroup label="DigComp areas">',
                 ">Digital activities, information and data literacy: level</option>", "Cannot do at all"):
        assert text in en
    assert ">Hoạt động số, lĩnh vực thông tin và dữ liệu: mức</option>" in vi and "Không khó khăn" in vi
    options = re.findall(r"<option value=\"(\w+)\" title=\"\w+\"[^>]*>([^<]+)</option>", en)
    assert len(options) > 60 and all(label != name for name, label in options)  # labels, not raw names
    assert "Chỉ số suy ra" not in en and "Hoạt động số" not in en and "Digital activities" not in vi

    found = client.get("/research/digital-skills?find=dsi_area_3&lang=en").get_data(as_text=True)
    assert '<option value="dsi_area_3" title="dsi_area_3" selected>' in found
    found = client.get("/research/digital-skills?find=ability to SEE&lang=en")
    assert found.status_code == 200 and "No indicator matches “ability to SEE”." in found.get_data(as_text=True)
    assert 'value="wg_seeing" title="wg_seeing" selected' in client.get(
        "/research/digital-skills?find=seeing&lang=en").get_data(as_text=True)
    assert client.get("/research/digital-skills/table.csv?indicator=sex&by=sex").status_code == 200  # not by itself
    png = client.get("/research/digital-skills/chart.png?indicator=sat_band&level=ward&by=sex").data
    assert _png_size(png)[1] <= 1200
