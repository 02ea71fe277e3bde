"""Languages: Vietnamese by default, English second, more as catalogs are added.

Import ``_``, ``ngettext``, ``lazy_gettext`` and the Babel formatters from here and nowhere else.
The language comes from ``?lang=``, then the ``lang`` cookie, then the default (``vi``); a
``?lang=`` choice is remembered in the cookie.

The languages offered are ``KHAOSAT_LANGUAGES`` (``vi,en,km``), or else every language with a catalog
in the translation directories (``BABEL_TRANSLATION_DIRECTORIES``, ``;``-separated, default
``translations/``). A message a catalog lacks is shown in Vietnamese, and so is an instrument text
the survey's author did not write in the reader's language (:func:`pick`): a third language is a
catalog and label columns, never a code change. Codes that ``surveys`` and ``analysis`` return become
sentences in :mod:`web.messages`.

Times are stored in UTC and shown in ``KHAOSAT_TIMEZONE`` (default ``Asia/Ho_Chi_Minh``) with
:func:`format_moment` and :func:`format_day`: the locale's own order with a four-digit year
(vi "07:50 26/11/2026", en "26 Nov 2026, 07:50"). The same zone is the survey's clock for the
rules' ``today()`` and ``now()`` (:mod:`surveys.clock`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, support
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import get_timezone_location
from babel.numbers import get_decimal_symbol
from flask import Flask, current_app, g, request
from flask_babel import (
    Babel,
    Domain,
    format_date,
    format_datetime,
    format_percent,
    get_domain,
    get_locale,
    lazy_gettext,
    lazy_pgettext,
)
from flask_babel import format_decimal as babel_format_decimal
from flask_babel import gettext as _
from jinja2 import pass_context
from markupsafe import Markup

from analysis.lazy import numpy as np
from surveys import clock
from surveys.schema import pick

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
DEFAULT_LANGUAGE = "vi"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

__all__ = [
    "_", "decimal_symbol", "format_date", "format_datetime", "format_day", "format_decimal", "format_moment", "format_percent",
    "group_symbol", "init_app", "language", "languages", "lazy_gettext", "lazy_pgettext", "local_zone", "ngettext", "pick",
]

#: number formats :func:`format_decimal` writes itself: grouped digits and a fixed number of decimals
_FIXED = re.compile(r"#,##0(?:\.(0+))?")


@lru_cache(maxsize=64)
def _number_symbols(locale: str) -> tuple[str, str, str]:
    symbols = Locale.parse(locale).number_symbols["latn"]
    return symbols["decimal"], symbols["group"], symbols["minusSign"]


def format_decimal(number, format: str | None = None) -> str:  # noqa: A002 - Babel's name
    """Babel's ``format_decimal`` in the request's locale, the same text, written without Babel's general
    pattern machinery for whole numbers and for ``#,##0.0``-like formats (a results table shows thousands
    of numbers: Babel took 0.4 ms each). Rounding is Babel's: half to even on the number's shortest decimal text."""
    fixed = _FIXED.fullmatch(format) if format else None
    if isinstance(number, (bool, np.bool_)) or not isinstance(number, (int, float, np.integer, np.floating)) \
            or (format and not fixed) or (isinstance(number, (float, np.floating)) and not math.isfinite(number)):
        return babel_format_decimal(number, format=format)
    if format is None and not isinstance(number, (int, np.integer)):
        return babel_format_decimal(number, format=format)
    digits = len(fixed.group(1) or "") if fixed else 0
    value = Decimal(str(float(number) if isinstance(number, np.floating) else int(number)
                        if isinstance(number, np.integer) else number))
    text = f"{abs(value).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_EVEN):,.{digits}f}"
    decimal, group, minus = _number_symbols(str(get_locale()))
    text = text.translate({ord(","): group, ord("."): decimal})
    return minus + text if value.is_signed() else text


#: a moment and a day in each language's usual order, always with a four-digit year (CLDR patterns);
#: a language not listed gets Babel's medium format
MOMENT_PATTERNS = {"vi": "HH:mm dd/MM/yyyy", "en": "d MMM yyyy, HH:mm"}
DAY_PATTERNS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}


def languages() -> tuple[str, ...]:
    """The languages offered, the default first (``KHAOSAT_LANGUAGES``, else those with a catalog)."""
    return current_app.config["KHAOSAT_LANGUAGES"]


def _configured_languages(app: Flask) -> tuple[str, ...]:
    asked = app.config.get("KHAOSAT_LANGUAGES")
    if isinstance(asked, str):
        asked = [code.strip() for code in asked.split(",") if code.strip()]
    if not asked:
        asked = sorted({p.name for directory in _directories(app) if directory.is_dir()
                        for p in directory.iterdir() if (p / "LC_MESSAGES").is_dir()})
    for code in asked:
        Locale.parse(code)  # an unknown language stops the app at start, with its code
    return (DEFAULT_LANGUAGE, *dict.fromkeys(code for code in asked if code != DEFAULT_LANGUAGE))


def _directories(app: Flask) -> list[Path]:
    return [Path(d) for d in app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";") if d]


def language_names(codes: tuple[str, ...]) -> dict[str, str]:
    """Each language's name in itself ("Tiếng Việt", "English"), from Babel's locale data."""
    names = {code: Locale.parse(code).get_display_name(code) or code for code in codes}  # codes checked at start
    return {code: name[:1].upper() + name[1:] for code, name in names.items()}  # "Tiếng Việt", not "Tiếng việt"


@lru_cache(maxsize=8)
def _catalogs(directories: tuple[str, ...]) -> dict:
    """The loaded catalogs of one set of translation folders, by (language, domain): shared by every app in
    the process that reads those folders (a process has one such set; the suite makes hundreds of apps, and
    each one's first English page used to parse and merge the catalogs again: 18 s of a run's CPU)."""
    return {}


class FallbackDomain(Domain):
    """The request language's catalogs, with the Vietnamese ones behind them for any message they lack."""

    def get_translations_cache(self, ctx):  # noqa: ARG002  (Flask-Babel's signature)
        return _catalogs(tuple(self.translation_directories))

    def get_translations(self):
        translations = super().get_translations()
        if isinstance(translations, support.Translations) and translations._fallback is None \
                and str(get_locale()) != DEFAULT_LANGUAGE:
            default = support.Translations()
            for directory in self.translation_directories:
                default.merge(support.Translations.load(directory, [DEFAULT_LANGUAGE], self.domain[0]))
            translations.add_fallback(default)
        return translations


