"""Measures against hand-computed geometry and the phantom's construction truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kyphoimg import Calibration, LandmarkError, LandmarkSet, images_table, measures_table
from kyphoimg.errors import MeasureError
from kyphoimg.geometry import cobb_deg, distance, nanmean_pair
from kyphoimg.landmarks import SCHEMES
from kyphoimg.measure import (
    IMAGE_COLUMNS,
    MEASURE_COLUMNS,
    VERTEBRA_COLUMNS,
    cobb_angle,
    gardner_angle,
    kyphotic_angle,
    measure_points,
    measure_vertebrae,
    points_frame,
    vertebral_heights,
    wedge_angle,
)
from kyphoimg.sample import lateral_phantom

# ----------------------------------------------------------------------------- helpers


def body(
    top: float,
    ha: float,
    hm: float,
    hp: float,
    depth: float = 30.0,
    left: float = 0.0,
    facing: str = "right",
):
    """A vertebra whose superior endplate is horizontal at row ``top`` (pixels).

    Posterior wall at column ``left`` (facing right) with the anterior wall ``depth`` px
    toward the face; heights are vertical distances, so they are exact by construction.
    """
    s = 1 if facing == "right" else -1
    post, ant, mid = left, left + s * depth, left + s * depth / 2
    return {
        "ant_sup": (top, ant),
        "mid_sup": (top + 1.0, mid),
        "post_sup": (top, post),
        "ant_inf": (top + ha, ant),
        "mid_inf": (top + 1.0 + hm, mid),
        "post_inf": (top + hp, post),
    }


def one_row(table: pd.DataFrame, level: str) -> pd.Series:
    rows = table[table["level"] == level]
    assert len(rows) == 1
    return rows.iloc[0]


# ----------------------------------------------------------------------------- geometry


@pytest.mark.parametrize(
    ("up_p", "up_a", "lo_p", "lo_a", "expected"),
    [
        pytest.param((0, 0), (0, 10), (5, 0), (5, 10), 0.0, id="parallel"),
        # lower endplate's anterior end rises 10 over 10: anterior ends converge, 45 deg kyphosis
        pytest.param((0, 0), (0, 10), (20, 0), (10, 10), 45.0, id="kyphosis-45"),
        # anterior ends diverge: lordosis negative
        pytest.param((0, 0), (0, 10), (20, 0), (30, 10), -45.0, id="lordosis-45"),
        # the same kyphosis on a film facing left (anterior toward column 0)
        pytest.param((0, 0), (0, -10), (20, 0), (10, -10), 45.0, id="kyphosis-facing-left"),
        pytest.param(
            (0, 0), (0, 10), (20, 0), (20 - math.sqrt(3) * 10, 10), 60.0, id="kyphosis-60"
        ),
        pytest.param(
            (0, 0),
            (math.tan(math.radians(30)) * 10, 10),
            (20, 0),
            (20, 10),
            30.0,
            id="upper-tilted-30",
        ),
        pytest.param((0, 0), (0, 0), (20, 0), (20, 10), math.nan, id="degenerate"),
    ],
)
def test_cobb_deg_hand_values(up_p, up_a, lo_p, lo_a, expected):
    got = float(cobb_deg(up_p, up_a, lo_p, lo_a))
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=1e-9)


def test_cobb_deg_reads_the_anatomical_angle_whatever_the_argument_order():
    a = (np.array([0.0, 0.0]), np.array([0.0, 10.0]))
    b = (np.array([20.0, 0.0]), np.array([12.0, 10.0]))
    forward = float(cobb_deg(*a, *b))
    backward = float(cobb_deg(*b, *a))
    assert forward == pytest.approx(math.degrees(math.atan2(8, 10)))
    assert backward == pytest.approx(forward)  # the labelled API negates; see test below


def test_distance_and_nanmean_pair():
    assert float(distance([1.0, 1.0], [4.0, 5.0])) == 5.0
    assert nanmean_pair([np.nan], [np.nan]).tolist() == [pytest.approx(np.nan, nan_ok=True)]


# ----------------------------------------------------------------------------- hand tables

SPINE_PX = {
    "T12": body(0, 25, 24, 26),
    "L1": body(35, 15, 18, 25),
    "L2": body(70, 27, 26, 28),
}


@pytest.mark.parametrize(
    ("spacing", "expected"),
    [
        pytest.param(
            (0.2, 0.2),
            {
                "ha_mm": 3.0,
                "hm_mm": 3.6,
                "hp_mm": 5.0,
                "ha_px": 15.0,
                "hp_px": 25.0,
                "wedge_ratio": 0.6,
            },
            id="square-0.2",
        ),
        # Vertical heights scale with the row spacing only; the ratio stays 15/25.
        pytest.param(
            (0.3, 0.1),
            {
                "ha_mm": 4.5,
                "hm_mm": 5.4,
                "hp_mm": 7.5,
                "ha_px": 15.0,
                "hp_px": 25.0,
                "wedge_ratio": 0.6,
            },
            id="anisotropic",
        ),
    ],
)
def test_heights_hand_values(spacing, expected):
    ls = LandmarkSet(
        SPINE_PX, calibration=Calibration(*spacing, "pixel_spacing"), index_levels=("L1",)
    )
    row = one_row(measures_table([ls]), "L1")
    for col, value in expected.items():
        assert row[col] == pytest.approx(value, abs=1e-12), col


def test_anisotropic_spacing_changes_slanted_heights_and_angles():
    # A slanted anterior wall: 30 rows down and 40 columns across.
    pts = {
        "L1": {"ant_sup": (0, 100), "post_sup": (0, 0), "ant_inf": (30, 140), "post_inf": (30, 0)}
    }
    square = LandmarkSet(pts, scheme="4pt", calibration=Calibration(0.1, 0.1, "pixel_spacing"))
    aniso = LandmarkSet(pts, scheme="4pt", calibration=Calibration(0.2, 0.1, "pixel_spacing"))
    assert vertebral_heights(square, "L1").ha_mm == pytest.approx(5.0)  # 0.1 * hypot(30, 40)
    assert vertebral_heights(aniso, "L1").ha_mm == pytest.approx(math.hypot(6.0, 4.0))
    # Wedge: superior line horizontal (100 cols), inferior line 140 cols long: parallel in any
    # spacing, so 0; KA-type angles differ only when lines are oblique. Tilt the inferior line.
    tilted = {
        "L1": {"ant_sup": (0, 100), "post_sup": (0, 0), "ant_inf": (20, 100), "post_inf": (30, 0)}
    }
    sq = LandmarkSet(tilted, scheme="4pt", calibration=Calibration(0.1, 0.1, "pixel_spacing"))
    an = LandmarkSet(tilted, scheme="4pt", calibration=Calibration(0.2, 0.1, "pixel_spacing"))
    assert wedge_angle(sq, "L1") == pytest.approx(math.degrees(math.atan2(10, 100)))
    assert wedge_angle(an, "L1") == pytest.approx(math.degrees(math.atan2(2.0, 10.0)))


@pytest.mark.parametrize("facing", ["right", "left"])
def test_ratios_compression_and_segmental_angles(facing):
    pts = {
        "T12": body(0, 25, 24, 26, facing=facing),
        "L1": body(35, 15, 18, 25, facing=facing),
        "L2": body(70, 27, 26, 28, facing=facing),
    }
    ls = LandmarkSet(pts, calibration=Calibration(0.2, 0.2, "detector"), index_levels=("L1",))
    row = one_row(measures_table([ls]), "L1")
    # AHR = 15 / mean(25, 27) = 15/26; MHR = 18/25; PHR = 25/27
    assert row["ahr_pct"] == pytest.approx(100 * 15 / 26)
    assert row["mhr_pct"] == pytest.approx(100 * 18 / 25)
    assert row["phr_pct"] == pytest.approx(100 * 25 / 27)
    assert row["compression_pct"] == pytest.approx(100 - 100 * 15 / 26)
    assert row["compression_wedge_pct"] == pytest.approx(100 * (1 - 15 / 25))
    assert row["compression_max_pct"] == pytest.approx(100 - 100 * 15 / 26)
    # Wedge angle: superior endplate horizontal, inferior rises 10 px over 30 px anteriorly.
    assert row["wedge_angle_deg"] == pytest.approx(math.degrees(math.atan2(10, 30)))
    # KA: T12 superior (horizontal) vs L2 inferior (rises 1 px over 30 px): anterior ends converge.
    assert row["ka_deg"] == pytest.approx(math.degrees(math.atan2(1, 30)))
    # Gardner: T12 superior vs L1 inferior.
    assert row["gardner_deg"] == pytest.approx(math.degrees(math.atan2(10, 30)))
    assert row["genant_grade"] == 3.0  # 42.3 % anterior loss
    assert row["genant_type"] == "wedge"
    assert row["status"] == "ok"
    assert row["spacing_source"] == "detector"


@pytest.mark.parametrize(
    ("ha", "grade"),
    [
        pytest.param(20.81, 0.0, id="19.96pct-grade0"),
        pytest.param(20.8, 1.0, id="20pct-grade1"),
        pytest.param(19.5, 2.0, id="25pct-grade2"),
        pytest.param(15.61, 2.0, id="39.96pct-grade2"),
        pytest.param(15.6, 3.0, id="40pct-grade3"),
    ],
)
def test_genant_grade_boundaries(ha, grade):
    # Neighbours have Ha = 26 (and equal Hm, Hp); the index Hm, Hp are normal.
    pts = {"T12": body(0, 26, 26, 26), "L1": body(35, ha, 26, 26), "L2": body(70, 26, 26, 26)}
    row = one_row(measures_table([LandmarkSet(pts)]), "L1")
    assert row["genant_loss_pct"] == pytest.approx(100 * (1 - ha / 26))
    assert row["genant_grade"] == grade


@pytest.mark.parametrize(
    ("heights", "kind"),
    [
        pytest.param((15, 24, 26), "wedge", id="wedge"),
        pytest.param((25, 15, 26), "biconcave", id="biconcave"),
        pytest.param((17, 17, 16), "crush", id="crush"),
    ],
)
def test_genant_type(heights, kind):
    pts = {"T12": body(0, 26, 26, 26), "L1": body(35, *heights), "L2": body(70, 26, 26, 26)}
    assert one_row(measures_table([LandmarkSet(pts)]), "L1")["genant_type"] == kind


def test_genant_own_posterior_reference():
    pts = {"L1": body(0, 18, 24, 30)}  # no neighbours at all
    adjacent = one_row(measures_table([LandmarkSet(pts)]), "L1")
    own = one_row(measures_table([LandmarkSet(pts)], genant_reference="own_posterior"), "L1")
    assert math.isnan(adjacent["genant_grade"])
    assert "no adjacent vertebra" in adjacent["reason"]
    assert own["genant_loss_pct"] == pytest.approx(40.0)  # 1 - 18/30
    assert own["genant_grade"] == 3.0


def test_single_neighbour_reference_is_flagged():
    pts = {"L1": body(0, 15, 20, 25), "L2": body(35, 30, 29, 31)}
    row = one_row(measures_table([LandmarkSet(pts)]), "L1")
    assert row["ahr_pct"] == pytest.approx(50.0)
    assert "caudal neighbour only" in row["reason"]
    assert row["status"] == "ok"


def test_missing_point_gives_nan_with_reason_and_direct_call_raises():
    pts = {k: dict(v) for k, v in SPINE_PX.items()}
    del pts["L1"]["ant_inf"]
    ls = LandmarkSet(pts, index_levels=("L1",), source="case.landmarks.json")
    row = one_row(measures_table([ls]), "L1")
    assert math.isnan(row["ha_px"])
    assert math.isnan(row["ahr_pct"])
    assert row["hp_px"] == pytest.approx(25.0)
    assert row["status"] == "incomplete"
    assert "ant_inf missing" in row["reason"]
    with pytest.raises(LandmarkError, match=r"case\.landmarks\.json.*level L1.*point ant_inf"):
        vertebral_heights(ls, "L1")
    with pytest.raises(LandmarkError, match=r"level L2, point post_inf.*and 1 more.*ant_inf"):
        kyphotic_angle(
            ls.replace(points={**pts, "L1": SPINE_PX["L1"], "L2": {"post_sup": (70, 0)}}), "L1"
        )


def test_uncalibrated_film_keeps_px_ratios_and_angles():
    ls = LandmarkSet(SPINE_PX, index_levels=("L1",))
    row = one_row(measures_table([ls]), "L1")
    assert math.isnan(row["ha_mm"])
    assert row["ha_px"] == 15.0
    assert row["ahr_pct"] == pytest.approx(100 * 15 / 26)
    assert row["ka_deg"] == pytest.approx(math.degrees(math.atan2(1, 30)))
    assert row["spacing_source"] == "none"
    assert "no calibration" in row["reason"]


def test_four_point_scheme_flags_approximate_hm():
    pts = {
        lv: {k: v for k, v in p.items() if not k.startswith("mid")} for lv, p in SPINE_PX.items()
    }
    row = one_row(measures_table([LandmarkSet(pts, scheme="4pt")]), "L1")
    assert row["hm_px"] == pytest.approx(20.0)  # chord midpoints: (15 + 25) / 2
    assert "approximate" in row["reason"]
    assert vertebral_heights(LandmarkSet(pts, scheme="4pt"), "L1").hm_approximate


def test_s1_row_is_endplate_only():
    pts = {"L5": body(0, 28, 27, 26), "S1": {"ant_sup": (36, 30), "post_sup": (34, 0)}}
    row = one_row(measures_table([LandmarkSet(pts)]), "S1")
    assert row["status"] == "endplate_only"
    assert math.isnan(row["ha_px"])


def test_duplicate_level_rows_are_withheld():
    pf = points_frame([LandmarkSet(SPINE_PX)])
    pf = pd.concat([pf, pf.iloc[[1]]], ignore_index=True)
    table = measure_points(pf)
    dup = table[table["level"] == "L1"]
    assert len(dup) == 2
    assert dup["ha_px"].isna().all()
    assert dup["reason"].str.contains("annotated twice").all()


def test_empty_input_has_every_column():
    assert list(measures_table([]).columns) == list(MEASURE_COLUMNS)
    assert list(images_table([]).columns) == list(IMAGE_COLUMNS)


def test_qm_normative_table_z_scores():
    ls = LandmarkSet(SPINE_PX)
    normative = pd.DataFrame(
        {
            "level": ["L1"] * 4,
            "ratio": ["ha_hp", "hm_hp", "hp_hpu", "hp_hpl"],
            "mean": [0.95, 0.9, 1.0, 1.0],
            "sd": [0.05, 0.05, 0.1, 0.1],
        }
    )
    row = one_row(measures_table([ls], normative=normative), "L1")
    assert row["qm_ha_hp_z"] == pytest.approx((0.6 - 0.95) / 0.05)
    assert row["qm_hp_hpl_z"] == pytest.approx((25 / 28 - 1.0) / 0.1)
    assert bool(row["qm_deformity"]) is True
    t12 = one_row(measures_table([ls], normative=normative), "T12")
    assert pd.isna(t12["qm_deformity"])  # no normative row for T12


def test_cobb_angle_single_value_api_and_sign():
    ph = lateral_phantom(
        ("T11", "T12", "L1", "L2"),
        heights_mm={
            "T11": (25, 24, 26),
            "T12": (20, 22, 26),
            "L1": (26, 25, 27),
            "L2": (27, 26, 28),
        },
        disc_angle_deg={"T11": 4.0, "T12": -2.0, "L1": 3.0, "L2": 0.0},
    )
    ls = ph.landmarks
    assert cobb_angle(ls, "T11", "L2") == pytest.approx(ph.cobb_deg("T11", "L2"), abs=1e-9)
    assert gardner_angle(ls, "T12") == pytest.approx(ph.cobb_deg("T11", "T12"), abs=1e-9)
    swapped = cobb_angle(ls, "L2", "T11", upper_endplate="inf", lower_endplate="sup")
    assert swapped == pytest.approx(-ph.cobb_deg("T11", "L2"), abs=1e-9)
    with pytest.raises(LandmarkError, match="unknown level"):
        cobb_angle(ls, "T13", "L2")
    flat = {"L1": {"ant_sup": (0, 5), "post_sup": (0, 5), "ant_inf": (20, 30), "post_inf": (20, 0)}}
    with pytest.raises(MeasureError, match="coincident"):
        cobb_angle(LandmarkSet(flat, scheme="4pt"), "L1", "L1")


def test_images_table_whole_spine_angles_match_truth():
    levels = (
        "T3",
        "T4",
        "T5",
        "T6",
        "T7",
        "T8",
        "T9",
        "T10",
        "T11",
        "T12",
        "L1",
        "L2",
        "L3",
        "L4",
        "L5",
        "S1",
    )
    discs = {lv: (4.0 if lv.startswith("T") else -9.0) for lv in levels}
    ph = lateral_phantom(
        levels, disc_angle_deg=discs, rotation_deg=-12, facing="left", spacing=(0.18, 0.15)
    )
    row = images_table([ph.landmarks]).iloc[0]
    assert row["tk_deg"] == pytest.approx(ph.cobb_deg("T4", "T12"), abs=1e-9)
    assert row["tk_deg"] > 0
    assert row["tlk_deg"] == pytest.approx(ph.cobb_deg("T10", "L2"), abs=1e-9)
    assert row["ll_deg"] == pytest.approx(ph.cobb_deg("L1", "S1", lower_end="sup"), abs=1e-9)
    assert row["ll_deg"] < 0  # lordosis is negative
    assert row["ll_l1_l5_deg"] == pytest.approx(ph.cobb_deg("L1", "L5"), abs=1e-9)
    assert math.isnan(row["tk_t1_t12_deg"])
    assert row["status"] == "ok"


def test_images_table_coronal_row():
    # Three vertebrae, the middle one tilted by 10 degrees: PT = 10 between it and a neighbour.
    corners = []
    for i, tilt in enumerate((0.0, 10.0, 0.0)):
        t = math.radians(tilt)
        cy, cx = 100.0 + 60 * i, 200.0
        for dy, dx in ((-20, -30), (-20, 30), (20, -30), (20, 30)):
            corners.append(
                (cy + dx * math.sin(t) + dy * math.cos(t), cx + dx * math.cos(t) - dy * math.sin(t))
            )
    names = ("left_sup", "right_sup", "left_inf", "right_inf")
    pts = {
        lv: dict(zip(names, corners[4 * i : 4 * i + 4], strict=True))
        for i, lv in enumerate(("T1", "T2", "T3"))
    }
    from kyphoimg.landmarks import ImageRef

    row = images_table(
        [LandmarkSet(pts, scheme="ap4", image=ImageRef(rows=400, columns=400))]
    ).iloc[0]
    assert row["cobb_pt_deg"] == pytest.approx(10.0, abs=1e-6)
    no_rows = images_table([LandmarkSet(pts, scheme="ap4")]).iloc[0]
    assert math.isnan(no_rows["cobb_pt_deg"])
    assert "image.rows" in no_rows["reason"]


# ----------------------------------------------------------------------------- properties

heights = st.tuples(st.floats(10, 32), st.floats(10, 32), st.floats(18, 34))  # ha, hm, hp in mm
levels5 = ("T11", "T12", "L1", "L2", "L3")


@st.composite
def phantoms(draw):
    hts = {lv: draw(heights) for lv in levels5}
    discs = {lv: draw(st.floats(-12, 12)) for lv in levels5}
    spacing = (draw(st.floats(0.08, 0.3)), draw(st.floats(0.08, 0.3)))
    return dict(
        heights_mm=hts,
        disc_angle_deg=discs,
        depth_mm=draw(st.floats(25, 45)),
        facing=draw(st.sampled_from(["left", "right"])),
        rotation_deg=draw(st.floats(-45, 45)),
        spacing=spacing,
        start_inclination_deg=draw(st.floats(-20, 20)),
        index_levels=["L1"],
    )


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(phantoms())
def test_measures_equal_construction_truth(kw):
    """Heights, wedge angles and KA equal the phantom's parameters, whatever the film."""
    ph = lateral_phantom(levels5, **kw)
    table = measures_table([ph.landmarks]).set_index("level")
    for lv in levels5:
        t = ph.truth[lv]
        assert table.loc[lv, "ha_mm"] == pytest.approx(t["ha_mm"], abs=1e-9)
        assert table.loc[lv, "hm_mm"] == pytest.approx(t["hm_mm"], abs=1e-9)
        assert table.loc[lv, "hp_mm"] == pytest.approx(t["hp_mm"], abs=1e-9)
        assert table.loc[lv, "wedge_angle_deg"] == pytest.approx(t["wedge_deg"], abs=1e-9)
    assert table.loc["L1", "ka_deg"] == pytest.approx(ph.cobb_deg("T12", "L2"), abs=1e-9)
    assert table.loc["L1", "gardner_deg"] == pytest.approx(ph.cobb_deg("T12", "L1"), abs=1e-9)
    ref = (ph.truth["T12"]["ha_mm"] + ph.truth["L2"]["ha_mm"]) / 2
    assert table.loc["L1", "ahr_pct"] == pytest.approx(
        100 * ph.truth["L1"]["ha_mm"] / ref, rel=1e-9
    )


