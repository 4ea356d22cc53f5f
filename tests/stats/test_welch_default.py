"""Issue 22 item 4: Welch by default on a user's data, Student's pooled t on request.

Pooled t on very unbalanced groups changed conclusions (simulated age 0.114 vs 0.039).
The report's default is Welch; ``[options] t_test = "student"`` (set by the seed-study
reproductions) gives the pooled test, flags unequal variances with Welch's p, and the
Methods paragraph names the choice.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kyphoimg.stats import report, table1
from kyphoimg.stats._htest import continuous_test


def _unbalanced() -> pd.DataFrame:
    rng = np.random.default_rng(22)
    # 8 events with a wide spread, 60 non-events with a narrow one
    age = np.r_[rng.normal(80, 12, 8), rng.normal(72, 4, 60)]
    return pd.DataFrame({"event": [1] * 8 + [0] * 60, "age": age.round(1)})


def _report(tmp_path, options: dict) -> dict[str, pd.DataFrame]:
    d = _unbalanced()
    spec = {
        "data": {"subjects": d},
        "outcome": {"column": "event", "positive": 1},
        "table1": {"group": "event", "continuous": ["age"]},
        "options": {"pdf": False, **options},
    }
    paths = report(spec, tmp_path)
    sheets = pd.read_excel(paths.xlsx, sheet_name=None)
    sheets["html"] = html.unescape(paths.html.read_text(encoding="utf-8"))
    return sheets


def test_the_report_uses_welch_by_default_and_says_so(tmp_path) -> None:
    d = _unbalanced()
    a, b = d.loc[d.event == 0, "age"], d.loc[d.event == 1, "age"]
    welch = stats.ttest_ind(a, b, equal_var=False).pvalue
    pooled = stats.ttest_ind(a, b, equal_var=True).pvalue
    assert abs(welch - pooled) > 0.01
    sheets = _report(tmp_path, {})
    row = sheets["Table 1 tests"].iloc[0]
    assert row["Test"] == "Welch t-test"
    assert row["p"] == pytest.approx(welch, rel=1e-9)
    assert "Two groups were compared by Welch's t-test" in sheets["html"]


def test_a_study_asking_for_student_gets_pooled_t_with_unequal_variances_flagged(tmp_path) -> None:
    d = _unbalanced()
    a, b = d.loc[d.event == 0, "age"], d.loc[d.event == 1, "age"]
    sheets = _report(tmp_path, {"t_test": "student"})
    row = sheets["Table 1 tests"].iloc[0]
    assert row["Test"] == "Student t-test (pooled variance)"
    assert row["p"] == pytest.approx(stats.ttest_ind(a, b).pvalue, rel=1e-9)
    lev = stats.levene(a, b, center="mean").pvalue
    assert lev < 0.05
    welch = stats.ttest_ind(a, b, equal_var=False).pvalue
    assert row["Note"] == (
        f"unequal variances (Levene {'p < 0.001' if lev < 0.001 else f'p = {lev:.3f}'}); "
        f"Welch t-test p = {welch:.3f}"
    )
    assert "pooled-variance t-test, as the study asked" in sheets["html"]


def test_equal_variances_are_not_flagged() -> None:
    rng = np.random.default_rng(1)
    res = continuous_test([rng.normal(0, 1, 40), rng.normal(0.3, 1, 40)], "student")
    assert res.note == ""


def test_the_library_keeps_its_spss_default() -> None:
    # table1() itself still defaults to Student (DOMAIN.md section 6), flagging variances
    d = _unbalanced()
    t = table1(d, "event", continuous=["age"]).tests.iloc[0]
    assert t["test"] == "Student t-test (pooled variance)"
    assert t["note"].startswith("unequal variances")
