"""Publication figures: ROC overlay, forest plot of odds ratios, time course by group.

Figures are built on :class:`matplotlib.figure.Figure` objects, not through pyplot, so
no global figure registry is touched, nothing is left open and no interactive backend
is needed (PNG is rendered by Agg, SVG by matplotlib's SVG writer).
"""

from __future__ import annotations

import io
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kyphoimg.errors import StatsInputError

from ._format import fmt_num, fmt_or
from ._logistic import LogisticResult
from ._repeated import TimepointResult
from ._roc import RocResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["figure_to_bytes", "plot_forest", "plot_roc", "plot_timecourse", "save_figure"]

FORMATS = ("png", "svg")
_DPI = 200
#: Styles per group or curve, distinguishable in greyscale: marker, line style, grey.
STYLES = [
    ("o", "-", "0.0"),
    ("s", "--", "0.45"),
    ("^", ":", "0.2"),
    ("D", "-.", "0.6"),
    ("v", (0, (5, 1, 1, 1)), "0.3"),
]


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, path: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` once per format next to ``path`` (suffix replaced) and return the paths.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or pathlib.Path
        Target path; its suffix, if any, is replaced by each format.
    formats : sequence of {"png", "svg", "pdf"}
        Formats to write.

    Returns
    -------
    list of pathlib.Path
    """
    path = Path(path)
    out = []
    for fmt in formats:
        target = path.with_suffix("." + fmt)
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target, format=fmt, dpi=_DPI)
        out.append(target)
    return out


def figure_to_bytes(fig: Figure, fmt: str = "svg") -> bytes:
    """Render ``fig`` to bytes in ``fmt`` (for embedding in a report).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    fmt : {"svg", "png", "pdf"}, default "svg"
        Output format (raster formats at 200 dpi).

    Returns
    -------
    bytes
        The file's content.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=_DPI)
    return buf.getvalue()


def _as_roc_list(
    rocs: RocResult | Sequence[RocResult] | Mapping[str, RocResult],
) -> list[tuple[str, RocResult]]:
    if isinstance(rocs, RocResult):
        return [(rocs.label, rocs)]
    items = list(rocs.items()) if isinstance(rocs, Mapping) else [(r.label, r) for r in rocs]
    if not items or not all(isinstance(r, RocResult) for _, r in items):
        raise StatsInputError(
            "rocs must be a RocResult or a non-empty list/mapping of them (from roc())"
        )
    return [(str(k), r) for k, r in items]


def plot_roc(
    rocs: RocResult | Sequence[RocResult] | Mapping[str, RocResult],
    path: str | Path | None = None,
    *,
    title: str | None = None,
    show_cutoff: bool = True,
    formats: Sequence[str] = FORMATS,
) -> Figure:
    """Overlay ROC curves with the AUC and its DeLong CI in the legend.

    Parameters
    ----------
    rocs : RocResult, sequence or mapping of RocResult
        Curves from :func:`roc` (a mapping's keys replace the labels).
    path : str or pathlib.Path, optional
        If given, the figure is also written there in each of ``formats``.
    title : str, optional
        Axes title.
    show_cutoff : bool, default True
        Mark each curve's Youden cutoff.
    formats : sequence of str
        Formats written when ``path`` is given.

    Returns
    -------
    matplotlib.figure.Figure
    """
    items = _as_roc_list(rocs)
    fig = _new_figure(5.2, 5.0)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="_chance")
    for k, (label, r) in enumerate(items):
        marker, ls, color = STYLES[k % len(STYLES)]
        c = r.curve.iloc[::-1]
        pct = round(100 * r.conf_level)
        ci = f"{fmt_num(r.ci_low, 3)}–{fmt_num(r.ci_high, 3)}"
        text = f"{label}: AUC {fmt_num(r.auc, 3)} ({pct}% CI {ci})"
        ax.plot(1 - c["specificity"], c["sensitivity"], lw=1.8, ls=ls, color=color, label=text)
        if show_cutoff and np.isfinite(r.threshold):
            ax.plot(
                1 - r.specificity,
                r.sensitivity,
                marker,
                color=color,
                mfc="white",
                mew=1.5,
                ms=6,
                label="_cut",
            )
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("1 − specificity")
    ax.set_ylabel("Sensitivity")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    if title:
        ax.set_title(title)
    if path is not None:
        save_figure(fig, path, formats)
    return fig


def plot_forest(
    result: LogisticResult | pd.DataFrame,
    path: str | Path | None = None,
    *,
    ci: str = "wald",
    title: str | None = None,
    formats: Sequence[str] = FORMATS,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Forest plot of odds ratios with 95 % CIs on a log axis.

    Parameters
    ----------
    result : LogisticResult or pandas.DataFrame
        A :func:`logistic` result (its multivariable table is drawn) or a frame with
        columns ``term, odds_ratio`` and the CI columns.
    path : str or pathlib.Path, optional
        If given, the figure is also written there in each of ``formats``.
    ci : {"wald", "profile"}, default "wald"
        Which interval to draw (frames with ``ci_low``/``ci_high`` use those).
    title : str, optional
        Axes title.
    formats : sequence of str
        Formats written when ``path`` is given.
    labels : mapping, optional
        Term → label printed on the axis (default: the term names).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    StatsInputError
        Unknown ``ci`` or a frame without the needed columns.
    """
    if ci not in ("wald", "profile"):
        raise StatsInputError(f"ci must be 'wald' or 'profile', got {ci!r}")
    table = result.multivariable if isinstance(result, LogisticResult) else result
    lo_col, hi_col = (f"{ci}_ci_low", f"{ci}_ci_high")
    if lo_col not in table.columns and "ci_low" in table.columns:
        lo_col, hi_col = "ci_low", "ci_high"
    needed = ["term", "odds_ratio", lo_col, hi_col]
    if any(c not in table.columns for c in needed):
        raise StatsInputError(f"forest plot needs columns {needed}; got {list(table.columns)}")
    t = table[table["term"] != "(Intercept)"].dropna(subset=["odds_ratio", lo_col, hi_col])
    t = t.iloc[::-1]
    fig = _new_figure(6.4, 0.45 * len(t) + 1.4)
    ax = fig.add_subplot()
    ypos = np.arange(len(t))
    ors = t["odds_ratio"].to_numpy(dtype=float)
    lo = t[lo_col].to_numpy(dtype=float)
    hi = t[hi_col].to_numpy(dtype=float)
    ax.errorbar(ors, ypos, xerr=[ors - lo, hi - ors], fmt="s", color="k", ms=5, capsize=3, lw=1.2)
    ax.axvline(1.0, color="0.5", ls="--", lw=1)
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(ypos, [str((labels or {}).get(x, x)) for x in t["term"]])
    firth = isinstance(result, LogisticResult) and result.method == "firth"
    kind = (
        "Wald"
        if ci == "wald"
        else ("profile penalised-likelihood" if firth else "profile-likelihood")
    )
    ax.set_xlabel(f"Odds ratio ({kind} 95% CI, log scale)")
    finite = np.concatenate([lo[np.isfinite(lo) & (lo > 0)], hi[np.isfinite(hi)]])
    if finite.size:
        ax.set_xlim(min(finite.min(), 1.0) / 1.3, max(finite.max(), 1.0) * 1.3)
    # Ticks at 1-2-5 per decade; a narrow range (all ORs near 1) gets every 1..9 multiple
    # so that the axis always has labelled ticks.
    left, right = ax.get_xlim()
    for subs in ((1.0, 2.0, 5.0), tuple(np.arange(1.0, 10.0)), tuple(np.arange(1.0, 10.0, 0.5))):
        locator = LogLocator(base=10, subs=subs)
        ticks = [v for v in locator.tick_values(left, right) if left <= v <= right]
        if len(ticks) >= 3:
            break
    ax.set_xticks(ticks)
    # The "OR (95% CI)" column sits right of the axes, in axes x and data y coordinates.
    trans = ax.get_yaxis_transform()
    for y, o, a, b in zip(ypos, ors, lo, hi, strict=True):
        ax.text(
            1.03,
            float(y),
            f"{fmt_or(o)} ({fmt_or(a)}–{fmt_or(b)})",
            va="center",
            ha="left",
            fontsize=8,
            transform=trans,
            clip_on=False,
        )
    ax.text(
        1.03,
        len(t) - 0.45,
        "OR (95% CI)",
        va="bottom",
        ha="left",
        fontsize=8,
        fontweight="bold",
        transform=trans,
        clip_on=False,
    )
    ax.set_ylim(-0.7, len(t) - 0.3)
    ax.grid(axis="x", alpha=0.3, which="both")
    if title:
        ax.set_title(title)
    if path is not None:
        save_figure(fig, path, formats)
    return fig


def plot_timecourse(
    data: TimepointResult | pd.DataFrame,
    path: str | Path | None = None,
    *,
    time: Hashable | None = None,
    value: Hashable | None = None,
    group: Hashable | None = None,
    order: Sequence[Hashable] | None = None,
    error: str = "sd",
    ylabel: str | None = None,
    title: str | None = None,
    formats: Sequence[str] = FORMATS,
    group_labels: Mapping[Hashable, str] | None = None,
    time_labels: Mapping[Hashable, str] | None = None,
) -> Figure:
    """Mean over ordered time points per group, with error bars.

    Each group has its own marker and line style (readable in greyscale).

    Parameters
    ----------
    data : TimepointResult or pandas.DataFrame
        A :func:`compare_timepoints` result, or a long table with columns ``time`` and
        ``value`` (and ``group``).
    path : str or pathlib.Path, optional
        If given, the figure is also written there in each of ``formats``.
    time, value, group : hashable, optional
        Column names when ``data`` is a DataFrame.
    order : sequence, optional
        Time points in order (DataFrame input; default sorted).
    error : {"sd", "sem", "ci95"}, default "sd"
        Error bar: standard deviation, standard error, or 95 % t interval of the mean.
    ylabel, title : str, optional
        Labels.
    formats : sequence of str
        Formats written when ``path`` is given.
    group_labels, time_labels : mapping, optional
        Names printed for the groups (legend) and time points (axis).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    StatsInputError
        Unknown ``error`` or missing columns.
    """
    from scipy import stats

    if error not in ("sd", "sem", "ci95"):
        raise StatsInputError(f"error must be 'sd', 'sem' or 'ci95', got {error!r}")
    if isinstance(data, TimepointResult):
        desc = data.descriptives
        order = list(data.order)
    else:
        if time is None or value is None:
            raise StatsInputError("with a DataFrame, pass time= and value= column names")
        cols = [time, value] + ([group] if group is not None else [])
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise StatsInputError(f"plot_timecourse: column(s) {missing} not in the table")
        d = data.assign(_g=data[group] if group is not None else "all")
        order = list(order) if order is not None else sorted(pd.unique(d[time].dropna()).tolist())
        rows = []
        numeric = pd.to_numeric(d[value], errors="coerce")
        for (g, t), v in numeric.groupby([d["_g"], d[time]]):
            v = v.dropna()
            rows.append({"group": g, "time": t, "n": len(v), "mean": v.mean(), "sd": v.std(ddof=1)})
        desc = pd.DataFrame(rows)
        desc["sem"] = desc["sd"] / np.sqrt(desc["n"])
    groups = list(dict.fromkeys(desc["group"]))
    fig = _new_figure(6.0, 4.2)
    ax = fig.add_subplot()
    x = np.arange(len(order))
    width = 0.08 * (len(groups) - 1)
    for i, g in enumerate(groups):
        sub = desc[desc["group"] == g].set_index("time").reindex(order)
        if error == "sd":
            err = sub["sd"]
        elif error == "sem":
            err = sub["sd"] / np.sqrt(sub["n"])
        else:
            err = sub["sd"] / np.sqrt(sub["n"]) * stats.t.ppf(0.975, np.maximum(sub["n"] - 1, 1))
        shift = (
            (i - (len(groups) - 1) / 2) * (width / max(len(groups) - 1, 1))
            if len(groups) > 1
            else 0
        )
        marker, ls, color = STYLES[i % len(STYLES)]
        name = (group_labels or {}).get(g, g)
        ax.errorbar(
            x + shift,
            sub["mean"],
            yerr=err,
            marker=marker,
            ls=ls,
            color=color,
            mfc="white" if i % 2 else color,
            capsize=4,
            lw=1.6,
            label=f"{name} (n={int(sub['n'].max())})" if len(groups) > 1 else None,
        )
    ax.set_xticks(x, [str((time_labels or {}).get(t, t)) for t in order])
    ax.set_xlabel("Time point")
    label_err = {"sd": "mean ± SD", "sem": "mean ± SEM", "ci95": "mean ± 95% CI"}[error]
    ax.set_ylabel(f"{ylabel or (value if value is not None else 'value')} ({label_err})")
    ax.grid(alpha=0.3)
    if len(groups) > 1:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    if path is not None:
        save_figure(fig, path, formats)
    return fig
