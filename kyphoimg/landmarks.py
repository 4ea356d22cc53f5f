"""Vertebral levels, landmark schemes and landmark sets, with their JSON and CSV files.

Points are ``(row, col)`` floats in pixels, origin at the centre of the top-left pixel
(the numpy / napari / scikit-image convention). Anterior and posterior are anatomical
labels given by the reader; nothing here infers them from image left or right, so films
facing either way are handled alike.

The JSON landmark file (one per image and reader, ``<name>.landmarks.json``) follows the
schema ``kyphoimg-landmarks/1`` (README.md, "Landmark files"); unknown keys are kept and
written back. The flat CSV form (``patient_id,timepoint,image,level,point,row,col,rater``)
serves spreadsheet users.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from .atomic import atomic_write_text
from .calibration import Calibration
from .errors import ERROR_COLUMNS, CalibrationError, FilmMismatchError, KyphoimgError, LandmarkError

__all__ = [
    "ASSIST_KEY",
    "FINDINGS",
    "LATERAL_SCHEMES",
    "LEVELS",
    "SCHEMA",
    "SCHEMES",
    "ImageRef",
    "LandmarkSet",
    "RepairOutcome",
    "SaveOutcome",
    "confirm",
    "confirmed",
    "file_sha256",
    "find_landmark_files",
    "held_by_another",
    "landmark_problems",
    "landmarks_from_dict",
    "level_index",
    "mark_proposed",
    "missing_points",
    "pair_with_film",
    "point_sources",
    "read_landmark_files",
    "read_landmarks",
    "read_landmarks_csv",
    "repair_landmark_file",
    "save_reading",
    "scheme_points",
    "unconfirmed",
    "unconfirmed_levels",
    "validate_landmarks",
    "without_proposals",
    "write_landmarks",
    "write_landmarks_csv",
]

#: Vertebral levels, cranial to caudal.
LEVELS: tuple[str, ...] = (
    *(f"C{i}" for i in range(2, 8)),
    *(f"T{i}" for i in range(1, 13)),
    *(f"L{i}" for i in range(1, 6)),
    "S1",
)
_LEVEL_INDEX = {name: i for i, name in enumerate(LEVELS)}

#: Point names of each scheme, in file order.
SCHEMES: dict[str, tuple[str, ...]] = {
    "6pt": ("ant_sup", "mid_sup", "post_sup", "ant_inf", "mid_inf", "post_inf"),
    "4pt": ("ant_sup", "post_sup", "ant_inf", "post_inf"),
    "ap4": ("left_sup", "right_sup", "left_inf", "right_inf"),
}
#: Schemes for lateral (sagittal) films; ``ap4`` is coronal.
LATERAL_SCHEMES: tuple[str, ...] = ("6pt", "4pt")

SCHEMA = "kyphoimg-landmarks/1"
_SCHEMA_PREFIX = "kyphoimg-landmarks/"
_SCHEMA_VERSION = 1

#: Reader findings per index level and their allowed values.
FINDINGS: dict[str, tuple[str, ...]] = {
    "ivc": ("yes", "no", "not_assessable"),
    "npec": ("no", "superior", "inferior", "both", "not_assessable"),
    "cement_leakage": ("yes", "no", "not_assessable"),
    # Genant's visual semiquantitative grade as the reader saw it (kept apart from the
    # morphometric genant_grade kyphoimg computes).
    "genant_visual": ("0", "0.5", "1", "2", "3", "not_assessable"),
}

_KNOWN_TOP = {
    "schema",
    "patient_id",
    "timepoint",
    "image",
    "calibration",
    "scheme",
    "index_levels",
    "rater",
    "updated",
    "points",
    "findings",
}
_KNOWN_IMAGE = {"path", "sop_instance_uid", "rows", "columns"}
_KNOWN_CAL = {"row_mm", "col_mm", "source"}


def level_index(level: str) -> int:
    """Return the position of ``level`` in :data:`LEVELS` (C2 is 0, S1 is 23).

    Parameters
    ----------
    level : str
        A level name such as ``"L1"``.

    Returns
    -------
    int
        Its position, cranial to caudal.

    Raises
    ------
    LandmarkError
        If ``level`` is not a known level name.
    """
    try:
        return _LEVEL_INDEX[level]
    except KeyError:
        raise LandmarkError(
            f"unknown level {level!r}; levels are C2-C7, T1-T12, L1-L5 and S1", level=str(level)
        ) from None


def scheme_points(scheme: str, level: str | None = None) -> tuple[str, ...]:
    """Return the point names of ``scheme`` for ``level`` (S1 has its superior endplate only).

    Parameters
    ----------
    scheme : {"6pt", "4pt", "ap4"}
        The landmark scheme.
    level : str, optional
        The level; only ``"S1"`` changes the answer.

    Returns
    -------
    tuple of str
        Point names in file order.

    Raises
    ------
    LandmarkError
        If the scheme is unknown.

    Examples
    --------
    >>> scheme_points("4pt")
    ('ant_sup', 'post_sup', 'ant_inf', 'post_inf')
    >>> scheme_points("6pt", "S1")
    ('ant_sup', 'mid_sup', 'post_sup')
    """
    try:
        names = SCHEMES[scheme]
    except KeyError:
        raise LandmarkError(f"unknown scheme {scheme!r}; use one of {', '.join(SCHEMES)}") from None
    if level == "S1":
        return tuple(n for n in names if n.endswith("_sup"))
    return names


@dataclass(frozen=True)
class ImageRef:
    """The image a landmark set was placed on.

    Parameters
    ----------
    path : str, optional
        Image path relative to the landmark file.
    sop_instance_uid : str, optional
        DICOM SOP Instance UID of the image.
    rows, columns : int, optional
        Image size in pixels; when known, points outside the image are refused.
    extra : mapping, optional
        Unknown keys of the file's ``image`` object, written back unchanged.
    """

    path: str | None = None
    sop_instance_uid: str | None = None
    rows: int | None = None
    columns: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class LandmarkSet:
    """The landmarks placed on one image, with what is known about that image.

    Parameters
    ----------
    points : mapping
        ``{level: {point_name: (row, col)}}`` in pixels. A vertebra may lack points; the
        measures that need them are then NaN with a reason.
    scheme : {"6pt", "4pt", "ap4"}
        Landmark scheme.
    patient_id, timepoint, rater, updated : str, optional
        Identification; ``timepoint`` is a name such as ``"pre"``, ``"post"``, ``"last"``.
    image : ImageRef
        The image the points belong to.
    calibration : Calibration
        Pixel spacing used for millimetre values.
    index_levels : tuple of str
        The fractured / treated levels.
    findings : mapping
        Reader findings per level (``{"L1": {"ivc": "yes", ...}}``), see :data:`FINDINGS`.
    extra : mapping
        Unknown top-level keys of the file, written back unchanged.
    calibration_extra : mapping
        Unknown keys of the file's ``calibration`` object.
    source : str, optional
        The file the set was read from (used in error messages; not written).

    Notes
    -----
    Construct from plain values, or read with :func:`read_landmarks`. Construction does
    not validate; call :func:`validate_landmarks` (reading does it for you).
    """

    points: Mapping[str, Mapping[str, tuple[float, float]]]
    scheme: str = "6pt"
    patient_id: str | None = None
    timepoint: str | None = None
    image: ImageRef = field(default_factory=ImageRef)
    calibration: Calibration = field(default_factory=Calibration.none)
    index_levels: tuple[str, ...] = ()
    rater: str | None = None
    updated: str | None = None
    findings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    calibration_extra: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self) -> None:
        frozen = {
            str(level): MappingProxyType(
                {str(k): (float(v[0]), float(v[1])) for k, v in pts.items()}
            )
            for level, pts in sorted(
                self.points.items(), key=lambda kv: _LEVEL_INDEX.get(kv[0], len(LEVELS))
            )
        }
        object.__setattr__(self, "points", MappingProxyType(frozen))
        object.__setattr__(self, "index_levels", tuple(self.index_levels))
        object.__setattr__(
            self,
            "findings",
            MappingProxyType({k: MappingProxyType(dict(v)) for k, v in self.findings.items()}),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LandmarkSet):
            return NotImplemented
        return _as_dict(self) == _as_dict(other)

    __hash__ = None  # type: ignore[assignment]

    @property
    def levels(self) -> tuple[str, ...]:
        """Levels that carry at least one point, cranial to caudal."""
        return tuple(self.points)

    @property
    def where(self) -> str:
        """A short description of the set for messages: its file, or patient and time point."""
        if self.source:
            return str(self.source)
        parts = [p for p in (self.patient_id, self.timepoint, self.image.path) if p]
        return " ".join(parts) or "<landmark set>"

    def point(self, level: str, name: str) -> tuple[float, float]:
        """Return one point, raising a :class:`LandmarkError` naming it when absent.

        Raises
        ------
        LandmarkError
            If the level or the point is not in the set.
        """
        try:
            return self.points[level][name]
        except KeyError:
            raise LandmarkError(
                "point is missing; place it or choose a measure that does not need it",
                file=self.where,
                level=level,
                point=name,
            ) from None

    def array(
        self, levels: Sequence[str] | None = None, names: Sequence[str] | None = None
    ) -> np.ndarray:
        """Return the points as an ``(n_levels, n_points, 2)`` (row, col) array, NaN where absent.

        Parameters
        ----------
        levels : sequence of str, optional
            Levels in the order wanted; default :attr:`levels`.
        names : sequence of str, optional
            Point names in the order wanted; default the scheme's points.
        """
        levels = self.levels if levels is None else tuple(levels)
        names = SCHEMES[self.scheme] if names is None else tuple(names)
        out = np.full((len(levels), len(names), 2), np.nan)
        for i, level in enumerate(levels):
            pts = self.points.get(level, {})
            for j, name in enumerate(names):
                if name in pts:
                    out[i, j] = pts[name]
        return out

    def replace(self, **changes: Any) -> LandmarkSet:
        """Return a copy with some fields replaced (``dataclasses.replace``)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the landmark-file JSON object of this set (what :func:`write_landmarks` writes).

        Returns
        -------
        dict
            JSON-ready; :func:`landmarks_from_dict` reads it back into an equal set.
        """
        return _as_dict(self)


# ----------------------------------------------------------------------------- validation
def _problems(ls: LandmarkSet) -> list[LandmarkError]:
    """Collect every problem of ``ls`` as :class:`LandmarkError` values."""
    if ls.scheme not in SCHEMES:
        msg = f"unknown scheme {ls.scheme!r}; use one of {', '.join(SCHEMES)}"
        return [LandmarkError(msg, file=ls.where)]
    out = [*_level_problems(ls), *_point_problems(ls), *_finding_problems(ls)]
    return out or _orientation_problems(ls)


def _level_problems(ls: LandmarkSet) -> list[LandmarkError]:
    """Return the index levels and point levels that are not level names."""
    out = [
        LandmarkError(
            f"index level {level!r} is not a level name (C2-C7, T1-T12, L1-L5, S1)",
            file=ls.where,
            level=level,
        )
        for level in ls.index_levels
        if level not in _LEVEL_INDEX
    ]
    out += [
        LandmarkError(
            "unknown level; levels are C2-C7, T1-T12, L1-L5 and S1", file=ls.where, level=level
        )
        for level in ls.points
        if level not in _LEVEL_INDEX
    ]
    return out


def _point_problems(ls: LandmarkSet) -> list[LandmarkError]:
    """Return point names outside the scheme, non-finite points and points off the image."""
    out: list[LandmarkError] = []
    rows, cols = ls.image.rows, ls.image.columns
    for level, pts in ls.points.items():
        if level not in _LEVEL_INDEX:
            continue  # reported by _level_problems
        allowed = scheme_points(ls.scheme, level)
        for name, (r, c) in pts.items():
            msg = None
            if name not in allowed:
                hint = (
                    "S1 takes its superior endplate points only"
                    if level == "S1" and name in SCHEMES[ls.scheme]
                    else f"scheme {ls.scheme} uses {', '.join(allowed)}"
                )
                msg = f"unknown point name for this level; {hint}"
            elif not (math.isfinite(r) and math.isfinite(c)):
                msg = f"coordinate ({r}, {c}) is not finite; re-place the point"
            elif (
                rows is not None
                and cols is not None
                and not (-0.5 <= r <= rows - 0.5 and -0.5 <= c <= cols - 0.5)
            ):
                msg = (
                    f"(row {r:g}, col {c:g}) lies outside the {rows}x{cols} image; "
                    "re-place the point or check image.rows/columns"
                )
            if msg is not None:
                out.append(LandmarkError(msg, file=ls.where, level=level, point=name))
    return out


def _finding_problems(ls: LandmarkSet) -> list[LandmarkError]:
    """Return findings for unknown levels and finding values outside their vocabulary."""
    out: list[LandmarkError] = []
    for level, values in ls.findings.items():
        if level not in _LEVEL_INDEX:
            out.append(
                LandmarkError("findings given for an unknown level", file=ls.where, level=level)
            )
            continue
        for key, value in values.items():
            if key in FINDINGS and value not in FINDINGS[key] and value is not None:
                out.append(
                    LandmarkError(
                        f"finding {key}={value!r} is not one of {', '.join(FINDINGS[key])}",
                        file=ls.where,
                        level=level,
                    )
                )
    return out


def _nanmean_points(a: np.ndarray) -> np.ndarray:
    """Mean over axis 1 of an ``(n, k, 2)`` array ignoring NaN points; NaN (silently) when none."""
    ok = ~np.isnan(a).any(axis=-1)
    n = ok.sum(axis=1)
    total = np.where(ok[..., None], a, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n[:, None] > 0, total / n[:, None], np.nan)


def _orientation_problems(ls: LandmarkSet) -> list[LandmarkError]:
    """Superior/inferior order and anterior/posterior consistency, in mm space."""
    spacing = ls.calibration.spacing
    sup_names = [n for n in SCHEMES[ls.scheme] if n.endswith("_sup")]
    inf_names = [n for n in SCHEMES[ls.scheme] if n.endswith("_inf")]
    levels = [lv for lv in ls.levels if lv in _LEVEL_INDEX]
    if not levels:
        return []
    sup = _nanmean_points(ls.array(levels, sup_names) * spacing)
    inf = _nanmean_points(ls.array(levels, inf_names) * spacing)
    centre = np.where(np.isnan(sup), inf, np.where(np.isnan(inf), sup, (sup + inf) / 2))
    ok = ~np.isnan(centre).any(axis=1)
    # Cranio-caudal axis: from the most cranial to the most caudal vertebra; with a single
    # vertebra the film is taken as upright (caudal = increasing row).
    axis = np.array([1.0, 0.0])
    if ok.sum() >= 2:
        first, last = np.flatnonzero(ok)[[0, -1]]
        v = centre[last] - centre[first]
        if np.hypot(*v) > 0:
            axis = v / np.hypot(*v)
    out = []
    for i, level in enumerate(levels):
        if level == "S1" or np.isnan(sup[i]).any() or np.isnan(inf[i]).any():
            continue
        if float(np.dot(inf[i] - sup[i], axis)) <= 0:
            out.append(
                LandmarkError(
                    "superior points lie caudal to (below) the inferior points; "
                    "swap the *_sup and *_inf labels of this vertebra",
                    file=ls.where,
                    level=level,
                )
            )
    if ls.scheme not in LATERAL_SCHEMES:
        return out
    ant = _nanmean_points(ls.array(levels, ["ant_sup", "ant_inf"]) * spacing)
    post = _nanmean_points(ls.array(levels, ["post_sup", "post_inf"]) * spacing)
    a = ant - post
    facing = np.sign(axis[0] * a[:, 1] - axis[1] * a[:, 0])
    valid = ~np.isnan(facing) & (facing != 0)
    if valid.sum() >= 2:
        n_pos = int((facing[valid] > 0).sum())
        n_neg = int(valid.sum()) - n_pos
        if n_pos and n_neg:
            if n_pos == n_neg:
                names = [lv for lv, ok_ in zip(levels, valid, strict=True) if ok_]
                out.append(
                    LandmarkError(
                        "anterior and posterior points face opposite ways on "
                        f"{', '.join(names)}: one half has them swapped; check the labels",
                        file=ls.where,
                    )
                )
            else:
                minority = 1.0 if n_pos < n_neg else -1.0
                for i, level in enumerate(levels):
                    if valid[i] and facing[i] == minority:
                        out.append(
                            LandmarkError(
                                "anterior and posterior points are swapped relative to the "
                                "other vertebrae; swap the ant_* and post_* labels",
                                file=ls.where,
                                level=level,
                            )
                        )
    return out


def landmark_problems(ls: LandmarkSet) -> list[LandmarkError]:
    """Return every problem :func:`validate_landmarks` would refuse, without raising.

    Parameters
    ----------
    ls : LandmarkSet
        The set to check.

    Returns
    -------
    list of LandmarkError
        Each names the file, level and point concerned; empty when the set is valid.
        Orientation problems (superior below inferior, anterior/posterior swapped) are
        only looked for once the names and coordinates are valid.
    """
    return _problems(ls)


def validate_landmarks(
    ls: LandmarkSet, *, require: Mapping[str, Iterable[str]] | None = None
) -> None:
    """Check a landmark set, raising on the first problem (and counting the others).

    Checks: scheme and level names, point names for the scheme, finite coordinates,
    points inside the image when its size is known, finding values, superior points
    above inferior ones along the spine, anterior/posterior labels consistent across
    vertebrae, and (with ``require``) the presence of the points a measure needs.

    Parameters
    ----------
    ls : LandmarkSet
        The set to check.
    require : mapping, optional
        ``{level: point_names}`` that must be present.

    Raises
    ------
    LandmarkError
        Naming the file, level and point, and what to do.
    """
    problems = _problems(ls)
    for level, names in (require or {}).items():
        for name in names:
            if name not in ls.points.get(level, {}):
                problems.append(
                    LandmarkError(
                        "point is missing but the requested measure needs it; place it",
                        file=ls.where,
                        level=level,
                        point=name,
                    )
                )
    if problems:
        first = problems[0]
        if len(problems) > 1:
            more = "; ".join(str(p) for p in problems[1:4])
            extra = f" (and {len(problems) - 1} more: {more}{'; ...' if len(problems) > 4 else ''})"
            raise LandmarkError(
                first.message + extra, file=first.file, level=first.level, point=first.point
            )
        raise first


# ----------------------------------------------------------------------------- JSON
class _JsonObject(dict[str, Any]):
    """A parsed JSON object that remembers which keys it saw twice."""

    duplicates: tuple[str, ...] = ()


def _record_duplicates(pairs: list[tuple[str, Any]]) -> _JsonObject:
    obj = _JsonObject()
    dups = []
    for key, value in pairs:
        if key in obj:
            dups.append(key)
        obj[key] = value
    obj.duplicates = tuple(dups)
    return obj


def _duplicate_error(data: _JsonObject, where: str) -> LandmarkError | None:
    """Return the first duplicate key of a landmark file, named by its place, or None."""
    msg = "appears twice; keep one"
    points = data.get("points")
    if isinstance(points, _JsonObject):
        if points.duplicates:
            return LandmarkError(f"level {msg}", file=where, level=points.duplicates[0])
        for level, pts in points.items():
            if isinstance(pts, _JsonObject) and pts.duplicates:
                return LandmarkError(
                    f"point {msg}", file=where, level=level, point=pts.duplicates[0]
                )
    if data.duplicates:
        return LandmarkError(f"key {data.duplicates[0]!r} {msg}", file=where)
    for key, value in data.items():
        if isinstance(value, _JsonObject) and value.duplicates and key != "points":
            return LandmarkError(f"key {key}.{value.duplicates[0]} {msg}", file=where)
    return None


def _parse_point(value: Any, where: str, level: str, name: str) -> tuple[float, float]:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise LandmarkError(
            f"expected [row, col], got {value!r}", file=where, level=level, point=name
        )
    try:
        r, c = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        raise LandmarkError(
            f"coordinates {value!r} are not numbers", file=where, level=level, point=name
        ) from None
    return r, c


def _expect(d: Mapping[str, Any], key: str, kind: type, what: str, where: str) -> Any:
    value = d.get(key)
    if value is None:
        return {}
    if not isinstance(value, kind):
        raise LandmarkError(f"'{key}' must be {what}, got {value!r}", file=where)
    return value


def landmarks_from_dict(d: Mapping[str, Any], *, source: str | None = None) -> LandmarkSet:
    """Build a :class:`LandmarkSet` from a parsed landmark file, without validating it.

    Parameters
    ----------
    d : mapping
        The landmark file's JSON object (as :meth:`LandmarkSet.to_dict` returns it).
    source : str, optional
        Where it came from, named in error messages and kept as ``source``.

    Returns
    -------
    LandmarkSet
        Unknown keys are kept in ``extra`` and ``calibration_extra``; call
        :func:`validate_landmarks` to check the points.

    Raises
    ------
    LandmarkError
        If the schema is missing or newer than this kyphoimg reads, or the structure is wrong.
    """
    where = source or "<landmarks>"
    schema = d.get("schema")
    if not isinstance(schema, str) or not schema.startswith(_SCHEMA_PREFIX):
        raise LandmarkError(
            f"'schema' is {schema!r}, expected {SCHEMA!r}; is this a kyphoimg landmark file?",
            file=where,
        )
    try:
        version = int(schema.removeprefix(_SCHEMA_PREFIX))
    except ValueError:
        raise LandmarkError(f"unreadable schema version in {schema!r}", file=where) from None
    if version > _SCHEMA_VERSION:
        raise LandmarkError(
            f"written with schema {schema}, newer than this kyphoimg reads ({SCHEMA}); "
            "upgrade kyphoimg to read it",
            file=where,
        )
    raw_points = d.get("points", {})
    if not isinstance(raw_points, Mapping):
        raise LandmarkError("'points' must be an object {level: {point: [row, col]}}", file=where)
    points: dict[str, dict[str, tuple[float, float]]] = {}
    for level, pts in raw_points.items():
        if not isinstance(pts, Mapping):
            raise LandmarkError(
                "points of a level must be an object {point: [row, col]}", file=where, level=level
            )
        points[level] = {name: _parse_point(v, where, level, name) for name, v in pts.items()}
    img = _expect(d, "image", Mapping, "an object {path, sop_instance_uid, rows, columns}", where)
    cal = _expect(d, "calibration", Mapping, "an object {row_mm, col_mm, source}", where)
    findings = _expect(d, "findings", Mapping, "an object {level: {finding: value}}", where)
    for level, values in findings.items():
        if not isinstance(values, Mapping):
            raise LandmarkError(
                f"findings must be an object {{finding: value}}, got {values!r}",
                file=where,
                level=str(level),
            )
    try:
        calibration = Calibration.from_dict(cal or None)
    except CalibrationError as exc:
        raise LandmarkError(f"calibration: {exc}", file=where) from None
    index_levels = d.get("index_levels") or []
    if isinstance(index_levels, str):
        index_levels = [index_levels]
    if not isinstance(index_levels, Sequence):
        raise LandmarkError(
            f"'index_levels' must be a list of level names, got {index_levels!r}", file=where
        )
    size = {}
    for key in ("rows", "columns"):
        value = img.get(key)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value != int(value)
            or value <= 0
        ):
            raise LandmarkError(
                f"image.{key} must be a positive whole number, got {value!r}", file=where
            )
        size[key] = None if value is None else int(value)
    return LandmarkSet(
        points=points,
        scheme=str(d.get("scheme", "6pt")),
        patient_id=None if d.get("patient_id") is None else str(d["patient_id"]),
        timepoint=None if d.get("timepoint") is None else str(d["timepoint"]),
        image=ImageRef(
            path=img.get("path"),
            sop_instance_uid=img.get("sop_instance_uid"),
            rows=size["rows"],
            columns=size["columns"],
            extra={k: v for k, v in img.items() if k not in _KNOWN_IMAGE},
        ),
        calibration=calibration,
        index_levels=tuple(str(x) for x in index_levels),
        rater=d.get("rater"),
        updated=d.get("updated"),
        findings={str(k): dict(v) for k, v in findings.items()},
        extra={k: v for k, v in d.items() if k not in _KNOWN_TOP},
        calibration_extra={k: v for k, v in (cal or {}).items() if k not in _KNOWN_CAL},
        source=source,
    )


def _in_scheme_order(names: Iterable[str], order: Sequence[str]) -> list[str]:
    """Point names sorted as the scheme lists them, unknown names last."""
    rank = {n: i for i, n in enumerate(order)}
    return sorted(names, key=lambda n: rank.get(n, len(rank)))


def _as_dict(ls: LandmarkSet) -> dict[str, Any]:
    image = {
        k: v
        for k, v in (
            ("path", ls.image.path),
            ("sop_instance_uid", ls.image.sop_instance_uid),
            ("rows", ls.image.rows),
            ("columns", ls.image.columns),
        )
        if v is not None
    }
    image.update(ls.image.extra)
    calibration = ls.calibration.to_dict()
    calibration.update(ls.calibration_extra)
    order = SCHEMES.get(ls.scheme, ())
    points = {
        level: {name: [pts[name][0], pts[name][1]] for name in _in_scheme_order(pts, order)}
        for level, pts in ls.points.items()
    }
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "patient_id": ls.patient_id,
        "timepoint": ls.timepoint,
        "image": image,
        "calibration": calibration,
        "scheme": ls.scheme,
        "index_levels": list(ls.index_levels),
        "rater": ls.rater,
        "updated": ls.updated,
        "points": points,
        "findings": {k: dict(v) for k, v in ls.findings.items()},
    }
    out.update(ls.extra)
    return out


def read_landmarks(path: str | os.PathLike[str], *, validate: bool = True) -> LandmarkSet:
    """Read one JSON landmark file.

    Parameters
    ----------
    path : path-like
        A ``*.landmarks.json`` file.
    validate : bool, optional
        Run :func:`validate_landmarks` (default).

    Returns
    -------
    LandmarkSet
        With ``source`` set to ``path``.

    Raises
    ------
    LandmarkError
        If the file cannot be read or parsed, has a duplicate key, a newer schema, or
        fails validation. The message names the file, level and point.
    """
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LandmarkError(f"cannot read the file ({exc.strerror or exc})", file=where) from None
    except UnicodeDecodeError:
        raise LandmarkError("not a UTF-8 text file; is this a landmark file?", file=where) from None
    try:
        data = json.loads(text, object_pairs_hook=_record_duplicates)
    except json.JSONDecodeError as exc:
        raise LandmarkError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", file=where
        ) from None
    if not isinstance(data, _JsonObject):
        raise LandmarkError("expected a JSON object at the top level", file=where)
    dup = _duplicate_error(data, where)
    if dup is not None:
        raise dup
    ls = landmarks_from_dict(data, source=where)
    if validate:
        validate_landmarks(ls)
    return ls


def write_landmarks(ls: LandmarkSet, path: str | os.PathLike[str], *, touch: bool = True) -> Path:
    """Write a landmark set as JSON, atomically (temporary file, then rename).

    Parameters
    ----------
    ls : LandmarkSet
        The set to write; unknown keys it was read with are written back.
    path : path-like
        Destination, conventionally ``<image name>.landmarks.json``.
    touch : bool, optional
        Set ``updated`` to the current UTC time (default). Pass False to write the set
        exactly as it is.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    if touch:
        ls = ls.replace(updated=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    atomic_write_text(path, json.dumps(_as_dict(ls), indent=2, ensure_ascii=False) + "\n")
    return path


# ----------------------------------------------------------------------------- CSV
CSV_COLUMNS = ("patient_id", "timepoint", "image", "level", "point", "row", "col", "rater")
_CSV_OPTIONAL = ("scheme", "row_mm", "col_mm", "spacing_source", "index_level")


def _infer_scheme(names: set[str]) -> str:
    if any(n.startswith(("left_", "right_")) for n in names):
        return "ap4"
    if any(n.startswith("mid_") for n in names):
        return "6pt"
    return "4pt"


def read_landmarks_csv(path: str | os.PathLike[str], *, validate: bool = True) -> list[LandmarkSet]:
    """Read the flat CSV form: one row per point, one landmark set per image.

    Required columns are ``patient_id,timepoint,image,level,point,row,col,rater``.
    Optional columns ``scheme``, ``row_mm``, ``col_mm``, ``spacing_source`` and
    ``index_level`` (``yes``/``true``/``1`` on the rows of an index level) are understood;
    other columns are kept per image and written back.

    Parameters
    ----------
    path : path-like
        The CSV file.
    validate : bool, optional
        Validate each image's set (:func:`validate_landmarks`).

    Returns
    -------
    list of LandmarkSet
        One set per ``(patient_id, timepoint, image, rater)``, in order of first row.

    Raises
    ------
    LandmarkError
        Naming the file, CSV line, level and point.
    """
    path = Path(path)
    where = str(path)
    reader = _csv_reader(path)
    header = reader.fieldnames or []
    extra_cols = [c for c in header if c not in CSV_COLUMNS and c not in _CSV_OPTIONAL]
    groups: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for lineno, row in enumerate(reader, start=2):
        _add_csv_row(groups, row, extra_cols, f"{where} line {lineno}", lineno)
    sets = []
    for key, g in groups.items():
        ls = _csv_set(key, g, where)
        if validate:
            validate_landmarks(ls)
        sets.append(ls)
    return sets


def _csv_reader(path: Path) -> csv.DictReader[str]:
    """Open the CSV as UTF-8 text and check its header has the required columns."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LandmarkError(f"cannot read the file ({exc.strerror or exc})", file=where) from None
    except UnicodeDecodeError:
        raise LandmarkError("not a UTF-8 text file; save the CSV as UTF-8", file=where) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise LandmarkError(
            f"missing column(s) {', '.join(missing)}; the header must contain "
            + ",".join(CSV_COLUMNS),
            file=where,
        )
    return reader


def _add_csv_row(
    groups: dict[tuple[str, str, str, str], dict[str, Any]],
    row: Mapping[str, Any],
    extra_cols: Sequence[str],
    line_where: str,
    lineno: int,
) -> None:
    """Add one CSV row (one point) to its image's group, refusing inconsistent rows."""
    short = [c for c in CSV_COLUMNS if row.get(c) is None]
    if short:
        raise LandmarkError(
            f"too few fields (no {', '.join(short)}); every row needs " + ",".join(CSV_COLUMNS),
            file=line_where,
        )
    key = (row["patient_id"], row["timepoint"], row["image"], row["rater"])
    g = groups.setdefault(
        key, {"points": {}, "index": set(), "opt": {}, "extra": {}, "line": lineno}
    )
    level, name = row["level"].strip(), row["point"].strip()
    if name in g["points"].setdefault(level, {}):
        raise LandmarkError(
            "duplicate point for this image; keep one row", file=line_where, level=level, point=name
        )
    g["points"][level][name] = _parse_point([row["row"], row["col"]], line_where, level, name)
    if str(row.get("index_level", "")).strip().lower() in ("yes", "true", "1", "y"):
        g["index"].add(level)
    for col in ("scheme", "row_mm", "col_mm", "spacing_source"):
        value = (row.get(col) or "").strip()
        prev = g["opt"].setdefault(col, value) if value else value
        if prev != value:
            raise LandmarkError(
                f"column {col} changes within one image ({prev!r} then {value!r})",
                file=line_where,
            )
    for col in extra_cols:
        value = row.get(col)
        prev = g["extra"].setdefault(col, value)
        if prev != value:
            raise LandmarkError(
                f"extra column {col!r} changes within one image ({prev!r} then {value!r}); "
                "kyphoimg keeps extra columns per image: keep one value per image or use JSON",
                file=line_where,
            )


def _csv_set(key: tuple[str, str, str, str], g: Mapping[str, Any], where: str) -> LandmarkSet:
    """Build one image's landmark set from its CSV group."""
    pid, tp, image, rater = key
    opt = g["opt"]
    source = opt.get("spacing_source")
    try:
        cal = (
            Calibration(float(opt["row_mm"]), float(opt["col_mm"]), source)
            if source and source != "none"
            else Calibration.none()
        )
    except (KeyError, ValueError, CalibrationError) as exc:
        raise LandmarkError(
            f"calibration columns of image {image!r} are unusable ({exc})", file=where
        ) from None
    names = {n for pts in g["points"].values() for n in pts}
    return LandmarkSet(
        points=g["points"],
        scheme=opt.get("scheme") or _infer_scheme(names),
        patient_id=pid or None,
        timepoint=tp or None,
        image=ImageRef(path=image or None),
        calibration=cal,
        index_levels=tuple(sorted(g["index"], key=lambda lv: _LEVEL_INDEX.get(lv, 99))),
        rater=rater or None,
        extra=g["extra"],
        source=f"{where} (image {image or '?'}, from line {g['line']})",
    )


def write_landmarks_csv(sets: Iterable[LandmarkSet], path: str | os.PathLike[str]) -> Path:
    """Write landmark sets in the flat CSV form, atomically.

    The optional columns ``scheme``, ``row_mm``, ``col_mm``, ``spacing_source`` and
    ``index_level`` are always written, so a round trip keeps scheme, calibration and index
    levels; extra columns the sets were read with follow.

    Parameters
    ----------
    sets : iterable of LandmarkSet
        One set per image.
    path : path-like
        The CSV file to write (replaced atomically).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    sets = list(sets)
    extra_cols: list[str] = []
    for ls in sets:
        for k in ls.extra:
            if k not in extra_cols and k not in CSV_COLUMNS and k not in _CSV_OPTIONAL:
                extra_cols.append(k)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *_CSV_OPTIONAL, *extra_cols])
    for ls in sets:
        cal = ls.calibration
        for level, pts in ls.points.items():
            for name in _in_scheme_order(pts, SCHEMES.get(ls.scheme, ())):
                r, c = pts[name]
                writer.writerow(
                    [
                        ls.patient_id or "",
                        ls.timepoint or "",
                        ls.image.path or "",
                        level,
                        name,
                        repr(r),
                        repr(c),
                        ls.rater or "",
                        ls.scheme,
                        "" if not cal.has_mm else repr(cal.row_mm),
                        "" if not cal.has_mm else repr(cal.col_mm),
                        cal.source,
                        "yes" if level in ls.index_levels else "",
                        *("" if ls.extra.get(k) is None else ls.extra.get(k) for k in extra_cols),
                    ]
                )
    path = Path(path)
    atomic_write_text(path, buf.getvalue())
    return path


# ------------------------------------------------------------------ pairing with a film
def pair_with_film(
    ls: LandmarkSet,
    *,
    sop_instance_uid: str | None,
    rows: int | None,
    columns: int | None,
    calibration: Calibration | None,
    film: str | os.PathLike[str] | None = None,
) -> LandmarkSet:
    """Check that a landmark set belongs to a film and take the film's facts into it.

    This is the one rule every consumer (``kyphoimg run``, the SR export and the napari
    plugin) applies when a landmark set meets its film:

    1. **Same image.** When both the set and the film know their SOP Instance UID, the
       UIDs must be equal; when both know their size, ``rows x columns`` must be equal.
    2. **Calibration.** A ``user`` calibration in the set (a line of known length drawn
       by the reader) is kept; otherwise the film's calibration, re-derived from its
       DICOM header, replaces the one recorded in the file (the header is the source
       of truth, and the file may predate a correction of the rules). Without a film
       calibration (``None``) the set keeps its own.
    3. **Image facts filled in.** The set's missing UID and size are taken from the film.

    Parameters
    ----------
    ls : LandmarkSet
        The landmark set, as read from its file.
    sop_instance_uid : str or None
        The film's SOP Instance UID (``None`` when unknown).
    rows, columns : int or None
        The film's size in pixels (``None`` when unknown).
    calibration : Calibration or None
        The film's calibration as resolved from its header (``None``: keep the set's).
    film : path-like, optional
        The film's file or description, named in the error message.

    Returns
    -------
    LandmarkSet
        A copy with ``image`` completed and ``calibration`` resolved as above.

    Raises
    ------
    FilmMismatchError
        If the UIDs or the sizes differ; the message names the landmark file and the film.

    Examples
    --------
    >>> ls = LandmarkSet({}, image=ImageRef(rows=100, columns=80))
    >>> paired = pair_with_film(
    ...     ls, sop_instance_uid="1.2.3", rows=100, columns=80,
    ...     calibration=Calibration(0.15, 0.15, "detector"),
    ... )
    >>> paired.image.sop_instance_uid, paired.calibration.source
    ('1.2.3', 'detector')
    """
    where = f"the film {film}" if film is not None else "the film"
    uid = ls.image.sop_instance_uid
    if uid and sop_instance_uid and str(uid) != str(sop_instance_uid):
        raise FilmMismatchError(
            f"the landmarks were placed on SOP Instance UID {uid}, but {where} is "
            f"{sop_instance_uid}; pair the landmark file with its own film (or fix "
            "image.sop_instance_uid in the file)",
            file=ls.where,
        )
    size = (ls.image.rows, ls.image.columns)
    film_size = (rows, columns)
    if None not in size and None not in film_size and size != film_size:
        raise FilmMismatchError(
            f"the landmarks were placed on a {size[0]}x{size[1]} image, but {where} is "
            f"{rows}x{columns}; was the film resized or re-exported? Pair the landmark "
            "file with its own film",
            file=ls.where,
        )
    image = replace(
        ls.image,
        sop_instance_uid=uid or sop_instance_uid,
        rows=ls.image.rows if ls.image.rows is not None else rows,
        columns=ls.image.columns if ls.image.columns is not None else columns,
    )
    keep_own = calibration is None or ls.calibration.source == "user"
    return ls.replace(image=image, calibration=ls.calibration if keep_own else calibration)


# ------------------------------------------------------------------------ many files
def find_landmark_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and folders into landmark files, each once.

    Folders are searched recursively for ``*.landmarks.json`` and ``*.landmarks.csv``;
    files are taken as given. A file reached twice (named and inside a named folder) is
    listed once. Paths that do not exist are returned too, so the reader reports them.

    Parameters
    ----------
    paths : iterable of path-like
        Landmark files and folders.

    Returns
    -------
    list of pathlib.Path
        In the order given, folders' files sorted by path.
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


def read_landmark_files(
    paths: Iterable[str | os.PathLike[str]], *, validate: bool = True, progress: bool = False
) -> tuple[list[LandmarkSet], pd.DataFrame]:
    """Read every landmark file (JSON or flat CSV) under ``paths``, collecting failures.

    Unlike :func:`read_landmarks` (one file, raises), this never stops at a bad file:
    each failure becomes a row of the errors table. Each image of a flat CSV is
    validated on its own, so one bad image does not drop the others.

    Parameters
    ----------
    paths : iterable of path-like
        Files and folders (see :func:`find_landmark_files`).
    validate : bool, optional
        Validate each set (:func:`validate_landmarks`); without it only the file's
        structure is checked, for callers that validate after pairing with the film.
    progress : bool, optional
        Show a progress bar on stderr (automatically off when stderr is not a terminal).

    Returns
    -------
    sets : list of LandmarkSet
        Every set that was read (and validated), with ``source`` set to its file.
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
                        if validate:
                            validate_landmarks(ls)
                        sets.append(ls)
                    except LandmarkError as exc:
                        errors.append(_error_row(exc, path))
            else:
                sets.append(read_landmarks(path, validate=validate))
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

    Parameters
    ----------
    sets : iterable of LandmarkSet
        The sets to check.

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


