"""A study whose landmark files sit in a separate folder (``kyphoimg view --landmarks``,
``[run] landmarks``): damaged files there, and a ``.landmarks.csv`` that cannot be read,
show as invalid films with their reason in the worklist, never as films to do, and
nothing is written.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

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
