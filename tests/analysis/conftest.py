"""Fixtures for the analysis tests (see ``rref.py`` for the R reference helpers)."""

from __future__ import annotations

import pytest
from rref import reference


@pytest.fixture(scope="session")
def ref() -> dict:
    return reference()
