"""The widgets in a real viewer (Xvfb, GL): placement, editing, files, measures, calibration.

Clicks and keys go to the vispy canvas as Qt events, the way a user's do.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from napari_kyphoimg import _guide, _layerdata, _tables
from napari_kyphoimg._layers import info, landmark_layer_for, overlay_for

from kyphoimg import Calibration, measures_table, read_landmarks, read_table, write_landmarks
from kyphoimg.landmarks import ImageRef

pytestmark = pytest.mark.gui


def _rgba(hex_color: str) -> tuple[float, ...]:
    return (*(int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)), 1.0)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Values only: dtypes (categorical / str / object) and NaN-vs-None set aside."""
    return frame.astype(object).where(frame.notna(), None)


def _open(viewer, path):
    layers = viewer.open(str(path), plugin="napari-kyphoimg")
    return layers[0]


def _place(layer, lw, truth, plan):
    """Place each planned point at its true position, checking the guide names it first."""
    for level, point in plan:
        assert lw.target == (level, point)
        assert lw.guide.value == f"Next: {_guide.describe_point(level, point)}"
        layer.add(np.array(truth.points[level][point]))


def test_guided_placement_of_a_full_6pt_set_matches_the_core_and_the_truth(
    kyphoimg_viewer, qtbot, gui, film_file, truth, phantoms
):
    viewer, w = kyphoimg_viewer
    lw, mw = w["Landmarks"], w["Measurements"]
    film = _open(viewer, film_file)
    assert lw.film.value == film
    lw.first_level.value, lw.last_level.value = "T10", "L3"
    lw.index_levels.value = ["L1"]
    lw.rater.value = "ground_truth"
    layer = lw.start()
    assert layer.mode == "add"
    assert viewer.layers.selection.active == layer
    assert lw.guide.value == "Next: T10 · anterior superior corner"
    assert lw.progress.value == "0 of 36 points placed"

    # The first point through a real mouse click on the canvas.
    expected = np.array(truth.points["T10"]["ant_sup"])
    mapped = gui.click_at(qtbot, viewer, lw, layer, expected)
    np.testing.assert_allclose(mapped, expected, atol=1e-9)
    assert len(layer.data) == 1
    np.testing.assert_allclose(layer.data[0], expected, atol=1e-4)  # float32 in vispy
    assert layer.features.loc[0, ["level", "point", "label"]].tolist() == ["T10", "ant_sup", "T10"]
    # the rest through the layer's add (what napari's add mode calls), following the guide
    plan = _guide.placement_plan(truth.levels, "6pt")
    _place(layer, lw, truth, plan[1:])
    assert lw.target is None
    assert layer.mode == "select"
    assert lw.guide.value.startswith("All 36 points placed")
    assert lw.check.value == ""  # the placed set passes kyphoimg's validation

    # a colour per level, endplate/height overlay following the points
    for i, level in enumerate(layer.features["level"]):
        np.testing.assert_allclose(layer.face_color[i], _rgba(_layerdata.LEVEL_COLORS[level]))
    assert len({_layerdata.LEVEL_COLORS[lv] for lv in truth.points}) == 6
    overlay = overlay_for(viewer.layers, layer)
    assert overlay.data.shape == (30, 2, 2)  # 6 levels x (2 endplates + 3 heights)

    # reader findings of the index level
    assert lw.finding_level.choices == ("L1",)
    lw.finding_level.value = "L1"
    lw.findings["ivc"].value = "yes"
    lw.findings["npec"].value = "both"
    lw.findings["cement_leakage"].value = "not_assessable"
    lw.findings["genant_visual"].value = "2"

    # autosaved beside the film; the saved file is the ground truth
    saved_path = film_file.with_name("pre.landmarks.json")
    assert lw.status.value == f"Saved pre.landmarks.json in {film_file.parent}"
    saved = read_landmarks(saved_path)
    assert saved.image.path == "pre.dcm"
    assert saved.image.sop_instance_uid == truth.image.sop_instance_uid
    assert saved.scheme == "6pt"
    assert saved.index_levels == ("L1",)
    assert saved.rater == "ground_truth"
    assert saved.calibration == Calibration(0.25, 0.25, "detector")
    assert dict(saved.findings["L1"]) == {
        "ivc": "yes",
        "npec": "both",
        "cement_leakage": "not_assessable",
        "genant_visual": "2",
    }
    assert set(saved.points) == set(truth.points)
    for level, pts in truth.points.items():
        assert set(saved.points[level]) == set(pts)
        for name, rc in pts.items():
            np.testing.assert_allclose(saved.points[level][name], rc, atol=1e-4)

    # the widget's table is kyphoimg's measures of that set
    core = measures_table(
        [
            saved.replace(
                image=ImageRef(path=None, sop_instance_uid=truth.image.sop_instance_uid),
                updated=None,
            )
        ]
    )
    mine = mw.measures
    cols = [c for c in core.columns if c not in ("image", "patient_id", "timepoint", "rater")]
    pd.testing.assert_frame_equal(_plain(mine[cols]), _plain(core[cols]))
    shown = mw.table.to_dataframe().fillna("")  # empty cells read back as NaN
    assert shown.to_numpy().tolist() == _tables.display_table(core).to_numpy().tolist()
    l1 = shown.set_index("Level").loc["L1 *"]
    ha_true = phantoms["pre"].truth["L1"]["ha_mm"]
    assert float(l1["Ha (mm)"]) == pytest.approx(ha_true, abs=0.05)
    assert "detector" in mw.calibration.value
    assert "Detector-plane spacing" in mw.warning.value


