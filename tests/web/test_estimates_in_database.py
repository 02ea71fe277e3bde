"""A survey too large for its design in memory is estimated by the database (:mod:`web.research.in_database`):
its served weights joined to its responses give the rows of the design made in memory, and every estimate the
results pages make (a share by ward, by province, by sex and age band; a score) is that design's, on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text, update
from sqlmodel import select

from analysis.left_behind import left_behind
from analysis.rounds import round_change
from tests.web.over_the_limit import in_memory, over_the_limit, served_and_in_memory
from tests.web.test_research_rounds import _two_rounds
from tests.web.test_weighting_jobs import _wait
from tests.web.xlsx_files import read_xlsx
from web import catalog, db
from web.models import AuditEvent, Response, SurveyRound
from web.research import (
    downloads,
    in_database,
    query,
    results,
    small_area,
    variables,
    weight_cells,
    weighting,
)

pytestmark = pytest.mark.both_backends  # the join reads JSON in each dialect's own way

SLUG = "digital-skills"
OTHERS = ("area_type", "ethnicity", "urban_rural", "education", "income")  #: the demo's groups besides sex and age band


def _made(app):
    """The design made in memory, the design the database estimates with (cells published, rows kept), and its
    rows."""
    with app.test_request_context():
        session = db.session()
        provinces = catalog.survey_provinces(session, SLUG)
        data = weighting.build(session, SLUG, provinces)
        stamp = weighting.data_stamp_of(session, SLUG, provinces)
        cells = weight_cells.of_cross_table(session, SLUG, provinces, stamp)
        key = weighting.snapshot_key(SLUG, provinces)
        in_database.publish(session, key, cells, provinces)
        session.commit()
        downloads.keep_rows(SLUG)
        assert in_database.stale_rows(session, SLUG, stamp.newest) == 0
        levels = [in_database.level_column("dsi_level", code) for code in "012345"]
        served = in_database.design(session, SLUG, key, stamp.newest, ["at_least_basic", "dsi_index", *levels],
                                    OTHERS)
        rows = pd.read_sql_query(text(served.relation), session.connection())
    return data, served, rows


def test_the_database_gives_every_response_of_the_design_its_weight_and_groups(app, load_demo):
    load_demo(8)
    data, _, rows = _made(app)
    assert data.method == "raked" and len(rows) == len(data.frame) > 900
    memory = data.frame.set_index("response_id").sort_index()
    mine = rows.set_index("response_id").sort_index()
    assert mine.index.tolist() == memory.index.tolist()
    assert mine["weight"].to_numpy() == pytest.approx(memory["weight"].to_numpy(), rel=1e-9)
    for name in ("stratum", "psu", "sex", "age_band", *OTHERS):
        assert mine[name].astype(object).where(mine[name].notna(), None).tolist() == \
            memory[name].astype(object).where(memory[name].notna(), None).tolist(), name
    assert all(mine[name].nunique() >= 2 for name in OTHERS)
    assert mine["ward_code"].astype("int64").tolist() == memory["ward_code"].astype("int64").tolist()
    assert mine["province_code"].astype("int64").tolist() == memory["province_code"].astype("int64").tolist()
    assert mine["dsi_index"].to_numpy() == pytest.approx(memory["dsi_index"].to_numpy(dtype=float), nan_ok=True)
    level = memory["dsi_level"].map(weighting.code)  # a categorical indicator: each level a 0/1 column
    assert level.notna().sum() > 700 and set(level.dropna()) <= set("012345")
    for code in "012345":
        want = np.where(level.isna(), np.nan, (level == code).astype(float))
        assert mine[f"dsi_level={code}"].to_numpy(dtype=float) == pytest.approx(want, nan_ok=True), code


@pytest.mark.parametrize("by", [["ward_code"], ["province_code"], ["former_district"], ["sex", "age_band"], [],
                                ["education"], ["ward_code", "area_type"], ["province_code", "urban_rural"]])
def test_a_share_and_a_score_are_the_designs_in_memory(app, load_demo, by):
    load_demo(8)
    data, served, _ = _made(app)
    for name, kind in (("at_least_basic", "share"), ("dsi_index", "score")):
        if kind == "share":
            memory = data.design.proportion(name, by=by or None, ci_method="logit")
            mine = served.proportion(name, by=by or None, ci_method="logit")
        else:
            memory, mine = data.design.mean(name, by=by or None), served.mean(name, by=by or None)
        keys = [*by, *([name] if kind == "share" else [])]
        for table in (memory, mine):
            for k in keys:
                table[k] = table[k].map(lambda v: weighting.code(v))
        memory = memory.sort_values(keys).reset_index(drop=True) if keys else memory
        mine = mine.sort_values(keys).reset_index(drop=True) if keys else mine
        assert len(mine) == len(memory) > 0
        for column in ("estimate", "se", "ci_low", "ci_high", "n"):
            assert mine[column].to_numpy(dtype=float) == pytest.approx(memory[column].to_numpy(dtype=float),
                                                                       rel=1e-9, abs=1e-12, nan_ok=True), column


def test_the_results_page_of_a_large_survey_comes_from_the_database(app, load_demo, client, accounts, tmp_path):
    """Over the threshold the results page queues the weighting run and says the figures are being prepared; once
    it has run, the page shows the table from the database's roll-up, in the reader's language, with the numbers of
    the design in memory."""
    load_demo(8)
    over_the_limit(app, tmp_path)
    accounts.login("researcher")
    first = client.get(f"/research/{SLUG}?lang=en")
    assert first.status_code == 200 and "being prepared" in first.get_data(as_text=True)
    _wait(app)
    page = client.get(f"/research/{SLUG}?indicator=at_least_basic&level=ward&lang=en")
    text = page.get_data(as_text=True)
    assert page.status_code == 200, text
    assert "computed by the database" in text and "Figures as of" in text
    assert '<p class="stream probability"><strong>Probability sample</strong>' in text  # which stream, as in memory
    data = in_memory(app)
    memory = data.design.proportion("at_least_basic", by="ward_code", ci_method="logit")
    memory = memory[memory["at_least_basic"] == 1]
    shown = memory.sort_values("n", ascending=False).iloc[0]
    assert f"{shown['estimate'] * 100:.1f}" in text
    vi = client.get(f"/research/{SLUG}?indicator=dsi_index&by=sex&lang=vi")
    assert vi.status_code == 200 and "cơ sở dữ liệu" in vi.get_data(as_text=True)
    districts = client.get(f"/research/{SLUG}?indicator=at_least_basic&level=former_district&lang=vi")
    text = districts.get_data(as_text=True)
    assert districts.status_code == 200 and "Quận Ba Đình" in text and "Huyện Sóc Sơn" in text
    memory = data.design.proportion("at_least_basic", by="former_district", ci_method="logit")
    shown = memory[memory["at_least_basic"] == 1].sort_values("n", ascending=False).iloc[0]
    assert f"{shown['estimate'] * 100:.1f}".replace(".", ",") in text
    for bad in ("by=nope", "level=%3Cscript%3E", "indicator=%27%3B--"):
        assert client.get(f"/research/{SLUG}?{bad}&lang=en").status_code == 404, bad  # not offered at this size


def test_other_groups_of_a_large_survey_are_the_design_in_memorys(app, load_demo, client, accounts, tmp_path):
    """Education, ethnicity, income, urban/rural as answered and the ward's type, each in a roll-up of its own by area
    (read with the others from one table of the rows): a share and a score by each group, and by ward and group, are
    those of the design in memory (estimate, interval, n, and people for a share); a group is not crossed with sex or
    age band at this size (the page shows the first group and says why, the API answers 422), and the page names its
    values in each language."""
    load_demo(8)
    data = served_and_in_memory(app, client, accounts, tmp_path)
    compared = {"province": 0, "ward": 0}
    for group in OTHERS:
        for name, level in (("at_least_basic", "province"), ("dsi_index", "ward")):
            body = client.get(f"/api/v1/results/{SLUG}?indicator={name}&by={group}&level={level}").get_json()
            assert body["by"] == [group] and body["computed"] == "database", (group, name)
            keys = [group] if level == "province" else ["ward_code", group]
            design = data.design
            memory = (design.proportion(name, by=keys, ci_method="logit") if name == "at_least_basic"
                      else design.mean(name, by=keys))
            if name == "at_least_basic":
                memory = memory[pd.to_numeric(memory[name]) == 1]
            memory = memory.assign(**{k: memory[k].map(lambda v: str(weighting.code(v))) for k in keys})
            shown = pd.DataFrame([r for r in body["rows"] if r["reliability"] != "suppressed"])
            assert len(shown) >= 2 or level == "ward", (group, name)  # ethnicity by ward: every minority cell small
            compared[level] += len(shown)
            if shown.empty:
                continue
            shown = shown.assign(**{k: shown[k].map(lambda v: str(weighting.code(v))) for k in keys})
            both = shown.merge(memory, on=keys, suffixes=("", "_memory"))
            assert len(both) == len(shown), (group, name)
            for column in ("estimate", "ci_low", "ci_high", "n"):
                assert both[column].to_numpy(dtype=float) == pytest.approx(
                    both[f"{column}_memory"].to_numpy(dtype=float), rel=1e-9, nan_ok=True), (group, name, column)
    assert compared["province"] >= 10 and compared["ward"] >= 50
    not_crossed = client.get(f"/research/{SLUG}?indicator=dsi_index&by=sex&by2=education&lang=en")
    text = not_crossed.get_data(as_text=True)
    assert not_crossed.status_code == 200 and "At this size sex is not crossed with education" in text
    assert "Female" in text and "Upper secondary" not in text.split('id="results-table"')[1]  # sex alone
    vi = client.get(f"/research/{SLUG}?indicator=dsi_index&by=education&by2=age_band&lang=vi").get_data(as_text=True)
    assert "không được kết hợp với" in vi
    assert client.get(f"/api/v1/results/{SLUG}?indicator=dsi_index&by=education&by2=age_band").status_code == 422
    en = client.get(f"/research/{SLUG}?indicator=at_least_basic&by=area_type&lang=en").get_data(as_text=True)
    vi = client.get(f"/research/{SLUG}?indicator=at_least_basic&by=area_type&lang=vi").get_data(as_text=True)
    assert '<option value="education"' in en and "Urban wards (phường)" in en and "Rural communes (xã)" in en
    assert "Phường (đô thị)" in vi and "Xã (nông thôn)" in vi


def test_a_categorical_indicator_of_a_large_survey_is_the_design_in_memorys(app, load_demo, client, accounts, tmp_path):
    """A categorical indicator (the DSI level) over the threshold: the share of each level with its interval, n and
    people, from each level's 0/1 column in the roll-up, are the design in memory's, overall, by sex and by ward,
    levels in their order; its page, chart and API show it."""
    load_demo(8)
    data = served_and_in_memory(app, client, accounts, tmp_path)
    with app.test_request_context():
        indicator = next(i for i in variables.indicators(query.load_instrument(SLUG), data, "en")
                         if i.name == "dsi_level")
    assert indicator.categorical
    for asked, by in (("", []), ("&by=sex", ["sex"]), ("&level=ward", ["ward_code"])):
        got = client.get(f"/api/v1/results/{SLUG}?indicator=dsi_level{asked}").get_json()
        assert "rows" in got, got
        rows = pd.DataFrame(got["rows"])
        with app.test_request_context():
            want = results.estimate(data.design, indicator, by)
        keys = [*by, "category"]
        for table in (rows, want):
            table[keys] = table[keys].map(lambda v: str(weighting.code(v)))
        both = rows.merge(want, on=keys, suffixes=("", "_memory"))
        assert len(both) == len(rows) == len(want) >= 6
        if not by:
            assert rows["category"].tolist() == [code for code, _label in indicator.levels
                                                 if code in set(rows["category"])]  # the levels' order
            assert rows["estimate"].sum() == pytest.approx(1.0)
        shown = both[(both["reliability"] != "suppressed") & (both["reliability_memory"] != "suppressed")]
        assert len(shown) >= 6 and (shown["n"] == shown["n_memory"]).all()
        for column in ("estimate", "se", "ci_low", "ci_high", "people"):
            assert shown[column].to_numpy(dtype=float) == pytest.approx(
                shown[f"{column}_memory"].to_numpy(dtype=float), rel=1e-9, abs=1e-12), column
        assert (shown["ci_low"] <= shown["estimate"]).all() and (shown["estimate"] <= shown["ci_high"]).all()
    page = client.get(f"/research/{SLUG}?indicator=dsi_level&by=sex&lang=vi").get_data(as_text=True)
    assert "Nữ" in page and indicator.level_label(indicator.levels[-1][0]) not in ("", None)
    assert "Thành phố Hà Nội: <strong>" not in page  # no one figure for the whole city: a share per level
    assert client.get(f"/api/v1/results/{SLUG}?indicator=dsi_level").get_json()["benchmark"] is None
    svg = client.get(f"/research/{SLUG}/chart.svg?indicator=dsi_level&by=sex&lang=en")
    assert svg.status_code == 200 and "Probability sample" in svg.get_data(as_text=True)


def test_the_chart_and_table_files_of_a_large_survey_come_from_the_database(app, load_demo, client, accounts,
                                                                           tmp_path):
    """The chart (SVG, PNG) and the table's CSV and XLSX of a survey over the threshold hold the rows its page and API
    show, the stream they come from on every row, and an audit record of each file."""
    load_demo(8)
    over_the_limit(app, tmp_path)
    accounts.login("researcher")
    asked = "indicator=at_least_basic&level=ward"
    assert "being prepared" in client.get(f"/research/{SLUG}/table.csv?{asked}&lang=en").get_data(as_text=True)
    _wait(app)
    rows = client.get(f"/api/v1/results/{SLUG}?{asked}").get_json()["rows"]
    csv = pd.read_csv(io.BytesIO(client.get(f"/research/{SLUG}/table.csv?{asked}&lang=vi").data),
                      encoding="utf-8-sig")
    xlsx = read_xlsx(client.get(f"/research/{SLUG}/table.xlsx?{asked}&lang=en").data, sheet_name=None)
    xlsx = next(iter(xlsx.values()))
    for table in (csv, xlsx):
        assert len(table) == len(rows) > 100
        assert set(table["stream"]) == {"probability"}
        assert table["estimate"].to_numpy(dtype=float) == pytest.approx(
            [row["estimate"] if row["estimate"] is not None else float("nan") for row in rows], nan_ok=True)
    assert set(csv["stream_label"]) == {"Mẫu xác suất"} and csv["ward"].str.startswith("Phường ").any()
    shown = csv[csv["reliability"] != "suppressed"]
    assert len(shown) > 10 and csv.loc[csv["reliability"] == "suppressed", "estimate"].isna().all()
    assert (shown["ci_low"] <= shown["estimate"]).all() and (shown["estimate"] <= shown["ci_high"]).all()
    svg = client.get(f"/research/{SLUG}/chart.svg?indicator=at_least_basic&by=age_band&lang=en")
    text = svg.get_data(as_text=True)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert "Probability sample" in text and "60 and over" in text  # subtitle and a bar's label
    png = client.get(f"/research/{SLUG}/chart.png?indicator=dsi_index&level=province&lang=vi&size=narrow")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    page = client.get(f"/research/{SLUG}?{asked}&lang=en").get_data(as_text=True)
    assert "/chart.png?" in page and "/table.xlsx?" in page and "Charts, rankings" not in page
    crossed = client.get(f"/research/{SLUG}/table.csv?by=age_band&by2=education&lang=en")  # age band alone
    assert crossed.status_code == 200 and "education" not in crossed.get_data(as_text=True).splitlines()[0]
    with app.app_context():
        exported = db.session().exec(select(AuditEvent.target).where(AuditEvent.action == "export")).all()
    assert any(name.endswith(".csv") for name in exported) and any(name.endswith(".xlsx") for name in exported)


def test_the_api_of_a_large_survey_answers_from_the_database(app, load_demo, client, accounts, tmp_path):
    """``/api/v1/results`` of a survey over the threshold: 202 while its figures are prepared, then the rows of the
    design in memory, said to be computed by the database; what it does not offer at its size is a 422 or a 409."""
    load_demo(8)
    over_the_limit(app, tmp_path)
    accounts.login("researcher")
    assert client.get(f"/api/v1/results/{SLUG}?indicator=at_least_basic").status_code == 202
    _wait(app)
    answer = client.get(f"/api/v1/results/{SLUG}?indicator=at_least_basic&by=ward")
    body = answer.get_json()
    assert answer.status_code == 200 and body["computed"] == "database" and body["level"] == "ward"
    assert body["weights"] == "raked" and body["stream"] == "probability" and body["as_of"]
    data = in_memory(app)
    memory = data.design.proportion("at_least_basic", by="ward_code", ci_method="logit")
    memory = memory[memory["at_least_basic"] == 1].set_index("ward_code")
    shown = [row for row in body["rows"] if row["reliability"] != "suppressed"]
    assert len(shown) > 10
    for row in shown:
        assert row["estimate"] == pytest.approx(memory.loc[row["ward_code"], "estimate"], rel=1e-9)
        assert row["ci_low"] == pytest.approx(memory.loc[row["ward_code"], "ci_low"], rel=1e-9)
        assert row["ci_low"] <= row["estimate"] <= row["ci_high"] and row["ward"]
    assert client.get(f"/api/v1/results/{SLUG}?indicator=nope").status_code == 422
    assert client.get(f"/api/v1/results/{SLUG}?indicator=at_least_basic&estimator=nope").status_code == 422
    assert client.get(f"/api/v1/results/{SLUG}?indicator=at_least_basic&streams=both").status_code == 409


def test_the_small_area_estimates_of_a_large_survey_are_the_design_in_memorys(app, load_demo, client, accounts,
                                                                               tmp_path):
    """The model-based (Fay-Herriot) ward estimates of a survey over the threshold are made from the roll-up's direct
    ward estimates: every ward's model estimate, RMSE, interval, shrinkage and direct estimate, and the model's
    variance, are those made from the design in memory (API ``estimator=fh``), for a share and a score; its page and
    chart show them, in each language, and the results page links to them."""
    load_demo(8)
    over_the_limit(app, tmp_path)
    accounts.login("researcher")
    first = client.get(f"/research/{SLUG}/small-area?indicator=at_least_basic&lang=en")
    assert first.status_code == 200 and "being prepared" in first.get_data(as_text=True)
    _wait(app)
    fh = {name: client.get(f"/api/v1/results/{SLUG}?indicator={name}&estimator=fh").get_json()
          for name in ("at_least_basic", "dsi_index")}
    en = client.get(f"/research/{SLUG}/small-area?indicator=at_least_basic&lang=en").get_data(as_text=True)
    vi = client.get(f"/research/{SLUG}/small-area?indicator=dsi_index&lang=vi").get_data(as_text=True)
    chart = client.get(f"/research/{SLUG}/small-area/chart.png?indicator=at_least_basic")
    results_page = client.get(f"/research/{SLUG}?indicator=at_least_basic&level=ward&lang=en").get_data(as_text=True)
    data = in_memory(app)
    with app.test_request_context():
        memory = {name: small_area.api_rows(query.read(SLUG, {"indicator": name, "level": "ward"}, api=True,
                                                       data=data)) for name in fh}
    for name, body in fh.items():
        made = memory[name]
        assert body["computed"] == "database" and body["estimator"] == "fh" and "computed" not in made
        assert body["problem"] is None and body["covariates"] == made["covariates"] and body["covariates"]
        assert body["refvar"] == pytest.approx(made["refvar"], rel=1e-7)
        assert body["benchmark"] == pytest.approx(made["benchmark"], rel=1e-9)
        got, want = pd.DataFrame(body["rows"]), pd.DataFrame(made["rows"])
        assert len(got) == len(want) > 100 and got["ward_code"].tolist() == want["ward_code"].tolist()
        assert got["status"].tolist() == want["status"].tolist() and (got["status"] == "model").sum() > 20
        assert got["versus_city"].tolist() == want["versus_city"].tolist()
        for column in ("estimate", "se", "ci_low", "ci_high", "gamma", "direct", "direct_se", "direct_ci_low",
                       "direct_ci_high", "n"):
            assert got[column].to_numpy(dtype=float) == pytest.approx(want[column].to_numpy(dtype=float), rel=1e-6,
                                                                      abs=1e-9, nan_ok=True), (name, column)
        assert (got["ci_low"] <= got["estimate"]).all() and (got["estimate"] <= got["ci_high"]).all()
    assert "Figures as of" in en and "Phường Hoàn Kiếm" in en and "Model-based" in en
    assert "Số liệu tính đến" in vi and "Phường Hoàn Kiếm" in vi
    assert chart.status_code == 200 and chart.mimetype == "image/png" and chart.data[:4] == b"\x89PNG"
    assert "Model-based (small-area) estimates for every ward" in results_page


def test_the_weighting_page_of_a_large_survey_is_the_design_in_memorys(app, load_demo, client, accounts, tmp_path):
    """The weighting page of a survey over the threshold: the diagnostics of each step (n, effective n, design effect,
    smallest and largest weight), made from the database's cross-table, and the weighted estimate beside the
    unweighted one by sex, from the roll-up, are those of the design in memory; in each language."""
    load_demo(8)
    over_the_limit(app, tmp_path)
    accounts.login("researcher")
    first = client.get(f"/research/{SLUG}/weighting?lang=en")
    assert first.status_code == 200 and "being prepared" in first.get_data(as_text=True)
    _wait(app)
    en = client.get(f"/research/{SLUG}/weighting?indicator=at_least_basic&by=sex&lang=en")
    vi = client.get(f"/research/{SLUG}/weighting?indicator=dsi_index&lang=vi").get_data(as_text=True)
    assert en.status_code == 200
    page = en.get_data(as_text=True)
    data = in_memory(app)
    with app.test_request_context():
        offered = variables.indicators(query.load_instrument(SLUG), data, "en")
        indicator = next(i for i in offered if i.name == "at_least_basic")
        with app.test_request_context(query_string={"lang": "en"}):
            q = query.read(SLUG, {"indicator": "at_least_basic", "by": "sex"}, data=data)
            memory = results.unweighted_vs_weighted(data.frame, data.design, indicator, "sex",
                                                    family=query.cell_family(q))
    diagnostics = data.diagnostics
    assert diagnostics["step"].tolist() == ["base", "raked", "trimmed"]
    rows = _rows(page, "Effective n")
    assert [r[0] for r in rows] == ["Design weights", "Calibrated", "Raked and trimmed"]
    for row, step in zip(rows, diagnostics.itertuples(), strict=True):
        assert row[1:] == [f"{step.n:,.0f}", f"{step.effective_n:,.0f}", f"{step.kish_deff:,.2f}", f"{step.min:,.1f}",
                           f"{step.max:,.1f}", f"{step.max_min_ratio:,.1f}"], step.step
    compared = _rows(page, "Unweighted")
    assert len(compared) == len(memory) == 2
    for row, want in zip(compared, memory.sort_values("sex").itertuples(), strict=True):
        assert row[1] == f"{want.estimate * 100:.1f}" and row[3] == f"{want.unweighted * 100:.1f}"
        assert row[4] == f"{want.difference * 100:+.1f}" and row[5] == f"{want.n:,}"
    assert "Figures as of" in page and "These weights were made at" not in page and "Weighted (%)" in page
    for bad in ("indicator=%27%3B--", "by=nope", "by=%3Cscript%3E"):  # not offered: a 404, nothing computed
        assert client.get(f"/research/{SLUG}/weighting?{bad}&lang=en").status_code == 404, bad
        assert client.get(f"/research/{SLUG}/small-area?{bad}&lang=en").status_code == 404, bad
    assert client.get(f"/research/{SLUG}/small-area?province=%27%3B--&lang=en").status_code == 200  # its own
    assert "Số liệu tính đến" in vi and "Hệ số thiết kế do gia quyền" in vi


def _rows(page: str, header: str) -> list[list[str]]:
    """The cells of each body row of the page's table whose head names ``header``, as text."""
    for table in re.findall(r"<table>(.*?)</table>", page, flags=re.S):
        head, _, body = table.partition("</thead>")
        if header in head:
            return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
                    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)]
    raise AssertionError(f"no table with {header}")


