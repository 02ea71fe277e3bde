"""The install is reproducible: ``requirements.lock`` pins every dependency in pyproject.toml, with hashes,
for the Python range pyproject declares, and this interpreter is inside that range."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", re.MULTILINE)


def _pins() -> dict[str, str]:
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    return {canonicalize_name(name): version for name, version in PIN.findall(lock)}


def test_every_dependency_and_test_tool_is_pinned_in_the_lock_within_its_range():
    pins = _pins()
    wanted = [Requirement(r) for r in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]]
    unpinned = [str(r) for r in wanted if canonicalize_name(r.name) not in pins]
    assert not unpinned, f"run `make lock` after changing pyproject.toml: {unpinned} are not in requirements.lock"
    outside = [(str(r), pins[canonicalize_name(r.name)]) for r in wanted
               if not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)]
    assert not outside, f"run `make lock`: pinned versions outside pyproject's ranges: {outside}"


@pytest.mark.parametrize("name", ["requirements.lock", "requirements-tools.lock"])
def test_every_pin_carries_a_hash(name):
    """The product's lock and the installer's (uv, which ``make setup`` installs first)."""
    lock = (ROOT / name).read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9._-]+==)", lock)
    pinned = [b for b in blocks if PIN.match(b)]
    assert pinned and all("--hash=sha256:" in b for b in pinned)


def test_this_python_is_inside_the_declared_range():
    version = ".".join(map(str, sys.version_info[:3]))
    assert SpecifierSet(PROJECT["requires-python"]).contains(version), (version, PROJECT["requires-python"])


def test_tests_read_no_file_outside_the_repository():
    """Fixtures live in tests/fixtures; a path climbing out of the checkout (a parent folder beside it, an
    absolute path under /work) fails here."""
    outside = re.compile(r"""parents\[[3-9]\]|["']\.\./\w+/|["']/work/""")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "tests").rglob("*.py"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if outside.search(line) and path.name != "test_install.py"]
    assert not offenders, offenders
