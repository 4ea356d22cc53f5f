"""Batches: many landmark files, or a whole study of DICOM films, never stopping at a bad one.

A batch collects every failure as a row of an errors table (file, level, point, error)
and carries on; callers decide the exit status from it. :func:`run_study` runs a whole
cohort: scan, pair films with landmark files, measure in parallel (processes or Dask),
derive features, export.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from ._version import __version__
from .atomic import atomic_write_text
from .dicom import read_radiograph, scan
from .errors import ERROR_COLUMNS, KyphoimgError, LandmarkError
from .export import drop_identifiers, pseudonymise, read_table, write_table
from .landmarks import (
    LandmarkSet,
    find_landmark_files,
    landmarks_from_dict,
    missing_points,
    pair_with_film,
    read_landmark_files,
    validate_landmarks,
)
from .longitudinal import features_table
from .measure import images_table, measures_table
from .parallel import executor_name, run_tasks
from .study import StudyEntry, check_rater, open_worklist
from .timepoints import TIMEPOINTS, assign_timepoints, normalise_timepoint

__all__ = [
    "FILM_COLUMNS",
    "FilmTask",
    "RunOptions",
    "RunResult",
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
        dropped unless ``keep_identifiers``.
    surgery : path, optional
        Table of ``patient_id, surgery_date`` assigning time points to films whose
        landmark file has none.
    timepoints : tuple of str, optional
        Chronological order of the time points (default pre, post, last).
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
    """

    dicom: str
    landmarks: str
    timepoint: str | None
    cache_key: str
    landmark_data: dict[str, Any] = field(default_factory=dict)
    timepoints: tuple[str, ...] = TIMEPOINTS


