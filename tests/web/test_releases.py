"""Microdata tiers and table protection on the demo: the scientific-use file reproduces the ward table and
keeps every record's risk under the threshold; the public-use file is k-anonymous; the full file is for
admins; every release is audited; and no suppressed cell of the published tables can be worked out."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog
from sqlmodel import select

from analysis import SurveyDesign
from analysis.cell_suppression import protection_distance
from analysis.disclosure import frequencies, measure_risk
from web import db
from web.models import AuditEvent
from web.research.releases import QUASI_IDENTIFIERS
from web.research.weighting import weighted


@pytest.fixture
def demo(app, load_demo):
    load_demo(8)


def _csv(client, url: str) -> pd.DataFrame:
    response = client.get(url)
    assert response.status_code == 200, url
    return pd.read_csv(io.BytesIO(response.data), encoding="utf-8-sig", keep_default_na=False, na_values=[""])


def test_scientific_use_file_reproduces_the_ward_table_and_keeps_risk_below_threshold(app, client, accounts, demo):
    app.config["SCIENTIFIC_MAX_RISK"] = 0.003  # below the small demo's largest risk, so records must be suppressed
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    response = client.get("/research/digital-skills/export.csv", headers=headers)
    frame = pd.read_csv(io.BytesIO(response.data), encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    assert not {"channel", "language", "submitted_month", "birth_year"} & set(frame.columns)
    assert sorted(frame["id"]) == list(range(1, len(frame) + 1))  # release numbers, not database ids
    design = SurveyDesign(frame, weights="weight", strata="stratum", psu="psu", lonely_psu="adjust")
    mine = design.mean("dsi_index", by="ward_code").set_index("ward_code")
    api = client.get("/api/v1/results/digital-skills?indicator=dsi_index&level=ward", headers=headers).get_json()
    shown = [r for r in api["rows"] if r["estimate"] is not None]
    assert len(api["rows"]) == 126 and shown
    for row in api["rows"]:
        ours = mine.loc[row["ward_code"]]
        if row["estimate"] is not None:
            assert ours["estimate"] == pytest.approx(row["estimate"], rel=1e-12)
            assert ours["se"] == pytest.approx(row["se"], rel=1e-9)
    threshold = app.config["SCIENTIFIC_MAX_RISK"]
    keys = ["ward_code", *[k for k in QUASI_IDENTIFIERS if k in frame.columns]]
    after = measure_risk(frame[keys], frame["weight"], threshold)
    with app.test_request_context():
        full = weighted(db.session(), "digital-skills", app.config["KHAOSAT_PROVINCE"]).frame
    before = measure_risk(full[keys].reset_index(drop=True), full["weight"].to_numpy(), threshold)
    assert before.above_threshold > 0 and after.above_threshold == 0 and after.max_risk <= threshold
    assert frame[keys].isna().sum().sum() > 0 and frame["ward_code"].notna().all()


def test_public_use_file_has_every_key_combination_at_least_k_times(app, client, accounts, demo):
    accounts.login("researcher")
    frame = _csv(client, "/research/digital-skills/export-public.csv")
    assert not {"ward_code", "ward", "stratum", "psu", "base_weight", "language", "channel"} & set(frame.columns)
    keys = [c for c in ("former_district", *QUASI_IDENTIFIERS) if c in frame.columns]
    assert {"sex", "age_band", "ethnicity", "education", "occupation", "income", "disability"} <= set(keys)
    counts = frequencies(frame[keys])
    assert (counts["f"] >= app.config["PUBLIC_K"]).all()
    hidden_disability = frame["disability"].isna()
    if hidden_disability.any():  # the answers disability is computed from go with it
        assert frame.loc[hidden_disability, "wg_seeing"].isna().all()
    with app.test_request_context():
        full = weighted(db.session(), "digital-skills", app.config["KHAOSAT_PROVINCE"]).frame
    assert frame["weight"].sum() == pytest.approx(full["weight"].sum(), rel=1e-9)
    if "former_district" in frame:
        assert frame.groupby("former_district")["weight"].sum().to_dict() == pytest.approx(
            full.groupby("former_district")["weight"].sum().to_dict(), rel=1e-9)


def test_full_file_is_for_admins_and_every_release_is_audited(app, client, accounts, demo):
    accounts.login("researcher")
    assert client.get("/research/digital-skills/export-full.csv").status_code == 403
    assert client.get("/research/digital-skills/export-public.xlsx").status_code == 200
    client.post("/accounts/logout")
    accounts.create("admin", "boss")
    client.post("/accounts/login", data={"username": "boss", "password": "correct-horse-9"})
    full = _csv(client, "/research/digital-skills/export-full.csv")
    assert {"birth_year", "channel", "language", "submitted_month"} <= set(full.columns)
    with app.app_context():
        events = db.session().exec(select(AuditEvent).where(AuditEvent.action == "export")
                                   .order_by(AuditEvent.id)).all()
    assert [(e.actor_name, e.detail["tier"], e.detail["format"]) for e in events] == [
        ("researcher-user", "public", "xlsx"), ("boss", "full", "csv")]
    assert events[0].detail["k"] == app.config["PUBLIC_K"] and events[0].target == "synthetic-demo-digital-skills-public-use-vi.xlsx"


def test_risk_report_page_in_both_languages(client, accounts, demo):
    accounts.login("researcher")
    en = client.get("/research/digital-skills/disclosure?lang=en").get_data(as_text=True)
    assert "Scientific-use file (researchers)" in en and "Public-use file (open publication)" in en
    assert "Expected re-identifications" in en and "Sample uniques" in en and "Full microdata" not in en
    vi = client.get("/research/digital-skills/disclosure?lang=vi").get_data(as_text=True)
    assert "Tệp dùng cho nghiên cứu" in vi and "Số lần nhận diện lại dự kiến" in vi
    assert client.get("/research/digital-skills/downloads?lang=en").get_data(as_text=True).count("export-public") == 5


def _table(client, headers, **args) -> dict:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    rows = client.get(f"/api/v1/results/digital-skills?indicator=dsi_index&{query}", headers=headers).get_json()["rows"]
    return rows


def test_no_suppressed_cell_of_the_ward_by_sex_table_can_be_worked_out(app, client, accounts, demo):
    """The attack of issue 14 (a ward's total minus the other sex), then every linear combination of what the
    API publishes: ward, former-district and city tables by sex and in total, solved by scipy's linprog."""
    app.config["MIN_CELL_COUNT"] = 4
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    ward_sex = _table(client, headers, level="ward", by="sex")
    hidden = [(r["ward_code"], r["sex"]) for r in ward_sex if r["n"] is None]
    assert 0 < len(hidden) < len(ward_sex)
    with app.test_request_context():
        full = weighted(db.session(), "digital-skills", app.config["KHAOSAT_PROVINCE"]).frame
    counted = full[full["dsi_index"].notna()]
    truth = {(int(w), str(int(float(s)))): n for (w, s), n in counted.groupby(["ward_code", "sex"]).size().items()}
    no_sex = counted[counted["sex"].isna()].groupby("ward_code").size()
    district_of = counted.drop_duplicates("ward_code").set_index("ward_code")["former_district"]
    published = {("ward", r["ward_code"], r["sex"]): r["n"] for r in ward_sex}
    published |= {("ward", r["ward_code"], "*"): r["n"] for r in _table(client, headers, level="ward")}
    published |= {("district", r["former_district"], r["sex"]): r["n"]
                  for r in _table(client, headers, level="former_district", by="sex")}
    published |= {("district", r["former_district"], "*"): r["n"]
                  for r in _table(client, headers, level="former_district")}
    published |= {("city", "*", r["sex"]): r["n"] for r in _table(client, headers, level="province", by="sex")}
    published[("city", "*", "*")] = _table(client, headers, level="province")[0]["n"]
    unknown = sorted(k for k, v in published.items() if v is None)
    index = {k: i for i, k in enumerate(unknown)}
    a_eq, b_eq = [], []

    def relation(total, parts, known_extra=0.0):
        row, rhs = np.zeros(len(unknown)), -known_extra
        for sign, cell in [(-1, total), *((1, p) for p in parts)]:
            if cell in index:
                row[index[cell]] += sign
            else:
                rhs -= sign * published.get(cell, 0) or 0
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)

    wards = sorted({w for _, w, _ in published if isinstance(w, int)})
    for w in wards:
        relation(("ward", w, "*"), [("ward", w, "1"), ("ward", w, "2")], float(no_sex.get(w, 0)))
    for d in sorted(set(district_of)):
        members = [w for w in wards if district_of.get(w) == d]
        for s in ("1", "2", "*"):
            relation(("district", d, s), [("ward", w, s) for w in members])
    for s in ("1", "2", "*"):
        relation(("city", "*", s), [("district", d, s) for d in sorted(set(district_of))])
    for w, s in hidden:  # issue 14's attack: the ward total minus the other sex
        other = published.get(("ward", w, "2" if s == "1" else "1"), 0)  # no row: nobody, a published 0
        total = published[("ward", w, "*")]
        assert other is None or total is None
    for w, s in hidden:
        objective = np.zeros(len(unknown))
        objective[index[("ward", w, s)]] = 1
        bounds = (0, published[("city", "*", "*")])
        low = linprog(objective, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds, method="highs").fun
        high = -linprog(-objective, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds, method="highs").fun
        value = float(truth.get((w, s), 0))
        if value < app.config["MIN_CELL_COUNT"]:
            d = protection_distance(value, app.config["TABLE_PROTECTION"])
            assert low <= value - d + 1e-6 and high >= value + d - 1e-6, (w, s, low, high, value)
        else:
            assert high - low > 1e-6, (w, s, low, high, value)


def test_indicators_counting_the_same_respondents_hide_the_same_cells(app, client, accounts, demo):
    app.config["MIN_CELL_COUNT"] = 4
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    patterns = {}
    for indicator in ("dsi_index", "at_least_basic"):
        rows = client.get(f"/api/v1/results/digital-skills?indicator={indicator}&level=ward&by=sex",
                          headers=headers).get_json()["rows"]
        patterns[indicator] = {(r["ward_code"], r["sex"]): r["n"] is None for r in rows}
    with app.test_request_context():
        frame = weighted(db.session(), "digital-skills", app.config["KHAOSAT_PROVINCE"]).frame
    assert frame["dsi_index"].notna().equals(frame["at_least_basic"].notna())
    assert any(patterns["dsi_index"].values()) and patterns["dsi_index"] == patterns["at_least_basic"]
