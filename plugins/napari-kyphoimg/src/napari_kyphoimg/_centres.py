"""The pure part of the "centres" mode and of the reading-effort log: no napari, no Qt.

- :class:`CentresPlacement`: the reader clicks the centre of each vertebral body from the
  top level down; it says which level the next click is, and after each click (from the
  second on) proposes every point of the clicked vertebrae with
  :func:`kyphoimg.assist.from_centres`, merged into the reader's set as proposals with
  method ``"centres"`` (the points the reader placed or confirmed stay).
- :class:`EffortRecorder`: writes one film's :class:`kyphoimg.effort.EffortLog` (open,
  close, clicks) and, from successive states of the reader's set, the points proposed,
  confirmed unchanged and moved (with the distance in pixels and millimetres).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import kyphoimg.assist
from kyphoimg.effort import EffortLog
from kyphoimg.landmarks import ASSIST_KEY, LandmarkSet, mark_proposed, unconfirmed

__all__ = ["CENTRES_METHOD", "CentresPlacement", "EffortRecorder"]

#: The method recorded with each point the centres mode proposes.
CENTRES_METHOD = "centres"


class CentresPlacement:
    """One film's centre clicks, from the top level down, and the proposals they give.

    Parameters
    ----------
    levels : sequence of str
        The levels to click, cranial to caudal.

    Examples
    --------
    >>> p = CentresPlacement(("T12", "L1"))
    >>> p.next_level
    'T12'
    >>> p.click((100.0, 200.0))
    'T12'
    >>> p.next_level
    'L1'
    """

    def __init__(self, levels: Sequence[str]) -> None:
        self.levels = tuple(levels)
        self.centres: dict[str, tuple[float, float]] = {}

    @property
    def next_level(self) -> str | None:
        """The level the next click is the centre of, or None when every level has one."""
        return next((lv for lv in self.levels if lv not in self.centres), None)

    @property
    def done(self) -> bool:
        """Whether every level has its centre."""
        return self.next_level is None

    def click(self, rc: Sequence[float]) -> str | None:
        """Record a click as the next level's centre.

        Parameters
        ----------
        rc : sequence of float
            ``(row, col)`` in the film's pixels.

        Returns
        -------
        str or None
            The level it was taken for; None when every level already has a centre
            (the click is not kept).
        """
        level = self.next_level
        if level is not None:
            self.centres[level] = (float(rc[0]), float(rc[1]))
        return level

    def undo(self) -> str | None:
        """Forget the last level's centre; return that level (None when there was none)."""
        clicked = [lv for lv in self.levels if lv in self.centres]
        if not clicked:
            return None
        del self.centres[clicked[-1]]
        return clicked[-1]

    def propose(self, image: Any, ls: LandmarkSet, *, facing: str | None = None) -> LandmarkSet:
        """Return ``ls`` with the clicked vertebrae's points proposed (method ``centres``).

        Every clicked vertebra is proposed again from all the clicks so far, so a new click
        updates its neighbours' proposals; the points the reader placed, moved or accepted
        are kept as they are.

        Parameters
        ----------
        image : array_like, 2-D
            The film as displayed, bone bright.
        ls : LandmarkSet
            The reader's set for the film (its scheme is the proposal's).
        facing : {"right", "left"}, optional
            The side the anterior faces; default guessed from the image.

        Returns
        -------
        LandmarkSet
            ``ls`` unchanged while fewer than two centres are clicked (a lone centre gives
            no size), else with the proposals added.
        """
        if len(self.centres) < 2:
            return ls
        order = [lv for lv in self.levels if lv in self.centres]
        result = kyphoimg.assist.from_centres(  # OpenCV loads at the first centre
            image, {lv: self.centres[lv] for lv in order}, scheme=ls.scheme, facing=facing
        )
        return mark_proposed(ls, result, method=CENTRES_METHOD)


def _methods(ls: LandmarkSet) -> Mapping[str, Any]:
    rec = ls.extra.get(ASSIST_KEY)
    methods = rec.get("methods") if isinstance(rec, Mapping) else None
    return methods if isinstance(methods, Mapping) else {}


