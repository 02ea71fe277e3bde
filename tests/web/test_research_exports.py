"""Microdata exports and the codebook: every format opens with pandas/pyreadstat, with weights, labels
and Vietnamese diacritics intact; spreadsheet formulas are neutralised; margins upload is checked."""

from __future__ import annotations

import io

import pandas as pd
import pyreadstat
import pytest
from sqlmodel import select

from tests.web.test_margins_upload import confirm
from tests.web.xlsx_files import read_xlsx
from web import db
from web.models import AuditEvent, PopulationMargin, Response, Survey, SurveyVersion
from web.research.weighting import weighted


@pytest.fixture
def demo_data(app, load_demo):
    load_demo(8)
    with app.app_context():  # a resident who typed a formula as the answer to a scale? use the ward name path
        session = db.session()
        response = session.exec(select(Response).order_by(Response.id)).first()
        response.psu = "=1+2"  # formula-like text in a column that is exported as text
        session.add(response)
        session.commit()


def _read(fmt: str, data: bytes, tmp_path) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    if fmt == "xlsx":
        return read_xlsx(data, sheet_name="data")
    if fmt == "parquet":
        return pd.read_parquet(io.BytesIO(data))
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(data)
    frame, meta = (pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta)(str(path))
    frame.attrs["meta"] = meta
    return frame


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav", "dta", "parquet"])
def test_microdata_in_every_format(app, client, accounts, demo_data, tmp_path, fmt):
    accounts.login("researcher")
    response = client.get(f"/research/digital-skills/export.{fmt}?lang=vi")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    frame = _read(fmt, response.data, tmp_path)
    assert {"id", "ward_code", "stratum", "psu", "base_weight", "weight", "age_band", "dsi_index"} <= set(frame.columns)
    assert "birth_year" not in frame.columns and "comment" not in frame.columns
    assert not {"channel", "language", "submitted_month"} & set(frame.columns)  # no paradata
    with app.app_context():  # the probability sample's rows, each weighted; the self-selected ones stay out
        design = weighted(db.session(), "digital-skills", app.config["KHAOSAT_PROVINCE"])
    assert len(frame) == len(design.frame) > 700 and frame["weight"].notna().all()
    assert set(frame["stream"]) == {"probability"}
    assert "Phường Hoàn Kiếm" in set(frame["ward"])
    if fmt in ("sav", "dta"):
        meta = frame.attrs["meta"]
        labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
        assert labels["sex"] == "Giới tính của bạn"
        assert meta.variable_value_labels["sex"] == {1: "Nam", 2: "Nữ"}
        assert "Kinh" in meta.variable_value_labels["ethnicity"].values()
    else:
        assert frame.loc[frame["psu"].astype(str).str.contains("1\\+2"), "psu"].iloc[0].startswith(
            "'" if fmt in ("csv", "xlsx") else "=")


def test_spss_labels_follow_the_language(client, accounts, demo_data, tmp_path):
    accounts.login("researcher")
    frame = _read("sav", client.get("/research/digital-skills/export.sav?lang=en").data, tmp_path)
    assert frame.attrs["meta"].variable_value_labels["sex"] == {1: "Male", 2: "Female"}


def test_xlsx_has_a_codebook_sheet_and_the_csv_codebook_is_bilingual(app, client, accounts, demo_data):
    app.config["SCIENTIFIC_MAX_RISK"] = 0.003  # below the demo's largest risk, so the report shows a change
    accounts.login("researcher")
    book = read_xlsx(client.get("/research/digital-skills/export.xlsx").data, sheet_name=None)
    assert set(book) == {"data", "codebook", "risk_report"}
    report = book["risk_report"].set_index("measure")
    assert report.loc["records", "label_vi"] == "Số bản ghi" and report.loc["records", "label_en"] == "Records"
    assert float(report.loc["max_risk", "after"]) <= 0.003 < float(report.loc["max_risk", "before"])
    codebook = pd.read_csv(io.BytesIO(client.get("/research/digital-skills/codebook.csv").data), encoding="utf-8-sig")
    sex = codebook.set_index("variable").loc["sex"]
    assert sex["labels_vi"] == "1 = Nam; 2 = Nữ" and sex["labels_en"] == "1 = Male; 2 = Female"
    assert "internet_3m" in codebook.set_index("variable").loc["act_search_info", "relevant_if"]
    assert "npsp_used" in codebook.set_index("variable").loc["used_online_public_service", "derivation"]
    page = client.get("/research/digital-skills/codebook.html").get_data(as_text=True)
    assert "Giới tính của bạn" in page and "Your sex" in page


