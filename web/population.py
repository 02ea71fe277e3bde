"""A synthetic population of a province's wards with known truths, and survey samples drawn from it.

Pure functions on numpy/pandas (no Flask, no database), so the demo and the statistical tests share
one simulation. The population is a table of cells (ward x cluster x sex x age band x education),
each with a head count and a true probability of the indicator (e.g. at least basic digital
skills) from a logistic model:

* skills fall with age and rise with education; rural communes (xã) are lower;
* every ward and every cluster (residential group, village) has its own random effect;
* planted gaps: some rural communes are far behind as a whole, and women aged 60+ are behind
  city-wide (an intersection neither sex nor age alone shows at its full size).

Parameters and where they come from (figures as published; the simulation is tuned to land near them,
it does not reproduce them exactly):

* **Size**: Hà Nội had 8,053,663 residents at the 2019 census (GSO, *Population and Housing Census
  2019*, preliminary results, 11 July 2019) and 126 wards/communes after the July 2025 reform, about
  64,000 residents per unit; adults 16+ are about three quarters. Simulated adults per unit: 35,000-95,000
  in a phường, 25,000-65,000 in a xã (about 6 million adults in all).
* **Sex by age**: the 2019 census counted 99.1 men per 100 women nationally (96.5 urban, 100.5 rural);
  the ratio falls with age (more boys at birth, women outlive men): about 103 at 16-29, 100 at 30-44,
  95 at 45-59 and 73 at 60+ (GSO 2019 census, age-sex tables and the population-ageing monograph).
* **Age**: 60+ were 11.9% of Viet Nam's population in 2019 (GSO), about 16% of adults; rural communes
  are older than urban wards (:data:`AGE_SHARE`).
* **Internet use**: DataReportal, *Digital 2025: Viet Nam* (Kepios, February 2025): 79.8 million internet
  users, 78.8% of the whole population, children included, in January 2025; MIC/VNNIC reports give
  similar national rates, higher in the big cities. The simulated share of Hà Nội adults who used the
  internet in the last 3 months is about 85%, near 99% at 16-29 and about half at 60+
  (:data:`INTERNET_EFFECT`).
* **Smartphones**: the Ministry of Information and Communications reported about 84% of adults owning
  a smartphone at the end of 2023; the demo gives a smartphone to every internet user and to a few
  non-users.

Each ward also has the census share of its residents who belong to an ethnic minority
(``wards.minority_share``; in Hà Nội the Mường and Dao communes of the western hills). As in Việt Nam,
the far-behind communes are mostly ethnic-minority communes, but the marker is imperfect: the share
varies widely among them, and some rural communes with a sizeable minority population are not behind.
It is drawn from its own random stream after the truths, so it changes no true rate; the truths never
depend on it, and a model can use it only as a census covariate.

A sample is stratified by ward (equal allocation, so small communes are over-sampled), with
``psus_per_ward`` clusters drawn by simple random sampling and a fixed number of contacts per
cluster; who responds depends on sex and age band (young men least, older women most), so the
unweighted sample is biased. Calibrating the design weights to the ward x sex x age-band counts
(:meth:`Population.margins`) removes that bias, because response depends only on those cells.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from surveys import areas

AGE_BANDS = ("16-29", "30-44", "45-59", "60+")
AGE_MIDPOINTS = {"16-29": (16, 29), "30-44": (30, 44), "45-59": (45, 59), "60+": (60, 85)}
SEXES = ("1", "2")  # the instruments' codes: 1 male, 2 female
EDUCATION = ("low", "middle", "high")  # primary or less; secondary; college or university
EDUCATION_CODES = {"low": ("1", "2"), "middle": ("3", "4"), "high": ("5", "6")}

#: men per 100 women, by age band (GSO 2019 census, see the module docstring)
SEX_RATIO = {"16-29": 103.0, "30-44": 100.0, "45-59": 95.0, "60+": 73.0}
#: the share of each age band among adults 16+, urban wards and rural communes
AGE_SHARE = {False: (0.28, 0.31, 0.25, 0.16), True: (0.25, 0.27, 0.27, 0.21)}
#: logit of internet use in the last 3 months (about 85% of adults; see the module docstring)
INTERNET_BASE = 2.4
INTERNET_EFFECT = {"16-29": 2.6, "30-44": 1.2, "45-59": -0.1, "60+": -1.6}
INTERNET_EDUCATION = {"low": -0.9, "middle": 0.0, "high": 1.0}
INTERNET_RURAL = -0.5
AGE_EFFECT = {"16-29": 1.0, "30-44": 0.5, "45-59": -0.4, "60+": -1.4}
EDUCATION_EFFECT = {"low": -0.9, "middle": 0.0, "high": 0.9}
RURAL_EFFECT = -0.5
OLDER_WOMEN_GAP = -1.0  # planted: women aged 60+ behind everywhere
BEHIND_COMMUNE_GAP = -2.0  # planted: whole rural communes far behind
RESPONSE = {("1", "16-29"): 0.30, ("1", "30-44"): 0.40, ("1", "45-59"): 0.55, ("1", "60+"): 0.70,
            ("2", "16-29"): 0.40, ("2", "30-44"): 0.50, ("2", "45-59"): 0.65, ("2", "60+"): 0.80}


def age_band(age: np.ndarray | pd.Series) -> pd.Series:
    """The age band code of each age (``None`` below 16 or unknown)."""
    age = pd.to_numeric(pd.Series(age), errors="coerce")
    bins = [16, 30, 45, 60, 200]
    return pd.cut(age, bins=bins, right=False, labels=list(AGE_BANDS)).astype(object).where(age >= 16, None)


@dataclass
class Population:
    """Cells with head counts ``N``, the true rate ``p`` of the indicator (at least basic skills, which
    needs internet use) and the true rate ``p_internet`` of internet use; ``wards`` has one row per ward."""

    wards: pd.DataFrame  # ward_code, ward, rural, behind, minority_share
    cells: pd.DataFrame  # ward_code, cluster, sex, age_band, education, N, p, p_internet

    def margins(self) -> pd.DataFrame:
        """The census table used for weighting: ward_code, sex, age_band, count."""
        table = self.cells.groupby(["ward_code", "sex", "age_band"], as_index=False)["N"].sum()
        return table.rename(columns={"N": "count"})

    def truth(self, by: str | list[str] | None = None) -> pd.Series | float:
        """The population rate overall (a float) or by domain (a Series indexed by ``by``)."""
        cells = self.cells.assign(rural=self.cells["ward_code"].map(self.wards.set_index("ward_code")["rural"]))
        cells["Np"] = cells["N"] * cells["p"]
        if by is None:
            return float(cells["Np"].sum() / cells["N"].sum())
        sums = cells.groupby(by)[["Np", "N"]].sum()
        return sums["Np"] / sums["N"]


def build_population(province: int = areas.HANOI, seed: int = 7, clusters_per_ward: int = 12,
                     behind_share: float = 0.12) -> Population:
    """The synthetic population of ``province``'s wards (real names and codes)."""
    rng = np.random.default_rng(seed)
    units = areas.wards(province)
    rural = np.array([u.division_type == "xã" for u in units])
    behind = rural & (rng.random(len(units)) < behind_share / max(rural.mean(), 1e-9))
    wards = pd.DataFrame({"ward_code": [u.code for u in units], "ward": [u.name for u in units],
                          "rural": rural, "behind": behind})
    size = np.where(rural, rng.integers(25_000, 65_000, len(units)), rng.integers(35_000, 95_000, len(units)))
    ward_effect = rng.normal(0, 0.3, len(units)) + RURAL_EFFECT * rural + BEHIND_COMMUNE_GAP * behind
    frames = []
    for i, code in enumerate(wards["ward_code"]):
        cluster_size = rng.dirichlet(np.full(clusters_per_ward, 8.0)) * size[i]
        cluster_effect = rng.normal(0, 0.25, clusters_per_ward)
        for k in range(clusters_per_ward):
            for a, band in enumerate(AGE_BANDS):
                edu = education_share(band, bool(rural[i]))
                male = SEX_RATIO[band] / (100 + SEX_RATIO[band])
                for sex in SEXES:
                    for e, level in enumerate(EDUCATION):
                        online = logistic(INTERNET_BASE + INTERNET_EFFECT[band] + INTERNET_EDUCATION[level]
                                           + INTERNET_RURAL * rural[i] + ward_effect[i] / 2)
                        logit = (0.8 + AGE_EFFECT[band] + EDUCATION_EFFECT[level] + ward_effect[i]
                                 + cluster_effect[k] + (OLDER_WOMEN_GAP if (sex, band) == ("2", "60+") else 0.0))
                        share = AGE_SHARE[bool(rural[i])][a] * (male if sex == "1" else 1 - male) * edu[e]
                        frames.append((code, k, sex, band, level, cluster_size[k] * share,
                                       online * logistic(logit), online))
    cells = pd.DataFrame(frames, columns=["ward_code", "cluster", "sex", "age_band", "education", "N", "p",
                                          "p_internet"])
    cells["N"] = cells["N"].round().clip(lower=1)
    wards["minority_share"] = _minority_share(np.random.default_rng((seed, 1)), rural, behind)
    return Population(wards=wards, cells=cells)


