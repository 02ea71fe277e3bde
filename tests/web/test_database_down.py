"""When the database cannot be reached (down, restarting, a full disk), every page and API call answers
503 with a time to come back, in the user's language: never a 500. The offline app treats 503 as "try
again later", so an interview it holds stays on the phone until the database is back."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_CONFIG
from tests.pg_cluster import free_port
from web import create_app


@pytest.fixture(params=["sqlite", "postgres"])
def unreachable(request, tmp_path):
    """An app whose database is not there: an SQLite file in a folder that does not exist, or PostgreSQL
    on a port where nothing listens."""
    url = (f"sqlite:///{tmp_path / 'gone' / 'khaosat.sqlite'}" if request.param == "sqlite"
           else f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")
    return create_app({**TEST_CONFIG, "DATABASE_URL": url, "ENGINE_OPTIONS": {}})


def test_pages_and_api_answer_503_with_retry_after_in_the_users_language(unreachable):
    client = unreachable.test_client()
    page = client.get("/?lang=en")
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert "cannot reach its database" in page.get_data(as_text=True)
    vi = client.get("/s/digital-skills?lang=vi")
    assert vi.status_code == 503 and "không kết nối được cơ sở dữ liệu" in vi.get_data(as_text=True)
    api = client.post("/api/v1/submissions", json={"uuid": "abcdefgh-1", "survey": "digital-skills", "version": 1,
                                                   "answers": {}}, headers={"Authorization": "Bearer not-a-token"})
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    message = api.get_json()["errors"]["_"]
    assert "cannot reach its database" in message["en"] and "cơ sở dữ liệu" in message["vi"]
