"""Edge evidence around one vertebra: a rectified patch, its derivatives, line searches.

A vertebra is handled in its own frame: ``t`` runs along the endplates from the ``a`` side
(image left on AP films, posterior on lateral ones) to the ``b`` side, ``s`` runs caudal,
perpendicular to ``t``. The image is resampled on that frame (:func:`vertebra_patch`), so
the endplates run along the patch's columns and the walls along its rows whatever the
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
#: Tukey biweight tuning constant (95 % efficiency at the normal).
_TUKEY = 4.685


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
    """Return the frame of a vertebra from its corners ``[a_sup, b_sup, a_inf, b_inf]``.

    Missing corners are NaN. With only the superior pair (S1) the height is taken as half
    the width and caudal as down the image. Returns None when the corners define no frame
    (a superior corner missing, or coincident corners).
    """
    c = np.asarray(corners, dtype=float)
    ok = ~np.isnan(c).any(axis=1)
    if not (ok[0] and ok[1]):
        return None
    if ok[2] and ok[3]:
        a, b = (c[0] + c[2]) / 2, (c[1] + c[3]) / 2
        width = float(np.linalg.norm(c[1] - c[0]) + np.linalg.norm(c[3] - c[2])) / 2
        down: Float | None = (c[2] + c[3] - c[0] - c[1]) / 2
        height = float(np.linalg.norm(c[2] - c[0]) + np.linalg.norm(c[3] - c[1])) / 2
    else:
        a, b = c[0], c[1]
        width = float(np.linalg.norm(b - a))
        down = None
        height = width / 2
    v = b - a
    length = float(np.hypot(*v))
    if length <= 1e-6 or width <= 1e-6 or height <= 1e-6:
        return None
    u = v / length
    n = np.array([-u[1], u[0]])
    if (down is not None and float(down @ n) < 0) or (down is None and n[0] < 0):
        n = -n
    centre = c[ok].mean(axis=0)
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
        Derivatives along ``s`` (axis 0 of the patch) and ``t`` (axis 1), in units of the
        patch's median gradient magnitude, so scores compare across films and exposures.
    values : ndarray
        The resampled intensities.
    """

    step: float
    t0: float
    s0: float
    d_s: Float
    d_t: Float
    values: Float

    def to_samples(self, local: Float) -> Float:
        """Local (t, s) pixels -> fractional sample indices (x along t, y along s)."""
        local = np.asarray(local, dtype=float)
        return np.stack(
            [(local[..., 0] - self.t0) / self.step, (local[..., 1] - self.s0) / self.step], -1
        )

    def to_local(self, samples: Float) -> Float:
        """Fractional sample indices -> local (t, s) pixels."""
        samples = np.asarray(samples, dtype=float)
        return np.stack(
            [samples[..., 0] * self.step + self.t0, samples[..., 1] * self.step + self.s0], -1
        )


def vertebra_patch(image: npt.NDArray[np.generic], frame: Frame, reach: float) -> Patch | None:
    """Resample ``image`` around a vertebra, ``reach`` pixels beyond its corners.

    Only the patch's bounding box is converted to float and smoothed (against aliasing
    when the sampling step exceeds 1.5 pixels). Returns None when the patch leaves the
    image or has no contrast at all.
    """
    import cv2
    from scipy.ndimage import gaussian_filter

    step = frame.width / SAMPLES_PER_WIDTH
    half_t = frame.width / 2 + reach + 3 * step
    half_s = frame.height / 2 + reach + 3 * step
    t = -half_t + step * np.arange(int(np.ceil(2 * half_t / step)) + 1)
    s = -half_s + step * np.arange(int(np.ceil(2 * half_s / step)) + 1)
    tt, ss = np.meshgrid(t, s)
    rows = frame.centre[0] + tt * frame.u[0] + ss * frame.n[0]
    cols = frame.centre[1] + tt * frame.u[1] + ss * frame.n[1]
    pad = int(np.ceil(3 * step)) + 2
    r0 = max(int(np.floor(rows.min())) - pad, 0)
    r1 = min(int(np.ceil(rows.max())) + pad + 1, image.shape[0])
    c0 = max(int(np.floor(cols.min())) - pad, 0)
    c1 = min(int(np.ceil(cols.max())) + pad + 1, image.shape[1])
    if r1 - r0 < 2 or c1 - c0 < 2:
        return None
    crop = np.ascontiguousarray(image[r0:r1, c0:c1], dtype=np.float32)
    if step > 1.5:
        crop = np.asarray(
            cv2.GaussianBlur(crop, (0, 0), sigmaX=0.5 * step, sigmaY=0.5 * step), np.float32
        )
    values = cv2.remap(
        crop,
        (cols - c0).astype(np.float32),
        (rows - r0).astype(np.float32),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float64)
    spread = float(np.percentile(values, 99) - np.percentile(values, 1))
    if not spread > 0:
        return None
    d_s = gaussian_filter(values, DERIVATIVE_SIGMA, order=(1, 0), mode="nearest")
    d_t = gaussian_filter(values, DERIVATIVE_SIGMA, order=(0, 1), mode="nearest")
    scale = max(float(np.median(np.hypot(d_s, d_t))), 1e-3 * spread / DERIVATIVE_SIGMA)
    return Patch(
        step=step, t0=float(t[0]), s0=float(s[0]), d_s=d_s / scale, d_t=d_t / scale, values=values
    )


