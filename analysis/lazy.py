"""Heavy libraries (SciPy, pandas, PyArrow, HiGHS), loaded at their first use rather than with the modules
that use them.

Every ``khaosat`` command, web process and job worker imports the whole web app, so whatever a module imports
at its top is paid at every start: pandas with PyArrow ~0.5 s of CPU, SciPy's ``stats`` ~0.7 s and
``sparse`` ~0.3 s. Most processes never need most of them (a web process serves its first pages, the
health check and the log-in without a table; a worker whose job fails early never builds one), and a
test suite that starts many processes pays them again for each. A module here reads as the real one::

    from analysis.lazy import stats  # in place of: from scipy import stats

    stats.norm.ppf(0.975)  # scipy.stats is imported here, at the first use

Using one at a module's top level (a constant built from ``pd.`` or ``pa.``) imports it there: keep such
values in functions (cached if need be), so that importing the module stays cheap.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """A stand-in for a module that imports it when one of its attributes is first read.

    Each attribute read is then kept on the stand-in, as ``from module import name`` would keep it, so that
    later reads (``pd.isna`` in a loop) cost what they cost on the module itself.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):  # copy, pickle and inspect probe for these: answer as a plain object
            raise AttributeError(attribute)
        if self._module is None:
            self._module = importlib.import_module(self._name)
        value = getattr(self._module, attribute)
        setattr(self, attribute, value)
        return value

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"

    def load(self) -> None:
        """Import the module now (a benchmark's clock must not count it: R's ``library()`` is not counted)."""
        if self._module is None:
            self._module = importlib.import_module(self._name)


stats = LazyModule("scipy.stats")
special = LazyModule("scipy.special")
optimize = LazyModule("scipy.optimize")
sparse = LazyModule("scipy.sparse")
csgraph = LazyModule("scipy.sparse.csgraph")
highspy = LazyModule("highspy")
numpy = LazyModule("numpy")
pandas = LazyModule("pandas")
pyarrow = LazyModule("pyarrow")
pyarrow_compute = LazyModule("pyarrow.compute")
pyarrow_json = LazyModule("pyarrow.json")
