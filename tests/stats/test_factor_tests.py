"""Issue 22, the missing list: an overall test for a multi-level factor (NPEC, 3 df) and
odds ratios per SD as an option beside per unit."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats


def _data(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(31)
    npec = rng.choice(["no", "superior", "inferior", "both"], n, p=[0.55, 0.2, 0.15, 0.1])
    age = rng.normal(72, 9, n).round(1)
    lp = -2.2 + 0.05 * (age - 72) + np.select([npec == "superior", npec == "both"], [1.0, 1.4], 0)
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    return pd.DataFrame({"rec": y, "npec": npec, "age": age})


def test_overall_lr_test_and_per_sd_odds_ratios_in_the_report(tmp_path) -> None:
    import statsmodels.api as sm

    from kyphoimg.stats import report

    d = _data()
    spec = {
        "data": {"subjects": d},
        "outcome": {"column": "rec", "positive": 1},
        "logistic": {
            "predictors": ["npec", "age"],
            "reference": {"npec": "no"},
            "bootstrap": 0,
            "per_sd": True,
        },
        "options": {"pdf": False},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        paths = report(spec, tmp_path)
    sheets = pd.read_excel(paths.xlsx, sheet_name=None)
    overall = sheets["Logistic overall tests"].set_index("Factor")
    dummies = pd.get_dummies(d["npec"]).drop(columns="no").astype(float)
    full = sm.Logit(d["rec"], sm.add_constant(pd.concat([dummies, d["age"]], axis=1))).fit(disp=0)
    red = sm.Logit(d["rec"], sm.add_constant(d[["age"]])).fit(disp=0)
    stat = 2 * (full.llf - red.llf)
    assert overall.loc["NPEC", "df"] == 3
    assert overall.loc["NPEC", "Chi-square"] == pytest.approx(stat, rel=1e-7)
    assert overall.loc["NPEC", "p"] == pytest.approx(stats.chi2.sf(stat, 3), rel=1e-6)
    mv = sheets["Logistic multivariable"].set_index("Term")
    age_row = mv.loc[next(t for t in mv.index if t.startswith("Age"))]
    # independent: refit with age in SD units; its OR is the OR per SD
    z = (d["age"] - d["age"].mean()) / d["age"].std(ddof=1)
    per_sd = sm.Logit(d["rec"], sm.add_constant(pd.concat([dummies, z], axis=1))).fit(disp=0)
    assert age_row["OR per SD"] == pytest.approx(np.exp(per_sd.params["age"]), rel=1e-6)
    assert age_row["SD"] == pytest.approx(d["age"].std(ddof=1), rel=1e-9)
    npec_row = mv.loc[next(t for t in mv.index if t.startswith("NPEC: superior"))]
    assert np.isnan(npec_row["OR per SD"])  # per SD applies to numeric terms only
