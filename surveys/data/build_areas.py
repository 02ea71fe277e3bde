"""Rebuild ``areas_gso.csv`` and ``draft_codes.csv`` from the ``vietnam-provinces`` wheels.

Why a data file: the official GSO codes of the units in force since 1 July 2025 are in
``vietnam-provinces`` 2026.x, which needs Python >= 3.12, while KhaoSat runs on the Python 3.11 of
Debian 12. The newest release for 3.11 (2025.10.1) carries draft numbers: 123 ward codes differ, 29 of
them in Hà Nội, and 9 old codes now name another ward (226 was Kim Liên, is Văn Miếu – Quốc Tử Giám).
So KhaoSat ships the official table as CSV and no longer depends on the package at run time.

The wheels are pure Python with the data as JSON (``vietnam_provinces/data/nested-divisions.json``),
so this script reads them as zip files on any Python; nothing is imported from them. It downloads
them with pip unless ``--wheels DIR`` holds them, checks each wheel's sha256 against the value pinned
below, and writes:

- ``areas_gso.csv``: the 34 provinces and 3,321 wards/communes (level, code, name, division type,
  province, codename), the first line naming the release, its data date and the wheel's sha256;
- ``draft_codes.csv``: each draft code of 2025.10.1 and the official code of the same unit, matched
  within the province by name (:func:`surveys.areas.name_key`: case, Unicode form and old/new tone
  placement do not matter), with the reviewed exceptions of :data:`REVIEWED` for names that changed.

    python surveys/data/build_areas.py            # downloads the two wheels with pip
    python surveys/data/build_areas.py --wheels /tmp/vp
    python surveys/data/build_areas.py --check    # rebuild aside and compare with the shipped files

``--check`` is how the shipped files are checked against their source: it needs the wheels (from PyPI, or
``--wheels``), which a test run does not have, so it is a command and not a test; every test run checks the
shipped table against its sha256 instead (``surveys.areas``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from surveys.areas import name_key  # noqa: E402

HERE = Path(__file__).parent
OFFICIAL = ("2026.9.0", "b5f3540a98937d38b9bebcbdb792fa4f5b9712737d41b05c7254beb2308ebcd1")
DRAFT = ("2025.10.1", "1693dece496b1e04e2b637a3dd79a87a22666e13c91c51cf06dc27e482987f57")
DATA = "vietnam_provinces/data/nested-divisions.json"

#: (province, draft code) -> official code, for units whose name differs between the two releases
#: beyond case, Unicode form and tone placement. Reviewed by hand: empty, as every unit matched.
REVIEWED: dict[tuple[int, int], int] = {}


def wheel(version: str, directory: Path) -> Path:
    """The wheel of ``version`` in ``directory``, downloaded with pip when it is not there."""
    path = directory / f"vietnam_provinces-{version}-py3-none-any.whl"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--python-version",
                        "3.12", "--only-binary=:all:", "-d", str(directory), f"vietnam-provinces=={version}"],
                       check=True)
    return path


def read(path: Path, sha256: str | None) -> tuple[list[dict], str, str]:
    """The provinces with their wards, the data date, and the wheel's sha256 (checked when pinned)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if sha256 and digest != sha256:
        raise SystemExit(f"{path.name}: sha256 {digest}, expected {sha256}")
    with zipfile.ZipFile(path) as z:
        data = json.loads(z.read(DATA))
        init = z.read("vietnam_provinces/__init__.py").decode()
    date = next((line.split("=")[1].strip().strip("'\"") for line in init.splitlines()
                 if line.startswith("__data_version__")), "unknown")
    return data, date, digest


def write_official(provinces: list[dict], header: str, out: Path = HERE) -> None:
    with (out / "areas_gso.csv").open("w", encoding="utf-8", newline="") as f:
        f.write(f"# {header}\n")
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["level", "code", "name", "division_type", "province_code", "codename"])
        for p in provinces:
            out.writerow(["province", p["code"], p["name"], p["division_type"], "", p["codename"]])
        for p in provinces:
            for w in p["wards"]:
                out.writerow(["ward", w["code"], w["name"], w["division_type"], p["code"], w["codename"]])


def write_draft_map(draft: list[dict], official: list[dict], header: str, out: Path = HERE) -> None:
    """Each draft ward -> the official ward of the same province and name (or a reviewed exception)."""
    by_name = {(p["code"], name_key(w["name"])): w for p in official for w in p["wards"]}
    seen: set[int] = set()
    with (out / "draft_codes.csv").open("w", encoding="utf-8", newline="") as f:
        f.write(f"# {header}\n")
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["province_code", "draft_code", "draft_name", "official_code", "official_name", "matched_by"])
        for p in draft:
            for w in p["wards"]:
                reviewed = REVIEWED.get((p["code"], w["code"]))
                match = by_name.get((p["code"], name_key(w["name"])))
                if reviewed is None and match is None:
                    raise SystemExit(f"no official unit named {w['name']!r} in province {p['code']}: "
                                     "add a reviewed entry to REVIEWED")
                code = reviewed if reviewed is not None else match["code"]
                if code in seen:
                    raise SystemExit(f"official code {code} matched twice: review the map")
                seen.add(code)
                name = next(o["name"] for q in official for o in q["wards"] if o["code"] == code)
                out.writerow([p["code"], w["code"], w["name"], code, name, "reviewed" if reviewed else "name"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="directory holding (or to receive) the two wheels")
    parser.add_argument("--check", action="store_true", help="build aside and compare with the shipped files")
    args = parser.parse_args()
    directory = args.wheels or Path(tempfile.mkdtemp())
    out = Path(tempfile.mkdtemp()) if args.check else HERE
    official, official_date, official_sha = read(wheel(OFFICIAL[0], directory), OFFICIAL[1])
    draft, draft_date, draft_sha = read(wheel(DRAFT[0], directory), DRAFT[1])
    write_official(official, f"vietnam-provinces {OFFICIAL[0]} (data {official_date}), "
                             f"wheel sha256 {official_sha}", out)
    write_draft_map(draft, official, f"draft: vietnam-provinces {DRAFT[0]} (data {draft_date}), wheel sha256 "
                                     f"{draft_sha}; official: {OFFICIAL[0]} (data {official_date})", out)
    if args.check:
        differ = [name for name in ("areas_gso.csv", "draft_codes.csv")
                  if (out / name).read_bytes() != (HERE / name).read_bytes()]
        print(f"differ from the wheels: {', '.join(differ)}" if differ else "the shipped files are what the wheels give")
        sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
