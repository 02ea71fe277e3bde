"""Moving stored ward codes from the draft list to the official GSO codes (Alembic 0007, migrate-areas).

A database is built at revision 0006 holding draft codes for every Hà Nội ward whose code changes
(picked from the shipped draft map, never hardcoded), including the codes that now name another ward;
revision 0007 must move each row to the official code of the same ward, report every row, back them up,
and ``khaosat migrate-areas --restore`` must put back exactly what was there.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import re
import uuid as uuidlib

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import select

from surveys import areas
from tests.conftest import PG_URL, unavailable
from tests.web.test_api import submission
from web import area_codes, create_app, db
from web.config import normalise_database_url
from web.models import Draft, Response, WardAssignment, WardQuota

pytestmark = pytest.mark.both_backends  # stores and reads back: SQLite and PostgreSQL

UNPLACEABLE = 999_999  #: a code on no list: its rows must be reported unplaced, not guessed
DEFINITION = {"slug": "t", "pages": [{"name": "p", "questions": [{"name": "ward", "type": "area"},
                                                                {"name": "q", "type": "integer"}]}]}


def changing_hanoi() -> dict[int, int]:
    """Draft code -> official code for the Hà Nội wards whose code changes."""
    hanoi = {a.code for a in areas.wards(areas.HANOI)}
    return {d: o for d, o in areas.draft_to_official().items() if d != o and o in hanoi}


OPTIONS: dict[int, tuple[str, dict]] = {}  #: id(engine) -> (url, engine options), to open an app on it


@pytest.fixture
def engine_at_0006(backend, tmp_path):
    """An empty database for revisions up to 0006 (the schema before official codes), and its engine."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite'}"
        engine = db.make_engine(url)
        OPTIONS[id(engine)] = (url, {})
        yield engine
    else:
        if not PG_URL:
            unavailable("TEST_DATABASE_URL is not set (PostgreSQL tests)")
        schema = f"ks_areas_{uuidlib.uuid4().hex[:10]}"
        admin = sa.create_engine(normalise_database_url(PG_URL))
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        options = {"connect_args": {"options": f"-csearch_path={schema}"}}
        engine = db.make_engine(normalise_database_url(PG_URL), **options)
        OPTIONS[id(engine)] = (PG_URL, options)
        yield engine
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        return
    engine.dispose()


def seed_draft_rows(engine) -> dict[str, list]:
    """Rows as KhaoSat 0006 stored them (draft codes), returned as they were inserted."""
    command.upgrade(db.alembic_config(engine), "0006")
    changing = changing_hanoi()
    unchanged = next(a.code for a in areas.wards(areas.HANOI) if areas.draft_to_official().get(a.code) == a.code)
    codes = [*changing, unchanged]
    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    md = sa.MetaData()
    md.reflect(engine)
    t = md.tables
    with engine.begin() as conn:
        draft_names = areas.draft_names()
        conn.execute(t["areas"].insert(), [{"level": "ward", "code": c, "name": draft_names[c], "division_type": "phường",
                                            "parent_code": areas.HANOI} for c in codes])
        conn.execute(t["users"].insert(), [{"id": 1, "username": "v", "role": "volunteer", "password_hash": "x",
                                            "is_active": True, "created_at": now}])
        conn.execute(t["surveys"].insert(), [{"id": 1, "slug": "t", "created_at": now}])
        conn.execute(t["survey_versions"].insert(), [{"id": 1, "survey_id": 1, "version": 1, "definition": DEFINITION,
                                                      "checksum": "c", "created_at": now}])
        responses = [{"uuid": str(uuidlib.uuid4()), "survey_version_id": 1, "ward_code": c, "channel": "self",
                      "language": "vi", "answers": {"ward": c, "q": i}, "scores": {}, "meta": {},
                      "content_hash": "h", "base_weight": 1.0, "submitted_at": now, "is_excluded": False}
                     for i, c in enumerate([*codes, UNPLACEABLE, None])]
        conn.execute(t["responses"].insert(), responses)
        conn.execute(t["drafts"].insert(), [{"resume_code": f"R{i}", "survey_version_id": 1, "answers": {"ward": c},
                                             "page_index": 0, "language": "vi", "ward_code": c, "started_at": now,
                                             "updated_at": now} for i, c in enumerate(codes[:3])])
        conn.execute(t["population_margins"].insert(), [
            {"province_code": areas.HANOI, "ward_code": c, "sex": s, "age_band": "16-29", "count": 100 + i,
             "source": "census.csv", "uploaded_at": now} for i, c in enumerate(codes) for s in ("1", "2")])
        # every changing ward assigned to one volunteer: codes that swap meanings meet in one unique key
        conn.execute(t["ward_assignments"].insert(), [{"user_id": 1, "ward_code": c, "created_at": now} for c in codes])
        conn.execute(t["ward_quotas"].insert(), [{"survey_id": 1, "ward_code": c, "target": 10 + i, "updated_at": now}
                                                 for i, c in enumerate(codes)])
    return snapshot(engine)


