"""Refinement of vertebral landmarks on one film from its endplate and wall edges.

Per vertebra (:func:`refine_vertebra`):

1. resample the film on the vertebra's own frame (:mod:`._edges`);
2. find each endplate as the line of strongest signed derivative along the caudal axis
   within the bound of its current segment (superior endplate: dark disc above, bright
   body below; inferior: the reverse), refitted robustly to per-column edge peaks; the
   walls likewise across (entering the body brightens); on AP films also the body's
   mirror axis;
3. fuse these measurements with the input points in a small Gaussian model whose prior
   says a vertebra's points are off by one shared shift plus each point's own error: an
   edge found for one endplate also moves the other endplate's corners when that one
   shows nothing, and a point without any evidence keeps its place;
4. slide the mid-endplate points (``6pt``) with their endplate and put them on the edge
   found under them.

Then, over runs of consecutive vertebrae, :func:`smooth_chain` pulls centres that the
image left uncertain toward a smooth spine, and every move is clipped to the bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..landmarks import level_index
from ._edges import Frame, Patch, best_line, edge_near, frame_of, symmetry_axis, vertebra_patch

Float = npt.NDArray[np.float64]

#: Corner roles ``a_sup, b_sup, a_inf, b_inf`` then ``mid_sup, mid_inf`` (``a``: image left
#: on AP films, posterior on lateral ones; ``b``: right, anterior), as point names.
ROLES: dict[str, tuple[str, ...]] = {
    "ap4": ("left_sup", "right_sup", "left_inf", "right_inf"),
    "4pt": ("post_sup", "ant_sup", "post_inf", "ant_inf"),
    "6pt": ("post_sup", "ant_sup", "post_inf", "ant_inf", "mid_sup", "mid_inf"),
}


@dataclass(frozen=True)
class Params:
    """Tuning of the refinement; lengths are fractions of the vertebra's width.

    Attributes
    ----------
    bound_fraction : float
        Default bound on any point's move.
    prior : float
        Preference of the line search for the nearest edge (score units).
    conf_lo, conf_hi : float
        Edge scores (mean clipped derivative, in median-gradient units) mapped to
        confidence 0 and 1.
    sigma_shared, sigma_own : float
        Prior: standard deviation of a vertebra's shared shift and of each point's own.
    sigma_line, sigma_wall, sigma_sym : float
        Measurement standard deviation of an endplate end, a wall end and the mirror axis
        at confidence 1 (``sigma / confidence`` below).
    inset : dict
        Offset from the edge found to the reader's corner, inward, per edge ``sup``,
        ``inf``, ``a``, ``b``.
    use_walls, use_symmetry : bool
        Measure the walls; measure the mirror axis (AP films).
    sym_lo : float
        Mirror correlation mapped to confidence 0 (1 maps to 1).
    sym_half : float
        Half-width compared on either side of a candidate mirror axis.
    inner : tuple of float
        Part of a segment's length scored by the line search.
    sigma_curve : float
        Smoothness of the spine: standard deviation of a centre's second difference along
        a run of vertebrae (0 disables the chain step).
    mid_reach : float
        Search range of a mid-endplate point around its slid position.
    """

    bound_fraction: float = 0.25
    prior: float = 0.6
    conf_lo: float = 0.6
    conf_hi: float = 2.0
    sigma_shared: float = 0.08
    sigma_own: float = 0.05
    sigma_line: float = 0.01
    sigma_wall: float = 0.01
    sigma_sym: float = 0.05
    inset: dict[str, float] = field(default_factory=dict)
    use_walls: bool = True
    use_symmetry: bool = False
    sym_lo: float = 0.3
    sym_half: float = 0.5
    inner: tuple[float, float] = (0.08, 0.92)
    sigma_curve: float = 0.1
    mid_reach: float = 0.08


#: Parameters per scheme. ``ap4`` was tuned on the first 150 AASCE films (file-name order):
#: edges there are faint and the readers' corners sit inside the edges found.
PARAMS: dict[str, Params] = {
    "ap4": Params(
        sigma_line=0.04,
        sigma_wall=0.08,
        inset={"sup": 0.065, "inf": 0.04, "a": 0.07, "b": 0.11},
        use_symmetry=True,
    ),
    "4pt": Params(),
    "6pt": Params(),
}


@dataclass(frozen=True)
class VertebraResult:
    """One vertebra refined: points (roles order), confidence, centre covariance, evidence."""

    points: Float
    confidence: Float
    centre_cov: Float
    evidence: bool


def _conf(score: float, p: Params) -> float:
    return float(np.clip((score - p.conf_lo) / (p.conf_hi - p.conf_lo), 0.0, 1.0))


def _unit(k: int) -> Float:
    v = np.zeros(4)
    v[k] = 1.0
    return v


#: A measurement: (axis 0 = t or 1 = s, coefficients over the 4 corners, value, sigma,
#: confidence), all in patch samples.
_Row = tuple[int, Float, float, float, float]


def _line_rows(patch: Patch, x: Float, radius: float, w: float, p: Params) -> list[_Row]:
    """Endplates (and walls): each edge found measures one coordinate of two corners."""
    has_inf = not np.isnan(x[2:4]).any()
    specs = [("sup", 0, 1, 1.0, 1)]
    if has_inf:
        specs.append(("inf", 2, 3, -1.0, 1))
        if p.use_walls:
            specs += [("a", 0, 2, 1.0, 0), ("b", 1, 3, -1.0, 0)]
    rows: list[_Row] = []
    for name, i, j, pol, axis in specs:
        # Endplates run along t (patch axis 1); walls along s, searched on the transpose.
        grad = patch.d_s if axis == 1 else patch.d_t.T
        order = (0, 1) if axis == 1 else (1, 0)
        line = best_line(
            grad,
            (x[i, order[0]], x[i, order[1]]),
            (x[j, order[0]], x[j, order[1]]),
            radius,
            pol,
            inner=p.inner,
            prior=p.prior,
        )
        if line is None:
            continue
        conf = _conf(line.score, p)
        inset = p.inset.get(name, 0.0) * w * pol
        sigma = (p.sigma_line if axis == 1 else p.sigma_wall) * w
        rows += [
            (axis, _unit(i), x[i, axis] + line.d0 + inset, sigma, conf),
            (axis, _unit(j), x[j, axis] + line.d1 + inset, sigma, conf),
        ]
    return rows


def _symmetry_rows(patch: Patch, x: Float, radius: float, w: float, p: Params) -> list[_Row]:
    """Measure the mean ``t`` of the four corners by the body's mirror axis (AP films)."""
    if np.isnan(x[:4]).any():
        return []
    rows = (float(x[:2, 1].mean()), float(x[2:4, 1].mean()))
    got = symmetry_axis(patch.values, float(x[:4, 0].mean()), rows, radius, p.sym_half * w)
    if got is None:
        return []
    axis, score = got
    conf = float(np.clip((score - p.sym_lo) / (1 - p.sym_lo), 0.0, 1.0))
    return [(0, np.full(4, 0.25), axis, p.sigma_sym * w, conf)]


