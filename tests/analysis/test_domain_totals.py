"""The variance blocks a domain mean and its gap take (:func:`analysis.domain_totals.ratio_totals` with ``blocks``)
are the entries of the whole variance matrix, for every kind of design: stratified, one and two stages with and
without finite-population corrections, a stratum of one PSU under each rule, post-stratified, raked and calibrated;
and the means, gaps to the whole and to the rest made from them are the whole matrix's; so is the whole matrix made
from sparse unit totals (many domains) or dense ones (few)."""

from __future__ import annotations

import numpy as np
import pytest
from rref import build_design, dataset

from analysis import SurveyDesign, domain_totals, variance
from analysis.domain_totals import _as_blocks, domain_means, mean_differences, ratio_totals
from analysis.domains import domains
from analysis.estimators import numeric

DESIGNS = ["srs", "strat", "clus1", "clus2", "clus2_nofpc", "clus1_ps", "clus1_rake", "clus1_cal", "strat_ps"]


@pytest.fixture(autouse=True)
def _sparse_always(monkeypatch):
    """The blocks from sparse unit totals whatever the number of domains (few take the whole matrix's otherwise)."""
    monkeypatch.setattr(domain_totals, "SPARSE_COLUMNS", 0)


def _compare(design: SurveyDesign, by: list[str]) -> None:
    y, ok = numeric(design, "api00")
    dom = domains(design.data, by)
    t, whole = ratio_totals(design, y, ok, dom)  # dense unit totals: few domains
    same_t, blocks = ratio_totals(design, y, ok, dom, blocks=True)
    np.testing.assert_array_equal(t, same_t)
    assert blocks.shape == (dom.size, 4, 4)
    np.testing.assert_allclose(blocks, _as_blocks(whole, dom.size), rtol=1e-12, atol=1e-9 * np.abs(whole).max())
    read = _as_blocks(whole, dom.size)  # the blocks read off the whole matrix
    for got, want in ((domain_means(t, blocks, dom.size), domain_means(t, read, dom.size)),
                      (mean_differences(t, blocks, dom.size, "overall"), mean_differences(t, read, dom.size, "overall")),
                      (mean_differences(t, blocks, dom.size, "rest"), mean_differences(t, read, dom.size, "rest"))):
        np.testing.assert_allclose(got[0], want[0], rtol=1e-14)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-10, atol=1e-12 * np.abs(want[1]).max())  # cancellation
    # and the whole matrix's: a domain mean's variance is that of the design's own domain means
    means = design.mean("api00", by=by)
    order = dom.keys.merge(means.reset_index(drop=True).reset_index(), on=by, how="left")["index"].to_numpy()
    se = means["se"].to_numpy()[order]
    np.testing.assert_allclose(np.sqrt(domain_means(t, blocks, dom.size)[1]), se, rtol=1e-10,
                               atol=1e-6 * np.nanmax(se))  # a mean of no variance: 0 here, rounding's root there


@pytest.mark.parametrize("name", DESIGNS)
def test_the_blocks_are_the_whole_matrixs_entries(name: str) -> None:
    _compare(build_design(name), ["stype"])
    _compare(build_design(name), ["stype", "sch.wide"])


@pytest.mark.parametrize("rule", ["adjust", "average", "remove", "certainty"])
def test_the_blocks_of_a_stratum_of_one_psu(rule: str) -> None:
    _compare(build_design("lonely", lonely_psu=rule), ["stype"])
    _compare(build_design("lonely_nofpc", lonely_psu=rule), ["stype", "sch.wide"])


def test_many_domains_over_many_psus() -> None:
    """A ranking's size: 60 domains over the two-stage sample's 40 PSUs and 126 schools, each domain in few PSUs."""
    data = dataset("apiclus2").assign(cell=lambda d: (d["snum"] % 60).astype(str))
    design = SurveyDesign(data, weights="pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    _compare(design, ["cell"])


@pytest.mark.parametrize("name", ["strat", "clus2", "clus1_rake", "lonely"])
def test_the_whole_matrix_from_sparse_totals_is_the_dense_ones(name: str, monkeypatch) -> None:
    design = build_design(name, lonely_psu="average")
    dense = design.mean("api00", by=["stype", "sch.wide"]).attrs["vcov"]
    monkeypatch.setattr(variance, "SPARSE_COLUMNS", 0)
    sparse = design.mean("api00", by=["stype", "sch.wide"]).attrs["vcov"]
    np.testing.assert_allclose(sparse, dense, rtol=1e-12, atol=1e-12 * np.abs(dense).max())