def test_keys_replace_delete_and_undo_on_the_canvas(
    kyphoimg_viewer, qtbot, gui, film_file, truth, tmp_path
):
    viewer, w = kyphoimg_viewer
    lw = w["Landmarks"]
    _open(viewer, film_file)
    lw.first_level.value, lw.last_level.value = "L1", "L1"
    layer = lw.start()
    pts = truth.points["L1"]
    layer.add(np.array(pts["ant_sup"]))
    layer.add(np.array(pts["mid_sup"]))
    assert lw.target == ("L1", "post_sup")
    gui.press_key(qtbot, lw, "N")
    assert lw.target == ("L1", "ant_inf")
    gui.press_key(qtbot, lw, "N", shift=True)
    gui.press_key(qtbot, lw, "N", shift=True)
    assert lw.target == ("L1", "mid_sup")
    assert lw.guide.value.startswith("Re-place: L1 · superior endplate midpoint")
    # a click on the canvas re-places the targeted point: still one mid_sup, at the new place
    new_place = np.array(pts["mid_sup"]) + np.array([3.0, -2.0])
    gui.click_at(qtbot, viewer, lw, layer, new_place)
    labels = list(zip(layer.features["level"], layer.features["point"], strict=True))
    assert labels.count(("L1", "mid_sup")) == 1
    assert len(layer.data) == 2
    np.testing.assert_allclose(layer.data[labels.index(("L1", "mid_sup"))], new_place, atol=1e-4)
    assert lw.target == ("L1", "post_sup")  # back to the first missing point
    # Ctrl+Z undoes the re-placement (colours follow the restored labels)
    gui.press_key(qtbot, lw, "Z", control=True)
    np.testing.assert_allclose(layer.face_color[-1], _rgba(_layerdata.LEVEL_COLORS["L1"]))
    labels = list(zip(layer.features["level"], layer.features["point"], strict=True))
    np.testing.assert_allclose(
        layer.data[labels.index(("L1", "mid_sup"))], pts["mid_sup"], atol=1e-9
    )
    # Delete removes the target's point when nothing is selected; the guide goes back to it
    layer.selected_data = set()
    lw.previous_point()
    assert lw.target == ("L1", "mid_sup")
    lw.delete_point()
    assert len(layer.data) == 1
    assert lw.target == ("L1", "mid_sup")
    assert lw.progress.value == "1 of 6 points placed"
    lw.undo()
    assert len(layer.data) == 2
    saved = read_landmarks(film_file.with_name("pre.landmarks.json"), validate=False)
    assert set(saved.points["L1"]) == {"ant_sup", "mid_sup"}  # autosaved after each change


