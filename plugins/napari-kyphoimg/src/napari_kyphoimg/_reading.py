"""A reading session: one study, one reader, one film on the canvas at a time.

:func:`open_study` builds the study's worklist (:func:`kyphoimg.study.open_worklist`, the
same object ``kyphoimg run`` measures from), docks the Worklist, Landmarks and
Measurements widgets and shows the first film still to do. Only the active film is
loaded (the side-by-side view adds that patient's other films), so a study of hundreds
of patients opens in seconds with memory bounded by a few films. The session is the
controller the widgets are views of, so a reading session can be driven from Python::

    session = open_study(viewer, "study/", rater="AB")
    session.worklist            # entries: patient_id, timepoint, film_path, landmark_path, status
    session.next(unannotated=True)
    session.go_to(session.worklist[5])

Every landmark file the session writes is this reader's (``<film>.<rater>.landmarks.json``).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from napari.layers import Layer
from psygnal import Signal

from kyphoimg import read_radiograph, read_table, scan
from kyphoimg.assist import propose_from
from kyphoimg.atomic import atomic_write_text
from kyphoimg.errors import StudyError
from kyphoimg.landmarks import RepairOutcome
from kyphoimg.study import StudyEntry, Worklist, open_worklist
from kyphoimg.timepoints import assign_timepoints

from ._ahead import shared_reader
from ._layers import films, info, landmark_layer_for, landmarks_of
from ._reader import radiograph_layer_data
from ._session import NO_READER, not_this_reading, read_only_reason, repair

__all__ = ["ReadingSession", "open_study", "start_session"]

#: Keys of the reading session (bound on the viewer).
NEXT_FILM_KEY = "PageDown"
PREVIOUS_FILM_KEY = "PageUp"
NEXT_TODO_KEY = "Shift-PageDown"


#: Roles of the layers a film switch updates in place (the landmarks' overlay, values and
#: problem rings are redrawn from the landmarks); any other (a calibration line) is replaced.
_SWAPPABLE = frozenset({"film", "landmarks", "overlay", "values", "problems"})


def _refill_film(film: Any, data: Any, kwargs: dict[str, Any]) -> None:
    """Give a film layer another film's pixels, metadata, scale and contrast, in place.

    Each napari setter redraws the layer, so only what differs is set.
    """
    film.metadata = kwargs["metadata"]
    film.data = data
    if not np.array_equal(film.scale, kwargs["scale"]):
        film.scale = kwargs["scale"]
    if film.colormap.name != kwargs["colormap"]:
        film.colormap = kwargs["colormap"]
    film.name = kwargs["name"]
    _window(film, kwargs.get("contrast_limits"))


def _window(film: Any, limits: Any) -> None:
    """Set a film layer's window, its slider spanning every value shown (``display_range``).

    napari makes the slider span the window it is given: the reader could not widen it.
    """
    if limits is None:
        return
    shown = (info(film, "film") or {}).get("display_range") or limits
    film.contrast_limits_range = [min(shown[0], limits[0]), max(shown[1], limits[1])]
    film.contrast_limits = limits


#: The layer events napari answers by recomputing the viewer's dims (ViewerModel.add_layer).
_DIMS_EVENTS = ("data", "scale", "translate")


def _dims_handler(layer: Any) -> Any | None:
    """Return the viewer's handler of a layer's data changes (it recomputes the dims).

    napari connects it by weak reference when the layer is added; it is looked up among
    the emitter's callbacks (not read off the viewer, whose private attributes a plugin
    should not touch). None when this napari connects nothing by that name.
    """
    for callback in layer.events.data.callbacks:
        if isinstance(callback, tuple) and callback[1] == "_on_layers_change":
            owner = callback[0]()
            return None if owner is None else getattr(owner, callback[1])
    return None


@functools.lru_cache(maxsize=8)
def _resolved(path: Path) -> Path:
    """Return ``path`` resolved (kept: the docks ask for the film on the canvas often)."""
    return path.resolve()


@contextlib.contextmanager
def _switch_batch(layers: list[Any]) -> Iterator[None]:
    """Recompute the dims once and slice and redraw each layer once, on leaving.

    Every setter a film switch calls (data, scale, features, size, colours, name...)
    re-slices its layer and redraws it, and each data or scale change makes napari
    recompute every layer's extent and the dims: in place, a switch calls some twenty.
    Here the refreshes (napari's own batching, ``Layer._block_refresh``, when this napari
    has it) and the dims updates are held back; on leaving, the dims are recomputed once,
    which re-slices every layer whose view it changed (a film of another size or
    spacing), and only the layers it did not re-slice are refreshed.
    """
    update = _dims_handler(layers[0]) if layers else None
    blockers = [getattr(layer, "_block_refresh", None) for layer in layers]
    batched = all(callable(b) for b in blockers)
    with contextlib.ExitStack() as stack:
        if batched:
            for block in blockers:
                stack.enter_context(block())
        if update is not None:
            for layer in layers:
                for name in _DIMS_EVENTS:
                    stack.enter_context(getattr(layer.events, name).blocker(update))
        yield
    if update is None and not batched:
        return
    sliced: set[int] = set()
    if update is not None:
        # A re-slice (napari's ``_slice_dims``) ends with the layer's ``set_data`` event.
        hooks = [(layer, _recorder(sliced, layer)) for layer in layers]
        for layer, hook in hooks:
            layer.events.set_data.connect(hook)
        try:
            update()
        finally:
            for layer, hook in hooks:
                layer.events.set_data.disconnect(hook)
    if batched:
        for layer in layers:
            if id(layer) not in sliced:
                layer.refresh()


def _recorder(sliced: set[int], layer: Any) -> Any:
    """Return a callback adding ``layer``'s id to ``sliced``."""

    def record(_event: Any = None) -> None:
        sliced.add(id(layer))

    return record


