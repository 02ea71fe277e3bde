"""Model-based (small-area) ward estimates next to the direct ones: page, chart and API rows.

For the chosen indicator, the direct design-based estimate of every ward (``query.estimate``: from the design in
memory, or from the database's roll-up for a survey over the in-memory limit) is
combined with ward covariates (:mod:`web.research.covariates`) in a Fay–Herriot model
(:func:`analysis.fay_herriot`, REML):

* sampling variances are smoothed by the generalised variance function of
  :func:`analysis.smooth_variances` (pooled per-respondent variance / n), so a ward with one
  respondent or a share of 0 or 1 keeps a usable variance;
* the direct interval of a share is the logit interval (``svyciprop``), so it stays in [0, 100]%;
* shares are modelled on the arcsine scale with the effective sample size n / deff, so estimates and
  intervals stay between 0 and 100%; scores on their own scale;
* a ward with fewer respondents than the privacy threshold (``MIN_CELL_COUNT``) is not used by the
  model (its data would be recoverable from the published weight and synthetic estimate): it gets
  the synthetic estimate, like a ward without respondents, and says so;
* a covariate that is missing for some ward, constant, or collinear with the others is left out and
  named.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

from flask import Response, current_app, render_template, request
from sqlalchemy import func
from sqlmodel import select

from analysis import DesignError, fay_herriot, smooth_variances
from analysis.benchmarking import benchmark
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from web import area_lists, db
from web.auth import role_required
from web.i18n import _, decimal_symbol, language
from web.models import Role, WardCovariate
from web.privacy.suppression import hidden_cells
from web.research import bp, charts, database_results, query
from web.research.covariates import Covariate, ward_covariates

MIN_WARDS = 10  # fewer wards with enough respondents than this: no model
MAX_R2 = 0.99  # a covariate explained this well by the others is left out
DIRECT, MODEL = "#6b7280", charts.COLOUR


@dataclass
class SmallArea:
    """The side-by-side table and what the page says about the model."""

    table: pd.DataFrame  # one row per ward; see :func:`compute`
    used: list[Covariate] = field(default_factory=list)
    dropped: list[tuple[Covariate, str]] = field(default_factory=list)  # (covariate, reason code)
    fit: object | None = None  # analysis.FayHerriotFit
    diagnostics: object | None = None
    problem: str | None = None  # code: "no_data", "too_few_wards", "no_fit"
    share: bool = False
    gvf: dict = field(default_factory=dict)
    city: float | None = None  # the direct whole-city estimate


def chosen_province(q: query.Query, asked: str | None) -> int:
    """The province whose communes are modelled: the one asked for (``?province=``) among the survey's, else
    the installation's default when the survey covers it, else the survey's first in alphabetical order."""
    pick = area_lists.area_pick(q.provinces, asked)
    if pick.province is not None:
        return pick.province
    default = int(current_app.config["KHAOSAT_PROVINCE"])
    return default if default in q.provinces else area_lists.sorted_provinces(tuple(q.provinces))[0].code


def compute(q: query.Query, province: int | None = None) -> SmallArea:
    """The model for the query's indicator over one province's communes (cached on the weighted data until
    responses or covariates change)."""
    province = chosen_province(q, None) if province is None else province
    return query.derived(q, _model_key(q, province), lambda: _compute(q, province), aside=False)


def _model_key(q: query.Query, province: int) -> tuple:
    """What the model of the query's indicator over ``province`` is made from, besides the design: its covariates."""
    stamp = db.session().exec(select(func.count(WardCovariate.id), func.max(WardCovariate.uploaded_at))
                              .where(WardCovariate.province_code == province)).one()
    return ("small_area", q.indicator.name if q.indicator else "", province, tuple(stamp),
            current_app.config["MIN_CELL_COUNT"])


