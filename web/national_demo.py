"""The national demo (``khaosat demo --national``): a digital-skills survey covering all 34 provinces.

A synthetic adult population of every province after the July 2025 merger, a sample stratified by
province x urban/rural (phường are urban; xã and đặc khu rural), with communes as primary sampling units,
and province x sex x age-band margins the weights are calibrated to (:class:`web.models.ProvinceMargin`).

Figures, **approximate and for the demo only** (rounded to 10,000 people):

* **Population by province** (:data:`POPULATION`): the 2024 average population of the former provinces
  each new province was formed from (GSO, *Niên giám thống kê 2024* / Statistical Yearbook 2024, table
  "Dân số trung bình phân theo địa phương"), summed by the mergers of National Assembly Resolution
  202/2025/QH15 (12 June 2025); Việt Nam had about 101.1 million people in 2024 (GSO). Recalled and
  rounded, not copied from the table: check them before any use other than this demo.
* **Adults 16+**: about 76% of the population (GSO, Labour Force Survey 2024).
* **Urban share**: not published for the new provinces yet; approximated from the units themselves: a
  phường counted as twice as populous as a xã (HCMC: 80%; Hà Nội: 58%; published urban shares of the
  former provinces are of the same order).
* **Sex and age**: the 2019 census structure used by :mod:`web.population` (:data:`~web.population.SEX_RATIO`,
  :data:`~web.population.AGE_SHARE`), the same in every province.

Skills follow :mod:`web.population`'s logistic model (age, education, rural, women 60+ behind) plus a
random effect per province, so provinces differ; who responds depends on sex and age band, so the
unweighted sample is biased and the calibrated weights correct it.
"""

from __future__ import annotations

import random

from sqlmodel import Session, select

import surveys
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from surveys import areas
from web import demo_qr
from web.catalog import DEMO_CONTACT, DEMO_CONTROLLER, instrument_of, publish
from web.demo import seed_self_selected, synthetic_responses
from web.models import Response
from web.population import (
    AGE_BANDS,
    AGE_EFFECT,
    AGE_MIDPOINTS,
    AGE_SHARE,
    EDUCATION,
    EDUCATION_EFFECT,
    INTERNET_BASE,
    INTERNET_EDUCATION,
    INTERNET_EFFECT,
    INTERNET_RURAL,
    OLDER_WOMEN_GAP,
    RESPONSE,
    RURAL_EFFECT,
    SEX_RATIO,
    education_share,
    logistic,
)
from web.research.margins import replace_province_margins
from web.submissions import store_rows

SLUG = "digital-skills-national"
ADULT_SHARE = 0.76
PSUS_PER_PROVINCE = 6
#: approximate 2024 population of each province after the merger (GSO code -> people; see the docstring)
POPULATION = {
    1: 8_690_000, 4: 550_000, 8: 1_720_000, 11: 650_000, 12: 480_000, 14: 1_300_000, 15: 1_630_000,
    19: 1_670_000, 20: 800_000, 22: 1_380_000, 24: 3_410_000, 25: 3_590_000, 31: 4_080_000, 33: 3_180_000,
    37: 3_770_000, 38: 3_760_000, 40: 3_470_000, 42: 1_320_000, 44: 1_570_000, 46: 1_160_000, 48: 2_770_000,
    51: 1_840_000, 52: 3_120_000, 56: 1_860_000, 66: 2_810_000, 68: 3_280_000, 75: 4_360_000, 79: 13_500_000,
    80: 2_930_000, 82: 3_390_000, 86: 3_350_000, 91: 3_670_000, 92: 3_190_000, 96: 2_130_000,
}


def urban_share(province: int) -> float:
    """The approximate urban share of a province's adults (a phường counted twice a xã)."""
    units = areas.wards(province)
    wards = sum(u.division_type == "phường" for u in units)
    return 2 * wards / (2 * wards + len(units) - wards)


def cells(seed: int = 20251) -> pd.DataFrame:
    """The national population: province x rural x sex x age band x education, with head counts ``N``,
    the true rate ``p`` (at least basic skills) and ``p_internet``."""
    rng = np.random.default_rng(seed)
    effects = dict(zip(POPULATION, rng.normal(0, 0.4, len(POPULATION)), strict=True))
    rows = []
    for province, people in POPULATION.items():
        for rural, share in ((False, urban_share(province)), (True, 1 - urban_share(province))):
            for band, band_share in zip(AGE_BANDS, AGE_SHARE[rural], strict=True):
                men = SEX_RATIO[band] / (100 + SEX_RATIO[band])
                for sex, sex_share in (("1", men), ("2", 1 - men)):
                    for education, ed_share in zip(EDUCATION, education_share(band, rural), strict=True):
                        count = people * ADULT_SHARE * share * band_share * sex_share * ed_share
                        rows.append(_cell(province, rural, band, sex, education, count, effects[province]))
    return pd.DataFrame(rows)