# ------------------------------------------------------------------------ provenance
# The record of which points kyphoimg proposed is one top-level key of the landmark file,
# ``"assist"``, which the schema ``kyphoimg-landmarks/1`` does not define: it is carried in
# :attr:`LandmarkSet.extra` and survives every load/save round trip, so the schema version
# stays. Its form::
#
#   "assist": {
#     "method": "kyphoimg 0.x assist.propagate",            # the last proposal's tool
#     "proposed": {"L1": {"ant_sup": [512.0, 300.5], ...}},  # unconfirmed, as proposed
#     "methods": {"L1": {"ant_sup": "propagate", ...}},      # each point's method
#     "confidence": {"L1": {"ant_sup": 0.93, ...}},
#     "review": {"L1": ["ant_sup", ...]},
#     "confirmed": {"L1": {"mid_sup": {"method": "propagate", "at": [508.2, 380.0]}}}
#   }
#
# A point is confirmed when it is not listed in ``proposed``, or when its coordinates in
# the file differ from the proposed ones (a reader placed or moved it). ``confirmed``
# keeps, for each proposed point the reader accepted as it was, the method that proposed
# it and where it stood when accepted: "proposed by <method>, confirmed by the reader".
# A point moved since then is the reader's own (its entry is ignored, and dropped by the
# next :func:`save_reading`). Files without ``confirmed`` (written before it) read as
# before: their accepted points are the reader's.

