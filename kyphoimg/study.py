"""A study's worklist: every film, its patient and time point, one reader's landmark file, a status.

The worklist is what both ``kyphoimg run`` and the napari reading session work from, so
a film the viewer shows as *complete* is one that ``run`` measures without a missing
point, and an *invalid* file is refused by both with the same reasons.

Films come from the header index (:func:`kyphoimg.dicom.scan`); landmark files are read
through :mod:`kyphoimg.landmarks` and paired with their film by SOP Instance UID, then by
``image.path``, then by file name. Each entry's status is one of :data:`STATUSES`.

Readers never collide: a reader's landmark file for a film ``IMG0001.dcm`` is
``IMG0001.<rater>.landmarks.json``; the single-reader name ``IMG0001.landmarks.json``
belongs to the reader named in its ``rater`` field (so files written before per-reader
names keep working) and is what a session without a rater uses. A reading session for
one rater reads and writes only that rater's files (:func:`landmark_file_for`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .dicom import FILM_SUFFIXES, Radiograph, read_radiograph, scan
from .errors import ERROR_COLUMNS, KyphoimgError, LandmarkError, StudyError
from .landmarks import (
    ImageRef,
    LandmarkSet,
    file_sha256,
    find_landmark_files,
    held_by_another,
    landmark_problems,
    missing_points,
    pair_with_film,
    read_landmark_files,
    read_landmarks,
    save_reading,
    unconfirmed,
)
from .timepoints import TIMEPOINTS, normalise_timepoint, timepoint_vocabulary

__all__ = [
    "STATUSES",
    "StudyEntry",
    "Worklist",
    "check_rater",
    "entry_status",
    "landmark_file_for",
    "open_worklist",
    "read_paired_film",
    "unfinished",
]

#: Status of a film's landmark file for one reader, with what it means.
STATUSES: dict[str, str] = {
    "not_started": "no landmark file for this reader yet",
    "incomplete": "valid so far, but points, the index level or the time point are missing",
    "complete": "every vertebra placed has all its points, with an index level and time point",
    "to_review": "holds machine proposals no reader has confirmed",
    "invalid": "the file cannot be read or is refused (truncated, not JSON, a null or text "
    "coordinate, not UTF-8, wrong film, bad level or point names, bad time point)",
}

_RATER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_SUFFIX = ".landmarks.json"


def check_rater(rater: str | None) -> str | None:
    """Return a rater id fit for file names, or refuse it.

    Parameters
    ----------
    rater : str or None
        Initials or an id such as ``"AB"`` or ``"reader_2"``; ``None`` for a single-reader
        study.

    Returns
    -------
    str or None
        The id, stripped.

    Raises
    ------
    StudyError
        If it holds characters other than letters, digits, ``_`` and ``-`` (it becomes
        part of a file name) or is longer than 40.
    """
    if rater is None:
        return None
    text = str(rater).strip()
    if not _RATER.fullmatch(text):
        raise StudyError(
            f"rater {rater!r} cannot name a landmark file; use letters, digits, '_' or '-' "
            "(up to 40, starting with a letter or digit), e.g. your initials"
        )
    return text


def _film_stem(film: Path) -> str:
    name = film.name
    for suffix in FILM_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def landmark_file_for(film: str | Path, rater: str | None = None) -> Path:
    """Return the landmark file a reading session for ``rater`` writes for ``film``.

    Parameters
    ----------
    film : path-like
        The DICOM film.
    rater : str, optional
        The reader; ``None`` for the single-reader name.

    Returns
    -------
    pathlib.Path
        ``<stem>.landmarks.json`` without a rater, ``<stem>.<rater>.landmarks.json`` with
        one, beside the film (``<stem>`` is the file name without ``.dcm``).

    Examples
    --------
    >>> landmark_file_for("P001/pre.dcm", "AB").as_posix()
    'P001/pre.AB.landmarks.json'
    """
    film = Path(film)
    rater = check_rater(rater)
    infix = f".{rater}" if rater else ""
    return film.with_name(f"{_film_stem(film)}{infix}{_SUFFIX}")


# -- entries -----------------------------------------------------------------------------
@dataclass(frozen=True)
class StudyEntry:
    """One film of the worklist with this reader's landmark file and its status.

    Attributes
    ----------
    patient_id : str or None
        From the landmark file, else the film's Patient ID, else its folder name.
    timepoint : str or None
        Canonical time point: from the landmark file, else the film's or its folder's
        name when that is a time point of the study, else the surgery table.
    film_path : pathlib.Path
        The DICOM film.
    landmark_path : pathlib.Path
        This reader's landmark file: the existing one, or the one a session will write.
    status : str
        One of :data:`STATUSES`.
    problems : tuple of str
        Why the file is invalid or incomplete (each names the file, level and point).
    rater : str or None
        The reader of this worklist.
    sop_instance_uid : str or None
        The film's SOP Instance UID.
    rows, columns : int or None
        The film's size.
    paired_by : str or None
        How the landmark file was found: ``sop_instance_uid``, ``image_path``,
        ``file_name`` (or ``None`` when there is none yet).
    acquisition_date : str or None
        The film's acquisition date (ISO ``YYYY-MM-DD``) from the header index.
    series_description : str or None
        The film's Series Description from the header index.
    unconfirmed : tuple of str
        Levels holding proposed points no reader has confirmed.
    landmarks : LandmarkSet or None
        The landmark set, paired with the film (not validated when invalid).
    """

    patient_id: str | None
    timepoint: str | None
    film_path: Path
    landmark_path: Path
    status: str
    problems: tuple[str, ...] = ()
    rater: str | None = None
    sop_instance_uid: str | None = None
    rows: int | None = None
    columns: int | None = None
    paired_by: str | None = None
    acquisition_date: str | None = None
    series_description: str | None = None
    unconfirmed: tuple[str, ...] = ()
    landmarks: LandmarkSet | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        """``"P001 pre"``: patient and time point, for lists and messages."""
        return f"{self.patient_id or '?'} {self.timepoint or '(no time point)'}"

    @property
    def done(self) -> bool:
        """Whether the film needs no more work from this reader (status complete)."""
        return self.status == "complete"


def unfinished(ls: LandmarkSet) -> list[tuple[str, str | None, str | None, str]]:
    """List what the reader still has to do on a valid set: the *incomplete* rule.

    Parameters
    ----------
    ls : LandmarkSet
        A valid landmark set.

    Returns
    -------
    list of tuple
        ``(file, level, point, message)`` rows (:data:`~kyphoimg.errors.ERROR_COLUMNS`):
        each missing point of a placed vertebra, no point at all, no index level, an index
        level without points. Empty when nothing is left (the time point is the
        worklist's own check, as it may come from a surgery table).
    """
    rows: list[tuple[str, str | None, str | None, str]] = list(
        missing_points([ls]).itertuples(index=False, name=None)
    )
    if not ls.points:
        rows.append((ls.where, None, None, f"{ls.where}: no point placed yet"))
    if not ls.index_levels:
        rows.append((ls.where, None, None, f"{ls.where}: no index (treated) level chosen"))
    elif not any(level in ls.points for level in ls.index_levels):
        text = f"{ls.where}: the index level {', '.join(ls.index_levels)} has no points"
        rows.append((ls.where, None, None, text))
    return rows


def entry_status(
    ls: LandmarkSet | None,
    *,
    sop_instance_uid: str | None = None,
    rows: int | None = None,
    columns: int | None = None,
    timepoint: str | None = None,
    vocabulary: Sequence[str] = TIMEPOINTS,
) -> tuple[str, tuple[str, ...], LandmarkSet | None]:
    """Return the status of one film's landmark set, the reasons, and the paired set.

    The rules are the core's: :func:`~kyphoimg.landmarks.pair_with_film` (same image),
    :func:`~kyphoimg.landmarks.landmark_problems` (names, coordinates, orientation) and
    :func:`~kyphoimg.timepoints.normalise_timepoint` decide *invalid*;
    :func:`~kyphoimg.landmarks.missing_points`, a missing index level or time point
    decide *incomplete*; a point kyphoimg proposed that no reader confirmed
    (:func:`~kyphoimg.landmarks.unconfirmed`) makes a valid set *to_review*, whatever
    else it lacks.

    Parameters
    ----------
    ls : LandmarkSet or None
        The set as read (``None``: no file yet).
    sop_instance_uid, rows, columns : optional
        The film's facts, checked against the set.
    timepoint : str, optional
        The time point the study gives the film when the set has none.
    vocabulary : sequence of str, optional
        The study's time points.

    Returns
    -------
    status : str
        One of :data:`STATUSES`.
    problems : tuple of str
        The reasons for ``invalid`` or ``incomplete``.
    landmarks : LandmarkSet or None
        The set paired with the film, its time point normalised (``None`` when absent).
    """
    if ls is None:
        return "not_started", (), None
    try:
        ls = pair_with_film(
            ls, sop_instance_uid=sop_instance_uid, rows=rows, columns=columns, calibration=None
        )
        if ls.timepoint is not None:
            ls = ls.replace(timepoint=normalise_timepoint(ls.timepoint, vocabulary, where=ls.where))
    except LandmarkError as exc:
        return "invalid", (str(exc),), ls
    problems = landmark_problems(ls)
    if problems:
        return "invalid", tuple(str(p) for p in problems), ls
    proposals = unconfirmed(ls)
    review: list[str] = []
    if proposals:
        n = sum(len(v) for v in proposals.values())
        review.append(
            f"{ls.where}: {n} proposed point(s) on {', '.join(proposals)} that no reader has "
            "confirmed yet; review them (move or confirm each point)"
        )
    todo = [row[3] for row in unfinished(ls)]
    if ls.timepoint is None and timepoint is None:
        todo.append(f"{ls.where}: no time point; choose one of {', '.join(vocabulary)}")
    if review:
        return "to_review", (*review, *todo), ls
    return ("incomplete" if todo else "complete"), tuple(todo), ls


# -- the worklist ------------------------------------------------------------------------
class Worklist(Sequence[StudyEntry]):
    """The films of a study for one reader, ordered by patient, then time point.

    Build it with :func:`open_worklist`. It is a sequence of :class:`StudyEntry`; after a
    landmark file changes, :meth:`refresh` re-reads it.

    Parameters
    ----------
    folder : pathlib.Path
        The study folder.
    entries : sequence of StudyEntry
        The films.
    rater : str or None
        The reader.
    timepoints : tuple of str
        The study's time points in chronological order (the vocabulary).
    problems : pandas.DataFrame
        Landmark files that could not be read or paired with a film, columns
        ``file, level, point, error``.
    seed : int, optional
        Order the films by this seed instead (a blinded reading; see :meth:`shuffled`).
    """

    def __init__(
        self,
        folder: Path,
        entries: Sequence[StudyEntry],
        rater: str | None,
        timepoints: tuple[str, ...],
        problems: pd.DataFrame,
        *,
        seed: int | None = None,
    ) -> None:
        self.folder = folder
        self.rater = rater
        self.timepoints = timepoints
        self.problems = problems
        self.seed = seed
        order = {t: i for i, t in enumerate(timepoints)}
        self._entries = sorted(
            entries,
            key=lambda e: (
                str(e.patient_id or ""),
                order.get(e.timepoint or "", len(order)),
                str(e.film_path),
            ),
        )
        if seed is not None:  # a blinded re-read: films in a seeded random order
            perm = np.random.default_rng(seed).permutation(len(self._entries))
            self._entries = [self._entries[i] for i in perm]

    def shuffled(self, seed: int) -> Worklist:
        """Return the same films in a seeded random order, for a blinded reading.

        Parameters
        ----------
        seed : int
            The seed (record it: the same seed gives the same order).

        Returns
        -------
        Worklist
            A new worklist with ``seed`` set; :meth:`next` follows the shuffled order.
        """
        return Worklist(
            self.folder, self._entries, self.rater, self.timepoints, self.problems, seed=seed
        )

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, i: Any) -> Any:
        return self._entries[i]

    def __iter__(self) -> Iterator[StudyEntry]:
        return iter(self._entries)

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        return f"<Worklist {self.folder} rater={self.rater!r}: {len(self)} films ({counts})>"

    def position(self, entry: StudyEntry) -> int:
        """Return the position of ``entry`` (matched by its film).

        Parameters
        ----------
        entry : StudyEntry
            An entry of this worklist (possibly an older copy).

        Returns
        -------
        int
            Its index.

        Raises
        ------
        StudyError
            If the film is not in the worklist.
        """
        for i, e in enumerate(self._entries):
            if e.film_path == entry.film_path:
                return i
        raise StudyError(f"{entry.film_path} is not a film of this worklist")

    def counts(self) -> dict[str, int]:
        """Return the number of films per status.

        Returns
        -------
        dict
            ``{status: count}`` for every status of :data:`STATUSES`.
        """
        out = dict.fromkeys(STATUSES, 0)
        for e in self._entries:
            out[e.status] += 1
        return out

    def patient(self, patient_id: str | None) -> list[StudyEntry]:
        """Return one patient's films in time-point order.

        Parameters
        ----------
        patient_id : str or None
            The patient.

        Returns
        -------
        list of StudyEntry
            Possibly empty.
        """
        return [e for e in self._entries if e.patient_id == patient_id]

    def next(
        self,
        entry: StudyEntry | None = None,
        *,
        skip_done: bool = False,
        unannotated: bool = False,
        step: int = 1,
    ) -> StudyEntry | None:
        """Return the film after ``entry`` (the first one when ``None``).

        Parameters
        ----------
        entry : StudyEntry, optional
            Where to start; ``None`` starts before the first film.
        skip_done : bool, optional
            Skip films whose status is ``complete`` (only those: it stops at films to
            review, invalid, incomplete or not started).
        unannotated : bool, optional
            The former name of ``skip_done`` (either skips).
        step : int, optional
            ``1`` forwards, ``-1`` backwards.

        Returns
        -------
        StudyEntry or None
            ``None`` when there is no such film (the list does not wrap around).
        """
        if step not in (1, -1):
            raise StudyError(f"step={step!r}; use 1 (next) or -1 (previous)")
        start = -1 if step == 1 else len(self._entries)
        i = start if entry is None else self.position(entry)
        i += step
        while 0 <= i < len(self._entries):
            if not ((skip_done or unannotated) and self._entries[i].done):
                return self._entries[i]
            i += step
        return None

    def previous(
        self,
        entry: StudyEntry | None = None,
        *,
        skip_done: bool = False,
        unannotated: bool = False,
    ) -> StudyEntry | None:
        """Return the film before ``entry`` (see :meth:`next`).

        Parameters
        ----------
        entry : StudyEntry, optional
            Where to start; ``None`` starts after the last film.
        skip_done : bool, optional
            Skip films whose status is ``complete`` (only those).
        unannotated : bool, optional
            The former name of ``skip_done``.

        Returns
        -------
        StudyEntry or None
            ``None`` at the start of the list.
        """
        return self.next(entry, skip_done=skip_done or unannotated, step=-1)

    def refresh(self, entry: StudyEntry) -> StudyEntry:
        """Re-read an entry's landmark file and recompute its status.

        Parameters
        ----------
        entry : StudyEntry
            The entry (or an older copy of it).

        Returns
        -------
        StudyEntry
            The updated entry, also stored in the worklist.
        """
        i = self.position(entry)
        old = self._entries[i]
        ls: LandmarkSet | None = None
        problems: tuple[str, ...] = ()
        if old.landmark_path.is_file():
            try:
                ls = read_landmarks(old.landmark_path, validate=False)
            except KyphoimgError as exc:
                problems = (str(exc),)
            else:
                if held_by_another(ls, self.rater):
                    problems = (_held_reason(old.landmark_path, self.rater, ls.rater),)
        if problems:
            new = replace(old, status="invalid", problems=problems, landmarks=None)
        else:
            new = _entry(old, ls, self.timepoints)
        self._entries[i] = new
        return new

    def assign_timepoint(self, entry: StudyEntry, timepoint: str) -> StudyEntry:
        """Write a film's time point into this reader's landmark file, and refresh the entry.

        Only this reader's file is written (created with no points when there is none
        yet, naming the film), through :func:`~kyphoimg.landmarks.save_reading`, so a
        file changed meanwhile is never overwritten.

        Parameters
        ----------
        entry : StudyEntry
            The film (an entry of this worklist, possibly an older copy).
        timepoint : str
            A time point of the study (``pre``, ``post``, ``last`` or an alias).

        Returns
        -------
        StudyEntry
            The refreshed entry.

        Raises
        ------
        TimepointError
            If ``timepoint`` is not one of the study's.
        StudyError
            If the reader's file cannot be read (repair it first) or was changed by
            another session meanwhile (this change is then written beside it).
        """
        old = self._entries[self.position(entry)]
        path = old.landmark_path
        tp = normalise_timepoint(timepoint, self.timepoints, where=str(path))
        loaded = file_sha256(path)
        if loaded is None:
            ls = LandmarkSet(
                {},
                patient_id=old.patient_id,
                rater=self.rater,
                image=ImageRef(
                    path=os.path.relpath(old.film_path, path.parent),
                    sop_instance_uid=old.sop_instance_uid,
                    rows=old.rows,
                    columns=old.columns,
                ),
            )
        else:
            try:
                ls = read_landmarks(path, validate=False)
            except KyphoimgError as exc:
                raise StudyError(
                    f"{path}: cannot be read ({exc}); nothing was written: repair the file "
                    "first (it is kept as a backup), then give the time point"
                ) from None
        try:
            outcome = save_reading(ls.replace(timepoint=tp), path, loaded_sha256=loaded)
        except LandmarkError as exc:
            raise StudyError(str(exc)) from None
        if outcome.conflict:
            raise StudyError(outcome.conflict)
        return self.refresh(old)

    def to_frame(self) -> pd.DataFrame:
        """Return the worklist as a table, one row per film.

        Returns
        -------
        pandas.DataFrame
            Columns ``patient_id, timepoint, film, landmarks, rater, status, problems,
            acquisition_date, series_description, unconfirmed`` (levels, comma-separated).
        """
        return pd.DataFrame(
            [
                (
                    e.patient_id,
                    e.timepoint,
                    str(e.film_path),
                    str(e.landmark_path),
                    e.rater,
                    e.status,
                    "; ".join(e.problems),
                    e.acquisition_date,
                    e.series_description,
                    ",".join(e.unconfirmed),
                )
                for e in self._entries
            ],
            columns=[
                "patient_id",
                "timepoint",
                "film",
                "landmarks",
                "rater",
                "status",
                "problems",
                "acquisition_date",
                "series_description",
                "unconfirmed",
            ],
        )


def _entry(base: StudyEntry, ls: LandmarkSet | None, vocabulary: Sequence[str]) -> StudyEntry:
    """Recompute ``base``'s status, time point and patient from its landmark set."""
    status, problems, paired = entry_status(
        ls,
        sop_instance_uid=base.sop_instance_uid,
        rows=base.rows,
        columns=base.columns,
        timepoint=base.timepoint,
        vocabulary=vocabulary,
    )
    timepoint = base.timepoint
    patient_id = base.patient_id
    if paired is not None and status != "invalid":
        timepoint = paired.timepoint or timepoint
        patient_id = paired.patient_id or patient_id
    return replace(
        base,
        timepoint=timepoint,
        patient_id=patient_id,
        status=status,
        problems=problems,
        unconfirmed=tuple(unconfirmed(paired)) if paired is not None else (),
        landmarks=paired,
    )


