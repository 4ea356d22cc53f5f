"""The ``Measurements`` widget: live measures of a film and the time-point view of a patient.

The table is :func:`kyphoimg.measure_vertebrae` applied to the landmarks layer (rearranged by
:func:`~napari_kyphoimg._layerdata.layer_points`), recomputed on every point change, dragging
included; only the cells whose text changed are rewritten. The full measures table
(:func:`kyphoimg.measure_points`, same values) is built when asked for (copy, export).
The unit and calibration source are always shown, with a warning when the spacing is
detector-plane, of unknown origin or missing. The time-point view puts a patient's films
side by side (napari grid) and shows their index-level measures with the longitudinal
features of :func:`kyphoimg.features_table`.
"""

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import napari
import napari.viewer
import numpy as np
import pandas as pd
from magicgui.widgets import ComboBox, Container, PushButton

from kyphoimg import KyphoimgError, write_table

from . import _qt
from ._calibration import calibration_status
from ._layerdata import header_from_meta, layer_points
from ._layers import films, info, landmark_layer_for, landmarks_of
from ._tables import (
    derived_table,
    display_rows,
    display_table,
    film_measures,
    film_measures_table,
    table_tsv,
    timepoint_matrix,
    timepoint_tables,
    whole_film_angles,
)
from ._viewer import add_landmarks_layer, ensure_overlay, landmark_layers

__all__ = ["MeasurementsWidget"]

_NO_PATIENT = "(no patient id)"
_TP_RANK = {"pre": 0, "post": 1, "last": 99}