def _cell(province: int, rural: bool, band: str, sex: str, education: str, count: float, effect: float) -> dict:
    internet = logistic(INTERNET_BASE + INTERNET_EFFECT[band] + INTERNET_EDUCATION[education]
                         + (INTERNET_RURAL if rural else 0.0) + effect)
    skilled = logistic(0.3 + AGE_EFFECT[band] + EDUCATION_EFFECT[education] + (RURAL_EFFECT if rural else 0.0)
                        + (OLDER_WOMEN_GAP if sex == "2" and band == "60+" else 0.0) + effect)
    return {"province_code": province, "rural": rural, "sex": sex, "age_band": band, "education": education,
            "N": round(count), "p_internet": internet, "p": internet * skilled}


def margins(population: pd.DataFrame) -> pd.DataFrame:
    """The census table the weights are calibrated to: province_code, sex, age_band, count."""
    table = population.groupby(["province_code", "sex", "age_band"], as_index=False)["N"].sum()
    return table.rename(columns={"N": "count"})


def draw(population: pd.DataFrame, rng: np.random.Generator, per_province: int = 60) -> pd.DataFrame:
    """A sample stratified by province x urban/rural, communes drawn by simple random sampling within each
    stratum (:data:`PSUS_PER_PROVINCE` a province, shared by adults), a fixed number of contacts a commune,
    and unequal response by sex and age band; columns as :func:`web.population.draw_sample`'s."""
    contacts = max(2, round(per_province / 0.53 / PSUS_PER_PROVINCE))
    parts = []
    for (province, rural), stratum in population.groupby(["province_code", "rural"], sort=True):
        units = [u.code for u in areas.wards(province) if (u.division_type != "phường") == rural]
        share = stratum["N"].sum() / population.loc[population["province_code"] == province, "N"].sum()
        chosen = rng.choice(units, size=min(len(units), max(2, round(PSUS_PER_PROVINCE * share))), replace=False)
        for commune in chosen:
            parts.append(_interviews(stratum, int(commune), len(units) / len(chosen), contacts, rng))
    sample = pd.concat(parts, ignore_index=True)
    low, high = zip(*(AGE_MIDPOINTS[b] for b in sample["age_band"]), strict=True)
    sample["age"] = rng.integers(np.array(low), np.array(high) + 1)
    sample["internet"] = (rng.random(len(sample)) < sample["p_internet"]).astype(float)
    skilled = sample["p"] / sample["p_internet"]
    sample["y"] = ((sample["internet"] == 1) & (rng.random(len(sample)) < skilled)).astype(float)
    return sample


def _interviews(stratum: pd.DataFrame, commune: int, expansion: float, contacts: int,
                rng: np.random.Generator) -> pd.DataFrame:
    """The respondents of one commune: ``contacts`` adults drawn from the stratum's cells, who respond or not."""
    counts = stratum["N"].to_numpy(dtype=float)
    response = np.array([RESPONSE[(s, a)] for s, a in zip(stratum["sex"], stratum["age_band"], strict=True)])
    reached = rng.multinomial(contacts, counts / counts.sum())
    taken = stratum.iloc[np.repeat(np.arange(len(stratum)), rng.binomial(reached, response))]
    adults_per_commune = counts.sum() / len(areas.wards(int(stratum["province_code"].iloc[0])))
    rural = bool(stratum["rural"].iloc[0])
    return taken.assign(ward_code=commune, psu=str(commune), urban_rural="rural" if rural else "urban",
                        stratum=f"{int(stratum['province_code'].iloc[0])}-{'rural' if rural else 'urban'}",
                        weight=expansion * adults_per_commune / contacts).reset_index(drop=True)


def national_instrument() -> surveys.Instrument:
    """The built-in digital-skills survey, covering the whole country (``area: national``)."""
    base = next(i for i in surveys.builtin_instruments() if i.slug == "digital-skills")
    source = {**base.source, "slug": SLUG, "area": areas.NATIONAL,
              "title": {"vi": base.title.get("vi", "") + " (toàn quốc)", "en": base.title.get("en", "") + " (national)"}}
    return surveys.from_dict(source, f"{SLUG} (demo)")


def seed_national(session: Session, per_province: int = 60, seed: int = 20251) -> str:
    """Publish the national survey, store its province margins and a national sample of responses (once)."""
    version = publish(session, national_instrument(), controller=DEMO_CONTROLLER, contact=DEMO_CONTACT)
    population = cells(seed)
    lines = [f"national demo survey: /s/{SLUG} (34 provinces, {sum(POPULATION.values()):,} people, approximate)"]
    stored = replace_province_margins(session, margins(population), "demo (approximate GSO 2024 figures)", None)
    lines.append(f"national margins: {stored} cells (province x sex x age band)")
    if session.exec(select(Response.id).where(Response.survey_version_id == version.id,
                                              Response.psu.is_not(None)).limit(1)).first():
        lines.append("national responses: already there")
    else:
        sample = draw(population, np.random.default_rng(seed), per_province)
        added = store_rows(session, list(synthetic_responses(version, instrument_of(version), sample,
                                                             random.Random(seed))))
        session.commit()
        lines.append(f"national responses added: {added} in {sample['psu'].nunique()} communes")
    qr = demo_qr.draw_self_selected(population, max(40, round(per_province * len(areas.provinces()) / 5)),
                                    np.random.default_rng(seed + 7), demo_qr.commune_of_kind())
    return "\n".join([*lines, seed_self_selected(session, SLUG, qr, seed + 7)])
