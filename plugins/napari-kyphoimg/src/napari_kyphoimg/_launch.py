"""``kyphoimg view``: open napari with the kyphoimg widgets docked and files loaded."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["ask_rater", "launch"]

WIDGETS = ("Landmarks", "Measurements", "Calibrate")
PLUGIN = "napari-kyphoimg"


def _no_display() -> str | None:
    """Return why Qt cannot open a window here, or None."""
    if not sys.platform.startswith("linux"):
        return None
    if os.environ.get("QT_QPA_PLATFORM") or os.environ.get("DISPLAY"):
        return None
    if os.environ.get("WAYLAND_DISPLAY"):
        return None
    return "no display: set DISPLAY (or run under xvfb-run for a virtual one)"


def _landmark_target(path: Path) -> tuple[Path, Path] | None:
    """Return ``(image file, landmark file)`` of a landmark file whose image exists."""
    from kyphoimg import KyphoimgError, read_landmarks

    try:
        ls = read_landmarks(path, validate=False)
    except KyphoimgError:
        return None
    if not ls.image.path:
        return None
    image = (path.parent / ls.image.path).resolve()
    return (image, path) if image.is_file() else None


def launch(
    paths: Sequence[str | os.PathLike[str]] = (),
    *,
    block: bool = True,
    rater: str | None = None,
    timepoints: Sequence[str] | None = None,
    blind: bool = False,
    surgery: str | os.PathLike[str] | None = None,
    pacs_url: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    patients: str | os.PathLike[str] | None = None,
    since: str | None = None,
    landmarks_dir: str | os.PathLike[str] | None = None,
) -> int:
    """Open napari with the kyphoimg widgets and load files, or a study for one reader.

    One folder is opened as a study (:func:`napari_kyphoimg.open_study`): the worklist of
    its films, one film on the canvas at a time, this reader's landmark files. Files
    are opened as they are, all at once.

    Parameters
    ----------
    paths : sequence of path-like
        One study folder; or DICOM files, or ``*.landmarks.json`` files (their film is
        opened and the landmarks loaded onto it).
    rater : str, optional
        The reader of a study (their files are ``<film>.<rater>.landmarks.json``).
        Without one, a dialog asks who is reading; dismissed, the study opens read-only.
    timepoints : sequence of str, optional
        The study's time points in order (default pre, post, last).
    blind : bool, optional
        A blinded reading of a study (see :func:`napari_kyphoimg.open_study`).
    surgery : path-like, optional
        A table of ``patient_id, surgery_date`` giving the study's films without a time
        point pre/post/last (as ``kyphoimg scan --surgery``).
    pacs_url : str, optional
        A DICOMweb root: open a reading session on the films its query finds instead of
        ``paths`` (:func:`napari_kyphoimg._pacs.open_pacs_session`), fetched into ``cache``.
    cache : path-like, optional
        The local cache folder of a PACS session (needed with ``pacs_url``).
    patients : path-like, optional
        A PACS session's patient list file (default: all patients).
    since : str, optional
        A PACS session's first study date, ``YYYY-MM-DD``.
    landmarks_dir : path-like, optional
        A study's landmark files, when not beside its films (as ``kyphoimg run
        --landmarks``).
    block : bool, optional
        Run the Qt event loop until the window closes (default). With False the viewer
        is left open and the function returns at once (for tests and scripts).

    Returns
    -------
    int
        0 when every input opened; 1 when some input could not be opened (named on
        stderr); 2 when napari, a Qt binding or a display is missing.
    """
    viewer = _new_viewer()
    if viewer is None:
        return 2
    if pacs_url is not None:
        failed = _open_pacs(viewer, pacs_url, cache, rater, patients, since, surgery)
    elif len(paths) == 1 and Path(paths[0]).is_dir():
        failed = _open_study(
            viewer, Path(paths[0]), rater, timepoints, blind, surgery, landmarks_dir
        )
    else:
        failed = _open_files(viewer, paths)
    if block:
        import napari

        napari.run()
    return 1 if failed else 0


def _new_viewer() -> Any | None:
    """Return a napari viewer, or None after saying why none can open here."""
    reason = _no_display()
    if reason is not None:
        print(f"kyphoimg view: {reason}", file=sys.stderr)
        return None
    try:
        import napari
    except ImportError as exc:
        print(
            "kyphoimg view: napari is not installed; install the plugin with a Qt binding: "
            f"pip install 'napari-kyphoimg[pyqt6]' ({exc})",
            file=sys.stderr,
        )
        return None
    try:
        return napari.Viewer(title="kyphoimg")
    except ImportError as exc:  # qtpy: no Qt binding
        print(
            "kyphoimg view: no Qt binding found; install one with "
            f"pip install 'napari-kyphoimg[pyqt6]' (or [pyside6]) ({exc})",
            file=sys.stderr,
        )
        return None


def _open_study(
    viewer: Any,
    folder: Path,
    rater: str | None,
    timepoints: Sequence[str] | None,
    blind: bool = False,
    surgery: str | os.PathLike[str] | None = None,
    landmarks_dir: str | os.PathLike[str] | None = None,
) -> int:
    """Open a study folder for one reader; return 1 when it cannot be opened."""
    from kyphoimg import KyphoimgError

    from ._reading import open_study

    read_only = False
    if rater is None:
        rater = ask_rater()
        read_only = rater is None  # dismissed: nothing is written
    try:
        session = open_study(
            viewer,
            folder,
            rater=rater,
            timepoints=timepoints,
            blind=blind,
            read_only=read_only,
            surgery=surgery,
            landmarks_dir=landmarks_dir,
        )
    except KyphoimgError as exc:
        print(f"kyphoimg view: {exc}", file=sys.stderr)
        return 1
    viewer.window.add_plugin_dock_widget(PLUGIN, "Calibrate", tabify=True)
    if not len(session.worklist):
        print(f"kyphoimg view: {folder}: no DICOM film in this folder", file=sys.stderr)
        return 1
    return 0


def _open_pacs(
    viewer: Any,
    url: str,
    cache: str | os.PathLike[str] | None,
    rater: str | None,
    patients: str | os.PathLike[str] | None,
    since: str | None,
    surgery: str | os.PathLike[str] | None,
) -> int:
    """Dock the PACS session widget filled in and open it; return 1 when it fails."""
    from ._pacs import PacsWidget

    widget = PacsWidget(viewer)
    viewer.window.add_dock_widget(widget, name="PACS session", area="left")
    if rater is None:
        rater = ask_rater()
    widget.url.setText(url)
    widget.cache.setText(str(cache or ""))
    widget.rater.setText(rater or "")
    widget.patients.setText(str(patients or ""))
    widget.since.setText(since or "")
    widget.surgery.setText(str(surgery or ""))
    if widget.open() is None:
        print(f"kyphoimg view: {widget.status.text()}", file=sys.stderr)
        return 1
    viewer.window.add_plugin_dock_widget(PLUGIN, "Calibrate", tabify=True)
    return 0


def ask_rater(parent: Any = None) -> str | None:
    """Ask who is reading (a dialog); return their id, or None when dismissed.

    An id that cannot name a file (:func:`kyphoimg.study.check_rater`) is asked again
    with the reason.

    Parameters
    ----------
    parent : QWidget, optional
        The dialog's parent window.

    Returns
    -------
    str or None
        The reader's id, or None (the study then opens read-only).
    """
    from qtpy.QtWidgets import QInputDialog

    from kyphoimg import KyphoimgError
    from kyphoimg.study import check_rater

    prompt = (
        "Who is reading? Your initials name your landmark files "
        "(<film>.<initials>.landmarks.json).\nCancel opens the study read-only."
    )
    while True:
        text, ok = QInputDialog.getText(parent, "kyphoimg: who is reading?", prompt)
        if not ok or not text.strip():
            return None
        try:
            return check_rater(text)
        except KyphoimgError as exc:
            prompt = f"{exc}\n\nWho is reading?"


def _open_files(viewer: Any, paths: Sequence[str | os.PathLike[str]]) -> int:
    """Open films and landmark files as they are; return how many could not be opened."""
    widgets: dict[str, Any] = {}
    # Calibrate and Landmarks as tabs (Landmarks in front), Measurements below them.
    for name in ("Calibrate", "Landmarks", "Measurements"):
        _, widgets[name] = viewer.window.add_plugin_dock_widget(
            PLUGIN, name, tabify=name == "Landmarks"
        )
    failed = 0
    for raw in paths:
        path = Path(raw)
        landmarks_file = None
        if path.is_file() and path.name.endswith(".json"):
            target = _landmark_target(path)
            if target is None:
                print(
                    f"kyphoimg view: {path}: no readable film for this landmark file",
                    file=sys.stderr,
                )
                failed += 1
                continue
            path, landmarks_file = target
        try:
            layers = viewer.open(str(path), plugin=PLUGIN)
        except Exception as exc:  # napari raises when no reader can open the path
            print(f"kyphoimg view: {path}: cannot be opened ({exc})", file=sys.stderr)
            failed += 1
            continue
        if landmarks_file is not None and layers:
            lw = widgets["Landmarks"]
            lw.reset_choices()
            match = [c for c in lw.film.choices if c == layers[0]]
            if match:
                lw.film.value = match[0]
            if not match or not lw.load(landmarks_file):
                failed += 1
    return failed
