"""Every built-in survey, with no response and with a single one: every research page and download
answers, none fails."""

from __future__ import annotations

import pytest

from tests.web.helpers import instrument
from tests.web.test_api import valid_answers

pytestmark = pytest.mark.slow  # every research page and download

SURVEYS = ["digital-skills", "service-satisfaction", "officials-digital-competency"]
PAGES = ["", "?level=ward", "/chart.png", "/chart.svg", "/table.csv", "/table.xlsx", "/wards.csv",
         "/left-behind", "/left-behind.csv", "/weighting", "/downloads", "/codebook.html", "/codebook.csv"]
EXPORTS = ["csv", "xlsx", "sav", "dta", "parquet"]


def send_one(app, client, accounts, slug):
    body = {"uuid": f"one-response-{slug}", "survey": slug, "version": instrument(app, slug).version,
            "answers": valid_answers(app, slug), "meta": {"language": "vi"}}
    response = client.post("/api/v1/submissions", json=body,
                           headers={"Authorization": f"Bearer {accounts.token('volunteer')}"})
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("slug", SURVEYS)
@pytest.mark.parametrize("responses", [0, 1])
def test_result_pages_and_downloads_answer(app, client, accounts, slug, responses):
    if responses:
        send_one(app, client, accounts, slug)
    accounts.login("researcher")
    for page in PAGES + [f"/export.{fmt}" for fmt in EXPORTS]:
        response = client.get(f"/research/{slug}{page}")
        assert response.status_code == 200, page
        response.close()


@pytest.mark.parametrize("fmt", EXPORTS)
def test_the_single_response_is_exported_with_its_weight(app, client, accounts, fmt):
    send_one(app, client, accounts, "digital-skills")
    accounts.login("researcher")
    response = client.get(f"/research/digital-skills/export.{fmt}")
    assert response.status_code == 200 and len(response.data) > 100
    if fmt == "csv":
        lines = response.data.decode("utf-8-sig").splitlines()
        assert len(lines) == 2  # the header and the one response
        header, row = lines[0].split(","), lines[1].split(",")
        assert float(row[header.index("weight")]) == 1.0


def test_the_weighting_page_says_why_there_are_no_standard_errors(app, client, accounts):
    send_one(app, client, accounts, "digital-skills")
    accounts.login("researcher")
    page = client.get("/research/digital-skills/weighting?lang=vi").get_data(as_text=True)
    assert "Chưa đủ hai đơn vị mẫu có trả lời, nên chưa tính được sai số chuẩn." in page
    page = client.get("/research/digital-skills/weighting?lang=en").get_data(as_text=True)
    assert "Fewer than two sampling units have responded" in page
