"""The Landmarks dock's "centres" mode and effort log, on the napari side.

:class:`CentresMode` adds a points layer, ``centres``, on which the reader clicks the
centre of each vertebral body from the top level down; after each click the widget shows
:class:`~napari_kyphoimg._centres.CentresPlacement`'s proposals (magenta until accepted
with ``A``) and saves them through its own save path. :class:`EffortHooks` feeds the
film's :class:`~napari_kyphoimg._centres.EffortRecorder`: the film shown, each click on a
landmarks or centres layer, and every saved state of the reader's set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kyphoimg import KyphoimgError
from kyphoimg.effort import effort_file_for

from ._centres import CentresPlacement, EffortRecorder
from ._layers import calibration_of, film_for, info, landmarks_of
from ._session import read_only_reason

__all__ = ["CentresMode", "EffortHooks"]

CENTRES_LAYER = "centres"
_ACCEPT_KEY = "A"
_UNDO_KEY = "Control-Z"


def display_image(film: Any) -> np.ndarray:
    """Return a film layer's pixels as displayed, bone bright (MONOCHROME1 inverted)."""
    image = np.asarray(film.data, dtype=np.float32)
    if "_r" in str(getattr(film.colormap, "name", "")):
        image = -image
    return image


def _mm_per_px(film: Any) -> tuple[float, float] | None:
    cal = calibration_of(film) if film is not None else None
    return (cal.row_mm, cal.col_mm) if cal is not None and cal.has_mm else None


class EffortHooks:
    """Keep the effort log of the film the Landmarks widget shows.

    Parameters
    ----------
    widget : LandmarksWidget
        The widget (its viewer, chosen film, landmarks layer and ``saved`` signal).
    """

    def __init__(self, widget: Any) -> None:
        self.widget = widget
        self.recorder = EffortRecorder()
        self._attached: set[int] = set()
        widget.saved.connect(self._on_saved)
        widget._viewer.layers.events.inserted.connect(self._on_inserted)

    def log_path(self, film: Any) -> Path | None:
        """Return a film layer's effort log for its reader (None: nothing may be written)."""
        meta = info(film, "film") if film is not None else None
        if not meta or read_only_reason(meta) is not None:
            return None
        if not meta.get("path") or not meta.get("rater"):
            return None  # effort is per reader: a reading session names one
        path = effort_file_for(meta["path"], meta["rater"])
        if meta.get("landmark_path"):  # beside the reader's file (a separate landmarks folder)
            path = Path(meta["landmark_path"]).with_name(path.name)
        return path

    def sync(self) -> None:
        """Open the chosen film's log (closing the previous film's) when the film changed."""
        film = self.widget.film.value
        path = self.log_path(film)
        layer = self.widget.landmarks_layer
        if layer is not None:
            self.attach(layer)
        if path == self.recorder.path:
            return
        self.recorder.open(path, landmarks_of(layer) if layer is not None else None)

    def attach(self, layer: Any) -> None:
        """Count the reader's clicks on a points layer (landmarks or centres)."""
        if id(layer) not in self._attached:
            self._attached.add(id(layer))
            layer.events.data.connect(self._on_data)

    def _on_inserted(self, event: Any) -> None:
        if info(event.value, "landmarks") is not None:
            self.attach(event.value)

    def _on_data(self, event: Any) -> None:
        if self.widget._busy or str(event.action) not in ("added", "changed"):
            return
        if info(event.source, "landmarks") is not None:  # centres clicks: CentresMode
            self.recorder.click()

    def _on_saved(self, path: Any) -> None:
        layer = self.widget.landmarks_layer
        if layer is None or self.recorder.path != effort_file_for(path):
            return
        film = film_for(self.widget._viewer.layers, layer)
        self.recorder.observe(landmarks_of(layer), _mm_per_px(film))

    def close(self) -> None:
        """Record that the film was left."""
        self.recorder.close()

    def leave(self) -> None:
        """Record that the film was left (the window closes), ready to go on if it stays.

        The film's log gets its ``close`` now; it is opened again at once, so that a
        reader who cancels the closing goes on logging (nothing is written until they act).
        """
        self.recorder.close()
        self.sync()


