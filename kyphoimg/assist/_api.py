"""The public functions: :func:`refine` and :func:`propagate`, on landmark sets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from .._version import __version__
from ..calibration import Calibration
from ..landmarks import SCHEMES, ImageRef, LandmarkSet
from ._refine import PARAMS, ROLES, refine_array
from ._register import apply, global_transform, local_transform, normalise

Float = npt.NDArray[np.float64]
_T = TypeVar("_T")

#: Points whose confidence is below this are flagged for review.
REVIEW_BELOW = 0.3
#: ECC correlation of a vertebra's registration mapped to confidence 0 and 1.
_RHO_LO, _RHO_HI = 0.3, 0.8

_SWAP = np.array([[0.0, 1, 0], [1, 0, 0], [0, 0, 1]])  # (row, col) <-> (x, y)


def _frozen(d: Mapping[str, Mapping[str, _T]]) -> Mapping[str, Mapping[str, _T]]:
    return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in d.items()})


@dataclass(frozen=True)
class RefineResult:
    """Landmarks moved onto the film's edges, with a confidence per point.

    Attributes
    ----------
    landmarks : LandmarkSet
        The input set with its points moved (same levels, same point names, every other
        field unchanged).
    confidence : mapping
        ``{level: {point: c}}``, ``c`` in [0, 1]: how much of the point's uncertainty the
        image evidence removed (0: none found, the point did not move on its own).
    shift : mapping
        ``{level: {point: pixels moved}}``.
    bound : mapping
        ``{level: largest move allowed, pixels}``.
    needs_review : mapping
        ``{level: {point: bool}}``: confidence below :data:`REVIEW_BELOW`.
    method : str
        What produced the points (recorded by :func:`mark_proposed`).
    """

    landmarks: LandmarkSet
    confidence: Mapping[str, Mapping[str, float]]
    shift: Mapping[str, Mapping[str, float]]
    bound: Mapping[str, float]
    needs_review: Mapping[str, Mapping[str, bool]]
    method: str


@dataclass(frozen=True)
class PropagateResult:
    """Landmarks carried from an earlier film to a later one.

    Attributes
    ----------
    landmarks : LandmarkSet
        The proposed set on the target film: the source's scheme, levels, point names,
        patient and index levels; ``image`` holds the target's size only; calibration,
        time point, rater, findings and extra keys are left for the caller to set (pair
        it with its film, :func:`kyphoimg.landmarks.pair_with_film`).
    confidence : mapping
        ``{level: {point: c}}`` in [0, 1], from the vertebra's registration (ECC
        correlation) and the edge evidence of the refinement.
    needs_review : mapping
        ``{level: {point: bool}}``: every point of a treated level (cement, restored
        height: the film changed there), and points of confidence below
        :data:`REVIEW_BELOW`.
    transform : ndarray, shape (3, 3)
        The global map from source ``(row, col, 1)`` to target ``(row, col, 1)``,
        mirroring included (a negative determinant when mirrored).
    mirrored : bool
        Whether the target faces the other way.
    registration : mapping
        ``{level: ECC correlation}`` of each vertebra's own registration (NaN where it
        failed and the global map, or the neighbours', was used).
    method : str
        What produced the points (recorded by :func:`mark_proposed`).
    """

    landmarks: LandmarkSet
    confidence: Mapping[str, Mapping[str, float]]
    needs_review: Mapping[str, Mapping[str, bool]]
    transform: Float
    mirrored: bool
    registration: Mapping[str, float]
    method: str


def _check_image(image: npt.ArrayLike, name: str) -> npt.NDArray[np.generic]:
    arr = np.asarray(image)
    if arr.ndim != 2 or arr.shape[0] < 8 or arr.shape[1] < 8:
        raise ValueError(
            f"{name} must be a 2-D image of at least 8x8 pixels, got shape {arr.shape}"
        )
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    return arr.astype(np.uint8) if arr.dtype == bool else arr


def _to_array(ls: LandmarkSet) -> tuple[tuple[str, ...], tuple[str, ...], Float]:
    if ls.scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {ls.scheme!r}; use one of {', '.join(SCHEMES)}")
    names = ROLES[ls.scheme]
    return ls.levels, names, ls.array(ls.levels, names)


def _from_array(ls: LandmarkSet, levels: Iterable[str], names: tuple[str, ...], arr: Float) -> dict:
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for i, level in enumerate(levels):
        kept = ls.points.get(level, {})
        out[level] = {
            n: (float(arr[i, j, 0]), float(arr[i, j, 1])) for j, n in enumerate(names) if n in kept
        }
    return out


def _per_point(
    ls: LandmarkSet, levels: Iterable[str], names: tuple[str, ...], values: npt.NDArray[Any]
) -> dict[str, dict[str, Any]]:
    return {
        level: {n: values[i, j].item() for j, n in enumerate(names) if n in ls.points[level]}
        for i, level in enumerate(levels)
        if level in ls.points
    }


def _inside(pts: Float, shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    """Whether ``(..., 2)`` (row, col) points lie on an image of ``shape`` (pixel edges)."""
    return (
        (pts[..., 0] >= -0.5)
        & (pts[..., 0] <= shape[0] - 0.5)
        & (pts[..., 1] >= -0.5)
        & (pts[..., 1] <= shape[1] - 0.5)
    )


def _keep_on_image(before: Float, after: Float, shape: tuple[int, ...]) -> Float:
    """Clip moves that would leave the image back onto its edge (points already off stay)."""
    lo, hi = np.array([-0.5, -0.5]), np.array([shape[0] - 0.5, shape[1] - 0.5])
    leave = _inside(before, shape) & ~_inside(after, shape)
    return np.where(leave[..., None], np.clip(after, lo, hi), after)


def refine(
    image: npt.ArrayLike, landmarks: LandmarkSet, *, max_shift: float | None = None
) -> RefineResult:
    """Move each point onto the endplate and wall edges near it.

    Each vertebra is resampled on its own frame; its endplates are found as the lines
    of strongest signed derivative across them (superior: dark disc above, bright body
    below; inferior: the reverse) within the bound of their current segments, refitted
    robustly (Tukey-weighted least squares on per-column edge peaks, allowing the
    concavity of endplates and walls); its walls likewise; on AP films (``ap4``) also
    its mirror axis. These measurements and the input points are fused in a Gaussian
    model in which a vertebra's points share one displacement plus each their own, so a
    vertebra shifted as a whole is moved back by whatever edges show, while a point with
    no evidence anywhere on its vertebra stays put (confidence 0). Runs of consecutive
    vertebrae are then pulled toward a smooth spine where the image left them
    uncertain. Mid-endplate points (``6pt``) slide to the middle of their refined
    endplate and onto its edge. No point moves farther than the bound.

    Parameters
    ----------
    image : array_like, 2-D
        The film as displayed, bone bright (MONOCHROME1 films must be inverted first);
        any numeric dtype.
    landmarks : LandmarkSet
        Points in this image's pixels ``(row, col)``; schemes ``6pt``, ``4pt``, ``ap4``.
        A vertebra needs its two superior corners to be refined (S1 has only those);
        the others are returned unchanged with confidence 0.
    max_shift : float, optional
        Largest move of any point, pixels. Default: a quarter of the vertebra's width
        (mean endplate length of its input points). A point is never moved off the
        image (a move that would leave it stops at the edge).

    Returns
    -------
    RefineResult
        The moved set (same levels and points), confidence, moves, bounds, flags.

    Raises
    ------
    ValueError
        If ``image`` is not 2-D, ``max_shift`` is negative, or the scheme is unknown.

    Examples
    --------
    >>> from kyphoimg.sample import lateral_phantom, render_lateral
    >>> ph = lateral_phantom(("L1", "L2", "L3"))
    >>> film = render_lateral(ph.landmarks, seed=1)
    >>> result = refine(film, ph.landmarks)
    >>> result.landmarks.levels == ph.landmarks.levels
    True
    """
    img = _check_image(image, "image")
    if max_shift is not None and not max_shift >= 0:
        raise ValueError(f"max_shift={max_shift!r} must be >= 0 pixels")
    levels, names, pts = _to_array(landmarks)
    new, conf, bounds = refine_array(img, pts, levels, landmarks.scheme, max_shift=max_shift)
    moved = _keep_on_image(pts, np.where(np.isnan(new), pts, new), img.shape)
    shift = np.hypot(*(moved - pts).transpose(2, 0, 1))
    return RefineResult(
        landmarks=landmarks.replace(points=_from_array(landmarks, levels, names, moved)),
        confidence=_frozen(_per_point(landmarks, levels, names, conf)),
        shift=_frozen(_per_point(landmarks, levels, names, np.nan_to_num(shift))),
        bound=MappingProxyType({lv: float(b) for lv, b in zip(levels, bounds, strict=True)}),
        needs_review=_frozen(_per_point(landmarks, levels, names, conf < REVIEW_BELOW)),
        method=f"kyphoimg {__version__} assist.refine",
    )


def _rc(matrix_xy: Float) -> Float:
    return _SWAP @ matrix_xy @ _SWAP


def _widths(pts: Float) -> Float:
    """Mean endplate length per level (NaN without the corners)."""
    sup = np.hypot(*(pts[:, 1] - pts[:, 0]).T)
    inf = np.hypot(*(pts[:, 3] - pts[:, 2]).T)
    return np.where(np.isnan(inf), sup, (sup + inf) / 2)


def _register_levels(
    src: npt.NDArray[np.float32],
    tgt: npt.NDArray[np.float32],
    glob: Float,
    pts_xy: Float,
    widths: Float,
    skip: list[bool],
) -> tuple[list[Float | None], Float]:
    """Each non-skipped level's own map (or None) and its ECC correlation (NaN if none)."""
    maps: list[Float | None] = []
    rho = np.full(len(pts_xy), np.nan)
    for i, v in enumerate(pts_xy):
        ok = ~np.isnan(v).any(axis=1)
        fit = None
        if not skip[i] and ok.sum() >= 3 and np.isfinite(widths[i]):
            fit = local_transform(src, tgt, glob, v[ok], float(widths[i]))
        maps.append(fit.matrix if fit is not None else None)
        if fit is not None:
            rho[i] = fit.score
    return maps, rho


