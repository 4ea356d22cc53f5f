"""Measurement reliability: ICC, Bland–Altman, Cohen's and Fleiss' kappa, SEM and MDC95.

The point estimates come from the well-kept libraries: the six ICCs with their F tests
from :func:`pingouin.intraclass_corr`, Cohen's kappa and its asymptotic variances from
:func:`statsmodels.stats.inter_rater.cohens_kappa`, Fleiss' kappa from
:func:`statsmodels.stats.inter_rater.fleiss_kappa`. What they lack is written here and
named: ICC confidence intervals at any level without rounding (pingouin rounds them to
two decimals), the Bland–Altman confidence intervals and proportional-bias regression,
the standard error and z test of Fleiss' kappa, SEM and MDC95.

Every function refuses input it cannot analyse with a
:class:`~kyphoimg.errors.StatsInputError` naming the argument and the fix; heavy
dependencies (pingouin, statsmodels, matplotlib) are imported inside the functions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from kyphoimg.errors import StatsInputError

from ._validate import as_frame, as_numeric, require_columns

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "ICC_FORMS",
    "KOO_LI_BANDS",
    "MDC95_FACTOR",
    "BlandAltmanResult",
    "FleissKappaResult",
    "KappaResult",
    "bland_altman",
    "fleiss_kappa",
    "icc",
    "kappa",
    "koo_li_grade",
    "mdc95",
    "plot_bland_altman",
    "sem",
]

#: The six ICCs by their Shrout & Fleiss (1979) names, in pingouin's row order, with the
#: McGraw & Wong (1996) name and the description of the model, definition and unit.
ICC_FORMS: dict[str, tuple[str, str]] = {
    "ICC(1,1)": ("ICC(1)", "one-way random, absolute agreement, single rater"),
    "ICC(2,1)": ("ICC(A,1)", "two-way random, absolute agreement, single rater"),
    "ICC(3,1)": ("ICC(C,1)", "two-way mixed, consistency, single rater"),
    "ICC(1,k)": ("ICC(k)", "one-way random, absolute agreement, mean of k raters"),
    "ICC(2,k)": ("ICC(A,k)", "two-way random, absolute agreement, mean of k raters"),
    "ICC(3,k)": ("ICC(C,k)", "two-way mixed, consistency, mean of k raters"),
}
ICC_COLUMNS = (
    "form",
    "mcgraw_wong",
    "description",
    "icc",
    "f",
    "df1",
    "df2",
    "p_value",
    "ci_low",
    "ci_high",
    "conf_level",
    "n_targets",
    "n_raters",
)
ICC_CI_METHOD = (
    "F-distribution confidence intervals (Shrout & Fleiss 1979; McGraw & Wong 1996; "
    "ICC(2,1) with Satterthwaite degrees of freedom, ICC(2,k) its Spearman–Brown "
    "transform, as R psych::ICC)"
)
#: Koo & Li (2016, J Chiropr Med 15:155) bands: upper bound of each band and its name.
KOO_LI_BANDS: tuple[tuple[float, str], ...] = (
    (0.5, "poor"),
    (0.75, "moderate"),
    (0.9, "good"),
    (math.inf, "excellent"),
)
#: MDC95 = 1.96 · √2 · SEM (Weir 2005, J Strength Cond Res 19:231).
MDC95_FACTOR = 1.96 * math.sqrt(2.0)

_PINGOUIN_ORDER = tuple(ICC_FORMS)  # pingouin's rows: 1, A, C, 1k, Ak, Ck (any version)


# ================================================================================== ICC
def _icc_wide(
    df: Any, targets: Hashable, raters: Hashable, ratings: Hashable, incomplete: str
) -> tuple[pd.DataFrame, list[Any]]:
    """Validate the long table and return it wide (targets x raters) and the dropped targets."""
    frame = as_frame(df)
    require_columns(frame, [targets, raters, ratings], "df")
    if incomplete not in ("refuse", "drop"):
        raise StatsInputError(f"incomplete={incomplete!r}; use 'refuse' or 'drop'")
    values = as_numeric(frame[ratings], ratings)
    long = pd.DataFrame({"t": frame[targets], "r": frame[raters], "y": values})
    dup = long.duplicated(["t", "r"], keep=False)
    if dup.any():
        names = ", ".join(map(str, pd.unique(long.loc[dup, "t"])[:10]))
        raise StatsInputError(
            f"targets {names} are rated more than once by the same rater in {ratings!r}; "
            "keep one rating per target and rater (or average the repeats first)"
        )
    wide = long.pivot(index="t", columns="r", values="y")
    bad = wide.isna().any(axis=1)
    dropped = list(wide.index[bad])
    if dropped and incomplete == "refuse":
        names = ", ".join(map(str, dropped[:10])) + (" ..." if len(dropped) > 10 else "")
        raise StatsInputError(
            f"unbalanced design: {len(dropped)} target(s) not rated by every rater "
            f"({names}); the ICC needs every target rated by all {wide.shape[1]} raters. "
            "Complete the ratings, or pass incomplete='drop' to leave these targets out"
        )
    wide = wide[~bad]
    if wide.shape[0] < 2 or wide.shape[1] < 2:
        raise StatsInputError(
            f"the ICC needs at least 2 targets rated by at least 2 raters; got "
            f"{wide.shape[0]} complete target(s) and {wide.shape[1]} rater(s)"
        )
    return wide, dropped


def _mean_squares(x: np.ndarray) -> dict[str, float]:
    """Two-way ANOVA mean squares of an n x k table (rows: targets, columns: raters)."""
    n, k = x.shape
    grand = x.mean()
    ss_rows = k * float(((x.mean(axis=1) - grand) ** 2).sum())
    ss_cols = n * float(((x.mean(axis=0) - grand) ** 2).sum())
    ss_total = float(((x - grand) ** 2).sum())
    ss_error = max(ss_total - ss_rows - ss_cols, 0.0)
    return {
        "msr": ss_rows / (n - 1),
        "msc": ss_cols / (k - 1),
        "mse": ss_error / ((n - 1) * (k - 1)),
        "msw": (ss_cols + ss_error) / (n * (k - 1)),
    }


def _icc_intervals(
    ms: dict[str, float], icc2: float, n: int, k: int, conf_level: float
) -> list[tuple[float, float]]:
    """F-based CIs of the six ICCs (McGraw & Wong 1996; the formulas of R psych::ICC)."""
    q = 1 - (1 - conf_level) / 2
    # numpy floats: a zero mean square gives inf or NaN bounds, not ZeroDivisionError
    msr, msc, mse, msw = (np.float64(ms[k]) for k in ("msr", "msc", "mse", "msw"))
    df1, df_w, df_e = n - 1, n * (k - 1), (n - 1) * (k - 1)
    f1, f3 = msr / msw, msr / mse
    f1l, f1u = f1 / stats.f.ppf(q, df1, df_w), f1 * stats.f.ppf(q, df_w, df1)
    f3l, f3u = f3 / stats.f.ppf(q, df1, df_e), f3 * stats.f.ppf(q, df_e, df1)
    # ICC(2,1): Satterthwaite df of the denominator (McGraw & Wong 1996, Table 7)
    fj = msc / mse
    vn = df_e * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    vd = df1 * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v = vn / vd
    fu, fl = stats.f.ppf(q, df1, v), stats.f.ppf(q, v, df1)
    l2 = n * (msr - fu * mse) / (fu * (k * msc + (k * n - k - n) * mse) + n * msr)
    u2 = n * (fl * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fl * msr)
    return [
        ((f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1)),
        (l2, u2),
        ((f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1)),
        (1 - 1 / f1l, 1 - 1 / f1u),
        (l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1))),
        (1 - 1 / f3l, 1 - 1 / f3u),
    ]


def _pingouin_icc(wide: pd.DataFrame) -> pd.DataFrame:
    import pingouin

    long = wide.rename_axis("target").reset_index()
    long = long.melt(id_vars="target", var_name="rater", value_name="rating")
    with warnings.catch_warnings():
        # pingouin 0.7 calls DataFrame.dropna(inplace=True), deprecated in pandas 3.1;
        # constant ratings divide by zero (the ICC is then NaN).
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="pingouin")
        warnings.filterwarnings("ignore", message=".*inplace.*", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        with np.errstate(all="ignore"):
            return pingouin.intraclass_corr(
                data=long, targets="target", raters="rater", ratings="rating"
            )


def icc(
    df: pd.DataFrame,
    *,
    targets: Hashable,
    raters: Hashable,
    ratings: Hashable,
    incomplete: str = "refuse",
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Intraclass correlation coefficients: the six Shrout & Fleiss forms with F tests and CIs.

    The ICCs, F statistics, degrees of freedom and p-values are pingouin's
    (:func:`pingouin.intraclass_corr`, validated there against R ``psych::ICC``). The
    confidence intervals are computed here from the same ANOVA mean squares with the
    F-distribution formulas of McGraw & Wong (1996), as R ``psych::ICC`` does, at any
    ``conf_level`` and unrounded (pingouin rounds them to two decimals).

    Parameters
    ----------
    df : pandas.DataFrame
        Long table: one row per target (film, vertebra, subject) and rater.
    targets, raters, ratings : hashable
        Columns naming the target, the rater (or session), and the numeric rating.
    incomplete : {"refuse", "drop"}, optional
        An unbalanced design (a target not rated by every rater, or a missing rating)
        is refused naming the targets (default); ``"drop"`` leaves those targets out
        (listwise deletion) and lists them in ``result.attrs["dropped_targets"]``.
    conf_level : float, optional
        Level of the confidence intervals (default 0.95).

    Returns
    -------
    pandas.DataFrame
        One row per form, in the order of :data:`ICC_FORMS`: ``form`` (Shrout & Fleiss:
        ``ICC(1,1)``, ``ICC(2,1)``, ``ICC(3,1)``, ``ICC(1,k)``, ``ICC(2,k)``,
        ``ICC(3,k)``), ``mcgraw_wong`` (``ICC(1)``, ``ICC(A,1)``, ``ICC(C,1)``, ...),
        ``description`` (e.g. "two-way random, absolute agreement, single rater"),
        ``icc``, ``f``, ``df1``, ``df2``, ``p_value`` (F test of ICC = 0),
        ``ci_low``, ``ci_high``, ``conf_level``, ``n_targets``, ``n_raters``.
        ``attrs`` holds ``mean_squares`` (``msr``, ``msc``, ``mse``, ``msw``),
        ``dropped_targets`` and ``ci_method``.

    Raises
    ------
    StatsInputError
        A column is missing or not numeric, a target is rated twice by one rater, the
        design is unbalanced (with ``incomplete="refuse"``), or fewer than 2 targets or
        2 raters remain.

    Notes
    -----
    With ``k`` raters and ``n`` targets, and the mean squares of rows (``MSR``),
    columns (``MSC``), error (``MSE``) and within rows (``MSW``):
    ICC(1,1) = (MSR − MSW) / (MSR + (k − 1) MSW);
    ICC(2,1) = (MSR − MSE) / (MSR + (k − 1) MSE + k (MSC − MSE) / n);
    ICC(3,1) = (MSR − MSE) / (MSR + (k − 1) MSE); the ``(·,k)`` forms are the
    reliability of the mean of the k raters. The F test of the absolute-agreement forms
    uses ``df2 = (n − 1)(k − 1)`` as pingouin and psych do; R ``irr::icc`` tests them on
    Satterthwaite degrees of freedom instead (the F value is the same).

    References
    ----------
    Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability.
    Psychol Bull 1979;86:420-8. McGraw KO, Wong SP. Forming inferences about some
    intraclass correlation coefficients. Psychol Methods 1996;1:30-46.

    Examples
    --------
    >>> wide = pd.DataFrame({"A": [9, 6, 8, 7, 10, 6], "B": [2, 1, 4, 1, 5, 2],
    ...                      "C": [5, 3, 6, 2, 6, 4], "D": [8, 2, 8, 6, 9, 7]})
    >>> long = wide.rename_axis("film").reset_index().melt("film", var_name="reader")
    >>> t = icc(long, targets="film", raters="reader", ratings="value")
    >>> t.set_index("form").loc["ICC(2,1)", "icc"].round(2)  # Shrout & Fleiss 1979: .29
    np.float64(0.29)
    """
    if not 0 < conf_level < 1:
        raise StatsInputError(f"conf_level={conf_level!r}; give a level between 0 and 1")
    wide, dropped = _icc_wide(df, targets, raters, ratings, incomplete)
    n, k = wide.shape
    ms = _mean_squares(wide.to_numpy(float))
    res = _pingouin_icc(wide)
    values = res["ICC"].to_numpy(float)
    with np.errstate(all="ignore"):
        intervals = _icc_intervals(ms, float(values[1]), n, k, conf_level)
    out = pd.DataFrame(
        {
            "form": list(_PINGOUIN_ORDER),
            "mcgraw_wong": [ICC_FORMS[f][0] for f in _PINGOUIN_ORDER],
            "description": [ICC_FORMS[f][1] for f in _PINGOUIN_ORDER],
            "icc": values,
            "f": res["F"].to_numpy(float),
            "df1": res["df1"].to_numpy(float),
            "df2": res["df2"].to_numpy(float),
            "p_value": res["pval"].to_numpy(float),
            "ci_low": [float(lo) for lo, _ in intervals],
            "ci_high": [float(hi) for _, hi in intervals],
            "conf_level": conf_level,
            "n_targets": n,
            "n_raters": k,
        },
        columns=list(ICC_COLUMNS),
    )
    out.attrs.update(mean_squares=ms, dropped_targets=dropped, ci_method=ICC_CI_METHOD)
    return out


