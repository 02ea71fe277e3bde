"""Operations on a probability sample: draw it from the frame, assign it, link interviews, record visits.

The statistics (PPS, systematic selection, Kish, AAPOR rates) are :mod:`analysis.sampling`; this module
reads the frame, stores every probability, and turns a response into a design row: stratum = the ward,
PSU = the residential group, base weight = ``1 / (pi_group pi_household pi_adult)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.nonresponse import Adjustment, eligibility_adjust, eligibility_rate
from analysis.sampling import (
    SamplingError,
    aapor_rates,
    disposition_class,
    doorstep_adult,
    pps_systematic,
    random_walk_rule,
    systematic,
)
from surveys import areas, collation
from web import audit
from web.models import (
    FrameGroup,
    FrameHousehold,
    Response,
    Role,
    SampledHousehold,
    SampleDraw,
    Survey,
    User,
    Visit,
    WardAssignment,
)

ADULT_RULES = ("kish", "last_birthday")


def draw_sample(session: Session, survey_id: int, province: int, groups_per_ward: Mapping[int, int],
                households_per_group: int, adult_rule: str = "kish", seed: int | None = None,
                oversample: Mapping[str, float] | None = None, user_id: int | None = None) -> SampleDraw:
    """Draw, in every ward of ``groups_per_ward``, that many residential groups by systematic PPS on their
    household counts (frame order: group code), then ``households_per_group`` households in each drawn
    group: systematically from its list, or by a recorded random-walk rule when it has none. Wards and
    groups are taken in a fixed order, so the same frame and ``seed`` give the same sample.

    :raise SamplingError: a ward with no groups on the frame (``no_groups``), more groups asked than it has
    """
    if adult_rule not in ADULT_RULES:
        raise SamplingError("unknown_rule", rule=adult_rule, allowed=list(ADULT_RULES))
    seed = int(np.random.SeedSequence().entropy % 2**62) if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    draw = SampleDraw(survey_id=survey_id, province_code=province, seed=seed, adult_rule=adult_rule,
                      groups_per_ward={str(k): int(v) for k, v in groups_per_ward.items()},
                      households_per_group=households_per_group, oversample=dict(oversample or {}),
                      created_by=user_id)
    session.add(draw)
    session.flush()
    for ward in sorted(int(w) for w in groups_per_ward):
        groups = list(session.exec(select(FrameGroup).where(FrameGroup.ward_code == ward)
                                   .order_by(FrameGroup.group_code)).all())
        if not groups:
            raise SamplingError("no_groups", ward=ward)
        chosen = pps_systematic([g.households for g in groups], int(groups_per_ward[ward]), rng)
        for position in chosen.chosen:
            group = groups[position]
            session.add_all(_households(session, draw, group, float(chosen.probability[position]),
                                        households_per_group, rng))
    audit.record("sample_drawn", target=str(survey_id), session=session, commit=False,
                 detail={"seed": seed, "wards": len(groups_per_ward), "households_per_group": households_per_group})
    session.commit()
    return draw


def _households(session: Session, draw: SampleDraw, group: FrameGroup, group_probability: float, take: int,
                rng: np.random.Generator) -> list[SampledHousehold]:
    listed = list(session.exec(select(FrameHousehold).where(FrameHousehold.group_id == group.id)
                               .order_by(FrameHousehold.position)).all())

    def row(address: str, probability: float, household_id: int | None = None) -> SampledHousehold:
        return SampledHousehold(draw_id=draw.id, group_id=group.id, ward_code=group.ward_code,
                                household_id=household_id, address=address[:300],
                                group_probability=group_probability, household_probability=probability,
                                adult_draw=float(rng.random()))
    if listed:
        picked = systematic(len(listed), take, rng)
        return [row(listed[i].address, float(picked.probability[i]), listed[i].id) for i in picked.chosen]
    rule = random_walk_rule(group.households, take, rng)
    return [row(f"{group.group_code}: random walk, dwelling {rule['start'] + k * rule['interval']} "
                f"(start {rule['start']}, every {rule['interval']})", rule["probability"])
            for k in range(rule["take"])]


def assign_by_ward(session: Session, draw: SampleDraw) -> int:
    """Give each drawn group's households to a volunteer assigned to its ward, groups dealt in turn
    (a group stays with one volunteer, who learns its lanes). Returns the households assigned."""

    volunteers: dict[int, list[int]] = {}
    for user_id, ward in session.exec(select(WardAssignment.user_id, WardAssignment.ward_code)
                                      .join(User, User.id == WardAssignment.user_id)
                                      .where(User.role == Role.volunteer).order_by(WardAssignment.user_id)).all():
        volunteers.setdefault(ward, []).append(user_id)
    households = list(session.exec(select(SampledHousehold).where(SampledHousehold.draw_id == draw.id)
                                   .order_by(SampledHousehold.ward_code, SampledHousehold.group_id,
                                             SampledHousehold.id)).all())
    turn: dict[int, dict[int, int]] = {}
    assigned = 0
    for h in households:
        people = volunteers.get(h.ward_code)
        if not people:
            continue
        groups = turn.setdefault(h.ward_code, {})
        h.volunteer_id = people[groups.setdefault(h.group_id, len(groups)) % len(people)]
        session.add(h)
        assigned += 1
    session.commit()
    return assigned


def adult_probability(draw: SampleDraw, household: SampledHousehold, adults: Sequence[Mapping],
                      on: dt.date | None = None) -> tuple[int, float]:
    """The adult the draw's rule picks among ``adults`` ({sex, age[, birthday MM-DD]}, birthdays counted
    back from the local date ``on``) with the household's random number, and their probability."""
    older = draw.oversample.get("age60") if draw.adult_rule == "kish" else None
    return doorstep_adult(adults, draw.adult_rule, household.adult_draw, on, float(older) if older else None)