def test_exports_with_a_token_and_not_for_volunteers(client, accounts, demo_data):
    token = accounts.token("researcher")
    response = client.get("/research/digital-skills/export.csv", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.data.startswith("\ufeff".encode())
    assert client.get("/research/digital-skills/export.csv", headers={"Authorization": "Bearer nope"}).status_code == 401
    accounts.login("volunteer")
    assert client.get("/research/digital-skills/export.csv").status_code == 403


GOOD = "ward_code,sex,age_band,count\n70,1,16-29,1200\n70,2,60+,800\n"


def _upload(client, body: str, lang: str = "en"):
    return client.post(f"/research/margins?lang={lang}", data={"file": (io.BytesIO(body.encode()), "census.csv")},
                       content_type="multipart/form-data")


@pytest.mark.both_backends
def test_margins_upload_is_for_admins_and_checks_everything(client, app, accounts):
    accounts.login("researcher")
    assert client.get("/research/margins").status_code == 403
    client.post("/accounts/logout")
    accounts.create("admin", "boss")
    client.post("/accounts/login", data={"username": "boss", "password": "correct-horse-9"})
    preview = _upload(client, GOOD)
    assert preview.status_code == 200 and "1 ward added" in preview.get_data(as_text=True)
    assert confirm(client, preview.get_data(as_text=True)).status_code == 302
    bad = ("ward_code,sex,age_band,count\n99999,1,16-29,10\n70,3,16-29,10\n70,1,old,10\n70,1,30-44,-5\n"
           "70,1,30-44,abc\n70,1,16-29,10\n70,1,16-29,11\n")
    response = _upload(client, bad)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    for expected in ("unknown ward code “99999”", "sex must be 1 (male) or 2 (female)", "age band must be one of",
                     "whole number from 0 to 99,999,999, not “-5”", "not “abc”", "Line 8 repeats the cell of line 7"):
        assert expected in text
    vi = _upload(client, "ward_code,sex,count\n70,1,5\n", lang="vi").get_data(as_text=True)
    assert "Thiếu cột: age_band" in vi
    with app.app_context():
        stored = db.session().exec(select(PopulationMargin)).all()
    assert sorted(m.count for m in stored) == [800, 1200]  # the bad files changed nothing


@pytest.mark.both_backends
def test_a_download_is_audited_once_and_shown_on_the_audit_page(app, client, accounts, demo_data):
    accounts.login("researcher")
    assert client.get("/research/digital-skills/export.csv?lang=vi").status_code == 200
    token = accounts.token("researcher")
    api = app.test_client()
    assert api.get("/research/digital-skills/wards.csv", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with app.app_context():
        events = db.session().exec(select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)).all()
    assert [(e.target, e.actor_name) for e in events] == [
        ("synthetic-demo-digital-skills-scientific-use-vi.csv", "researcher-user"),
        (events[1].target, "researcher-api")]
    assert events[0].detail["format"] == "csv" and events[0].detail["tier"] == "scientific"
    assert 0 < events[0].detail["global_risk"] and events[0].detail["max_risk"] <= 0.02
    assert events[1].target.startswith("synthetic-demo-digital-skills-") and events[1].target.endswith("-by-ward-ward.csv")
    client.get("/accounts/logout")
    accounts.create("admin", "boss")
    client.post("/accounts/login", data={"username": "boss", "password": "correct-horse-9"})
    page = client.get("/admin/audit?action=export").get_data(as_text=True)
    assert "synthetic-demo-digital-skills-scientific-use-vi.csv" in page and "researcher-user" in page and "researcher-api" in page


def test_exported_values_match_the_stored_answers_and_the_final_weights(app, client, accounts, demo_data):
    with app.app_context():
        session = db.session()
        version_ids = [v.id for v in session.exec(select(SurveyVersion).join(Survey).where(
            Survey.slug == "digital-skills")).all()]
        response = session.exec(select(Response).where(Response.survey_version_id.in_(version_ids))
                                .order_by(Response.id.desc())).first()
        response.psu = 'khu 3, "tổ" 7\nhẻm'  # a comma, quotes and a line break in one text cell
        response.stratum = "-Quận 1"
        session.add(response)
        session.commit()
        stored = {r.id: r.answers for r in session.exec(select(Response).where(
            Response.survey_version_id.in_(version_ids), Response.is_excluded == False)).all()}  # noqa: E712
    accounts.login("admin")  # the full file keeps the database ids; the scientific-use file is checked against it
    frame = pd.read_csv(io.BytesIO(client.get("/research/digital-skills/export-full.csv").data), encoding="utf-8-sig",
                        keep_default_na=False, na_values=[""])
    with app.test_request_context():
        final = weighted(db.session(), "digital-skills", app.config["KHAOSAT_PROVINCE"]).frame
    official = frame["stream"] == "probability"  # the self-selected responses are in the full file, unweighted
    assert frame[official].set_index("id")["weight"].to_dict() == pytest.approx(
        final.set_index("response_id")["weight"].to_dict(), rel=1e-15)
    assert (~official).any() and frame.loc[~official, "weight"].isna().all()
    assert set(frame["id"]) == set(stored) and len(frame) == len(stored)
    row = frame.set_index("id").loc[response.id]
    assert row["psu"] == 'khu 3, "tổ" 7\nhẻm' and row["stratum"] == "'-Quận 1"
    devices = [c for c in frame.columns if c.startswith("devices_")]
    assert devices and set(frame[devices].stack().unique()) <= {0, 1}
    for _, record in frame.iterrows():
        chosen = set(stored[record["id"]].get("devices") or [])
        assert {c.removeprefix("devices_") for c in devices if record[c] == 1} == chosen
    assert "Phường Hoàn Kiếm" in set(frame["ward"])