def koo_li_grade(ci_low: float, ci_high: float) -> str:
    """Grade an ICC on its confidence interval as Koo & Li (2016) recommend.

    Parameters
    ----------
    ci_low, ci_high : float
        The ICC's confidence bounds.

    Returns
    -------
    str
        The band of each bound (< 0.5 poor, 0.5–0.75 moderate, 0.75–0.9 good,
        > 0.9 excellent): one name when both bounds fall in the same band, else
        ``"poor to good"`` and so on; ``""`` when a bound is missing.

    Examples
    --------
    >>> koo_li_grade(0.83, 0.94)
    'good to excellent'
    """
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return ""

    def band(x: float) -> str:
        return next(name for upper, name in KOO_LI_BANDS if x < upper)

    low, high = band(ci_low), band(ci_high)
    return low if low == high else f"{low} to {high}"


# ================================================================================== SEM
def sem(icc: float | np.ndarray, sd: float | np.ndarray) -> float | np.ndarray:
    """Return the standard error of measurement, SEM = SD · √(1 − ICC) (Weir 2005).

    Not :func:`scipy.stats.sem` (the standard error of a mean): this is the typical
    error of one measurement in the measure's own unit.

    Parameters
    ----------
    icc : float or array
        The reliability coefficient (e.g. ICC(2,1) across readers, ICC(3,1) for one
        reader's repeated reading); at most 1.
    sd : float or array
        Standard deviation of all measurements (every reader's, pooled), >= 0.

    Returns
    -------
    float or numpy.ndarray
        SEM in the unit of ``sd``; NaN where an input is NaN. A negative ICC (no
        reliability) gives an SEM above the SD.

    Raises
    ------
    StatsInputError
        If an ICC exceeds 1 or an SD is negative.

    References
    ----------
    Weir JP. Quantifying test-retest reliability using the intraclass correlation
    coefficient and the SEM. J Strength Cond Res 2005;19:231-40.

    Examples
    --------
    >>> round(sem(0.91, 4.0), 6)
    1.2
    """
    i, s = np.asarray(icc, dtype=float), np.asarray(sd, dtype=float)
    if np.any(i > 1):
        raise StatsInputError(f"icc={icc!r}: an ICC is at most 1")
    if np.any(s < 0):
        raise StatsInputError(f"sd={sd!r}: a standard deviation is not negative")
    out = s * np.sqrt(1.0 - i)
    return float(out) if out.ndim == 0 else out


