"""Registration of one film onto another: a global similarity, then each vertebra.

Matrices here are 3x3 homogeneous maps of OpenCV ``(x, y) = (col, row)`` pixel
coordinates; :mod:`kyphoimg.assist` converts to ``(row, col)`` at its boundary.

1. **Global** (:func:`global_transform`): both films are normalised (percentiles), reduced
   so the larger side is :data:`SEARCH_SIZE` pixels and band-passed (difference of
   Gaussians), so exposure, processing and soft tissue matter little. For the source as
   it is and mirrored left-right, a grid of rotations (within :data:`MAX_ROTATION_DEG`) and
   scales (within :data:`MAX_SCALE_CHANGE`) is tried, the translation of each found by
   phase correlation; the best peak wins, mirrored or not. It is refined by ECC (affine)
   at :data:`REFINE_SIZE` pixels on the part of the source around its landmarks.
2. **Per vertebra** (:func:`local_transform`): the source, carried onto the target by the
   global map, is cut around each vertebra (a margin of 30 % of its width) and aligned to
   the target by ECC (rigid) at a scale where the vertebra is about
   :data:`LOCAL_WIDTH` pixels wide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Float = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]

#: Larger side of the films during the global search, pixels.
SEARCH_SIZE = 256
#: Larger side of the films during the global ECC refinement, pixels.
REFINE_SIZE = 512
#: Rotation and scale searched between two films.
MAX_ROTATION_DEG = 6.0
MAX_SCALE_CHANGE = 0.06
#: Vertebra width during the per-vertebra registration, pixels.
LOCAL_WIDTH = 96.0
#: Margin around a vertebra for its registration, a fraction of its width.
LOCAL_MARGIN = 0.3


def normalise(image: npt.NDArray[np.generic]) -> F32:
    """Map a film's 1st-99th percentile to 0-1 (float32, clipped), bone staying bright.

    Parameters
    ----------
    image : ndarray
        2-D, any numeric dtype.

    Returns
    -------
    ndarray of float32
        The normalised film.
    """
    img = np.asarray(image, dtype=np.float32)
    step = max(1, int(np.sqrt(img.size / 250_000)))
    lo, hi = np.percentile(img[::step, ::step], (1, 99))
    if not hi > lo:
        return np.zeros(img.shape, dtype=np.float32)
    return np.clip((img - np.float32(lo)) / np.float32(hi - lo), 0, 1).astype(np.float32)


def bandpass(image: F32, width: float) -> F32:
    """Difference of Gaussians (scales ``width / 60`` and ``width / 6``, at least 0.7 px).

    Parameters
    ----------
    image : ndarray of float32
        Normalised film.
    width : float
        Typical vertebra width at this scale, pixels.

    Returns
    -------
    ndarray of float32
        Edges and texture at the scale of endplates and walls, no slow trends.
    """
    import cv2

    fine = max(width / 60, 0.7)
    coarse = max(width / 6, 3.0)
    out = cv2.GaussianBlur(image, (0, 0), fine) - cv2.GaussianBlur(image, (0, 0), coarse)
    return np.asarray(out, np.float32)


def _resize(image: F32, factor: float) -> F32:
    import cv2

    if abs(factor - 1) < 1e-9:
        return image
    size = (
        max(int(round(image.shape[1] * factor)), 8),
        max(int(round(image.shape[0] * factor)), 8),
    )
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.float32)


def _scaling(factor: float) -> Float:
    """Map full-resolution pixel coordinates to a reduced image (pixel centres kept)."""
    shift = 0.5 * factor - 0.5
    return np.array([[factor, 0, shift], [0, factor, shift], [0, 0, 1.0]])


def mirror_matrix(columns: int) -> Float:
    """Return the left-right mirror of an image ``columns`` wide, as a 3x3 (x, y) map.

    Parameters
    ----------
    columns : int
        Image width.

    Returns
    -------
    ndarray, shape (3, 3)
        ``x -> columns - 1 - x``.
    """
    return np.array([[-1.0, 0, columns - 1], [0, 1, 0], [0, 0, 1]])


@dataclass(frozen=True)
class GlobalFit:
    """The global source-to-target map (full resolution, (x, y)), mirrored or not, score."""

    matrix: Float
    mirrored: bool
    score: float


def _search(
    src: F32, tgt: F32, centre: tuple[float, float], mirrored_src: F32
) -> tuple[Float, bool, float]:
    """Grid of rotations and scales, translation by phase correlation; the best peak."""
    import cv2

    h = max(src.shape[0], tgt.shape[0])
    w = max(src.shape[1], tgt.shape[1])
    window = cv2.createHanningWindow((w, h), cv2.CV_32F)
    target = np.zeros((h, w), np.float32)
    target[: tgt.shape[0], : tgt.shape[1]] = tgt
    target *= window
    best = (np.eye(3), False, -np.inf)
    for mirrored, image in ((False, src), (True, mirrored_src)):
        cx = src.shape[1] - 1 - centre[0] if mirrored else centre[0]
        for angle in np.linspace(-MAX_ROTATION_DEG, MAX_ROTATION_DEG, 7):
            for scale in (1 - MAX_SCALE_CHANGE, 1.0, 1 + MAX_SCALE_CHANGE):
                rot = cv2.getRotationMatrix2D((float(cx), float(centre[1])), float(angle), scale)
                warped = cv2.warpAffine(image, rot, (w, h), flags=cv2.INTER_LINEAR)
                (dx, dy), response = cv2.phaseCorrelate(warped * window, target)
                if response > best[2]:
                    m = np.vstack([rot, [0, 0, 1]])
                    m[0, 2] += dx
                    m[1, 2] += dy
                    best = (m, mirrored, float(response))
    return best


def _ecc(template: F32, image: F32, init: Float, motion: int) -> tuple[Float, float] | None:
    """ECC alignment of ``template`` onto ``image`` from ``init`` (3x3); None if it fails."""
    import cv2

    warp = init[:2].astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
    try:
        # no mask; gaussFiltSize 1: the images are band-passed already (the stubs want a
        # mask whenever the filter size is given)
        rho, found = cv2.findTransformECC(  # type: ignore[call-overload]
            template, image, warp, motion, criteria, None, 1
        )
    except cv2.error:
        return None
    found = np.asarray(found, dtype=np.float64)
    if not np.isfinite(found).all():
        return None
    return np.vstack([found, [0, 0, 1]]), float(rho)


def global_transform(
    source: F32, target: F32, roi: tuple[float, float, float, float], width: float
) -> GlobalFit:
    """Find the map of the source film onto the target: similarity, then affine.

    Parameters
    ----------
    source, target : ndarray of float32
        Normalised films (:func:`normalise`).
    roi : (x0, y0, x1, y1)
        The source's landmarks' bounding box, full-resolution pixels.
    width : float
        Typical vertebra width on the source, pixels.

    Returns
    -------
    GlobalFit
        The map (3x3, (x, y) source pixels to target pixels), whether the source was
        mirrored, and the score (ECC correlation, or the phase-correlation peak when ECC
        failed).
    """
    import cv2

    size = max(source.shape + target.shape)
    f1 = min(1.0, SEARCH_SIZE / size)
    s1, t1 = (bandpass(_resize(im, f1), width * f1) for im in (source, target))
    x0, y0, x1, y1 = roi
    centre = ((x0 + x1) / 2 * f1, (y0 + y1) / 2 * f1)
    coarse, mirrored, peak = _search(s1, t1, centre, np.ascontiguousarray(s1[:, ::-1]))
    mir = mirror_matrix(source.shape[1]) if mirrored else np.eye(3)
    # coarse maps reduced (mirrored) source -> reduced target
    full = np.linalg.inv(_scaling(f1)) @ coarse @ _scaling(f1) @ mir
    f2 = min(1.0, REFINE_SIZE / size)
    src2 = source[:, ::-1] if mirrored else source
    s2, t2 = (bandpass(_resize(np.ascontiguousarray(im), f2), width * f2) for im in (src2, target))
    # Template: the (mirrored) source around its landmarks, with a margin.
    corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], float).T
    pts = (_scaling(f2) @ mir @ corners)[:2]
    pad = 0.6 * width * f2
    cx0 = int(max(pts[0].min() - pad, 0))
    cy0 = int(max(pts[1].min() - pad, 0))
    cx1 = int(min(pts[0].max() + pad + 1, s2.shape[1]))
    cy1 = int(min(pts[1].max() + pad + 1, s2.shape[0]))
    template = np.ascontiguousarray(s2[cy0:cy1, cx0:cx1])
    crop = np.array([[1.0, 0, cx0], [0, 1, cy0], [0, 0, 1]])
    # template coords -> reduced target: scale2 @ full @ mir^-1 @ scale2^-1 @ crop
    init = _scaling(f2) @ full @ np.linalg.inv(mir) @ np.linalg.inv(_scaling(f2)) @ crop
    got = _ecc(template, t2, init, cv2.MOTION_AFFINE)
    if got is None:
        return GlobalFit(full, mirrored, peak)
    warp, rho = got
    refined = np.linalg.inv(_scaling(f2)) @ warp @ np.linalg.inv(crop) @ _scaling(f2) @ mir
    if not _plausible(refined, full, width):
        return GlobalFit(full, mirrored, peak)
    return GlobalFit(refined, mirrored, rho)


def _plausible(a: Float, b: Float, width: float) -> bool:
    """Whether two maps agree within half a vertebra width over a 4-width square."""
    probe = np.array([[0, 0, 1], [4 * width, 0, 1], [0, 4 * width, 1], [4 * width, 4 * width, 1]]).T
    gap = (a @ probe - b @ probe)[:2]
    return bool(np.hypot(*gap).max() < 0.5 * width)


@dataclass(frozen=True)
class LocalFit:
    """A vertebra's source-to-target map (full resolution, (x, y)) and its ECC correlation."""

    matrix: Float
    score: float


