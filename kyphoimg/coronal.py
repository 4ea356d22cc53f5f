"""Coronal Cobb angles on AP films, as defined by the AASCE 2019 challenge organisers.

The AASCE 2019 challenge (SpineWeb dataset 16; Wu et al., "Automatic landmark
estimation for adolescent idiopathic scoliosis assessment using BoostNet", MICCAI
2017) labels 17 vertebrae, T1 to L5, with four corners each and scores three Cobb
angles per film, in the order (PT, MT, TL/L). :func:`aasce_cobb_angles` reproduces the
organisers' computation step by step, quirks included, so that results can be
compared with the challenge labels and with published methods.

Points are ``(row, col)`` pixel coordinates in the ``ap4`` scheme: per vertebra
``left_sup, right_sup, left_inf, right_inf`` (image left and right).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import MeasureError

__all__ = ["CoronalCobb", "aasce_cobb_angles"]

#: Point order of the ``ap4`` scheme along axis 1 of ``corners``.
_AP4_POINTS = ("left_sup", "right_sup", "left_inf", "right_inf")
_LEFT_SUP, _RIGHT_SUP, _LEFT_INF, _RIGHT_INF = range(4)
_ROW, _COL = 0, 1
_MIN_VERTEBRAE = 3
#: The organisers round every cosine to this many decimals (MATLAB ``roundn(c, -8)``).
_COSINE_DECIMALS = 8


@dataclass(frozen=True, slots=True)
class CoronalCobb:
    """The three AASCE coronal Cobb angles of one film.

    Attributes
    ----------
    pt_deg : float
        Largest angle between the mid-lines of any two vertebrae, in degrees
        (first column of the AASCE ``angles.csv``).
    mt_deg : float
        Second AASCE angle, in degrees (see :func:`aasce_cobb_angles`, Notes).
    tl_deg : float
        Third AASCE angle (thoracolumbar/lumbar), in degrees.
    upper_index : int
        0-based index (cranial to caudal) of the upper vertebra of the pair giving
        ``pt_deg``.
    lower_index : int
        0-based index of the lower vertebra of that pair. Equal to ``upper_index``
        only when every angle is 0.
    s_shaped : bool
        Whether the organisers' S-curve test classed the spine as S-shaped.
    """

    pt_deg: float
    mt_deg: float
    tl_deg: float
    upper_index: int
    lower_index: int
    s_shaped: bool


def aasce_cobb_angles(
    corners: ArrayLike,
    image_height: float,
    spacing: Sequence[float] = (1.0, 1.0),
) -> CoronalCobb:
    """Compute the AASCE 2019 coronal Cobb angles (PT, MT, TL) from vertebral corners.

    This reproduces the challenge organisers' MATLAB computation used to label
    SpineWeb dataset 16 (Wu et al., MICCAI 2017; AASCE 2019 challenge). Applied to the
    challenge landmarks it gives the published ``angles.csv`` values. All angles are
    unsigned: the direction of a curve is not reported.

    Parameters
    ----------
    corners : array_like, shape (n_vertebrae, 4, 2)
        Vertebral corners as ``(row, col)`` pixel coordinates, vertebrae ordered
        cranial to caudal (T1 to L5 for the AASCE layout, n = 17), points in the
        ``ap4`` order ``left_sup, right_sup, left_inf, right_inf`` (image left and
        right). At least 3 vertebrae. Integer arrays are converted to float.
    image_height : float
        Number of pixel rows of the image; decides between the two S-curve rules
        (step 5 in Notes).
    spacing : sequence of 2 float, default (1.0, 1.0)
        Pixel spacing ``(row_mm, col_mm)``. Mid-line directions are computed in mm
        space, so anisotropic pixels are handled. The organisers used square pixels,
        which the default reproduces; angles do not depend on a common scale.

    Returns
    -------
    CoronalCobb
        The angles in degrees, the 0-based vertebra indices of the pair giving
        ``pt_deg``, and the result of the S-curve test.

    Raises
    ------
    MeasureError
        If ``corners`` does not have shape (n, 4, 2) with n >= 3, contains NaN or
        infinite values, or a vertebra has coincident left and right mid-points (a
        zero-length mid-line; the message names the vertebra index); if
        ``image_height`` is not a positive finite number; if ``spacing`` is not two
        positive finite numbers.

    Notes
    -----
    Vertebrae are numbered 1..n here (``upper_index = u - 1``) and endplates 1..N,
    N = 2n (endplate ``2k - 1`` is the superior and ``2k`` the inferior endplate of
    vertebra k):

    1. Mid-line of vertebra k: ``v_k = right_mid - left_mid`` with
       ``left_mid = (left_sup + left_inf) / 2`` and likewise on the right, in mm.
    2. ``A[i, j] = arccos(round(cos(v_i, v_j), 8))``; the cosine is rounded half away
       from zero, as MATLAB's ``roundn`` does, so near-parallel mid-lines give exactly
       0. PT is ``max A``. The pair (u, l) is chosen as MATLAB's ``max`` does: u is
       the first column whose column maximum equals PT and l the first row attaining
       it in that column. When several pairs tie, the most cranial wins.
    3. S-curve test on the endplate centres ``c`` (pixels): for ``i = 1..N-2``,
       ``ll_i = (row_i - row_N) / (row_1 - row_N) - (col_i - col_N) / (col_1 - col_N)``,
       the offset of ``c_i`` from the chord ``c_1 c_N`` in normalised coordinates. The
       spine is S-shaped when some product ``ll_i * ll_j`` is negative. When
       ``row_1 == row_N`` or ``col_1 == col_N`` the organisers' division gives NaN and
       their comparison ``sum(P) ~= sum(abs(P))`` is then true, so such a spine (a
       perfectly vertical one, for instance) counts as S-shaped here too.
    4. Not S-shaped: ``MT = A[1, u]`` and ``TL = A[n, l]``.
    5. S-shaped, and the rows of the inferior endplate centres of u and l sum to less
       than ``image_height`` (the pair lies in the upper half of the film):
       ``MT = max A[u, 1..u]`` and ``TL = max A[l, l..n]``. Otherwise
       ``MT = max A[u, 1..u]``, attained first at vertebra p, and
       ``TL = max A[p, 1..p]``.

    Angles are converted with ``x / pi * 180`` like the original. Mid-lines point from
    image left to image right, so a vertebra whose left and right labels are swapped
    makes an angle above 90 degrees with the others; the organisers' labels keep such
    angles.

    References
    ----------
    .. [1] H. Wu, C. Bailey, P. Rasoulinejad, S. Li, "Automatic landmark estimation for
       adolescent idiopathic scoliosis assessment using BoostNet", MICCAI 2017,
       LNCS 10433, pp. 127-135.
    .. [2] AASCE 2019: Accurate Automated Spinal Curvature Estimation, MICCAI 2019
       challenge; SpineWeb dataset 16.

    Examples
    --------
    Three vertebrae, the second tilted by 45 degrees (its right side 40 px higher over
    a 40 px width):

    >>> import numpy as np
    >>> corners = np.array([
    ...     [[0, 0], [0, 40], [30, 0], [30, 40]],
    ...     [[100, 0], [60, 40], [130, 0], [90, 40]],
    ...     [[160, 10], [160, 50], [190, 10], [190, 50]],
    ... ])
    >>> cobb = aasce_cobb_angles(corners, image_height=400)
    >>> round(cobb.pt_deg, 4), cobb.upper_index, cobb.lower_index
    (45.0, 0, 1)
    """
    points = _validate_corners(corners)
    height = _validate_height(image_height)
    scale = _validate_spacing(spacing)
    n = points.shape[0]

    # Step 1: mid-lines joining the left and right mid-points, in mm.
    points_mm = points * scale
    left_mid = (points_mm[:, _LEFT_SUP] + points_mm[:, _LEFT_INF]) / 2
    right_mid = (points_mm[:, _RIGHT_SUP] + points_mm[:, _RIGHT_INF]) / 2
    mid_lines = right_mid - left_mid
    lengths = np.sqrt(np.sum(mid_lines * mid_lines, axis=1))
    degenerate = np.flatnonzero(lengths == 0)
    if degenerate.size:
        raise MeasureError(
            f"vertebra {int(degenerate[0])} (0-based) has a zero-length mid-line: its left "
            "and right mid-points coincide; check that left_sup/left_inf and "
            "right_sup/right_inf are on opposite sides of the vertebra"
        )

    # Step 2: angle matrix, the largest angle and the pair giving it.
    cosines = (mid_lines @ mid_lines.T) / np.outer(lengths, lengths)
    angles = np.arccos(np.clip(_round_half_away(cosines, _COSINE_DECIMALS), -1.0, 1.0))
    column_max = angles.max(axis=0)
    upper = int(np.argmax(column_max))
    lower = int(np.argmax(angles[:, upper]))
    pt = angles[lower, upper]

    # Step 3: S-curve test on the endplate centres (pixels), rows (sup, inf) per vertebra.
    superior = (points[:, _LEFT_SUP] + points[:, _RIGHT_SUP]) / 2
    inferior = (points[:, _LEFT_INF] + points[:, _RIGHT_INF]) / 2
    centres = np.stack([superior, inferior], axis=1).reshape(2 * n, 2)
    s_shaped = _is_s_shaped(centres)

    # Steps 4 and 5.
    if not s_shaped:
        mt = angles[0, upper]
        tl = angles[n - 1, lower]
    elif inferior[upper, _ROW] + inferior[lower, _ROW] < height:
        mt = angles[upper, : upper + 1].max()
        tl = angles[lower, lower:].max()
    else:
        above_upper = angles[upper, : upper + 1]
        p = int(np.argmax(above_upper))
        mt = above_upper[p]
        tl = angles[p, : p + 1].max()

    pt_deg, mt_deg, tl_deg = (float(a / np.pi * 180) for a in (pt, mt, tl))
    return CoronalCobb(
        pt_deg=pt_deg,
        mt_deg=mt_deg,
        tl_deg=tl_deg,
        upper_index=upper,
        lower_index=lower,
        s_shaped=s_shaped,
    )


def _is_s_shaped(centres: NDArray[np.float64]) -> bool:
    """Apply the organisers' S-curve test to endplate centres, shape (N, 2) (row, col)."""
    first, last = centres[0], centres[-1]
    span = first - last
    if span[_ROW] == 0 or span[_COL] == 0:
        # The organisers divide by zero here; NaN makes their test report S-shaped.
        return True
    inner = centres[:-2] - last
    ll = inner[:, _ROW] / span[_ROW] - inner[:, _COL] / span[_COL]
    return bool(np.any(np.outer(ll, ll) < 0))


