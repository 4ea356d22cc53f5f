"""Issue 22 items 1 and 7: no performance figure that cannot be estimated; the bootstrap
repeats the whole procedure.

1. below the floor of events (10 of the rarer outcome, 5 per parameter) the model is
   not estimable, with the count; under separation (Firth) or a calibration refit that
   does not converge, the AUC's CI, Hosmer–Lemeshow, calibration and optimism correction
   are not estimable; a bootstrap resample whose refit fails is counted, and any failure
   leaves the corrected values unreported;
7. with a univariable screen, every resample is screened again (checked against an
   independent loop with statsmodels and scikit-learn).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from kyphoimg.stats import EventsPerVariableWarning, SeparationWarning, logistic, roc


def _quiet(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EventsPerVariableWarning)
        warnings.simplefilter("ignore", SeparationWarning)
        return logistic(**kwargs)


def test_seven_events_make_the_model_not_estimable_with_the_count() -> None:
    # the run report of issue 22: 7 recompressed of 40 patients
    rng = np.random.default_rng(3)
    d = pd.DataFrame({"age": rng.normal(75, 8, 40), "bmd": rng.normal(-3, 0.6, 40)})
    d["y"] = [1] * 7 + [0] * 33
    res = _quiet(df=d, outcome="y", predictors=["age", "bmd"], bootstrap=20, method="firth")
    assert not res.estimable
    assert res.not_estimable["model"] == "7 events; the model needs at least 10"
    assert res.multivariable[["coef", "odds_ratio", "p_value"]].isna().all().all()
    assert res.equation.startswith("not estimable (7 events")
    assert res.roc is None
    assert res.hosmer_lemeshow["p_value"].isna().all()
    assert res.calibration["optimism_corrected"].isna().all()
    # the univariable rows (one parameter each) are still there
    assert res.univariable["odds_ratio"].notna().all()


def test_fewer_than_five_events_per_parameter_is_not_estimable() -> None:
    rng = np.random.default_rng(4)
    d = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    d["y"] = [1] * 12 + [0] * 48
    res = _quiet(df=d, outcome="y", predictors=["a", "b", "c"], bootstrap=0)
    assert not res.estimable
    assert res.not_estimable["model"] == (
        "12 events for 3 parameters (4.0 per parameter); the model needs at least 5 per parameter"
    )
    ok = _quiet(df=d, outcome="y", predictors=["a", "b"], bootstrap=0)  # 6 per parameter
    assert ok.estimable
    assert not ok.not_estimable


def _separated(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    d = pd.DataFrame({"npec": rng.normal(size=n), "age": rng.normal(size=n)})
    d["y"] = (d["npec"] > 0.3).astype(int)
    return d


def test_under_separation_firth_reports_coefficients_but_no_performance() -> None:
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    d = _separated()
    assert d["y"].sum() >= 10
    res = _quiet(df=d, outcome="y", predictors=["npec", "age"], bootstrap=20, method="firth")
    assert res.estimable
    assert np.isfinite(res.multivariable["coef"]).all()
    # Independent: the refit of the outcome on the Firth risk score has no finite slope
    # (statsmodels does not converge, the slope keeps growing).
    lp = np.log(res.predicted / (1 - res.predicted)).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # exp overflow as the slope grows
        fit = sm.GLM(d["y"], sm.add_constant(lp), family=sm.families.Binomial()).fit(maxiter=200)
    assert not fit.converged or abs(np.asarray(fit.params)[1]) > 10
    assert "separate the outcome" in res.not_estimable["performance"]
    assert res.calibration[["apparent", "optimism_corrected"]].isna().all().all()
    assert res.hosmer_lemeshow["p_value"].isna().all()
    disc = res.discrimination.iloc[0]
    assert disc["auc_apparent"] == pytest.approx(1.0)
    assert np.isnan(disc["ci_low"])
    assert np.isnan(disc["auc_corrected"])


def test_a_marker_that_separates_has_no_delong_interval() -> None:
    r = roc([0, 0, 0, 1, 1, 1], [1.0, 2, 3, 4, 5, 6], direction="higher")
    assert r.auc == 1.0
    assert np.isnan(r.ci_low)
    assert np.isnan(r.ci_high)


def test_failed_bootstrap_refits_are_counted_and_void_the_corrected_values() -> None:
    # x = 1 in 8 patients, 7 of them events: a resample without the one non-event among
    # them is separated, so its refit cannot converge.
    rng = np.random.default_rng(6)
    n = 200
    x = np.zeros(n)
    x[:8] = 1
    y = np.r_[[1] * 7, [0], (rng.random(n - 8) < 0.2).astype(int)]
    d = pd.DataFrame({"x": x, "z": rng.normal(size=n), "y": y})
    runs, seed = 40, 17
    res = _quiet(df=d, outcome="y", predictors=["x", "z"], bootstrap=runs, seed=seed)
    assert res.estimable
    assert not res.separation
    # Independent count of the resamples in which the x = 1 group has no non-event
    draw = np.random.default_rng(seed)
    expected = 0
    for _ in range(runs):
        idx = draw.integers(0, n, n)
        expected += int(((x[idx] == 1) & (y[idx] == 0)).sum() == 0)
    assert expected > 0
    assert res.discrimination["n_failed"].iat[0] == expected
    assert f"{expected} of {runs} bootstrap resamples failed" in res.not_estimable["optimism"]
    assert np.isnan(res.discrimination["auc_corrected"].iat[0])
    assert res.calibration["optimism_corrected"].isna().all()
    assert np.isfinite(res.discrimination["ci_low"].iat[0])  # the apparent AUC keeps its CI


def test_the_bootstrap_repeats_the_univariable_screen() -> None:
    import statsmodels.api as sm
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(8)
    n, runs, seed, level = 150, 25, 99, 0.10
    d = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"x{i}" for i in range(5)])
    d["y"] = (rng.random(n) < 1 / (1 + np.exp(-(0.9 * d["x0"] - 0.8)))).astype(int)
    cands = [f"x{i}" for i in range(5)]
    res = _quiet(
        df=d, outcome="y", predictors=cands, univariable_screen=level, bootstrap=runs, seed=seed
    )
    assert res.screened
    # Independent loop: statsmodels Logit for the screen and the refit, sklearn for AUCs.
    draw = np.random.default_rng(seed)
    opt, slopes = [], []
    for _ in range(runs):
        b = d.iloc[draw.integers(0, n, n)]
        keep = [
            c
            for c in cands
            if sm.Logit(b["y"], sm.add_constant(b[[c]])).fit(disp=0).pvalues[c] < level
        ]
        fit = sm.Logit(b["y"], sm.add_constant(b[keep])).fit(disp=0)
        lp_orig = sm.add_constant(d[keep]).to_numpy() @ fit.params.to_numpy()
        lp_boot = sm.add_constant(b[keep]).to_numpy() @ fit.params.to_numpy()
        opt.append(roc_auc_score(b["y"], lp_boot) - roc_auc_score(d["y"], lp_orig))
        cal = sm.Logit(d["y"], sm.add_constant(lp_orig)).fit(disp=0)
        slopes.append(cal.params.iloc[1])
    disc = res.discrimination.iloc[0]
    assert disc["optimism"] == pytest.approx(np.mean(opt), abs=1e-6)
    cal = res.calibration.set_index("measure")
    assert cal.loc["slope", "optimism_corrected"] == pytest.approx(np.mean(slopes), abs=1e-5)
    assert disc["n_failed"] == 0
