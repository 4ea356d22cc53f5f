"""Every point of every vertebra from one click per vertebral body (:func:`from_centres`).

A vertebra's points are placed from a per-level shape model expressed in the vertebra's
own frame: origin at its centre (the mean of its four corners, where a reader clicks),
``u`` the local spine axis (caudal, from the centre above to the centre below), ``v``
perpendicular to it (anterior on lateral films, image right on AP films), lengths in units
of the local centre-to-centre spacing (so the model carries the height/width ratio, the
endplate tilt relative to the axis and the layout of the points, not the size). The
placed points are then moved onto the image's edges by :func:`kyphoimg.assist.refine`.

The model is a small table shipped with the package (``shape_model.json``), regenerated
by ``tools/shape_model.py``: for ``ap4`` from the AASCE 2019 training films (lines 1-150
of ``filenames.csv``, the films ``refine`` was tuned on), for ``6pt``/``4pt`` from the
synthetic lateral series of :mod:`kyphoimg.sample` (seeds 0-39).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from .._version import __version__
from ..landmarks import SCHEMES, LandmarkSet, level_index
from ._api import REVIEW_BELOW, _check_image, _frozen, refine

Float = npt.NDArray[np.float64]

__all__ = [
    "CentresResult",
    "centre_frames",
    "from_centres",
    "guess_facing",
    "place_shape",
    "shape_model",
]

#: Schemes of lateral films (``v`` points anterior, so the facing matters).
_LATERAL = ("6pt", "4pt")


@dataclass(frozen=True)
class CentresResult:
    """Points proposed for every vertebra from one centre per vertebral body.

    Attributes
    ----------
    landmarks : LandmarkSet
        The proposed set (the scheme asked for; ``image`` holds the film's size).
    confidence : mapping
        ``{level: {point: c}}`` in [0, 1]: the edge evidence :func:`refine` found for the
        point (0: the point is the shape model's alone).
    needs_review : mapping
        ``{level: {point: bool}}``: confidence below :data:`REVIEW_BELOW`.
    shape : LandmarkSet
        The shape model placed in each vertebra's frame, before the image was looked at.
    facing : str or None
        ``"right"`` or ``"left"`` (the side the anterior faces) on lateral films; None
        for ``ap4``.
    method : str
        What produced the points (recorded by :func:`mark_proposed`).
    """

    landmarks: LandmarkSet
    confidence: Mapping[str, Mapping[str, float]]
    needs_review: Mapping[str, Mapping[str, bool]]
    shape: LandmarkSet
    facing: str | None
    method: str


@lru_cache(maxsize=1)
def shape_model() -> Mapping[str, Any]:
    """Return the shipped shape model (``kyphoimg/assist/shape_model.json``).

    Returns
    -------
    mapping
        ``{"schemes": {scheme: {level: {point: [a, b]}}}, "source": ..., ...}``; ``a`` along
        the local spine axis (caudal), ``b`` across it (anterior, or image right for
        ``ap4``), both in units of the local centre spacing.
    """
    text = resources.files(__package__).joinpath("shape_model.json").read_text("utf-8")
    return MappingProxyType(json.loads(text))


def _model_level(table: Mapping[str, Any], level: str) -> Mapping[str, Sequence[float]]:
    """Return the model of ``level``, or of the nearest level the model has."""
    if level in table:
        return table[level]
    idx = level_index(level)
    nearest = min(table, key=lambda lv: (abs(level_index(lv) - idx), level_index(lv)))
    return table[nearest]


def _as_centres(
    centres: Mapping[str, Sequence[float]] | npt.ArrayLike, levels: Sequence[str] | None
) -> tuple[tuple[str, ...], Float]:
    if isinstance(centres, Mapping):
        order = tuple(levels) if levels is not None else tuple(centres)
        missing = [lv for lv in order if lv not in centres]
        if missing:
            raise ValueError(f"no centre given for level(s) {', '.join(missing)}")
        arr = np.array([[float(v) for v in centres[lv]] for lv in order], dtype=float)
    else:
        if levels is None:
            raise ValueError("levels must name the level of each centre given as an array")
        order = tuple(levels)
        arr = np.asarray(centres, dtype=float)
    if arr.ndim != 2 or arr.shape != (len(order), 2):
        raise ValueError(f"centres must be one (row, col) per level, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("centres must be finite numbers (row, col)")
    idx = [level_index(lv) for lv in order]
    if len(set(idx)) != len(idx):
        raise ValueError(f"levels repeat: {', '.join(order)}")
    rank = np.argsort(idx, kind="stable")
    return tuple(order[i] for i in rank), arr[rank]


def centre_frames(
    levels: Sequence[str], centres: npt.ArrayLike, *, spacing: float | None = None
) -> tuple[Float, Float]:
    """Return each vertebra's local spine axis and centre spacing from the centres.

    Parameters
    ----------
    levels : sequence of str
        The levels, cranial to caudal (gaps allowed).
    centres : array_like, shape (n, 2)
        Their centres, ``(row, col)`` pixels.
    spacing : float, optional
        Centre-to-centre distance (pixels) for a vertebra with no neighbour; required
        when only one centre is given.

    Returns
    -------
    axis : ndarray, shape (n, 2)
        Unit vectors ``(row, col)`` along the spine, caudal: from the centre above to the
        centre below (one-sided at the ends; straight down for a lone vertebra).
    spacing : ndarray, shape (n,)
        Mean distance to the neighbouring centres per level step, pixels.

    Raises
    ------
    ValueError
        If a lone vertebra has no ``spacing``, or two centres coincide.
    """
    c = np.asarray(centres, dtype=float)
    idx = np.array([level_index(lv) for lv in levels], dtype=float)
    n = len(c)
    axis = np.zeros((n, 2))
    size = np.zeros(n)
    for i in range(n):
        above, below = max(i - 1, 0), min(i + 1, n - 1)
        steps = []
        for j in {above, below} - {i}:
            steps.append(np.hypot(*(c[j] - c[i])) / abs(idx[j] - idx[i]))
        if not steps:
            if spacing is None or not spacing > 0:
                raise ValueError(
                    f"level {levels[i]} has no neighbouring centre: give spacing (pixels) or "
                    "click at least two vertebrae"
                )
            axis[i], size[i] = (1.0, 0.0), float(spacing)
            continue
        d = c[below] - c[above]
        norm = float(np.hypot(*d))
        if min(steps) <= 0 or norm == 0:
            raise ValueError(f"two centres coincide near level {levels[i]}")
        axis[i], size[i] = d / norm, float(np.mean(steps))
    return axis, size


def place_shape(
    levels: Sequence[str],
    centres: npt.ArrayLike,
    *,
    scheme: str = "6pt",
    facing: str = "right",
    spacing: float | None = None,
    scale: tuple[float, float] = (1.0, 1.0),
) -> Float:
    """Place the shape model of each level in its vertebra's frame.

    Parameters
    ----------
    levels : sequence of str
        Levels, cranial to caudal.
    centres : array_like, shape (n, 2)
        Their centres, ``(row, col)`` pixels.
    scheme : {"6pt", "4pt", "ap4"}, optional
        Landmark scheme.
    facing : {"right", "left"}, optional
        Side the anterior faces (lateral schemes only).
    spacing : float, optional
        See :func:`centre_frames`.
    scale : (float, float), optional
        Factors on the model's lengths along and across the spine axis (this film's
        vertebrae taller or wider for their spacing than the model's).

    Returns
    -------
    ndarray, shape (n, n_points, 2)
        ``(row, col)`` of each point, in ``SCHEMES[scheme]`` order.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    if facing not in ("right", "left"):
        raise ValueError(f"facing={facing!r}: use 'right' or 'left'")
    table = shape_model()["schemes"]["ap4" if scheme == "ap4" else "6pt"]
    c = np.asarray(centres, dtype=float)
    axis, size = centre_frames(levels, c, spacing=spacing)
    across = np.stack([-axis[:, 1], axis[:, 0]], axis=1)  # image right of the axis
    if scheme in _LATERAL and facing == "left":
        across = -across
    names = SCHEMES[scheme]
    out = np.empty((len(c), len(names), 2))
    for i, level in enumerate(levels):
        model = _model_level(table, level)
        ab = np.array([model[n] for n in names], dtype=float) * np.asarray(scale, dtype=float)
        out[i] = c[i] + size[i] * (ab[:, :1] * axis[i] + ab[:, 1:] * across[i])
    return out


def _box_texture(image: npt.NDArray[Any], centre: Float, half: float) -> float:
    """Mean gradient magnitude in a square box (NaN if the box is off the image)."""
    r0, c0 = np.rint(centre - half).astype(int)
    r1, c1 = np.rint(centre + half).astype(int) + 1
    r0, c0 = max(r0, 0), max(c0, 0)
    r1, c1 = min(r1, image.shape[0]), min(c1, image.shape[1])
    if r1 - r0 < 4 or c1 - c0 < 4:
        return float("nan")
    box = cv2.GaussianBlur(image[r0:r1, c0:c1].astype(np.float32), (0, 0), 1.5)
    gr, gc = np.gradient(box)
    return float(np.mean(np.hypot(gr, gc)[1:-1, 1:-1]))


def guess_facing(image: npt.ArrayLike, levels: Sequence[str], centres: npt.ArrayLike) -> str:
    """Guess the side a lateral film's anterior faces from the posterior arch.

    Behind each vertebral body lie the pedicles, articular pillars, laminae and spinous
    process, full of bone edges; in front of it, smooth soft tissue. The mean gradient
    magnitude in a box beside each body, 1.2 centre spacings from its centre on either
    side of the spine axis, is compared; the side with more edges at most vertebrae
    (summed log ratios) is posterior.

    Parameters
    ----------
    image : array_like, 2-D
        The film, bone bright.
    levels : sequence of str
        Levels, cranial to caudal.
    centres : array_like, shape (n, 2)
        Their centres, ``(row, col)``; at least two.

    Returns
    -------
    {"right", "left"}
        ``"right"`` when undecided.
    """
    img = np.asarray(image)
    c = np.asarray(centres, dtype=float)
    axis, size = centre_frames(levels, c)
    right = np.stack([-axis[:, 1], axis[:, 0]], axis=1)
    votes = 0.0
    for i in range(len(c)):
        a = _box_texture(img, c[i] + 1.2 * size[i] * right[i], 0.2 * size[i])
        b = _box_texture(img, c[i] - 1.2 * size[i] * right[i], 0.2 * size[i])
        if np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0:
            votes += np.log(b / a)  # more edges on the left: posterior left, facing right
    return "right" if votes >= 0 else "left"


def from_centres(
    image: npt.ArrayLike,
    centres: Mapping[str, Sequence[float]] | npt.ArrayLike,
    *,
    scheme: str = "6pt",
    levels: Sequence[str] | None = None,
    spacing: float | None = None,
    facing: str | None = None,
    refine_points: bool = True,
) -> CentresResult:
    """Propose every point of every vertebra from one click per vertebral body.

    1. **Frames**: each vertebra's local spine axis runs from the centre above to the
       centre below; its size is the mean spacing to those centres (per level step).
    2. **Shape**: the level's shape model (:func:`shape_model`: median proportions, the
       endplate tilt relative to the axis, the point layout) is placed in that frame,
       anterior toward ``facing`` on lateral films.
    3. **Image**: :func:`refine` moves the points onto the endplate and wall edges
       within a quarter of the vertebra's width; its confidence is the points'.

    Parameters
    ----------
    image : array_like, 2-D
        The film as displayed, bone bright.
    centres : mapping or array_like
        ``{level: (row, col)}`` of each vertebral body's centre, or an ``(n, 2)`` array
        with ``levels``. Gaps between levels are allowed.
    scheme : {"6pt", "4pt", "ap4"}, optional
        Landmark scheme of the proposal.
    levels : sequence of str, optional
        The levels (order of an array, or a subset of a mapping).
    spacing : float, optional
        Centre-to-centre distance in pixels for a vertebra clicked alone.
    facing : {"right", "left"}, optional
        Side the anterior faces (lateral schemes); default guessed from the image
        (:func:`guess_facing`; with one centre, ``"right"``).
    refine_points : bool, optional
        Run step 3; without it the points are the placed shape (confidence 0).

    Returns
    -------
    CentresResult
        The proposal with a confidence and a review flag per point.

    Raises
    ------
    ValueError
        If the image is not 2-D, a centre is not finite, levels repeat, the scheme or the
        facing is unknown, or a lone vertebra has no ``spacing``.

    Examples
    --------
    >>> from kyphoimg.sample import lateral_phantom, render_lateral
    >>> ph = lateral_phantom(("T12", "L1", "L2"))
    >>> film = render_lateral(ph.landmarks, seed=1)
    >>> clicks = {lv: ph.landmarks.array([lv])[0, [0, 2, 3, 5]].mean(axis=0)
    ...           for lv in ph.landmarks.levels}
    >>> result = from_centres(film, clicks, scheme="6pt")
    >>> result.landmarks.levels
    ('T12', 'L1', 'L2')
    """
    img = _check_image(image, "image")
    order, c = _as_centres(centres, levels)
    if scheme in _LATERAL and facing is None:
        facing = guess_facing(img, order, c) if len(c) > 1 else "right"
    side = facing if scheme in _LATERAL else None
    placed = place_shape(order, c, scheme=scheme, facing=side or "right", spacing=spacing)
    names = SCHEMES[scheme]
    shape = LandmarkSet(
        points={
            lv: {n: (float(placed[i, j, 0]), float(placed[i, j, 1])) for j, n in enumerate(names)}
            for i, lv in enumerate(order)
        },
        scheme=scheme,
    )
    if refine_points:
        result = refine(img, shape)
        landmarks, conf = result.landmarks, result.confidence
    else:
        landmarks = shape
        conf = {lv: dict.fromkeys(names, 0.0) for lv in order}
    review = {lv: {n: c < REVIEW_BELOW for n, c in v.items()} for lv, v in conf.items()}
    return CentresResult(
        landmarks=landmarks,
        confidence=_frozen(conf),
        needs_review=_frozen(review),
        shape=shape,
        facing=side,
        method=f"kyphoimg {__version__} assist.centres",
    )