def test_dragging_a_point_updates_table_and_overlay_live(
    kyphoimg_viewer, qtbot, gui, film_file, truth
):
    from qtpy.QtCore import QPoint, Qt

    viewer, w = kyphoimg_viewer
    lw, mw = w["Landmarks"], w["Measurements"]
    _open(viewer, film_file)
    lw.first_level.value, lw.last_level.value = "T12", "L2"
    layer = lw.start()
    _place(layer, lw, truth, _guide.placement_plan(("T12", "L1", "L2"), "6pt"))
    before = mw.measures.set_index("level").loc["L1", "ha_mm"]
    i = next(
        k
        for k, (lv, p) in enumerate(
            zip(layer.features["level"], layer.features["point"], strict=True)
        )
        if (lv, p) == ("L1", "ant_inf")
    )
    start = np.array(layer.data[i])
    layer.mode = "select"
    canvas = gui.canvas_of(lw)
    viewer.scene.camera.center = tuple(start * np.asarray(layer.scale))
    viewer.scene.camera.zoom = 4.0
    qtbot.wait(30)
    c = QPoint(canvas.width() // 2, canvas.height() // 2)
    header = _layerdata.header_from_meta(info(layer, "landmarks")["header"])
    overlay = overlay_for(viewer.layers, layer)
    overlay_data = overlay.data

    def shown_cells(mw):
        return mw.table.to_dataframe().fillna("").to_numpy().tolist()

    def ends(overlay):
        return overlay.data[:, 0] + overlay.data[:, 1]

    thumbnails = []
    overlay.events.thumbnail.connect(lambda _: thumbnails.append("redrawn"))
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=c)
    seen = []
    for k in range(1, 6):  # drag 20 screen px = 20 image px upward (0.25 mm/px, zoom 4)
        qtbot.mouseMove(canvas, QPoint(c.x(), c.y() - 4 * k))
        qtbot.wait(5)
        seen.append(mw.measures.set_index("level").loc["L1", "ha_mm"])
        # each step's table is kyphoimg's measures of the points as they are now
        now = _tables.measure_layer(layer.data, layer.features, header)
        assert shown_cells(mw) == _tables.display_table(now).to_numpy().tolist()
        # the overlay follows the point, updated in place (same segments, new positions)
        assert overlay.data is overlay_data
        assert np.isclose(ends(overlay), layer.data[i], atol=1e-6).all(axis=1).any()
        assert thumbnails == []
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(c.x(), c.y() - 20))
    after = mw.measures.set_index("level").loc["L1", "ha_mm"]
    np.testing.assert_allclose(layer.data[i], start - (20.0, 0.0), atol=0.01)
    assert after < before
    assert len(set(np.round(seen, 6))) > 1
    final = _tables.measure_layer(layer.data, layer.features, header)
    pd.testing.assert_frame_equal(mw.measures, final)
    assert shown_cells(mw) == _tables.display_table(final).to_numpy().tolist()
    assert np.isclose(ends(overlay), layer.data[i], atol=1e-6).all(axis=1).any()
    assert thumbnails == ["redrawn"]  # the overlay's thumbnail waited for the drag's end


def test_text_table_rewrites_only_the_cells_that_changed(qtbot):
    from napari_kyphoimg._qt import TextTable

    columns = ["Level", "Ha (mm)", "Status"]
    rows = [["T12", "25.0", "ok"], ["L1 *", "15.0", "ok"], ["L2", "27.5", "ok"]]
    table = TextTable()
    qtbot.addWidget(table.native)
    table.set_rows(columns, rows)
    rewritten = []
    table.qtable.itemChanged.connect(lambda item: rewritten.append((item.row(), item.column())))
    table.set_rows(columns, [list(r) for r in rows])
    assert rewritten == []  # nothing changed: no item touched
    moved = [list(r) for r in rows]
    moved[1][1], moved[2][1] = "1234.5", "27.6"
    table.set_rows(columns, moved)
    assert sorted(rewritten) == [(1, 1), (2, 1)]
    assert table.to_dataframe().to_numpy().tolist() == moved
    # the changed column is fitted to its new contents as a table filled afresh would be
    fresh = TextTable()
    qtbot.addWidget(fresh.native)
    fresh.set_rows(columns, moved)
    assert table.qtable.columnWidth(1) == fresh.qtable.columnWidth(1) > 0
    # fewer rows, new headers: the table follows
    table.set_rows(["Level", "Status"], [["L1", "incomplete"]])
    assert table.to_dataframe().to_numpy().tolist() == [["L1", "incomplete"]]
    assert list(table.to_dataframe().columns) == ["Level", "Status"]
    table.set_frame(pd.DataFrame({"a": ["x", None]}, dtype=object))
    assert table.to_dataframe().to_numpy().tolist() == [["x"], [""]]


