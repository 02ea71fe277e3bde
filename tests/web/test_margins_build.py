"""Building new-ward margins from a former-unit census table and the conversion table: the rule for split
units shown, the result through the margins preview, problems named and nothing stored."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from sqlmodel import func, select

from web import db
from web.models import PopulationMargin

HERE = Path(__file__).parent.parent / "fixtures" / "margins_build"


def build(client, conversion: str = "conversion.csv", lang: str = "en"):
    data = {"old": (io.BytesIO((HERE / "census_2019_former_units.csv").read_bytes()), "census.csv"),
            "conversion": (io.BytesIO((HERE / conversion).read_bytes()), conversion)}
    return client.post(f"/research/margins/build?lang={lang}", data=data, content_type="multipart/form-data")


def stored(app) -> int:
    with app.app_context():
        return db.session().exec(select(func.count()).select_from(PopulationMargin)).one()


@pytest.mark.both_backends
def test_built_margins_show_the_rule_and_are_saved_only_when_confirmed(client, app, accounts):
    accounts.login("admin")
    page = build(client)
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200
    assert "equal shares (no split known)" in text and "shares from the conversion table" in text
    assert "3 wards added" in text and stored(app) == 0
    fields = dict(re.findall(r'<input[^>]*name="(content|filename|digest)"[^>]*value="([^"]*)"', text))
    assert client.post("/research/margins", data={k: html.unescape(v) for k, v in fields.items()}).status_code == 302
    with app.app_context():
        total = db.session().exec(select(func.sum(PopulationMargin.count))).one()
    census = sum(int(line.rsplit(",", 1)[1]) for line in (HERE / "census_2019_former_units.csv").read_text()
                 .splitlines()[1:])
    assert total == census
    vietnamese = html.unescape(build(client, lang="vi").get_data(as_text=True))
    assert "chia đều" in vietnamese


def test_a_bad_conversion_table_names_its_problems_and_stores_nothing(client, app, accounts):
    accounts.login("admin")
    page = build(client, "conversion_bad.csv")
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 422
    assert "Line 5 of the conversion file: the share must be from 0 to 1." in text
    assert stored(app) == 0
