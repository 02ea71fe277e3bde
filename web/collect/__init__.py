"""Volunteers interviewing door to door, offline first: an app shell, a service worker, a queue.

The answers live in the phone's IndexedDB from the moment they are given; finished interviews wait
in a queue and go to ``POST /api/v1/submissions`` with a per-session API token (see ``views``).
"""

import hashlib
from pathlib import Path

from flask import Blueprint

bp = Blueprint("collect", __name__, url_prefix="/collect", template_folder="templates")

_STATIC = Path(__file__).resolve().parent.parent / "static"
_FILES = [_STATIC / "style.css", _STATIC / "expr.js", _STATIC / "collect.js", _STATIC / "adults.js", _STATIC / "signout.js",
          Path(__file__).parent / "sw.js"]
#: changes whenever the shell's code changes, so the service worker renews its cache
APP_VERSION = hashlib.sha256(b"".join(p.read_bytes() for p in _FILES if p.exists())).hexdigest()[:12]

from web.collect import views  # noqa: E402,F401