class MeasurementsWidget(Container):
    """Live measures of the current film and the time-point view of one patient.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer holding kyphoimg films and landmarks layers.

    Attributes
    ----------
    measures : pandas.DataFrame
        The current film's measures table as kyphoimg computed it (all columns), built
        on first access after a refresh.
    timepoint_measures, features : pandas.DataFrame
        The time-point view's measures and longitudinal features.
    """

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        self._viewer = viewer
        self._connected: Any | None = None
        self._paused = False
        self._grid_layers: list[Any] = []
        self._hidden: list[Any] = []
        self._measures: pd.DataFrame | None = None
        self._measured_points: tuple[list[str], Any, Any] | None = None
        self.timepoint_measures = pd.DataFrame()
        self.features = pd.DataFrame()

        self.landmarks = ComboBox(label="Landmarks", choices=self._choices, nullable=True)
        self.calibration = _qt.make_label("", "muted")
        self.warning = _qt.make_label("", "warning")
        self.table = _qt.make_table()
        self.angles = _qt.make_label("", "info")
        self.notes = _qt.make_label("", "muted")
        self.copy_button = PushButton(text="Copy table")
        self.export_button = PushButton(text="Export CSV…")
        buttons = Container(
            widgets=[self.copy_button, self.export_button], layout="horizontal", labels=False
        )
        buttons.margins = (0, 0, 0, 0)
        self.patient = ComboBox(label="Patient", choices=self._patients)
        self.timepoints_button = PushButton(text="Time points side by side")
        self.single_button = PushButton(text="One film")
        view_buttons = Container(
            widgets=[self.timepoints_button, self.single_button], layout="horizontal", labels=False
        )
        view_buttons.margins = (0, 0, 0, 0)
        self.tp_table = _qt.make_table(max_height=420, min_height=60, fit=True)
        self.derived = _qt.make_table(max_height=320, min_height=60, fit=True)
        self.tp_message = _qt.make_label("", "muted")
        self.status = _qt.make_label("", "muted")
        for w in (self.tp_table, self.derived):
            w.visible = False

        super().__init__(
            widgets=[
                self.landmarks,
                self.calibration,
                self.warning,
                self.table,
                self.angles,
                self.notes,
                buttons,
                self.patient,
                view_buttons,
                self.tp_table,
                self.derived,
                self.tp_message,
                self.status,
            ],
            labels=True,
        )
        self.native.setMinimumWidth(420)
        _qt.add_stretch(self)
        self.landmarks.changed.connect(self._on_choice)
        self.copy_button.changed.connect(self.copy)
        self.export_button.changed.connect(self._ask_export)
        self.timepoints_button.changed.connect(self.show_timepoints)
        self.single_button.changed.connect(self.show_single)
        viewer.layers.selection.events.active.connect(self._on_active_layer)
        viewer.layers.events.inserted.connect(self._on_inserted)
        viewer.layers.events.removed.connect(self._on_removed)
        self.reset_choices()
        choices = [c for _, c in self._choices()]
        if self.landmarks.value is None and choices:
            self.landmarks.value = choices[0]
        self._on_choice()

    # ------------------------------------------------------------------ choices
    def _choices(self, _widget: Any = None) -> list[tuple[str, Any]]:
        return [(layer.name, layer) for layer in landmark_layers(self._viewer.layers)]

    def reset_choices(self, *_: Any) -> None:
        """Re-read the layer choices; the chosen landmarks stay chosen when renamed.

        magicgui knows a choice by its name: a film switch in place renames the landmarks
        layer, which would otherwise leave nothing chosen and the table empty.
        """
        current = self.landmarks.value
        with self.landmarks.changed.blocked():
            super().reset_choices()
            kept = current is not None and any(c is current for _, c in self._choices())
            if kept:
                self.landmarks.value = current
        if self.landmarks.value is not current:
            self._on_choice()

    def _patient_of(self, film: Any) -> str:
        meta = info(film, "film") or {}
        pid = meta.get("patient_id")
        lm = landmark_layer_for(self._viewer.layers, film)
        if lm is not None:
            pid = header_from_meta(info(lm, "landmarks")["header"]).patient_id or pid
        return pid or _NO_PATIENT

    def _patients(self, _widget: Any = None) -> list[str]:
        return list(dict.fromkeys(self._patient_of(f) for f in films(self._viewer.layers)))

    def _on_inserted(self, event: Any) -> None:
        if info(event.value, "landmarks") is not None and self.landmarks.value is None:
            self.reset_choices()
            for _, layer in self._choices():
                self.landmarks.value = layer
                break

    def _on_removed(self, event: Any) -> None:
        # The film switched (or its landmarks went): nothing shown may stay from it.
        gone = info(event.value, "landmarks")
        current = info(self.landmarks.value, "landmarks") if self.landmarks.value else None
        if gone is None or current is None or gone["uid"] != current["uid"]:
            return
        self.reset_choices()
        choices = [c for _, c in self._choices()]
        self.landmarks.value = choices[0] if choices else None
        self._on_choice()

    def _on_active_layer(self, event: Any) -> None:
        layer = event.value
        if info(layer, "film") is not None:
            layer = landmark_layer_for(self._viewer.layers, layer)
        if layer is None or info(layer, "landmarks") is None or layer == self.landmarks.value:
            return
        for _, candidate in self._choices():
            if candidate == layer:
                self.landmarks.value = candidate
                return

    def _on_choice(self, *_: Any) -> None:
        layer = self.landmarks.value
        if self._connected is not None:
            for emitter in ("features", "metadata", "data"):
                getattr(self._connected.events, emitter).disconnect(self._on_layer_event)
            self._connected = None
        if layer is not None:
            for emitter in ("features", "metadata", "data"):
                getattr(layer.events, emitter).connect(self._on_layer_event)
            self._connected = layer
        self.refresh(angles=True)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Ignore the landmarks' events inside; refresh everything once on leaving.

        A film switch in place sets the landmarks' data, features and metadata one after
        the other: measuring after each would show the previous film's header on the new
        points, and cost three refreshes for one.
        """
        self._paused = True
        try:
            yield
        finally:
            self._paused = False
            self.refresh(angles=True)

    def _on_layer_event(self, event: Any) -> None:
        if self._paused:
            return
        # features fire on every change (also while dragging); whole-film angles are
        # refreshed on finished changes only.
        name = getattr(event, "type", "")
        if name == "data":
            if str(getattr(event, "action", "")) in ("added", "removed", "changed"):
                self._refresh_angles()
            return
        self.refresh(angles=name == "metadata")

    # ------------------------------------------------------------------ live table
    @property
    def measures(self) -> pd.DataFrame:
        """The current film's measures table as kyphoimg computed it (all columns).

        A refresh measures with the lean :func:`kyphoimg.measure_vertebrae`, which is all the
        table and notes need; this full table (:func:`kyphoimg.measure_points`, the same
        values) is built from the same points when first asked for.
        """
        if self._measures is None:
            self._measures = (
                film_measures_table(*self._measured_points)
                if self._measured_points is not None
                else pd.DataFrame()
            )
        return self._measures

    def refresh(self, *, angles: bool = False) -> None:
        """Recompute the current film's measures and show them.

        Only the table cells whose text changed are rewritten (see
        :meth:`~napari_kyphoimg._qt.TextTable.set_rows`).
        """
        layer = self.landmarks.value
        self._measured_points = None
        self._measures = None
        if layer is None:  # every value of the film shown before goes
            _qt.set_table(self.table, pd.DataFrame())
            _qt.set_label(
                self.calibration, "Open a film and place landmarks to see measures.", "muted"
            )
            for label, kind in ((self.warning, "warning"), (self.angles, "info")):
                _qt.set_label(label, "", kind)
            _qt.set_label(self.notes, "", "muted")
            return
        header = header_from_meta(info(layer, "landmarks")["header"])
        measured = self._measure(layer, header)
        self.table.set_rows(*display_rows(measured))
        summary, warning = calibration_status(header.calibration)
        _qt.set_label(self.calibration, summary, "muted")
        _qt.set_label(self.warning, warning or "", "warning")
        notes = [
            f"{lv}: {reason}"
            for lv, status, reason in zip(
                np.asarray(measured["level"], dtype=object).tolist(),
                np.asarray(measured["status"], dtype=object).tolist(),
                np.asarray(measured["reason"], dtype=object).tolist(),
                strict=True,
            )
            if str(status) != "ok"
        ]
        _qt.set_label(self.notes, "\n".join(notes[:6]) + (" …" if len(notes) > 6 else ""), "muted")
        if angles:
            self._refresh_angles()

    def _measure(self, layer: Any, header: Any) -> Mapping[str, Any]:
        """Measure a landmarks layer: kyphoimg's lean single-film path on the layer's arrays.

        Returns the per-vertebra columns (:func:`~napari_kyphoimg._tables.film_measures`);
        the points are kept for :attr:`measures`.
        """
        levels, points = layer_points(layer.data, layer.features, header)
        self._measured_points = (levels, points, header)
        return film_measures(levels, points, header)

    def _refresh_angles(self) -> None:
        layer = self.landmarks.value
        text = ""
        if layer is not None:
            try:
                text = whole_film_angles(landmarks_of(layer))
            except KyphoimgError:
                text = ""
        _qt.set_label(self.angles, text and f"Whole film: {text}", "info")

    def copy(self, *_: Any) -> str:
        """Copy the shown table (tab-separated, with headers) to the clipboard and return it."""
        text = table_tsv(display_table(self.measures)) if len(self.measures.columns) else ""
        _qt.copy_text(text)
        _qt.set_label(self.status, f"Copied {len(self.measures)} rows.", "muted")
        return text

    def _ask_export(self, *_: Any) -> None:
        path = _qt.ask_path("w", "Export measures", "CSV (*.csv)")
        if path is not None:
            self.export_csv(path)

    def export_csv(self, path: str | Path) -> Path | None:
        """Write the current film's measures table (all kyphoimg columns) with its dictionary.

        Returns
        -------
        pathlib.Path or None
            The CSV written, or None when there is nothing to export or writing failed.
        """
        if not len(self.measures.columns):
            _qt.set_label(self.status, "Nothing to export.", "error")
            return None
        path = Path(path)
        if path.suffix.lower() != ".csv":
            path = path.with_suffix(".csv")
        try:
            write_table(self.measures, path)
        except (OSError, KyphoimgError, ValueError) as exc:
            _qt.set_label(self.status, f"Export failed: {exc}", "error")
            return None
        _qt.set_label(self.status, f"Exported {path.name} (+ data dictionary)", "ok")
        return path

    # ------------------------------------------------------------------ time points
    def show_timepoints(self, *_: Any, patient: str | None = None) -> list[Any]:
        """Arrange one patient's films side by side (napari grid) and show their features.

        Each film gets a grid cell with its overlay and landmarks (an empty landmarks
        layer is added for a film that has none); other layers are hidden until
        :meth:`show_single`.

        Parameters
        ----------
        patient : str, optional
            Patient id (default: the one chosen in the widget).

        Returns
        -------
        list
            The patient's film layers in time order.
        """
        patient = patient or self.patient.value
        group = [f for f in films(self._viewer.layers) if self._patient_of(f) == patient]
        if not group:
            _qt.set_label(self.tp_message, "No films of this patient are open.", "error")
            return []
        group.sort(key=self._time_rank)
        self.show_single(reset=False)
        layers = self._viewer.layers
        stacks = []
        for film in group:
            lm = landmark_layer_for(layers, film) or add_landmarks_layer(self._viewer, film)
            stacks.append([film, ensure_overlay(self._viewer, lm), lm])
        # napari fills the grid from the bottom of the layer list, three layers a cell:
        # the earliest film goes to the bottom (left-most cell).
        ordered = [layer for stack in stacks for layer in stack]
        for k, layer in enumerate(ordered):
            layers.move(layers.index(layer), k)
        members = {id(getattr(x, "__wrapped__", x)) for x in ordered}
        self._hidden = [
            x for x in layers if id(getattr(x, "__wrapped__", x)) not in members and x.visible
        ]
        for x in self._hidden:
            x.visible = False
        self._viewer.canvas.grid.stride = 3
        self._viewer.canvas.grid.shape = (1, len(group))
        self._viewer.canvas.grid.enabled = True
        self._viewer.layers.selection.active = stacks[0][2]
        self._viewer.reset_view()
        self._grid_layers = [stack[2] for stack in stacks]
        for lm in self._grid_layers:
            lm.events.data.connect(self._on_grid_event)
            lm.events.metadata.connect(self._on_grid_event)
        self.refresh_timepoints()
        return group

    def _time_rank(self, film: Any) -> tuple[int, str]:
        lm = landmark_layer_for(self._viewer.layers, film)
        tp = (info(film, "film") or {}).get("timepoint")
        if lm is not None:
            tp = header_from_meta(info(lm, "landmarks")["header"]).timepoint or tp
        return _TP_RANK.get(tp or "", 50), film.name

    def _on_grid_event(self, event: Any) -> None:
        if getattr(event, "type", "") == "data" and str(getattr(event, "action", "")) not in (
            "added",
            "removed",
            "changed",
        ):
            return
        self.refresh_timepoints()

    def refresh_timepoints(self) -> None:
        """Recompute the time-point view's measures and longitudinal features."""
        if not self._grid_layers:
            return
        sets = [landmarks_of(lm) for lm in self._grid_layers]
        try:
            measures, features, message = timepoint_tables(sets)
        except KyphoimgError as exc:
            _qt.set_label(self.tp_message, str(exc), "error")
            return
        self.timepoint_measures, self.features = measures, features
        _qt.set_table(self.tp_table, timepoint_matrix(measures))
        _qt.set_table(self.derived, derived_table(features))
        for w in (self.tp_table, self.derived):
            w.visible = True
        tps = [str(t) for t in pd.unique(measures["timepoint"].dropna())]
        _qt.set_label(
            self.tp_message,
            message or f"Time points: {', '.join(tps)} · features from kyphoimg.features_table",
            "muted" if not message else "warning",
        )

    def show_single(self, *_: Any, reset: bool = True) -> None:
        """Leave the time-point view: one canvas, hidden layers shown again."""
        for lm in self._grid_layers:
            for emitter in (lm.events.data, lm.events.metadata):
                emitter.disconnect(self._on_grid_event)
        self._grid_layers = []
        for x in self._hidden:
            x.visible = True
        self._hidden = []
        self._viewer.canvas.grid.enabled = False
        for w in (self.tp_table, self.derived):
            w.visible = False
        _qt.set_label(self.tp_message, "", "muted")
        if reset:
            self._viewer.reset_view()
