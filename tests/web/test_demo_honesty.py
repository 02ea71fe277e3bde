"""An honest demo: every page says the data are synthetic while the demo is loaded (and no page says so
otherwise), its weights are trimmed by a stated rule with the margins still holding, and the weighting
page warns when the weights pass a threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import web.research.weighting as weighting
from web import db
from web.research.raking import TRIM_RATIO
from web.research.weighting import WARN_DEFF, WARN_RATIO, margins_frame, weight_warnings, weighted

PAGES = ("/", "/s/digital-skills", "/accounts/login", "/erase")


def test_no_banner_without_the_demo(client, accounts):
    for path in PAGES:
        page = client.get(f"{path}?lang=en").get_data(as_text=True)
        assert "Synthetic demo data" not in page, path
    accounts.login("researcher")
    reply = client.get("/api/v1/results/digital-skills").get_json()
    assert reply["synthetic"] is False and "notice" not in reply


@pytest.fixture
def demo(load_demo):
    load_demo(8)


@pytest.mark.both_backends
def test_every_page_of_a_demo_says_it_is_synthetic_and_weights_are_trimmed(app, client, accounts, demo):
    for lang, words in (("vi", "Dữ liệu mô phỏng"), ("en", "Synthetic demo data")):
        for path in PAGES:
            page = client.get(f"{path}?lang={lang}", follow_redirects=True).get_data(as_text=True)
            assert f'<p class="demo-banner" role="note"><strong>{words}</strong>' in page, (path, lang)
    with app.app_context():
        data = weighted(db.session(), "digital-skills", app.config["KHAOSAT_PROVINCE"])
        margins = margins_frame(db.session(), app.config["KHAOSAT_PROVINCE"])
    steps = data.diagnostics.set_index("step")
    assert list(steps.index) == ["base", "raked", "trimmed"]
    weights = data.frame["weight"].to_numpy()
    median = np.median(weights)
    assert weights.max() <= TRIM_RATIO * median * 1.02 and weights.min() >= median / TRIM_RATIO / 1.02
    assert steps.loc["trimmed", "max_min_ratio"] < steps.loc["raked", "max_min_ratio"]
    by_ward = data.frame.groupby("ward_code")["weight"].sum()
    census = margins.groupby("ward_code")["count"].sum().loc[by_ward.index]
    assert np.allclose(by_ward, census, atol=1.0)  # raked again after trimming: the ward totals still hold
    men = margins[margins["sex"] == "1"].groupby("age_band")["count"].sum()
    women = margins[margins["sex"] == "2"].groupby("age_band")["count"].sum()
    assert (men["16-29"] > women["16-29"]) and (men["60+"] < 0.8 * women["60+"])  # the census's sex ratios
    accounts.login("researcher")
    page = client.get("/research/digital-skills/weighting?lang=en").get_data(as_text=True)
    assert "Raked and trimmed" in page and "median ÷ 5" in page
    assert "Warning:" not in page  # the demo's final weights pass no threshold
    for args in ("indicator=at_least_basic&level=ward", "indicator=at_least_basic&estimator=fh", ""):
        reply = client.get(f"/api/v1/results/digital-skills?{args}").get_json()  # the API says so too
        assert reply["synthetic"] is True and reply["notice"] == "Dữ liệu mô phỏng / Synthetic demo data", args


def test_the_weighting_warnings_name_what_passes_its_threshold():
    def diagnostics(ratio: float, deff: float) -> pd.DataFrame:
        return pd.DataFrame([{"step": "base", "max_min_ratio": 1.0, "kish_deff": 1.0},
                             {"step": "raked", "max_min_ratio": ratio, "kish_deff": deff}])

    assert weight_warnings(diagnostics(WARN_RATIO - 1, WARN_DEFF - 0.1)) == {}
    assert weight_warnings(diagnostics(2548.0, 3.1)) == {"ratio": 2548.0, "deff": 3.1}
    assert weight_warnings(pd.DataFrame()) == {}


def test_the_weighting_page_warns_in_each_language(app, client, accounts, demo, monkeypatch):
    monkeypatch.setattr(weighting, "WARN_RATIO", 5.0)  # thresholds the demo's real weights pass
    monkeypatch.setattr(weighting, "WARN_DEFF", 1.05)
    with app.app_context():
        final = weighted(db.session(), "digital-skills", app.config["KHAOSAT_PROVINCE"]).diagnostics.iloc[-1]
    accounts.login("researcher")
    en = client.get("/research/digital-skills/weighting?lang=en").get_data(as_text=True)
    vi = client.get("/research/digital-skills/weighting?lang=vi").get_data(as_text=True)
    ratio, deff = final["max_min_ratio"], final["kish_deff"]
    assert f"the largest weight is {ratio:,.1f} times the smallest (more than 5)" in en
    assert f"the design effect from weighting is {deff:.2f} (more than 1.05)" in en
    assert f"trọng số lớn nhất gấp {ratio:.1f}".replace(".", ",") in vi
    assert f"hệ số thiết kế do trọng số là {deff:.2f}".replace(".", ",") in vi
