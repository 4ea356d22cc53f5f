"""Pure functions and small state objects behind the widgets: no napari, no Qt.

A landmark points layer holds one landmark per row: ``data`` is ``(row, col)`` in image
pixels (the layer carries the image's ``scale``, so world coordinates are millimetres
when the image is calibrated), and ``features`` has two categorical columns, ``level``
(:data:`kyphoimg.LEVELS`) and ``point`` (:data:`POINT_NAMES`). Everything else a
landmark file holds (scheme, calibration, image reference, index levels, rater,
findings) travels in the layer's ``metadata["kyphoimg"]`` as a plain, JSON-like
dictionary (:func:`header_to_meta`), so napari can copy and duplicate layers freely.

The measuring is kyphoimg's: :func:`layer_points` only rearranges the layer's arrays into
levels and points, which :func:`film_measures` measures with :func:`kyphoimg.measure_vertebrae`
(the live path, no pandas) and :func:`film_measures_table` with
:func:`kyphoimg.measure_points` (the full table; :func:`points_frame_from_layer` gives its
points frame).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kyphoimg import (
    Calibration,
    KyphoimgError,
    LandmarkError,
    LandmarkSet,
    features_table,
    images_table,
    measures_table,
)
from kyphoimg.landmarks import FINDINGS, LATERAL_SCHEMES, LEVELS, SCHEMES, ImageRef, scheme_points
from kyphoimg.measure import measure_points, measure_vertebrae

__all__ = [
    "FINDING_LABELS",
    "LANDMARK_SUFFIX",
    "LEVEL_COLORS",
    "POINT_LABELS",
    "POINT_NAMES",
    "PlacementGuide",
    "UndoStack",
    "calibration_from_line",
    "calibration_status",
    "check_same_image",
    "derived_table",
    "describe_point",
    "display_rows",
    "display_table",
    "empty_features",
    "feature_defaults",
    "features_frame",
    "film_measures",
    "film_measures_table",
    "header_from_meta",
    "header_to_meta",
    "landmark_path_for",
    "landmarks_to_layer",
    "layer_points",
    "layer_to_landmarks",
    "level_range",
    "measure_layer",
    "overlay_vectors",
    "placement_plan",
    "point_label",
    "point_labels",
    "points_frame_from_layer",
    "relative_image_path",
    "rows_labelled",
    "table_tsv",
    "timepoint_matrix",
    "timepoint_tables",
    "whole_film_angles",
]

#: Every point name of every scheme, in scheme order (the ``point`` categories).
POINT_NAMES: tuple[str, ...] = tuple(dict.fromkeys(n for ns in SCHEMES.values() for n in ns))

#: What the guide calls each point.
POINT_LABELS: dict[str, str] = {
    "ant_sup": "anterior superior corner",
    "mid_sup": "superior endplate midpoint",
    "post_sup": "posterior superior corner",
    "ant_inf": "anterior inferior corner",
    "mid_inf": "inferior endplate midpoint",
    "post_inf": "posterior inferior corner",
    "left_sup": "left superior corner",
    "right_sup": "right superior corner",
    "left_inf": "left inferior corner",
    "right_inf": "right inferior corner",
}

#: Reader findings and the words the widget shows for their values.
FINDING_LABELS: dict[str, str] = {
    "ivc": "IVC",
    "npec": "NPEC",
    "cement_leakage": "Cement leakage",
    "genant_visual": "Genant (visual)",
}

# Eight colours that stay distinct on a grey film; adjacent levels never share one.
_PALETTE = (
    "#ff9f1c",
    "#4cc9f0",
    "#80ed99",
    "#ffd60a",
    "#f72585",
    "#b388ff",
    "#ff6b6b",
    "#2ec4b6",
)
#: Fixed colour of each level (points and endplate lines).
LEVEL_COLORS: dict[str, str] = {lv: _PALETTE[i % len(_PALETTE)] for i, lv in enumerate(LEVELS)}

#: Suffix of a landmark file beside its image (DESIGN.md).
LANDMARK_SUFFIX = ".landmarks.json"
_DICOM_SUFFIXES = (".dcm", ".dicom", ".dic", ".ima")

_LATERAL_POINTS: tuple[str, ...] = SCHEMES["6pt"]
_LEVEL_CODE = {lv: i for i, lv in enumerate(LEVELS)}
_POINT_CODE = {p: i for i, p in enumerate(POINT_NAMES)}
_LEVEL_CATEGORIES = list(LEVELS)
_POINT_CATEGORIES = list(POINT_NAMES)
# Position of each point category among the lateral points (-1 for ap4 names).
_LATERAL_POS = np.array(
    [_LATERAL_POINTS.index(p) if p in _LATERAL_POINTS else -1 for p in POINT_NAMES]
)


# ----------------------------------------------------------------------------- levels, plan
def level_range(first: str, last: str) -> tuple[str, ...]:
    """Return the levels from ``first`` to ``last`` inclusive, cranial to caudal.

    Raises
    ------
    ValueError
        If a level is unknown or ``first`` lies caudal to ``last``.

    Examples
    --------
    >>> level_range("T11", "L1")
    ('T11', 'T12', 'L1')
    """
    for lv in (first, last):
        if lv not in _LEVEL_CODE:
            raise ValueError(f"unknown level {lv!r}; levels are C2-C7, T1-T12, L1-L5, S1")
    i, j = _LEVEL_CODE[first], _LEVEL_CODE[last]
    if i > j:
        raise ValueError(f"first level {first} lies below last level {last}; swap them")
    return LEVELS[i : j + 1]


def placement_plan(levels: Iterable[str], scheme: str) -> tuple[tuple[str, str], ...]:
    """Return the ``(level, point)`` pairs to place, in guided order.

    Levels go cranial to caudal; within a vertebra the scheme's order (superior endplate
    anterior to posterior, then the inferior one). S1 takes its superior endplate only.

    Examples
    --------
    >>> placement_plan(["L5", "S1"], "4pt")[-3:]
    (('L5', 'post_inf'), ('S1', 'ant_sup'), ('S1', 'post_sup'))
    """
    ordered = sorted(set(levels), key=_LEVEL_CODE.__getitem__)
    return tuple((lv, p) for lv in ordered for p in scheme_points(scheme, lv))


def describe_point(level: str, point: str) -> str:
    """Name a landmark for the guide: ``"L1 · anterior superior corner"``."""
    return f"{level} · {POINT_LABELS.get(point, point)}"


@dataclass
class PlacementGuide:
    """Which landmark the next click places.

    Parameters
    ----------
    plan : tuple of (level, point)
        From :func:`placement_plan`.
    cursor : int
        Index of the current target in ``plan``; ``-1`` when every point is placed.
    """

    plan: tuple[tuple[str, str], ...]
    cursor: int = 0

    @property
    def target(self) -> tuple[str, str] | None:
        """The ``(level, point)`` the next click places, or None when done."""
        if not self.plan or not 0 <= self.cursor < len(self.plan):
            return None
        return self.plan[self.cursor]

    def first_missing(self, placed: Iterable[tuple[str, str]], start: int = 0) -> int:
        """Return the first planned index not in ``placed`` from ``start`` (wrapping), or -1."""
        done = set(placed)
        n = len(self.plan)
        for k in range(n):
            i = (start + k) % n
            if self.plan[i] not in done:
                return i
        return -1

    def advance(self, placed: Iterable[tuple[str, str]]) -> None:
        """Move to the next missing point after the current target (after a placement)."""
        start = self.cursor + 1 if self.cursor >= 0 else 0
        self.cursor = self.first_missing(placed, start) if self.plan else -1

    def step(self, delta: int) -> None:
        """Move ``delta`` places along the plan (wrapping), placed or not: to re-place."""
        if not self.plan:
            return
        base = self.cursor if self.cursor >= 0 else (-1 if delta > 0 else 0)
        self.cursor = (base + delta) % len(self.plan)

    def go_to(self, level: str, point: str) -> bool:
        """Make ``(level, point)`` the target; False when it is not in the plan."""
        try:
            self.cursor = self.plan.index((level, point))
        except ValueError:
            return False
        return True

    def progress(self, placed: Iterable[tuple[str, str]]) -> tuple[int, int]:
        """Return ``(placed, planned)`` counts over the plan."""
        done = set(placed)
        return sum(p in done for p in self.plan), len(self.plan)


@dataclass
class UndoStack:
    """Snapshots of a layer's ``(data, features)`` for undo.

    :meth:`push` records the state *after* each change; :meth:`undo` drops the latest
    and returns the one before it.
    """

    limit: int = 200
    _states: list[tuple[np.ndarray, pd.DataFrame]] = field(default_factory=list)

    def reset(self, data: np.ndarray, features: pd.DataFrame) -> None:
        """Forget the history; ``(data, features)`` becomes the base state."""
        self._states = [(np.array(data, copy=True), features.copy())]

    def push(self, data: np.ndarray, features: pd.DataFrame) -> None:
        """Record the state after a change (ignored when nothing changed)."""
        if self._states:
            last_data, last_feat = self._states[-1]
            if (
                last_data.shape == np.shape(data)
                and np.array_equal(last_data, data, equal_nan=True)
                and last_feat.equals(features)
            ):
                return
        self._states.append((np.array(data, copy=True), features.copy()))
        if len(self._states) > self.limit:
            del self._states[0]

    @property
    def can_undo(self) -> bool:
        """Whether there is a change to undo."""
        return len(self._states) > 1

    def undo(self) -> tuple[np.ndarray, pd.DataFrame] | None:
        """Drop the latest state and return the previous one, or None."""
        if not self.can_undo:
            return None
        self._states.pop()
        data, feat = self._states[-1]
        return np.array(data, copy=True), feat.copy()


# ----------------------------------------------------------------------------- layer <-> set
#: The point of each vertebra that carries the level's name on the canvas.
LABELLED_POINTS = ("ant_sup", "left_sup")


def point_label(level: Any, point: Any) -> str:
    """Return the canvas text of a landmark: the level on its labelled corner, else empty."""
    return str(level) if point in LABELLED_POINTS and isinstance(level, str) else ""


def features_frame(levels: Sequence[Any], points: Sequence[Any]) -> pd.DataFrame:
    """Return the features of a landmark layer.

    ``level`` and ``point`` are categoricals with fixed categories (:data:`LEVELS`,
    :data:`POINT_NAMES`); ``label`` is the canvas text (:func:`point_label`).
    """
    levels, points = list(levels), list(points)
    return pd.DataFrame(
        {
            "level": pd.Categorical(levels, categories=LEVELS),
            "point": pd.Categorical(points, categories=POINT_NAMES),
            "label": pd.Series(
                [point_label(lv, p) for lv, p in zip(levels, points, strict=True)], dtype=object
            ),
        }
    )


def feature_defaults(level: str, point: str) -> dict[str, str]:
    """Return the feature defaults that label the next click as ``(level, point)``."""
    return {"level": level, "point": point, "label": point_label(level, point)}


def empty_features() -> pd.DataFrame:
    """Return zero-row landmark features with their categories."""
    return features_frame([], [])


def _xy(data: Any, n: int) -> np.ndarray:
    """Return the ``(row, col)`` columns of ``n`` points (the last two of nD data)."""
    if n == 0:
        return np.empty((0, 2))
    return np.asarray(data, dtype=float).reshape(n, -1)[:, -2:]


def _codes(features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return the level and point codes of a features frame (-1 where unknown or missing)."""
    out = []
    for col, cats in (("level", _LEVEL_CATEGORIES), ("point", _POINT_CATEGORIES)):
        values = features[col] if col in features else pd.Series([None] * len(features))
        dtype = values.dtype
        # Run on every live refresh: the categorical is compared and read directly (through
        # the .cat accessor and Index.equals this costs several times more).
        if isinstance(dtype, pd.CategoricalDtype) and dtype.categories.tolist() == cats:
            out.append(np.asarray(values.array.codes))
        else:
            out.append(pd.Categorical(values.astype(object), categories=cats).codes)
    return out[0], out[1]


