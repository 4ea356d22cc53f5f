"""Reliability statistics against published reference outputs.

Sources of every expected number (``tests/reference/README.md``, ``irr_reliability.R``):

- [SF79] Shrout & Fleiss, Psychol Bull 1979;86:420, Table 2 data (6 targets x 4 judges)
  and their published ICCs .17/.29/.71/.44/.62/.91; R ``psych::ICC`` on the same data
  (F, p and CIs, printed in the psych example output and quoted in pingouin's
  ``tests/test_reliability.py``).
- [irr] R ``irr`` 0.84 on its data sets ``anxiety`` (20 x 3) and ``diagnoses`` (30 x 6,
  Fleiss 1971): ``icc``, ``kappa2`` and ``kappam.fleiss`` output at 7 digits as recorded
  in statsmodels ``stats/tests/test_inter_rater.py``, and as printed (3 digits) in a
  knitted R Markdown course chapter and in sophiedkk/pyirr ``tests/``.
- [SAS] SAS PROC FREQ kappa example output (3 x 3 table), recorded in statsmodels
  ``stats/tests/test_inter_rater.py``.
- [BA86] Bland & Altman, Lancet 1986;i:307, Table 1 (PEFR, Wright vs mini Wright meter,
  first readings) and the numbers in its text; also checked by blandr's
  ``tests/testthat/test-pefr.r``.
- [G15] Giavarina, Biochem Med 2015;25:141, Table 1 (30 pairs), values as in blandr's
  ``tests/testthat/test-giavarina.r``.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pandas as pd
import pytest

from kyphoimg.errors import StatsInputError
from kyphoimg.stats import reliability as rel
from kyphoimg.stats.reliability import (
    ICC_FORMS,
    bland_altman,
    fleiss_kappa,
    icc,
    kappa,
    koo_li_grade,
    mdc95,
    plot_bland_altman,
    sem,
)

# ---------------------------------------------------------------------------- data sets
# [SF79] Table 2: 6 targets (rows) rated by 4 judges.
SHROUT_FLEISS = pd.DataFrame(
    {
        "J1": [9, 6, 8, 7, 10, 6],
        "J2": [2, 1, 4, 1, 5, 2],
        "J3": [5, 3, 6, 2, 6, 4],
        "J4": [8, 2, 8, 6, 9, 7],
    }
)
# [irr] data(anxiety): 20 subjects rated 1-6 by 3 raters (read from irr's anxiety.rda).
ANXIETY = pd.DataFrame(
    {
        "rater1": [3, 3, 3, 4, 5, 5, 2, 3, 5, 2, 2, 6, 1, 5, 2, 2, 1, 2, 4, 3],
        "rater2": [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4],
        "rater3": [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2],
    }
)
# [irr] data(diagnoses): 30 patients, 6 psychiatrists, 5 categories (Fleiss 1971), coded by
# their factor level: 1 Depression, 2 Personality Disorder, 3 Schizophrenia, 4 Neurosis,
# 5 Other (read from irr's diagnoses.rda).
DIAGNOSES = pd.DataFrame(
    {
        "rater1": [4, 2, 2, 5, 2, 1, 3, 1, 1, 5, 1, 1, 2, 1, 2, 3, 1, 1, 2, 1, 5, 2, 2, 1, 1,
                   2, 1, 2, 1, 5],
        "rater2": [4, 2, 3, 5, 2, 1, 3, 1, 1, 5, 4, 2, 2, 4, 2, 3, 1, 1, 2, 3, 5, 4, 2, 1, 4,
                   2, 1, 2, 3, 5],
        "rater3": [4, 2, 3, 5, 2, 3, 3, 3, 4, 5, 4, 4, 2, 4, 4, 3, 1, 1, 4, 3, 5, 4, 4, 4, 4,
                   2, 1, 4, 3, 5],
        "rater4": [4, 5, 3, 5, 4, 3, 3, 3, 4, 5, 4, 4, 3, 4, 4, 3, 4, 1, 4, 5, 5, 4, 5, 4, 4,
                   2, 1, 4, 3, 5],
        "rater5": [4, 5, 3, 5, 4, 3, 5, 3, 4, 5, 4, 4, 3, 4, 4, 3, 5, 1, 4, 5, 5, 4, 5, 4, 4,
                   2, 5, 4, 3, 5],
        "rater6": [4, 5, 5, 5, 4, 3, 5, 4, 4, 5, 4, 4, 3, 4, 5, 5, 5, 2, 4, 5, 5, 4, 5, 4, 5,
                   4, 5, 4, 3, 5],
    }
)  # fmt: skip
DIAGNOSIS_LABELS = {
    1: "1. Depression",
    2: "2. Personality Disorder",
    3: "3. Schizophrenia",
    4: "4. Neurosis",
    5: "5. Other",
}
# [BA86] Table 1: PEFR (l/min), first reading with each meter, 17 subjects.
WRIGHT = [494, 395, 516, 434, 476, 557, 413, 442, 650, 433, 417, 656, 267, 478, 178, 423, 427]
MINI = [512, 430, 520, 428, 500, 600, 364, 380, 658, 445, 432, 626, 260, 477, 259, 350, 451]
# [G15] Table 1: method A and method B, 30 samples.
GIAVARINA_A = [1, 5, 10, 20, 50, 40, 50, 60, 70, 80, 90, 100, 150, 200, 250, 300, 350, 400,
               450, 500, 550, 600, 650, 700, 750, 800, 850, 900, 950, 1000]  # fmt: skip
GIAVARINA_B = [8, 16, 30, 24, 39, 54, 40, 68, 72, 62, 122, 80, 181, 259, 275, 380, 320, 434,
               479, 587, 626, 648, 738, 766, 793, 851, 871, 957, 1001, 960]  # fmt: skip


def _long(wide: pd.DataFrame) -> pd.DataFrame:
    return wide.rename_axis("target").reset_index().melt("target", var_name="rater")


def _by_form(table: pd.DataFrame) -> pd.DataFrame:
    return table.set_index("form")


# ================================================================================== ICC
def test_icc_reproduces_shrout_and_fleiss_1979() -> None:
    t = _by_form(icc(_long(SHROUT_FLEISS), targets="target", raters="rater", ratings="value"))
    assert list(t.index) == list(ICC_FORMS)
    # [SF79] published ICCs, two decimals
    published = {"ICC(1,1)": 0.17, "ICC(2,1)": 0.29, "ICC(3,1)": 0.71,
                 "ICC(1,k)": 0.44, "ICC(2,k)": 0.62, "ICC(3,k)": 0.91}  # fmt: skip
    for form, value in published.items():
        assert t.loc[form, "icc"] == pytest.approx(value, abs=0.005), form
    # psych::ICC print: F 1.79 / 11.03 (DescTools prints 1.79 and 11.03), df, p 0.16477 / 0.00013
    assert t.loc["ICC(1,1)", "f"] == pytest.approx(1.79, abs=0.005)
    assert t.loc["ICC(2,1)", "f"] == pytest.approx(11.03, abs=0.005)
    assert list(t["df1"]) == [5] * 6
    assert list(t["df2"]) == [18, 15, 15, 18, 15, 15]
    assert t.loc["ICC(1,1)", "p_value"] == pytest.approx(0.16477, abs=5e-5)
    assert t.loc["ICC(3,1)", "p_value"] == pytest.approx(0.00013, abs=5e-6)
    # psych::ICC lower bounds (3 decimals) and upper bounds (2 decimals)
    lower = [-0.133, 0.019, 0.342, -0.884, 0.071, 0.676]
    upper = [0.72, 0.76, 0.95, 0.91, 0.93, 0.99]
    np.testing.assert_allclose(t["ci_low"], lower, atol=5e-4)
    np.testing.assert_allclose(t["ci_high"], upper, atol=5e-3)


def test_icc_reproduces_irr_on_anxiety() -> None:
    t = _by_form(icc(_long(ANXIETY), targets="target", raters="rater", ratings="value"))
    # [irr] icc(anxiety, model="twoway", type="agreement"): ICC(A,1) = 0.198,
    # F(19, 39.7) = 1.83, 95% CI -0.039 < ICC < 0.494 (irr tests on Satterthwaite df;
    # pingouin and psych on (n-1)(k-1) = 38: the F value is the same)
    row = t.loc["ICC(2,1)"]
    assert row["mcgraw_wong"] == "ICC(A,1)"
    assert row["description"] == "two-way random, absolute agreement, single rater"
    assert (round(row["icc"], 3), round(row["f"], 2)) == (0.198, 1.83)
    assert (round(row["ci_low"], 3), round(row["ci_high"], 3)) == (-0.039, 0.494)
    assert row["df2"] == 38


def test_icc_intervals_match_pingouin_unrounded() -> None:
    """Our F-based CIs are pingouin's formulas; pingouin merely rounds them to 2 decimals."""
    import pingouin

    long = _long(ANXIETY)
    saved = pingouin.options.copy()
    try:
        pingouin.options["round.column.CI95"] = None
        theirs = rel._pingouin_icc(long.pivot(index="target", columns="rater", values="value"))
    finally:
        pingouin.options.clear()
        pingouin.options.update(saved)
    ours = icc(long, targets="target", raters="rater", ratings="value")
    ci = np.stack(theirs["CI95"].to_numpy())
    np.testing.assert_allclose(ours["ci_low"], ci[:, 0], rtol=1e-12)
    np.testing.assert_allclose(ours["ci_high"], ci[:, 1], rtol=1e-12)