def _round_half_away(values: NDArray[np.float64], decimals: int) -> NDArray[np.float64]:
    """Round to ``decimals`` places, halves away from zero (MATLAB), not to even (numpy)."""
    scaled = values * 10.0**decimals
    whole = np.trunc(scaled)
    rounded = np.where(np.abs(scaled - whole) == 0.5, whole + np.sign(scaled), np.rint(scaled))
    return rounded / 10.0**decimals


def _validate_corners(corners: ArrayLike) -> NDArray[np.float64]:
    try:
        points = np.asarray(corners, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MeasureError(
            f"corners must be a numeric array of shape (n_vertebrae, 4, 2); {exc}"
        ) from exc
    if points.ndim != 3 or points.shape[1:] != (4, 2) or points.shape[0] < _MIN_VERTEBRAE:
        raise MeasureError(
            f"corners must have shape (n_vertebrae, 4, 2) with n_vertebrae >= {_MIN_VERTEBRAE}, "
            f"(row, col) points in the order {', '.join(_AP4_POINTS)}; got shape {points.shape}"
        )
    bad = ~np.isfinite(points)
    if bad.any():
        vertebra, point, _ = (int(i) for i in np.argwhere(bad)[0])
        raise MeasureError(
            f"vertebra {vertebra} (0-based), point {_AP4_POINTS[point]}: corners must be "
            "finite; got NaN or infinity (place the missing landmark or leave the vertebra out)"
        )
    return points


def _validate_height(image_height: float) -> float:
    try:
        height = float(image_height)
    except (TypeError, ValueError) as exc:
        raise MeasureError(
            f"image_height must be a number of pixel rows; got {image_height!r}"
        ) from exc
    if not np.isfinite(height) or height <= 0:
        raise MeasureError(f"image_height must be a positive number of pixel rows; got {height}")
    return height


def _validate_spacing(spacing: Sequence[float]) -> NDArray[np.float64]:
    try:
        scale = np.asarray(spacing, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MeasureError(f"spacing must be (row_mm, col_mm); got {spacing!r}") from exc
    if scale.shape != (2,) or not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise MeasureError(
            f"spacing must be two positive finite numbers (row_mm, col_mm); got {spacing!r} "
            "(without a calibration, use the default (1.0, 1.0): angles need only the pixel "
            "aspect ratio)"
        )
    return scale
