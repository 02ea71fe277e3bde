"""Charts of result tables with matplotlib (Agg), sized to fit a screen and a phone.

* a share or a score: sorted horizontal bars (lowest first), 95% CI whiskers, the city line;
  shares on a 0-100 axis;
* a categorical indicator: one 100% stacked bar per cell (the share of each category), or, for a
  single cell, one bar per category with its interval.

No chart is taller than ``MAX_HEIGHT_PX``: with more than ``MAX_BARS`` cells (126 wards, or wards x
a group) the chart draws the ``EXTREMES`` lowest and highest and says how many it leaves out; the
table under it lists every cell. Unreliable cells are drawn hatched and lighter; suppressed cells
are left out and counted in a note under the chart. PNG and SVG.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, replace

from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd

COLOUR = "#0b5394"
UNRELIABLE = "#9fb8d6"
BENCHMARK = "#b45309"
#: ordered categories, light to dark (a sequential palette readable in grey)
PALETTE = ["#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b", "#041c40"]
DPI = 110
WIDTH_IN = 8.3
NARROW_IN = 4.4  #: the phone version (``?size=narrow``), drawn at the size it is shown
MAX_HEIGHT_PX = 1200
EXTREMES = 20
MAX_BARS = 2 * EXTREMES
BAR_IN = 0.22


@dataclass(frozen=True)
class Texts:
    """Every word a chart shows, already in the user's language."""

    title: str
    axis: str
    subtitle: str = ""  #: under the title: the stream the figures come from ("Probability sample", ...)
    benchmark: str = ""
    benchmark_unit: str = ""
    unreliable: str = ""
    suppressed_note: str | None = None
    empty: str = ""
    left_out: str = ""  #: "… %(num)s cells not drawn: see the table …", with ``{num}`` filled in here
    decimal: str = "."
    group: str = ","  #: the language's thousands separator (vi ".", en ",")
    legend_space: float = 0.0  #: share of the figure's height kept free at the bottom for a legend


def _height(bars: int, extra_in: float = 1.8) -> float:
    return min(MAX_HEIGHT_PX / DPI, max(2.6, BAR_IN * bars + extra_in))


def extremes(data: pd.DataFrame, key: str | None) -> tuple[pd.DataFrame, int]:
    """``data`` sorted by ``key`` (None: kept in order), cut to the ``EXTREMES`` lowest and highest
    when longer than ``MAX_BARS``; and how many rows were left out."""
    data = data.sort_values(key, kind="stable") if key else data
    if len(data) <= MAX_BARS:
        return data, 0
    return pd.concat([data.head(EXTREMES), data.tail(EXTREMES)]), len(data) - MAX_BARS


def _positions(count: int, left_out: int) -> np.ndarray:
    """Bar positions top down, with a gap row between the lowest and the highest when cut."""
    y = np.arange(count, dtype=float)
    if left_out:
        y[EXTREMES:] += 1
    return y


@functools.cache
def mpl():
    """matplotlib with the Agg backend, loaded by the first chart rather than with the app: 0.7 s of CPU
    that ``khaosat serve``, ``khaosat worker`` and every command would pay at start for nothing (a
    gunicorn worker still loads it at start, in :func:`warm_up`)."""
    import matplotlib

    matplotlib.use("Agg")
    # glyphs laid out without hinting (FreeType's hinting of every label took a quarter of a chart's time;
    # at 110 dpi the text reads the same)
    matplotlib.rcParams["text.hinting"] = "no_hinting"
    import matplotlib.backends.backend_agg
    import matplotlib.figure
    import matplotlib.ticker

    return matplotlib


def warm_up() -> None:
    """Draw a small chart once, so that a process's first chart does not also pay for loading the font and
    Agg's first figure (0.13 s of its 0.34 s): gunicorn workers call it when they start."""
    fig, ax = _figure(1.0, 1.0)
    ax.barh([0], [1.0], color=COLOUR)
    ax.text(0, 0, "Ảnh 0,5")
    _row_labels(ax, np.array([0.0]), ["Phường Ba Đình"])
    for fmt in ("png", "svg"):
        fig.savefig(io.BytesIO(), format=fmt, dpi=DPI)


def _figure(width: float, height: float):
    """A figure drawn by Agg without pyplot (no figure manager, no global state to close)."""
    fig = mpl().figure.Figure(figsize=(width, height), dpi=DPI)
    mpl().backends.backend_agg.FigureCanvasAgg(fig)
    return fig, fig.subplots()