def test_icc_confidence_level_widens_the_interval() -> None:
    long = _long(SHROUT_FLEISS)
    t95 = _by_form(icc(long, targets="target", raters="rater", ratings="value"))
    t99 = _by_form(icc(long, targets="target", raters="rater", ratings="value", conf_level=0.99))
    assert (t99["ci_low"] < t95["ci_low"]).all()
    assert (t99["ci_high"] > t95["ci_high"]).all()
    assert (t99["icc"] == t95["icc"]).all()


def test_unbalanced_design_is_refused_naming_the_targets() -> None:
    long = _long(SHROUT_FLEISS)
    long = long[~((long["target"] == 3) & (long["rater"] == "J2"))]
    with pytest.raises(StatsInputError, match=r"unbalanced design: 1 target.*\(3\)"):
        icc(long, targets="target", raters="rater", ratings="value")
    t = icc(long, targets="target", raters="rater", ratings="value", incomplete="drop")
    assert t.attrs["dropped_targets"] == [3]
    assert set(t["n_targets"]) == {5}


def test_icc_refuses_duplicates_text_and_too_little_data() -> None:
    long = _long(SHROUT_FLEISS)
    with pytest.raises(StatsInputError, match="rated more than once"):
        icc(pd.concat([long, long.iloc[:1]]), targets="target", raters="rater", ratings="value")
    bad = long.astype({"value": object})
    bad.loc[0, "value"] = "nine"
    with pytest.raises(StatsInputError, match="non-numeric value 'nine'"):
        icc(bad, targets="target", raters="rater", ratings="value")
    with pytest.raises(StatsInputError, match="at least 2 targets"):
        icc(long[long["target"] == 0], targets="target", raters="rater", ratings="value")
    with pytest.raises(StatsInputError, match="not in the table"):
        icc(long, targets="film", raters="rater", ratings="value")


