"""Upload caps: how fast and in how little memory two hostile files are refused.

1. An XLSX of about 4.9 MB holding 300,000 choice rows (written here with openpyxl): refused by the
   streamed row count at the first row over ``KHAOSAT_UPLOAD_MAX_CHOICES`` (default 20,000).
2. A 316-byte YAML "billion laughs" (nine levels of nine aliases): refused by the alias-expansion
   count before anything is built.

Prints the file size, the problem code, the wall time and the peak memory the refusal allocated
(tracemalloc). Run: ``.venv/bin/python bench/upload_limits.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import openpyxl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyxform.xls2json  # noqa: E402, F401 - loaded before the clocks start, as in a running server

import surveys  # noqa: E402
import surveys.xlsform  # noqa: E402, F401 - the same
from surveys.limits import Limits  # noqa: E402
from tests.surveys.test_upload_limits import LAUGHS  # noqa: E402 - the same hostile file the tests refuse


def big_workbook(path: Path, rows: int = 300_000) -> Path:
    book = openpyxl.Workbook(write_only=True)
    survey = book.create_sheet("survey")
    survey.append(["type", "name", "label"])
    survey.append(["select_one place", "place", "Where do you live?"])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    for number in range(rows):
        choices.append(["place", f"p{number}", f"Place number {number}"])
    book.save(path)
    return path


def attempt(path: Path, limits: Limits) -> str:
    try:
        surveys.load_instrument(path, limits=limits)
        return "accepted"
    except surveys.InstrumentError as exc:
        return exc.problems[0].code.name


def refuse(path: Path, label: str, limits: Limits) -> None:
    started = time.perf_counter()
    code = attempt(path, limits)
    elapsed = time.perf_counter() - started
    tracemalloc.start()  # a second run, for memory (tracemalloc slows Python down)
    attempt(path, limits)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:34s} {path.stat().st_size:>10,} bytes  {code:17s} {elapsed * 1000:8.1f} ms  "
          f"peak {peak / 2**20:6.2f} MiB")


def main() -> None:
    cached = Path(tempfile.gettempdir()) / "khaosat-bench-300k-choices.xlsx"
    if not cached.exists():
        made = time.perf_counter()
        big_workbook(cached)
        print(f"(writing the workbook took {time.perf_counter() - made:.1f} s; kept at {cached})")
    laughs = Path(tempfile.gettempdir()) / "khaosat-bench-laughs.yaml"
    laughs.write_text(LAUGHS)
    refuse(cached, "300,000 choices, default caps", Limits())
    refuse(cached, "300,000 choices, unzip cap lifted", Limits(max_unpacked_bytes=10**10))
    refuse(laughs, "billion laughs", Limits())


if __name__ == "__main__":
    main()