def _transform(ls: LandmarkSet, fn) -> LandmarkSet:
    pts = {lv: {k: fn(np.array(v)) for k, v in p.items()} for lv, p in ls.points.items()}
    return ls.replace(
        points={lv: {k: (float(v[0]), float(v[1])) for k, v in p.items()} for lv, p in pts.items()}
    )


ANGLE_COLS = ["wedge_angle_deg", "ka_deg", "gardner_deg", "ahr_pct", "wedge_ratio", "genant_grade"]
HEIGHT_COLS = ["ha_mm", "hm_mm", "hp_mm"]


@SETTINGS
@given(
    phantoms(),
    st.floats(-180, 180),
    st.tuples(st.floats(-500, 500), st.floats(-500, 500)),
)
def test_invariance_to_rotation_translation_and_mirror(kw, angle, shift):
    kw = {
        **kw,
        "spacing": (0.15, 0.15),
    }  # a rigid motion of the film is rigid in px only for square pixels
    ls = lateral_phantom(levels5, **kw).landmarks
    base = measures_table([ls])
    t = math.radians(angle)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    moved = {
        "rotated": _transform(ls, lambda p: rot @ p),
        "translated": _transform(ls, lambda p: p + np.array(shift)),
        "mirrored": _transform(ls, lambda p: np.array([p[0], 2000.0 - p[1]])),
        "flipped-vertically-and-mirrored": _transform(
            ls, lambda p: np.array([3000.0 - p[0], 2000.0 - p[1]])
        ),
    }
    for name, other in moved.items():
        got = measures_table([other])
        for col in ANGLE_COLS + HEIGHT_COLS:
            np.testing.assert_allclose(got[col], base[col], atol=1e-8, err_msg=f"{name}: {col}")


