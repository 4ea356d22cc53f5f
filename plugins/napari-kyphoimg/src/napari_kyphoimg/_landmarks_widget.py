"""The ``Landmarks`` widget: guided landmark placement, reader findings, save and load.

This is the view. It holds the controls, lets napari's own points layer do the clicking,
dragging and deleting, wires the layer's events and keys to
:class:`~napari_kyphoimg._landmarks_controller.LandmarksController`, and shows what the
controller returns; the rules (plan and next target, re-placing, undo, what each field
may change, where and whether a file is saved: atomically, via
:func:`kyphoimg.landmarks.save_reading`, never over a file changed since it was loaded)
are the controller's. Each click is labelled through the layer's ``feature_defaults``
(the controller's target).

Keys on a landmarks layer: ``N`` next point, ``Shift+N`` previous point (both free in
napari's points keymap), ``Ctrl+Z`` undo, ``Ctrl+Shift+Z`` redo, ``F`` zoom to the target
vertebra, ``A`` accept the proposed points of the target vertebra.

Every control writes only its own field of the landmark file: touching one never empties
another. The time point is chosen from the study's time points, never typed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import napari
import napari.viewer
import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    LineEdit,
    PushButton,
    Select,
)
from psygnal import Signal

from kyphoimg import KyphoimgError, LandmarkSet
from kyphoimg.landmarks import FINDINGS, LEVELS, SCHEMES

from . import _qt
from ._centres_mode import CentresMode, EffortHooks, display_image
from ._files import LANDMARK_SUFFIX
from ._guide import level_range
from ._landmarks_controller import (
    DEFAULT_LEVELS,
    FIELDS,
    LandmarksController,
    check_text,
    header_of,
)
from ._layerdata import feature_defaults, layer_points, point_labels, same_features
from ._layers import calibration_of, film_for, films, info, landmark_layer_for, overlay_for
from ._session import read_only_reason
from ._sketch import SchemeSketch
from ._tables import film_measures
from ._viewer import (
    add_landmarks_layer,
    anterior_side,
    apply_calibration,
    ensure_overlay,
    landmark_layers,
    mark_proposals,
    refresh_overlay,
    show_problems,
    show_values,
    value_labels,
)

if TYPE_CHECKING:
    from napari.layers import Image, Points

__all__ = ["LandmarksWidget"]

NEXT_KEY = "N"
PREVIOUS_KEY = "Shift-N"
UNDO_KEY = "Control-Z"
REDO_KEY = "Control-Shift-Z"
ZOOM_KEY = "F"
ACCEPT_KEY = "A"
_NONE = "—"

#: Reader findings and the words the widget shows for them.
FINDING_LABELS: dict[str, str] = {
    "ivc": "IVC",
    "npec": "NPEC",
    "cement_leakage": "Cement leakage",
    "genant_visual": "Genant (visual)",
}


def _row(*widgets: Any, labels: bool = False) -> Container:
    """Widgets side by side, without margins."""
    row = Container(widgets=list(widgets), layout="horizontal", labels=labels, label="")
    row.margins = (0, 0, 0, 0)
    return row


class LandmarksWidget(Container):
    """Guided placement of vertebral landmarks on the films open in the viewer.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose films (layers opened by the kyphoimg reader or sample data)
        are annotated.
    """

    #: Emitted with the path after every save of a landmark file (autosave or Save now).
    saved = Signal(object)

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        self._viewer = viewer
        #: The rules and editing state; this widget only shows what it returns.
        self.controller = LandmarksController(lambda layer: film_for(viewer.layers, layer))
        self._loading_controls = False

        self.film = ComboBox(label="Film", choices=self._film_choices, nullable=True)
        self.first_level = ComboBox(label="Levels", choices=LEVELS, value=DEFAULT_LEVELS[0])
        self.last_level = ComboBox(label="to", choices=LEVELS, value=DEFAULT_LEVELS[1])
        self.scheme = ComboBox(label="Scheme", choices=list(SCHEMES), value="6pt")
        levels_row = _row(self.first_level, self.last_level, self.scheme, labels=True)
        self.index_levels = Select(label="Index level(s)", choices=level_range(*DEFAULT_LEVELS))
        self.index_levels.native.setMaximumHeight(70)
        self.patient_id = LineEdit(label="Patient")
        self.timepoint = ComboBox(
            label="Time point", choices=self._timepoint_choices, nullable=True, value=None
        )
        self.rater = LineEdit(label="Rater")
        for w, hint in ((self.patient_id, "patient id"), (self.rater, "your initials")):
            w.native.setPlaceholderText(hint)
        who = _row(self.patient_id, self.timepoint, labels=True)
        self.start_button = PushButton(text="Place landmarks on this film")
        self.centres_mode = CheckBox(text="Centres", value=False)
        self.centres_mode.tooltip = (
            "One click per vertebra: click each vertebral body's centre, top down; "
            "its points are proposed (A accepts)"
        )
        self.guide = _qt.make_label("", "guide")
        self.sketch = SchemeSketch()
        self.progress = _qt.make_label("", "muted")
        self.previous_button = PushButton(text="◀ Prev (⇧N)")
        self.next_button = PushButton(text="Next ▶ (N)")
        self.undo_button = PushButton(text="Undo")
        self.redo_button = PushButton(text="Redo")
        self.zoom_button = PushButton(text="Zoom (F)")
        self.delete_button = PushButton(text="Delete")
        self.previous_button.tooltip = "Previous point (Shift+N); click to re-place it"
        self.next_button.tooltip = "Next point (N); click to re-place it"
        self.undo_button.tooltip = "Undo the last change (Ctrl+Z on the landmarks layer)"
        self.redo_button.tooltip = "Redo what was undone (Ctrl+Shift+Z)"
        self.zoom_button.tooltip = "Zoom to the target vertebra (F); again to see the whole film"
        self.delete_button.tooltip = "Delete the selected points, else the target's point"
        nav = _row(self.previous_button, self.next_button, self.delete_button)
        edit = _row(self.undo_button, self.redo_button, self.zoom_button)

        self.finding_level = ComboBox(label="Findings", choices=self._index_choices)
        self.findings = {
            key: ComboBox(label=FINDING_LABELS[key], choices=(_NONE, *FINDINGS[key]), value=_NONE)
            for key in FINDING_LABELS  # IVC, NPEC, cement leakage, Genant visual grade
        }
        keys = list(self.findings)
        findings = Container(
            widgets=[
                _row(*(self.findings[k] for k in keys[:2]), labels=True),
                _row(*(self.findings[k] for k in keys[2:]), labels=True),
            ],
            labels=False,
            label="",
        )
        findings.margins = (0, 0, 0, 0)

        self.folder = FileEdit(label="Save folder", mode="d", nullable=True)
        self.folder.line_edit.native.setPlaceholderText("beside the image")
        self.autosave = CheckBox(text="Autosave", value=True)
        self.show_values = CheckBox(text="Measures on the film", value=True)
        self.snap = CheckBox(text="Snap released points to edges", value=False)
        self.save_button = PushButton(text="Save now")
        self.load_button = PushButton(text="Load file…")
        files = _row(self.autosave, self.save_button, self.load_button)
        shown = _row(self.show_values, self.snap)
        self.check = _qt.make_label("", "warning")
        self.status = _qt.make_label("", "info")

        super().__init__(
            widgets=[
                self.film,
                levels_row,
                self.index_levels,
                who,
                self.rater,
                _row(self.start_button, self.centres_mode),
                self.guide,
                self.progress,
                nav,
                edit,
                self.finding_level,
                findings,
                self.folder,
                files,
                shown,
                self.check,
                self.status,
            ],
            labels=True,
        )
        self.native.setMinimumWidth(320)
        layout = self.native.layout()  # a Qt drawing: placed under the guide's sentence
        layout.insertWidget(layout.indexOf(self.guide.native.parent()) + 1, self.sketch)
        _qt.add_stretch(self)
        self._effort = EffortHooks(self)  # the reading-effort log of the film shown
        self._centres = CentresMode(self, self._effort)
        self.centres_mode.changed.connect(self._centres.set_active)

        self.film.changed.connect(self._on_film_changed)
        for w in (self.first_level, self.last_level):
            w.changed.connect(self._on_levels_changed)
        for name in ("scheme", "index_levels", "patient_id", "timepoint", "rater"):
            getattr(self, name).changed.connect(lambda *_, name=name: self._set_field(name))
        self.start_button.changed.connect(self.start)
        self.previous_button.changed.connect(self.previous_point)
        self.next_button.changed.connect(self.next_point)
        self.undo_button.changed.connect(self.undo)
        self.redo_button.changed.connect(self.redo)
        self.zoom_button.changed.connect(self.zoom_to_target)
        self.delete_button.changed.connect(self.delete_point)
        self.finding_level.changed.connect(self._show_findings)
        for w in self.findings.values():
            w.changed.connect(self._on_finding_changed)
        self.folder.changed.connect(self._on_folder_changed)
        self.save_button.changed.connect(self.save)
        self.show_values.changed.connect(self._on_show_values)
        self.load_button.changed.connect(self._ask_load)

        viewer.layers.events.inserted.connect(self._on_layer_inserted)
        viewer.layers.events.removed.connect(self._on_layer_removed)
        viewer.layers.selection.events.active.connect(self._on_active_layer)
        for layer in landmark_layers(viewer.layers):
            self._attach(layer)
        self._select_default()
        self._on_film_changed()

    # ------------------------------------------------------------------ choices and state
    def _film_choices(self, _widget: Any = None) -> list[tuple[str, Image]]:
        return [(layer.name, layer) for layer in films(self._viewer.layers)]

    def _timepoint_choices(self, _widget: Any = None) -> list[str]:
        """Return the study's time points, plus the file's own when it is not one of them."""
        film = self.film.value if hasattr(self, "film") else None
        meta = info(film, "film") if film is not None else None
        layer = self.landmarks_layer if hasattr(self, "film") else None
        return self.controller.timepoint_choices(meta, layer)

    def _index_choices(self, _widget: Any = None) -> list[str]:
        return self.controller.index_choices(self.landmarks_layer)

    @property
    def landmarks_layer(self) -> Points | None:
        """The landmarks layer of the chosen film, or None."""
        film = self.film.value
        return None if film is None else landmark_layer_for(self._viewer.layers, film)

    @property
    def _busy(self) -> bool:
        """Whether the controller is writing a layer (its events are not the reader's)."""
        return self.controller.busy

    def _levels(self) -> tuple[str, ...]:
        try:
            return level_range(self.first_level.value, self.last_level.value)
        except ValueError:
            return ()

    # ------------------------------------------------------------------ attach to layers
    def _attach(self, layer: Points) -> None:
        if not self.controller.attach(layer):
            return
        layer.events.data.connect(self._on_data)
        layer.events.features.connect(self._on_features)
        layer.events.metadata.connect(self._on_metadata)
        layer.events.feature_defaults.connect(self._on_defaults)
        layer.bind_key(NEXT_KEY, self._key_next, overwrite=True)
        layer.bind_key(PREVIOUS_KEY, self._key_previous, overwrite=True)
        layer.bind_key(UNDO_KEY, self._key_undo, overwrite=True)
        layer.bind_key(REDO_KEY, self._key_redo, overwrite=True)
        layer.bind_key(ZOOM_KEY, self._key_zoom, overwrite=True)
        layer.bind_key(ACCEPT_KEY, self._key_accept, overwrite=True)
        overlay = ensure_overlay(self._viewer, layer)
        refresh_overlay(overlay, layer)
        if self.show_values.value:
            self._write_values(layer)
        self._set_defaults(layer)

    def _on_layer_inserted(self, event: Any) -> None:
        if info(event.value, "landmarks") is not None:
            self._attach(self._layer_of(event.value))
        elif info(event.value, "film") is not None and self.film.value is None:
            self._select_default()

    def _select_default(self) -> None:
        """Choose the active layer's film, else the first film, when none is chosen."""
        self.reset_choices()
        if self.film.value is not None:
            return
        active = self._viewer.layers.selection.active
        film = None
        if active is not None:
            film = active if info(active, "film") else film_for(self._viewer.layers, active)
        choices = [c for _, c in self._film_choices()]
        match = [c for c in choices if film is not None and c == film] or choices[:1]
        if match:
            self.film.value = match[0]

    def _on_layer_removed(self, event: Any) -> None:
        lm = info(event.value, "landmarks")
        if lm is None:
            return
        self.controller.detach(event.value)
        overlay = overlay_for(self._viewer.layers, event.value)
        if overlay is not None:  # its overlay goes with it
            self._viewer.layers.remove(overlay)
        for other in list(self._viewer.layers):  # and its values and problem rings
            meta = info(other) or {}
            if (
                meta.get("role") in ("values", "problems")
                and meta.get("landmarks_uid") == lm["uid"]
            ):
                self._viewer.layers.remove(other)

    def _on_active_layer(self, event: Any) -> None:
        layer = event.value
        film = None
        if info(layer, "film") is not None:
            film = layer
        elif info(layer, "landmarks") is not None:
            film = film_for(self._viewer.layers, layer)
        if film is not None and film != self.film.value:
            for _, candidate in self._film_choices():
                if candidate == film:
                    self.film.value = candidate
                    break

    # ------------------------------------------------------------------ controls <-> layer
    def _on_film_changed(self, *_: Any) -> None:
        film = self.film.value
        layer = self.landmarks_layer
        fields = self.controller.film_fields(film, layer, self._levels())
        self._loading_controls = True
        try:
            self._reset_timepoints()
            if fields.levels:
                self.first_level.value, self.last_level.value = fields.levels
            if fields.scheme:
                self.scheme.value = fields.scheme
            if layer is not None or film is not None:
                choices = fields.index_choices
                self.index_levels.choices = self._levels() if choices is None else choices
                self.index_levels.value = fields.index_levels
                self.patient_id.value = fields.patient_id
                self.timepoint.value = self._shown_timepoint(fields.timepoint)
                self.rater.value = fields.rater
            self.rater.enabled = fields.rater_enabled
        finally:
            self._loading_controls = False
        self.start_button.enabled = film is not None and fields.read_only is None
        if layer is not None:
            layer.editable = fields.read_only is None
        self.finding_level.reset_choices()
        self._show_findings()
        self._say(*self.controller.status(film, layer, self.folder.value))
        self._update_guide()
        self._update_check()
        self._effort.sync()
        self._centres.sync()

    def _on_levels_changed(self, *_: Any) -> None:
        if self._loading_controls:
            return
        levels = self._levels()
        if not levels:
            self._say("'From' must lie above (cranial to) 'To'.", "error")
            return
        selected = list(self.index_levels.value)
        self._loading_controls = True
        try:
            self.index_levels.choices = self.controller.index_level_choices(levels, selected)
            self.index_levels.value = selected
        finally:
            self._loading_controls = False
        self._replan()

    def _reset_timepoints(self) -> None:
        """Rebuild the time point choices in the study's order (Qt keeps old items first)."""
        loading, self._loading_controls = self._loading_controls, True
        try:
            self.timepoint.choices = []
            self.timepoint.reset_choices()
        finally:
            self._loading_controls = loading

    def _shown_timepoint(self, value: str | None) -> str | None:
        """Return the time point as the combo box shows it (canonical when known)."""
        value = self.controller.shown_timepoint(value, self._timepoint_choices())
        if value is None:
            return None
        if value not in self.timepoint.choices:
            self._reset_timepoints()
        return value if value in self.timepoint.choices else None

    def _field_values(self) -> dict[str, Any]:
        """Return every field control's value, by header field name."""
        return {name: getattr(self, name).value for name in FIELDS}

    def _set_field(self, name: str) -> None:
        """Write one control's value into the chosen film's landmark header, and nothing else."""
        if self._loading_controls:
            return
        layer = self.landmarks_layer
        if layer is None:
            return  # taken into the header when the landmarks layer is created
        refused = self.controller.set_field(layer, name, getattr(self, name).value)
        if refused is not None:
            if refused.restore is not None:  # the control shows the file's value again
                self._loading_controls = True
                try:
                    getattr(self, name).value = refused.restore
                finally:
                    self._loading_controls = False
            self._say(*refused.message)
            return
        if name == "scheme":
            self._replan()
        elif name == "index_levels":
            self.finding_level.reset_choices()
            self._show_findings()

    def _replan(self) -> None:
        """Make the level range and scheme the guide's plan (the file is not rewritten)."""
        layer = self.landmarks_layer
        if layer is None:
            return
        self.controller.replan(layer, self._levels())
        self._set_defaults(layer)
        self._redraw(layer)
        self._update_guide()

    def show_set(self, layer: Points, ls: LandmarkSet) -> None:
        """Put a landmark set (points and header) on a landmarks layer and save it.

        Parameters
        ----------
        layer : napari.layers.Points
            A kyphoimg landmarks layer.
        ls : LandmarkSet
            Its new contents (for instance with proposed points).
        """
        self.controller.put_set(layer, ls, history="push")
        self._set_defaults(layer)
        self._redraw(layer)
        self._autosave(layer)
        self._on_film_changed()

    def refill(self, layer: Points, data: Any, kwargs: dict[str, Any]) -> None:
        """Put another film's landmarks into a landmarks layer, in place (a film switch).

        Nothing is saved: the new contents are the file as loaded. The guide, the undo
        history, the overlay and the values start again from them.

        Parameters
        ----------
        layer : napari.layers.Points
            A kyphoimg landmarks layer (its link ids are kept).
        data, kwargs
            The new film's points layer-data (:func:`~napari_kyphoimg._layers.restore_landmarks`).
        """
        old = info(layer, "landmarks")
        meta = dict(kwargs["metadata"])
        meta["kyphoimg"] = {**meta["kyphoimg"], "uid": old["uid"], "film_uid": old["film_uid"]}
        features = kwargs["features"]
        with self.controller.quiet(saving=True, refilling=True):
            if layer.selected_data:
                layer.selected_data = set()
            resized = len(data) != len(layer.data)
            layer.data = data
            if resized:  # the refresh waits for the switch's end: the points in view now
                layer.set_view_slice()
            # Each napari setter re-validates and redraws: the next film of a study has the
            # same points (levels, labels, sources) more often than not, and the same size.
            recolour = resized or not same_features(layer.features, features)
            if recolour:
                layer.features = features
            layer.metadata = meta
            layer.name = kwargs["name"]
            if not np.all(np.asarray(layer.size) == kwargs["size"]):
                layer.size = kwargs["size"]
            if recolour:
                layer.refresh_colors()
            for other in self._viewer.layers:  # its overlay, values and problem rings
                if (info(other) or {}).get("landmarks_uid") == old["uid"]:
                    other.name = f"{kwargs['name']} {info(other)['role']}"
                    if not np.array_equal(other.scale, kwargs["scale"]):
                        other.scale = kwargs["scale"]  # a napari scale change redraws
            if not np.array_equal(layer.scale, kwargs["scale"]):
                layer.scale = kwargs["scale"]
        self.controller.restart(layer, "reset")
        self._set_defaults(layer)
        self._redraw(layer)

    def accept_vertebra(self, level: str | None = None) -> None:
        """Accept the proposed points of a vertebra as they are (the target's by default).

        Parameters
        ----------
        level : str, optional
            The level; default the guide's target level, else every proposed level.
        """
        layer = self.landmarks_layer
        if layer is None:
            return
        said = self.controller.accept(layer, level)
        self._redraw(layer)
        self._say(*said)

    def _key_accept(self, layer: Points) -> None:
        self.accept_vertebra()

    def show_film(self, film: Image) -> None:
        """Make ``film`` (a film layer in the viewer) the chosen film.

        Parameters
        ----------
        film : napari.layers.Image
            A kyphoimg film layer.
        """
        self.reset_choices()
        for _, candidate in self._film_choices():
            if candidate == film:
                if self.film.value is candidate:
                    self._on_film_changed()  # same layer, new contents: refill the controls
                else:
                    self.film.value = candidate
                return

    # ------------------------------------------------------------------ placing
    def start(self, *_: Any) -> Points | None:
        """Create (or reuse) the chosen film's landmarks layer and switch to placing.

        Returns
        -------
        napari.layers.Points or None
            The landmarks layer, or None when no film is chosen.
        """
        film = self.film.value
        if film is None or read_only_reason(info(film, "film")) is not None:
            self._say(read_only_reason(info(film, "film")) or "Choose a film first.", "error")
            return None
        layer = self.landmarks_layer
        if layer is None:
            header = self.controller.new_header(film, self._field_values())
            layer = add_landmarks_layer(self._viewer, film, header, levels=self._levels())
            self._attach(layer)
        self._viewer.layers.selection.active = layer
        target = self.controller.ensure_target(layer)
        layer.mode = "add" if target else "select"
        self._set_defaults(layer)
        self._update_guide()
        if layer.mode == "add":
            self._say("Click on the film to place the point the guide names.", "muted")
        return layer

    def _set_defaults(self, layer: Points) -> None:
        target = self.controller.target(layer)
        if target is None:
            return
        current = layer.feature_defaults
        if (
            len(current)
            and current["level"].iloc[0] == target[0]
            and current["point"].iloc[0] == target[1]
        ):
            return
        with self.controller.quiet():
            layer.feature_defaults = feature_defaults(*target)

    def _on_defaults(self, event: Any) -> None:
        # napari makes a newly added (selected) point's features the defaults again:
        # put the guide's next target back so the next click gets the right label.
        if not self.controller.busy:
            self._set_defaults(event.source)

    def _step(self, layer: Points | None, delta: int) -> None:
        layer = layer if layer is not None else self.landmarks_layer
        if layer is None or not self.controller.step(layer, delta):
            self._say("Press 'Place landmarks' first.", "error")
            return
        self._set_defaults(layer)
        if layer.mode != "add":
            layer.mode = "add"
        self._update_guide()

    def next_point(self, *_: Any) -> None:
        """Make the next planned point the target (placed or not: to re-place it)."""
        self._step(None, +1)

    def previous_point(self, *_: Any) -> None:
        """Make the previous planned point the target."""
        self._step(None, -1)

    def _key_next(self, layer: Points) -> None:
        self._step(self._layer_of(layer), +1)

    def _key_previous(self, layer: Points) -> None:
        self._step(self._layer_of(layer), -1)

    def _key_undo(self, layer: Points) -> None:
        self._undo(self._layer_of(layer))

    def _key_redo(self, layer: Points) -> None:
        self._undo(self._layer_of(layer), redo=True)

    def _key_zoom(self, layer: Points) -> None:
        self.zoom_to_target()

    def _layer_of(self, layer: Points) -> Points:
        """Return the viewer's (proxied) handle of a layer an event or key callback passed."""
        lm = info(layer, "landmarks")
        for candidate in self._viewer.layers:
            other = info(candidate, "landmarks")
            if other is not None and lm is not None and other["uid"] == lm["uid"]:
                return candidate
        return layer

    def _on_data(self, event: Any) -> None:
        if self.controller.busy:
            return
        layer = self._layer_of(event.source)
        if self.controller.session(layer) is None:
            return
        action = str(event.action)
        if action == "removing":
            self.controller.points_removing(layer, event.data_indices)
        elif action == "changing":
            self.controller.dragging(layer, True)
        elif action in ("added", "removed", "changed"):
            self.controller.dragging(layer, False)
            if action == "added":
                if not self.controller.points_added(layer):
                    layer.mode = "select"  # all placed: clicks now select and drag
                self._set_defaults(layer)
            elif action == "changed" and self.snap.value:
                self._snap(layer, [i for i in event.data_indices if i >= 0])
            elif action == "removed":
                self.controller.points_removed(layer)
                self._set_defaults(layer)
            self._completed(layer)

    def _snap(self, layer: Points, indices: list[int]) -> None:
        """Move released points onto the edges near them (kyphoimg.assist.refine)."""
        film = film_for(self._viewer.layers, layer)
        if film is not None and self.controller.snap(layer, display_image(film), indices):
            self._redraw(layer)

    def _completed(self, layer: Points, *, record: bool = True) -> None:
        """After a finished change: undo state, autosave, checks, guide."""
        if record:
            self.controller.record(layer)
        self._autosave(layer)
        if layer == self.landmarks_layer:
            self._update_guide()
            self._update_check()

    def _on_features(self, event: Any) -> None:
        if not self.controller.refilling:
            self._redraw(self._layer_of(event.source))

    def _redraw(self, layer: Points) -> None:
        """Redraw the overlay of a landmarks layer (live, also while dragging).

        While a point is dragged the overlay's thumbnail waits for the drag to end.
        """
        if self.controller.session(layer) is None:
            return
        dragging = self.controller.is_dragging(layer)
        overlay = ensure_overlay(self._viewer, layer)
        refresh_overlay(overlay, layer, thumbnail=not dragging)
        if not dragging and self.show_values.value:
            self._write_values(layer)
        if not dragging:
            mark_proposals(layer, self.controller.proposed(layer))

    def _write_values(self, layer: Points) -> None:
        """Write heights, wedge angles and KA beside each vertebra on the film."""
        header = header_of(layer)
        levels, points = layer_points(layer.data, layer.features, header)
        measures = film_measures(levels, points, header)
        positions, texts = value_labels(levels, points, measures)
        show_values(self._viewer, layer, positions, texts, anterior_side(points))

    def _on_show_values(self, *_: Any) -> None:
        for lyr in self._viewer.layers:
            if info(lyr, "values") is not None:
                lyr.visible = self.show_values.value
        layer = self.landmarks_layer
        if layer is not None and self.show_values.value:
            self._write_values(layer)

    def _on_metadata(self, event: Any) -> None:
        layer = self._layer_of(event.source)
        if self.controller.session(layer) is None or self.controller.saving:
            return
        self._redraw(layer)
        self._autosave(layer)
        if layer == self.landmarks_layer:
            self._update_check()

    # ------------------------------------------------------------------ undo, delete
    def undo(self, *_: Any) -> None:
        """Undo the last change of the chosen film's landmarks."""
        self._undo(self.landmarks_layer)

    def redo(self, *_: Any) -> None:
        """Redo what the last undo took back on the chosen film."""
        self._undo(self.landmarks_layer, redo=True)

    def _undo(self, layer: Points | None, *, redo: bool = False) -> None:
        done, said = self.controller.undo(layer, redo=redo)
        if done and layer is not None:
            self._set_defaults(layer)
            self._redraw(layer)
            self._completed(layer, record=False)
        self._say(*said)

    def zoom_to_target(self, *_: Any) -> None:
        """Zoom the canvas to the target vertebra; when already there, show the whole film."""
        layer = self.landmarks_layer
        target = self.controller.target(layer)
        level = target[0] if target else None
        if layer is None or level is None:
            self._viewer.reset_view()
            return
        placed = [i for i, (lv, _) in enumerate(point_labels(layer.features)) if lv == level]
        if not placed:  # not placed yet: the neighbours it will sit between
            pos = LEVELS.index(level)
            near = {LEVELS[j] for j in (pos - 1, pos + 1) if 0 <= j < len(LEVELS)}
            placed = [i for i, (lv, _) in enumerate(point_labels(layer.features)) if lv in near]
        if not placed:
            self._viewer.reset_view()
            return
        world = np.asarray(layer.data)[placed][:, -2:] * np.asarray(layer.scale[-2:])
        centre = world.mean(axis=0)
        camera = self._viewer.scene.camera
        if np.allclose(camera.center[-2:], centre, atol=1e-3):
            self._viewer.reset_view()  # second press: back to the whole film
            return
        self._viewer.reset_view()
        whole = float(np.ptp(self._viewer.layers.extent.world[:, -2:], axis=0).max())
        span = max(float(np.ptp(world, axis=0).max()) * 3.0, whole * 0.15)
        camera.zoom = camera.zoom * whole / span
        camera.center = tuple(centre)

    def delete_point(self, *_: Any) -> None:
        """Delete the selected points, else the current target's point when it is placed."""
        layer = self.landmarks_layer
        if self.controller.session(layer) is None:
            return
        indices = self.controller.delete_rows(layer)
        if indices:
            layer.remove(indices)
        else:
            self._say("Select a point (or make a placed point the target) to delete it.", "muted")

    # ------------------------------------------------------------------ findings
    def _show_findings(self, *_: Any) -> None:
        level = self.finding_level.value
        values = self.controller.findings_of(self.landmarks_layer, level)
        self._loading_controls = True
        try:
            for key, widget in self.findings.items():
                widget.value = values.get(key) or _NONE
                widget.enabled = bool(level)
        finally:
            self._loading_controls = False

    def _on_finding_changed(self, *_: Any) -> None:
        if self._loading_controls:
            return
        layer = self.landmarks_layer
        level = self.finding_level.value
        if layer is None or not level:
            return
        values = {k: None if w.value == _NONE else w.value for k, w in self.findings.items()}
        self.controller.set_findings(layer, level, values)

    # ------------------------------------------------------------------ files
    def _target_path(self, layer: Points) -> Path | None:
        return self.controller.target_path(layer, self.folder.value)

    def _on_folder_changed(self, *_: Any) -> None:
        folder = self.folder.value
        if folder is not None and str(folder) and not Path(folder).is_dir():
            return
        for layer in landmark_layers(self._viewer.layers):
            self.controller.forget_path(layer)  # re-derive from the folder (or beside the image)
        layer = self.landmarks_layer
        if layer is not None:
            path = self._target_path(layer)
            self._say(f"Landmark file: {path}" if path else "", "muted")

    def _autosave(self, layer: Points) -> None:
        if not self.autosave.value or self.controller.saving:
            return
        saved, said = self.controller.autosave(layer, self.folder.value)
        if saved is not None:
            self.saved.emit(saved.path)
        failed = saved is None and said.kind == "error"  # shown whichever film is chosen
        if failed or layer == self.landmarks_layer:
            self._say(*said)

    def save(self, *_: Any) -> Path | None:
        """Save the chosen film's landmark file now.

        Returns
        -------
        pathlib.Path or None
            The file written, or None when there is nowhere to save.
        """
        layer = self.landmarks_layer
        if layer is None:
            self._say("No landmarks to save on this film.", "error")
            return None
        try:
            saved = self.controller.save(layer, self.folder.value)
        except (OSError, KyphoimgError) as exc:
            self._say(f"Not saved: {exc}", "error")
            return None
        if saved is None:
            self._say("Choose a save folder: this film has no file to save beside.", "error")
            return None
        self.saved.emit(saved.path)
        self._say(*saved.message)
        return Path(info(layer, "landmarks")["path"])

    def _ask_load(self, *_: Any) -> None:
        path = _qt.ask_path("r", "Load landmark file", f"Landmark files (*{LANDMARK_SUFFIX})")
        if path is not None:
            self.load(path)

    def load(self, path: str | Path) -> bool:
        """Load a landmark file onto the chosen film, refusing one saved for another image.

        The file is paired with the film by :func:`kyphoimg.landmarks.pair_with_film`
        (same image; a ``user`` calibration in the file is kept, else the film's DICOM
        calibration is taken); the film then shows the paired set's calibration.

        Parameters
        ----------
        path : path-like
            The landmark file.

        Returns
        -------
        bool
            Whether the file was loaded.
        """
        film = self.film.value
        if info(film, "film") is None:
            self._say("Choose a film first.", "error")
            return False
        try:
            ls, where = self.controller.read(path, film)
        except KyphoimgError as exc:
            self._say(f"Refused: {exc}", "error")
            return False
        if ls.calibration != calibration_of(film):
            apply_calibration(self._viewer, film, ls.calibration)
        layer = self.landmarks_layer or add_landmarks_layer(self._viewer, film, ls)
        self._attach(layer)
        self.controller.put_set(layer, ls, history="reset", path=where)
        self._set_defaults(layer)
        self._redraw(layer)
        self._on_film_changed()
        self._say(f"Loaded {Path(path).name}", "ok")
        return True

    # ------------------------------------------------------------------ feedback
    def _say(self, text: str, kind: str = "info") -> None:
        _qt.set_label(self.status, text, kind)

    def _update_guide(self) -> None:
        layer = self.landmarks_layer
        guide = self.controller.guide(layer)
        if layer is None or not guide.progress:
            _qt.set_label(self.guide, "", "guide")
            _qt.set_label(self.progress, "", "muted")
            self.sketch.show_target("", None, set())
            return
        header = header_of(layer)
        _, points = layer_points(layer.data, layer.features, header)
        self.sketch.show_target(
            header.scheme,
            guide.target[1] if guide.target else None,
            set(guide.placed_at_target),
            anterior_right=anterior_side(points) > 0,
        )
        _qt.set_label(self.guide, guide.text, "guide")
        _qt.set_label(self.progress, guide.progress, "muted")

    def _update_check(self) -> None:
        """List every problem the command line would refuse, and ring the points concerned."""
        layer = self.landmarks_layer
        if layer is None:
            _qt.set_label(self.check, "", "warning")
            return
        ls, problems = self.controller.problems(layer)
        show_problems(self._viewer, layer, ls, problems)
        _qt.set_label(self.check, check_text(problems), "warning")

    @property
    def target(self) -> tuple[str, str] | None:
        """The ``(level, point)`` the next click places on the chosen film, or None."""
        return self.controller.target(self.landmarks_layer)