def test_constant_ratings_give_nan_not_an_error() -> None:
    wide = pd.DataFrame({"A": [5.0, 5.0, 5.0], "B": [5.0, 5.0, 5.0]})
    t = icc(_long(wide), targets="target", raters="rater", ratings="value")
    assert t["icc"].isna().all()


def test_koo_li_grade_reads_the_interval() -> None:
    assert koo_li_grade(0.92, 0.98) == "excellent"
    assert koo_li_grade(0.83, 0.94) == "good to excellent"
    assert koo_li_grade(-0.04, 0.49) == "poor"
    assert koo_li_grade(0.4, 0.8) == "poor to good"
    assert koo_li_grade(math.nan, 0.8) == ""


# ================================================================================= SEM
def test_sem_and_mdc95_follow_weir_2005() -> None:
    assert sem(0.91, 4.0) == pytest.approx(4.0 * math.sqrt(0.09))
    assert mdc95(1.2) == pytest.approx(1.2 * 1.96 * math.sqrt(2))
    np.testing.assert_allclose(sem(np.array([1.0, 0.75]), 2.0), [0.0, 1.0])
    assert math.isnan(sem(math.nan, 2.0))
    with pytest.raises(StatsInputError, match="at most 1"):
        sem(1.2, 1.0)
    with pytest.raises(StatsInputError, match="not negative"):
        sem(0.5, -1.0)
    doc = inspect.getdoc(sem) or ""
    assert "SD · √(1 − ICC)" in doc
    assert "Weir" in doc
    assert "19:231" in doc
    assert "1.96 · √2 · SEM" in (inspect.getdoc(mdc95) or "")


