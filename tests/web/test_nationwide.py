"""Staff pages of surveys covering several provinces or the whole country (issue 20.1): ward briefs, ward
assignments and quotas, sample frames and covariates ask the province first, then its communes, check codes
against the surveys' area and name a commune's province where two share a name; "whole city" says the real
area; the province margins upload is compared before it is saved; the demo has a self-selected stream."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from sqlmodel import select

import surveys
from surveys import areas
from web import area_lists, catalog, db
from web.models import FrameGroup, ProvinceMargin, Response, Survey, User, WardAssignment, WardQuota
from web.research import query

FIXTURES = Path(__file__).parent.parent / "fixtures" / "national"
HANOI, HCMC = areas.HANOI, 79
HEADER = "province_code,sex,age_band,count\n"


def publish(app, name: str) -> None:
    with app.app_context():
        catalog.publish(db.session(), surveys.load_yaml(FIXTURES / name), controller=catalog.DEMO_CONTROLLER,
                        contact=catalog.DEMO_CONTACT)


def options(page: str, select_id: str) -> list[tuple[str, str]]:
    block = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    return re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', block.group(1)) if block else []


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def hcmc_ward(index: int = 0) -> areas.Area:
    return sorted(areas.wards(HCMC), key=lambda w: w.code)[index]


# --- the whole area's name -------------------------------------------------------------------------------


def test_the_whole_area_is_named_by_the_province_the_country_or_the_provinces_surveyed(app):
    with app.test_request_context("/?lang=vi"):
        assert query.whole_label((HANOI,)) == "Thành phố Hà Nội"
        assert query.whole_label(tuple(p.code for p in areas.provinces())) == "Cả nước"
        assert query.whole_label((HANOI, HCMC)) == "Cả 2 tỉnh, thành phố được khảo sát"
    with app.test_request_context("/?lang=en"):
        assert query.whole_label(tuple(p.code for p in areas.provinces())) == "Whole country"


def test_no_page_template_or_catalog_says_whole_city():
    root = Path(__file__).parent.parent.parent
    for path in [*root.glob("web/**/*.html"), *root.glob("translations/*/LC_MESSAGES/messages.po")]:
        content = path.read_text(encoding="utf-8")
        assert not re.search(r"whole city|the city average|across the city|toàn thành phố|cả thành phố", content,
                             re.IGNORECASE), path


def test_communes_sharing_a_name_carry_their_province():
    labels = area_lists.ward_labels(tuple(p.code for p in areas.provinces()))
    viet_hung = [code for code, label in labels.items() if label.startswith("Phường Việt Hưng")]
    assert sorted(labels[c] for c in viet_hung) == ["Phường Việt Hưng (Thành phố Hà Nội)",
                                                    "Phường Việt Hưng (Tỉnh Quảng Ninh)"]
    assert area_lists.ward_labels((HANOI,))[viet_hung[0]].startswith("Phường Việt Hưng")
    assert all("(" not in label for label in area_lists.ward_labels((HANOI,)).values())


# --- ward briefs ---------------------------------------------------------------------------------------------


@pytest.mark.both_backends
def test_ward_briefs_ask_the_province_then_open_a_commune_of_the_surveys_area(client, app, accounts):
    publish(app, "two-provinces.yaml")
    accounts.login("researcher")
    first = text(client.get("/research/wards?lang=en"))
    assert [name for _c, name in options(first, "i-ward_code-province")] == ["Thành phố Hà Nội",
                                                                             "Thành phố Hồ Chí Minh"]
    assert options(first, "i-ward_code") == []
    shown = text(client.get(f"/research/wards?lang=en&survey=two-cities&province={HCMC}"))
    assert len(options(shown, "i-ward_code")) == 168
    ward = hcmc_ward()
    opened = client.get(f"/research/wards?survey=two-cities&province={HCMC}&ward_code={ward.code}")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/research/two-cities/ward/{ward.code}")
    brief = text(client.get(f"/research/two-cities/ward/{ward.code}?lang=en"))
    assert ward.name in brief and "Thành phố Hồ Chí Minh" in brief
    # a Hà Nội survey does not cover the commune: the page says so, and the brief itself is 404
    refused = text(client.get(f"/research/wards?lang=en&survey=digital-skills&province={HCMC}&ward_code={ward.code}"))
    assert "This survey does not cover that commune" in refused
    assert client.get(f"/research/digital-skills/ward/{ward.code}").status_code == 404
    assert client.get("/research/two-cities/ward/999999").status_code == 404


def test_without_javascript_another_province_shows_its_communes_instead_of_opening(client, app, accounts):
    publish(app, "two-provinces.yaml")
    accounts.login("researcher")
    hanoi_ward = areas.wards(HANOI)[0]
    page = text(client.get(f"/research/wards?lang=en&survey=two-cities&province={HCMC}&ward_code={hanoi_ward.code}"))
    assert len(options(page, "i-ward_code")) == 168 and 'value="79" selected' in page


# --- ward assignments and quotas -----------------------------------------------------------------------------


def test_assignments_offer_the_surveys_provinces_and_check_the_commune(client, app, accounts):
    publish(app, "two-provinces.yaml")
    volunteer = accounts.create("volunteer", "vol")
    accounts.login("admin")
    page = text(client.get(f"/admin/assignments?lang=en&province={HCMC}"))
    assert len(options(page, "i-ward_code")) == 168
    assert 'name="province" form="area-pick"' in page and 'id="area-pick"' in page
    with app.app_context():
        user_id = db.session().exec(select(User.id).where(User.username == volunteer)).one()
    ward = hcmc_ward(3)
    done = client.post("/admin/assignments?lang=en", data={"user_id": user_id, "ward_code": ward.code})
    assert done.status_code == 302
    listed = text(client.get("/admin/assignments?lang=en"))
    assert ward.name in listed
    danang = areas.wards(48)[0]  # no survey covers Đà Nẵng
    refused = client.post("/admin/assignments?lang=en", data={"user_id": user_id, "ward_code": danang.code})
    assert refused.status_code == 422
    with app.app_context():
        assert [a.ward_code for a in db.session().exec(select(WardAssignment))] == [ward.code]


def test_a_quota_must_be_in_the_chosen_surveys_area(client, app, accounts):
    publish(app, "two-provinces.yaml")
    accounts.login("admin")
    with app.app_context():
        ids = {s.slug: s.id for s in db.session().exec(select(Survey))}
    ward = hcmc_ward(2)
    refused = client.post("/admin/quotas?lang=en", data={"survey_id": ids["digital-skills"], "ward_code": ward.code,
                                                         "target": 30})
    assert refused.status_code == 422 and "This survey does not cover that commune" in text(refused)
    saved = client.post("/admin/quotas?lang=en", data={"survey_id": ids["two-cities"], "ward_code": ward.code,
                                                       "target": 30})
    assert saved.status_code == 302
    with app.app_context():
        assert [(q.ward_code, q.target) for q in db.session().exec(select(WardQuota))] == [(ward.code, 30)]


# --- sample frames and covariates ----------------------------------------------------------------------------


@pytest.mark.both_backends
def test_a_sample_frame_is_uploaded_for_the_chosen_province(client, app, accounts):
    publish(app, "two-provinces.yaml")
    accounts.login("admin")
    page = text(client.get(f"/research/frames?lang=en&province={HCMC}"))
    assert 'id="province-choice"' in page and f'name="province" value="{HCMC}"' in page
    ward, hanoi_ward = hcmc_ward(1), areas.wards(HANOI)[0]
    body = f"ward_code,group_code,group_name,households\n{ward.code},T1,Tổ 1,120\n{hanoi_ward.code},T1,Tổ 1,80\n"
    refused = client.post("/research/frames?lang=en", data={"province": HCMC, "kind": "groups",
                                                            "file": (io.BytesIO(body.encode()), "frame.csv")})
    assert refused.status_code == 422
    assert f"Line 3: ward code {hanoi_ward.code} is “{hanoi_ward.name}”, which is not in this province." in text(refused)
    good = f"ward_code,group_code,group_name,households\n{ward.code},T1,Tổ 1,120\n"
    saved = client.post("/research/frames", data={"province": HCMC, "kind": "groups",
                                                  "file": (io.BytesIO(good.encode()), "frame.csv")})
    assert saved.status_code == 302 and f"province={HCMC}" in saved.headers["Location"]
    with app.app_context():
        assert [(g.province_code, g.ward_code) for g in db.session().exec(select(FrameGroup))] == [(HCMC, ward.code)]
    assert ward.name in text(client.get(f"/research/frames?lang=en&province={HCMC}"))
    assert ward.name not in text(client.get(f"/research/frames?lang=en&province={HANOI}"))


def test_a_province_no_survey_covers_is_not_offered(client, app, accounts):
    publish(app, "two-provinces.yaml")
    accounts.login("admin")
    page = text(client.get("/research/covariates?lang=en&province=48"))  # Đà Nẵng: falls back to the default
    assert 'value="1" selected' in page and [n for _c, n in options(page, "province-choice")] == [
        "Thành phố Hà Nội", "Thành phố Hồ Chí Minh"]


# --- province margins: compared, then confirmed -------------------------------------------------------------


def province_upload(client, body: str, lang: str = "en"):
    return client.post(f"/research/margins/provinces?lang={lang}",
                       data={"file": (io.BytesIO(body.encode()), "provinces.csv")})


def confirm_fields(page: str) -> dict[str, str]:
    form = page[page.index('action="/research/margins/provinces"'):]
    return dict(re.findall(r'<input[^>]*name="(content|filename|digest|csrf_token)"[^>]*value="([^"]*)"', form))


def province_cells(app) -> dict:
    with app.app_context():
        return {(m.province_code, m.sex, m.age_band): m.count for m in db.session().exec(select(ProvinceMargin))}


@pytest.mark.both_backends
def test_province_margins_show_what_changes_and_save_only_when_confirmed(client, app, accounts):
    accounts.login("admin")
    first = HEADER + "1,1,16-29,100\n1,2,16-29,120\n79,1,60+,50\n"
    checked = province_upload(client, first)
    page = text(checked)
    assert checked.status_code == 200 and province_cells(app) == {}
    assert "3 cells added" in page and "no cell removed" in page and "Save these province margins" in page
    assert re.search(r"<td>Thành phố Hà Nội</td><td class=\"num\">–</td><td class=\"num\">220</td>", page)
    assert client.post("/research/margins/provinces", data=confirm_fields(page)).status_code == 302
    assert province_cells(app) == {(1, "1", "16-29"): 100, (1, "2", "16-29"): 120, (79, "1", "60+"): 50}
    again = text(province_upload(client, first))  # the same file: nothing to save
    assert "nothing to save" in again and "Save these province margins" not in again
    changed = text(province_upload(client, HEADER + "1,1,16-29,110\n79,1,60+,50\n"))
    assert "1 cell changed" in changed and "1 cell removed (not in the file)" in changed
    assert "1 province in the file unchanged" in changed
    assert re.search(r"<td>Thành phố Hà Nội</td><td class=\"num\">220</td><td class=\"num\">110</td>", changed)
    fields = confirm_fields(changed)
    accounts.client.post("/research/margins/provinces", data=confirm_fields(text(province_upload(
        client, HEADER + "79,2,60+,70\n"))))  # someone else saves in between
    stale = client.post("/research/margins/provinces?lang=en", data=fields)
    assert stale.status_code == 409 and "changed after this comparison" in text(stale)
    assert province_cells(app)[(1, "1", "16-29")] == 100


@pytest.mark.parametrize("lang, message", [
    ("en", "Line 3, column age_band: age band must be one of 16-29, 30-44, 45-59, 60+, not “61+”."),
    ("vi", "Dòng 3, cột age_band: nhóm tuổi phải là một trong 16-29, 30-44, 45-59, 60+, không phải “61+”."),
])
def test_a_bad_province_file_names_line_and_column_in_the_pages_language(client, app, accounts, lang, message):
    accounts.login("admin")
    refused = province_upload(client, HEADER + "1,1,16-29,100\n1,1,61+,5\n", lang)
    assert refused.status_code == 422 and message in text(refused)
    assert province_cells(app) == {}


# --- the demo's self-selected stream ------------------------------------------------------------------------


@pytest.mark.slow
def test_the_demo_has_a_synthetic_self_selected_stream_that_overstates_skills(app, load_demo, client, accounts):
    load_demo()
    with app.app_context():
        rows = db.session().exec(select(Response).where(Response.uuid.like("demo-qr-digital-skills-%"))).all()
    assert len(rows) >= 200 and all(r.psu is None and r.channel == "self" for r in rows)
    assert all("synthetic" in r.meta["synthetic_stream"] for r in rows)
    accounts.login("researcher")
    page = text(client.get("/research/digital-skills?streams=both&lang=en"))
    gap = re.search(r"<td>Thành phố Hà Nội</td>.*?<td class=\"num\">([+−][0-9.]+)</td>", page[page.index('id="streams"'):],
                    re.S)
    assert gap and gap.group(1).startswith("+")  # the digitally-included answer posters more
    assert "raked to the same census margins" in page
