"""A survey with a single response: every research page and download answers, none fails."""

from __future__ import annotations

import pytest

from tests.web.test_api import submission

PAGES = ["", "?level=ward", "/chart.png", "/chart.svg", "/table.csv", "/table.xlsx", "/wards.csv",
         "/left-behind", "/left-behind.csv", "/weighting", "/downloads"]
EXPORTS = ["csv", "xlsx", "sav", "dta", "parquet"]


@pytest.fixture
def one_response(app, client, accounts):
    token = accounts.token("volunteer")
    response = client.post("/api/v1/submissions", json=submission(app), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201
    accounts.login("researcher")


@pytest.mark.parametrize("page", PAGES)
def test_result_pages_answer_with_one_response(client, one_response, page):
    assert client.get(f"/research/digital-skills{page}").status_code == 200


@pytest.mark.parametrize("fmt", EXPORTS)
def test_the_single_response_is_exported_with_its_weight(client, one_response, fmt):
    response = client.get(f"/research/digital-skills/export.{fmt}")
    assert response.status_code == 200 and len(response.data) > 100
    if fmt == "csv":
        lines = response.data.decode("utf-8-sig").splitlines()
        assert len(lines) == 2  # the header and the one response
        header, row = lines[0].split(","), lines[1].split(",")
        assert float(row[header.index("weight")]) == 1.0


def test_the_weighting_page_says_why_there_are_no_standard_errors(client, one_response):
    page = client.get("/research/digital-skills/weighting?lang=vi").get_data(as_text=True)
    assert "Chưa đủ hai đơn vị mẫu có trả lời, nên chưa tính được sai số chuẩn." in page
    page = client.get("/research/digital-skills/weighting?lang=en").get_data(as_text=True)
    assert "Fewer than two sampling units have responded" in page
