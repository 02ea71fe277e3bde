"""A resident answers a survey on their phone: pages, errors, language switch, resume, storage."""

import re

from sqlmodel import select

from tests.web.helpers import HOAN_KIEM, complete, instrument
from web import db
from web.models import Draft, Response, SurveyVersion


def stored(app) -> list[Response]:
    with app.app_context():
        return db.session().exec(select(Response)).all()


def test_start_page_in_vietnamese(client):
    response = client.get("/s/digital-skills")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Khảo sát kỹ năng số của người dân" in text
    assert "Bắt đầu" in text


def test_unknown_survey_is_404(client):
    assert client.get("/s/no-such-survey").status_code == 404


def test_complete_in_vietnamese_stores_one_response(client, app):
    done = complete(client, app, lang="vi")
    assert "Cảm ơn bạn! Câu trả lời của bạn đã được ghi nhận." in done.get_data(as_text=True)
    [response] = stored(app)
    assert response.ward_code == HOAN_KIEM
    assert response.channel == "self"
    assert response.language == "vi"
    assert response.answers["birth_year"] == 1958
    assert response.started_at is not None and response.submitted_at >= response.started_at
    with app.app_context():
        version = db.session().get(SurveyVersion, response.survey_version_id)
        assert version.version == instrument(app).version
        assert db.session().exec(select(Draft)).all() == []


def test_complete_in_english(client, app):
    done = complete(client, app, lang="en")
    assert "Thank you! Your answers have been received." in done.get_data(as_text=True)
    assert stored(app)[0].language == "en"


def test_missing_required_answer_shows_message_in_the_chosen_language(client, app):
    client.post("/s/digital-skills?lang=en")
    response = client.post("/s/digital-skills/p/0", data={})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Your consent is needed to continue." in text
    assert "autofocus" in text
    client.get("/?lang=vi")
    text = client.post("/s/digital-skills/p/0", data={}).get_data(as_text=True)
    assert "Cần có sự đồng ý của bạn để tiếp tục." in text
    assert stored(app) == []


def test_invalid_number_is_rejected_and_nothing_is_stored(client, app):
    client.post("/s/digital-skills")
    client.post("/s/digital-skills/p/0", data={"consent": "1"})
    response = client.post("/s/digital-skills/p/1", data={"ward": str(HOAN_KIEM), "birth_year": "năm ngoái",
                                                          "sex": "2", "education": "3"})
    assert response.status_code == 422
    assert "Hãy nhập một số nguyên." in response.get_data(as_text=True)
    response = client.post("/s/digital-skills/p/1", data={"ward": "999999", "birth_year": "1970",
                                                          "sex": "2", "education": "3"})
    assert "Hãy chọn phường/xã trong danh sách." in response.get_data(as_text=True)
    assert stored(app) == []


def test_switching_language_mid_page_keeps_every_answer(client, app):
    client.post("/s/digital-skills")
    client.post("/s/digital-skills/p/0", data={"consent": "1"})
    answers = {"ward": str(HOAN_KIEM), "birth_year": "1961", "sex": "2", "education": "4"}
    response = client.post("/s/digital-skills/p/1", data={**answers, "lang": "en"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<html lang="en">' in page
    assert 'value="1961"' in page
    assert re.search(r'value="2" checked', page)
    assert re.search(rf'value="{HOAN_KIEM}" selected', page)
    back = client.get("/s/digital-skills/p/0").get_data(as_text=True)
    assert re.search(r'name="consent" value="1" checked', back)


def test_back_button_keeps_answers(client, app):
    client.post("/s/digital-skills")
    client.post("/s/digital-skills/p/0", data={"consent": "1"})
    response = client.post("/s/digital-skills/p/1", data={"birth_year": "1990", "nav": "back"})
    assert response.headers["Location"].endswith("/s/digital-skills/p/0")
    page = client.get("/s/digital-skills/p/1").get_data(as_text=True)
    assert 'value="1990"' in page


def test_resume_code_continues_on_another_device(client, app):
    client.post("/s/digital-skills")
    client.post("/s/digital-skills/p/0", data={"consent": "1"})
    page = client.get("/s/digital-skills/p/1").get_data(as_text=True)
    code = re.search(r"mã ([2-9A-Z]{8})", page).group(1)
    other = app.test_client()
    assert other.get("/s/digital-skills/p/1").status_code == 302
    response = other.post("/resume", data={"code": code.lower()})
    assert response.headers["Location"].endswith("/s/digital-skills/p/1")
    missing = other.post("/resume", data={"code": "NOPE1234"})
    assert missing.status_code == 404
    assert "Không tìm thấy mã tiếp tục này." in missing.get_data(as_text=True)


def test_finished_survey_cannot_be_submitted_twice_by_replaying_the_last_page(client, app):
    complete(client, app)
    inst = instrument(app)
    last = len(inst.pages) - 1
    response = client.post(f"/s/digital-skills/p/{last}", data={})
    assert response.status_code == 302
    assert len(stored(app)) == 1


def test_page_out_of_range_is_404(client):
    client.post("/s/digital-skills")
    assert client.get("/s/digital-skills/p/999").status_code == 404


def test_a_request_racing_start_does_not_send_back_an_older_cookie_and_lose_the_draft(client, app):
    """The browser fetches the icon (or another page) with the cookie it had before "Start" answered;
    that response must not carry a cookie, or it overwrites the one naming the new draft."""
    assert client.post("/s/service-satisfaction").status_code == 302  # a cookie with something in it
    older = client.get_cookie("session").value
    assert client.post("/s/digital-skills").status_code == 302
    assert client.get_cookie("session").value != older
    client.set_cookie("session", older)  # what the racing request carried
    for path in ("/favicon.ico", "/no-such-page", "/", "/s/digital-skills"):
        assert "session=" not in " ".join(client.get(path).headers.getlist("Set-Cookie")), path
    assert client.get("/favicon.ico").headers["Content-Type"] == "image/png"