def _fuse(x: Float, rows: list[_Row], w: float, p: Params) -> tuple[Float, Float, Float]:
    """Gaussian fusion of the input corners (prior) with the measurements, per axis.

    Prior: the corners' errors are one shared shift (``sigma_shared``) plus each corner's
    own (``sigma_own``); a measurement of confidence ``c`` has standard deviation
    ``sigma / c`` (none at 0). Returns the posterior corners, per corner and axis the
    share of the prior standard deviation the evidence removed, and the variance of the
    centre per axis (samples squared).
    """
    prior = (p.sigma_shared * w) ** 2 * np.ones((4, 4)) + (p.sigma_own * w) ** 2 * np.eye(4)
    mean4 = np.full(4, 0.25)
    out = x.copy()
    gain = np.zeros((4, 2))
    centre_var = np.full(2, float(mean4 @ prior @ mean4))
    for axis in (0, 1):
        use = [r for r in rows if r[0] == axis and r[4] > 0]
        if not use:
            continue
        h = np.array([r[1] for r in use])
        innovation = np.array([r[2] for r in use]) - h @ x[:, axis]
        noise = np.diag([(r[3] / r[4]) ** 2 for r in use])
        gain_matrix = prior @ h.T @ np.linalg.inv(h @ prior @ h.T + noise)
        out[:, axis] = x[:, axis] + gain_matrix @ innovation
        post = prior - gain_matrix @ h @ prior
        gain[:, axis] = 1 - np.sqrt(np.clip(np.diag(post) / np.diag(prior), 0.0, 1.0))
        centre_var[axis] = float(mean4 @ post @ mean4)
    return out, gain, centre_var


