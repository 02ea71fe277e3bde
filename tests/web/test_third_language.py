"""A third language is data: a catalog, a setting and label columns, with no code change.

A tiny Khmer catalog (for the Khmer communities of the Mekong delta) is compiled at test time into a
folder of its own, named by ``KHAOSAT_TRANSLATIONS``, and ``KHAOSAT_LANGUAGES=vi,en,km`` offers it.
Every page then speaks Khmer where the catalog has the message and Vietnamese where it does not
(the walk below: the public, respondent, research and admin pages); a survey with Khmer labels asks
its questions in Khmer, one without them in Vietnamese (the yes/no labels too); the API's errors, the
demo's notice, the built-in covariates and the release codebooks add Khmer and keep Vietnamese and
English.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

import surveys
from web import db, synthetic
from web.catalog import publish
from web.i18n import TRANSLATIONS
from web.messages import in_every_language
from web.research import covariates, releases

KM = {
    "Privacy notice": "សេចក្តីជូនដំណឹងអំពីឯកជនភាព",
    "Log out": "ចាកចេញ",
    "Please answer this question.": "សូមឆ្លើយសំណួរនេះ។",
    "Please pick one of the options given.": "សូមជ្រើសរើសជម្រើសមួយដែលបានផ្តល់ឱ្យ។",
    "Your consent is needed to continue.": "ត្រូវការការយល់ព្រមរបស់អ្នកដើម្បីបន្ត។",
    "Synthetic demo data": "ទិន្នន័យសាកល្បង",
    "Share of women (census margins)": "សមាមាត្រស្ត្រី (ជំរឿន)",
    "Former district (before July 2025)": "ស្រុកចាស់ (មុនខែកក្កដា ២០២៥)",
}
#: a message the Khmer catalog lacks, and what Vietnamese says for it
MISSING, MISSING_VI = "Erase my answers", "Xoá câu trả lời của tôi"
KHMER_TITLE = "ការស្ទង់មតិជំនាញឌីជីថល"


@pytest.fixture
def khmer(tmp_path, monkeypatch):
    catalog = Catalog(locale="km")
    for msgid, msgstr in KM.items():
        catalog.add(msgid, msgstr)
    folder = tmp_path / "translations" / "km" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "messages.mo", "wb") as handle:
        write_mo(handle, catalog)
    monkeypatch.setenv("KHAOSAT_TRANSLATIONS", str(tmp_path / "translations"))
    monkeypatch.setenv("KHAOSAT_LANGUAGES", "vi,en,km")


@pytest.fixture
def app(khmer, app):
    """The suite's app, started with the Khmer settings, and digital-skills given Khmer labels."""
    publish_khmer(app)
    return app


def publish_khmer(app) -> None:
    """A new version of digital-skills with a Khmer label beside every Vietnamese and English one."""
    data = yaml.safe_load((surveys.BUILTIN_DIR / "digital-skills.yaml").read_text(encoding="utf-8"))
    data["languages"] = ["vi", "en", "km"]
    data["title"]["km"] = KHMER_TITLE

    def add_khmer(node):
        if isinstance(node, dict):
            if set(node) == {"vi", "en"}:
                node["km"] = f"ខ្មែរ {node['en']}"
                return
            for value in node.values():
                add_khmer(value)
        elif isinstance(node, list):
            for value in node:
                add_khmer(value)

    add_khmer(data)
    with app.app_context():
        publish(db.session(), surveys.from_dict(data, "digital-skills-km.yaml"))


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url, follow_redirects=True)
    assert response.status_code == status, response.get_data(as_text=True)[:1000]
    html = response.get_data(as_text=True)
    assert '<html lang="km">' in html
    return html


def walk(client, urls: tuple[str, ...]) -> dict[str, str]:
    """Each page answers 200 itself (not a redirect to the login page) and speaks Khmer with Vietnamese behind;
    the pages' HTML by URL."""
    out = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.headers.get("Location"))
        out[url] = html = response.get_data(as_text=True)
        assert '<html lang="km">' in html, url
        speaks_khmer(html)
    return out


def speaks_khmer(html: str) -> None:
    """The page has Khmer where the catalog has it and Vietnamese where it does not."""
    assert KM["Privacy notice"] in html and MISSING_VI in html
    assert "Thông báo xử lý dữ liệu cá nhân" not in html and MISSING not in html


def test_the_language_switcher_offers_the_configured_languages(client):
    html = client.get("/?lang=vi").get_data(as_text=True)
    assert re.search(r'<a href="/\?lang=km" lang="km" hreflang="km">ខ្មែរ</a>', html)
    assert 'hreflang="en">English</a>' in html
    speaks_khmer(page(client, "/?lang=km"))