def same_columns(snap: dict[str, list], like: dict[str, list]) -> dict[str, list]:
    """``snap`` with only the columns ``like`` has (later revisions add columns to these tables)."""
    return {t: [{k: row[k] for k in like_rows[0]} for row in snap[t]] if like_rows else snap[t]
            for t, like_rows in like.items()}


def snapshot(engine) -> dict[str, list]:
    md = sa.MetaData()
    md.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for name in ("responses", "drafts", "population_margins", "ward_assignments", "ward_quotas", "areas"):
            table = md.tables[name]
            cols = [c for c in table.c if c.name != "code_list"]
            rows = conn.execute(sa.select(*cols).order_by(table.c.id)).mappings().all()
            out[name] = [{k: json.loads(v) if k == "answers" and isinstance(v, str) else v for k, v in r.items()}
                         for r in rows]
    return out


def test_revision_0007_moves_every_draft_code_to_the_official_code_of_the_same_ward(engine_at_0006, tmp_path, capsys):
    before = seed_draft_rows(engine_at_0006)
    changing = changing_hanoi()
    assert len(changing) == 29
    # the codes that now name another ward are among them (226: Kim Liên -> Văn Miếu – Quốc Tử Giám)
    renamed = {d for d in changing if d in areas.ward_codes(areas.HANOI)}
    assert len(renamed) >= 2

    command.upgrade(db.alembic_config(engine_at_0006, tmp_path / "backups"), "heads")

    after = snapshot(engine_at_0006)
    official = areas.all_wards()
    drafts = areas.draft_names()
    for old, new in zip(before["responses"], after["responses"], strict=True):
        assert new["id"] == old["id"]
        if old["ward_code"] in (None, UNPLACEABLE):
            assert new["ward_code"] is None and new["answers"].get("ward") is None
            continue
        # the response stays with the ward it was given in: same name, the official code
        assert areas.name_key(official[new["ward_code"]].name) == areas.name_key(drafts[old["ward_code"]])
        assert new["answers"] == {**old["answers"], "ward": new["ward_code"]}
    for code in renamed:
        moved = [r for o, r in zip(before["responses"], after["responses"], strict=True) if o["ward_code"] == code]
        assert moved[0]["ward_code"] != code  # a Kim Liên response is not counted in Văn Miếu – Quốc Tử Giám
    for name, key in (("population_margins", "count"), ("ward_quotas", "target"), ("ward_assignments", "user_id")):
        old_by_ward = sorted((areas.draft_to_official()[r["ward_code"]], r[key]) for r in before[name])
        assert sorted((r["ward_code"], r[key]) for r in after[name]) == old_by_ward
    with engine_at_0006.connect() as conn:
        for name in area_codes.TABLES:
            lists = conn.execute(sa.text(f"SELECT DISTINCT code_list FROM {name}")).scalars().all()
            # ward_covariates is made after 0006 (revision 0009), so this installation has none
            assert lists == ([] if name == "ward_covariates" else [areas.CODE_LIST])
        assert conn.execute(sa.text("SELECT name FROM areas WHERE level = 'ward' AND code = 226")).scalar_one() \
            == official[226].name

    backups = list((tmp_path / "backups").glob("areas-*.jsonl"))
    assert len(backups) == 1
    with backups[0].with_suffix(".csv").open(encoding="utf-8") as f:
        report = list(csv.DictReader(f))
    # every row accounted for: the summary adds up to the rows stored, the report names each row that changed
    summary = re.findall(r"(\w+): (\d+) moved, (\d+) unchanged, (\d+) merged, (\d+) unplaced", capsys.readouterr().out)
    assert {t: sum(map(int, n)) for t, *n in summary} == {n: len(before.get(n, [])) for n in area_codes.TABLES}
    assert len(report) == sum(int(m) + int(g) + int(u) for _, m, _, g, u in summary)
    assert [r["row_id"] for r in report if r["action"] == "unplaced"] == [str(before["responses"][-2]["id"])]
    moved = {r["table"]: 0 for r in report}
    for r in report:
        moved[r["table"]] += r["action"] == "moved"
    assert moved["responses"] == 29 and moved["population_margins"] == 58

    with engine_at_0006.begin() as conn:
        area_codes.restore(conn, backups[0])
    restored = snapshot(engine_at_0006)
    assert same_columns(restored, before) == before


