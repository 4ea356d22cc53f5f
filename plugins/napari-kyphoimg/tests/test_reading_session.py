"""The reading workflow as a radiologist walks it: open a study, place, switch, reopen.

Each scenario drives the real napari window under Xvfb (mouse clicks on the canvas,
keys, the Worklist dock) and checks, after each step, which film is on the canvas and
what is on disk: this reader's landmark file, and every other file unchanged.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kyphoimg import read_landmarks, write_landmarks
from kyphoimg.study import open_worklist

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom"


@pytest.fixture
def study(tmp_path) -> Path:
    """Three patients x pre/post/last with a first reader's (ground_truth) files."""
    root = tmp_path / "study"
    root.mkdir()
    for pid in ("P001", "P002", "P003"):
        shutil.copytree(SAMPLE / pid, root / pid)
    return root


def _digest(root: Path, *, skip: str | None = None) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and (skip is None or not p.name.endswith(skip))
    }


@pytest.fixture
def session_of(make_napari_viewer_proxy):
    from napari_kyphoimg import open_study

    def make(root: Path, **options):
        viewer = make_napari_viewer_proxy(show=True)
        viewer.window.resize(1600, 1000)
        return viewer, open_study(viewer, root, **options)

    return make


def _films_on_canvas(viewer) -> list[str]:
    return [
        layer.metadata["kyphoimg"]["path"]
        for layer in viewer.layers
        if (layer.metadata.get("kyphoimg") or {}).get("role") == "film"
    ]


def test_one_film_at_a_time_and_clicks_land_on_the_film_shown(session_of, study, qtbot, gui):
    before = _digest(study)
    viewer, s = session_of(study, rater="AB")
    lw, ww = s.widgets["landmarks"], s.widgets["worklist"]
    assert len(s.worklist) == 9
    assert s.worklist.counts()["not_started"] == 9
    # Finding 1: exactly one film on the canvas, the one the worklist says is active.
    assert s.active.label == "P001 pre"
    assert _films_on_canvas(viewer) == [str(study / "P001" / "pre.dcm")]
    assert lw.film.value is s.film_layer
    assert "P001 pre" in ww.active_label.text()
    # Place two points by clicking the canvas where the first reader put them.
    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    layer = lw.start()
    assert lw.status.value.startswith("Click on the film")  # finding 6: status moves on
    assert lw.guide.value == "Next: T11 · anterior superior corner"
    assert (lw.sketch.target, lw.sketch.placed) == ("ant_sup", set())  # the scheme's sketch
    for name in ("ant_sup", "mid_sup"):
        gui.click_at(qtbot, viewer, lw, layer, truth.points["T11"][name])
    assert (lw.sketch.target, lw.sketch.placed) == ("post_sup", {"ant_sup", "mid_sup"})
    mine = study / "P001" / "pre.AB.landmarks.json"
    saved = read_landmarks(mine, validate=False)
    assert saved.rater == "AB"
    assert saved.timepoint == "pre"
    assert saved.patient_id == "P001"
    assert saved.image.sop_instance_uid == truth.image.sop_instance_uid
    for name in ("ant_sup", "mid_sup"):
        np.testing.assert_allclose(saved.points["T11"][name], truth.points["T11"][name], atol=1e-3)
    # Only this reader's file was written.
    after = _digest(study)
    assert {k for k in after if k not in before} == {
        "P001/pre.AB.landmarks.json",
        "P001/pre.AB.effort.jsonl",  # the reading effort, beside the reader's file
    }
    assert all(after[k] == v for k, v in before.items())
    assert s.active.status == "incomplete"
    # Switch film with the dock's button: one film again, the next one.
    ww.next_button.click()
    assert s.active.label == "P001 post"
    assert _films_on_canvas(viewer) == [str(study / "P001" / "post.dcm")]
    assert [lyr.name for lyr in viewer.layers] == ["P001 post"]
    assert lw.timepoint.value == "post"
    assert lw.rater.value == "AB"
    # Back to pre: this reader's two points are there again, on the pre film.
    s.previous()
    assert _films_on_canvas(viewer) == [str(study / "P001" / "pre.dcm")]
    back = lw.landmarks_layer
    assert back is not None
    assert len(back.data) == 2
    mine = {k for k in _digest(study) if ".AB." in k}
    assert mine == {"P001/pre.AB.landmarks.json", "P001/pre.AB.effort.jsonl"}
    assert {k: v for k, v in _digest(study).items() if k not in mine} == before


