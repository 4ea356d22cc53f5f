"""Correlation of candidate factors with an outcome, each coefficient with its method named."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from kyphoimg.errors import StatsInputError

from ._htest import categorical_test
from ._validate import as_binary, as_frame, as_numeric, require_columns

__all__ = ["CORRELATION_METHODS", "correlate"]

#: Method names and the test written in the output.
CORRELATION_METHODS: dict[str, str] = {
    "pearson": "Pearson r, t-test (n − 2 df)",
    "pointbiserial": "Point-biserial r (Pearson on 0/1 coding), t-test (n − 2 df)",
    "phi": (
        "Phi coefficient (Pearson on 0/1 coding); p as in Table 1: Pearson chi-square, or "
        "Fisher exact when an expected count < 5"
    ),
    "spearman": "Spearman rho, t approximation (n − 2 df, as SPSS)",
    "kendall": "Kendall tau-b (exact p without ties and n ≤ 33, else normal approximation)",
    "cramers_v": (
        "Cramér's V (nominal factor of more than two levels); p as in Table 1: Pearson "
        "chi-square, or Fisher exact when an expected count < 5"
    ),
}

COLUMNS = [
    "factor",
    "outcome",
    "method",
    "n",
    "r",
    "ci_low",
    "ci_high",
    "statistic",
    "df",
    "p_value",
    "test",
    "ci_method",
    "coding",
]


def _code(series: pd.Series, name: Hashable, positive: Any = None) -> tuple[pd.Series, bool, str]:
    """Return (numeric values, is_binary, coding text)."""
    nonmissing = series.dropna()
    levels = pd.unique(nonmissing)
    if len(levels) == 0:
        raise StatsInputError(
            f"column {name!r}: every value is missing; fill it in or drop it from the analysis"
        )
    if len(levels) == 1:
        raise StatsInputError(
            f"column {name!r} is constant ({levels[0]!r}); a correlation needs variation, "
            "drop the column"
        )
    if len(levels) == 2:
        numeric_01 = {v for v in levels} <= {0, 1}
        if positive is None and not numeric_01:
            try:
                ordered = sorted(levels)
            except TypeError:
                ordered = sorted(levels, key=str)
            positive = ordered[1]
        natural = numeric_01 and (positive is None or positive is True or positive == 1)
        y, _ = as_binary(series, positive, name)
        coding = "" if natural else f"{name}: {positive!r} = 1"
        return pd.Series(y, index=series.index), True, coding
    is_number = pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
    if not is_number and pd.to_numeric(nonmissing, errors="coerce").isna().all():
        return series, False, "nominal"
    return as_numeric(series, name), False, ""


def _table_test(table: np.ndarray) -> dict:
    """Test of a contingency table by the one rule Table 1 uses (``categorical_test``).

    Returns ``statistic, df, p_value`` and the name of the test that gave the p-value.
    """
    res = categorical_test(table, "auto")
    name = res.test + (f" ({res.note})" if res.note else "")
    return {"statistic": res.statistic, "df": res.df, "p_value": res.p_value, "test": name}


def _cramers_v(x: pd.Series, y: np.ndarray) -> dict:
    """Cramér's V of a nominal factor with a (binary or nominal) outcome and its test."""
    table = pd.crosstab(x.to_numpy(), y).to_numpy()
    chi = stats.chi2_contingency(table, correction=False)
    n = table.sum()
    v = float(np.sqrt(chi.statistic / (n * (min(table.shape) - 1))))
    return {"r": v, "ci_low": np.nan, "ci_high": np.nan, **_table_test(table), "ci_method": ""}


def _fisher_ci(
    r: float, n: int, z: float, var_factor: float = 1.0, offset: int = 3
) -> tuple[float, float]:
    if n - offset <= 0 or not np.isfinite(r) or abs(r) >= 1:
        return float("nan"), float("nan")
    half = z * np.sqrt(var_factor / (n - offset))
    zr = np.arctanh(r)
    return float(np.tanh(zr - half)), float(np.tanh(zr + half))


def _nominal_row(
    fac: Hashable, outcome: Hashable, x_all: pd.Series, y_all: pd.Series, y_coding: str
) -> dict:
    """Return the row of a nominal factor (more than two text levels): Cramér's V."""
    keep = y_all.notna() & x_all.notna()
    n = int(keep.sum())
    if n < 3:
        raise StatsInputError(
            f"factor {fac!r}: only {n} complete pair(s) with {outcome!r}; at least 3 are needed"
        )
    res = _cramers_v(x_all[keep], y_all[keep].to_numpy())
    return {
        "factor": fac,
        "outcome": outcome,
        "method": "cramers_v",
        "n": n,
        **res,
        "test": f"Cramér's V; p: {res['test']}",
        "coding": "; ".join(c for c in (y_coding, f"{fac}: nominal levels") if c),
    }


