"""One OpenBLAS thread per test process, set before NumPy is first imported (``tests/conftest.py`` imports this
module ahead of anything that loads NumPy).

``make test`` runs two xdist workers on two cores; each worker's OpenBLAS would start a thread per core, and
its threads spin while they wait for work, so the matrix products of the estimates (the variance of a
ranking's cells, raking) ran two to three times slower in CPU and wall time than on one thread. Servers the
suite starts inherit the setting. Set ``OPENBLAS_NUM_THREADS`` yourself to override it."""

import os
import sys

if "numpy" in sys.modules:  # too late: OpenBLAS has read its settings
    raise RuntimeError("tests/one_blas_thread.py must be imported before NumPy")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
