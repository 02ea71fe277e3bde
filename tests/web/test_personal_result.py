"""The personal result never contradicts itself: for generated answer sets, in Vietnamese and English,
the headline lies within the range its shown parts allow, and each part within its shown areas."""

from __future__ import annotations

import datetime as dt
import random
import re
from types import SimpleNamespace

import pytest
from flask import render_template

import surveys
from web import create_app
from web.respond import result

SCORED = ["digital-skills", "officials-digital-competency"]


@pytest.fixture(scope="module")
def app():
    """Rendering only: no database is read."""
    return create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "test"})


def builtin(slug: str) -> surveys.Instrument:
    return next(i for i in surveys.builtin_instruments() if i.slug == slug)


def generated_answers(inst: surveys.Instrument, rng: random.Random) -> dict:
    """Random answers to every variable (some left blank), cleaned as the server cleans them."""
    raw: dict = {}
    for q in inst.variables:
        if rng.random() < 0.1 or not q.choices:
            continue
        if q.type == "multiple" or (q.type == "knowledge" and q.extra.get("multiple")):
            raw[q.name] = rng.sample([c.code for c in q.choices], rng.randint(1, len(q.choices)))
        else:
            raw[q.name] = rng.choice(q.choices).code
    return surveys.check(inst, raw).values


def numbers(html: str, pattern: str) -> list[float]:
    return [float(x) for x in re.findall(pattern, html)]


def shown(html: str) -> tuple[float | None, list[tuple[float, float, list[float]]]]:
    """The headline, and (points, weight, area points) of each part, as the page shows them."""
    head = re.search(r'id="headline">[^<]*<strong>(\d+)</strong>', html)
    parts = []
    for section in html.split('<section class="part"')[1:]:
        section = section.split("</section>", 1)[0]
        weight = float(re.search(r'data-weight="([\d.]+)"', section)[1])
        points = float(re.search(r'<h2>[^<]*<span class="points">(\d+)</span>/100</h2>', section)[1])
        parts.append((points, weight, numbers(section, r'<li data-area[^>]*>.*?<span class="points">(\d+)</span>')))
    return (float(head[1]) if head else None), parts


def render(app, inst, scores, lang):
    response = SimpleNamespace(scores=scores, submitted_at=dt.datetime(2026, 11, 26, 0, 50), erase_code=None)
    with app.test_request_context(f"/?lang={lang}"):
        return render_template("respond/done.html", instrument=inst, response=response,
                               result=result.personal_result(inst, scores), headline_name=result.headline_name(inst),
                               ward_name=None, officials=result.audience(inst) == "officials")


@pytest.mark.slow
@pytest.mark.parametrize("slug", SCORED)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_headline_lies_within_what_its_shown_parts_allow(app, slug, lang):
    inst = builtin(slug)
    rng = random.Random(f"{slug}-{lang}")
    checked = 0
    for _ in range(120):
        scores = surveys.score(inst, generated_answers(inst, rng))
        html = render(app, inst, scores, lang)
        headline, parts = shown(html)
        if headline is None:
            continue
        checked += 1
        total = sum(w for _p, w, _a in parts)
        mean = sum(p * w for p, w, _a in parts) / total
        # each shown number is rounded to a whole number: at most 0.5 off each way
        assert abs(headline - mean) <= 1.0, (headline, parts)
        for points, _w, areas in parts:
            if areas:
                assert min(areas) - 1 <= points <= max(areas) + 1, (points, areas)
        assert len(parts) >= 1 and 'id="how"' in html
    assert checked >= 100


def test_the_page_says_how_the_index_is_made_and_gives_one_step_per_weak_area(app):
    inst = builtin("digital-skills")
    lowest = {q.name: q.choices[-1 if q.type == "yesno" else 0].code for q in inst.variables
              if q.choices and q.type != "multiple"}
    scores = surveys.score(inst, surveys.check(inst, {**lowest, "internet_3m": "1"}).values)
    html = render(app, inst, scores, "en")
    assert "It is the average of the 2 parts below, each out of 100." in html
    steps = re.findall(r"<li><strong>", html.split('class="steps"', 1)[1].split("</ul>", 1)[0])
    weak = len(result.personal_result(inst, scores).weak_areas)
    assert weak >= 1 and len(steps) == weak
    assert "Not yet" in html and "You have not done these things in the last 3 months." in html


def test_officials_get_officials_next_steps(app):
    inst = builtin("officials-digital-competency")
    scores = surveys.score(inst, {})
    scores.update({k: 10.0 for k in scores if k.startswith("offsat_area_")},
                  **{k: 1.0 for k in scores if k.startswith("offsat_band_")}, offsat_score=10.0,
                  security_practice=0.0, competency_index=5.0)
    for lang, officials, residents in (("vi", "Thông tư 03/2014/TT-BTTTT", "Ủy ban nhân dân phường"),
                                       ("en", "Circular 03/2014/TT-BTTTT", "ward People’s Committee")):
        html = render(app, inst, scores, lang)
        assert officials in html
        assert residents not in html
