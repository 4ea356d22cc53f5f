"""A study whose landmark files sit in a separate folder (``kyphoimg view --landmarks``,
``[run] landmarks``): damaged files there, and a ``.landmarks.csv`` that cannot be read,
show as invalid films with their reason in the worklist, never as films to do, and
nothing is written.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from kyphoimg import read_landmarks, write_landmarks

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom"


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_unreadable_files_in_a_landmarks_folder_show_as_invalid_in_the_worklist(
    make_napari_viewer_proxy, tmp_path
):
    from napari_kyphoimg import open_study

    study, lm = tmp_path / "study", tmp_path / "landmarks"
    for pid in ("P001", "P002"):
        shutil.copytree(SAMPLE / pid, study / pid, ignore=shutil.ignore_patterns("*.json"))
        for tp in ("pre", "post", "last"):
            truth = read_landmarks(SAMPLE / pid / f"{tp}.landmarks.json")
            write_landmarks(truth.replace(rater="AB"), lm / pid / f"{tp}.AB.landmarks.json")
    gone = lm / "P001" / "pre.AB.landmarks.json"
    gone.write_bytes(b'{"schema": "kyphoimg-landmarks/1", "pat')  # names no film, no rater
    (lm / "P002" / "post.AB.landmarks.json").unlink()
    sheet = lm / "P002" / "post.AB.landmarks.csv"
    sheet.write_bytes(b"\xff\xfe\x00")
    before = _digest(tmp_path)
    viewer = make_napari_viewer_proxy(show=True)
    viewer.window.resize(1600, 1000)
    s = open_study(viewer, study, rater="AB", landmarks_dir=lm)
    ww = s.widgets["worklist"]
    rows = {e.label: (i, e) for i, e in enumerate(s.worklist)}
    cells = {e.film_path: rc for rc, e in ww._cells.items()}
    for label, path in (("P001 pre", gone), ("P002 post", sheet)):
        _, entry = rows[label]
        assert entry.status == "invalid"
        assert entry.landmark_path == path
        assert ww.table.item(*cells[entry.film_path]).text() == "⚠ invalid"
    assert s.worklist.counts()["not_started"] == 0
    assert s.worklist.counts()["complete"] == 4
    s.go_to(s.worklist[rows["P002 post"][0]])
    assert str(sheet) in ww.active_label.text()
    s.widgets["landmarks"].save()
    assert _digest(tmp_path) == before


def test_a_new_reading_placed_by_click_goes_to_the_landmarks_folder_and_is_found_again(
    make_napari_viewer_proxy, tmp_path, qtbot, gui
):
    """``kyphoimg view STUDY --landmarks LM --rater AB`` on a film nobody has read: the first
    click writes ``LM/<patient>/<film>.AB.landmarks.json`` (never beside the film, where the
    next worklist would not look); reopening the study and ``kyphoimg run --landmarks`` find it."""
    from napari_kyphoimg import open_study

    from kyphoimg.cli import main

    study, lm = tmp_path / "study", tmp_path / "landmarks"
    shutil.copytree(SAMPLE / "P001", study / "P001", ignore=shutil.ignore_patterns("*.json"))
    truth = read_landmarks(SAMPLE / "P001" / "pre.landmarks.json")
    films_before = _digest(study)
    viewer = make_napari_viewer_proxy(show=True)
    s = open_study(viewer, study, rater="AB", landmarks_dir=lm)
    assert s.active.label == "P001 pre"
    assert s.active.status == "not_started"
    lw = s.widgets["landmarks"]
    layer = lw.start()
    level, name = lw.target  # the first point the guide asks for
    gui.click_at(qtbot, viewer, lw, layer, truth.points[level][name])
    assert len(layer.data) == 1
    written = lm / "P001" / "pre.AB.landmarks.json"
    saved = read_landmarks(written, validate=False)
    assert {lv: list(p) for lv, p in saved.points.items()} == {level: [name]}
    np.testing.assert_allclose(saved.points[level][name], truth.points[level][name], atol=1)
    assert _digest(study) == films_before  # nothing written beside the films
    assert (lm / "P001" / "pre.AB.effort.jsonl").is_file()  # the effort log beside it
    viewer.layers.clear()
    again = open_study(viewer, study, rater="AB", landmarks_dir=lm, dock=False, start=False)
    entry = next(e for e in again.worklist if e.label == "P001 pre")
    assert entry.landmark_path == written
    assert entry.status == "incomplete"
    out = tmp_path / "run"
    main(["run", str(study), "--landmarks", str(lm), "--rater", "AB", "-o", str(out)])
    films = (out / "films.csv").read_text(encoding="utf-8")
    row = next(line for line in films.splitlines() if "pre.dcm" in line)
    assert "incomplete" in row
