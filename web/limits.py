"""Rate limits (Flask-Limiter): login, token use, submissions, and guessing codes.

Counters live in memory by default and in Redis when ``RATELIMIT_STORAGE_URI`` or ``REDIS_URL`` is
set (needed with several gunicorn workers). Each limit is a setting, so an operator can raise it;
``RATELIMIT_ENABLED=False`` turns them all off (the test suite does, except the test of the limits).
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, request
from flask import session as cookie
from flask_limiter import Limiter

DEFAULTS = {
    "KHAOSAT_LOGIN_LIMIT": "10 per minute;60 per hour",  #: login attempts per address
    "KHAOSAT_TOKEN_LIMIT": "600 per minute",  #: API requests per token (or per address without one)
    "KHAOSAT_SUBMISSION_LIMIT": "300 per minute",  #: API submissions per token
    "KHAOSAT_PAGE_LIMIT": "120 per minute",  #: self-completion page posts per draft (or address)
    "KHAOSAT_START_LIMIT": "30 per minute",  #: new self-completion drafts per address
    "KHAOSAT_CODE_LIMIT": "10 per minute;100 per day",  #: resume/erase code guesses per address
}


def client_address() -> str:
    return request.remote_addr or "unknown"


def token_or_address() -> str:
    """The Bearer token (hashed) when there is one, else the client's address."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return "token:" + hashlib.sha256(header[7:].strip().encode()).hexdigest()[:32]
    return "addr:" + client_address()


def draft_or_address() -> str:
    """The respondent's draft when the cookie names one, else the client's address."""
    drafts = sorted(v for k, v in cookie.items() if k.startswith("draft-") and isinstance(v, str))
    return "draft:" + drafts[0] if drafts else "addr:" + client_address()


def setting(name: str):
    """A limit read from the app's settings when the request comes (so tests and operators can change it)."""
    return lambda: current_app.config.get(name, DEFAULTS[name])


limiter = Limiter(key_func=client_address, default_limits=[], headers_enabled=True)


def init_app(app: Flask) -> None:
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    limiter.init_app(app)