def _guess_timepoint(film: Path, vocabulary: Sequence[str]) -> str | None:
    """Return the film's own or its folder's name when that is a time point of the study."""
    for name in (_film_stem(film), film.parent.name):
        try:
            return normalise_timepoint(name, vocabulary)
        except KyphoimgError:
            continue
    return None


def _pair(
    index: pd.DataFrame, folder: Path, sets: list[LandmarkSet]
) -> tuple[dict[str, tuple[LandmarkSet, str]], list[tuple[str, None, None, str]]]:
    """Pair landmark sets with films: by SOP Instance UID, then by path or file name."""
    ok = index[index["status"] == "ok"]
    # a film the landmark file names that is there but unreadable, also when so damaged
    # (truncated) that the scan no longer recognises it as DICOM
    bad = index["status"].isin(["error", "not_dicom"])
    unreadable = {
        (folder / p).resolve(): r
        for p, r in zip(index.loc[bad, "path"], index.loc[bad, "reason"], strict=True)
    }
    by_uid = {
        u: p for u, p in zip(ok["sop_instance_uid"], ok["path"], strict=True) if isinstance(u, str)
    }
    by_path = {(folder / p).resolve(): p for p in ok["path"]}
    by_stem: dict[tuple[Path, str], list[str]] = {}
    for p in ok["path"]:
        full = (folder / p).resolve()
        by_stem.setdefault((full.parent, _film_stem(full)), []).append(p)
    stems = {stem for _, stem in by_stem}
    pairs: dict[str, tuple[LandmarkSet, str]] = {}
    errors: list[tuple[str, None, None, str]] = []
    for ls in sets:
        lf = Path(ls.source or "")
        target = (lf.parent / ls.image.path).resolve() if ls.image.path else None
        film, how = None, None
        if ls.image.sop_instance_uid in by_uid:
            film, how = by_uid[ls.image.sop_instance_uid], "sop_instance_uid"
        elif target is not None and target in by_path:
            film, how = by_path[target], "image_path"
        else:
            stem = lf.name.removesuffix(_SUFFIX).removesuffix(".landmarks.csv")
            named = _name_rater(lf, stems)  # the one rule for what a name says
            if named is not None:
                stem = stem.removesuffix(f".{named}")
            candidates = by_stem.get((lf.parent.resolve(), stem), [])
            if len(candidates) == 1:
                film, how = candidates[0], "file_name"
        if film is None and target is not None and target in unreadable:
            errors.append(
                (
                    str(lf),
                    None,
                    None,
                    f"{lf}: its film {target} cannot be read ({unreadable[target]})",
                )
            )
        elif film is None:
            errors.append(
                (
                    str(lf),
                    None,
                    None,
                    f"{lf}: no DICOM film found for this landmark file (SOP Instance UID "
                    f"{ls.image.sop_instance_uid}, image path {ls.image.path}); put the film "
                    "in the study folder or fix image.path",
                )
            )
        elif film in pairs:
            errors.append(
                (
                    str(lf),
                    None,
                    None,
                    f"{lf}: film {film} is already paired with {pairs[film][0].source}",
                )
            )
        else:
            pairs[film] = (ls, how or "")
    return pairs, errors


