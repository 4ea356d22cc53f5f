"""Edge evidence around one vertebra: a rectified patch, its derivatives, line searches.

A vertebra is handled in its own frame: ``t`` runs along the endplates from the ``a`` side
(image left on AP films, posterior on lateral ones) to the ``b`` side, ``s`` runs caudal,
perpendicular to ``t``. The image is resampled on that frame (:func:`vertebra_patch`), so
the endplates run along the patch's columns and the walls along its rows, whatever the
film's rotation or facing, and the sampling step is a fixed fraction of the vertebra's
width, so the same parameters serve films of any resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Float = npt.NDArray[np.float64]

#: Patch samples per vertebra width.
SAMPLES_PER_WIDTH = 64
#: Gaussian scale of the derivative filters, in samples.
DERIVATIVE_SIGMA = 1.2


@dataclass(frozen=True)
class Frame:
    """A vertebra's frame in image pixels (row, col).

    Attributes
    ----------
    centre : ndarray (2,)
        Origin, the mean of the corners.
    u : ndarray (2,)
        Unit vector along the endplates, from the ``a`` side to the ``b`` side.
    n : ndarray (2,)
        Unit vector perpendicular to ``u``, pointing caudal (superior to inferior).
    width, height : float
        Mean endplate length and mean wall length, in pixels.
    """

    centre: Float
    u: Float
    n: Float
    width: float
    height: float

    def to_local(self, points: Float) -> Float:
        """``(..., 2)`` image (row, col) -> ``(..., 2)`` local (t, s) in pixels."""
        d = np.asarray(points, dtype=float) - self.centre
        return np.stack([d @ self.u, d @ self.n], axis=-1)

    def to_image(self, local: Float) -> Float:
        """``(..., 2)`` local (t, s) in pixels -> image (row, col)."""
        local = np.asarray(local, dtype=float)
        return self.centre + local[..., :1] * self.u + local[..., 1:2] * self.n


def frame_of(corners: Float) -> Frame | None:
    """The frame of a vertebra from its corners ``[a_sup, b_sup, a_inf, b_inf]``.

    Missing corners are NaN; with only the superior pair (S1) the height is taken as
    half the width. Returns None when the corners do not define a frame.
    """
    c = np.asarray(corners, dtype=float)
    ok = ~np.isnan(c).any(axis=1)
    if ok[0] and ok[1] and ok[2] and ok[3]:
        a = (c[0] + c[2]) / 2
        b = (c[1] + c[3]) / 2
        width = (np.linalg.norm(c[1] - c[0]) + np.linalg.norm(c[3] - c[2])) / 2
        down = (c[2] + c[3] - c[0] - c[1]) / 2
        height = (np.linalg.norm(c[2] - c[0]) + np.linalg.norm(c[3] - c[1])) / 2
    elif ok[0] and ok[1]:
        a, b = c[0], c[1]
        width = float(np.linalg.norm(b - a))
        down = None
        height = width / 2
    else:
        return None
    v = b - a
    length = float(np.hypot(*v))
    if length <= 1e-6 or width <= 1e-6:
        return None
    u = v / length
    n = np.array([-u[1], u[0]])  # (row, col): rotate u by +90 degrees on screen
    if down is not None and float(down @ n) < 0:
        n = -n
    elif down is None and n[0] < 0:
        n = -n  # no inferior points: caudal is down the image
    centre = np.nanmean(c[ok], axis=0)
    return Frame(centre=centre, u=u, n=n, width=float(width), height=float(height))


@dataclass(frozen=True)
class Patch:
    """The image resampled on a vertebra's frame, with its derivatives.

    Attributes
    ----------
    step : float
        Pixels per sample.
    t0, s0 : float
        Local coordinates (pixels) of sample ``[0, 0]``.
    d_s, d_t : ndarray
        Derivatives along ``s`` (rows of the patch) and ``t`` (columns), per sample, in
        units of the patch's typical gradient (so scores compare across films).
    """

    step: float
    t0: float
    s0: float
    d_s: Float
    d_t: Float
    values: Float

    def to_samples(self, local: Float) -> Float:
        """Local (t, s) pixels -> fractional sample indices (x = column, y = row)."""
        local = np.asarray(local, dtype=float)
        return np.stack(
            [(local[..., 0] - self.t0) / self.step, (local[..., 1] - self.s0) / self.step], -1
        )


def vertebra_patch(
    image: npt.NDArray[np.floating], frame: Frame, reach: float
) -> Patch | None:
    """Resample ``image`` (float32, 2-D) around a vertebra, ``reach`` pixels beyond it.

    Returns None when the patch has no contrast at all.
    """
    import cv2
    from scipy.ndimage import gaussian_filter

    step = frame.width / SAMPLES_PER_WIDTH
    half_t = frame.width / 2 + reach + 3 * step
    half_s = frame.height / 2 + reach + 3 * step
    nt = int(np.ceil(2 * half_t / step)) + 1
    ns = int(np.ceil(2 * half_s / step)) + 1
    t = -half_t + step * np.arange(nt)
    s = -half_s + step * np.arange(ns)
    tt, ss = np.meshgrid(t, s)
    rows = frame.centre[0] + tt * frame.u[0] + ss * frame.n[0]
    cols = frame.centre[1] + tt * frame.u[1] + ss * frame.n[1]
    # Crop the image to the patch's bounding box, blur against aliasing, then remap.
    pad = int(np.ceil(3 * step)) + 2
    r0 = max(int(np.floor(rows.min())) - pad, 0)
    r1 = min(int(np.ceil(rows.max())) + pad + 1, image.shape[0])
    c0 = max(int(np.floor(cols.min())) - pad, 0)
    c1 = min(int(np.ceil(cols.max())) + pad + 1, image.shape[1])
    if r1 - r0 < 2 or c1 - c0 < 2:
        return None
    crop = np.ascontiguousarray(image[r0:r1, c0:c1], dtype=np.float32)
    if step > 1.5:
        sigma = 0.5 * step
        crop = cv2.GaussianBlur(crop, (0, 0), sigmaX=sigma, sigmaY=sigma)
    patch = cv2.remap(
        crop,
        (cols - c0).astype(np.float32),
        (rows - r0).astype(np.float32),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float64)
    d_s = gaussian_filter(patch, DERIVATIVE_SIGMA, order=(1, 0), mode="nearest")
    d_t = gaussian_filter(patch, DERIVATIVE_SIGMA, order=(0, 1), mode="nearest")
    scale = float(np.median(np.hypot(d_s, d_t)))
    spread = float(np.percentile(patch, 99) - np.percentile(patch, 1))
    if spread <= 0:
        return None
    scale = max(scale, 1e-3 * spread / DERIVATIVE_SIGMA)
    return Patch(
        step=step,
        t0=float(t[0]),
        s0=float(s[0]),
        d_s=d_s / scale,
        d_t=d_t / scale,
        values=patch,
    )


@dataclass(frozen=True)
class Line:
    """The best line found near a segment: offsets of its two ends and its score."""

    d0: float
    d1: float
    score: float


def best_line(
    grad: Float,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    radius: float,
    polarity: float,
    *,
    inner: tuple[float, float] = (0.12, 0.88),
    clip: float = 4.0,
    prior: float = 0.0,
    hole: tuple[float, float] | None = None,
    fit: float = 0.0,
) -> Line | None:
    """Search the line of strongest signed derivative near a segment.

    The segment runs along axis 1 of ``grad`` (x) from ``(x0, y0)`` to ``(x1, y1)``, in
    samples. Candidate lines join ``(x0, y0 + d0)`` and ``(x1, y1 + d1)`` for offsets
    ``d0, d1`` in ``[-radius, radius]`` (whole samples, then refined to a fraction by a
    parabola); a line's score is the mean of ``polarity * grad`` along its inner part
    (each sample clipped to ``[-clip, clip]``, so one bright crossing structure cannot
    carry it) minus ``prior * (d0**2 + d1**2) / (2 radius**2)``.
    """
    if x1 < x0:
        x0, y0, x1, y1 = x1, y1, x0, y0
        flipped = True
    else:
        flipped = False
    span = x1 - x0
    if span < 4:
        return None
    ny, nx = grad.shape
    xs = np.arange(int(np.ceil(x0 + inner[0] * span)), int(np.floor(x0 + inner[1] * span)) + 1)
    xs = xs[(xs >= 0) & (xs < nx)]
    if hole is not None:
        lam_all = (xs - x0) / span
        xs = xs[(lam_all < hole[0]) | (lam_all > hole[1])]
    if xs.size < 3:
        return None
    lam = (xs - x0) / span
    base = y0 + lam * (y1 - y0)
    r = int(np.ceil(radius))
    d = np.arange(-r, r + 1, dtype=float)
    # y[i, j, k] for offsets d[i] (start), d[j] (end), column xs[k]
    y = base[None, None, :] + d[:, None, None] * (1 - lam) + d[None, :, None] * lam
    y = np.clip(y, 0, ny - 1.001)
    iy = np.floor(y).astype(int)
    fy = y - iy
    col = grad[:, xs]
    k = np.arange(xs.size)
    vals = col[iy, k] * (1 - fy) + col[iy + 1, k] * fy
    score = np.clip(polarity * vals, -clip, clip).mean(axis=-1)
    if prior:
        score = score - prior * (d[:, None] ** 2 + d[None, :] ** 2) / (2 * max(radius, 1) ** 2)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    best = float(score[i, j])
    di = d[i] + _parabola(score[max(i - 1, 0) : i + 2, j], i)
    dj = d[j] + _parabola(score[i, max(j - 1, 0) : j + 2], j)
    di, dj = float(np.clip(di, -radius, radius)), float(np.clip(dj, -radius, radius))
    if fit:
        di, dj = _irls(grad, xs, lam, base, di, dj, polarity, clip, fit)
        di, dj = float(np.clip(di, -radius, radius)), float(np.clip(dj, -radius, radius))
    return Line(dj, di, best) if flipped else Line(di, dj, best)


def _irls(
    grad: Float,
    xs: npt.NDArray[np.int_],
    lam: Float,
    base: Float,
    d0: float,
    d1: float,
    polarity: float,
    clip: float,
    reach: float,
) -> tuple[float, float]:
    """Refit a line to per-column edge peaks near it (iteratively reweighted least squares).

    In each column the strongest signed derivative within ``reach`` samples of the line
    is located to a fraction of a sample; a straight line is fitted to these peaks with
    weights from the peak strength and Tukey's biweight of the residual (scale from the
    median absolute residual), three times.
    """
    ny = grad.shape[0]
    r = int(np.ceil(reach))
    offs = np.arange(-r, r + 1)
    y_line = base + d0 * (1 - lam) + d1 * lam
    yy = np.clip(np.rint(y_line)[:, None] + offs[None, :], 1, ny - 2).astype(int)
    vals = polarity * grad[yy, xs[:, None]]
    j = np.argmax(vals, axis=1)
    k = np.arange(xs.size)
    yi = yy[k, j]
    strength = np.clip(vals[k, j], 0, clip)
    v0 = polarity * grad[yi - 1, xs]
    v1 = polarity * grad[yi, xs]
    v2 = polarity * grad[yi + 1, xs]
    den = v0 - 2 * v1 + v2
    frac = np.where(den < 0, np.clip(0.5 * (v0 - v2) / np.where(den < 0, den, -1), -0.5, 0.5), 0)
    peak = yi + frac - base  # offset of each column's peak from the original segment
    inside = (j > 0) & (j < offs.size - 1) & (strength > 0)
    if inside.sum() < 4:
        return d0, d1
    a = np.stack([1 - lam, lam], axis=1)
    w = strength * inside
    sol = np.array([d0, d1])
    for _ in range(3):
        res = peak - a @ sol
        scale = 1.4826 * np.median(np.abs(res[w > 0])) + 0.25
        u = res / (4.685 * scale)
        ww = w * np.where(np.abs(u) < 1, (1 - u**2) ** 2, 0.0)
        if ww.sum() <= 0 or np.count_nonzero(ww) < 4:
            break
        sw = np.sqrt(ww)
        sol = np.linalg.lstsq(a * sw[:, None], peak * sw, rcond=None)[0]
    if abs(sol[0] - d0) > reach or abs(sol[1] - d1) > reach:
        return d0, d1
    return float(sol[0]), float(sol[1])


def _parabola(v: Float, index: int) -> float:
    """Sub-sample offset of a maximum from three values (0 at an edge of the range)."""
    if v.size != 3 or index == 0:
        return 0.0
    denom = v[0] - 2 * v[1] + v[2]
    if denom >= 0:
        return 0.0
    return float(np.clip(0.5 * (v[0] - v[2]) / denom, -0.5, 0.5))


def symmetry_axis(
    values: Float, x_centre: float, y0: float, y1: float, radius: float, half: float
) -> tuple[float, float] | None:
    """The column about which a band of the patch is most nearly mirror-symmetric.

    The band spans rows ``y0..y1``; candidate axes lie within ``radius`` samples of
    ``x_centre``; each compares ``half`` samples on either side (normalised
    cross-correlation of the two sides, one mirrored, after removing the slow trend).
    Returns the axis (in samples, sub-sample) and its correlation, or None.
    """
    from scipy.ndimage import gaussian_filter

    ny, nx = values.shape
    r0, r1 = max(int(np.floor(y0)), 0), min(int(np.ceil(y1)) + 1, ny)
    h = int(round(half))
    r = int(np.ceil(radius))
    if r1 - r0 < 3 or h < 3:
        return None
    band = values[r0:r1]
    band = band - gaussian_filter(band, max(h / 3, 2.0), mode="nearest")
    centre = int(round(x_centre))
    offsets = np.arange(-r, r + 1)
    scores = np.full(offsets.size, -np.inf)
    k = np.arange(h)
    for i, d in enumerate(offsets):
        c = centre + d
        left, right = c - 1 - k, c + 1 + k
        if left[-1] < 0 or right[-1] >= nx:
            continue
        a = band[:, left].ravel()
        b = band[:, right].ravel()
        a = a - a.mean()
        b = b - b.mean()
        den = float(np.sqrt((a @ a) * (b @ b)))
        scores[i] = float(a @ b) / den if den > 0 else 0.0
    if not np.isfinite(scores).any():
        return None
    i = int(np.argmax(scores))
    frac = _parabola(scores[max(i - 1, 0) : i + 2], i) if np.isfinite(scores[max(i - 1, 0) : i + 2]).all() else 0.0
    return centre + offsets[i] + frac, float(scores[i])