#: The longest a film switch waits for its film from the read-ahead process.
_AHEAD_WAIT_S = 5.0


def _owned_by(layer: Any, film_uids: set[str]) -> bool:
    """Whether ``layer`` is a film of ``film_uids`` or hangs off one (landmarks, overlay...)."""
    meta = info(layer)
    if meta is None:
        return False
    if meta.get("role") == "film":
        return meta.get("uid") in film_uids
    return meta.get("film_uid") in film_uids


class ReadingSession:
    """One reader working through a study's worklist, one film at a time.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer.
    worklist : kyphoimg.study.Worklist
        The study's films for this reader.
    landmarks : LandmarksWidget, optional
        The Landmarks widget to keep on the active film.
    read_only : bool, optional
        Write nothing (no reader was named): every film opens read-only.

    Attributes
    ----------
    changed : psygnal.Signal
        Emitted with the active entry after it changes or its status is re-read.
    in_place : bool
        Switch films by updating the layers on the canvas (default) rather than removing
        them and adding the next film's (the way before; kept to measure against).
    read_ahead : bool
        Read the next film of the worklist in a background thread after each switch
        (default), so that going on to it does not wait for its decoding.
    """

    in_place = True
    read_ahead = True

    changed = Signal(object)

    def __init__(
        self,
        viewer: Any,
        worklist: Worklist,
        landmarks: Any | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        self.viewer = viewer
        self.worklist = worklist
        self.landmarks = landmarks
        self.read_only = read_only
        self.active: StudyEntry | None = None
        self.side_by_side = False
        self._film_uids: set[str] = set()
        self._fresh: StudyEntry | None = None  # the active entry just re-read by next()
        self.levels: tuple[str, str] | None = None  # the level range last used in this study
        self.widgets: dict[str, Any] = {}
        # The next film's pixels, read in the background while the reader works on this one.
        self._ahead: tuple[Path, tuple[int, int], Future[Any]] | None = None
        if landmarks is not None:
            landmarks.saved.connect(self._on_saved)
        viewer.bind_key(NEXT_FILM_KEY, lambda _v: self.next(), overwrite=True)
        viewer.bind_key(PREVIOUS_FILM_KEY, lambda _v: self.previous(), overwrite=True)
        viewer.bind_key(NEXT_TODO_KEY, lambda _v: self.next(unannotated=True), overwrite=True)

    @property
    def blind(self) -> bool:
        """Whether this is a blinded reading (films in a seeded random order, unnamed)."""
        return self.worklist.seed is not None

    @property
    def rater(self) -> str | None:
        """The reader of this session."""
        return self.worklist.rater

    # -- navigation ----------------------------------------------------------------------
    def go_to(self, entry: StudyEntry) -> StudyEntry:
        """Show ``entry``'s film (alone, or with its patient's films side by side).

        The film on the canvas before is taken away (its landmarks were saved as they
        were placed), its status re-read, and the new film's landmark file for this
        reader loaded onto it. With one film on the canvas, its layers take the new
        film's data in place (:attr:`in_place`); the next film of the worklist is then
        read in the background (:attr:`read_ahead`).

        Parameters
        ----------
        entry : StudyEntry
            An entry of the worklist.

        Returns
        -------
        StudyEntry
            The entry as the worklist now holds it.
        """
        entry = self.worklist.refresh(entry)  # its file as it is on disk now
        self._remember_levels()
        if self.active is not None and self.active is not self._fresh:
            self.worklist.refresh(self.active)
        self._fresh = None
        shown = self._swap(entry)
        if shown is None:
            self._unload()
            group = self.worklist.patient(entry.patient_id) if self.side_by_side else [entry]
            for e in group:
                layer = self._load(e)
                if e.film_path == entry.film_path:
                    shown = layer
        self.active = entry
        self._arrange(entry)
        for widget in self.widgets.values():  # the layers' names changed in place
            if hasattr(widget, "reset_choices"):
                widget.reset_choices()
        if shown is not None:
            self.viewer.layers.selection.active = shown
            if self.landmarks is not None:
                self.landmarks.show_film(shown)
        self._read_ahead(self.worklist.next(entry))
        self.changed.emit(entry)
        return entry

    def next(self, *, unannotated: bool = False) -> StudyEntry | None:
        """Go to the next film (or the next one not complete); None at the end.

        Parameters
        ----------
        unannotated : bool, optional
            Skip films whose status is complete.

        Returns
        -------
        StudyEntry or None
            The film now shown, or None when there is none further (nothing changes).
        """
        if self.active is not None:  # its status as on disk; go_to tells the docks once
            self.active = self._fresh = self.worklist.refresh(self.active)
        entry = self.worklist.next(self.active, unannotated=unannotated)
        if entry is None:
            self._fresh = None
            if self.active is not None:
                self.changed.emit(self.active)
            return None
        return self.go_to(entry)

    def previous(self, *, unannotated: bool = False) -> StudyEntry | None:
        """Go to the previous film; None at the start.

        Parameters
        ----------
        unannotated : bool, optional
            Skip films whose status is complete.

        Returns
        -------
        StudyEntry or None
            The film now shown, or None when there is none before.
        """
        entry = self.worklist.previous(self.active, unannotated=unannotated)
        return None if entry is None else self.go_to(entry)

    def refresh(self) -> StudyEntry | None:
        """Re-read the active film's landmark file and status.

        Returns
        -------
        StudyEntry or None
            The updated active entry.
        """
        if self.active is None:
            return None
        self.active = self.worklist.refresh(self.active)
        self.changed.emit(self.active)
        return self.active

    @property
    def read_only_reason(self) -> str | None:
        """Why nothing is written for the film on the canvas (None: it may be)."""
        film = self.film_layer
        return read_only_reason(info(film, "film")) if film is not None else None

    def repair(self) -> RepairOutcome:
        """Repair the active film's unreadable landmark file, then show the film again.

        The original is kept beside it as a timestamped backup and everything readable
        is carried over (:func:`kyphoimg.landmarks.repair_landmark_file`).

        Returns
        -------
        RepairOutcome
            The backup, the points carried over and what was dropped.

        Raises
        ------
        StudyError
            If no film is shown or its landmark file is not an unreadable one.
        """
        film = self.film_layer
        meta = info(film, "film") if film is not None else None
        if self.active is None or meta is None or not meta.get("notes") or self.read_only:
            raise StudyError("no unreadable landmark file on the canvas: nothing to repair")
        if not any(n.startswith("landmarks not loaded") for n in meta["notes"]):
            raise StudyError(f"{self.active.landmark_path}: readable; nothing to repair")
        outcome = repair(self.active.landmark_path)
        self.go_to(self.active)
        return outcome

    def assign_timepoint(self, entry: StudyEntry, timepoint: str) -> StudyEntry:
        """Give a film its time point in this reader's landmark file only.

        Parameters
        ----------
        entry : StudyEntry
            A film of the worklist.
        timepoint : str
            One of the study's time points.

        Returns
        -------
        StudyEntry
            The refreshed entry (the film is shown again when it is on the canvas).

        Raises
        ------
        StudyError
            In a read-only session.
        KyphoimgError
            If the reader's file cannot be read or the time point is not the study's.
        """
        if self.read_only:
            raise StudyError(NO_READER)
        new = self.worklist.assign_timepoint(entry, timepoint)
        if self.active is not None and self.active.film_path == new.film_path:
            self.go_to(new)  # the file changed: reload it (and its hash)
        else:
            self.changed.emit(self.active)
        return new

    def proposal_source(self) -> StudyEntry | None:
        """Return the patient's latest earlier film this reader completed, or None."""
        if self.active is None:
            return None
        source = None
        for entry in self.worklist.patient(self.active.patient_id):
            if entry.film_path == self.active.film_path:
                break
            if entry.status == "complete" and entry.landmarks is not None:
                source = entry
        return source

    def propose(self) -> int:
        """Propose landmarks on the active film from the patient's last completed film.

        The reader's points already placed (or confirmed) stay; the others are proposals,
        drawn with a magenta border until the reader moves them or accepts their vertebra
        (``A`` on the canvas). The treated level is flagged for review.

        Returns
        -------
        int
            The number of points flagged for review.

        Raises
        ------
        StudyError
            If there is no earlier completed film of this patient, or no Landmarks widget.
        """
        source = self.proposal_source()
        if source is None or self.landmarks is None or self.active is None:
            raise StudyError(
                "no earlier film of this patient is complete for this reader: nothing to "
                "propose from"
            )
        lw = self.landmarks
        layer = lw.start()
        if layer is None:
            raise StudyError(f"{self.active.label}: {lw.status.value}")
        assert source.landmarks is not None
        target = landmarks_of(layer).replace(
            scheme=source.landmarks.scheme,
            index_levels=landmarks_of(layer).index_levels or source.landmarks.index_levels,
        )
        proposed, review = propose_from(
            source.film_path, source.landmarks, self.active.film_path, target
        )
        lw.show_set(layer, proposed)
        return review

    def set_side_by_side(self, on: bool) -> None:
        """Show the active patient's films side by side on the canvas grid, or one film.

        Parameters
        ----------
        on : bool
            Side by side (True) or the active film alone (False).
        """
        self.side_by_side = bool(on) and not self.blind  # blinded: one film, no patient
        if self.active is not None:
            self.go_to(self.active)

    # -- layers --------------------------------------------------------------------------
    @property
    def film_layer(self) -> Any | None:
        """The active film's image layer, or None."""
        if self.active is None:
            return None
        path = _resolved(self.active.film_path)
        for layer in films(self.viewer.layers):
            if Path(info(layer, "film").get("path") or "") == path:
                return layer
        return None

    def _swap(self, entry: StudyEntry) -> Any | None:
        """Show ``entry``'s film in the layers of the one film on the canvas, in place.

        The film and landmarks layers take the new film's data (no layer is removed or
        created, so napari builds no new visual): most of what a switch costs. Returns
        the film layer, or None when the canvas holds more or less than one film.
        """
        film = self.film_layer
        if not self.in_place or self.side_by_side or self.landmarks is None or film is None:
            return None
        owned = [layer for layer in self.viewer.layers if _owned_by(layer, self._film_uids)]
        if len(self._film_uids) != 1 or any(
            info(layer)["role"] not in _SWAPPABLE for layer in owned
        ):
            return None  # several films, or a calibration line drawn on this one
        (data, kwargs, _), *rest = self._specs(entry)
        meta = kwargs["metadata"]["kyphoimg"]
        meta["uid"] = info(film, "film")["uid"]  # the link id stays: its layers stay linked
        old = landmark_layer_for(self.viewer.layers, film)
        measurements = self.widgets.get("measurements")
        paused = measurements.paused() if measurements is not None else contextlib.nullcontext()
        # One dims update and one Measurements refresh for the whole switch (not a
        # layer-list batch: napari rebuilds the whole scene graph at the end of one).
        layers = list(self.viewer.layers)
        with paused, _switch_batch(layers):
            if old is not None and not rest:
                self.viewer.layers.remove(old)  # the widget takes its overlay and values along
            _refill_film(film, data, kwargs)
            if rest and old is not None:
                self.landmarks.refill(old, rest[0][0], rest[0][1])
            elif rest:
                rest[0][1]["metadata"]["kyphoimg"]["film_uid"] = meta["uid"]
                self.viewer.add_layer(Layer.create(*rest[0]))
        return film

    def _read_ahead(self, entry: StudyEntry | None) -> None:
        """Start reading ``entry``'s film in the read-ahead process (:mod:`._ahead`)."""
        self._ahead = None
        if entry is None or self.side_by_side or not self.read_ahead:
            return
        try:
            stat = entry.film_path.stat()
            job = shared_reader().submit(entry.film_path)
        except (OSError, RuntimeError):
            return  # not there (yet), or no process to read it: it is read when shown
        self._ahead = (entry.film_path, (stat.st_mtime_ns, stat.st_size), job)

    def _read(self, path: Path) -> Any:
        """Return the film at ``path``: the one read ahead when it is that file, unchanged.

        A read-ahead still under way is waited for once the reading process has started
        (what is left of a decode is shorter than a decode); while the process is still
        starting, the film is read here.
        """
        ahead, self._ahead = self._ahead, None
        waited = ahead is not None and (ahead[2].done() or shared_reader().ready.is_set())
        if ahead is not None and ahead[0] == path and waited:
            with contextlib.suppress(Exception):  # any failure: read it here, where it is shown
                stat = path.stat()
                if ahead[1] == (stat.st_mtime_ns, stat.st_size):
                    return ahead[2].result(timeout=_AHEAD_WAIT_S)
        return read_radiograph(path)

    def _specs(self, entry: StudyEntry) -> list[Any]:
        """Return the layer data of ``entry``'s film and this reader's landmark file."""
        rg = self._read(entry.film_path)
        if self.blind:
            name = f"Film {self.worklist.position(entry) + 1}"
        else:
            name = f"{entry.patient_id or '?'} {entry.timepoint or entry.film_path.name}"
        layers = radiograph_layer_data(
            rg,
            name,
            landmark_path=entry.landmark_path,
            rater=self.rater,
            patient_id=entry.patient_id,
            timepoint=entry.timepoint,
            timepoints=self.worklist.timepoints,
            levels=self.levels,
        )
        del rg
        film = layers[0][1]["metadata"]["kyphoimg"]
        if self.read_only:
            film.setdefault("read_only", NO_READER)
        if entry.status == "invalid" and entry.landmarks is None:  # a file not this reading
            film.setdefault("read_only", not_this_reading(entry.problems))
        return layers

    def _load(self, entry: StudyEntry) -> Any:
        """Read ``entry``'s film with this reader's landmark file and add its layers."""
        layers = self._specs(entry)
        added = [self.viewer.add_layer(Layer.create(*spec)) for spec in layers]
        film = added[0]
        _window(film, layers[0][1].get("contrast_limits"))
        self._film_uids.add(info(film, "film")["uid"])
        return film

    def _unload(self) -> None:
        """Take the session's films and everything hanging off them off the canvas."""
        doomed = [layer for layer in self.viewer.layers if _owned_by(layer, self._film_uids)]
        # Landmarks' overlays name the landmarks, not the film: take those too.
        lm_uids = {info(layer)["uid"] for layer in doomed if info(layer, "landmarks")}
        doomed += [
            layer
            for layer in self.viewer.layers
            if info(layer, "overlay") and info(layer)["landmarks_uid"] in lm_uids
        ]
        # One scene-graph update (and one garbage collection) for all of them, not one per
        # layer: that is most of the time a switch takes.
        with self.viewer.layers.batched_update():
            for layer in doomed:
                if layer in self.viewer.layers:
                    self.viewer.layers.remove(layer)
        self._film_uids.clear()

    def _arrange(self, entry: StudyEntry) -> None:
        """One film: the whole canvas. Side by side: the patient's films on the canvas grid."""
        measurements = self.widgets.get("measurements")
        if self.side_by_side and len(self._film_uids) > 1 and measurements is not None:
            measurements.show_timepoints(patient=entry.patient_id)
            return
        self.viewer.canvas.grid.enabled = False
        self.viewer.reset_view()

    def _remember_levels(self) -> None:
        """Keep the level range the reader used, for the next film of the study."""
        if self.landmarks is None or self.landmarks.film.value is None:
            return
        first, last = self.landmarks.first_level.value, self.landmarks.last_level.value
        if first and last:
            self.levels = (first, last)

    def _on_saved(self, path: Any) -> None:
        if self.active is not None and Path(path) == self.active.landmark_path:
            self.refresh()

    def close(self) -> None:
        """Take the session's films off the canvas (their landmark files stay as saved)."""
        self._unload()
        self.active = None
        if self._ahead is not None:
            self._ahead[2].cancel()
        self._ahead = None


def _session_seed(worklist: Worklist, seed: int | None) -> int:
    """Return the blinded order's seed: this reader's recorded one, else a new one (recorded)."""
    if worklist.rater is None:
        raise StudyError("a blinded session needs a reader: give rater= (--rater)")
    record = worklist.folder / ".kyphoimg" / f"{worklist.rater}.session.json"
    if record.is_file():
        return int(json.loads(record.read_text(encoding="utf-8"))["seed"])
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    order = worklist.shuffled(seed)
    record.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        record,
        json.dumps(
            {
                "rater": worklist.rater,
                "blind": True,
                "seed": seed,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "order": [e.film_path.relative_to(worklist.folder).as_posix() for e in order],
            },
            indent=2,
        )
        + "\n",
    )
    return seed


