"""Roll-up tables (``SqlDesign.build_rollup`` / ``with_rollup``): raked and plain means and totals served
from the roll-up equal those from the rows (``SqlDesign``, 1e-10) and the in-memory ``SurveyDesign``
(1e-8), on SQLite and PostgreSQL, overall and by province, commune and province x sex; the roll-up is a
snapshot until it is built again; what it does not hold is read from the rows."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import sqlalchemy
from rref import REFERENCE_DIR, RTOL

from analysis import DesignError, SurveyDesign
from analysis.left_behind import left_behind
from analysis.rollup import RESPONDENTS, as_design
from tests.conftest import unavailable, unique

HERE = REFERENCE_DIR / "raking_sql"
DESIGN = {"weights": "w", "strata": "stratum", "psu": "commune"}
SAME = 1e-10  #: a sum of sums is the same sum, added in another order
DOMAINS = ["province", "commune"]
CELLS = ["province", "sex", "age_band"]


def _margins() -> dict:
    margins = pd.read_csv(HERE / "margins.csv", dtype={"level": str})
    out = {}
    for name in ("sex", "age_band"):
        rows = margins[margins["margin"] == name]
        out[("province", name)] = dict(zip(zip(rows["province"], rows["level"], strict=True), rows["count"],
                                           strict=True))
    return out


def _sample() -> pd.DataFrame:
    return pd.read_csv(HERE / "sample.csv")  # 59 of its 1,428 rows miss y


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    sqlite = f"sqlite:///{tmp_path / 'rollup.sqlite'}"
    url = sqlite if request.param == "sqlite" else os.environ.get("TEST_DATABASE_URL")
    if not url:
        unavailable("TEST_DATABASE_URL is not set (PostgreSQL tests)")
    eng = sqlalchemy.create_engine(url)
    eng.sample, eng.rollup = unique("rollup_sample"), unique("rollup_sums")
    _sample().to_sql(eng.sample, eng, index=False)
    yield eng
    with eng.begin() as conn:
        for table in (eng.sample, eng.rollup, f"{eng.rollup}__new", f"{eng.rollup}__about"):
            conn.execute(sqlalchemy.text(f'DROP TABLE IF EXISTS "{table}"'))
    eng.dispose()


def _plain(engine):
    return SurveyDesign.from_sql(engine, engine.sample, **DESIGN)


def _served(engine, raked: bool = True):
    plain = _plain(engine)
    rollup = plain.build_rollup(engine.rollup, ["y", "used"], by=DOMAINS, cells=CELLS)
    served = plain.with_rollup(rollup)
    return served.rake(_margins()) if raked else served


def _same(got: pd.DataFrame, want: pd.DataFrame, keys: list[str], rtol: float) -> None:
    if keys:
        got, want = got.sort_values(keys).reset_index(drop=True), want.sort_values(keys).reset_index(drop=True)
        for k in keys:
            np.testing.assert_array_equal(got[k].astype(str), want[k].astype(str))
    scale = np.abs(want["estimate"]).max()
    for col in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(got[col], want[col], rtol=rtol, atol=1e-12 * scale, err_msg=col)
    np.testing.assert_array_equal(got["n"], want["n"])


@pytest.mark.parametrize("raked", [True, False])
@pytest.mark.parametrize("by", [None, "province", "commune", ["province", "sex"]])
def test_rollup_estimates_equal_the_rows_and_memory(engine, by, raked) -> None:
    served, direct = _served(engine, raked), _plain(engine)
    memory = SurveyDesign(_sample(), **DESIGN)
    if raked:
        direct, memory = direct.rake(_margins()), memory.rake(_margins())
    keys = [by] if isinstance(by, str) else list(by or [])
    for method in ("mean", "total"):
        got = getattr(served, method)("y", by=by)
        _same(got, getattr(direct, method)("y", by=by), keys, SAME)
        _same(got, getattr(memory, method)("y", by=by), keys, RTOL)


def test_the_rollup_holds_one_row_per_unit_domain_and_cell(engine) -> None:
    rollup = _served(engine).rollup
    sample = _sample()
    assert rollup.rows == len(sample)
    assert rollup.groups == len(sample.drop_duplicates(["stratum", "commune", "province", "sex", "age_band"]))
    assert rollup.groups < len(sample) / 2
    assert rollup.built_at.tzinfo is not None


def test_another_process_serves_the_rollup_by_its_name(engine) -> None:
    """A web worker that did not build the roll-up attaches it by the table's name: the same snapshot, the
    same time to label the figures with, the same estimates."""
    built = _served(engine)
    other = sqlalchemy.create_engine(engine.url)
    opened = SurveyDesign.from_sql(other, engine.sample, **DESIGN).with_rollup(engine.rollup).rake(_margins())
    assert opened.rollup == built.rollup
    _same(opened.mean("y", by="commune"), built.mean("y", by="commune"), ["commune"], 0.0)
    other.dispose()


def test_the_rollup_is_a_snapshot_until_built_again(engine) -> None:
    """Rows added after the build are not served until the next build (the refresh job's work); then
    the served figures are the rows' again."""
    served = _served(engine)
    before = served.mean("y", by="province")
    extra = _sample().head(200).assign(y=99.0)
    extra.to_sql(engine.sample, engine, index=False, if_exists="append")
    _same(served.mean("y", by="province"), before, ["province"], 0.0)
    direct = _plain(engine).rake(_margins()).mean("y", by="province")
    assert not np.allclose(before["estimate"], direct["estimate"])
    _same(_served(engine).mean("y", by="province"), direct, ["province"], SAME)


def test_what_the_rollup_does_not_hold_is_read_from_the_rows(engine) -> None:
    served, direct = _served(engine), _plain(engine).rake(_margins())
    _same(served.ratio("y", "w", by="province"), direct.ratio("y", "w", by="province"), ["province"], SAME)
    _same(served.proportion("used", by="commune"), direct.proportion("used", by="commune"), ["commune", "used"],
          SAME)
    _same(served.mean("y", by="urban"), direct.mean("y", by="urban"), ["urban"], SAME)
    with pytest.raises(DesignError, match="before raking"):
        _plain(engine).rake(_margins()).with_rollup(served.rollup)


@pytest.mark.parametrize("raked", [True, False])
@pytest.mark.parametrize("by", [None, "province", "commune", ["province", "sex"]])
def test_proportions_of_a_0_1_indicator_are_served_from_the_rollup(engine, by, raked) -> None:
    """The sums of a 0/1 indicator's level 1 are its own and those of level 0 the rest: its proportions (every
    interval method) are the rows' and memory's; they are the roll-up's snapshot (rows added later are not in them),
    and a variable with other values than 0 and 1 is not served its proportions from the roll-up."""
    served, direct = _served(engine, raked), _plain(engine)
    memory = SurveyDesign(_sample(), **DESIGN)
    if raked:
        direct, memory = direct.rake(_margins()), memory.rake(_margins())
    assert served.rollup.binary == ("used",)
    keys = [*([by] if isinstance(by, str) else list(by or [])), "used"]
    for method in ("logit", "beta", "wald"):
        got = served.proportion("used", by=by, ci_method=method)
        _same_shares(got, direct.proportion("used", by=by, ci_method=method), keys, SAME)
        _same_shares(got, memory.proportion("used", by=by, ci_method=method), keys, RTOL)
    before = served.proportion("used", by=by)
    _sample().head(300).assign(used=1).to_sql(engine.sample, engine, index=False, if_exists="append")
    _same(served.proportion("used", by=by), before, keys, 0.0)  # the snapshot until the next build
    after = _plain(engine)
    after = after.rake(_margins()) if raked else after
    assert not np.allclose(after.proportion("used", by=by)["estimate"], before["estimate"])


def _same_shares(got: pd.DataFrame, want: pd.DataFrame, keys: list[str], rtol: float) -> None:
    """As :func:`_same`, with the design's degrees of freedom; a domain with none (all its respondents in one
    PSU) has no interval of its own, and its variance is 0 give or take rounding (which decides whether the
    boundary rule or a NaN stands in), so its interval is not compared."""
    got, want = got.sort_values(keys).reset_index(drop=True), want.sort_values(keys).reset_index(drop=True)
    np.testing.assert_array_equal(got["df"], want["df"])
    some = want["df"].to_numpy() > 0
    _same(got[some], want[some], keys, rtol)
    np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=rtol)
    np.testing.assert_allclose(got["se"], want["se"], rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("indicator", ["y", "used"])
def test_the_left_behind_ranking_from_the_rollups_groups_is_the_rows(engine, indicator) -> None:
    """A design of the roll-up's groups (``as_design``) standing for their respondents gives the left-behind
    ranking of the rows: every cell's estimate, SE, interval, n, degrees of freedom, gap to the overall mean with
    its SE (linearised jointly), p- and q-value; rows whose indicator is missing still count their PSU."""
    sample = _sample()
    gone = sample["commune"].iloc[0]  # a PSU none of whose respondents has a value: it still counts in its stratum
    sample.loc[sample["commune"] == gone, indicator] = np.nan
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'UPDATE "{engine.sample}" SET "{indicator}" = NULL WHERE commune = :c'),
                     {"c": gone.item() if hasattr(gone, "item") else gone})
    plain = _plain(engine)
    rollup = plain.build_rollup(engine.rollup, ["y", "used"], by=["province", "sex", "age_band"])
    with engine.connect() as conn:
        groups = pd.read_sql_query(sqlalchemy.text(f'SELECT * FROM "{rollup.table}"'), conn)
    assert len(groups) < len(sample) / 2  # the ranking reads far fewer rows than there are respondents
    share = indicator == "used"
    options = dict(areas="province", groups=["sex", "age_band"], max_way=2, scale=100.0 if share else 1.0,
                   material_points=10.0 if share else 5.0)
    memory = SurveyDesign(sample, **DESIGN, lonely_psu="adjust")
    want = left_behind(memory, indicator, **options)
    got = left_behind(as_design(groups, indicator, "stratum", "commune"), indicator, respondents=RESPONDENTS,
                      share=share, **options)
    keys = ["cell_type", "province", "sex", "age_band"]
    want, got = (t.assign(**{k: t[k].astype(str) for k in keys}).sort_values(keys).reset_index(drop=True)
                 for t in (want, got))
    assert len(got) == len(want) > 20 and got[keys].equals(want[keys])
    for column in ("n", "df", "reliability", "left_behind"):
        assert got[column].tolist() == want[column].tolist(), column
    for column in ("estimate", "se", "ci_low", "ci_high", "population", "gap", "gap_se", "p_value", "q_value"):
        np.testing.assert_allclose(got[column], want[column], rtol=1e-9, atol=1e-12, err_msg=column)
    assert got.attrs["overall"] == pytest.approx(want.attrs["overall"], rel=1e-12)
    assert got.attrs["share"] is want.attrs["share"] is share