def test_worklist_navigation_and_keys(session_of, study, qtbot, gui):
    viewer, s = session_of(study, rater="AB")
    ww = s.widgets["worklist"]
    # the table: patients x time points, a status word per film
    assert ww.table.rowCount() == 3
    assert ww.table.columnCount() == 3
    assert ww.table.item(1, 2).text() == "○ to do"
    # a click on a cell opens that film
    ww._on_cell(2, 1)
    assert s.active.label == "P003 post"
    assert _films_on_canvas(viewer) == [str(study / "P003" / "post.dcm")]
    # the Measurements patient follows the film on the canvas
    assert s.widgets["measurements"].patient.value == "P003"
    # next at the end stays put; previous goes back
    s.go_to(s.worklist[-1])
    assert s.next() is None
    assert s.active.label == "P003 last"
    assert s.previous().label == "P003 post"
    # PageUp on the canvas goes back too
    from qtpy.QtCore import Qt

    qtbot.keyClick(gui.canvas_of(s.widgets["landmarks"]), Qt.Key.Key_PageUp)
    assert s.active.label == "P003 pre"


def test_reopening_fills_the_controls_from_the_file_and_touching_one_changes_only_it(
    session_of, study
):
    path = study / "P002" / "pre.landmarks.json"
    _, s = session_of(study, start=False)  # the single-reader files
    s.go_to(next(e for e in s.worklist if e.label == "P002 pre"))
    lw = s.widgets["landmarks"]
    original = json.loads(path.read_text())
    # Finding 2: rater, levels, index level, time point come from the file.
    assert lw.rater.value == "ground_truth"
    assert list(lw.index_levels.value) == original["index_levels"] == ["T12"]
    assert lw.timepoint.value == "pre"
    assert (lw.first_level.value, lw.last_level.value) == ("T10", "L3")
    # P002's films face left (anterior wall at smaller columns): so does the scheme's sketch.
    assert lw.sketch.anterior_right is False
    assert "No landmarks" not in lw.status.value
    # The rater of a file with points never changes in place (issue 17, finding 3): the
    # control is not editable, and a value forced into it writes nothing.
    assert not lw.rater.enabled
    before = path.read_bytes()
    lw.rater.value = "GT2"
    assert path.read_bytes() == before
    assert "never changes" in lw.status.value
    assert lw.rater.value == "ground_truth"
    # Touching one control writes that field and nothing else.
    lw.index_levels.value = ["T12", "L1"]
    changed = json.loads(path.read_text())
    assert changed["index_levels"] == ["T12", "L1"]
    assert {k: v for k, v in changed.items() if k not in ("index_levels", "updated")} == {
        k: v for k, v in original.items() if k not in ("index_levels", "updated")
    }
    lw.scheme.value = "6pt"  # the same value: nothing written
    assert json.loads(path.read_text())["updated"] == changed["updated"]
    # Changing the planned level range is not a change of the file.
    lw.first_level.value = "T9"
    assert json.loads(path.read_text()) == changed


