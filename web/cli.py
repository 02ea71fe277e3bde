"""The ``khaosat`` command (also ``flask --app web ...``): database, users, tokens, forms, demo, serve."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlmodel import select
from tqdm import tqdm
from werkzeug.serving import run_simple

import surveys
import web  # web.create_app is read when a command runs: web/__init__.py imports this module first
from web import area_codes, catalog, db, jobs, lifecycle
from web.auth import hash_password, new_token
from web.config import upload_limits
from web.demo import seed_demo
from web.messages import render
from web.models import User
from web.national_demo import seed_national
from web.privacy import purge_contacts as purge
from web.review import flag_stored


def register_commands(app: Flask) -> None:
    for command in (init_db, create_user, create_token, import_form, export_form, demo, serve, purge_contacts,
                    migrate_areas, vacuum, apply_schedule, flag_responses, worker, clean_jobs):
        app.cli.add_command(command)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or migrate the database, load the areas and publish the built-in surveys."""
    db.upgrade(db.engine())
    session = db.session()
    added = catalog.load_areas(session)
    versions = catalog.publish_builtin(session)
    click.echo(f"database ready: {added} areas added, {len(versions)} built-in surveys published")


@click.command("create-user")
@click.option("--role", type=click.Choice(["admin", "supervisor", "volunteer", "researcher", "ward_official"]), required=True)
@click.option("--username", required=True)
@with_appcontext
def create_user(role: str, username: str) -> None:
    """Create a user; the password is read from standard input."""
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.UsageError("the password must have at least 8 characters")
    session = db.session()
    if session.exec(select(User).where(User.username == username)).first() is not None:
        raise click.UsageError(f"the user {username!r} already exists")
    session.add(User(username=username, role=role, password_hash=hash_password(password)))
    session.commit()
    click.echo(f"created {role} {username}")


@click.command("create-token")
@click.option("--username", required=True)
@with_appcontext
def create_token(username: str) -> None:
    """Print a new API token for a user (shown once, stored hashed)."""
    user = db.session().exec(select(User).where(User.username == username)).first()
    if user is None:
        raise click.UsageError(f"there is no user {username!r}")
    click.echo(new_token(user))


@click.command("import-form")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--controller", default=None, help="the personal data controller named in the privacy notice")
@click.option("--contact", default=None, help="how respondents reach the controller about their data")
@click.option("--attach", "attached", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="a CSV the XLSForm's select_one_from_file names (repeatable)")
@with_appcontext
def import_form(path: str, controller: str | None, contact: str | None, attached: tuple[str, ...]) -> None:
    """Check and publish an instrument (YAML or XLSForm); print its slug and version.

    A survey is published only once it names its data controller and a privacy contact (here, or
    in the admin settings); until then the new version waits as a draft. ``--attach wards.csv``
    gives the choice list of ``select_one_from_file wards.csv``, checked as an upload's is.
    """
    attachments = {Path(file).name: Path(file) for file in attached}
    with tqdm(total=2, desc=Path(path).name, unit="step", file=sys.stderr, disable=None) as bar:
        bar.set_postfix_str("reading and checking")
        try:
            instrument = surveys.load_instrument(path, limits=upload_limits(current_app.config),
                                                 attachments=attachments)
        except surveys.InstrumentError as exc:
            bar.close()
            for problem in exc.problems:
                click.echo(render(problem, "en"), err=True)
            sys.exit(2)
        bar.update(1)
        bar.set_postfix_str("publishing")
        version = catalog.publish(db.session(), instrument, controller=controller, contact=contact)
        bar.update(1)
    click.echo(f"{instrument.slug} {version.version}")
    if version.state.value != "open":
        click.echo("not published yet: the privacy notice needs the data controller and a contact "
                   "(--controller/--contact, or Admin > Surveys > Privacy settings)", err=True)


@click.command("export-form")
@click.argument("slug")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="file to write (default SLUG.xlsx)")
@with_appcontext
def export_form(slug: str, output: str | None) -> None:
    """Write the current version of a survey as an XLSForm (for ODK Collect or KoboToolbox)."""
    version = catalog.current_version(db.session(), slug)
    if version is None:
        raise click.UsageError(f"there is no published survey {slug!r}")
    path = output or f"{slug}.xlsx"
    surveys.export_xlsform(catalog.instrument_of(version), path)
    click.echo(path)


@click.command("purge-contacts")
@click.option("--fieldwork-end", default=None, help="ISO date fieldwork ended (default: KHAOSAT_FIELDWORK_END)")
@click.option("--retention-days", type=int, default=None,
              help="days contact details are kept (default: KHAOSAT_CONTACT_RETENTION_DAYS)")
@with_appcontext
def purge_contacts(fieldwork_end: str | None, retention_days: int | None) -> None:
    """Delete respondents' contact details (names, phones, addresses, GPS) past their retention."""
    end_text = fieldwork_end or current_app.config.get("KHAOSAT_FIELDWORK_END")
    try:
        end = dt.date.fromisoformat(end_text) if end_text else None
    except ValueError:
        raise click.UsageError(f"the fieldwork end {end_text!r} is not a date like 2026-12-31") from None
    days = retention_days if retention_days is not None else current_app.config["KHAOSAT_CONTACT_RETENTION_DAYS"]
    if days < 0:
        raise click.UsageError("the retention must be 0 days or more")
    removed = purge(db.session(), retention_days=days, fieldwork_end=end)
    click.echo(f"contact details deleted: {removed}")


