"""Issue 22, the missing list: effect sizes beside the tests.

Mean differences with 95 % CIs beside each t-test (Table 1, groups at each time point),
mean changes with CIs beside each paired t-test, partial eta squared for the ANOVAs, a
column naming the statistic (t, F, chi-square), and a sentence on multiplicity.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kyphoimg.stats import compare_timepoints, report, table1


def _cohort(n: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(12)
    d = pd.DataFrame(
        {
            "id": np.arange(n),
            "event": (rng.random(n) < 0.3).astype(int),
            "age": rng.normal(70, 8, n).round(1),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    visits = []
    for i, e in zip(d["id"], d["event"], strict=True):
        base = rng.normal(15, 4)
        for t, shift in (("pre", 0.0), ("post", -6.0), ("last", -4.0 + 3 * e)):
            visits.append(
                {"id": i, "event": e, "visit": t, "ka_deg": base + shift + rng.normal(0, 2)}
            )
    return d, pd.DataFrame(visits)


def test_table1_gives_the_mean_difference_and_its_ci_for_each_t_test() -> None:
    d, _ = _cohort()
    t = table1(d, "event", continuous=["age"], tests={"age": "welch"}).tests.iloc[0]
    a, b = d.loc[d.event == 0, "age"], d.loc[d.event == 1, "age"]
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert t["difference"] == pytest.approx(a.mean() - b.mean(), rel=1e-12)
    assert t["diff_ci_low"] == pytest.approx(ci.low, rel=1e-10)
    assert t["diff_ci_high"] == pytest.approx(ci.high, rel=1e-10)


def test_changes_over_time_and_differences_per_time_point_have_cis() -> None:
    _, v = _cohort()
    res = compare_timepoints(
        v, "id", "visit", "ka_deg", group="event", order=["pre", "post", "last"], between="welch"
    )
    wide = v.pivot(index="id", columns="visit", values="ka_deg")
    grp = v.groupby("id")["event"].first()
    row = res.posthoc.query("group == 0 and time_a == 'pre' and time_b == 'post'").iloc[0]
    w = wide[grp == 0]
    ci = stats.ttest_rel(w["post"], w["pre"]).confidence_interval(0.95)
    assert row["change"] == pytest.approx((w["post"] - w["pre"]).mean(), rel=1e-12)
    assert row["change_ci_low"] == pytest.approx(ci.low, rel=1e-10)
    assert row["change_ci_high"] == pytest.approx(ci.high, rel=1e-10)
    last = res.between.set_index("time").loc["last"]
    a, b = wide.loc[grp == 0, "last"], wide.loc[grp == 1, "last"]
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert last["difference"] == pytest.approx(a.mean() - b.mean(), rel=1e-12)
    assert last["diff_ci_low"] == pytest.approx(ci.low, rel=1e-10)


def test_the_report_shows_partial_eta_squared_statistic_type_and_multiplicity(tmp_path) -> None:
    import pingouin as pg

    d, v = _cohort()
    spec = {
        "data": {"subjects": d, "longitudinal": v},
        "outcome": {"column": "event", "positive": 1},
        "table1": {"group": "event", "continuous": ["age"], "categorical": ["sex"]},
        "timepoints": {
            "subject": "id",
            "time": "visit",
            "values": ["ka_deg"],
            "order": ["pre", "post", "last"],
            "group": "event",
        },
        "options": {"pdf": False},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        paths = report(spec, tmp_path)
    sheets = pd.read_excel(paths.xlsx, sheet_name=None)
    tests = sheets["Table 1 tests"].set_index("Variable")
    assert tests.loc["Age", "Statistic type"] == "t"
    assert tests.loc["Sex", "Statistic type"] == "χ²"
    within = sheets["KA (°) within"].set_index("Group")
    sub = v[v.event == 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pingouin's own pandas deprecation warnings
        aov = pg.rm_anova(sub, dv="ka_deg", within="visit", subject="id", detailed=True)
        mixed = pg.mixed_anova(v, dv="ka_deg", within="visit", between="event", subject="id")
    ss = aov.set_index("Source")["SS"]
    np2 = ss["visit"] / (ss["visit"] + ss["Error"])  # partial eta squared from the SS
    assert within.iloc[0]["Partial η²"] == pytest.approx(np2, rel=1e-6)
    assert within.iloc[0]["Statistic type"] == "F"
    inter = sheets["KA (°) interaction"]
    got = dict(zip(inter["Effect"], inter["Partial η²"], strict=True))
    expected = dict(zip(mixed["Source"], mixed["np2"], strict=True))
    assert got[next(k for k in got if "×" in k)] == pytest.approx(expected["Interaction"], rel=1e-6)
    doc = paths.html.read_text(encoding="utf-8")
    assert "The 2 tests of this table are not corrected for multiplicity" in doc
    assert "The 3 per-time-point comparisons are not corrected for multiplicity" in doc