#: The top-level key of the landmark file holding the provenance record.
ASSIST_KEY = "assist"
#: Two coordinates closer than this (pixels) are the same: the point was not moved.
_SAME = 1e-6
_RECORD_PARTS = ("proposed", "methods", "confidence", "review", "confirmed")


def _short_method(text: str) -> str:
    """``"kyphoimg 0.3 assist.propagate"`` -> ``"propagate"``; a short name is kept."""
    last = str(text).strip().split()[-1] if str(text).strip() else "assist"
    return last.rsplit(".", 1)[-1]


def mark_proposed(
    ls: LandmarkSet,
    result: Any,
    *,
    levels: Iterable[str] | None = None,
    keep_confirmed: bool = True,
    method: str | None = None,
) -> LandmarkSet:
    """Return ``result``'s landmarks added to ``ls`` as proposals no reader has confirmed.

    Parameters
    ----------
    ls : LandmarkSet
        The reader's set for the film, possibly empty or partly placed (its fields,
        points and extra keys are kept).
    result : object
        The proposal: ``landmarks`` (a LandmarkSet), ``confidence`` and ``needs_review``
        (``{level: {point: value}}``) and ``method`` (e.g. a ``RefineResult``).
    levels : iterable of str, optional
        Levels to take from the proposal; default every level of it.
    keep_confirmed : bool, optional
        Keep the points the reader placed or confirmed (default). False replaces them
        too: the reader asked to refine their own rough points.
    method : str, optional
        Short name of the method recorded with each point (``"propagate"``, ``"refine"``,
        ``"centres"``); default derived from ``result.method``.

    Returns
    -------
    LandmarkSet
        ``ls`` with the proposed points added (or replacing unconfirmed ones) and the
        ``"assist"`` record updated.

    Raises
    ------
    ValueError
        If the proposal's scheme differs from the set's.
    """
    proposal: LandmarkSet = result.landmarks
    if ls.points and proposal.scheme != ls.scheme:
        raise ValueError(
            f"the proposal uses scheme {proposal.scheme!r} but the set uses {ls.scheme!r}"
        )
    full = str(getattr(result, "method", None) or method or "kyphoimg assist")
    short = method or _short_method(full)
    wanted = set(proposal.levels if levels is None else levels)
    done = confirmed(ls) if keep_confirmed else {}
    record = _record(ls)
    points = {lv: dict(pts) for lv, pts in ls.points.items()}
    confidence = getattr(result, "confidence", {}) or {}
    needs_review = getattr(result, "needs_review", {}) or {}
    for level, pts in proposal.points.items():
        if level not in wanted:
            continue
        for name, (r, c) in pts.items():
            if name in done.get(level, ()):
                continue
            points.setdefault(level, {})[name] = (r, c)
            record["confirmed"].get(level, {}).pop(name, None)
            record["proposed"].setdefault(level, {})[name] = [float(r), float(c)]
            record["methods"].setdefault(level, {})[name] = short
            conf = confidence.get(level, {}).get(name)
            if conf is not None:
                record["confidence"].setdefault(level, {})[name] = round(float(conf), 4)
            review = record["review"].setdefault(level, [])
            flagged = bool(needs_review.get(level, {}).get(name, False))
            if flagged and name not in review:
                review.append(name)
            elif not flagged and name in review:
                review.remove(name)
    record["method"] = full
    return _with_record(
        ls.replace(points=points, scheme=proposal.scheme if not ls.points else ls.scheme),
        record,
    )