def point_labels(
    features: pd.DataFrame, indices: Iterable[int] | None = None
) -> list[tuple[str, str]]:
    """Return the ``(level, point)`` of the given rows (all rows by default), skipping unlabelled.

    Examples
    --------
    >>> point_labels(features_frame(["L1", "L2"], ["ant_sup", "post_inf"]))
    [('L1', 'ant_sup'), ('L2', 'post_inf')]
    """
    lv, pt = _codes(features)
    rows = range(len(lv)) if indices is None else indices
    return [(LEVELS[lv[i]], POINT_NAMES[pt[i]]) for i in rows if lv[i] >= 0 and pt[i] >= 0]


def rows_labelled(features: pd.DataFrame, level: str, point: str) -> list[int]:
    """Return the rows of a landmark layer labelled ``(level, point)``."""
    lv, pt = _codes(features)
    hit = (lv == _LEVEL_CODE.get(level, -2)) & (pt == _POINT_CODE.get(point, -2))
    return np.flatnonzero(hit).tolist()


def layer_to_landmarks(
    data: np.ndarray, features: pd.DataFrame, header: LandmarkSet
) -> LandmarkSet:
    """Build a landmark set from a points layer's arrays.

    Parameters
    ----------
    data : ndarray, shape (N, 2)
        ``(row, col)`` in pixels (extra leading dimensions are ignored).
    features : pandas.DataFrame
        ``level`` and ``point`` per row; rows lacking either are skipped.
    header : LandmarkSet
        Supplies everything but the points (see :func:`header_from_meta`).

    Returns
    -------
    LandmarkSet
        ``header`` with the layer's points; a landmark placed twice keeps its last row.
    """
    data = _xy(data, len(features))
    lv, pt = _codes(features)
    points: dict[str, dict[str, tuple[float, float]]] = {}
    for (r, c), i, j in zip(data, lv, pt, strict=True):
        if i < 0 or j < 0:
            continue
        points.setdefault(LEVELS[i], {})[POINT_NAMES[j]] = (float(r), float(c))
    return header.replace(points=points)


