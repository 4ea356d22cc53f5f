"""Manifest wiring: npe2 validation, package data, and napari calling each contribution."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import subprocess
import sys

import pytest

from kyphoimg import read_landmarks, read_radiograph


def test_npe2_validate_with_imports():
    result = subprocess.run(
        [sys.executable, "-m", "npe2", "validate", "--imports", "napari-kyphoimg"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout


def test_manifest_ships_as_package_data_and_declares_every_contribution():
    from npe2 import PluginManifest

    assert importlib.resources.files("napari_kyphoimg").joinpath("napari.yaml").is_file()
    eps = importlib.metadata.entry_points(group="napari.manifest")
    assert any(ep.name == "napari-kyphoimg" for ep in eps)
    pm = PluginManifest.from_distribution("napari-kyphoimg")
    c = pm.contributions
    assert [w.display_name for w in c.widgets] == [
        "Landmarks",
        "Measurements",
        "Calibrate",
        "PACS session",
    ]
    assert [s.key for s in c.sample_data] == ["lateral_spine", "lateral_film"]
    assert c.readers[0].accepts_directories
    assert "*.dcm" in c.readers[0].filename_patterns
    assert c.writers[0].layer_types == ["points"]
    assert c.writers[0].filename_extensions == [".json"]


def test_package_requires_no_qt_binding():
    requires = importlib.metadata.requires("napari-kyphoimg") or []
    base = [r for r in requires if "extra ==" not in r]
    names = {
        r.split(";")[0].split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
        for r in base
    }
    assert {"kyphoimg", "napari", "magicgui", "qtpy"} <= names
    assert not names & {"pyqt5", "pyqt6", "pyside2", "pyside6"}
    assert any('extra == "pyqt6"' in r or "extra == 'pyqt6'" in r for r in requires)


def test_importing_the_package_loads_neither_napari_nor_qt():
    code = (
        "import sys, napari_kyphoimg, napari_kyphoimg._guide, napari_kyphoimg._layerdata, "
        "napari_kyphoimg._tables, napari_kyphoimg._layers, napari_kyphoimg._calibration, "
        "napari_kyphoimg._files, napari_kyphoimg._undo, napari_kyphoimg._reader, "
        "napari_kyphoimg._writer, napari_kyphoimg._sample, napari_kyphoimg._ahead\n"
        "bad = [m for m in ('napari', 'qtpy', 'PyQt6', 'PySide6', 'PyQt5', 'PySide2', 'vispy') "
        "if m in sys.modules]\n"
        "print(bad)\nraise SystemExit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.gui
def test_napari_calls_the_sample_reader_and_writer(make_napari_viewer_proxy, tmp_path, film_file):
    viewer = make_napari_viewer_proxy()
    layers = viewer.open_sample("napari-kyphoimg", "lateral_spine")
    assert [layer.name for layer in layers] == [
        "P001/pre", "P001/pre landmarks", "P001/post", "P001/post landmarks",
        "P001/last", "P001/last landmarks",
    ]  # fmt: skip
    assert tuple(layers[0].scale) == (0.25, 0.25)
    # reader through napari
    opened = viewer.open(str(film_file), plugin="napari-kyphoimg")
    assert opened[0].metadata["kyphoimg"]["path"] == str(film_file.resolve())
    assert opened[0].colormap.name == "gray_r"  # MONOCHROME1
    (c, w, _), *_ = read_radiograph(film_file).voi.windows
    assert list(opened[0].contrast_limits) == [c - w / 2, c + w / 2]
    # a file the reader cannot read: napari is told (None), nothing is added
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    n = len(viewer.layers)
    with pytest.raises(ValueError, match="napari-kyphoimg"):
        viewer.open(str(text), plugin="napari-kyphoimg")
    assert len(viewer.layers) == n
    # writer through napari's save
    out = tmp_path / "saved.landmarks.json"
    written = layers[1].save(str(out), plugin="napari-kyphoimg")
    assert written == [str(out)]
    saved = read_landmarks(out)
    assert saved.patient_id == "P001"
    assert saved.timepoint == "pre"
    assert len([p for lv in saved.points.values() for p in lv]) == 36


@pytest.mark.gui
@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("napari_kyphoimg._landmarks_widget", "LandmarksWidget"),
        ("napari_kyphoimg._measurements_widget", "MeasurementsWidget"),
        ("napari_kyphoimg._calibrate_widget", "CalibrateWidget"),
    ],
)
def test_widget_annotations_resolve_at_run_time(module, name):
    import importlib
    import typing

    import napari.viewer

    cls = getattr(importlib.import_module(module), name)
    hints = typing.get_type_hints(cls.__init__)
    assert hints["viewer"] is napari.viewer.Viewer