class CentresMode:
    """The Landmarks dock's "centres" placement mode.

    Parameters
    ----------
    widget : LandmarksWidget
        The widget whose chosen film is read.
    effort : EffortHooks
        The film's effort log.
    """

    def __init__(self, widget: Any, effort: EffortHooks) -> None:
        self.widget = widget
        self.effort = effort
        self.layer: Any | None = None
        self.placement: CentresPlacement | None = None
        self._film_key: Any = None
        self._busy = False

    @property
    def active(self) -> bool:
        """Whether the mode is on (its layer is in the viewer)."""
        return self.layer is not None and self.layer in self.widget._viewer.layers

    def set_active(self, on: bool) -> None:
        """Turn the mode on (a centres layer to click on) or off (back to the landmarks)."""
        viewer = self.widget._viewer
        if not on:
            if self.active:
                viewer.layers.remove(self.layer)
            self.layer, self.placement, self._film_key = None, None, None
            lm = self.widget.landmarks_layer
            if lm is not None:
                viewer.layers.selection.active = lm
            return
        landmarks = self.widget.start()
        if landmarks is None:
            self.widget.centres_mode.value = False
            return
        self._reset(landmarks)
        self.next_hint()

    def _reset(self, landmarks: Any) -> None:
        viewer = self.widget._viewer
        film = film_for(viewer.layers, landmarks)
        self.placement = CentresPlacement(self.widget._levels())
        self._film_key = (info(film, "film") or {}).get("path")
        if not self.active:
            self.layer = viewer.add_points(
                np.empty((0, 2)),
                name=CENTRES_LAYER,
                scale=landmarks.scale[-2:],
                symbol="cross",
                size=max(4.0, float(np.mean(landmarks.size)) if len(landmarks.size) else 8.0),
                face_color="yellow",
                border_color="yellow",
            )
            self.layer.events.data.connect(self._on_data)
            self.layer.bind_key(_ACCEPT_KEY, lambda _layer: self.accept(), overwrite=True)
            self.layer.bind_key(_UNDO_KEY, lambda _layer: self.undo(), overwrite=True)
        else:
            self._set_data(np.empty((0, 2)))
            self.layer.scale = landmarks.scale[-2:]
        viewer.layers.selection.active = self.layer
        self.layer.mode = "add"

    def _set_data(self, data: Any) -> None:
        self._busy = True
        try:
            self.layer.data = data
        finally:
            self._busy = False

    def sync(self) -> None:
        """Start the clicks again on a film switched to (the mode stays on)."""
        if not self.active:
            return
        film = self.widget.film.value
        if film is None:  # between two films (the choices are being reset): wait
            return
        key = (info(film, "film") or {}).get("path")
        if key == self._film_key:  # the controls were refilled (a switch ends here too)
            self.widget._viewer.layers.selection.active = self.layer  # clicks are centres
            self.layer.mode = "add"
            self.next_hint()
            return
        if read_only_reason(info(film, "film")) is not None:
            self.widget.centres_mode.value = False
            return
        landmarks = self.widget.landmarks_layer or self.widget.start()
        if landmarks is None:
            self.widget.centres_mode.value = False
            return
        self._reset(landmarks)
        self.next_hint()

    def next_hint(self) -> None:
        """Tell the reader which centre to click next."""
        level = self.placement.next_level if self.placement else None
        if level is None:
            self.widget._say(
                "Every centre is clicked: move a magenta point or press A to accept.", "ok"
            )
        else:
            self.widget._say(f"Centres: click the centre of {level}'s vertebral body.", "muted")

    def _on_data(self, event: Any) -> None:
        if self._busy or str(event.action) != "added" or self.placement is None:
            return
        rc = np.asarray(self.layer.data)[-1]
        level = self.placement.click(rc)
        if level is None:  # every level has its centre: the click is not kept
            self._set_data(np.asarray(self.layer.data)[:-1])
            self.next_hint()
            return
        self.effort.recorder.click(level=level, method="centres")
        self._propose()

    def _propose(self) -> None:
        landmarks = self.widget.landmarks_layer
        film = film_for(self.widget._viewer.layers, landmarks) if landmarks else None
        if landmarks is None or film is None or self.placement is None:
            return
        ls = landmarks_of(landmarks)
        try:
            proposed = self.placement.propose(display_image(film), ls)
        except (KyphoimgError, ValueError) as exc:
            self.widget._say(f"Centres: no proposal ({exc}); click again or place by hand.")
            return
        if proposed is not ls:
            self.widget.show_set(landmarks, proposed)
            self.widget._viewer.layers.selection.active = self.layer
            self.layer.mode = "add"
        self.next_hint()

    def undo(self) -> None:
        """Take back the last centre clicked (its proposals stay until undone there)."""
        if self.placement is None or self.placement.undo() is None:
            return
        self._set_data(np.asarray(self.layer.data)[:-1])
        self.next_hint()

    def accept(self) -> None:
        """Accept the proposals (``A``), as on the landmarks layer."""
        self.widget.accept_vertebra()
