"""Microdata releases in tiers, as statistical offices release them, each with its disclosure-risk report.

* **scientific** (``/research/<slug>/export.<fmt>``, researchers): no direct identifiers, free text or
  paradata (channel, language, month submitted; the database id becomes a release number); the ward,
  strata, PSUs and weights kept, so every published table reproduces; the other quasi-identifiers
  locally suppressed (never the ward) until no record's individual risk exceeds
  ``KHAOSAT_SCIENTIFIC_MAX_RISK`` (default 0.02).
* **public** (``/research/<slug>/export-public.<fmt>``, for open publication): every combination of the
  quasi-identifiers, area included, shared by at least ``KHAOSAT_PUBLIC_K`` records (default 5). The area
  is coarsened first (ward, then former district, then the whole province: the finest level at which at
  most 5% of records share their area, sex and age band with fewer than k-1 others), then values are
  suppressed locally; the ward, strata, PSUs and design weights leave the file, and the weight is
  averaged within each published area (a calibrated weight would point back to the ward), so weighted
  totals by area still add up.
* **full** (``/research/<slug>/export-full.<fmt>``, admins only): everything the export holds, year of
  birth and paradata included.
* remote analysis: the results pages and API, whose tables pass the cell-suppression rules
  (:mod:`web.privacy.suppression`).

Risk is measured with :mod:`analysis.disclosure` (sdcMicro's measures) before and after protection.
Releases are computed once per weighted design (they change when the responses change).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import current_app

import surveys
from analysis.disclosure import Risk, local_suppression, measure_risk
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from web.i18n import lazy_gettext
from web.messages import in_every_language
from web.research import codebook
from web.research.codebook import Variable
from web.research.weighting import Weighted

SCIENTIFIC, PUBLIC, FULL = "scientific", "public", "full"
TIERS = (SCIENTIFIC, PUBLIC, FULL)
#: declared quasi-identifiers, in the order they are kept (the last given up first); whichever the survey has
QUASI_IDENTIFIERS = ("sex", "age_band", "ethnicity", "area_type", "urban_rural", "disability", "education",
                     "occupation", "income")
PARADATA = ("channel", "language", "submitted_month")
AREA_DESIGN = ("ward_code", "ward", "stratum", "psu", "base_weight")  #: left out of the public file
#: the province of the ward: in the public file only when its area is finer than the province (which implies it):
#: the public file's k-anonymity at province level does not count the province among its keys
PROVINCE = ("province_code", "province")
#: the label of the public file's former-district column (its codebook gives it in every language offered)
FORMER_DISTRICT = lazy_gettext("Former district (before July 2025)")
AREA_LEVELS = ("ward_code", "former_district", "province")  #: finest first
PUBLIC_AREA_SHARE = 0.05  #: the share of records below k on area x sex x age band a public area level may have
ROSTER_TOP = 6  #: a roster's number of rows is top-coded here in the public file ("6 or more")


@dataclass
class Release:
    """One tier's protected file: what to drop, blank and replace, and its risk before and after."""

    tier: str
    keys: list[str]  #: the quasi-identifiers measured
    area_level: str  #: ward_code, former_district or province
    target: dict  #: {"max_risk": x} or {"k": k}
    before: Risk | None = None
    after: Risk | None = None
    suppressed: dict[str, int] = field(default_factory=dict)  #: key -> values suppressed
    blanks: dict[str, set] = field(default_factory=dict)  #: key -> response ids whose value is suppressed
    removed: list[str] = field(default_factory=list)  #: variables left out of the file
    top_coded: list[str] = field(default_factory=list)  #: roster counts top-coded at ROSTER_TOP
    release_ids: dict = field(default_factory=dict)  #: response id -> release number
    weights: dict | None = None  #: public: response id -> the weight averaged within its area
    areas: dict | None = None  #: public at former-district level: response id -> former district code
    level_counts: dict = field(default_factory=dict)  #: public: area level -> share of records below k
    sources: dict = field(default_factory=dict)  #: derived key -> the answers it is computed from (blanked with it)

    def report(self) -> dict:
        """What the disclosure-risk report shows of it, as JSON (:meth:`from_report` reads it back): no record."""
        return {"tier": self.tier, "keys": self.keys, "area_level": self.area_level, "target": self.target,
                "before": None if self.before is None else self.before.as_dict(),
                "after": None if self.after is None else self.after.as_dict(), "suppressed": self.suppressed,
                "removed": self.removed, "top_coded": self.top_coded, "level_counts": self.level_counts,
                "sources": self.sources}

    @classmethod
    def from_report(cls, report: dict) -> Release:
        def risk(measured: dict | None) -> Risk | None:
            if measured is None:
                return None
            below = {int(k): v for k, v in measured["below_k"].items()}
            return Risk(**{**measured, "below_k": below}, per_record=pd.DataFrame())
        return cls(report["tier"], report["keys"], report["area_level"], report["target"], risk(report["before"]),
                   risk(report["after"]), report["suppressed"], removed=report["removed"],
                   top_coded=report["top_coded"], level_counts=report["level_counts"], sources=report["sources"])

    def summary(self) -> dict:
        """For the audit log: which file and how risky it is."""
        out = {"tier": self.tier, "area_level": self.area_level, **self.target}
        if self.after is not None:
            out.update(global_risk=round(self.after.global_risk, 6), max_risk=round(self.after.max_risk, 6),
                       suppressed=sum(self.suppressed.values()))
        return out


