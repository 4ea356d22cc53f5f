"""The ``Calibrate`` widget: a line over an object of known size gives a ``user`` calibration.

The line is drawn in a shapes layer scaled like the film, so its vertices are film
pixels; :func:`kyphoimg.Calibration.from_user` (through
:func:`~napari_kyphoimg._calibration.calibration_from_line`, which keeps the film's pixel
aspect) turns it into millimetres per pixel. The film, its landmarks, overlay and line
are rescaled, and the landmarks header carries the calibration, so the landmark file
records it.
"""

from pathlib import Path
from typing import Any

import napari
import napari.viewer
import numpy as np
from magicgui.widgets import ComboBox, Container, FloatSpinBox, PushButton

from kyphoimg import Calibration, KyphoimgError

from . import _qt
from ._calibration import calibration_from_line, calibration_status
from ._layers import calibration_of, dicom_calibration, films, info, landmark_layer_for
from ._session import save_layer_set
from ._viewer import add_calibration_layer, apply_calibration, calibration_layer_for
from ._writer import landmark_set_for_file

__all__ = ["CalibrateWidget"]


class CalibrateWidget(Container):
    """Calibrate a film from a drawn line of known length.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer holding the films.
    """

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        self._viewer = viewer
        self._line_layer: Any | None = None
        self.film = ComboBox(label="Film", choices=self._film_choices, nullable=True)
        self.current = _qt.make_label("", "muted")
        self.warning = _qt.make_label("", "warning")
        self.draw_button = PushButton(text="Draw a line over an object of known size")
        self.line = _qt.make_label("", "info")
        self.length_mm = FloatSpinBox(
            label="Known length (mm)", value=25.0, min=0.01, max=5000.0, step=0.5
        )
        self.apply_button = PushButton(text="Apply calibration")
        self.reset_button = PushButton(text="Restore the file's calibration")
        self.status = _qt.make_label("", "muted")
        super().__init__(
            widgets=[
                self.film,
                self.current,
                self.warning,
                self.draw_button,
                self.line,
                self.length_mm,
                self.apply_button,
                self.reset_button,
                self.status,
            ],
            labels=True,
        )
        self.native.setMinimumWidth(320)
        _qt.add_stretch(self)
        self.film.changed.connect(self._on_film)
        self.draw_button.changed.connect(self.draw)
        self.apply_button.changed.connect(self.apply)
        self.reset_button.changed.connect(self.reset)
        viewer.layers.selection.events.active.connect(self._on_active_layer)
        viewer.layers.events.inserted.connect(self._on_inserted)
        self._select_default()
        self._on_film()

    def _on_inserted(self, event: Any) -> None:
        if info(event.value, "film") is not None and self.film.value is None:
            self._select_default()

    def _select_default(self) -> None:
        self.reset_choices()
        choices = [c for _, c in self._film_choices()]
        if self.film.value is None and choices:
            self.film.value = choices[0]

    def _film_choices(self, _widget: Any = None) -> list[tuple[str, Any]]:
        return [(layer.name, layer) for layer in films(self._viewer.layers)]

    def _on_active_layer(self, event: Any) -> None:
        if info(event.value, "film") is None or event.value == self.film.value:
            return
        for _, candidate in self._film_choices():
            if candidate == event.value:
                self.film.value = candidate
                return

    def _on_film(self, *_: Any) -> None:
        film = self.film.value
        if self._line_layer is not None:
            self._line_layer.events.data.disconnect(self._show_line)
            self._line_layer = None
        if film is None:
            _qt.set_label(self.current, "Open a film to calibrate it.", "muted")
            _qt.set_label(self.warning, "", "warning")
            return
        line = calibration_layer_for(self._viewer.layers, film)
        if line is not None:
            self._connect(line)
        self._show_calibration()
        self._show_line()

    def _connect(self, layer: Any) -> None:
        self._line_layer = layer
        layer.events.data.connect(self._show_line)

    def _show_calibration(self) -> None:
        film = self.film.value
        summary, warning = calibration_status(calibration_of(film))
        _qt.set_label(self.current, summary, "muted")
        _qt.set_label(self.warning, warning or "", "warning")

    def _line_px(self) -> np.ndarray | None:
        layer = self._line_layer
        if layer is None or not len(layer.data):
            return None
        line = np.asarray(layer.data[-1], dtype=float)
        return line if len(line) >= 2 else None

    def _show_line(self, *_: Any) -> None:
        line = self._line_px()
        if line is None:
            _qt.set_label(self.line, "No line yet.", "muted")
            return
        cal = calibration_of(self.film.value)
        aspect = cal.row_mm / cal.col_mm if cal.has_mm else 1.0
        d = line[-1, -2:] - line[0, -2:]
        length_px = float(np.hypot(d[0] * aspect, d[1]))
        _qt.set_label(self.line, f"Line: {length_px:.1f} px", "info")

    def draw(self, *_: Any) -> Any | None:
        """Activate (or add) the film's calibration-line layer in line-drawing mode.

        Returns
        -------
        napari.layers.Shapes or None
            The line layer, or None when no film is chosen.
        """
        film = self.film.value
        if film is None:
            _qt.set_label(self.status, "Choose a film first.", "error")
            return None
        layer = calibration_layer_for(self._viewer.layers, film)
        if layer is None:
            layer = add_calibration_layer(self._viewer, film)
        if self._line_layer is None or self._line_layer != layer:
            self._connect(layer)
        self._viewer.layers.selection.active = layer
        layer.mode = "add_line"
        _qt.set_label(
            self.status, "Click and drag along the object, then enter its length.", "muted"
        )
        return layer

    def apply(self, *_: Any) -> Calibration | None:
        """Calibrate the film from the last drawn line and the known length.

        Returns
        -------
        Calibration or None
            The new ``user`` calibration, or None when there is no usable line.
        """
        film = self.film.value
        line = self._line_px()
        if film is None or line is None:
            _qt.set_label(self.status, "Draw a line first.", "error")
            return None
        try:
            cal = calibration_from_line(line[[0, -1]], self.length_mm.value, calibration_of(film))
        except KyphoimgError as exc:
            _qt.set_label(self.status, str(exc), "error")
            return None
        self._set(film, cal)
        return cal

    def reset(self, *_: Any) -> Calibration | None:
        """Go back to the calibration read from the file (DICOM), dropping the user one."""
        film = self.film.value
        if film is None:
            return None
        cal = dicom_calibration(info(film, "film") or {})
        self._set(film, cal)
        return cal

    def _set(self, film: Any, cal: Calibration) -> None:
        apply_calibration(self._viewer, film, cal)
        self._viewer.reset_view()
        self._show_calibration()
        self._show_line()
        saved = self._save_with_landmarks(film)
        _qt.set_label(
            self.status,
            f"Calibration: {cal.row_mm:.4f} × {cal.col_mm:.4f} mm/px, source {cal.source}"
            + (
                f"; saved in {saved}" if saved else "; saved with the landmarks when they are saved"
            ),
            "ok",
        )

    def _save_with_landmarks(self, film: Any) -> str | None:
        """Write the calibration into the film's landmark file when it already has one."""
        layer = landmark_layer_for(self._viewer.layers, film)
        lm = info(layer, "landmarks") if layer is not None else None
        if lm is None or not lm.get("path"):
            return None
        try:
            ls = landmark_set_for_file(layer.data, layer.features, lm, lm["path"])
            # The reader's file rules hold here too: the hash taken at load is checked
            # and a file changed elsewhere is never written over (_session.save_layer_set).
            outcome = save_layer_set(ls, Path(lm["path"]), lm, info(film, "film"))
            return outcome.path.name
        except (OSError, KyphoimgError) as exc:
            _qt.set_label(self.status, f"Calibration not saved: {exc}", "error")
            return None