def _slide_mids(patch: Patch, x: Float, new: Float, w: float, p: Params) -> tuple[Float, Float]:
    """Slide the mid-endplate points along their endplate to its middle, onto its edge.

    A mid point moves to the middle of its refined corner chord, keeping its depth below
    the chord; then the edge under it (the polarity of its endplate, averaged over 12 %
    of the width) within ``mid_reach`` sets its depth. Returns the mid points and their
    confidence (0 where no edge was found: the point then keeps its depth).
    """
    mids = x[4:6].copy()
    conf = np.zeros(2)
    for k, (i, j, pol) in enumerate(((0, 1, 1.0), (2, 3, -1.0))):
        m = x[4 + k]
        if np.isnan(m).any() or np.isnan(x[[i, j]]).any():
            continue
        chord = x[j] - x[i]
        lam = float((m - x[i]) @ chord / max(chord @ chord, 1e-12))
        depth = m[1] - (x[i, 1] + lam * chord[1])
        slid = (new[i] + new[j]) / 2
        slid[1] += depth
        found = edge_near(patch.d_s, slid[0], slid[1], 0.06 * w, p.mid_reach * w, pol)
        if found is not None:
            conf[k] = _conf(found[1], p)
            if conf[k] > 0:
                slid[1] = found[0]
        mids[k] = slid
    return mids, conf


def refine_vertebra(
    image: npt.NDArray[np.generic], points: Float, bound: float, p: Params
) -> VertebraResult:
    """Refine one vertebra's points, given in :data:`ROLES` order (NaN where absent).

    Parameters
    ----------
    image : ndarray
        The film, 2-D, bone bright.
    points : ndarray, shape (4, 2) or (6, 2)
        Corners ``a_sup, b_sup, a_inf, b_inf`` and optionally ``mid_sup, mid_inf``.
    bound : float
        Largest move of any point, in pixels (also the search range).
    p : Params
        Tuning.

    Returns
    -------
    VertebraResult
        The points moved (at most ``bound``), their confidence, the centre's covariance
        in image pixels squared, and whether any edge evidence was found.
    """
    pts = np.asarray(points, dtype=float)
    n = pts.shape[0]
    frame = frame_of(pts[:4])
    width = frame.width if frame is not None else 1.0
    prior_cov = np.eye(2) * ((p.sigma_shared**2 + p.sigma_own**2 / 4) * width**2)
    patch = vertebra_patch(image, frame, bound) if frame is not None else None
    if frame is None or patch is None:
        return VertebraResult(pts.copy(), np.zeros(n), prior_cov, False)
    missing = np.isnan(pts).any(axis=1)
    x = patch.to_samples(frame.to_local(pts))
    w = frame.width / patch.step
    radius = bound / patch.step
    rows = _line_rows(patch, x, radius, w, p)
    if p.use_symmetry:
        rows += _symmetry_rows(patch, x, radius, w, p)
    corners = np.where(missing[:4, None], x[0], x[:4])  # placeholders keep the algebra finite
    new, gain, centre_var = _fuse(corners, rows, w, p)
    conf = np.zeros(n)
    conf[:4] = np.sqrt(gain[:, 0] * gain[:, 1]) if not missing[2:4].any() else gain[:, 1]
    moved = x.copy()
    moved[:4] = new
    if n > 4:
        moved[4:6], conf[4:6] = _slide_mids(patch, x, new, w, p)
    out = _clip_moves(pts, frame.to_image(patch.to_local(moved)), bound)
    out[missing] = np.nan
    conf[missing] = 0.0
    rot = np.stack([frame.u, frame.n], axis=1)  # columns: t and s in (row, col)
    cov = rot @ np.diag(centre_var * patch.step**2) @ rot.T
    evidence = any(r[4] > 0 for r in rows)
    return VertebraResult(out, conf, cov, evidence)