# ======================================================================== Bland–Altman
def test_bland_altman_reproduces_the_lancet_1986_example() -> None:
    r = bland_altman(WRIGHT, MINI, loa_multiplier=2, label_a="Wright", label_b="mini")
    # [BA86]: mean difference -2.1 l/min, SD 38.8, limits -2.1 -+ 2 x 38.8 = -79.7 and
    # 75.5; SE of the bias 9.4, CI -22.0 to 17.8 (t = 2.12); SE of a limit
    # sqrt(3 s^2/n) = 16.3; CIs -114.3 to -45.1 and 40.9 to 110.1.
    assert round(r.bias, 1) == -2.1
    assert round(r.sd, 1) == 38.8
    assert round(r.se_bias, 1) == 9.4
    assert round(r.se_loa, 1) == 16.3
    # The paper multiplies rounded numbers (bias, SD and SEs to 0.1, t to 2.12); from
    # those its arithmetic is reproduced exactly ...
    b, s, se, sel = (round(x, 1) for x in (r.bias, r.sd, r.se_bias, r.se_loa))
    assert (round(b - 2 * s, 1), round(b + 2 * s, 1)) == (-79.7, 75.5)
    assert (round(b - 2.12 * se, 1), round(b + 2.12 * se, 1)) == (-22.0, 17.8)
    assert round(b - 2 * s - 2.12 * sel, 1) == -114.3
    assert round(b + 2 * s + 2.12 * sel, 1) == 110.1
    # ... and the unrounded values stay within that rounding (0.2 l/min).
    expected = {
        "loa_low": -79.7, "loa_high": 75.5, "bias_ci_low": -22.0, "bias_ci_high": 17.8,
        "loa_low_ci_low": -114.3, "loa_low_ci_high": -45.1,
        "loa_high_ci_low": 40.9, "loa_high_ci_high": 110.1,
    }  # fmt: skip
    for name, value in expected.items():
        assert getattr(r, name) == pytest.approx(value, abs=0.2), name
    assert (r.n, r.n_dropped) == (17, 0)


def test_bland_altman_reproduces_giavarina_2015() -> None:
    r = bland_altman(GIAVARINA_A, GIAVARINA_B)
    # [G15]: bias -27.17, SD 34.81, limits 41.05 and -95.39, SE 6.35, bias CI -40.16 to
    # -14.17, SE of the limits 11.01, CI of the upper limit 18.54 to (printed 65.36, a
    # misprint: 41.05 + 2.045 x 11.01 = 63.56), CI of the lower limit -117.90 to -72.88.
    expected = {
        "bias": -27.17, "sd": 34.81, "loa_high": 41.05, "loa_low": -95.39, "se_bias": 6.35,
        "bias_ci_low": -40.16, "bias_ci_high": -14.17, "se_loa": 11.01,
        "loa_high_ci_low": 18.54, "loa_high_ci_high": 63.56,
        "loa_low_ci_low": -117.90, "loa_low_ci_high": -72.88,
    }  # fmt: skip
    for name, value in expected.items():
        assert getattr(r, name) == pytest.approx(value, abs=0.005), name


def test_proportional_bias_is_the_ols_slope_of_differences_on_means() -> None:
    import statsmodels.api as sm

    r = bland_altman(GIAVARINA_A, GIAVARINA_B)
    a, b = np.array(GIAVARINA_A, float), np.array(GIAVARINA_B, float)
    fit = sm.OLS(a - b, sm.add_constant((a + b) / 2)).fit()
    assert r.slope == pytest.approx(fit.params[1], rel=1e-10)
    assert r.intercept == pytest.approx(fit.params[0], rel=1e-10)
    assert r.slope_p_value == pytest.approx(fit.pvalues[1], rel=1e-8)
    low, high = fit.conf_int()[1]
    assert (r.slope_ci_low, r.slope_ci_high) == pytest.approx((low, high), rel=1e-8)


