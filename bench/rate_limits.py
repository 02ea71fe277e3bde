"""What rate limiting costs a submission: in-process posts with limits off, in memory and in Redis.

    python bench/rate_limits.py [N]

Prints submissions per second for each storage (one thread, SQLite in a temporary folder).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from web import catalog, create_app, db  # noqa: E402
from web.auth import hash_password, new_token  # noqa: E402
from web.catalog import current_version, instrument_of  # noqa: E402
from web.models import User  # noqa: E402


def answers(app) -> tuple[dict, int]:
    with app.app_context():
        inst = instrument_of(current_version(db.session(), "digital-skills"))
    body = {"consent": "1", "ward": 70, "birth_year": 1958, "sex": "1", "education": "4"}
    for q in inst.questions:
        if q.type == "yesno":
            body[q.name] = q.choices[-1].code
    return body, inst.version


def run(storage: str | None, n: int) -> float:
    folder = tempfile.mkdtemp()
    config = {"DATABASE_URL": f"sqlite:///{folder}/b.sqlite", "SECRET_KEY": "b", "RATELIMIT_ENABLED": storage is not None,
              "RATELIMIT_STORAGE_URI": storage or "memory://", "KHAOSAT_SUBMISSION_LIMIT": "100000 per minute",
              "KHAOSAT_TOKEN_LIMIT": "100000 per minute"}
    app = create_app(config)
    with app.app_context():
        db.upgrade(db.engine())
        catalog.publish_builtin(db.session())
        user = User(username="v", role="volunteer", password_hash=hash_password("x" * 10))
        db.session().add(user)
        db.session().commit()
        token = new_token(user)
    body, version = answers(app)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    for i in range(n):
        payload = {"uuid": f"bench-{i:08d}", "survey": "digital-skills", "version": version, "answers": body}
        assert client.post("/api/v1/submissions", json=payload, headers=headers).status_code == 201
    return n / (time.perf_counter() - started)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    for label, storage in [("limits off", None), ("in memory", "memory://"), ("redis", "redis://127.0.0.1:6379/0")]:
        print(f"{label:<11} {run(storage, n):7.0f} submissions/s ({n}, one thread, SQLite)")


if __name__ == "__main__":
    main()
