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

from ._api import REVIEW_BELOW, PropagateResult, RefineResult, propagate, refine
from ._batch import propose_centres, read_centres_csv
from ._between import centres_between
from ._centres import CentresResult, centre_frames, from_centres, guess_facing, place_shape
from ._record import ASSIST_KEY, confirm, confirmed, mark_proposed, unconfirmed
from ._study import propagate_study, propose_from

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
