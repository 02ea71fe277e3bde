"""Every interface string exists in Vietnamese and English; numbers and dates follow the locale."""

import datetime as dt
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask_babel import force_locale

from web.i18n import format_date, format_decimal, ngettext

ROOT = Path(__file__).resolve().parents[2]
METHODS = [("web/**.py", "python"), ("surveys/**.py", "python"), ("analysis/**.py", "python"),
           ("web/**/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "N_": None,
            "lazy_pgettext": ((1, "c"), 2)}


def source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS, options_map={"**.html": {"trimmed": "true"}},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(lang: str):
    with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=lang)


def test_sources_have_strings_to_translate():
    assert len(source_messages()) > 40


def test_every_interface_string_is_translated_in_both_languages():
    wanted = source_messages()
    for lang in ("vi", "en"):
        entries = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog(lang) if m.id}
        missing = sorted(wanted - set(entries))
        assert not missing, f"{lang}: not in the catalog (run make messages): {missing}"
        empty = sorted(k for k in wanted if not (entries[k].string if isinstance(entries[k].string, str)
                                                 else all(entries[k].string)))
        assert not empty, f"{lang}: untranslated: {empty}"
        fuzzy = sorted(k for k in wanted if entries[k].fuzzy)
        assert not fuzzy, f"{lang}: fuzzy: {fuzzy}"


def test_vietnamese_catalog_really_translates():
    vi = {m.id: m.string for m in catalog("vi") if m.id and isinstance(m.id, str)}
    assert vi["Next"] == "Tiếp"
    same = [k for k, v in vi.items() if k == v and any(c.isalpha() for c in k)]
    assert len(same) <= 2, same


def test_numbers_and_dates_are_formatted_for_the_locale(app):
    with app.test_request_context():
        with force_locale("vi"):
            assert format_decimal(1234.5) == "1.234,5"
            assert format_date(dt.date(2026, 11, 23), "short") == "23/11/26"
            assert format_date(dt.date(2026, 11, 23), "long") == "23 tháng 11, 2026"
        with force_locale("en"):
            assert format_decimal(1234.5) == "1,234.5"
            assert format_date(dt.date(2026, 11, 23), "short") == "11/23/26"


def test_counts_in_sentences_are_grouped_as_the_language_groups_them(app):
    """The count of a plural sentence is written through Babel ("1.008 ô", "1,008 cells"), in Python and in
    templates alike, and still picks the plural form."""
    with app.test_request_context("/?lang=vi"):
        said = ngettext("%(num)s cell is not shown, to protect small groups.",
                        "%(num)s cells are not shown, to protect small groups.", 1008)
        assert said == "1.008 ô không được hiển thị, để bảo vệ nhóm nhỏ."
        assert ngettext("%(num)s answer", "%(num)s answers", 3) == "3 answers"  # a message not in the catalogs
        template = app.jinja_env.from_string("{{ ngettext('%(num)s cell is not shown, to protect small groups.', "
                                             "'%(num)s cells are not shown, to protect small groups.', n) }}")
        assert template.render(n=1008) == said
    with app.test_request_context("/?lang=en"):
        assert ngettext("%(num)s cell is not shown, to protect small groups.",
                        "%(num)s cells are not shown, to protect small groups.", 1) \
            == "1 cell is not shown, to protect small groups."
        assert ngettext("%(num)s answer", "%(num)s answers", 12345) == "12,345 answers"
