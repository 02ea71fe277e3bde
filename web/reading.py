"""Reading help: a larger-text switch that persists (a cookie), working with and without JavaScript.

``?text=large`` or ``?text=normal`` on any page (or the survey form's text button, which saves the
page first) sets the ``text`` cookie; ``static/reading.js`` flips the same cookie in place when
JavaScript runs. The cookie is readable by that script on purpose: it holds only this preference.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, request

COOKIE = "text"
SIZES = ("normal", "large")
MAX_AGE = 365 * 24 * 3600


def large_text() -> bool:
    """Whether this request's pages use the larger text."""
    asked = request.args.get(COOKIE)
    if asked in SIZES:
        return asked == "large"
    return request.cookies.get(COOKIE) == "large"


def text_url(size: str) -> str:
    """This page's address asking for ``size`` ("large" or "normal"), its other parameters kept."""
    return f"{request.path}?{urlencode({**request.args.to_dict(), COOKIE: size})}"


def _remember(response):
    asked = request.args.get(COOKIE)
    if asked in SIZES and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=MAX_AGE, samesite="Lax", httponly=False)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_remember)
    app.jinja_env.globals.update(large_text=large_text, text_url=text_url)
