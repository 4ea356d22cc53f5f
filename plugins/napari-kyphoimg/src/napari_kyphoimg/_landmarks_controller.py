"""The rules of the Landmarks dock, without napari or Qt.

:class:`LandmarksController` owns what the Landmarks widget decides: the placement plan and
the next target, placing, moving and deleting a point, accepting a vertebra's proposed
points, undo and redo, what each field (scheme, levels, index levels, patient, time point,
rater, findings) may change in the landmark file, where and whether a file is saved
(through :mod:`napari_kyphoimg._session`), loading a file onto a film, and the guide, check
and status sentences as plain strings. The widget (:mod:`napari_kyphoimg._landmarks_widget`)
holds the controls and the event wiring and shows what the controller returns; it holds no
rule of its own.

The controller talks to a landmarks layer through :class:`LandmarkLayer`: an ``(N, 2)``
array of ``(row, col)`` pixels, a ``features`` frame (``level``, ``point``) and the
``metadata["kyphoimg"]`` dict described in :mod:`napari_kyphoimg._layers`. napari's
``Points`` layer is one; a test may pass a plain object. The film of a layer is found
through the ``film_of`` callable given at construction (anything with ``name`` and
``metadata``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
import pandas as pd

from kyphoimg import KyphoimgError, read_landmarks
from kyphoimg.assist import REVIEW_BELOW, confirm, refine, unconfirmed
from kyphoimg.landmarks import LEVELS, LandmarkSet, file_sha256, landmark_problems
from kyphoimg.study import check_rater
from kyphoimg.timepoints import TIMEPOINTS, normalise_timepoint

from ._files import LANDMARK_SUFFIX, landmark_path_for
from ._guide import PlacementGuide, describe_point, level_range, placement_plan
from ._layerdata import (
    features_frame,
    header_from_meta,
    landmarks_to_layer,
    point_labels,
    rows_labelled,
    split_unknown,
)
from ._layers import (
    default_header,
    info,
    landmarks_of,
    pair_with_film_layer,
    set_header,
    set_info,
)
from ._session import read_only_reason, save_layer_set, save_message
from ._undo import UndoStack
from ._writer import landmark_set_for_file

__all__ = [
    "DEFAULT_LEVELS",
    "FIELDS",
    "FilmFields",
    "FilmLayer",
    "GuideText",
    "LandmarkLayer",
    "LandmarksController",
    "Message",
    "Refusal",
    "Saved",
]

DEFAULT_LEVELS = ("T11", "L3")

#: The header fields a control writes, one each.
FIELDS = ("scheme", "index_levels", "patient_id", "timepoint", "rater")


class LandmarkLayer(Protocol):
    """What the controller reads and writes on a landmarks layer (napari ``Points`` is one).

    Attributes
    ----------
    data : ndarray, shape (N, 2)
        ``(row, col)`` of each point, in pixels.
    features : pandas.DataFrame
        ``level`` and ``point`` of each row.
    metadata : mapping
        ``metadata["kyphoimg"]`` is the layer's landmark record (role ``"landmarks"``).
    selected_data : set of int
        The selected rows.
    """

    data: Any
    features: pd.DataFrame
    metadata: Any
    selected_data: Any

    def refresh_colors(self) -> None:
        """Recolour the points after their features changed."""

    def remove(self, indices: Any) -> None:
        """Remove the given rows."""


class FilmLayer(Protocol):
    """A film: its ``name`` and ``metadata["kyphoimg"]`` (role ``"film"``)."""

    name: str
    metadata: Any


class Message(NamedTuple):
    """A sentence for the status line and its kind (``ok``, ``muted``, ``error``, ...)."""

    text: str
    kind: str = "info"


class GuideText(NamedTuple):
    """What the guide shows: its sentence, the progress line, the target and points placed."""

    text: str
    progress: str
    target: tuple[str, str] | None
    placed_at_target: frozenset[str]


class Refusal(NamedTuple):
    """A field the file keeps: why, and the value the control shows again (or None)."""

    message: Message
    restore: Any = None


class Saved(NamedTuple):
    """A save: the file written and the sentence telling the reader where it went."""

    path: Path
    message: Message


@dataclass
class FilmFields:
    """The field values the widget shows for a film (and whether the rater may change).

    Attributes
    ----------
    levels : tuple of (str, str) or None
        First and last level, or None to keep the controls' range.
    scheme : str or None
        The file's scheme (None: keep the control's).
    index_levels : list of str
        The chosen index levels.
    index_choices : list of str or None
        The index level choices (None: the planned levels).
    patient_id, timepoint, rater : str or None
        The identity fields.
    rater_enabled : bool
        False in a reading session (the reader is fixed) and for a file with points.
    read_only : str or None
        Why nothing may be written for the film.
    """

    levels: tuple[str, str] | None = None
    scheme: str | None = None
    index_levels: list[str] = field(default_factory=list)
    index_choices: list[str] | None = None
    patient_id: str = ""
    timepoint: str | None = None
    rater: str = ""
    rater_enabled: bool = True
    read_only: str | None = None


@dataclass
class _Session:
    """Editing state of one landmarks layer."""

    guide: PlacementGuide
    undo: UndoStack = field(default_factory=UndoStack)  # also redo
    removing: list[tuple[str, str]] = field(default_factory=list)
    dragging: bool = False


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text).strip("_") or "film"


def placed(layer: LandmarkLayer) -> set[tuple[str, str]]:
    """Return the ``(level, point)`` pairs a layer holds."""
    return set(point_labels(layer.features))


def _lm(layer: LandmarkLayer) -> dict[str, Any]:
    lm = info(layer, "landmarks")
    if lm is None:
        raise KyphoimgError(f"layer {getattr(layer, 'name', layer)!r} is not a landmarks layer")
    return lm


def header_of(layer: LandmarkLayer) -> LandmarkSet:
    """Return the landmark file header a layer carries (without its points)."""
    return header_from_meta(_lm(layer)["header"])


def check_text(problems: Sequence[Any], limit: int = 6) -> str:
    """Return the check line: the first ``limit`` problems, or ``""`` when there are none."""
    if not problems:
        return ""
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more")
    return "Check: " + "\n".join(lines)


class LandmarksController:
    """The state and rules of the Landmarks dock for every landmarks layer it edits.

    Parameters
    ----------
    film_of : callable
        ``film_of(layer)`` returns the film layer (``name`` and ``metadata``) a landmarks
        layer belongs to, or None.

    Attributes
    ----------
    busy : bool
        True while the controller writes a layer's points: the view ignores the events.
    saving : bool
        True while it writes a layer's metadata that is not a change of the file.
    refilling : bool
        True while a layer is refilled with another film's points.
    """

    def __init__(self, film_of: Callable[[LandmarkLayer], FilmLayer | None]) -> None:
        self.film_of = film_of
        self.sessions: dict[str, _Session] = {}
        self.busy = False
        self.saving = False
        self.refilling = False

    # ------------------------------------------------------------------ quiet writes
    @contextlib.contextmanager
    def quiet(self, *, saving: bool = False, refilling: bool = False) -> Iterator[None]:
        """Mark the writes inside as the controller's own (the view ignores their events)."""
        old = self.busy, self.saving, self.refilling
        self.busy = True
        self.saving = saving or old[1]
        self.refilling = refilling or old[2]
        try:
            yield
        finally:
            self.busy, self.saving, self.refilling = old

    @contextlib.contextmanager
    def bookkeeping(self) -> Iterator[None]:
        """Mark metadata writes that are not changes of the landmark file (no autosave)."""
        old, self.saving = self.saving, True
        try:
            yield
        finally:
            self.saving = old

    def film_meta(self, layer: LandmarkLayer) -> dict[str, Any] | None:
        """Return the ``metadata["kyphoimg"]`` of a layer's film, or None."""
        film = self.film_of(layer)
        return info(film, "film") if film is not None else None

    # ------------------------------------------------------------------ sessions, plan
    def session(self, layer: LandmarkLayer | None) -> _Session | None:
        """Return the editing session of a landmarks layer, or None."""
        lm = info(layer, "landmarks") if layer is not None else None
        return None if lm is None else self.sessions.get(lm["uid"])

    def plan_for(self, layer: LandmarkLayer) -> tuple[tuple[str, str], ...]:
        """Return the guide's plan: the chosen range, else placed levels and the study's range."""
        lm = _lm(layer)
        levels = lm.get("levels")
        if not levels:
            hint = (self.film_meta(layer) or {}).get("levels")
            span = {lv for lv, _ in placed(layer)} | set(level_range(*(hint or DEFAULT_LEVELS)))
            ordered = sorted(span, key=LEVELS.index)
            levels = level_range(ordered[0], ordered[-1])
        return placement_plan(levels, lm["header"]["scheme"])

    def attach(self, layer: LandmarkLayer) -> bool:
        """Start editing a landmarks layer; False when it is already edited (or not one)."""
        lm = info(layer, "landmarks")
        if lm is None or lm["uid"] in self.sessions:
            return False
        session = _Session(guide=PlacementGuide(self.plan_for(layer)))
        session.guide.cursor = session.guide.first_missing(placed(layer))
        session.undo.reset(layer.data, layer.features)
        self.sessions[lm["uid"]] = session
        return True

    def detach(self, layer: LandmarkLayer) -> None:
        """Forget a landmarks layer (removed from the viewer)."""
        lm = info(layer, "landmarks")
        if lm is not None:
            self.sessions.pop(lm["uid"], None)

    def restart(self, layer: LandmarkLayer, history: str | None = None) -> None:
        """Re-plan the guide from the layer (first missing point) after new contents.

        ``history`` ``"reset"`` starts the undo history there, ``"push"`` records the
        contents as one change, None leaves the history alone.
        """
        session = self.session(layer)
        if session is None:
            return
        session.guide = PlacementGuide(self.plan_for(layer))
        session.guide.cursor = session.guide.first_missing(placed(layer))
        if history == "reset":
            session.undo.reset(layer.data, layer.features)
        elif history == "push":
            session.undo.push(layer.data, layer.features)

    def replan(self, layer: LandmarkLayer, levels: Sequence[str]) -> None:
        """Make ``levels`` the guide's plan (the file is not rewritten)."""
        lm = dict(_lm(layer))
        lm["levels"] = list(levels)
        with self.bookkeeping():
            set_info(layer, lm)
        self.restart(layer)

    def target(self, layer: LandmarkLayer | None) -> tuple[str, str] | None:
        """Return the ``(level, point)`` the next click places on ``layer``, or None."""
        session = self.session(layer)
        return session.guide.target if session else None

    def ensure_target(self, layer: LandmarkLayer) -> tuple[str, str] | None:
        """Point the guide at the first missing point when it has no target; return it."""
        session = self.session(layer)
        if session is None:
            return None
        if session.guide.target is None:
            session.guide.cursor = session.guide.first_missing(placed(layer))
        return session.guide.target

    def step(self, layer: LandmarkLayer, delta: int) -> bool:
        """Move the target ``delta`` places along the plan; False without a session."""
        session = self.session(layer)
        if session is None:
            return False
        session.guide.step(delta)
        return True

    # ------------------------------------------------------------------ point edits
    def points_removing(self, layer: LandmarkLayer, indices: Iterable[int]) -> None:
        """Remember which landmarks are about to be removed (the guide goes back to them)."""
        session = self.session(layer)
        if session is not None:
            session.removing = point_labels(layer.features, [i for i in indices if i >= 0])

    def dragging(self, layer: LandmarkLayer, on: bool) -> None:
        """Record whether a point of ``layer`` is being dragged."""
        session = self.session(layer)
        if session is not None:
            session.dragging = on

    def is_dragging(self, layer: LandmarkLayer) -> bool:
        """Whether a point of ``layer`` is being dragged."""
        session = self.session(layer)
        return bool(session and session.dragging)

    def points_added(self, layer: LandmarkLayer) -> bool:
        """After a click placed the last row: drop the point it re-placed, advance the guide.

        Returns
        -------
        bool
            Whether points remain to be placed (the view keeps placing, else selects).
        """
        session = self.session(layer)
        if session is None:
            return False
        new = len(layer.data) - 1
        labels = point_labels(layer.features, [new])
        if labels:
            same = [i for i in rows_labelled(layer.features, *labels[0]) if i != new]
            if same:  # a click on a placed target re-places it
                with self.quiet():
                    layer.remove(same)
        done = placed(layer)
        if labels and session.guide.target == labels[0]:
            session.guide.advance(done)
        elif session.guide.target in done:
            session.guide.cursor = session.guide.first_missing(done, session.guide.cursor)
        return session.guide.target is not None

    def points_removed(self, layer: LandmarkLayer) -> None:
        """After points were removed: the first of them (in plan order) is the target."""
        session = self.session(layer)
        if session is None or not session.removing:
            return
        plan = session.guide.plan
        first = min(session.removing, key=lambda t: plan.index(t) if t in plan else 1e9)
        session.removing = []
        if not session.guide.go_to(*first):
            session.guide.cursor = session.guide.first_missing(placed(layer))

    def record(self, layer: LandmarkLayer) -> None:
        """Record the layer's points as one change that can be undone."""
        session = self.session(layer)
        if session is not None:
            session.undo.push(layer.data, layer.features)

    def place(self, layer: LandmarkLayer, rc: Sequence[float]) -> tuple[str, str] | None:
        """Place the target at ``rc`` (row, col pixels), as a click does; return its label.

        Parameters
        ----------
        layer : LandmarkLayer
            An attached landmarks layer.
        rc : sequence of float
            ``(row, col)`` in pixels.

        Returns
        -------
        (str, str) or None
            The landmark placed, or None when every point is placed.
        """
        target = self.target(layer)
        if target is None:
            return None
        row = features_frame([target[0]], [target[1]])
        with self.quiet():
            layer.data = np.vstack([np.asarray(layer.data).reshape(-1, 2), [rc]])
            layer.features = pd.concat([layer.features, row], ignore_index=True)
        self.points_added(layer)
        self.record(layer)
        return target

    def move(self, layer: LandmarkLayer, index: int, rc: Sequence[float]) -> None:
        """Move row ``index`` to ``rc`` (a drag released) and record the change."""
        data = np.array(layer.data, copy=True)
        data[index, -2:] = rc
        with self.quiet():
            layer.data = data
        self.record(layer)

    def delete_rows(self, layer: LandmarkLayer) -> list[int]:
        """Return the rows Delete removes: the selected points, else the target's point."""
        indices = sorted(layer.selected_data)
        target = self.target(layer)
        if not indices and target is not None:
            indices = rows_labelled(layer.features, *target)
        return indices

    def delete(self, layer: LandmarkLayer, indices: Sequence[int]) -> None:
        """Delete rows (the guide goes back to the first of them) and record the change."""
        self.points_removing(layer, indices)
        with self.quiet():
            layer.remove(list(indices))
        self.points_removed(layer)
        self.record(layer)

    def snap(self, layer: LandmarkLayer, image: np.ndarray, indices: Sequence[int]) -> bool:
        """Move released points onto the edges near them (:func:`kyphoimg.assist.refine`).

        Only the rows ``indices`` change, and only where ``image`` (bone bright) shows an
        edge (confidence at least :data:`kyphoimg.assist.REVIEW_BELOW`).

        Returns
        -------
        bool
            Whether a point moved.
        """
        if not len(indices):
            return False
        labels = point_labels(layer.features, indices)
        levels = {lv for lv, _ in labels}
        ls = landmarks_of(layer).replace(source=None)
        part = ls.replace(points={lv: pts for lv, pts in ls.points.items() if lv in levels})
        try:
            result = refine(image, part)
        except (KyphoimgError, ValueError):
            return False
        data = np.array(layer.data, copy=True)
        moved = False
        for i, (lv, name) in zip(indices, labels, strict=False):
            conf = result.confidence.get(lv, {}).get(name, 0.0)
            if conf >= REVIEW_BELOW and name in result.landmarks.points.get(lv, {}):
                data[i, -2:] = result.landmarks.points[lv][name]
                moved = True
        if moved:
            with self.quiet():
                layer.data = data
        return moved

    def undo(self, layer: LandmarkLayer | None, *, redo: bool = False) -> tuple[bool, Message]:
        """Undo (or redo) the last change of ``layer``.

        Returns
        -------
        (bool, Message)
            Whether the points changed, and what to tell the reader.
        """
        session = self.session(layer)
        state = None
        if session is not None:
            state = session.undo.redo() if redo else session.undo.undo()
        if state is None or layer is None:
            return False, Message("Nothing to redo." if redo else "Nothing to undo.", "muted")
        data, features = state
        with self.quiet():
            layer.selected_data = set()
            layer.data = data
            layer.features = features
            layer.refresh_colors()
        session.guide.cursor = session.guide.first_missing(placed(layer))
        return True, Message("Redone." if redo else "Undone.", "muted")

    def accept(self, layer: LandmarkLayer, level: str | None = None) -> Message:
        """Accept the proposed points of a vertebra as they are (the target's by default).

        Parameters
        ----------
        layer : LandmarkLayer
            The landmarks layer.
        level : str, optional
            The level; default the target's level, else every proposed level.

        Returns
        -------
        Message
            What was accepted.
        """
        target = self.target(layer)
        if level is None and target is not None:
            level = target[0]
        ls = landmarks_of(layer)
        if not unconfirmed(ls).get(level or "", ()) and level is not None:
            level = None  # nothing proposed at the target: accept what is proposed anywhere
        set_header(layer, confirm(ls, level).replace(points={}))
        return Message(f"Accepted the proposed points of {level or 'every vertebra'}.", "ok")

    def put_set(
        self,
        layer: LandmarkLayer,
        ls: LandmarkSet,
        *,
        history: str,
        path: tuple[str, str | None] | None = None,
    ) -> None:
        """Replace a layer's points and header by a set; re-plan the guide.

        ``history="reset"`` starts the undo history there (a file loaded), ``"push"``
        records it as one change that can be undone (proposals added). ``path`` (the file
        and its SHA-256 as read) becomes the layer's landmark file.
        """
        known, unknown = split_unknown(ls)
        data, features = landmarks_to_layer(known)
        with self.quiet():
            layer.selected_data = set()
            layer.data = data
            layer.features = features
            layer.refresh_colors()
            lm = dict(_lm(layer))
            if path is not None:
                lm["path"], lm["sha256"] = path
            lm["levels"] = None
            lm["unknown_points"] = unknown
            with self.bookkeeping():  # not yet: the new points with the old header
                set_info(layer, lm)
            set_header(layer, ls)
        self.restart(layer, history)

    # ------------------------------------------------------------------ fields
    @staticmethod
    def field_value(name: str, raw: Any) -> Any:
        """Return a control's value as the landmark file stores it.

        Raises
        ------
        KyphoimgError
            If a rater id is not valid.
        """
        if name == "index_levels":
            return tuple(lv for lv in LEVELS if lv in set(raw or ()))
        if name == "scheme":
            return raw
        if name == "timepoint":
            return raw or None
        text = (raw or "").strip()
        return check_rater(text or None) if name == "rater" else (text or None)

    @classmethod
    def with_fields(cls, header: LandmarkSet, values: Mapping[str, Any]) -> LandmarkSet:
        """Return ``header`` with every control's value (for a new landmark file only)."""
        changes = {n: cls.field_value(n, values[n]) for n in FIELDS if n in values and n != "rater"}
        changes["rater"] = (values.get("rater") or "").strip() or header.rater
        return header.replace(**changes)

    @classmethod
    def new_header(cls, film: FilmLayer, values: Mapping[str, Any]) -> LandmarkSet:
        """Return the header of a new landmark file for ``film`` with the fields' values.

        Parameters
        ----------
        film : FilmLayer
            The film (its image reference, calibration and identity).
        values : mapping
            The controls' values by field name (:data:`FIELDS`).

        Returns
        -------
        LandmarkSet
            An empty set with the film's header and the fields' values.
        """
        return cls.with_fields(default_header(film), values)

    def set_field(self, layer: LandmarkLayer, name: str, raw: Any) -> Refusal | None:
        """Write one field into the layer's header, and nothing else.

        The rater of a file with points never changes.

        Parameters
        ----------
        layer : LandmarkLayer
            The landmarks layer.
        name : str
            One of :data:`FIELDS`.
        raw : object
            The control's value.

        Returns
        -------
        Refusal or None
            Why nothing was written (and the value the control shows again), or None.
        """
        try:
            value = self.field_value(name, raw)
        except KyphoimgError as exc:
            return Refusal(Message(f"Not saved: {exc}", "error"))
        header = header_of(layer)
        if getattr(header, name) == value:
            return None
        if name == "rater" and header.rater and len(layer.data):
            said = (
                f"The rater of a file with points never changes ({header.rater}); another "
                "reader opens the study with their own id (--rater) and gets their own file."
            )
            return Refusal(Message(said, "error"), header.rater)
        set_header(layer, header.replace(**{name: value}))  # one metadata event: one autosave
        return None

    @staticmethod
    def findings_of(layer: LandmarkLayer | None, level: str | None) -> dict[str, str]:
        """Return the reader's findings at ``level``."""
        if layer is None or not level:
            return {}
        return dict(header_of(layer).findings.get(level, {}))

    @staticmethod
    def set_findings(layer: LandmarkLayer, level: str, values: Mapping[str, str | None]) -> None:
        """Write the findings of one level (None drops a finding), keeping the others."""
        header = header_of(layer)
        findings = {lv: dict(v) for lv, v in header.findings.items()}
        current = findings.setdefault(level, {})
        for key, value in values.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        if not current:
            findings.pop(level)
        set_header(layer, header.replace(findings=findings))

    def timepoint_choices(
        self, film: Mapping[str, Any] | None, layer: LandmarkLayer | None
    ) -> list[str]:
        """Return the study's time points, plus the file's own when it is not one of them."""
        vocabulary = list((film or {}).get("timepoints") or TIMEPOINTS)
        if layer is not None:
            own = header_of(layer).timepoint
            if own:
                with contextlib.suppress(KyphoimgError):
                    own = normalise_timepoint(own, vocabulary)
                if own not in vocabulary:
                    vocabulary.append(own)
        return vocabulary

    @staticmethod
    def shown_timepoint(value: str | None, choices: Sequence[str]) -> str | None:
        """Return a time point as the choices name it (canonical when known)."""
        if not value:
            return None
        with contextlib.suppress(KyphoimgError):
            value = normalise_timepoint(value, list(choices))
        return value

    @staticmethod
    def index_choices(layer: LandmarkLayer | None) -> list[str]:
        """Return the levels findings can be given for: the file's index levels."""
        return [] if layer is None else list(header_of(layer).index_levels)

    @staticmethod
    def index_level_choices(levels: Iterable[str], keep: Iterable[str] = ()) -> list[str]:
        """Return the planned levels plus any index level already chosen outside them."""
        chosen = set(levels) | {lv for lv in keep if lv in LEVELS}
        return [lv for lv in LEVELS if lv in chosen]

    def film_fields(
        self, film: FilmLayer | None, layer: LandmarkLayer | None, levels: Sequence[str]
    ) -> FilmFields:
        """Return the field values for the film shown (from its file, else its study)."""
        meta = info(film, "film") if film is not None else None
        out = FilmFields(read_only=read_only_reason(meta))
        if layer is not None:
            header = header_of(layer)
            plan_levels = [lv for lv, _ in self.plan_for(layer)]
            if plan_levels:
                out.levels = (plan_levels[0], plan_levels[-1])
            out.scheme = header.scheme
            span = level_range(*out.levels) if out.levels else levels
            out.index_choices = self.index_level_choices(span, header.index_levels)
            out.index_levels = list(header.index_levels)
            out.patient_id = header.patient_id or ""
            out.timepoint = header.timepoint
            out.rater = header.rater or (meta or {}).get("rater") or ""
            owned = bool(header.rater) and len(layer.data) > 0
        elif meta is not None:
            if meta.get("levels"):
                out.levels = tuple(meta["levels"])  # type: ignore[assignment]
            out.patient_id = meta.get("patient_id") or ""
            out.timepoint = meta.get("timepoint")
            out.rater = meta.get("rater") or ""
            owned = False
        else:
            owned = False
        # A reading session fixes the reader; the rater of a file with points stays.
        out.rater_enabled = not (meta or {}).get("rater") and not owned
        return out

    # ------------------------------------------------------------------ files
    def target_path(self, layer: LandmarkLayer, folder: Any = None) -> Path | None:
        """Return the file the layer's set is saved to (in ``folder`` when one is chosen)."""
        lm = _lm(layer)
        if folder is not None and str(folder) and Path(folder).is_dir():
            if lm.get("image_file"):
                return landmark_path_for(lm["image_file"], folder)
            film = self.film_of(layer)
            name = film.name if film is not None else getattr(layer, "name", "film")
            return Path(folder) / f"{_slug(name)}{LANDMARK_SUFFIX}"
        if lm.get("path"):
            return Path(lm["path"])
        if lm.get("image_file"):
            return landmark_path_for(lm["image_file"])
        return None

    def forget_path(self, layer: LandmarkLayer) -> None:
        """Let the layer's file be derived again (a save folder was chosen)."""
        lm = dict(_lm(layer))
        lm["path"] = None
        with self.bookkeeping():
            set_info(layer, lm)

    def save(self, layer: LandmarkLayer, folder: Any = None) -> Saved | None:
        """Save the layer's set (never over a file changed since it was loaded).

        Returns
        -------
        Saved or None
            Where it went and what to say, or None when there is nowhere to save.

        Raises
        ------
        KyphoimgError
            If the film is read-only or the file on disk cannot be read.
        OSError
            If the system refuses the write.
        """
        path = self.target_path(layer, folder)
        if path is None:
            return None
        lm = dict(_lm(layer))
        ls = landmark_set_for_file(layer.data, layer.features, lm, path)
        outcome = save_layer_set(ls, path, lm, self.film_meta(layer))
        with self.bookkeeping():
            set_info(layer, lm)
        return Saved(Path(outcome.path), Message(*save_message(outcome)))

    def autosave(self, layer: LandmarkLayer, folder: Any = None) -> tuple[Saved | None, Message]:
        """Save after a change; return the save (or None) and what to tell the reader."""
        try:
            saved = self.save(layer, folder)
        except (OSError, KyphoimgError) as exc:
            return None, Message(f"Autosave failed: {exc}", "error")
        if saved is None:
            return None, Message(
                "Not saved: this film has no file. Choose a save folder to keep the landmarks.",
                "warning",
            )
        return saved, saved.message

    @staticmethod
    def read(path: str | Path, film: FilmLayer | None) -> tuple[LandmarkSet, tuple[str, str]]:
        """Read a landmark file for a film, refusing one saved for another image.

        Returns
        -------
        (LandmarkSet, (str, str))
            The paired set, and the file's absolute path and SHA-256 as read.

        Raises
        ------
        KyphoimgError
            If no film is chosen, the file cannot be read, or it belongs to another image.
        """
        meta = info(film, "film") if film is not None else None
        if meta is None:
            raise KyphoimgError("Choose a film first.")
        digest = file_sha256(path)  # what a save checks the file against
        ls = pair_with_film_layer(read_landmarks(path, validate=False), meta, film.name)
        return ls, (str(Path(path).resolve()), digest)

    # ------------------------------------------------------------------ texts
    def guide(self, layer: LandmarkLayer | None) -> GuideText:
        """Return the guide's sentence and progress for ``layer``."""
        session = self.session(layer)
        if session is None or layer is None:
            return GuideText("", "", None, frozenset())
        done = placed(layer)
        count, total = session.guide.progress(done)
        if read_only_reason(self.film_meta(layer)) is not None:  # nothing to place or drag
            return GuideText(
                "Read-only: shown as on disk, nothing is written (why: below)",
                f"{count} of {total} points in the file",
                None,
                frozenset(),
            )
        target = session.guide.target
        if target is None:
            text = f"All {total} points placed · drag to adjust, N / Shift+N to re-place one"
        elif target in done:
            text = f"Re-place: {describe_point(*target)} (click its new position)"
        else:
            text = f"Next: {describe_point(*target)}"
        here = frozenset(p for lv, p in done if target and lv == target[0])
        return GuideText(text, f"{count} of {total} points placed", target, here)

    @staticmethod
    def problems(layer: LandmarkLayer) -> tuple[LandmarkSet, list[Any]]:
        """Return the layer's set and every problem the command line would refuse."""
        ls = landmarks_of(layer).replace(source=None)
        return ls, list(landmark_problems(ls))

    def status(self, film: FilmLayer | None, layer: LandmarkLayer | None, folder: Any) -> Message:
        """Return the status sentence for the film shown."""
        meta = info(film, "film") if film is not None else None
        notes = list(meta.get("notes", [])) if meta else []
        refused = [n for n in notes if n.startswith("landmarks not loaded")]
        if film is None:
            return Message("Open a DICOM film (File ▸ Open) or the sample data to begin.", "muted")
        if read_only_reason(meta) is not None:
            return Message(read_only_reason(meta) or "", "error")
        if refused:
            return Message(refused[0], "error")
        if layer is not None and self.problems(layer)[1]:
            return Message(
                "This landmark file has problems (listed above); fix them here.", "error"
            )
        if layer is None:
            return Message("No landmarks on this film yet: press 'Place landmarks'.", "muted")
        path = self.target_path(layer, folder)
        return Message(f"Landmark file: {path}" if path else (notes[-1] if notes else ""), "muted")

    @staticmethod
    def proposed(layer: LandmarkLayer) -> dict[str, Any]:
        """Return the proposed (unconfirmed) points of each level."""
        return dict(unconfirmed(landmarks_of(layer)))