@click.command("migrate-areas")
@click.option("--dry-run", is_flag=True, help="report what would move, change nothing")
@click.option("--restore", "backup", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="put back the rows saved in this backup (a file written by an earlier run)")
@with_appcontext
def migrate_areas(dry_run: bool, backup: Path | None) -> None:
    """Move stored ward codes to the current official code list, backing them up first."""
    backup_dir = Path(current_app.instance_path) / "backups"
    with db.engine().begin() as conn:
        if backup is not None:
            restored = area_codes.restore(conn, backup)
            click.echo("restored from " + str(backup) + ": "
                       + ", ".join(f"{table} {n}" for table, n in restored.items()))
            click.echo("rows of an older code list are refused by results and exports until "
                       "khaosat migrate-areas runs again")
            return
        report = area_codes.convert(conn, backup_dir, dry_run=dry_run)
    if not report.rows:
        click.echo(f"nothing to move: every stored ward code is on {report.to_list}")
        return
    click.echo(("would move to " if dry_run else "moved to ") + report.to_list)
    for line in area_codes.summary_lines(report):
        click.echo("  " + line)
    if report.backup is not None:
        click.echo(f"backup: {report.backup} (undo: khaosat migrate-areas --restore {report.backup})")
        click.echo(f"every row: {report.backup.with_suffix('.csv')}")


@click.command("vacuum")
@with_appcontext
def vacuum() -> None:
    """Rewrite the tables of answers and personal details so erased rows leave the database files."""
    db.vacuum()
    click.echo("database files rewritten: erased rows are gone from them")


@click.command("flag-responses")
@with_appcontext
def flag_responses() -> None:
    """Compute and store the quality flags of responses stored before flags were kept (run once after
    upgrading; new responses are flagged when they arrive). Flags already stored are kept."""
    flagged = flag_stored(db.session(), current_app.config["KHAOSAT_MIN_INTERVIEW_SECONDS"])
    click.echo(f"responses with quality flags: {flagged}")


@click.command("apply-schedule")
@with_appcontext
def apply_schedule() -> None:
    """Close the open survey versions whose closing date has passed, each in the audit log (they take
    no responses from that moment anyway; run it from cron for a timely log)."""
    click.echo(f"closed: {lifecycle.apply_schedule(db.session())}")


@click.command("worker")
@click.option("--burst", is_flag=True, help="stop once the queue is empty (tests, cron)")
@with_appcontext
def worker(burst: bool) -> None:
    """Prepare large downloads queued in Redis (KHAOSAT_JOB_QUEUE=rq); run one or more next to the web tier."""
    app = current_app._get_current_object()
    if app.config["KHAOSAT_JOB_QUEUE"] != "rq":
        raise click.UsageError("the web processes run jobs themselves (KHAOSAT_JOB_QUEUE=thread); "
                               "set KHAOSAT_JOB_QUEUE=rq and REDIS_URL to use workers")
    click.echo(f"jobs queued again: {jobs.recover(app)}; expired jobs removed: {jobs.clean(app)}")
    jobs.work(app, burst=burst)


@click.command("clean-jobs")
@with_appcontext
def clean_jobs() -> None:
    """Remove the prepared downloads (and their files) older than KHAOSAT_JOB_RETENTION_HOURS."""
    click.echo(f"expired jobs removed: {jobs.clean(current_app._get_current_object())}")


@click.command("demo")
@click.option("--per-ward", default=32, show_default=True, help="responses per ward")
@click.option("--seed", default=20251, show_default=True)
@click.option("--national", is_flag=True, help="also a national survey: 34 provinces, communes as clusters")
@click.option("--per-province", default=60, show_default=True, help="national responses per province")
@with_appcontext
def demo(per_ward: int, seed: int, national: bool, per_province: int) -> None:
    """Seed demo accounts and synthetic responses across the province's wards (once); with ``--national``,
    also a national sample calibrated to province x sex x age margins."""
    init_db.callback()
    report = seed_demo(db.session(), current_app.config["KHAOSAT_PROVINCE"], per_ward=per_ward, seed=seed)
    click.echo(report)
    if national:
        started = time.perf_counter()
        click.echo(seed_national(db.session(), per_province=per_province, seed=seed))
        click.echo(f"national demo seeded in {time.perf_counter() - started:.1f} s")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, envvar="PORT")
def serve(host: str, port: int) -> None:
    """Serve the app (for a laptop; use gunicorn in production)."""
    click.echo(f"KhaoSat on http://{host}:{port}")
    run_simple(host, port, web.create_app(), threaded=True)


def main() -> None:
    FlaskGroup(create_app=web.create_app, add_default_commands=False, add_version_option=False)(prog_name="khaosat")