def mdc95(sem: float | np.ndarray) -> float | np.ndarray:
    """Minimal detectable change at 95 % confidence, MDC95 = 1.96 · √2 · SEM (Weir 2005).

    The smallest change between two measurements of the same vertebra (two films, or two
    readings) that exceeds measurement error with 95 % confidence.

    Parameters
    ----------
    sem : float or array
        Standard error of measurement (see :func:`sem`).

    Returns
    -------
    float or numpy.ndarray
        MDC95 in the unit of ``sem``.

    References
    ----------
    Weir JP. J Strength Cond Res 2005;19:231-40 (MDC = SEM × 1.96 × √2).

    Examples
    --------
    >>> round(mdc95(1.0), 4)
    2.7719
    """
    out = np.asarray(sem, dtype=float) * MDC95_FACTOR
    return float(out) if out.ndim == 0 else out


# ======================================================================== Bland–Altman
@dataclass(frozen=True)
class BlandAltmanResult:
    """Bland–Altman agreement of two measurements of the same subjects.

    Attributes
    ----------
    n, n_dropped : int
        Pairs analysed, and pairs left out for a missing value.
    bias, sd : float
        Mean and standard deviation (n − 1) of the differences ``a − b``.
    loa_low, loa_high : float
        Limits of agreement, ``bias ∓ loa_multiplier · sd``.
    loa_multiplier : float
        1.96 for 95 % limits (2 in Bland & Altman 1986).
    conf_level : float
        Level of the confidence intervals.
    se_bias, bias_ci_low, bias_ci_high : float
        ``sd / √n`` and the t interval of the bias (n − 1 df).
    se_loa : float
        Approximate standard error of each limit, ``√(3 sd² / n)`` (Bland & Altman 1986,
        1999).
    loa_low_ci_low, loa_low_ci_high, loa_high_ci_low, loa_high_ci_high : float
        t intervals (n − 1 df) of the two limits.
    slope, intercept, slope_ci_low, slope_ci_high, slope_p_value : float
        Least-squares regression of the differences on the means (proportional bias:
        the difference changes with the size of the measurement when the slope is not
        0); NaN with fewer than 3 pairs or constant means.
    n_outside : int
        Differences outside the limits of agreement.
    label_a, label_b, unit : str
        Names of the two measurements and their unit (for tables and plots).
    means, differences : numpy.ndarray
        Per pair ``(a + b) / 2`` and ``a − b``.
    """

    n: int
    n_dropped: int
    bias: float
    sd: float
    loa_low: float
    loa_high: float
    loa_multiplier: float
    conf_level: float
    se_bias: float
    bias_ci_low: float
    bias_ci_high: float
    se_loa: float
    loa_low_ci_low: float
    loa_low_ci_high: float
    loa_high_ci_low: float
    loa_high_ci_high: float
    slope: float
    intercept: float
    slope_ci_low: float
    slope_ci_high: float
    slope_p_value: float
    n_outside: int
    label_a: str = "a"
    label_b: str = "b"
    unit: str = ""
    means: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)
    differences: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        """One-row table of the results (without the per-pair arrays).

        Returns
        -------
        pandas.DataFrame
            Every scalar attribute as a column, ``label_a`` first.
        """
        skip = {"means", "differences", "label_a", "label_b", "unit"}
        row = {"label_a": self.label_a, "label_b": self.label_b, "unit": self.unit}
        row.update({k: getattr(self, k) for k in self.__dataclass_fields__ if k not in skip})
        return pd.DataFrame([row])


