"""Longitudinal features from phantom films with known heights and angles."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from kyphoimg import Calibration, KyphoimgError, features_table, measures_table
from kyphoimg.landmarks import read_landmark_files
from kyphoimg.longitudinal import FEATURE_MEASURES, RecompressionRule
from kyphoimg.sample import lateral_phantom

LEVELS = ("T12", "L1", "L2")
NEIGHBOURS = {"T12": (26.0, 25.0, 27.0), "L2": (28.0, 27.0, 29.0)}  # mean Ha 27, Hm 26, Hp 28


def film(
    tp, ha, hm=None, hp=27.5, disc=0.0, pid="P1", spacing=(0.15, 0.15), source="pixel_spacing", **kw
):
    heights = {**NEIGHBOURS, "L1": (ha, hm if hm is not None else ha, hp)}
    return lateral_phantom(
        LEVELS,
        heights_mm=heights,
        disc_angle_deg=disc,
        spacing=spacing,
        source=source,
        patient_id=pid,
        timepoint=tp,
        index_levels=["L1"],
        **kw,
    )


def one(features: pd.DataFrame, pid: str = "P1") -> pd.Series:
    rows = features[features["patient_id"] == pid]
    assert len(rows) == 1
    return rows.iloc[0]


def test_restoration_reduction_and_loss_by_hand():
    pre, post, last = (
        film("pre", 13.5, disc=4.0),
        film("post", 21.6, disc=1.0),
        film("last", 19.44, disc=2.5),
    )
    f = one(features_table(measures_table([pre.landmarks, post.landmarks, last.landmarks])))
    ahr = {tp: 100 * ha / 27.0 for tp, ha in (("pre", 13.5), ("post", 21.6), ("last", 19.44))}
    assert f["ahr_pct_pre"] == pytest.approx(ahr["pre"])  # 50 %
    assert f["ahr_gain_pp"] == pytest.approx(ahr["post"] - ahr["pre"])  # 30 pp
    assert f["restoration_reference_pct"] == pytest.approx((80 - 50) / (100 - 50) * 100)  # 60 %
    assert f["height_restoration_pct"] == pytest.approx(60.0)
    assert f["height_restoration_method"] == "reference:ha"
    assert f["restoration_relative_pct"] == pytest.approx((21.6 - 13.5) / 13.5 * 100)
    assert f["height_gain_mm"] == pytest.approx(21.6 - 13.5)
    ka = {tp: ph.cobb_deg("T12", "L2") for tp, ph in (("pre", pre), ("post", post), ("last", last))}
    assert f["ka_deg_pre"] == pytest.approx(ka["pre"])
    assert f["reduction_angle_deg"] == pytest.approx(ka["pre"] - ka["post"])
    assert f["correction_loss_deg"] == pytest.approx(ka["last"] - ka["post"])
    assert f["height_loss_pct"] == pytest.approx((21.6 - 19.44) / 21.6 * 100)  # exactly 10 %
    assert f["reduction_rate_pct"] == pytest.approx(60.0)
    assert f["reduction_rate_method"] == "height_restoration:reference:ha"
    assert not pd.isna(f["recompression"])
    assert not f["recompression"]
    assert f["last_timepoint"] == "last"
    assert f["recompression_rule"] == (
        "height_loss>=15% (ahr vs post: anterior height ratio to the adjacent vertebrae, "
        "magnification cancels) or ka_increase>=10deg (last vs post)"
    )


def test_reference_restoration_cancels_magnification_between_films():
    # Same anatomy; the post film is magnified 20 % more, but both carry the same detector
    # spacing, so the post film's mm read 1.2 x the anatomy.
    pre = film("pre", 13.5, source="detector")
    post = film("post", 21.6, spacing=(0.15 / 1.2, 0.15 / 1.2), source="detector")
    post_ls = post.landmarks.replace(calibration=Calibration(0.15, 0.15, "detector"))
    f = one(features_table(measures_table([pre.landmarks, post_ls])))
    assert f["ha_mm_post"] == pytest.approx(21.6 * 1.2)
    assert f["restoration_reference_pct"] == pytest.approx(60.0)
    # The mm gain is inflated by the magnification, which is why it is not the default.
    assert f["height_gain_mm"] == pytest.approx(21.6 * 1.2 - 13.5)


@pytest.mark.parametrize(
    ("ha_last", "disc_last", "expected"),
    [
        pytest.param(21.6 * 0.85, 1.0, True, id="height-loss-exactly-15pct"),
        pytest.param(21.6 * 0.851, 1.0, False, id="height-loss-14.9pct"),
        pytest.param(21.6, 6.0, True, id="ka-increase-10deg"),  # two discs x 5 deg
        pytest.param(21.6, 5.99, False, id="ka-increase-9.98deg"),
    ],
)
def test_recompression_thresholds_are_inclusive(ha_last, disc_last, expected):
    sets = [film("post", 21.6, disc=1.0).landmarks, film("last", ha_last, disc=disc_last).landmarks]
    f = one(features_table(measures_table(sets)))
    assert bool(f["recompression"]) is expected


def test_recompression_rule_parameters_are_recorded_and_used():
    sets = [film("pre", 13.5).landmarks, film("post", 21.6).landmarks, film("last", 17.0).landmarks]
    m = measures_table(sets)
    loose = RecompressionRule(height_loss_pct=25.0, angle_increase_deg=None)
    f = one(features_table(m, recompression=loose))
    assert f["height_loss_pct"] == pytest.approx((21.6 - 17.0) / 21.6 * 100)  # 21.3 %
    assert not f["recompression"]
    assert f["recompression_rule"].startswith("height_loss>=25% (ahr vs post: ")
    assert "ka_increase" not in f["recompression_rule"]
    black = RecompressionRule(height_loss_pct=20.0, angle_increase_deg=None, min_loss_mm=4.0)
    assert black.height == "ha"  # an absolute mm criterion follows a body height in mm
    f = one(features_table(m, recompression=black))
    assert bool(f["recompression"])  # 21.3 % and 4.6 mm
    assert "loss>=4mm" in f["recompression_rule"]
    assert "(ha vs post: body height in mm" in f["recompression_rule"]
    vs_pre = one(features_table(m, recompression=RecompressionRule(baseline="pre")))
    assert vs_pre["height_loss_pct"] == pytest.approx((13.5 - 17.0) / 13.5 * 100)
    by_ahr = one(features_table(m, recompression=RecompressionRule(height="ahr")))
    assert by_ahr["height_loss_pct"] == pytest.approx((21.6 - 17.0) / 21.6 * 100)
    by_max = one(features_table(m, recompression=RecompressionRule(height="max_loss")))
    assert by_max["height_loss_pct"] == pytest.approx(
        100 * (21.6 - 17.0) / 27.0
    )  # pp of the max loss


def test_missing_follow_up_leaves_recompression_unknown():
    sets = [film("pre", 13.5).landmarks, film("post", 21.6).landmarks]
    f = one(features_table(measures_table(sets)))
    assert pd.isna(f["recompression"])
    assert math.isnan(f["correction_loss_deg"])
    assert math.isnan(f["ha_mm_last"])  # the column exists: fixed schema


def test_named_follow_ups_in_explicit_order():
    sets = [
        film("pre", 13.5, pid="A").landmarks,
        film("post", 21.6, pid="A").landmarks,
        film("3m", 20.0, pid="A").landmarks,
        film("12m", 17.0, pid="A").landmarks,
        film("pre", 13.5, pid="B").landmarks,
        film("post", 21.6, pid="B").landmarks,
        film("3m", 20.52, pid="B").landmarks,
    ]
    m = measures_table(sets)
    with pytest.raises(KyphoimgError, match=r"'12m', '3m'.*--timepoints"):
        features_table(m)
    f = features_table(m, order=["pre", "post", "3m", "12m"])
    a, b = one(f, "A"), one(f, "B")
    assert a["last_timepoint"] == "12m"
    assert a["height_loss_pct"] == pytest.approx((21.6 - 17.0) / 21.6 * 100)
    assert b["last_timepoint"] == "3m"
    assert b["height_loss_pct"] == pytest.approx(5.0)
    assert "ha_mm_12m" in f.columns


def test_findings_taken_from_the_right_film():
    pre = film("pre", 13.5, findings={"L1": {"ivc": "yes", "npec": "not_assessable"}})
    post = film(
        "post", 21.6, findings={"L1": {"ivc": "no", "npec": "superior", "cement_leakage": "no"}}
    )
    f = one(features_table(measures_table([pre.landmarks, post.landmarks])))
    assert f["ivc"] == "yes"  # IVC is read on the pre-operative film first
    assert f["npec"] == "superior"  # NPEC only exists once cement is in
    assert f["cement_leakage"] == "no"


def test_clinical_join_and_clashes():
    sets = [film("pre", 13.5, pid="7").landmarks, film("post", 21.6, pid="7").landmarks]
    clinical = pd.DataFrame({"patient_id": [7, 8], "age": [71, 80], "ivc": ["x", "y"]})
    f = features_table(measures_table(sets), clinical=clinical)
    assert one(f, "7")["age"] == 71
    assert one(f, "7")["ivc_clinical"] == "x"
    dup = pd.DataFrame({"patient_id": ["7", "7"], "age": [1, 2]})
    with pytest.raises(KyphoimgError, match="more than once"):
        features_table(measures_table(sets), clinical=dup)


def test_duplicate_vertebra_at_one_time_point_is_refused():
    a = film("pre", 13.5, rater="r1").landmarks
    b = film("pre", 14.0, rater="r2").landmarks
    with pytest.raises(KyphoimgError, match="more than once at time point pre"):
        features_table(measures_table([a, b]))


def test_angle_reduction_rate_variant():
    pre, post = film("pre", 13.5, disc=5.0), film("post", 21.6, disc=1.0)
    f = one(features_table(measures_table([pre.landmarks, post.landmarks]), reduction_rate="angle"))
    ka_pre, ka_post = pre.cobb_deg("T12", "L2"), post.cobb_deg("T12", "L2")
    assert f["reduction_rate_pct"] == pytest.approx(100 * (ka_pre - ka_post) / ka_pre)
    assert f["reduction_rate_method"].startswith("angle")


def test_empty_measures_give_zero_rows_with_every_column():
    f = features_table(measures_table([]))
    assert len(f) == 0
    for m in FEATURE_MEASURES:
        for tp in ("pre", "post", "last"):
            assert f"{m}_{tp}" in f.columns
    for col in ("height_restoration_pct", "recompression", "ivc", "last_timepoint"):
        assert col in f.columns


def test_invalid_variant_names():
    m = measures_table([])
    with pytest.raises(ValueError, match="restoration"):
        features_table(m, restoration="mm")
    with pytest.raises(ValueError, match="height"):
        RecompressionRule(height="volume")


def test_nothing_to_restore_gives_nan_not_inf():
    # The index vertebra is as tall as its neighbours' mean before surgery: R_pre = 100 %.
    pre, post = film("pre", 27.0), film("post", 27.5)
    f = one(features_table(measures_table([pre.landmarks, post.landmarks])))
    assert f["ahr_pct_pre"] == pytest.approx(100.0)
    assert math.isnan(f["restoration_reference_pct"])


def test_heights_from_films_with_different_calibration_sources_are_not_compared():
    pre = film("pre", 13.5, source="detector")
    post = film("post", 21.6, source="pixel_spacing")
    last = film("last", 17.0, source="pixel_spacing")
    f = one(features_table(measures_table([pre.landmarks, post.landmarks, last.landmarks])))
    assert math.isnan(f["height_gain_mm"])
    assert math.isnan(f["restoration_relative_pct"])
    assert f["restoration_reference_pct"] == pytest.approx(60.0)  # scale-free: still valid
    assert f["height_loss_pct"] == pytest.approx((21.6 - 17.0) / 21.6 * 100)  # post and last agree


def test_min_loss_mm_needs_a_body_height():
    with pytest.raises(ValueError, match="min_loss_mm needs a body height"):
        RecompressionRule(height="ahr", min_loss_mm=4.0)


def test_visual_genant_grade_is_carried_from_the_pre_film():
    pre = film("pre", 13.5, findings={"L1": {"genant_visual": "2"}})
    post = film("post", 21.6)
    f = one(features_table(measures_table([pre.landmarks, post.landmarks])))
    assert f["genant_visual"] == "2"


# ----------------------------------------------------------------------------- magnification
def test_default_recompression_height_cancels_magnification_between_films():
    """The last film is magnified 10 % more than the post film, with the same detector spacing.

    The anatomy loses 15 % of its anterior height (21.6 -> 18.36 mm): recompression by the
    15 % rule. Detector-plane mm read the last film 1.1 x larger, 6.5 % loss: missed. The
    default follows the anterior height ratio to the adjacent vertebrae, measured on each
    film against its own neighbours, so the magnification cancels.
    """
    post = film("post", 21.6, source="detector")
    last = film("last", 18.36, spacing=(0.15 / 1.1, 0.15 / 1.1), source="detector")
    last_ls = last.landmarks.replace(calibration=Calibration(0.15, 0.15, "detector"))
    m = measures_table([post.landmarks, last_ls])
    assert one(features_table(m))["ha_mm_last"] == pytest.approx(18.36 * 1.1)

    default = RecompressionRule()
    assert default.height == "ahr"
    assert "magnification cancels" in default.describe()
    f = one(features_table(m))
    assert f["height_loss_pct"] == pytest.approx(15.0)
    assert bool(f["recompression"]) is True

    by_mm = RecompressionRule(height="ha")  # the mm rule, still available by name
    assert "magnification not cancelled" in by_mm.describe()
    f = one(features_table(m, recompression=by_mm))
    assert f["height_loss_pct"] == pytest.approx(100 * (1 - 18.36 * 1.1 / 21.6))  # 6.5 %
    assert bool(f["recompression"]) is False


def test_default_recompression_height_is_closer_to_the_sample_truth():
    """sample_dicom/README.md: P002 "loses 27 % of its anterior height above the cement.
    kyphoimg measures 23.8 % in detector-plane mm, because the two films' magnifications
    differ". The default must come closer to the 27 % than the mm rule does."""
    root = Path(__file__).resolve().parents[1] / "sample_dicom"
    sets, errors = read_landmark_files([root])
    assert errors.empty
    m = measures_table(sets)
    truth = 27.0
    default = one(features_table(m), "P002")["height_loss_pct"]
    by_mm = one(features_table(m, recompression=RecompressionRule(height="ha")), "P002")
    assert by_mm["height_loss_pct"] == pytest.approx(23.8, abs=0.05)  # as the README says
    assert abs(default - truth) < abs(by_mm["height_loss_pct"] - truth)
    assert default == pytest.approx(truth, abs=0.5)
