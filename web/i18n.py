"""Languages: Vietnamese by default, English second, more as catalogs are added.

Import ``_``, ``ngettext``, ``lazy_gettext`` and the Babel formatters from here and nowhere else.
The language comes from ``?lang=``, then the ``lang`` cookie, then the default (``vi``); a
``?lang=`` choice is remembered in the cookie.
"""

from __future__ import annotations

from pathlib import Path

from babel import Locale
from flask import Flask, g, request
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

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
DEFAULT_LANGUAGE = "vi"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

__all__ = [
    "_", "format_date", "format_datetime", "format_decimal", "format_percent", "in_every_language", "init_app",
    "language", "languages", "lazy_gettext", "ngettext",
]


def languages() -> tuple[str, ...]:
    """The languages with a catalog, the default first."""
    found = sorted(p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES").is_dir())
    return (DEFAULT_LANGUAGE, *[lang for lang in found if lang != DEFAULT_LANGUAGE])


def language_names() -> dict[str, str]:
    """Each language's name in itself ("Tiếng Việt", "English"), from Babel's locale data."""
    return {code: Locale.parse(code).get_display_name(code).capitalize() for code in languages()}


def language() -> str:
    """The language of the current request."""
    if "lang" not in g:
        supported = languages()
        asked = request.args.get("lang") or request.cookies.get(COOKIE) or DEFAULT_LANGUAGE
        g.lang = asked if asked in supported else DEFAULT_LANGUAGE
    return g.lang


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
    Babel(app, locale_selector=language)
    app.after_request(_remember_language)
    app.jinja_env.globals.update(
        language=language,
        languages=languages,
        language_names=language_names(),
        format_decimal=format_decimal,
        format_percent=format_percent,
        format_date=format_date,
        format_datetime=format_datetime,
    )
