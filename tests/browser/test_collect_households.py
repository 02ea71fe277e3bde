"""A volunteer works a sampled household offline on a 360 px phone: a non-contact with a callback, then at
the next visit the adults listed, the adult the household's rule picks, their interview; a reload while
offline loses nothing; back online, the visit and the interview arrive once each, and the admin's outcome
rates move as they should."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect
from sqlmodel import select

from analysis.sampling import doorstep_adult
from tests.browser.answering import HOAN_KIEM, answer_page
from tests.browser.test_collect_browser import DB_NAME, LEFT, PASSWORD, QUEUE, volunteer_page, wait_until_sent
from tests.browser.test_surveys_browser import instrument
from web import db, sampling
from web.auth import hash_password
from web.models import (
    FrameGroup,
    FrameHousehold,
    Response,
    SampledHousehold,
    Survey,
    User,
    Visit,
    WardAssignment,
)

SLUG = "service-satisfaction"
ADULTS = [("Lan", "2", 34), ("Hùng", "1", 71), ("Minh", "1", 40)]
#: what the phone keeps in its queue
KEPT = """async () => {
  const db = await new Promise((ok) => { const r = indexedDB.open(""" + DB_NAME + """, 1);
    r.onsuccess = () => ok(r.result); });
  return await new Promise((ok) => { const q = db.transaction('interviews').objectStore('interviews').getAll();
    q.onsuccess = () => ok(q.result); });
}"""


#: everything the app keeps in its key-value store (households, adults listed at the door), as JSON text
KV = """async ([name]) => {
  const db = await new Promise((ok) => { const r = indexedDB.open(name, 1);
    r.onsuccess = () => ok(r.result); });
  const all = await new Promise((ok) => { const q = db.transaction('kv').objectStore('kv').getAll();
    q.onsuccess = () => ok(q.result); });
  return JSON.stringify(all);
}"""

def sample_for(app, username: str) -> int:
    """Two residential groups of Hoàn Kiếm with household lists, a Kish draw that gives people 60+ twice the
    chance, all assigned to ``username``; returns the draw's id."""
    with app.app_context():
        session = db.session()
        volunteer = session.exec(select(User).where(User.username == username)).one()
        session.add(WardAssignment(user_id=volunteer.id, ward_code=int(HOAN_KIEM)))
        for n in (1, 2):
            group = FrameGroup(province_code=1, ward_code=int(HOAN_KIEM), group_code=f"TDP {n:02d}", households=20)
            session.add(group)
            session.flush()
            session.add_all([FrameHousehold(group_id=group.id, position=i, address=f"Số {i}, ngõ {n} Hàng Bạc")
                             for i in range(1, 21)])
        session.commit()
        survey = session.exec(select(Survey).where(Survey.slug == SLUG)).one()
        draw = sampling.draw_sample(session, survey.id, 1, {int(HOAN_KIEM): 2}, 2, seed=18,
                                    oversample={"age60": 2.0})
        assert sampling.assign_by_ward(session, draw) == 4
        return draw.id


def first_household(app) -> SampledHousehold:
    with app.app_context():
        session = db.session()
        household = session.exec(select(SampledHousehold).order_by(SampledHousehold.ward_code, SampledHousehold.group_id,
                                                                   SampledHousehold.id)).first()
        session.expunge(household)
        return household


def rates_row(app, browser, draw_id: int) -> str:
    """The admin's sample page, in English at 1280 px: the ward's row of the outcome table."""
    with app.app_context():
        session = db.session()
        if session.exec(select(User).where(User.username == "boss")).first() is None:
            session.add(User(username="boss", role="admin", password_hash=hash_password(PASSWORD)))
            session.commit()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{app.config['BASE_URL']}/accounts/login?next=/research/{SLUG}/sample%3Flang%3Den")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"**/research/{SLUG}/sample*")
    rates = page.locator("table", has=page.locator("th", has_text="RR1 %")).first
    row = rates.locator("tbody tr", has_text="Hoàn Kiếm").inner_text()
    context.close()
    return " ".join(row.split())


def list_adults(page) -> None:
    page.get_by_role("button", name="Liệt kê người lớn và chọn người phỏng vấn").click()
    for n, (name, sex, age) in enumerate(ADULTS):
        if n:
            page.get_by_role("button", name="Thêm một người").click()
        page.fill(f"#hh-p{n}-name", name)
        page.select_option(f"#hh-p{n}-sex", sex)
        page.fill(f"#hh-p{n}-age", str(age))
    page.get_by_role("button", name="Chọn người để phỏng vấn").click()


def interview_chosen(page, inst) -> None:
    """Answers every page of the interview begun from the household, reloading once on the way."""
    titles = {inst.text(p.title, "vi"): p for p in inst.pages}
    page.wait_for_selector("#interview:not([hidden])")
    for n in range(len(inst.pages) + 1):
        if page.locator("#home").is_visible():
            return
        answer_page(page, titles[page.locator("#ptitle").inner_text()].questions)
        if n == 1:  # offline: the service worker serves the shell, IndexedDB the answers
            page.reload()
            page.locator("#drafts button").first.click()
            page.wait_for_selector("#interview:not([hidden])")
        position = page.locator("#ppos").inner_text()
        page.locator("#next").click()
        page.wait_for_function("([p]) => !document.getElementById('home').hidden || "
                               "document.getElementById('ppos').textContent !== p", arg=[position])
    raise AssertionError("the interview did not end")