def landmarks_to_layer(ls: LandmarkSet) -> tuple[np.ndarray, pd.DataFrame]:
    """Return ``(data, features)`` of a landmark layer holding ``ls``'s points."""
    rows = [(lv, p, rc) for lv, pts in ls.points.items() for p, rc in pts.items()]
    data = np.array([rc for *_, rc in rows], dtype=float).reshape(-1, 2)
    return data, features_frame([r[0] for r in rows], [r[1] for r in rows])


def header_to_meta(ls: LandmarkSet) -> dict[str, Any]:
    """Return a landmark set's header (all but points) as a plain dictionary.

    The dictionary deep-copies cleanly (napari copies layer metadata) and is turned back
    into a :class:`~kyphoimg.LandmarkSet` by :func:`header_from_meta`.
    """
    return {
        "scheme": ls.scheme,
        "patient_id": ls.patient_id,
        "timepoint": ls.timepoint,
        "image": {
            "path": ls.image.path,
            "sop_instance_uid": ls.image.sop_instance_uid,
            "rows": ls.image.rows,
            "columns": ls.image.columns,
            "extra": dict(ls.image.extra),
        },
        "calibration": ls.calibration.to_dict(),
        "calibration_extra": dict(ls.calibration_extra),
        "index_levels": list(ls.index_levels),
        "rater": ls.rater,
        "findings": {k: dict(v) for k, v in ls.findings.items()},
        "extra": dict(ls.extra),
    }


