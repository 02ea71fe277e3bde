"""Survey instruments as data: schema, loaders, safe expressions, answer checking and scoring.

Never imports ``web``; the Flask app glues these to HTTP and the database.
"""

import functools
from pathlib import Path

from surveys.answers import Checked, check
from surveys.errors import InstrumentError, Problem
from surveys.jsonform import instrument_to_json
from surveys.limits import Limits
from surveys.loader import from_dict, load_yaml
from surveys.schema import Choice, Instrument, Page, Question, pick
from surveys.scoring import score
from surveys.scoring_spec import indicator_names
from surveys.versions import changes, poolable, question_unchanged

BUILTIN_DIR = Path(__file__).parent / "instruments"


def builtin_instruments() -> list[Instrument]:
    """The instruments shipped in ``surveys/instruments``, loaded and checked (parsed once per process: the
    files ship with the code, and an :class:`Instrument` is immutable)."""
    return list(_builtin_instruments())


@functools.cache
def _builtin_instruments() -> tuple[Instrument, ...]:
    return tuple(load_yaml(path) for path in sorted(BUILTIN_DIR.glob("*.yaml")))


def load_instrument(path: str | Path, name: str | None = None, limits: Limits | None = None,
                    attachments: dict[str, Path] | None = None) -> Instrument:
    """Load an instrument from YAML (``.yaml``/``.yml``) or an XLSForm (``.xlsx``/``.xls``).

    ``name``: the file's name as the author knows it (an upload's), named in every message;
    ``limits``: the caps of :class:`surveys.limits.Limits` (defaults otherwise);
    ``attachments``: the files an XLSForm names (a ``select_one_from_file`` CSV), by file name.
    """
    if Path(name or path).suffix.lower() in (".xlsx", ".xls", ".xlsm"):
        from surveys.xlsform import import_xlsform

        return import_xlsform(path, name, limits, attachments)
    return load_yaml(path, name, limits)


def export_xlsform(instrument: Instrument, path: str | Path) -> Path:
    """Write ``instrument`` as an XLSForm (.xlsx) that pyxform, ODK and KoboToolbox accept."""
    from surveys.xlsform_export import export_xlsform as write

    return write(instrument, path)


__all__ = [
    "Checked", "Choice", "Instrument", "InstrumentError", "Limits", "Page", "Problem", "Question",
    "builtin_instruments", "changes", "check", "export_xlsform", "from_dict", "indicator_names",
    "instrument_to_json", "load_instrument", "load_yaml", "pick", "poolable", "question_unchanged", "score",
]
