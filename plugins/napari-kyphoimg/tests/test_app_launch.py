"""``launch`` (``kyphoimg view``): napari opened with the widgets docked and the inputs loaded.

These tests create napari viewers the way a user's process does (``napari.Viewer``, not
napari's test fixture). napari registers a plugin's commands in its application model on
the first real viewer of a process; a test run that has already created fixture viewers
can hold those commands, and the first real viewer then fails with "already registered"
(seen only in the whole suite, never in a user's process). This file's name sorts first,
so these viewers come before any fixture viewer.
"""

from __future__ import annotations

from pathlib import Path

from napari_kyphoimg._layers import info, landmark_layer_for

from kyphoimg import write_landmarks
from kyphoimg.landmarks import ImageRef


def test_launch_docks_the_widgets_and_opens_files(qtbot, film_file, tmp_path, capsys):
    import napari
    from napari_kyphoimg import launch

    assert launch([str(film_file), str(tmp_path / "missing.dcm")], block=False) == 1
    viewer = napari.current_viewer()
    try:
        assert [layer.name for layer in viewer.layers] == ["P001/pre"]
        assert set(viewer.window.dock_widgets) >= {
            "Landmarks (napari-kyphoimg)",
            "Measurements (napari-kyphoimg)",
        }
        assert "missing.dcm: cannot be opened" in capsys.readouterr().err
    finally:
        viewer.close()


def test_launch_opens_a_landmark_files_film_and_loads_it(qtbot, film_file, truth, tmp_path):
    import napari
    from napari_kyphoimg import launch

    elsewhere = tmp_path / "rater2" / "pre.landmarks.json"
    write_landmarks(
        truth.replace(
            image=ImageRef(path="../P001/pre.dcm", sop_instance_uid=truth.image.sop_instance_uid)
        ),
        elsewhere,
    )
    assert launch([str(elsewhere)], block=False) == 0
    viewer = napari.current_viewer()
    try:
        film = viewer.layers["P001/pre"]
        layer = landmark_layer_for(viewer.layers, film)
        assert len(layer.data) == 36
        assert info(layer, "landmarks")["path"] == str(elsewhere.resolve())
    finally:
        viewer.close()


def _films_on_canvas(viewer) -> list[str]:
    return [
        layer.metadata["kyphoimg"]["path"]
        for layer in viewer.layers
        if (layer.metadata.get("kyphoimg") or {}).get("role") == "film"
    ]


def test_kyphoimg_view_pacs_url_opens_the_session(orthanc, tmp_path, capsys):
    """`kyphoimg view --pacs-url URL --patient-list FILE --rater AB --cache DIR` (launch)."""
    import napari
    from napari_kyphoimg import launch

    patients = tmp_path / "patients.txt"
    patients.write_text("P002\n", encoding="utf-8")
    cache = tmp_path / "cache"
    code = launch(
        pacs_url=orthanc.dicomweb, cache=cache, patients=patients, rater="AB", block=False
    )
    viewer = napari.current_viewer()
    try:
        assert code == 0, capsys.readouterr().err
        assert "PACS session" in viewer.window.dock_widgets
        (film,) = _films_on_canvas(viewer)
        assert Path(film).is_relative_to(cache.resolve() / "P002")
        assert Path(film).is_file()
    finally:
        viewer.close()
    # The server down: exit 1 and one sentence on stderr; nothing in the cache.
    orthanc.stop()
    other = tmp_path / "other"
    code = launch(pacs_url=orthanc.dicomweb, cache=other, rater="AB", block=False)
    viewer = napari.current_viewer()
    try:
        err = capsys.readouterr().err
        assert code == 1
        assert err.startswith("kyphoimg view: ")
        assert "cannot connect" in err
        assert err.count("\n") == 1
        assert not other.exists()
    finally:
        viewer.close()


SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom"


def _launch_study(tmp_path, monkeypatch):
    """``kyphoimg view STUDY --rater ground_truth`` on two sample patients; the session."""
    import shutil

    from napari_kyphoimg import _reading, launch

    root = tmp_path / "study"
    for pid in ("P001", "P002"):
        shutil.copytree(SAMPLE / pid, root / pid)
    made = []
    start = _reading.start_session
    monkeypatch.setattr(
        _reading, "start_session", lambda *a, **k: made.append(start(*a, **k)) or made[-1]
    )
    assert launch([str(root)], rater="ground_truth", block=False) == 0
    return root, made[0]


def test_kyphoimg_view_study_shows_the_first_film_then_every_dock_works(
    qtbot, tmp_path, monkeypatch
):
    """The launch draws the first film first; once the event loop has run every dock is
    there and shows that film: the worklist, its landmarks, its measures, Calibrate."""
    import napari
    from napari_kyphoimg._tables import display_table

    from kyphoimg import read_landmarks
    from kyphoimg.measure import images_table, measures_table

    root, session = _launch_study(tmp_path, monkeypatch)
    viewer = napari.current_viewer()
    try:
        assert session.active.label == "P001 pre"
        assert _films_on_canvas(viewer) == [str((root / "P001" / "pre.dcm").resolve())]
        docks = {"Worklist", "Landmarks", "Measurements", "Calibrate (napari-kyphoimg)"}
        qtbot.waitUntil(lambda: docks <= set(viewer.window.dock_widgets), timeout=10_000)
        mw = session.widgets["measurements"]
        landmarks = read_landmarks(root / "P001" / "pre.landmarks.json")
        expected = display_table(measures_table([landmarks]))
        table = mw.table.to_dataframe()
        assert table.astype(str).values.tolist() == expected.astype(str).values.tolist()
        tlk = float(images_table([landmarks]).iloc[0]["tlk_deg"])
        assert f"TLK {tlk:.1f}°" in mw.angles.value
        assert len(session.widgets["landmarks"].landmarks_layer.data) == 36
        # The docks follow the switch: the next film's numbers, not the first's.
        shown = session.next()
        following = read_landmarks(shown.landmark_path)
        expected = display_table(measures_table([following]))
        table = mw.table.to_dataframe()
        assert table.astype(str).values.tolist() == expected.astype(str).values.tolist()
    finally:
        viewer.close()
