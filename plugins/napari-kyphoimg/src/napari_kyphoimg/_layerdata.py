"""Between napari layer data and kyphoimg landmark sets: coordinates, features, header, colours.

No napari, no Qt. A landmark points layer holds one landmark per row: ``data`` is
``(row, col)`` in image pixels (the layer carries the image's ``scale``, so world
coordinates are millimetres when the image is calibrated), and ``features`` has two
categorical columns, ``level`` (:data:`kyphoimg.landmarks.LEVELS`) and ``point``
(:data:`POINT_NAMES`), plus the canvas ``label``. Everything else a landmark file holds
(scheme, calibration, image reference, index levels, rater, findings) travels in the
layer's ``metadata["kyphoimg"]["header"]`` as the landmark file's own JSON object without
its points (:meth:`kyphoimg.LandmarkSet.to_dict`, read back by
:func:`kyphoimg.landmarks.landmarks_from_dict`), so napari can copy and duplicate layers
freely.

:func:`layer_points` rearranges a layer's arrays into levels and lateral points, the input
of :func:`kyphoimg.measure.measure_vertebrae`; :func:`lateral_landmarks` turns that back
into a landmark set; :func:`overlay_vectors` gives the endplate and height segments drawn
over the film.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kyphoimg import LandmarkSet
from kyphoimg.landmarks import LATERAL_SCHEMES, LEVELS, SCHEMES, landmarks_from_dict

__all__ = [
    "LABELLED_POINTS",
    "LEVEL_COLORS",
    "POINT_NAMES",
    "empty_features",
    "feature_defaults",
    "features_frame",
    "header_from_meta",
    "header_to_meta",
    "landmarks_to_layer",
    "lateral_landmarks",
    "layer_points",
    "layer_to_landmarks",
    "overlay_vectors",
    "point_label",
    "point_labels",
    "rows_labelled",
    "same_features",
]

#: Every point name of every scheme, in scheme order (the ``point`` categories).
POINT_NAMES: tuple[str, ...] = tuple(dict.fromkeys(n for ns in SCHEMES.values() for n in ns))

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

#: The point of each vertebra that carries the level's name on the canvas.
LABELLED_POINTS = ("ant_sup", "left_sup")

_LATERAL_POINTS: tuple[str, ...] = SCHEMES["6pt"]
_LEVEL_CODE = {lv: i for i, lv in enumerate(LEVELS)}
_POINT_CODE = {p: i for i, p in enumerate(POINT_NAMES)}
_LEVEL_CATEGORIES = list(LEVELS)
_POINT_CATEGORIES = list(POINT_NAMES)
# Position of each point category among the lateral points (-1 for ap4 names).
_LATERAL_POS = np.array(
    [_LATERAL_POINTS.index(p) if p in _LATERAL_POINTS else -1 for p in POINT_NAMES]
)


# ----------------------------------------------------------------------------- features
def point_label(level: Any, point: Any) -> str:
    """Return the canvas text of a landmark: the level on its labelled corner, else empty."""
    return str(level) if point in LABELLED_POINTS and isinstance(level, str) else ""


def features_frame(levels: Sequence[Any], points: Sequence[Any]) -> pd.DataFrame:
    """Return the features of a landmark layer.

    ``level`` and ``point`` are categoricals with fixed categories (:data:`LEVELS`,
    :data:`POINT_NAMES`); ``label`` is the canvas text (:func:`point_label`).

    Parameters
    ----------
    levels, points : sequence
        Level and point name of each row.

    Returns
    -------
    pandas.DataFrame
        Columns ``level``, ``point``, ``label``.
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