def test_who_is_left_behind_in_a_large_survey_is_the_design_in_memorys(app, load_demo, client, accounts, tmp_path):
    """The left-behind ranking of a survey over the threshold (wards, sex, age band and their crossings), computed
    from the roll-up's groups, is the ranking of the design in memory over the same groups, for a share and a score:
    every cell's estimate, gap to the whole city, its SE, q-value, n and flag; its page says so in both languages."""
    load_demo(32)  # most wards have 30 respondents: their cells are tested, not withheld
    over_the_limit(app, tmp_path)
    accounts.login("researcher")
    assert "being prepared" in client.get(f"/research/{SLUG}/left-behind?lang=en").get_data(as_text=True)
    _wait(app)
    data = in_memory(app)
    with app.test_request_context():
        offered = variables.indicators(query.load_instrument(SLUG), data, "en")
    for name in ("at_least_basic", "dsi_index"):
        indicator = next(i for i in offered if i.name == name)
        got = pd.read_csv(io.BytesIO(client.get(f"/research/{SLUG}/left-behind.csv?indicator={name}&lang=en").data),
                          encoding="utf-8-sig")
        _same_ranking(got, _ranking_in_memory(data, indicator))
        en = client.get(f"/research/{SLUG}/left-behind?indicator={name}&all=1&lang=en").get_data(as_text=True)
        flagged = int(got["left_behind"].sum())
        assert "Figures as of" in en and "small-area" in en and "crosses those groups only" in en
        assert f"{flagged} cells are left behind" in en or flagged == 1
    vi = client.get(f"/research/{SLUG}/left-behind?indicator=dsi_index&group=sex&lang=vi").get_data(as_text=True)
    assert "Số liệu tính đến" in vi and "chỉ số kỹ năng số của phụ nữ từ 60 tuổi trở lên là" in vi
    by_district = client.get(f"/research/{SLUG}/left-behind?indicator=dsi_index&level=former_district&lang=en")
    assert by_district.status_code == 200 and "Quận Hoàn Kiếm" in by_district.get_data(as_text=True)
    assert client.get(f"/research/{SLUG}/left-behind?group=education&lang=en").status_code == 404


