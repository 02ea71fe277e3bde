"""Margins uploads: counts in range, ward names checked against the official list, and a comparison
the admin confirms before anything is stored (a one-row file never silently replaces the province)."""

from __future__ import annotations

import html
import io
import re

import pytest
from sqlmodel import select

from surveys import areas
from web import db
from web.models import AuditEvent, PopulationMargin
from web.population import AGE_BANDS, SEXES


def upload(client, body: str, lang: str = "en"):
    return client.post(f"/research/margins?lang={lang}", data={"file": (io.BytesIO(body.encode()), "census.csv")},
                       content_type="multipart/form-data")


def hidden(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in
            re.findall(r'<input[^>]*name="(content|filename|digest|csrf_token)"[^>]*value="([^"]*)"', page)}


def confirm(client, page: str, remove: bool = False, lang: str = "en"):
    data = hidden(page) | ({"remove_missing": "y"} if remove else {})
    return client.post(f"/research/margins?lang={lang}", data=data)


def refused_in_both_languages(client, body: str, english: str, vietnamese: str) -> None:
    """The upload gets 422 with ``english`` in English and ``vietnamese`` in Vietnamese."""
    response = upload(client, body)
    assert response.status_code == 422
    assert english in html.unescape(response.get_data(as_text=True))
    assert vietnamese in html.unescape(upload(client, body, lang="vi").get_data(as_text=True))


def table(wards, count=100) -> str:
    rows = [f"{w.code},{s},{b},{count + i}" for i, w in enumerate(wards) for s in SEXES for b in AGE_BANDS]
    return "ward_code,sex,age_band,count\n" + "\n".join(rows) + "\n"


def stored(app) -> list[tuple]:
    with app.app_context():
        rows = db.session().exec(select(PopulationMargin).order_by(PopulationMargin.id)).all()
        return [(m.ward_code, m.sex, m.age_band, m.count, m.code_list) for m in rows]


@pytest.fixture
def admin(client, accounts):
    accounts.create("admin", "boss")
    client.post("/accounts/login", data={"username": "boss", "password": "correct-horse-9"})
    return client


@pytest.fixture
def hanoi():
    return areas.wards(areas.HANOI)


@pytest.mark.parametrize("count", ["1e300", "3000000000", str(2**63), "100000000", "-5", "12.5", "12.0", "٣"])
def test_counts_out_of_range_or_not_whole_are_refused_by_line(admin, app, hanoi, count):
    body = f"ward_code,sex,age_band,count\n{hanoi[0].code},1,16-29,10\n{hanoi[1].code},2,60+,{count}\n"
    refused_in_both_languages(admin, body, f"Line 3, column count: the count must be a whole number from 0 to 99,999,999, "
                              f"not “{count}”.", "Dòng 3, cột count: số người phải là số nguyên từ 0 đến 99.999.999")
    assert stored(app) == []


def test_a_ward_name_that_is_not_the_codes_official_name_is_refused(admin, app):
    # a draft code that is the official code of another ward, given with its draft name (issue 12)
    draft, official_code = next((d, o) for d, o in areas.draft_to_official().items()
                                if d != o and d in areas.ward_codes(areas.HANOI))
    draft_name, official_name = areas.draft_names()[draft], areas.all_wards()[draft].name
    body = f"ward_code,ward_name,sex,age_band,count\n{draft},{draft_name},1,16-29,10\n"
    refused_in_both_languages(admin, body, f"Line 2: ward code {draft} is “{official_name}”, not “{draft_name}”.",
                              f"Dòng 2: mã {draft} là “{official_name}”, không phải “{draft_name}”.")
    assert stored(app) == []
    # the same ward under its official code, its name given without the prefix and in another case
    bare = draft_name.split(" ", 1)[1].upper()
    ok = upload(admin, f"ward_code,ward_name,sex,age_band,count\n{official_code},{bare},1,16-29,10\n")
    assert ok.status_code == 200 and "1 ward added" in ok.get_data(as_text=True)


def test_a_code_of_another_province_is_named(admin, app):
    other = areas.wards(next(p.code for p in areas.provinces() if p.code != areas.HANOI))[0]
    text = html.unescape(upload(admin, f"ward_code,sex,age_band,count\n{other.code},1,16-29,10\n").get_data(as_text=True))
    assert f"Line 2: ward code {other.code} is “{other.name}”, which is not in this province." in text


def test_nothing_is_stored_until_the_comparison_is_confirmed(admin, app, hanoi):
    preview = upload(admin, table(hanoi))
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert "126 wards added" in text and "no ward removed" in text
    assert stored(app) == []
    saved = confirm(admin, text)
    assert saved.status_code == 302
    rows = stored(app)
    assert len(rows) == 126 * 8 and {r[4] for r in rows} == {areas.CODE_LIST}
    with app.app_context():
        event = db.session().exec(select(AuditEvent).where(AuditEvent.action == "margins_replaced")).one()
    assert event.detail["added"] == 126 and event.detail["cells"] == 1008


@pytest.mark.both_backends
def test_a_one_row_file_does_not_silently_replace_the_province(admin, app, hanoi):
    confirm(admin, upload(admin, table(hanoi)).get_data(as_text=True))
    before = stored(app)
    one = f"ward_code,sex,age_band,count\n{hanoi[3].code},1,16-29,7\n"
    preview = upload(admin, one)
    text = html.unescape(preview.get_data(as_text=True))
    assert preview.status_code == 200
    assert "125 wards removed (not in the file)" in text and "1 ward changed" in text
    assert hanoi[0].name in text  # the removed wards are listed
    refused = confirm(admin, preview.get_data(as_text=True))
    assert refused.status_code == 422
    assert "The file leaves out 125 wards that have margins now." in refused.get_data(as_text=True)
    assert stored(app) == before
    vi = html.unescape(upload(admin, one, lang="vi").get_data(as_text=True))
    assert "125 phường, xã bị xóa (không có trong tệp)" in vi
    assert confirm(admin, preview.get_data(as_text=True), remove=True).status_code == 302
    assert [r[:4] for r in stored(app)] == [(hanoi[3].code, "1", "16-29", 7)]


@pytest.mark.both_backends
def test_a_confirmation_against_margins_that_changed_since_is_refused(admin, app, hanoi):
    first = upload(admin, table(hanoi[:2])).get_data(as_text=True)
    second = upload(admin, table(hanoi[:3], count=5)).get_data(as_text=True)
    assert confirm(admin, first).status_code == 302
    late = confirm(admin, second)
    assert late.status_code == 409
    assert "The margins in use changed after this comparison was made." in late.get_data(as_text=True)
    assert {r[0] for r in stored(app)} == {w.code for w in hanoi[:2]}


def test_a_tampered_confirmation_is_checked_again(admin, app, hanoi):
    page = upload(admin, table(hanoi[:1])).get_data(as_text=True)
    data = hidden(page) | {"content": "bm90IGJhc2U2NCEh!"}
    response = admin.post("/research/margins?lang=en", data=data)
    assert response.status_code == 422 and stored(app) == []