def language() -> str:
    """The language of the current request."""
    if "lang" not in g:
        supported = languages()
        asked = request.args.get("lang") or request.cookies.get(COOKIE) or DEFAULT_LANGUAGE
        g.lang = asked if asked in supported else DEFAULT_LANGUAGE
    return g.lang


def decimal_symbol() -> str:
    """The request language's decimal mark (vi ",", en "."), for charts drawn outside Babel."""
    return get_decimal_symbol(language())


def ngettext(singular: str, plural: str, n: int, /, **variables) -> str:
    """Flask-Babel's ``ngettext``, with ``%(num)s`` written by :func:`format_decimal` ("1,008 cells", "1.008 ô")
    rather than as Python writes an int; templates get the same (:func:`_template_ngettext`)."""
    return _plural(singular, plural, n, variables, escape=False)


@pass_context
def _template_ngettext(context, singular: str, plural: str, n: int, /, **variables) -> str:
    """Jinja's ``ngettext`` (the i18n extension's "newstyle" one, which Flask-Babel installs), with ``num`` written
    as :func:`ngettext` writes it and the other values escaped where the template autoescapes."""
    return _plural(singular, plural, n, variables, escape=context.eval_ctx.autoescape)


def _plural(singular: str, plural: str, n, variables: dict, escape: bool) -> str:
    n = int(n)  # a count from numpy or pandas too (gettext's plural rule wants an int)
    text = get_domain().get_translations().ungettext(singular, plural, n)
    variables.setdefault("num", format_decimal(n))
    return (Markup(text) if escape else text) % variables


def group_symbol() -> str:
    """The request language's thousands separator (vi ".", en ","), for charts drawn outside Babel."""
    return _number_symbols(language())[1]


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


def _remember_language(response):
    asked = request.args.get("lang")
    if asked and asked in languages() and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True)
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config["KHAOSAT_LANGUAGES"] = _configured_languages(app)
    ZoneInfo(app.config["KHAOSAT_TIMEZONE"])  # an unknown zone stops the app at start, with its name
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["KHAOSAT_TIMEZONE"]
    babel = Babel(app, locale_selector=language)
    app.jinja_env.globals["ngettext"] = _template_ngettext  # counts grouped, as in Python
    babel.domain_instance = FallbackDomain()
    app.before_request(_use_survey_clock)
    app.after_request(_remember_language)
    app.jinja_env.globals.update(
        language=language,
        languages=languages,
        language_names=language_names(app.config["KHAOSAT_LANGUAGES"]),
        pick=pick,
        format_decimal=format_decimal,
        format_percent=format_percent,
        format_moment=format_moment,
        zone_label=zone_label,
        format_day=format_day,
    )