def test_bland_altman_drops_incomplete_pairs_and_refuses_too_few() -> None:
    r = bland_altman([1.0, 2.0, np.nan, 4.0], [1.5, None, 3.0, 4.5])
    assert (r.n, r.n_dropped) == (2, 2)
    assert math.isnan(r.slope)
    with pytest.raises(StatsInputError, match="at least 2 complete pairs"):
        bland_altman([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(StatsInputError, match="one pair per subject"):
        bland_altman([1.0, 2.0], [1.0])
    frame = bland_altman(WRIGHT, MINI).to_frame()
    assert frame.loc[0, "n"] == 17
    assert "differences" not in frame


def test_bland_altman_plot_is_greyscale_with_units() -> None:
    from matplotlib.colors import to_rgba

    r = bland_altman(WRIGHT, MINI, label_a="Wright", label_b="mini Wright", unit="l/min")
    fig = plot_bland_altman(r, title="PEFR")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "mean of Wright and mini Wright (l/min)"
    assert ax.get_ylabel() == "Wright − mini Wright (l/min)"
    colours = [line.get_color() for line in ax.get_lines()]
    colours += [tuple(c) for coll in ax.collections for c in coll.get_edgecolor()]
    colours += [p.get_facecolor() for p in ax.patches]
    for c in colours:
        red, green, blue, _ = to_rgba(c)
        assert red == pytest.approx(green) == pytest.approx(blue), c
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("bias") for t in texts)
    assert any("+1.96 SD" in t for t in texts)


# ================================================================================ kappa
def test_kappa_reproduces_irr_kappa2_on_diagnoses() -> None:
    r1 = DIAGNOSES["rater1"].map(DIAGNOSIS_LABELS)
    r2 = DIAGNOSES["rater2"].map(DIAGNOSIS_LABELS)
    labels = list(DIAGNOSIS_LABELS.values())
    # [irr] kappa2(diagnoses[, c("rater1", "rater2")], weight = ...):
    # unweighted 0.651, z = 7 (printed), p 2.63e-12; "equal" 0.633, z 5.43, p 5.52e-08;
    # "squared" 0.655, z 3.91, p 9.37e-05.
    for weights, value, z, p in [
        (None, 0.651, 7.00, 2.63e-12),
        ("linear", 0.633, 5.43, 5.52e-08),
        ("quadratic", 0.655, 3.91, 9.37e-05),
    ]:
        res = kappa(r1, r2, weights, categories=labels)
        assert round(res.kappa, 3) == value, weights
        assert res.z == pytest.approx(z, abs=0.005), weights
        assert res.p_value == pytest.approx(p, rel=5e-3), weights
        assert res.n == 30
    with pytest.raises(StatsInputError, match="give categories"):
        kappa(r1, r2, "linear")


def test_kappa_reproduces_irr_kappa2_on_anxiety_to_seven_digits() -> None:
    a, b = ANXIETY["rater2"], ANXIETY["rater3"]
    # [irr] kappa2(anxiety[, 2:3], weight): irr drops the unused category 5, as we do.
    for weights, value, z, p in [
        (None, -0.006289308, -0.0604067, 0.9518317),
        ("linear", 0.1459075, 1.282472, 0.1996772),
        ("quadratic", 0.2520325, 1.437451, 0.1505898),
    ]:
        res = kappa(a, b, weights)  # 7 significant digits: within 1e-6 relative
        assert res.kappa == pytest.approx(value, rel=1e-6), weights
        assert res.z == pytest.approx(z, rel=1e-6), weights
        assert res.p_value == pytest.approx(p, rel=1e-6), weights
        assert res.categories == (1, 2, 3, 4, 6)
    # kappa2(anxiety[, 1:2], "squared"): 0.297, z 1.34, p 0.180 (pyirr's test)
    res = kappa(ANXIETY["rater1"], ANXIETY["rater2"], "quadratic")
    assert (round(res.kappa, 3), round(res.z, 2), round(res.p_value, 3)) == (0.297, 1.34, 0.18)


def _ratings_from_table(table: list[list[int]]) -> tuple[list[int], list[int]]:
    r1, r2 = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            r1 += [i] * count
            r2 += [j] * count
    return r1, r2


def test_kappa_standard_errors_and_interval_match_sas_proc_freq() -> None:
    r1, r2 = _ratings_from_table([[0, 4, 1], [0, 8, 0], [0, 1, 5]])
    cats = [0, 1, 2]
    # [SAS] simple kappa 0.4842, ASE 0.1380, 95% CI 0.2137-0.7547, ASE under H0 0.1484,
    # Z 3.2626, two-sided p 0.0011
    res = kappa(r1, r2, categories=cats)
    got = [res.kappa, res.se, res.ci_low, res.ci_high, res.se0, res.z, res.p_value]
    np.testing.assert_allclose(got, [0.4842, 0.1380, 0.2137, 0.7547, 0.1484, 3.2626, 0.0011],
                               atol=5e-5)  # fmt: skip
    # weighted kappa (Cicchetti-Allison = linear): 0.4701, ASE 0.1457, 0.1845-0.7558,
    # ASE under H0 0.1426, Z 3.2971, p 0.0010
    res = kappa(r1, r2, "linear", categories=cats)
    got = [res.kappa, res.se, res.ci_low, res.ci_high, res.se0, res.z, res.p_value]
    np.testing.assert_allclose(got, [0.4701, 0.1457, 0.1845, 0.7558, 0.1426, 3.2971, 0.0010],
                               atol=5e-5)  # fmt: skip


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_kappa_equals_scikit_learn(weights: str | None, rng: np.random.Generator) -> None:
    from sklearn.metrics import cohen_kappa_score

    truth = rng.integers(0, 4, 60)
    r1 = np.clip(truth + rng.integers(-1, 2, 60), 0, 3)
    r2 = np.clip(truth + rng.integers(-1, 2, 60), 0, 3)
    ours = kappa(r1, r2, weights, categories=[0, 1, 2, 3])
    assert ours.kappa == pytest.approx(
        cohen_kappa_score(r1, r2, weights=weights, labels=[0, 1, 2, 3]), rel=1e-12
    )


def test_kappa_edge_cases() -> None:
    same = kappa(["no"] * 5, ["no"] * 5)
    assert math.isnan(same.kappa)
    assert "undefined" in same.note
    assert same.observed_agreement == 1.0
    perfect = kappa([0, 1, 2, 1], [0, 1, 2, 1], "quadratic", categories=[0, 1, 2, 3])
    assert perfect.kappa == pytest.approx(1.0)
    assert perfect.ci_high == 1.0  # clipped to [-1, 1]
    dropped = kappa(["yes", None, "no", "yes"], ["yes", "no", np.nan, "no"])
    assert (dropped.n, dropped.n_dropped) == (2, 2)
    with pytest.raises(StatsInputError, match="not among categories"):
        kappa([0, 1, 5], [0, 1, 1], categories=[0, 1, 2, 3])
    with pytest.raises(StatsInputError, match="weights="):
        kappa([0, 1], [0, 1], "squared")
    with pytest.raises(StatsInputError, match="no subject has a rating from both"):
        kappa([None, 1], [0, None])
    assert kappa([0, 1], [0, 1]).to_frame().loc[0, "categories"] == "0|1"


def test_fleiss_kappa_reproduces_irr_kappam_fleiss() -> None:
    # [irr] kappam.fleiss(diagnoses): Kappa 0.4302445, z 17.65183, p 0
    res = fleiss_kappa(DIAGNOSES)
    assert res.kappa == pytest.approx(0.4302445, rel=1e-6)
    assert res.z == pytest.approx(17.65183, rel=1e-6)
    assert res.p_value < 1e-16
    assert (res.n_subjects, res.n_raters) == (30, 6)
    # kappam.fleiss(diagnoses[, 1:3]): 0.534, z 9.89
    res3 = fleiss_kappa(DIAGNOSES.iloc[:, :3].replace(DIAGNOSIS_LABELS))
    assert (round(res3.kappa, 3), round(res3.z, 2)) == (0.534, 9.89)
    assert res3.categories == tuple(sorted(DIAGNOSIS_LABELS.values()))


def test_fleiss_kappa_listwise_deletion_and_errors() -> None:
    wide = DIAGNOSES.astype(object)
    wide.iloc[0, 2] = None
    res = fleiss_kappa(wide)
    assert (res.n_subjects, res.n_dropped) == (29, 1)
    with pytest.raises(StatsInputError, match="at least 2 raters"):
        fleiss_kappa(DIAGNOSES[["rater1"]])
    assert math.isnan(fleiss_kappa(np.ones((4, 3))).kappa)


# ============================================================================== surface
def test_public_module_documents_every_name() -> None:
    for name in rel.__all__:
        obj = getattr(rel, name)
        if inspect.isfunction(obj):
            doc = inspect.getdoc(obj) or ""
            assert "Parameters\n----------" in doc, name
            assert "Returns\n-------" in doc, name
    assert list(ICC_FORMS) == ["ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)",
                               "ICC(3,k)"]  # fmt: skip


def test_importing_the_module_loads_no_heavy_dependency() -> None:
    import subprocess
    import sys

    code = (
        "import sys, kyphoimg.stats.reliability, kyphoimg.reliability; "
        "heavy = ('pingouin', 'matplotlib', 'statsmodels', 'sklearn'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