def test_several_rollups_from_one_select_are_each_its_own(engine) -> None:
    """Roll-ups of groupings not crossed with each other, made at once (the rows read once into a table of their own,
    each roll-up a GROUP BY of it), each equal to the roll-up made alone: its rows, sums and estimates."""
    plain = _plain(engine)
    alone = plain.build_rollup(engine.rollup, ["y", "used"], by=["commune", "sex"])
    want = plain.with_rollup(alone).mean("y", by=["commune", "sex"])
    other = f"{engine.rollup}_urban"
    try:
        both = plain.build_rollups([(engine.rollup, ["commune", "sex"]), (other, ["province", "urban"])],
                                   ["y", "used"])
        assert [r.table for r in both] == [engine.rollup, other]
        assert both[0].keys == alone.keys and both[0].rows == both[1].rows == alone.rows == len(_sample())
        assert both[0].groups == alone.groups and both[0].binary == alone.binary == ("used",)
        sample = _sample()
        assert both[1].groups == len(sample.drop_duplicates(["stratum", "commune", "province", "urban"]))
        _same(plain.with_rollup(both[0]).mean("y", by=["commune", "sex"]), want, ["commune", "sex"], SAME)
        urban = plain.with_rollup(both[1])
        _same(urban.mean("y", by="urban"), plain.mean("y", by="urban"), ["urban"], SAME)
        _same(urban.proportion("used", by="province"), plain.proportion("used", by="province"), ["province", "used"],
              SAME)
        with engine.connect() as conn:
            tables = sqlalchemy.inspect(conn).get_table_names()
        assert f"{engine.rollup}__rows" not in tables and f"{other}__new" not in tables
    finally:
        with engine.begin() as conn:
            for table in (other, f"{other}__about"):
                conn.execute(sqlalchemy.text(f'DROP TABLE IF EXISTS "{table}"'))


