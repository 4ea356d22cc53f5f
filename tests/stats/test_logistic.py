"""logistic: R's budworm example (MASS), identities, diagnostics, warnings and errors.

References (tests/reference/budworm_glm.R):
- Venables & Ripley (2002) budworm data, as in ?MASS::dose.p and ?MASS::confint-MASS:
  ldose <- rep(0:5, 2); numdead <- c(1, 4, 9, 13, 18, 20, 0, 2, 6, 10, 12, 16);
  sex <- factor(rep(c("M", "F"), c(6, 6))); 20 budworms per row.
- dose.p(budworm.lg0, cf = c(1, 3), p = 1:3/4) output, quoted from ?MASS::dose.p in
  bgreenwell/investr tests/testthat/test-invest-glm.R:
    p = 0.25: 2.231265 0.2499089; p = 0.50: 3.263587 0.2297539; p = 0.75: 4.295910 0.2746874
- glm(SF ~ sex + ldose, binomial) = budworm.lg: summary() coefficients
    (Intercept) -3.4732 (SE 0.4685, z -7.413), sexM 1.1007 (SE 0.3558, z 3.093,
    p 0.00198); confint(budworm.lg, parm = "ldose") = 0.8228708 1.3390581; both from
    a tutorial "Profile likelihood ratio confidence intervals" (R output of the
    Venables & Ripley example; the copy found is in the web-text dataset
    huggingface.co/datasets/nvidia/Nemotron-CC-Math-v1; R interpolates the profile with a
    spline, we find the root).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import logit

from kyphoimg.errors import StatsInputError
from kyphoimg.stats import (
    EventsPerVariableWarning,
    SeparationWarning,
    hosmer_lemeshow,
    logistic,
)


def budworm() -> pd.DataFrame:
    ldose = list(range(6)) * 2
    numdead = [1, 4, 9, 13, 18, 20, 0, 2, 6, 10, 12, 16]
    sex = ["M"] * 6 + ["F"] * 6
    rows = []
    for dose, dead, s in zip(ldose, numdead, sex, strict=True):
        rows += [{"ldose": dose, "sex": s, "dead": 1}] * dead
        rows += [{"ldose": dose, "sex": s, "dead": 0}] * (20 - dead)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def budworm_fit():
    return logistic(budworm(), "dead", ["sex", "ldose"], bootstrap=40, seed=7)


def test_lethal_doses_and_their_se_match_mass_dose_p(budworm_fit) -> None:
    # With sex coded F = reference, the intercept is the female line of budworm.lg0.
    b = budworm_fit.model.params
    cov = budworm_fit.model.cov_params()
    assert list(budworm_fit.multivariable["term"]) == ["(Intercept)", "sex[M]", "ldose"]
    expected = {
        0.25: (2.231265, 0.2499089),
        0.50: (3.263587, 0.2297539),
        0.75: (4.295910, 0.2746874),
    }
    for p, (dose_r, se_r) in expected.items():
        dose = (logit(p) - b[0]) / b[2]
        grad = np.array([-1 / b[2], 0.0, -(logit(p) - b[0]) / b[2] ** 2])
        assert dose == pytest.approx(dose_r, abs=5e-7)
        assert np.sqrt(grad @ cov @ grad) == pytest.approx(se_r, abs=5e-8)


def test_coefficients_match_r_glm_summary(budworm_fit) -> None:
    mv = budworm_fit.multivariable.set_index("term")
    # summary(budworm.lg): Estimate, Std. Error, z value, Pr(>|z|) printed to 4-5 digits
    assert mv.loc["(Intercept)", "coef"] == pytest.approx(-3.4732, abs=5e-5)
    assert mv.loc["(Intercept)", "se"] == pytest.approx(0.4685, abs=5e-5)
    assert mv.loc["(Intercept)", "z"] == pytest.approx(-7.413, abs=5e-4)
    assert mv.loc["sex[M]", "coef"] == pytest.approx(1.1007, abs=5e-5)
    assert mv.loc["sex[M]", "se"] == pytest.approx(0.3558, abs=5e-5)
    assert mv.loc["sex[M]", "z"] == pytest.approx(3.093, abs=5e-4)
    assert mv.loc["sex[M]", "p_value"] == pytest.approx(0.00198, abs=5e-6)


def test_profile_likelihood_ci_matches_r_confint(budworm_fit) -> None:
    row = budworm_fit.multivariable.set_index("term").loc["ldose"]
    lo, hi = np.log(row["profile_ci_low"]), np.log(row["profile_ci_high"])
    # R: 0.8228708 1.3390581 (spline-interpolated profile; ours is the exact root, which
    # differs by about 2e-5).
    assert lo == pytest.approx(0.8228708, abs=1e-4)
    assert hi == pytest.approx(1.3390581, abs=1e-4)
    # The interval really is where the likelihood-ratio statistic equals chi2(0.95, 1).
    assert lo < np.log(row["odds_ratio"]) < hi
    wald_lo = np.log(row["wald_ci_low"])
    assert wald_lo == pytest.approx(row["coef"] - stats.norm.ppf(0.975) * row["se"], rel=1e-12)


def test_tables_are_consistent(budworm_fit) -> None:
    mv = budworm_fit.multivariable.set_index("term")
    assert mv["odds_ratio"].to_numpy() == pytest.approx(np.exp(mv["coef"].to_numpy()))
    assert mv["p_value"].to_numpy() == pytest.approx(2 * stats.norm.sf(np.abs(mv["z"].to_numpy())))
    assert (mv["test"] == "Wald z (logistic regression)").all()
    uni = budworm_fit.univariable.set_index("term")
    assert uni.loc["ldose", "n"] == 240
    assert uni.loc["ldose", "events"] == 111
    # a single-predictor model is its univariable row
    single = logistic(budworm(), "dead", ["ldose"], bootstrap=0)
    assert single.multivariable.set_index("term").loc["ldose", "coef"] == pytest.approx(
        uni.loc["ldose", "coef"], rel=1e-9
    )


def test_equation_reproduces_the_predictions(budworm_fit) -> None:
    eq = budworm_fit.equation
    b = budworm_fit.model.params
    assert eq.startswith(f"logit(p) = {b[0]:.4f} + {b[1]:.4f}×sex[M] + {b[2]:.4f}×ldose")
    d = budworm()
    lp = b[0] + b[1] * (d["sex"] == "M") + b[2] * d["ldose"]
    assert budworm_fit.predicted.to_numpy() == pytest.approx(1 / (1 + np.exp(-lp.to_numpy())))


def test_epv_is_min_events_over_parameters(budworm_fit) -> None:
    # 111 deaths, 129 survivors, 2 parameters
    assert budworm_fit.epv == pytest.approx(111 / 2)
    assert budworm_fit.n_events == 111
    assert budworm_fit.n == 240


def test_vif_of_two_predictors_is_one_over_one_minus_r_squared(rng) -> None:
    n = 300
    a = rng.normal(size=n)
    b = 0.8 * a + 0.6 * rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(a - b)))).astype(int)
    res = logistic(
        pd.DataFrame({"a": a, "b": b, "y": y}), "y", ["a", "b"], bootstrap=0, profile=False
    )
    r = np.corrcoef(a, b)[0, 1]
    assert res.vif["vif"].to_numpy() == pytest.approx([1 / (1 - r**2)] * 2, rel=1e-10)


def reference_hosmer_lemeshow(y: np.ndarray, p: np.ndarray, g: int = 10) -> tuple[float, int]:
    """Straightforward HL: deciles of risk via pandas.qcut, (O-E)^2/E over both outcomes."""
    groups = pd.qcut(p, g, labels=False)
    stat = 0.0
    for k in range(g):
        m = groups == k
        o1, e1 = y[m].sum(), p[m].sum()
        stat += (o1 - e1) ** 2 / e1 + ((m.sum() - o1) - (m.sum() - e1)) ** 2 / (m.sum() - e1)
    return stat, g - 2


def test_hosmer_lemeshow_against_straightforward_version(rng) -> None:
    p = rng.uniform(0.05, 0.95, 500)
    y = (rng.random(500) < p).astype(float)
    out = hosmer_lemeshow(y, p).iloc[0]
    stat, df = reference_hosmer_lemeshow(y, p)
    assert out["statistic"] == pytest.approx(stat, rel=1e-12)
    assert out["df"] == df
    assert out["p_value"] == pytest.approx(stats.chi2.sf(stat, df))
    # A badly calibrated risk (all probabilities halved) is rejected.
    assert hosmer_lemeshow(y, p / 2)["p_value"].iat[0] < 1e-6


def test_bootstrap_is_seeded_and_corrects_optimism(rng) -> None:
    n = 120
    x = rng.normal(size=(n, 6))
    y = (rng.random(n) < 1 / (1 + np.exp(-x[:, 0]))).astype(int)
    d = pd.DataFrame(x, columns=[f"x{i}" for i in range(6)]).assign(y=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EventsPerVariableWarning)  # 6 noise-heavy predictors
        a = logistic(d, "y", list(d.columns[:6]), bootstrap=60, seed=11, profile=False)
        b = logistic(d, "y", list(d.columns[:6]), bootstrap=60, seed=11, profile=False)
        c = logistic(d, "y", list(d.columns[:6]), bootstrap=60, seed=12, profile=False)
    pd.testing.assert_frame_equal(a.discrimination, b.discrimination)
    assert a.discrimination["optimism"].iat[0] != c.discrimination["optimism"].iat[0]
    disc = a.discrimination.iloc[0]
    # Five noise predictors: the apparent AUC is optimistic, the calibration slope < 1.
    assert disc["optimism"] > 0
    assert disc["auc_corrected"] == pytest.approx(disc["auc_apparent"] - disc["optimism"])
    cal = a.calibration.set_index("measure")
    assert cal.loc["slope", "apparent"] == 1.0
    assert cal.loc["slope", "optimism_corrected"] < 1.0
    # apparent AUC equals the ROC of the predicted risk
    assert disc["auc_apparent"] == pytest.approx(a.roc.auc)


def test_univariable_screen_selects_predictors(rng) -> None:
    n = 400
    d = pd.DataFrame({"strong": rng.normal(size=n), "noise": rng.normal(size=n)})
    d["y"] = (rng.random(n) < 1 / (1 + np.exp(-2 * d["strong"]))).astype(int)
    res = logistic(d, "y", ["strong", "noise"], univariable_screen=0.05, bootstrap=0, seed=1)
    uni = res.univariable.set_index("predictor")
    assert uni.loc["strong", "p_value"] < 0.05
    expected = tuple(p for p in ["strong", "noise"] if uni.loc[p, "p_value"] < 0.05)
    assert res.selected == expected


def test_low_events_per_variable_warns(rng) -> None:
    d = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60), "c": rng.normal(size=60)})
    d["y"] = [1] * 12 + [0] * 48
    with pytest.warns(EventsPerVariableWarning, match=r"4.0 events per variable"):
        res = logistic(d, "y", ["a", "b", "c"], bootstrap=0)
    assert res.epv == pytest.approx(4.0)
    assert any("events per variable" in m for m in res.messages)


def test_a_separated_model_reports_no_estimate_no_test_and_no_auc(rng) -> None:
    # The finding: a separated ML model printed coef -1.685e-14, SE 1857, OR 1 (0-inf),
    # "estimable yes", Hosmer-Lemeshow p = 1.000 and a model ROC curve with AUC 1.000.
    n = 60
    d = pd.DataFrame({"sep": rng.normal(size=n), "other": rng.normal(size=n)})
    d["y"] = (d["sep"] > 0.1).astype(int)
    d["other"] += d["y"]
    with pytest.warns(SeparationWarning, match="'sep'"):
        res = logistic(d, "y", ["sep", "other"], bootstrap=10)
    uni = res.univariable.set_index("predictor")
    assert np.isnan(uni.loc["sep", "odds_ratio"])
    assert uni.loc["sep", "note"] == "separation: not estimable"
    assert uni.loc["other", "odds_ratio"] > 1  # still estimated on its own
    assert res.separation
    assert not res.estimable
    mv = res.multivariable
    assert not mv["estimable"].any()
    value_cols = ["coef", "se", "z", "p_value", "odds_ratio", "wald_ci_low", "profile_ci_high"]
    assert mv[value_cols].isna().all().all()
    assert res.roc is None
    assert res.discrimination[["auc_apparent", "auc_corrected"]].isna().all().all()
    assert res.hosmer_lemeshow["p_value"].isna().all()
    assert res.calibration["apparent"].isna().all()
    assert res.predicted.empty
    assert res.equation == "not estimable: separation"


def test_categorical_sparse_levels_are_not_estimable_either() -> None:
    # the sample cohort: one recompressed patient, NPEC superior; the other levels have no
    # event, so ML gave their difference as ~0 with a huge SE and called it estimable
    d = pd.DataFrame(
        {
            "rec": [0, 1, 0, 0, 0, 0, 1, 0],
            "npec": ["no", "superior", "inferior", "no", "no", "inferior", "superior", "no"],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EventsPerVariableWarning)
        with pytest.warns(SeparationWarning):
            res = logistic(d, "rec", ["npec"], bootstrap=0, reference={"npec": "no"})
    assert not res.estimable
    assert res.multivariable["coef"].isna().all()
    assert list(res.multivariable["term"]) == ["(Intercept)", "npec[inferior]", "npec[superior]"]
    assert res.reference == {"npec": "no"}


def test_reference_level_is_chosen_and_checked(rng) -> None:
    n = 200
    d = pd.DataFrame({"g": rng.choice(["a", "b", "c"], n), "y": rng.integers(0, 2, n)})
    res = logistic(d, "y", ["g"], bootstrap=0, reference={"g": "b"})
    assert list(res.multivariable["term"]) == ["(Intercept)", "g[a]", "g[c]"]
    with pytest.raises(StatsInputError, match="reference level 'z' of 'g' does not occur"):
        logistic(d, "y", ["g"], bootstrap=0, reference={"g": "z"})


def test_quasi_complete_separation_is_detected() -> None:
    # x = 1 always has the event; x = 0 has both: quasi-complete separation
    d = pd.DataFrame({"x": [0] * 10 + [1] * 5, "y": [0] * 6 + [1] * 4 + [1] * 5})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EventsPerVariableWarning)  # 6 non-events, 1 parameter
        with pytest.warns(SeparationWarning, match="separation of 'y'"):
            res = logistic(d, "y", ["x"], bootstrap=0)
    assert res.separation


@pytest.mark.parametrize(
    ("frame", "predictors", "match"),
    [
        (
            pd.DataFrame({"y": [1] * 6, "x": [1.0, 2, 3, 4, 5, 6]}),
            ["x"],
            r"outcome 'y' has a single class",
        ),
        (pd.DataFrame({"y": [0, 1] * 3, "x": [2.0] * 6}), ["x"], r"predictor 'x' is constant"),
        (
            pd.DataFrame({"y": [0, 1] * 3, "x": [np.nan] * 6}),
            ["x"],
            r"predictor 'x': every value is missing",
        ),
        (
            pd.DataFrame({"y": [0, 1] * 3, "x": [1.0, 2.0, "3,1", 4.0, 5.0, 6.0]}),
            ["x"],
            r"column 'x': non-numeric value '3,1'",
        ),
        (
            pd.DataFrame(
                {"y": [0, 1, 0, 1, 1, 0], "x": [1.0, 2, 3, 4, 5, 7], "z": [2.0, 4, 6, 8, 10, 14]}
            ),
            ["x", "z"],
            r"collinear",
        ),
        (
            pd.DataFrame({"y": [0, 1] * 3, "x": [1.0, 2, 3, 4, 5, 6]}),
            ["w"],
            r"column\(s\) 'w' not in the table",
        ),
    ],
)
def test_bad_input_is_refused(frame, predictors, match) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EventsPerVariableWarning)  # tiny frames
        with pytest.raises(StatsInputError, match=match):
            logistic(frame, "y", predictors, bootstrap=0)


def test_warnings_point_at_the_caller() -> None:
    # The warnings are issued inside private steps; their stacklevel must still name
    # the line that called logistic(), so users see where the problem comes from.
    d = pd.DataFrame({"x": [0] * 10 + [1] * 5, "y": [0] * 6 + [1] * 4 + [1] * 5})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logistic(d, "y", ["x"], bootstrap=0)
    ours = [
        w for w in caught if issubclass(w.category, (SeparationWarning, EventsPerVariableWarning))
    ]
    assert [w.category for w in ours] == [
        SeparationWarning,  # univariable
        EventsPerVariableWarning,
        SeparationWarning,  # multivariable
    ]
    assert {w.filename for w in ours} == {__file__}
