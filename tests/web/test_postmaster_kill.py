"""kill -9 of the PostgreSQL postmaster during a burst of submissions through gunicorn: after crash
recovery every acknowledged submission is stored, none twice, and the ones that got no 201/200 are
taken when the phone sends them again. A throwaway cluster of the test's own, never the shared server."""

from __future__ import annotations

import pytest

from bench.postmaster_kill import burst_with_kill
from tests.conftest import unavailable
from tests.pg_cluster import Cluster, postgres_bin

pytestmark = pytest.mark.postgres


def test_every_acknowledged_submission_survives_a_kill_of_the_postmaster():
    if postgres_bin() is None:
        unavailable("initdb is not installed (PostgreSQL server programs)")
    cluster = Cluster().init()
    try:
        burst = burst_with_kill(cluster, before=1.0, down=0.5, after=1.5, clients=4, workers=2)
    finally:
        cluster.remove()
    assert burst.acknowledged and burst.recovery_s > 0  # stored before the kill, and again after the restart
    assert burst.unacknowledged  # the kill was felt: some interviews got no 201/200
    assert set(burst.retried) <= {200, 201}  # sent again, each is taken (200: it was stored, the reply lost)
    assert not burst.lost
    assert not burst.doubled
    assert not burst.strangers
