"""The model earns its place on the demo's population (known ward truths): a reduced run of
``bench/small_area.py`` (12 samples instead of 40; the full figures are in bench/RESULTS.md).

The wards' between-ward variation is dominated by the planted far-behind communes, which no census
aggregate predicts; over the other wards the model-based error is well under 0.7 × the direct one.
"""

from __future__ import annotations

import pytest

from bench.small_area import simulate

pytestmark = pytest.mark.slow


def test_model_based_ward_estimates_beat_the_direct_ones_and_cover_the_truth():
    figures = simulate(reps=12, seed=11)
    assert 0.90 <= figures["coverage_model"] <= 0.98, figures
    assert figures["small_ratio"] <= 0.78, figures
    assert figures["small_ratio_not_planted_behind"] <= 0.7, figures
    assert figures["mean_width_model"] < 0.85 * figures["mean_width_direct"], figures