def header_from_meta(meta: Mapping[str, Any]) -> LandmarkSet:
    """Return the point-less :class:`~kyphoimg.LandmarkSet` a header dictionary describes."""
    img = dict(meta.get("image") or {})
    return LandmarkSet(
        points={},
        scheme=str(meta.get("scheme") or "6pt"),
        patient_id=meta.get("patient_id"),
        timepoint=meta.get("timepoint"),
        image=ImageRef(
            path=img.get("path"),
            sop_instance_uid=img.get("sop_instance_uid"),
            rows=img.get("rows"),
            columns=img.get("columns"),
            extra=dict(img.get("extra") or {}),
        ),
        calibration=Calibration.from_dict(meta.get("calibration")),
        index_levels=tuple(meta.get("index_levels") or ()),
        rater=meta.get("rater"),
        findings={k: dict(v) for k, v in (meta.get("findings") or {}).items()},
        extra=dict(meta.get("extra") or {}),
        calibration_extra=dict(meta.get("calibration_extra") or {}),
    )


# ----------------------------------------------------------------------------- measuring
def layer_points(
    data: np.ndarray, features: pd.DataFrame, header: LandmarkSet
) -> tuple[list[str], np.ndarray]:
    """Rearrange a landmark layer into levels and their lateral points, as kyphoimg measures them.

    Vectorized: one entry per level present, cranial to caudal; ``ap4`` layers give none.
    A landmark placed twice keeps its last row.

    Parameters
    ----------
    data : ndarray, shape (N, 2)
        ``(row, col)`` in pixels.
    features : pandas.DataFrame
        ``level`` and ``point`` per row.
    header : LandmarkSet
        Supplies the scheme.

    Returns
    -------
    levels : list of str
        The levels present.
    points : ndarray, shape (len(levels), 6, 2)
        ``(row, col)`` of each level's ``ant_sup``, ``mid_sup``, ``post_sup``, ``ant_inf``,
        ``mid_inf`` and ``post_inf`` (``kyphoimg.SCHEMES["6pt"]`` order), NaN where absent:
        the input of :func:`kyphoimg.measure_vertebrae`.
    """
    xy = _xy(data, len(features))
    lv, pt = _codes(features)
    pos = np.where(pt >= 0, _LATERAL_POS[np.maximum(pt, 0)], -1)
    ok = (lv >= 0) & (pos >= 0) & np.isfinite(xy).all(axis=1)
    if header.scheme not in LATERAL_SCHEMES:
        ok[:] = False
    present = np.unique(lv[ok])
    points = np.full((len(present), len(_LATERAL_POINTS), 2), np.nan)
    points[np.searchsorted(present, lv[ok]), pos[ok]] = xy[ok]
    return [LEVELS[i] for i in present], points


def points_frame_from_layer(
    data: np.ndarray, features: pd.DataFrame, header: LandmarkSet
) -> pd.DataFrame:
    """Rearrange a landmark layer into the points frame of :func:`kyphoimg.measure_points`.

    Vectorized: one row per level present, cranial to caudal, with the lateral points'
    ``<point>_row``/``<point>_col`` (NaN where absent), the calibration, the index flag and
    the reader findings from ``header``. Equivalent to
    ``kyphoimg.points_frame([layer_to_landmarks(data, features, header)])`` for lateral
    schemes; ``ap4`` layers give zero rows.

    Parameters
    ----------
    data : ndarray, shape (N, 2)
        ``(row, col)`` in pixels.
    features : pandas.DataFrame
        ``level`` and ``point`` per row.
    header : LandmarkSet
        Scheme, calibration, image key, index levels and findings.

    Returns
    -------
    pandas.DataFrame
    """
    levels, points = layer_points(data, features, header)
    return _points_frame(levels, points, header)


