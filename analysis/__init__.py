"""KhaoSat analysis: design-based estimation that agrees with R's ``survey`` package.

Works on plain tables (pandas DataFrames) and never imports the web application.

>>> from analysis import SurveyDesign
>>> des = SurveyDesign(df, weights="pw", strata="stype", psu="dnum", fpc="fpc")  # doctest: +SKIP
>>> des.mean("api00", by="stype")  # doctest: +SKIP

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
Lohr, S. L. (2019). *Sampling: Design and Analysis*, 2nd ed. CRC Press.
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
"""

from analysis.design import SurveyDesign
from analysis.errors import CalibrationError, ConvergenceError, DesignError, LonelyPSUError, SurveyError
from analysis.inequality import circumstance_tree, dissimilarity_index
from analysis.lazy import pandas as pd
from analysis.left_behind import left_behind
from analysis.policies import CIMethod, LonelyPSU, QuantileRule, ReplicateType
from analysis.protocol import Design
from analysis.replicate import ReplicateDesign
from analysis.small_area import FayHerriotFit, fay_herriot
from analysis.sql import SqlDesign
from analysis.variance_smoothing import smooth_variances
from analysis.weighting import base_weights, trim_weights, weight_diagnostics, weighting_pipeline

__all__ = [
    "warm_up",
    "Design",
    "SurveyDesign",
    "ReplicateDesign",
    "SqlDesign",
    "left_behind",
    "dissimilarity_index",
    "circumstance_tree",
    "base_weights",
    "trim_weights",
    "weight_diagnostics",
    "weighting_pipeline",
    "fay_herriot",
    "FayHerriotFit",
    "smooth_variances",
    "SurveyError",
    "DesignError",
    "LonelyPSUError",
    "CalibrationError",
    "ConvergenceError",
    "LonelyPSU",
    "CIMethod",
    "QuantileRule",
    "ReplicateType",
]


def warm_up() -> None:
    """Make a share with its logit interval by a group, and a left-behind ranking, on four rows, so that a process's
    first estimate does not also pay for loading pandas, scipy's statistics and sparse matrices (2.8 s of a served
    1,000,000-response survey's first page on a slow host): gunicorn workers call it when they start."""
    rows = pd.DataFrame({"y": [0.0, 1.0, 1.0, 0.0], "g": ["a", "a", "b", "b"], "w": [1.0, 2.0, 1.0, 2.0],
                         "psu": [1, 2, 3, 4]})
    design = SurveyDesign(rows, weights="w", psu="psu")
    design.proportion("y", by="g", ci_method="logit")
    left_behind(design, "y", areas="g", groups=[])
