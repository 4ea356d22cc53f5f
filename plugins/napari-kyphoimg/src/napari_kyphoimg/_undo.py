"""Undo history of a landmarks layer: snapshots of its ``(data, features)``. No napari, no Qt."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["UndoStack"]


@dataclass
class UndoStack:
    """Snapshots of a layer's ``(data, features)`` for undo.

    :meth:`push` records the state *after* each change; :meth:`undo` drops the latest
    and returns the one before it; :meth:`redo` brings back what the last undo dropped
    (a new change forgets what could be redone).

    Parameters
    ----------
    limit : int
        How many states are kept (the oldest are dropped).
    """

    limit: int = 200
    _states: list[tuple[np.ndarray, pd.DataFrame]] = field(default_factory=list)
    _undone: list[tuple[np.ndarray, pd.DataFrame]] = field(default_factory=list)

    def reset(self, data: np.ndarray, features: pd.DataFrame) -> None:
        """Forget the history; ``(data, features)`` becomes the base state."""
        self._states = [(np.array(data, copy=True), features.copy())]
        self._undone = []

    def push(self, data: np.ndarray, features: pd.DataFrame) -> None:
        """Record the state after a change (ignored when nothing changed)."""
        if self._states:
            last_data, last_feat = self._states[-1]
            if (
                last_data.shape == np.shape(data)
                and np.array_equal(last_data, data, equal_nan=True)
                and last_feat.equals(features)
            ):
                return
        self._states.append((np.array(data, copy=True), features.copy()))
        self._undone = []
        if len(self._states) > self.limit:
            del self._states[0]

    @property
    def can_undo(self) -> bool:
        """Whether there is a change to undo."""
        return len(self._states) > 1

    def undo(self) -> tuple[np.ndarray, pd.DataFrame] | None:
        """Drop the latest state and return the previous one, or None."""
        if not self.can_undo:
            return None
        self._undone.append(self._states.pop())
        data, feat = self._states[-1]
        return np.array(data, copy=True), feat.copy()

    @property
    def can_redo(self) -> bool:
        """Whether an undone change can be brought back."""
        return bool(self._undone)

    def redo(self) -> tuple[np.ndarray, pd.DataFrame] | None:
        """Bring back the state the last :meth:`undo` dropped, or None."""
        if not self._undone:
            return None
        self._states.append(self._undone.pop())
        data, feat = self._states[-1]
        return np.array(data, copy=True), feat.copy()