@SETTINGS
@given(phantoms(), st.floats(0.2, 5.0))
def test_mm_scale_with_spacing_px_and_angles_do_not(kw, k):
    ls = lateral_phantom(levels5, **kw).landmarks
    cal = ls.calibration
    scaled = ls.replace(calibration=Calibration(cal.row_mm * k, cal.col_mm * k, cal.source))
    a, b = measures_table([ls]), measures_table([scaled])
    np.testing.assert_allclose(b[HEIGHT_COLS], a[HEIGHT_COLS] * k, rtol=1e-9)
    np.testing.assert_allclose(b[["ha_px", "hp_px"]], a[["ha_px", "hp_px"]], rtol=1e-12)
    np.testing.assert_allclose(b[ANGLE_COLS], a[ANGLE_COLS], atol=1e-8)


def test_segmental_angle_nan_is_explained_when_a_neighbour_lacks_corners():
    pts = {k: dict(v) for k, v in SPINE_PX.items()}
    del pts["L2"]["ant_inf"]  # L2 is annotated but cannot give its inferior endplate
    row = one_row(measures_table([LandmarkSet(pts, index_levels=("L1",))]), "L1")
    assert math.isnan(row["ka_deg"])
    assert not math.isnan(row["gardner_deg"])
    assert row["status"] == "incomplete"
    assert "ka_deg needs" in row["reason"]
    assert "caudal neighbour only" not in row["reason"]  # L2 is there; it lacks a point