def test_time_points_are_chosen_from_the_vocabulary(session_of, study):
    p = study / "P003" / "post.landmarks.json"
    data = json.loads(p.read_text())
    data["timepoint"] = " Post"  # finding 3: case and spaces are normalised
    p.write_text(json.dumps(data))
    q = study / "P003" / "last.landmarks.json"
    data = json.loads(q.read_text())
    data["timepoint"] = "psot"  # a typo is refused with the file named
    q.write_text(json.dumps(data))
    _, s = session_of(study, timepoints=["pre", "post", "6m", "last"], start=False)
    lw = s.widgets["landmarks"]
    by_label = {e.film_path.name + e.film_path.parent.name: e for e in s.worklist}
    assert by_label["post.dcmP003"].status == "complete"
    bad = by_label["last.dcmP003"]
    assert bad.status == "invalid"
    assert str(q) in bad.problems[0]
    assert "'psot'" in bad.problems[0]
    s.go_to(by_label["post.dcmP003"])
    assert [c for c in lw.timepoint.choices if c] == ["pre", "post", "6m", "last"]
    assert lw.timepoint.value == "post"
    lw.timepoint.value = "6m"
    assert json.loads(p.read_text())["timepoint"] == "6m"
    assert s.refresh().timepoint == "6m"


def test_a_file_the_command_line_refuses_opens_with_its_problems_and_loses_nothing(
    session_of, study
):
    p = study / "P002" / "pre.landmarks.json"
    data = json.loads(p.read_text())
    data["points"]["T21"] = data["points"].pop("T12")  # finding 5: a level typo
    p.write_text(json.dumps(data))
    worklist = open_worklist(study)  # what `kyphoimg run` sees
    assert [e.status for e in worklist if e.label == "P002 pre"] == ["invalid"]
    viewer, s = session_of(study, start=False)
    s.go_to(next(e for e in s.worklist if e.label == "P002 pre"))
    lw = s.widgets["landmarks"]
    assert "T21" in lw.check.value
    assert "unknown level" in lw.check.value
    ring = [lyr for lyr in viewer.layers if lyr.name.endswith("problems")]
    assert len(ring) == 1  # each T21 point ringed
    assert len(ring[0].data) == 6
    assert viewer.layers.selection.active is not ring[0]
    lw.index_levels.value = ["L1", "L2"]  # an edit saves the file ...
    saved = json.loads(p.read_text())
    assert saved["index_levels"] == ["L1", "L2"]
    assert saved["points"]["T21"] == data["points"]["T21"]  # ... with T21 kept as it was


def test_redo_brings_back_what_undo_took(session_of, study, qtbot, gui):
    viewer, s = session_of(study, rater="AB")
    lw = s.widgets["landmarks"]
    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    layer = lw.start()
    gui.click_at(qtbot, viewer, lw, layer, truth.points["T11"]["ant_sup"])
    assert len(layer.data) == 1
    lw.undo()
    assert len(layer.data) == 0
    lw.redo()
    assert len(layer.data) == 1
    saved = read_landmarks(study / "P001" / "pre.AB.landmarks.json", validate=False)
    assert "ant_sup" in saved.points["T11"]
    lw.zoom_to_target()
    centre = np.asarray(viewer.scene.camera.center[-2:])
    expected = np.asarray(truth.points["T11"]["ant_sup"]) * np.asarray(layer.scale[-2:])
    np.testing.assert_allclose(centre, expected, atol=1.0)


def test_measures_are_written_on_the_film_and_can_be_hidden(session_of, study):
    viewer, s = session_of(study, start=False)
    s.go_to(s.worklist[0])  # P001 pre, index level L1
    lw = s.widgets["landmarks"]
    values = [lyr for lyr in viewer.layers if lyr.name.endswith("values")]
    assert len(values) == 1
    texts = list(values[0].features["text"])
    assert len(texts) == 6  # T10..L3, each with heights and wedge angle
    table = s.widgets["measurements"].measures
    l1 = table.set_index("level").loc["L1"]
    ka = [t for t in texts if "KA" in t]
    assert len(ka) == 1
    assert f"KA {l1['ka_deg']:.1f}°" in ka[0]
    assert f"wedge {l1['wedge_angle_deg']:.1f}°" in ka[0]
    lw.show_values.value = False
    assert not values[0].visible
    lw.show_values.value = True
    assert values[0].visible