def _row_labels(ax, y: np.ndarray, labels: list[str]) -> list:
    """One label per bar, left of the axes: plain texts rather than y ticks (a tick is five artists,
    made and drawn for every bar: a third of a chart's time)."""
    ax.set_yticks([])
    ax.tick_params(axis="y", length=0)
    place = ax.get_yaxis_transform()
    return [ax.text(-0.01, yi, label, transform=place, ha="right", va="center", fontsize=8)
            for yi, label in zip(y, labels, strict=True)]


def _finish(fig, ax, texts: Texts, fmt: str, share: bool, left_out: int, gap_y: float | None,
            labels: list) -> bytes:
    if share:
        ax.set_xlim(0, 100)
    if left_out and gap_y is not None:
        ax.axhline(gap_y, color="#888888", linestyle=":", linewidth=1)
        ax.text(0.5, gap_y, texts.left_out.format(num=f"{left_out:,}".replace(",", texts.group)), transform=ax.get_yaxis_transform(),
                ha="center", va="center", fontsize=8, color="#333333", backgroundcolor="white")
    ax.set_xlabel(texts.axis)
    heading = f"{texts.title}\n{texts.subtitle}" if texts.subtitle else texts.title
    ax.set_title(heading, fontsize=11, loc="left", wrap=True)
    ax.xaxis.set_major_formatter(mpl().ticker.FuncFormatter(lambda v, _: tick_number(v, texts.decimal)))
    ax.grid(axis="x", color="#dddddd")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    bottom = texts.legend_space
    if texts.suppressed_note:
        fig.text(0.01, 0.005, texts.suppressed_note, fontsize=7, color="#4a4a4a")
        bottom += 0.03
    _layout(fig, labels, heading, bottom)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None,
                **({"pil_kwargs": {"compress_level": 3}} if fmt == "png" else {}))
    return buffer.getvalue()


