"""Refinement of vertebral corners on one film from its endplate and wall edges."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ._edges import Frame, Patch, best_line, frame_of, symmetry_axis, vertebra_patch

Float = npt.NDArray[np.float64]

#: Default bound on any point's move, as a fraction of its vertebra's width.
BOUND_FRACTION = 0.3


@dataclass(frozen=True)
class Params:
    """Tuning of the refinement (defaults chosen on the development films)."""

    bound_fraction: float = BOUND_FRACTION
    conf_lo: float = 0.6
    conf_hi: float = 2.0
    prior: float = 0.3
    sigma_shared: float = 0.08
    sigma_own: float = 0.05
    sigma_line: float = 0.04
    sigma_wall: float = 0.04
    sigma_sym: float = 0.05
    sym_lo: float = 0.3
    sym_half: float = 0.7
    inset: dict[str, float] = field(default_factory=dict)
    use_walls: bool = True
    fit: float = 0.0
    use_symmetry: bool = False
    end_inner: tuple[float, float] = (0.12, 0.88)
    wall_inner: tuple[float, float] = (0.12, 0.88)


def _conf(score: float, p: Params) -> float:
    return float(np.clip((score - p.conf_lo) / (p.conf_hi - p.conf_lo), 0.0, 1.0))


@dataclass
class _Evidence:
    """Measurements of corner coordinates (patch samples) with their weights.

    ``rows`` are (axis, coefficient vector over the 4 corners, value, sigma, confidence).
    """

    rows: list[tuple[int, Float, float, float, float]] = field(default_factory=list)


def _lines(patch: Patch, x: Float, radius: float, w: float, p: Params, ev: _Evidence) -> None:
    """Endplate and wall lines: each gives one coordinate of two corners."""
    a_sup, b_sup, a_inf, b_inf = x
    has_inf = not np.isnan(x[2:]).any()
    specs = [("sup", 0, 1, 1.0)]
    if has_inf:
        specs.append(("inf", 2, 3, -1.0))
    for name, i, j, pol in specs:
        e0, e1 = x[i], x[j]
        line = best_line(
            patch.d_s, e0[0], e0[1], e1[0], e1[1], radius, pol, prior=p.prior, inner=p.end_inner, fit=p.fit
        )
        if line is None:
            continue
        c = _conf(line.score, p)
        inset = p.inset.get(name, 0.0) * w * pol
        for k, d in ((i, line.d0), (j, line.d1)):
            coef = np.zeros(4)
            coef[k] = 1.0
            ev.rows.append((1, coef, x[k, 1] + d + inset, p.sigma_line * w, c))
    if not (has_inf and p.use_walls):
        return
    for name, i, j, pol in (("a", 0, 2, 1.0), ("b", 1, 3, -1.0)):
        e0, e1 = x[i], x[j]
        line = best_line(
            patch.d_t.T, e0[1], e0[0], e1[1], e1[0], radius, pol, prior=p.prior, inner=p.wall_inner, fit=p.fit
        )
        if line is None:
            continue
        c = _conf(line.score, p)
        inset = p.inset.get(name, 0.0) * w * pol
        for k, d in ((i, line.d0), (j, line.d1)):
            coef = np.zeros(4)
            coef[k] = 1.0
            ev.rows.append((0, coef, x[k, 0] + d + inset, p.sigma_wall * w, c))


def _symmetry(patch: Patch, x: Float, radius: float, w: float, p: Params, ev: _Evidence) -> None:
    """The vertebra's mirror axis (AP films): the mean of the four ``t`` coordinates."""
    if np.isnan(x).any():
        return
    got = symmetry_axis(
        patch.values,
        float(x[:, 0].mean()),
        float(x[:2, 1].mean()),
        float(x[2:, 1].mean()),
        radius,
        p.sym_half * w,
    )
    if got is None:
        return
    axis, score = got
    c = float(np.clip((score - p.sym_lo) / (1 - p.sym_lo), 0.0, 1.0))
    ev.rows.append((0, np.full(4, 0.25), axis, p.sigma_sym * w, c))


def _fuse(x: Float, ev: _Evidence, w: float, p: Params) -> tuple[Float, Float]:
    """Gaussian fusion of the input corners (prior) with the measurements, per axis.

    The prior says the corners' errors are one shared shift (``sigma_shared``) plus each
    corner's own (``sigma_own``); a measurement of confidence ``c`` has standard deviation
    ``sigma / c``. Returns the posterior corners and, per corner, the share of its prior
    standard deviation the evidence removed (0: no evidence, toward 1: certain).
    """
    prior = (p.sigma_shared * w) ** 2 * np.ones((4, 4)) + (p.sigma_own * w) ** 2 * np.eye(4)
    out = x.copy()
    gain = np.zeros((4, 2))
    for axis in (0, 1):
        rows = [r for r in ev.rows if r[0] == axis and r[4] > 0]
        if not rows:
            continue
        h = np.array([r[1] for r in rows])
        innov = np.array([r[2] for r in rows]) - h @ x[:, axis]
        noise = np.diag([(r[3] / r[4]) ** 2 for r in rows])
        s = h @ prior @ h.T + noise
        k = prior @ h.T @ np.linalg.inv(s)
        out[:, axis] = x[:, axis] + k @ innov
        post = prior - k @ h @ prior
        gain[:, axis] = 1 - np.sqrt(np.clip(np.diag(post) / np.diag(prior), 0, 1))
    return out, gain


def refine_vertebra(
    image: npt.NDArray[np.float32], corners: Float, bound: float, p: Params
) -> tuple[Float, Float]:
    """Refine one vertebra's corners ``[a_sup, b_sup, a_inf, b_inf]`` (NaN where absent).

    Returns the new corners and a confidence per corner.
    """
    corners = np.asarray(corners, dtype=float)
    conf = np.zeros(4)
    frame = frame_of(corners)
    if frame is None:
        return corners.copy(), conf
    patch = vertebra_patch(image, frame, bound)
    if patch is None:
        return corners.copy(), conf
    missing = np.isnan(corners).any(axis=1)
    x = patch.to_samples(frame.to_local(corners))
    w = frame.width / patch.step
    radius = bound / patch.step
    ev = _Evidence()
    _lines(patch, x, radius, w, p, ev)
    if p.use_symmetry:
        _symmetry(patch, x, radius, w, p, ev)
    xf = np.where(missing[:, None], x[0], x)  # placeholders keep the algebra finite
    new, gain = _fuse(xf, ev, w, p)
    conf = np.sqrt(gain[:, 0] * gain[:, 1]) if not missing[2:].any() else gain[:, 1]
    local = np.stack([new[:, 0] * patch.step + patch.t0, new[:, 1] * patch.step + patch.s0], -1)
    shift = frame.to_image(local) - corners
    norm = np.hypot(shift[:, 0], shift[:, 1])
    scale = np.where(norm > bound, bound / np.maximum(norm, 1e-12), 1.0)
    out = corners + shift * scale[:, None]
    out[missing] = np.nan
    conf[missing] = 0.0
    return out, conf


__all__ = ["BOUND_FRACTION", "Frame", "Params", "refine_vertebra"]