def test_blinded_reread_random_order_recorded_and_never_shows_the_first_read(session_of, study):
    # Reader A's first read: the ground-truth files copied under A's name.
    for p in sorted(study.glob("P00*/*.landmarks.json")):
        shutil.copyfile(p, p.with_name(p.name.replace(".landmarks", ".A.landmarks")))
        data = json.loads(p.with_name(p.name.replace(".landmarks", ".A.landmarks")).read_text())
    before = _digest(study)
    viewer, s = session_of(study, rater="A2", blind=True, seed=11)
    record = json.loads((study / ".kyphoimg" / "A2.session.json").read_text())
    assert record["seed"] == 11
    assert record["rater"] == "A2"
    assert record["blind"] is True
    order = [e.film_path.relative_to(study).as_posix() for e in s.worklist]
    assert record["order"] == order
    assert order != sorted(order)
    lw, ww = s.widgets["landmarks"], s.widgets["worklist"]
    # One film, unnamed; no patient, no time point, no first read on screen.
    assert [lyr.name for lyr in viewer.layers] == ["Film 1"]
    assert not lw.patient_id.visible
    assert not lw.timepoint.visible
    assert not ww.side_by_side.isEnabled()
    assert ww.table.verticalHeaderItem(0).text() == "Film 1"
    assert "P00" not in ww.summary.text() + ww.active_label.text()
    s.next()
    assert [lyr.name for lyr in viewer.layers] == ["Film 2"]
    assert s.active.film_path.relative_to(study).as_posix() == order[1]
    assert _digest(study, skip=".session.json") == before  # nothing written yet
    # Reopened without a seed: the recorded order comes back.
    _, again = session_of(study, rater="A2", blind=True)
    assert [e.film_path.relative_to(study).as_posix() for e in again.worklist] == order
    assert data["rater"] == "ground_truth"  # A's copies are untouched by A2's session


def test_proposals_from_the_previous_film_are_marked_until_accepted(session_of, study, qtbot, gui):
    from kyphoimg import write_landmarks
    from kyphoimg.assist import unconfirmed

    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    write_landmarks(truth.replace(rater="AB"), study / "P001" / "pre.AB.landmarks.json")
    viewer, s = session_of(study, rater="AB")
    lw, ww = s.widgets["landmarks"], s.widgets["worklist"]
    assert s.active.label == "P001 post"  # the first film to do
    assert ww.propose_button.isEnabled()
    ww.propose_button.click()
    path = study / "P001" / "post.AB.landmarks.json"
    proposed = read_landmarks(path, validate=False)
    n = sum(len(p) for p in proposed.points.values())
    assert n == 36
    assert sum(len(v) for v in unconfirmed(proposed).values()) == n
    layer = lw.landmarks_layer
    magenta = np.all(np.isclose(layer.border_color, [1.0, 0.0, 1.0, 1.0]), axis=1)
    assert magenta.sum() == n  # every proposal drawn as one
    # "A" on the canvas accepts the target vertebra's proposals as they are.
    viewer.layers.selection.active = layer
    gui.press_key(qtbot, lw, "N")  # every point is in place: N makes one the target again
    assert lw.target is not None
    level = lw.target[0]
    gui.press_key(qtbot, lw, "A")
    after = read_landmarks(path, validate=False)
    assert level not in unconfirmed(after)
    assert sum(len(v) for v in unconfirmed(after).values()) == n - len(proposed.points[level])
    assert after.points[level] == proposed.points[level]  # accepted where they were
    magenta = np.all(np.isclose(layer.border_color, [1.0, 0.0, 1.0, 1.0]), axis=1)
    assert magenta.sum() == n - len(proposed.points[level])
    # The first reader's files are untouched; pre has nothing earlier to propose from.
    s.go_to(s.worklist[0])
    assert not ww.propose_button.isEnabled()


