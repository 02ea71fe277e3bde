"""The demo's self-selected stream: synthetic answers through QR posters and links, kept apart from the
probability sample so the streams comparison (:mod:`web.research.streams`) has something true to show.

**Synthetic, for the demo only.** Who answers a QR poster is not who a sample reaches: it takes a
smartphone, mobile data and the confidence to use them. The stream is drawn from the same synthetic
population as the demo's sample, with these assumptions (stated, not measured):

* a person's chance of answering is proportional to their cell's size times :data:`ONLINE_PULL` for
  internet users (1 for others: a relative's phone, a volunteer's tablet at the ward office), and
  :data:`AGE_PULL` by age band (the young scan posters more);
* among internet users, those with basic digital skills are over-represented: their odds are multiplied
  by :data:`SKILLED_ODDS`.

So the stream over-states digital skills even after its weights are raked to the same sex x age margins
as the official ones, which is the gap the streams page shows (the direction the literature on opt-in web
samples reports; the size here is an assumption). Every response is marked ``meta.synthetic_stream``.
"""

from __future__ import annotations

from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from surveys import areas
from web.population import AGE_MIDPOINTS

ONLINE_PULL = 6.0  #: an internet user is this many times as likely to answer a poster as a non-user
AGE_PULL = {"16-29": 1.6, "30-44": 1.3, "45-59": 0.8, "60+": 0.4}
SKILLED_ODDS = 2.5  #: the odds of having basic skills, among the stream's internet users, times this
PREFIX = "demo-qr"  #: the responses' uuid prefix (so the stream is seeded once)
NOTE = "synthetic self-selected (QR/link) stream of the demo"


def draw_self_selected(cells: pd.DataFrame, size: int, rng: np.random.Generator, ward_of) -> pd.DataFrame:
    """``size`` self-selected respondents from population ``cells`` (columns N, p, p_internet, sex, age_band,
    education; ``ward_of(row, rng)`` gives each one's ward code and whether it is rural), in the columns of
    :func:`web.population.draw_sample`, without stratum or PSU (nobody drew them)."""
    pull = cells["N"].to_numpy(float) * (1 + (ONLINE_PULL - 1) * cells["p_internet"].to_numpy(float)) \
        * cells["age_band"].map(AGE_PULL).to_numpy(float)
    chosen = cells.iloc[rng.choice(len(cells), size=size, p=pull / pull.sum())].reset_index(drop=True)
    online_share = ONLINE_PULL * chosen["p_internet"] / (1 + (ONLINE_PULL - 1) * chosen["p_internet"])
    internet = rng.random(size) < online_share.to_numpy()
    skilled = (chosen["p"] / chosen["p_internet"]).clip(1e-6, 1 - 1e-6).to_numpy()
    skilled = SKILLED_ODDS * skilled / (1 - skilled + SKILLED_ODDS * skilled)
    wards = [ward_of(row, rng) for row in chosen.itertuples()]
    low, high = zip(*(AGE_MIDPOINTS[b] for b in chosen["age_band"]), strict=True)
    return pd.DataFrame({
        "ward_code": [w for w, _rural in wards], "stratum": None, "psu": None, "weight": 1.0,
        "sex": chosen["sex"].to_numpy(), "age_band": chosen["age_band"].to_numpy(),
        "age": rng.integers(np.array(low), np.array(high) + 1), "education": chosen["education"].to_numpy(),
        "urban_rural": ["rural" if rural else "urban" for _w, rural in wards],
        "internet": internet.astype(float), "y": (internet & (rng.random(size) < skilled)).astype(float)})


def ward_in_cell(wards: pd.DataFrame):
    """``ward_of`` for a one-province population: the cell's own ward (``wards``: ward_code -> rural)."""
    rural = wards.set_index("ward_code")["rural"]
    return lambda row, rng: (int(row.ward_code), bool(rural[row.ward_code]))


def commune_of_kind():
    """``ward_of`` for the national population (cells by province x urban/rural): a commune of that kind
    in that province, at random (phường urban; xã and đặc khu rural)."""
    kinds: dict[tuple[int, bool], list[int]] = {}

    def pick(row, rng) -> tuple[int, bool]:
        key = (int(row.province_code), bool(row.rural))
        if key not in kinds:
            kinds[key] = [w.code for w in areas.wards(key[0]) if (w.division_type != "phường") == key[1]] or \
                [w.code for w in areas.wards(key[0])]
        return int(rng.choice(kinds[key])), key[1]
    return pick
