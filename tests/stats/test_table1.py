"""Table 1: reproduction of the ASD study's univariate p-values, layout, exports, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kyphoimg.errors import StatsInputError
from kyphoimg.stats import table1

# Seed study 004 (../shared/seeds/004_0fe854cbe9ac1e22.txt), 162 PKP patients, 25 with
# adjacent segment degeneration (ASD) and 137 without. Published summaries and p-values:
#   age (73.0±6.6) vs (67.9±7.9) years, P=0.003
#   smoking yes/no 17/8 vs 62/75, P=0.036
#   previous ASD yes/no 9/16 vs 24/113, P=0.035
#   bone cement (4.1±1.0) vs (3.1±0.9) ml, P<0.001
#   cement leakage yes/no 10/15 vs 23/114, P=0.008
#   Cobb angle after surgery (11.5±2.7) vs (9.8±2.1) degrees (no P printed)
#   recovery rate of vertebral height (12.0±2.6)% vs (8.2±2.3)%, P<0.001
#   BMD T value (-3.2±0.8) vs (-2.6±0.5), P<0.001
N_ASD, N_NON = 25, 137
CONTINUOUS = {
    "age": ((73.0, 6.6), (67.9, 7.9), "0.003"),
    "cement_ml": ((4.1, 1.0), (3.1, 0.9), "<0.001"),
    "cobb_post_deg": ((11.5, 2.7), (9.8, 2.1), None),
    "height_recovery_pct": ((12.0, 2.6), (8.2, 2.3), "<0.001"),
    "bmd_t": ((-3.2, 0.8), (-2.6, 0.5), "<0.001"),
}
CATEGORICAL = {
    "smoking": ((17, 8), (62, 75), "0.036"),
    "previous_asd": ((9, 16), (24, 113), "0.035"),
    "cement_leakage": ((10, 15), (23, 114), "0.008"),
}


def exact_sample(n: int, mean: float, sd: float, seed: int) -> np.ndarray:
    """A fixed sample standardised to exactly this mean and SD (ddof=1)."""
    x = np.random.default_rng(seed).normal(size=n)
    z = (x - x.mean()) / x.std(ddof=1)
    return mean + sd * z


def asd_cohort() -> pd.DataFrame:
    d = pd.DataFrame({"asd": ["ASD"] * N_ASD + ["non-ASD"] * N_NON})
    for k, (name, (a, b, _)) in enumerate(CONTINUOUS.items()):
        d[name] = np.concatenate(
            [exact_sample(N_ASD, *a, seed=100 + k), exact_sample(N_NON, *b, seed=200 + k)]
        )
    for name, ((ay, an), (by, bn), _) in CATEGORICAL.items():
        d[name] = ["yes"] * ay + ["no"] * an + ["yes"] * by + ["no"] * bn
    return d


def test_asd_study_table1_reproduces_published_p_values() -> None:
    t = table1(asd_cohort(), "asd", continuous=list(CONTINUOUS), categorical=list(CATEGORICAL))
    tests = t.tests.set_index("variable")
    # Published p-values are rounded to 3 decimals (or printed as P<0.001), and the
    # summaries we rebuild the data from are rounded to 1 decimal, so agreement is
    # checked at the printed precision: the default tests must print the same string.
    for name, (*_, published) in {**CONTINUOUS, **CATEGORICAL}.items():
        row = tests.loc[name]
        shown = t.display.loc[t.display["Characteristic"].str.startswith(name + ","), "p"].iat[0]
        if published is not None:
            assert shown == published, (name, row["p_value"])
    assert tests.loc["age", "test"] == "Student t-test (pooled variance)"
    # Student reproduces P=0.003 where Welch would print 0.001 (DOMAIN.md §6).
    welch = table1(asd_cohort(), "asd", continuous=["age"], tests={"age": "welch"})
    assert welch.display["p"].iat[0] == "0.001"
    for name in CATEGORICAL:
        # All expected counts are >= 5 (smallest 5.09), so Pearson chi-square without
        # Yates; with Yates the smoking p would be 0.061, not the published 0.036.
        assert tests.loc[name, "test"] == "Pearson chi-square (no continuity correction)"
    yates = table1(asd_cohort(), "asd", categorical=["smoking"], tests={"smoking": "chi2_yates"})
    assert yates.display["p"].iat[0] == "0.061"


def test_asd_summaries_are_the_published_ones() -> None:
    t = table1(asd_cohort(), "asd", continuous=["age"], categorical=["smoking"])
    assert list(t.display.columns) == [
        "Characteristic",
        "ASD (n=25)",
        "non-ASD (n=137)",
        "Missing",
        "SMD",
        "p",
        "Test",
    ]
    age = t.display.iloc[0]
    assert age["ASD (n=25)"] == "73.0 ± 6.6"
    assert age["non-ASD (n=137)"] == "67.9 ± 7.9"
    yes = t.display[t.display["Characteristic"] == "  yes"].iloc[0]
    assert yes["ASD (n=25)"] == "17 (68.0)"
    assert yes["non-ASD (n=137)"] == "62 (45.3)"
    assert t.group_sizes == {"ASD": 25, "non-ASD": 137}


def test_smd_of_a_one_sd_shift_is_one() -> None:
    d = pd.DataFrame({"g": ["a"] * 10 + ["b"] * 10})
    d["x"] = np.concatenate([exact_sample(10, 1.0, 1.0, 1), exact_sample(10, 0.0, 1.0, 2)])
    d["flag"] = [1] * 5 + [0] * 5 + [1] * 2 + [0] * 8
    t = table1(d, "g", continuous=["x"], categorical=["flag"]).tests.set_index("variable")
    assert t.loc["x", "smd"] == pytest.approx(1.0, abs=1e-12)
    # Binary SMD |p1 - p2| / sqrt((p1 q1 + p2 q2) / 2) = 0.3 / sqrt((0.25 + 0.16) / 2)
    assert t.loc["flag", "smd"] == pytest.approx(0.3 / np.sqrt(0.205), abs=1e-12)


def test_quartiles_follow_spss_weighted_average() -> None:
    d = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4, "x": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    t = table1(d, "g", nonnormal=["x"])
    s = t.summary.set_index("group").loc["a"]
    # SPSS HAVERAGE on 1,2,3,4: Q1 = 1.25, median 2.5, Q3 = 3.75 (R type 7 gives 1.75/3.25).
    assert (s["q1"], s["median"], s["q3"]) == (1.25, 2.5, 3.75)
    # Python rounds the binary values 1.25 and 3.75 half-to-even: "1.2" and "3.8".
    assert t.display.iloc[0]["a (n=4)"] == "2.5 [1.2–3.8]"
    assert t.tests["test"].iat[0] == "Mann–Whitney U (asymptotic, tie-corrected)"


def test_missing_values_are_counted_and_excluded_from_denominators() -> None:
    d = pd.DataFrame(
        {
            "g": ["a"] * 5 + ["b"] * 5 + [None],
            "x": [1, 2, np.nan, 4, 5, 6, 7, 8, 9, 10, 11],
            "c": ["y", "n", "y", None, "y", "n", "n", "y", "n", "n", "y"],
        }
    )
    t = table1(d, "g", continuous=["x"], categorical=["c"])
    assert t.n_excluded == 1
    assert t.display.iloc[0]["Missing"] == "1"
    s = t.summary[(t.summary["variable"] == "c") & (t.summary["level"] == "y")].set_index("group")
    assert s.loc["a", "n"] == 4
    assert s.loc["a", "count"] == 3
    assert s.loc["a", "percent"] == pytest.approx(75.0)


def test_three_groups_use_anova_and_chi_square() -> None:
    rng = np.random.default_rng(3)
    d = pd.DataFrame({"g": np.repeat(["a", "b", "c"], 30), "x": rng.normal(size=90)})
    d["c"] = rng.choice(["u", "v"], size=90)
    t = table1(d, "g", continuous=["x"], categorical=["c"]).tests.set_index("variable")
    assert t.loc["x", "test"] == "One-way ANOVA"
    assert (t.loc["x", "df"], t.loc["x", "df2"]) == (2, 87)
    assert np.isnan(t.loc["x", "smd"])
    assert t.loc["c", "df"] == 2


def test_exports(tmp_path) -> None:
    t = table1(asd_cohort(), "asd", continuous=["age"], categorical=["smoking"])
    md = t.to_markdown()
    assert md.splitlines()[0].startswith("| Characteristic | ASD (n=25) |")
    assert "Student t-test (pooled variance)" in md
    html = t.to_html()
    assert html.startswith('<table class="table1">')
    assert "73.0 ± 6.6" in html
    assert "Pearson chi-square (no continuity correction)" in html
    csv = t.to_csv(tmp_path / "t1.csv")
    assert pd.read_csv(csv, dtype=str)["p"].tolist()[:1] == ["0.003"]
    xlsx = t.to_excel(tmp_path / "t1.xlsx")
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert set(sheets) == {"Table 1", "summary", "tests"}
    assert sheets["tests"]["p_value"].iat[0] == pytest.approx(t.tests["p_value"].iat[0])


@pytest.mark.parametrize(
    ("frame", "kwargs", "match"),
    [
        (
            pd.DataFrame({"g": ["a", "a", "b"], "x": [1.0, 2.0, 3.0]}),
            {"continuous": ["x"]},
            r"group\(s\) \{'b': 1\} have fewer than 2 subjects",
        ),
        (
            pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [1.0, "2,5", 3.0, 4.0]}),
            {"continuous": ["x"]},
            r"column 'x': non-numeric value '2,5'",
        ),
        (
            pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [np.nan] * 4}),
            {"continuous": ["x"]},
            r"column 'x': every value is missing",
        ),
        (
            pd.DataFrame({"g": ["a", "a", "a"], "x": [1.0, 2.0, 3.0]}),
            {"continuous": ["x"]},
            r"has 1 level",
        ),
        (
            pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [1.0, 2.0, 3.0, 4.0]}),
            {"continuous": ["x"], "tests": {"x": "fisher"}},
            r"tests\['x'\] = 'fisher' is not a continuous test",
        ),
        (
            pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [1.0, 2.0, 3.0, 4.0]}),
            {"continuous": ["y"]},
            r"column\(s\) 'y' not in the table",
        ),
    ],
)
def test_bad_input_names_the_column(frame, kwargs, match) -> None:
    with pytest.raises(StatsInputError, match=match):
        table1(frame, "g", **kwargs)