# ----------------------------------------------------------------------------- one film, lean
def _film_inputs(ls: LandmarkSet) -> tuple[list[str], np.ndarray]:
    """measure_vertebrae's arrays of a landmark set: levels and (N, 6, 2) points, NaN absent."""
    levels = list(ls.points)
    pts = [[ls.points[lv].get(p, (np.nan, np.nan)) for p in SCHEMES["6pt"]] for lv in levels]
    return levels, np.array(pts, dtype=float).reshape(len(levels), 6, 2)


def _assert_film_equals_table(film: dict, table: pd.DataFrame) -> None:
    """Every column of measure_vertebrae equals measure_points' column, bit for bit."""
    assert list(film) == list(VERTEBRA_COLUMNS)
    for col in VERTEBRA_COLUMNS:
        assert len(film[col]) == len(table), col
        if table[col].dtype.kind in "fb":
            assert film[col].dtype == table[col].dtype, col
            np.testing.assert_array_equal(film[col], table[col].to_numpy(), err_msg=col)
        else:
            expected = [None if pd.isna(v) else v for v in table[col].astype(object)]
            assert film[col].tolist() == expected, col


@pytest.mark.parametrize("scheme", ["6pt", "4pt"])
@pytest.mark.parametrize("cal", [Calibration(0.2, 0.15, "detector"), Calibration.none()])
@pytest.mark.parametrize("reference", ["adjacent", "own_posterior"])
def test_measure_vertebrae_equals_measure_points(scheme, cal, reference):
    ls = lateral_phantom(
        ("L3", "L4", "L5", "S1"),
        heights_mm={"L3": (26, 27, 28), "L4": (17, 21, 27), "L5": (28, 28, 29), "S1": (1, 1, 1)},
        scheme=scheme,
        disc_angle_deg=-6.0,
        rotation_deg=12.0,
        index_levels=("L4", "L5"),
    ).landmarks
    pts = {lv: dict(p) for lv, p in ls.points.items()}
    del pts["L5"]["ant_inf"]  # an incomplete vertebra and a segmental angle that cannot be had
    ls = ls.replace(points=pts, calibration=cal)
    levels, points = _film_inputs(ls)
    film = measure_vertebrae(
        levels, points, cal, scheme=scheme, index_levels=("L4", "L5"), genant_reference=reference
    )
    table = measures_table([ls], genant_reference=reference)
    _assert_film_equals_table(film, table)
    assert set(film["status"]) == {"ok", "incomplete", "endplate_only"}


