"""The pure layer: guide, undo, layer <-> landmark set, measuring frame, overlay, files, pairing.

No napari and no Qt here: these are the functions the widgets call.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from napari_kyphoimg import _calibration, _files, _guide, _layerdata, _layers, _tables, _undo

from kyphoimg import (
    Calibration,
    CalibrationError,
    LandmarkSet,
    features_table,
    measures_table,
    write_landmarks,
)
from kyphoimg.errors import FilmMismatchError
from kyphoimg.landmarks import LEVELS, ImageRef, pair_with_film
from kyphoimg.measure import measure_points, points_frame
from kyphoimg.sample import lateral_phantom


# ----------------------------------------------------------------------------- plan and guide
@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [("T11", "L1", ("T11", "T12", "L1")), ("L5", "S1", ("L5", "S1")), ("C2", "C2", ("C2",))],
)
def test_level_range(first, last, expected):
    assert _guide.level_range(first, last) == expected


@pytest.mark.parametrize(("first", "last"), [("L2", "L1"), ("X1", "L1")])
def test_level_range_refuses_reversed_or_unknown(first, last):
    with pytest.raises(ValueError, match="level"):
        _guide.level_range(first, last)


def test_plan_orders_levels_and_points_and_s1_has_superior_points_only():
    plan = _guide.placement_plan(["S1", "L5"], "6pt")
    assert plan[:6] == tuple(
        ("L5", p) for p in ("ant_sup", "mid_sup", "post_sup", "ant_inf", "mid_inf", "post_inf")
    )
    assert plan[6:] == (("S1", "ant_sup"), ("S1", "mid_sup"), ("S1", "post_sup"))
    assert len(_guide.placement_plan(["T11", "T12"], "4pt")) == 8
    assert _guide.placement_plan(["L1"], "ap4")[0] == ("L1", "left_sup")


def test_describe_point_names_level_and_corner():
    assert _guide.describe_point("L1", "ant_sup") == "L1 · anterior superior corner"
    assert _guide.describe_point("T12", "mid_inf") == "T12 · inferior endplate midpoint"


def test_guide_advances_to_the_next_missing_point_and_finishes():
    g = _guide.PlacementGuide(_guide.placement_plan(["L1"], "4pt"))
    assert g.target == ("L1", "ant_sup")
    placed = {("L1", "ant_sup"), ("L1", "ant_inf")}
    g.advance(placed)
    assert g.target == ("L1", "post_sup")
    g.advance(placed | {("L1", "post_sup")})
    assert g.target == ("L1", "post_inf")
    g.advance(set(g.plan))
    assert g.target is None
    assert g.progress(set(g.plan)) == (4, 4)


def test_guide_wraps_to_an_earlier_gap_and_steps_both_ways():
    g = _guide.PlacementGuide(_guide.placement_plan(["L1"], "4pt"), cursor=3)
    g.advance({("L1", "post_inf")})
    assert g.target == ("L1", "ant_sup")  # wrapped around
    g.step(-1)
    assert g.target == ("L1", "post_inf")
    g.step(+2)
    assert g.target == ("L1", "post_sup")
    assert g.go_to("L1", "ant_inf")
    assert g.target == ("L1", "ant_inf")
    assert not g.go_to("L2", "ant_inf")


def test_guide_steps_from_done_state():
    g = _guide.PlacementGuide(_guide.placement_plan(["L1"], "4pt"), cursor=-1)
    g.step(+1)
    assert g.target == ("L1", "ant_sup")
    g.cursor = -1
    g.step(-1)
    assert g.target == ("L1", "post_inf")


def test_undo_stack_returns_previous_states_and_ignores_no_ops():
    u = _undo.UndoStack()
    f0 = _layerdata.features_frame([], [])
    u.reset(np.empty((0, 2)), f0)
    assert not u.can_undo
    assert u.undo() is None
    f1 = _layerdata.features_frame(["L1"], ["ant_sup"])
    u.push(np.array([[1.0, 2.0]]), f1)
    u.push(np.array([[1.0, 2.0]]), f1)  # unchanged: not recorded
    u.push(np.array([[1.0, 3.0]]), f1)
    data, feat = u.undo()
    np.testing.assert_array_equal(data, [[1.0, 2.0]])
    data, feat = u.undo()
    assert data.shape == (0, 2)
    assert len(feat) == 0
    assert u.undo() is None


def test_undo_stack_keeps_a_bounded_history():
    u = _undo.UndoStack(limit=3)
    f = _layerdata.features_frame(["L1"], ["ant_sup"])
    u.reset(np.zeros((1, 2)), f)
    for i in range(10):
        u.push(np.full((1, 2), float(i + 1)), f)
    assert len(u._states) == 3


# ----------------------------------------------------------------------------- layer <-> set
@pytest.fixture
def phantom_set() -> LandmarkSet:
    return lateral_phantom(
        ("T11", "T12", "L1", "L2", "L3"),
        heights_mm={
            "T11": (25, 24, 26),
            "T12": (26, 25, 27),
            "L1": (15, 19, 26),
            "L2": (28, 27, 29),
            "L3": (29, 28, 30),
        },
        disc_angle_deg=3.0,
        rotation_deg=7.0,
        spacing=(0.2, 0.15),
        index_levels=("L1",),
        findings={"L1": {"ivc": "yes", "npec": "superior"}},
    ).landmarks


def test_features_are_fixed_categoricals_with_a_canvas_label():
    f = _layerdata.features_frame(["L1", "L1"], ["ant_sup", "mid_sup"])
    assert list(f["level"].cat.categories) == list(LEVELS)
    assert list(f["point"].cat.categories) == list(_layerdata.POINT_NAMES)
    assert f["label"].tolist() == ["L1", ""]
    assert _layerdata.feature_defaults("T12", "ant_sup") == {
        "level": "T12",
        "point": "ant_sup",
        "label": "T12",
    }
    assert len(_layerdata.empty_features()) == 0


def test_layer_round_trip_keeps_every_point_and_header(phantom_set):
    data, features = _layerdata.landmarks_to_layer(phantom_set)
    assert data.shape == (30, 2)
    header = _layerdata.header_from_meta(
        json.loads(json.dumps(_layerdata.header_to_meta(phantom_set)))
    )
    assert _layerdata.layer_to_landmarks(data, features, header) == phantom_set


def test_layer_to_landmarks_keeps_the_last_of_a_twice_placed_point_and_skips_unlabelled():
    header = LandmarkSet({}, scheme="4pt")
    data = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    features = pd.DataFrame(
        {"level": ["L1", "L1", None], "point": ["ant_sup", "ant_sup", "post_sup"]}
    )
    ls = _layerdata.layer_to_landmarks(data, features, header)
    assert dict(ls.points["L1"]) == {"ant_sup": (2.0, 2.0)}


def test_layer_to_landmarks_uses_the_last_two_columns_of_nd_data():
    header = LandmarkSet({}, scheme="4pt")
    ls = _layerdata.layer_to_landmarks(
        np.array([[0.0, 5.0, 6.0]]), _layerdata.features_frame(["L1"], ["ant_sup"]), header
    )
    assert ls.points["L1"]["ant_sup"] == (5.0, 6.0)


def test_header_meta_keeps_unknown_keys(phantom_set):
    ls = phantom_set.replace(
        extra={"site": "A"},
        image=ImageRef(path="x.dcm", sop_instance_uid="1.2", rows=10, columns=9, extra={"k": 1}),
        calibration_extra={"note": "ruler"},
    )
    back = _layerdata.header_from_meta(_layerdata.header_to_meta(ls))
    assert back.extra == {"site": "A"}
    assert back.image.extra == {"k": 1}
    assert back.calibration_extra == {"note": "ruler"}
    assert back.image.rows == 10


# ----------------------------------------------------------------------------- measuring
@pytest.mark.parametrize("scheme", ["6pt", "4pt"])
@pytest.mark.parametrize("source", ["pixel_spacing", "detector", "none"])
def test_points_frame_from_layer_measures_like_the_core(scheme, source):
    ph = lateral_phantom(
        ("T12", "L1", "L2"),
        heights_mm=(20.0, 22.0, 26.0),
        scheme=scheme,
        source=source,
        spacing=(0.2, 0.15),
        index_levels=("L1",),
        findings={"L1": {"cement_leakage": "no"}},
    )
    ls = ph.landmarks
    data, features = _layerdata.landmarks_to_layer(ls)
    # shuffled rows: the layer's order must not matter
    order = np.random.default_rng(1).permutation(len(data))
    mine = _tables.measure_layer(data[order], features.iloc[order].reset_index(drop=True), ls)
    core = measure_points(points_frame([ls]))
    pd.testing.assert_frame_equal(_plain(mine), _plain(core))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Values only: dtypes (categorical / str / object) and NaN-vs-None set aside."""
    obj = frame.astype(object)
    return obj.where(frame.notna(), None)