def _clip_moves(before: Float, after: Float, bound: Float | float) -> Float:
    """Shorten every move longer than ``bound`` (per point or scalar) to ``bound``."""
    shift = after - before
    norm = np.hypot(shift[..., 0], shift[..., 1])
    bound = np.asarray(bound, dtype=float)
    scale = np.where(norm > bound, bound / np.maximum(norm, 1e-12), 1.0)
    return before + shift * scale[..., None]


def smooth_chain(centres: Float, covs: Float, widths: Float, sigma_curve: float) -> Float:
    """Shifts that make a run of consecutive vertebrae's centres a smoother curve.

    Minimises over shifts ``d_v`` of the centres ``c_v`` the sum of ``d_v' C_v^-1 d_v``
    (each centre's own uncertainty ``C_v``, from the image evidence) and
    ``|second difference of c + d at v|^2 / (sigma_curve * w_v)^2`` (neighbours lie on a
    smooth spine), a linear least-squares problem.

    Parameters
    ----------
    centres : ndarray, shape (n, 2)
        Vertebra centres, consecutive levels, in pixels.
    covs : ndarray, shape (n, 2, 2)
        Their covariances, pixels squared.
    widths : ndarray, shape (n,)
        Vertebra widths, pixels.
    sigma_curve : float
        Standard deviation of the second difference, a fraction of the width.

    Returns
    -------
    ndarray, shape (n, 2)
        The shifts (zeros for fewer than three vertebrae).
    """
    n = len(centres)
    if n < 3 or sigma_curve <= 0:
        return np.zeros((n, 2))
    a = np.zeros((2 * n + 2 * (n - 2), 2 * n))
    b = np.zeros(a.shape[0])
    for v in range(n):
        root = np.linalg.cholesky(np.linalg.inv(covs[v])).T  # root' root = C^-1
        a[2 * v : 2 * v + 2, 2 * v : 2 * v + 2] = root
    for v in range(1, n - 1):
        scale = 1.0 / (sigma_curve * widths[v])
        second = centres[v - 1] - 2 * centres[v] + centres[v + 1]
        for k in range(2):
            r = 2 * n + 2 * (v - 1) + k
            a[r, [2 * (v - 1) + k, 2 * v + k, 2 * (v + 1) + k]] = (scale, -2 * scale, scale)
            b[r] = -second[k] * scale
    return np.asarray(np.linalg.lstsq(a, b, rcond=None)[0], dtype=float).reshape(n, 2)


def _runs(levels: Sequence[str], usable: Sequence[bool]) -> list[list[int]]:
    """Return the indices of runs of consecutive usable levels."""
    runs: list[list[int]] = []
    prev = None
    for i, (level, ok) in enumerate(zip(levels, usable, strict=True)):
        idx = level_index(level)
        if ok and prev is not None and idx == prev + 1 and runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        elif ok:
            runs.append([i])
        prev = idx
    return runs


