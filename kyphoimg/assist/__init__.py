"""Assisted landmarking: refine points on a film, carry them to the patient's next film.

- :func:`refine` moves each point onto the endplate and wall edges near it, within a
  bound tied to its vertebra's size, with a confidence per point;
- :func:`propagate` carries a film's landmarks to the next film of the same patient
  (global similarity, mirrored or not, then each vertebra, then :func:`refine`), flagging
  the treated levels for review; :func:`propagate_study` does it for a whole study;
- :func:`from_centres` proposes every point of every vertebra from one click per
  vertebral body (a shipped shape model placed in the frame of the neighbouring clicks,
  then :func:`refine`);
- :func:`mark_proposed`, :func:`confirmed`, :func:`unconfirmed` and :func:`confirm` keep,
  in the landmark file, the record of which points kyphoimg proposed and which a reader
  confirmed (the top-level key ``"assist"``; the schema version is unchanged).

Classical image processing only (OpenCV, SciPy, NumPy): no trained model, no network.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._api import REVIEW_BELOW, PropagateResult, RefineResult, propagate, refine
from ._propagate import propagate_study, propose_from
from ._record import ASSIST_KEY, confirm, confirmed, mark_proposed, unconfirmed

# The centres part needs OpenCV and SciPy: imported when first used, so that the viewer
# (which reads the proposal record at start) does not wait for them.
_LAZY = {
    "propose_centres": "._batch",
    "read_centres_csv": "._batch",
    "centres_between": "._between",
    "CentresResult": "._centres",
    "centre_frames": "._centres",
    "from_centres": "._centres",
    "guess_facing": "._centres",
    "place_shape": "._centres",
}


def __getattr__(name: str) -> Any:
    """Import the centres functions on first use (see ``_LAZY``)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ASSIST_KEY",
    "REVIEW_BELOW",
    "CentresResult",
    "PropagateResult",
    "RefineResult",
    "centre_frames",
    "centres_between",
    "confirm",
    "confirmed",
    "from_centres",
    "guess_facing",
    "mark_proposed",
    "place_shape",
    "propagate",
    "propagate_study",
    "propose_centres",
    "propose_from",
    "read_centres_csv",
    "refine",
    "unconfirmed",
]