def _neighbour_maps(maps: list[Float | None], glob: Float) -> list[Float]:
    """Fill missing maps with the mean of the nearest registered levels above and below."""
    out: list[Float] = []
    for i, m in enumerate(maps):
        if m is not None:
            out.append(m)
            continue
        near = [
            next((maps[j] for j in rng if maps[j] is not None), None)
            for rng in (range(i - 1, -1, -1), range(i + 1, len(maps)))
        ]
        found = [n for n in near if n is not None]
        out.append(np.mean(found, axis=0) if found else glob)
    return out


def propagate(
    source_image: npt.ArrayLike,
    source_landmarks: LandmarkSet,
    target_image: npt.ArrayLike,
    *,
    treated_levels: Iterable[str] | None = None,
    refine_points: bool = True,
) -> PropagateResult:
    """Carry a patient's landmarks from an earlier film to the next one.

    1. **Global alignment**: a similarity transform (rotation within 6 degrees, scale
       within 6 %, any translation), found on reduced band-passed films by phase
       correlation over a grid of rotations and scales, for the source as it is and
       mirrored left-right (the better peak decides whether the target faces the other
       way; anterior and posterior labels are kept, so mirrored films are handled),
       refined by ECC (affine) around the spine.
    2. **Per vertebra**: each vertebra's neighbourhood (its box plus 30 % of its width) is
       aligned by ECC (rigid) from the global map. Treated levels, whose appearance
       changed, take the mean map of their nearest registered neighbours instead.
    3. **Refinement** (:func:`refine`): registered levels within a tenth of their width,
       trusting the registration; treated levels within the default bound.

    Parameters
    ----------
    source_image : array_like, 2-D
        The earlier film, bone bright.
    source_landmarks : LandmarkSet
        Its landmarks (pixels of ``source_image``), confirmed by the reader.
    target_image : array_like, 2-D
        The later film of the same patient, bone bright.
    treated_levels : iterable of str, optional
        Levels treated in between; default ``source_landmarks.index_levels``. Their
        points are always flagged for review.
    refine_points : bool, optional
        Run the refinement (step 3); without it the points are the registration's.

    Returns
    -------
    PropagateResult
        The proposed set on the target film (points carried off the film are left
        out), confidence, review flags and transforms.

    Raises
    ------
    ValueError
        If an image is not 2-D or the scheme is unknown.
    """
    src_img = _check_image(source_image, "source_image")
    tgt_img = _check_image(target_image, "target_image")
    treated = set(source_landmarks.index_levels if treated_levels is None else treated_levels)
    levels, names, pts = _to_array(source_landmarks)
    pts_xy = pts[..., ::-1]
    widths = _widths(pts)
    src, tgt = normalise(src_img), normalise(tgt_img)
    finite = pts_xy[~np.isnan(pts_xy).any(axis=-1)]
    if finite.size == 0:
        raise ValueError("source_landmarks has no points to propagate")
    roi = (*finite.min(axis=0), *finite.max(axis=0))
    width = float(np.nanmedian(widths)) if np.isfinite(widths).any() else 0.1 * max(src.shape)
    glob = global_transform(src, tgt, roi, width)
    skip = [lv in treated for lv in levels]
    maps, rho = _register_levels(src, tgt, glob.matrix, pts_xy, widths, skip)
    filled = _neighbour_maps(maps, glob.matrix)
    moved = np.stack([apply(m, v) for m, v in zip(filled, pts_xy, strict=True)])[..., ::-1]
    reg_conf = np.clip((np.nan_to_num(rho) - _RHO_LO) / (_RHO_HI - _RHO_LO), 0, 1)
    conf = np.repeat(reg_conf[:, None], len(names), axis=1)
    proposed = source_landmarks.replace(
        points=_from_array(source_landmarks, levels, names, moved),
        image=ImageRef(rows=int(tgt_img.shape[0]), columns=int(tgt_img.shape[1])),
        calibration=Calibration.none(),
        timepoint=None,
        rater=None,
        updated=None,
        findings={},
        extra={},
        calibration_extra={},
        source=None,
    )
    if refine_points:
        proposed, conf = _refine_proposed(tgt_img, proposed, levels, names, skip, conf)
    conf = np.where(np.isnan(moved).any(axis=-1), 0.0, conf)
    review = (conf < REVIEW_BELOW) | np.array(skip)[:, None]
    # points the registration carried off the target film are left out
    off = ~np.isnan(moved).any(axis=-1) & ~_inside(moved, tgt_img.shape)
    off |= ~np.isnan(moved).any(axis=-1) & ~_inside(proposed.array(levels, names), tgt_img.shape)
    if off.any():
        pts_kept = {
            lv: {n: p for n, p in proposed.points[lv].items() if not off[i, names.index(n)]}
            for i, lv in enumerate(levels)
        }
        proposed = proposed.replace(points={lv: p for lv, p in pts_kept.items() if p})
    matrix = glob.matrix
    return PropagateResult(
        landmarks=proposed,
        confidence=_frozen(_per_point(proposed, levels, names, conf)),
        needs_review=_frozen(_per_point(proposed, levels, names, review)),
        transform=_rc(matrix),
        mirrored=glob.mirrored,
        registration=MappingProxyType({lv: float(r) for lv, r in zip(levels, rho, strict=True)}),
        method=f"kyphoimg {__version__} assist.propagate",
    )