def design_of(session: Session, household_id: int, adults: Sequence[Mapping],
              on: dt.date | None = None) -> tuple[str, str, float, int, float] | None:
    """(stratum, psu, base weight, the adult chosen, their probability) of an interview in sampled household
    ``household_id``; ``None`` when there is no such household or no adults were listed."""
    household = session.get(SampledHousehold, household_id)
    if household is None or not adults:
        return None
    draw = session.get(SampleDraw, household.draw_id)
    chosen, pi_adult = adult_probability(draw, household, adults, on)
    return str(household.ward_code), f"g{household.group_id}", 1.0 / (household.probability * pi_adult), chosen, pi_adult


def record_visit(session: Session, household: SampledHousehold, code: str, volunteer_id: int | None,
                 when: dt.datetime | None = None, callback_at: dt.datetime | None = None, note: str = "",
                 uuid: str | None = None) -> Visit:
    """A visit with its AAPOR outcome; a final outcome (not a callback) becomes the household's, unless a later
    visit is already stored (visits made offline arrive in any order) or the household gave its interview.

    :raise IntegrityError: ``uuid`` names a visit already stored (see :func:`record_visit_once`)
    """
    disposition_class(code)  # raises SamplingError for a code that is not AAPOR's
    visit = Visit(household_id=household.id, volunteer_id=volunteer_id, code=code, callback_at=callback_at,
                  note=note[:300], uuid=uuid, **({"visited_at": when} if when else {}))
    latest = session.exec(select(func.max(Visit.visited_at)).where(Visit.household_id == household.id)).one()
    session.add(visit)
    later = latest is not None and _naive_utc(latest) > _naive_utc(visit.visited_at)
    if callback_at is None and (code == "1.1" or (household.final_code != "1.1" and not later)):
        household.final_code = code
        session.add(household)
    session.commit()
    return visit


def record_visit_once(session: Session, household: SampledHousehold, uuid: str, code: str, volunteer_id: int,
                      when: dt.datetime | None, callback_at: dt.datetime | None, note: str = "") -> tuple[Visit, bool]:
    """The visit the phone keyed ``uuid``, stored once however often it is sent: (visit, True) when stored now,
    (visit, False) when it was already. The database's unique key decides between two copies sent at once.

    :raise VisitConflict: ``uuid`` names a visit with other content (another household, outcome, time or volunteer)
    """
    disposition_class(code)
    existing = session.exec(select(Visit).where(Visit.uuid == uuid)).first()
    if existing is None:
        try:
            return record_visit(session, household, code, volunteer_id, when, callback_at, note, uuid), True
        except IntegrityError:
            session.rollback()
            existing = session.exec(select(Visit).where(Visit.uuid == uuid)).one()
    sent = (household.id, code, volunteer_id, _naive_utc(callback_at), note[:300])
    kept = (existing.household_id, existing.code, existing.volunteer_id, _naive_utc(existing.callback_at), existing.note)
    if sent != kept or (when is not None and _naive_utc(when) != _naive_utc(existing.visited_at)):
        raise VisitConflict(existing)
    return existing, False