@dataclass
class RunResult:
    """What :func:`run_study` produced.

    Attributes
    ----------
    measures, images, features : pandas.DataFrame
        The tables written (pseudonymised when asked).
    films : pandas.DataFrame
        One row per DICOM film: its landmark file, how it was paired, status and reason.
    errors : pandas.DataFrame
        One row per problem, columns ``file, level, point, error``.
    summary : dict
        The contents of ``summary.json``.
    written : list of pathlib.Path
        Every file written.
    """

    measures: pd.DataFrame
    images: pd.DataFrame
    features: pd.DataFrame
    films: pd.DataFrame
    errors: pd.DataFrame
    summary: dict[str, Any]
    written: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no input failed."""
        return self.errors.empty


def measure_film(task: FilmTask) -> dict[str, Any]:
    """Read one film, pair its landmark set with it and return the checked set as JSON data.

    The DICOM is decoded (so a truncated or undecodable film is caught) and the set is
    paired with it by :func:`kyphoimg.landmarks.pair_with_film` (same image; the film's
    calibration unless the set's is a ``user`` one). The pixels are dropped before
    returning. Failures are returned as error rows, never raised.

    Parameters
    ----------
    task : FilmTask
        The film, its landmark set (``landmark_data``, the landmark-file JSON object) and
        the time point assigned from a surgery table, if any.

    Returns
    -------
    dict
        ``landmarks`` (the checked set as JSON data, or ``None`` on failure), ``source``
        (the landmark file) and ``errors`` (rows ``file, level, point, error``).
    """
    errors: list[ErrorRow] = []
    try:
        ls = landmarks_from_dict(task.landmark_data, source=task.landmarks)
        rg = read_radiograph(task.dicom)
        meta = rg.metadata
        rows, cols = int(rg.pixels.shape[0]), int(rg.pixels.shape[1])
        calibration = rg.calibration
        del rg  # release the pixels as soon as the film is read
        ls = pair_with_film(
            ls,
            sop_instance_uid=meta.sop_instance_uid,
            rows=rows,
            columns=cols,
            calibration=calibration,
            film=task.dicom,
        )
        timepoint = ls.timepoint or task.timepoint
        if timepoint is None:
            raise LandmarkError(
                "no time point: set 'timepoint' in the file or give a surgery table",
                file=task.landmarks,
            )
        ls = ls.replace(timepoint=normalise_timepoint(timepoint, task.timepoints, where=ls.where))
        validate_landmarks(ls)
        return {"landmarks": ls.to_dict(), "source": task.landmarks, "errors": []}
    except LandmarkError as exc:
        errors.append((str(exc.file or task.landmarks), exc.level, exc.point, str(exc)))
    except KyphoimgError as exc:
        errors.append((task.dicom, None, None, str(exc)))
    except Exception as exc:  # a batch reports every failure and carries on
        errors.append(
            (task.dicom, None, None, f"{task.dicom}: unexpected {type(exc).__name__}: {exc}")
        )
    return {"landmarks": None, "source": task.landmarks, "errors": errors}


def _file_key(*paths: str, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for p in paths:
        st = os.stat(p)
        h.update(f"{os.path.abspath(p)}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:32]


def run_study(options: RunOptions) -> RunResult:
    """Run a whole study: scan, pair, measure (in parallel), derive features, export.

    Steps: index the DICOMs from their headers; pair each landmark file with its film
    (SOP Instance UID, then image path, then file name); assign time points (from the
    landmark files, else from the surgery table); read and check every film in parallel,
    re-deriving its calibration from the DICOM; build the measures, images and features
    tables; join the clinical table; write every table (with data dictionaries),
    ``films``, ``errors`` and ``summary.json``. A film that fails is reported and the run
    goes on. Per-film results are cached under ``OUTPUT/.kyphoimg-cache`` keyed on the
    files' size and modification time, so an interrupted run resumes where it stopped.

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
    sets, films, film_errors = _collect(pairs, tasks, results, index, Path(o.dicom_dir))
    errors += film_errors
    tables, dropped = _tables(o, sets, films, errors, out)
    tables, written, key_note = _write_tables(o, tables, out)
    summary = {
        "kyphoimg_version": __version__,
        "executor": executor_name(o.jobs, o.scheduler),
        **_file_counts(index),
        "landmark_files": len(pairs) + len(worklist.problems),
        "films_paired": len(pairs),
        "films_measured": len(sets),
        "films_from_cache": n_cached,
        "films_not_annotated": int((films["status"] == "not_annotated").sum()),
        "vertebra_rows": int(len(tables["measures"])),
        "treated_vertebrae": int(len(tables["features"])),
        "problems": int(len(tables["errors"])),
        "clinical_columns_dropped_as_identifiers": dropped,
        "pseudonymised": o.pseudonymise,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    if key_note:
        summary["key_table"] = key_note
    summary_path = out / "summary.json"
    atomic_write_text(summary_path, json.dumps(summary, indent=2) + "\n")
    written.append(summary_path)
    return RunResult(
        measures=tables["measures"],
        images=tables["images"],
        features=tables["features"],
        films=tables["films"],
        errors=tables["errors"],
        summary=summary,
        written=written,
    )


def _scan(o: RunOptions) -> tuple[pd.DataFrame, list[ErrorRow]]:
    """Index the study's files from their headers; unreadable files become error rows."""
    dicom_dir = Path(o.dicom_dir)
    index = scan(dicom_dir, progress=o.progress, jobs=1 if o.scheduler else o.jobs)
    bad = index["status"] == "error"
    errors: list[ErrorRow] = [
        (str(dicom_dir / p), None, None, f"{dicom_dir / p}: {r}")
        for p, r in zip(index.loc[bad, "path"], index.loc[bad, "reason"], strict=True)
    ]
    return index, errors


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
    for e in entries:
        assert e.landmarks is not None
        data = e.landmarks.to_dict()
        extra = f"{e.timepoint}|{timepoints}|{__version__}|{json.dumps(data, sort_keys=True)}"
        tasks.append(
            FilmTask(
                dicom=str(e.film_path),
                landmarks=str(e.landmark_path),
                timepoint=e.timepoint,
                cache_key=_file_key(str(e.film_path), extra=extra),
                landmark_data=data,
                timepoints=timepoints,
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
    for j, result in run_tasks(
        measure_film, [tasks[i] for i in todo], jobs=o.jobs, scheduler=o.scheduler
    ):
        i = todo[j]
        results[i] = result
        atomic_write_text(cache / f"{tasks[i].cache_key}.json", json.dumps(result))
        bar.update()
    bar.close()
    done = [r for r in results if r is not None]
    assert len(done) == len(tasks)
    return done, len(tasks) - len(todo)


def _collect(
    pairs: list[StudyEntry],
    tasks: list[FilmTask],
    results: list[dict[str, Any]],
    index: pd.DataFrame,
    folder: Path,
) -> tuple[list[LandmarkSet], pd.DataFrame, list[ErrorRow]]:
    """Gather the measured sets, one ``films`` row per film (paired or not) and the errors."""
    sets: list[LandmarkSet] = []
    errors: list[ErrorRow] = []
    film_rows: list[tuple[Any, ...]] = []
    for pr, task, res in zip(pairs, tasks, results, strict=True):
        errors += [(str(e[0]), e[1], e[2], str(e[3])) for e in res["errors"]]
        ls = (
            landmarks_from_dict(res["landmarks"], source=res["source"])
            if res["landmarks"]
            else None
        )
        if ls is not None:
            sets.append(ls)
        film_rows.append(
            (
                _index_path(pr, folder),
                str(pr.landmark_path),
                ls.patient_id if ls else pr.patient_id,
                ls.timepoint if ls else task.timepoint,
                ls.image.sop_instance_uid if ls else pr.sop_instance_uid,
                pr.paired_by,
                ls.calibration.source if ls else None,
                "measured" if ls else "failed",
                "" if ls else "; ".join(e[3] for e in res["errors"]),
            )
        )
    paired = {_index_path(pr, folder) for pr in pairs}
    for p in index.loc[index["status"] == "ok", "path"]:
        if p not in paired:
            film_rows.append(
                (p, None, None, None, None, None, None, "not_annotated", "no landmark file")
            )
    films = pd.DataFrame(film_rows, columns=list(FILM_COLUMNS)).sort_values("dicom", kind="stable")
    return sets, films, errors


def _index_path(entry: StudyEntry, folder: Path) -> str:
    """Return the film's path as the index names it (relative to the study folder)."""
    return entry.film_path.relative_to(folder).as_posix()


def _tables(
    o: RunOptions,
    sets: list[LandmarkSet],
    films: pd.DataFrame,
    errors: list[ErrorRow],
    out: Path,
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Build the measures, images, features (with clinical columns) and errors tables."""
    errors = errors + list(missing_points(sets).itertuples(index=False, name=None))
    measures = measures_table(sets)
    images = images_table(sets)
    clinical: pd.DataFrame | None = None
    dropped: list[str] = []
    if o.clinical is not None:
        clinical = read_table(o.clinical)
        if not o.keep_identifiers:
            clinical, dropped = drop_identifiers(clinical)
    try:
        features = features_table(measures, order=o.timepoints, clinical=clinical)
    except KyphoimgError as exc:
        errors.append((str(out), None, None, f"features: {exc}"))
        features = features_table(measures.iloc[0:0], order=o.timepoints)
    tables = {
        "measures": measures,
        "images": images,
        "features": features,
        "films": films,
        "errors": pd.DataFrame(errors, columns=list(ERROR_COLUMNS)).drop_duplicates(),
    }
    return tables, dropped


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
    written += write_table(tables["errors"], out / "errors.csv", dictionary=False)
    return tables, written, key_note