def _compute(q: query.Query, province: int) -> SmallArea:
    covariates, offered = ward_covariates(db.session(), province)
    share = bool(q.indicator and q.indicator.share)
    if q.indicator is None or query.design(q) is None:
        return SmallArea(covariates.assign(n=0, status="no_sample"), problem="no_data", share=share)
    direct = query.estimate(q, ["ward_code"], min_cell=1)
    direct["ward_code"] = pd.to_numeric(direct["ward_code"]).astype(int)
    direct = direct.rename(columns={"ci_low": "ci_low_direct", "ci_high": "ci_high_direct"})
    if share:
        direct = _logit_intervals(query.design(q), q.indicator.name, direct)
    data = covariates.merge(direct[["ward_code", "estimate", "se", "ci_low_direct", "ci_high_direct", "n", "cv"]],
                            on="ward_code", how="left")
    data["n"] = data["n"].fillna(0).astype(int)
    too_few = (data["n"] > 0) & (data["n"] < current_app.config["MIN_CELL_COUNT"])
    # a ward the results page hides to protect a small one (secondary suppression) is not shown here either
    protected = set(direct["ward_code"][hidden_cells(query.cell_family(q), direct, ["ward_code"])])
    protected = data["ward_code"].isin(protected) & ~too_few & (data["n"] > 0)
    data["status"] = np.where(data["n"] == 0, "no_sample", np.where(too_few, "too_few",
                                                                   np.where(protected, "protected", "model")))
    data["y"] = data["estimate"].where(data["status"] == "model")
    data["var"] = data["se"] ** 2
    used, dropped = _usable(data, offered)
    if int((data["status"] == "model").sum()) < max(MIN_WARDS, len(used) + 2):
        return SmallArea(data, used, dropped, problem="too_few_wards", share=share)
    try:
        data = smooth_variances(data, "y", "var", "n", share=share)
        fit = fay_herriot(data, "y", "var_smoothed", [c.name for c in used], area="ward_code",
                          transform="arcsin" if share else None, effective_n="n_effective" if share else None)
    except DesignError:
        return SmallArea(data, used, dropped, problem="no_fit", share=share)
    table = data.join(fit.table.drop(columns=["ward_code", "direct", "direct_se"])
                      .rename(columns={"ci_low": "ci_low_model", "ci_high": "ci_high_model"}))
    with np.errstate(divide="ignore", invalid="ignore"):
        table["model_cv"] = table["rmse"] / table["eblup"].abs()
    city = _province_direct(q, province)
    # the model-based ranking: a ward is below (above) the province when its whole 95% interval is
    table["versus_city"] = np.where(table["ci_high_model"] < city, "below",
                                    np.where(table["ci_low_model"] > city, "above", "same"))
    return SmallArea(table, used, dropped, fit, fit.diagnostics(), share=share, gvf=data.attrs.get("gvf", {}),
                     city=city)


def _province_direct(q: query.Query, province: int) -> float | None:
    """The direct estimate of the whole province (the survey's whole area when it covers only this one); None for
    a categorical indicator, which has one share per category."""
    if q.indicator.categorical:
        return None
    if len(q.provinces) < 2:
        return float(query.estimate(q, [], 0)["estimate"].iloc[0])
    table = query.estimate(q, ["province_code"], 0)
    row = table[pd.to_numeric(table["province_code"], errors="coerce") == province]
    return float(row["estimate"].iloc[0]) if len(row) else None


