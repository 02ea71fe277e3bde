"""Before and after replacing hand-written code by a library (issue 15): same answers, and the speed.

* ``regex()`` of skip logic: KhaoSat's Thompson-NFA engine -> Google RE2 (``surveys.saferegex``);
* Benjamini-Hochberg q-values: a hand-written loop -> ``scipy.stats.false_discovery_control``;
* report numbers: string replacement of separators -> Babel's ``format_decimal`` (measured when it was
  made, see RESULTS.md; the module has since gone: sentences are formatted in ``web`` through Babel).

The "before" code is read from git at ``--before`` (default: the commit before the replacement), so
both run in this process on the same inputs, each best of 5 after a warm-up.

    python bench/library_replacements.py [--before 929d666]
"""

from __future__ import annotations

import argparse
import ast
import random
import subprocess
import sys
import timeit
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.left_behind import bh_qvalues  # noqa: E402
from surveys import saferegex  # noqa: E402


def old_module(rev: str, path: str, name: str, only: str | None = None) -> types.ModuleType:
    """The module at ``path`` as it was at ``rev`` (``only``: just that function, with numpy as np)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], capture_output=True, text=True,
                            check=True).stdout
    if only is not None:
        node = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == only)
        source = "import numpy as np\n" + ast.get_source_segment(source, node)
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)  # our own file from history
    return module


def best(fn, number: int) -> float:
    fn()
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def regex_cases(n: int = 5000) -> list[tuple[str, str]]:
    rng = random.Random(1)
    atoms = ["a", "b", ".", "[a-c]", "(a|b)", r"\d", r"\w", r"\s", "[^a]", "ă", r"[\w-]", "(?:ab)"]
    quants = ["", "*", "+", "?", "{2}", "{1,3}", "*?"]
    out = []
    for _ in range(n):
        pattern = "".join(rng.choice(atoms) + rng.choice(quants) for _ in range(rng.randint(1, 4)))
        out.append((pattern, "".join(rng.choice("abc1 ăÂ٣-_") for _ in range(rng.randint(0, 12)))))
    return out


def compare_regex(old) -> None:
    cases = regex_cases()
    differ = sum(old.search(p, t) != saferegex.search(p, t) for p, t in cases)
    print(f"regex: {len(cases)} random patterns x texts (Unicode classes included): {differ} answers differ")
    for label, pattern, text in [("phone ^0[0-9]{9}$, 10 chars", "^0[0-9]{9}$", "0912345678"),
                                 ("name ^\\w+( \\w+)*$, 40 chars", r"^\w+( \w+)*$", "Nguyễn Thị Minh Khai " * 2),
                                 ("(a+)+b on 2,000 a's", "(a+)+b", "a" * 2000)]:
        before = best(lambda p=pattern, t=text: old.search(p, t), 200)
        after = best(lambda p=pattern, t=text: saferegex.search(p, t), 200)
        print(f"  {label}: before {before * 1e6:.1f} us, after {after * 1e6:.1f} us ({before / after:.0f}x)")


def compare_bh(old) -> None:
    rng = np.random.default_rng(0)
    p = rng.random(5000) ** 3
    p[::10] = np.nan
    a, b = old.bh_qvalues(p), bh_qvalues(p)
    worst = float(np.nanmax(np.abs(a - b) / np.where(a > 0, a, 1)))
    print(f"bh q-values, 5,000 p-values: max relative difference {worst:.1e}; "
          f"before {best(lambda: old.bh_qvalues(p), 50) * 1e3:.2f} ms, after {best(lambda: bh_qvalues(p), 50) * 1e3:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="929d666", help="git revision of the hand-written code")
    rev = parser.parse_args().before
    compare_regex(old_module(rev, "surveys/saferegex.py", "saferegex_before"))
    compare_bh(old_module(rev, "analysis/left_behind.py", "left_behind_before", only="bh_qvalues"))


if __name__ == "__main__":
    main()
