"""Page weight of every page of every built-in survey, as a phone downloads it on first load.

Serves the app locally (a fresh SQLite database under a temporary directory), walks each survey's
start page and every question page in each language, plus the volunteer's interview shell, and
measures what a first visit transfers: the HTML and every stylesheet and script it references,
each gzip-compressed (level 6, what nginx or a CDN sends; no web fonts are used). Prints a table
and the comparison with other web form engines (gzip sizes measured in 2026-08 on the releases
named in ``PEERS``: enketo-core with its widgets, SurveyJS 2.5, ODK Web Forms 0.22).

    python bench/page_weight.py
Budget: a question page <= 30 KB gzip in all, its HTML <= 14 KB.
"""

from __future__ import annotations

import gzip
import http.cookiejar
import logging
import re
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
from pathlib import Path
from statistics import median

from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from web import catalog, create_app, db  # noqa: E402
from web.auth import hash_password  # noqa: E402
from web.models import User  # noqa: E402

PEERS = [("Enketo form engine (enketo-core + widgets)", 266 * 1024),
         ("SurveyJS 2.5 runtime (core + UI + CSS)", 415 * 1024),
         ("ODK Web Forms 0.22 (eager)", int(1.25 * 1024 * 1024))]
BUDGET_TOTAL, BUDGET_HTML = 30 * 1024, 14 * 1024
LANGUAGES = ("vi", "en")
ASSET_RE = re.compile(r'<(?:link[^>]+href|script[^>]+src)="([^"]+)"')
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


class Browser:
    """A cookie-keeping client that fetches a page and the assets a first visit would load."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> bytes:
        with self.opener.open(self.base + path) as response:
            return response.read()

    def post(self, path: str, data: dict) -> bytes:
        body = urllib.parse.urlencode(data).encode()
        with self.opener.open(self.base + path, data=body) as response:
            return response.read()

    def weigh(self, path: str) -> tuple[int, int, int]:
        """(HTML gzip, assets gzip, raw HTML bytes) of ``path`` on a first visit."""
        html = self.get(path)
        assets = sum(gz(self.get(src)) for src in dict.fromkeys(ASSET_RE.findall(html.decode())))
        return gz(html), assets, len(html)


def csrf(html: bytes) -> str:
    match = CSRF_RE.search(html.decode())
    return next(g for g in match.groups() if g) if match else ""


def serve(tmp: Path):
    url = f"sqlite:///{tmp / 'bench.sqlite'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        db.upgrade(db.engine())
        catalog.load_areas(db.session())
        catalog.publish_builtin(db.session())
        db.session().add(User(username="bench-volunteer", role="volunteer", password_hash=hash_password("bench-pass-9")))
        db.session().commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, server


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    rows: list[tuple[str, str, int, int, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        app, server = serve(Path(tmp))
        base = f"http://127.0.0.1:{server.server_port}"
        with app.app_context():
            instruments = [catalog.instrument_of(catalog.current_version(db.session(), i.slug))
                           for i in __import__("surveys").builtin_instruments()]
        for inst in instruments:
            for lang in LANGUAGES:
                client = Browser(base)
                start = f"/s/{inst.slug}"
                rows.append((inst.slug, f"{lang} start", *client.weigh(f"{start}?lang={lang}")))
                client.post(start, {"csrf_token": csrf(client.get(start))})
                for index, page in enumerate(inst.pages):
                    rows.append((inst.slug, f"{lang} p{index} {page.name}",
                                 *client.weigh(f"{start}/p/{index}?lang={lang}")))
        volunteer = Browser(base)
        login = volunteer.get("/accounts/login")
        volunteer.post("/accounts/login?next=/collect/", {"csrf_token": csrf(login), "username": "bench-volunteer",
                                           "password": "bench-pass-9"})
        rows.append(("(volunteer)", "/collect/ shell", *volunteer.weigh("/collect/")))
        server.shutdown()

    print(f"{'survey':<30} {'page':<27} {'HTML gz':>8} {'CSS+JS gz':>9} {'total gz':>9} {'HTML raw':>9}  budget")
    worst = 0
    for slug, page, html, assets, raw in rows:
        total = html + assets
        ok = html <= BUDGET_HTML and total <= BUDGET_TOTAL
        worst = max(worst, total)
        print(f"{slug:<30} {page:<27} {html:>8,} {assets:>9,} {total:>9,} {raw:>9,}  {'ok' if ok else 'OVER'}")
    print(f"\n{'survey':<30} {'pages':>5} {'HTML gz max':>11} {'median':>7} {'total gz max':>12} {'median':>7}")
    for slug in dict.fromkeys(r[0] for r in rows if not r[0].startswith("(")):
        pages = [r for r in rows if r[0] == slug and " p" in r[1]]
        html = [r[2] for r in pages]
        total = [r[2] + r[3] for r in pages]
        print(f"{slug:<30} {len(pages):>5} {max(html) / 1024:>9.1f}KB {median(html) / 1024:>5.1f}KB "
              f"{max(total) / 1024:>10.1f}KB {median(total) / 1024:>5.1f}KB")
    questions = max(r[2] + r[3] for r in rows if " p" in r[1])
    print(f"\nheaviest question page: {questions:,} B gzip ({questions / 1024:.1f} KB); heaviest page of all "
          f"(the volunteer's offline shell): {worst:,} B ({worst / 1024:.1f} KB); budget 30 KB")
    for name, size in PEERS:
        print(f"  {name:<45} {size / 1024:>7.0f} KB gzip = {size / worst:>5.0f}x the heaviest KhaoSat page")
    over = [r for r in rows if r[2] > BUDGET_HTML or r[2] + r[3] > BUDGET_TOTAL]
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
