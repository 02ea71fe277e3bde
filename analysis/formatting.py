"""Locale-aware number formatting for report sentences (Vietnamese decimal comma, English point).

Vietnamese writes 1.234,5 (dot for thousands, comma for decimals); English writes 1,234.5.
"""

from __future__ import annotations

from analysis.errors import DesignError

__all__ = ["format_number", "LOCALES"]

LOCALES = ("vi", "en")


def format_number(value: float, locale: str = "vi", digits: int = 0) -> str:
    """``value`` rounded to ``digits`` with the locale's separators."""
    if locale not in LOCALES:
        raise DesignError(f"locale={locale!r} is not allowed; choose one of {LOCALES}")
    text = f"{value:,.{digits}f}"
    if locale == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text
