"""Change over ordered time points within groups, and group differences per time point."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from kyphoimg.errors import StatsInputError

from ._htest import continuous_test
from ._validate import as_frame, as_numeric, require_columns

__all__ = ["CORRECTIONS", "TimepointResult", "compare_timepoints", "mixed_anova_table"]

#: Multiple-comparison corrections (statsmodels ``multipletests`` names) and labels.
CORRECTIONS: dict[str, str] = {
    "bonferroni": "Bonferroni",
    "holm": "Holm",
    "sidak": "Šidák",
    "fdr_bh": "Benjamini–Hochberg FDR",
    "none": "none",
}
METHODS = ("rm_anova", "friedman", "mixed")
POSTHOC = {
    "paired_t": "paired t-test",
    "wilcoxon": "Wilcoxon signed-rank (scipy 'auto': exact for small samples without ties/zeros)",
}
ALL = "all"

#: Column order of the ``within``, ``posthoc`` and ``between`` tables.
WITHIN_COLUMNS = [
    "group",
    "test",
    "statistic",
    "df1",
    "df2",
    "df1_gg",
    "df2_gg",
    "p_value",
    "p_uncorrected",
    "epsilon_gg",
    "sphericity_w",
    "sphericity_p",
    "n_subjects",
    "n_excluded",
    "note",
]
POSTHOC_COLUMNS = [
    "group",
    "time_a",
    "time_b",
    "test",
    "statistic",
    "df",
    "p_uncorrected",
    "p_adjusted",
    "correction",
    "n",
    "note",
    "change",
    "change_ci_low",
    "change_ci_high",
]
BETWEEN_COLUMNS = [
    "time",
    "test",
    "statistic",
    "df",
    "p_value",
    "n",
    "difference",
    "diff_ci_low",
    "diff_ci_high",
    "note",
]
INTERACTION_COLUMNS = [
    "effect",
    "test",
    "statistic",
    "df1",
    "df2",
    "epsilon_gg",
    "df1_gg",
    "df2_gg",
    "p_value",
    "p_uncorrected",
    "sphericity_w",
    "sphericity_p",
    "n_subjects",
    "note",
]
MIXED_TEST = "Mixed ANOVA (group between, time within), Greenhouse–Geisser corrected"


@dataclass(frozen=True)
class TimepointResult:
    """Result of :func:`compare_timepoints`.

    Attributes
    ----------
    descriptives : pandas.DataFrame
        Columns ``group, time, n, mean, sd, sem, median, q1, q3``, over all available
        values (incomplete subjects included).
    within : pandas.DataFrame
        One row per group: ``group, test, statistic, df1, df2, p_value, p_uncorrected,
        epsilon_gg, sphericity_w, sphericity_p, n_subjects, n_excluded, note``.
        ``p_value`` is the p-value to report (Greenhouse–Geisser corrected for the
        repeated-measures ANOVA).
    posthoc : pandas.DataFrame
        Pairwise comparisons of time points within each group: ``group, time_a,
        time_b, test, statistic, df, p_uncorrected, p_adjusted, correction, n, note,
        change, change_ci_low, change_ci_high`` (for paired t-tests the mean change from
        ``time_a`` to ``time_b`` with its 95 % CI; NaN for Wilcoxon).
    between : pandas.DataFrame
        Group comparison at each time point over the subjects measured then: ``time,
        test, statistic, df, p_value, n, difference, diff_ci_low, diff_ci_high, note``
        (difference of means, first group minus second, with its 95 % CI for t-tests;
        empty without ``group``).
    order : tuple
        Time points in analysis order.
    method : str
        ``"rm_anova"``, ``"friedman"`` or ``"mixed"``.
    excluded : pandas.DataFrame
        ``group, subject`` of subjects left out of the within-group test because a
        time point was missing (empty for ``method="mixed"``, which uses them).
    interaction : pandas.DataFrame
        With a group and ``method="rm_anova"``: the mixed (split-plot) ANOVA over the
        subjects with every time point, rows ``group``, ``time`` and ``group × time``,
        columns ``effect, test, statistic, df1, df2, epsilon_gg, df1_gg, df2_gg,
        p_value, p_uncorrected, sphericity_w, sphericity_p, n_subjects, note``.
        ``p_value`` is Greenhouse–Geisser corrected for the within-subject rows (time
        and the interaction), whose corrected df are ``df × epsilon_gg``. Empty
        otherwise.
    """

    descriptives: pd.DataFrame
    within: pd.DataFrame
    posthoc: pd.DataFrame
    between: pd.DataFrame
    order: tuple[Hashable, ...]
    method: str
    excluded: pd.DataFrame
    interaction: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=INTERACTION_COLUMNS)
    )


def _quiet_pingouin_rm_anova(data: pd.DataFrame) -> pd.DataFrame:
    import pingouin

    with warnings.catch_warnings():
        # pingouin 0.7 calls DataFrame.dropna(inplace=True), deprecated in pandas 3.1
        # (Pandas4Warning); the result is unaffected.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="pingouin")
        warnings.filterwarnings("ignore", message=".*inplace.*", category=DeprecationWarning)
        # Zero residual variance (every subject changes by exactly the same amount) makes
        # pingouin divide by zero; F is then infinite and reported with a note.
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="pingouin")
        return pingouin.rm_anova(
            data=data, dv="value", within="time", subject="subject", correction=True, detailed=True
        )


def _quiet_pingouin_mixed_anova(data: pd.DataFrame) -> pd.DataFrame:
    import pingouin

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="pingouin")
        warnings.filterwarnings("ignore", message=".*inplace.*", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="pingouin")
        return pingouin.mixed_anova(
            data=data,
            dv="value",
            within="time",
            subject="subject",
            between="group",
            correction=True,
        )


def mixed_anova_table(d: pd.DataFrame, order: Sequence[Hashable]) -> pd.DataFrame:
    """Group × time mixed ANOVA of a long table (``subject, time, value, group``).

    Subjects without every time point in ``order`` are left out (counted in
    ``n_subjects``). Sums of squares, F and sphericity come from pingouin's
    ``mixed_anova``; within-subject rows get Greenhouse–Geisser corrected df and p.

    Parameters
    ----------
    d : pandas.DataFrame
        Columns ``subject, time, value, group``.
    order : sequence
        Time points analysed.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`INTERACTION_COLUMNS`, rows ``group``, ``time``, ``group × time``.
    """
    wide = d.pivot(index="subject", columns="time", values="value").reindex(columns=list(order))
    complete = wide.dropna().index
    data = d[d["subject"].isin(complete) & d["time"].isin(list(order))].copy()
    data["time"] = data["time"].astype(str)
    data["group"] = data["group"].astype(str)
    aov = _quiet_pingouin_mixed_anova(data)
    # pingouin names the rows after the columns: "group", "time", "Interaction"
    names = {"group": "group", "time": "time", "Interaction": "group × time"}
    rows = []
    for _, r in aov.iterrows():
        within = r["Source"] != "group"
        eps = float(r["eps"]) if within and "eps" in aov and pd.notna(r["eps"]) else 1.0
        p_gg = r.get("p_GG_corr", np.nan) if within else np.nan
        p_unc = float(r["p_unc"])
        rows.append(
            {
                "effect": names.get(str(r["Source"]), str(r["Source"])),
                "test": MIXED_TEST,
                "statistic": float(r["F"]),
                "df1": float(r["DF1"]),
                "df2": float(r["DF2"]),
                "epsilon_gg": eps if within else np.nan,
                "df1_gg": float(r["DF1"]) * eps if within else np.nan,
                "df2_gg": float(r["DF2"]) * eps if within else np.nan,
                "p_value": float(p_gg) if within and pd.notna(p_gg) else p_unc,
                "p_uncorrected": p_unc,
                "sphericity_w": float(r["W_spher"]) if within and "W_spher" in aov else np.nan,
                "sphericity_p": float(r["p_spher"]) if within and "p_spher" in aov else np.nan,
                "n_subjects": len(complete),
                "note": "" if within else "between subjects: no sphericity correction",
            }
        )
    return pd.DataFrame(rows, columns=INTERACTION_COLUMNS)


def _rm_anova(wide: pd.DataFrame) -> dict:
    long = wide.reset_index().melt(id_vars="subject", var_name="time", value_name="value")
    long["time"] = long["time"].astype(str)
    aov = _quiet_pingouin_rm_anova(long)
    row = aov.iloc[0]
    err = aov.iloc[1]
    p_unc = float(row["p_unc"])
    eps = float(row["eps"]) if "eps" in aov.columns else 1.0
    p_gg = float(row["p_GG_corr"]) if "p_GG_corr" in aov.columns else p_unc
    if wide.shape[1] == 2:
        eps, p_gg = 1.0, p_unc
    note = ""
    if not np.isfinite(float(row["F"])):
        note = "no residual variance (identical change in every subject): F is infinite"
    return {
        "test": "Repeated-measures ANOVA, Greenhouse–Geisser corrected",
        "statistic": float(row["F"]),
        "df1": float(row["DF"]),
        "df2": float(err["DF"]),
        "df1_gg": float(row["DF"]) * eps,
        "df2_gg": float(err["DF"]) * eps,
        "p_value": p_gg,
        "p_uncorrected": p_unc,
        "epsilon_gg": eps,
        "sphericity_w": float(row["W_spher"]) if "W_spher" in aov.columns else np.nan,
        "sphericity_p": float(row["p_spher"]) if "p_spher" in aov.columns else np.nan,
        "note": note,
    }


def _friedman(wide: pd.DataFrame) -> dict:
    if wide.shape[1] == 2:
        res = stats.wilcoxon(wide.iloc[:, 0], wide.iloc[:, 1])
        return {
            "test": "Wilcoxon signed-rank (two time points; Friedman reduces to it)",
            "statistic": float(res.statistic),
            "df1": np.nan,
            "df2": np.nan,
            "p_value": float(res.pvalue),
            "p_uncorrected": float(res.pvalue),
            "note": "",
        }
    res = stats.friedmanchisquare(*[wide[c].to_numpy() for c in wide.columns])
    return {
        "test": "Friedman chi-square (tie-corrected)",
        "statistic": float(res.statistic),
        "df1": float(wide.shape[1] - 1),
        "df2": np.nan,
        "p_value": float(res.pvalue),
        "p_uncorrected": float(res.pvalue),
        "note": "",
    }


def _mixed(sub: pd.DataFrame, order: Sequence[Hashable]) -> dict:
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    d = sub.dropna(subset=["value"]).copy()
    d["t"] = pd.Categorical(d["time"], categories=list(order)).codes
    note = "random intercept per subject, REML; uses every available measurement"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = smf.mixedlm("value ~ C(t)", d, groups=d["subject"])
        fit = model.fit(reml=True)
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        note += "; optimiser reported non-convergence, interpret with care"
    names = [n for n in fit.params.index if n.startswith("C(t)")]
    b = fit.params[names].to_numpy()
    cov = fit.cov_params().loc[names, names].to_numpy()
    chi = float(b @ np.linalg.solve(cov, b))
    k = len(names)
    return {
        "test": "Linear mixed model, Wald chi-square for time",
        "statistic": chi,
        "df1": float(k),
        "df2": np.nan,
        "p_value": float(stats.chi2.sf(chi, k)),
        "p_uncorrected": float(stats.chi2.sf(chi, k)),
        "note": note,
    }


def _check_options(
    method: str, correction: str, posthoc: str | None, between: str | None
) -> tuple[str, str]:
    """Check method, correction and post-hoc test; return (posthoc, between) with defaults."""
    if method not in METHODS:
        raise StatsInputError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if correction not in CORRECTIONS:
        raise StatsInputError(
            f"unknown correction {correction!r}; use one of {', '.join(CORRECTIONS)}"
        )
    posthoc = posthoc or ("wilcoxon" if method == "friedman" else "paired_t")
    if posthoc not in POSTHOC:
        raise StatsInputError(f"unknown posthoc {posthoc!r}; use one of {', '.join(POSTHOC)}")
    between = between or ("mannwhitney" if method == "friedman" else "student")
    return posthoc, between


def _long_table(
    df: pd.DataFrame, subject: Hashable, time: Hashable, value: Hashable, group: Hashable | None
) -> pd.DataFrame:
    """Return columns ``subject, time, value, group`` of rows with subject, time and group."""
    cols = [subject, time, value] + ([group] if group is not None else [])
    require_columns(df, cols, "compare_timepoints")
    d = pd.DataFrame(
        {
            "subject": df[subject].to_numpy(),
            "time": df[time].to_numpy(),
            "value": as_numeric(df[value], value).to_numpy(),
            "group": df[group].to_numpy() if group is not None else ALL,
        }
    )
    return d[d["subject"].notna() & d["time"].notna() & d["group"].notna()]


def _time_order(
    d: pd.DataFrame, time: Hashable, order: Sequence[Hashable] | None
) -> list[Hashable]:
    """Return the time points in analysis order, checking that each occurs."""
    if order is None:
        order = sorted(pd.unique(d["time"]).tolist())
    order = list(order)
    if len(order) < 2:
        raise StatsInputError(f"column {time!r}: at least two time points are needed, got {order}")
    absent = [t for t in order if not (d["time"] == t).any()]
    if absent:
        raise StatsInputError(f"order: time point(s) {absent} do not occur in column {time!r}")
    return order


def _check_design(
    d: pd.DataFrame, subject: Hashable, time: Hashable, group: Hashable | None
) -> None:
    """Refuse duplicated subject × time rows and groups that change within a subject."""
    dup = d.duplicated(["subject", "time"])
    if dup.any():
        s, t = d.loc[dup, ["subject", "time"]].iloc[0]
        raise StatsInputError(
            f"subject {s!r} has more than one row at time {t!r} (columns {subject!r}, {time!r}); "
            "aggregate repeated measurements first"
        )
    if group is not None and (d.groupby("subject")["group"].nunique() > 1).any():
        s = d.groupby("subject")["group"].nunique().idxmax()
        raise StatsInputError(
            f"subject {s!r} appears in more than one level of group column {group!r}; "
            "a between-subject group must be constant within subject"
        )


def _group_levels(df: pd.DataFrame, d: pd.DataFrame, group: Hashable | None) -> list[Hashable]:
    """Return the groups present, in category order for a categorical column, else sorted."""
    present = pd.unique(d["group"]).tolist()
    if group is not None and isinstance(df[group].dtype, pd.CategoricalDtype):
        return [c for c in df[group].cat.categories if c in present]
    return sorted(present, key=str)


def _describe(g: Hashable, t: Hashable, v: np.ndarray) -> dict:
    """Return the ``descriptives`` row of the values ``v`` of group ``g`` at time ``t``."""
    q1, med, q3 = np.percentile(v, [25, 50, 75], method="weibull") if v.size else (np.nan,) * 3
    sd = float(np.std(v, ddof=1)) if v.size > 1 else np.nan
    return {
        "group": g,
        "time": t,
        "n": int(v.size),
        "mean": float(np.mean(v)) if v.size else np.nan,
        "sd": sd,
        "sem": sd / np.sqrt(v.size) if v.size > 1 else np.nan,
        "median": float(med),
        "q1": float(q1),
        "q3": float(q3),
    }


def _descriptives(
    d: pd.DataFrame, groups: Sequence[Hashable], order: Sequence[Hashable]
) -> pd.DataFrame:
    """Describe every group at every time point over all available values."""
    rows = []
    for g in groups:
        for t in order:
            v = d.loc[(d["group"] == g) & (d["time"] == t), "value"].dropna().to_numpy()
            rows.append(_describe(g, t, v))
    return pd.DataFrame(rows)


def _within_group(
    sub: pd.DataFrame,
    wide: pd.DataFrame,
    g: Hashable,
    order: Sequence[Hashable],
    value: Hashable,
    method: str,
) -> tuple[dict, list[dict]]:
    """Test change over time within group ``g``: (``within`` row, ``excluded`` rows).

    ``sub`` holds the group's long rows and ``wide`` the same values, subject × time.
    """
    complete = wide.dropna()
    incomplete = wide.index.difference(complete.index)
    excl_rows = [{"group": g, "subject": s} for s in incomplete] if method != "mixed" else []
    if len(complete) < 2 and method != "mixed":
        raise StatsInputError(
            f"group {g!r}: {len(complete)} subject(s) with all {len(order)} time points of "
            f"{value!r}; at least 2 are needed (or use method='mixed')"
        )
    if method == "rm_anova":
        res = _rm_anova(complete)
    elif method == "friedman":
        res = _friedman(complete)
    else:
        if sub["subject"].nunique() < 2:
            raise StatsInputError(f"group {g!r}: fewer than 2 subjects for the mixed model")
        res = _mixed(sub, order)
    res.setdefault("epsilon_gg", np.nan)
    res.setdefault("df1_gg", np.nan)
    res.setdefault("df2_gg", np.nan)
    res.setdefault("sphericity_w", np.nan)
    res.setdefault("sphericity_p", np.nan)
    row = {
        "group": g,
        **res,
        "n_subjects": int(len(complete) if method != "mixed" else sub["subject"].nunique()),
        "n_excluded": len(incomplete) if method != "mixed" else 0,
    }
    return row, excl_rows


def _pair_test(pair: pd.DataFrame, a: Hashable, b: Hashable, posthoc: str) -> tuple:
    """Compare time points ``a`` and ``b`` on complete pairs: (a, b, stat, df, p, n, note)."""
    diff = (pair[a] - pair[b]).to_numpy()
    if len(pair) < 2 or np.ptp(diff) <= 1e-12 * max(1.0, float(np.abs(diff).max())):
        why = "fewer than 2 pairs" if len(pair) < 2 else "identical change in every subject"
        nan3 = (np.nan, np.nan, np.nan)
        return (a, b, np.nan, np.nan, np.nan, len(pair), f"not computed: {why}", nan3)
    change = (np.nan, np.nan, np.nan)
    if posthoc == "paired_t":
        r = stats.ttest_rel(pair[a], pair[b])
        stat, dfv = float(r.statistic), float(len(pair) - 1)
        ci = r.confidence_interval(0.95)  # of mean(a - b); the change is b - a
        change = (float(-diff.mean()), float(-ci.high), float(-ci.low))
    else:
        r = stats.wilcoxon(pair[a], pair[b])
        stat, dfv = float(r.statistic), np.nan
    return (a, b, stat, dfv, float(r.pvalue), len(pair), "", change)


def _adjust(p: np.ndarray, correction: str) -> np.ndarray:
    """Return p-values adjusted for multiple comparisons; NaN entries stay NaN."""
    from statsmodels.stats.multitest import multipletests

    adj = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        adj[ok] = p[ok] if correction == "none" else multipletests(p[ok], method=correction)[1]
    return adj


def _posthoc(
    wide: pd.DataFrame, g: Hashable, order: Sequence[Hashable], posthoc: str, correction: str
) -> list[dict]:
    """Compare every pair of time points within group ``g``; return the ``posthoc`` rows."""
    rows = [
        _pair_test(wide[[a, b]].dropna(), a, b, posthoc)
        for a, b in itertools.combinations(order, 2)
    ]
    adj = _adjust(np.array([r[4] for r in rows], dtype=float), correction)
    return [
        {
            "group": g,
            "time_a": a,
            "time_b": b,
            "test": POSTHOC[posthoc],
            "statistic": stat,
            "df": dfv,
            "p_uncorrected": p,
            "p_adjusted": float(pa),
            "correction": CORRECTIONS[correction],
            "n": n,
            "note": note,
            "change": change[0],
            "change_ci_low": change[1],
            "change_ci_high": change[2],
        }
        for (a, b, stat, dfv, p, n, note, change), pa in zip(rows, adj, strict=True)
    ]


def _between(
    d: pd.DataFrame, groups: Sequence[Hashable], order: Sequence[Hashable], between: str
) -> list[dict]:
    """Compare the groups at each time point; return the ``between`` rows."""
    rows = []
    for t in order:
        arrays = [
            d.loc[(d["group"] == g) & (d["time"] == t), "value"].dropna().to_numpy() for g in groups
        ]
        nan = float("nan")
        res: dict[str, float | str] = dict.fromkeys(
            ["statistic", "df", "p_value", "difference", "diff_ci_low"], nan
        )
        res.update(test="", diff_ci_high=nan, note="")
        if min(len(a) for a in arrays) >= 2:
            r = continuous_test(arrays, between)
            res.update(
                test=r.test, statistic=r.statistic, df=r.df, p_value=r.p_value, note=r.note,
                difference=r.estimate, diff_ci_low=r.ci_low, diff_ci_high=r.ci_high,
            )  # fmt: skip
        rows.append({"time": t, **res, "n": int(sum(len(a) for a in arrays))})
    return rows


def compare_timepoints(
    df: pd.DataFrame,
    subject: Hashable,
    time: Hashable,
    value: Hashable,
    group: Hashable | None = None,
    order: Sequence[Hashable] | None = None,
    *,
    method: str = "rm_anova",
    posthoc: str | None = None,
    correction: str = "bonferroni",
    between: str | None = None,
) -> TimepointResult:
    """Test change over ordered time points within each group, and groups at each time.

    Parameters
    ----------
    df : pandas.DataFrame
        Long format: one row per subject × time point.
    subject, time, value : hashable
        Columns with the subject id, the time point label and the measurement.
    group : hashable, optional
        Between-subject group column (constant within subject).
    order : sequence, optional
        Time points in order (default: sorted labels). Rows at other time points are
        ignored.
    method : {"rm_anova", "friedman", "mixed"}, default "rm_anova"
        Within-group test: repeated-measures ANOVA with Greenhouse–Geisser correction
        (pingouin), Friedman's test, or a linear mixed model with a random intercept per
        subject (statsmodels MixedLM; keeps subjects with missing follow-up).
        ``rm_anova`` and ``friedman`` exclude incomplete subjects, counted in
        ``within.n_excluded`` and listed in ``excluded``.
    posthoc : {"paired_t", "wilcoxon"}, optional
        Pairwise test between time points (default: paired t for ``rm_anova`` and
        ``mixed``, Wilcoxon signed-rank for ``friedman``), on complete pairs.
    correction : {"bonferroni", "holm", "sidak", "fdr_bh", "none"}
        Multiple-comparison correction within each group.
    between : str, optional
        Between-group test at each time point, a name accepted by
        :func:`table1`'s ``tests`` (default: Student t / ANOVA, or Mann–Whitney /
        Kruskal–Wallis with ``method="friedman"``).

    Returns
    -------
    TimepointResult

    Raises
    ------
    StatsInputError
        Missing columns, non-numeric values, duplicated subject × time rows, unknown
        method or correction, a group that changes within a subject, or a group with
        fewer than 2 complete subjects.
    """
    df = as_frame(df)
    posthoc, between = _check_options(method, correction, posthoc, between)
    d = _long_table(df, subject, time, value, group)
    order = _time_order(d, time, order)
    d = d[d["time"].isin(order)]
    _check_design(d, subject, time, group)
    groups = _group_levels(df, d, group)
    descriptives = _descriptives(d, groups, order)

    within_rows: list[dict] = []
    post_rows: list[dict] = []
    excl_rows: list[dict] = []
    for g in groups:
        sub = d[d["group"] == g]
        wide = sub.pivot(index="subject", columns="time", values="value").reindex(columns=order)
        row, excluded = _within_group(sub, wide, g, order, value, method)
        within_rows.append(row)
        excl_rows += excluded
        post_rows += _posthoc(wide, g, order, posthoc, correction)

    between_rows = (
        _between(d, groups, order, between) if group is not None and len(groups) >= 2 else []
    )
    interaction = (
        mixed_anova_table(d, order)
        if group is not None and len(groups) >= 2 and method == "rm_anova"
        else pd.DataFrame(columns=INTERACTION_COLUMNS)
    )
    return TimepointResult(
        descriptives=descriptives,
        within=pd.DataFrame(within_rows).reindex(columns=WITHIN_COLUMNS),
        posthoc=pd.DataFrame(post_rows, columns=POSTHOC_COLUMNS),
        between=pd.DataFrame(between_rows, columns=BETWEEN_COLUMNS),
        order=tuple(order),
        method=method,
        excluded=pd.DataFrame(excl_rows, columns=["group", "subject"]),
        interaction=interaction,
    )
