"""Tests of table1 / correlate / compare_timepoints against printed R output.

Every expected value is R output found in public sources (see tests/reference/README.md
and r_examples.R there):
- [tidystats] WillemSleegers/tidystats, tests/testthat/test_htest.R: R htest values
  (t.test, chisq.test, wilcox.test, kruskal.test, fisher.test, cor.test, oneway.test);
- [jhsph] biostat.jhsph.edu/~iruczins/teaching/materials/code/pnp/c.pnp.html: R output
  of paired t, Wilcoxon signed-rank and rank-sum tests;
- [TeaLady] online.stat.psu.edu/onlinecourses/sites/stat504/files/lesson03/TeaLady.out:
  R output of fisher.test(tea);
- [cor.test] the Hollander & Wolfe example of ?cor.test; R output quoted in the
  BitsnBobs documentation and in tidystats' tests.
R's 'sleep' data: datasets::sleep (Cushny & Peebles via Student 1908).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kyphoimg.stats import compare_timepoints, correlate, table1

SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def sleep() -> pd.DataFrame:
    return pd.DataFrame(
        {"ID": list(range(1, 11)) * 2, "group": [1] * 10 + [2] * 10, "extra": SLEEP_1 + SLEEP_2}
    )


def counts_to_rows(
    table: list[list[int]], row_name: str = "v", col_name: str = "g"
) -> pd.DataFrame:
    """Expand a contingency table (rows = levels of v, columns = groups) to one row per subject."""
    rows = []
    for i, r in enumerate(table):
        for j, count in enumerate(r):
            rows += [{row_name: f"r{i}", col_name: f"c{j}"}] * count
    return pd.DataFrame(rows)


def one_test(t1, var: str) -> pd.Series:
    return t1.tests.set_index("variable").loc[var]


# --------------------------------------------------------------------------- t tests
def test_student_t_default_matches_r_sleep() -> None:
    t = one_test(table1(sleep(), "group", continuous=["extra"]), "extra")
    # [tidystats] t.test(extra ~ group, data = sleep, var.equal = TRUE):
    #   t -1.860813, df 18, p 0.07918671
    assert t["test"] == "Student t-test (pooled variance)"
    assert t["statistic"] == pytest.approx(-1.860813, abs=1e-6)
    assert t["df"] == 18
    assert t["p_value"] == pytest.approx(0.07918671, abs=1e-8)


def test_welch_t_on_request_matches_r_sleep() -> None:
    t = one_test(table1(sleep(), "group", continuous=["extra"], tests={"extra": "welch"}), "extra")
    # [tidystats] t.test(extra ~ group, data = sleep): t -1.860813, df 17.77647, p 0.07939414
    assert t["test"] == "Welch t-test"
    assert t["df"] == pytest.approx(17.77647, abs=1e-5)
    assert t["p_value"] == pytest.approx(0.07939414, abs=1e-8)


@pytest.mark.parametrize(
    ("method", "p"),
    [
        ("welch_anova", 0.07939414),  # [tidystats] oneway.test(extra ~ group, data = sleep)
        ("anova", 0.07918671),  # [tidystats] oneway.test(..., var.equal = TRUE)
    ],
)
def test_one_way_anova_matches_r_oneway_test(method: str, p: float) -> None:
    t = one_test(table1(sleep(), "group", continuous=["extra"], tests={"extra": method}), "extra")
    # both: F = 3.462627
    assert t["statistic"] == pytest.approx(3.462627, abs=1e-6)
    assert t["p_value"] == pytest.approx(p, abs=1e-8)
    if method == "welch_anova":
        assert t["df2"] == pytest.approx(17.77647, abs=1e-5)


def test_paired_t_matches_r_sleep() -> None:
    r = compare_timepoints(sleep(), "ID", "group", "extra", order=[1, 2])
    post = r.posthoc.iloc[0]
    # [tidystats] t.test(extra_1, extra_2, paired = TRUE): t -4.062128, df 9, p 0.00283289
    assert post["statistic"] == pytest.approx(-4.062128, abs=1e-6)
    assert post["df"] == 9
    assert post["p_uncorrected"] == pytest.approx(0.00283289, abs=1e-8)
    # With two time points the RM-ANOVA F is t² and its p the paired-t p.
    within = r.within.iloc[0]
    assert within["statistic"] == pytest.approx(4.062128**2, rel=1e-6)
    assert within["p_value"] == pytest.approx(0.00283289, abs=1e-8)


JHSPH_X = [117.3, 100.1, 94.5, 135.5, 92.9, 118.9, 144.8, 103.9, 103.8, 153.6, 163.1]
JHSPH_Y = [145.9, 94.8, 108.0, 122.6, 130.2, 143.9, 149.9, 138.5, 91.7, 162.6, 202.5]


def jhsph_long() -> pd.DataFrame:
    return pd.DataFrame(
        {"s": list(range(11)) * 2, "t": ["x"] * 11 + ["y"] * 11, "v": JHSPH_X + JHSPH_Y}
    )


def test_paired_t_matches_r_jhsph() -> None:
    r = compare_timepoints(jhsph_long(), "s", "t", "v", order=["y", "x"])
    post = r.posthoc.iloc[0]
    # [jhsph] t.test(y, x, paired = TRUE): t = 2.5015, df = 10, p-value = 0.03137
    assert post["statistic"] == pytest.approx(2.5015, abs=5e-5)
    assert post["p_uncorrected"] == pytest.approx(0.03137, abs=5e-6)


def test_wilcoxon_signed_rank_matches_r_jhsph() -> None:
    r = compare_timepoints(jhsph_long(), "s", "t", "v", order=["y", "x"], method="friedman")
    # [jhsph] wilcox.test(d) with d = y - x: V = 55, p-value = 0.05371 (exact)
    assert r.within["p_value"].iat[0] == pytest.approx(0.05371, abs=5e-6)
    assert r.posthoc["p_uncorrected"].iat[0] == pytest.approx(0.05371, abs=5e-6)
    # scipy reports min(V+, V-); with n = 11 the ranks sum to 66, so V+ = 55 <-> 11.
    assert r.posthoc["statistic"].iat[0] == 66 - 55


# --------------------------------------------------------------------------- rank tests
def test_mann_whitney_exact_matches_r_jhsph() -> None:
    x = [43.3, 57.1, 35.0, 50.0, 38.2, 61.2]
    y = [51.9, 95.1, 90.0, 49.7, 101.5, 74.1, 84.5, 46.8, 75.1]
    d = pd.DataFrame({"g": ["x"] * 6 + ["y"] * 9, "v": x + y})
    t = one_test(table1(d, "g", nonnormal=["v"], tests={"v": "mannwhitney_exact"}), "v")
    # [jhsph] wilcox.test(x, y): W = 8, p-value = 0.02557 (exact)
    assert t["statistic"] == 8
    assert t["p_value"] == pytest.approx(0.02557, abs=5e-6)


def test_mann_whitney_asymptotic_without_continuity_matches_r() -> None:
    x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    y = [1.15, 0.88, 0.90, 0.74, 1.21]
    d = pd.DataFrame({"g": ["x"] * 10 + ["y"] * 5, "v": x + y})
    t = one_test(table1(d, "g", nonnormal=["v"]), "v")
    # [tidystats] wilcox.test(x, y, alternative = "greater", exact = FALSE, correct = FALSE):
    #   W = 35, p = 0.1103357 (one-sided). The default here is two-sided, which for the
    #   symmetric normal approximation is twice the one-sided value.
    assert t["test"] == "Mann–Whitney U (asymptotic, tie-corrected)"
    assert t["statistic"] == 35
    assert t["p_value"] == pytest.approx(2 * 0.1103357, abs=2e-7)


def test_kruskal_wallis_matches_r() -> None:
    x = [2.9, 3.0, 2.5, 2.6, 3.2]
    y = [3.8, 2.7, 4.0, 2.4]
    z = [2.8, 3.4, 3.7, 2.2, 2.0]
    d = pd.DataFrame({"g": ["x"] * 5 + ["y"] * 4 + ["z"] * 5, "v": x + y + z})
    t = one_test(table1(d, "g", nonnormal=["v"]), "v")
    # [tidystats] kruskal.test(list(x, y, z)): H 0.7714286, df 2, p 0.6799648
    assert t["test"] == "Kruskal–Wallis H"
    assert t["statistic"] == pytest.approx(0.7714286, abs=1e-7)
    assert t["p_value"] == pytest.approx(0.6799648, abs=1e-7)


# --------------------------------------------------------------------------- tables
def test_pearson_chi_square_matches_r() -> None:
    d = counts_to_rows([[762, 327, 468], [484, 239, 477]])
    # rows here = gender levels, columns = party; as a grouping use the party columns
    t = one_test(table1(d, "g", categorical=["v"]), "v")
    # [tidystats] chisq.test(M) for M = rbind(c(762, 327, 468), c(484, 239, 477)):
    #   X2 30.07015, df 2, p 2.953589e-07
    assert t["test"] == "Pearson chi-square (no continuity correction)"
    assert t["statistic"] == pytest.approx(30.07015, abs=1e-5)
    assert t["df"] == 2
    assert t["p_value"] == pytest.approx(2.953589e-07, rel=1e-6)


def test_yates_only_on_request_matches_r() -> None:
    d = counts_to_rows([[12, 7], [5, 7]])  # matrix(c(12, 5, 7, 7), ncol = 2)
    yates = one_test(table1(d, "g", categorical=["v"], tests={"v": "chi2_yates"}), "v")
    # [tidystats] chisq.test(matrix(c(12, 5, 7, 7), ncol = 2)): X2 0.6411203, p 0.4233054
    assert yates["test"] == "Pearson chi-square with Yates' continuity correction"
    assert yates["statistic"] == pytest.approx(0.6411203, abs=1e-7)
    assert yates["p_value"] == pytest.approx(0.4233054, abs=1e-7)
    default = one_test(table1(d, "g", categorical=["v"]), "v")
    assert default["test"] == "Pearson chi-square (no continuity correction)"
    assert default["statistic"] > yates["statistic"]


def test_fisher_chosen_for_small_expected_counts_matches_r_tea_tasting() -> None:
    d = counts_to_rows([[3, 1], [1, 3]])
    t = one_test(table1(d, "g", categorical=["v"]), "v")
    # [TeaLady] fisher.test(tea), two-sided: p-value = 0.4857
    assert t["test"] == "Fisher exact (two-sided)"
    assert "expected count < 5" in t["note"]
    assert t["p_value"] == pytest.approx(0.4857, abs=5e-5)


def test_fisher_on_request_matches_r_convictions() -> None:
    d = counts_to_rows([[2, 15], [10, 3]])  # Convictions <- matrix(c(2, 10, 15, 3), nrow = 2)
    t = one_test(table1(d, "g", categorical=["v"], tests={"v": "fisher"}), "v")
    # [tidystats] fisher.test(Convictions, conf.int = FALSE): p 0.0005367241
    assert t["p_value"] == pytest.approx(0.0005367241, abs=1e-10)


def test_fisher_freeman_halton_rxc_matches_r_within_monte_carlo_error() -> None:
    job = np.array([1, 2, 1, 0, 3, 3, 6, 1, 10, 10, 14, 9, 6, 7, 12, 11]).reshape(4, 4, order="F")
    d = counts_to_rows(job.tolist())
    t = one_test(table1(d, "g", categorical=["v"], tests={"v": "fisher"}), "v")
    # [tidystats] fisher.test(Job) (exact network algorithm): p 0.7826849. Ours is a seeded
    # Monte Carlo estimate from 1e5 tables: SE = sqrt(p(1-p)/1e5) ~ 0.0013; allow 3 SE.
    assert "Monte Carlo" in t["test"]
    assert t["p_value"] == pytest.approx(0.7826849, abs=0.004)


# --------------------------------------------------------------------------- correlation
HW_X = [44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1]
HW_Y = [2.6, 3.1, 2.5, 5.0, 3.6, 4.0, 5.2, 2.8, 3.8]


def test_pearson_correlation_matches_r_cor_test() -> None:
    d = pd.DataFrame({"x": HW_X, "y": HW_Y})
    r = correlate(d, "y", ["x"], method="pearson").iloc[0]
    # [cor.test] t = 1.8411, df = 7, p-value = 0.1082; 95 % CI -0.1497426 0.8955795;
    #   cor 0.5711816; [tidystats] p 0.1081731
    assert r["r"] == pytest.approx(0.5711816, abs=1e-7)
    assert r["statistic"] == pytest.approx(1.8411, abs=5e-5)
    assert r["df"] == 7
    assert r["p_value"] == pytest.approx(0.1081731, abs=1e-7)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((-0.1497426, 0.8955795), abs=1e-7)


def test_pearson_second_example_matches_r() -> None:
    # R output quoted with the Hollander & Wolfe example (same notebook):
    # cor.test(C, F): t = 47.197, df = 5, p-value = 8.066e-08, CI 0.9920730 0.9998421, cor 0.9988796
    d = pd.DataFrame({"C": [0, 2, 4, 6, 8, 10, 12], "F": [2.1, 5.0, 9.0, 12.6, 17.3, 21.0, 24.7]})
    r = correlate(d, "F", ["C"], method="pearson").iloc[0]
    assert r["r"] == pytest.approx(0.9988796, abs=1e-7)
    assert r["statistic"] == pytest.approx(47.197, abs=5e-4)
    assert r["p_value"] == pytest.approx(8.066e-08, rel=1e-3)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((0.9920730, 0.9998421), abs=1e-7)


def test_rank_correlations_match_r() -> None:
    d = pd.DataFrame({"x": HW_X, "y": HW_Y})
    sp = correlate(d, "y", ["x"], method="spearman").iloc[0]
    # [tidystats] cor.test(x, y, method = "spearman"): rho 0.6, S 48 (R's p 0.09679784 is
    # exact (AS 89); ours is the t approximation SPSS prints, so p is not compared).
    assert sp["r"] == pytest.approx(0.6, abs=1e-12)
    assert (len(HW_X) ** 3 - len(HW_X)) / 6 * (1 - sp["r"]) == pytest.approx(48)
    kt = correlate(d, "y", ["x"], method="kendall").iloc[0]
    # [tidystats] cor.test(x, y, method = "kendall"): tau 0.4444444, T 26, p 0.1194389
    assert kt["r"] == pytest.approx(0.4444444, abs=1e-7)
    assert kt["p_value"] == pytest.approx(0.1194389, abs=1e-7)