def test_measure_vertebrae_withholds_duplicate_and_unknown_levels_like_measure_points():
    levels, points = _film_inputs(LandmarkSet(SPINE_PX, index_levels=("L1",)))
    levels, points = [*levels, "L1", "X9"], np.concatenate([points, points[[1, 0]]])
    film = measure_vertebrae(levels, points, index_levels=("L1",))
    pf = points_frame([LandmarkSet(SPINE_PX, index_levels=("L1",))])
    pf = pd.concat([pf, pf.iloc[[1, 0]]], ignore_index=True)
    pf.loc[4, "level"] = "X9"
    _assert_film_equals_table(film, measure_points(pf))
    assert np.isnan(film["ha_px"][[1, 3, 4]]).all()
    assert "unknown level" in film["reason"][4]


@SETTINGS
@given(phantoms(), st.sets(st.integers(0, 29), max_size=4))
def test_measure_vertebrae_equals_measure_points_on_any_film(kw, dropped):
    ls = lateral_phantom(levels5, **kw).landmarks
    names = [(lv, p) for lv in levels5 for p in SCHEMES["6pt"]]
    pts = {lv: dict(p) for lv, p in ls.points.items()}
    for i in dropped:
        del pts[names[i][0]][names[i][1]]
    ls = ls.replace(points=pts)
    film = measure_vertebrae(*_film_inputs(ls), ls.calibration, index_levels=ls.index_levels)
    _assert_film_equals_table(film, measures_table([ls]))


