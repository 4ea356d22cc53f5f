"""Vectorized geometric primitives in millimetre space.

All functions take arrays whose last axis holds ``(row, col)`` and broadcast over the
leading axes, so a whole cohort is measured in one call. Convert pixels with
:func:`to_mm` first: distances and angles are only right in mm space when pixels are not
square. Degenerate input (coincident points, NaN) gives NaN here; the single-value API in
:mod:`kyphoimg.measure` turns NaN into an error that names the level and point.

Sign convention (``docs/measures.md``, "Sign convention"): kyphosis positive, lordosis
negative. For two endplate lines, each directed from its posterior to its anterior point,
the angle is positive when their anterior ends converge. Which image side is anterior
comes from the point labels, so films facing left and right give the same signed value.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "cobb_deg",
    "cross2",
    "distance",
    "nanmean_pair",
    "to_mm",
]


def to_mm(points_px: ArrayLike, spacing: ArrayLike) -> np.ndarray:
    """Scale ``(row, col)`` pixel coordinates to millimetres.

    Parameters
    ----------
    points_px : (..., 2) array_like
        Points as (row, col) in pixels.
    spacing : (..., 2) array_like
        ``(row_mm, col_mm)``, broadcast against ``points_px``.

    Returns
    -------
    (..., 2) ndarray
        Points as (row, col) in mm.

    Examples
    --------
    >>> to_mm([[10.0, 10.0]], [0.2, 0.1]).tolist()
    [[2.0, 1.0]]
    """
    return np.asarray(points_px, dtype=float) * np.asarray(spacing, dtype=float)


def distance(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Euclidean distance between point arrays along the last axis.

    Parameters
    ----------
    a, b : (..., 2) array_like
        Points (row, col).

    Returns
    -------
    (...) ndarray
        Distances, NaN where a coordinate is NaN.

    Examples
    --------
    >>> float(distance([0.0, 0.0], [3.0, 4.0]))
    5.0
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return np.hypot(d[..., 0], d[..., 1])


def cross2(u: ArrayLike, v: ArrayLike) -> np.ndarray:
    """2-D cross product ``u_row * v_col - u_col * v_row`` along the last axis.

    Parameters
    ----------
    u, v : (..., 2) array_like
        Vectors as (row, col), broadcast against each other.

    Returns
    -------
    (...) ndarray
        ``|u| |v| sin(theta)``, in the squared unit of the inputs (mm² for mm vectors),
        where ``theta`` is the turn from ``u`` to ``v``: positive when it goes the way
        from the row axis to the column axis (counter-clockwise on a displayed image,
        rows running down). NaN where a coordinate is NaN.

    Examples
    --------
    >>> float(cross2([1.0, 0.0], [0.0, 1.0]))
    1.0
    """
    u = np.asarray(u, dtype=float)
    v = np.asarray(v, dtype=float)
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.hypot(v[..., 0], v[..., 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n[..., None] > 0, v / n[..., None], np.nan)


def nanmean_pair(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Mean of two arrays where neither is NaN, the non-NaN value where one is, else NaN.

    Parameters
    ----------
    a, b : array_like
        Values to average, broadcast against each other (e.g. the heights of a
        vertebra's cranial and caudal neighbours, NaN where a neighbour is absent).

    Returns
    -------
    ndarray
        Float array of the broadcast shape: ``(a + b) / 2`` where neither is NaN, ``a``
        where only ``b`` is NaN, ``b`` where only ``a`` is NaN, and NaN where both are.

    Examples
    --------
    >>> nanmean_pair([1.0, np.nan, np.nan], [3.0, 2.0, np.nan]).tolist()
    [2.0, 2.0, nan]
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.where(np.isnan(a), b, np.where(np.isnan(b), a, (a + b) / 2))


def cobb_deg(
    upper_post: ArrayLike,
    upper_ant: ArrayLike,
    lower_post: ArrayLike,
    lower_ant: ArrayLike,
) -> np.ndarray:
    """Signed angle between an upper and a lower endplate line, in degrees.

    Each endplate is given by its posterior and anterior points (mm space). The result
    is positive (kyphosis) when the anterior ends of the two lines converge and negative
    (lordosis) when they diverge; it does not depend on which image side is anterior,
    on rotation or on translation of the film.

    Parameters
    ----------
    upper_post, upper_ant : (..., 2) array_like
        Posterior and anterior points of the upper (cranial) endplate.
    lower_post, lower_ant : (..., 2) array_like
        Posterior and anterior points of the lower (caudal) endplate.

    Returns
    -------
    (...) ndarray
        Angle in degrees in (-180, 180]; NaN for degenerate input.

    Notes
    -----
    With endplate directions ``d_u``, ``d_l`` (posterior to anterior) the unsigned turn
    from ``d_l`` to ``d_u`` is ``atan2(d_l x d_u, d_l . d_u)``. Its sign in the image
    depends on whether the film faces left or right, so it is multiplied by the
    handedness of the anatomical frame: ``sign(a x c)`` with ``a`` the mean anterior
    direction and ``c`` the caudal direction (upper endplate centre to lower endplate
    centre). The result is the angle measured in the patient's own (anterior, caudal)
    frame, which is what a Cobb angle means. Because the caudal direction is read from
    the lines' positions, passing the two lines in the other order returns the same
    anatomical angle; :func:`kyphoimg.measure.cobb_angle`, which knows the level labels,
    negates it when the caudal endplate is named first.

    Examples
    --------
    Film facing right (anterior at larger column); the lower endplate's anterior end
    rises by 10 degrees, so the anterior ends converge: 10 degrees of kyphosis.

    >>> import numpy as np
    >>> t = np.radians(10)
    >>> up_p, up_a = [0.0, 0.0], [0.0, 40.0]
    >>> lo_p, lo_a = [30.0, 0.0], [30.0 - 40 * np.sin(t), 40 * np.cos(t)]
    >>> round(float(cobb_deg(up_p, up_a, lo_p, lo_a)), 9)
    10.0
    """
    up_p = np.asarray(upper_post, dtype=float)
    up_a = np.asarray(upper_ant, dtype=float)
    lo_p = np.asarray(lower_post, dtype=float)
    lo_a = np.asarray(lower_ant, dtype=float)
    d_u = _unit(up_a - up_p)
    d_l = _unit(lo_a - lo_p)
    turn = np.arctan2(cross2(d_l, d_u), np.sum(d_l * d_u, axis=-1))
    caudal = (lo_p + lo_a) / 2 - (up_p + up_a) / 2
    anterior = d_u + d_l
    hand = np.sign(cross2(anterior, caudal))
    with np.errstate(invalid="ignore"):
        out = np.degrees(turn) * hand
    return np.where(hand == 0, np.nan, out)
