"""The probability sample and the self-selected stream side by side, with the gap and its interval."""

from __future__ import annotations

import html
import io

import numpy as np
import pandas as pd
import pytest
from sqlmodel import update

from analysis.streams import independent_gap
from tests.web.helpers import add_self_selected
from web import db
from web.models import Response, Survey
from web.research import query, results
from web.research.weighting import calibrate, margins_frame


def test_the_gap_of_independent_estimates_adds_their_variances():
    first = {"g": ["a", "b"], "estimate": [0.5, 0.4], "se": [0.03, 0.02], "ci_low": [0.44, 0.36],
             "ci_high": [0.56, 0.44], "n": [100, 50], "reliability": ["ok", "suppressed"]}
    second = {**first, "estimate": [0.7, 0.9], "se": [0.04, 0.01], "reliability": ["ok", "ok"]}
    gap = independent_gap(pd.DataFrame(first), pd.DataFrame(second), ["g"])
    assert gap.loc[0, "gap"] == pytest.approx(0.2) and gap.loc[0, "gap_se"] == pytest.approx(0.05)
    assert gap.loc[0, "gap_ci_low"] == pytest.approx(0.2 - 1.959963984540054 * 0.05)
    assert np.isnan(gap.loc[1, "gap"])  # suppressed in one stream: no gap


@pytest.fixture
def two_streams(app, load_demo):
    load_demo(8)
    assert add_self_selected(app) > 100


def test_results_show_both_streams_with_the_gap_and_label_the_official_one(app, client, accounts, two_streams):
    accounts.login("researcher")
    plain = html.unescape(client.get("/research/digital-skills?lang=en&indicator=at_least_basic").get_data(as_text=True))
    assert "Probability sample · official estimates" in plain
    assert "Show the self-selected stream beside it, with the gap" in plain and 'id="streams"' not in plain
    page = client.get("/research/digital-skills?lang=en&indicator=at_least_basic&by=sex&streams=both")
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and "Probability sample (official)" in text
    assert "Self-selected (QR/link), not representative" in text
    assert "treats the two streams as independent samples" in text
    with app.test_request_context("/?lang=en"):
        q = query.read("digital-skills", {"indicator": "at_least_basic"})
        other = calibrate(q.data.nonprobability, margins_frame(db.session(), 1))
        official = results.estimate(q.data.design, q.indicator, [], 0).iloc[0]
        apart = results.estimate(other.design, q.indicator, [], 0).iloc[0]
    # the QR stream over-represents the skilled: its estimate is higher, and the page shows the gap
    assert apart["estimate"] > official["estimate"] + 0.05
    whole = html.unescape(client.get("/research/digital-skills?lang=en&indicator=at_least_basic&streams=both")
                          .get_data(as_text=True))
    gap = (apart["estimate"] - official["estimate"]) * 100
    assert f"+{gap:,.1f}" in whole
    vietnamese = html.unescape(client.get("/research/digital-skills?lang=vi&indicator=at_least_basic&streams=both")
                               .get_data(as_text=True))
    assert "Mẫu xác suất (chính thức)" in vietnamese and "không đại diện" in vietnamese


def test_the_api_gives_both_streams_and_says_which_is_official(app, client, accounts, two_streams):
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    plain = client.get("/api/v1/results/digital-skills?indicator=at_least_basic&by=sex", headers=headers).get_json()
    assert plain["stream"] == "probability" and "streams" not in plain
    both = client.get("/api/v1/results/digital-skills?indicator=at_least_basic&by=sex&streams=both",
                      headers=headers).get_json()
    assert both["streams"]["official"] == "probability" and both["streams"]["variance"] == "independent"
    rows = both["streams"]["rows"]
    assert {r["sex"] for r in rows} == {"1", "2"}
    for row in rows:
        assert row["gap"] == pytest.approx(row["self_selected_estimate"] - row["official_estimate"])
        assert row["gap_ci_low"] < row["gap"] < row["gap_ci_high"]
        assert row["gap_se"] == pytest.approx(np.hypot(row["official_se"], row["self_selected_se"]))
    assert client.get("/api/v1/results/digital-skills?indicator=at_least_basic&streams=some",
                      headers=headers).status_code == 422
    spec = client.get("/api/v1/openapi.json").get_json()
    names = [p["name"] for p in spec["paths"]["/api/v1/results/{slug}"]["get"]["parameters"]]
    assert "streams" in names


def _labelled_downloads(client, lang: str) -> tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The chart (SVG) and the table downloads (CSV, XLSX, left-behind CSV) of the demo's indicator."""
    query_string = f"indicator=at_least_basic&by=sex&lang={lang}"
    svg = client.get(f"/research/digital-skills/chart.svg?{query_string}").get_data(as_text=True)
    csv = pd.read_csv(io.BytesIO(client.get(f"/research/digital-skills/table.csv?{query_string}").data),
                      encoding="utf-8-sig")
    xlsx = pd.read_excel(io.BytesIO(client.get(f"/research/digital-skills/table.xlsx?{query_string}").data))
    ranking = pd.read_csv(io.BytesIO(client.get(f"/research/digital-skills/left-behind.csv?indicator=at_least_basic"
                                                f"&lang={lang}").data), encoding="utf-8-sig")
    return svg, csv, xlsx, ranking


def test_charts_and_table_downloads_say_which_stream_their_figures_come_from(app, client, accounts, load_demo):
    load_demo(8)
    accounts.login("researcher")
    svg, csv, xlsx, ranking = _labelled_downloads(client, "en")
    assert "Probability sample" in svg and "not representative" not in svg
    for table in (csv, xlsx, ranking):
        assert set(table["stream"]) == {"probability"} and set(table["stream_label"]) == {"Probability sample"}
    svg, csv, xlsx, _ranking = _labelled_downloads(client, "vi")
    assert "Mẫu xác suất" in svg and set(xlsx["stream_label"]) == {"Mẫu xác suất"}
    wards = pd.read_csv(io.BytesIO(client.get("/research/digital-skills/wards.csv?indicator=at_least_basic").data),
                        encoding="utf-8-sig")
    assert set(wards["stream"]) == {"probability"}
    # the same survey with no probability sample: every response self-selected, and every file says so
    with app.app_context():
        session = db.session()
        session.exec(update(Response).values(psu=None, stratum=None))
        session.exec(update(Survey).values(data_version=Survey.data_version + 1))
        session.commit()
    svg, csv, xlsx, ranking = _labelled_downloads(client, "en")
    assert "Self-selected (QR/link), not representative" in svg
    for table in (csv, xlsx, ranking):
        assert set(table["stream"]) == {"nonprobability"}
        assert set(table["stream_label"]) == {"Self-selected (QR/link), not representative"}
    svg, _csv, xlsx, _ranking = _labelled_downloads(client, "vi")
    assert "Tự nguyện (QR/đường dẫn), không đại diện" in svg
    assert set(xlsx["stream_label"]) == {"Tự nguyện (QR/đường dẫn), không đại diện"}