def test_migrate_areas_merges_onto_a_taken_ward_reports_it_and_restores_it(engine_at_0006, tmp_path):
    seed_draft_rows(engine_at_0006)
    command.upgrade(db.alembic_config(engine_at_0006, tmp_path / "backups"), "heads")
    draft, official = next(iter(changing_hanoi().items()))
    with engine_at_0006.begin() as conn:  # a margin cell kept on the draft list, its ward's cell already stored
        conn.execute(sa.text("INSERT INTO population_margins (province_code, ward_code, sex, age_band, count, source,"
                             " uploaded_at, code_list) VALUES (1, :c, '1', '16-29', 7, 'late.csv', :t, :l)"),
                     {"c": draft, "t": dt.datetime(2026, 2, 1), "l": areas.DRAFT_LIST})
    before = snapshot(engine_at_0006)
    count = next(r["count"] for r in before["population_margins"] if (r["ward_code"], r["sex"]) == (official, "1"))

    url, options = OPTIONS[id(engine_at_0006)]
    app = create_app({"TESTING": True, "DATABASE_URL": url, "ENGINE_OPTIONS": options})
    app.instance_path = str(tmp_path / "instance")
    dry = app.test_cli_runner().invoke(args=["migrate-areas", "--dry-run"])
    assert "would move to" in dry.output and "1 merged" in dry.output, dry.output
    assert snapshot(engine_at_0006) == before and not (tmp_path / "instance" / "backups").exists()
    result = app.test_cli_runner().invoke(args=["migrate-areas"])
    assert result.exit_code == 0, result.output
    assert "population_margins: 0 moved, 0 unchanged, 1 merged, 0 unplaced" in result.output
    after = snapshot(engine_at_0006)
    cells = [r for r in after["population_margins"] if (r["ward_code"], r["sex"], r["age_band"]) == (official, "1", "16-29")]
    assert [c["count"] for c in cells] == [count + 7]

    backup = next((tmp_path / "instance" / "backups").glob("areas-*.jsonl"))
    result = app.test_cli_runner().invoke(args=["migrate-areas", "--restore", str(backup)])
    assert result.exit_code == 0, result.output
    assert snapshot(engine_at_0006) == before
    with app.app_context():
        db.engine().dispose()


# The version stamp on rows stored by the app, and refusing to mix lists ------------------------------------

def test_rows_the_app_stores_carry_the_current_code_list(app, client, accounts):
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    assert client.post("/api/v1/submissions", json=submission(app), headers=headers).status_code == 201
    with app.app_context():
        session = db.session()
        ward = areas.wards(areas.HANOI)[5].code
        session.add(WardAssignment(user_id=1, ward_code=ward))
        session.add(WardQuota(survey_id=1, ward_code=ward, target=5))
        session.commit()
        stamps = {type(r).__name__: r.code_list for model in (Response, WardAssignment, WardQuota)
                  for r in session.exec(select(model)).all()}
    assert stamps == dict.fromkeys(("Response", "WardAssignment", "WardQuota"), areas.CODE_LIST)
    definition = client.get("/api/v1/surveys/digital-skills").get_json()
    assert definition["area_codes"] == areas.CODE_LIST


def test_a_submission_from_an_app_with_an_old_ward_list_is_refused(app, client, accounts):
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    body = submission(app) | {"area_codes": areas.DRAFT_LIST}
    response = client.post("/api/v1/submissions", json=body, headers=headers)
    assert response.status_code == 422
    error = response.get_json()["errors"]["area_codes"]
    assert "ward list on this device is out of date" in error["en"] and "Danh sách phường, xã" in error["vi"]
    with app.app_context():
        assert db.session().execute(sa.text("SELECT COUNT(*) FROM responses")).scalar_one() == 0
    assert client.post("/api/v1/submissions", json=submission(app) | {"area_codes": areas.CODE_LIST},
                       headers=headers).status_code == 201


