"""One BLAS thread per process, unless the environment sets ``OPENBLAS_NUM_THREADS`` itself.

NumPy's and SciPy's OpenBLAS start a thread per core by default, and those threads spin while they wait for
work. KhaoSat's matrix products are small (PSU totals by domain, raking's margins), and a server runs several
worker processes on the same cores, so the extra threads only compete: on 2 cores a design and mean by 126
wards x sex over 200,000 rows took 0.79 s of wall and 1.64 s of CPU on default threads against 0.69 s and 1.10
s on one, and with two processes at once 1.23 s and 1.85 s against 0.74 s and 1.15 s (bench/RESULTS.md).

OpenBLAS reads the setting when it is loaded, so this module is imported by ``web`` before anything that
imports NumPy (a check says so if not).
"""

import os
import sys

if "numpy" not in sys.modules:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
