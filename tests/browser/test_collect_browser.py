"""A volunteer interviews offline on a phone: nothing is lost on reload, nothing is doubled on send."""

from __future__ import annotations

import json
import time

from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.answering import HOAN_KIEM, answer_page
from tests.browser.test_surveys_browser import instrument, serious_violations
from tests.web.test_api import valid_answers
from web import db
from web.auth import hash_password
from web.models import PersonalDetails, Response, User

SLUG = "service-satisfaction"
PASSWORD = "correct-horse-9"


def volunteer_page(app, browser, username="vol-phone"):
    with app.app_context():
        session = db.session()
        if session.exec(select(User).where(User.username == username)).first() is None:
            session.add(User(username=username, role="volunteer", password_hash=hash_password(PASSWORD)))
            session.commit()
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{app.config['BASE_URL']}/accounts/login?next=/collect/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/collect/")
    page.wait_for_selector("html[data-offline-ready='1']")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    return context, page


def rows(app) -> list[Response]:
    with app.app_context():
        return db.session().exec(select(Response)).all()


def interview(page, inst, reload_midway: bool = False, axe: bool = False, gps_consent: bool = False) -> None:
    titles = {inst.text(p.title, "vi"): p for p in inst.pages}
    page.get_by_role("button", name=inst.text(inst.title, "vi")).click()
    page.wait_for_selector("#interview:not([hidden])")
    for n in range(len(inst.pages) + 1):
        if page.locator("#home").is_visible():
            return
        current = titles[page.locator("#ptitle").inner_text()]
        assert page.locator("#gpsbox").is_visible() == (n == 0)  # consent is asked on the first page
        if gps_consent and n == 0:
            page.get_by_label("Người trả lời đồng ý ghi lại vị trí").check()
            page.wait_for_function("() => /\\d+ m/.test(document.getElementById('gps-status').textContent)")
        answer_page(page, current.questions)
        if axe:
            assert serious_violations(page) == [], current.name
        if reload_midway and n == 1:
            chosen = page.locator("#iform input:checked").count()
            page.reload()  # offline: the service worker serves the shell, IndexedDB the answers
            page.wait_for_selector("#drafts button")
            page.locator("#drafts button").first.click()
            page.wait_for_selector("#interview:not([hidden])")
            assert page.locator("#ptitle").inner_text() == inst.text(current.title, "vi")
            assert page.locator("#iform input:checked").count() == chosen > 0
            reload_midway = False
        position = page.locator("#ppos").inner_text()
        page.locator("#next").click()
        page.wait_for_function("([p]) => !document.getElementById('home').hidden || "
                               "document.getElementById('ppos').textContent !== p", arg=[position])
    raise AssertionError("the interview did not end: " + page.locator("#interview").inner_text()[:1500])


def test_three_interviews_offline_survive_a_reload_and_arrive_once(live_app, browser):
    inst = instrument(live_app, SLUG)
    context, page = volunteer_page(live_app, browser)
    assert serious_violations(page) == []
    page.select_option("#ward", HOAN_KIEM)
    context.set_offline(True)
    # the service worker is offline too: an uncached URL it must fetch fails
    probe = "() => fetch('/collect/?probe=1').then((r) => r.status, () => 'failed')"
    assert page.evaluate(probe) == "failed"
    for i in range(3):
        interview(page, inst, reload_midway=(i == 2), axe=(i == 0))
    expect(page.locator("#queue")).to_have_text("3 đang chờ gửi")
    page.reload()  # the queue is read back from IndexedDB after the page loads
    expect(page.locator("#queue")).to_have_text("3 đang chờ gửi")
    assert rows(live_app) == []
    context.set_offline(False)
    wait_until_sent(page)
    page.wait_for_function("() => document.getElementById('queue').textContent === '0 đang chờ gửi'")
    stored = rows(live_app)
    assert len(stored) == 3
    assert {r.ward_code for r in stored} == {int(HOAN_KIEM)}
    assert all(r.channel == "interview" and r.volunteer_id and r.meta["app_version"] for r in stored)
    assert all(r.meta["duration_s"] >= 0 and r.meta["ended_at"] >= r.meta["started_at"] for r in stored)
    page.wait_for_function("() => document.querySelector('#progress tbody td.num') !== null")
    assert page.locator("#progress tbody td.num").first.inner_text() == "3"
    context.close()


