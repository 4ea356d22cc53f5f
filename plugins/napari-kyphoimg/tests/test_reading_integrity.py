"""Issue 17 as the reader walks it: a reader's work is never lost, overwritten or mistaken.

Each scenario drives the real napari window under Xvfb (clicks on the canvas, buttons,
keys, dialogs) and checks what the docks show and what is on disk: the SHA-256 of every
file the reader did not change stays equal.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from kyphoimg import read_landmarks, write_landmarks

Qt = pytest.importorskip("qtpy.QtCore").Qt

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom"
SHOTS = Path(os.environ.get("KYPHOIMG_SHOTS", tempfile.gettempdir()))


@pytest.fixture
def study(tmp_path) -> Path:
    """Three patients x pre/post/last with a first reader's (ground_truth) files."""
    root = tmp_path / "study"
    root.mkdir()
    for pid in ("P001", "P002", "P003"):
        shutil.copytree(SAMPLE / pid, root / pid)
    return root


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def session_of(make_napari_viewer_proxy):
    from napari_kyphoimg import open_study

    def make(root: Path, **options):
        viewer = make_napari_viewer_proxy(show=True)
        viewer.window.resize(1600, 1000)
        return viewer, open_study(viewer, root, **options)

    return make


def _answer_next_dialog(qtbot, *, text: str | None = None, accept: bool = True) -> None:
    """Answer the next modal dialog as a user would: type ``text``, then Enter or Escape."""
    from qtpy.QtCore import Qt, QTimer
    from qtpy.QtWidgets import QApplication, QInputDialog, QMessageBox

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, answer)
            return
        if isinstance(dialog, QInputDialog) and text is not None:
            qtbot.keyClicks(dialog.findChildren(type(dialog.focusWidget()))[0], text)
        if isinstance(dialog, QMessageBox):
            button = dialog.button(
                QMessageBox.StandardButton.Yes if accept else QMessageBox.StandardButton.No
            )
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
            return
        qtbot.keyClick(dialog, Qt.Key.Key_Return if accept else Qt.Key.Key_Escape)

    QTimer.singleShot(50, answer)


