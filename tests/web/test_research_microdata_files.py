"""What a Stata, SPSS or R user finds in the microdata files: the same data in all five formats (the same
non-missing count in every column), ids and codes as integers, labels for every variable and for coded
values (derived levels included), one charset in the Content-Type, the demo marked as synthetic, and a
roster's rows as a table of their own (an XLSX sheet, or a second file of the format in a zip)."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from sqlmodel import select

from tests.surveys.test_answers import INS
from web import catalog, db
from web.models import Response

FORMATS = ("csv", "xlsx", "sav", "dta", "parquet")


@pytest.fixture
def demo(load_demo):
    load_demo(8)


def _frame(fmt: str, data: bytes, tmp_path, name: str = "x") -> tuple[pd.DataFrame, object]:
    """The table in a downloaded file, and the file's own metadata (pyreadstat's, or the Arrow schema)."""
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False, na_values=[""]), None
    if fmt == "xlsx":
        return pd.read_excel(io.BytesIO(data), sheet_name="data"), None
    if fmt == "parquet":
        return pd.read_parquet(io.BytesIO(data)), pq.read_schema(io.BytesIO(data))
    path = tmp_path / f"{name}.{fmt}"
    path.write_bytes(data)
    return (pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta)(str(path))


def test_every_format_holds_the_same_values_with_integer_types_and_labels(client, accounts, demo, tmp_path):
    accounts.login("researcher")
    frames, meta, responses = {}, {}, {}
    for fmt in FORMATS:
        response = client.get(f"/research/digital-skills/export.{fmt}?lang=vi")
        assert response.status_code == 200, fmt
        responses[fmt] = response
        frames[fmt], meta[fmt] = _frame(fmt, response.data, tmp_path)
    assert responses["csv"].headers["Content-Type"] == "text/csv; charset=utf-8"
    counts = {fmt: frame.notna().sum() for fmt, frame in frames.items()}
    for fmt in FORMATS:
        assert list(frames[fmt].columns) == list(frames["csv"].columns), fmt
        different = counts[fmt][counts[fmt] != counts["csv"]]
        assert different.empty, (fmt, different.to_dict(), counts["csv"][different.index].to_dict())
    assert counts["sav"]["age_band"] == counts["csv"]["age_band"] > 0.9 * len(frames["csv"])

    # CSV: codes and ids as R writes them, "1,1,70", never "1.0"
    header, first = responses["csv"].get_data(as_text=True).lstrip("\ufeff").split("\r\n")[:2]
    cells = dict(zip(header.split(","), first.split(","), strict=False))
    for name in ("id", "survey_version", "ward_code", "sex", "internet_3m"):
        assert cells[name].isdigit(), (name, cells[name])
    assert str(frames["csv"]["id"].dtype) == "int64" and str(frames["csv"]["sex"].dtype) == "int64"

    # Parquet: integer types, each column's labels, the codebook inside the file
    schema = meta["parquet"]
    for name in ("id", "ward_code", "sex", "dsi_level"):
        assert str(schema.field(name).type) == "int64", name
    assert str(schema.field("weight").type) == "double" and str(schema.field("age_band").type) == "string"
    sex = schema.field("sex").metadata
    assert sex[b"label_vi"].decode() == "Giới tính của bạn" and sex[b"label_en"].decode() == "Your sex"
    assert json.loads(sex[b"value_labels"])["2"] == {"vi": "Nữ", "en": "Female"}
    codebook = json.loads(schema.metadata[b"khaosat.codebook"])
    assert {row["variable"] for row in codebook} == set(frames["csv"].columns)
    assert schema.metadata[b"khaosat.synthetic"].decode() == "Dữ liệu mô phỏng / Synthetic demo data"

    # SPSS and Stata: whole-number formats and types, labels of answers and of derived levels
    sav, dta = meta["sav"], meta["dta"]
    assert sav.original_variable_types["id"] == "F8.0" and sav.original_variable_types["sex"] == "F8.0"
    assert dta.readstat_variable_types["id"] == "int32" and dta.readstat_variable_types["ward_code"] == "int32"
    assert dta.readstat_variable_types["weight"] == "double"
    for m in (sav, dta):
        assert m.variable_value_labels["age_band"] == {1: "16-29", 2: "30-44", 3: "45-59", 4: "60+"}
        assert m.variable_value_labels["dsi_level"][0] == "Không có kỹ năng số"
        assert m.variable_value_labels["sat_band"][4] == "Nâng cao"
        labels = dict(zip(m.column_names, m.column_labels, strict=True))
        assert labels["dsi_index"] == "Chỉ số kỹ năng số (0–100)"
        assert labels["dsi_area_4"] == "Hoạt động số, lĩnh vực an toàn: mức"  # the DigComp area by name
        assert "Dữ liệu mô phỏng" in m.file_label
    assert any("Synthetic demo data" in line for line in sav.notes)

    # the demo says so in every file name and in the XLSX properties
    for fmt, response in responses.items():
        assert 'filename="synthetic-demo-digital-skills-scientific-use-vi.' in response.headers["Content-Disposition"], fmt
        assert response.headers["X-KhaoSat-Data"] == "synthetic-demo"
    with zipfile.ZipFile(io.BytesIO(responses["xlsx"].data)) as book:
        assert "Dữ liệu mô phỏng" in book.read("docProps/core.xml").decode()


def test_derived_variables_are_labelled_in_both_languages(client, accounts, demo):
    accounts.login("researcher")
    book = pd.read_csv(io.BytesIO(client.get("/research/digital-skills/codebook.csv").data), encoding="utf-8-sig")
    book = book.set_index("variable")
    assert book.loc["dsi_index", "label_en"] == "Digital-skills index (0–100)"
    assert book.loc["sat_band_2", "label_en"] == "Self-assessed skills, communication and collaboration: band"
    assert book.loc["dsi_level", "labels_en"].startswith("0 = No digital skills; 1 = Limited")
    assert not book["label_en"].str.startswith("Derived indicator").any()
    assert not book["label_vi"].str.startswith("Chỉ số suy ra").any()


def _roster_survey(app):
    with app.app_context():
        catalog.publish(db.session(), INS, controller="Test controller", contact="test@example.org")
    for rows in ({"members.0.m_age": "44"}, {"members.0.m_age": "44", "members.1.m_age": "9",
                                            "members.1.m_school": "1"}):
        visitor = app.test_client()
        visitor.post("/s/types")
        answers = {"age": "30", "sat_a": "2", "sat_b": "3", "k1": "b", "k2": ["a", "c"], **rows}
        assert visitor.post("/s/types/p/0", data=answers).status_code == 302
        assert visitor.post("/s/types/p/1", data={"works": "1"}).status_code == 302


def _main_and_roster(response, fmt, stem, tmp_path):
    """The main table and the ``members`` roster table of a download (an XLSX sheet, or zip members)."""
    assert response.status_code == 200
    if fmt == "xlsx":
        book = pd.read_excel(io.BytesIO(response.data), sheet_name=None)
        return book["data"], book["members"]
    assert response.headers["Content-Type"] == "application/zip"
    assert f'filename="{stem}-' in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = set(archive.namelist())
        assert names == {f"{stem}.{fmt}", f"{stem}-members.{fmt}", f"{stem}-codebook.csv"}
        return (_frame(fmt, archive.read(f"{stem}.{fmt}"), tmp_path, "main")[0],
                _frame(fmt, archive.read(f"{stem}-members.{fmt}"), tmp_path, "members")[0])


def _assert_roster_matches(main, roster):
    assert sorted(main["members"]) == [1, 2]  # the main table keeps the number of rows
    assert list(roster.columns) == ["id", "row", "m_age", "m_school"]
    assert len(roster) == 3 and set(roster["id"]) == set(main["id"])
    two = main.loc[main["members"] == 2, "id"].iloc[0]
    rows = roster[roster["id"] == two].sort_values("row")
    assert rows["row"].tolist() == [1, 2] and rows["m_age"].tolist() == [44, 9]
    assert rows["m_school"].iloc[1] == 1 and pd.isna(rows["m_school"].iloc[0])


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_roster_is_a_table_of_its_own_in_every_format(app, client, accounts, tmp_path, fmt):
    _roster_survey(app)
    accounts.login("researcher")  # the scientific-use file: the roster keyed by the same release numbers
    main, roster = _main_and_roster(client.get(f"/research/types/export.{fmt}?lang=en"), fmt,
                                    "types-scientific-use-en", tmp_path)
    _assert_roster_matches(main, roster)
    with app.app_context():
        ids = {r.id for r in db.session().exec(select(Response)).all()}
    assert set(main["id"]) == {1, 2} and ids  # release numbers 1..n, whatever the database ids are
    public = client.get(f"/research/types/export-public.{fmt}?lang=en")  # the public file: counts only
    assert public.status_code == 200
    if fmt == "xlsx":
        assert "members" not in pd.read_excel(io.BytesIO(public.data), sheet_name=None)
    else:
        assert public.headers["Content-Type"] != "application/zip"
    client.post("/accounts/logout")
    accounts.login("admin")  # the full file: the roster keyed by the response ids
    main, roster = _main_and_roster(client.get(f"/research/types/export-full.{fmt}?lang=en"), fmt,
                                    "types-full-en", tmp_path)
    _assert_roster_matches(main, roster)
    assert set(main["id"]) == ids