def _regression(means: np.ndarray, diffs: np.ndarray, conf_level: float) -> tuple[float, ...]:
    """Slope, intercept, slope CI and p of the differences on the means (NaN when undefined)."""
    nan = (math.nan,) * 5
    if len(means) < 3 or np.ptp(means) == 0:
        return nan
    fit = stats.linregress(means, diffs)
    t = stats.t.ppf(1 - (1 - conf_level) / 2, len(means) - 2)
    return (
        float(fit.slope),
        float(fit.intercept),
        float(fit.slope - t * fit.stderr),
        float(fit.slope + t * fit.stderr),
        float(fit.pvalue),
    )


def bland_altman(
    a: Sequence[float] | np.ndarray | pd.Series,
    b: Sequence[float] | np.ndarray | pd.Series,
    *,
    conf_level: float = 0.95,
    loa_multiplier: float = 1.96,
    label_a: str = "a",
    label_b: str = "b",
    unit: str = "",
) -> BlandAltmanResult:
    """Bland–Altman bias and limits of agreement with confidence intervals.

    Parameters
    ----------
    a, b : array-like
        Paired measurements of the same subjects (e.g. reader A and reader B); pairs with
        a missing value are left out and counted in ``n_dropped``.
    conf_level : float, optional
        Level of the confidence intervals of the bias and of the limits (default 0.95).
    loa_multiplier : float, optional
        Limits at ``bias ∓ loa_multiplier · SD`` (default 1.96, 95 % limits; Bland &
        Altman 1986 used 2).
    label_a, label_b, unit : str, optional
        Names and unit carried into tables and :func:`plot_bland_altman`.

    Returns
    -------
    BlandAltmanResult
        Bias (mean of ``a − b``), SD, limits, their CIs, and the proportional-bias
        regression of the differences on the means.

    Raises
    ------
    StatsInputError
        If the two inputs differ in length, are not numeric, or fewer than 2 complete
        pairs remain.

    Notes
    -----
    CI of the bias: ``bias ± t · SD/√n``; CI of each limit: ``limit ± t · √(3 SD²/n)``,
    the approximate standard error of Bland & Altman (1986, 1999), with ``t`` the
    ``(1 + conf_level)/2`` quantile of Student's t on n − 1 degrees of freedom.

    References
    ----------
    Bland JM, Altman DG. Statistical methods for assessing agreement between two methods
    of clinical measurement. Lancet 1986;i:307-10. Bland JM, Altman DG. Measuring
    agreement in method comparison studies. Stat Methods Med Res 1999;8:135-60.

    Examples
    --------
    >>> r = bland_altman([494, 395, 516, 434], [512, 430, 520, 428])
    >>> round(r.bias, 2), r.n
    (-12.75, 4)
    """
    if not 0 < conf_level < 1:
        raise StatsInputError(f"conf_level={conf_level!r}; give a level between 0 and 1")
    x = as_numeric(pd.Series(np.asarray(a, dtype=object)), label_a, allow_all_missing=True)
    y = as_numeric(pd.Series(np.asarray(b, dtype=object)), label_b, allow_all_missing=True)
    if len(x) != len(y):
        raise StatsInputError(
            f"{label_a} has {len(x)} values and {label_b} {len(y)}; give one pair per subject"
        )
    ok = (x.notna() & y.notna()).to_numpy()
    xa, ya = x.to_numpy()[ok], y.to_numpy()[ok]
    n = len(xa)
    if n < 2:
        raise StatsInputError(
            f"Bland–Altman needs at least 2 complete pairs of {label_a} and {label_b}; got {n}"
        )
    diffs, means = xa - ya, (xa + ya) / 2
    bias, sd = float(diffs.mean()), float(diffs.std(ddof=1))
    t = float(stats.t.ppf(1 - (1 - conf_level) / 2, n - 1))
    se_bias, se_loa = sd / math.sqrt(n), math.sqrt(3 * sd**2 / n)
    low, high = bias - loa_multiplier * sd, bias + loa_multiplier * sd
    slope, intercept, s_lo, s_hi, s_p = _regression(means, diffs, conf_level)
    return BlandAltmanResult(
        n=n,
        n_dropped=int((~ok).sum()),
        bias=bias,
        sd=sd,
        loa_low=low,
        loa_high=high,
        loa_multiplier=float(loa_multiplier),
        conf_level=conf_level,
        se_bias=se_bias,
        bias_ci_low=bias - t * se_bias,
        bias_ci_high=bias + t * se_bias,
        se_loa=se_loa,
        loa_low_ci_low=low - t * se_loa,
        loa_low_ci_high=low + t * se_loa,
        loa_high_ci_low=high - t * se_loa,
        loa_high_ci_high=high + t * se_loa,
        slope=slope,
        intercept=intercept,
        slope_ci_low=s_lo,
        slope_ci_high=s_hi,
        slope_p_value=s_p,
        n_outside=int(((diffs < low) | (diffs > high)).sum()),
        label_a=label_a,
        label_b=label_b,
        unit=unit,
        means=means,
        differences=diffs,
    )