def test_a_released_point_snaps_back_to_the_endplate_when_asked(session_of, study):
    _, s = session_of(study, start=False)  # the first reader's files: points on the edges
    s.go_to(s.worklist[0])
    lw = s.widgets["landmarks"]
    layer = lw.landmarks_layer
    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    i = next(
        k
        for k, (lv, pt) in enumerate(
            zip(layer.features["level"], layer.features["point"], strict=True)
        )
        if (lv, pt) == ("T12", "mid_sup")
    )
    expected = np.asarray(truth.points["T12"]["mid_sup"])
    off_edge = expected + np.array([4.0, 0.0])
    # Without snapping, a point released 4 px off the endplate stays where it was let go.
    data = np.array(layer.data, copy=True)
    data[i] = off_edge
    layer.data = data
    np.testing.assert_allclose(layer.data[i], off_edge)
    lw.snap.value = True
    data = np.array(layer.data, copy=True)
    data[i] = off_edge
    layer.data = data
    off = float(np.hypot(*(np.asarray(layer.data[i]) - expected)))
    assert off < 1.5  # back on the superior endplate (4 px before)
    saved = read_landmarks(study / "P001" / "pre.landmarks.json", validate=False)
    np.testing.assert_allclose(saved.points["T12"]["mid_sup"], layer.data[i], atol=1e-3)


def test_a_reading_session_is_what_run_measures_and_report_analyses(session_of, study, capsys):
    """A reader's whole path: place every film of a patient, then run and report the study."""
    from kyphoimg.cli import main

    _, s = session_of(study, rater="AB")
    lw = s.widgets["landmarks"]
    pid = s.active.patient_id
    for entry in s.worklist.patient(pid):
        s.go_to(entry)
        truth = read_landmarks(entry.film_path.with_name(f"{entry.timepoint}.landmarks.json"))
        lw.first_level.value, lw.last_level.value = truth.levels[0], truth.levels[-1]
        lw.index_levels.value = list(truth.index_levels)
        layer = lw.start()
        while lw.target is not None:  # the guide names each point; the reader places it
            level, point = lw.target
            layer.add(np.array(truth.points[level][point]))
        assert s.refresh().status == "complete"
    assert [e.status for e in s.worklist.patient(pid)] == ["complete"] * 3
    out = study.parent / "results"
    assert main(["run", str(study), "-o", str(out), "--rater", "AB"]) == 0
    films = pd.read_csv(out / "films.csv", dtype=str)
    assert sorted(films.loc[films["status"] == "measured", "patient_id"]) == [pid] * 3
    ours = pd.read_csv(out / "features.csv", dtype={"patient_id": str})
    reference = study.parent / "reference"
    assert main(["run", str(study), "-o", str(reference)]) == 0  # the first reader's files
    theirs = pd.read_csv(reference / "features.csv", dtype={"patient_id": str})
    theirs = theirs[theirs["patient_id"] == pid].reset_index(drop=True)
    for col in ("ka_deg_pre", "ka_deg_post", "ka_deg_last", "height_loss_pct"):
        assert ours.loc[0, col] == pytest.approx(theirs.loc[0, col], abs=1e-3), col
    assert main(["report", str(out), "-o", str(study.parent / "report")]) == 0
    assert (study.parent / "report" / "report.html").is_file()
    capsys.readouterr()


