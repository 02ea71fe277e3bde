"""Every KhaoSat process (web worker, job worker, command) runs NumPy's BLAS on one thread unless told otherwise:
the default thread per core spins and slows the estimates of a server's workers sharing the cores."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def blas_threads_after(code: str, **env: str) -> str:
    """``OPENBLAS_NUM_THREADS`` as a new Python process sees it after running ``code``."""
    clean = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport os; print(os.environ.get('OPENBLAS_NUM_THREADS'))"],
                         env={**clean, **env}, cwd=ROOT, capture_output=True, text=True, check=True, timeout=120)
    return out.stdout.strip().splitlines()[-1]


def test_the_app_sets_one_blas_thread_before_numpy_loads():
    # the real import order: the app's imports make the setting; NumPy loads later, at its first use
    assert blas_threads_after("import web, sys; assert 'numpy' not in sys.modules; import numpy") == "1"


def test_an_operators_setting_is_kept_and_a_late_import_changes_nothing():
    module = str(ROOT / "web" / "blas_threads.py")
    assert blas_threads_after(f"import runpy; runpy.run_path({module!r})", OPENBLAS_NUM_THREADS="4") == "4"
    # once NumPy is loaded its BLAS has read its settings: the variable is left as it was (unset)
    assert blas_threads_after(f"import numpy, runpy; runpy.run_path({module!r})") == "None"
