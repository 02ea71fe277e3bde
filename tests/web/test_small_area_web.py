"""Researchers see direct and model-based (small-area) ward estimates side by side, on the page and in
the API; admins upload ward covariates, checked line by line before anything is stored."""

from __future__ import annotations

import io

import numpy as np
import pytest
from sqlmodel import select

from surveys import areas
from web import db
from web.models import Area, WardCovariate
from web.research.weighting import margins_frame


@pytest.fixture
def demo_data(app, load_demo):
    load_demo(16)
    app.config["MIN_CELL_COUNT"] = 12  # some demo wards fall below it


def province_wards(app) -> list[Area]:
    with app.app_context():
        province = app.config["KHAOSAT_PROVINCE"]
        return list(db.session().exec(select(Area).where(Area.level == "ward", Area.parent_code == province)
                                      .order_by(Area.code)).all())


def test_the_small_area_page_needs_a_researcher(client, accounts):
    assert client.get("/research/digital-skills/small-area").status_code == 302
    accounts.login("volunteer")
    assert client.get("/research/digital-skills/small-area").status_code == 403
    assert client.get("/research/covariates").status_code == 403


def test_model_based_ward_estimates_on_the_page_and_in_the_api(app, client, accounts, demo_data):
    wards = province_wards(app)
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    url = "/api/v1/results/digital-skills?indicator=at_least_basic"
    fh = client.get(f"{url}&estimator=fh", headers=headers).get_json()
    direct = client.get(f"{url}&by=ward", headers=headers).get_json()
    assert fh["estimator"] == "fh" and len(fh["rows"]) == len(wards)
    assert "rural" in fh["covariates"] and "share_women" in fh["covariates_left_out"]  # 50% women everywhere
    by_ward = {r["ward_code"]: r for r in direct["rows"]}
    statuses = {r["status"] for r in fh["rows"]}
    assert statuses <= {"model", "too_few", "protected", "no_sample"} and "model" in statuses and "too_few" in statuses
    city = direct["benchmark"]
    assert fh["benchmark"] == pytest.approx(city, rel=1e-12)
    for row in fh["rows"]:
        assert 0 <= row["ci_low"] <= row["estimate"] <= row["ci_high"] <= 1  # shares stay shares
        expected = "below" if row["ci_high"] < city else "above" if row["ci_low"] > city else "same"
        assert row["versus_city"] == expected
        if row["status"] == "model":
            assert 0 < row["gamma"] < 1 and row["n"] >= 12
            assert row["direct"] == pytest.approx(by_ward[row["ward_code"]]["estimate"], rel=1e-12)
            # the direct interval of a share is svyciprop's logit interval (as on the results page): inside [0, 1]
            assert 0 <= row["direct_ci_low"] <= row["direct"] <= row["direct_ci_high"] <= 1
            assert row["direct_ci_low"] == pytest.approx(by_ward[row["ward_code"]]["ci_low"], rel=1e-9)
        else:  # too few respondents, or hidden on the results page to protect a small ward: nothing to back-calculate
            assert row["direct"] is None and row["gamma"] is None and row["n"] is None
            if row["status"] == "protected":
                assert by_ward[row["ward_code"]]["estimate"] is None
    used = [r for r in fh["rows"] if r["status"] == "model" and r["direct_cv"] is not None]
    assert np.median([r["cv"] for r in used]) < np.median([r["direct_cv"] for r in used])
    assert client.get(f"{url}&estimator=magic", headers=headers).status_code == 422
    for kind in ("ratio", "difference"):  # benchmarked to the whole city, weighted by the census population
        bench = client.get(f"{url}&estimator=fh&benchmark={kind}", headers=headers).get_json()
        assert bench["benchmarking"] == kind
        with app.app_context():
            people = margins_frame(db.session(), app.config["KHAOSAT_PROVINCE"]).groupby("ward_code")["count"].sum()
        weights = np.array([people[r["ward_code"]] for r in bench["rows"]], dtype=float)
        values = np.array([r["estimate_benchmarked"] for r in bench["rows"]])
        assert weights @ values / weights.sum() == pytest.approx(city, abs=1e-12)
        assert all(r["se_benchmarked"] >= r["se"] for r in bench["rows"])
    score = client.get("/api/v1/results/digital-skills?indicator=dsi_index&estimator=fh", headers=headers).get_json()
    assert len(score["rows"]) == len(wards) and score["refvar"] > 0  # a 0-100 score, on its own scale
    assert all(r["ci_low"] < r["estimate"] < r["ci_high"] for r in score["rows"])
    assert any(r["ci_high"] > 1 for r in score["rows"])

    accounts.login("researcher")
    ward = next(w for w in wards if any(r["ward_code"] == w.code and r["status"] == "model" for r in fh["rows"]))
    row = next(r for r in fh["rows"] if r["ward_code"] == ward.code)
    below = sum(r["versus_city"] == "below" for r in fh["rows"])
    assert below > 0  # the demo's far-behind communes
    for lang, words in (("en", ["Model-based", "Weight on direct", "How the model-based estimates are made",
                                f"{below} wards are below Thành phố Hà Nội by their model-based 95% intervals",
                                "Rural commune (xã) rather than urban ward (phường)", "Shapiro–Wilk",
                                "so it stays between 0 and 100%."]),
                        ("vi", ["Theo mô hình", "Trọng số của ước lượng trực tiếp", "Shapiro–Wilk",
                                "Khoảng tin cậy trực tiếp của một tỷ lệ là khoảng logit", "nên luôn nằm trong khoảng 0 đến 100%.",
                                "Tỷ lệ người dân tộc thiểu số (điều tra dân số)",
                                f"{below} phường/xã thấp hơn Thành phố Hà Nội"])):
        page = client.get(f"/research/digital-skills/small-area?indicator=at_least_basic&lang={lang}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        for word in words:
            assert word in text, (lang, word)
        assert text.count("<tr><td>") >= len(wards)
        sep = "," if lang == "vi" else "."
        shown = f"{row['estimate'] * 100:.1f}".replace(".", sep)
        assert ward.name in text and shown in text
    page = client.get("/research/digital-skills/small-area?indicator=at_least_basic&benchmark=ratio&lang=en")
    assert "Benchmarked</th>" in page.get_data(as_text=True)
    assert "mean squared error grows by the square of its adjustment" in page.get_data(as_text=True)
    chart = client.get("/research/digital-skills/small-area/chart.png?indicator=at_least_basic&lang=en")
    assert chart.status_code == 200 and chart.mimetype == "image/png" and chart.data[:4] == b"\x89PNG"
    results = client.get("/research/digital-skills?indicator=at_least_basic&level=ward&lang=en").get_data(as_text=True)
    assert "/research/digital-skills/small-area?indicator=at_least_basic" in results
    ranking = client.get("/research/digital-skills/left-behind?indicator=at_least_basic&lang=en").get_data(as_text=True)
    assert "Wards ranked by model-based (small-area) estimates" in ranking
    model_ranking = client.get("/research/digital-skills/left-behind?indicator=at_least_basic&estimator=fh&lang=en",
                               follow_redirects=True)
    assert model_ranking.status_code == 200 and model_ranking.request.path.endswith("/small-area")
    text = model_ranking.get_data(as_text=True)
    assert "sorted by the model-based estimate" in text
    assert f"{below} wards are below Thành phố Hà Nội by their model-based 95% intervals" in text


def _csv(lines: list[str]) -> tuple:
    return io.BytesIO(("\n".join(lines) + "\n").encode("utf-8")), "covariates.csv"


def test_an_admin_uploads_ward_covariates_and_a_bad_file_changes_nothing(app, client, accounts):
    wards = province_wards(app)
    accounts.login("admin")
    good = ["ward_code,share_upper_secondary,internet_cafes",
            "label_vi,Tỷ lệ tốt nghiệp THPT,Số quán internet",
            "label_en,Share with upper-secondary education,Internet cafés"]
    good += [f"{w.code},{0.3 + (i % 7) / 20:.2f},{i % 5}" for i, w in enumerate(wards)]
    response = client.post("/research/covariates?lang=en", data={"file": _csv(good)},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    page = client.get("/research/covariates?lang=en").get_data(as_text=True)
    assert "Share with upper-secondary education" in page and "Internet cafés" in page
    with app.app_context():
        stored = db.session().exec(select(WardCovariate)).all()
    assert len(stored) == 2 * len(wards)

    bad = ["ward_code,share_upper_secondary,internet_cafes",
           "label_vi,Tỷ lệ tốt nghiệp THPT,",
           "label_en,Share with upper-secondary education,Internet cafés"]
    bad += [f"{w.code},0.5,1" for w in wards[2:]]
    response = client.post("/research/covariates?lang=en", data={"file": _csv(bad)}, content_type="multipart/form-data")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Line 2: the label of column “internet_cafes” is missing" in text
    bad[1] = "label_vi,Tỷ lệ tốt nghiệp THPT,Số quán"
    bad[3] = bad[3].replace(",0.5,", ",half,")
    bad.append(bad[4])
    bad.append("99999999,0.1,1")
    response = client.post("/research/covariates?lang=vi", data={"file": _csv(bad)}, content_type="multipart/form-data")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Dòng 4" in text and "half" in text  # the bad number, by line
    assert f"Dòng {len(bad)}" in text and "99999999" in text  # the unknown ward
    assert f"Dòng {len(bad) - 1}" in text  # the repeated ward
    assert str(wards[0].code) in text and str(wards[1].code) in text  # the missing wards, by code
    with app.app_context():
        after = db.session().exec(select(WardCovariate)).all()
    assert len(after) == 2 * len(wards) and {c.label_en for c in after} == {
        "Share with upper-secondary education", "Internet cafés"}


@pytest.mark.both_backends
def test_a_covariates_file_whose_ward_name_disagrees_with_its_code_is_refused(app, client, accounts):
    wards = province_wards(app)
    accounts.login("admin")
    lines = ["ward_code,ward_name,share_upper_secondary",
             "label_vi,,Tỷ lệ tốt nghiệp THPT",
             "label_en,,Share with upper-secondary education"]
    lines += [f"{w.code},{w.name},0.4" for w in wards]
    wrong = wards[1].name
    lines[3] = f"{wards[0].code},{wrong},0.4"  # a code with another ward's name, as a draft-numbered table has
    response = client.post("/research/covariates?lang=en", data={"file": _csv(lines)},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert f"Line 4: ward code {wards[0].code} is “{wards[0].name}”, not “{wrong}”" in text
    with app.app_context():
        assert db.session().exec(select(WardCovariate)).all() == []
    lines[3] = f"{wards[0].code},{wards[0].name},0.4"  # the name, with its prefix, agrees: stored, not a covariate
    response = client.post("/research/covariates?lang=en", data={"file": _csv(lines)},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        stored = db.session().exec(select(WardCovariate)).all()
    assert {c.name for c in stored} == {"share_upper_secondary"} and len(stored) == len(wards)
    assert {c.code_list for c in stored} == {areas.CODE_LIST}
