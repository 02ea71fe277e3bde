"""The app starts from the environment, answers /healthz, and speaks Vietnamese by default."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from web import create_app
from web.auth import hash_password


def html_lang(response) -> str:
    return re.search(rb'<html lang="([a-z-]+)"', response.data).group(1).decode()


@pytest.mark.both_backends
def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "db": "ok"}


def test_vietnamese_is_the_default(client):
    response = client.get("/")
    assert html_lang(response) == "vi"
    assert "Khảo sát kỹ năng số của người dân" in response.get_data(as_text=True)


def test_lang_switch_is_remembered_in_a_cookie(client):
    response = client.get("/?lang=en")
    assert html_lang(response) == "en"
    assert "Residents&#39; digital skills survey" in response.get_data(as_text=True)
    assert "lang=en" in response.headers["Set-Cookie"]
    assert html_lang(client.get("/")) == "en"
    assert html_lang(client.get("/?lang=vi")) == "vi"
    assert html_lang(client.get("/")) == "vi"


def test_unknown_language_falls_back_to_vietnamese(client):
    assert html_lang(client.get("/?lang=xx")) == "vi"


def test_unknown_page_is_a_friendly_404_in_the_chosen_language(client):
    response = client.get("/no-such-page?lang=en")
    assert response.status_code == 404
    assert "This page does not exist." in response.get_data(as_text=True)
    response = client.get("/no-such-page?lang=vi")
    assert "Trang này không tồn tại." in response.get_data(as_text=True)


def test_security_headers_on_every_response(client):
    response = client.get("/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_database_url_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@db.example/khaosat")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    app = create_app()
    assert app.config["DATABASE_URL"] == "postgresql+psycopg://someone@db.example/khaosat"
    assert app.config["SECRET_KEY"] == "from-env"


def test_passwords_are_hashed_with_argon2id_at_full_strength_outside_tests(app):
    with app.app_context():
        cheap = hash_password("correct-horse-9")
    app.testing = False
    with app.app_context():
        strong = hash_password("correct-horse-9")
    assert strong.startswith("$argon2id$") and "m=65536,t=3,p=4" in strong  # RFC 9106 low-memory profile
    assert cheap.startswith("$argon2id$") and "m=65536" not in cheap  # the suite's logins stay quick


#: libraries a page, a log-in or a job's queueing never needs: loaded at their first use (analysis.lazy), not
#: at every start of a web process, job worker or command (together ~1 s of CPU a start)
HEAVY = ("numpy", "pandas", "pyarrow", "scipy", "highspy", "matplotlib", "openpyxl", "alembic", "rq", "redis")


def test_the_app_starts_without_the_heavy_libraries(tmp_path):
    code = f"import sys, web; web.create_app(); print(sorted(set(sys.modules) & set({HEAVY!r})))"
    env = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "start", "DATABASE_URL": f"sqlite:///{tmp_path / 'start.sqlite'}"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=Path(__file__).resolve().parents[2],
                         capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


@pytest.mark.parametrize("server", ["gunicorn/23.0.0", ""])
def test_a_gunicorn_worker_loads_the_statistics_before_its_first_request(tmp_path, server):
    """A gunicorn worker makes a small estimate as it starts (its first research page then does not load pandas and
    scipy's statistics: seconds on a slow host); any other process leaves them to the first page that needs them."""
    script = ("import sys; from web import create_app; "
              f"create_app({{'DATABASE_URL': 'sqlite:///{tmp_path}/db.sqlite', 'SECRET_KEY': 'x'}}); "
              "print(all(m in sys.modules for m in ('pandas', 'scipy.stats', 'scipy.sparse', 'matplotlib')))")
    env = {"PATH": "/usr/bin:/bin", "SERVER_SOFTWARE": server, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("True" if server else "False")