def test_a_film_switch_updates_the_layers_in_place_and_every_dock_follows(session_of, study):
    """Issue 17 item 8: the next film goes into the layers on the canvas, not new ones.

    Across three films (each with a ground_truth file of 36 points, one of them a
    MONOCHROME/spacing variant of the others) the same layers stay, and everything they
    and the docks show is the new film's: pixels, contrast, scale, landmark file and hash,
    names, the values written on the film and every number of the Measurements dock.
    """
    from napari_kyphoimg._layers import info
    from napari_kyphoimg._reader import radiograph_layer_data
    from napari_kyphoimg._tables import display_table

    from kyphoimg import read_radiograph
    from kyphoimg.landmarks import file_sha256
    from kyphoimg.measure import images_table, measures_table

    viewer, s = session_of(study, start=False)  # the single-reader (ground_truth) files
    mw, lw = s.widgets["measurements"], s.widgets["landmarks"]
    s.go_to(next(e for e in s.worklist if e.label == "P001 pre"))
    kept = list(viewer.layers)
    assert [info(layer)["role"] for layer in kept] == ["film", "overlay", "landmarks", "values"]
    for label in ("P002 post", "P003 last", "P001 last"):
        entry = s.go_to(next(e for e in s.worklist if e.label == label))
        assert list(viewer.layers) == kept  # the same layer objects, in place
        film, _overlay, landmarks, values = kept
        assert [layer.name for layer in kept] == [
            label,
            f"{label} landmarks overlay",
            f"{label} landmarks",
            f"{label} landmarks values",
        ]
        (data, kwargs, _), (_, _lm_kwargs, _) = radiograph_layer_data(
            read_radiograph(entry.film_path), label, landmark_path=entry.landmark_path
        )
        assert np.array_equal(film.data, data)
        assert tuple(film.contrast_limits) == pytest.approx(tuple(kwargs["contrast_limits"]))
        for layer in kept:
            assert tuple(layer.scale) == pytest.approx(tuple(kwargs["scale"]))
        assert info(film, "film")["path"] == str(entry.film_path.resolve())
        lm = info(landmarks, "landmarks")
        assert lm["path"] == str(entry.landmark_path.resolve())
        assert lm["sha256"] == file_sha256(entry.landmark_path)
        assert lm["film_uid"] == info(film, "film")["uid"]
        assert len(landmarks.data) == 36
        assert lw.film.value is film
        assert lw.landmarks_layer is landmarks
        # The values written on the film are this film's.
        expected = display_table(measures_table([entry.landmarks]))
        assert len(values.data) == len(expected)
        # Every number of the Measurements dock is this film's.
        assert mw.landmarks.value is landmarks
        table = mw.table.to_dataframe()
        assert table.astype(str).values.tolist() == expected.astype(str).values.tolist()
        tlk = float(images_table([entry.landmarks]).iloc[0]["tlk_deg"])
        assert f"TLK {tlk:.1f}°" in mw.angles.value


def test_the_next_film_read_ahead_is_the_file_on_disk_when_shown(session_of, study):
    """The next film is read in the background; a film replaced meanwhile is read again."""
    from kyphoimg import read_radiograph

    _viewer, s = session_of(study, start=False)
    s.go_to(next(e for e in s.worklist if e.label == "P001 pre"))
    shown = s.next()
    assert shown.label == "P001 post"
    assert np.array_equal(s.film_layer.data, read_radiograph(shown.film_path).pixels)
    # P001 last is being read ahead now; the film is replaced on disk before it is shown.
    following = s.worklist.next(shown)
    assert following.label == "P001 last"
    shutil.copy(study / "P002" / "pre.dcm", following.film_path)
    s.next()
    assert np.array_equal(s.film_layer.data, read_radiograph(following.film_path).pixels)
    assert not np.array_equal(
        s.film_layer.data, read_radiograph(SAMPLE / "P001" / "last.dcm").pixels
    )


def test_the_next_film_comes_from_the_reading_process_and_survives_its_death(
    session_of, study, monkeypatch
):
    """Once the reading process is up, a switch shows the film it read (no read in the
    viewer's process); killed, the switches go on with films read in the viewer."""
    from napari_kyphoimg import _ahead, _reading

    from kyphoimg import read_radiograph

    reader = _ahead.AheadReader()
    monkeypatch.setattr(_reading, "shared_reader", lambda: reader)
    here: list[Path] = []

    def read_here(path):
        here.append(Path(path))
        return read_radiograph(path)

    monkeypatch.setattr(_reading, "read_radiograph", read_here)
    try:
        _viewer, s = session_of(study, start=False)
        s.go_to(next(e for e in s.worklist if e.label == "P001 pre"))
        assert reader.ready.wait(60), "the reading process did not start"
        s._ahead[2].result(timeout=60)
        here.clear()
        shown = s.next()
        assert shown.label == "P001 post"
        assert here == []  # read ahead, in the other process
        assert np.array_equal(s.film_layer.data, read_radiograph(shown.film_path).pixels)
        s._ahead[2].result(timeout=60)
        reader._proc.kill()
        reader._proc.wait(timeout=10)
        shown = s.next()  # read before the kill; P002 pre is asked of a dead process
        assert (shown.label, here) == ("P001 last", [])
        with pytest.raises(RuntimeError, match="read-ahead process failed"):
            s._ahead[2].result(timeout=60)
        for label in ("P002 pre", "P002 post"):  # the answer lost, then no process at all
            shown = s.next()
            assert shown.label == label
            assert here[-1] == shown.film_path
            assert np.array_equal(s.film_layer.data, read_radiograph(shown.film_path).pixels)
    finally:
        reader.close()