def test_survey_pages_ask_in_khmer_and_fall_back_to_vietnamese(client):
    html = page(client, "/s/digital-skills?lang=km")
    assert KHMER_TITLE in html
    start = client.post("/s/digital-skills")
    assert start.status_code == 302
    html = page(client, start.headers["Location"])
    speaks_khmer(html)
    assert "ខ្មែរ " in html  # the questions' Khmer labels
    refused = client.post(start.headers["Location"], data={"nav": "next"})
    assert refused.status_code == 422, refused.get_data(as_text=True)
    errors = re.findall(r"<p class=\"error\"[^>]*>([^<]*)<", refused.get_data(as_text=True))
    assert KM["Your consent is needed to continue."] in errors, errors  # the answer's message, from its code
    # a survey without Khmer labels asks in Vietnamese, around a Khmer interface
    html = page(client, "/s/service-satisfaction")
    speaks_khmer(html)
    assert "Khảo sát" in html or "dịch vụ công" in html


def test_public_and_respondent_pages_render_in_khmer(client):
    client.get("/?lang=km")
    walk(client, ("/", "/accounts/login", "/privacy", "/privacy/digital-skills", "/erase", "/s/digital-skills",
                  "/s/service-satisfaction"))
    start = client.post("/s/digital-skills")
    walk(client, (start.headers["Location"],))


def test_a_yes_no_question_falls_back_to_vietnamese(client):
    """The built-in yes/no labels are Vietnamese and English: a Khmer reader sees the Vietnamese ones."""
    instrument = next(i for i in surveys.builtin_instruments() if i.slug == "digital-skills")
    question = next(q for q in instrument.variables if q.type == "yesno")
    assert instrument.text(question.choices[0].label, "km") == question.choice_label("1", "km") == "Có"


def test_interface_texts_of_files_and_models_add_khmer(app):
    with app.test_request_context("/?lang=km"):
        assert synthetic.notice() == f"Dữ liệu mô phỏng / Synthetic demo data / {KM['Synthetic demo data']}"
        labels = {c.name: c for c in covariates.built_in_covariates()}["share_women"]
        assert labels.label("km") == KM["Share of women (census margins)"]
        assert labels.label("vi") == "Tỷ lệ nữ (theo số liệu dân số)"
        former = in_every_language(releases.FORMER_DISTRICT)
        assert former["km"] == KM["Former district (before July 2025)"] and set(former) == {"vi", "en", "km"}


RESEARCH_PAGES = ("/research/", "/research/digital-skills", "/research/digital-skills/left-behind?indicator=dsi_index",
                  "/research/digital-skills/codebook.html", "/research/digital-skills/disclosure",
                  "/research/digital-skills/downloads", "/research/digital-skills/rounds",
                  "/research/digital-skills/sample", "/research/digital-skills/small-area",
                  "/research/digital-skills/weighting", "/research/covariates", "/research/frames",
                  "/research/margins", "/research/my-downloads", "/research/wards")
ADMIN_PAGES = ("/admin/", "/admin/users", "/admin/surveys", "/admin/submissions", "/admin/responses",
               "/admin/fieldwork", "/admin/quality", "/admin/quotas", "/admin/assignments", "/admin/audit",
               "/admin/tokens", "/accounts/password")


@pytest.mark.slow
def test_research_admin_and_collect_pages_render_in_khmer(app, load_demo, client, accounts):
    load_demo(8)  # the demo's responses (its database replaces the test's), then the Khmer labels again
    publish_khmer(app)
    accounts.login("admin")
    client.get("/?lang=km")
    for url, html in walk(client, RESEARCH_PAGES + ADMIN_PAGES).items():
        assert KM["Log out"] in html and "Đăng xuất" not in html, url
        assert KM["Synthetic demo data"] in html, url  # the demo's banner
    client.post("/accounts/logout")
    accounts.create("volunteer")
    client.post("/accounts/login", data={"username": "volunteer-user", "password": "correct-horse-9"})
    html = page(client, "/collect/?lang=km")
    boot = json.loads(re.search(r'data-boot="([^"]*)"', html).group(1).replace("&#34;", '"').replace("&quot;", '"')
                      .replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'"))
    assert boot["lang"] == "km" and boot["language_names"]["km"] == "ខ្មែរ"


def test_api_errors_add_khmer_and_keep_vietnamese_and_english(client, accounts):
    token = accounts.token("volunteer")
    body = {"uuid": "6f1c2a9e-1d2b-4c3d-8e4f-5a6b7c8d9e0f", "survey": "service-satisfaction", "version": 1,
            "answers": {"consent": "maybe"}, "meta": {}}
    reply = client.post("/api/v1/submissions", json=body, headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 422, reply.get_data(as_text=True)
    errors = reply.get_json()["errors"]
    assert all(set(texts) == {"vi", "en", "km"} for texts in errors.values()), errors
    english = {texts["en"]: texts for texts in errors.values()}
    assert any(t["km"] == KM[t["en"]] for t in english.values() if t["en"] in KM), errors


def test_no_code_change_is_needed(khmer):
    assert not (TRANSLATIONS / "km").exists()  # the catalog lives outside the code, in its own folder
