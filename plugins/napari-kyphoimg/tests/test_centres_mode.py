"""The centres mode as a reader walks it: one click per vertebral body, then ``A``.

Drives the real napari window under Xvfb (mouse clicks on the canvas, keys) in a reading
session, and checks what is shown, the reader's landmark file and the effort log.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from kyphoimg import read_landmarks
from kyphoimg.effort import read_effort, summarise_effort
from kyphoimg.landmarks import ASSIST_KEY, confirmed, point_sources, unconfirmed

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom"
MAGENTA = [1.0, 0.0, 1.0, 1.0]
SHOTS = Path(os.environ.get("KYPHOIMG_SHOTS", tempfile.gettempdir()))


@pytest.fixture
def study(tmp_path) -> Path:
    """Two patients x pre/post/last with a first reader's (ground_truth) files."""
    root = tmp_path / "study"
    root.mkdir()
    for pid in ("P001", "P002"):
        shutil.copytree(SAMPLE / pid, root / pid)
    return root


def test_one_click_per_vertebra_proposes_its_points_and_a_accepts_them(
    make_napari_viewer_proxy, study, qtbot, gui
):
    from napari_kyphoimg import open_study

    viewer = make_napari_viewer_proxy(show=True)
    viewer.window.resize(1600, 1000)
    s = open_study(viewer, study, rater="AB")
    lw, ww = s.widgets["landmarks"], s.widgets["worklist"]
    assert s.active.label == "P001 pre"
    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    levels = truth.levels
    lw.first_level.value, lw.last_level.value = levels[0], levels[-1]
    lw.index_levels.value = list(truth.index_levels)  # the treated level, as the reader sets it
    lw.centres_mode.value = True
    centres = lw._centres.layer
    assert viewer.layers.selection.active == centres
    assert lw.status.value == f"Centres: click the centre of {levels[0]}'s vertebral body."
    mine = study / "P001" / "pre.AB.landmarks.json"
    states = []  # every state of the reader's file as saved
    lw.saved.connect(lambda path: states.append(read_landmarks(path, validate=False)))
    for i, level in enumerate(levels):
        centre = np.mean(list(truth.points[level].values()), axis=0)
        clicked = gui.click_at(qtbot, viewer, lw, centres, centre)
        np.testing.assert_allclose(clicked, centre, atol=0.1)
        if i == 0:
            assert not mine.exists()  # one centre gives no size: nothing proposed yet
            continue
        on_disk = read_landmarks(mine, validate=False)
        assert on_disk.levels == levels[: i + 1]  # the proposals come as the reader goes
    assert len(centres.data) == len(levels)
    # no state on disk ever held a proposal as the reader's point (not even between the
    # points and the record of a re-proposal)
    assert states
    assert all(confirmed(state) == {} for state in states)
    assert lw.status.value.startswith("Every centre is clicked")
    proposed = read_landmarks(mine, validate=False)
    n = sum(len(p) for p in proposed.points.values())
    assert n == 6 * len(levels) == 36  # 6pt: six points on each of T10-L3
    assert sum(len(v) for v in unconfirmed(proposed).values()) == n
    methods = proposed.extra[ASSIST_KEY]["methods"]
    assert {m for lv in methods.values() for m in lv.values()} == {"centres"}
    errors = np.array(
        [
            np.hypot(*np.subtract(proposed.points[lv][p], truth.points[lv][p]))
            for lv in levels
            for p in truth.points[lv]
        ]
    )
    print(f"proposal error px: median {np.median(errors):.2f}, max {errors.max():.2f}")
    assert np.median(errors) < 3.0, np.round(errors, 1)
    assert errors.max() < 5.0, np.round(errors, 1)
    layer = lw.landmarks_layer
    magenta = np.all(np.isclose(layer.border_color, MAGENTA), axis=1)
    assert magenta.sum() == n  # every proposal drawn as one
    assert s.active.status == "to_review"
    assert ww.table.item(0, 0).text().endswith("to review")
    viewer.reset_view()
    viewer.screenshot(str(SHOTS / "centres_mode.png"), canvas_only=False)  # to look at
    # A on the canvas accepts them as they are: the film is done
    gui.press_key(qtbot, lw, "A")
    after = read_landmarks(mine, validate=False)
    assert unconfirmed(after) == {}
    assert after.points == proposed.points
    # the file still says which method proposed each accepted point
    assert set(point_sources(after).values()) == {"confirmed:centres"}
    assert s.active.status == "complete", s.active.problems
    assert not np.any(np.all(np.isclose(layer.border_color, MAGENTA), axis=1))
    # the effort log beside the reader's file: the clicks, proposals and confirmations
    log = study / "P001" / "pre.AB.effort.jsonl"
    events = read_effort(log)
    clicks = [e for e in events if e["kind"] == "click"]
    assert [e["level"] for e in clicks] == list(levels)
    assert sum(e["n"] for e in events if e["kind"] == "proposed") == n
    accepted = [e for e in events if e["kind"] == "confirmed"]
    assert [(e["n"], e["method"]) for e in accepted] == [(n, "centres")]
    assert events[0]["kind"] == "open"
    # leaving the film closes its log; the summary reads it
    s.next()
    assert read_effort(log)[-1]["kind"] == "close"
    assert s.active.label == "P001 post"  # the mode stays on; its clicks start again
    assert len(lw._centres.layer.data) == 0
    assert lw.status.value == f"Centres: click the centre of {levels[0]}'s vertebral body."
    table = summarise_effort(study)
    row = table.set_index(["film", "rater"]).loc[("P001/pre", "AB")]
    assert (row["clicks"], row["proposed"], row["confirmed"], row["moved"]) == (
        len(levels), n, n, 0
    )  # fmt: skip
    assert row["sessions"] == 1
    # a film only looked at (post, so far) leaves no log
    assert [p.relative_to(study).as_posix() for p in study.rglob("*.effort.jsonl")] == [
        "P001/pre.AB.effort.jsonl"
    ]
    # a click taken back with Ctrl+Z on the centres layer: the same level is asked again
    post = read_landmarks(study / "P001" / "post.landmarks.json")
    gui.click_at(qtbot, viewer, lw, lw._centres.layer, post.points[levels[0]]["ant_sup"])
    assert lw.status.value == f"Centres: click the centre of {levels[1]}'s vertebral body."
    gui.press_key(qtbot, lw, "Z", control=True)
    assert len(lw._centres.layer.data) == 0
    assert lw.status.value == f"Centres: click the centre of {levels[0]}'s vertebral body."


def test_no_effort_log_and_no_centres_on_a_read_only_film(make_napari_viewer_proxy, study):
    from napari_kyphoimg import open_study

    mine = study / "P001" / "pre.AB.landmarks.json"
    mine.write_text("{ not a landmark file", encoding="utf-8")  # unreadable: read-only
    viewer = make_napari_viewer_proxy(show=True)
    s = open_study(viewer, study, rater="AB")
    lw = s.widgets["landmarks"]
    s.go_to(s.worklist[0])
    assert s.active.label == "P001 pre"
    assert s.read_only_reason is not None
    assert lw._effort.recorder.path is None
    lw.centres_mode.value = True  # refused on a read-only film
    assert lw._centres.layer is None
    assert not lw.centres_mode.value
    s.next()  # a film this reader may change: its log opens (written once used)
    assert lw._effort.recorder.path == study / "P001" / "post.AB.effort.jsonl"
    s.previous()
    assert lw._effort.recorder.path is None
    assert list(study.rglob("*.effort.jsonl")) == []
    assert mine.read_text(encoding="utf-8") == "{ not a landmark file"