def correlate(
    df: pd.DataFrame,
    outcome: Hashable,
    factors: Sequence[Hashable],
    method: str = "auto",
    *,
    positive: Any = None,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Correlate each factor with the outcome, naming the coefficient and its test.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject.
    outcome : hashable
        Outcome column (binary or continuous).
    factors : sequence of hashable
        Candidate factor columns.
    method : {"auto", "pearson", "pointbiserial", "phi", "spearman", "kendall"}
        ``"auto"`` picks phi for binary–binary pairs, point-biserial when one of the
        two is binary and Pearson otherwise. A text factor of more than two levels
        (NPEC: no / superior / inferior / both) always gets Cramér's V with the Pearson
        chi-square test (no CI). Binary columns are coded 0/1 (``positive``
        for the outcome; for a factor, the larger or later-sorting level is 1).
    positive : object, optional
        Event value of a binary outcome.
    conf_level : float, default 0.95
        Level of the confidence interval.

    Returns
    -------
    pandas.DataFrame
        One row per factor with columns ``factor, outcome, method, n, r, ci_low,
        ci_high, statistic, df, p_value, test, ci_method, coding``. ``statistic`` is t
        (Pearson, point-biserial, Spearman), chi-square (phi, Cramér's V; NaN when
        Fisher's exact test gave p) or z/tau (Kendall). The p of a phi or Cramér's V
        comes from the rule Table 1 uses (Pearson chi-square without continuity
        correction, Fisher's exact test when an expected count is below 5), named in
        ``test``, so one table gets one p-value everywhere. CIs
        use Fisher's z: SE 1/sqrt(n−3) for Pearson-type coefficients, sqrt(1.06/(n−3))
        for Spearman and sqrt(0.437/(n−4)) for Kendall (Fieller, Hartley & Pearson 1957).
        Pairs with a missing value are dropped per factor; ``n`` is what remains.

    Raises
    ------
    StatsInputError
        Unknown method, a missing, constant or all-missing column, non-numeric values in
        a column with more than two levels, or fewer than 3 complete pairs.

    Examples
    --------
    >>> d = pd.DataFrame({"y": [0, 0, 0, 1, 1, 1], "x": [1.0, 2.0, 2.5, 3.0, 4.0, 3.5]})
    >>> correlate(d, "y", ["x"])[["method", "test"]].iloc[0].tolist()[0]
    'pointbiserial'
    """
    df = as_frame(df)
    if method != "auto" and method not in CORRELATION_METHODS:
        raise StatsInputError(
            f"unknown method {method!r}; use 'auto' or one of {', '.join(CORRELATION_METHODS)}"
        )
    factors = list(factors)
    require_columns(df, [outcome, *factors], "correlate")
    y_all, y_bin, y_coding = _code(df[outcome], outcome, positive)
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    rows = []
    for fac in factors:
        x_all, x_bin, x_coding = _code(df[fac], fac)
        if x_coding == "nominal":
            rows.append(_nominal_row(fac, outcome, x_all, y_all, y_coding))
            continue
        keep = y_all.notna() & x_all.notna()
        x = x_all[keep].to_numpy(dtype=float)
        y = y_all[keep].to_numpy(dtype=float)
        n = int(keep.sum())
        if n < 3:
            raise StatsInputError(
                f"factor {fac!r}: only {n} complete pair(s) with {outcome!r}; at least 3 are needed"
            )
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            raise StatsInputError(
                f"factor {fac!r} or outcome {outcome!r} is constant among complete pairs; "
                "drop the factor"
            )
        m = method
        if m == "auto":
            m = "phi" if (x_bin and y_bin) else ("pointbiserial" if (x_bin or y_bin) else "pearson")
        if m == "pointbiserial" and not (x_bin or y_bin):
            raise StatsInputError(
                f"point-biserial needs a binary variable; neither {fac!r} nor {outcome!r} is binary"
            )
        if m == "phi" and not (x_bin and y_bin):
            raise StatsInputError(
                f"phi needs two binary variables; {fac!r} or {outcome!r} is not binary"
            )
        df_ = float("nan")
        ci_method = "Fisher z, SE = 1/sqrt(n − 3)"
        if m in ("pearson", "pointbiserial", "phi"):
            r = float(stats.pearsonr(x, y).statistic)
            lo, hi = _fisher_ci(r, n, z)
            test = CORRELATION_METHODS[m]
            if m == "phi":
                # the same 2x2 table as in Table 1, tested by the same rule
                tt = _table_test(pd.crosstab(x, y).to_numpy())
                stat, p, df_ = tt["statistic"], tt["p_value"], tt["df"]
                test = f"Phi coefficient (Pearson on 0/1 coding); p: {tt['test']}"
                ci_method += " (approximate for phi)"
            else:
                df_ = float(n - 2)
                stat = r * np.sqrt(df_ / (1 - r**2)) if abs(r) < 1 else float(np.sign(r) * np.inf)
                p = float(2 * stats.t.sf(abs(stat), df_))
        elif m == "spearman":
            test = CORRELATION_METHODS[m]
            res = stats.spearmanr(x, y)
            r = float(res.statistic)
            df_ = float(n - 2)
            stat = r * np.sqrt(df_ / (1 - r**2)) if abs(r) < 1 else float(np.sign(r) * np.inf)
            p = float(res.pvalue)
            lo, hi = _fisher_ci(r, n, z, 1.06)
            ci_method = "Fisher z, SE = sqrt(1.06/(n − 3))"
        else:
            test = CORRELATION_METHODS[m]
            res = stats.kendalltau(x, y)
            r = float(res.statistic)
            stat = r
            p = float(res.pvalue)
            lo, hi = _fisher_ci(r, n, z, 0.437, 4)
            ci_method = "Fisher z, SE = sqrt(0.437/(n − 4))"
        rows.append(
            {
                "factor": fac,
                "outcome": outcome,
                "method": m,
                "n": n,
                "r": r,
                "ci_low": lo,
                "ci_high": hi,
                "statistic": float(stat),
                "df": df_,
                "p_value": p,
                "test": test,
                "ci_method": ci_method,
                "coding": "; ".join(c for c in (y_coding, x_coding) if c),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