def test_reopening_a_film_restores_its_landmarks_and_refuses_another_films(
    kyphoimg_viewer, film_file, truth, write_film
):
    viewer, w = kyphoimg_viewer
    lw, mw = w["Landmarks"], w["Measurements"]
    ls = truth.replace(
        image=ImageRef(path="pre.dcm", sop_instance_uid=truth.image.sop_instance_uid)
    )
    write_landmarks(ls, film_file.with_name("pre.landmarks.json"))
    film = _open(viewer, film_file)
    layer = landmark_layer_for(viewer.layers, film)
    assert layer is not None
    assert len(layer.data) == 36
    assert lw.landmarks_layer == layer
    assert lw.target is None
    assert mw.landmarks.value == layer
    assert len(mw.measures) == 6

    other = write_film(film_file.with_name("post.dcm"), truth, sop_instance_uid="7.7.7")
    write_landmarks(ls, other.with_name("post.landmarks.json"))  # saved for pre, sits beside post
    post = _open(viewer, other)
    assert landmark_layer_for(viewer.layers, post) is None
    assert lw.film.value == post
    assert f"placed on SOP Instance UID {truth.image.sop_instance_uid}" in lw.status.value
    assert "7.7.7" in lw.status.value
    # loading it by hand is refused the same way
    assert not lw.load(other.with_name("post.landmarks.json"))
    assert lw.status.value.startswith("Refused:")
    # a file of this image loads
    write_landmarks(
        ls.replace(image=ImageRef(sop_instance_uid="7.7.7")), other.with_name("mine.json")
    )
    assert lw.load(other.with_name("mine.json"))
    assert len(landmark_layer_for(viewer.layers, post).data) == 36


def test_loading_a_file_pairs_it_with_the_film_by_the_cores_rule(
    kyphoimg_viewer, film_file, truth, tmp_path
):
    """kyphoimg.landmarks.pair_with_film decides: a file without a user calibration takes
    the film's DICOM calibration, even over a user calibration applied since; a user one
    in the file is kept; the film's UID and size fill in what the file lacks."""
    from kyphoimg import read_radiograph
    from kyphoimg.landmarks import pair_with_film

    viewer, w = kyphoimg_viewer
    lw, cw = w["Landmarks"], w["Calibrate"]
    film = _open(viewer, film_file)
    line = cw.draw()
    line.add_lines(np.array([[100.0, 100.0], [100.0, 300.0]]))
    cw.length_mm.value = 30.0
    assert cw.apply() == Calibration(0.15, 0.15, "user")
    path = tmp_path / "rater2.landmarks.json"
    write_landmarks(
        truth.replace(image=ImageRef(), calibration=Calibration(0.3, 0.3, "pixel_spacing")), path
    )
    raw = read_landmarks(path, validate=False)  # before loading: autosave rewrites it
    assert lw.load(path)
    rg = read_radiograph(film_file)
    expected = pair_with_film(
        raw,
        sop_instance_uid=rg.metadata.sop_instance_uid,
        rows=rg.shape[0],
        columns=rg.shape[1],
        calibration=rg.calibration,
    )
    layer = landmark_layer_for(viewer.layers, film)
    header = _layerdata.header_from_meta(info(layer, "landmarks")["header"])
    assert header.calibration == expected.calibration == Calibration(0.25, 0.25, "detector")
    assert header.image == expected.image
    assert (header.image.sop_instance_uid, header.image.rows, header.image.columns) == (
        truth.image.sop_instance_uid,
        *film.data.shape,
    )
    assert info(film, "film")["calibration"] == expected.calibration.to_dict()
    for x in (film, layer):
        np.testing.assert_allclose(x.scale, (0.25, 0.25))
    # a user calibration saved in the file is kept and becomes the film's
    write_landmarks(truth.replace(calibration=Calibration(0.2, 0.2, "user")), path)
    assert lw.load(path)
    assert info(film, "film")["calibration"] == Calibration(0.2, 0.2, "user").to_dict()
    np.testing.assert_allclose(film.scale, (0.2, 0.2))


