"""Demo data: accounts, population margins, and synthetic responses from :mod:`web.population`.

The population (Hanoi's 126 wards by default, real names) has known rates by group and planted gaps:
some rural communes far behind, and women aged 60+ behind everywhere. The sample is stratified by
ward, four clusters a ward, with unequal response by sex and age, so unweighted tables are biased
and the weights calibrated to the saved margins correct them. Each respondent's answers are
generated from the instrument itself (skilled people answer most activity questions yes), so the
demo follows the instrument as it grows.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
from typing import Any

from sqlmodel import Session, select
from tqdm import tqdm

import surveys
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from surveys import areas
from surveys.questions import Respondent, kind
from web import demo_qr
from web.auth import hash_password
from web.catalog import current_version, instrument_of
from web.demo_sample import seed_sample
from web.models import PopulationMargin, Response, User, WardAssignment, WardCovariate
from web.population import EDUCATION_CODES, build_population, draw_sample
from web.research.covariates import demo_covariates, replace_covariates
from web.research.margins import replace_margins
from web.review import flag_stored
from web.submissions import new_row, store_rows

DEMO_PASSWORDS = {
    "admin": "khaosat-admin",
    "researcher": "khaosat-researcher",
    "volunteer": "khaosat-volunteer",
    "supervisor": "khaosat-supervisor",
}
PSUS_PER_WARD = 4


def seed_accounts(session: Session) -> list[str]:
    lines = []
    for role, password in DEMO_PASSWORDS.items():
        username = f"demo-{role}"
        if session.exec(select(User).where(User.username == username)).first() is None:
            session.add(User(username=username, role=role, password_hash=hash_password(password)))
        lines.append(f"  {role:<11} user {username:<17} password {password}")
    session.commit()
    return lines


def seed_demo(session: Session, province: int, per_ward: int = 32, seed: int = 20251) -> str:
    """Demo accounts, the synthetic population's margins, and a sample of responses to each survey (once)."""
    accounts = seed_accounts(session)
    population = build_population(province, seed=seed)
    lines = []
    if session.exec(select(PopulationMargin.id).where(PopulationMargin.province_code == province).limit(1)).first() is None:
        cells = replace_margins(session, province, population.margins(), "demo", None)
        lines.append(f"demo population margins: {cells} cells (ward x sex x age band)")
    if session.exec(select(WardCovariate.id).where(WardCovariate.province_code == province).limit(1)).first() is None:
        values, covariates = demo_covariates(population)
        replace_covariates(session, province, values, covariates, "demo", None)
        lines.append(f"demo ward covariates: {', '.join(c.name for c in covariates)}")
    added = 0
    for offset, slug in enumerate(("digital-skills", "service-satisfaction", "officials-digital-competency")):
        version = current_version(session, slug)
        if version is None:
            continue
        if session.exec(select(Response.id).where(Response.survey_version_id == version.id).limit(1)).first():
            continue
        rng = np.random.default_rng(seed + offset)
        contacts = max(1, round(per_ward / PSUS_PER_WARD / 0.55))
        sample = draw_sample(population, rng, psus_per_ward=PSUS_PER_WARD, contacts_per_psu=contacts)
        added += store_rows(session, list(tqdm(
            synthetic_responses(version, instrument_of(version), sample, random.Random(seed + offset)),
            total=len(sample), desc=slug, unit="response", file=sys.stderr, disable=None)))
        session.commit()
    if added:
        lines.append(seed_fieldwork(session, province))
    lines += seed_sample(session, province, population)
    self_selected = demo_qr.draw_self_selected(population.cells, max(60, 12 * per_ward), np.random.default_rng(seed + 7),
                                               demo_qr.ward_in_cell(population.wards))
    lines.append(seed_self_selected(session, "digital-skills", self_selected, seed + 7))
    return "\n".join(["demo accounts:", *accounts, *lines, f"demo responses added: {added}"])


SUPERVISED_WARDS = 6  #: the demo supervisor looks after this many wards; the volunteer is assigned the first
VOLUNTEER_WARDS = 4


def seed_fieldwork(session: Session, province: int, seed: int = 20251) -> str:
    """Give the demo supervisor and volunteer wards, make the interviews there the volunteer's (with
    durations, a few too short, some in wards not assigned to them) and store their quality flags, so
    the fieldwork, quality and submissions pages have content for every role."""
    users = {u.role: u for u in session.exec(select(User).where(User.username.in_(
        ["demo-supervisor", "demo-volunteer"]))).all()}
    supervisor, volunteer = users.get("supervisor"), users.get("volunteer")
    if supervisor is None or volunteer is None or session.exec(
            select(WardAssignment.id).where(WardAssignment.user_id == supervisor.id).limit(1)).first():
        return "demo wards: already assigned"
    answered = set(session.exec(select(Response.ward_code).distinct()).all())
    wards = [w.code for w in areas.wards(province) if w.code in answered][:SUPERVISED_WARDS]
    session.add_all([WardAssignment(user_id=supervisor.id, ward_code=w) for w in wards]
                    + [WardAssignment(user_id=volunteer.id, ward_code=w) for w in wards[:VOLUNTEER_WARDS]])
    rng = random.Random(seed)
    interviews = session.exec(select(Response).where(Response.channel == "interview",
                                                     Response.ward_code.in_(wards))).all()
    for response in interviews:
        seconds = rng.choice([45, 70]) if rng.random() < 0.06 else rng.randint(300, 1500)
        received = response.submitted_at if response.submitted_at.tzinfo else \
            response.submitted_at.replace(tzinfo=dt.UTC)
        response.volunteer_id, response.started_at = volunteer.id, received - dt.timedelta(seconds=seconds)
        response.meta = {**response.meta, "duration_s": seconds}
        session.add(response)
    session.commit()
    flagged = flag_stored(session, 120)
    return f"demo wards: {len(wards)} for demo-supervisor, {VOLUNTEER_WARDS} for demo-volunteer; " \
           f"{len(interviews)} interviews there; {flagged} responses flagged"


