"""Write the README screenshots of the napari plugin to docs/images/*.png.

Each screenshot is the whole napari window with the kyphoimg widgets in use on the
generated sample data: a reading session with its worklist (worklist.png), placing
landmarks (landmarks.png), the time-point view
(timepoints.png) and calibration (calibrate.png). Needs napari, a Qt binding and a
display with OpenGL; on a headless machine run it under Xvfb:

    xvfb-run -a -s "-screen 0 1920x1200x24" .venv/bin/python tools/screenshots.py

(`make screenshots`). Look at the images after writing them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WINDOW = (1880, 1150)


def _viewer():
    import napari

    viewer = napari.Viewer(title="kyphoimg", show=True)
    viewer.window.resize(*WINDOW)
    return viewer


def _dock(viewer, name: str, area: str = "right", tabify: bool = False):
    from napari_kyphoimg._calibrate_widget import CalibrateWidget
    from napari_kyphoimg._landmarks_widget import LandmarksWidget
    from napari_kyphoimg._measurements_widget import MeasurementsWidget

    cls = {
        "Landmarks": LandmarksWidget,
        "Measurements": MeasurementsWidget,
        "Calibrate": CalibrateWidget,
    }[name]
    widget = cls(viewer)
    viewer.window.add_dock_widget(
        widget, name=f"{name} (napari-kyphoimg)", area=area, tabify=tabify
    )
    return widget


def _stack(top, bottom, top_px: int) -> None:
    """Give two docked widgets stacked on the right the heights wanted (Qt's resizeDocks)."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QApplication

    QApplication.processEvents()  # lay the docks out first
    window = top.native.window()
    docks = [_dock_of(top), _dock_of(bottom)]
    total = sum(d.height() for d in docks)
    window.resizeDocks(docks, [top_px, total - top_px], Qt.Orientation.Vertical)


def _dock_of(widget):
    """Return the QDockWidget holding a widget (docks wrap it in a scroll area)."""
    from qtpy.QtWidgets import QDockWidget

    parent = widget.native.parent()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parent()
    return parent


def _widen(widget, px: int = 660) -> None:
    """Make the right dock area about ``px`` wide (Qt's resizeDocks)."""
    from qtpy.QtCore import Qt

    widget.native.window().resizeDocks([_dock_of(widget)], [px], Qt.Orientation.Horizontal)


def _settle(viewer, ms: int = 400) -> None:
    from qtpy.QtCore import QCoreApplication, QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    QCoreApplication.processEvents()


def _save(viewer, path: Path) -> Path:
    _settle(viewer)
    viewer.screenshot(path=str(path), canvas_only=False, flash=False)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


def _focus(viewer, layer, margin: float = 1.25) -> None:
    """Fit the camera to a landmarks layer's points (with a margin)."""
    viewer.reset_view()
    pts = np.asarray(layer.data) * np.asarray(layer.scale)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    film = np.asarray(layer.scale) * np.array(
        [layer.metadata["kyphoimg"]["header"]["image"][k] for k in ("rows", "columns")]
    )
    viewer.scene.camera.center = tuple((lo + hi) / 2)
    viewer.scene.camera.zoom *= float(np.min(film / ((hi - lo) * margin)))
    _settle(viewer, 200)


def landmarks_png(out: Path) -> Path:
    """Shoot a film mid-placement: guide, colours per level, overlay and the live table."""
    from napari_kyphoimg._sample import sample_films

    viewer = _viewer()
    viewer.open_sample("napari-kyphoimg", "lateral_film")
    lw = _dock(viewer, "Landmarks")
    mw = _dock(viewer, "Measurements")
    _widen(lw)
    _stack(lw, mw, 440)
    truth = sample_films(("pre",))[0].phantom.landmarks  # the same film's ground truth
    lw.first_level.value, lw.last_level.value = truth.levels[0], truth.levels[-1]
    lw.index_levels.value = list(truth.index_levels)
    lw.rater.value = "AB"
    layer = lw.start()
    for _ in range(len(truth.levels) * 6 - 3):  # all but three points: the guide names the next
        level, point = lw.target
        layer.add(np.array(truth.points[level][point]))
    lw.finding_level.value = truth.index_levels[0]
    lw.findings["ivc"].value = "no"
    viewer.layers.selection.active = layer
    _focus(viewer, layer)
    path = _save(viewer, out / "landmarks.png")
    viewer.close()
    return path


def timepoints_png(out: Path) -> Path:
    """Shoot the pre/post/last films side by side with their measures and features."""
    viewer = _viewer()
    viewer.open_sample("napari-kyphoimg", "lateral_spine")
    _dock(viewer, "Landmarks")
    mw = _dock(viewer, "Measurements", area="right", tabify=True)
    _widen(mw, 620)
    mw.show_timepoints()
    _settle(viewer, 200)
    viewer.reset_view()
    viewer.scene.camera.zoom *= 1.45
    path = _save(viewer, out / "timepoints.png")
    viewer.close()
    return path


def calibrate_png(out: Path) -> Path:
    """Shoot a line of known length over the film and the resulting user calibration."""
    from napari_kyphoimg._sample import sample_films

    viewer = _viewer()
    viewer.open_sample("napari-kyphoimg", "lateral_spine")
    for layer in list(viewer.layers):
        if not layer.name.startswith("P001/pre"):
            viewer.layers.remove(layer)
    lw = _dock(viewer, "Landmarks")
    cw = _dock(viewer, "Calibrate", tabify=True)
    mw = _dock(viewer, "Measurements")
    _widen(cw)
    _stack(cw, mw, 420)
    (film,) = sample_films(("pre",))  # the same film's ground truth
    pts = film.phantom.landmarks.points["L2"]
    # the posterior wall of L2: its true height in the patient is the drawn (detector)
    # height divided by the film's radiographic magnification
    true_mm = film.phantom.truth["L2"]["hp_mm"] / film.film.magnification
    line = cw.draw()
    line.add_lines(np.array([pts["post_sup"], pts["post_inf"]]), edge_width=4.0)
    cw.length_mm.value = round(true_mm, 2)
    cw.apply()
    line.mode = "pan_zoom"
    viewer.layers.selection.active = line
    _focus(viewer, viewer.layers["P001/pre landmarks"], margin=1.15)
    del lw
    path = _save(viewer, out / "calibrate.png")
    viewer.close()
    return path


def worklist_png(out: Path) -> Path:
    """Shoot a reading session: the worklist, one film mid-placement, values on the film."""
    import shutil
    import tempfile

    from napari_kyphoimg import open_study

    from kyphoimg import read_landmarks, write_landmarks

    with tempfile.TemporaryDirectory() as tmp:
        study = Path(tmp) / "study"
        shutil.copytree(ROOT / "sample_dicom", study)
        # Reader AB has read P001 and P002's pre film; P002 post is under way.
        for rel in ("P001/pre", "P001/post", "P001/last", "P002/pre"):
            ls = read_landmarks(study / f"{rel}.landmarks.json")
            write_landmarks(ls.replace(rater="AB"), study / f"{rel}.AB.landmarks.json")
        viewer = _viewer()
        session = open_study(viewer, study, rater="AB")
        lw = session.widgets["landmarks"]
        _widen(lw, 600)
        truth = read_landmarks(study / "P002" / "post.landmarks.json")
        lw.index_levels.value = list(truth.index_levels)
        layer = lw.start()
        for _ in range(len(truth.levels) * 6 - 9):
            level, point = lw.target
            if level not in truth.points:
                break
            layer.add(np.array(truth.points[level][point]))
        viewer.layers.selection.active = layer
        _focus(viewer, layer, margin=1.1)
        path = _save(viewer, out / "worklist.png")
        viewer.close()
    return path


def main(argv: list[str] | None = None) -> int:
    """Write the screenshots; returns a process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument(
        "which", nargs="*", default=["worklist", "landmarks", "timepoints", "calibrate"]
    )
    args = parser.parse_args(argv)
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        print(
            "screenshots need a display: run under xvfb-run -a -s '-screen 0 1920x1200x24'",
            file=sys.stderr,
        )
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    makers = {
        "worklist": worklist_png,
        "landmarks": landmarks_png,
        "timepoints": timepoints_png,
        "calibrate": calibrate_png,
    }
    for name in args.which:
        makers[name](args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