@pytest.mark.parametrize("raked", [True, False])
def test_proportions_of_several_indicators_in_one_query_are_each_ones(engine, raked) -> None:
    """The shares of several 0/1 indicators (the levels of a categorical one) read in one GROUP BY of the roll-up are
    those read one by one, raked or not; an indicator the roll-up does not serve is read as it would be alone."""
    plain = _plain(engine)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'ALTER TABLE "{engine.sample}" ADD COLUMN low DOUBLE PRECISION'))
        conn.execute(sqlalchemy.text(f'UPDATE "{engine.sample}" SET low = CASE WHEN y < 45 THEN 1.0 ELSE 0.0 END'))
    served = plain.with_rollup(plain.build_rollup(engine.rollup, ["y", "used", "low"], by=DOMAINS, cells=CELLS))
    served = served.rake(_margins()) if raked else served
    for by in (None, "commune", ["province", "sex"]):
        keys = [by] if isinstance(by, str) else list(by or [])
        together = served.proportions(["used", "low"], by=by)
        for name in ("used", "low"):
            _same_shares(together[name], served.proportion(name, by=by), [*keys, name], 0.0)
    mixed = served.proportions(["used", "urban"], by="province")  # urban: not in the roll-up, read from the rows
    _same_shares(mixed["urban"], served.proportion("urban", by="province"), ["province", "urban"], 0.0)