def _damage(kind: str, raw: bytes) -> bytes:
    if kind == "truncated":
        return raw[: len(raw) * 2 // 3]
    if kind == "null":
        data = json.loads(raw)
        data["points"]["T11"]["ant_sup"] = None
        return json.dumps(data, indent=2).encode()
    assert kind == "not_utf8"
    return raw.replace(b'"rater": "AB"', b'"rater": "AB", "note": "\xe9t\xff"', 1)


# -- 1. an unreadable file opens read-only; Repair… keeps a backup and carries points -------
@pytest.mark.parametrize("kind", ["truncated", "null", "not_utf8"])
def test_an_unreadable_landmark_file_is_never_written_until_repaired(
    session_of, study, qtbot, gui, kind
):
    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    mine = study / "P001" / "pre.AB.landmarks.json"
    write_landmarks(truth.replace(rater="AB"), mine)
    mine.write_bytes(_damage(kind, mine.read_bytes()))
    damaged = mine.read_bytes()
    before = _digest(study)
    viewer, s = session_of(study, rater="AB")
    lw, ww = s.widgets["landmarks"], s.widgets["worklist"]
    s.go_to(s.worklist[0])
    assert s.active.label.startswith("P001")
    # Shown as invalid with its reason, never "to do".
    assert s.active.status == "invalid"
    assert ww.table.item(0, 0).text() == "⚠ invalid"
    assert "cannot be read" in ww.active_label.text()
    assert "read-only" in lw.status.value
    assert not lw.start_button.enabled
    assert not ww.repair_button.isHidden()
    # Clicks on the canvas and on the disabled button write nothing.
    film = s.film_layer
    gui.click_at(qtbot, viewer, lw, film, truth.points["T11"]["ant_sup"])
    qtbot.mouseClick(lw.start_button.native, Qt.MouseButton.LeftButton)
    assert lw.landmarks_layer is None
    lw.save()
    assert _digest(study) == before
    # Repair…: asked first, then the original kept beside it and the points carried over.
    _answer_next_dialog(qtbot, accept=True)
    qtbot.mouseClick(ww.repair_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Repaired" in ww.active_label.text(), timeout=5000)
    backups = list((study / "P001").glob("pre.AB.landmarks.json.bak-*"))
    assert len(backups) == 1
    assert backups[0].read_bytes() == damaged  # the untouched original
    repaired = read_landmarks(mine, validate=False)
    carried = sum(len(p) for p in repaired.points.values())
    assert carried >= 30
    assert f"{carried} point(s) carried over" in ww.active_label.text()
    assert backups[0].name in ww.active_label.text()
    if kind == "null":
        assert "ant_sup" not in repaired.points["T11"]  # the null coordinate was dropped
    # Reading continues: the film is writable and shows the carried points.
    assert lw.start_button.enabled
    assert len(lw.landmarks_layer.data) == carried
    after = _digest(study)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {"P001/pre.AB.landmarks.json", str(backups[0].relative_to(study))}


# -- 1b. a readable file at the reader's name that is another rater's: read-only, said why --
def test_a_copy_of_another_raters_file_at_the_readers_name_is_shown_read_only(
    session_of, study, qtbot, gui
):
    """A new user copies the first reader's file to AB's name; it still says ground_truth.

    Before, AB's worklist took the film's status from the copy (done) and the points
    were AB's to edit, though every save of them would be refused as another rater's.
    """
    first = study / "P001" / "pre.landmarks.json"
    mine = study / "P001" / "pre.AB.landmarks.json"
    shutil.copyfile(first, mine)
    truth = read_landmarks(first)
    before = _digest(study)
    viewer, s = session_of(study, rater="AB")
    lw, ww = s.widgets["landmarks"], s.widgets["worklist"]
    s.go_to(s.worklist[0])
    assert s.active.label.startswith("P001")
    assert s.active.status == "invalid"
    assert ww.table.item(0, 0).text() == "⚠ invalid"
    said = ww.active_label.text()
    assert "named for rater AB" in said
    assert 'set "rater" to "AB"' in said
    assert "read-only" in lw.status.value
    assert not lw.start_button.enabled
    assert ww.repair_button.isHidden()  # it can be read: nothing to repair, a name to fix
    # The points are shown as they are; clicks, keys and a save write nothing.
    assert len(lw.landmarks_layer.data) == 36
    assert not lw.landmarks_layer.editable
    assert lw.guide.value.startswith("Read-only")  # not "drag to adjust"
    assert lw.progress.value == "36 of 36 points in the file"
    film = s.film_layer
    gui.click_at(qtbot, viewer, lw, film, truth.points["T11"]["ant_sup"])
    gui.click_at(qtbot, viewer, lw, film, (50.0, 50.0))
    viewer.layers.selection.active = lw.landmarks_layer
    gui.press_key(qtbot, lw, "A")
    lw.save()
    s.go_to(s.worklist[1])
    assert _digest(study) == before
    assert not list((study / "P001").glob("*.conflict-*"))
    # The reader does what the sentence says (the points are AB's): the film is theirs.
    write_landmarks(truth.replace(rater="AB"), mine)
    s.go_to(s.worklist[0])
    assert s.active.status == "complete"
    assert ww.table.item(0, 0).text() == "✓ done"
    assert "read-only" not in lw.status.value
    assert lw.landmarks_layer.editable
    assert lw.guide.value.startswith("All 36 points placed")


def _worklist_dock():
    """The Worklist dock of the viewer window opened last."""
    from napari_kyphoimg._worklist_widget import WorklistWidget
    from qtpy.QtWidgets import QApplication

    found = [w for top in QApplication.topLevelWidgets() for w in top.findChildren(WorklistWidget)]
    assert found
    return found[-1]


# -- 2. proposals are not readings ------------------------------------------------------
def test_proposals_are_to_review_until_the_reader_confirms_them(session_of, study, qtbot, gui):
    from kyphoimg.landmarks import unconfirmed_levels

    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    write_landmarks(truth.replace(rater="AB"), study / "P001" / "pre.AB.landmarks.json")
    before = _digest(study)
    viewer, s = session_of(study, rater="AB")
    lw, ww = s.widgets["landmarks"], s.widgets["worklist"]
    assert s.active.label == "P001 post"
    qtbot.mouseClick(ww.propose_button, Qt.MouseButton.LeftButton)
    post = study / "P001" / "post.AB.landmarks.json"
    assert len(unconfirmed_levels(read_landmarks(post, validate=False))) == 6
    # The worklist says so: not done, to review.
    assert s.active.status == "to_review"
    assert ww.table.item(0, 1).text() == "◇ to review"
    assert "to review" in ww.summary.text()
    # Next to do stops there (it skips only films done).
    s.go_to(s.worklist[0])
    qtbot.mouseClick(ww.next_todo_button, Qt.MouseButton.LeftButton)
    assert s.active.label == "P001 post"
    # A with every point placed accepts every proposal: the film is done.
    viewer.layers.selection.active = lw.landmarks_layer
    gui.press_key(qtbot, lw, "A")
    assert unconfirmed_levels(read_landmarks(post, validate=False)) == ()
    s.refresh()
    assert s.active.status == "complete"
    assert ww.table.item(0, 1).text() == "✓ done"
    after = _digest(study)
    assert {k for k in after if after[k] != before.get(k)} == {
        "P001/post.AB.landmarks.json",
        "P001/post.AB.effort.jsonl",  # the reader's effort log
    }


# -- 3. a reader's file is theirs --------------------------------------------------------
def test_view_without_rater_asks_who_reads_and_a_second_reader_gets_their_own_file(
    make_napari_viewer_proxy, study, qtbot, gui
):
    from napari_kyphoimg._launch import _open_study

    before = _digest(study)
    # Dismissed: the study opens read-only, nothing can be written.
    viewer = make_napari_viewer_proxy(show=True)
    viewer.window.resize(1600, 1000)
    _answer_next_dialog(qtbot, accept=False)
    assert _open_study(viewer, study, None, None) == 0
    ww = _worklist_dock()
    lw = ww.session.widgets["landmarks"]
    assert ww.session.read_only
    assert ww.session.rater is None
    assert not lw.start_button.enabled
    assert "read-only" in lw.status.value
    layer = lw.landmarks_layer  # the single-reader file is shown, but cannot change
    assert layer is not None
    assert not layer.editable
    lw.save()
    assert _digest(study) == before
    viewer.close()
    # Reader B names themself: their own file, the first reader's stays as it was.
    viewer = make_napari_viewer_proxy(show=True)
    viewer.window.resize(1600, 1000)
    _answer_next_dialog(qtbot, text="B")
    assert _open_study(viewer, study, None, None) == 0
    ww = _worklist_dock()
    s, lw = ww.session, ww.session.widgets["landmarks"]
    assert s.rater == "B"
    assert not s.read_only
    assert not lw.rater.enabled  # the reader is the session's, not a text to type
    assert s.active.label == "P001 pre"
    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    qtbot.mouseClick(lw.start_button.native, Qt.MouseButton.LeftButton)
    gui.click_at(qtbot, viewer, lw, lw.landmarks_layer, truth.points["T11"]["ant_sup"])
    theirs = read_landmarks(study / "P001" / "pre.B.landmarks.json", validate=False)
    assert theirs.rater == "B"
    assert len(theirs.points["T11"]) == 1
    after = _digest(study)
    assert {k for k in after if after[k] != before.get(k)} == {
        "P001/pre.B.landmarks.json",
        "P001/pre.B.effort.jsonl",  # the reader's effort log
    }


# -- 4. no lost update ---------------------------------------------------------------------
def test_a_file_changed_on_disk_after_loading_is_not_overwritten(session_of, study, qtbot, gui):
    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    mine = study / "P001" / "pre.AB.landmarks.json"
    write_landmarks(truth.replace(rater="AB", points={"T11": truth.points["T11"]}), mine)
    viewer, s = session_of(study, rater="AB")
    s.go_to(s.worklist[0])
    lw = s.widgets["landmarks"]
    assert len(lw.landmarks_layer.data) == 6
    # Another session of the same reader saves the file meanwhile (one more vertebra).
    other = read_landmarks(mine, validate=False)
    write_landmarks(other.replace(points={**other.points, "T12": truth.points["T12"]}), mine)
    theirs = mine.read_bytes()
    before = _digest(study)
    # This session places a point: nothing is overwritten, its version goes beside.
    layer = lw.start()
    gui.click_at(qtbot, viewer, lw, layer, truth.points["T12"]["ant_sup"])
    assert mine.read_bytes() == theirs
    beside = sorted((study / "P001").glob("pre.AB.landmarks.json.conflict-*"))
    assert len(beside) == 1
    assert beside[0].name.endswith(".AB")
    assert "Not saved over the file" in lw.status.value
    assert beside[0].name in lw.status.value
    mine_now = read_landmarks(beside[0], validate=False)
    assert set(mine_now.points) == {"T11", "T12"}
    assert len(mine_now.points["T12"]) == 1
    # Further changes go to the same file beside, not over the other session's.
    gui.click_at(qtbot, viewer, lw, layer, truth.points["T12"]["mid_sup"])
    assert mine.read_bytes() == theirs
    assert len(list((study / "P001").glob("pre.AB.landmarks.json.conflict-*"))) == 1
    assert len(read_landmarks(beside[0], validate=False).points["T12"]) == 2
    after = _digest(study)
    assert {k for k in after if after[k] != before.get(k)} == {
        str(beside[0].relative_to(study)),
        "P001/pre.AB.effort.jsonl",  # the reader's effort log
    }


def test_two_sessions_on_one_film_the_second_save_goes_beside(session_of, study, qtbot, gui):
    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    mine = study / "P001" / "pre.AB.landmarks.json"
    write_landmarks(truth.replace(rater="AB", points={"T11": truth.points["T11"]}), mine)
    v1, s1 = session_of(study, rater="AB")
    v2, s2 = session_of(study, rater="AB")
    for s in (s1, s2):
        s.go_to(s.worklist[0])
    lw1, lw2 = s1.widgets["landmarks"], s2.widgets["landmarks"]
    gui.click_at(qtbot, v1, lw1, lw1.start(), truth.points["T12"]["ant_sup"])
    assert lw1.status.value.startswith("Saved pre.AB.landmarks.json")
    first = mine.read_bytes()
    gui.click_at(qtbot, v2, lw2, lw2.start(), truth.points["T12"]["ant_sup"])
    assert mine.read_bytes() == first  # the first session's save stays
    assert "Not saved over the file" in lw2.status.value
    assert len(list((study / "P001").glob("pre.AB.landmarks.json.conflict-*"))) == 1


# -- 5. nothing shown belongs to another film ---------------------------------------------
def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", text)]


def test_every_number_in_the_measurements_dock_is_the_film_on_the_canvas(session_of, study):
    from napari_kyphoimg._tables import display_table

    from kyphoimg.measure import images_table, measures_table

    # P002 last has no file for this reader: its dock must show no number at all.
    (study / "P002" / "last.landmarks.json").unlink()
    _, s = session_of(study, start=False)  # the single-reader files
    mw = s.widgets["measurements"]
    shown = []
    for label in ("P001 pre", "P002 last", "P001 post", "P003 last"):
        entry = s.go_to(next(e for e in s.worklist if e.label == label))
        table = mw.table.to_dataframe()
        angles = mw.angles.value
        shown.append(angles)
        if entry.landmarks is None:
            assert table.empty
            assert angles == ""
            assert mw.notes.value == ""
            continue
        ls = entry.landmarks
        expected = display_table(measures_table([ls]))
        assert list(table.columns) == list(expected.columns)
        assert table.astype(str).values.tolist() == expected.astype(str).values.tolist()
        row = images_table([ls]).iloc[0]
        assert f"TLK {float(row['tlk_deg']):.1f}°" in angles
        assert _numbers(angles)[0] == pytest.approx(float(row["tlk_deg"]), abs=0.05)
    assert len(set(shown)) == len(shown)  # four films, four different lines (one empty)


# -- 6. films without time points: date and series shown, pre/post/last assigned ----------
def test_a_pacs_export_without_time_points_is_assigned_in_the_worklist(session_of, tmp_path, qtbot):
    root = tmp_path / "pacs"
    for k, tp in enumerate(("pre", "post", "last"), start=1):
        target = root / "PAT0001" / "ST_20240313" / f"SER0000{k}" / "IM000001"
        target.parent.mkdir(parents=True)
        shutil.copy(SAMPLE / "P001" / f"{tp}.dcm", target)
    before = _digest(root)
    _, s = session_of(root, rater="AB")
    ww = s.widgets["worklist"]
    assert all(e.timepoint is None for e in s.worklist)
    assert not ww.undated.isHidden()
    assert ww.undated.rowCount() == 3
    films = [ww.undated.item(r, 0).text() for r in range(3)]
    assert all(f.endswith("IM000001") for f in films)
    # Each film with its acquisition date and series: the reader can tell them apart.
    dates = sorted(ww.undated.item(r, 1).text() for r in range(3))
    assert dates == ["2024-03-10", "2024-03-13", "2025-05-12"]
    assert {ww.undated.item(r, 2).text() for r in range(3)} == {"XR THORACOLUMBAR SPINE LAT"}
    # Choose "post" for the second film with the keyboard, as a reader would.
    row = [ww.undated.item(r, 1).text() for r in range(3)].index("2024-03-13")
    combo = ww.undated.cellWidget(row, 4)
    target = ww._undated[row]
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    written = s.worklist[s.worklist.position(target)]
    assert written.timepoint == "post"
    mine = written.landmark_path
    assert mine.name == "IM000001.AB.landmarks.json"
    assert read_landmarks(mine, validate=False).timepoint == "post"
    assert ww.undated.rowCount() == 2  # the assigned film moved into the table
    after = _digest(root)
    assert {k for k in after if after[k] != before.get(k)} == {str(mine.relative_to(root))}


# -- 7. layout: no overlap, no cut text ------------------------------------------------
def _leaves(widget):
    from qtpy.QtWidgets import QAbstractScrollArea, QLabel, QWidget

    out = []
    for child in widget.findChildren(QWidget):
        if not child.isVisible() or child.width() <= 1 or child.height() <= 1:
            continue
        if isinstance(child.parent(), QAbstractScrollArea) or any(
            isinstance(a, QAbstractScrollArea) for a in _ancestors(child, widget)
        ):
            continue  # inside a table or list: its own viewport
        kids = [c for c in child.findChildren(QWidget) if c.isVisible()]
        if not kids or isinstance(child, QLabel | QAbstractScrollArea):
            out.append(child)
    return out


def _ancestors(child, top):
    p = child.parent()
    while p is not None and p is not top:
        yield p
        p = p.parent()


@pytest.mark.parametrize("size", [(1366, 768), (1600, 1000)])
def test_docks_have_no_overlapping_controls_and_no_cut_text(session_of, study, qtbot, size):
    from qtpy.QtCore import QRect
    from qtpy.QtGui import QFontMetrics
    from qtpy.QtWidgets import QAbstractButton, QLabel

    viewer, s = session_of(study, rater="AB")
    viewer.window.resize(*size)
    window = s.widgets["worklist"].window()
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size)
    qtbot.waitUntil(lambda: all(getattr(d, "native", d).isVisible() for d in s.widgets.values()))
    qtbot.wait(200)
    s.widgets["worklist"].window().grab().save(str(SHOTS / f"docks_{size[0]}x{size[1]}.png"))
    problems = []
    for name, dock in s.widgets.items():
        root = getattr(dock, "native", dock)
        leaves = _leaves(root)
        assert len(leaves) >= 5, name
        rects = [(w, QRect(w.mapToGlobal(w.rect().topLeft()), w.size())) for w in leaves]
        for i, (a, ra) in enumerate(rects):
            for b, rb in rects[i + 1 :]:
                if a.isAncestorOf(b) or b.isAncestorOf(a):
                    continue
                inter = ra.intersected(rb)
                if inter.width() > 1 and inter.height() > 1:
                    problems.append(f"{name}: {_name(a)} overlaps {_name(b)}")
        for w in leaves:
            if isinstance(w, QLabel) and not w.wordWrap() and w.text():
                plain = re.sub(r"<[^>]+>", "", w.text())
                if QFontMetrics(w.font()).horizontalAdvance(plain) > w.contentsRect().width():
                    problems.append(f"{name}: label {plain!r} is cut")
            if isinstance(w, QAbstractButton) and w.text():
                need = QFontMetrics(w.font()).horizontalAdvance(w.text())
                if need > w.width():
                    problems.append(f"{name}: button {w.text()!r} is cut")
    assert problems == []


def _name(w) -> str:
    text = getattr(w, "text", lambda: "")()
    return f"{type(w).__name__}({text!r})" if isinstance(text, str) else type(w).__name__


def test_films_are_shown_with_their_points_after_each_switch(session_of, study):
    """The layers are updated in place on a switch: the points are the file's."""
    _, s = session_of(study, start=False)
    lw = s.widgets["landmarks"]
    for e in list(s.worklist)[:4]:
        s.go_to(e)
        truth = read_landmarks(e.landmark_path, validate=False)
        n = sum(len(p) for p in truth.points.values())
        assert len(lw.landmarks_layer.data) == n
        np.testing.assert_allclose(
            np.sort(np.asarray(lw.landmarks_layer.data)[:, -2:], axis=0),
            np.sort(np.array([xy for p in truth.points.values() for xy in p.values()]), axis=0),
        )
