"""Refusals: the messages for HTTP errors and the one JSON error shape.

Every JSON refusal, 400 to 429 and the rare 500, reads ``{"errors": {field: {language: message}}}``,
with ``_`` as the field when the request as a whole is refused, so a client shows the message in
the user's language without knowing the status.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, jsonify, render_template, request

from web.i18n import lazy_gettext
from web.messages import in_every_language

HTTP_MESSAGES = {
    400: lazy_gettext("The request could not be understood."),
    401: lazy_gettext("Authentication required."),
    403: lazy_gettext("You do not have access to this page."),
    404: lazy_gettext("This page does not exist."),
    405: lazy_gettext("This action is not allowed here."),
    413: lazy_gettext("The upload is too large."),
    415: lazy_gettext("This page takes a form, not JSON."),
    429: lazy_gettext("Too many requests. Please wait a moment and try again."),
}
OTHER_ERROR = lazy_gettext("Something went wrong.")
UNSTORABLE_TEXT = lazy_gettext("The text contains a character that cannot be stored (a NUL or half of an "
                               "emoji). Please type it again.")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
SERVER_ERROR = lazy_gettext("Something went wrong on our side. Your earlier answers are saved.")
DATABASE_DOWN = lazy_gettext("The service cannot reach its database just now, so nothing from this request was "
                             "saved. Please try again in a minute; answers already saved are safe.")
RETRY_AFTER_SECONDS = 30


def http_message(code: int | None):
    """The (lazy) message for an HTTP error status."""
    return HTTP_MESSAGES.get(code or 500, OTHER_ERROR)


def errors_reply(problems: dict[str, dict[str, str]], status: int, **extra: Any) -> tuple[Response, int]:
    """A JSON refusal: ``{"errors": problems, **extra}`` with ``status``."""
    return jsonify(errors=problems, **extra), status


def refuse(status: int, message=None, field: str = "_", **extra: Any) -> tuple[Response, int]:
    """A JSON refusal with one message (the status's own message by default) for ``field``."""
    return errors_reply({field: in_every_language(message if message is not None else http_message(status))},
                        status, **extra)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def refuse_unstorable_input():
    """Refuse a request whose path, query or form holds a NUL (which PostgreSQL cannot store or even
    compare), before any view sees it. The API checks its JSON bodies itself (web.api.validation)."""
    texts = [*request.args.keys(), *request.args.values(), *(request.view_args or {}).values()]
    if request.blueprint != "api" and request.method not in ("GET", "HEAD", "OPTIONS") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        texts += [*request.form.keys(), *request.form.values(), *request.files.keys(),
                  *(f.filename or "" for f in request.files.values())]
    if not any(isinstance(text, str) and UNSTORABLE.search(text) for text in texts):
        return None
    if wants_json():
        return refuse(400, UNSTORABLE_TEXT)
    return render_template("error.html", code=400, message=UNSTORABLE_TEXT), 400