def test_measure_vertebrae_empty_input_and_refusals():
    empty = measure_vertebrae([], np.empty((0, 6, 2)))
    assert list(empty) == list(VERTEBRA_COLUMNS)
    assert all(len(v) == 0 for v in empty.values())
    assert len(measure_vertebrae([], [])["level"]) == 0
    with pytest.raises(ValueError, match="lateral"):
        measure_vertebrae(["L1"], np.zeros((1, 6, 2)), scheme="ap4")
    with pytest.raises(ValueError, match=r"expected \(1, 6, 2\)"):
        measure_vertebrae(["L1"], np.zeros((1, 4, 2)))
    with pytest.raises(ValueError, match="genant_reference"):
        measure_vertebrae(["L1"], np.zeros((1, 6, 2)), genant_reference="own")


# ----------------------------------------------------------------------------- fractured refs
def _spine_with_two_fractures() -> LandmarkSet:
    """T11..L4 on one film: L1 is the treated (index) level, L2 a morphometric fracture.

    Every normal body is 26 px tall (T11, T12) or 28 px (L3, L4); L1 has Ha 15 and L2 Ha 18.
    With adjacent references L2 looks nearly normal (18 / mean(15, 28) = 84 %, grade 0);
    once the fractured L1 is skipped its reference is mean(T12, L3) = 27 and it is a
    grade-2 fracture (18 / 27 = 67 %), so L1 must skip it too.
    """
    pts = {
        "T11": body(0, 26, 26, 26),
        "T12": body(35, 26, 26, 26),
        "L1": body(70, 15, 24, 26),
        "L2": body(105, 18, 26, 27),
        "L3": body(140, 28, 28, 28),
        "L4": body(175, 28, 28, 28),
    }
    return LandmarkSet(
        pts, calibration=Calibration(0.2, 0.2, "pixel_spacing"), index_levels=("L1",)
    )


