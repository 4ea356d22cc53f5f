"""The ``Landmarks`` widget: guided landmark placement, reader findings, save and load.

The widget gathers the settings (levels, scheme, index levels, rater), names the next
point, and lets napari's own points layer do the clicking, dragging and deleting. Each
click is labelled through the layer's ``feature_defaults``; the widget then advances the
guide, removes a point the click re-placed, records an undo state, redraws the overlay
and saves the landmark file (atomically, via :func:`kyphoimg.landmarks.save_reading`: never over a
file changed since it was loaded).

Keys on a landmarks layer: ``N`` next point, ``Shift+N`` previous point (both free in
napari's points keymap), ``Ctrl+Z`` undo, ``Ctrl+Shift+Z`` redo, ``F`` zoom to the target
vertebra, ``A`` accept the proposed points of the target vertebra.

Every control writes only its own field of the landmark file: touching one never empties
another. The time point is chosen from the study's time points, never typed.
"""

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

from kyphoimg import KyphoimgError, read_landmarks
from kyphoimg.assist import REVIEW_BELOW, confirm, refine, unconfirmed
from kyphoimg.landmarks import FINDINGS, LEVELS, SCHEMES, file_sha256, landmark_problems
from kyphoimg.study import check_rater
from kyphoimg.timepoints import TIMEPOINTS, normalise_timepoint

from . import _qt
from ._centres_mode import CentresMode, EffortHooks
from ._files import LANDMARK_SUFFIX, landmark_path_for
from ._guide import PlacementGuide, describe_point, level_range, placement_plan
from ._layerdata import (
    feature_defaults,
    header_from_meta,
    landmarks_to_layer,
    layer_points,
    point_labels,
    rows_labelled,
    split_unknown,
)
from ._layers import (
    calibration_of,
    film_for,
    films,
    info,
    landmark_layer_for,
    landmarks_of,
    overlay_for,
    pair_with_film_layer,
)
from ._session import read_only_reason, save_layer_set, save_message
from ._sketch import SchemeSketch
from ._tables import film_measures
from ._undo import UndoStack
from ._viewer import (
    add_landmarks_layer,
    anterior_side,
    apply_calibration,
    default_header,
    ensure_overlay,
    landmark_layers,
    mark_proposals,
    refresh_overlay,
    set_header,
    set_info,
    show_problems,
    show_values,
    value_labels,
)
from ._writer import landmark_set_for_file

__all__ = ["LandmarksWidget"]

NEXT_KEY = "N"
PREVIOUS_KEY = "Shift-N"
UNDO_KEY = "Control-Z"
REDO_KEY = "Control-Shift-Z"
ZOOM_KEY = "F"
ACCEPT_KEY = "A"
DEFAULT_LEVELS = ("T11", "L3")
_NONE = "—"

#: Reader findings and the words the widget shows for them.
FINDING_LABELS: dict[str, str] = {
    "ivc": "IVC",
    "npec": "NPEC",
    "cement_leakage": "Cement leakage",
    "genant_visual": "Genant (visual)",
}


@dataclass
class _Session:
    """Editing state of one landmarks layer."""

    guide: PlacementGuide
    undo: UndoStack = field(default_factory=UndoStack)  # also redo
    removing: list[tuple[str, str]] = field(default_factory=list)
    dragging: bool = False


def _row(*widgets: Any, labels: bool = False) -> Container:
    """Widgets side by side, without margins."""
    row = Container(widgets=list(widgets), layout="horizontal", labels=labels, label="")
    row.margins = (0, 0, 0, 0)
    return row


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text).strip("_") or "film"


def _labels(layer: Any, indices: Any) -> list[tuple[str, str]]:
    return point_labels(layer.features, indices)


