"""The interview app as a field team meets it: Wi-Fi login pages, clean-ups, updates, reboots,
server errors and shared phones. Chromium at 360 px (a persistent profile where the browser restarts); every check counts
the server's rows by uuid."""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from surveys.loader import from_dict
from tests.browser.conftest import CHROMIUM_FLAGS, SHUTDOWN_POLL_SECONDS, chromium_path
from tests.browser.test_collect_browser import (
    DB_NAME,
    LEFT,
    PASSWORD,
    QUEUE,
    interview,
    queued,
    wait_until_sent,
)
from tests.browser.test_surveys_browser import instrument
from tests.web.test_api import valid_answers
from web import catalog, db
from web.auth import hash_password, new_token
from web.models import Response, User

SLUG = "service-satisfaction"
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "vi-VN"}


class Portal(BaseHTTPRequestHandler):
    """A Wi-Fi login page: 200 text/html to everything."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b"<!doctype html><title>Wi-Fi</title><p>Please accept the terms to use the Wi-Fi.</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def portal():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Portal)
    thread = threading.Thread(target=server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def phone(browser):
    """A context of the session's browser with one page: the service worker, IndexedDB, the Cache API and
    offline mode work in it as in a profile on disk, and it opens in milliseconds where launching a
    browser for a profile takes about a second of CPU."""
    context = browser.new_context(**PHONE)
    context.new_page()
    yield context
    context.close()


@pytest.fixture
def profile(browser, tmp_path):
    """Opens a persistent Chromium profile (the same directory each time: a browser restart). Only a test
    that closes the browser and opens it again needs one: it launches a browser of its own each time."""
    opened = []

    def launch():
        context = browser.browser_type.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS, **PHONE)
        opened.append(context)
        return context

    yield launch
    for context in opened:
        try:
            context.close()
        except Exception:  # noqa: BLE001 - already closed by the test
            pass


def make_user(app, username: str, role: str = "volunteer") -> int:
    with app.app_context():
        session = db.session()
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            user = User(username=username, role=role, password_hash=hash_password(PASSWORD))
            session.add(user)
            session.commit()
        return user.id


def log_in(app, page, username: str, role: str = "volunteer", ready: bool = True) -> None:
    make_user(app, username, role)
    page.goto(f"{app.config['BASE_URL']}/accounts/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main button[type=submit]").click()
    if role in ("volunteer", "supervisor"):
        page.wait_for_url("**/collect/")  # field roles land on the app
    if ready:
        page.wait_for_selector("html[data-offline-ready='1']")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def stored(app, uuids) -> dict[str, Response]:
    with app.app_context():
        found = db.session().exec(select(Response).where(Response.uuid.in_(list(uuids)))).all()
    return {r.uuid: r for r in found}


def left(page) -> list[str]:
    return sorted(page.evaluate(LEFT))


def wait_for(page, statuses) -> None:
    wait_until_sent(page, statuses, seconds=30)


def uuid_n(n: int) -> str:
    return f"5a1e{n:04d}-0000-4000-8000-00000000{n:04d}"


def test_a_captive_portal_deletes_nothing_and_the_queue_arrives_once_after(live_app, browser, phone, portal):
    context = phone
    page = context.pages[0]
    log_in(live_app, page, "vol-portal")
    answers = valid_answers(live_app)
    uuids = [uuid_n(i) for i in range(4)]
    # the Wi-Fi answers every request of the app with its own page
    context.route("**/api/v1/submissions", lambda route: route.fulfill(response=route.fetch(url=portal)))
    for u in uuids:
        page.evaluate(QUEUE, [queued(live_app, u, answers)])
    page.locator("#send").click()
    page.wait_for_function("() => document.querySelectorAll('#problems li[data-status=queued]').length === 4")
    assert left(page) == ["queued"] * 4 and stored(live_app, uuids) == {}
    expect(page.locator("#queue")).to_have_text("4 đang chờ gửi")
    assert "đăng nhập Wi-Fi" in page.locator("#problems").inner_text()
    assert page.title().startswith("(4 chưa gửi)")
    context.unroute("**/api/v1/submissions")
    page.locator("#send").click()  # the portal has gone
    wait_for(page, [])
    rows = stored(live_app, uuids)
    assert sorted(rows) == uuids
    with live_app.app_context():
        assert db.session().exec(select(Response)).all().__len__() == 4  # once each
    expect(page.locator("#queue")).to_have_text("0 đang chờ gửi")


def test_500_refused_409_and_422_each_stay_with_their_reason_and_count(live_app, browser, phone):
    context = phone
    page = context.pages[0]
    log_in(live_app, page, "vol-errors")
    answers = valid_answers(live_app)
    error, refused, clash, invalid = (uuid_n(10 + i) for i in range(4))
    # the clash: this uuid is already stored with other answers
    with live_app.test_client() as client:
        with live_app.app_context():
            token = new_token(db.session().exec(select(User).where(User.username == "vol-errors")).one())
        first = queued(live_app, clash, {**answers, "birth_year": 1990})["body"]
        assert client.post("/api/v1/submissions", json=first, headers={"Authorization": f"Bearer {token}"}).status_code == 201

    def server_trouble(route):
        body = json.loads(route.request.post_data)
        if body["uuid"] == error:
            return route.fulfill(status=500, content_type="application/json", body='{"error": "boom"}')
        if body["uuid"] == refused:
            return route.abort("connectionrefused")
        return route.continue_()

    context.route("**/api/v1/submissions", server_trouble)
    for u, a in ((error, answers), (refused, answers), (clash, answers), (invalid, {**answers, "birth_year": 1700})):
        page.evaluate(QUEUE, [queued(live_app, u, a)])
    page.locator("#send").click()
    wait_for(page, ["conflict", "invalid", "queued", "queued"])
    page.wait_for_function("() => document.querySelectorAll('#problems li').length === 4")
    expect(page.locator("#queue")).to_have_text("4 đang chờ gửi")  # every unsent item counts
    reasons = {u: page.locator(f"#problems li[data-uuid='{u}']").inner_text() for u in (error, refused, clash, invalid)}
    assert "Lỗi máy chủ 500; sẽ thử lại lúc" in reasons[error]
    assert "Không kết nối được máy chủ; sẽ thử lại lúc" in reasons[refused]
    assert "Đã gửi trước đó với nội dung khác" in reasons[clash] and "Giữ cả hai" in reasons[clash]
    assert "Máy chủ không nhận phiếu này" in reasons[invalid] or "birth_year" in reasons[invalid]
    for text in reasons.values():  # survey, ward, start and last try, with 4-digit years
        assert "Phường" in text and "Lần thử gần nhất:" in text and "/2026" in text
    assert stored(live_app, [error, refused, invalid]) == {}
    # the volunteer keeps both: the second copy goes under a new uuid, linked to the first
    page.locator(f"#problems li[data-uuid='{clash}'] button.keep").click()
    wait_for(page, ["invalid", "queued", "queued"])
    with live_app.app_context():
        kept = db.session().exec(select(Response).where(Response.conflict_of == clash)).one()
    assert kept.uuid != clash and kept.answers["birth_year"] != 1990
    # the same clash again, and this time the volunteer discards the phone's copy, after a question
    asked = []
    page.on("dialog", lambda d: (asked.append(d.message), d.accept()))
    page.evaluate(QUEUE, [queued(live_app, clash, answers)])
    page.locator("#send").click()
    page.wait_for_selector(f"#problems li[data-uuid='{clash}'] button.discard")
    page.locator(f"#problems li[data-uuid='{clash}'] button.discard").click()
    wait_for(page, ["invalid", "queued", "queued"])
    assert asked and "Bản đã có trên máy chủ vẫn được giữ" in asked[0]
    assert stored(live_app, [clash])[clash].answers["birth_year"] == 1990  # the server's copy is untouched
    # the server is back: the retried ones arrive, the invalid one waits for a correction
    context.unroute("**/api/v1/submissions")
    page.locator("#send").click()
    wait_for(page, ["invalid"])
    assert sorted(stored(live_app, [error, refused])) == sorted([error, refused])
    expect(page.locator("#queue")).to_have_text("1 đang chờ gửi")


def test_clearing_site_data_after_the_warning_and_the_file_the_supervisor_imports_each_once(
        live_app, browser, phone, tmp_path):
    context = phone
    page = context.pages[0]
    log_in(live_app, page, "vol-file")
    context.set_offline(True)
    inst = instrument(live_app, SLUG)
    page.select_option("#ward", page.locator("#ward option").nth(1).get_attribute("value"))
    interview(page, inst)
    page.get_by_role("button", name=inst.text(inst.title, "vi")).click()  # a second one, left unfinished
    page.wait_for_selector("#interview:not([hidden])")
    page.locator("#leave").click()
    expect(page.locator("#queue")).to_have_text("1 đang chờ gửi")
    assert page.title().startswith("(1 chưa gửi)")
    warned = []
    page.on("dialog", lambda d: (warned.append(d.type), d.dismiss()))
    page.close(run_before_unload=True)  # leaving: the browser asks first, and the volunteer stays
    for _ in range(50):  # until the browser has asked (0.5 s at most)
        if warned:
            break
        page.wait_for_timeout(10)
    assert warned == ["beforeunload"]
    page = context.pages[0] if context.pages else context.new_page()
    with page.expect_download() as download:
        page.locator("#export").click()
    saved = tmp_path / "interviews.khaosat"
    download.value.save_as(saved)
    text = saved.read_text()
    assert "Phường" not in text and "birth_year" not in text and json.loads(text)["format"] == "khaosat-interviews/1"
    uuids = [i["uuid"] for i in page.evaluate(LEFT.replace("i.status", "i"))]
    # the browser's "clear site data"
    cdp = context.new_cdp_session(page)
    cdp.send("Storage.clearDataForOrigin", {"origin": live_app.config["BASE_URL"], "storageTypes": "all"})
    context.close()
    assert stored(live_app, uuids) == {}
    supervisor = browser.new_context(**PHONE).new_page()
    log_in(live_app, supervisor, "sup-import", role="supervisor", ready=False)
    for round_ in ("first", "again"):
        supervisor.goto(f"{live_app.config['BASE_URL']}/collect/import")
        supervisor.set_input_files("input[type=file]", str(saved))
        supervisor.get_by_role("button", name="Nhập").click()
        result = supervisor.locator("section[role=status]").inner_text()
        assert ("Vừa lưu\t1" if round_ == "first" else "Đã có trên máy chủ\t1") in result, result
        assert "Chưa xong (không lưu)\t1" in result
    rows = stored(live_app, uuids)
    assert len(rows) == 1
    assert next(iter(rows.values())).volunteer_id == make_user(live_app, "vol-file")
    supervisor.context.close()


#: Check for a new release and wait until its worker has settled (installed, or dropped as redundant):
#: [installing?, waiting?, active?] then.
RELEASE_SETTLED = """() => navigator.serviceWorker.getRegistration().then(async (r) => {
  await r.update();
  const worker = r.installing;
  if (worker) {
    await new Promise((settled) => {
      const check = () => { if (worker.state !== "installing") settled(); };
      worker.addEventListener("statechange", check);
      check();
    });
  }
  return [!!r.installing, !!r.waiting, !!r.active];
})"""


def test_a_new_release_while_logged_out_then_an_offline_start_opens_the_app(live_app, browser, phone, monkeypatch):
    context = phone
    page = context.pages[0]
    log_in(live_app, page, "vol-release")
    # the app's own requests after the login have answered first: a reply still on its way would set the session
    # cookie again after it is cleared, and the new release would then install
    page.wait_for_load_state("networkidle")
    context.clear_cookies()  # the login is gone (the old cookie ended with the browser)
    monkeypatch.setattr("web.collect.views.APP_VERSION", "release-two")
    outcome = page.evaluate(RELEASE_SETTLED)
    assert outcome == [False, False, True]  # the release could not fetch the shell: it was dropped
    assert page.evaluate("caches.keys()") != [] and all("release-two" not in k for k in page.evaluate("caches.keys()"))
    context.set_offline(True)
    page.goto(f"{live_app.config['BASE_URL']}/collect/")
    page.wait_for_selector("#home:not([hidden])")
    page.select_option("#ward", page.locator("#ward option").nth(1).get_attribute("value"))
    interview(page, instrument(live_app, SLUG))
    expect(page.locator("#queue")).to_have_text("1 đang chờ gửi")


def test_a_new_release_while_logged_in_waits_for_the_volunteer(live_app, browser, phone, monkeypatch):
    context = phone
    page = context.pages[0]
    log_in(live_app, page, "vol-update")
    monkeypatch.setattr("web.collect.views.APP_VERSION", "release-three")
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    expect(page.locator("#update")).to_be_visible(timeout=15000)
    page.get_by_role("button", name="Cập nhật ngay").click()
    page.wait_for_function("() => caches.keys().then((k) => k.includes('ks-collect-release-three'))")
    page.wait_for_function("() => caches.keys().then((k) => k.length === 1)")


def test_a_browser_restart_offline_keeps_the_volunteer_logged_in(live_app, browser, profile):
    context = profile()
    log_in(live_app, context.pages[0], "vol-reboot")
    context.close()
    context = profile()  # the phone rebooted in a place without signal
    context.set_offline(True)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(f"{live_app.config['BASE_URL']}/collect/")
    page.wait_for_selector("#home:not([hidden])")
    assert page.locator("#signed-out").is_hidden()
    page.select_option("#ward", page.locator("#ward option").nth(1).get_attribute("value"))
    interview(page, instrument(live_app, SLUG))
    expect(page.locator("#queue")).to_have_text("1 đang chờ gửi")
    [item] = page.evaluate(LEFT.replace("i.status", "i.uuid"))
    context.set_offline(False)  # signal again: the same login sends it, no new login needed
    page.locator("#send").click()
    wait_for(page, [])
    assert stored(live_app, [item])[item].volunteer_id == make_user(live_app, "vol-reboot")
    page.goto(f"{live_app.config['BASE_URL']}/collect/")
    assert page.url.endswith("/collect/")  # still logged in online too


def test_two_volunteers_on_one_phone_never_see_or_send_each_others_work(live_app, browser, phone):
    context = phone
    page = context.pages[0]
    base = live_app.config["BASE_URL"]
    log_in(live_app, page, "vol-an")
    an_token = page.evaluate("""async () => { const db = await new Promise((ok) => { const r = indexedDB.open("""
                             + DB_NAME + """, 1); r.onsuccess = () => ok(r.result); });
      return await new Promise((ok) => { const q = db.transaction('kv').objectStore('kv').get('token');
        q.onsuccess = () => ok(q.result.value); }); }""")
    context.set_offline(True)
    inst = instrument(live_app, SLUG)
    page.select_option("#ward", page.locator("#ward option").nth(1).get_attribute("value"))
    interview(page, inst)
    page.get_by_role("button", name=inst.text(inst.title, "vi")).click()  # and one unfinished
    page.wait_for_selector("#interview:not([hidden])")
    page.locator("#leave").click()
    [an_item] = [u for u in page.evaluate(LEFT.replace("i.status", "i.body && i.uuid")) if u]
    context.set_offline(False)
    # An logs out with an unsent interview: warned, keeps it for herself
    context.route("**/api/v1/submissions", lambda route: route.abort("connectionrefused"))
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.locator("#logout-box")).to_be_visible()
    assert "1" in page.locator("#logout-h").inner_text()
    page.get_by_role("button", name="Giữ lại cho tôi và đăng xuất").click()
    page.wait_for_url("**/collect/signed-out*")
    context.unroute("**/api/v1/submissions")
    # what she kept is sealed for the server: nothing readable is left in her database on the phone
    kept = page.evaluate("""async ([name]) => { const db = await new Promise((ok) => { const r = indexedDB.open(name, 1);
      r.onsuccess = () => ok(r.result); });
      return await new Promise((ok) => { const q = db.transaction('interviews').objectStore('interviews').getAll();
        q.onsuccess = () => ok(q.result); }); }""", [f"khaosat-collect-u{make_user(live_app, 'vol-an')}"])
    assert len(kept) == 2 and all(sorted(i) == ["sealed", "status", "uuid"] for i in kept)
    assert "Phường" not in json.dumps(kept) and "birth_year" not in json.dumps(kept)
    # her app token ended on the server with her login
    body = queued(live_app, uuid_n(99), valid_answers(live_app))["body"]
    assert live_app.test_client().post("/api/v1/submissions", json=body,
                                       headers={"Authorization": f"Bearer {an_token}"}).status_code == 401
    # offline, the app kept on the phone opens locked: nothing of An's shows
    context.set_offline(True)
    page.goto(f"{base}/collect/")
    expect(page.locator("#signed-out")).to_be_visible()
    assert page.locator("#home").is_hidden() and page.locator("#drafts li").count() == 0
    context.set_offline(False)
    # Binh logs in on the same browser: sees none of An's work, sends only his own
    log_in(live_app, page, "vol-binh")
    assert page.locator("#drafts").inner_text().strip() == "Không có."
    expect(page.locator("#queue")).to_have_text("0 đang chờ gửi")
    page.select_option("#ward", page.locator("#ward option").nth(1).get_attribute("value"))
    interview(page, inst)
    wait_for(page, [])
    page.wait_for_timeout(1500)
    assert stored(live_app, [an_item]) == {}
    with live_app.app_context():
        binh_rows = db.session().exec(select(Response)).all()
    assert [r.volunteer_id for r in binh_rows] == [make_user(live_app, "vol-binh")]
    page.get_by_role("button", name="Đăng xuất").click()  # nothing unsent: no question
    page.wait_for_url("**/collect/signed-out*")
    # An again: her interview and her draft are there, and now go, as hers
    log_in(live_app, page, "vol-an")
    wait_for(page, ["draft"])
    assert stored(live_app, [an_item])[an_item].volunteer_id == make_user(live_app, "vol-an")
    assert "Tiếp tục" in page.locator("#drafts").inner_text()


def test_on_reconnect_the_survey_list_refreshes_and_a_survey_not_on_the_phone_says_why(live_app, browser, phone):
    context = phone
    page = context.pages[0]
    log_in(live_app, page, "vol-refresh")
    old = instrument(live_app, SLUG)
    # one survey's definition never reached this phone
    page.evaluate("""async () => { const db = await new Promise((ok) => { const r = indexedDB.open(""" + DB_NAME + """, 1);
      r.onsuccess = () => ok(r.result); });
      await new Promise((ok) => { const t = db.transaction('surveys', 'readwrite');
        t.objectStore('surveys').delete('digital-skills:' + document.querySelector("[data-slug='digital-skills']").dataset.version);
        t.oncomplete = ok; }); }""")
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#nf-digital-skills")
    page.select_option("#ward", page.locator("#ward option").nth(1).get_attribute("value"))
    page.locator("[data-slug='digital-skills']").click()
    expect(page.locator("#net")).to_contain_text("chưa được tải về")
    assert page.locator("#interview").is_hidden()
    # a new version is published while the phone is away
    source = copy.deepcopy(old.source)
    source["title"] = {**source["title"], "vi": "Hài lòng dịch vụ công (bản mới)"}
    with live_app.app_context():
        new = catalog.publish(db.session(), from_dict(source))
    assert new.version == old.version + 1
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    button = page.locator(f"#surveys button[data-slug='{SLUG}']")
    expect(button).to_have_attribute("data-version", str(new.version))
    expect(button).to_have_text("Hài lòng dịch vụ công (bản mới)")
    expect(page.locator("#nf-digital-skills")).to_have_count(0)
    has = """async ([key]) => { const db = await new Promise((ok) => { const r = indexedDB.open(""" + DB_NAME + """, 1);
      r.onsuccess = () => ok(r.result); });
      return await new Promise((ok) => { const q = db.transaction('surveys').objectStore('surveys').getKey(key);
        q.onsuccess = () => ok(q.result !== undefined); }); }"""
    for _ in range(100):  # the new version's definition is kept on the phone
        if page.evaluate(has, [f"{SLUG}:{new.version}"]):
            break
        page.wait_for_timeout(100)
    context.set_offline(True)  # and the new version starts offline
    button.click()
    page.wait_for_selector("#interview:not([hidden])")


def test_an_interview_queued_by_the_previous_app_version_is_adopted_and_sent(live_app, browser, phone):
    context = phone
    page = context.pages[0]
    log_in(live_app, page, "vol-legacy")
    mine, theirs = queued(live_app, uuid_n(70), valid_answers(live_app)), queued(live_app, uuid_n(71), valid_answers(live_app))
    mine["body"]["meta"]["volunteer"], theirs["body"]["meta"]["volunteer"] = "vol-legacy", "someone-else"
    legacy = QUEUE.replace(DB_NAME, "'khaosat-collect'").replace("const db = await new Promise((ok, fail) => {", """
      const db = await new Promise((ok, fail) => { const up = indexedDB.open('khaosat-collect', 1);
        up.onupgradeneeded = () => { up.result.createObjectStore('interviews', { keyPath: 'uuid' });
          up.result.createObjectStore('surveys'); up.result.createObjectStore('kv'); };
        up.onsuccess = () => { up.result.close(); ok(); }; }).then(() => new Promise((ok, fail) => {""", 1)
    legacy = legacy.replace("r.onerror = () => fail(r.error); });", "r.onerror = () => fail(r.error); }));", 1)
    for item in (mine, theirs):
        page.evaluate(legacy, [item])
    page.reload()
    page.wait_for_selector("html[data-offline-ready='1']")
    for _ in range(400):
        if uuid_n(70) in stored(live_app, [uuid_n(70)]):
            break
        page.wait_for_timeout(50)
    assert list(stored(live_app, [uuid_n(70), uuid_n(71)])) == [uuid_n(70)]  # only this volunteer's


def test_logging_out_with_unsent_interviews_can_send_them_first(live_app, browser, phone):
    context = phone
    page = context.pages[0]
    log_in(live_app, page, "vol-send-first")
    context.route("**/api/v1/submissions", lambda route: route.abort("connectionrefused"))
    page.evaluate(QUEUE, [queued(live_app, uuid_n(80), valid_answers(live_app))])
    page.locator("#send").click()
    wait_for(page, ["queued"])
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.locator("#logout-box")).to_be_visible()
    context.unroute("**/api/v1/submissions")  # the network is fine again
    page.locator("#logout-box").get_by_role("button", name="Gửi ngay").click()
    page.wait_for_url("**/collect/signed-out*")
    assert list(stored(live_app, [uuid_n(80)])) == [uuid_n(80)]