def _rosters(instrument: surveys.Instrument, frame: pd.DataFrame) -> list[str]:
    """Household rosters (repeat groups): their number of rows is a quasi-identifier (household size)."""
    return [q.name for q in instrument.variables if q.type == "repeat" and q.name in frame.columns]


def sources(instrument: surveys.Instrument, keys: list[str]) -> dict[str, list[str]]:
    """For each key that is a calculated question, the answers its calculation reads: a suppressed
    disability flag must not be recomputable from the functioning questions left in the file."""
    out = {}
    for key in keys:
        try:
            question = instrument.question(key)
        except KeyError:
            continue
        if question.calculation:
            out[key] = sorted(set(re.findall(r"\$\{([A-Za-z0-9_-]+)\}", question.calculation)))
    return out


def quasi_identifiers(instrument: surveys.Instrument, frame: pd.DataFrame) -> list[str]:
    return [c for c in QUASI_IDENTIFIERS if c in frame.columns and frame[c].notna().any()] + \
        _rosters(instrument, frame)


def release(data: Weighted, instrument: surveys.Instrument, tier: str, ids: Sequence[int] = ()) -> Release:
    """The tier's release of this weighted design (computed once; thread-safe). ``ids`` are every response
    the file holds (:func:`web.tables.response_ids`): those outside the design (no ward, so not weighted)
    get release numbers too."""
    config = current_app.config
    key = ("release", tier, float(config["SCIENTIFIC_MAX_RISK"]), int(config["PUBLIC_K"]))
    return data.derived((*key, instrument.version), lambda: protect(data.frame, instrument, tier, ids))


def protect(frame: pd.DataFrame, instrument: surveys.Instrument, tier: str, ids: Sequence[int] = ()) -> Release:
    """The tier's release of the records of ``frame`` (a weighted design's rows: ``response_id``, the final
    ``weight``, the area columns and the quasi-identifiers), with the app's settings; ``ids`` as :func:`release`."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; tiers: {TIERS}")
    builder = {SCIENTIFIC: _scientific, PUBLIC: _public, FULL: _full}[tier]
    made = builder(frame, instrument, current_app.config)
    made.release_ids = _release_ids(frame, ids) if tier != FULL else {}
    made.sources = sources(instrument, made.keys)
    return made


def _release_ids(frame: pd.DataFrame, more: Sequence[int]) -> dict:
    """A release number per response, in an order unrelated to the database ids or submission times."""
    ids = pd.unique(np.concatenate([frame["response_id"].to_numpy(dtype="int64") if "response_id" in frame
                                    else np.array([], dtype="int64"), np.asarray(more, dtype="int64")]))
    numbers = np.random.default_rng(secrets.randbits(64)).permutation(len(ids)) + 1
    return dict(zip(ids.tolist(), numbers.tolist(), strict=True))


def _full(frame: pd.DataFrame, instrument: surveys.Instrument, config) -> Release:
    return Release(FULL, [], "ward_code", {})


def _keys_frame(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame[keys].reset_index(drop=True)


def _blanks(frame: pd.DataFrame, done) -> dict[str, set]:
    ids = frame["response_id"].to_numpy()
    return {key: set(ids[group["row"].to_numpy()].tolist()) for key, group in done.cells.groupby("key")}


def _scientific(frame: pd.DataFrame, instrument: surveys.Instrument, config) -> Release:
    threshold = float(config["SCIENTIFIC_MAX_RISK"])
    keys = ["ward_code", *quasi_identifiers(instrument, frame)]
    out = Release(SCIENTIFIC, keys, "ward_code", {"max_risk": threshold}, removed=list(PARADATA))
    if frame.empty:
        return out
    table, weights = _keys_frame(frame, keys), frame["weight"].to_numpy()
    out.before = measure_risk(table, weights, threshold)
    done = local_suppression(table, weights=weights, threshold=threshold, keep=["ward_code"])
    out.after = measure_risk(done.keys, weights, threshold)
    out.suppressed, out.blanks = done.suppressed, _blanks(frame, done)
    return out


def public_keys(frame: pd.DataFrame, instrument: surveys.Instrument, level: str) -> pd.DataFrame:
    """The quasi-identifiers of the public-use file, one row per response (roster counts top-coded), with
    the area column ``level`` first unless the level is the province."""
    keys = quasi_identifiers(instrument, frame)
    table = _keys_frame(frame, keys)
    for roster in _rosters(instrument, frame):
        table[roster] = np.minimum(pd.to_numeric(table[roster], errors="coerce"), ROSTER_TOP)
    if level != "province":
        table.insert(0, level, frame[level].to_numpy())
    return table


def _public(frame: pd.DataFrame, instrument: surveys.Instrument, config) -> Release:
    k = int(config["PUBLIC_K"])
    out = Release(PUBLIC, [], "province", {"k": k}, removed=[*PARADATA, *AREA_DESIGN],
                  top_coded=_rosters(instrument, frame))
    if frame.empty:
        return out
    weights = frame["weight"].to_numpy()
    core = [c for c in ("sex", "age_band") if c in frame.columns]
    for level in AREA_LEVELS:
        if level != "province" and (level not in frame.columns or frame[level].isna().all()):
            continue
        keys = ([level] if level != "province" else []) + core
        share = float((_counts(_keys_frame(frame, keys)) < k).mean()) if keys else 0.0
        out.level_counts[level] = share
        if share <= PUBLIC_AREA_SHARE or level == "province":
            out.area_level = level
            break
    table = public_keys(frame, instrument, out.area_level)
    out.keys = list(table.columns)
    out.before = measure_risk(public_keys(frame, instrument, "ward_code") if "ward_code" in frame else table,
                              weights)
    keep = [out.area_level] if out.area_level != "province" else []
    done = local_suppression(table, k=k, keep=keep)
    out.after = measure_risk(done.keys, weights)
    out.suppressed, out.blanks = done.suppressed, _blanks(frame, done)
    ids = frame["response_id"]
    if out.area_level == "province":
        out.weights = dict(zip(ids, np.full(len(frame), weights.mean()), strict=True))
    else:
        area = frame[out.area_level].astype(object).where(frame[out.area_level].notna(), "?")
        out.weights = dict(zip(ids, pd.Series(weights).groupby(area.to_numpy()).transform("mean"), strict=True))
        out.areas = dict(zip(ids, frame[out.area_level], strict=True)) if out.area_level != "ward_code" else None
    return out


def _counts(keys: pd.DataFrame) -> np.ndarray:
    """How many records share each record's key (no missing values here)."""
    return keys.astype(object).fillna("?").groupby(list(keys.columns), sort=False)[keys.columns[0]] \
        .transform("size").to_numpy()