def _placed(layer: Any) -> set[tuple[str, str]]:
    return set(point_labels(layer.features))


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
        self._sessions: dict[str, _Session] = {}
        self._busy = False  # our own layer edits: ignore their events
        self._loading_controls = False
        self._saving = False
        self._refilling = False  # a film switch in place: one redraw at its end

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
    def _film_choices(self, _widget: Any = None) -> list[tuple[str, Any]]:
        return [(layer.name, layer) for layer in films(self._viewer.layers)]

    def _timepoint_choices(self, _widget: Any = None) -> list[str]:
        """Return the study's time points, plus the file's own when it is not one of them."""
        film = self.film.value if hasattr(self, "film") else None
        meta = info(film, "film") if film is not None else None
        vocabulary = list((meta or {}).get("timepoints") or TIMEPOINTS)
        layer = self.landmarks_layer if hasattr(self, "film") else None
        if layer is not None:
            own = header_from_meta(info(layer, "landmarks")["header"]).timepoint
            if own:
                with contextlib.suppress(KyphoimgError):
                    own = normalise_timepoint(own, vocabulary)
                if own not in vocabulary:
                    vocabulary.append(own)
        return vocabulary

    def _index_choices(self, _widget: Any = None) -> list[str]:
        layer = self.landmarks_layer
        if layer is None:
            return []
        return list(header_from_meta(info(layer, "landmarks")["header"]).index_levels)

    @property
    def landmarks_layer(self) -> Any | None:
        """The landmarks layer of the chosen film, or None."""
        film = self.film.value
        return None if film is None else landmark_layer_for(self._viewer.layers, film)

    def _session(self, layer: Any) -> _Session | None:
        lm = info(layer, "landmarks")
        return None if lm is None else self._sessions.get(lm["uid"])

    def _levels(self) -> tuple[str, ...]:
        try:
            return level_range(self.first_level.value, self.last_level.value)
        except ValueError:
            return ()

    def _plan_for(self, layer: Any) -> tuple[tuple[str, str], ...]:
        """Return the guide's plan: the chosen range, else placed levels and the study's range."""
        lm = info(layer, "landmarks")
        scheme = lm["header"]["scheme"]
        levels = lm.get("levels")
        if not levels:
            film = film_for(self._viewer.layers, layer)
            hint = (info(film, "film") or {}).get("levels") if film is not None else None
            span = {lv for lv, _ in _placed(layer)} | set(level_range(*(hint or DEFAULT_LEVELS)))
            levels = sorted(span, key=LEVELS.index)
            levels = level_range(levels[0], levels[-1])
        return placement_plan(levels, scheme)

    # ------------------------------------------------------------------ attach to layers
    def _attach(self, layer: Any) -> None:
        lm = info(layer, "landmarks")
        if lm is None or lm["uid"] in self._sessions:
            return
        session = _Session(guide=PlacementGuide(self._plan_for(layer)))
        session.guide.cursor = session.guide.first_missing(_placed(layer))
        session.undo.reset(layer.data, layer.features)
        self._sessions[lm["uid"]] = session
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
        self._sessions.pop(lm["uid"], None)
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
        self._loading_controls = True
        try:
            meta = info(film, "film") if film is not None else None
            self._reset_timepoints()
            if layer is not None:
                lm = info(layer, "landmarks")
                header = header_from_meta(lm["header"])
                plan_levels = [lv for lv, _ in self._plan_for(layer)]
                if plan_levels:
                    self.first_level.value, self.last_level.value = plan_levels[0], plan_levels[-1]
                self.scheme.value = header.scheme
                self.index_levels.choices = self._index_level_choices(header.index_levels)
                self.index_levels.value = list(header.index_levels)
                self.patient_id.value = header.patient_id or ""
                self.timepoint.value = self._shown_timepoint(header.timepoint)
                self.rater.value = header.rater or (meta or {}).get("rater") or ""
            elif meta is not None:
                if meta.get("levels"):
                    self.first_level.value, self.last_level.value = meta["levels"]
                self.index_levels.choices = self._levels()
                self.index_levels.value = []
                self.patient_id.value = meta.get("patient_id") or ""
                self.timepoint.value = self._shown_timepoint(meta.get("timepoint"))
                self.rater.value = meta.get("rater") or ""
            # A reading session fixes the reader; the rater of a file with points stays.
            owned = layer is not None and bool(header.rater) and len(layer.data) > 0
            self.rater.enabled = not (meta or {}).get("rater") and not owned
        finally:
            self._loading_controls = False
        read_only = read_only_reason(meta)
        self.start_button.enabled = film is not None and read_only is None
        if layer is not None:
            layer.editable = read_only is None
        self.finding_level.reset_choices()
        self._show_findings()
        notes = list(meta.get("notes", [])) if meta else []
        if film is None:
            self._say("Open a DICOM film (File ▸ Open) or the sample data to begin.", "muted")
        elif read_only is not None:
            self._say(read_only, "error")
        elif any(n.startswith("landmarks not loaded") for n in notes):
            self._say(next(n for n in notes if n.startswith("landmarks not loaded")), "error")
        elif layer is not None and landmark_problems(landmarks_of(layer).replace(source=None)):
            self._say("This landmark file has problems (listed above); fix them here.", "error")
        elif layer is None:
            self._say("No landmarks on this film yet: press 'Place landmarks'.", "muted")
        else:
            path = self._target_path(layer)
            self._say(f"Landmark file: {path}" if path else (notes[-1] if notes else ""), "muted")
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
            self.index_levels.choices = self._index_level_choices(selected)
            self.index_levels.value = selected
        finally:
            self._loading_controls = False
        self._replan()

    def _index_level_choices(self, keep: Any = ()) -> list[str]:
        """Return the planned levels plus any index level already chosen outside them."""
        chosen = set(self._levels()) | {lv for lv in keep if lv in LEVELS}
        return [lv for lv in LEVELS if lv in chosen]

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
        if not value:
            return None
        choices = self._timepoint_choices()
        with contextlib.suppress(KyphoimgError):
            value = normalise_timepoint(value, choices)
        if value not in self.timepoint.choices:
            self._reset_timepoints()
        return value if value in self.timepoint.choices else None

    def _with_controls(self, header: Any) -> Any:
        """Return ``header`` with every control's value (for a new landmark file only)."""
        index = tuple(lv for lv in LEVELS if lv in set(self.index_levels.value))
        return header.replace(
            scheme=self.scheme.value,
            index_levels=index,
            patient_id=self.patient_id.value.strip() or None,
            timepoint=self.timepoint.value or None,
            rater=self.rater.value.strip() or header.rater,
        )

    def _control_value(self, name: str) -> Any:
        """Return the value of one control as the landmark file stores it."""
        if name == "index_levels":
            return tuple(lv for lv in LEVELS if lv in set(self.index_levels.value))
        if name == "scheme":
            return self.scheme.value
        if name == "timepoint":
            return self.timepoint.value or None
        text = getattr(self, name).value.strip()
        return check_rater(text or None) if name == "rater" else (text or None)

    def _set_field(self, name: str) -> None:
        """Write one control's value into the chosen film's landmark header, and nothing else."""
        if self._loading_controls:
            return
        layer = self.landmarks_layer
        if layer is None:
            return  # taken into the header when the landmarks layer is created
        try:
            value = self._control_value(name)
        except KyphoimgError as exc:
            self._say(f"Not saved: {exc}", "error")
            return
        header = header_from_meta(info(layer, "landmarks")["header"])
        if getattr(header, name) == value:
            return
        if name == "rater" and header.rater and len(layer.data):
            self._loading_controls = True
            try:
                self.rater.value = header.rater
            finally:
                self._loading_controls = False
            self._say(
                f"The rater of a file with points never changes ({header.rater}); another "
                "reader opens the study with their own id (--rater) and gets their own file.",
                "error",
            )
            return
        set_header(layer, header.replace(**{name: value}))  # one metadata event: one autosave
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
        lm = dict(info(layer, "landmarks"))
        lm["levels"] = list(self._levels())
        self._saving = True  # the plan is not part of the landmark file
        try:
            set_info(layer, lm)
        finally:
            self._saving = False
        session = self._session(layer)
        if session is not None:  # a new plan starts at its first missing point
            session.guide = PlacementGuide(self._plan_for(layer))
            session.guide.cursor = session.guide.first_missing(_placed(layer))
            self._set_defaults(layer)
        self._redraw(layer)
        self._update_guide()

    def show_set(self, layer: Any, ls: Any) -> None:
        """Put a landmark set (points and header) on a landmarks layer and save it.

        Parameters
        ----------
        layer : napari.layers.Points
            A kyphoimg landmarks layer.
        ls : LandmarkSet
            Its new contents (for instance with proposed points).
        """
        self._put_set(layer, ls, history="push")
        self._redraw(layer)
        self._autosave(layer)
        self._on_film_changed()

    def _put_set(
        self, layer: Any, ls: Any, *, history: str, path: tuple[str, str | None] | None = None
    ) -> None:
        """Replace a layer's points and header by a set; re-plan the guide.

        ``history="reset"`` starts the undo history there (a file loaded), ``"push"``
        records it as one change that can be undone (proposals added). ``path`` (the file
        and its SHA-256 as read) becomes the layer's landmark file.
        """
        known, unknown = split_unknown(ls)
        data, features = landmarks_to_layer(known)
        self._busy = True
        try:
            layer.selected_data = set()
            layer.data = data
            layer.features = features
            layer.refresh_colors()
            lm = dict(info(layer, "landmarks"))
            if path is not None:
                lm["path"], lm["sha256"] = path
            lm["levels"] = None
            lm["unknown_points"] = unknown
            self._saving = True  # not yet: the new points with the old header (and record)
            try:
                set_info(layer, lm)
            finally:
                self._saving = False
            set_header(layer, ls)
        finally:
            self._busy = False
        session = self._session(layer)
        if session is not None:
            session.guide = PlacementGuide(self._plan_for(layer))
            session.guide.cursor = session.guide.first_missing(_placed(layer))
            if history == "reset":
                session.undo.reset(layer.data, layer.features)
            else:
                session.undo.push(layer.data, layer.features)
            self._set_defaults(layer)

    def refill(self, layer: Any, data: Any, kwargs: dict[str, Any]) -> None:
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
        self._busy = self._saving = self._refilling = True
        try:
            layer.selected_data = set()
            layer.data = data
            layer.features = kwargs["features"]
            layer.metadata = meta
            layer.name, layer.size = kwargs["name"], kwargs["size"]
            layer.refresh_colors()
            for other in self._viewer.layers:  # its overlay, values and problem rings
                if (info(other) or {}).get("landmarks_uid") == old["uid"]:
                    other.name = f"{kwargs['name']} {info(other)['role']}"
                    if not np.array_equal(other.scale, kwargs["scale"]):
                        other.scale = kwargs["scale"]  # a napari scale change redraws
            if not np.array_equal(layer.scale, kwargs["scale"]):
                layer.scale = kwargs["scale"]
        finally:
            self._busy = self._saving = self._refilling = False
        session = self._session(layer)
        if session is not None:
            session.guide = PlacementGuide(self._plan_for(layer))
            session.guide.cursor = session.guide.first_missing(_placed(layer))
            session.undo.reset(layer.data, layer.features)
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
        session = self._session(layer)
        if level is None and session is not None and session.guide.target is not None:
            level = session.guide.target[0]
        ls = landmarks_of(layer)
        if not unconfirmed(ls).get(level or "", ()) and level is not None:
            level = None  # nothing proposed at the target: accept what is proposed anywhere
        set_header(layer, confirm(ls, level).replace(points={}))
        self._redraw(layer)
        self._say(f"Accepted the proposed points of {level or 'every vertebra'}.", "ok")

    def _key_accept(self, layer: Any) -> None:
        self.accept_vertebra()

    def show_film(self, film: Any) -> None:
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
    def start(self, *_: Any) -> Any | None:
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
            header = self._with_controls(default_header(film))
            layer = add_landmarks_layer(self._viewer, film, header, levels=self._levels())
            self._attach(layer)
        self._viewer.layers.selection.active = layer
        session = self._session(layer)
        if session is not None and session.guide.target is None:
            session.guide.cursor = session.guide.first_missing(_placed(layer))
        layer.mode = "add" if session and session.guide.target else "select"
        self._set_defaults(layer)
        self._update_guide()
        if layer.mode == "add":
            self._say("Click on the film to place the point the guide names.", "muted")
        return layer

    def _set_defaults(self, layer: Any) -> None:
        session = self._session(layer)
        target = session.guide.target if session else None
        if target is None:
            return
        current = layer.feature_defaults
        if (
            len(current)
            and current["level"].iloc[0] == target[0]
            and current["point"].iloc[0] == target[1]
        ):
            return
        self._busy = True
        try:
            layer.feature_defaults = feature_defaults(*target)
        finally:
            self._busy = False

    def _on_defaults(self, event: Any) -> None:
        # napari makes a newly added (selected) point's features the defaults again:
        # put the guide's next target back so the next click gets the right label.
        if not self._busy:
            self._set_defaults(event.source)

    def _step(self, layer: Any | None, delta: int) -> None:
        layer = layer if layer is not None else self.landmarks_layer
        session = self._session(layer) if layer is not None else None
        if session is None:
            self._say("Press 'Place landmarks' first.", "error")
            return
        session.guide.step(delta)
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

    def _key_next(self, layer: Any) -> None:
        self._step(self._layer_of(layer), +1)

    def _key_previous(self, layer: Any) -> None:
        self._step(self._layer_of(layer), -1)

    def _key_undo(self, layer: Any) -> None:
        self._undo(self._layer_of(layer))

    def _key_redo(self, layer: Any) -> None:
        self._undo(self._layer_of(layer), redo=True)

    def _key_zoom(self, layer: Any) -> None:
        self.zoom_to_target()

    def _layer_of(self, layer: Any) -> Any:
        """Return the viewer's (proxied) handle of a layer an event or key callback passed."""
        lm = info(layer, "landmarks")
        for candidate in self._viewer.layers:
            other = info(candidate, "landmarks")
            if other is not None and lm is not None and other["uid"] == lm["uid"]:
                return candidate
        return layer

    def _on_data(self, event: Any) -> None:
        if self._busy:
            return
        layer = self._layer_of(event.source)
        session = self._session(layer)
        if session is None:
            return
        action = str(event.action)
        if action == "removing":
            session.removing = _labels(layer, [i for i in event.data_indices if i >= 0])
        elif action == "changing":
            session.dragging = True
        elif action in ("added", "removed", "changed"):
            session.dragging = False
            if action == "added":
                self._after_add(layer, session)
            elif action == "changed" and self.snap.value:
                self._snap(layer, [i for i in event.data_indices if i >= 0])
            elif action == "removed" and session.removing:
                first = min(
                    session.removing,
                    key=lambda t: session.guide.plan.index(t) if t in session.guide.plan else 1e9,
                )
                session.removing = []
                if not session.guide.go_to(*first):
                    session.guide.cursor = session.guide.first_missing(_placed(layer))
                self._set_defaults(layer)
            self._completed(layer, session)

    def _snap(self, layer: Any, indices: list[int]) -> None:
        """Move released points onto the edges near them (kyphoimg.assist.refine).

        Only the points just moved change, and only where the image shows an edge
        (confidence at least :data:`kyphoimg.assist.REVIEW_BELOW`).
        """
        film = film_for(self._viewer.layers, layer)
        if film is None or not indices:
            return
        image = np.asarray(film.data, dtype=np.float32)
        if "_r" in str(getattr(film.colormap, "name", "")):
            image = -image  # MONOCHROME1 shown inverted: bone bright for the edges
        labels = _labels(layer, indices)
        levels = {lv for lv, _ in labels}
        ls = landmarks_of(layer).replace(source=None)
        part = ls.replace(points={lv: pts for lv, pts in ls.points.items() if lv in levels})
        try:
            result = refine(image, part)
        except (KyphoimgError, ValueError):
            return
        data = np.array(layer.data, copy=True)
        moved = False
        for i, (lv, name) in zip(indices, labels, strict=False):
            conf = result.confidence.get(lv, {}).get(name, 0.0)
            if conf >= REVIEW_BELOW and name in result.landmarks.points.get(lv, {}):
                data[i, -2:] = result.landmarks.points[lv][name]
                moved = True
        if moved:
            self._busy = True
            try:
                layer.data = data
            finally:
                self._busy = False
            self._redraw(layer)

    def _after_add(self, layer: Any, session: _Session) -> None:
        new = len(layer.data) - 1
        labels = _labels(layer, [new])
        if labels:
            same = [i for i in rows_labelled(layer.features, *labels[0]) if i != new]
            if same:  # a click on a placed target re-places it
                self._busy = True
                try:
                    layer.remove(same)
                finally:
                    self._busy = False
        placed = _placed(layer)
        if labels and session.guide.target == labels[0]:
            session.guide.advance(placed)
        elif session.guide.target in placed:
            session.guide.cursor = session.guide.first_missing(placed, session.guide.cursor)
        if session.guide.target is None:
            layer.mode = "select"  # all placed: clicks now select and drag
        self._set_defaults(layer)

    def _completed(self, layer: Any, session: _Session, *, record: bool = True) -> None:
        """After a finished change: undo state, autosave, checks, guide."""
        if record:
            session.undo.push(layer.data, layer.features)
        self._autosave(layer)
        if layer == self.landmarks_layer:
            self._update_guide()
            self._update_check()

    def _on_features(self, event: Any) -> None:
        if not self._refilling:
            self._redraw(self._layer_of(event.source))

    def _redraw(self, layer: Any) -> None:
        """Redraw the overlay of a landmarks layer (live, also while dragging).

        While a point is dragged the overlay's thumbnail waits for the drag to end.
        """
        session = self._session(layer)
        if session is not None:
            overlay = ensure_overlay(self._viewer, layer)
            refresh_overlay(overlay, layer, thumbnail=not session.dragging)
            if not session.dragging and self.show_values.value:
                self._write_values(layer)
            if not session.dragging:
                mark_proposals(layer, unconfirmed(landmarks_of(layer)))

    def _write_values(self, layer: Any) -> None:
        """Write heights, wedge angles and KA beside each vertebra on the film."""
        header = header_from_meta(info(layer, "landmarks")["header"])
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
        session = self._session(layer)
        if session is None or self._saving:
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

    def _undo(self, layer: Any | None, *, redo: bool = False) -> None:
        session = self._session(layer) if layer is not None else None
        stack = session.undo if session else None
        state = (stack.redo() if redo else stack.undo()) if stack else None
        if state is None:
            self._say("Nothing to redo." if redo else "Nothing to undo.", "muted")
            return
        data, features = state
        self._busy = True
        try:
            layer.selected_data = set()
            layer.data = data
            layer.features = features
            layer.refresh_colors()
        finally:
            self._busy = False
        session.guide.cursor = session.guide.first_missing(_placed(layer))
        self._set_defaults(layer)
        self._redraw(layer)
        self._completed(layer, session, record=False)
        self._say("Redone." if redo else "Undone.", "muted")

    def zoom_to_target(self, *_: Any) -> None:
        """Zoom the canvas to the target vertebra; when already there, show the whole film."""
        layer = self.landmarks_layer
        session = self._session(layer) if layer is not None else None
        target = session.guide.target if session else None
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
        session = self._session(layer) if layer is not None else None
        if session is None:
            return
        indices = sorted(layer.selected_data)
        if not indices and session.guide.target is not None:
            indices = rows_labelled(layer.features, *session.guide.target)
        if indices:
            layer.remove(indices)
        else:
            self._say("Select a point (or make a placed point the target) to delete it.", "muted")

    # ------------------------------------------------------------------ findings
    def _show_findings(self, *_: Any) -> None:
        layer = self.landmarks_layer
        level = self.finding_level.value
        values: dict[str, Any] = {}
        if layer is not None and level:
            values = dict(
                header_from_meta(info(layer, "landmarks")["header"]).findings.get(level, {})
            )
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
        header = header_from_meta(info(layer, "landmarks")["header"])
        findings = {lv: dict(v) for lv, v in header.findings.items()}
        current = findings.setdefault(level, {})
        for key, widget in self.findings.items():
            if widget.value == _NONE:
                current.pop(key, None)
            else:
                current[key] = widget.value
        if not current:
            findings.pop(level)
        set_header(layer, header.replace(findings=findings))

    # ------------------------------------------------------------------ files
    def _target_path(self, layer: Any) -> Path | None:
        lm = info(layer, "landmarks")
        folder = self.folder.value
        if folder is not None and str(folder) and Path(folder).is_dir():
            if lm.get("image_file"):
                return landmark_path_for(lm["image_file"], folder)
            film = film_for(self._viewer.layers, layer)
            name = film.name if film is not None else layer.name
            return Path(folder) / f"{_slug(name)}{LANDMARK_SUFFIX}"
        if lm.get("path"):
            return Path(lm["path"])
        if lm.get("image_file"):
            return landmark_path_for(lm["image_file"])
        return None

    def _on_folder_changed(self, *_: Any) -> None:
        folder = self.folder.value
        if folder is not None and str(folder) and not Path(folder).is_dir():
            return
        for layer in landmark_layers(self._viewer.layers):
            lm = dict(info(layer, "landmarks"))
            lm["path"] = None  # re-derive from the folder (or beside the image)
            self._saving = True
            try:
                set_info(layer, lm)
            finally:
                self._saving = False
        layer = self.landmarks_layer
        if layer is not None:
            path = self._target_path(layer)
            self._say(f"Landmark file: {path}" if path else "", "muted")

    def _write(self, layer: Any) -> tuple[str, str] | None:
        """Save the layer's set (never over a file changed since it was loaded).

        Returns the sentence telling where it went, or None when there is nowhere to save.
        """
        path = self._target_path(layer)
        if path is None:
            return None
        lm = dict(info(layer, "landmarks"))
        ls = landmark_set_for_file(layer.data, layer.features, lm, path)
        film = film_for(self._viewer.layers, layer)
        outcome = save_layer_set(ls, path, lm, info(film, "film") if film is not None else None)
        self._saving = True
        try:
            set_info(layer, lm)
        finally:
            self._saving = False
        self.saved.emit(outcome.path)
        return save_message(outcome)

    def _autosave(self, layer: Any) -> None:
        if not self.autosave.value or self._saving:
            return
        try:
            said = self._write(layer)
        except (OSError, KyphoimgError) as exc:
            self._say(f"Autosave failed: {exc}", "error")
            return
        if layer == self.landmarks_layer:
            self._say(
                *(
                    said
                    or (
                        "Not saved: this film has no file. Choose a save folder to keep "
                        "the landmarks.",
                        "warning",
                    )
                )
            )

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
            said = self._write(layer)
        except (OSError, KyphoimgError) as exc:
            self._say(f"Not saved: {exc}", "error")
            return None
        if said is None:
            self._say("Choose a save folder: this film has no file to save beside.", "error")
            return None
        self._say(*said)
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
        meta = info(film, "film") if film is not None else None
        if meta is None:
            self._say("Choose a film first.", "error")
            return False
        digest = file_sha256(path)  # what a save checks the file against
        try:
            ls = pair_with_film_layer(read_landmarks(path, validate=False), meta, film.name)
        except KyphoimgError as exc:
            self._say(f"Refused: {exc}", "error")
            return False
        if ls.calibration != calibration_of(film):
            apply_calibration(self._viewer, film, ls.calibration)
        layer = self.landmarks_layer or add_landmarks_layer(self._viewer, film, ls)
        self._attach(layer)
        self._put_set(layer, ls, history="reset", path=(str(Path(path).resolve()), digest))
        self._redraw(layer)
        self._on_film_changed()
        self._say(f"Loaded {Path(path).name}", "ok")
        return True

    # ------------------------------------------------------------------ feedback
    def _say(self, text: str, kind: str = "info") -> None:
        _qt.set_label(self.status, text, kind)

    def _update_guide(self) -> None:
        layer = self.landmarks_layer
        session = self._session(layer) if layer is not None else None
        if session is None:
            _qt.set_label(self.guide, "", "guide")
            _qt.set_label(self.progress, "", "muted")
            self.sketch.show_target("", None, set())
            return
        placed = _placed(layer)
        done, total = session.guide.progress(placed)
        target = session.guide.target
        header = header_from_meta(info(layer, "landmarks")["header"])
        _, points = layer_points(layer.data, layer.features, header)
        self.sketch.show_target(
            header.scheme,
            target[1] if target else None,
            {p for lv, p in placed if target and lv == target[0]},
            anterior_right=anterior_side(points) > 0,
        )
        if target is None:
            text = f"All {total} points placed · drag to adjust, N / Shift+N to re-place one"
        elif target in placed:
            text = f"Re-place: {describe_point(*target)} (click its new position)"
        else:
            text = f"Next: {describe_point(*target)}"
        _qt.set_label(self.guide, text, "guide")
        _qt.set_label(self.progress, f"{done} of {total} points placed", "muted")

    def _update_check(self) -> None:
        """List every problem the command line would refuse, and ring the points concerned."""
        layer = self.landmarks_layer
        if layer is None:
            _qt.set_label(self.check, "", "warning")
            return
        ls = landmarks_of(layer).replace(source=None)
        problems = landmark_problems(ls)
        show_problems(self._viewer, layer, ls, problems)
        if problems:
            lines = [str(p) for p in problems[:6]]
            if len(problems) > 6:
                lines.append(f"... and {len(problems) - 6} more")
            _qt.set_label(self.check, "Check: " + "\n".join(lines), "warning")
        else:
            _qt.set_label(self.check, "", "warning")

    @property
    def target(self) -> tuple[str, str] | None:
        """The ``(level, point)`` the next click places on the chosen film, or None."""
        layer = self.landmarks_layer
        session = self._session(layer) if layer is not None else None
        return session.guide.target if session else None