@dataclass(frozen=True)
class Line:
    """The best edge line found near a segment: the offsets of its two ends and its score."""

    d0: float
    d1: float
    score: float


def best_line(
    grad: Float,
    start: tuple[float, float],
    end: tuple[float, float],
    radius: float,
    polarity: float,
    *,
    inner: tuple[float, float],
    prior: float,
    clip: float = 4.0,
    fit_reach: float = 3.0,
) -> Line | None:
    """Find the edge line of strongest signed derivative near a segment, then refit it.

    The segment runs along axis 1 of ``grad`` from ``start = (x0, y0)`` to ``end = (x1,
    y1)``, in samples. Search: candidate lines join ``(x0, y0 + d0)`` and ``(x1, y1 +
    d1)`` for whole-sample offsets ``d0, d1`` in ``[-radius, radius]``; a line's score
    is the mean of ``polarity * grad`` over the ``inner`` part of its length, each sample
    clipped to ``[-clip, clip]`` so one bright crossing structure cannot carry it, minus
    ``prior * (d0**2 + d1**2) / (2 radius**2)`` (a gentle preference for the nearest
    edge). Refit: :func:`_irls` fits a curve to the per-column peaks near the best line
    (``fit_reach`` samples) and reads its ends. Returns None when the segment is too short.
    """
    (x0, y0), (x1, y1) = start, end
    flipped = x1 < x0
    if flipped:
        x0, y0, x1, y1 = x1, y1, x0, y0
    span = x1 - x0
    ny, nx = grad.shape
    xs = np.arange(int(np.ceil(x0 + inner[0] * span)), int(np.floor(x0 + inner[1] * span)) + 1)
    xs = xs[(xs >= 0) & (xs < nx)]
    if span < 4 or xs.size < 4:
        return None
    lam = (xs - x0) / span
    base = y0 + lam * (y1 - y0)
    d = np.arange(-int(np.ceil(radius)), int(np.ceil(radius)) + 1, dtype=float)
    y = base[None, None, :] + d[:, None, None] * (1 - lam) + d[None, :, None] * lam
    y = np.clip(y, 0, ny - 1.001)
    iy = np.floor(y).astype(int)
    fy = y - iy
    col = grad[:, xs]
    k = np.arange(xs.size)
    vals = col[iy, k] * (1 - fy) + col[iy + 1, k] * fy
    score = np.clip(polarity * vals, -clip, clip).mean(axis=-1)
    score -= prior * (d[:, None] ** 2 + d[None, :] ** 2) / (2 * max(radius, 1.0) ** 2)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    best = float(score[i, j])
    d0, d1 = _irls(grad, xs, lam, base, (d[i], d[j]), polarity, clip, fit_reach)
    d0, d1 = float(np.clip(d0, -radius, radius)), float(np.clip(d1, -radius, radius))
    return Line(d1, d0, best) if flipped else Line(d0, d1, best)


def _column_peaks(
    grad: Float, xs: npt.NDArray[np.int_], y_line: Float, polarity: float, reach: float
) -> tuple[Float, Float]:
    """Per column, the sub-sample row of the strongest signed derivative near ``y_line``.

    Returns the rows and the peak strengths (0 where the peak sits at the window's edge,
    i.e. is no local maximum).
    """
    ny = grad.shape[0]
    r = int(np.ceil(reach))
    offs = np.arange(-r, r + 1)
    yy = np.clip(np.rint(y_line)[:, None] + offs[None, :], 1, ny - 2).astype(int)
    vals = polarity * grad[yy, xs[:, None]]
    j = np.argmax(vals, axis=1)
    k = np.arange(xs.size)
    yi = yy[k, j]
    v0, v1, v2 = (polarity * grad[yi + o, xs] for o in (-1, 0, 1))
    den = v0 - 2 * v1 + v2
    safe = np.where(den < 0, den, -1.0)
    frac = np.where(den < 0, np.clip(0.5 * (v0 - v2) / safe, -0.5, 0.5), 0.0)
    strength = np.where((j > 0) & (j < offs.size - 1), np.maximum(vals[k, j], 0.0), 0.0)
    return yi + frac, strength


