"""A reading session on a PACS query, walked as a reader does, against a real Orthanc.

The Orthanc of ``tests/pacs/conftest.py`` (loopback only, basic auth, DICOMweb) is started
with the sample films of two patients; the reader opens the session from the PACS dock,
sees the worklist, places a point with mouse clicks on the fetched film, switches to the
next film (prefetched) and finds the landmark file beside the cached film. Without the
Orthanc binary the tests skip with the install hint.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread

from kyphoimg import read_landmarks
from kyphoimg.study import open_worklist

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "sample_dicom"


@pytest.fixture
def pacs_dock(make_napari_viewer_proxy):
    from napari_kyphoimg._pacs import PacsWidget

    def make(url: str, cache: Path, patients: Path | None = None):
        viewer = make_napari_viewer_proxy(show=True)
        viewer.window.resize(1600, 1000)
        widget = PacsWidget(viewer)
        viewer.window.add_dock_widget(widget, name="PACS session", area="left")
        widget.url.setText(url)
        widget.cache.setText(str(cache))
        widget.rater.setText("AB")
        widget.patients.setText(str(patients or ""))
        widget.surgery.setText(str(SAMPLE / "clinical.csv"))
        return viewer, widget

    return make


def _sample_of(sop: str) -> Path:
    for film in SAMPLE.glob("P*/*.dcm"):
        if str(dcmread(film, stop_before_pixels=True).SOPInstanceUID) == sop:
            return film
    raise AssertionError(sop)


def _films_on_canvas(viewer) -> list[str]:
    return [
        layer.metadata["kyphoimg"]["path"]
        for layer in viewer.layers
        if (layer.metadata.get("kyphoimg") or {}).get("role") == "film"
    ]


def test_reading_session_on_a_pacs_query(orthanc, pacs_dock, tmp_path, qtbot, gui):
    from qtpy.QtCore import Qt

    cache = tmp_path / "cache"
    patients = tmp_path / "patients.txt"
    patients.write_text("P001\n", encoding="utf-8")
    viewer, dock = pacs_dock(orthanc.dicomweb, cache, patients)
    qtbot.mouseClick(dock.open_button, Qt.MouseButton.LeftButton)
    s = dock.session
    assert s is not None, dock.status.text()
    # The worklist is the server's: P001's three films, none of P002's.
    assert len(s.worklist) == 3
    assert {e.patient_id for e in s.worklist} == {"P001"}
    ww, lw = s.widgets["worklist"], s.widgets["landmarks"]
    assert "0 of 3 films" in ww.summary.text()
    # Time points from the surgery dates: the grid shows P001 pre, post, last.
    assert [e.label for e in s.worklist] == ["P001 pre", "P001 post", "P001 last"]
    assert [ww.table.item(0, c).text() for c in range(3)] == ["○ to do"] * 3
    # The first film was fetched into the cache (pacs get's layout) and is on the canvas.
    first = s.active
    assert first.film_path.is_file()
    assert first.film_path.parent.parent.parent == cache / "P001"
    assert _films_on_canvas(viewer) == [str(first.film_path.resolve())]
    assert orthanc.dicomweb in dock.status.text()
    assert "\n" not in dock.status.text()
    # The next film is prefetched in the background: in the cache before the switch.
    second = s.worklist.next(first)
    qtbot.waitUntil(second.film_path.is_file, timeout=60_000)
    assert len(list(cache.rglob("*.dcm"))) == 2
    # Place T11's first corner with a real click where the sample's reader put it.
    truth = read_landmarks(_sample_of(first.sop_instance_uid).with_suffix(".landmarks.json"))
    layer = lw.start()
    gui.click_at(qtbot, viewer, lw, layer, truth.points["T11"]["ant_sup"])
    viewer.screenshot(str(tmp_path / "pacs-session.png"), canvas_only=False)
    saved = read_landmarks(first.landmark_path, validate=False)
    assert first.landmark_path == first.film_path.with_name(
        first.film_path.stem + ".AB.landmarks.json"
    )
    assert saved.rater == "AB"
    assert saved.patient_id == "P001"
    assert saved.image.sop_instance_uid == first.sop_instance_uid
    np.testing.assert_allclose(
        saved.points["T11"]["ant_sup"], truth.points["T11"]["ant_sup"], atol=1e-3
    )
    # Switch to the next film with the dock's button.
    ww.next_button.click()
    assert s.active.film_path == second.film_path
    assert _films_on_canvas(viewer) == [str(second.film_path.resolve())]
    qtbot.waitUntil(s.worklist.next(second).film_path.is_file, timeout=60_000)
    # The cache is a study folder kyphoimg reads: this reader's file beside the cached film.
    local = open_worklist(cache, rater="AB")
    assert [e.status for e in local if e.film_path == first.film_path] == ["incomplete"]
    assert not [p for p in cache.rglob("*") if p.name.startswith(".") and p.is_file()]
    s.close()


def test_failures_are_one_sentence_in_the_dock(orthanc, pacs_dock, tmp_path, qtbot, monkeypatch):
    cache = tmp_path / "cache"
    viewer, dock = pacs_dock(orthanc.dicomweb, cache)
    # Wrong password: 401, the password never shown.
    monkeypatch.setenv("KYPHOIMG_PACS_PASSWORD", "not-the-password")
    assert dock.open() is None
    assert "HTTP 401" in dock.status.text()
    assert "not-the-password" not in dock.status.text()
    monkeypatch.setenv("KYPHOIMG_PACS_PASSWORD", orthanc.password)
    s = dock.open()
    assert s is not None
    first = s.active
    second = s.worklist.next(first)
    qtbot.waitUntil(second.film_path.is_file, timeout=60_000)
    # The server goes down: a film not yet cached cannot be opened; the canvas stays.
    orthanc.stop()
    third = s.worklist.next(second)
    assert not third.film_path.exists()
    assert s.go_to(third) == first
    text = dock.status.text()
    assert "was not fetched" in text
    assert "cannot connect" in text
    assert "\n" not in text
    assert _films_on_canvas(viewer) == [str(first.film_path.resolve())]
    assert not third.film_path.exists()
    assert sorted(p.name for p in cache.rglob("*.dcm")) == sorted(
        p.film_path.name for p in (first, second)
    )
    # The cached film still opens with the server down.
    assert s.go_to(second).film_path == second.film_path
    s.close()
    # Opening a session with the server down: one sentence, nothing written.
    other = tmp_path / "other"
    dock.cache.setText(str(other))
    assert dock.open() is None
    assert "cannot connect" in dock.status.text()
    assert not other.exists()
    assert os.environ["KYPHOIMG_PACS_PASSWORD"] not in dock.status.text()