@pytest.mark.parametrize("scheme", ["6pt", "4pt"])
@pytest.mark.parametrize("source", ["pixel_spacing", "none"])
def test_film_measures_are_the_measures_tables_columns_and_show_the_same_table(scheme, source):
    ph = lateral_phantom(
        ("T11", "T12", "L1", "L2"),
        heights_mm=(20.0, 22.0, 26.0),
        scheme=scheme,
        source=source,
        spacing=(0.2, 0.15),
        index_levels=("L1",),
    )
    ls = ph.landmarks
    data, features = _layerdata.landmarks_to_layer(ls)
    order = np.random.default_rng(2).permutation(len(data))[:-1]  # shuffled, one point short
    data, features = data[order], features.iloc[order].reset_index(drop=True)
    levels, points = _layerdata.layer_points(data, features, ls)
    assert levels == ["T11", "T12", "L1", "L2"]
    assert points.shape == (4, 6, 2)
    film = _tables.film_measures(levels, points, ls)
    table = _tables.measure_layer(data, features, ls)
    pd.testing.assert_frame_equal(_tables.film_measures_table(levels, points, ls), table)
    for col, values in film.items():  # the lean path's columns are the table's, exactly
        expected = _plain(table[[col]])[col].tolist()
        got = [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values]
        assert got == expected, col
    shown = _tables.display_table(table)
    assert _tables.display_rows(film) == (list(shown.columns), shown.to_numpy().tolist())
    pd.testing.assert_frame_equal(_tables.display_table(film), shown)
    assert "incomplete" in film["status"].tolist()


