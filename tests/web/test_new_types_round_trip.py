"""The issue's check "each new type round-trips through import, the pages, the API and every export" for
the two types other files do not walk: groups inside repeats (a household roster whose older members get
more questions) and ``select_one_from_file`` (choices from an attached CSV). Times and dates:
tests/web/test_new_question_types.py; hyphenated names: tests/web/test_hyphen_names.py; the browser
walks: tests/browser/test_question_types_browser.py."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from surveys.xlsform import import_xlsform
from tests.web.test_new_question_types import stored
from web import catalog, db

FORMS = Path(__file__).resolve().parents[1] / "fixtures/xlsforms"
ROSTER = {"members": [{"m_age": 70, "m_phone": "1", "m_call": "09:30"}, {"m_age": 30}]}
WARDS = {"home_ward": "73", "work_wards": ["70", "4"]}


@pytest.fixture
def published(app):
    with app.app_context():
        session = db.session()
        catalog.publish(session, import_xlsform(FORMS / "khaosat-group_in_repeat.xlsx"), controller="Test controller",
                        contact="test@example.org")
        catalog.publish(session, import_xlsform(FORMS / "khaosat-select_from_file.xlsx",
                                                attachments={"wards.csv": FORMS / "wards.csv"}),
                        controller="Test controller", contact="test@example.org")


def test_a_group_inside_a_repeat_on_the_page_without_javascript(client, app, published):
    client.post("/s/ho-gia-dinh?lang=en")
    added = client.post("/s/ho-gia-dinh/p/0", data={"members.0.m_age": "70", "members.0.m_phone": "1",
                                                    "members.0.m_call": "09:30", "nav": "add-members"},
                        follow_redirects=True)
    assert added.status_code == 200 and 'name="members.1.m_age"' in added.get_data(as_text=True)
    done = client.post("/s/ho-gia-dinh/p/0", data={"members.0.m_age": "70", "members.0.m_phone": "1",
                                                   "members.0.m_call": "09:30", "members.1.m_age": "30",
                                                   "members.1.m_phone": "1"})  # not asked under 60: dropped
    assert done.status_code == 302
    assert stored(app) == ROSTER


def test_choices_from_an_attached_csv_on_the_page_without_javascript(client, app, published):
    client.post("/s/phuong?lang=en")
    page = client.get("/s/phuong/p/0?lang=en").get_data(as_text=True)
    assert "Cua Nam ward" in page and 'value="73"' in page
    assert client.post("/s/phuong/p/0", data={"home_ward": "99"}).status_code == 422
    assert client.post("/s/phuong/p/0", data={"home_ward": "73", "work_wards": ["70", "4"]}).status_code == 302
    assert stored(app) == WARDS


@pytest.mark.parametrize(("slug", "answers"), [("ho-gia-dinh", ROSTER), ("phuong", WARDS)])
def test_the_api_takes_them(client, app, accounts, published, slug, answers):
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    form = client.get(f"/api/v1/surveys/{slug}", headers=headers).get_json()
    assert form["slug"] == slug
    body = {"uuid": f"9e8d7c6b-5a49-4837-a625-{slug.encode().hex()[:12]:0>12}", "survey": slug, "version": 1,
            "answers": answers, "meta": {"language": "vi"}}
    bad = {**answers, **({"home_ward": "99"} if slug == "phuong" else {"members": [{"m_age": "old"}]})}
    assert client.post("/api/v1/submissions", json={**body, "answers": bad}, headers=headers).status_code == 422
    assert client.post("/api/v1/submissions", json=body, headers=headers).status_code == 201
    assert client.post("/api/v1/submissions", json=body, headers=headers).status_code == 200
    assert stored(app) == answers


def _tables(fmt: str, data: bytes, tmp_path) -> dict[str, pd.DataFrame]:
    """Every table of a download (a zip holds the responses and each roster), by file or sheet name."""
    if fmt == "xlsx":
        return pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=str)
    parts = {}
    members = zipfile.ZipFile(io.BytesIO(data)) if data[:2] == b"PK" and fmt != "xlsx" else None
    items = [(n, members.read(n)) for n in members.namelist()] if members else [(f"data.{fmt}", data)]
    for name, content in items:
        path = tmp_path / Path(name).name
        path.write_bytes(content)
        if name.endswith(".csv"):
            parts[name] = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
        elif name.endswith(".parquet"):
            parts[name] = pd.read_parquet(path)
        elif name.endswith((".sav", ".dta")):
            parts[name] = (pyreadstat.read_sav if name.endswith(".sav") else pyreadstat.read_dta)(str(path))[0]
    return parts


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav", "dta", "parquet"])
@pytest.mark.both_backends
def test_they_reach_every_export(client, app, accounts, published, tmp_path, fmt):
    client.post("/s/ho-gia-dinh")
    client.post("/s/ho-gia-dinh/p/0", data={"members.0.m_age": "70", "members.0.m_phone": "1",
                                            "members.0.m_call": "09:30"})
    other = app.test_client()
    other.post("/s/phuong")
    other.post("/s/phuong/p/0", data={"home_ward": "73", "work_wards": ["70", "4"]})
    accounts.login("researcher")
    roster = _tables(fmt, client.get(f"/research/ho-gia-dinh/export.{fmt}?lang=en").data, tmp_path)
    members = next(t for name, t in roster.items() if "members" in name)
    assert [float(v) for v in members["m_age"]] == [70] and str(members["m_phone"].iloc[0]) in ("1", "1.0")
    wards = _tables(fmt, client.get(f"/research/phuong/export.{fmt}?lang=en").data, tmp_path)
    data = next(t for name, t in wards.items() if "codebook" not in name and "risk" not in name)
    assert str(data["home_ward"].iloc[0]) in ("73", "73.0")
    assert [float(data[f"work_wards_{c}"].iloc[0]) for c in ("70", "73", "4")] == [1, 0, 1]
