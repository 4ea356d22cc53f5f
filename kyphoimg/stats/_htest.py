"""Group-comparison tests with SPSS-like defaults, each returning the name of the test.

Continuous variables: Student t (pooled variance) for two groups and one-way ANOVA for
more; Welch and rank tests on request. Categorical variables: Pearson chi-square
*without* Yates' correction, switching to Fisher's exact test when an expected count
is below 5 (SPSS prints both; see ``docs/statistics.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from kyphoimg.errors import StatsInputError

__all__ = [
    "CATEGORICAL_TESTS",
    "CONTINUOUS_TESTS",
    "TestResult",
    "categorical_test",
    "continuous_test",
    "welch_anova",
]

#: Names accepted for continuous comparisons, with the label written in tables.
CONTINUOUS_TESTS: dict[str, str] = {
    "student": "Student t-test (pooled variance)",
    "welch": "Welch t-test",
    "mannwhitney": "Mann–Whitney U (asymptotic, tie-corrected)",
    "mannwhitney_exact": "Mann–Whitney U (exact)",
    "anova": "One-way ANOVA",
    "welch_anova": "Welch ANOVA",
    "kruskal": "Kruskal–Wallis H",
}

#: Names accepted for categorical comparisons.
CATEGORICAL_TESTS: dict[str, str] = {
    "auto": "Pearson chi-square, or Fisher exact when an expected count < 5",
    "chi2": "Pearson chi-square (no continuity correction)",
    "chi2_yates": "Pearson chi-square with Yates' continuity correction",
    "fisher": "Fisher exact (two-sided)",
}

_FISHER_RXC_RESAMPLES = 100_000
_FISHER_RXC_SEED = 20240601


@dataclass(frozen=True)
class TestResult:
    """One hypothesis test.

    Attributes
    ----------
    test : str
        Human-readable name, e.g. ``"Student t-test (pooled variance)"``.
    statistic : float
        Test statistic (t, U, F, H, chi-square; NaN for Fisher's exact test on 2×2).
    df : float
        Degrees of freedom (NaN where not applicable). For F tests the denominator
        degrees of freedom are in ``df2``.
    p_value : float
        Two-sided p-value.
    df2 : float
        Denominator degrees of freedom of F tests, else NaN.
    note : str
        Extra information (e.g. why Fisher's test was chosen).
    estimate, ci_low, ci_high : float
        For t-tests: the difference of means (first group minus second) and its 95 %
        CI under the test's own variance assumption (pooled for Student, Welch–
        Satterthwaite for Welch); NaN for other tests.
    """

    __test__ = False  # not a pytest test class

    test: str
    statistic: float
    df: float
    p_value: float
    df2: float = float("nan")
    note: str = ""
    estimate: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")


def welch_anova(groups: Sequence[np.ndarray]) -> TestResult:
    """Welch's heteroscedastic one-way ANOVA (Welch 1951).

    Parameters
    ----------
    groups : sequence of numpy.ndarray
        One array of values per group (no NaN), at least two values each.

    Returns
    -------
    TestResult
        F statistic with ``df`` (numerator) and ``df2`` (Welch denominator).
    """
    k = len(groups)
    n = np.array([len(g) for g in groups], dtype=float)
    m = np.array([np.mean(g) for g in groups])
    v = np.array([np.var(g, ddof=1) for g in groups])
    w = n / v
    sw = w.sum()
    grand = (w * m).sum() / sw
    a = (w * (m - grand) ** 2).sum() / (k - 1)
    lam = ((1 - w / sw) ** 2 / (n - 1)).sum()
    b = 1 + 2 * (k - 2) / (k**2 - 1) * lam
    f = a / b
    df2 = (k**2 - 1) / (3 * lam)
    p = float(stats.f.sf(f, k - 1, df2))
    return TestResult(CONTINUOUS_TESTS["welch_anova"], float(f), float(k - 1), p, float(df2))


#: Levene's test (mean-centred, as SPSS) below this p flags a pooled t-test.
LEVENE_ALPHA = 0.05


def _unequal_variances(a: np.ndarray, b: np.ndarray) -> str:
    """Flag a pooled t-test whose groups have unequal variances, with Welch's p ('' if not)."""
    if len(a) < 2 or len(b) < 2:
        return ""
    lev = stats.levene(a, b, center="mean")
    if not lev.pvalue < LEVENE_ALPHA:
        return ""
    welch = stats.ttest_ind(a, b, equal_var=False)
    return (
        f"unequal variances (Levene {_p_text(float(lev.pvalue))}); "
        f"Welch t-test {_p_text(float(welch.pvalue))}"
    )


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def continuous_test(groups: Sequence[np.ndarray], method: str) -> TestResult:
    """Compare a continuous variable between groups.

    Parameters
    ----------
    groups : sequence of numpy.ndarray
        Values per group, missing values already removed.
    method : str
        One of :data:`CONTINUOUS_TESTS`. Two-group methods with more than two groups
        are mapped to their k-group counterparts (Student → ANOVA, Welch → Welch ANOVA,
        Mann–Whitney → Kruskal–Wallis).

    Returns
    -------
    TestResult
        A pooled (Student) t-test whose groups have unequal variances (Levene's test,
        mean-centred as SPSS, p < 0.05) says so in ``note``, with Welch's p.

    Raises
    ------
    StatsInputError
        Unknown method.
    """
    if method not in CONTINUOUS_TESTS:
        raise StatsInputError(
            f"unknown continuous test {method!r}; use one of {', '.join(CONTINUOUS_TESTS)}"
        )
    k = len(groups)
    if k > 2:
        method = {
            "student": "anova",
            "welch": "welch_anova",
            "mannwhitney": "kruskal",
            "mannwhitney_exact": "kruskal",
        }.get(method, method)
    name = CONTINUOUS_TESTS[method]
    if all(np.ptp(g) == 0 for g in groups):
        return TestResult(
            name, np.nan, np.nan, np.nan, note="no variation within groups: test not computed"
        )
    if method in ("student", "welch"):
        a, b = groups
        res = stats.ttest_ind(a, b, equal_var=method == "student")
        note = _unequal_variances(a, b) if method == "student" else ""
        ci = res.confidence_interval(0.95)
        return TestResult(
            name,
            float(res.statistic),
            float(res.df),
            float(res.pvalue),
            note=note,
            estimate=float(np.mean(a) - np.mean(b)),
            ci_low=float(ci.low),
            ci_high=float(ci.high),
        )
    if method in ("mannwhitney", "mannwhitney_exact"):
        a, b = groups
        kind = "exact" if method == "mannwhitney_exact" else "asymptotic"
        res = stats.mannwhitneyu(a, b, alternative="two-sided", method=kind, use_continuity=False)
        return TestResult(name, float(res.statistic), np.nan, float(res.pvalue))
    if method == "anova":
        res = stats.f_oneway(*groups)
        n = sum(len(g) for g in groups)
        return TestResult(name, float(res.statistic), float(k - 1), float(res.pvalue), float(n - k))
    if method == "welch_anova":
        return welch_anova(groups)
    res = stats.kruskal(*groups)
    return TestResult(name, float(res.statistic), float(k - 1), float(res.pvalue))


def categorical_test(table: np.ndarray, method: str = "auto") -> TestResult:
    """Test independence in a contingency table (rows: levels, columns: groups).

    Parameters
    ----------
    table : numpy.ndarray of int, shape (r, c)
        Observed counts. Rows or columns that are all zero are dropped first.
    method : {"auto", "chi2", "chi2_yates", "fisher"}
        ``"auto"`` (SPSS-like) gives Pearson chi-square without continuity correction,
        or Fisher's exact test when any expected count is below 5. For tables larger
        than 2×2 Fisher's test is the Freeman–Halton extension, estimated by Monte Carlo
        with 100 000 tables and a fixed seed (stated in the test name).

    Returns
    -------
    TestResult

    Raises
    ------
    StatsInputError
        Unknown method.
    """
    if method not in CATEGORICAL_TESTS:
        raise StatsInputError(
            f"unknown categorical test {method!r}; use one of {', '.join(CATEGORICAL_TESTS)}"
        )
    t = np.asarray(table, dtype=np.int64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return TestResult(
            CATEGORICAL_TESTS["chi2"], np.nan, np.nan, np.nan, note="a single level: no test"
        )
    expected = stats.contingency.expected_freq(t)
    note = ""
    if method == "auto":
        if (expected < 5).any():
            method = "fisher"
            note = f"expected count < 5 in {int((expected < 5).sum())} cell(s)"
        else:
            method = "chi2"
    if method == "fisher":
        if t.shape == (2, 2):
            res = stats.fisher_exact(t)
            return TestResult(
                CATEGORICAL_TESTS["fisher"], np.nan, np.nan, float(res.pvalue), note=note
            )
        mc = stats.MonteCarloMethod(
            n_resamples=_FISHER_RXC_RESAMPLES, rng=np.random.default_rng(_FISHER_RXC_SEED)
        )
        res = stats.fisher_exact(t, method=mc)
        name = (
            "Fisher–Freeman–Halton exact (Monte Carlo, "
            f"{_FISHER_RXC_RESAMPLES} tables, seed {_FISHER_RXC_SEED})"
        )
        # SciPy gives a shape-(1,) array for some tables (e.g. 4x2 with counts 0-2)
        return TestResult(name, np.nan, np.nan, float(np.asarray(res.pvalue).item()), note=note)
    yates = method == "chi2_yates"
    res = stats.chi2_contingency(t, correction=yates)
    name = CATEGORICAL_TESTS["chi2_yates" if yates and t.shape == (2, 2) else "chi2"]
    return TestResult(name, float(res.statistic), float(res.dof), float(res.pvalue), note=note)