def _layout(fig, labels: list, title: str, bottom: float) -> None:
    """Margins for the tick labels, the title and the axis label, measured without drawing the figure
    (``tight_layout`` draws it once more: half the time of a chart)."""
    renderer = fig.canvas.get_renderer()
    width_px, height_px = fig.get_figwidth() * fig.dpi, fig.get_figheight() * fig.dpi
    longest = sorted(labels, key=lambda t: len(t.get_text()), reverse=True)[:3]
    labels_px = max((t.get_window_extent(renderer).width for t in longest), default=0.0)
    title_lines = sum(max(1, -(-len(line) * 11 * 0.55 / 72 * fig.dpi // (width_px * 0.95)))
                      for line in title.split("\n"))
    top_px = title_lines * 11 * 1.35 / 72 * fig.dpi + 10
    bottom_px = 2 * 9 * 1.4 / 72 * fig.dpi + 8  # tick numbers and the axis label
    fig.subplots_adjust(left=min(0.6, (labels_px + 14) / width_px), right=0.97,
                        top=1 - top_px / height_px, bottom=bottom + bottom_px / height_px)


def bar_chart(table: pd.DataFrame, labels: list[str], *, texts: Texts, benchmark: float | None, scale: float,
              share: bool, fmt: str, ordered: bool = False, width: float = WIDTH_IN) -> bytes:
    """Bars of ``table`` (estimate, ci_low, ci_high, reliability) with CI whiskers, PNG or SVG; sorted,
    lowest first, unless ``ordered`` (categories keep their order)."""
    data = table.assign(label=labels)
    data, left_out = extremes(data[data["reliability"] != "suppressed"], None if ordered else "estimate")
    y = _positions(len(data), left_out)
    fig, ax = _figure(width, _height(len(y) + (1 if left_out else 0)))
    flagged = (data["reliability"] == "unreliable").to_numpy()
    est = data["estimate"].to_numpy(dtype=float) * scale
    err = [est - data["ci_low"].to_numpy(dtype=float) * scale, data["ci_high"].to_numpy(dtype=float) * scale - est]
    ax.barh(y, est, color=[UNRELIABLE if f else COLOUR for f in flagged], edgecolor="white", height=0.7)
    if flagged.any():
        ax.barh(y[flagged], est[flagged], color="none", edgecolor=COLOUR, hatch="///", height=0.7, linewidth=0)
    ax.errorbar(est, y, xerr=err, fmt="none", ecolor="#1a1a1a", elinewidth=1, capsize=2)
    labels = _row_labels(ax, y, [f"{lab} *" if f else lab for lab, f in zip(data["label"], flagged, strict=True)])
    ax.invert_yaxis()
    if benchmark is not None:
        ax.axvline(benchmark * scale, color=BENCHMARK, linestyle="--", linewidth=1.5,
                   label=benchmark_label(texts, benchmark * scale))
    if flagged.any():
        ax.barh([y[0]], [0], color=UNRELIABLE, hatch="///", edgecolor=COLOUR, label=f"* {texts.unreliable}")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    if data.empty and texts.empty:
        ax.text(0.5, 0.5, texts.empty, transform=ax.transAxes, ha="center", va="center", fontsize=10)
    return _finish(fig, ax, texts, fmt, share, left_out, EXTREMES if left_out else None, labels)


def distribution_chart(table: pd.DataFrame, cells: list[str], categories: list[tuple[str, str]], *,
                       texts: Texts, fmt: str, width: float = WIDTH_IN) -> bytes:
    """The share of each category per cell (``table``: cell key ``cell``, ``category``, estimate, CIs).

    One cell: a bar per category with its interval. Several: a 100% stacked bar per cell, sorted by
    the share of the first category, cut to the lowest and highest when there are many.
    """
    data = table.assign(cell=cells)
    data = data[data["reliability"] != "suppressed"]
    order = [code for code, _ in categories if code in set(data["category"])]
    names = dict(categories)
    wide = data.pivot_table(index="cell", columns="category", values="estimate", aggfunc="first", sort=False)
    wide = wide.reindex(columns=order).fillna(0.0)
    if len(wide) <= 1:  # one cell (or none shown): a bar per category with its interval
        one = data.set_index("category").reindex(order).reset_index()
        one = one.assign(reliability=one["reliability"].fillna("ok"))
        return bar_chart(one, [names.get(c, c) for c in order], texts=texts, benchmark=None, scale=100.0,
                         share=True, fmt=fmt, ordered=True, width=width)
    wide, left_out = extremes(wide.assign(_key=wide[order[0]] if order else 0.0), "_key")
    wide = wide.drop(columns="_key")
    y = _positions(len(wide), left_out)
    fig, ax = _figure(width, _height(len(y) + (1 if left_out else 0), 2.4))
    left = np.zeros(len(wide))
    colours = _colours(len(order))
    for code, colour in zip(order, colours, strict=True):
        segment = wide[code].to_numpy(dtype=float) * 100
        ax.barh(y, segment, left=left, color=colour, edgecolor="white", height=0.75, label=names.get(code, code))
        for yi, li, wi in zip(y, left, segment, strict=True):
            if wi >= 9:
                ax.text(li + wi / 2, yi, tick_number(wi, texts.decimal), ha="center", va="center", fontsize=7,
                        color="white" if colour in PALETTE[3:] else "#1a1a1a")
        left += segment
    labels = _row_labels(ax, y, [str(c) for c in wide.index])
    ax.invert_yaxis()
    columns = min(len(order), 3 if width >= WIDTH_IN else 2)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=columns, fontsize=8, frameon=False)
    legend_rows = -(-len(order) // max(columns, 1))
    texts = replace(texts, legend_space=(0.22 * legend_rows + 0.1) / fig.get_figheight())
    return _finish(fig, ax, texts, fmt, True, left_out, EXTREMES if left_out else None, labels)


def _colours(count: int) -> list[str]:
    if count <= 1:
        return [COLOUR] * count
    idx = np.linspace(0, len(PALETTE) - 1, count).round().astype(int)
    return [PALETTE[i] for i in idx]


def benchmark_label(texts: Texts, value: float) -> str:
    """The legend of the whole area's line: its estimate with one decimal, as the page above the chart writes it
    ("Whole country: 48.5", "Cả nước: 48,5%"), not rounded as a tick is."""
    return f"{texts.benchmark}: {f'{value:.1f}'.replace('.', texts.decimal)}{texts.benchmark_unit}"


def tick_number(value: float, decimal: str) -> str:
    """A chart label: whole above 10 (or when whole), else one decimal, with the language's decimal mark."""
    text = f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"
    return text.replace(".", decimal)