#: the signed-in volunteer's own IndexedDB database, as the shell names it
DB_NAME = "'khaosat-collect-u' + JSON.parse(document.getElementById('collect').dataset.boot).user_id"

QUEUE = """async ([item]) => {
  const db = await new Promise((ok, fail) => { const r = indexedDB.open(""" + DB_NAME + """, 1);
    r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
  await new Promise((ok, fail) => { const t = db.transaction('interviews', 'readwrite');
    t.objectStore('interviews').put(item); t.oncomplete = ok; t.onerror = () => fail(t.error); });
}"""


LEFT = """async () => {
  const db = await new Promise((ok) => { const r = indexedDB.open(""" + DB_NAME + """, 1);
    r.onsuccess = () => ok(r.result); });
  const all = await new Promise((ok) => { const q = db.transaction('interviews').objectStore('interviews').getAll();
    q.onsuccess = () => ok(q.result); });
  return all.map((i) => i.status);
}"""


def wait_until_sent(page, expect=(), seconds: float = 20) -> None:
    """Until the phone's IndexedDB holds only ``expect`` (statuses), i.e. the queue is empty; read every 0.05 s."""
    deadline = time.monotonic() + seconds
    while sorted(page.evaluate(LEFT)) != sorted(expect):
        if time.monotonic() > deadline:
            raise AssertionError(f"IndexedDB holds {sorted(page.evaluate(LEFT))}, expected {sorted(expect)}")
        page.wait_for_timeout(50)


def queued(app, uuid: str, answers: dict) -> dict:
    body = {"uuid": uuid, "survey": "digital-skills", "version": instrument(app, "digital-skills").version,
            "answers": answers, "meta": {"language": "vi", "channel": "interview"}}
    return {"uuid": uuid, "survey": "digital-skills", "version": body["version"], "title": "t", "ward": 70,
            "lang": "vi", "answers": answers, "page": 0, "status": "queued", "started_at": "2026-11-23T08:00:00Z",
            "body": body, "attempts": 0, "next_try": 0}


def test_same_queue_sent_twice_and_from_two_phones_at_once_is_one_row(live_app, browser):
    answers = json.loads(json.dumps(valid_answers(live_app)))
    item = queued(live_app, "0b5e1c3a-4d2f-4a6b-9c8d-7e6f5a4b3c2d", answers)
    one, page_a = volunteer_page(live_app, browser, "vol-a")
    two, page_b = volunteer_page(live_app, browser, "vol-a")  # the same volunteer's second phone
    for page in (page_a, page_b):
        page.evaluate(QUEUE, [item])
        assert page.evaluate(LEFT) == ["queued"]
    page_a.locator("#send").click()
    page_b.locator("#send").click()
    for page in (page_a, page_b):
        wait_until_sent(page)
    assert len(rows(live_app)) == 1
    # the same uuid again (a retry after a lost answer): 200, leaves the queue, still one row
    page_a.evaluate(QUEUE, [item])
    assert page_a.evaluate(LEFT) == ["queued"]
    page_a.locator("#send").click()
    wait_until_sent(page_a)
    assert len(rows(live_app)) == 1
    # the same uuid with different content: a visible conflict, never dropped
    changed = queued(live_app, item["uuid"], {**answers, "birth_year": 1990})
    page_a.evaluate(QUEUE, [changed])
    page_a.locator("#send").click()
    wait_until_sent(page_a, ["conflict"])
    page_a.wait_for_selector(f"#problems li[data-uuid='{item['uuid']}']")
    assert "khác" in page_a.locator("#problems").inner_text()
    assert len(rows(live_app)) == 1
    # another volunteer's phone with the same uuid and answers: the same conflict, never their row's id
    three, page_c = volunteer_page(live_app, browser, "vol-b")
    page_c.evaluate(QUEUE, [item])
    page_c.locator("#send").click()
    wait_until_sent(page_c, ["conflict"])
    assert len(rows(live_app)) == 1
    one.close()
    two.close()
    three.close()


