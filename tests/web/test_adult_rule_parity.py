"""The phone chooses the adult offline exactly as the server does: web/static/adults.js in Node against
analysis.sampling.doorstep_adult on thousands of generated households (Kish with and without oversampling
of people 60+, last birthday across leap years), the same person and the same probability to the bit."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from analysis.sampling import days_since_birthday, doorstep_adult
from tests.conftest import unavailable
from tests.exprjs import node_path

pytestmark = pytest.mark.slow  # thousands of households through Python and Node

ADULTS_JS = (Path(__file__).resolve().parents[2] / "web/static/adults.js").read_text(encoding="utf-8")
RUNNER = """
%s
const cases = JSON.parse(require("fs").readFileSync(0, "utf-8"));
process.stdout.write(JSON.stringify(cases.map((c) => {
  try { return KSAdults.choose(c.adults, c.rule, c.draw, c.on, c.older); }
  catch (e) { return { error: String(e && e.message) }; }
})));
"""


def in_node(cases: list[dict]) -> list:
    node = node_path()
    if node is None:
        unavailable("node not found (Debian package nodejs)")
    done = subprocess.run([node, "-e", RUNNER % ADULTS_JS], input=json.dumps(cases), capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout)


def in_python(case: dict):
    try:
        on = dt.date.fromisoformat(case["on"]) if case["on"] else None
        return list(doorstep_adult(case["adults"], case["rule"], case["draw"], on, case["older"]))
    except Exception as exc:  # noqa: BLE001 - compared as "both refused"
        return {"error": getattr(exc, "code", str(exc))}


def household(rng: np.random.Generator) -> dict:
    """A household as volunteers meet them: 1-9 adults, ties in age and birthday, 29 February, draws on the
    edges of the slices, oversampling factors that are not sums of powers of two."""
    k = int(rng.integers(1, 10))
    ages = rng.choice([15, 16, 30, 45, 59, 60, 61, 75, 90], size=k) if rng.random() < 0.5 else rng.integers(15, 100, k)
    days = ["02-29", "02-28", "03-01", "12-31", "01-01", "07-15"]
    birthdays = [days[int(rng.integers(len(days)))] if rng.random() < 0.4 else
                 (dt.date(2001, 1, 1) + dt.timedelta(days=int(rng.integers(365)))).strftime("%m-%d") for _ in range(k)]
    draw = float(rng.choice([0.0, 1 - 2**-53, int(rng.integers(k)) / k, 1 / 3, 2 / 3, rng.random()]))
    on = dt.date(int(rng.choice([2024, 2025, 2026, 2028, 2100])), 1, 1) + dt.timedelta(days=int(rng.integers(366)))
    return {"adults": [{"sex": str(rng.choice(["1", "2"])), "age": int(a), "birthday": b}
                       for a, b in zip(ages, birthdays, strict=True)],
            "rule": str(rng.choice(["kish", "last_birthday"])), "draw": draw, "on": on.isoformat(),
            "older": rng.choice([None, 2.0, 1.3, 3.7, 0.1])}


def test_the_phone_and_the_server_choose_the_same_adult_with_the_same_probability():
    rng = np.random.default_rng(20261126)
    cases = [household(rng) for _ in range(6000)]
    cases.append({"adults": [], "rule": "kish", "draw": 0.5, "on": None, "older": None})  # both refuse
    cases.append({"adults": [{"sex": "1", "age": 40}], "rule": "oldest", "draw": 0.5, "on": None, "older": None})
    phone = in_node(cases)
    differ = [(c, p, s) for c, p, s in zip(cases, phone, map(in_python, cases), strict=True)
              if ("error" in p) != ("error" in s) or ("error" not in p and p != s)]
    assert differ == []
    chosen = [p for p in phone if "error" not in p]
    assert len(chosen) == 6000
    # the cases reach every branch: oversampled probabilities other than 1/k, and every position chosen
    assert any(abs(p[1] * len(c["adults"]) - 1) > 1e-9 for c, p in zip(cases, phone, strict=False) if "error" not in p)
    assert {p[0] for p in chosen} == set(range(9))


@pytest.mark.parametrize(("birthday", "on", "days"), [
    ("11-26", "2026-11-26", 0), ("11-25", "2026-11-26", 1), ("11-27", "2026-11-26", 364),
    ("02-29", "2026-03-01", 1), ("02-29", "2028-03-01", 1), ("02-29", "2028-02-28", 365), ("02-29", "2027-02-28", 0),
    ("12-31", "2025-01-01", 1)])
def test_days_since_a_birthday_on_both_sides(birthday, on, days):
    assert days_since_birthday(birthday, dt.date.fromisoformat(on)) == days
    script = f"{ADULTS_JS}\nprocess.stdout.write(String(KSAdults.daysSinceBirthday({birthday!r}, {on!r})));"
    node = node_path() or unavailable("node not found (Debian package nodejs)")
    assert int(subprocess.run([node, "-e", script], capture_output=True, text=True, check=True).stdout) == days
