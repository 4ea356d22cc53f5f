"""ROC and DeLong against pROC's published values on its aSAH data.

Sources (see tests/reference/README.md and tests/reference/proc_asah.R):
- ../shared/data/README.md, quoting pROC's tests/testthat/test-auc.R, test-var.R and
  test-ci.auc.R;
- pROC tests/testthat/test-ci.auc.R (xrobin/pROC), for the female-subset interval;
- pROC tests/testthat/helper-coords-expected.R, for s100b curve coordinates;
- pROC tests/testthat/test-roc.test.R, for roc.test (paired and unpaired DeLong).
Outcome: Poor is the event, higher values predict it, wfns used as a number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kyphoimg.errors import StatsInputError
from kyphoimg.stats import delong_test, roc

pytestmark = pytest.mark.validation

# pROC (data README): auc(r.<marker>) and var(r.<marker>) (DeLong)
PROC_AUC = {"wfns": 0.823678861788618, "ndka": 0.611957994579946, "s100b": 0.731368563685637}
PROC_VAR = {"wfns": 0.00146991470882363, "ndka": 0.0031908105493913, "s100b": 0.00266868245717244}


@pytest.mark.parametrize("marker", ["wfns", "ndka", "s100b"])
def test_auc_and_delong_variance_match_proc(asah: pd.DataFrame, marker: str) -> None:
    r = roc(asah["outcome"], asah[marker], positive="Poor", direction="higher")
    assert r.auc == pytest.approx(PROC_AUC[marker], abs=1e-12)
    assert r.variance == pytest.approx(PROC_VAR[marker], rel=1e-10)
    assert (r.n_cases, r.n_controls, r.n_missing) == (41, 72, 0)


def test_delong_ci_matches_proc(asah: pd.DataFrame) -> None:
    ndka = roc(asah["outcome"], asah["ndka"], positive="Poor", direction="higher")
    # pROC test-ci.auc.R:
    #   expected.ci.auc <- c(0.501244999271703, 0.611957994579946, 0.722670989888189)
    assert ndka.ci_low == pytest.approx(0.501244999271703, abs=1e-12)
    assert ndka.ci_high == pytest.approx(0.722670989888189, abs=1e-12)
    s100b = roc(asah["outcome"], asah["s100b"], positive="Poor", direction="higher")
    # data README: s100b DeLong 95 % CI 0.6301 – 0.8326 (4 decimals)
    assert s100b.ci_low == pytest.approx(0.6301, abs=5e-5)
    assert s100b.ci_high == pytest.approx(0.8326, abs=5e-5)


def test_delong_ci_on_a_subset_matches_proc(asah: pd.DataFrame) -> None:
    women = asah[asah["gender"] == "Female"]
    r = roc(women["outcome"], women["ndka"], positive="Poor", direction="higher")
    # pROC test-ci.auc.R: ci.auc(outcome ~ ndka, subset = gender == "Female")
    #   c(0.5261398281, 0.6671428571, 0.8081458862)
    assert (r.ci_low, r.auc, r.ci_high) == pytest.approx(
        (0.5261398281, 0.6671428571, 0.8081458862), abs=1e-10
    )


def test_youden_cutoff_of_s100b_matches_proc(asah: pd.DataFrame) -> None:
    r = roc(asah["outcome"], asah["s100b"], positive="Poor", direction="higher")
    # pROC coords(r.s100b, "best"): threshold 0.205 (data README), and in
    # helper-coords-expected.R the 0.205 column: specificity 0.805555555555556,
    # sensitivity 0.634146341463415.
    assert r.threshold == pytest.approx(0.205, abs=1e-12)
    assert r.specificity == pytest.approx(0.805555555555556, abs=1e-12)
    assert r.sensitivity == pytest.approx(0.634146341463415, abs=1e-12)
    assert r.n_youden_ties == 1
    assert "midway" in r.threshold_rule


def test_curve_coordinates_match_proc(asah: pd.DataFrame) -> None:
    r = roc(asah["outcome"], asah["s100b"], positive="Poor", direction="higher")
    # pROC helper-coords-expected.R (threshold, specificity, sensitivity) for r.s100b
    expected = [
        (-np.inf, 0.0, 1.0),
        (0.035, 0.0, 0.975609756097561),
        (0.045, 0.0694444444444444, 0.975609756097561),
        (0.075, 0.222222222222222, 0.902439024390244),
        (0.115, 0.541666666666667, 0.75609756097561),
        (0.245, 0.819444444444444, 0.585365853658537),
        (0.51, 1.0, 0.292682926829268),
    ]
    curve = r.curve
    for thr, spec, sens in expected:
        row = curve[np.isclose(curve["threshold"], thr, atol=1e-12) | (curve["threshold"] == thr)]
        assert len(row) == 1, thr
        assert row["specificity"].iat[0] == pytest.approx(spec, abs=1e-12)
        assert row["sensitivity"].iat[0] == pytest.approx(sens, abs=1e-12)
    # 51 thresholds in pROC's coords(r.s100b, "all") (dim c(51, 26) in test-coords.R)
    assert len(curve) == 51


def test_lower_direction_on_negated_marker_gives_the_same_curve(asah: pd.DataFrame) -> None:
    # pROC test-ci.auc.R: ci.auc(aSAH$outcome, -aSAH$ndka) equals the ndka interval.
    r = roc(asah["outcome"], -asah["ndka"], positive="Poor", direction="lower")
    assert (r.ci_low, r.auc, r.ci_high) == pytest.approx(
        (0.501244999271703, 0.611957994579946, 0.722670989888189), abs=1e-12
    )
    assert r.threshold == pytest.approx(
        -roc(asah["outcome"], asah["ndka"], "Poor", "higher").threshold
    )


def test_paired_delong_test_matches_proc_roc_test(asah: pd.DataFrame) -> None:
    y = asah["outcome"]
    t1 = delong_test(y, asah["wfns"], asah["s100b"], direction="higher", positive="Poor")
    # pROC test-roc.test.R, t1 <- roc.test(r.wfns, r.s100b)
    assert t1.statistic == pytest.approx(2.20898359144091, abs=1e-10)
    assert t1.p_value == pytest.approx(0.0271757822291882, abs=1e-12)
    assert t1.ci_low == pytest.approx(0.0104061769564846, abs=1e-12)
    assert t1.ci_high == pytest.approx(0.174214419249478, abs=1e-12)
    t2 = delong_test(y, asah["wfns"], asah["ndka"], direction="higher", positive="Poor")
    # t2 <- roc.test(r.wfns, r.ndka)
    assert t2.statistic == pytest.approx(2.79777591868904, abs=1e-10)
    assert t2.p_value == pytest.approx(0.00514557970691098, abs=1e-12)
    assert (t2.ci_low, t2.ci_high) == pytest.approx(
        (0.0634011709339876, 0.3600405634833566), abs=1e-12
    )
    t3 = delong_test(y, asah["ndka"], asah["s100b"], direction="higher", positive="Poor")
    # t3 <- roc.test(r.ndka, r.s100b)
    assert t3.statistic == pytest.approx(-1.39077002573558, abs=1e-10)
    assert t3.p_value == pytest.approx(0.164295175223054, abs=1e-12)
    assert (t3.ci_low, t3.ci_high) == pytest.approx(
        (-0.2876917446341914, 0.0488706064228094), abs=1e-12
    )
    assert "correlated" in t1.test


def test_unpaired_delong_test_matches_proc_roc_test(asah: pd.DataFrame) -> None:
    y = asah["outcome"]
    # pROC test-roc.test.R: roc.test(r.wfns, r.s100b, paired = FALSE) etc.
    cases = [
        ("wfns", "s100b", 1.43490640926908, 0.152825378808796),
        ("wfns", "ndka", 3.10125096778969, 0.00220950791756457),
        ("ndka", "s100b", -1.55995743389685, 0.120192832430845),
    ]
    for a, b, d, p in cases:
        t = delong_test(y, asah[a], asah[b], paired=False, direction="higher", positive="Poor")
        assert t.statistic == pytest.approx(d, abs=1e-10)
        assert t.p_value == pytest.approx(p, abs=1e-12)
        assert not t.paired


def test_swapping_markers_flips_the_statistic(asah: pd.DataFrame) -> None:
    y = asah["outcome"]
    ab = delong_test(y, asah["wfns"], asah["s100b"], direction="higher", positive="Poor")
    ba = delong_test(y, asah["s100b"], asah["wfns"], direction="higher", positive="Poor")
    assert ba.statistic == pytest.approx(-ab.statistic)
    assert ba.p_value == pytest.approx(ab.p_value)


def test_missing_values_are_dropped_and_counted(asah: pd.DataFrame) -> None:
    d = asah.copy()
    d.loc[d.index[:20], "ndka"] = np.nan
    r = roc(d["outcome"], d["ndka"], positive="Poor", direction="higher")
    full = roc(
        asah["outcome"].iloc[20:], asah["ndka"].iloc[20:], positive="Poor", direction="higher"
    )
    assert r.n_missing == 20
    assert r.auc == pytest.approx(full.auc)


@pytest.mark.parametrize("direction", [None, "up", ">"])
def test_direction_is_required(asah: pd.DataFrame, direction) -> None:
    with pytest.raises(StatsInputError, match="direction is required"):
        roc(asah["outcome"], asah["s100b"], positive="Poor", direction=direction)


def test_single_outcome_class_is_refused() -> None:
    with pytest.raises(StatsInputError, match="single class"):
        roc(["Poor"] * 5, [1, 2, 3, 4, 5], positive="Poor", direction="higher")


def test_positive_must_name_a_class(asah: pd.DataFrame) -> None:
    with pytest.raises(StatsInputError, match="positive"):
        roc(asah["outcome"], asah["s100b"], direction="higher")
    with pytest.raises(StatsInputError, match="'Bad' is not one of the classes"):
        roc(asah["outcome"], asah["s100b"], positive="Bad", direction="higher")


def test_non_numeric_marker_is_refused(asah: pd.DataFrame) -> None:
    marker = asah["s100b"].astype(object)
    marker.iloc[3] = "0.1a"
    with pytest.raises(StatsInputError, match=r"non-numeric value '0.1a'"):
        roc(asah["outcome"], marker, positive="Poor", direction="higher")


def test_small_example_by_hand() -> None:
    # Cases 0.35, 0.8; controls 0.1, 0.4: 3 of 4 pairs ordered correctly.
    r = roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], direction="higher")
    assert r.auc == 0.75
    # Youden: threshold 0.6 (midway 0.4–0.8) gives sens 0.5, spec 1; 0.225 gives 1, 0.5.
    assert r.youden_index == pytest.approx(0.5)
    assert r.n_youden_ties == 2
    assert r.threshold == pytest.approx(0.225)
    lower = roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], direction="lower")
    assert lower.auc == 0.25
