"""Propagation over a study: each patient's next films from the last one a reader completed."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..dicom import read_radiograph
from ..landmarks import ImageRef, LandmarkSet, write_landmarks
from ..study import StudyEntry, open_worklist
from ._api import propagate
from ._record import mark_proposed

__all__ = ["propagate_study"]


def _proposal(source: StudyEntry, target: StudyEntry, rater: str | None) -> tuple[LandmarkSet, int]:
    """Carry ``source``'s landmarks to ``target``'s film; return the set and points to review."""
    assert source.landmarks is not None
    src = read_radiograph(source.film_path)
    tgt = read_radiograph(target.film_path)
    result = propagate(
        src.display("full"),
        source.landmarks,
        tgt.display("full"),
        treated_levels=source.landmarks.index_levels,
    )
    header = LandmarkSet(
        points={},
        scheme=source.landmarks.scheme,
        patient_id=target.patient_id,
        timepoint=target.timepoint,
        image=ImageRef(
            path=Path(os.path.relpath(target.film_path, target.landmark_path.parent)).as_posix(),
            sop_instance_uid=tgt.metadata.sop_instance_uid,
            rows=tgt.shape[0],
            columns=tgt.shape[1],
        ),
        calibration=tgt.calibration,
        index_levels=source.landmarks.index_levels,
        rater=rater,
    )
    review = sum(1 for v in result.needs_review.values() for flag in v.values() if flag)
    return mark_proposed(header, result, keep_confirmed=False), review


def propagate_study(
    folder: str | os.PathLike[str],
    *,
    rater: str | None = None,
    patient: str | None = None,
    timepoints: Iterable[str] | None = None,
) -> list[tuple[Path, int]]:
    """Give each patient's films not started yet the landmarks of their last completed film.

    For every patient (in time-point order), each film this reader has not started is
    given the landmarks of the latest earlier film the reader completed, carried over by
    :func:`propagate` and recorded as proposals (``"assist"`` in the file) until the
    reader confirms or moves them. Films the reader has started are never touched.

    Parameters
    ----------
    folder : path-like
        The study folder.
    rater : str, optional
        The reader whose files are read and written.
    patient : str, optional
        Only this patient.
    timepoints : iterable of str, optional
        The study's time points in order.

    Returns
    -------
    list of (pathlib.Path, int)
        Each landmark file written, with the number of its points flagged for review.
    """
    worklist = open_worklist(folder, rater=rater, timepoints=timepoints)
    patients = [patient] if patient else list(dict.fromkeys(e.patient_id for e in worklist))
    written = []
    for pid in patients:
        source = None
        for entry in worklist.patient(pid):
            if entry.status == "complete":
                source = entry
            elif entry.status == "not_started" and source is not None:
                ls, review = _proposal(source, entry, rater)
                written.append((write_landmarks(ls, entry.landmark_path), review))
    return written