def test_film_measures_of_empty_and_coronal_layers_have_no_rows(phantom_set):
    data, features = _layerdata.landmarks_to_layer(phantom_set)
    for header, (d, f) in (
        (phantom_set, (np.empty((0, 2)), _layerdata.empty_features())),
        (phantom_set.replace(scheme="ap4"), (data, features)),
    ):
        levels, points = _layerdata.layer_points(d, f, header)
        assert levels == []
        assert points.shape == (0, 6, 2)
        film = _tables.film_measures(levels, points, header)
        assert all(len(v) == 0 for v in film.values())
        assert _tables.display_rows(film) == (list(_tables.display_table(film).columns), [])


def test_points_frame_from_layer_handles_empty_partial_and_coronal_layers(phantom_set):
    empty = _tables.measure_layer(np.empty((0, 2)), _layerdata.empty_features(), phantom_set)
    assert len(empty) == 0
    assert list(empty.columns) == list(measures_table([]).columns)
    data, features = _layerdata.landmarks_to_layer(phantom_set)
    part = _tables.measure_layer(data[:4], features.iloc[:4], phantom_set)
    assert part["level"].tolist() == ["T11"]
    assert part["status"].tolist() == ["incomplete"]
    ap = phantom_set.replace(scheme="ap4")
    assert len(points_frame([_layerdata.layer_to_landmarks(data, features, ap)])) == 0