def _points_frame(levels: list[str], points: np.ndarray, header: LandmarkSet) -> pd.DataFrame:
    """Build the points frame of :func:`layer_points`' output."""
    n = len(levels)
    coords = points.reshape(n, 2 * len(_LATERAL_POINTS))
    cal = header.calibration
    # Constant columns as one-category categoricals and text as object: kyphoimg's
    # engine then groups and copies them without string conversions (a few ms a refresh).
    out: dict[str, Any] = {
        "patient_id": _constant(header.patient_id, n),
        "timepoint": _constant(header.timepoint, n),
        "image": _constant(header.image.path, n),
        "rater": _constant(header.rater, n),
        "level": pd.Series(levels, dtype=object),
        "scheme": _constant(header.scheme, n),
        "spacing_source": _constant(cal.source, n),
        "row_mm": np.full(n, cal.row_mm, dtype=float),
        "col_mm": np.full(n, cal.col_mm, dtype=float),
        "is_index": np.isin(levels, list(header.index_levels)) if n else np.zeros(0, bool),
    }
    for k, name in enumerate(_LATERAL_POINTS):
        out[f"{name}_row"] = coords[:, 2 * k]
        out[f"{name}_col"] = coords[:, 2 * k + 1]
    for key in FINDINGS:
        out[key] = pd.Series(
            [header.findings.get(lvl, {}).get(key) for lvl in levels], dtype=object
        )
    return pd.DataFrame(out)


def _constant(value: str | None, n: int) -> pd.Categorical:
    """``n`` copies of one value (missing when None) as a categorical."""
    if value is None:
        return pd.Categorical.from_codes(np.full(n, -1), categories=pd.Index([], dtype=object))
    return pd.Categorical.from_codes(
        np.zeros(n, dtype=np.int64), categories=pd.Index([value], dtype=object)
    )


def measure_layer(data: np.ndarray, features: pd.DataFrame, header: LandmarkSet) -> pd.DataFrame:
    """Measure a landmark layer with :func:`kyphoimg.measure_points` (one row per level)."""
    return film_measures_table(*layer_points(data, features, header), header)


def film_measures_table(levels: list[str], points: np.ndarray, header: LandmarkSet) -> pd.DataFrame:
    """Return the measures table of :func:`layer_points`' output (:func:`kyphoimg.measure_points`).

    All of kyphoimg's columns, the image key and findings from ``header``.
    """
    return measure_points(_points_frame(levels, points, header))


def film_measures(
    levels: list[str], points: np.ndarray, header: LandmarkSet
) -> dict[str, np.ndarray]:
    """Measure :func:`layer_points`' output with :func:`kyphoimg.measure_vertebrae`, without pandas.

    The live path of the Measurements widget: the per-vertebra columns of
    :func:`film_measures_table` (same values), as arrays.

    Parameters
    ----------
    levels, points
        From :func:`layer_points`.
    header : LandmarkSet
        Scheme, calibration and index levels.

    Returns
    -------
    dict of str to ndarray
        The columns :data:`kyphoimg.measure.VERTEBRA_COLUMNS`.
    """
    # ap4 layers have no lateral levels: measure zero rows as a lateral film.
    scheme = header.scheme if header.scheme in LATERAL_SCHEMES else "6pt"
    return measure_vertebrae(
        levels,
        points,
        header.calibration,
        scheme=scheme,
        index_levels=header.index_levels,
    )


_DISPLAY = (
    # (header, measures column, unit or None for heights, decimals)
    ("Ha", "ha", None, 1),
    ("Hm", "hm", None, 1),
    ("Hp", "hp", None, 1),
    ("AHR %", "ahr_pct", "", 1),
    ("Compr. %", "compression_pct", "", 1),
    ("Wedge °", "wedge_angle_deg", "", 1),
    ("KA °", "ka_deg", "", 1),
)


def _fmt(values: np.ndarray, decimals: int) -> list[str]:
    """Fixed-decimal text, empty for NaN, never ``-0.0``."""
    out = []
    for v in values.tolist():
        if not math.isfinite(v):
            out.append("")
            continue
        text = f"{v:.{decimals}f}"
        out.append(text[1:] if text.startswith("-") and float(text) == 0 else text)
    return out