def test_default_references_are_the_adjacent_vertebrae_even_when_fractured():
    t = measures_table([_spine_with_two_fractures()]).set_index("level")
    assert "ahr_reference_levels" not in t.columns  # the default table is unchanged
    assert t.loc["L1", "ahr_pct"] == pytest.approx(100 * 15 / ((26 + 18) / 2))
    assert t.loc["L2", "ahr_pct"] == pytest.approx(100 * 18 / ((15 + 28) / 2))
    assert t.loc["L2", "genant_grade"] == 0.0  # hidden by its fractured neighbour


def test_skip_fractured_references_takes_the_next_non_fractured_vertebra():
    t = measures_table([_spine_with_two_fractures()], skip_fractured_references=True)
    t = t.set_index("level")
    # L1 (index): T12 above; L2 below is fractured (found once L1 is skipped): L3 instead.
    assert t.loc["L1", "ahr_reference_levels"] == "T12,L3"
    assert t.loc["L1", "ahr_pct"] == pytest.approx(100 * 15 / ((26 + 28) / 2))
    assert t.loc["L1", "phr_pct"] == pytest.approx(100 * 26 / ((26 + 28) / 2))
    # L2: its cranial neighbour L1 is the treated level: T12 instead.
    assert t.loc["L2", "ahr_reference_levels"] == "T12,L3"
    assert t.loc["L2", "ahr_pct"] == pytest.approx(100 * 18 / 27)
    assert t.loc["L2", "genant_grade"] == 2.0  # 33 % anterior loss
    # T12 skips both fractures below it; L3 skips L2 above it.
    assert t.loc["T12", "ahr_reference_levels"] == "T11,L3"
    assert t.loc["T12", "ahr_pct"] == pytest.approx(100 * 26 / 27)
    assert t.loc["L3", "ahr_reference_levels"] == "T12,L4"
    assert "fractured neighbour skipped" in t.loc["L3", "reason"]
    assert t.loc["L3", "status"] == "ok"  # a note, not a problem
    # Unaffected rows keep their adjacent references and values.
    assert t.loc["T11", "ahr_reference_levels"] == "T12"
    assert t.loc["L4", "ahr_reference_levels"] == "L3"
    assert t.loc["L4", "ahr_pct"] == pytest.approx(100.0)
    assert "fractured neighbour skipped" not in t.loc["L4", "reason"]
    # The segmental angles keep their definition: the adjacent endplates.
    plain = measures_table([_spine_with_two_fractures()]).set_index("level")
    assert t.loc["L1", "ka_deg"] == pytest.approx(plain.loc["L1", "ka_deg"])
    assert t.loc["L1", "gardner_deg"] == pytest.approx(plain.loc["L1", "gardner_deg"])


def test_skip_fractured_references_stops_at_a_gap():
    """An unannotated level is unknown, not normal: no reference is taken beyond it."""
    pts = {
        "T11": body(0, 26, 26, 26),
        "L1": body(70, 15, 24, 26),
        "L2": body(105, 27, 27, 27),
    }
    ls = LandmarkSet(pts, index_levels=("L1",))
    t = measures_table([ls], skip_fractured_references=True).set_index("level")
    assert t.loc["L1", "ahr_reference_levels"] == "L2"
    assert t.loc["L1", "ahr_pct"] == pytest.approx(100 * 15 / 27)
    assert "caudal neighbour only" in t.loc["L1", "reason"]
    assert t.loc["T11", "ahr_reference_levels"] == ""
    assert math.isnan(t.loc["T11", "ahr_pct"])