def _dock(viewer: Any, widget: Any, name: str, area: str) -> None:
    """Dock a widget in a scroll area (a small screen scrolls it; no control overlaps).

    napari keeps a docked magicgui widget's choices in step with the layer list only when
    it is docked as such; in a scroll area that is done here, the same way.
    """
    from ._qt import scrollable

    viewer.window.add_dock_widget(scrollable(widget), name=name, area=area)
    if hasattr(widget, "reset_choices"):
        events = viewer.layers.events
        for emitter in (events.inserted, events.removed, events.reordered):
            emitter.connect(widget.reset_choices)


def _share_height(shares: dict[Any, float]) -> None:
    """Give each docked widget its share of the window's height (the rest to napari's)."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QDockWidget

    docks, heights = [], []
    for widget, share in shares.items():
        native = getattr(widget, "native", widget)
        dock = native.parent()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parent()
        if dock is not None:
            docks.append(dock)
            heights.append(int(native.window().height() * share))
    if docks:
        docks[0].window().resizeDocks(docks, heights, Qt.Orientation.Vertical)


def _surgery_timepoints(
    folder: str | os.PathLike[str], surgery: str | os.PathLike[str] | None
) -> tuple[pd.DataFrame | None, dict[str, str] | None]:
    """Return the header index and the time points a surgery table gives its films."""
    if surgery is None:
        return None, None
    index = scan(folder)
    ok = index[index["status"] == "ok"]
    tp = assign_timepoints(ok, read_table(surgery))
    pairs = zip(tp["path"], tp["timepoint"], strict=True)
    assigned = {p: t for p, t in pairs if isinstance(t, str)}
    return index, assigned


def open_study(
    viewer: Any,
    folder: str | os.PathLike[str],
    *,
    rater: str | None = None,
    timepoints: Iterable[str] | None = None,
    dock: bool = True,
    start: bool = True,
    blind: bool = False,
    seed: int | None = None,
    read_only: bool = False,
    surgery: str | os.PathLike[str] | None = None,
    landmarks_dir: str | os.PathLike[str] | None = None,
) -> ReadingSession:
    """Open a study folder for one reader: the worklist, and the first film still to do.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer.
    folder : path-like
        The study folder (films in any layout, landmark files beside them).
    rater : str, optional
        The reader; their files are ``<film>.<rater>.landmarks.json``. Without one, the
        single-reader files ``<film>.landmarks.json``.
    timepoints : iterable of str, optional
        The study's time points in order (default pre, post, last).
    dock : bool, optional
        Dock the Worklist, Landmarks and Measurements widgets (default).
    start : bool, optional
        Show the first film not complete (else the first film).
    blind : bool, optional
        A blinded reading (a reliability study): the films in a seeded random order, named
        "Film k" without patient or time point, one at a time. The seed is recorded in
        ``STUDY/.kyphoimg/<rater>.session.json`` and reused when the session is reopened.
        Other readers' points are never shown in any session.
    seed : int, optional
        The seed of a new blinded session (default: a random one).
    read_only : bool, optional
        Show the films and their landmarks but write nothing (no reader was named).
    surgery : path-like, optional
        A table of ``patient_id, surgery_date`` (as ``kyphoimg scan --surgery``): films
        whose landmark file has no time point get pre/post/last from the films' dates
        (:func:`kyphoimg.timepoints.assign_timepoints`).
    landmarks_dir : path-like, optional
        The landmark files, when not beside the films (a film not started gets its file
        in the same relative folder there).

    Returns
    -------
    ReadingSession
        The controller: ``.worklist``, ``.active``, ``.go_to(entry)``, ``.next()``.
    """
    index, assigned = _surgery_timepoints(folder, surgery)
    worklist = open_worklist(
        folder,
        rater=rater,
        timepoints=timepoints,
        index=index,
        assigned=assigned,
        landmarks_dir=None if landmarks_dir is None else Path(landmarks_dir),
    )
    if blind:
        worklist = worklist.shuffled(_session_seed(worklist, seed))
    return start_session(viewer, worklist, dock=dock, start=start, read_only=read_only)


def start_session(
    viewer: Any,
    worklist: Worklist,
    *,
    dock: bool = True,
    start: bool = True,
    read_only: bool = False,
    make: Any = ReadingSession,
) -> ReadingSession:
    """Make the reading session of ``worklist``, dock its widgets and show the first film.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer.
    worklist : kyphoimg.study.Worklist
        The reader's films.
    dock, start, read_only : bool, optional
        As :func:`open_study`.
    make : callable, optional
        Makes the session from ``(viewer, worklist, landmarks, read_only=...)`` (default
        :class:`ReadingSession`; a PACS session fetches each film first).

    Returns
    -------
    ReadingSession
        The controller.
    """
    landmarks = None
    if dock:
        from ._landmarks_widget import LandmarksWidget
        from ._measurements_widget import MeasurementsWidget
        from ._qt import on_window_close
        from ._worklist_widget import WorklistWidget

        landmarks = LandmarksWidget(viewer)
        session = make(viewer, worklist, landmarks, read_only=read_only)
        worklist_widget = WorklistWidget(session)
        _dock(viewer, worklist_widget, "Worklist", "left")
        _dock(viewer, landmarks, "Landmarks", "right")
        measurements = MeasurementsWidget(viewer)
        _dock(viewer, measurements, "Measurements", "right")
        if session.blind:  # saved in the file, but not shown to a blinded reader
            landmarks.patient_id.visible = False
            landmarks.timepoint.visible = False
        session.widgets = {
            "worklist": worklist_widget,
            "landmarks": landmarks,
            "measurements": measurements,
        }
        _share_height({worklist_widget: 0.7, landmarks: 0.6, measurements: 0.4})
        # the effort log of the film shown gets its ``close`` when the window closes
        on_window_close(worklist_widget, landmarks._effort.leave)
    else:
        session = make(viewer, worklist, None, read_only=read_only)
    # napari collects garbage at every layer removal (a full collection, ~0.15 s with napari,
    # pandas and Qt loaded). Freezing what exists now keeps those collections to the objects
    # made since, so a film switch stays fast; films and layers made later are collected.
    gc.freeze()
    if start and len(worklist):
        session.go_to(worklist.next(unannotated=True) or worklist[0])
    return session