def _display_columns(measures: Mapping[str, Any]) -> dict[str, list[str]]:
    """Return the text columns of :func:`display_table`."""
    level = np.asarray(measures["level"], dtype=object)
    has_mm = bool(len(level)) and bool(np.isfinite(np.asarray(measures["row_mm"], float)).any())
    unit = "mm" if has_mm else "px"
    is_index = np.asarray(measures["is_index"], dtype=bool)
    out: dict[str, list[str]] = {
        "Level": [
            f"{lv} *" if ix else str(lv) for lv, ix in zip(level.tolist(), is_index, strict=True)
        ]
    }
    for head, col, kind, dec in _DISPLAY:
        if kind is None:
            out[f"{head} ({unit})"] = _fmt(np.asarray(measures[f"{col}_{unit}"], float), dec)
        else:
            out[head] = _fmt(np.asarray(measures[col], float), dec)
    grades = np.asarray(measures["genant_grade"], float).tolist()
    kinds = np.asarray(measures["genant_type"], dtype=object).tolist()
    out["Genant"] = [
        "" if not math.isfinite(g) else (f"{g:.0f}" if g == 0 else f"{g:.0f} {k}")
        for g, k in zip(grades, kinds, strict=True)
    ]
    out["Status"] = [str(s) for s in np.asarray(measures["status"], dtype=object).tolist()]
    return out