def _undo_overlaps(
    levels: Sequence[str],
    before: Float,
    after: Float,
    conf: Float,
    frames: Sequence[Frame | None],
    evidence: list[bool],
) -> None:
    """Undo the refinement of a vertebra that now overlaps its upper neighbour (in place).

    Two consecutive vertebrae whose input points left a disc between them must not
    overlap after refinement: an endplate search that found the wrong edge (the inner
    rim of the neighbour's endplate, say) does that. Of the two, the one that moved
    more toward the other returns to its input points, with confidence 0.
    """
    for i in range(1, len(levels)):
        up, lo = frames[i - 1], frames[i]
        if up is None or lo is None or level_index(levels[i]) != level_index(levels[i - 1]) + 1:
            continue
        sides = (before[i, 0:2], before[i - 1, 2:4], after[i, 0:2], after[i - 1, 2:4])
        if any(np.isnan(x).any() for x in sides):
            continue
        gap_before = (sides[0] - sides[1]) @ lo.n
        gap_after = (sides[2] - sides[3]) @ lo.n
        if (gap_before < 0).any() or not (gap_after < 0).any():
            continue
        rise = -float(np.mean((sides[2] - sides[0]) @ lo.n))  # lower's superior moved up
        fall = float(np.mean((sides[3] - sides[1]) @ lo.n))  # upper's inferior moved down
        j = i if rise >= fall else i - 1
        after[j] = before[j]
        conf[j] = 0.0
        evidence[j] = False


def refine_array(
    image: npt.NDArray[np.generic],
    points: Float,
    levels: Sequence[str],
    scheme: str,
    *,
    max_shift: float | None = None,
    params: Params | None = None,
) -> tuple[Float, Float, Float]:
    """Refine a film's points given as an array in :data:`ROLES` order.

    Parameters
    ----------
    image : ndarray
        The film, 2-D, bone bright.
    points : ndarray, shape (n_levels, n_roles, 2)
        ``(row, col)`` pixels, NaN where absent, in ``ROLES[scheme]`` order.
    levels : sequence of str
        The level of each row, cranial to caudal.
    scheme : {"6pt", "4pt", "ap4"}
        Landmark scheme.
    max_shift : float, optional
        Bound on every move, pixels; default ``bound_fraction`` of each vertebra's width.
    params : Params, optional
        Tuning; default ``PARAMS[scheme]``.

    Returns
    -------
    points : ndarray
        Refined, same shape.
    confidence : ndarray, shape (n_levels, n_roles)
        In [0, 1]; 0 where absent or without evidence.
    bound : ndarray, shape (n_levels,)
        The bound applied per level, pixels.
    """
    p = params if params is not None else PARAMS[scheme]
    pts = np.asarray(points, dtype=float)
    out = pts.copy()
    conf = np.zeros(pts.shape[:2])
    bounds = np.zeros(len(levels))
    frames: list[Frame | None] = [frame_of(v[:4]) for v in pts]
    results: list[VertebraResult | None] = []
    for i, frame in enumerate(frames):
        if frame is None:
            results.append(None)
            continue
        bounds[i] = max_shift if max_shift is not None else p.bound_fraction * frame.width
        res = refine_vertebra(image, pts[i], bounds[i], p)
        results.append(res)
        out[i], conf[i] = res.points, res.confidence
    evidence = [r is not None and r.evidence for r in results]
    _undo_overlaps(levels, pts, out, conf, frames, evidence)
    usable = [e and not np.isnan(pts[i, :4]).any() for i, e in enumerate(evidence)]
    for run in _runs(levels, usable):
        centres = np.array([out[i, :4].mean(axis=0) for i in run])
        covs = np.array([results[i].centre_cov for i in run])  # type: ignore[union-attr]
        widths = np.array([frames[i].width for i in run])  # type: ignore[union-attr]
        shifts = smooth_chain(centres, covs, widths, p.sigma_curve)
        for k, i in enumerate(run):
            out[i] = out[i] + shifts[k]
    out = _clip_moves(pts, out, bounds[:, None])
    out[np.isnan(pts).any(axis=-1)] = np.nan
    return out, conf, bounds