def test_display_table_units_index_mark_and_genant(phantom_set):
    measures = measures_table([phantom_set])
    table = _tables.display_table(measures)
    assert list(table.columns) == [
        "Level", "Ha (mm)", "Hm (mm)", "Hp (mm)", "AHR %",
        "Compr. %", "Wedge °", "KA °", "Genant", "Status",
    ]  # fmt: skip
    row = table.set_index("Level").loc["L1 *"]
    assert row["Ha (mm)"] == "15.0"
    assert row["Genant"].endswith("wedge")
    assert row["KA °"] != ""
    assert table.set_index("Level").loc["T12", "KA °"] == ""
    px = _tables.display_table(
        measures_table([phantom_set.replace(calibration=Calibration.none())])
    )
    assert "Ha (px)" in px.columns
    assert not any(v.startswith("-0.0") for v in table.to_numpy().ravel())


def test_table_tsv_has_a_header_line():
    text = _tables.table_tsv(pd.DataFrame({"a": ["1", None], "b": ["x", "y"]}))
    assert text == "a\tb\n1\tx\n\ty\n"


def test_whole_film_angles_lists_what_is_present():
    ph = lateral_phantom(LEVELS[LEVELS.index("T10") : LEVELS.index("L2") + 1], disc_angle_deg=2.0)
    assert _tables.whole_film_angles(ph.landmarks).startswith("TLK ")
    assert _tables.whole_film_angles(LandmarkSet({}, scheme="6pt")) == ""


# ----------------------------------------------------------------------------- calibration
@pytest.mark.parametrize(
    ("cal", "warns"),
    [
        (Calibration(0.15, 0.15, "pixel_spacing"), None),
        (Calibration(0.15, 0.15, "user"), None),
        (Calibration(0.12, 0.12, "ermf"), None),
        (Calibration(0.15, 0.15, "detector"), "Detector-plane"),
        (Calibration(0.2, 0.2, "unknown_origin"), "unknown origin"),
        (Calibration.none(), "No pixel spacing"),
    ],
)
def test_calibration_status_states_unit_source_and_warning(cal, warns):
    summary, warning = _calibration.calibration_status(cal)
    assert cal.source in summary
    assert ("pixels" in summary) is (not cal.has_mm)
    if warns is None:
        assert warning is None
    else:
        assert warns in warning


def test_calibration_from_line_keeps_the_pixel_aspect():
    line = np.array([[10.0, 10.0], [10.0, 210.0]])
    cal = _calibration.calibration_from_line(line, 30.0, Calibration(0.3, 0.15, "detector"))
    assert cal.source == "user"
    assert (cal.row_mm, cal.col_mm) == pytest.approx((0.3, 0.15))
    square = _calibration.calibration_from_line(line, 30.0, Calibration.none())
    assert (square.row_mm, square.col_mm) == pytest.approx((0.15, 0.15))
    vertical = _calibration.calibration_from_line(
        np.array([[0.0, 0.0], [100.0, 0.0]]), 30.0, Calibration(0.3, 0.15, "detector")
    )
    assert vertical.row_mm == pytest.approx(0.3)
    assert vertical.col_mm == pytest.approx(0.15)


def test_calibration_from_line_refuses_a_point():
    with pytest.raises(CalibrationError, match="no length"):
        _calibration.calibration_from_line(
            np.array([[1.0, 1.0], [1.0, 1.0]]), 10.0, Calibration.none()
        )


