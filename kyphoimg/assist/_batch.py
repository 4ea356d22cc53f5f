"""Centre clicks from a table to a reader's landmark file (``kyphoimg assist centres``)."""

from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path

from ..dicom import read_radiograph
from ..effort import EffortLog, effort_file_for
from ..errors import KyphoimgWarning, LandmarkError, StudyError
from ..landmarks import (
    LEVELS,
    SCHEMES,
    ImageRef,
    LandmarkSet,
    file_sha256,
    read_landmarks,
    save_reading,
)
from ..study import landmark_file_for
from ._centres import from_centres
from ._record import mark_proposed

__all__ = ["propose_centres", "read_centres_csv"]

_COLUMNS = ("level", "row", "col")


def read_centres_csv(path: str | os.PathLike[str]) -> dict[str, tuple[float, float]]:
    """Read one film's vertebral body centres from a CSV table.

    Parameters
    ----------
    path : path-like
        A CSV file with a header naming at least the columns ``level,row,col`` (pixels of
        the film, ``row`` down, ``col`` right, 0 at the centre of the top-left pixel),
        one line per vertebra.

    Returns
    -------
    dict
        ``{level: (row, col)}`` in file order.

    Raises
    ------
    LandmarkError
        Naming the file, line and column, if a column is missing, a level is unknown or
        repeated, or a coordinate is not a finite number.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
            header = rows[0].keys() if rows else ()
    except (OSError, UnicodeDecodeError) as exc:
        raise LandmarkError(f"cannot read the centres table ({exc})", file=str(path)) from exc
    missing = [c for c in _COLUMNS if c not in header]
    if not rows or missing:
        raise LandmarkError(
            "a centres table needs a header with the columns level,row,col and one "
            f"line per vertebra (missing: {', '.join(missing) or 'every line'})",
            file=str(path),
        )
    out: dict[str, tuple[float, float]] = {}
    for line, row in enumerate(rows, start=2):
        level = (row["level"] or "").strip().upper()
        if level not in LEVELS:
            raise LandmarkError(
                f"line {line}: level {row['level']!r} is not a vertebra; use names such as "
                "T12 or L1",
                file=str(path),
            )
        if level in out:
            raise LandmarkError(f"line {line}: given twice", file=str(path), level=level)
        coords = []
        for col in ("row", "col"):
            try:
                value = float(row[col])
            except (TypeError, ValueError):
                value = float("nan")
            if value != value or value in (float("inf"), float("-inf")):
                raise LandmarkError(
                    f"line {line}: column {col} is {row[col]!r}, not a number of pixels",
                    file=str(path),
                    level=level,
                )
            coords.append(value)
        out[level] = (coords[0], coords[1])
    return out


def _started(target: Path) -> LandmarkSet | None:
    """Return the reader's existing file if it holds no points yet; refuse a started one."""
    if not target.exists():
        return None
    ls = read_landmarks(target)
    if ls.points:
        raise StudyError(
            f"{target}: this reader has already started the film "
            f"({sum(len(v) for v in ls.points.values())} point(s)); "
            "proposals are never written over a reading. Open it with kyphoimg view, or move "
            "the file away to start again from the centres"
        )
    return ls


def propose_centres(
    film: str | os.PathLike[str],
    centres: dict[str, tuple[float, float]],
    *,
    rater: str | None = None,
    scheme: str = "6pt",
    facing: str | None = None,
) -> tuple[Path, int]:
    """Write a reader's landmark file for a film as proposals from centre clicks.

    Parameters
    ----------
    film : path-like
        The DICOM film.
    centres : dict
        ``{level: (row, col)}`` of each vertebral body's centre (:func:`read_centres_csv`).
    rater : str, optional
        The reader: the file written is :func:`kyphoimg.study.landmark_file_for`'s.
    scheme : {"6pt", "4pt", "ap4"}, optional
        Landmark scheme.
    facing : {"right", "left"}, optional
        Side the anterior faces (lateral films); default guessed from the film.

    Returns
    -------
    path : pathlib.Path
        The landmark file written (every point recorded as proposed, ``"assist"``); when
        the reader started the film while the proposal was made, their file is left as
        it is and the proposal goes beside it (a ``KyphoimgWarning`` says so).
    review : int
        How many points are flagged for review.

    Raises
    ------
    StudyError
        If the reader's file for this film already holds points (nothing is written).
    LandmarkError
        If that file cannot be read (repair it first).
    DicomReadError
        If the film cannot be read.
    """
    if scheme not in SCHEMES:
        raise LandmarkError(f"scheme {scheme!r} is unknown; use one of {', '.join(SCHEMES)}")
    film = Path(film)
    target = landmark_file_for(film, rater)
    loaded = file_sha256(target)
    existing = _started(target)
    rg = read_radiograph(film)
    result = from_centres(rg.display("full"), centres, scheme=scheme, facing=facing)
    header = existing or LandmarkSet(
        points={},
        scheme=scheme,
        patient_id=rg.metadata.patient_id,
        image=ImageRef(
            path=film.name,
            sop_instance_uid=rg.metadata.sop_instance_uid,
            rows=rg.shape[0],
            columns=rg.shape[1],
        ),
        calibration=rg.calibration,
        rater=rater,
    )
    out = mark_proposed(
        header.replace(scheme=scheme), result, keep_confirmed=True, method="centres"
    )
    outcome = save_reading(out, target, loaded_sha256=loaded)
    review = sum(1 for v in result.needs_review.values() for flag in v.values() if flag)
    if outcome.conflict:  # the reader started the film meanwhile: their file is kept
        warnings.warn(outcome.conflict, KyphoimgWarning, stacklevel=2)
        return outcome.path, review
    n = sum(len(v) for v in result.landmarks.points.values())
    EffortLog(effort_file_for(target)).record("proposed", n=n, method="centres", review=review)
    return outcome.path, review