def display_rows(measures: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Format one image's measures for the widget's table, without building a frame.

    Parameters
    ----------
    measures : pandas.DataFrame or mapping of str to array-like
        From :func:`measure_layer`, or :func:`film_measures`' arrays.

    Returns
    -------
    columns : list of str
        The headers of :func:`display_table`.
    rows : list of list of str
        The cells of :func:`display_table`, one list per vertebra.
    """
    cols = _display_columns(measures)
    return list(cols), [list(row) for row in zip(*cols.values(), strict=True)]


def display_table(measures: Mapping[str, Any]) -> pd.DataFrame:
    """Format a measures table for the widget: text cells, units in the headers.

    Heights are in mm when the row's calibration has millimetres, else in pixels (the
    header says which). Index levels are marked ``*``. Genant shows grade and type.

    Parameters
    ----------
    measures : pandas.DataFrame or mapping of str to array-like
        From :func:`measure_layer` (one image), or :func:`film_measures`' arrays.

    Returns
    -------
    pandas.DataFrame
        Columns ``Level``, ``Ha (mm|px)``, ``Hm``, ``Hp``, ``AHR %``, ``Compr. %``,
        ``Wedge °``, ``KA °``, ``Genant``, ``Status``; all strings.
    """
    return pd.DataFrame(_display_columns(measures))


def table_tsv(table: pd.DataFrame) -> str:
    """Return a table as tab-separated text with a header line (for the clipboard)."""
    lines = ["\t".join(map(str, table.columns))]
    lines += [
        "\t".join(
            "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in row
        )
        for row in table.itertuples(index=False)
    ]
    return "\n".join(lines) + "\n"


def whole_film_angles(ls: LandmarkSet) -> str:
    """Return one line of the whole-film angles kyphoimg finds (TK, TLK, LL, coronal Cobb)."""
    row = images_table([ls]).iloc[0]
    names = {
        "tk_deg": "TK",
        "tlk_deg": "TLK",
        "ll_deg": "LL",
        "cobb_pt_deg": "Cobb PT",
        "cobb_mt_deg": "Cobb MT",
        "cobb_tl_deg": "Cobb TL",
    }
    parts = [
        f"{label} {float(row[col]):.1f}°"
        for col, label in names.items()
        if col in row and pd.notna(row[col])
    ]
    return "  ".join(parts)


# ----------------------------------------------------------------------------- calibration
_SOURCE_TEXT = {
    "user": "user calibration (line of known length)",
    "pixel_spacing": "Pixel Spacing, patient plane",
    "ermf": "Imager Pixel Spacing / ERMF (estimated patient plane)",
    "detector": "Imager Pixel Spacing (detector plane)",
    "unknown_origin": "spacing of unknown origin",
    "none": "no spacing",
}


def calibration_status(cal: Calibration) -> tuple[str, str | None]:
    """Describe a calibration for the widgets: a summary line and a warning (or None).

    Examples
    --------
    >>> calibration_status(Calibration(0.15, 0.15, "pixel_spacing"))[0]
    'Heights in mm · 0.1500 × 0.1500 mm/px · source pixel_spacing (Pixel Spacing, patient plane)'
    """
    text = _SOURCE_TEXT.get(cal.source, cal.source)
    if not cal.has_mm:
        return (
            "Heights in pixels · source none (no spacing)",
            "No pixel spacing: heights are in pixels and the mm columns are empty; ratios "
            "and angles are valid. Use Calibrate with an object of known size for mm.",
        )
    summary = (
        f"Heights in mm · {cal.row_mm:.4f} × {cal.col_mm:.4f} mm/px · source {cal.source} ({text})"
    )
    if cal.source == "detector":
        return summary, (
            "Detector-plane spacing: millimetres are measured at the detector and overstate "
            "the anatomy by the radiographic magnification (often 5-40 %). Ratios and "
            "angles are unaffected; calibrate for patient-plane mm."
        )
    if cal.source == "unknown_origin":
        return summary, (
            "Spacing of unknown origin (Pixel Spacing without Imager Pixel Spacing, or a "
            "digitised film): the plane the millimetres refer to is not known."
        )
    return summary, None


def calibration_from_line(line: np.ndarray, length_mm: float, current: Calibration) -> Calibration:
    """Calibrate from a drawn line, keeping the pixel aspect of the current calibration.

    Parameters
    ----------
    line : ndarray, shape (2, 2)
        The line's end points, ``(row, col)`` in pixels.
    length_mm : float
        True length of the object under the line.
    current : Calibration
        The image's calibration so far; its ``row_mm / col_mm`` aspect is kept (square
        pixels when it has none).

    Returns
    -------
    Calibration
        With ``source="user"``.

    Raises
    ------
    CalibrationError
        If the line has no length or ``length_mm`` is not positive.
    """
    pts = np.asarray(line, dtype=float).reshape(-1, np.shape(line)[-1])[:, -2:]
    aspect = current.row_mm / current.col_mm if current.has_mm else 1.0
    return Calibration.from_user(pts[0], pts[-1], length_mm, pixel_aspect=aspect)


# ----------------------------------------------------------------------------- overlay
def overlay_vectors(
    data: np.ndarray, features: pd.DataFrame, scheme: str
) -> tuple[np.ndarray, list[str], list[str]]:
    """Endplate lines and height segments of a landmark layer, as napari vectors.

    Parameters
    ----------
    data : ndarray, shape (N, 2)
        ``(row, col)`` in pixels.
    features : pandas.DataFrame
        ``level`` and ``point`` per row.
    scheme : str
        ``6pt``/``4pt``: superior and inferior endplate lines (anterior to posterior
        corner) and the anterior, middle and posterior heights; ``ap4``: the endplates.

    Returns
    -------
    vectors : ndarray, shape (M, 2, 2)
        napari ``Vectors`` data: ``[start, end - start]`` per segment, in pixels.
    levels : list of str
        Level of each segment.
    kinds : list of str
        ``"endplate"`` or ``"height"``.
    """
    xy = _xy(data, len(features))
    lv, pt = _codes(features)
    ok = (lv >= 0) & (pt >= 0)
    present = np.unique(lv[ok])
    table = np.full((len(present), len(POINT_NAMES), 2), np.nan)
    table[np.searchsorted(present, lv[ok]), pt[ok]] = xy[ok]
    if scheme == "ap4":
        pairs = [("left_sup", "right_sup", "endplate"), ("left_inf", "right_inf", "endplate")]
    else:
        pairs = [
            ("ant_sup", "post_sup", "endplate"),
            ("ant_inf", "post_inf", "endplate"),
            ("ant_sup", "ant_inf", "height"),
            ("mid_sup", "mid_inf", "height"),
            ("post_sup", "post_inf", "height"),
        ]
    starts, ends, levels, kinds = [], [], [], []
    for a, b, kind in pairs:
        p, q = table[:, _POINT_CODE[a]], table[:, _POINT_CODE[b]]
        good = np.isfinite(p).all(axis=1) & np.isfinite(q).all(axis=1)
        starts.append(p[good])
        ends.append(q[good])
        levels += [LEVELS[i] for i in present[good]]
        kinds += [kind] * int(good.sum())
    start = np.concatenate(starts) if starts else np.empty((0, 2))
    end = np.concatenate(ends) if ends else np.empty((0, 2))
    return np.stack([start, end - start], axis=1), levels, kinds


# ----------------------------------------------------------------------------- files
def landmark_path_for(
    image_path: str | os.PathLike[str], folder: str | os.PathLike[str] | None = None
) -> Path:
    """Return where an image's landmark file goes: ``<name>.landmarks.json``.

    The DICOM suffix (``.dcm``, ``.dicom``, ``.dic``, ``.ima``) is dropped; other names
    are kept whole, so ``1.2.840.1`` and ``1.2.840.2`` never share a file.

    Parameters
    ----------
    image_path : path-like
        The image file.
    folder : path-like, optional
        Save there instead of beside the image.

    Examples
    --------
    >>> landmark_path_for("P001/pre.dcm").as_posix()
    'P001/pre.landmarks.json'
    >>> landmark_path_for("P001/1.2.840.5", "out").as_posix()
    'out/1.2.840.5.landmarks.json'
    """
    p = Path(image_path)
    stem = p.stem if p.suffix.lower() in _DICOM_SUFFIXES else p.name
    return Path(folder if folder is not None else p.parent) / f"{stem}{LANDMARK_SUFFIX}"


def relative_image_path(
    image_path: str | os.PathLike[str], landmark_path: str | os.PathLike[str]
) -> str:
    """Return the image path relative to the landmark file's folder, POSIX style."""
    return Path(
        os.path.relpath(Path(image_path).resolve(), Path(landmark_path).resolve().parent)
    ).as_posix()


