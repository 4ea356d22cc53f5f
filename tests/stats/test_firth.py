"""Firth's penalised logistic regression against R's logistf on its sex2 example.

References (tests/reference/logistf_sex2.R):
- coefficients: logistf's own test, georgheinze/logistf tests/testthat/test-basic.R;
- profile penalised-likelihood CIs: logistf values quoted in jzluo/firthlogist
  firthlogist/tests/test_firthlogist.py ("compare with logistf for logistf::sex2");
- SE, chi-square and p: easystats/parameters snapshot of model_parameters() on
  ``logistf(case ~ age + oc + vic + vicl + vis + dia, data = sex2)``
  (tests/testthat/_snaps/windows/model_parameters.logistf.md), 2-3 decimals.
Data: logistf data-raw/sex2.txt.gz (239 women, urinary tract infection), as 36 distinct
rows with counts.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from kyphoimg.stats import EventsPerVariableWarning, SeparationWarning, logistic

# case, age, oc, vic, vicl, vis, dia, count
SEX2 = [
    (0, 0, 0, 0, 0, 1, 0, 1), (0, 0, 0, 1, 0, 0, 0, 2), (0, 0, 0, 1, 0, 1, 0, 1),
    (0, 0, 0, 1, 1, 0, 0, 8), (0, 0, 0, 1, 1, 1, 0, 18), (0, 0, 1, 0, 0, 0, 0, 42),
    (0, 0, 1, 0, 0, 1, 0, 1), (0, 0, 1, 1, 0, 0, 0, 1), (0, 0, 1, 1, 1, 0, 0, 5),
    (0, 0, 1, 1, 1, 1, 0, 6), (0, 1, 0, 1, 1, 0, 0, 2), (0, 1, 0, 1, 1, 1, 0, 4),
    (0, 1, 1, 0, 0, 0, 0, 14), (0, 1, 1, 0, 0, 1, 0, 1), (0, 1, 1, 1, 0, 0, 0, 1),
    (0, 1, 1, 1, 1, 1, 0, 2), (1, 0, 0, 0, 0, 1, 0, 1), (1, 0, 0, 1, 0, 0, 0, 14),
    (1, 0, 0, 1, 0, 1, 0, 3), (1, 0, 0, 1, 1, 0, 0, 10), (1, 0, 0, 1, 1, 1, 0, 12),
    (1, 0, 0, 1, 1, 1, 1, 1), (1, 0, 1, 0, 0, 0, 0, 44), (1, 0, 1, 0, 0, 0, 1, 3),
    (1, 0, 1, 1, 0, 0, 0, 15), (1, 0, 1, 1, 0, 0, 1, 1), (1, 0, 1, 1, 0, 1, 0, 2),
    (1, 0, 1, 1, 1, 0, 0, 7), (1, 0, 1, 1, 1, 1, 0, 3), (1, 1, 0, 1, 0, 0, 0, 2),
    (1, 1, 0, 1, 0, 1, 0, 1), (1, 1, 0, 1, 0, 1, 1, 1), (1, 1, 0, 1, 1, 0, 0, 1),
    (1, 1, 0, 1, 1, 1, 1, 1), (1, 1, 1, 0, 0, 0, 0, 5), (1, 1, 1, 1, 0, 0, 0, 3),
]  # fmt: skip
TERMS = ["(Intercept)", "age", "oc", "vic", "vicl", "vis", "dia"]
COEF = [0.12025404, -1.10598130, -0.06881673, 2.26887464, -2.11140816, -0.78831694, 3.09601263]
CI = [
    (-0.8185591, 1.07315122),
    (-1.9737884, -0.30742514),
    (-0.9414363, 0.78920202),
    (1.2730216, 3.43543273),
    (-3.2608611, -1.11773495),
    (-1.6080879, 0.01518468),
    (0.7745682, 8.03029352),
]
SE = [0.48, 0.41, 0.43, 0.54, 0.53, 0.41, 1.51]
CHI2 = [0.06, 7.51, 0.02, 22.93, 19.10, 3.70, 7.90]
P = ["0.802", "0.006", "0.875", "<0.001", "<0.001", "0.054", "0.005"]


def sex2() -> pd.DataFrame:
    cols = ["case", "age", "oc", "vic", "vicl", "vis", "dia"]
    rows = [r[:7] for r in SEX2 for _ in range(r[7])]
    return pd.DataFrame(rows, columns=cols)


@pytest.fixture(scope="module")
def fit():
    d = sex2()
    assert len(d) == 239
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EventsPerVariableWarning)
        return logistic(d, "case", TERMS[1:], method="firth", bootstrap=0)


def test_coefficients_match_logistf(fit) -> None:
    mv = fit.multivariable.set_index("term").loc[TERMS]
    # logistf converges to lconv/xconv 1e-5; dia, the near-separated term, differs most
    np.testing.assert_allclose(mv["coef"], COEF, atol=2e-6)
    assert fit.estimable
    assert fit.method == "firth"


def test_profile_penalised_likelihood_ci_matches_logistf(fit) -> None:
    mv = fit.multivariable.set_index("term").loc[TERMS]
    np.testing.assert_allclose(np.log(mv["profile_ci_low"]), [c[0] for c in CI], atol=2e-6)
    np.testing.assert_allclose(np.log(mv["profile_ci_high"]), [c[1] for c in CI], atol=2e-6)


def test_se_chi_square_and_p_match_logistf(fit) -> None:
    from kyphoimg.stats._format import fmt_p

    mv = fit.multivariable.set_index("term").loc[TERMS]
    np.testing.assert_allclose(mv["se"], SE, atol=0.005)
    np.testing.assert_allclose(mv["chi2"], CHI2, atol=0.005)
    assert [fmt_p(p) for p in mv["p_value"]] == P
    assert (mv["test"].str.contains("Penalised likelihood-ratio")).all()


def test_firth_gives_finite_estimates_where_ml_is_not_estimable() -> None:
    # dia = 1 only among cases: quasi-complete separation in the univariable model
    d = sex2()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EventsPerVariableWarning)
        with pytest.warns(SeparationWarning, match="'dia'"):
            ml = logistic(d, "case", ["dia"], bootstrap=0)
        firth = logistic(d, "case", ["dia"], method="firth", bootstrap=0)
    assert not ml.estimable
    assert ml.multivariable[["coef", "se", "p_value", "odds_ratio"]].isna().all().all()
    row = firth.multivariable.set_index("term").loc["dia"]
    assert np.isfinite(row["coef"])
    assert np.isfinite(row["profile_ci_high"])
    assert firth.roc is not None