def _reader_file(
    folder: Path, path: str, rater: str | None, landmarks_dir: str | Path | None
) -> Path:
    """Return this reader's file for a film not started.

    It is beside the film, or in the same relative folder of a separate landmarks folder
    (where the next worklist looks for it).
    """
    own = landmark_file_for(folder / path, rater)
    if landmarks_dir is None:
        return own
    return Path(landmarks_dir) / Path(path).parent / own.name


def _raw_identity(path: Path) -> dict[str, Any]:
    """Return the rater and image a landmark file names, read leniently (empty when not JSON)."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return {}
    try:
        data = json.loads(text)
    except ValueError:  # truncated: the identity usually comes before the points
        found = {
            k: re.search(rf'"{k}"\s*:\s*"([^"]*)"', text) for k in ("rater", "sop_instance_uid")
        }
        return {
            "rater": found["rater"] and found["rater"].group(1),
            "uid": found["sop_instance_uid"] and found["sop_instance_uid"].group(1),
            "path": None,
        }
    if not isinstance(data, dict):
        return {}
    image = data.get("image")
    image = image if isinstance(image, dict) else {}
    return {
        "rater": data.get("rater") if isinstance(data.get("rater"), str) else None,
        "uid": image.get("sop_instance_uid"),
        "path": image.get("path") if isinstance(image.get("path"), str) else None,
    }


def _names_of_films(
    ok_paths: Iterable[str], folder: Path, root: Path, rater: str | None
) -> tuple[dict[Path, str], dict[str, list[str]]]:
    """Where this reader's landmark file of each film is expected, by the naming contract.

    Returns ``({expected file: film}, {file name: [films]})``: the file is the film's
    ``<stem>[.<rater>].landmarks.json`` (or ``.landmarks.csv``) in the film's folder, or,
    with a separate landmarks folder ``root``, in the same relative folder under it.
    """
    by_place: dict[Path, str] = {}
    by_name: dict[str, list[str]] = {}
    for p in ok_paths:
        film = folder / p
        rel_parent = Path(p).parent
        json_name = landmark_file_for(film, rater).name
        for name in (json_name, json_name.removesuffix(_SUFFIX) + ".landmarks.csv"):
            by_place[(root / rel_parent / name).resolve()] = p
            by_name.setdefault(name, []).append(p)
    return by_place, by_name


def _pair_unreadable(
    problems: pd.DataFrame,
    index: pd.DataFrame,
    folder: Path,
    rater: str | None,
    landmarks_dir: Path | None = None,
) -> dict[str, tuple[Path, tuple[str, ...], str]]:
    """Pair the landmark files that cannot be read with their films.

    A file pairs with a film by its name when it is the reader's file for it
    (:func:`landmark_file_for`: the film's stem and the rater, ``.landmarks.json`` or
    ``.landmarks.csv``) in the film's folder, or in the same relative folder of a separate
    landmarks folder, or anywhere in that folder when only one film has that name.
    Otherwise it pairs when enough of it can be read to name the film (SOP Instance UID
    or image path) and this reader (a per-reader file of another reader, or the
    single-reader file of another rater, is not this reader's).

    Returns
    -------
    dict
        ``{index path: (landmark file, reasons, paired_by)}``.
    """
    ok = index[index["status"] == "ok"]
    by_place, by_name = _names_of_films(ok["path"], folder, landmarks_dir or folder, rater)
    by_uid = {u: p for u, p in zip(ok["sop_instance_uid"], ok["path"], strict=True) if u}
    by_path = {(folder / p).resolve(): p for p in ok["path"]}
    out: dict[str, tuple[Path, tuple[str, ...], str]] = {}
    for file, rows in problems.groupby("file", sort=False):
        path = Path(str(file))
        if not path.name.endswith((_SUFFIX, ".landmarks.csv")) or not path.is_file():
            continue
        reasons = tuple(dict.fromkeys(str(e) for e in rows["error"]))
        film, how = by_place.get(path.resolve()), "file_name"
        if film is None and landmarks_dir is not None and len(by_name.get(path.name, [])) == 1:
            film = by_name[path.name][0]
        if film is None:
            film, how = _by_identity(path, rater, by_uid, by_path)
        if film is not None and film not in out:
            out[film] = (path, reasons, how)
    return out


def _by_identity(
    path: Path, rater: str | None, by_uid: dict[Any, str], by_path: dict[Path, str]
) -> tuple[str | None, str]:
    """Return the film a damaged file still names (UID or image path), if it is this reader's."""
    ident = _raw_identity(path)
    own = (
        ident.get("rater") == rater
        if rater is not None
        else not path.name.endswith(f".{ident.get('rater')}{_SUFFIX}")
    )
    target = (path.parent / ident["path"]).resolve() if ident.get("path") else None
    if own and ident.get("uid") in by_uid:
        return by_uid[ident["uid"]], "sop_instance_uid"
    if own and target in by_path:
        return by_path[target], "image_path"
    return None, ""


def _not_this_reading(
    own: Path,
    rater: str | None,
    pairs: Mapping[str, tuple[LandmarkSet, str]],
    pair_errors: Iterable[tuple[str, None, None, str]],
) -> str:
    """Say why the file at this reader's name for a film is not their reading of it.

    A file there is never a film "not started": the reader's first save would have to
    go beside it, and the file's points would look like nobody's work.
    """
    where = own.resolve()
    for film, (ls, how) in pairs.items():
        if ls.source and Path(ls.source).resolve() == where:
            return (
                f"{own}: this file is the reading of another film, {film} (paired by "
                f"{how.replace('_', ' ')}); move it beside that film or rename it, then reopen"
            )
    for file, _, _, message in pair_errors:
        if Path(file).resolve() == where:
            return message
    held = _raw_identity(own).get("rater")
    if rater is not None and held != rater:
        return _held_reason(own, rater, held)
    return f"{own}: this reader's file for the film could not be paired with it"


def _held_reason(own: Path, rater: str | None, held: str | None) -> str:
    """Say that the file at ``rater``'s name holds ``held``'s reading, and what to do."""
    stem = own.name.removesuffix(_SUFFIX).removesuffix(f".{rater}")
    other = f"{stem}.{held}{_SUFFIX}" if held else f"{stem}{_SUFFIX}"
    return (
        f'{own}: named for rater {rater}, but its "rater" field says {held!r}. If '
        f'these are {rater}\'s points, set "rater" to "{rater}" in the file; if they '
        f"are {held or 'the single reader'}'s, rename the file to {other}. Nothing is "
        "written to it meanwhile"
    )


def _index_text(value: Any) -> str | None:
    """Return a header-index value as text (dates as ISO ``YYYY-MM-DD``), ``None`` when missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value) or None


def _name_rater(path: Path, film_stems: set[str]) -> str | None:
    """Return the rater a landmark file's name carries, ``<film stem>.<rater>.landmarks.*``.

    ``None`` for a single-reader name (``<film stem>.landmarks.*``, also when the stem
    itself has dots) or a name that does not start with a film's stem.
    """
    base = path.name
    for suffix in (_SUFFIX, ".landmarks.csv"):
        base = base.removesuffix(suffix)
    if base in film_stems or "." not in base:
        return None
    stem, infix = base.rsplit(".", 1)
    return infix if stem in film_stems else None


def _readers_sets(
    sets: Iterable[LandmarkSet], rater: str | None, film_stems: set[str]
) -> list[LandmarkSet]:
    """Return the sets of ``rater`` (without a rater: the single-reader files).

    A set is the rater's when its name and its ``rater`` field agree: a per-reader
    name carrying another rater is never this reader's, whatever its field says; the
    reader's own name is theirs unless another reader's points are in it
    (:func:`~kyphoimg.landmarks.held_by_another`); a single-reader name is the rater's
    when its field names them.
    """
    out = []
    for ls in sets:
        named = _name_rater(Path(ls.source or ""), film_stems)
        if rater is None:
            mine = named is None
        elif named is None:
            mine = ls.rater == rater
        else:
            mine = named == rater and not held_by_another(ls, rater)
        if mine:
            out.append(ls)
    return out


def open_worklist(
    folder: str | os.PathLike[str],
    *,
    rater: str | None = None,
    timepoints: Iterable[str] | None = None,
    landmarks_dir: str | Path | None = None,
    index: pd.DataFrame | None = None,
    assigned: dict[str, str] | None = None,
    jobs: int = 1,
    progress: bool = False,
) -> Worklist:
    """Build the worklist of a study folder for one reader.

    Parameters
    ----------
    folder : path-like
        The study folder: DICOM films (any layout) with landmark files beside them.
    rater : str, optional
        The reader (see :func:`check_rater`); without one, the single-reader files.
    timepoints : iterable of str, optional
        The study's time points in chronological order (default pre, post, last; see
        :func:`~kyphoimg.timepoints.timepoint_vocabulary`).
    landmarks_dir : path-like, optional
        Where the landmark files are, when not beside the films (a film not started
        gets its file in the same relative folder there).
    index : pandas.DataFrame, optional
        A header index of ``folder`` already made with :func:`~kyphoimg.dicom.scan`.
    assigned : dict, optional
        Time points from a surgery table, by index path (see
        :func:`~kyphoimg.timepoints.assign_timepoints`).
    jobs : int, optional
        Processes for the header scan.
    progress : bool, optional
        Show progress bars.

    Returns
    -------
    Worklist
        One entry per readable DICOM image of the folder.

    Raises
    ------
    StudyError
        If ``folder`` is not a folder or the rater id is unusable.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise StudyError(f"{folder}: not a folder; give the study folder holding the films")
    rater = check_rater(rater)
    vocabulary = timepoint_vocabulary(timepoints)
    if index is None:
        index = scan(folder, progress=progress, jobs=jobs)
    files = find_landmark_files([landmarks_dir or folder])
    sets, problems = read_landmark_files(files, validate=False, progress=progress)
    film_stems = {_film_stem(Path(p)) for p in index.loc[index["status"] == "ok", "path"]}
    pairs, pair_errors = _pair(index, folder, _readers_sets(sets, rater, film_stems))
    unreadable = _pair_unreadable(
        problems, index, folder, rater, None if landmarks_dir is None else Path(landmarks_dir)
    )
    entries = []
    ok = index[index["status"] == "ok"]
    ok = ok.reindex(columns=list(dict.fromkeys([*ok.columns, "series_description"])))
    for path, pid, uid, rows, cols, acquired, series in zip(
        ok["path"],
        ok["patient_id"],
        ok["sop_instance_uid"],
        ok["rows"],
        ok["columns"],
        ok["acquisition_date"],
        ok["series_description"],
        strict=True,
    ):
        film = folder / path
        ls, how = pairs.get(path, (None, None))
        base = StudyEntry(
            patient_id=pid if isinstance(pid, str) and pid else (film.parent.name or None),
            timepoint=(assigned or {}).get(path) or _guess_timepoint(film, vocabulary),
            film_path=film,
            landmark_path=Path(ls.source)
            if ls is not None and ls.source
            else _reader_file(folder, path, rater, landmarks_dir),
            status="not_started",
            rater=rater,
            sop_instance_uid=uid if isinstance(uid, str) else None,
            rows=None if pd.isna(rows) else int(rows),
            columns=None if pd.isna(cols) else int(cols),
            paired_by=how,
            acquisition_date=_index_text(acquired),
            series_description=_index_text(series),
        )
        if ls is None and path in unreadable:
            lf, reasons, how = unreadable[path]
            base = replace(
                base, landmark_path=lf, status="invalid", problems=reasons, paired_by=how
            )
            entries.append(base)
            continue
        if ls is None and base.landmark_path.is_file():  # there, read, and not this reading
            reason = _not_this_reading(base.landmark_path, rater, pairs, pair_errors)
            entries.append(replace(base, status="invalid", problems=(reason,)))
            if all(row[3] != reason for row in pair_errors):  # a failed input, reported once
                pair_errors.append((str(base.landmark_path), None, None, reason))
            continue
        entries.append(_entry(base, ls, vocabulary))
    errors = pd.concat(
        [problems, pd.DataFrame(pair_errors, columns=list(ERROR_COLUMNS))], ignore_index=True
    )
    return Worklist(folder, entries, rater, vocabulary, errors)


