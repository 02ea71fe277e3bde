"""Settings, read from the environment with safe defaults for a laptop."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from surveys.limits import Limits
from web.i18n import TRANSLATIONS


def _language_settings() -> dict:
    """Languages, catalogs and the time zone pages show."""
    return {
        "BABEL_DEFAULT_LOCALE": "vi",
        # languages offered (vi first; default: every language with a catalog), and more catalog folders
        # (``;``-separated, each holding <lang>/LC_MESSAGES/messages.mo) beside the built-in translations/
        "KHAOSAT_LANGUAGES": os.environ.get("KHAOSAT_LANGUAGES") or None,
        "BABEL_TRANSLATION_DIRECTORIES": ";".join(
            [str(TRANSLATIONS),
             *filter(None, os.environ.get("KHAOSAT_TRANSLATIONS", "").split(";"))]),
        # times are stored in UTC and shown in this zone (see web/i18n.py); rules' today() use it too
        "KHAOSAT_TIMEZONE": os.environ.get("KHAOSAT_TIMEZONE") or "Asia/Ho_Chi_Minh",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("KHAOSAT_TIMEZONE") or "Asia/Ho_Chi_Minh",  #: times as shown
    }


def _upload_settings() -> dict:
    """Caps on an uploaded instrument (surveys/limits.py); breaking one refuses the file, storing nothing."""
    return {
        "KHAOSAT_UPLOAD_MAX_BYTES": int(os.environ.get("KHAOSAT_UPLOAD_MAX_BYTES", "5000000")),
        "KHAOSAT_UPLOAD_MAX_ROWS": int(os.environ.get("KHAOSAT_UPLOAD_MAX_ROWS", "3000")),
        "KHAOSAT_UPLOAD_MAX_CHOICES": int(os.environ.get("KHAOSAT_UPLOAD_MAX_CHOICES", "20000")),
        "KHAOSAT_UPLOAD_MAX_DEPTH": int(os.environ.get("KHAOSAT_UPLOAD_MAX_DEPTH", "10")),
        "KHAOSAT_UPLOAD_MAX_ALIASES": int(os.environ.get("KHAOSAT_UPLOAD_MAX_ALIASES", "200")),
        "KHAOSAT_UPLOAD_SECONDS": float(os.environ.get("KHAOSAT_UPLOAD_SECONDS", "15")),
    }


def from_environment(instance_path: str) -> dict:
    """The settings that come from the environment: ``DATABASE_URL``, ``SECRET_KEY`` and the rest."""
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _instance_secret(instance_path),
        "DATABASE_URL": normalise_database_url(
            os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'khaosat.sqlite'}"
        ),
        "KHAOSAT_PROVINCE": int(os.environ.get("KHAOSAT_PROVINCE", "1")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("KHAOSAT_HTTPS", "") == "1",
        "KHAOSAT_HTTPS": os.environ.get("KHAOSAT_HTTPS", "") == "1",  #: HSTS on every response
        #: hops of reverse proxy (nginx, Caddy) whose X-Forwarded-For/-Proto/-Host are trusted
        "KHAOSAT_TRUSTED_PROXIES": _count("KHAOSAT_TRUSTED_PROXIES", os.environ.get("KHAOSAT_TRUSTED_PROXIES", "0")),
        "MIN_CELL_COUNT": int(os.environ.get("KHAOSAT_MIN_CELL_COUNT", "10")),
        "TABLE_PROTECTION": float(os.environ.get("KHAOSAT_TABLE_PROTECTION", "0.1")),
        "SCIENTIFIC_MAX_RISK": float(os.environ.get("KHAOSAT_SCIENTIFIC_MAX_RISK", "0.02")),
        "PUBLIC_K": int(os.environ.get("KHAOSAT_PUBLIC_K", "5")),
        "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,
        # logins end on the server (web/sessions.py): field roles keep theirs across browser restarts
        "KHAOSAT_SESSION_DAYS": int(os.environ.get("KHAOSAT_SESSION_DAYS", "14")),
        "KHAOSAT_STAFF_SESSION_HOURS": int(os.environ.get("KHAOSAT_STAFF_SESSION_HOURS", "12")),
        "KHAOSAT_TOKEN_DAYS": int(os.environ.get("KHAOSAT_TOKEN_DAYS", "30")),  #: scripts' tokens, unless renewed
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(days=int(os.environ.get("KHAOSAT_SESSION_DAYS", "14"))),
        # the private key that opens interview files saved on a phone (PEM); default: instance/export_key.pem
        "KHAOSAT_EXPORT_KEY": os.environ.get("KHAOSAT_EXPORT_KEY") or None,
        **_language_settings(),
        # rate limits: in memory, or shared in Redis across workers (see web/limits.py)
        "RATELIMIT_ENABLED": os.environ.get("KHAOSAT_RATE_LIMITS", "1") != "0",
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL") or "memory://",
        # privacy: contact details are deleted this many days after fieldwork ends (khaosat purge-contacts)
        "KHAOSAT_CONTACT_RETENTION_DAYS": int(os.environ.get("KHAOSAT_CONTACT_RETENTION_DAYS", "90")),
        "KHAOSAT_FIELDWORK_END": os.environ.get("KHAOSAT_FIELDWORK_END") or None,  #: ISO date, e.g. 2026-12-31
        **_upload_settings(),
        # quality flags on the fieldwork dashboard
        "KHAOSAT_MIN_INTERVIEW_SECONDS": int(os.environ.get("KHAOSAT_MIN_INTERVIEW_SECONDS", "120")),
        #: a PostgreSQL read replica for research reads (results, the results API, downloads); writes never
        "DATABASE_REPLICA_URL": normalise_database_url(os.environ["DATABASE_REPLICA_URL"])
        if os.environ.get("DATABASE_REPLICA_URL") else None,
        "REDIS_URL": os.environ.get("REDIS_URL") or None,  #: weighted designs shared between workers
        # research pages: weights that took longer than this to make are made again in the background
        # after new responses, and the last complete ones are shown meanwhile (labelled with their time)
        "WEIGHTS_SYNC_SECONDS": float(os.environ.get("KHAOSAT_WEIGHTS_SYNC_SECONDS", "0.3")),
        **_job_settings(),
    }


def _job_settings() -> dict:
    """Background jobs (web/jobs.py): which queue runs them, when a download becomes one, how long files stay."""
    return {
        "KHAOSAT_JOB_QUEUE": os.environ.get("KHAOSAT_JOB_QUEUE") or "thread",  #: "thread" or "rq" (REDIS_URL)
        #: a download of more responses than this is prepared in the background (pages; API tokens get the file)
        "KHAOSAT_JOB_RQ_QUEUE": os.environ.get("KHAOSAT_JOB_RQ_QUEUE") or "khaosat-jobs",  #: the RQ queue's name
        "KHAOSAT_JOB_THRESHOLD": int(os.environ.get("KHAOSAT_JOB_THRESHOLD", "20000")),
        #: a survey of more responses than this is weighted again in the background (web/research/weighting_jobs.py)
        "KHAOSAT_WEIGHTING_JOB_THRESHOLD": int(os.environ.get("KHAOSAT_WEIGHTING_JOB_THRESHOLD", "50000")),
        #: a survey of more responses than this has its weighting cells (each exported row's weight) made by one
        #: GROUP BY in the database, its weighting run making only those (web/research/weight_cells.py)
        "KHAOSAT_CELLS_IN_DATABASE_THRESHOLD": int(os.environ.get("KHAOSAT_CELLS_IN_DATABASE_THRESHOLD", "2000000")),
        #: a person's request waits this long for a large survey's table or ranking computed the first time in a
        #: process (in a thread) before it answers "being prepared" (web/research/weighting.py)
        "KHAOSAT_ASIDE_WAIT_SECONDS": float(os.environ.get("KHAOSAT_ASIDE_WAIT_SECONDS", "0.3")),
        #: the full file's CSV rows kept per response and joined by later downloads (web/research/fragments.py)
        "KHAOSAT_CSV_ROWS_KEPT": os.environ.get("KHAOSAT_CSV_ROWS_KEPT", "1") != "0",
        "KHAOSAT_JOB_RETENTION_HOURS": float(os.environ.get("KHAOSAT_JOB_RETENTION_HOURS", "24")),
        "KHAOSAT_JOB_DIR": os.environ.get("KHAOSAT_JOB_DIR") or None,  #: default: instance/jobs
        "KHAOSAT_JOB_CHUNK_ROWS": int(os.environ.get("KHAOSAT_JOB_CHUNK_ROWS", "10000")),  #: rows per progress step
        "KHAOSAT_JOB_CLEAN_SECONDS": float(os.environ.get("KHAOSAT_JOB_CLEAN_SECONDS", "600")),
        "KHAOSAT_JOB_TIMEOUT": int(os.environ.get("KHAOSAT_JOB_TIMEOUT", str(6 * 3600))),  #: RQ's limit, seconds
    }


def _count(name: str, value: str) -> int:
    """A whole number >= 0 from the environment; anything else stops the start with a clear message."""
    if not value.strip().isdigit():
        raise ValueError(f"{name} must be a whole number of 0 or more, not {value!r}")
    return int(value)


def normalise_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _instance_secret(instance_path: str) -> str:
    """A secret key kept in the instance folder, so sessions survive a restart on one machine."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def upload_limits(config) -> Limits:
    """The caps on an uploaded instrument, from the app's settings."""
    return Limits(max_bytes=config["KHAOSAT_UPLOAD_MAX_BYTES"], max_rows=config["KHAOSAT_UPLOAD_MAX_ROWS"],
                  max_choices=config["KHAOSAT_UPLOAD_MAX_CHOICES"], max_depth=config["KHAOSAT_UPLOAD_MAX_DEPTH"],
                  max_yaml_aliases=config["KHAOSAT_UPLOAD_MAX_ALIASES"], seconds=config["KHAOSAT_UPLOAD_SECONDS"])