def _refine_proposed(
    image: npt.NDArray[np.generic],
    proposed: LandmarkSet,
    levels: tuple[str, ...],
    names: tuple[str, ...],
    skip: list[bool],
    reg_conf: Float,
) -> tuple[LandmarkSet, Float]:
    """Refine registered levels tightly (trusting the registration), treated ones fully."""
    pts = proposed.array(levels, names)
    base = PARAMS[proposed.scheme]
    trusted = replace(base, sigma_shared=0.01, sigma_own=0.01, bound_fraction=0.1)
    out = pts.copy()
    conf = reg_conf.copy()
    for params, want in ((trusted, False), (base, True)):
        rows = [i for i, s in enumerate(skip) if s == want]
        if not rows:
            continue
        sub = np.full_like(pts, np.nan)
        sub[rows] = pts[rows]
        new, c, _ = refine_array(image, sub, levels, proposed.scheme, params=params)
        out[rows] = np.where(np.isnan(new[rows]), pts[rows], new[rows])
        # noisy-or of the registration's and the edges' confidence
        conf[rows] = 1 - (1 - reg_conf[rows]) * (1 - c[rows])
    return proposed.replace(points=_from_array(proposed, levels, names, out)), conf


__all__ = ["REVIEW_BELOW", "PropagateResult", "RefineResult", "propagate", "refine"]