def read_paired_film(
    film: str | os.PathLike[str], landmarks: str | os.PathLike[str] | LandmarkSet
) -> tuple[Radiograph, LandmarkSet]:
    """Read a film and meet its landmark set with it.

    The sequence every caller that has a film and one landmark file needs: the film is
    decoded (:func:`kyphoimg.dicom.read_radiograph`), the set read when a path is given,
    and the two are paired by :func:`kyphoimg.landmarks.pair_with_film` (same image; the
    film's header calibration unless the set holds a ``user`` one).

    Parameters
    ----------
    film : path-like
        The DICOM film.
    landmarks : path-like or LandmarkSet
        Its landmark file, or a set already read.

    Returns
    -------
    radiograph : Radiograph
        The film as read.
    landmarks : LandmarkSet
        The set paired with the film.

    Raises
    ------
    FilmMismatchError
        If the set was placed on another image (SOP Instance UID or size differ).
    """
    rg = read_radiograph(film)
    ls = landmarks if isinstance(landmarks, LandmarkSet) else read_landmarks(landmarks)
    paired = pair_with_film(
        ls,
        sop_instance_uid=rg.metadata.sop_instance_uid,
        rows=rg.shape[0],
        columns=rg.shape[1],
        calibration=rg.calibration,
        film=film,
    )
    return rg, paired