def test_a_film_without_a_file_saves_to_a_chosen_folder(kyphoimg_viewer, tmp_path):
    from napari_kyphoimg._layers import film_layer_data, film_meta

    from kyphoimg import Calibration as Cal

    viewer, w = kyphoimg_viewer
    lw = w["Landmarks"]
    meta = film_meta(
        path=None, sop_instance_uid="4.5.6", rows=600, columns=500, calibration=Cal.none()
    )
    data, kwargs, _ = film_layer_data(np.zeros((600, 500), np.float32), meta, name="scan 1")
    viewer.add_image(data, **kwargs)
    layer = lw.start()
    layer.add(np.array([300.0, 300.0]))
    assert lw.status.value.startswith("Not saved: this film has no file")
    lw.folder.value = tmp_path
    assert lw.save() == tmp_path / "scan_1.landmarks.json"
    saved = read_landmarks(tmp_path / "scan_1.landmarks.json", validate=False)
    viewer.layers.remove(layer)  # its overlay goes with it
    assert [x.name for x in viewer.layers] == ["scan 1"]
    assert saved.image.path is None
    assert saved.image.sop_instance_uid == "4.5.6"
    assert saved.points["T11"]["ant_sup"] == (300.0, 300.0)


def test_sample_film_autosaves_beside_its_generated_file(kyphoimg_viewer):
    viewer, w = kyphoimg_viewer
    lw = w["Landmarks"]
    (film,) = viewer.open_sample("napari-kyphoimg", "lateral_film")
    layer = lw.start()
    layer.add(np.array([300.0, 300.0]))
    path = info(film, "film")["path"].replace(".dcm", ".landmarks.json")
    assert lw.status.value.startswith("Saved pre.landmarks.json")
    assert read_landmarks(path, validate=False).points["T11"]["ant_sup"] == (300.0, 300.0)


def test_measurements_units_warnings_copy_and_export(
    kyphoimg_viewer, tmp_path, film_file, truth, write_film
):
    from qtpy.QtWidgets import QApplication

    viewer, w = kyphoimg_viewer
    mw = w["Measurements"]
    nocal = write_film(tmp_path / "nocal.dcm", truth, sop_instance_uid="5.5", spacing_tags={})
    write_landmarks(
        truth.replace(image=ImageRef(sop_instance_uid="5.5")), tmp_path / "nocal.landmarks.json"
    )
    _open(viewer, nocal)
    assert mw.calibration.value.startswith("Heights in pixels")
    assert "No pixel spacing" in mw.warning.value
    assert "Ha (px)" in mw.table.to_dataframe().columns
    text = mw.copy()
    assert QApplication.clipboard().text() == text
    assert text.startswith("Level\tHa (px)")
    out = mw.export_csv(tmp_path / "measures")
    assert out == tmp_path / "measures.csv"
    assert (tmp_path / "measures.dictionary.csv").is_file()
    table = read_table(out)
    assert table["spacing_source"].eq("none").all()
    assert table["ha_mm"].isna().all()
    assert len(table) == 6
    assert "ka_deg" in table.columns
    assert mw.angles.value == "" or mw.angles.value.startswith("Whole film")


def test_time_point_view_puts_films_side_by_side_with_the_cores_features(kyphoimg_viewer, phantoms):
    from kyphoimg import features_table

    viewer, w = kyphoimg_viewer
    mw = w["Measurements"]
    viewer.open_sample("napari-kyphoimg", "lateral_spine")
    viewer.add_points(np.zeros((1, 2)), name="other")
    mw.reset_choices()
    assert mw.patient.value == "P001"
    group = mw.show_timepoints()
    assert [f.name for f in group] == ["P001/pre", "P001/post", "P001/last"]
    grid = viewer.canvas.grid
    assert grid.enabled
    assert grid.stride == 3
    assert grid.actual_shape(viewer.layers) == (1, 3)
    names = [layer.name for layer in viewer.layers]
    for col, tp in enumerate(("pre", "post", "last")):
        for suffix in ("", " landmarks", " landmarks overlay"):
            i = names.index(f"P001/{tp}{suffix}")
            assert grid.position(i, viewer.layers) == (0, col)
    assert not viewer.layers["other"].visible
    expected = features_table(measures_table([ph.landmarks for ph in phantoms.values()]))
    pd.testing.assert_frame_equal(mw.features, expected)
    shown = mw.tp_table.to_dataframe().set_index("Measure")
    assert list(shown.columns) == ["pre", "post", "last"]
    assert shown.loc["L1 AHR %", "pre"] == f"{expected['ahr_pct_pre'].iloc[0]:.1f}"
    derived = mw.derived.to_dataframe().set_index("Feature")["Value"]
    assert derived["L1 Height restoration %"] == f"{expected['height_restoration_pct'].iloc[0]:.1f}"
    # an edit on one film refreshes the features
    post = viewer.layers["P001/post landmarks"]
    labels = list(zip(post.features["level"], post.features["point"], strict=True))
    post.remove([labels.index(("T12", "ant_sup"))])  # KA of L1 needs T12's superior endplate
    assert np.isnan(mw.features["ka_deg_post"].iloc[0])
    assert mw.features["ka_deg_pre"].iloc[0] == expected["ka_deg_pre"].iloc[0]
    mw.show_single()
    assert not grid.enabled
    assert viewer.layers["other"].visible