def test_results_are_refused_while_two_code_lists_are_stored(app, client, accounts, runner, tmp_path):
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    for i in range(2):
        body = submission(app, uuid=f"7f0b2c9e-1d7a-4a55-9d1e-1a2b3c4d5e6{i}")
        assert client.post("/api/v1/submissions", json=body, headers=headers).status_code == 201
    with app.app_context(), db.engine().begin() as conn:  # one response as an older installation stored it
        conn.execute(sa.text("UPDATE responses SET code_list = :l WHERE id = (SELECT MIN(id) FROM responses)"),
                     {"l": areas.DRAFT_LIST})
    accounts.login("researcher")
    page = client.get("/research/digital-skills?lang=en")
    assert page.status_code == 409
    assert "responses 1, population margin cells 0" in html_text(page)
    vi = client.get("/research/digital-skills?lang=vi")
    assert vi.status_code == 409 and "khaosat migrate-areas" in vi.get_data(as_text=True)
    token = accounts.token("researcher")
    api = client.get("/api/v1/results/digital-skills?indicator=dsi_index", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 409 and "migrate-areas" in api.get_json()["errors"]["_"]["en"]

    app.instance_path = str(tmp_path)
    result = runner.invoke(args=["migrate-areas"])
    assert result.exit_code == 0 and "responses: " in result.output, result.output
    assert client.get("/research/digital-skills?lang=en").status_code == 200


@pytest.mark.slow
def test_the_demo_seeds_official_codes(app, runner):
    result = runner.invoke(args=["demo", "--per-ward", "2"])
    assert result.exit_code == 0, result.output
    hanoi = areas.ward_codes(areas.HANOI)
    with app.app_context(), db.engine().connect() as conn:
        responses = conn.execute(sa.text("SELECT ward_code, answers, code_list FROM responses")).all()
        margins = conn.execute(sa.text("SELECT DISTINCT ward_code, code_list FROM population_margins")).all()
        names = dict(conn.execute(sa.text("SELECT code, name FROM areas WHERE level = 'ward'")).all())
    assert {r[0] for r in responses} == hanoi and {m[0] for m in margins} == hanoi
    assert {r[2] for r in responses} | {m[1] for m in margins} == {areas.CODE_LIST}
    assert all((json.loads(a) if isinstance(a, str) else a)["ward"] == w for w, a, _ in responses)
    assert names == {code: w.name for code, w in areas.all_wards().items()}
    moved = {o for d, o in areas.draft_to_official().items() if d != o and o in hanoi}
    assert moved <= {r[0] for r in responses}  # the wards whose code changed are seeded under the official code


def test_a_poster_link_names_its_code_list_and_an_older_link_prefills_only_wards_whose_code_kept_its_meaning(
        app, client, accounts):
    accounts.login("supervisor")
    ward = next(w for w in areas.wards(areas.HANOI) if areas.draft_to_official().get(w.code) != w.code)
    page = html_text(client.get(f"/collect/poster/digital-skills?ward={ward.code}"))
    assert f"/s/digital-skills?ward={ward.code}&codes={areas.LINK_TAG}" in page
    client.post("/accounts/logout")
    kept = next(w for w in areas.wards(areas.HANOI) if areas.draft_to_official().get(w.code) == w.code)
    for query, expected in ((f"ward={ward.code}&codes={areas.LINK_TAG}", ward.code),
                            (f"ward={ward.code}", None),  # printed before: this code was another ward's
                            (f"ward={kept.code}", kept.code)):
        fresh = app.test_client()
        assert fresh.post(f"/s/digital-skills?{query}").status_code == 302
        with app.app_context():
            draft = db.session().execute(sa.select(Draft).order_by(Draft.id.desc())).scalars().first()
        assert (draft.ward_code, draft.answers.get("ward")) == (expected, expected), query


def html_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_fieldwork_pages_and_changes_wait_while_an_assignment_holds_an_older_code(app, client, accounts):
    accounts.login("admin")
    ward = areas.wards(areas.HANOI)[0].code
    with app.app_context():
        db.session().add(WardAssignment(user_id=1, ward_code=ward, code_list=areas.DRAFT_LIST))
        db.session().commit()
    page = client.get("/admin/fieldwork?lang=en")
    assert page.status_code == 409 and "ward assignments 1, quotas 0" in html_text(page)
    vi = client.get("/admin/fieldwork?lang=vi")
    assert vi.status_code == 409 and "khaosat migrate-areas" in html_text(vi)