def _num(x: float) -> str:
    return f"{x:.3g}".replace("-", "−")


def _with_unit(text: str, unit: str) -> str:
    return f"{text} ({unit})" if unit else text


def plot_bland_altman(
    result: BlandAltmanResult,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    unit: str | None = None,
    show_regression: bool = True,
) -> Figure:
    """Draw a Bland–Altman plot, readable in greyscale.

    Differences against means as open black circles; the bias as a solid line, the
    limits of agreement as dashed lines, each with its confidence interval as a grey
    band; the proportional-bias regression as a dotted line. Axis labels carry the unit.

    Parameters
    ----------
    result : BlandAltmanResult
        From :func:`bland_altman`.
    ax : matplotlib.axes.Axes, optional
        Draw into these axes; by default a new figure (not registered with pyplot).
    title : str, optional
        Axes title.
    unit : str, optional
        Unit for the axis labels (default ``result.unit``).
    show_regression : bool, optional
        Draw the regression of the differences on the means (default True).

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the axes.
    """
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(5.6, 4.0), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.get_figure()  # type: ignore[assignment]
    unit = result.unit if unit is None else unit
    r = result
    bands = [
        (r.bias, r.bias_ci_low, r.bias_ci_high, "-", f"bias {_num(r.bias)}"),
        (r.loa_high, r.loa_high_ci_low, r.loa_high_ci_high, "--",
         f"+{r.loa_multiplier:g} SD {_num(r.loa_high)}"),
        (r.loa_low, r.loa_low_ci_low, r.loa_low_ci_high, "--",
         f"−{r.loa_multiplier:g} SD {_num(r.loa_low)}"),
    ]  # fmt: skip
    for y, lo, hi, style, text in bands:
        ax.axhspan(lo, hi, color="0.88", zorder=0, linewidth=0)
        ax.axhline(y, color="0.0", linestyle=style, linewidth=1.2, zorder=2)
        ax.annotate(
            text, (1.0, y), xycoords=("axes fraction", "data"), xytext=(-3, 3),
            textcoords="offset points", ha="right", va="bottom", fontsize=8, color="0.0",
        )  # fmt: skip
    ax.axhline(0.0, color="0.55", linewidth=0.8, zorder=1)
    ax.scatter(
        r.means, r.differences, s=22, facecolors="none", edgecolors="0.0", linewidths=0.9,
        zorder=3,
    )  # fmt: skip
    if show_regression and math.isfinite(r.slope):
        xs = np.array([r.means.min(), r.means.max()])
        ax.plot(xs, r.intercept + r.slope * xs, linestyle=":", color="0.3", linewidth=1.2)
    ax.set_xlabel(_with_unit(f"mean of {r.label_a} and {r.label_b}", unit))
    ax.set_ylabel(_with_unit(f"{r.label_a} − {r.label_b}", unit))
    if title:
        ax.set_title(title, fontsize=10)
    return fig


