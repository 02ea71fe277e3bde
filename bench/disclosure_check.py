"""Check disclosure control on the seeded demo (``khaosat demo`` into the instance database).

For one indicator, protects every table the results pages offer with up to one group (city, former
districts, wards, each crossed with each group), audits all of them *together* by linear programming
(every suppressed cell against everything published), and measures the scientific-use and public-use
files. Prints the figures; exits 1 if any check fails.

    .venv/bin/python bench/disclosure_check.py [--indicator dsi_index] [--survey digital-skills]
"""

from __future__ import annotations

import argparse
import sys
import time

from analysis.cell_suppression import audit
from analysis.disclosure import frequencies
from web import create_app
from web.research import query, releases


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--survey", default="digital-skills")
    parser.add_argument("--indicator", default="dsi_index")
    args = parser.parse_args()
    app = create_app()
    failed = False
    with app.test_request_context("/"):
        q = query.read(args.survey, {"indicator": args.indicator})
        family = query.cell_family(q)
        tables = [(level, groups) for level in (None, *family.area_levels)
                  for groups in ([], *[[g] for g in family.groups])]
        start = time.perf_counter()
        for level, groups in tables:
            family.table(level, groups)
        protect = time.perf_counter() - start
        values, hidden, relations, primary, withheld = family.all_relations(tables)
        start = time.perf_counter()
        result = audit(values, hidden, relations, primary=primary, protection=family.protection,
                       upper=values[(None, "*", *["*"] * len(family.groups))], audited=hidden - withheld)
        print(f"{len(tables)} tables, {sum(len(family.table(*t).cells) for t in tables)} cells: {len(primary)} small, "
              f"{len(hidden) - len(primary)} complementary or withheld, {len(withheld)} in withheld tables; "
              f"protected in {protect:.1f} s, joint audit of {len(hidden - withheld)} cells in "
              f"{time.perf_counter() - start:.1f} s: {len(result.exposed)} exposed")
        failed |= bool(result.exposed)
        for tier in (releases.SCIENTIFIC, releases.PUBLIC):
            made = releases.release(q.data, q.instrument, tier)
            print(f"{tier}: area {made.area_level}, {made.target}, risk before {made.before.as_dict()}, "
                  f"after {made.after.as_dict()}, suppressed {made.suppressed}")
            if tier == releases.SCIENTIFIC:
                failed |= made.after.max_risk > made.target["max_risk"]
            else:
                failed |= bool((frequencies(_public_keys(made, q))["f"] < made.target["k"]).any())
    return 1 if failed else 0


def _public_keys(made, q):
    table = releases.public_keys(q.data.frame, q.instrument, made.area_level)
    for key, ids in made.blanks.items():
        table.loc[q.data.frame["response_id"].isin(ids).to_numpy(), key] = None
    return table


if __name__ == "__main__":
    sys.exit(main())
