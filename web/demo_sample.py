"""The demo's probability sample: a frame of residential groups, a draw, assignments, visits and rounds.

So that the sample, response-rate and rounds pages have something to show on ``khaosat demo``:

* a frame: every ward's synthetic clusters (:mod:`web.population`) as residential groups ("TDP 01" in a
  ward, "Thôn 01" in a commune) with a household count (the cluster's adults / ``ADULTS_PER_HOUSEHOLD``),
  no household lists (the draw records a random-walk rule instead);
* a draw of digital-skills in the demo supervisor's wards (``GROUPS_PER_WARD`` groups by PPS,
  ``HOUSEHOLDS_PER_GROUP`` households each, a recorded seed), dealt to the volunteers of those wards;
* visits with AAPOR outcomes in the proportions a door-to-door team meets (``OUTCOMES``), some after a
  callback, some households not yet visited;
* two rounds of digital-skills: the demo's fieldwork (it holds every demo response) and the next one,
  planned and still empty (so it can be edited or deleted).

The visits are not linked to the demo's responses (those come from :func:`web.population.draw_sample`,
with their own design), so the demo's estimates and weights stay as they are.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlmodel import Session, func, select

from surveys import areas
from web.catalog import current_version
from web.models import (
    FrameGroup,
    Response,
    SampledHousehold,
    SurveyRound,
    SurveyVersion,
    User,
    Visit,
    WardAssignment,
)
from web.population import Population
from web.sampling import assign_by_ward, draw_sample

ADULTS_PER_HOUSEHOLD = 2.3
GROUPS_PER_WARD = 4
HOUSEHOLDS_PER_GROUP = 8
DRAW_SEED = 20261126
#: final outcome of a household (AAPOR code) and its chance; None: not visited yet
OUTCOMES = (("1.1", 0.58), ("2.11", 0.12), ("2.24", 0.10), ("2.32", 0.03), ("4.60", 0.05), ("3.19", 0.04),
            (None, 0.08))


def seed_frame(session: Session, province: int, population: Population) -> int:
    """Every ward's clusters as residential groups with household counts (once); returns the groups added."""
    if session.exec(select(FrameGroup.id).where(FrameGroup.province_code == province).limit(1)).first():
        return 0
    communes = {w.code for w in areas.wards(province) if w.division_type == "xã"}
    adults = population.cells.groupby(["ward_code", "cluster"])["N"].sum()
    groups = []
    for (ward, cluster), count in adults.items():
        word = "Thôn" if ward in communes else "TDP"
        groups.append(FrameGroup(province_code=province, ward_code=int(ward), group_code=f"{word} {cluster + 1:02d}",
                                 name=f"{'Thôn' if ward in communes else 'Tổ dân phố'} số {cluster + 1}",
                                 households=max(1, round(count / ADULTS_PER_HOUSEHOLD)), source="demo"))
    session.add_all(groups)
    session.commit()
    return len(groups)


def seed_draw(session: Session, province: int, wards: list[int], seed: int = DRAW_SEED) -> str:
    """A draw of digital-skills in ``wards``, assigned, with visit outcomes (once)."""
    version = current_version(session, "digital-skills")
    if version is None or not wards or session.exec(select(SampledHousehold.id).limit(1)).first():
        return "demo sample: already drawn"
    draw = draw_sample(session, version.survey_id, province, dict.fromkeys(wards, GROUPS_PER_WARD),
                       HOUSEHOLDS_PER_GROUP, "kish", seed)
    assigned = assign_by_ward(session, draw)
    households = session.exec(select(SampledHousehold).where(SampledHousehold.draw_id == draw.id)
                              .order_by(SampledHousehold.id)).all()
    visits = _visits(households, random.Random(seed))
    session.add_all([*visits, *households])
    session.commit()
    return (f"demo sample: {len(households)} households in {len(wards)} wards (seed {seed}), {assigned} assigned, "
            f"{len(visits)} visits")


def _visits(households: list[SampledHousehold], rng: random.Random) -> list[Visit]:
    """Visits for each household, its final code set: a callback first for some, none for a few."""
    codes, chances = zip(*OUTCOMES, strict=True)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    out = []
    for h in households:
        code = rng.choices(codes, chances)[0]
        if code is None:
            continue
        when = start + dt.timedelta(days=rng.randint(0, 6), hours=rng.randint(0, 10))
        if code in ("1.1", "2.24") and rng.random() < 0.4:  # nobody home the first time: come back tomorrow
            out.append(Visit(household_id=h.id, volunteer_id=h.volunteer_id, code="2.24", visited_at=when,
                             callback_at=when + dt.timedelta(days=1, hours=2)))
            when += dt.timedelta(days=1, hours=2)
        out.append(Visit(household_id=h.id, volunteer_id=h.volunteer_id, code=code, visited_at=when))
        h.final_code = code
    return out


def seed_rounds(session: Session) -> str:
    """Round 1 of digital-skills around the demo's responses; round 2, planned, after it (once)."""
    version = current_version(session, "digital-skills")
    if version is None or session.exec(select(SurveyRound.id).where(
            SurveyRound.survey_id == version.survey_id).limit(1)).first():
        return "demo rounds: already there"
    first, last = session.exec(select(func.min(Response.submitted_at), func.max(Response.submitted_at)).join(
        SurveyVersion, SurveyVersion.id == Response.survey_version_id).where(
        SurveyVersion.survey_id == version.survey_id)).one()
    if first is None:
        return "demo rounds: no responses"
    starts, ends = first.date() - dt.timedelta(days=30), last.date() + dt.timedelta(days=60)
    session.add_all([
        SurveyRound(survey_id=version.survey_id, number=1, label="Đợt 1 (demo)", starts_on=starts, ends_on=ends),
        SurveyRound(survey_id=version.survey_id, number=2, label="Đợt 2 (demo, dự kiến)",
                    starts_on=ends + dt.timedelta(days=120), ends_on=ends + dt.timedelta(days=180))])
    session.commit()
    return f"demo rounds: 1 ({starts} to {ends}), 2 planned"


def seed_sample(session: Session, province: int, population: Population) -> list[str]:
    """The frame, the draw in the demo supervisor's wards, and the rounds (each once)."""
    groups = seed_frame(session, province, population)
    wards = session.exec(select(WardAssignment.ward_code).join(User, User.id == WardAssignment.user_id)
                         .where(User.username == "demo-supervisor").order_by(WardAssignment.ward_code)).all()
    return [f"demo frame: {groups} residential groups added", seed_draw(session, province, list(wards)),
            seed_rounds(session)]