def test_logging_out_is_a_button_that_works_on_a_phone_with_javascript_off(live_app, browser):
    with live_app.app_context():
        session = db.session()
        session.add(User(username="admin-phone", role="admin", password_hash=hash_password(PASSWORD)))
        session.commit()
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="vi-VN", java_script_enabled=False)
    page = context.new_page()
    base = live_app.config["BASE_URL"]
    page.goto(f"{base}/accounts/login?next=/admin/")
    page.fill("input[name=username]", "admin-phone")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/admin/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    button = page.get_by_role("button", name="Đăng xuất")  # axe checks this nav in the volunteer's shell
    box = button.bounding_box()
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 360
    button.click()
    page.wait_for_url(f"{base}/")
    assert page.get_by_role("button", name="Đăng xuất").count() == 0
    page.goto(f"{base}/admin/")
    assert "/accounts/login" in page.url
    context.close()



def test_a_location_is_sent_only_with_consent_and_kept_apart(live_app, browser):
    inst = instrument(live_app, SLUG)
    context, page = volunteer_page(live_app, browser, "vol-gps")
    context.grant_permissions(["geolocation"], origin=live_app.config["BASE_URL"])
    context.set_geolocation({"latitude": 21.0285, "longitude": 105.8542, "accuracy": 15})
    page.select_option("#ward", HOAN_KIEM)
    interview(page, inst, gps_consent=True)
    interview(page, inst)  # no consent: no location, although the phone would give one
    wait_until_sent(page)
    stored = sorted(rows(live_app), key=lambda r: r.id)
    assert [r.meta["gps_consent"] for r in stored] == [True, False]
    assert all("gps" not in r.meta and "21.0285" not in json.dumps([r.answers, r.meta]) for r in stored)
    with live_app.app_context():
        kept = db.session().exec(select(PersonalDetails)).all()
    assert [(d.response_id, d.latitude, d.longitude, d.accuracy_m) for d in kept] == [
        (stored[0].id, 21.0285, 105.8542, 15.0)]
    context.close()


DRAFT = """async () => {
  const db = await new Promise((ok) => { const r = indexedDB.open(""" + DB_NAME + """, 1);
    r.onsuccess = () => ok(r.result); });
  const all = await new Promise((ok) => { const q = db.transaction('interviews').objectStore('interviews').getAll();
    q.onsuccess = () => ok(q.result); });
  return all.filter((i) => i.status === 'draft').map((i) => i.answers)[0];
}"""


def test_the_phone_reads_and_checks_answers_as_the_question_types_say(live_app, browser):
    """Numbers, several ticked codes and the ward, as the survey's JSON says from the types' traits: the ward is
    filled in from the interview's, a year below the question's minimum is refused on the phone, in Vietnamese,
    before anything is sent, and the draft keeps a number and a list of codes, not text."""
    inst = instrument(live_app, "digital-skills")
    context, page = volunteer_page(live_app, browser, "vol-traits")
    page.select_option("#ward", HOAN_KIEM)
    page.get_by_role("button", name=inst.text(inst.title, "vi")).click()
    page.wait_for_selector("#interview:not([hidden])")
    answer_page(page, inst.pages[0].questions)
    page.locator("#next").click()
    expect(page.locator("#ptitle")).to_have_text(inst.text(inst.pages[1].title, "vi"))
    assert page.input_value("select[name=ward]") == HOAN_KIEM  # filled in from the interview's ward
    answer_page(page, inst.pages[1].questions)
    page.fill("input[name=birth_year]", "1890")
    page.locator("#next").click()
    expect(page.locator("#e-birth_year")).to_have_text("Giá trị phải từ 1920 trở lên.")
    expect(page.locator("#ptitle")).to_have_text(inst.text(inst.pages[1].title, "vi"))  # not past this page
    page.fill("input[name=birth_year]", "1958")
    access = next(n for n, p in enumerate(inst.pages) if any(q.name == "devices" for q in p.questions))
    for n in range(2, access + 1):  # on to the page with the devices, answering what comes before it
        page.locator("#next").click()
        expect(page.locator("#ptitle")).to_have_text(inst.text(inst.pages[n].title, "vi"))
        if n < access:
            answer_page(page, inst.pages[n].questions)
    page.check("input[name=devices][value=smartphone]")
    page.check("input[name=devices][value=tablet]")
    answer_page(page, [q for q in inst.pages[access].questions if q.name != "devices"])
    page.locator("#next").click()
    expect(page.locator("#ptitle")).not_to_have_text(inst.text(inst.pages[access].title, "vi"))
    draft = page.evaluate(DRAFT)
    assert draft["ward"] == int(HOAN_KIEM) and draft["birth_year"] == 1958
    assert draft["devices"] == ["smartphone", "tablet"]
    context.close()