def _logit_intervals(design, indicator: str, direct: pd.DataFrame) -> pd.DataFrame:
    """The direct intervals of a 0/1 share as ``svyciprop(method="logit")``: inside [0, 1], unlike Wald's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        table = design.proportion(indicator, by=["ward_code"], ci_method="logit")
    yes = table[pd.to_numeric(table[indicator], errors="coerce") == 1]
    bounds = yes.assign(ward_code=pd.to_numeric(yes["ward_code"]).astype(int)).set_index("ward_code")
    direct = direct.copy()
    for side in ("low", "high"):
        logit = direct["ward_code"].map(bounds[f"ci_{side}"])
        direct[f"ci_{side}_direct"] = logit.where(direct[f"ci_{side}_direct"].notna())
    return direct


def _usable(data: pd.DataFrame, offered: list[Covariate]) -> tuple[list[Covariate], list[tuple[Covariate, str]]]:
    """Covariates known for every ward, not constant, and not (nearly) collinear with those before them:
    a covariate that the ones already in explain to R² ≥ 0.99 (a variance inflation factor of 100) is
    left out, as its coefficient would be unstable and uninterpretable."""
    used, dropped, columns = [], [], [np.ones(len(data))]
    for covariate in offered:
        values = pd.to_numeric(data[covariate.name], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(values).all():
            dropped.append((covariate, "missing"))
            continue
        centred = values - values.mean()
        if np.ptp(values) <= 1e-9 * max(1.0, float(np.abs(values).max())):
            dropped.append((covariate, "constant"))
            continue
        X = np.column_stack(columns)
        residual = values - X @ np.linalg.lstsq(X, values, rcond=None)[0]
        if residual @ residual <= (1 - MAX_R2) * (centred @ centred):
            dropped.append((covariate, "collinear"))
            continue
        columns.append(values)
        used.append(covariate)
    return used, dropped


BENCHMARKS = ("ratio", "difference")


def benchmarked(result: SmallArea, kind: str) -> pd.DataFrame | None:
    """``eblup_benchmarked`` and ``rmse_benchmarked`` (MSE + squared adjustment) so that the population-weighted
    mean of the wards equals the direct whole-city estimate; ``None`` without a model or population counts."""
    if kind not in BENCHMARKS or result.fit is None or "population_thousands" not in result.table:
        return None
    population = result.table["population_thousands"]
    if population.isna().any():
        return None
    adjusted, mse = benchmark(result.table["eblup"], result.table["mse"], population, result.city, kind)
    return pd.DataFrame({"eblup_benchmarked": adjusted, "rmse_benchmarked": np.sqrt(np.clip(mse, 0, None))},
                        index=result.table.index)


def api_rows(q: query.Query, kind: str = "", asked: str | None = None) -> dict:
    """The API's ``estimator=fh`` answer: the model-based columns under the direct API's names, for the
    communes of one province (``province=``, see :func:`chosen_province`)."""
    province = chosen_province(q, asked)
    result = compute(q, province)
    body = {"estimator": "fh", "level": "ward", "province_code": province, "method": "REML", "problem": result.problem,
            "covariates": [c.name for c in result.used], "covariates_left_out": [c.name for c, _ in result.dropped]}
    if result.fit is None:
        return {**body, "rows": []}
    t = result.table
    direct_hidden = t["status"] != "model"
    rows = pd.DataFrame({
        "ward_code": t["ward_code"], "n": np.where(t["status"].isin(["too_few", "protected"]), None, t["n"]),
        "estimate": t["eblup"], "se": t["rmse"], "ci_low": t["ci_low_model"], "ci_high": t["ci_high_model"],
        "cv": t["model_cv"], "gamma": t["gamma"].where(~direct_hidden),
        "direct": t["estimate"].where(~direct_hidden), "direct_se": t["se"].where(~direct_hidden),
        "direct_ci_low": t["ci_low_direct"].where(~direct_hidden), "direct_ci_high": t["ci_high_direct"].where(~direct_hidden),
        "direct_cv": t["cv"].where(~direct_hidden), "status": t["status"], "versus_city": t["versus_city"],
    })
    extra = benchmarked(result, kind)
    if extra is not None:
        rows["estimate_benchmarked"], rows["se_benchmarked"] = extra["eblup_benchmarked"], extra["rmse_benchmarked"]
        body["benchmarking"] = kind
    rows = rows.replace([np.inf, -np.inf], np.nan)
    rows = rows.astype(object).where(rows.notna(), None)
    return {**body, "refvar": result.fit.refvar, "benchmark": result.city, "rows": rows.to_dict(orient="records")}


@bp.route("/<slug>/small-area")
@role_required(Role.researcher)
def small_area_page(slug: str):
    q = database_results.read_or_404(slug, {**request.args.to_dict(), "level": "ward"})
    province = chosen_province(q, request.args.get("province"))
    result = compute(q, province)
    names = query.label(q, result.table[["ward_code"]].copy())["ward"] if not result.table.empty else []
    table = result.table.assign(ward=list(names)) if len(result.table) else result.table
    kind = request.args.get("benchmark", "")
    extra = benchmarked(result, kind)
    if extra is not None:
        table = table.join(extra)
    if result.fit is not None:
        table = table.sort_values("eblup")
    lang = language()
    return render_template("research/small_area.html", q=q, result=result, table=table, instrument=q.instrument,
                           lang=lang, min_cell=current_app.config["MIN_CELL_COUNT"], province=province,
                           provinces=area_lists.sorted_provinces(tuple(q.provinces)) if len(q.provinces) > 1 else (),
                           area=query.province_label(province),
                           covariate_labels={c.name: c.label(lang) for c in result.used},
                           not_used=int((table["status"] != "model").sum()) if len(table) else 0,
                           below=int((table["versus_city"] == "below").sum()) if "versus_city" in table else 0,
                           benchmark=kind if extra is not None else "",
                           rmse_increase=q.scale * float((extra["rmse_benchmarked"] - result.table["rmse"]).max())
                           if extra is not None else None)


@bp.route("/<slug>/small-area/chart.png")
@role_required(Role.researcher)
def small_area_chart(slug: str):
    q = database_results.read_or_404(slug, {**request.args.to_dict(), "level": "ward"})
    province = chosen_province(q, request.args.get("province"))
    result = compute(q, province)
    if result.fit is None:
        return Response(status=404)

    def drawn() -> bytes:  # 0.55 s for 126 wards: once per model, language and province
        table = result.table.assign(ward=list(query.label(q, result.table[["ward_code"]].copy())["ward"]))
        return side_by_side_chart(table, scale=q.scale, title=str(q.indicator.label),
                                  labels=(_("Direct (survey only)"), _("Model-based (small-area)")),
                                  axis_label=_("Percent") if result.share else _("Score"), decimal=decimal_symbol())

    body = query.derived(q, (*_model_key(q, province), "chart", language()), drawn, aside=False)
    return Response(body, mimetype="image/png")


def side_by_side_chart(table: pd.DataFrame, *, scale: float, title: str, labels: tuple[str, str],
                       axis_label: str, decimal: str) -> bytes:
    """Every ward, sorted by the model-based estimate: direct estimate and 95% CI (grey, where shown) and the
    model-based estimate and 95% CI (blue) one above the other."""
    data = table.sort_values("eblup").reset_index(drop=True)
    height = max(3.0, 0.3 * len(data) + 1.8)
    matplotlib = charts.mpl()  # Agg, loaded at the first chart
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.3, height), dpi=100)
    try:
        y = np.arange(len(data))
        shown = (data["status"] == "model").to_numpy()
        est, low, high = (data[c].to_numpy() * scale for c in ("estimate", "ci_low_direct", "ci_high_direct"))
        ax.errorbar(est[shown], y[shown] - 0.18, xerr=[est[shown] - low[shown], high[shown] - est[shown]],
                    fmt="o", mfc="white", color=DIRECT, ms=4, elinewidth=1, capsize=1.5, label=labels[0])
        mod, mlow, mhigh = (data[c].to_numpy() * scale for c in ("eblup", "ci_low_model", "ci_high_model"))
        ax.errorbar(mod, y + 0.18, xerr=[mod - mlow, mhigh - mod], fmt="o", color=MODEL, ms=4, elinewidth=1.4,
                    capsize=1.5, label=labels[1])
        ax.set_yticks(y, data["ward"], fontsize=7.5)
        ax.set_ylim(-0.7, len(data) - 0.3)
        ax.set_xlabel(axis_label)
        ax.tick_params(axis="x", labeltop=True, top=True)  # a tall chart: the scale at both ends
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: charts.tick_number(v, decimal)))
        ax.grid(axis="x", color="#dddddd")
        ax.set_axisbelow(True)
        ax.spines[["right"]].set_visible(False)
        top = 0.75 / height  # room above the axes for the title and the legend
        fig.text(0.01, 1 - 0.12 / height, title, va="top", ha="left", fontsize=11)
        fig.legend(*ax.get_legend_handles_labels(), loc="upper left", bbox_to_anchor=(0.01, 1 - 0.38 / height),
                   ncol=2, fontsize=8, frameon=False)
        fig.tight_layout(rect=(0, 0, 1, 1 - top))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)