def _unconfirmed_points(ls: LandmarkSet | None) -> dict[tuple[str, str], tuple[float, float, str]]:
    """``{(level, point): (row, col, method)}`` of the proposals no reader confirmed."""
    if ls is None:
        return {}
    methods = _methods(ls)
    out = {}
    for lv, names in unconfirmed(ls).items():
        per = methods.get(lv) if isinstance(methods.get(lv), Mapping) else {}
        for n in names:
            r, c = ls.points[lv][n]
            out[(lv, n)] = (float(r), float(c), str(per.get(n) or "assist"))
    return out


class EffortRecorder:
    """Write the effort log of the film shown, for its reader.

    Parameters
    ----------
    clock : callable, optional
        Returns the time (UTC seconds since 1970); default :func:`time.time`.

    Notes
    -----
    Nothing is written while no log is open: :meth:`open` with ``path=None`` (a read-only
    film, no reader) logs nothing until the next :meth:`open`. A film only looked at
    leaves no log: its ``open`` (at the time it was opened) is written with the first
    thing the reader does on it, and ``close`` only then.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.log: EffortLog | None = None
        self._opened: float | None = None  # opened, nothing done yet: no file written
        self._proposed: dict[tuple[str, str], tuple[float, float, str]] = {}

    @property
    def path(self) -> Path | None:
        """The open log's file, or None."""
        return None if self.log is None else self.log.path

    def _record(self, kind: str, **fields: Any) -> None:
        if self.log is None:
            return
        if self._opened is not None:  # the first event on this film: its opening first
            self.log.record("open", t=self._opened)
            self._opened = None
        self.log.record(kind, t=self._clock(), **fields)

    def open(self, path: str | Path | None, ls: LandmarkSet | None = None) -> None:
        """Close the log open, then open ``path``'s (``None``: log nothing).

        Parameters
        ----------
        path : path-like or None
            The effort log (:func:`kyphoimg.effort.effort_file_for`).
        ls : LandmarkSet, optional
            The reader's set as the film opens: its proposals are not counted again.
        """
        if self.log is not None and path is not None and Path(path) == self.log.path:
            return
        self.close()
        if path is None:
            return
        self.log = EffortLog(path)
        self._proposed = _unconfirmed_points(ls)
        self._opened = self._clock()

    def close(self) -> None:
        """Record that the film was left (when anything was done on it), and stop logging."""
        if self._opened is None:
            self._record("close")
        self.log = None
        self._opened = None
        self._proposed = {}

    def click(self, n: int = 1, **fields: Any) -> None:
        """Record ``n`` clicks (a point placed or moved, a centre clicked)."""
        self._record("click", n=int(n), **fields)

    def observe(self, ls: LandmarkSet, mm_per_px: tuple[float, float] | None = None) -> None:
        """Record what changed in the reader's set since the last state seen.

        New proposals are ``proposed`` (per method); a proposal gone from the record and
        still at its place is ``confirmed``; one the reader moved is ``moved`` with its
        distance from where it was proposed.

        Parameters
        ----------
        ls : LandmarkSet
            The reader's set now.
        mm_per_px : tuple of float, optional
            ``(row_mm, col_mm)``; without it no ``mm`` is written.
        """
        if self.log is None:
            return
        now = _unconfirmed_points(ls)
        new: dict[str, int] = {}
        for key in now.keys() - self._proposed.keys():
            new[now[key][2]] = new.get(now[key][2], 0) + 1
        for method, count in sorted(new.items()):
            self._record("proposed", n=count, method=method)
        same: dict[str, int] = {}
        for (lv, n), was in sorted(self._proposed.items()):
            if (lv, n) in now or n not in ls.points.get(lv, {}):
                continue  # still a proposal, or taken away (undo, delete)
            r, c = map(float, ls.points[lv][n])
            dr, dc = r - was[0], c - was[1]
            px = math.hypot(dr, dc)
            if px <= 1e-6:
                same[was[2]] = same.get(was[2], 0) + 1
                continue
            fields: dict[str, Any] = {"level": lv, "point": n, "px": round(px, 3)}
            fields["method"] = was[2]
            if mm_per_px is not None and all(np.isfinite(mm_per_px)):
                fields["mm"] = round(math.hypot(dr * mm_per_px[0], dc * mm_per_px[1]), 3)
            self._record("moved", **fields)
        for method, count in sorted(same.items()):
            self._record("confirmed", n=count, method=method)
        self._proposed = now