def confirmed(ls: LandmarkSet) -> dict[str, tuple[str, ...]]:
    """Return the points of a set that a reader placed or confirmed, per level.

    Parameters
    ----------
    ls : LandmarkSet
        A set, possibly carrying the ``"assist"`` record.

    Returns
    -------
    dict
        ``{level: (point names, in the set's order)}``: every point not listed as
        proposed, or whose coordinates differ from the proposed ones. Levels without
        such points are left out.
    """
    proposed = _proposed(ls)
    out: dict[str, tuple[str, ...]] = {}
    for level, pts in ls.points.items():
        names = tuple(
            n
            for n, (r, c) in pts.items()
            if n not in proposed.get(level, {}) or _moved(proposed[level][n], (r, c))
        )
        if names:
            out[level] = names
    return out


def unconfirmed(ls: LandmarkSet) -> dict[str, tuple[str, ...]]:
    """Return the points of a set that kyphoimg proposed and no reader confirmed yet.

    Parameters
    ----------
    ls : LandmarkSet
        A set, possibly carrying the ``"assist"`` record.

    Returns
    -------
    dict
        ``{level: (point names)}``, the complement of :func:`confirmed` within the set.
    """
    done = confirmed(ls)
    out: dict[str, tuple[str, ...]] = {}
    for level, pts in ls.points.items():
        names = tuple(n for n in pts if n not in done.get(level, ()))
        if names:
            out[level] = names
    return out