def _ranking_in_memory(data, indicator) -> pd.DataFrame:
    """The left-behind ranking of the design in memory over the groups a roll-up holds."""
    with warnings.catch_warnings():  # a cell of one PSU has no variance (as on the page)
        warnings.simplefilter("ignore", RuntimeWarning)
        return left_behind(results.prepared(data.design, indicator), indicator.name, areas="ward_code",
                           groups=["sex", "age_band"], max_way=2, scale=100.0 if indicator.share else 1.0,
                           material_points=10.0 if indicator.share else 5.0)


def _same_ranking(got: pd.DataFrame, want: pd.DataFrame) -> None:
    keys = ["cell_type", "ward_code", "sex", "age_band"]
    for table in (got, want):
        table[keys] = table[keys].map(lambda v: "" if pd.isna(v) else str(weighting.code(v)))
    both = got.merge(want, on=keys, suffixes=("", "_memory"))
    assert len(both) == len(got) == len(want) > 500 and set(got["stream"]) == {"probability"}
    shown = both[both["reliability"] != "suppressed"]
    assert (shown["cell_type"] == "area").sum() > 50 and shown["left_behind"].any()
    assert shown["left_behind"].tolist() == shown["left_behind_memory"].tolist()
    assert shown["n"].tolist() == shown["n_memory"].tolist()
    for column in ("estimate", "gap", "gap_se", "ci_low", "ci_high", "q_value"):
        assert shown[column].to_numpy(dtype=float) == pytest.approx(shown[f"{column}_memory"].to_numpy(dtype=float),
                                                                    rel=1e-8, abs=1e-12), column
    assert (shown["ci_low"] <= shown["estimate"]).all() and (shown["estimate"] <= shown["ci_high"]).all()


