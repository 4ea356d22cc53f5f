"""The integrity rules of a reading, without Qt: what may be written, and saving safely.

A film's landmark file is loaded once; its SHA-256 at that moment is kept in the film's
``metadata["kyphoimg"]["landmark_sha256"]`` (``None``: there was no file) and in the
landmarks layer's ``metadata["kyphoimg"]["sha256"]``. Every save goes through
:func:`kyphoimg.landmarks.save_reading` with that hash, so a file another session (or
another reader) changed meanwhile is never overwritten: the reader's version is written
beside it and the layer follows that file from then on.

A film is *read-only* when ``metadata["kyphoimg"]["read_only"]`` holds a reason: its
landmark file exists but cannot be read (until the reader repairs it), or no reader is
named. Nothing is written for a read-only film.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from kyphoimg.errors import LandmarkError
from kyphoimg.landmarks import (
    LandmarkSet,
    RepairOutcome,
    SaveOutcome,
    file_sha256,
    repair_landmark_file,
    save_reading,
)

__all__ = [
    "NO_READER",
    "loaded_state",
    "not_this_reading",
    "read_only_reason",
    "repair",
    "repair_message",
    "save_layer_set",
    "save_message",
    "unreadable_reason",
]

#: Why a session without a reader writes nothing.
NO_READER = (
    "read-only: no reader was named. Reopen with your initials (kyphoimg view STUDY "
    "--rater AB) to place or change landmarks."
)


def unreadable_reason(path: str | os.PathLike[str], error: Exception) -> str:
    """Return the read-only reason of a landmark file that exists but cannot be read.

    Parameters
    ----------
    path : path-like
        The landmark file.
    error : Exception
        Why it could not be read (its message names the file and what is wrong).

    Returns
    -------
    str
        A sentence for the Landmarks and Worklist docks.
    """
    return (
        f"read-only: the landmark file {Path(path).name} cannot be read ({error}). Nothing "
        "is written until it is repaired: press Repair… (the original is kept as a backup)."
    )


def not_this_reading(problems: Sequence[str]) -> str:
    """Return the read-only reason of a film whose file at the reader's name is not theirs.

    The file can be read, but the core found it is not this reader's reading of this film
    (another rater's points under this reader's name, or another film's reading): the
    points are shown and nothing is written until the file is put right.

    Parameters
    ----------
    problems : sequence of str
        The worklist entry's problems (:attr:`kyphoimg.study.StudyEntry.problems`).

    Returns
    -------
    str
        A sentence for the Landmarks and Worklist docks.
    """
    said = "; ".join(problems) or "it is not this reader's reading of this film"
    return f"read-only: {said}"


def read_only_reason(film: Mapping[str, Any] | None) -> str | None:
    """Return why nothing may be written for a film (its ``metadata["kyphoimg"]``), or None.

    Parameters
    ----------
    film : mapping or None
        The film layer's ``metadata["kyphoimg"]``.

    Returns
    -------
    str or None
        The reason, or None when the film's landmarks may be saved.
    """
    return None if film is None else film.get("read_only")


def save_layer_set(
    ls: LandmarkSet,
    path: Path,
    landmarks: MutableMapping[str, Any],
    film: Mapping[str, Any] | None,
) -> SaveOutcome:
    """Save a layer's landmark set through :func:`kyphoimg.landmarks.save_reading`.

    Parameters
    ----------
    ls : LandmarkSet
        What the layer holds.
    path : pathlib.Path
        The file it belongs in.
    landmarks : mutable mapping
        The landmarks layer's ``metadata["kyphoimg"]``: its ``sha256`` (the hash at load)
        is checked and, after the save, it names the file written (``path``) and its
        new hash (``sha256``).
    film : mapping or None
        The film's ``metadata["kyphoimg"]`` (its read-only reason and load-time hash).

    Returns
    -------
    SaveOutcome
        Where the set was written, and the conflict when that is beside ``path``.

    Raises
    ------
    LandmarkError
        If the film is read-only, or the file on disk cannot be read.
    """
    reason = read_only_reason(film)
    if reason is not None:
        raise LandmarkError(f"{path}: not saved, {reason}")
    if "sha256" in landmarks and Path(landmarks.get("path") or "") == Path(path):
        loaded = landmarks["sha256"]  # this layer last loaded or wrote that file
    elif film is not None and Path(film.get("landmark_file") or "") == Path(path):
        loaded = film.get("landmark_sha256")  # the file as the film was opened with it
    else:
        loaded = None  # a file this session never read: one found there is not overwritten
    outcome = save_reading(ls, path, loaded_sha256=loaded)
    landmarks["path"] = str(outcome.path)
    landmarks["sha256"] = outcome.sha256
    return outcome


def save_message(outcome: SaveOutcome) -> tuple[str, str]:
    """Return the sentence (and its kind) telling the reader where their points went.

    Parameters
    ----------
    outcome : SaveOutcome
        From :func:`save_layer_set`.

    Returns
    -------
    (str, str)
        The text and ``"ok"`` or ``"error"`` (a conflict).
    """
    where = Path(outcome.path)
    if outcome.conflict is None:
        return f"Saved {where.name} in {where.parent}", "ok"
    return (
        f"Not saved over the file: {outcome.conflict}. Your version was written beside it "
        f"as {where.name} (in {where.parent}); further changes go there. Compare the two "
        "and keep one.",
        "error",
    )


def repair(path: str | os.PathLike[str]) -> RepairOutcome:
    """Repair an unreadable landmark file (:func:`kyphoimg.landmarks.repair_landmark_file`).

    Parameters
    ----------
    path : path-like
        The landmark file.

    Returns
    -------
    RepairOutcome
        The salvaged set, the backup, the points carried over and what was dropped.
    """
    return repair_landmark_file(path)


def repair_message(outcome: RepairOutcome) -> str:
    """Return what a repair did, for the reader.

    Parameters
    ----------
    outcome : RepairOutcome
        From :func:`repair`.

    Returns
    -------
    str
        Points carried over, where the original is, and what was dropped.
    """
    text = (
        f"Repaired: {outcome.carried} point(s) carried over; the original is kept as "
        f"{Path(outcome.backup).name} (in {Path(outcome.backup).parent})."
    )
    if outcome.dropped:
        text += " Dropped: " + "; ".join(outcome.dropped[:4])
        if len(outcome.dropped) > 4:
            text += f" … and {len(outcome.dropped) - 4} more"
    return text


def loaded_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the film metadata keys recording a landmark file as loaded now.

    Parameters
    ----------
    path : path-like
        The landmark file (it may not exist).

    Returns
    -------
    dict
        ``landmark_file`` and ``landmark_sha256`` (None when there is no file).
    """
    return {"landmark_file": str(path), "landmark_sha256": file_sha256(path)}
