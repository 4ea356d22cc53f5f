"""Loading many landmark files at once, never stopping at a bad one.

A batch collects every failure as a row of an errors table (file, level, point, error)
and carries on; callers decide the exit status from it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from .errors import KyphoimgError, LandmarkError
from .landmarks import (
    LATERAL_SCHEMES,
    SCHEMES,
    LandmarkSet,
    read_landmarks,
    read_landmarks_csv,
    scheme_points,
    validate_landmarks,
)

__all__ = ["ERROR_COLUMNS", "find_landmark_files", "load_landmarks", "missing_points"]

ERROR_COLUMNS = ("file", "level", "point", "error")


def find_landmark_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and folders into landmark files, each once.

    Folders are searched recursively for ``*.landmarks.json`` (and ``*.landmarks.csv``);
    files are taken as given. A file reached twice (named and inside a named folder) is
    listed once. Paths that do not exist are returned too, so the loader reports them.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for p in map(Path, paths):
        found = (
            sorted({*p.rglob("*.landmarks.json"), *p.rglob("*.landmarks.csv")})
            if p.is_dir()
            else [p]
        )
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def _error_row(exc: LandmarkError, path: Path) -> tuple[str, str | None, str | None, str]:
    return (str(exc.file or path), exc.level, exc.point, str(exc))


def load_landmarks(
    paths: Iterable[str | os.PathLike[str]], *, progress: bool = False
) -> tuple[list[LandmarkSet], pd.DataFrame]:
    """Read every landmark file (JSON or flat CSV) under ``paths``, collecting failures.

    Each image of a flat CSV is validated on its own, so one bad image does not drop the
    others.

    Parameters
    ----------
    paths : iterable of path-like
        Files and folders (see :func:`find_landmark_files`).
    progress : bool, optional
        Show a progress bar on stderr (automatically off when stderr is not a terminal).

    Returns
    -------
    sets : list of LandmarkSet
        Every set that read and validated.
    errors : pandas.DataFrame
        One row per failure, columns ``file, level, point, error``.
    """
    sets: list[LandmarkSet] = []
    errors: list[tuple[str, str | None, str | None, str]] = []
    files = find_landmark_files(paths)
    for path in tqdm(files, desc="landmark files", unit="file", disable=None if progress else True):
        try:
            if not path.exists():
                raise LandmarkError("no such file or folder", file=str(path))
            if path.suffix.lower() == ".csv":
                for ls in read_landmarks_csv(path, validate=False):
                    try:
                        validate_landmarks(ls)
                        sets.append(ls)
                    except LandmarkError as exc:
                        errors.append(_error_row(exc, path))
            else:
                sets.append(read_landmarks(path))
        except LandmarkError as exc:
            errors.append(_error_row(exc, path))
        except KyphoimgError as exc:
            errors.append((str(path), None, None, str(exc)))
    return sets, pd.DataFrame(errors, columns=list(ERROR_COLUMNS))


def missing_points(sets: Iterable[LandmarkSet]) -> pd.DataFrame:
    """List the points missing from annotated vertebrae, as an errors table.

    A vertebra with some of its points is taken as meant to be complete: each absent
    point of its scheme is a row (``mid_*`` of a 4-corner set and the inferior points of
    S1 are not expected). The measures of such a vertebra are still computed where
    possible (NaN with ``status``/``reason`` elsewhere).

    Returns
    -------
    pandas.DataFrame
        Columns ``file, level, point, error``.
    """
    rows = []
    for ls in sets:
        if ls.scheme not in SCHEMES:
            continue
        for level, pts in ls.points.items():
            expected = scheme_points(ls.scheme, level)
            if ls.scheme in LATERAL_SCHEMES and level == "S1":
                expected = tuple(n for n in expected if not n.startswith("mid"))
            for name in expected:
                if name not in pts:
                    err = LandmarkError(
                        "point missing: measures that need it are NaN; place it",
                        file=ls.where,
                        level=level,
                        point=name,
                    )
                    rows.append((ls.where, level, name, str(err)))
    return pd.DataFrame(rows, columns=list(ERROR_COLUMNS))
