"""compare_timepoints: RM-ANOVA/GG against a hand computation, exclusions, mixed model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kyphoimg.errors import StatsInputError
from kyphoimg.stats import compare_timepoints

ORDER = ["pre", "post", "last"]


def cohort(rng: np.random.Generator, n_a: int = 12, n_b: int = 10) -> pd.DataFrame:
    """Kyphotic angle before, after PKP and at last follow-up in two groups."""
    rows = []
    for s in range(n_a + n_b):
        g = "maintained" if s < n_a else "recompressed"
        base = rng.normal(20, 4)
        for t, shift in zip(ORDER, [0.0, -6.0, -5.0 if g == "maintained" else 2.0], strict=True):
            rows.append(
                {
                    "id": s,
                    "grp": g,
                    "visit": t,
                    "ka": base + shift + rng.normal(0, 2 + (t == "last")),
                }
            )
    return pd.DataFrame(rows)


def hand_rm_anova(y: np.ndarray) -> tuple[float, float, float]:
    """One-way RM-ANOVA F, uncorrected p and Greenhouse–Geisser epsilon from first principles.

    y: subjects x conditions. SS_cond = n Σ(mean_j − grand)², SS_error = SS_total −
    SS_subjects − SS_cond; epsilon from the double-centred covariance matrix S:
    (trace S)² / ((k − 1) Σ S_ij²).
    """
    n, k = y.shape
    grand = y.mean()
    ss_cond = n * ((y.mean(axis=0) - grand) ** 2).sum()
    ss_subj = k * ((y.mean(axis=1) - grand) ** 2).sum()
    ss_tot = ((y - grand) ** 2).sum()
    ss_err = ss_tot - ss_subj - ss_cond
    df1, df2 = k - 1, (k - 1) * (n - 1)
    f = (ss_cond / df1) / (ss_err / df2)
    s = np.cov(y, rowvar=False)
    c = np.eye(k) - 1.0 / k
    sc = c @ s @ c
    eps = np.trace(sc) ** 2 / ((k - 1) * (sc**2).sum())
    return f, float(stats.f.sf(f, df1, df2)), float(eps)


def test_rm_anova_and_greenhouse_geisser_match_hand_computation(rng) -> None:
    d = cohort(rng)
    r = compare_timepoints(d, "id", "visit", "ka", group="grp", order=ORDER)
    for g in ["maintained", "recompressed"]:
        wide = d[d["grp"] == g].pivot(index="id", columns="visit", values="ka")[ORDER].to_numpy()
        f, p, eps = hand_rm_anova(wide)
        row = r.within.set_index("group").loc[g]
        assert row["statistic"] == pytest.approx(f, rel=1e-10)
        assert row["p_uncorrected"] == pytest.approx(p, rel=1e-8)
        assert row["epsilon_gg"] == pytest.approx(eps, rel=1e-8)
        # GG p: the same F on df scaled by epsilon
        p_gg = stats.f.sf(f, eps * 2, eps * 2 * (wide.shape[0] - 1))
        assert row["p_value"] == pytest.approx(p_gg, rel=1e-8)
        assert row["test"] == "Repeated-measures ANOVA, Greenhouse–Geisser corrected"


def test_incomplete_subjects_are_excluded_with_a_count(rng) -> None:
    d = cohort(rng)
    d = d[~((d["id"].isin([0, 3])) & (d["visit"] == "last"))]
    r = compare_timepoints(d, "id", "visit", "ka", group="grp", order=ORDER)
    row = r.within.set_index("group").loc["maintained"]
    assert (row["n_subjects"], row["n_excluded"]) == (10, 2)
    assert sorted(r.excluded["subject"]) == [0, 3]
    # descriptives keep every available value
    desc = r.descriptives.set_index(["group", "time"])
    assert desc.loc[("maintained", "pre"), "n"] == 12
    assert desc.loc[("maintained", "last"), "n"] == 10
    # the pre-post comparison still uses the 12 complete pairs
    post = r.posthoc[(r.posthoc["group"] == "maintained") & (r.posthoc["time_b"] == "post")]
    assert post["n"].iat[0] == 12


def test_mixed_model_keeps_incomplete_subjects(rng) -> None:
    d = cohort(rng)
    d = d[~((d["id"].isin([0, 3])) & (d["visit"] == "last"))]
    r = compare_timepoints(d, "id", "visit", "ka", group="grp", order=ORDER, method="mixed")
    row = r.within.set_index("group").loc["maintained"]
    assert row["n_subjects"] == 12
    assert row["test"] == "Linear mixed model, Wald chi-square for time"
    assert row["df1"] == 2
    assert row["p_value"] < 1e-6  # a 6-degree mean drop with SD about 2
    assert r.excluded.empty


def test_bonferroni_multiplies_by_the_number_of_pairs(rng) -> None:
    d = cohort(rng)
    r = compare_timepoints(
        d, "id", "visit", "ka", group="grp", order=ORDER, correction="bonferroni"
    )
    post = r.posthoc
    assert (post["p_adjusted"] == np.minimum(1.0, 3 * post["p_uncorrected"])).all()
    assert set(post["correction"]) == {"Bonferroni"}
    holm = compare_timepoints(d, "id", "visit", "ka", group="grp", order=ORDER, correction="holm")
    assert (holm.posthoc["p_adjusted"] <= post["p_adjusted"] + 1e-15).all()


def test_between_group_tests_per_time_point(rng) -> None:
    d = cohort(rng)
    r = compare_timepoints(d, "id", "visit", "ka", group="grp", order=ORDER)
    last = r.between.set_index("time").loc["last"]
    a = d[(d["grp"] == "maintained") & (d["visit"] == "last")]["ka"]
    b = d[(d["grp"] == "recompressed") & (d["visit"] == "last")]["ka"]
    assert last["p_value"] == pytest.approx(stats.ttest_ind(a, b).pvalue, rel=1e-12)
    assert last["test"] == "Student t-test (pooled variance)"
    fr = compare_timepoints(d, "id", "visit", "ka", group="grp", order=ORDER, method="friedman")
    assert fr.between["test"].iat[0] == "Mann–Whitney U (asymptotic, tie-corrected)"
    assert fr.within["test"].iat[0] == "Friedman chi-square (tie-corrected)"
    wide = d[d["grp"] == "maintained"].pivot(index="id", columns="visit", values="ka")[ORDER]
    expected = stats.friedmanchisquare(*[wide[c] for c in ORDER])
    assert fr.within["statistic"].iat[0] == pytest.approx(expected.statistic)


def test_errors_name_the_column(rng) -> None:
    d = cohort(rng)
    dup = pd.concat([d, d.iloc[[0]]])
    with pytest.raises(StatsInputError, match="more than one row at time 'pre'"):
        compare_timepoints(dup, "id", "visit", "ka", order=ORDER)
    with pytest.raises(StatsInputError, match=r"time point\(s\) \['month6'\] do not occur"):
        compare_timepoints(d, "id", "visit", "ka", order=[*ORDER, "month6"])
    few = d[(d["grp"] == "maintained") | (d["id"] == 12)]
    with pytest.raises(StatsInputError, match="group 'recompressed': 1 subject"):
        compare_timepoints(few, "id", "visit", "ka", group="grp", order=ORDER)
    bad = d.astype({"ka": object})
    bad.loc[5, "ka"] = "n/a?"
    with pytest.raises(StatsInputError, match="column 'ka': non-numeric value 'n/a\\?'"):
        compare_timepoints(bad, "id", "visit", "ka", order=ORDER)
    with pytest.raises(StatsInputError, match="unknown correction"):
        compare_timepoints(d, "id", "visit", "ka", order=ORDER, correction="tukey")


def test_untestable_pairs_are_reported_and_left_out_of_the_correction(rng) -> None:
    d = cohort(rng)
    # every subject drops by exactly 6 degrees from pre to post: the change has no variance
    pre = d[d["visit"] == "pre"].set_index("id")["ka"]
    post = d["visit"] == "post"
    d.loc[post, "ka"] = d.loc[post, "id"].map(pre).to_numpy() - 6.0
    r = compare_timepoints(d, "id", "visit", "ka", group="grp", order=ORDER)
    post_hoc = r.posthoc.set_index(["group", "time_a", "time_b"])
    for g in ["maintained", "recompressed"]:
        row = post_hoc.loc[(g, "pre", "post")]
        assert row["note"] == "not computed: identical change in every subject"
        assert np.isnan(row["p_uncorrected"])
        assert np.isnan(row["p_adjusted"])
        # Bonferroni over the two pairs that were tested, not three
        rest = post_hoc.loc[g].drop(("pre", "post"))
        assert (rest["p_adjusted"] == np.minimum(1.0, 2 * rest["p_uncorrected"])).all()
    none = compare_timepoints(d, "id", "visit", "ka", group="grp", order=ORDER, correction="none")
    tested = none.posthoc["p_uncorrected"].notna()
    assert (
        none.posthoc.loc[tested, "p_adjusted"] == none.posthoc.loc[tested, "p_uncorrected"]
    ).all()
    assert set(none.posthoc["correction"]) == {"none"}


def test_sparse_follow_up_in_the_mixed_model(rng) -> None:
    d = cohort(rng)
    # recompressed: three subjects at pre and post, only subject 12 at the last visit
    keep = (d["grp"] == "maintained") | (d["id"].isin([12, 13, 14]) & (d["visit"] != "last"))
    d = d[keep | (d["id"] == 12)]
    r = compare_timepoints(d, "id", "visit", "ka", group="grp", order=ORDER, method="mixed")
    assert r.within.set_index("group").loc["recompressed", "n_subjects"] == 3
    post_hoc = r.posthoc.set_index(["group", "time_a", "time_b"])
    assert post_hoc.loc[("recompressed", "pre", "post"), "n"] == 3
    for a, b in [("pre", "last"), ("post", "last")]:
        row = post_hoc.loc[("recompressed", a, b)]
        assert (row["n"], row["note"]) == (1, "not computed: fewer than 2 pairs")
        assert np.isnan(row["p_adjusted"])
    # one recompressed value at the last visit: no between-group test then
    between = r.between.set_index("time")
    assert between.loc["last", "test"] == ""
    assert np.isnan(between.loc["last", "p_value"])
    assert between.loc["last", "n"] == 13
    assert between.loc["pre", "test"] == "Student t-test (pooled variance)"


def test_groups_follow_the_categorical_order(rng) -> None:
    d = cohort(rng)
    d["grp"] = pd.Categorical(d["grp"], categories=["recompressed", "maintained", "unused"])
    r = compare_timepoints(d, "id", "visit", "ka", group="grp", order=ORDER)
    assert list(r.within["group"]) == ["recompressed", "maintained"]
    assert list(pd.unique(r.descriptives["group"])) == ["recompressed", "maintained"]
