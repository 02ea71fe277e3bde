"""The khaosat command: users, tokens, importing forms, the demo."""

from pathlib import Path

import openpyxl
import pytest
from sqlmodel import func, select

from web import catalog, db
from web.models import ApiToken, Response, User
from web.models.surveys import SurveyVersion

pytestmark = pytest.mark.both_backends  # stores and reads back: SQLite and PostgreSQL


def test_create_user_reads_password_from_stdin(runner, app, client):
    result = runner.invoke(args=["create-user", "--role", "researcher", "--username", "lan"],
                           input="mật-khẩu-đủ-dài\n")
    assert result.exit_code == 0, result.output
    response = client.post("/accounts/login", data={"username": "lan", "password": "mật-khẩu-đủ-dài"})
    assert response.status_code == 302
    with app.app_context():
        user = db.session().exec(select(User).where(User.username == "lan")).one()
        assert user.role == "researcher"
        assert "mật-khẩu" not in user.password_hash and user.password_hash.startswith("$argon2id$")


def test_create_user_rejects_short_password_and_duplicates(runner, app):
    assert runner.invoke(args=["create-user", "--role", "admin", "--username", "a"], input="short\n").exit_code == 2
    assert runner.invoke(args=["create-user", "--role", "admin", "--username", "a"], input="long-enough\n").exit_code == 0
    again = runner.invoke(args=["create-user", "--role", "admin", "--username", "a"], input="long-enough\n")
    assert again.exit_code == 2 and "already exists" in again.output


def test_create_token_prints_it_once_and_stores_a_hash(runner, app, client):
    runner.invoke(args=["create-user", "--role", "volunteer", "--username", "minh"], input="long-enough\n")
    result = runner.invoke(args=["create-token", "--username", "minh"])
    assert result.exit_code == 0
    token = result.output.strip()
    assert token.startswith("ks_") and len(token) > 30
    with app.app_context():
        stored = db.session().exec(select(ApiToken)).one()
        assert token not in stored.token_hash
    response = client.post("/api/v1/submissions", json={}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422  # authenticated, body invalid
    assert runner.invoke(args=["create-token", "--username", "nobody"]).exit_code == 2


def test_import_form_publishes_and_reports_slug_and_version(runner, app, tmp_path):
    source = Path("surveys/instruments/digital-skills.yaml").read_text(encoding="utf-8")
    changed = tmp_path / "ds.yaml"
    changed.write_text(source.replace("Khảo sát kỹ năng số của người dân", "Khảo sát kỹ năng số (bản 2)"),
                       encoding="utf-8")
    result = runner.invoke(args=["import-form", str(changed)])
    assert result.exit_code == 0, result.output
    slug, version = result.output.split()
    assert slug == "digital-skills" and int(version) >= 2
    same = runner.invoke(args=["import-form", str(changed)])
    assert same.output == result.output


def test_import_form_bad_file_exits_2_and_changes_nothing(runner, app, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("slug: x-y\ntitle: {vi: Chỉ tiếng Việt}\npages: []\n", encoding="utf-8")
    with app.app_context():
        before = db.session().exec(select(func.count()).select_from(SurveyVersion)).one()
    result = runner.invoke(args=["import-form", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and "title" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session().exec(select(func.count()).select_from(SurveyVersion)).one() == before


@pytest.mark.slow
def test_demo_seeds_accounts_and_responses_once(runner, app):
    result = runner.invoke(args=["demo", "--per-ward", "4"])  # 1,713 responses, 123-125 wards per survey
    assert result.exit_code == 0, result.output
    assert "demo-researcher" in result.output
    with app.app_context():
        n = db.session().exec(select(func.count()).select_from(Response)).one()
        wards = db.session().exec(select(func.count(func.distinct(Response.ward_code)))).one()
    assert n > 126 * 5
    assert wards == 126
    again = runner.invoke(args=["demo", "--per-ward", "4"])  # says the demo is there already, adds nothing
    assert again.exit_code == 0, again.output
    with app.app_context():
        assert db.session().exec(select(func.count()).select_from(Response)).one() == n


def test_export_form_round_trips_through_import(runner, app, tmp_path):
    path = tmp_path / "ds.xlsx"
    result = runner.invoke(args=["export-form", "digital-skills", "-o", str(path)])
    assert result.exit_code == 0, result.output
    sheets = openpyxl.load_workbook(path, read_only=True).sheetnames
    assert {"survey", "choices", "settings"} <= set(sheets)
    again = runner.invoke(args=["import-form", str(path)])
    assert again.exit_code == 0, again.output
    assert again.output.split()[0] == "digital-skills"
    assert runner.invoke(args=["export-form", "nothing"]).exit_code == 2


def test_import_real_world_xlsform_or_fail_clearly(runner, app):
    forms = Path(__file__).resolve().parents[1] / "fixtures" / "xlsforms"
    good, bad = forms / "kobo-sample_xlsform.xlsx", forms / "pyxform-bad_calc.xlsx"
    assert runner.invoke(args=["import-form", str(good)]).exit_code == 0
    result = runner.invoke(args=["import-form", str(bad)])
    assert result.exit_code == 2
    assert "pyxform-bad_calc.xlsx" in result.output and "Traceback" not in result.output


def test_import_form_takes_the_csv_of_select_one_from_file(runner, app, tmp_path):
    """``--attach wards.csv`` (repeatable) gives the choice list; a missing or bad CSV is refused, as on
    the upload page, with exit status 2 and nothing stored."""
    form = Path("tests/fixtures/xlsforms/khaosat-select_from_file.xlsx")
    wards = Path("tests/fixtures/xlsforms/wards.csv")
    with app.app_context():
        before = db.session().exec(select(func.count()).select_from(SurveyVersion)).one()
    missing = runner.invoke(args=["import-form", str(form)])
    assert missing.exit_code == 2 and "The attached file 'wards.csv' is missing" in missing.output
    bad = tmp_path / "wards.csv"
    bad.write_text("code,label\n1,One\n", encoding="utf-8")  # no "name" column
    refused = runner.invoke(args=["import-form", str(form), "--attach", str(bad)])
    assert refused.exit_code == 2 and "wards.csv" in refused.output and "Traceback" not in refused.output
    bad.write_bytes("name,label\n1,Ph\xf6\xf6ng\n".encode("latin-1"))
    assert runner.invoke(args=["import-form", str(form), "--attach", str(bad)]).exit_code == 2
    assert runner.invoke(args=["import-form", str(form), "--attach", str(tmp_path / "none.csv")]).exit_code == 2
    with app.app_context():
        assert db.session().exec(select(func.count()).select_from(SurveyVersion)).one() == before
    other = tmp_path / "other.csv"
    other.write_text("name,label\n1,One\n", encoding="utf-8")
    result = runner.invoke(args=["import-form", str(form), "--attach", str(wards), "--attach", str(other),
                                 "--controller", "Sở KH&CN", "--contact", "lienhe@example.org"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["phuong", "1"]
    with app.app_context():
        home = catalog.instrument_of(catalog.current_version(db.session(), "phuong")).question("home_ward")
    assert [c.code for c in home.choices] == ["70", "73", "4"] and home.choices[1].label["en"] == "Cua Nam ward"
