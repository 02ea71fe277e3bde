"""Sampled households in the interview app: the visit outcomes a volunteer records at the door (AAPOR's
in-person disposition codes, as :data:`analysis.sampling.DISPOSITIONS` counts them) and the sentences the
app's household screens show, in the volunteer's language.

An interview (1.1) is not in the list: it is recorded when the interview itself reaches the server.
"""

from __future__ import annotations

from web.i18n import _, lazy_gettext

#: (AAPOR code, what the volunteer saw at the door), in the order the form offers them
OUTCOMES = [
    ("2.24", lazy_gettext("Nobody at home")),
    ("2.25", lazy_gettext("The chosen person is away or busy")),
    ("2.23", lazy_gettext("Could not reach the dwelling (locked gate, guard)")),
    ("2.11", lazy_gettext("Refusal")),
    ("2.12", lazy_gettext("Interview started but broken off")),
    ("2.32", lazy_gettext("The chosen person is unable to answer (illness, disability)")),
    ("2.33", lazy_gettext("Language problem")),
    ("2.35", lazy_gettext("Other reason, the household is eligible")),
    ("4.60", lazy_gettext("Vacant dwelling")),
    ("4.50", lazy_gettext("Not a dwelling (shop, office)")),
    ("4.70", lazy_gettext("No eligible adult (nobody aged 15 or over)")),
]

#: the youngest age listed as an adult of the household (the survey's population: 15 and over)
MIN_AGE = 15


def strings() -> dict[str, str | int]:
    """What the household screens' JavaScript shows."""
    return {
        "visits": _("Visits: %(num)s", num="{n}"),
        "callback": _("Call back: %(time)s", time="{t}"),
        "outcome": _("Outcome: %(outcome)s", outcome="{o}"),
        "adult_n": _("Adult %(n)s", n="{n}"),
        "name": _("First name or initial"), "sex": _("Sex"), "male": _("Male"), "female": _("Female"),
        "age": _("Age (years)"), "birthday": _("Birthday"), "day": _("Day"), "month": _("Month"),
        "remove": _("Remove"),
        "need_name": _("Write a first name or an initial."),
        "need_sex": _("Choose the sex."),
        "need_age": _("Write the age in years, %(min)s or over.", min=MIN_AGE),
        "need_birthday": _("Choose the day and month of the birthday."),
        "need_adult": _("List at least one adult."),
        "chosen": _("Interview %(name)s.", name="{name}"),
        "chosen_kish": _("Chosen by the Kish rule with this household's number %(draw)s among %(num)s adults; "
                         "probability of selection %(p)s.", draw="{draw}", num="{k}", p="{p}"),
        "chosen_birthday": _("The adult whose birthday came last, among %(num)s adults; probability of selection "
                             "%(p)s.", num="{k}", p="{p}"),
        "start_with": _("Start the interview with %(name)s", name="{name}"),
        "need_outcome": _("Choose what happened at this visit."),
        "visit_saved": _("Visit saved on this phone; it is sent with the interviews."),
        "visit_title": _("Visit %(code)s", code="{code}"),
        "discard_visit": _("Remove this visit from the phone? The server did not accept it."),
        "min_age": MIN_AGE,
        "no_survey": _("The survey of this sample is not on this phone yet: connect to the network once."),
    }


def outcome_labels() -> dict[str, str]:
    """Each code's wording, for the household list; an interview too."""
    return {"1.1": _("Interview"), **{code: str(label) for code, label in OUTCOMES}}
