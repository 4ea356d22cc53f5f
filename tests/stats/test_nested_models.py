"""Issue 22 item 6: no DeLong test of a model against its own components.

DeLong's test of in-sample AUCs of nested models is invalid (Demler, Pencina &
D'Agostino, Stat Med 2012); the report replaces it by a likelihood-ratio test of the
added terms and labels the model's AUC as apparent.
"""

from __future__ import annotations

import html
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kyphoimg.errors import NotEstimableError
from kyphoimg.stats import logistic, report
from kyphoimg.stats._logistic import nested_lr_test


def _asd(n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    d = pd.DataFrame(
        {
            "age": rng.normal(70, 8, n).round(0),
            "bmd": rng.normal(-2.7, 0.6, n).round(2),
            "recovery": rng.normal(40, 15, n).round(1),
        }
    )
    lp = -2.0 + 0.07 * (d["age"] - 70) - 1.0 * (d["bmd"] + 2.7) + 0.03 * (d["recovery"] - 40)
    d["asd"] = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    return d


def test_lr_test_of_the_added_terms_matches_statsmodels() -> None:
    import statsmodels.api as sm

    d = _asd()
    lr = logistic(d, "asd", ["age", "bmd", "recovery"], bootstrap=0)
    got = nested_lr_test(lr, d, ["recovery"])
    full = sm.Logit(d["asd"], sm.add_constant(d[["age", "bmd", "recovery"]])).fit(disp=0)
    red = sm.Logit(d["asd"], sm.add_constant(d[["recovery"]])).fit(disp=0)
    stat = 2 * (full.llf - red.llf)
    assert got["statistic"] == pytest.approx(stat, rel=1e-8)
    assert got["df"] == 2
    assert got["p_value"] == pytest.approx(stats.chi2.sf(stat, 2), rel=1e-8)
    assert got["added"] == "age, bmd"


def test_a_model_that_is_not_estimable_has_no_lr_test() -> None:
    d = _asd().iloc[:50]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        lr = logistic(d, "asd", ["age", "bmd", "recovery"], bootstrap=0)
    assert not lr.estimable
    with pytest.raises(NotEstimableError, match="not estimable"):
        nested_lr_test(lr, d, ["age"])


def test_the_report_has_no_delong_test_of_the_model_against_its_components(tmp_path) -> None:
    d = _asd()
    spec = {
        "data": {"subjects": d},
        "outcome": {"column": "asd", "positive": 1},
        "logistic": {"predictors": ["age", "bmd", "recovery"], "bootstrap": 0},
        "roc": {"markers": {"age": "higher", "bmd": "lower", "recovery": "higher"}, "model": True},
        "options": {"pdf": False},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        paths = report(spec, tmp_path)
    sheets = pd.read_excel(paths.xlsx, sheet_name=None)
    pairs = list(sheets["DeLong tests"]["Comparison"])
    assert len(pairs) == 3  # the three markers against each other
    assert not any(p.startswith("Model") for p in pairs)
    nested = sheets["Nested model tests"].set_index("Comparison")
    lr = logistic(d, "asd", ["age", "bmd", "recovery"], bootstrap=0)
    expected = nested_lr_test(lr, d, ["recovery"])
    row = nested.loc[next(i for i in nested.index if i.startswith("Model vs Recovery"))]
    assert row["Chi-square"] == pytest.approx(expected["statistic"], rel=1e-9)
    assert row["p"] == pytest.approx(expected["p_value"], rel=1e-9)
    assert "Model (predicted risk, apparent)" in list(sheets["ROC"]["Marker"])
    doc = html.unescape(paths.html.read_text(encoding="utf-8"))
    assert "likelihood-ratio test of the added terms, not by DeLong's test" in doc