# ================================================================================ kappa
@dataclass(frozen=True)
class KappaResult:
    """Cohen's kappa of two raters, unweighted or weighted.

    Attributes
    ----------
    kappa : float
        The coefficient (NaN when undefined: both raters used one and the same category).
    se : float
        Asymptotic standard error (Fleiss, Cohen & Everitt 1969), used for the CI.
    ci_low, ci_high : float
        ``kappa ∓ z · se`` at ``conf_level`` (as SAS PROC FREQ and R psych), clipped to
        [−1, 1].
    conf_level : float
        Level of the interval.
    se0, z, p_value : float
        Standard error under kappa = 0 and the two-sided z test (as R ``irr::kappa2``).
    n, n_dropped : int
        Pairs analysed; pairs left out for a missing rating.
    weights : str
        ``"unweighted"``, ``"linear"`` or ``"quadratic"``.
    categories : tuple
        The ordered categories; weights follow their positions (equal spacing).
    observed_agreement : float
        Proportion of exact agreements.
    note : str
        Why the kappa is NaN, if it is.
    """

    kappa: float
    se: float
    ci_low: float
    ci_high: float
    conf_level: float
    se0: float
    z: float
    p_value: float
    n: int
    n_dropped: int
    weights: str
    categories: tuple[Any, ...]
    observed_agreement: float
    note: str = ""

    def to_frame(self) -> pd.DataFrame:
        """One-row table of the results.

        Returns
        -------
        pandas.DataFrame
            Every attribute as a column (``categories`` joined with ``|``).
        """
        row = {k: getattr(self, k) for k in self.__dataclass_fields__}
        row["categories"] = "|".join(map(str, self.categories))
        return pd.DataFrame([row])


