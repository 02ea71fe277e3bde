"""Microdata files of a survey over several provinces carry each response's province (code and name) beside its
commune; Stata's 32-character and SPSS's 64-byte limits on variable names are met by a deterministic, unique
shortening, with the full name kept at the start of the variable label; and every row's final weight,
joined from the served weighting cells, is the weight of the served design."""

from __future__ import annotations

import copy
import io

import pandas as pd
import pyreadstat
import pytest
import yaml

import surveys
from surveys import areas
from tests.web.test_national import national  # noqa: F401 - the national demo fixture
from tests.web.test_research_exports import _read
from web import catalog, db
from web.national_demo import SLUG
from web.research import weight_cells
from web.research.exports import stats_names
from web.research.weighting import weighted

LONG = ["number_of_digital_devices_in_the_household_now", "number_of_digital_devices_in_the_household_used"]


FORMATS = ["csv", "xlsx", "sav", "dta", "parquet"]


def test_a_national_file_names_the_province_of_every_commune(national, client, accounts, tmp_path):  # noqa: F811
    """Every format, then the public file, one after the other on one copy of the national demo (the downloads
    only read it)."""
    accounts.login("researcher")
    for fmt in FORMATS:
        response = client.get(f"/research/{SLUG}/export.{fmt}?lang=vi")
        assert response.status_code == 200, fmt
        _check_provinces(_read(fmt, response.data, tmp_path), fmt)
    _the_public_file_names_a_province_only_with_a_finer_area(client)


def _check_provinces(frame: pd.DataFrame, fmt: str) -> None:
    provinces = pd.to_numeric(frame["province_code"])
    assert (provinces == frame["ward_code"].map(areas.province_of)).all(), fmt
    assert provinces.nunique() == 34, fmt
    if fmt not in ("sav", "dta"):  # a name per row (SPSS and Stata: as text too)
        assert set(frame["province"]) == set(areas.province_names().values()), fmt
    hcmc = frame[provinces == 79]
    assert set(hcmc["province"]) == {areas.province_names()[79]}, fmt
    assert list(frame.columns).index("province_code") == list(frame.columns).index("ward") + 1, fmt


def _the_public_file_names_a_province_only_with_a_finer_area(client) -> None:
    """The public file of a national survey (for the logged-in researcher)."""
    frame = pd.read_csv(io.BytesIO(client.get(f"/research/{SLUG}/export-public.csv").data), encoding="utf-8-sig")
    assert "ward_code" not in frame.columns
    assert ("province_code" in frame.columns) == ("former_district" in frame.columns)


def test_every_row_weight_is_the_served_designs(national, client, accounts):  # noqa: F811
    accounts.login("admin")
    frame = pd.read_csv(io.BytesIO(client.get(f"/research/{SLUG}/export-full.csv").data), encoding="utf-8-sig")
    with national.test_request_context():
        data = weighted(db.session(), SLUG, catalog.survey_provinces(db.session(), SLUG))
        cells = weight_cells.of_design(data)
    assert len(cells.table) < len(data.frame)  # cells, not one row per response
    served = data.frame.set_index("response_id")["weight"]
    official = frame["stream"] == "probability"
    assert frame[official].set_index("id")["weight"].to_dict() == pytest.approx(served.to_dict(), rel=1e-15)
    assert (~official).any() and frame.loc[~official, "weight"].isna().all()  # self-selected: no design weight


def test_long_names_are_shortened_the_same_way_every_time():
    names = stats_names([*LONG, "short", "x" * 40], "dta")
    assert all(len(n) <= 32 for n in names.values()) and len(set(names.values())) == 4
    assert names["short"] == "short" and names == stats_names([*LONG, "short", "x" * 40], "dta")
    assert names[LONG[0]].startswith("number_of_digital_devic") and names[LONG[0]] != names[LONG[1]]
    assert stats_names(LONG, "sav") == {n: n for n in LONG}  # SPSS takes 64
    assert len(stats_names(["y" * 64 + "-z"], "sav")["y" * 64 + "-z"]) == 64
    clash = stats_names(["a" * 40, "a" * 25 + "_" + stats_names(["a" * 40], "dta")["a" * 40][-6:]], "dta")
    assert len(set(clash.values())) == 2 and all(len(n) <= 32 for n in clash.values())


@pytest.fixture
def long_names(app):
    """The digital-skills survey under another name, with two questions whose names pass 32 characters."""
    data = yaml.safe_load((surveys.BUILTIN_DIR / "digital-skills.yaml").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["slug"] = "long-names"
    for name in LONG:
        data["pages"][-1]["questions"].append({"name": name, "type": "integer", "min": 0, "max": 50,
                                               "label": {"vi": "Số thiết bị", "en": "Number of devices"}})
    with app.app_context():
        catalog.publish(db.session(), surveys.from_dict(data, "long-names.yaml"), controller="Test controller",
                        contact="test@example.org")
    return app


@pytest.mark.parametrize("fmt", ["dta", "sav"])
def test_a_long_name_reaches_stata_and_spss_with_its_full_name_in_the_label(long_names, client, accounts,
                                                                             tmp_path, fmt):
    accounts.login("admin")
    response = client.get(f"/research/long-names/export-full.{fmt}?lang=en")
    assert response.status_code == 200, response.data[:300]
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(response.data)
    meta = (pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta)(str(path), metadataonly=True)[1]
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    short = stats_names(LONG, fmt)
    for name in LONG:
        assert labels[short[name]] == (f"{name}: Number of devices" if short[name] != name else "Number of devices")
    if fmt == "dta":
        assert all(len(c) <= 32 for c in meta.column_names) and short[LONG[0]] != short[LONG[1]]