def unconfirmed_levels(ls: LandmarkSet) -> tuple[str, ...]:
    """Return the levels holding at least one proposed point no reader confirmed.

    Parameters
    ----------
    ls : LandmarkSet
        A set, possibly carrying the ``"assist"`` record.

    Returns
    -------
    tuple of str
        Cranial to caudal; empty when every point is the reader's.
    """
    return tuple(unconfirmed(ls))


def point_sources(ls: LandmarkSet) -> dict[str, str]:
    """Return the source of each level's points: reader, confirmed or proposed, with the method.

    Parameters
    ----------
    ls : LandmarkSet
        A set, possibly carrying the ``"assist"`` record.

    Returns
    -------
    dict
        ``{level: source}`` for every level with points: ``"proposed:<method>"`` when some
        point is a proposal no reader confirmed; else ``"confirmed:<method>"`` when some
        point was proposed by that method and accepted by the reader as it was; else
        ``"reader"`` (the reader placed, or moved, every point). Several methods are
        ``+``-joined.
    """
    todo = unconfirmed(ls)
    rec = ls.extra.get(ASSIST_KEY)
    rec = rec if isinstance(rec, Mapping) else {}
    methods = rec.get("methods")
    methods = methods if isinstance(methods, Mapping) else {}
    fallback = _short_method(str(rec.get("method") or "assist"))
    accepted = _accepted(ls)
    out: dict[str, str] = {}
    for level in ls.points:
        if level in todo:
            per = methods.get(level)
            per = per if isinstance(per, Mapping) else {}
            names = sorted({str(per.get(n) or fallback) for n in todo[level]})
            out[level] = "proposed:" + "+".join(names)
        elif level in accepted:
            out[level] = "confirmed:" + "+".join(sorted(set(accepted[level].values())))
        else:
            out[level] = "reader"
    return out


