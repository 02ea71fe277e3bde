"""``say``: the sentence the web layer shows for a code that ``surveys`` returns (web/messages.py)."""

import pytest

from web import create_app
from web.messages import render


@pytest.fixture(scope="session")
def say(tmp_path_factory):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('say')}/x.sqlite"})

    def sentence(message, lang: str = "en") -> str:
        with app.test_request_context():
            return render(message, lang)

    return sentence
