"""The centres between two clicked vertebrae, found on the image (:func:`centres_between`)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt
from scipy.ndimage import map_coordinates

from ..landmarks import LEVELS, level_index
from ._api import _check_image
from ._centres import shape_model

Float = npt.NDArray[np.float64]

__all__ = ["centres_between"]

#: Lateral offsets searched, in centre spacings, and the step of the search grid.
_REACH, _STEP = 1.2, 0.05
#: Cost of a change of lateral offset between neighbours (per spacing), in score units.
_SMOOTH = 2.0


def _mean(img: Float, p: Float) -> Float:
    """Mean of the image over the last-but-one grid axes of points ``(n, ..., 2)``."""
    v = map_coordinates(img, [p[..., 0].ravel(), p[..., 1].ravel()], order=1, mode="nearest")
    return v.reshape(p.shape[:-1]).reshape(len(p), -1).mean(axis=1)


def _body_score(img: Float, pts: Float, along: Float, across: Float, s: float) -> Float:
    """Brightness of a body-sized box minus that of the disc bands above and below it."""
    b = np.linspace(-0.4, 0.4, 7)[:, None] * s * across  # (7, 2)
    a = np.linspace(-0.25, 0.25, 5)[:, None, None] * s * along  # (5, 1, 2)
    body = _mean(img, pts[:, None, None, :] + a + b)
    discs = [_mean(img, pts[:, None, :] + h * s * along + b) for h in (-0.5, 0.5)]
    return body - 0.5 * (discs[0] + discs[1])


def centres_between(
    image: npt.ArrayLike,
    first: tuple[str, Sequence[float]],
    last: tuple[str, Sequence[float]],
) -> dict[str, tuple[float, float]]:
    """Find the centres of the vertebrae between two clicked ones on the film.

    The levels between ``first`` and ``last`` are placed along the line joining the two
    clicks, spaced as the centres of the AASCE training films were (the step below each
    level relative to the mean step, ``shape_model()["steps"]``). Each is then moved
    across that line to the offset where a body-sized box is brightest against the disc
    bands above and below it, the offsets of neighbouring vertebrae kept together (a
    dynamic-programming path over offsets up to 1.2 spacings, penalising changes between
    neighbours), then along the line to the brightest such box within 0.3 spacings.

    Parameters
    ----------
    image : array_like, 2-D
        The film, bone bright.
    first, last : (str, (row, col))
        The clicked levels and centres (cranial and caudal ends, at least two levels apart).

    Returns
    -------
    dict
        ``{level: (row, col)}`` from ``first`` to ``last`` inclusive (the clicks kept).

    Raises
    ------
    ValueError
        If the levels are not in cranio-caudal order with one between, or coincide.
    """
    img = cv2.GaussianBlur(_check_image(image, "image").astype(np.float32), (0, 0), 2.0)
    img = img.astype(np.float64) / max(float(np.percentile(img, 99)), 1e-9)
    (lv0, c0), (lv1, c1) = first, last
    i0, i1 = level_index(lv0), level_index(lv1)
    if i1 - i0 < 2:
        raise ValueError(f"{lv0} and {lv1}: click two vertebrae with at least one between them")
    p0, p1 = np.asarray(c0, dtype=float), np.asarray(c1, dtype=float)
    d = p1 - p0
    length = float(np.hypot(*d))
    if length == 0:
        raise ValueError(f"{lv0} and {lv1} are clicked at the same place")
    along = d / length
    across = np.array([-along[1], along[0]])
    order = [lv for lv in LEVELS if i0 <= level_index(lv) <= i1]
    n = len(order) - 1
    s = length / n
    steps = shape_model()["steps"]
    w = np.array(
        [
            float(
                steps.get(
                    lv, steps[min(steps, key=lambda x: abs(level_index(x) - level_index(lv)))]
                )
            )
            for lv in order[:-1]
        ]
    )
    frac = np.cumsum(w)[:-1] / w.sum()
    base = p0 + frac[:, None] * d  # (n-1, 2): levels spaced as the training films' were
    offsets = np.arange(-_REACH, _REACH + 1e-9, _STEP)
    scores = np.stack(
        [_body_score(img, base + o * s * across, along, across, s) for o in offsets], axis=1
    )
    path = _best_path(scores, offsets)
    centres = base + offsets[path][:, None] * s * across
    shifts = np.arange(-0.3, 0.31, 0.05)
    along_scores = np.stack(
        [_body_score(img, centres + h * s * along, along, across, s) for h in shifts], axis=1
    )
    centres = centres + shifts[np.argmax(along_scores, axis=1)][:, None] * s * along
    out = {order[0]: (float(p0[0]), float(p0[1]))}
    for k, lv in enumerate(order[1:-1]):
        out[lv] = (float(centres[k, 0]), float(centres[k, 1]))
    out[order[-1]] = (float(p1[0]), float(p1[1]))
    return out


def _step(steps: dict[str, float], level: str) -> float:
    """Return the relative step below ``level`` (the nearest level's if the table has none)."""
    if level in steps:
        return float(steps[level])
    return float(steps[min(steps, key=lambda x: abs(level_index(x) - level_index(level)))])


def _best_path(scores: Float, offsets: Float) -> npt.NDArray[np.intp]:
    """Viterbi over offsets: maximise the scores minus the cost of changes between rows."""
    jump = _SMOOTH * np.abs(offsets[:, None] - offsets[None, :])
    # the ends are the clicks (offset 0): start and finish near them
    total = scores[0] - _SMOOTH * np.abs(offsets)
    back = np.zeros(scores.shape, dtype=np.intp)
    for k in range(1, len(scores)):
        cand = total[:, None] - jump
        back[k] = np.argmax(cand, axis=0)
        total = cand[back[k], np.arange(len(offsets))] + scores[k]
    total = total - _SMOOTH * np.abs(offsets)
    path = np.zeros(len(scores), dtype=np.intp)
    path[-1] = int(np.argmax(total))
    for k in range(len(scores) - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    return path