def _accepted(ls: LandmarkSet) -> dict[str, dict[str, str]]:
    """``{level: {point: method}}`` of the proposals the reader accepted and has not moved since."""
    rec = ls.extra.get(ASSIST_KEY)
    part = rec.get("confirmed") if isinstance(rec, Mapping) else None
    if not isinstance(rec, Mapping) or not isinstance(part, Mapping):
        return {}
    fallback = _short_method(str(rec.get("method") or "assist"))
    out: dict[str, dict[str, str]] = {}
    for level, entries in part.items():
        pts = ls.points.get(level, {})
        if not isinstance(entries, Mapping):
            continue
        for name, entry in entries.items():
            if name not in pts:
                continue
            info = entry if isinstance(entry, Mapping) else {"method": entry}
            at = info.get("at")
            if at is not None and _moved(at, pts[name]):
                continue
            out.setdefault(level, {})[name] = str(info.get("method") or fallback)
    return out


def without_proposals(ls: LandmarkSet) -> tuple[LandmarkSet, list[LandmarkError]]:
    """Return the set without the vertebrae holding proposals no reader confirmed.

    This is the default of every consumer (``run``, ``features``, ``reliability``): a
    vertebra is measured only when all its points are the reader's.

    Parameters
    ----------
    ls : LandmarkSet
        A set, possibly carrying the ``"assist"`` record.

    Returns
    -------
    LandmarkSet
        The set with those vertebrae left out (the record is kept).
    list of LandmarkError
        One per vertebra left out, naming the file, the level, how many points and which
        method proposed them, and what to do.
    """
    todo = unconfirmed(ls)
    if not todo:
        return ls, []
    sources = point_sources(ls)
    notes = [
        LandmarkError(
            f"{len(names)} point(s) proposed by {sources[level].removeprefix('proposed:')} "
            "that no reader has confirmed; vertebra not measured: review it in kyphoimg "
            "view, or pass --accept-proposals to measure it unreviewed",
            file=ls.where,
            level=level,
        )
        for level, names in todo.items()
    ]
    kept = {level: pts for level, pts in ls.points.items() if level not in todo}
    return ls.replace(points=kept), notes


