"""Loading many landmark files at once, never stopping at a bad one.

A batch collects every failure as a row of an errors table (file, level, point, error)
and carries on; callers decide the exit status from it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .errors import KyphoimgError, LandmarkError
from .landmarks import LandmarkSet, read_landmarks, read_landmarks_csv

__all__ = ["ERROR_COLUMNS", "find_landmark_files", "load_landmarks"]

ERROR_COLUMNS = ("file", "level", "point", "error")


def find_landmark_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and folders into landmark files.

    Folders are searched recursively for ``*.landmarks.json`` (and ``*.landmarks.csv``);
    files are taken as given. Paths that do not exist are returned too, so the loader
    reports them.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted({*p.rglob("*.landmarks.json"), *p.rglob("*.landmarks.csv")})
            out.extend(found)
        else:
            out.append(p)
    return out


def load_landmarks(
    paths: Iterable[str | os.PathLike[str]],
) -> tuple[list[LandmarkSet], pd.DataFrame]:
    """Read every landmark file (JSON or flat CSV) under ``paths``, collecting failures.

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
    for path in files:
        try:
            if not path.exists():
                raise LandmarkError("no such file or folder", file=str(path))
            if path.suffix.lower() == ".csv":
                sets.extend(read_landmarks_csv(path))
            else:
                sets.append(read_landmarks(path))
        except LandmarkError as exc:
            errors.append((str(exc.file or path), exc.level, exc.point, str(exc)))
        except KyphoimgError as exc:
            errors.append((str(path), None, None, str(exc)))
    return sets, pd.DataFrame(errors, columns=list(ERROR_COLUMNS))
