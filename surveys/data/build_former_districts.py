"""Rebuild ``former_districts.csv`` from the ``vietnam-provinces`` package's 2025 conversion table.

``vietnam-provinces`` 2026.x ships the General Statistics Office's table that says which pre-July-2025
wards/communes (each in a district) formed each new ward/commune, but those releases need
Python >= 3.12, while KhaoSat supports 3.11. So the table is kept here as a CSV snapshot, one row per
(new ward, former district) pair, with how many former wards/communes of that district (wholly or in
part) went into the new ward.

Wards are matched by province and ``codename``, not by code: 131 ward codes changed between the draft
numbering in vietnam-provinces 2025.10 and the official one in 2026.x (``ward_code`` here is the 2026
code). Run with a Python that has vietnam-provinces >= 2026.1 installed:

    python3.12 -m pip install --target /tmp/vp vietnam-provinces==2026.9.0
    PYTHONPATH=/tmp/vp python3.12 surveys/data/build_former_districts.py > surveys/data/former_districts.csv
"""

import csv
import sys
from collections import defaultdict

import vietnam_provinces
from vietnam_provinces import Ward
from vietnam_provinces.legacy import District
from vietnam_provinces.legacy.codes import DistrictCode


def main() -> None:
    from vietnam_provinces._ward_conversion_2025 import EFFECTIVE_DATE, NEW_TO_OLD, SOURCE

    print(f"# vietnam-provinces {vietnam_provinces.__version__} (data {vietnam_provinces.__data_version__}), "
          f"GSO table {SOURCE}, effective {EFFECTIVE_DATE}")
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["province_code", "ward_codename", "ward_code", "former_district_code", "former_district_name",
                  "former_units", "partly_merged_units"])

    for ward in Ward.iter_all():
        entry = NEW_TO_OLD.get(ward.code.value)
        if entry is None:
            continue
        units: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for old in entry.old_wards:
            units[old.district_code][0] += 1
            units[old.district_code][1] += int(old.is_partly_merged)
        for district_code, (whole_or_part, partly) in sorted(units.items()):
            name = District.from_code(DistrictCode(district_code)).name
            out.writerow([ward.province_code.value, ward.codename, ward.code.value, district_code, name,
                          whole_or_part, partly])


if __name__ == "__main__":
    main()