def _irls(
    grad: Float,
    xs: npt.NDArray[np.int_],
    lam: Float,
    base: Float,
    start: tuple[float, float],
    polarity: float,
    clip: float,
    reach: float,
) -> tuple[float, float]:
    """Refit an edge to its per-column peaks by iteratively reweighted least squares.

    The model is the segment's end offsets plus a bulge ``lam * (1 - lam)`` (endplates
    are concave and walls waisted, so a straight line through the middle would miss the
    corners); weights are the peak strengths times Tukey's biweight of the residual
    (scale from the median absolute residual), three iterations. Falls back to ``start``
    when fewer than four peaks are usable or the fit strays beyond ``reach``.
    """
    d0, d1 = start
    rows, strength = _column_peaks(grad, xs, base + d0 * (1 - lam) + d1 * lam, polarity, reach)
    peak = rows - base
    weight = np.minimum(strength, clip)
    if np.count_nonzero(weight) < 4:
        return d0, d1
    design = np.stack([1 - lam, lam, lam * (1 - lam)], axis=1)
    sol = np.array([d0, d1, 0.0])
    for _ in range(3):
        res = peak - design @ sol
        scale = 1.4826 * float(np.median(np.abs(res[weight > 0]))) + 0.25
        u = res / (_TUKEY * scale)
        ww = weight * np.where(np.abs(u) < 1, (1 - u**2) ** 2, 0.0)
        if np.count_nonzero(ww) < 4:
            break
        sw = np.sqrt(ww)
        sol = np.linalg.lstsq(design * sw[:, None], peak * sw, rcond=None)[0]
    if abs(sol[0] - d0) > reach or abs(sol[1] - d1) > reach:
        return d0, d1
    return float(sol[0]), float(sol[1])


def edge_near(
    grad: Float, x: float, y: float, half: float, reach: float, polarity: float
) -> tuple[float, float] | None:
    """Find the strongest signed edge along axis 0 near ``(x, y)``, averaged over columns.

    Columns ``x - half .. x + half`` are averaged into one profile, searched within
    ``reach`` samples of ``y``. Returns the edge's row (sub-sample) and its strength, or
    None when the window leaves the patch.
    """
    ny, nx = grad.shape
    c0, c1 = int(np.floor(x - half)), int(np.ceil(x + half)) + 1
    r0, r1 = int(np.floor(y - reach)), int(np.ceil(y + reach)) + 1
    if c0 < 0 or c1 > nx or r0 < 1 or r1 > ny - 1:
        return None
    profile = polarity * grad[r0 - 1 : r1 + 1, c0:c1].mean(axis=1)
    i = int(np.argmax(profile[1:-1])) + 1
    den = profile[i - 1] - 2 * profile[i] + profile[i + 1]
    frac = (
        float(np.clip(0.5 * (profile[i - 1] - profile[i + 1]) / den, -0.5, 0.5)) if den < 0 else 0.0
    )
    return r0 - 1 + i + frac, float(profile[i])


def symmetry_axis(
    values: Float, x_centre: float, rows: tuple[float, float], radius: float, half: float
) -> tuple[float, float] | None:
    """Find the column about which a band of the patch is most nearly mirror-symmetric.

    The band spans ``rows``; candidate axes lie within ``radius`` samples of
    ``x_centre``; each compares ``half`` samples on either side (normalised
    cross-correlation of one side with the other mirrored, after removing the slow
    trend). Returns the axis (sub-sample) and its correlation, or None.
    """
    from scipy.ndimage import gaussian_filter

    ny, nx = values.shape
    r0, r1 = max(int(np.floor(rows[0])), 0), min(int(np.ceil(rows[1])) + 1, ny)
    h, r = int(round(half)), int(np.ceil(radius))
    if r1 - r0 < 3 or h < 3:
        return None
    band = values[r0:r1]
    band = band - gaussian_filter(band, max(h / 3, 2.0), mode="nearest")
    centre = int(round(x_centre))
    offsets = np.arange(-r, r + 1)
    scores = np.full(offsets.size, -1.0)
    k = np.arange(h)
    for i, off in enumerate(offsets):
        left, right = centre + off - 1 - k, centre + off + 1 + k
        if left[-1] < 0 or right[-1] >= nx:
            continue
        a = band[:, left].ravel()
        b = band[:, right].ravel()
        a = a - a.mean()
        b = b - b.mean()
        den = float(np.sqrt((a @ a) * (b @ b)))
        scores[i] = float(a @ b) / den if den > 0 else 0.0
    i = int(np.argmax(scores))
    if scores[i] <= -1.0:
        return None
    frac = 0.0
    if 0 < i < offsets.size - 1 and min(scores[i - 1], scores[i + 1]) > -1.0:
        den = scores[i - 1] - 2 * scores[i] + scores[i + 1]
        if den < 0:
            frac = float(np.clip(0.5 * (scores[i - 1] - scores[i + 1]) / den, -0.5, 0.5))
    return centre + offsets[i] + frac, float(scores[i])