class VisitConflict(Exception):
    """A visit's key came again with different content; ``visit`` is the one stored."""

    def __init__(self, visit: Visit):
        super().__init__(visit.uuid)
        self.visit = visit


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A naive UTC time, whatever the database or the request gave."""
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value is not None and value.tzinfo else value


def outcome_rates(session: Session, draw_id: int, by: str = "ward_code",
                  wards: set[int] | None = None) -> pd.DataFrame:
    """AAPOR rates (RR1-RR6, COOP1-4, CON1-3) by ``ward_code`` or ``volunteer_id``: a household's final
    code, or its last visit's; a household never visited counts as not attempted (3.11). ``visits`` counts
    every visit made, callbacks included. ``wards``: only the households of these wards (a supervisor's)."""
    households = [h for h in session.exec(select(SampledHousehold).where(SampledHousehold.draw_id == draw_id)).all()
                  if wards is None or h.ward_code in wards]
    last, made = {}, {}
    for visit in session.exec(select(Visit).join(SampledHousehold, SampledHousehold.id == Visit.household_id)
                              .where(SampledHousehold.draw_id == draw_id).order_by(Visit.visited_at, Visit.id)).all():
        last[visit.household_id] = visit.code
        made[visit.household_id] = made.get(visit.household_id, 0) + 1
    rows = [{"key": getattr(h, by), "letter": disposition_class(h.final_code or last.get(h.id, "3.11")),
             "visits": made.get(h.id, 0)} for h in households]
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    out = []
    for key, part in frame.groupby("key", dropna=False):
        counts = part["letter"].value_counts().to_dict()
        out.append({by: key, "households": len(part), "visits": int(part["visits"].sum()),
                    **{k: int(counts.get(k, 0)) for k in ("I", "P", "R", "NC", "O", "UH", "UO", "NE")},
                    **aapor_rates(counts)})
    return pd.DataFrame(out)


def in_name_order(rates: pd.DataFrame, names: dict[int, str]) -> pd.DataFrame:
    """Rates by ward (:func:`outcome_rates`) with the wards in Vietnamese alphabetical order."""
    if rates.empty:
        return rates
    return rates.sort_values("ward_code", key=lambda codes: codes.map(
        lambda c: collation.sort_key(names.get(c, str(c)))), ignore_index=True)


def assigned_household(session: Session, household_id, volunteer_id: int) -> SampledHousehold | None:
    """The sampled household ``household_id`` when it is assigned to ``volunteer_id`` (else ``None``)."""
    if not isinstance(household_id, int) or isinstance(household_id, bool) or not 0 < household_id < 2**31:
        return None
    household = session.get(SampledHousehold, household_id)
    return household if household is not None and household.volunteer_id == volunteer_id else None


def interviewed(session: Session, household: SampledHousehold, uuid: str, volunteer_id: int,
                adults: int | None = None, adult_probability: float | None = None,
                when: dt.datetime | None = None) -> None:
    """The household's interview arrived: its final outcome is 1.1 (complete), it points to the response, and
    it keeps the number of adults listed and the interviewed adult's probability of selection."""
    household.response_uuid = uuid
    household.adults, household.adult_probability = adults, adult_probability
    record_visit(session, household, "1.1", volunteer_id, when)


def _last_codes(session: Session, draw_ids) -> dict[int, str]:
    """Each visited household's last visit code (by visit time), for the draws ``draw_ids``."""
    last = {}
    for household_id, code in session.exec(select(Visit.household_id, Visit.code).join(
            SampledHousehold, SampledHousehold.id == Visit.household_id).where(
            SampledHousehold.draw_id.in_(list(draw_ids))).order_by(Visit.visited_at, Visit.id)).all():
        last[household_id] = code
    return last


#: the status of a household for the non-response adjustment, by the letter of its AAPOR disposition
STATUS_OF_LETTER = {"NE": "ineligible", "UH": "unknown", "UO": "unknown"}


def draw_units(session: Session, draw_ids, analysed) -> pd.DataFrame:
    """Every household of the draws: uuid (of its interview, if any), draw, ward, size (its group's
    household count), rural (the ward is a commune), w (base weight 1 / pi) and status: respondent (its
    interview is among the ``analysed`` uuids), ineligible (4.x), unknown (3.x, or never visited: 3.11), else
    nonrespondent (an interview erased or excluded from the analysis is no interview)."""
    rows = session.exec(select(SampledHousehold, FrameGroup.households, FrameGroup.province_code).join(
        FrameGroup, FrameGroup.id == SampledHousehold.group_id).where(SampledHousehold.draw_id.in_(list(draw_ids)))
        .order_by(SampledHousehold.id)).all()
    last = _last_codes(session, draw_ids)
    communes = {w.code for p in {p for _h, _s, p in rows} for w in areas.wards(p) if w.division_type == "xã"}
    frame = pd.DataFrame([{"uuid": h.response_uuid, "draw": h.draw_id, "ward": h.ward_code, "size": size,
                           "rural": h.ward_code in communes, "w": 1 / h.probability,
                           "letter": disposition_class(h.final_code or last.get(h.id, "3.11"))}
                          for h, size, _p in rows])
    frame["status"] = np.where(frame["uuid"].isin(set(analysed)), "respondent",
                               frame["letter"].map(STATUS_OF_LETTER).fillna("nonrespondent"))
    return frame


def adjust_for_nonresponse(units: pd.DataFrame) -> Adjustment:
    """:func:`analysis.nonresponse.eligibility_adjust` of :func:`draw_units`, with AAPOR's e over the draws.

    Classes, finest first (each within its draw): ward x group size (the group's household count at or
    below the ward's median on the frame, or above; the frame holds it for every household, respondent
    or not), then the ward, then the kind of ward (urban ward or rural commune, the only other
    characteristic known for every household) x group size, then the kind of ward, then the whole draw.
    """
    median = units.groupby(["draw", "ward"])["size"].transform("median")
    size = np.where(units["size"] > median, "large", "small")
    draw = units["draw"].astype(str)
    kind = np.where(units["rural"], "rural", "urban")
    ward = draw + ":" + units["ward"].astype(str)
    levels = [list(ward + ":" + size), list(ward), list(draw + ":" + kind + ":" + size), list(draw + ":" + kind),
              list(draw)]
    e = eligibility_rate(units["status"].value_counts().to_dict())
    return eligibility_adjust(units["w"], units["status"], levels, e)


def _draws_with_interviews(session: Session, uuids) -> set[int]:
    return set(session.exec(select(SampledHousehold.draw_id).where(SampledHousehold.response_uuid.in_(list(uuids)))
                            .distinct()).all())


def nonresponse_factors(session: Session, response_ids: Sequence[int]) -> dict[int, float]:
    """For each interview (by response id) of a sampled household, the factor by which its household's
    weight is raised for the households of its class that gave no interview (:func:`adjust_for_nonresponse`)."""
    if not response_ids:
        return {}
    wanted = set(response_ids)
    linked = {u: i for u, i in session.exec(select(Response.uuid, Response.id).join(
        SampledHousehold, SampledHousehold.response_uuid == Response.uuid)).all() if i in wanted}
    if not linked:
        return {}
    units = draw_units(session, _draws_with_interviews(session, linked), linked)
    adjusted = adjust_for_nonresponse(units).weights
    return {linked[u]: a / w for u, a, w in zip(units["uuid"], adjusted, units["w"], strict=True) if u in linked}


def nonresponse_report(session: Session, survey_id: int) -> tuple[pd.DataFrame, Adjustment] | None:
    """The households and the adjustment of the survey's draws that have interviews (None without any)."""
    uuids = session.exec(select(SampledHousehold.response_uuid).join(
        SampleDraw, SampleDraw.id == SampledHousehold.draw_id).join(
        Response, Response.uuid == SampledHousehold.response_uuid).where(SampleDraw.survey_id == survey_id)).all()
    if not uuids:
        return None
    units = draw_units(session, _draws_with_interviews(session, uuids), uuids)
    return units, adjust_for_nonresponse(units)


def assignments_of(session: Session, volunteer_id: int) -> list[dict]:
    """The sampled households assigned to a volunteer, with their visits so far, in walking order."""
    households = session.exec(select(SampledHousehold, FrameGroup.group_code).join(
        FrameGroup, FrameGroup.id == SampledHousehold.group_id).where(SampledHousehold.volunteer_id == volunteer_id)
        .order_by(SampledHousehold.ward_code, FrameGroup.group_code, SampledHousehold.id)).all()
    visits: dict[int, list[Visit]] = {}
    for visit in session.exec(select(Visit).join(SampledHousehold, SampledHousehold.id == Visit.household_id)
                              .where(SampledHousehold.volunteer_id == volunteer_id)
                              .order_by(Visit.visited_at, Visit.id)).all():
        visits.setdefault(visit.household_id, []).append(visit)
    rules = _adult_rules(session, {h.draw_id for h, _ in households})
    out = []
    for h, group in households:
        made = visits.get(h.id, [])
        callback = _naive_utc(made[-1].callback_at) if made else None
        out.append({"id": h.id, "ward": h.ward_code, "group": group, "address": h.address, "visits": len(made),
                    "last_code": made[-1].code if made else None, "final": h.final_code,
                    "callback_at": callback.isoformat() + "Z" if callback else None, "callback": callback,
                    "adult_draw": h.adult_draw, **rules[h.draw_id],
                    # what the server holds, so the phone counts a visit it still keeps only once
                    "received": [v.uuid for v in made if v.uuid] + ([h.response_uuid] if h.response_uuid else [])})
    return out


def _adult_rules(session: Session, draw_ids: set[int]) -> dict[int, dict]:
    """Per draw, what the phone needs to choose the adult: the rule, the Kish oversampling factor for people
    60 and over, and the survey to interview them with."""
    rows = session.exec(select(SampleDraw, Survey.slug).join(Survey, Survey.id == SampleDraw.survey_id)
                        .where(SampleDraw.id.in_(draw_ids))).all() if draw_ids else []
    return {d.id: {"rule": d.adult_rule, "survey": slug,
                   "older_factor": float(d.oversample["age60"]) if d.adult_rule == "kish" and d.oversample.get("age60")
                   else None} for d, slug in rows}