def test_each_film_shows_its_own_window_and_the_reader_may_widen_it(session_of, study):
    """First film, switches in place, a film with layers replaced: the window is the file's
    own (Window Center/Width), and the slider spans every value of the film (napari made
    it span the window only, so the reader could not widen it)."""
    import pydicom

    _viewer, s = session_of(study, start=False)

    def check(entry):
        ds = pydicom.dcmread(entry.film_path, stop_before_pixels=True)
        centre, width = float(ds.WindowCenter), float(ds.WindowWidth)
        film = s.film_layer
        assert film.contrast_limits == pytest.approx([centre - width / 2, centre + width / 2])
        lo, hi = film.contrast_limits_range
        assert lo <= float(film.data.min())
        assert hi >= float(film.data.max())
        assert hi - lo > width  # room to widen

    check(s.go_to(next(e for e in s.worklist if e.label == "P001 pre")))
    check(s.next())
    check(s.next())
    s.in_place = False  # the layers replaced, as with several films on the canvas
    check(s.next())


def test_a_switch_onto_a_film_with_fewer_points_shows_them_all(session_of, study):
    """From a film with 36 points to one whose file has 30: the points, the overlay and
    the values are the new film's (napari's view of the layers once held the old count)."""
    from napari_kyphoimg._layers import info

    data = json.loads((study / "P001" / "last.landmarks.json").read_text())
    del data["points"]["T10"]
    (study / "P001" / "last.landmarks.json").write_text(json.dumps(data))
    viewer, s = session_of(study, start=False)
    s.go_to(next(e for e in s.worklist if e.label == "P001 post"))
    assert len(s.landmarks.landmarks_layer.data) == 36
    shown = s.next()
    assert shown.label == "P001 last"
    layer = s.landmarks.landmarks_layer
    assert len(layer.data) == 30
    assert "T10" not in set(layer.features["level"])
    values = [lyr for lyr in viewer.layers if (info(lyr) or {}).get("role") == "values"]
    assert [len(v.data) for v in values] == [5]  # T11-L3: five vertebrae written on the film


def test_a_switch_tells_the_docks_once(session_of, study):
    """``next`` re-reads the film left without a second ``changed`` (a Worklist rebuild)."""
    _viewer, s = session_of(study, start=False)
    s.go_to(s.worklist[0])
    told = []
    s.changed.connect(told.append)
    shown = s.next()
    assert told == [shown]
    s.go_to(s.worklist[len(s.worklist) - 1])
    told.clear()
    assert s.next() is None  # the end: the film stays, its status is told once
    assert told == [s.active]