def seed_self_selected(session: Session, slug: str, sample: pd.DataFrame, seed: int) -> str:
    """Store ``sample`` as the survey's self-selected responses (channel ``self``, no PSU), once."""
    version = current_version(session, slug)
    if version is None:
        return f"{slug}: no such survey"
    if session.exec(select(Response.id).where(Response.uuid.like(f"{demo_qr.PREFIX}-{slug}-%")).limit(1)).first():
        return f"self-selected stream of {slug}: already there"
    stored = store_rows(session, list(synthetic_responses(
        version, instrument_of(version), sample, random.Random(seed), prefix=demo_qr.PREFIX, channel="self",
        meta={"synthetic_stream": demo_qr.NOTE})))
    session.commit()
    return f"self-selected stream of {slug} (synthetic, QR/link, digitally-included over-represented): " \
           f"{stored} responses"


def synthetic_responses(version, instrument: surveys.Instrument, sample, rng: random.Random, *, prefix: str = "demo",
                        channel: str | None = None, meta: dict | None = None):
    """The demo's responses (rows for :func:`web.submissions.store_rows`) for the people of ``sample``, answered
    by the synthetic population's traits (interviews and self-completed by turns unless ``channel`` is given)."""
    today = dt.date.today()
    for i, person in enumerate(sample.to_dict(orient="records")):
        person["p"] = 0.88 if person["y"] else 0.12
        person["activity"] = (-0.4 if person["y"] else -2.6) + rng.gauss(0, 0.7)  #: log-odds of doing an activity
        person["education"] = rng.choice(EDUCATION_CODES[person["education"]])
        person["ethnicity"] = "kinh" if person["urban_rural"] == "urban" or rng.random() < 0.8 else \
            rng.choice(["muong", "dao", "tay", "thai", "mong"])
        values = _answers(instrument, person, int(person["ward_code"]), rng, today)
        if values is None:
            continue
        yield new_row(
            version, instrument, f"{prefix}-{instrument.slug}-{i}", values,
            channel=channel or ("interview" if i % 2 else "self"), language="vi" if rng.random() < 0.93 else "en",
            meta={"demo": True, **(meta or {})}, stratum=person["stratum"], psu=person["psu"],
            base_weight=float(person["weight"]),
        )


def _answers(instrument, person, ward_code, rng: random.Random, today: dt.date) -> dict | None:
    raw: dict[str, Any] = {}
    for q in instrument.variables:
        raw[q.name] = _answer(q, person, ward_code, rng, today)
    checked = surveys.check(instrument, raw)
    if not checked.ok:
        for name in checked.errors:
            raw[name] = None
        checked = surveys.check(instrument, raw)
    return checked.values if checked.ok else None


def _logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _difficulty(name: str) -> float:
    """A fixed ease of each activity, from -1.5 (hard) to +1.0 (easy), the same in every run."""
    return -1.5 + 2.5 * (sum(name.encode()) % 23) / 22


def _answer(q: surveys.Question, person, ward_code, rng: random.Random, today: dt.date) -> Any:
    known = {"consent": "1", "ward": ward_code, "birth_year": today.year - int(person["age"]),
             "sex": person["sex"], "education": person["education"], "urban_rural": person["urban_rural"],
             "ethnicity": person["ethnicity"], "internet_3m": "1" if person["internet"] else "0"}
    if q.name in known:
        return known[q.name]
    if q.name == "consent_sensitive":  # most agree to the questions on ethnicity and disability
        return "1" if rng.random() < 0.95 else "0"
    codes = [c.code for c in q.choices]
    if q.name.startswith("wg_") and codes:
        older = person["age_band"] == "60+"
        return codes[0] if rng.random() < (0.75 if older else 0.95) else rng.choice(codes[1:])
    if q.name == "devices" and {"smartphone", "basic_phone"} <= set(codes):
        phone = "smartphone" if person["internet"] or rng.random() < 0.3 else "basic_phone"
        return [phone, *[c for c in ("computer", "tablet") if c in codes and rng.random() < 0.25 * person["p"]]]
    if q.type == "yesno" and q.name.startswith("act_"):  # harder activities are done less often
        return "1" if rng.random() < _logistic(person["activity"] + _difficulty(q.name)) else "0"
    return kind(q.type).demo(q, Respondent(person["p"], ward_code, rng, today))