def test_a_household_worked_offline_arrives_once_with_its_visits_and_the_chosen_adults_weight(live_app, browser):
    inst = instrument(live_app, SLUG)
    context, page = volunteer_page(live_app, browser, "vol-house")
    draw_id = sample_for(live_app, "vol-house")
    before = rates_row(live_app, browser, draw_id)
    assert before.startswith("Phường Hoàn Kiếm 4 0 0 0 0 0 4 0.0")  # households, visits, I, R, NC, NE, unknown, RR1
    page.reload()  # the list is fetched while online and kept on the phone
    expect(page.locator("#households button.household")).to_have_count(4)
    household = first_household(live_app)
    context.set_offline(True)
    page.reload()
    door = page.locator("#households li", has_text=household.address)
    expect(door).to_contain_text("Lượt đến: 0")

    # first visit: nobody at home, call back tomorrow evening (Hà Nội time)
    door.get_by_role("button").click()
    expect(page.locator("#hh-address")).to_have_text(household.address)
    page.get_by_role("button", name="Ghi một lượt đến không phỏng vấn").click()
    page.get_by_label("Không có ai ở nhà").check()
    page.fill("#hh-callback", "2026-11-27T18:30")
    page.get_by_role("button", name="Lưu lượt đến").click()
    expect(door).to_contain_text("Lượt đến: 1")
    expect(door).to_contain_text("Không có ai ở nhà")
    expect(door).to_contain_text("27/11/2026")
    expect(door).to_contain_text("18:30")
    visit_item = page.evaluate(KEPT)[0]
    assert visit_item["kind"] == "visit" and visit_item["body"]["callback_at"] == "2026-11-27T18:30:00+07:00"

    # second visit: the adults listed, the rule's choice, the interview
    door.get_by_role("button").click()
    list_adults(page)
    on = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    chosen, probability = doorstep_adult([{"sex": s, "age": a} for _, s, a in ADULTS], "kish", household.adult_draw,
                                         on, 2.0)
    name = ADULTS[chosen][0]
    expect(page.locator("#hh-who")).to_have_text(f"Phỏng vấn {name}.")
    expect(page.locator("#hh-why")).to_contain_text(f"{round(probability * 100)}")
    page.get_by_role("button", name=f"Bắt đầu phỏng vấn {name}").click()
    interview_chosen(page, inst)
    database = page.evaluate(DB_NAME)
    kept_on_phone = page.evaluate(KV, [database])
    assert "adults" in kept_on_phone and name not in kept_on_phone  # the names go once the interview is made
    page.reload()  # nothing lost: a visit and an interview wait on the phone
    expect(page.locator("#queue")).to_have_text("2 đang chờ gửi")
    expect(door).to_contain_text("Lượt đến: 2")
    with live_app.app_context():
        assert db.session().exec(select(Visit)).all() == [] and db.session().exec(select(Response)).all() == []

    context.set_offline(False)
    wait_until_sent(page)
    with live_app.app_context():
        session = db.session()
        visits = session.exec(select(Visit).order_by(Visit.visited_at)).all()
        response = session.exec(select(Response)).one()
        kept = session.get(SampledHousehold, household.id)
        assert [(v.household_id, v.code, v.callback_at is not None) for v in visits] == [
            (household.id, "2.24", True), (household.id, "1.1", False)]
        assert visits[0].callback_at.replace(tzinfo=None) == dt.datetime(2026, 11, 27, 11, 30)  # 18:30 in Hà Nội
        assert (kept.final_code, kept.response_uuid, kept.adults, kept.adult_probability) == (
            "1.1", response.uuid, 3, probability)
        assert response.base_weight == 1 / (household.probability * probability)
        assert name not in str(response.answers) + str(response.meta)
    # the visit again (a reply lost on the way): 200, still one row
    page.evaluate(QUEUE, [{**visit_item, "attempts": 0, "next_try": 0}])
    page.locator("#send").click()
    wait_until_sent(page)
    assert page.evaluate(LEFT) == []
    with live_app.app_context():
        assert len(db.session().exec(select(Visit)).all()) == 2
    expect(door).to_contain_text("Lượt đến: 2")
    expect(door).to_contain_text("Phỏng vấn")
    after = rates_row(live_app, browser, draw_id)
    assert after.startswith("Phường Hoàn Kiếm 4 2 1 0 0 0 3 25.0"), after  # RR1 = 1 interview / 4 households
    # another household's adults listed, then a logout: no first name stays on the phone
    page.locator("#households li").filter(has_not_text=household.address).first.get_by_role("button").click()
    list_adults(page)
    assert ADULTS[0][0] in page.evaluate(KV, [database])
    page.get_by_role("button", name="Đăng xuất").click()  # nothing unsent: no question
    page.wait_for_url("**/collect/signed-out*")
    kept_on_phone = page.evaluate(KV, [database])
    assert "adults" in kept_on_phone and not any(name in kept_on_phone for name, _, _ in ADULTS)
    context.close()