def variables(instrument: surveys.Instrument, made: Release) -> list[Variable]:
    """The variables of the tier's file, in order."""
    if made.tier == FULL:
        return codebook.variables(instrument, withheld=())
    spec = [v for v in codebook.variables(instrument) if v.name not in made.removed
            and not (made.tier == PUBLIC and made.area_level == "province" and v.name in PROVINCE)]
    if made.tier == PUBLIC and made.area_level == "former_district":
        spec.insert(2, Variable("former_district", "str", in_every_language(FORMER_DISTRICT)))
    return spec


def roster_variables(made: Release, spec: list[Variable]) -> list[Variable] | None:
    """The variables of a roster's own table in the tier's file, or None when the tier leaves it out.

    The full file keeps every roster column. The scientific-use file keeps the roster keyed by release
    numbers, without free-text answers (member names and the like identify people directly). The
    public-use file keeps only each roster's number of rows, top-coded: members' ages and sexes would
    make household composition a key no k-anonymity on the main table protects."""
    if made.tier == FULL:
        return spec
    if made.tier == PUBLIC:
        return None
    return [v for v in spec if v.kind == "num" or v.codes or v.name in ("id", "row")]


def apply_roster(made: Release, roster: str, table: pd.DataFrame, spec: list[Variable]) -> pd.DataFrame:
    """A roster's rows (``id`` = response id) as the tier releases them: in the scientific-use file keyed
    by the same release numbers as the main table, without the rows of a record whose number of rows
    was suppressed (they would restore it) or of a response outside the release."""
    if made.tier == FULL:
        return table
    kept = table["id"].isin(list(made.release_ids)) & ~table["id"].isin(list(made.blanks.get(roster, ())))
    out = table.loc[kept.to_numpy(), [v.name for v in spec]].copy()
    out["id"] = out["id"].map(made.release_ids).astype("int64")
    return out.sort_values(["id", "row"]).reset_index(drop=True)


def apply(made: Release, frame: pd.DataFrame) -> pd.DataFrame:
    """Export rows (from :func:`web.research.exports.shape`, ``id`` = response id) as the tier releases them."""
    if made.tier == FULL:
        return frame
    ids = frame["id"]
    out = frame.copy()
    for key, blank in made.blanks.items():
        gone = ids.isin(blank).to_numpy()
        for column in (key, *made.sources.get(key, ())):
            if column in out.columns:
                out[column] = out[column].where(~gone, np.nan if out[column].dtype == np.float64 else None)
    if made.tier == PUBLIC:
        out["weight"] = ids.map(made.weights or {}).astype("float64")  # none weighted: no weight
        if made.areas is not None:
            out["former_district"] = ids.map(made.areas).astype(object)
        for roster in made.top_coded:
            if roster in out.columns:
                out[roster] = np.minimum(out[roster], ROSTER_TOP)
    out["id"] = ids.map(made.release_ids).astype("float64")
    return out