# ----------------------------------------------------------------------------- overlay
def test_overlay_draws_endplates_and_heights_between_the_right_points(phantom_set):
    data, features = _layerdata.landmarks_to_layer(phantom_set)
    vectors, levels, kinds = _layerdata.overlay_vectors(data, features, "6pt")
    assert vectors.shape == (25, 2, 2)
    assert kinds.count("endplate") == 10
    assert kinds.count("height") == 15
    i = next(
        k
        for k, (lv, kd) in enumerate(zip(levels, kinds, strict=True))
        if lv == "L1" and kd == "endplate"
    )
    start, end = vectors[i][0], vectors[i][0] + vectors[i][1]
    np.testing.assert_allclose(start, phantom_set.points["L1"]["ant_sup"])
    np.testing.assert_allclose(end, phantom_set.points["L1"]["post_sup"])


def test_overlay_skips_segments_with_a_missing_end_and_draws_ap4_endplates():
    f = _layerdata.features_frame(["L1", "L1", "L1"], ["ant_sup", "post_sup", "ant_inf"])
    _, _, kinds = _layerdata.overlay_vectors(
        np.array([[0.0, 10.0], [0.0, 0.0], [20.0, 10.0]]), f, "4pt"
    )
    assert kinds == ["endplate", "height"]
    f = _layerdata.features_frame(["L1"] * 4, ["left_sup", "right_sup", "left_inf", "right_inf"])
    _, _, kinds = _layerdata.overlay_vectors(np.arange(8.0).reshape(4, 2), f, "ap4")
    assert kinds == ["endplate", "endplate"]
    empty, _, _ = _layerdata.overlay_vectors(np.empty((0, 2)), _layerdata.empty_features(), "6pt")
    assert empty.shape == (0, 2, 2)


# ----------------------------------------------------------------------------- files
@pytest.mark.parametrize(
    ("image", "folder", "expected"),
    [
        ("P1/pre.dcm", None, "P1/pre.landmarks.json"),
        ("P1/PRE.DCM", None, "P1/PRE.landmarks.json"),
        ("P1/1.2.840.7", None, "P1/1.2.840.7.landmarks.json"),
        ("P1/IM0001", "out", "out/IM0001.landmarks.json"),
    ],
)
def test_landmark_path_for(image, folder, expected):
    assert _files.landmark_path_for(image, folder).as_posix() == expected


def test_relative_image_path(tmp_path):
    assert (
        _files.relative_image_path(tmp_path / "P1" / "pre.dcm", tmp_path / "out" / "x.json")
        == "../P1/pre.dcm"
    )
    assert (
        _files.relative_image_path(tmp_path / "pre.dcm", tmp_path / "pre.landmarks.json")
        == "pre.dcm"
    )


def test_a_film_layer_pairs_landmarks_by_the_cores_rule(tmp_path, phantom_set):
    ls = phantom_set.replace(image=ImageRef(sop_instance_uid="1.2.3", rows=100, columns=80))
    path = write_landmarks(ls, tmp_path / "a.landmarks.json")
    from kyphoimg import read_landmarks

    ls = read_landmarks(path, validate=False)
    dicom = Calibration(0.25, 0.25, "detector")
    film = {
        "path": "/films/a.dcm",
        "sop_instance_uid": "1.2.3",
        "rows": 100,
        "columns": 80,
        "calibration": Calibration(0.3, 0.3, "user").to_dict(),  # calibrated since
        "calibration_file": dicom.to_dict(),
    }
    paired = _layers.pair_with_film_layer(ls, film)
    assert paired == pair_with_film(
        ls, sop_instance_uid="1.2.3", rows=100, columns=80, calibration=dicom, film="/films/a.dcm"
    )
    assert paired.calibration == dicom  # the DICOM header's, not the film's current one
    user = ls.replace(calibration=Calibration(0.2, 0.2, "user"))
    assert _layers.pair_with_film_layer(user, film).calibration == Calibration(0.2, 0.2, "user")
    with pytest.raises(
        FilmMismatchError, match=r"SOP Instance UID 1\.2\.3.*/films/a\.dcm is 9\.9\.9"
    ) as err:
        _layers.pair_with_film_layer(ls, {**film, "sop_instance_uid": "9.9.9"})
    assert "a.landmarks.json" in str(err.value)
    with pytest.raises(FilmMismatchError, match="100x80 image, but the film scan 1 is 90x80"):
        _layers.pair_with_film_layer(
            ls.replace(image=ImageRef(rows=100, columns=80)),
            {**film, "path": None, "sop_instance_uid": "9", "rows": 90},
            "scan 1",
        )
    # a set that does not know its image is accepted and completed from the film
    filled = _layers.pair_with_film_layer(
        ls.replace(image=ImageRef()), {**film, "sop_instance_uid": "9.9.9", "rows": 1, "columns": 1}
    )
    assert (filled.image.sop_instance_uid, filled.image.rows, filled.image.columns) == (
        "9.9.9",
        1,
        1,
    )