def _present(values: Any) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(values, dtype=object)
    return arr, ~np.asarray(pd.isna(arr), dtype=bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def _categories(observed: Sequence[Any], given: Sequence[Any] | None, weighted: bool) -> list:
    """Return the ordered categories: given (checked), else the sorted observed values."""
    if given is not None:
        cats = list(given)
        unknown = [v for v in observed if v not in cats]
        if unknown:
            raise StatsInputError(
                f"rating(s) {', '.join(map(repr, unknown[:5]))} not among categories "
                f"{cats}; add them or recode the ratings"
            )
        return cats
    if all(_is_number(v) for v in observed):
        return sorted(observed, key=float)
    if weighted:
        raise StatsInputError(
            f"weighted kappa needs ordered categories; the ratings {sorted(map(str, observed))} "
            "are not numbers: give categories=[...] in their order"
        )
    return sorted(observed, key=str)


def _kappa_table(
    r1: Any, r2: Any, categories: Sequence[Any] | None, weighted: bool
) -> tuple[np.ndarray, list, int, int]:
    a, ok_a = _present(r1)
    b, ok_b = _present(r2)
    if len(a) != len(b):
        raise StatsInputError(
            f"r1 has {len(a)} ratings and r2 {len(b)}; give one pair of ratings per subject"
        )
    ok = ok_a & ok_b
    a, b = a[ok], b[ok]
    if len(a) == 0:
        raise StatsInputError("no subject has a rating from both raters; kappa needs pairs")
    observed = list(pd.unique(np.concatenate([a, b])))
    cats = _categories(observed, categories, weighted)
    pos = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)))
    np.add.at(table, ([pos[v] for v in a], [pos[v] for v in b]), 1)
    return table, cats, len(a), int((~ok).sum())


def kappa(
    r1: Sequence[Any] | np.ndarray | pd.Series,
    r2: Sequence[Any] | np.ndarray | pd.Series,
    weights: str | None = None,
    *,
    categories: Sequence[Any] | None = None,
    conf_level: float = 0.95,
) -> KappaResult:
    """Cohen's kappa of two raters (unweighted, linear or quadratic weights) with its CI.

    Estimate and asymptotic variances are statsmodels'
    (:func:`statsmodels.stats.inter_rater.cohens_kappa`): the standard error of Fleiss,
    Cohen & Everitt (1969) for the confidence interval, and the standard error under
    kappa = 0 for the z test (the test R ``irr::kappa2`` reports).

    Parameters
    ----------
    r1, r2 : array-like
        The two raters' ratings of the same subjects; pairs with a missing rating are
        left out (listwise, as ``irr``).
    weights : {None, "linear", "quadratic"}, optional
        ``None`` (unweighted) for nominal findings; ``"linear"`` (irr's ``"equal"``) or
        ``"quadratic"`` (irr's ``"squared"``) for ordered grades such as Genant 0–3.
    categories : sequence, optional
        The categories in their order. Weights follow the positions (equally spaced),
        so give the whole scale (``[0, 1, 2, 3]``) to weight a grade nobody used as its
        place on the scale. Default: the observed values, sorted (as ``irr``).
    conf_level : float, optional
        Level of the confidence interval (default 0.95).

    Returns
    -------
    KappaResult
        ``kappa``, ``se``, ``ci_low``, ``ci_high``, ``se0``, ``z``, ``p_value``, ``n``.

    Raises
    ------
    StatsInputError
        Unknown ``weights``, inputs of different length, no complete pair, a rating not
        among ``categories``, or weighted kappa on unordered text without ``categories``.

    References
    ----------
    Cohen J. Educ Psychol Meas 1960;20:37-46; Cohen J. Psychol Bull 1968;70:213-20;
    Fleiss JL, Cohen J, Everitt BS. Psychol Bull 1969;72:323-7.

    Examples
    --------
    >>> r = kappa(["yes", "no", "yes", "yes"], ["yes", "no", "no", "yes"])
    >>> round(r.kappa, 3), r.n
    (0.5, 4)
    """
    from statsmodels.stats.inter_rater import cohens_kappa

    if weights not in (None, "linear", "quadratic"):
        raise StatsInputError(f"weights={weights!r}; use None, 'linear' or 'quadratic'")
    if not 0 < conf_level < 1:
        raise StatsInputError(f"conf_level={conf_level!r}; give a level between 0 and 1")
    table, cats, n, dropped = _kappa_table(r1, r2, categories, weights is not None)
    name = weights or "unweighted"
    agree = float(np.trace(table) / n)
    p_row, p_col = table.sum(1) / n, table.sum(0) / n
    pos = np.arange(len(cats), dtype=float)
    disagree = np.abs(pos[:, None] - pos) if weights else 1.0 - np.eye(len(cats))
    if float((disagree * np.outer(p_row, p_col)).sum()) == 0.0:
        return KappaResult(
            kappa=math.nan, se=math.nan, ci_low=math.nan, ci_high=math.nan,
            conf_level=conf_level, se0=math.nan, z=math.nan, p_value=math.nan, n=n,
            n_dropped=dropped, weights=name, categories=tuple(cats), observed_agreement=agree,
            note="both raters used one and the same category: kappa is undefined",
        )  # fmt: skip
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if weights is None:
            res = cohens_kappa(table)
        else:
            res = cohens_kappa(table, weights=pos, wt=weights)
    se = math.sqrt(max(float(res.var_kappa), 0.0))
    se0 = math.sqrt(max(float(res.var_kappa0), 0.0))
    k = float(res.kappa)
    zq = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    z = k / se0 if se0 > 0 else math.nan
    return KappaResult(
        kappa=k,
        se=se,
        ci_low=max(k - zq * se, -1.0),
        ci_high=min(k + zq * se, 1.0),
        conf_level=conf_level,
        se0=se0,
        z=z,
        p_value=float(2 * stats.norm.sf(abs(z))) if math.isfinite(z) else math.nan,
        n=n,
        n_dropped=dropped,
        weights=name,
        categories=tuple(cats),
        observed_agreement=agree,
    )