def local_transform(
    source: F32, target: F32, glob: Float, corners: Float, width: float
) -> LocalFit | None:
    """Align one vertebra's neighbourhood, starting from the global map.

    Parameters
    ----------
    source, target : ndarray of float32
        Normalised films, full resolution.
    glob : ndarray, shape (3, 3)
        The global source-to-target map, (x, y).
    corners : ndarray, shape (k, 2)
        The vertebra's points on the source, (x, y).
    width : float
        Its width on the source, pixels.

    Returns
    -------
    LocalFit or None
        The vertebra's map and correlation, or None when ECC fails or strays from the
        global map by more than half the vertebra's width.
    """
    import cv2

    f = min(1.0, LOCAL_WIDTH / max(width, 1.0))
    mapped = (glob @ np.c_[corners, np.ones(len(corners))].T)[:2].T * f
    pad = LOCAL_MARGIN * width * f
    x0, y0 = np.floor(mapped.min(axis=0) - pad)
    x1, y1 = np.ceil(mapped.max(axis=0) + pad)
    tw, th = int(x1 - x0) + 1, int(y1 - y0) + 1
    if tw < 8 or th < 8:
        return None
    box = np.array([[1.0, 0, -x0], [0, 1, -y0], [0, 0, 1]])
    # The source carried onto the reduced target frame, cut to the box.
    to_box = box @ _scaling(f) @ glob
    small_src = np.asarray(
        cv2.warpAffine(source, to_box[:2], (tw, th), flags=cv2.INTER_AREA), np.float32
    )
    small_tgt = _resize(target, f)
    template = bandpass(small_src, width * f)
    image = bandpass(small_tgt, width * f)
    got = _ecc(template, image, np.linalg.inv(box), cv2.MOTION_EUCLIDEAN)
    if got is None:
        return None
    warp, rho = got
    matrix = np.linalg.inv(_scaling(f)) @ warp @ to_box
    if not _plausible(matrix, glob, width):
        return None
    return LocalFit(matrix, rho)


def apply(matrix: Float, points_xy: Float) -> Float:
    """Apply a 3x3 (x, y) map to ``(..., 2)`` points.

    Parameters
    ----------
    matrix : ndarray, shape (3, 3)
        The map.
    points_xy : ndarray, shape (..., 2)
        Points as (x, y).

    Returns
    -------
    ndarray, shape (..., 2)
        Mapped points.
    """
    p = np.asarray(points_xy, dtype=float)
    return p @ matrix[:2, :2].T + matrix[:2, 2]
