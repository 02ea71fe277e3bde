"""Grids, knowledge items and household rosters (repeats) on the self-completion pages."""

from sqlmodel import select

from surveys import Page, Question
from tests.surveys.test_answers import INS
from tests.web.helpers import complete
from web import catalog, db
from web.models import Response
from web.respond.rules import page_rules


def publish(app):
    with app.app_context():
        catalog.publish(db.session(), INS, controller="Test controller", contact="test@example.org")


def test_each_grid_item_knowledge_item_and_roster_row_is_its_own_labelled_group(client, app):
    publish(app)
    client.post("/s/types")
    page = client.get("/s/types/p/0?lang=en").get_data(as_text=True)
    for item in ("sat_a", "sat_b"):
        assert f'<fieldset class="item " id="q-{item}"' in page
    assert page.count('name="sat_a"') == 4  # one radio per point of the scale
    assert 'id="q-sat_b" data-rel=' in page  # shown/hidden at once as age changes
    assert 'type="radio" name="k1"' in page and 'type="checkbox" name="k2"' in page
    assert 'name="members.0.m_age"' in page and 'name="members.1.m_age"' not in page
    assert "Add a row" in page


def test_a_roster_grows_row_by_row_and_is_stored_as_rows(client, app):
    publish(app)
    client.post("/s/types")
    first = {"age": "30", "sat_a": "2", "sat_b": "3", "k1": "b", "k2": ["a", "c"], "members.0.m_age": "44"}
    added = client.post("/s/types/p/0", data={**first, "nav": "add-members"})
    assert added.status_code == 302 and "add=members" in added.headers["Location"]
    page = client.get(added.headers["Location"]).get_data(as_text=True)
    assert 'name="members.1.m_age"' in page and 'value="44"' in page  # the first row was kept
    data = {**first, "members.1.m_age": "9", "members.1.m_school": "1", "members.2.m_age": ""}
    assert client.post("/s/types/p/0", data=data).status_code == 302
    assert client.post("/s/types/p/1", data={"works": "1"}).status_code == 302
    with app.app_context():
        [response] = db.session().exec(select(Response)).all()
    assert response.answers["members"] == [{"m_age": 44}, {"m_age": 9, "m_school": "1"}]
    assert response.answers["sat_b"] == "3" and response.answers["k2"] == ["a", "c"]


def test_a_missing_grid_item_is_marked_next_to_that_item(client, app):
    publish(app)
    client.post("/s/types?lang=en")
    response = client.post("/s/types/p/0", data={"age": "30", "sat_a": "2"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<p class="error" id="e-sat_b">Please answer this question.</p>' in page
    assert 'name="sat_b" value="1" autofocus' in page


def test_rules_decide_on_the_server_what_depends_only_on_earlier_pages():
    q = Question(name="follow", type="yesno", label={"vi": "?", "en": "?"}, relevant="${earlier} = '1'")
    live = Question(name="other", type="yesno", label={"vi": "?", "en": "?"}, relevant="${follow} = '1' and ${earlier} = '1'")
    page = Page(name="p", title={"vi": "P", "en": "P"}, questions=(q, live))
    rules = page_rules(page, {"earlier": "0"})
    assert rules.omitted == {"follow"} and set(rules.live) == {"other"} and rules.known == {"earlier": "0"}
    assert page_rules(page, {"earlier": "1"}).omitted == set()


def test_the_done_page_gives_a_skills_profile_and_where_to_learn(client, app):
    page = complete(client, app, lang="en").get_data(as_text=True)
    assert "What you have done online in the last 3 months" in page and "Staying safe online" in page
    assert "binhdanhocvuso.gov.vn" in page and "Hoàn Kiếm" in page
    other = app.test_client()
    satisfaction = complete(other, app, slug="service-satisfaction", lang="vi").get_data(as_text=True)
    assert "Cảm ơn bạn" in satisfaction and "Bước tiếp theo" not in satisfaction