@dataclass(frozen=True)
class FleissKappaResult:
    """Fleiss' kappa of m raters on nominal categories.

    Attributes
    ----------
    kappa : float
        The coefficient (statsmodels' :func:`~statsmodels.stats.inter_rater.fleiss_kappa`).
    se0, z, p_value : float
        Standard error under kappa = 0 (Fleiss, Nee & Landis 1979, as R
        ``irr::kappam.fleiss``) and the two-sided z test.
    n_subjects, n_raters, n_dropped : int
        Subjects analysed, raters, and subjects left out for a missing rating.
    categories : tuple
        The categories observed.
    """

    kappa: float
    se0: float
    z: float
    p_value: float
    n_subjects: int
    n_raters: int
    n_dropped: int
    categories: tuple[Any, ...]

    def to_frame(self) -> pd.DataFrame:
        """One-row table of the results.

        Returns
        -------
        pandas.DataFrame
            Every attribute as a column (``categories`` joined with ``|``).
        """
        row = {k: getattr(self, k) for k in self.__dataclass_fields__}
        row["categories"] = "|".join(map(str, self.categories))
        return pd.DataFrame([row])


def fleiss_kappa(wide: pd.DataFrame | np.ndarray) -> FleissKappaResult:
    """Fleiss' kappa of several raters (one column per rater, one row per subject).

    Parameters
    ----------
    wide : pandas.DataFrame or 2-D array
        Ratings, subjects in rows and raters in columns (any hashable categories);
        subjects with a missing rating are left out (listwise, as ``irr``).

    Returns
    -------
    FleissKappaResult
        ``kappa``, ``se0``, ``z``, ``p_value``, ``n_subjects``, ``n_raters``.

    Raises
    ------
    StatsInputError
        Fewer than 2 raters, or no subject rated by all of them.

    Notes
    -----
    ``se0² = 2 / (Σ p_j q_j)² / (n m (m − 1)) · ((Σ p_j q_j)² − Σ p_j q_j (q_j − p_j))``
    with ``p_j`` the proportion of all ratings in category ``j`` and ``q_j = 1 − p_j``
    (Fleiss, Nee & Landis 1979). It is the standard error under kappa = 0, for the test;
    no confidence interval is given.

    References
    ----------
    Fleiss JL. Measuring nominal scale agreement among many raters. Psychol Bull
    1971;76:378-82. Fleiss JL, Nee JCM, Landis JR. Psychol Bull 1979;86:974-7.

    Examples
    --------
    >>> r = fleiss_kappa(np.array([[1, 1, 1], [2, 2, 2], [1, 2, 1], [2, 2, 2]]))
    >>> round(r.kappa, 3), r.n_raters
    (0.657, 3)
    """
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    arr = np.asarray(wide, dtype=object)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise StatsInputError(
            "fleiss_kappa needs a 2-D table with one column per rater (at least 2 raters)"
        )
    ok = ~np.asarray(pd.isna(arr), dtype=bool).any(axis=1)
    arr = arr[ok]
    n, m = arr.shape
    if n == 0:
        raise StatsInputError("no subject is rated by every rater; Fleiss' kappa needs some")
    cats = _categories(list(pd.unique(arr.ravel())), None, weighted=False)
    pos = {c: i for i, c in enumerate(cats)}
    codes = np.vectorize(pos.__getitem__, otypes=[int])(arr)
    counts = np.stack([np.bincount(row, minlength=len(cats)) for row in codes])
    p = counts.sum(0) / (n * m)
    q = 1 - p
    spq = float((p * q).sum())
    if spq == 0.0:
        nan = math.nan
        return FleissKappaResult(nan, nan, nan, nan, n, m, int((~ok).sum()), tuple(cats))
    k = float(sm_fleiss(counts))
    var0 = 2 / (spq**2 * n * m * (m - 1)) * (spq**2 - float((p * q * (q - p)).sum()))
    se0 = math.sqrt(var0)
    z = k / se0
    return FleissKappaResult(
        kappa=k,
        se0=se0,
        z=z,
        p_value=float(2 * stats.norm.sf(abs(z))),
        n_subjects=n,
        n_raters=m,
        n_dropped=int((~ok).sum()),
        categories=tuple(cats),
    )
