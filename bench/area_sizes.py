"""What the province -> commune question and the collection app's area list weigh, for a national survey.

Uses the app's test client on a fresh SQLite database under a temporary directory, with the national demo
survey (``digital-skills-national``, ``area: national``) published. Prints, raw and gzip'd (level 6, what
nginx sends): the first page with JavaScript off (34 provinces, no communes), the same page once Hồ Chí
Minh City is chosen (its 168 communes, the most of any province), what the page would weigh with all
3,321 communes in one select (why the question asks the province first), a province's JSON list for
``area.js``, the collection app's area list (every covered province with its communes, kept offline by
the service worker), and the area.js script itself.

    python bench/area_sizes.py
Budget: a question page's HTML <= 14 KB gzip'd (README.md, the page-weight budget).
"""

from __future__ import annotations

import gzip
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from surveys import areas  # noqa: E402
from web import catalog, create_app, db  # noqa: E402
from web.auth import hash_password  # noqa: E402
from web.models import User  # noqa: E402
from web.national_demo import SLUG, national_instrument  # noqa: E402

HCMC = 79


def sizes(label: str, body: bytes) -> None:
    print(f"{label:<62} {len(body) / 1024:8.1f} KB {len(gzip.compress(body, 6)) / 1024:8.1f} KB")


def main() -> None:
    folder = tempfile.mkdtemp(prefix="khaosat-area-sizes-")
    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/bench.sqlite", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "SECRET_KEY": "bench"})
    with app.app_context():
        db.upgrade(db.engine())
        catalog.load_areas(db.session())
        catalog.publish(db.session(), national_instrument(), controller=catalog.DEMO_CONTROLLER,
                        contact=catalog.DEMO_CONTACT)
        db.session().add(User(username="bench-volunteer", role="volunteer", password_hash=hash_password("bench-pw-9")))
        db.session().commit()
    client = app.test_client()
    client.post(f"/s/{SLUG}")
    page = next(i for i, p in enumerate(national_instrument().pages) if any(q.type == "area" for q in p.questions))
    first = client.get(f"/s/{SLUG}/p/{page}").data
    chosen = client.get(f"/s/{SLUG}/p/{page}?ward.province={HCMC}").data
    options = "".join(f'<option value="{w.code}">{w.name}</option>' for w in areas.all_wards().values())
    every = re.sub(rb'(<select id="i-ward" [^>]*>)', lambda m: m.group(1) + options.encode(), first, count=1)
    print(f"{'':<62} {'raw':>11} {'gzip':>11}")
    sizes("question page, JS off, step 1 (34 provinces)", first)
    sizes("question page, JS off, step 2 (HCMC's 168 communes)", chosen)
    sizes("question page if all 3,321 communes were in one select", every)
    sizes("/areas/79.json (one province, for area.js)", client.get(f"/areas/{HCMC}.json").data)
    sizes("/static/area.js", Path(app.static_folder, "area.js").read_bytes())
    client.post("/accounts/login", data={"username": "bench-volunteer", "password": "bench-pw-9"})
    sizes("/collect/areas.json (34 provinces, 3,321 communes, kept offline)", client.get("/collect/areas.json").data)


if __name__ == "__main__":
    main()
