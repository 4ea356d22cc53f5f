"""Fixtures of the plugin tests: generated films written as DICOM, and napari settings.

Tests run under a real X server (Xvfb) with a GL context; the GUI tests are marked
``gui`` and skipped when napari or a Qt binding is missing.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from napari_kyphoimg._sample import sample_films
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from kyphoimg import LandmarkSet
from kyphoimg.sample import render_lateral

CR_IMAGE = "1.2.840.10008.5.1.4.1.1.1"


def _gui_missing() -> str | None:
    if importlib.util.find_spec("napari") is None:
        return "napari is not installed"
    if not any(importlib.util.find_spec(b) for b in ("PyQt6", "PySide6", "PyQt5", "PySide2")):
        return "no Qt binding is installed"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The core suite runs without napari or Qt; GUI tests then skip with the reason.
    reason = _gui_missing()
    if reason is None:
        return
    for item in items:
        if item.get_closest_marker("gui") is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


def film_dataset(
    ls: LandmarkSet,
    *,
    sop_instance_uid: str,
    photometric: str = "MONOCHROME2",
    spacing_tags: dict | None = None,
    window: tuple[float, float] | None = (2048.0, 4096.0),
    seed: int = 0,
) -> Dataset:
    """A CR dataset holding a film of ``ls`` drawn by kyphoimg.sample (12-bit, bone bright)."""
    values = render_lateral(ls, seed=seed, marker=None).astype(np.uint16)
    if photometric == "MONOCHROME1":
        values = 4095 - values
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CR_IMAGE
    ds.file_meta.MediaStorageSOPInstanceUID = sop_instance_uid
    ds.SOPClassUID = CR_IMAGE
    ds.SOPInstanceUID = sop_instance_uid
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    ds.PatientID = ls.patient_id or "P001"
    ds.StudyDate = "20240110"
    ds.Modality, ds.ViewPosition, ds.BodyPartExamined = "CR", "LL", "LSPINE"
    ds.Rows, ds.Columns = values.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    tags = {"ImagerPixelSpacing": [0.25, 0.25]} if spacing_tags is None else spacing_tags
    for key, value in tags.items():
        setattr(ds, key, value)
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    ds.PixelData = values.tobytes()
    return ds


def write_film(path: Path, ls: LandmarkSet, **kwargs) -> Path:
    """Write a generated film of ``ls`` as a DICOM file and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    film_dataset(ls, **kwargs).save_as(path, enforce_file_format=True)
    return path


@pytest.fixture(name="write_film")
def write_film_fixture():
    """:func:`write_film`: write a generated film of a landmark set as DICOM."""
    return write_film


@pytest.fixture(name="film_dataset")
def film_dataset_fixture():
    """:func:`film_dataset`: a generated film of a landmark set as a pydicom dataset."""
    return film_dataset


@pytest.fixture(scope="session")
def sample_set(tmp_path_factory):
    """The sample patient's generated films (kyphoimg.sample): DICOM + truth files."""
    return sample_films(folder=tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="session")
def phantoms(sample_set):
    """The sample patient's ground truth (landmarks + truth) per time point."""
    return {film.timepoint: film.phantom for film in sample_set}


@pytest.fixture
def truth(phantoms) -> LandmarkSet:
    """Ground-truth landmarks of the pre-operative sample film (T10-L3, index L1)."""
    return phantoms["pre"].landmarks


@pytest.fixture
def film_file(tmp_path, sample_set) -> Path:
    """The pre-operative sample film (CR, MONOCHROME1, JPEG 2000, Imager Pixel Spacing
    0.25 mm: detector plane) copied alone, without its landmark file."""
    path = tmp_path / "P001" / "pre.dcm"
    path.parent.mkdir(parents=True)
    shutil.copyfile(sample_set[0].dicom_path, path)
    return path


# ----------------------------------------------------------------------------- GUI helpers
@pytest.fixture
def kyphoimg_viewer(make_napari_viewer_proxy):
    """A shown viewer (Xvfb) with the three kyphoimg widgets docked.

    Returns ``(viewer, widgets)`` with widgets keyed ``Landmarks``, ``Measurements``,
    ``Calibrate``.
    """
    viewer = make_napari_viewer_proxy(show=True)
    viewer.window.resize(1400, 900)
    widgets = {}
    for name in ("Landmarks", "Measurements", "Calibrate"):
        _, widgets[name] = viewer.window.add_plugin_dock_widget(
            "napari-kyphoimg", name, tabify=name == "Calibrate"
        )
    return viewer, widgets


def canvas_of(widget):
    """The vispy canvas (a Qt widget) of the window a docked widget lives in."""
    from qtpy.QtWidgets import QWidget

    window = widget.native.window()
    found = [w for w in window.findChildren(QWidget) if type(w).__name__ == "CanvasBackendDesktop"]
    assert len(found) == 1, found
    return found[0]


def click_at(qtbot, viewer, widget, layer, rc, *, zoom: float = 16.0):
    """Left-click the canvas where a layer's data point ``(row, col)`` is shown.

    The camera is placed so that the point falls exactly on the canvas pixel clicked
    (the one nearest the centre).

    Returns
    -------
    ndarray
        The data coordinates of the clicked pixel, by the camera's mapping.
    """
    from qtpy.QtCore import QPoint, Qt

    canvas = canvas_of(widget)
    scale = np.asarray(layer.scale[-2:], dtype=float)
    qtbot.wait(30)  # let a dock that just changed size settle: the canvas size is read next
    w, h = canvas.width(), canvas.height()
    pos = QPoint(w // 2, h // 2)
    offset = np.array([pos.y() - h / 2, pos.x() - w / 2]) / zoom  # world units
    viewer.scene.camera.zoom = zoom
    viewer.scene.camera.center = tuple(np.asarray(rc, dtype=float) * scale - offset)
    qtbot.wait(30)
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.wait(10)
    return (np.asarray(viewer.scene.camera.center[-2:]) + offset) / scale


def press_key(qtbot, widget, key: str, *, shift: bool = False, control: bool = False):
    """Press a key on the canvas, as a user would."""
    from qtpy.QtCore import Qt

    mods = Qt.KeyboardModifier.NoModifier
    if shift:
        mods |= Qt.KeyboardModifier.ShiftModifier
    if control:
        mods |= Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(canvas_of(widget), getattr(Qt.Key, f"Key_{key}"), mods)


@pytest.fixture(name="gui")
def gui_helpers():
    """GUI helper functions: ``canvas_of``, ``click_at``, ``press_key``."""
    from types import SimpleNamespace

    return SimpleNamespace(canvas_of=canvas_of, click_at=click_at, press_key=press_key)


# -- a real PACS (the Orthanc of tests/pacs/conftest.py) ---------------------------------
_ROOT = Path(__file__).resolve().parents[3]


def _fixture_module():
    spec = importlib.util.spec_from_file_location(
        "_kyphoimg_orthanc", _ROOT / "tests/pacs/conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)  # skips (install hint) without Orthanc or the pacs extra
    return module


@pytest.fixture
def orthanc(tmp_path, monkeypatch):
    """A running Orthanc holding P001's and P002's films; credentials in the environment."""
    fx = _fixture_module()
    server = fx.make_orthanc(tmp_path / "orthanc")
    server.start()
    try:
        for film in sorted((_ROOT / "sample_dicom").glob("P00[12]/*.dcm")):
            server.upload(film)
        monkeypatch.setenv("KYPHOIMG_PACS_USER", server.user)
        monkeypatch.setenv("KYPHOIMG_PACS_PASSWORD", server.password)
        monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
        yield server
    finally:
        server.stop()
