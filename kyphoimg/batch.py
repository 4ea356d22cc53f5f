"""Batches: many landmark files, or a whole study of DICOM films, never stopping at a bad one.

A batch collects every failure as a row of an errors table (file, level, point, error)
and carries on; callers decide the exit status from it. :func:`run_study` runs a whole
cohort: scan, pair films with landmark files, measure in parallel (processes or Dask),
derive features, export. Each film gets one row of ``films.csv`` with a status from
:data:`FILM_STATUSES`; a row of the errors table whose message starts with
:data:`WARNING_PREFIX` is a warning (worth reading, but nothing failed).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from ._version import __version__
from .atomic import atomic_write_text
from .dicom import FILM_SUFFIXES, scan
from .dictionary import data_dictionary
from .errors import (
    ERROR_COLUMNS,
    WARNING_PREFIX,
    FilmMismatchError,
    KyphoimgError,
    LandmarkError,
)
from .export import dictionary_path, drop_identifiers, pseudonymise, read_table, write_table
from .landmarks import (
    LEVELS,
    LandmarkSet,
    find_landmark_files,
    landmark_problems,
    landmarks_from_dict,
    missing_points,
    read_landmark_files,
    scheme_points,
    validate_landmarks,
    without_proposals,
)
from .longitudinal import RecompressionRule, clinical_gap_rows, features_table
from .measure import images_table, measures_table, with_point_source
from .parallel import executor_name, ordered_map, run_tasks
from .study import (
    StudyEntry,
    Worklist,
    check_rater,
    open_worklist,
    read_paired_film,
    unfinished,
)
from .timepoints import TIMEPOINTS, assign_timepoints, normalise_timepoint

__all__ = [
    "FILM_COLUMNS",
    "FILM_STATUSES",
    "WARNING_PREFIX",
    "FilmStatusCounts",
    "FilmTask",
    "RunOptions",
    "RunResult",
    "RunSummary",
    "RunVariants",
    "leave_out_proposals",
    "measure_film",
    "run_study",
]

ErrorRow = tuple[str, str | None, str | None, str]


def __getattr__(name: str) -> Any:
    moved = {
        "load_landmarks": ("kyphoimg.landmarks.read_landmark_files", read_landmark_files),
        "find_landmark_files": ("kyphoimg.landmarks.find_landmark_files", find_landmark_files),
        "missing_points": ("kyphoimg.landmarks.missing_points", missing_points),
        "ERROR_COLUMNS": ("kyphoimg.errors.ERROR_COLUMNS", ERROR_COLUMNS),
    }
    if name in moved:
        new, value = moved[name]
        warnings.warn(
            f"kyphoimg.batch.{name} is deprecated: use {new}; the old name goes in the "
            "next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ============================================================================= study runs
FILM_COLUMNS = (
    "dicom",
    "landmarks",
    "patient_id",
    "timepoint",
    "sop_instance_uid",
    "paired_by",
    "spacing_source",
    "status",
    "reason",
)

#: Status of each row of ``films.csv`` (one row per film file of the study), with what it
#: means. Landmark files, README files and other files that are not named like a film
#: are not films and get no row; their problems are in ``errors.csv``.
FILM_STATUSES: dict[str, str] = {
    "measured": "every vertebra placed has all its points, with an index level and a time point",
    "not_annotated": "a DICOM film without a landmark file (of this reader): nothing to "
    "measure yet; open the study with 'kyphoimg view' to place the points",
    "incomplete": "the annotation is unfinished and the film is measured as far as it goes: "
    "reason names the missing points, the vertebrae refused for a misspelt point name, a "
    "missing index level or time point, or 'no point placed yet'",
    "unreadable": "a DICOM file that cannot be read (truncated, corrupt, pixel data that "
    "cannot be decoded); reason says why",
    "not_dicom": "a file named like a film (.dcm, .dicom, .dic, .ima) that is not DICOM; "
    "reason says why",
    "refused": "the landmark file is invalid for this film (made on another image, a time "
    "point outside the study's, bad level names or orientation); reason says why",
    "invalid": "the reader's landmark file for this film cannot be read (truncated, not JSON, a "
    "null or text coordinate, not UTF-8): nothing is measured and nothing was written over it; "
    "repair it (kyphoimg view keeps the original as a backup) or fix the file; reason says why",
    "to_review": "the landmark file holds points proposed by kyphoimg that no reader has "
    "confirmed: those vertebrae are not measured (the reader's own are); review them in "
    "kyphoimg view, or measure them unreviewed with --accept-proposals",
}


# Version of the per-film cache entries: older entries are recomputed, not misread.
_CACHE_FORMAT = "film-result/2"

_FILM_COLUMN_NOTES = {
    "dicom": "the film's path relative to the study folder",
    "landmarks": "the landmark file measured for this film (empty when none)",
    "paired_by": "how the landmark file was found: sop_instance_uid, image_path, file_name",
    "reason": "why the film is not (fully) measured; empty when measured",
}


@dataclass(frozen=True)
class RunOptions:
    """Options of :func:`run_study` (all plain values, so a study TOML maps onto them).

    Parameters
    ----------
    dicom_dir : path
        Folder searched recursively for the DICOM films.
    output : path
        Output folder.
    landmarks_dir : path, optional
        Folder of ``*.landmarks.json`` files (default: ``dicom_dir``).
    clinical : path, optional
        Clinical table joined on ``patient_id``; columns naming direct identifiers are
        dropped unless ``keep_identifiers``. Patients with features but no row in it
        are named in a warning row of the errors table.
    surgery : path, optional
        Table of ``patient_id, surgery_date`` assigning time points to films whose
        landmark file has none.
    timepoints : tuple of str, optional
        The study's time points (see :func:`~kyphoimg.timepoints.timepoint_vocabulary`:
        extra follow-ups after pre, post, last, or a whole chronological order).
    formats : tuple of str
        Table formats written (``csv``, ``parquet``, ``xlsx``).
    jobs : int
        Worker processes.
    scheduler : str, optional
        Dask distributed scheduler address.
    pseudonymise : bool
        Replace patient ids by salted-hash keys (key table written separately).
    salt : str, optional
        Salt of the keys (random when not given; it is stored in the key table folder).
    keep_identifiers : bool
        Keep clinical columns that name direct identifiers.
    resume : bool
        Reuse per-film results cached by an earlier (interrupted) run of the same output.
    progress : bool
        Show progress bars.
    rater : str, optional
        The reader whose landmark files are measured (``<film>.<rater>.landmarks.json``,
        or a single-reader file naming that rater); without one, the single-reader files.
    errors : path, optional
        Also write the errors table here (format by extension), besides
        ``OUTPUT/errors.csv``.
    skip_fractured_references : bool
        Skip fractured neighbours as height references (see
        :func:`kyphoimg.measure.measures_table`).
    accept_proposals : bool
        Measure the vertebrae whose points kyphoimg proposed and no reader confirmed
        (default: leave them out, name them in warning rows, film status ``to_review``).
        Each measures and features row says its source in ``point_source``.
    genant_reference, normative, sd_threshold
        Measure variants, as in :func:`kyphoimg.measure.measures_table` (``normative``
        is the path of the normative table).
    restoration, restoration_height, reduction_rate, recompression
        Feature variants, as in :func:`kyphoimg.longitudinal.features_table`. Every
        variant is recorded in ``summary.json`` (``variants``).
    """

    dicom_dir: Path
    output: Path
    landmarks_dir: Path | None = None
    clinical: Path | None = None
    surgery: Path | None = None
    timepoints: tuple[str, ...] | None = None
    formats: tuple[str, ...] = ("csv",)
    jobs: int = 1
    scheduler: str | None = None
    pseudonymise: bool = False
    salt: str | None = None
    keep_identifiers: bool = False
    resume: bool = True
    progress: bool = False
    rater: str | None = None
    errors: Path | None = None
    skip_fractured_references: bool = False
    accept_proposals: bool = False
    genant_reference: str = "adjacent"
    normative: Path | None = None
    sd_threshold: float = 3.0
    restoration: str = "reference"
    restoration_height: str = "ha"
    reduction_rate: str = "restoration"
    recompression: RecompressionRule = field(default_factory=RecompressionRule)


@dataclass(frozen=True)
class FilmTask:
    """One film to measure: picklable, so any executor can run it.

    Attributes
    ----------
    dicom : str
        The film's DICOM file.
    landmarks : str
        The landmark file the set came from (named in messages).
    timepoint : str or None
        The film's time point in the study (from its name or the surgery table), used
        when the set has none.
    cache_key : str
        Key of the cached result (film file, landmark content, time point, version).
    landmark_data : dict
        The landmark set as its file's JSON object.
    timepoints : tuple of str
        The study's time points (the vocabulary a set's time point must belong to).
    in_pool : bool
        Whether the task runs in a worker process of the run's own pool, which then
        leaves Ctrl+C to the parent process (so one interrupt gives one message).
    accept_proposals : bool
        Measure proposed points no reader confirmed (else those vertebrae are left out).
    """

    dicom: str
    landmarks: str
    timepoint: str | None
    cache_key: str
    landmark_data: dict[str, Any] = field(default_factory=dict)
    timepoints: tuple[str, ...] = TIMEPOINTS
    in_pool: bool = False
    accept_proposals: bool = False


@dataclass(frozen=True)
class FilmStatusCounts:
    """Films of a run by status (``films.csv``), one attribute per :data:`FILM_STATUSES` key.

    Attributes
    ----------
    measured, not_annotated, incomplete, unreadable, not_dicom, refused, invalid, to_review : int
        Number of rows of ``films.csv`` with that ``status`` (meanings in
        :data:`FILM_STATUSES`).
    """

    measured: int = 0
    not_annotated: int = 0
    incomplete: int = 0
    unreadable: int = 0
    not_dicom: int = 0
    refused: int = 0
    invalid: int = 0
    to_review: int = 0

    @classmethod
    def from_films(cls, films: pd.DataFrame) -> FilmStatusCounts:
        """Count the rows of a ``films`` table by ``status``.

        Parameters
        ----------
        films : pandas.DataFrame
            A table with a ``status`` column (``films.csv``).

        Returns
        -------
        FilmStatusCounts
            One count per status, zero for the statuses absent.
        """
        return cls(**{s: int((films["status"] == s).sum()) for s in FILM_STATUSES})

    @property
    def total(self) -> int:
        """Every film of the run (every row of ``films.csv``)."""
        return sum(n for _, n in self.items())

    def items(self) -> tuple[tuple[str, int], ...]:
        """Return ``(status, count)`` pairs in the order of :data:`FILM_STATUSES`.

        Returns
        -------
        tuple of (str, int)
            Every status with its count, zeros included.
        """
        return tuple((s, int(getattr(self, s))) for s in FILM_STATUSES)

    def to_dict(self) -> dict[str, int]:
        """Return the counts as ``summary.json`` writes them (``films_by_status``).

        Returns
        -------
        dict of str to int
            Status to count, in the order of :data:`FILM_STATUSES`.
        """
        return dict(self.items())


@dataclass(frozen=True)
class RunVariants:
    """The measure and feature variants a run used (``summary.json``'s ``variants``).

    Attributes
    ----------
    skip_fractured_references : bool
        Fractured neighbours were skipped as height references.
    genant_reference : str
        Reference height of the Genant grade (``adjacent``, ``normative``, ...).
    normative : str or None
        Path of the normative table, when one was given.
    sd_threshold : float
        SD threshold of the normative comparison.
    restoration, restoration_height, reduction_rate : str
        Feature variants of :func:`kyphoimg.longitudinal.features_table`.
    recompression_loss_pct : float
        Height loss (percent) that counts as recompression.
    recompression_angle_deg : float or None
        Kyphotic-angle increase that counts as recompression (None: not used).
    recompression_height : str
        The height followed (``ahr``, ``ha``, ``hm``, ``hp``, ``max_loss``).
    recompression_baseline : str
        The time point the loss is measured from (``post`` or ``pre``).
    recompression_min_loss_mm : float or None
        Smallest loss in mm that counts (None: no mm rule).
    """

    skip_fractured_references: bool
    genant_reference: str
    normative: str | None
    sd_threshold: float
    restoration: str
    restoration_height: str
    reduction_rate: str
    recompression_loss_pct: float
    recompression_angle_deg: float | None
    recompression_height: str | None
    recompression_baseline: str
    recompression_min_loss_mm: float | None

    @classmethod
    def from_options(cls, o: RunOptions) -> RunVariants:
        """Return the variants of a run's options.

        Parameters
        ----------
        o : RunOptions
            The run's options.

        Returns
        -------
        RunVariants
            Every measure and feature variant of the run.
        """
        rule = o.recompression
        return cls(
            skip_fractured_references=o.skip_fractured_references,
            genant_reference=o.genant_reference,
            normative=None if o.normative is None else str(o.normative),
            sd_threshold=o.sd_threshold,
            restoration=o.restoration,
            restoration_height=o.restoration_height,
            reduction_rate=o.reduction_rate,
            recompression_loss_pct=rule.height_loss_pct,
            recompression_angle_deg=rule.angle_increase_deg,
            recompression_height=rule.height,
            recompression_baseline=rule.baseline,
            recompression_min_loss_mm=rule.min_loss_mm,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the variants as ``summary.json`` writes them.

        Returns
        -------
        dict
            Variant name to value, in attribute order.
        """
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class RunSummary:
    """What a run did, in numbers: the contents of ``summary.json`` as typed attributes.

    :meth:`to_dict` gives exactly the object ``summary.json`` holds (same keys, same
    order, same values), so ``json.dumps(summary.to_dict(), indent=2)`` is the file.

    Attributes
    ----------
    kyphoimg_version : str
        Version of kyphoimg that ran.
    executor : str
        How films were measured: ``serial``, ``processes:N`` or ``dask:ADDRESS``.
    files_scanned : int
        Every file found under the study folder.
    dicom_films : int
        Files read as DICOM.
    unreadable_files : int
        Files whose DICOM header could not be read.
    not_dicom_files : int
        Files that are not DICOM (landmark files aside).
    landmark_files : int
        Landmark files paired with a film, plus those with a problem.
    films_paired : int
        Films with a landmark file (of this reader).
    films_measured : int
        Films that gave a measured landmark set (``measured``, ``incomplete`` and
        ``to_review`` films with vertebrae measured).
    films_from_cache : int
        Films whose result came from an earlier, interrupted run of the same output.
    films_not_annotated, films_invalid, films_to_review : int
        Films with that status (also in :attr:`films_by_status`).
    accept_proposals : bool
        Whether proposed points no reader confirmed were measured.
    vertebrae_unconfirmed_not_measured : int
        Vertebrae left out because their points are unconfirmed proposals.
    vertebra_rows_from_proposals : int
        Rows of the measures table measured from unconfirmed proposals.
    vertebra_rows_confirmed_proposals : int
        Rows of the measures table whose points a method proposed and a reader confirmed.
    films_by_status : FilmStatusCounts
        Every film of ``films.csv`` counted by status.
    vertebra_rows : int
        Rows of the measures table.
    treated_vertebrae : int
        Rows of the features table.
    problems : int
        Rows of ``errors.csv`` that are failures.
    warnings : int
        Rows of ``errors.csv`` that are warnings (message starting with
        :data:`WARNING_PREFIX`).
    clinical_columns_dropped_as_identifiers : tuple of str
        Clinical columns left out because they name direct identifiers.
    pseudonymised : bool
        Whether patient ids were replaced by keys.
    variants : RunVariants
        The measure and feature variants used.
    seconds : float
        Wall time of the run.
    key_table : str or None
        Where the pseudonym key table is (only when pseudonymised; absent from
        ``summary.json`` otherwise).
    spacing_sources : tuple of (str, int)
        Films of ``films.csv`` by calibration source (``detector``, ``pixel_spacing``, ...,
        ``unread`` when no film header gave one), sorted by source. Not written to
        ``summary.json`` (``films.csv`` has each film's ``spacing_source``).
    """

    kyphoimg_version: str
    executor: str
    files_scanned: int
    dicom_films: int
    unreadable_files: int
    not_dicom_files: int
    landmark_files: int
    films_paired: int
    films_measured: int
    films_from_cache: int
    films_not_annotated: int
    films_invalid: int
    films_to_review: int
    accept_proposals: bool
    vertebrae_unconfirmed_not_measured: int
    vertebra_rows_from_proposals: int
    vertebra_rows_confirmed_proposals: int
    films_by_status: FilmStatusCounts
    vertebra_rows: int
    treated_vertebrae: int
    problems: int
    warnings: int
    clinical_columns_dropped_as_identifiers: tuple[str, ...]
    pseudonymised: bool
    variants: RunVariants
    seconds: float
    key_table: str | None = None
    spacing_sources: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as ``summary.json`` holds it.

        Returns
        -------
        dict
            Plain JSON values in the file's key order; ``key_table`` only when set,
            ``spacing_sources`` never (it is not part of the file).
        """
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "spacing_sources" or (f.name == "key_table" and value is None):
                continue
            if isinstance(value, FilmStatusCounts | RunVariants):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


@dataclass(frozen=True)
class RunResult:
    """What :func:`run_study` produced.

    Attributes
    ----------
    measures, images, features : pandas.DataFrame
        The tables written (pseudonymised when asked).
    films : pandas.DataFrame
        One row per film file: its landmark file, how it was paired, ``status`` (one of
        :data:`FILM_STATUSES`) and ``reason``.
    errors : pandas.DataFrame
        One row per problem or warning, columns ``file, level, point, error``; a
        warning's message starts with :data:`WARNING_PREFIX`.
    summary : RunSummary
        The run in numbers; ``summary.to_dict()`` is the contents of ``summary.json``.
    written : tuple of pathlib.Path
        Every file written.
    """

    measures: pd.DataFrame
    images: pd.DataFrame
    features: pd.DataFrame
    films: pd.DataFrame
    errors: pd.DataFrame
    summary: RunSummary
    written: tuple[Path, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no input failed and no film holds proposals left unreviewed.

        Warnings and not-annotated films aside; a film ``to_review`` (its proposed
        vertebrae left out) makes the run partial.
        """
        return not _failures(self.errors).any() and not self.summary.films_by_status.to_review


def _failures(errors: pd.DataFrame) -> pd.Series:
    """Rows of an errors table that are failures, not warnings."""
    return ~errors["error"].astype(str).str.startswith(WARNING_PREFIX)


# ----------------------------------------------------------------------------- one film
def measure_film(task: FilmTask) -> dict[str, Any]:
    """Read one film, pair its landmark set with it and return the checked set as JSON data.

    The DICOM is decoded (so a truncated or undecodable film is caught) and the set is
    paired with it by :func:`kyphoimg.landmarks.pair_with_film` (same image; the film's
    calibration unless the set's is a ``user`` one). The pixels are dropped before
    returning. A vertebra whose only problem is a point name outside the scheme (a typo
    such as ``ant_supp``) is left out and reported, and the film's other vertebrae are
    kept; any other problem refuses the set. Failures are returned as error rows, never
    raised.

    Parameters
    ----------
    task : FilmTask
        The film, its landmark set (``landmark_data``, the landmark-file JSON object) and
        the time point assigned from a surgery table, if any.

    Returns
    -------
    dict
        ``landmarks`` (the checked set as JSON data, or ``None`` when nothing can be
        measured), ``source`` (the landmark file), ``errors`` (rows ``file, level,
        point, error``: the reasons, including the points still missing), ``status``
        (``measured``, ``incomplete``, ``unreadable`` or ``refused``, see
        :data:`FILM_STATUSES`) and ``reason`` (the messages joined).
    """
    if task.in_pool:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent process handles Ctrl+C
    try:
        ls = landmarks_from_dict(task.landmark_data, source=task.landmarks)
    except LandmarkError as exc:
        return _film_result(task, None, "refused", [_landmark_row(exc, task)])
    try:
        _, ls = read_paired_film(task.dicom, ls)  # the pixels are dropped here
    except FilmMismatchError as exc:
        return _film_result(task, None, "refused", [_landmark_row(exc, task)])
    except Exception as exc:  # a batch reports every failure and carries on
        msg = (
            str(exc)
            if isinstance(exc, KyphoimgError)
            else f"unexpected {type(exc).__name__}: {exc}"
        )
        text = msg if msg.startswith(task.dicom) else f"{task.dicom}: {msg}"
        return _film_result(task, None, "unreadable", [(task.dicom, None, None, text)])
    try:
        return _check_set(task, ls)
    except LandmarkError as exc:
        return _film_result(task, None, "refused", [_landmark_row(exc, task)])
    except Exception as exc:  # a batch reports every failure and carries on
        text = f"{task.landmarks}: unexpected {type(exc).__name__}: {exc}"
        return _film_result(task, None, "refused", [(task.landmarks, None, None, text)])


def _film_result(
    task: FilmTask, ls: LandmarkSet | None, status: str, errors: list[ErrorRow]
) -> dict[str, Any]:
    return {
        "landmarks": ls.to_dict() if ls is not None else None,
        "source": task.landmarks,
        "errors": errors,
        "status": status,
        "reason": "; ".join(e[3] for e in errors),
    }


def _landmark_row(exc: LandmarkError, task: FilmTask) -> ErrorRow:
    return (str(exc.file or task.landmarks), exc.level, exc.point, str(exc))


def _check_set(task: FilmTask, ls: LandmarkSet) -> dict[str, Any]:
    """Give the paired set its time point, drop misnamed vertebrae, validate; list the rest."""
    timepoint = ls.timepoint or task.timepoint
    if timepoint is None:
        allowed = ", ".join(task.timepoints)
        err = LandmarkError(
            f"no time point; choose one of {allowed} in the file (kyphoimg view), or give a "
            "surgery table (--surgery)",
            file=task.landmarks,
        )
        return _film_result(task, None, "incomplete", [_landmark_row(err, task)])
    ls = ls.replace(timepoint=normalise_timepoint(timepoint, task.timepoints, where=ls.where))
    ls, refused = _drop_misnamed_vertebrae(ls)
    validate_landmarks(ls)
    ls, proposed = (ls, []) if task.accept_proposals else _drop_proposed_vertebrae(ls)
    if proposed and not ls.points:
        return _film_result(task, None, "to_review", proposed)
    todo = refused + unfinished(ls)
    status = "to_review" if proposed else "incomplete" if todo else "measured"
    return _film_result(task, ls, status, proposed + todo)


def leave_out_proposals(
    sets: Sequence[LandmarkSet], *, accept: bool = False
) -> tuple[list[LandmarkSet], pd.DataFrame]:
    """Keep only the vertebrae a reader placed or confirmed, naming the others in warning rows.

    Parameters
    ----------
    sets : sequence of LandmarkSet
        Landmark sets, possibly holding proposals (see :func:`kyphoimg.landmarks.unconfirmed`).
    accept : bool, optional
        Keep the proposals too (``--accept-proposals``): the sets are returned unchanged.

    Returns
    -------
    sets : list of LandmarkSet
        The sets without the proposed vertebrae (a set left with no point is dropped).
    notes : pandas.DataFrame
        Columns ``file, level, point, error``: one warning row per vertebra left out.
    """
    if accept:
        return list(sets), pd.DataFrame([], columns=list(ERROR_COLUMNS))
    kept: list[LandmarkSet] = []
    rows: list[ErrorRow] = []
    for ls in sets:
        trimmed, notes = _drop_proposed_vertebrae(ls)
        rows += notes
        if trimmed.points or not notes:
            kept.append(trimmed)
    return kept, pd.DataFrame(rows, columns=list(ERROR_COLUMNS))


def _drop_proposed_vertebrae(ls: LandmarkSet) -> tuple[LandmarkSet, list[ErrorRow]]:
    """Leave out the vertebrae holding proposed points no reader confirmed, with warning rows."""
    ls, notes = without_proposals(ls)
    rows: list[ErrorRow] = [
        (str(e.file or ls.where), e.level, None, f"{WARNING_PREFIX}{e}") for e in notes
    ]
    return ls, rows


def _drop_misnamed_vertebrae(ls: LandmarkSet) -> tuple[LandmarkSet, list[ErrorRow]]:
    """Leave out the vertebrae whose only fault is a point name outside the scheme.

    Only when every problem of the set is such a name: anything else (a bad level, a
    point off the image, swapped labels) is left for :func:`validate_landmarks` to refuse
    the whole set.
    """
    problems = landmark_problems(ls)
    misnamed = [
        p
        for p in problems
        if p.level in LEVELS
        and p.level in ls.points
        and p.point is not None
        and p.point not in scheme_points(ls.scheme, p.level)
    ]
    if not misnamed or len(misnamed) != len(problems):
        return ls, []
    levels = {p.level for p in misnamed}
    rows: list[ErrorRow] = [
        (
            ls.where,
            p.level,
            p.point,
            f"{p}; vertebra {p.level} is not measured (the film's other vertebrae are): "
            "rename the point",
        )
        for p in misnamed
    ]
    kept = {level: pts for level, pts in ls.points.items() if level not in levels}
    return ls.replace(points=kept), rows


def _file_key(*paths: str, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for p in paths:
        st = os.stat(p)
        h.update(f"{os.path.abspath(p)}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:32]


# ----------------------------------------------------------------------------- the run
def run_study(options: RunOptions) -> RunResult:
    """Run a whole study: scan, pair, measure (in parallel), derive features, export.

    Steps: index the DICOMs from their headers; pair each landmark file with its film
    (SOP Instance UID, then image path, then file name); assign time points (from the
    landmark files, else from the surgery table); read and check every film in parallel,
    re-deriving its calibration from the DICOM; build the measures, images and features
    tables; join the clinical table; write every table (with data dictionaries),
    ``films`` (one row per film file, status from :data:`FILM_STATUSES`), ``errors`` and
    ``summary.json``. A film that fails is reported and the run goes on. Per-film
    results are cached under ``OUTPUT/.kyphoimg-cache`` keyed on the files' size and
    modification time, so an interrupted run resumes where it stopped.

    Parameters
    ----------
    options : RunOptions
        The study folder, output folder and every option of the run.

    Returns
    -------
    RunResult
        Tables, errors, summary and the files written.
    """
    t0 = time.perf_counter()
    o = replace(options, rater=check_rater(options.rater))
    out = Path(o.output)
    out.mkdir(parents=True, exist_ok=True)
    index, errors = _scan(o)
    worklist = open_worklist(
        o.dicom_dir,
        rater=o.rater,
        timepoints=o.timepoints,
        landmarks_dir=o.landmarks_dir,
        index=index,
        assigned=_assigned(o, index),
    )
    errors += list(worklist.problems.itertuples(index=False, name=None))
    pairs = [e for e in worklist if e.landmarks is not None]
    tasks = _tasks(o, pairs, worklist.timepoints)
    results, n_cached = _measure_films(o, tasks, out / ".kyphoimg-cache")
    sets, films, film_errors = _collect(worklist, pairs, results, index)
    errors += film_errors
    tables, dropped = _tables(o, sets, films, errors, worklist.timepoints)
    tables, written, key_note = _write_tables(o, tables, out)
    failed = _failures(tables["errors"])
    files = _file_counts(index)
    summary = RunSummary(
        kyphoimg_version=__version__,
        executor=executor_name(o.jobs, o.scheduler),
        files_scanned=files["files_scanned"],
        dicom_films=files["dicom_films"],
        unreadable_files=files["unreadable_files"],
        not_dicom_files=files["not_dicom_files"],
        landmark_files=len(pairs) + len(worklist.problems),
        films_paired=len(pairs),
        films_measured=len(sets),
        films_from_cache=n_cached,
        films_not_annotated=int((films["status"] == "not_annotated").sum()),
        films_invalid=int((films["status"] == "invalid").sum()),
        films_to_review=int((films["status"] == "to_review").sum()),
        **_proposal_counts(o, tables["measures"], tables["errors"]),
        films_by_status=FilmStatusCounts.from_films(films),
        vertebra_rows=int(len(tables["measures"])),
        treated_vertebrae=int(len(tables["features"])),
        problems=int(failed.sum()),
        warnings=int((~failed).sum()),
        clinical_columns_dropped_as_identifiers=tuple(dropped),
        pseudonymised=o.pseudonymise,
        variants=RunVariants.from_options(o),
        seconds=round(time.perf_counter() - t0, 3),
        key_table=key_note,
        spacing_sources=_spacing_sources(films),
    )
    summary_path = out / "summary.json"
    atomic_write_text(summary_path, json.dumps(summary.to_dict(), indent=2) + "\n")
    written.append(summary_path)
    written += _starter_study(out)
    return RunResult(
        measures=tables["measures"],
        images=tables["images"],
        features=tables["features"],
        films=tables["films"],
        errors=tables["errors"],
        summary=summary,
        written=tuple(written),
    )


def _spacing_sources(films: pd.DataFrame) -> tuple[tuple[str, int], ...]:
    """Films by calibration source, ``unread`` when no header gave one, sorted by source."""
    sources = films["spacing_source"].map(lambda v: v if isinstance(v, str) and v else "unread")
    return tuple((str(k), int(n)) for k, n in sorted(sources.value_counts().items()))


def _proposal_counts(o: RunOptions, measures: pd.DataFrame, errors: pd.DataFrame) -> dict[str, Any]:
    """How proposals were treated, for ``summary.json`` (and the report's Methods)."""
    left_out = (
        errors["error"]
        .astype(str)
        .str.contains("that no reader has confirmed; vertebra not measured", regex=False)
    )
    source = measures["point_source"].astype(str)
    return {
        "accept_proposals": bool(o.accept_proposals),
        "vertebrae_unconfirmed_not_measured": int(left_out.sum()),
        "vertebra_rows_from_proposals": int(source.str.startswith("proposed:").sum()),
        "vertebra_rows_confirmed_proposals": int(source.str.startswith("confirmed:").sum()),
    }


def _starter_study(out: Path) -> list[Path]:
    """Write a commented ``study.toml`` for ``kyphoimg report`` (never over the user's own)."""
    path = out / "study.toml"
    if path.exists():
        return []
    from .stats import starter_study  # only here: importing the statistics costs ~0.5 s

    try:
        text = starter_study(out)
    except KyphoimgError:  # no features to analyse (nothing treated, or no follow-up)
        return []
    atomic_write_text(path, text)
    return [path]


def _scan(o: RunOptions) -> tuple[pd.DataFrame, list[ErrorRow]]:
    """Index the study's files from their headers; unreadable films become error rows.

    A file named like a film that is not DICOM gets a warning row: it is listed in
    ``films.csv``, but it may as well be a note saved with the wrong name.
    """
    dicom_dir = Path(o.dicom_dir)
    index = scan(dicom_dir, progress=o.progress, jobs=1 if o.scheduler else o.jobs)
    bad = index["status"] == "error"
    errors: list[ErrorRow] = [
        (str(dicom_dir / p), None, None, f"{dicom_dir / p}: {r}")
        for p, r in zip(index.loc[bad, "path"], index.loc[bad, "reason"], strict=True)
    ]
    named = _named_like_films(index)
    errors += [
        (str(dicom_dir / p), None, None, f"{WARNING_PREFIX}{dicom_dir / p}: {r}; not measured")
        for p, r in zip(index.loc[named, "path"], index.loc[named, "reason"], strict=True)
    ]
    return index, errors


def _named_like_films(index: pd.DataFrame) -> pd.Series:
    """Index rows that are not DICOM although their name says they are."""
    return (index["status"] == "not_dicom") & index["path"].str.lower().str.endswith(FILM_SUFFIXES)


def _file_counts(index: pd.DataFrame) -> dict[str, int]:
    """Count the scanned files by kind for the summary."""
    landmark_file = index["path"].str.endswith((".landmarks.json", ".landmarks.csv"))
    return {
        "files_scanned": int(len(index)),
        "dicom_films": int((index["status"] == "ok").sum()),
        "unreadable_files": int((index["status"] == "error").sum()),
        "not_dicom_files": int(((index["status"] == "not_dicom") & ~landmark_file).sum()),
    }


def _assigned(o: RunOptions, index: pd.DataFrame) -> dict[str, str]:
    """Time points from the surgery table, by index path (empty without a table)."""
    if o.surgery is None:
        return {}
    tp = assign_timepoints(index[index["status"] == "ok"], read_table(o.surgery))
    return {p: t for p, t in zip(tp["path"], tp["timepoint"], strict=True) if isinstance(t, str)}


def _tasks(o: RunOptions, entries: list[StudyEntry], timepoints: tuple[str, ...]) -> list[FilmTask]:
    """One task per film with a landmark file."""
    tasks = []
    in_pool = o.scheduler is None and o.jobs > 1
    for e in entries:
        assert e.landmarks is not None
        data = e.landmarks.to_dict()
        extra = (
            f"{_CACHE_FORMAT}|{e.timepoint}|{timepoints}|{__version__}|{o.accept_proposals}|"
            f"{json.dumps(data, sort_keys=True)}"
        )
        tasks.append(
            FilmTask(
                dicom=str(e.film_path),
                landmarks=str(e.landmark_path),
                timepoint=e.timepoint,
                cache_key=_file_key(str(e.film_path), extra=extra),
                landmark_data=data,
                timepoints=timepoints,
                in_pool=in_pool,
                accept_proposals=o.accept_proposals,
            )
        )
    return tasks


def _measure_films(
    o: RunOptions, tasks: list[FilmTask], cache: Path
) -> tuple[list[dict[str, Any]], int]:
    """Run :func:`measure_film` on every task not cached yet; cache each result as it lands."""
    cache.mkdir(exist_ok=True)
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    todo = []
    for i, task in enumerate(tasks):
        cached = cache / f"{task.cache_key}.json"
        if o.resume and cached.exists():
            results[i] = json.loads(cached.read_text(encoding="utf-8"))
        else:
            todo.append(i)
    bar = tqdm(total=len(todo), desc="films", unit="film", disable=None if o.progress else True)
    try:
        for j, result in _run(o, [tasks[i] for i in todo]):
            i = todo[j]
            results[i] = result
            atomic_write_text(cache / f"{tasks[i].cache_key}.json", json.dumps(result))
            bar.update()
    finally:
        bar.close()
    done = [r for r in results if r is not None]
    assert len(done) == len(tasks)
    return done, len(tasks) - len(todo)


def _run(o: RunOptions, tasks: Sequence[FilmTask]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(position, result)`` of every task.

    Local processes work through a bounded window of films (``ordered_map``), so an
    interrupted run stops after the films in hand instead of finishing the queue.
    """
    if o.scheduler is None and o.jobs > 1:
        yield from enumerate(ordered_map(measure_film, tasks, jobs=o.jobs))
    else:
        yield from run_tasks(measure_film, tasks, jobs=o.jobs, scheduler=o.scheduler)


def _collect(
    worklist: Worklist,
    pairs: list[StudyEntry],
    results: list[dict[str, Any]],
    index: pd.DataFrame,
) -> tuple[list[LandmarkSet], pd.DataFrame, list[ErrorRow]]:
    """Gather the measured sets, one ``films`` row per film file and the errors."""
    folder = Path(worklist.folder)
    spacing = dict(zip(index["path"], index["spacing_source"], strict=True))
    sets: list[LandmarkSet] = []
    errors: list[ErrorRow] = []
    film_rows: list[tuple[Any, ...]] = []
    for pr, res in zip(pairs, results, strict=True):
        errors += [(str(e[0]), e[1], e[2], str(e[3])) for e in res["errors"]]
        ls = (
            landmarks_from_dict(res["landmarks"], source=res["source"])
            if res["landmarks"]
            else None
        )
        if ls is not None:
            sets.append(ls)
        path = _index_path(pr, folder)
        film_rows.append(
            (
                path,
                str(pr.landmark_path),
                ls.patient_id if ls and ls.patient_id else pr.patient_id,
                ls.timepoint if ls else pr.timepoint,
                ls.image.sop_instance_uid if ls else pr.sop_instance_uid,
                pr.paired_by,
                ls.calibration.source if ls else spacing.get(path),
                res["status"],
                res["reason"],
            )
        )
    for e in worklist:
        if e.landmarks is None and e.status == "invalid":  # a file that cannot be read
            path = _index_path(e, folder)
            film_rows.append(
                (path, str(e.landmark_path), e.patient_id, e.timepoint, e.sop_instance_uid,
                 e.paired_by, spacing.get(path), "invalid", "; ".join(e.problems))
            )  # fmt: skip
        elif e.landmarks is None:
            path = _index_path(e, folder)
            film_rows.append(
                (path, None, e.patient_id, e.timepoint, e.sop_instance_uid, None,
                 spacing.get(path), "not_annotated", "no landmark file")
            )  # fmt: skip
    film_rows += _unmeasurable_rows(index)
    films = pd.DataFrame(film_rows, columns=list(FILM_COLUMNS)).sort_values("dicom", kind="stable")
    return sets, films.reset_index(drop=True), errors


def _unmeasurable_rows(index: pd.DataFrame) -> list[tuple[Any, ...]]:
    """``films`` rows of unreadable DICOM files and of not-DICOM files named like films."""
    rows: list[tuple[Any, ...]] = []
    for status, mask in (
        ("unreadable", index["status"] == "error"),
        ("not_dicom", _named_like_films(index)),
    ):
        for _, r in index[mask].iterrows():
            rows.append(
                (
                    r["path"],
                    None,
                    r["patient_id"] if isinstance(r["patient_id"], str) else None,
                    None,
                    r["sop_instance_uid"] if isinstance(r["sop_instance_uid"], str) else None,
                    None,
                    r["spacing_source"] if isinstance(r["spacing_source"], str) else None,
                    status,
                    r["reason"],
                )
            )
    return rows


def _index_path(entry: StudyEntry, folder: Path) -> str:
    """Return the film's path as the index names it (relative to the study folder)."""
    return entry.film_path.relative_to(folder).as_posix()


def _tables(
    o: RunOptions,
    sets: list[LandmarkSet],
    films: pd.DataFrame,
    errors: list[ErrorRow],
    timepoints: tuple[str, ...],
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Build the measures, images, features (with clinical columns) and errors tables."""
    measures = with_point_source(
        measures_table(
            sets,
            skip_fractured_references=o.skip_fractured_references,
            genant_reference=o.genant_reference,
            normative=read_table(o.normative) if o.normative is not None else None,
            sd_threshold=o.sd_threshold,
        ),
        sets,
    )
    images = images_table(sets)
    clinical: pd.DataFrame | None = None
    dropped: list[str] = []
    if o.clinical is not None:
        clinical = read_table(o.clinical)
        if not o.keep_identifiers:
            clinical, dropped = drop_identifiers(clinical)
    features, feature_errors = _features(o, measures, sets, clinical, timepoints)
    features = with_point_source(features, sets)
    tables = {
        "measures": measures,
        "images": images,
        "features": features,
        "films": films,
        "errors": pd.DataFrame(errors + feature_errors, columns=list(ERROR_COLUMNS))
        .drop_duplicates()
        .reset_index(drop=True),
    }
    return tables, dropped


def _feature_variants(o: RunOptions) -> dict[str, Any]:
    """Return the feature variants of a run, as keyword arguments of features_table."""
    return {
        "restoration": o.restoration,
        "restoration_height": o.restoration_height,
        "reduction_rate": o.reduction_rate,
        "recompression": o.recompression,
    }


def _features(
    o: RunOptions,
    measures: pd.DataFrame,
    sets: list[LandmarkSet],
    clinical: pd.DataFrame | None,
    timepoints: tuple[str, ...],
) -> tuple[pd.DataFrame, list[ErrorRow]]:
    """Build the features table, leaving out only what cannot be in it, with error rows.

    A patient with two films at one time point is left out (the reader must choose one);
    a clinical table that cannot be joined is reported and the features are kept without
    it; patients without a clinical row get a warning row.
    """
    measures, errors = _drop_duplicate_films(measures, sets)
    try:
        features = features_table(
            measures, order=timepoints, clinical=clinical, **_feature_variants(o)
        )
    except KyphoimgError as exc:
        errors.append((str(o.clinical or o.output), None, None, f"features: {exc}"))
        try:
            features = features_table(measures, order=timepoints, **_feature_variants(o))
        except KyphoimgError:  # pragma: no cover - defensive: every row is in the order
            features = features_table(measures.iloc[0:0], order=timepoints, **_feature_variants(o))
        return features, errors
    if clinical is not None:
        errors.extend(clinical_gap_rows(features, clinical, o.clinical))
    return features, errors


def _drop_duplicate_films(
    measures: pd.DataFrame, sets: list[LandmarkSet]
) -> tuple[pd.DataFrame, list[ErrorRow]]:
    """Leave out patients with an index vertebra measured on two films of one time point."""
    idx = measures[measures["is_index"].astype(bool)]
    dup = idx.duplicated(["patient_id", "level", "timepoint"], keep=False)
    if not dup.any():
        return measures, []
    files: dict[tuple[Any, Any], list[str]] = {}
    for ls in sets:
        files.setdefault((ls.patient_id, ls.timepoint), []).append(ls.where)
    errors: list[ErrorRow] = []
    for (pid, level, tp), _ in idx[dup].groupby(["patient_id", "level", "timepoint"], sort=True):
        names = files.get((pid, tp), [])
        errors.append(
            (
                names[0] if names else str(pid),
                str(level),
                None,
                f"patient {pid} level {level} is measured on {len(names)} films at time point "
                f"{tp} ({', '.join(names)}): the patient is left out of the features table; "
                "keep one film per time point (correct the others' time point)",
            )
        )
    bad = set(idx.loc[dup, "patient_id"])
    return measures[~measures["patient_id"].isin(bad)], errors


def _write_tables(
    o: RunOptions, tables: dict[str, pd.DataFrame], out: Path
) -> tuple[dict[str, pd.DataFrame], list[Path], str | None]:
    """Pseudonymise if asked, then write every table (data dictionaries beside the data)."""
    written: list[Path] = []
    key_note = None
    if o.pseudonymise:
        salt = o.salt or secrets.token_hex(16)
        tables, key_table = pseudonymise(
            tables, salt, text_columns=("image", "dicom", "landmarks", "file", "error", "reason")
        )
        keys = out / "keys"
        written += write_table(
            key_table.assign(salt=salt), keys / "pseudonym_key.csv", dictionary=False
        )
        key_note = f"key table (with the salt) in {keys}: store it apart from the exported data"
    for name in ("measures", "images", "features"):
        for fmt in o.formats:
            written += write_table(tables[name], out / f"{name}.{fmt}")
    written += write_table(tables["films"], out / "films.csv", dictionary=False)
    written.append(_write_films_dictionary(tables["films"], out / "films.csv"))
    written += write_table(tables["errors"], out / "errors.csv", dictionary=False)
    if o.errors is not None:
        written += write_table(tables["errors"], o.errors, dictionary=False)
    return tables, written, key_note


def _write_films_dictionary(films: pd.DataFrame, path: Path) -> Path:
    """Write ``films.dictionary.csv``: the status vocabulary spelt out."""
    dic = data_dictionary(films.columns).set_index("column")
    vocabulary = "; ".join(f"{k}: {v}" for k, v in FILM_STATUSES.items())
    dic.loc["status", ["definition_id", "description", "source"]] = ["K-film", vocabulary, ""]
    for column, note in _FILM_COLUMN_NOTES.items():
        dic.loc[column, ["definition_id", "description", "source"]] = ["K-film", note, ""]
    side = dictionary_path(path)
    atomic_write_text(side, dic.reset_index().to_csv(index=False))
    return side
