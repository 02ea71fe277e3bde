"""Charts of result tables with matplotlib (Agg): sorted bars, 95% CI whiskers, the city benchmark line.

Unreliable cells are drawn hatched and lighter; suppressed cells are left out and counted in a
note under the chart. Sized for a laptop screen and for A4 printing; PNG and SVG.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

COLOUR = "#0b5394"
UNRELIABLE = "#9fb8d6"
BENCHMARK = "#b45309"


def bar_chart(table: pd.DataFrame, labels: list[str], *, title: str, benchmark: float | None,
              benchmark_label: str, unreliable_label: str, suppressed_note: str | None,
              scale: float, axis_label: str, decimal: str, fmt: str, empty_note: str = "") -> bytes:
    """The chart of ``table`` (estimate, ci_low, ci_high, reliability) as PNG or SVG bytes."""
    data = table.assign(label=labels)
    data = data[data["reliability"] != "suppressed"].sort_values("estimate")
    height = max(2.6, 0.28 * len(data) + 1.6)
    fig, ax = plt.subplots(figsize=(8.3, height), dpi=110)
    try:
        y = range(len(data))
        flagged = (data["reliability"] == "unreliable").to_numpy()
        est = data["estimate"].to_numpy() * scale
        err = [est - data["ci_low"].to_numpy() * scale, data["ci_high"].to_numpy() * scale - est]
        ax.barh(list(y), est, color=[UNRELIABLE if f else COLOUR for f in flagged],
                hatch=None, edgecolor="white", height=0.7)
        for i, f in enumerate(flagged):
            if f:
                ax.barh(i, est[i], color="none", edgecolor=COLOUR, hatch="///", height=0.7, linewidth=0)
        ax.errorbar(est, list(y), xerr=err, fmt="none", ecolor="#1a1a1a", elinewidth=1, capsize=2)
        ax.set_yticks(list(y), [f"{lab} *" if f else lab for lab, f in zip(data["label"], flagged, strict=True)],
                    fontsize=8)
        if benchmark is not None:
            ax.axvline(benchmark * scale, color=BENCHMARK, linestyle="--", linewidth=1.5,
                       label=f"{benchmark_label}: {_number(benchmark * scale, decimal)}")
        if flagged.any():
            ax.barh([0], [0], color=UNRELIABLE, hatch="///", edgecolor=COLOUR, label=f"* {unreliable_label}")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
        if data.empty and empty_note:
            ax.text(0.5, 0.5, empty_note, transform=ax.transAxes, ha="center", va="center", fontsize=10)
        ax.set_xlabel(axis_label)
        ax.set_title(title, fontsize=11, loc="left")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: _number(v, decimal)))
        ax.grid(axis="x", color="#dddddd")
        ax.set_axisbelow(True)
        ax.spines[["top", "right"]].set_visible(False)
        if suppressed_note:
            fig.text(0.01, 0.005, suppressed_note, fontsize=7, color="#4a4a4a")
        fig.tight_layout(rect=(0, 0.03 if suppressed_note else 0, 1, 1))
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
        return buffer.getvalue()
    finally:
        plt.close(fig)


def _number(value: float, decimal: str) -> str:
    text = f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"
    return text.replace(".", decimal)