def test_a_large_self_selected_survey_says_so(app, load_demo, client, accounts, tmp_path):
    """Responses with no PSU (QR posters, links) are all a survey has: its figures from the database say they come
    from self-selected responses, not a probability sample, as the page in memory does."""
    load_demo(8)
    with app.app_context():
        session = db.session()
        session.exec(update(Response).values(psu=None))
        session.commit()
    over_the_limit(app, tmp_path)
    accounts.login("researcher")
    client.get(f"/research/{SLUG}?lang=en")
    _wait(app)
    text = client.get(f"/research/{SLUG}?indicator=at_least_basic&lang=en").get_data(as_text=True)
    assert '<p class="stream nonprobability"><strong>Self-selected (QR/link), not representative</strong>' in text
    body = client.get(f"/api/v1/results/{SLUG}?indicator=at_least_basic").get_json()
    assert body["stream"] == "nonprobability" and body["rows"]


def test_the_change_between_rounds_of_a_large_survey_is_the_design_in_memorys(app, load_demo, client, accounts,
                                                                              tmp_path):
    """Over the threshold the weighting run also makes a roll-up by round (with area, sex and age band), so results by
    round and the rounds page come from the database: a share's and a score's change between two rounds, overall and
    by sex and age band (each round's estimate, the change, its SE and interval, each round's respondents) are those of
    the design in memory, as the page prints them; a group the roll-up does not cross with round says so, in each
    language; and moving a round's first day makes the figures again."""
    load_demo(8)
    _two_rounds(app)
    data = served_and_in_memory(app, client, accounts, tmp_path)
    for name, by in (("at_least_basic", ""), ("dsi_index", ""), ("at_least_basic", "sex"), ("dsi_index", "age_band")):
        page = client.get(f"/research/{SLUG}/rounds?indicator={name}&first=1&second=2&by={by}&lang=en")
        assert page.status_code == 200
        rows = _rows(page.get_data(as_text=True), "Standard error")
        memory = round_change(data.design, name, "round", "1", "2", by=by or None)
        assert len(rows) == len(memory) >= (2 if by else 1), (name, by)
        scale = 100 if name == "at_least_basic" else 1
        for row, want in zip(rows, memory.itertuples(), strict=True):
            numbers = row[1:] if by else row
            assert numbers == [f"{want.first * scale:,.1f}", f"{want.second * scale:,.1f}",
                               f"{want.change * scale:,.1f}", f"{want.se * scale:,.1f}",
                               f"{want.ci_low * scale:,.1f} – {want.ci_high * scale:,.1f}",
                               f"{want.n_first} / {want.n_second}"], (name, by)
    body = client.get(f"/api/v1/results/{SLUG}?indicator=dsi_index&by=round&by2=sex").get_json()
    assert body["computed"] == "database"
    memory = data.design.mean("dsi_index", by=["round", "sex"])
    memory.attrs = {}
    shown = pd.DataFrame(body["rows"]).astype({"round": str, "sex": str})
    both = shown.merge(memory.astype({"round": str, "sex": str}), on=["round", "sex"], suffixes=("", "_memory"))
    assert len(both) == len(memory) == 4
    for column in ("estimate", "ci_low", "ci_high", "n"):
        assert both[column].to_numpy(dtype=float) == pytest.approx(both[f"{column}_memory"].to_numpy(dtype=float),
                                                                   rel=1e-9), column
    en = client.get(f"/research/{SLUG}/rounds?indicator=dsi_index&first=1&second=2&by=education&lang=en")
    assert "At this size rounds are not compared by education" in en.get_data(as_text=True)
    assert '<option value="education"' not in en.get_data(as_text=True)
    vi = client.get(f"/research/{SLUG}/rounds?indicator=dsi_index&first=1&second=2&by=sex&lang=vi")
    assert "Sai số chuẩn" in vi.get_data(as_text=True) and "Số liệu tính đến" in vi.get_data(as_text=True)
    hostile = client.get(f"/research/{SLUG}/rounds?indicator=dsi_index&first=%27%3B--&second=2&lang=en")
    assert hostile.status_code == 200 and "These rounds have no responses to compare." in hostile.get_data(as_text=True)
    levels = client.get(f"/research/{SLUG}/rounds?indicator=dsi_level&first=1&second=2&lang=en")
    assert levels.status_code == 200 and "Choose a share or a score" in levels.get_data(as_text=True)
    for bad in ("by=nope", "indicator=%3Cscript%3E"):  # not offered: a 404, nothing computed
        assert client.get(f"/research/{SLUG}/rounds?{bad}&first=1&second=2&lang=en").status_code == 404, bad
    with app.app_context():
        session = db.session()
        first = session.exec(select(SurveyRound).where(SurveyRound.number == 1)).one()
        first.starts_on = dt.date(2026, 3, 11)  # the responses of 10 March leave round 1
        session.add(first)
        session.commit()
    again = client.get(f"/research/{SLUG}/rounds?indicator=dsi_index&first=1&second=2&lang=en")
    assert "being prepared" in again.get_data(as_text=True)
    _wait(app)
    page = client.get(f"/research/{SLUG}/rounds?indicator=dsi_index&first=1&second=2&lang=en").get_data(as_text=True)
    assert "These rounds have no responses to compare." in page
