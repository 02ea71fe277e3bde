"""Exceptions raised by the analysis package.

A small hierarchy so callers (the web app, scripts) can catch one base class, ``SurveyError``,
and still tell a badly specified design from a calibration that did not converge.
"""

from __future__ import annotations

__all__ = [
    "SurveyError",
    "DesignError",
    "LonelyPSUError",
    "CalibrationError",
    "ConvergenceError",
]


class SurveyError(Exception):
    """Base class of every error raised by :mod:`analysis`."""


class DesignError(SurveyError, ValueError):
    """The design or an argument is invalid (bad column, weights, nesting, option value)."""


class LonelyPSUError(DesignError):
    """A stratum has a single PSU and the lonely-PSU policy is ``fail`` (R's default)."""


class CalibrationError(SurveyError, ValueError):
    """Population margins or totals cannot be met (e.g. a level with no respondents)."""


class ConvergenceError(CalibrationError):
    """Raking or bounded calibration did not converge within the iteration limit."""
