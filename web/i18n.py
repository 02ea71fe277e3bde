"""Languages: Vietnamese by default, English second, more as catalogs are added.

Import ``_``, ``ngettext``, ``lazy_gettext`` and the Babel formatters from here and nowhere else.
The language comes from ``?lang=``, then the ``lang`` cookie, then the default (``vi``); a
``?lang=`` choice is remembered in the cookie.

Times are stored in UTC and shown in ``KHAOSAT_TIMEZONE`` (default ``Asia/Ho_Chi_Minh``) with
:func:`format_moment` and :func:`format_day`: the locale's own order with a four-digit year
(vi "07:50 26/11/2026", en "26 Nov 2026, 07:50"). The same zone is the survey's clock for the
rules' ``today()`` and ``now()`` (:mod:`surveys.clock`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import get_timezone_location
from flask import Flask, current_app, g, request
from flask_babel import (
    Babel,
    force_locale,
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    lazy_gettext,
    ngettext,
)
from flask_babel import gettext as _

from surveys import clock

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
DEFAULT_LANGUAGE = "vi"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

__all__ = [
    "_", "format_date", "format_datetime", "format_day", "format_decimal", "format_moment", "format_percent",
    "in_every_language", "init_app", "language", "languages", "lazy_gettext", "local_zone", "ngettext",
]

#: a moment and a day in each language's usual order, always with a four-digit year (CLDR patterns);
#: a language not listed gets Babel's medium format
MOMENT_PATTERNS = {"vi": "HH:mm dd/MM/yyyy", "en": "d MMM yyyy, HH:mm"}
DAY_PATTERNS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}


def languages() -> tuple[str, ...]:
    """The languages with a catalog, the default first."""
    found = sorted(p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES").is_dir())
    return (DEFAULT_LANGUAGE, *[lang for lang in found if lang != DEFAULT_LANGUAGE])


def language_names() -> dict[str, str]:
    """Each language's name in itself ("Tiếng Việt", "English"), from Babel's locale data."""
    names = {code: Locale.parse(code).get_display_name(code) for code in languages()}
    return {code: name[:1].upper() + name[1:] for code, name in names.items()}  # "Tiếng Việt", not "Tiếng việt"


def language() -> str:
    """The language of the current request."""
    if "lang" not in g:
        supported = languages()
        asked = request.args.get("lang") or request.cookies.get(COOKIE) or DEFAULT_LANGUAGE
        g.lang = asked if asked in supported else DEFAULT_LANGUAGE
    return g.lang


def local_zone() -> ZoneInfo:
    """The zone times are shown in (``KHAOSAT_TIMEZONE``)."""
    return ZoneInfo(current_app.config["KHAOSAT_TIMEZONE"])


def format_moment(moment: dt.datetime | None) -> str:
    """A stored moment (UTC; naive means UTC) on the local clock: vi "07:50 26/11/2026"."""
    if moment is None:
        return "–"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return format_datetime(moment, MOMENT_PATTERNS.get(language(), "medium"), rebase=True)


def format_day(day: dt.date | None) -> str:
    """A calendar day (already local): vi "26/11/2026", en "26 Nov 2026"."""
    if day is None:
        return "–"
    return format_date(day, DAY_PATTERNS.get(language(), "medium"))


def zone_label() -> str:
    """The zone in the page's language with its offset: "Giờ Việt Nam (GMT+07:00)"."""
    zone = local_zone()
    name = get_timezone_location(zone, locale=language())
    return f"{name} ({babel_format_datetime(dt.datetime.now(dt.UTC), 'ZZZZ', tzinfo=zone, locale=language())})"


def _use_survey_clock() -> None:
    clock.set_zone(current_app.config["KHAOSAT_TIMEZONE"])


def in_every_language(message, **params: object) -> dict[str, str]:
    """A message in every language with a catalog, e.g. ``{"vi": …, "en": …}`` for a JSON reply.

    ``message`` is a ``lazy_gettext`` string (or a msgid); ``params`` fill its placeholders.
    """
    texts = {}
    for code in languages():
        with force_locale(code):
            text = str(message) if not isinstance(message, str) else _(message)
            texts[code] = text % params if params else text
    return texts


def _remember_language(response):
    asked = request.args.get("lang")
    if asked and asked in languages() and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True)
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    ZoneInfo(app.config["KHAOSAT_TIMEZONE"])  # an unknown zone stops the app at start, with its name
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["KHAOSAT_TIMEZONE"]
    Babel(app, locale_selector=language)
    app.before_request(_use_survey_clock)
    app.after_request(_remember_language)
    app.jinja_env.globals.update(
        language=language,
        languages=languages,
        language_names=language_names(),
        format_decimal=format_decimal,
        format_percent=format_percent,
        format_moment=format_moment,
        zone_label=zone_label,
        format_day=format_day,
    )