def same_features(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two feature tables hold the same columns, values and categories, row by row.

    A film switch keeps a landmarks layer's features when the next film's are these:
    napari re-validates and recolours every point on each assignment.
    """
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for name in a.columns:
        x, y = a[name], b[name]
        if isinstance(x.dtype, pd.CategoricalDtype) != isinstance(y.dtype, pd.CategoricalDtype):
            return False
        if isinstance(x.dtype, pd.CategoricalDtype) and list(x.cat.categories) != list(
            y.cat.categories
        ):
            return False
        if not np.array_equal(np.asarray(x, dtype=object), np.asarray(y, dtype=object)):
            return False
    return True


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

    Parameters
    ----------
    features : pandas.DataFrame
        ``level`` and ``point`` per row.
    indices : iterable of int, optional
        The rows (default: all).

    Returns
    -------
    list of (str, str)
        One pair per labelled row.

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


# ----------------------------------------------------------------------------- layer <-> set
def split_unknown(ls: LandmarkSet) -> tuple[LandmarkSet, dict[str, dict[str, list[float]]]]:
    """Split off the points a layer cannot label (unknown level or point names).

    A file with a typo (``T21``, ``ant_supp``) opens with its problems listed; its
    unknown points are kept aside, shown as problems and written back unchanged, so
    nothing in the file is lost until the reader fixes it.

    Parameters
    ----------
    ls : LandmarkSet
        As read from its file.

    Returns
    -------
    known : LandmarkSet
        The set without the unknown points.
    unknown : dict
        ``{level: {point: [row, col]}}`` of the points left out (JSON-ready).
    """
    known: dict[str, dict[str, tuple[float, float]]] = {}
    unknown: dict[str, dict[str, list[float]]] = {}
    for level, pts in ls.points.items():
        for name, (r, c) in pts.items():
            ok = level in _LEVEL_CODE and name in _POINT_CODE
            target = known if ok else unknown
            target.setdefault(level, {})[name] = (r, c) if ok else [r, c]  # type: ignore[assignment]
    return ls.replace(points=known), unknown


def with_unknown(ls: LandmarkSet, unknown: Mapping[str, Mapping[str, Any]] | None) -> LandmarkSet:
    """Put the points :func:`split_unknown` kept aside back into a set.

    Parameters
    ----------
    ls : LandmarkSet
        The layer's set.
    unknown : mapping or None
        ``{level: {point: [row, col]}}``.

    Returns
    -------
    LandmarkSet
        ``ls`` with those points added (a labelled point of the same name wins).
    """
    if not unknown:
        return ls
    points = {lv: dict(p) for lv, p in ls.points.items()}
    for level, pts in unknown.items():
        for name, rc in pts.items():
            points.setdefault(level, {}).setdefault(name, (float(rc[0]), float(rc[1])))
    return ls.replace(points=points)


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
    """Return ``(data, features)`` of a landmark layer holding ``ls``'s points.

    Parameters
    ----------
    ls : LandmarkSet
        The landmark set.

    Returns
    -------
    data : ndarray, shape (N, 2)
        ``(row, col)`` in pixels.
    features : pandas.DataFrame
        From :func:`features_frame`.
    """
    rows = [(lv, p, rc) for lv, pts in ls.points.items() for p, rc in pts.items()]
    data = np.array([rc for *_, rc in rows], dtype=float).reshape(-1, 2)
    return data, features_frame([r[0] for r in rows], [r[1] for r in rows])


def header_to_meta(ls: LandmarkSet) -> dict[str, Any]:
    """Return a landmark set's header (all but points) as a plain dictionary.

    The dictionary is the landmark file's JSON object (:meth:`kyphoimg.LandmarkSet.to_dict`)
    with no points: it deep-copies cleanly (napari copies layer metadata) and is turned
    back into a :class:`~kyphoimg.LandmarkSet` by :func:`header_from_meta`.

    Parameters
    ----------
    ls : LandmarkSet
        The set; its points are left out.

    Returns
    -------
    dict
        JSON-ready.
    """
    return ls.replace(points={}).to_dict()


def header_from_meta(meta: Mapping[str, Any]) -> LandmarkSet:
    """Return the point-less :class:`~kyphoimg.LandmarkSet` a header dictionary describes.

    Parameters
    ----------
    meta : mapping
        From :func:`header_to_meta` (read by :func:`kyphoimg.landmarks.landmarks_from_dict`).

    Returns
    -------
    LandmarkSet
        Without points.
    """
    return landmarks_from_dict(meta).replace(points={})


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


def lateral_landmarks(
    levels: Sequence[str], points: np.ndarray, header: LandmarkSet
) -> LandmarkSet:
    """Return :func:`layer_points`' output as a landmark set (the inverse rearrangement).

    Parameters
    ----------
    levels, points
        From :func:`layer_points`.
    header : LandmarkSet
        Supplies everything but the points.

    Returns
    -------
    LandmarkSet
        ``header`` with each level's lateral points (those with finite coordinates).
    """
    xy = np.asarray(points, dtype=float).reshape(len(levels), len(_LATERAL_POINTS), 2)
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for level, pts in zip(levels, xy, strict=True):
        out[level] = {
            name: (float(r), float(c))
            for name, (r, c) in zip(_LATERAL_POINTS, pts, strict=True)
            if np.isfinite(r) and np.isfinite(c)
        }
    return header.replace(points=out)


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