def confirm(
    ls: LandmarkSet, level: str | None = None, names: Iterable[str] | None = None
) -> LandmarkSet:
    """Record that the reader accepted proposed points as they are.

    Parameters
    ----------
    ls : LandmarkSet
        The set.
    level : str, optional
        The level; default every level.
    names : iterable of str, optional
        The points; default every point of the level(s).

    Returns
    -------
    LandmarkSet
        The set with those points moved in the record from ``proposed`` to ``confirmed``
        (the method that proposed each is kept there; a point the reader had moved is
        the reader's own and is simply dropped from the record).
    """
    record = _record(ls)
    fallback = _short_method(str(record.get("method") or "assist"))
    wanted = None if names is None else set(names)
    for lv in list(record["proposed"]):
        if level is not None and lv != level:
            continue
        for n in list(record["proposed"][lv]):
            if wanted is None or n in wanted:
                at = record["proposed"][lv].pop(n)
                method = record["methods"].get(lv, {}).pop(n, None) or fallback
                record["confidence"].get(lv, {}).pop(n, None)
                if n in record["review"].get(lv, []):
                    record["review"][lv].remove(n)
                here = ls.points.get(lv, {}).get(n)
                if here is not None and not _moved(at, here):
                    record["confirmed"].setdefault(lv, {})[n] = {
                        "method": str(method),
                        "at": [float(here[0]), float(here[1])],
                    }
    return _with_record(ls, record)


def _moved(a: Any, b: tuple[float, float]) -> bool:
    try:
        return abs(float(a[0]) - b[0]) > _SAME or abs(float(a[1]) - b[1]) > _SAME
    except (TypeError, ValueError, IndexError):
        return True  # an unusable record entry proposes nothing


def _proposed(ls: LandmarkSet) -> Mapping[str, Mapping[str, Any]]:
    rec = ls.extra.get(ASSIST_KEY)
    if not isinstance(rec, Mapping):
        return {}
    prop = rec.get("proposed")
    if not isinstance(prop, Mapping):
        return {}
    return {lv: v for lv, v in prop.items() if isinstance(v, Mapping)}


def _record(ls: LandmarkSet) -> dict[str, Any]:
    """Return a mutable copy of the set's record (empty parts created)."""
    rec = ls.extra.get(ASSIST_KEY)
    rec = dict(rec) if isinstance(rec, Mapping) else {}
    out: dict[str, Any] = {k: v for k, v in rec.items() if k not in _RECORD_PARTS}
    for key in ("proposed", "methods", "confidence", "confirmed"):
        part = rec.get(key)
        out[key] = (
            {lv: dict(v) for lv, v in part.items() if isinstance(v, Mapping)}
            if isinstance(part, Mapping)
            else {}
        )
    review = rec.get("review")
    out["review"] = {lv: list(v) for lv, v in review.items()} if isinstance(review, Mapping) else {}
    return out


def _with_record(ls: LandmarkSet, record: dict[str, Any]) -> LandmarkSet:
    """Store the record (pruned of empty levels) in ``extra``.

    The record is dropped when it neither proposes nor records a confirmed proposal;
    ``confirmed`` is written only when it holds something, and the other parts only while
    something is proposed (so a file written before ``confirmed`` existed reads the same).
    """
    for key in _RECORD_PARTS:
        record[key] = {lv: v for lv, v in record[key].items() if v}
    extra = {k: v for k, v in ls.extra.items() if k != ASSIST_KEY}
    if not record["confirmed"]:
        del record["confirmed"]
    if not record["proposed"]:
        for key in ("proposed", "methods", "confidence", "review"):
            del record[key]
    if any(key in record for key in _RECORD_PARTS):
        extra[ASSIST_KEY] = record
    return ls.replace(extra=extra)


def _settled(ls: LandmarkSet) -> LandmarkSet:
    """Drop the ``confirmed`` entries of points the reader moved or removed since accepting them.

    A set without such entries is returned as it is (its record untouched, byte for byte).
    """
    rec = ls.extra.get(ASSIST_KEY)
    part = rec.get("confirmed") if isinstance(rec, Mapping) else None
    if not isinstance(part, Mapping):
        return ls
    kept = _accepted(ls)
    if sum(len(v) for v in kept.values()) == sum(
        len(v) for v in part.values() if isinstance(v, Mapping)
    ):
        return ls
    record = _record(ls)
    record["confirmed"] = {
        lv: {n: e for n, e in record["confirmed"].get(lv, {}).items() if n in names}
        for lv, names in kept.items()
    }
    return _with_record(ls, record)


# ------------------------------------------------------------------------- integrity
def file_sha256(path: str | os.PathLike[str]) -> str | None:
    """Return the SHA-256 of a file's bytes on disk, or ``None`` when there is no file.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    str or None
        Lower-case hex digest; ``None`` when the path is not a file.
    """
    path = Path(path)
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


@dataclass(frozen=True)
class SaveOutcome:
    """What :func:`save_reading` did.

    Attributes
    ----------
    path : pathlib.Path
        Where the set was written: the file asked for, or a conflict copy beside it.
    conflict : str or None
        Why the set was written beside the file rather than over it (``None``: written
        over it, or as a new file).
    sha256 : str
        SHA-256 of the bytes written (pass it as ``loaded_sha256`` to the next save).
    """

    path: Path
    conflict: str | None
    sha256: str


@dataclass(frozen=True)
class RepairOutcome:
    """What :func:`repair_landmark_file` did.

    Attributes
    ----------
    landmarks : LandmarkSet or None
        Everything readable, carried over (``None`` when nothing could be salvaged; the
        file is then left as it was).
    backup : pathlib.Path
        The untouched original, copied byte for byte.
    carried : int
        Points kept.
    dropped : tuple of str
        What could not be kept, and why.
    sha256 : str or None
        SHA-256 of the repaired file written (``None`` when nothing was written).
    """

    landmarks: LandmarkSet | None
    backup: Path
    carried: int
    dropped: tuple[str, ...]
    sha256: str | None


def _utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _beside(path: Path, tag: str) -> Path:
    """Return a free name ``<file name>.<tag>`` (``-2``, ``-3`` ... appended when taken)."""
    candidate = path.with_name(f"{path.name}.{tag}")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{tag}-{n}")
        n += 1
    return candidate


