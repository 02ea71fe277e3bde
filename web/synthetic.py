"""Whether this installation holds the synthetic demo, so that nobody takes its numbers for real ones.

``khaosat demo`` (and ``make run``) creates the demo accounts along with the synthetic responses; while
they exist every page shows a "Synthetic demo data" banner (``templates/base.html``) and every download
says so in its file name and metadata (:func:`export_meta`).
"""

from __future__ import annotations

from flask import Flask, g
from sqlmodel import select

from web import db
from web.i18n import lazy_gettext
from web.messages import in_every_language
from web.models import User

#: the demo's accounts are ``demo-admin``, ``demo-researcher``, ...; this one is always made
DEMO_ACCOUNT = "demo-admin"
#: what a demo download says about itself (the banner's words; see :func:`notice`)
NOTICE = lazy_gettext("Synthetic demo data")
FILE_PREFIX = "synthetic-demo-"


def is_demo() -> bool:
    """True when the demo has been seeded in this database (checked once per request)."""
    if "is_demo" not in g:
        try:
            g.is_demo = db.session().exec(select(User.id).where(User.username == DEMO_ACCOUNT)).first() is not None
        except Exception:  # noqa: BLE001 - an error page must render even when the database fails
            db.session().rollback()
            g.is_demo = False
    return g.is_demo


def notice() -> str:
    """The synthetic-data notice in every language offered, Vietnamese first ("Dữ liệu mô phỏng / Synthetic
    demo data"): a file or an API reply outlives the page's language."""
    return " / ".join(dict.fromkeys(in_every_language(NOTICE).values()))


def export_meta(title: str) -> dict[str, str]:
    """Metadata for a download: its title and, in a demo, the synthetic-data notice."""
    meta = {"title": title}
    if is_demo():
        text = notice()
        meta.update(title=f"{text}: {title}", synthetic=text,
                    source="KhaoSat demo (web/population.py): simulated respondents, not a real survey")
    return meta


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"is_demo": is_demo})