def test_calibrate_from_a_line_of_known_length_is_saved_with_the_landmarks(
    kyphoimg_viewer, film_file, truth
):
    viewer, w = kyphoimg_viewer
    cw, lw, mw = w["Calibrate"], w["Landmarks"], w["Measurements"]
    write_landmarks(
        truth.replace(image=ImageRef(sop_instance_uid=truth.image.sop_instance_uid)),
        film_file.with_name("pre.landmarks.json"),
    )
    film = _open(viewer, film_file)
    assert cw.film.value == film
    assert "Detector-plane" in cw.warning.value
    line_layer = cw.draw()
    assert line_layer.mode == "add_line"
    assert tuple(line_layer.scale) == (0.25, 0.25)
    line_layer.add_lines(np.array([[100.0, 100.0], [100.0, 300.0]]))
    assert cw.line.value == "Line: 200.0 px"
    cw.length_mm.value = 30.0
    cal = cw.apply()
    assert cal == Calibration(0.15, 0.15, "user")
    landmarks = landmark_layer_for(viewer.layers, film)
    for layer in (film, landmarks, overlay_for(viewer.layers, landmarks), line_layer):
        np.testing.assert_allclose(layer.scale, (0.15, 0.15))
    assert info(film, "film")["calibration"]["source"] == "user"
    assert cw.warning.value == ""
    assert "user" in mw.calibration.value
    assert mw.warning.value == ""
    assert mw.measures["spacing_source"].astype(str).eq("user").all()
    saved = read_landmarks(film_file.with_name("pre.landmarks.json"))
    assert saved.calibration == Calibration(0.15, 0.15, "user")
    assert (
        json.loads(film_file.with_name("pre.landmarks.json").read_text())["calibration"]["source"]
        == "user"
    )
    assert lw.landmarks_layer == landmarks
    # back to the file's calibration
    assert cw.reset() == Calibration(0.25, 0.25, "detector")
    assert (
        read_landmarks(film_file.with_name("pre.landmarks.json")).calibration.source == "detector"
    )


def test_landmark_layers_of_coronal_and_4pt_schemes(kyphoimg_viewer, film_file):
    viewer, w = kyphoimg_viewer
    lw, mw = w["Landmarks"], w["Measurements"]
    _open(viewer, film_file)
    lw.scheme.value = "4pt"
    lw.first_level.value, lw.last_level.value = "L1", "L1"
    layer = lw.start()
    for k, rc in enumerate(([100, 100], [100, 140], [130, 100], [128, 140])):
        layer.add(np.array(rc, dtype=float))
        assert len(layer.data) == k + 1
    assert lw.target is None
    assert mw.measures["hm_mm"].notna().all()
    assert "4-corner chord midpoints" in mw.notes.value
    lw.scheme.value = "ap4"
    assert lw.target == ("L1", "left_sup")
    assert len(mw.measures) == 0  # coronal sets have no per-vertebra lateral measures
    header = _layerdata.header_from_meta(info(layer, "landmarks")["header"])
    assert header.scheme == "ap4"


def test_launch_without_a_display_says_so(monkeypatch, capsys):
    from napari_kyphoimg import launch

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert launch([], block=False) == 2
    assert "no display" in capsys.readouterr().err
