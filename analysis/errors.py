"""Exceptions raised by the analysis package.

A small hierarchy so callers (the web app, scripts) can catch one base class, ``SurveyError``,
and still tell a badly specified design from a calibration that did not converge.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "SurveyError",
    "DesignError",
    "LonelyPSUError",
    "CalibrationError",
    "ConvergenceError",
]


class SurveyError(Exception):
    """Base class of every error raised by :mod:`analysis`.

    The text is English, for a script's reader. ``code`` and ``params`` say the same for a program:
    the web layer turns them into a sentence in the reader's language (as it does for
    :class:`surveys.messages.Message`); ``code`` is ``""`` where no sentence is needed.
    """

    def __init__(self, text: str, code: str = "", **params: Any):
        super().__init__(text)
        self.code = code
        self.params = params


class DesignError(SurveyError, ValueError):
    """The design or an argument is invalid (bad column, weights, nesting, option value)."""


class LonelyPSUError(DesignError):
    """A stratum has a single PSU and the lonely-PSU policy is ``fail`` (R's default)."""


class CalibrationError(SurveyError, ValueError):
    """Population margins or totals cannot be met (e.g. a level with no respondents)."""


class ConvergenceError(CalibrationError):
    """Raking or bounded calibration did not converge within the iteration limit."""