# ----------------------------------------------------------------------------- time points
def test_timepoint_tables_are_the_cores_features(phantoms):
    sets = [ph.landmarks for ph in phantoms.values()]
    measures, features, message = _tables.timepoint_tables(sets[::-1])
    assert message == ""
    expected = features_table(measures_table(sets))
    pd.testing.assert_frame_equal(features, expected)
    matrix = _tables.timepoint_matrix(measures)
    assert list(matrix.columns) == ["Measure", "pre", "post", "last"]
    ahr = matrix.set_index("Measure").loc["L1 AHR %"]
    assert float(ahr["pre"]) < float(ahr["last"]) < float(ahr["post"])
    derived = _tables.derived_table(features).set_index("Feature")["Value"]
    assert float(derived["L1 Height restoration %"]) > 0
    assert derived["L1 Recompression"] in ("yes", "no", "")


def test_timepoint_tables_report_missing_index_levels_and_odd_timepoints(phantoms):
    sets = [ph.landmarks.replace(index_levels=()) for ph in phantoms.values()]
    _, features, message = _tables.timepoint_tables(sets)
    assert len(features) == 0
    assert "index level" in message
    odd = [
        ph.landmarks.replace(timepoint=t)
        for ph, t in zip(phantoms.values(), ("pre", "6m", "post"), strict=True)
    ]
    measures, features, message = _tables.timepoint_tables(odd)
    assert message == ""
    assert "ka_deg_6m" in features.columns
    assert list(_tables.timepoint_matrix(measures).columns) == ["Measure", "pre", "post", "6m"]


def test_fmt_never_prints_negative_zero():
    assert _tables._fmt(np.array([-0.01, -0.0, 0.04, -1.26, math.nan]), 1) == [
        "0.0",
        "0.0",
        "0.0",
        "-1.3",
        "",
    ]


def test_same_features_tells_the_next_films_points_from_other_points():
    """A film switch keeps a landmarks layer's features only when the next film's are
    the same points in the same order: any other level, point, label, order or category
    set is a change."""
    levels, points = ["L1", "L1", "L2"], ["ant_sup", "post_sup", "ant_sup"]
    a = _layerdata.features_frame(levels, points)
    assert _layerdata.same_features(a, _layerdata.features_frame(levels, points))
    assert _layerdata.same_features(a, a.copy())
    assert not _layerdata.same_features(a, _layerdata.features_frame(levels[:2], points[:2]))
    assert not _layerdata.same_features(a, _layerdata.features_frame(levels[::-1], points))
    assert not _layerdata.same_features(a, _layerdata.features_frame(["L1", "L1", "L3"], points))
    relabelled = a.copy()
    relabelled["label"] = ["x", "y", "z"]
    assert not _layerdata.same_features(a, relabelled)
    fewer_categories = a.copy()
    fewer_categories["level"] = fewer_categories["level"].cat.remove_unused_categories()
    assert list(fewer_categories["level"]) == list(a["level"])
    assert not _layerdata.same_features(a, fewer_categories)
    as_text = a.astype({"level": str})
    assert not _layerdata.same_features(a, as_text)