def _minority_share(rng: np.random.Generator, rural: np.ndarray, behind: np.ndarray) -> np.ndarray:
    """The census share of ethnic-minority residents: high but varied in the far-behind communes,
    a long tail among the other communes, next to none in urban wards."""
    share = np.where(behind, rng.beta(3.0, 2.5, len(rural)),
                     np.where(rural, rng.beta(0.8, 8.0, len(rural)), rng.beta(1.0, 150.0, len(rural))))
    return np.round(share, 4)

def logistic(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


def education_share(band: str, rural: bool) -> np.ndarray:
    high = {"16-29": 0.40, "30-44": 0.32, "45-59": 0.18, "60+": 0.10}[band] * (0.6 if rural else 1.0)
    low = {"16-29": 0.08, "30-44": 0.12, "45-59": 0.25, "60+": 0.45}[band] * (1.4 if rural else 1.0)
    return np.array([low, 1 - low - high, high])


def draw_sample(population: Population, rng: np.random.Generator, psus_per_ward: int = 4,
                contacts_per_psu: int = 14) -> pd.DataFrame:
    """A stratified two-stage cluster sample with unequal response; one row per respondent.

    Columns: ward_code, stratum, psu, weight (the design weight: clusters and contacts, not
    corrected for non-response), sex, age_band, age, education, urban_rural, internet (0/1, used the
    internet in the last 3 months) and y (0/1, the indicator: at least basic skills, only among users).
    """
    cells = population.cells
    rural = population.wards.set_index("ward_code")["rural"]
    response = np.array([RESPONSE[(s, a)] for s, a in zip(cells["sex"].tolist(), cells["age_band"].tolist(),
                                                           strict=True)])  # lists: Arrow's items one by one are slow
    counts = cells["N"].to_numpy()
    groups = cells.groupby(["ward_code", "cluster"], sort=False).indices
    by_ward: dict[int, list[int]] = {}
    for ward, cluster in groups:
        by_ward.setdefault(ward, []).append(cluster)
    rows, psus, weights = [], [], []
    for ward, clusters in by_ward.items():
        chosen = rng.choice(clusters, size=min(psus_per_ward, len(clusters)), replace=False)
        for cluster in chosen:
            idx = groups[(ward, cluster)]
            contacts = rng.multinomial(contacts_per_psu, counts[idx] / counts[idx].sum())
            taken = np.repeat(idx, rng.binomial(contacts, response[idx]))
            rows.append(taken)
            psus.append(np.full(len(taken), f"{ward}-{cluster}", dtype=object))
            weights.append(np.full(len(taken), len(clusters) / len(chosen) * counts[idx].sum() / contacts_per_psu))
    sample = pd.DataFrame({"cell": np.concatenate(rows), "psu": np.concatenate(psus),
                           "weight": np.concatenate(weights)})
    chosen_cells = cells.iloc[sample["cell"].to_numpy()].reset_index(drop=True)
    for column in ("ward_code", "sex", "age_band", "education"):
        sample[column] = chosen_cells[column].to_numpy()
    sample["stratum"] = sample["ward_code"].astype(str)
    sample["urban_rural"] = np.where(sample["ward_code"].map(rural).to_numpy(), "rural", "urban")
    low, high = zip(*(AGE_MIDPOINTS[b] for b in sample["age_band"]), strict=True)
    sample["age"] = rng.integers(np.array(low), np.array(high) + 1)
    online = chosen_cells["p_internet"].to_numpy()
    sample["internet"] = (rng.random(len(sample)) < online).astype(float)
    skilled = chosen_cells["p"].to_numpy() / online  # the indicator's rate among internet users
    sample["y"] = ((sample["internet"] == 1) & (rng.random(len(sample)) < skilled)).astype(float)
    return sample.drop(columns="cell")
