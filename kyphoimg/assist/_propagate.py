"""Propagation over a study: each patient's next films from the last one a reader completed."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

from ..dicom import read_radiograph
from ..errors import KyphoimgWarning
from ..landmarks import ImageRef, LandmarkSet, file_sha256, save_reading
from ..study import StudyEntry, open_worklist
from ._api import propagate
from ._record import mark_proposed

__all__ = ["propagate_study", "propose_from"]


def propose_from(
    source_film: str | os.PathLike[str],
    source_landmarks: LandmarkSet,
    target_film: str | os.PathLike[str],
    target: LandmarkSet,
) -> tuple[LandmarkSet, int]:
    """Propose landmarks for a film from the same patient's earlier film.

    Parameters
    ----------
    source_film : path-like
        The earlier film.
    source_landmarks : LandmarkSet
        Its landmarks (their index levels are the treated ones, flagged for review).
    target_film : path-like
        The film to propose landmarks for.
    target : LandmarkSet
        The reader's set for the target film (header and any points already placed; those
        the reader placed or confirmed are kept).

    Returns
    -------
    landmarks : LandmarkSet
        ``target`` with the proposals added and recorded (``"assist"``).
    review : int
        How many of its points are flagged for review.
    """
    src = read_radiograph(source_film)
    tgt = read_radiograph(target_film)
    result = propagate(
        src.display("full"),
        source_landmarks,
        tgt.display("full"),
        treated_levels=source_landmarks.index_levels,
    )
    review = sum(1 for v in result.needs_review.values() for flag in v.values() if flag)
    return mark_proposed(target, result, keep_confirmed=True), review


def _header(source: StudyEntry, target: StudyEntry, rater: str | None) -> LandmarkSet:
    """Return an empty set for ``target``'s film, this reader's, in the source's scheme."""
    assert source.landmarks is not None
    tgt = read_radiograph(target.film_path)
    return LandmarkSet(
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
    reader confirms or moves them. Films the reader has started are never touched, also
    when the reader starts one while this runs (the files are written by
    :func:`~kyphoimg.landmarks.save_reading`'s rule).

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

    Warns
    -----
    KyphoimgWarning
        When a reader started a film's file while the proposal was made: the file is
        left as it is and the proposal is written beside it (the path returned), as
        :func:`~kyphoimg.landmarks.save_reading` does.
    """
    worklist = open_worklist(folder, rater=rater, timepoints=timepoints)
    # what each film's file is now: a proposal never goes over a file that changes later
    loaded = {e.landmark_path: file_sha256(e.landmark_path) for e in worklist}
    patients = [patient] if patient else list(dict.fromkeys(e.patient_id for e in worklist))
    written = []
    for pid in patients:
        source = None
        for entry in worklist.patient(pid):
            if entry.status == "complete":
                source = entry
            elif entry.status == "not_started" and source is not None:
                assert source.landmarks is not None
                ls, review = propose_from(
                    source.film_path,
                    source.landmarks,
                    entry.film_path,
                    _header(source, entry, rater),
                )
                written.append((_save_proposal(ls, entry.landmark_path, loaded), review))
    return written


def _save_proposal(ls: LandmarkSet, path: Path, loaded: dict[Path, str | None]) -> Path:
    """Write a proposal by the reader's save rule; warn when it had to go beside the file."""
    outcome = save_reading(ls, path, loaded_sha256=loaded.get(path))
    if outcome.conflict:
        warnings.warn(outcome.conflict, KyphoimgWarning, stacklevel=3)
    return outcome.path