def test_closing_the_window_closes_the_effort_log_of_the_film_shown(session_of, study, qtbot, gui):
    """The reader places a point, then closes napari: the film's effort log ends ``close``."""
    from kyphoimg.effort import film_effort, read_effort

    viewer, s = session_of(study, rater="AB")
    lw = s.widgets["landmarks"]
    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    layer = lw.start()
    gui.click_at(qtbot, viewer, lw, layer, truth.points["T11"]["ant_sup"])
    log = study / "P001" / "pre.AB.effort.jsonl"
    assert [e["kind"] for e in read_effort(log)] == ["open", "click"]
    # The window's close button sends the window a close event (and napari does not take
    # the layers off first, as viewer.close() does); sent here as it is, so that the
    # fixture can still tear the viewer down.
    from qtpy.QtGui import QCloseEvent
    from qtpy.QtWidgets import QApplication

    QApplication.sendEvent(lw.native.window(), QCloseEvent())
    events = read_effort(log)
    assert [e["kind"] for e in events] == ["open", "click", "close"]
    assert events[-1]["t"] >= events[1]["t"]
    assert film_effort(events)["clicks"] == 1
    viewer.close()  # then napari takes the layers off: the film's log is not closed twice
    assert [e["kind"] for e in read_effort(log)] == ["open", "click", "close"]
    # only this film's log: the films not worked on have none
    assert sorted(p.name for p in study.rglob("*.effort.jsonl")) == ["pre.AB.effort.jsonl"]


def test_a_reader_who_cancels_the_closing_goes_on_logging(
    session_of, study, qtbot, gui, monkeypatch
):
    """The reader closes napari, then cancels napari's confirmation: the log has its
    ``close``, the window stays, and the next click is logged after a new ``open``."""
    from napari._qt.qt_main_window import _QtMainWindow
    from qtpy.QtGui import QCloseEvent
    from qtpy.QtWidgets import QApplication

    from kyphoimg.effort import film_effort, read_effort

    viewer, s = session_of(study, rater="AB")
    lw = s.widgets["landmarks"]
    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    layer = lw.start()
    gui.click_at(qtbot, viewer, lw, layer, truth.points["T11"]["ant_sup"])
    log = study / "P001" / "pre.AB.effort.jsonl"
    # napari's "close the window?" answered Cancel: its close handler ignores the event.
    monkeypatch.setattr(_QtMainWindow, "closeEvent", lambda self, event: event.ignore())
    close = QCloseEvent()
    QApplication.sendEvent(lw.native.window(), close)
    assert not close.isAccepted()
    assert lw.native.window().isVisible()
    assert [e["kind"] for e in read_effort(log)] == ["open", "click", "close"]
    gui.click_at(qtbot, viewer, lw, layer, truth.points["T11"]["mid_sup"])  # the guide's next
    events = read_effort(log)
    assert [e["kind"] for e in events] == ["open", "click", "close", "open", "click"]
    assert events[3]["t"] >= events[2]["t"]
    assert film_effort(events)["clicks"] == 2
    saved = read_landmarks(study / "P001" / "pre.AB.landmarks.json")  # both points kept
    assert sorted(saved.points["T11"]) == ["ant_sup", "mid_sup"]
    monkeypatch.undo()  # now the reader really closes it
    QApplication.sendEvent(lw.native.window(), QCloseEvent())
    assert [e["kind"] for e in read_effort(log)][-1] == "close"


def test_a_switch_redraws_only_the_worklist_cells_that_changed(session_of, study):
    """The film left and the film shown get new cells; every other cell is kept as it was."""
    _viewer, s = session_of(study, rater="AB", start=False)
    ww = s.widgets["worklist"]
    s.go_to(s.worklist[0])
    items = {(r, c): ww.table.item(r, c) for r in range(3) for c in range(3)}
    s.next()
    changed = {k for k, item in items.items() if ww.table.item(*k) is not item}
    assert changed == {(0, 0), (0, 1)}  # P001 pre (left) and P001 post (shown)
    assert ww.table.item(0, 1).font().bold()
    assert not ww.table.item(0, 0).font().bold()
    assert [ww.table.item(0, c).text() for c in range(3)] == ["○ to do"] * 3
    # a status change on disk reaches its cell at the next refresh
    # (AB's own reading: a plain copy of ground_truth's file would be invalid for AB)
    theirs = read_landmarks(study / "P001" / "post.landmarks.json")
    write_landmarks(theirs.replace(rater="AB"), study / "P001" / "post.AB.landmarks.json")
    s.refresh()
    assert ww.table.item(0, 1).text() == "✓ done"
    assert ww.table.item(0, 0).text() == "○ to do"