def check_same_image(
    ls: LandmarkSet,
    *,
    sop_instance_uid: str | None,
    rows: int | None = None,
    columns: int | None = None,
) -> None:
    """Refuse a landmark set saved for another image.

    Raises
    ------
    LandmarkError
        If the set's SOP Instance UID differs from the image's, or (when either UID is
        unknown) the image sizes differ.
    """
    uid = ls.image.sop_instance_uid
    if uid and sop_instance_uid and uid != sop_instance_uid:
        raise LandmarkError(
            f"these landmarks were placed on another image (SOP Instance UID {uid}); "
            f"this film is {sop_instance_uid}. Open the film they belong to, or start a new "
            "landmark set for this one",
            file=ls.where,
        )
    size, img = (ls.image.rows, ls.image.columns), (rows, columns)
    if None not in size and None not in img and size != img:
        raise LandmarkError(
            f"these landmarks were placed on a {size[0]}x{size[1]} image; this film is "
            f"{img[0]}x{img[1]}. Open the film they belong to",
            file=ls.where,
        )


# ----------------------------------------------------------------------------- time points
_TP_MEASURES = (
    ("AHR %", "ahr_pct"),
    ("Compression %", "compression_pct"),
    ("Wedge °", "wedge_angle_deg"),
    ("KA °", "ka_deg"),
    ("Ha mm", "ha_mm"),
    ("Genant grade", "genant_grade"),
)
_DERIVED = (
    ("Height restoration %", "height_restoration_pct"),
    ("AHR gain pp", "ahr_gain_pp"),
    ("Reduction angle °", "reduction_angle_deg"),
    ("Correction loss °", "correction_loss_deg"),
    ("Height loss %", "height_loss_pct"),
    ("Recompression", "recompression"),
)


def _timepoint_order(present: Sequence[str]) -> list[str]:
    known = [t for t in ("pre", "post") if t in present]
    others = [t for t in present if t not in ("pre", "post", "last")]
    return known + others + (["last"] if "last" in present else [])


def timepoint_tables(sets: Sequence[LandmarkSet]) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Measure one patient's films and derive their longitudinal features.

    Parameters
    ----------
    sets : sequence of LandmarkSet
        One set per film (pre, post, last, ...), each with its ``timepoint``.

    Returns
    -------
    measures : pandas.DataFrame
        :func:`kyphoimg.measures_table` of the sets.
    features : pandas.DataFrame
        :func:`kyphoimg.features_table` (zero rows when no index level is set).
    message : str
        Empty, or why the features could not be derived.
    """
    measures = measures_table(sets)
    present = [str(t) for t in pd.unique(measures["timepoint"].dropna())]
    try:
        features = features_table(measures, order=_timepoint_order(present))
    except KyphoimgError as exc:
        return measures, features_table(measures.iloc[0:0]), str(exc)
    message = "" if len(features) else "set the index level(s) to derive the features"
    return measures, features, message


def timepoint_matrix(measures: pd.DataFrame) -> pd.DataFrame:
    """Return index-level measures side by side: a row per level x measure, a column per time."""
    idx = measures[measures["is_index"].astype(bool)]
    tps = _timepoint_order([str(t) for t in pd.unique(idx["timepoint"].dropna())])
    rows = []
    for level in sorted(set(idx["level"]), key=_LEVEL_CODE.get):
        sub = idx[idx["level"] == level].set_index("timepoint")
        for label, col in _TP_MEASURES:
            vals = [sub[col].get(t, np.nan) if t in sub.index else np.nan for t in tps]
            rows.append(
                [f"{level} {label}", *("" if pd.isna(v) else f"{float(v):.1f}" for v in vals)]
            )
    return pd.DataFrame(rows, columns=["Measure", *tps])


def derived_table(features: pd.DataFrame) -> pd.DataFrame:
    """Return the derived features of each treated vertebra as ``Feature, Value`` rows."""
    rows = []
    for _, row in features.iterrows():
        for label, col in _DERIVED:
            if col not in row:
                continue
            v = row[col]
            if isinstance(v, bool | np.bool_):
                text = "yes" if v else "no"
            elif pd.isna(v):
                text = ""
            else:
                text = f"{float(v):.1f}"
            rows.append([f"{row['level']} {label}", text])
    return pd.DataFrame(rows, columns=["Feature", "Value"])
