"""SciPy's ``stats``, ``special`` and ``optimize``, loaded at their first use rather than with ``analysis``.

Loading them costs ~0.8 s of CPU (scipy.stats alone ~0.7 s), and the web app imports ``analysis``: every
``khaosat`` command, web process and job worker would pay it at start, most of them never computing an
interval. A module here reads as the real one::

    from analysis.lazy import stats  # in place of: from scipy import stats

    stats.norm.ppf(0.975)  # scipy.stats is imported here, at the first use
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """A stand-in for a module that imports it when one of its attributes is first read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


stats = LazyModule("scipy.stats")
special = LazyModule("scipy.special")
optimize = LazyModule("scipy.optimize")