def _write_json_bytes(ls: LandmarkSet, path: Path) -> str:
    """Write ``ls`` atomically and return the SHA-256 of the bytes written."""
    text = json.dumps(_as_dict(ls), indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(path, text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _create_json_bytes(ls: LandmarkSet, path: Path) -> str | None:
    """Create ``path`` holding ``ls`` only if no file is there: atomic and exclusive.

    The text goes to a temporary file first, which is then hard-linked to ``path``: the
    link fails when a file appeared meanwhile, so nothing is ever written over it (and a
    reader never sees a half-written file). Where the file system has no hard links,
    an exclusive open (``"x"``) is used instead.

    Returns
    -------
    str or None
        SHA-256 of the bytes written; ``None`` when a file was already there.
    """
    data = (json.dumps(_as_dict(ls), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return None
        except OSError:  # no hard links here (e.g. some network or FAT file systems)
            try:
                with open(path, "xb") as fh:
                    fh.write(data)
            except FileExistsError:
                return None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return hashlib.sha256(data).hexdigest()


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``folder`` (POSIX ``flock``) while inside.

    Every save of a reading takes it, so that a check of the file on disk and the write
    that follows it are one step for any other kyphoimg session saving in that folder:
    without it, two sessions that loaded the same file could both find it unchanged and
    the second rename would win. The lock is the folder's own (no lock file is left
    behind) and is released when the descriptor closes, also when the process dies.
    Where there is no ``flock`` (Windows) or the file system refuses it, the save goes
    on unlocked, as before.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - a folder that cannot be opened for reading
        yield
        return
    try:
        with suppress(OSError):  # e.g. a network file system without flock: unlocked
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def held_by_another(ls: LandmarkSet, rater: str | None) -> bool:
    """Return whether ``ls`` is another reader's reading, which ``rater`` may not change.

    A set with points that names a rater other than ``rater`` belongs to that rater: its
    file is never written by another reader (:func:`save_reading`) and is not
    ``rater``'s reading, whatever the file is called (:func:`kyphoimg.study.open_worklist`).
    A set without points (a time point only) or naming no rater may be taken over.

    Parameters
    ----------
    ls : LandmarkSet
        The set as read from its file.
    rater : str or None
        The reader (``None``: no reader named, nothing is anyone else's).

    Returns
    -------
    bool
    """
    return bool(ls.points) and bool(ls.rater) and bool(rater) and ls.rater != rater


def save_reading(
    ls: LandmarkSet, path: str | os.PathLike[str], *, loaded_sha256: str | None
) -> SaveOutcome:
    """Save a reader's landmark set without ever losing someone else's work.

    The set is written atomically over ``path`` only when the file on disk is the one
    the session loaded (same SHA-256) and does not hold another reader's points; when
    none was loaded, the file is created only if still absent (an exclusive create, so
    a file another session or ``kyphoimg assist`` starts meanwhile is never replaced).
    Otherwise nothing is overwritten: the set goes beside it as
    ``<file name>.conflict-<UTC yyyymmddTHHMMSSZ>[.<rater>]`` (a name the study scans
    ignore) and ``conflict`` says why. The check and the write hold a lock on the
    file's folder (POSIX ``flock``), so two sessions saving at the same moment are
    taken one after the other: the second finds the first one's file.

    Parameters
    ----------
    ls : LandmarkSet
        The reader's set (``updated`` is set to now).
    path : path-like
        The reader's landmark file.
    loaded_sha256 : str or None
        :func:`file_sha256` of the file when the session loaded it (``None``: there was
        no file).

    Returns
    -------
    SaveOutcome
        Where it was written, the conflict (if any) and the SHA-256 written.

    Raises
    ------
    LandmarkError
        If the file on disk cannot be read: it is left as it is; repair it first
        (:func:`repair_landmark_file`).
    """
    path = Path(path)
    ls = _settled(ls).replace(updated=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    with _folder_lock(path.parent):  # the check and the write are one step for others
        return _save_reading_locked(ls, path, loaded_sha256)


def _save_reading_locked(ls: LandmarkSet, path: Path, loaded_sha256: str | None) -> SaveOutcome:
    on_disk = file_sha256(path)
    conflict = None
    if on_disk is not None:
        try:
            disk = read_landmarks(path, validate=False)
        except LandmarkError as exc:
            raise LandmarkError(
                f"the file on disk cannot be read ({exc.message}); nothing was written: "
                "repair it first (kyphoimg view: Repair, or "
                "kyphoimg.landmarks.repair_landmark_file), which keeps the original as a backup",
                file=str(path),
            ) from None
        if on_disk != loaded_sha256:
            conflict = (
                "the file appeared on disk after this session opened the film"
                if loaded_sha256 is None
                else "the file was changed on disk after this session loaded it"
            ) + f" (rater {disk.rater or 'not named'}, updated {disk.updated or 'unknown'})"
        elif held_by_another(disk, ls.rater):
            conflict = f"the file holds rater {disk.rater}'s points; {ls.rater} cannot change them"
    if conflict is None and on_disk is None and loaded_sha256 is None:
        created = _create_json_bytes(ls, path)
        if created is not None:
            return SaveOutcome(path=path, conflict=None, sha256=created)
        conflict = "the file appeared on disk while this reading was being saved"
    if conflict is None:
        return SaveOutcome(path=path, conflict=None, sha256=_write_json_bytes(ls, path))
    tag = f"conflict-{_utc_stamp()}" + (f".{ls.rater}" if ls.rater else "")
    beside = _beside(path, tag)
    sha = _write_json_bytes(ls, beside)
    return SaveOutcome(
        path=beside,
        conflict=f"{path}: {conflict}; nothing was overwritten, this reading is in {beside.name}",
        sha256=sha,
    )


def _scan_json_cuts(text: str) -> list[tuple[int, str]]:
    """Places where a truncated JSON text can be cut and closed, with the closers needed.

    Returns ``(end, closers)`` pairs, last first: ``text[:end] + closers`` may parse.
    """
    cuts: list[tuple[int, str]] = []
    stack: list[str] = []
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
            cuts.append((i + 1, "".join(reversed(stack))))
        elif ch in "}]":
            if stack:
                stack.pop()
            cuts.append((i + 1, "".join(reversed(stack))))
        elif ch == ",":
            cuts.append((i, "".join(reversed(stack))))
    return cuts[::-1]


def _salvage_json(text: str) -> tuple[Any, list[str]]:
    """Parse ``text``, or the longest prefix of it that closes into JSON; say what was lost."""
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        first = exc
    for end, closers in _scan_json_cuts(text)[:5000]:
        try:
            data = json.loads(text[:end] + closers)
        except json.JSONDecodeError:
            continue
        return data, [
            f"the file is not valid JSON (line {first.lineno}, column {first.colno}: "
            f"{first.msg}): kept what comes before character {end}; anything after it is lost"
        ]
    return None, [f"not valid JSON and nothing could be salvaged ({first.msg})"]


def _salvage_points(raw: Any) -> tuple[dict[str, dict[str, list[float]]], list[str]]:
    """Keep every point with two finite numbers; name each one dropped and why."""
    points: dict[str, dict[str, list[float]]] = {}
    dropped: list[str] = []
    if not isinstance(raw, Mapping):
        return points, [] if raw is None else [f"points: not an object ({raw!r}); none kept"]
    for level, pts in raw.items():
        if not isinstance(pts, Mapping):
            dropped.append(f"level {level}: not an object of points ({pts!r})")
            continue
        for name, value in pts.items():
            try:
                r, c = _parse_point(value, "", str(level), str(name))
            except LandmarkError:
                dropped.append(
                    f"level {level} point {name}: coordinates {value!r} are not two numbers"
                )
                continue
            if not (math.isfinite(r) and math.isfinite(c)):
                dropped.append(f"level {level} point {name}: coordinates {value!r} are not finite")
                continue
            points.setdefault(str(level), {})[str(name)] = [r, c]
    return points, dropped


def _salvage_set(data: Mapping[str, Any], where: str) -> tuple[LandmarkSet | None, list[str]]:
    """Build the set from salvaged data, dropping the fields that keep it from being read."""
    d = dict(data)
    points, dropped = _salvage_points(d.get("points"))
    d["points"] = points
    if not str(d.get("schema", "")).startswith(_SCHEMA_PREFIX):
        d["schema"] = SCHEMA
    try:
        return landmarks_from_dict(d, source=where), dropped
    except LandmarkError as exc:
        first = exc
    for key in ("calibration", "findings", "index_levels", "image"):
        if key not in d:
            continue
        try:
            ls = landmarks_from_dict({k: v for k, v in d.items() if k != key}, source=where)
        except LandmarkError:
            continue
        return ls, [*dropped, f"{key}: {first.message}; left out"]
    return None, [*dropped, f"cannot be rebuilt: {first.message}"]


def repair_landmark_file(path: str | os.PathLike[str]) -> RepairOutcome:
    """Repair a landmark file that cannot be read, keeping the original and every readable point.

    The untouched original is first copied byte for byte to
    ``<file name>.bak-<UTC yyyymmddTHHMMSSZ>``. Then bytes that are not UTF-8 are decoded
    with replacement characters, a truncated JSON text is cut back to its last complete
    value and closed, and every point with two finite coordinates is kept; points with
    ``null`` or text coordinates, and fields that cannot be read, are dropped and named.
    The repaired set is written atomically in place of the file.

    Parameters
    ----------
    path : path-like
        A ``*.landmarks.json`` file.

    Returns
    -------
    RepairOutcome
        The repaired set, the backup, the points carried and those dropped.

    Raises
    ------
    LandmarkError
        If the file does not exist or cannot be read from disk at all.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LandmarkError(
            f"cannot read the file ({exc.strerror or exc}); nothing to repair", file=str(path)
        ) from None
    backup = _beside(path, f"bak-{_utc_stamp()}")
    shutil.copyfile(path, backup)
    dropped: list[str] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        dropped.append(
            f"{text.count(chr(0xFFFD))} byte sequence(s) that are not UTF-8 were replaced by "
            "U+FFFD in the text they stood in"
        )
    data, lost = _salvage_json(text.removeprefix("\ufeff"))
    dropped += lost
    ls = None
    if isinstance(data, Mapping):
        ls, more = _salvage_set(data, str(path))
        dropped += more
    elif data is not None:
        dropped.append("the top level is not a JSON object; nothing could be kept")
    if ls is None:
        return RepairOutcome(None, backup, 0, tuple(dropped), None)
    sha = _write_json_bytes(ls, path)
    carried = sum(len(p) for p in ls.points.values())
    return RepairOutcome(ls, backup, carried, tuple(dropped), sha)
