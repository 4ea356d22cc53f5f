"""Draw lateral thoracolumbar radiographs from a landmark set (private; see :mod:`kyphoimg.sample`).

The drawing follows the landmark points exactly: every vertebral body is built in its own
frame (origin at ``post_sup``, ``u`` toward ``ant_sup``, ``n`` caudal along the posterior
wall), so its corners are the landmark corners and the deepest points of its endplates
are the ``mid_*`` points. Everything else (posterior elements, ribs, soft tissue,
cement) is placed relative to those frames.

The image is formed like a projection radiograph: an excess attenuation map (line
integrals through an elliptic body cross-section, a cortical shell seen tangentially,
endplates seen edge-on, trabecular texture, soft tissue of the trunk with the lung bases
above the diaphragm) is turned into a quantum-limited exposure, blurred by the detector,
log-transformed, processed (dynamic-range compression and edge enhancement, as CR and DX
consoles do) and stored as 12-bit values with bone bright.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..landmarks import LandmarkSet

__all__ = ["TISSUE_WHITE", "CementSpec", "IndexAppearance", "render_lateral"]

#: Stored value the brightest tissue (bone) is mapped to; only cement and the lead marker
#: go above it (up to 4095).
TISSUE_WHITE = 3650
_TISSUE_BLACK = 250

_F = np.float32
Array = npt.NDArray[np.float32]

#: Excess linear attenuation over soft tissue, per mm (arbitrary but consistent units).
_MU_CORTEX = 0.036
_MU_TRABECULAR = 0.011  # scaled down with the BMD T-score
_MU_SOFT = 0.02
_MU_CEMENT = 0.065  # PMMA loaded with barium sulphate: far more opaque than bone

# Spinous process slope (caudal offset of the tip, in posterior heights) by level.
_SPINOUS_DROP = {
    "T8": 1.0, "T9": 0.95, "T10": 0.8, "T11": 0.6, "T12": 0.4,
    "L1": 0.2, "L2": 0.12, "L3": 0.08, "L4": 0.05, "L5": 0.05,
}  # fmt: skip
_THORACIC_RIB_LEVELS = ("T8", "T9", "T10", "T11", "T12")


@dataclass(frozen=True)
class CementSpec:
    """PMMA cement inside the index vertebra after kyphoplasty.

    The mass is a lobulated superellipse in the body's own coordinates: across the body
    in fractions of its depth (0 at the posterior wall, 1 at the anterior wall), along it
    in millimetres from the endplate it is anchored to, so its size in mm stays the same
    when the body recompresses around it at follow-up.

    Parameters
    ----------
    s_center, s_halfwidth : float
        Centre and half-width across the body, in fractions of the body depth.
    low_mm, high_mm : float
        Extent along the body, in mm from the ``anchor`` endplate (measured at each
        depth along the caudal axis). A gap to the other endplate is the non-PMMA
        endplate contact (NPEC) of that endplate.
    anchor : {"inf", "sup"}
        The endplate the extent is measured from.
    leak : {None, "disc_superior", "disc_inferior", "anterior"}
        A small cement leak into the disc above or below, or in front of the body.
    shape_seed : int
        Seed of the lobulation (the same mass at post-op and follow-up).
    track : bool
        Draw a thin cement trail in the transpedicular working channel.
    """

    s_center: float = 0.56
    s_halfwidth: float = 0.34
    low_mm: float = 0.4
    high_mm: float = 18.0
    anchor: str = "inf"
    leak: str | None = None
    shape_seed: int = 0
    track: bool = True

    def __post_init__(self) -> None:
        if self.anchor not in ("inf", "sup"):
            raise ValueError(f"anchor={self.anchor!r}; use 'inf' or 'sup'")
        if self.leak not in (None, "disc_superior", "disc_inferior", "anterior"):
            raise ValueError(
                f"leak={self.leak!r}; use None, 'disc_superior', 'disc_inferior' or 'anterior'"
            )
        if not 0 <= self.low_mm < self.high_mm:
            raise ValueError(f"need 0 <= low_mm < high_mm, got {self.low_mm}, {self.high_mm}")


@dataclass(frozen=True)
class IndexAppearance:
    """How the fractured (index) vertebra looks on one film.

    Parameters
    ----------
    level : str
        The index level; its shape comes from the landmark points.
    fracture_type : {"wedge", "biconcave", "crush"}
        Where the impaction band (condensation) is drawn.
    acute : bool
        An untreated fracture: impaction band under the collapsed endplate(s) and an
        irregular endplate.
    ivc : bool
        An intravertebral cleft (gas: a semilunar lucency under the superior endplate);
        drawn on untreated films only, cement fills it.
    cement : CementSpec, optional
        PMMA cement (post-operative films).
    """

    level: str
    fracture_type: str = "wedge"
    acute: bool = True
    ivc: bool = False
    cement: CementSpec | None = None

    def __post_init__(self) -> None:
        if self.fracture_type not in ("wedge", "biconcave", "crush"):
            raise ValueError(
                f"fracture_type={self.fracture_type!r}; use 'wedge', 'biconcave' or 'crush'"
            )


@dataclass(frozen=True)
class _Frame:
    """A vertebral body in image mm: origin ``post_sup``, unit vectors ``u`` and ``n``."""

    level: str
    origin: npt.NDArray[np.float64]  # (y, x) mm
    u: npt.NDArray[np.float64]  # anterior
    n: npt.NDArray[np.float64]  # caudal, along the posterior wall
    depth: float
    ha: float
    hp: float
    dip_sup: float  # mid_sup below the superior chord (toward caudal)
    dip_inf: float  # mid_inf above the inferior chord (toward cranial)

    def point(self, a: float, c: float) -> npt.NDArray[np.float64]:
        """Image mm ``(y, x)`` of local coordinates ``a`` (anterior) and ``c`` (caudal)."""
        return self.origin + a * self.u + c * self.n


def _frames(ls: LandmarkSet, spacing: npt.NDArray[np.float64]) -> dict[str, _Frame]:
    """Body frames of every level with its four corners (S1 and partial levels skipped)."""
    out: dict[str, _Frame] = {}
    for level, pts in ls.points.items():
        if not all(k in pts for k in ("ant_sup", "post_sup", "ant_inf", "post_inf")):
            continue
        mm = {k: np.asarray(v, dtype=float) * spacing for k, v in pts.items()}
        p, a = mm["post_sup"], mm["ant_sup"]
        depth = float(np.hypot(*(a - p)))
        if depth <= 0:
            continue
        u = (a - p) / depth
        w = mm["post_inf"] - p
        n = w - np.dot(w, u) * u
        n /= np.hypot(*n)
        ha = float(np.dot(mm["ant_inf"] - p, n))
        hp = float(np.dot(mm["post_inf"] - p, n))
        dip_sup = float(np.dot(mm["mid_sup"] - p, n)) if "mid_sup" in mm else 0.0
        dip_inf = (ha + hp) / 2 - float(np.dot(mm["mid_inf"] - p, n)) if "mid_inf" in mm else 0.0
        out[level] = _Frame(level, p, u, n, depth, ha, hp, dip_sup, dip_inf)
    return out


# ----------------------------------------------------------------------------- helpers
def _smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int], sigma_px: tuple[float, float]
) -> Array:
    """Gaussian-filtered white noise, normalised to zero mean and unit SD."""
    from scipy.ndimage import gaussian_filter

    x = gaussian_filter(rng.standard_normal(shape, dtype=_F), sigma_px, mode="reflect")
    x -= x.mean()
    sd = float(x.std())
    return x / _F(sd if sd > 0 else 1.0)


def _blur(x: Array, sigma_px: float) -> Array:
    """Gaussian blur; wide kernels run on a reduced image (area-averaged, then upsampled)."""
    import cv2
    from scipy.ndimage import gaussian_filter

    if sigma_px < 12:
        return gaussian_filter(x, sigma_px, mode="nearest")
    f = int(sigma_px // 6)
    h, w = x.shape
    small = cv2.resize(x, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    small = gaussian_filter(small, sigma_px / f, mode="nearest")
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _box(
    points_mm: npt.NDArray[np.float64],
    spacing: npt.NDArray[np.float64],
    shape: tuple[int, int],
    pad_mm: float,
) -> tuple[slice, slice] | None:
    """Pixel bounding box of mm points plus a pad, clipped to the image (None if empty)."""
    lo = np.floor((points_mm.min(axis=0) - pad_mm) / spacing).astype(int)
    hi = np.ceil((points_mm.max(axis=0) + pad_mm) / spacing).astype(int) + 1
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, shape)
    if np.any(hi <= lo):
        return None
    return slice(int(lo[0]), int(hi[0])), slice(int(lo[1]), int(hi[1]))


def _local(
    f: _Frame, box: tuple[slice, slice], spacing: npt.NDArray[np.float64]
) -> tuple[Array, Array]:
    """Local coordinates ``a`` (anterior) and ``c`` (caudal), mm, of the pixels of ``box``."""
    y = (np.arange(box[0].start, box[0].stop) * spacing[0] - f.origin[0]).astype(_F)[:, None]
    x = (np.arange(box[1].start, box[1].stop) * spacing[1] - f.origin[1]).astype(_F)[None, :]
    a = y * _F(f.u[0]) + x * _F(f.u[1])
    c = y * _F(f.n[0]) + x * _F(f.n[1])
    return a, c


def _chord(d: Array, half_ap: float, half_lat: float) -> Array:
    """Lateral path length through an ellipse at distance ``d`` inside its AP ends."""
    q = np.clip(d / _F(half_ap), 0.0, 1.0)
    return _F(2.0 * half_lat) * np.sqrt(np.clip(2.0 * q - q * q, 0.0, 1.0))


def _fill(
    shape: tuple[int, int], polys_px: Sequence[npt.NDArray[np.float64]], value: float = 1.0
) -> Array:
    """Anti-aliased filled polygons (pixel (row, col) vertices) as a float mask."""
    import cv2

    canvas = np.zeros(shape, dtype=np.uint8)
    shift = 4
    pts = [np.round(p[:, ::-1] * (1 << shift)).astype(np.int32) for p in polys_px]
    cv2.fillPoly(canvas, pts, 255, lineType=cv2.LINE_AA, shift=shift)
    return canvas.astype(_F) * _F(value / 255.0)


def _tube_profile(mask: Array, px_mm: float, radius_mm: float, rim: float) -> Array:
    """Bone-like projection of a mask: rod-like thickness plus a bright cortical rim.

    The outline is softened by half a millimetre: bone margins of the posterior arch and
    the ribs are curved surfaces, never cut edges.
    """
    import cv2
    from scipy.ndimage import gaussian_filter

    binary = (mask > 0.5).astype(np.uint8)
    if not binary.any():
        return np.zeros_like(mask)
    d = cv2.distanceTransform(binary, cv2.DIST_L2, 5).astype(_F) * _F(px_mm)
    q = np.clip(d / _F(radius_mm), 0.0, 1.0)
    thick = np.sqrt(q, dtype=_F)
    ring = np.exp(-(((d - _F(0.7)) / _F(0.8)) ** 2)).astype(_F)
    return gaussian_filter((thick + _F(rim) * ring) * mask, 0.5 / px_mm, mode="constant")


# ----------------------------------------------------------------------------- bodies
@dataclass
class _Canvas:
    shape: tuple[int, int]
    spacing: npt.NDArray[np.float64]
    px_mm: float
    texture: Array
    bone: Array  # excess attenuation of bone
    cement: Array  # excess attenuation of cement
    gas: Array  # negative attenuation (gas in a cleft or bowel)


def _body(
    cv: _Canvas,
    f: _Frame,
    bmd_factor: float,
    index: IndexAppearance | None,
    rng: np.random.Generator,
) -> None:
    """Add one vertebral body (cortex, endplates, trabecular bone, lesions, cement)."""
    corners = np.array(
        [f.point(0, 0), f.point(f.depth, 0), f.point(f.depth, f.ha), f.point(0, f.hp)]
    )
    box = _box(corners, cv.spacing, cv.shape, pad_mm=8.0)
    if box is None:
        return
    a, c = _local(f, box, cv.spacing)
    d_depth = _F(f.depth)
    s = a / d_depth
    sc = np.clip(s, 0.0, 1.0)
    bump = _F(4.0) * sc * (1 - sc)
    acute = index is not None and index.acute
    c_sup = _F(f.dip_sup) * bump
    c_inf = _F(f.hp) + _F(f.ha - f.hp) * sc - _F(f.dip_inf) * bump
    if index is not None and index.acute:
        # An impacted endplate is irregular between its landmarks (zero at s = 0, 0.5, 1).
        k1, k2 = rng.uniform(0.25, 0.55), rng.uniform(0.15, 0.35)
        wig = k1 * np.sin(2 * np.pi * 2 * sc) + k2 * np.sin(2 * np.pi * 3 * sc)
        if index.fracture_type in ("wedge", "crush"):
            c_sup = c_sup + wig.astype(_F)
        if index.fracture_type in ("biconcave", "crush"):
            c_inf = c_inf - _F(0.7) * wig.astype(_F)
    height = np.maximum(c_inf - c_sup, _F(0.5))
    t = (c - c_sup) / height
    tc = np.clip(t, 0.0, 1.0)
    waist = _F(4.0) * tc * (1 - tc)
    a_ant = d_depth - _F(0.035 * f.depth) * waist  # concave anterior wall
    a_post = _F(0.02 * f.depth) * waist  # slightly concave posterior wall
    d_sup, d_inf = c - c_sup, c_inf - c
    d_ant, d_post = a_ant - a, a - a_post
    d_ap = np.minimum(d_ant, d_post)
    d_ep = np.minimum(d_sup, d_inf)
    d_in = np.minimum(d_ap, d_ep)
    px = _F(cv.px_mm)
    inside = np.clip(d_in / px + 0.5, 0.0, 1.0)
    if not inside.any():
        return

    half_ap, half_lat = f.depth / 2, 0.7 * f.depth
    shell = _F(0.55 if bmd_factor < 0.8 else 0.7)
    outer = _chord(d_ap, half_ap, half_lat)
    inner = _chord(d_ap - shell, half_ap - float(shell), half_lat - float(shell))
    cortex = outer - inner
    # Endplates seen edge-on: a bright line along each (a plate of ~0.9 mm).
    plate = np.exp(-((np.maximum(d_ep, 0) / _F(0.9)) ** 2)).astype(_F)
    tex = cv.texture[box]
    trab = _F(_MU_TRABECULAR * bmd_factor) * inner * tex
    if index is not None and acute:
        # Impaction band: condensed trabeculae under the collapsed endplate(s).
        prof = {
            "wedge": 0.35 + 0.65 * sc,  # anterior collapse
            "biconcave": 0.3 + 0.7 * bump,  # central collapse
            "crush": np.full_like(sc, 0.8),  # whole body
        }[index.fracture_type]
        band = np.exp(-(((tc - 0.12) / 0.09) ** 2))
        if index.fracture_type in ("biconcave", "crush"):
            band = band + np.exp(-(((tc - 0.88) / 0.09) ** 2))
        trab = trab * (1 + _F(2.0) * (band * prof).astype(_F))
    elif index is not None:
        trab = trab * _F(1.12)
    if index is not None and index.ivc and acute:
        # Intravertebral cleft: semilunar gas under the superior endplate.
        e1 = ((sc - 0.55) / 0.27) ** 2 + ((tc - 0.30) / 0.10) ** 2
        e2 = ((sc - 0.55) / 0.25) ** 2 + ((tc - 0.37) / 0.09) ** 2
        cleft = np.clip((1 - e1) * 4, 0, 1) * np.clip((e2 - 1) * 4, 0, 1)
        cleft = cleft.astype(_F) * inside
        trab = trab * (1 - _F(0.9) * cleft)
        cv.gas[box] += _F(0.35) * cleft * inner / _F(2 * half_lat)
    bone = trab + _F(_MU_CORTEX) * (cortex + _F(0.55) * plate * outer)
    cv.bone[box] += bone * inside
    if index is not None and index.cement is not None:
        _cement(cv, f, box, index.cement, sc, d_sup, d_inf, inside, (a, c), half_lat)


def _cement(
    cv: _Canvas,
    f: _Frame,
    box: tuple[slice, slice],
    spec: CementSpec,
    sc: Array,
    d_sup: Array,
    d_inf: Array,
    inside: Array,
    local: tuple[Array, Array],
    half_lat: float,
) -> None:
    """Add the cement mass (and its trail and leak) of ``spec`` to the canvas.

    ``sc`` is the clipped fraction of depth, ``d_sup``/``d_inf`` the distances (mm) to the
    endplates, ``inside`` the body's soft mask and ``local`` its (a, c) coordinates.
    """
    a, c = local
    srng = np.random.default_rng([spec.shape_seed, 7])
    d_anchor = d_inf if spec.anchor == "inf" else d_sup
    body_h = d_inf + d_sup
    # A mass reaching an endplate is drawn through it (the body outline clips it), so
    # that it contacts the endplate over its width.
    high = np.where(_F(spec.high_mm) >= body_h - _F(0.6), body_h + _F(1.5), _F(spec.high_mm))
    low = np.minimum(_F(-1.5) if spec.low_mm < 0.5 else _F(spec.low_mm), high - _F(1.0))
    hc = (high + low) / 2
    rh = np.maximum((high - low) / 2, _F(0.5))
    du = (sc - _F(spec.s_center)) / _F(spec.s_halfwidth)
    dv = (d_anchor - hc) / rh
    theta = np.arctan2(dv, du)
    lobes = np.ones_like(theta)
    for k in range(2, 7):
        amp = srng.uniform(0.02, 0.07) / (k - 1) ** 0.5
        lobes += _F(amp) * np.cos(k * theta + _F(srng.uniform(0, 2 * np.pi)))
    p = 2.8
    rho = (np.abs(du) ** p + np.abs(dv) ** p) ** (1 / p) / lobes
    # The margin interdigitates with the trabeculae; the mass itself is homogeneous.
    ragged = rho * (1 + _F(0.12) * (cv.texture[box] - 1))
    edge = np.clip((1 - ragged) / _F(0.08), 0.0, 1.0)
    thick = np.sqrt(np.clip(1 - rho**2, 0.0, 1.0)) * _F(0.6) + _F(0.4)
    path = _F(1.25 * half_lat) * thick * edge * inside
    cv.cement[box] += _F(_MU_CEMENT) * path
    if spec.track:
        # Working channel: a thin trail from the pedicle into the posterior of the mass.
        start = np.array([-0.12 * f.depth, 0.34 * f.hp])
        end = np.array([(spec.s_center - 0.7 * spec.s_halfwidth) * f.depth, 0.45 * f.hp])
        v = end - start
        ln = float(np.hypot(*v))
        w = (a - _F(start[0])) * _F(v[0] / ln) + (c - _F(start[1])) * _F(v[1] / ln)
        off = -(a - _F(start[0])) * _F(v[1] / ln) + (c - _F(start[1])) * _F(v[0] / ln)
        along = np.clip(np.minimum(w, _F(ln) - w) / _F(1.5), 0.0, 1.0)
        trail = np.exp(-((off / _F(1.1)) ** 2)) * along
        cv.cement[box] += _F(_MU_CEMENT * 2.5) * trail.astype(_F)
    if spec.leak is not None:
        _leak(cv, f, spec, srng)


def _leak(cv: _Canvas, f: _Frame, spec: CementSpec, srng: np.random.Generator) -> None:
    """Add a small cement leak: a lens in the disc above or below, or a blob in front."""
    if spec.leak == "anterior":
        centre = (f.depth + 3.2, 0.25 * (f.ha + f.hp))
        radii = (2.8, 0.22 * f.ha)
    elif spec.leak == "disc_superior":
        centre = (0.58 * f.depth, -1.7)
        radii = (0.2 * f.depth, 1.6)
    else:  # disc_inferior
        centre = (0.5 * f.depth, 0.5 * (f.ha + f.hp) + 1.8)
        radii = (0.2 * f.depth, 1.6)
    box = _box(f.point(*centre)[None, :], cv.spacing, cv.shape, pad_mm=max(radii) + 3)
    if box is None:
        return
    a, c = _local(f, box, cv.spacing)
    du = (a - _F(centre[0])) / _F(radii[0])
    dv = (c - _F(centre[1])) / _F(radii[1])
    theta = np.arctan2(dv, du)
    lobes = 1 + _F(0.12) * np.cos(3 * theta + _F(srng.uniform(0, 6.28)))
    rho = np.sqrt(du**2 + dv**2) / lobes
    thick = np.sqrt(np.clip(1 - rho**2, 0.0, 1.0))
    cv.cement[box] += _F(_MU_CEMENT * 2.2 * max(radii)) * thick.astype(_F)


# ----------------------------------------------------------------------------- posterior arch
def _posterior_polys(
    f: _Frame,
) -> tuple[list[list[tuple[float, float]]], list[tuple[float, float]]]:
    """Posterior arch of one vertebra in local (a, c) mm.

    Returns the bilateral parts (pedicle, articular pillar with its superior and inferior
    articular processes, lamina) and the midline spinous process.
    """
    d, h = f.depth, f.hp
    drop = _SPINOUS_DROP.get(f.level, 0.3) * h
    thoracic = f.level.startswith("T")
    half_tip = (0.13 if thoracic else 0.24) * h
    tip_a = -(1.5 if thoracic else 1.62) * d
    pedicle = [
        (1.5, 0.08 * h),
        (-0.20 * d, 0.05 * h),
        (-0.38 * d, 0.02 * h),
        (-0.40 * d, 0.50 * h),
        (-0.24 * d, 0.43 * h),
        (-0.08 * d, 0.47 * h),
        (1.5, 0.56 * h),
    ]
    pillar = [  # superior articular process tip, pars, inferior articular process tip
        (-0.36 * d, -0.34 * h),
        (-0.33 * d, -0.10 * h),
        (-0.35 * d, 0.30 * h),
        (-0.40 * d, 0.62 * h),
        (-0.44 * d, 0.98 * h),
        (-0.50 * d, 1.22 * h),
        (-0.58 * d, 1.20 * h),
        (-0.64 * d, 0.92 * h),
        (-0.66 * d, 0.55 * h),
        (-0.58 * d, 0.12 * h),
        (-0.47 * d, -0.30 * h),
    ]
    spinous = [
        (-0.56 * d, 0.16 * h),
        (-0.95 * d, 0.26 * h + 0.5 * drop),
        (tip_a, 0.42 * h + drop - half_tip),
        (tip_a - 0.05 * d, 0.42 * h + drop),
        (tip_a, 0.42 * h + drop + half_tip),
        (-0.95 * d, 0.78 * h + 0.5 * drop),
        (-0.6 * d, 0.84 * h),
    ]
    return [pedicle, pillar], spinous


def _mask_in_box(
    cv: _Canvas, f: _Frame, polys: Sequence[Sequence[tuple[float, float]]], pad_mm: float = 3.0
) -> tuple[tuple[slice, slice], Array] | None:
    pts = [np.array([f.point(a, c) for a, c in poly]) for poly in polys]
    box = _box(np.concatenate(pts), cv.spacing, cv.shape, pad_mm=pad_mm)
    if box is None:
        return None
    off = np.array([box[0].start, box[1].start], dtype=float)
    shape = (box[0].stop - box[0].start, box[1].stop - box[1].start)
    return box, _fill(shape, [p / cv.spacing - off for p in pts])


def _posterior(cv: _Canvas, f: _Frame, bmd_factor: float) -> None:
    """Add the posterior arch: both sides superimposed with a small offset, then the spine."""
    bilateral, spinous = _posterior_polys(f)
    strength = 0.55 + 0.45 * bmd_factor
    for da, dc, scale, weight in ((0.0, 0.0, 1.0, 0.55), (1.4, 1.0, 1.04, 0.45)):
        polys = [[(a * scale + da, c * scale + dc) for a, c in poly] for poly in bilateral]
        got = _mask_in_box(cv, f, polys)
        if got is None:
            continue
        box, mask = got
        prof = _tube_profile(mask, cv.px_mm, radius_mm=3.5, rim=0.6)
        tex = 0.8 + 0.2 * cv.texture[box]
        cv.bone[box] += _F(0.34 * weight * strength) * prof * tex
    got = _mask_in_box(cv, f, [spinous])
    if got is not None:
        box, mask = got
        prof = _tube_profile(mask, cv.px_mm, radius_mm=2.5, rim=0.6)
        cv.bone[box] += _F(0.12 * strength) * prof * (0.8 + 0.2 * cv.texture[box])


def _ribs(cv: _Canvas, frames: Mapping[str, _Frame], rng: np.random.Generator) -> None:
    """Faint lower ribs: both sides superimposed, slightly offset (different magnification)."""
    import cv2
    from scipy.interpolate import make_interp_spline

    for level in _THORACIC_RIB_LEVELS:
        f = frames.get(level)
        if f is None:
            continue
        d, h = f.depth, f.hp
        floating = level in ("T11", "T12")
        ctrl = [(-0.15 * d, 0.3 * h), (-1.1 * d, 0.55 * h), (-1.75 * d, 1.2 * h)]
        if floating:
            ctrl += [(-2.0 * d, 2.0 * h)] if level == "T12" else [(-1.9 * d, 2.2 * h)]
        else:
            ctrl += [(-1.6 * d, 2.4 * h), (-0.4 * d, 3.3 * h), (1.4 * d, 3.9 * h)]
        ctrl_a = np.array(ctrl)
        spline = make_interp_spline(
            np.linspace(0, 1, len(ctrl_a)), ctrl_a, k=min(3, len(ctrl_a) - 1)
        )
        curve = spline(np.linspace(0, 1, 90))
        for side, (da, dc, scale) in enumerate(((0.0, 0.0, 1.0), (3.0, 2.5, 1.06))):
            jitter = rng.normal(0, 0.8, size=2)
            pts = np.array(
                [f.point(a * scale + da + jitter[0], c * scale + dc + jitter[1]) for a, c in curve]
            )
            box = _box(pts, cv.spacing, cv.shape, pad_mm=8.0)
            if box is None:
                continue
            off = np.array([box[0].start, box[1].start], dtype=float)
            shape = (box[0].stop - box[0].start, box[1].stop - box[1].start)
            px = (pts / cv.spacing - off)[:, ::-1]
            canvas = np.zeros(shape, dtype=np.uint8)
            width_px = max(2, round((8.0 if not floating else 6.5) / cv.px_mm))
            cv2.polylines(
                canvas,
                [np.round(px * 16).astype(np.int32)],
                False,
                255,
                thickness=width_px,
                lineType=cv2.LINE_AA,
                shift=4,
            )
            mask = canvas.astype(_F) / _F(255)
            prof = _tube_profile(mask, cv.px_mm, radius_mm=3.0, rim=1.4)
            # fade toward the anterior end (thinner rib, costal cartilage)
            a_loc, _ = _local(f, box, cv.spacing)
            fade = np.clip(1.0 - (a_loc + _F(0.5 * d)) / _F(2.0 * d), 0.15, 1.0)
            cv.bone[box] += _F(0.055 if side == 0 else 0.045) * prof * fade


# ----------------------------------------------------------------------------- soft tissue
def _spine_axis(
    frames: Mapping[str, _Frame], shape: tuple[int, int], spacing: npt.NDArray[np.float64]
) -> tuple[Array, float]:
    """Distance (mm, positive anterior) of every pixel from the posterior body walls.

    Returns the field and the mean body depth.
    """
    pts = np.array(
        [p for f in frames.values() for p in (f.origin, f.point(0, f.hp))]
    )  # (y, x) of the posterior walls
    order = np.argsort(pts[:, 0])
    py, pxx = pts[order, 0], pts[order, 1]
    sign = 1.0 if np.mean([f.u[1] for f in frames.values()]) >= 0 else -1.0
    y = np.arange(shape[0]) * spacing[0]
    xw = np.interp(y, py, pxx)
    # extrapolate linearly beyond the first and last vertebra
    if len(py) >= 2:
        lo_slope = (pxx[1] - pxx[0]) / max(py[1] - py[0], 1e-6)
        hi_slope = (pxx[-1] - pxx[-2]) / max(py[-1] - py[-2], 1e-6)
        xw = np.where(y < py[0], pxx[0] + (y - py[0]) * lo_slope, xw)
        xw = np.where(y > py[-1], pxx[-1] + (y - py[-1]) * hi_slope, xw)
    x = np.arange(shape[1]) * spacing[1]
    field = (sign * (x[None, :] - xw[:, None])).astype(_F)
    depth = float(np.mean([f.depth for f in frames.values()]))
    return field, depth


def _level_row(frames: Mapping[str, _Frame], level: str, default: float) -> float:
    f = frames.get(level)
    return float(f.point(f.depth / 2, f.hp / 2)[0]) if f is not None else default


def _soft_tissue(
    cv: _Canvas,
    frames: Mapping[str, _Frame],
    rng: np.random.Generator,
    bowel_gas: bool,
    aortic_calcification: float,
) -> tuple[Array, Array]:
    """Soft-tissue attenuation of the trunk (lung bases, bowel gas) and the trunk mask."""
    from scipy.ndimage import gaussian_filter

    ap, depth = _spine_axis(frames, cv.shape, cv.spacing)
    rows_mm = (np.arange(cv.shape[0]) * cv.spacing[0]).astype(_F)[:, None]
    height_mm = cv.shape[0] * cv.spacing[0]
    back = -(1.75 * depth + rng.uniform(28, 40))  # posterior skin
    front = depth + rng.uniform(150, 190)  # anterior skin (off the film)
    half = (front - back) / 2
    mid = (front + back) / 2
    # a gently undulating skin line
    wobble = _smooth_noise(rng, (cv.shape[0], 1), (40 / cv.px_mm, 0.1)) * _F(2.5)
    q = (ap - _F(mid) - wobble) / _F(half)
    trunk = np.clip(1 - np.abs(q) ** 3, 0.0, 1.0) ** _F(1 / 3)  # a broad, flat-backed trunk
    width = rng.uniform(280, 330)
    soft = _F(_MU_SOFT * width) * trunk
    # Lung bases above the diaphragm: a dome, lowest in the posterior costophrenic recess.
    y_low = _level_row(frames, "L1", 0.62 * height_mm) - rng.uniform(0, 8)
    y_top = _level_row(frames, "T10", 0.15 * height_mm) + rng.uniform(-5, 10)
    a_low, a_top = -40.0, depth + rng.uniform(35, 55)
    frac = np.clip((_F(a_top) - ap) / _F(a_top - a_low), 0.0, None)
    y_d = _F(y_top) + _F(y_low - y_top) * frac ** _F(1.7)
    y_d = y_d + _F(0.004) * np.clip(ap - _F(a_top), 0.0, None) ** 2  # anterior slope
    y_d = np.minimum(y_d, _F(y_low + 15))  # behind the recess the lung ends at the back wall
    lung = 1 / (1 + np.exp((rows_mm - y_d) / _F(5.0)))
    lung = lung * np.clip(trunk * 3, 0, 1)
    soft = soft * (1 - _F(0.11) * lung)
    if bowel_gas:
        gas = np.zeros(cv.shape, dtype=_F)
        below = 1 - lung
        n_blobs = int(rng.integers(5, 10))
        yy = rows_mm
        xx = (np.arange(cv.shape[1]) * cv.spacing[1]).astype(_F)[None, :]
        for _ in range(n_blobs):
            cy = rng.uniform(0.45, 1.05) * height_mm
            row = int(np.clip(cy / cv.spacing[0], 0, cv.shape[0] - 1))
            # a point some 20-110 mm in front of the bodies on that row
            target = rng.uniform(depth + 20, depth + 110)
            col = int(np.argmin(np.abs(ap[row] - _F(target))))
            cx = col * cv.spacing[1]
            ry, rx = rng.uniform(5, 12), rng.uniform(8, 18)
            r2 = ((yy - _F(cy)) / _F(ry)) ** 2 + ((xx - _F(cx)) / _F(rx)) ** 2
            blob = np.clip((1 - r2) * 3, 0, 1) ** 0.5
            gas += _F(rng.uniform(0.12, 0.3)) * blob.astype(_F)
        mottle = _smooth_noise(rng, cv.shape, (1.0 / cv.px_mm, 1.0 / cv.px_mm))
        gas = gaussian_filter(gas, 1.0 / cv.px_mm)
        gas = gas * np.clip(1 + _F(0.5) * mottle, 0, None) * below * trunk
        soft -= gas
    if aortic_calcification > 0:
        # Calcified plaques in the posterior and anterior walls of the abdominal aorta.
        calc = np.zeros(cv.shape, dtype=_F)
        y_lo, y_hi = _level_row(frames, "T12", 0.4 * height_mm), height_mm
        yy = rows_mm
        for _ in range(int(round(aortic_calcification * 7))):
            cy = rng.uniform(y_lo, y_hi)
            row = int(np.clip(cy / cv.spacing[0], 0, cv.shape[0] - 1))
            wall = rng.choice([rng.uniform(5, 8), rng.uniform(24, 30)])
            col = int(np.argmin(np.abs(ap[row] - _F(depth + wall))))
            cx = col * cv.spacing[1]
            xx = (np.arange(cv.shape[1]) * cv.spacing[1]).astype(_F)[None, :]
            half_len, half_w = rng.uniform(2.5, 6.0), rng.uniform(0.6, 1.0)
            r2 = ((yy - _F(cy)) / _F(half_len)) ** 2 + ((xx - _F(cx)) / _F(half_w)) ** 2
            calc += _F(rng.uniform(0.15, 0.35)) * np.clip(1 - r2, 0, 1).astype(_F)
        cv.bone += gaussian_filter(calc, 0.15 / cv.px_mm)
    return soft.astype(_F), (trunk > 0).astype(_F)


def _marker(cv: _Canvas, frames: Mapping[str, _Frame], text: str) -> None:
    """Add a lead side marker (a bright letter) near the anterior upper corner."""
    import cv2

    sign = 1.0 if np.mean([f.u[1] for f in frames.values()]) >= 0 else -1.0
    size = max(1.0, 9.0 / cv.px_mm / 22)
    thickness = max(2, round(2.2 / cv.px_mm))
    canvas = np.zeros(cv.shape, dtype=np.uint8)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, thickness)
    margin = int(10 / cv.px_mm)
    x0 = cv.shape[1] - margin - tw if sign > 0 else margin
    y0 = margin + th
    cv2.rectangle(
        canvas, (x0 - 6, y0 - th - 6), (x0 + tw + 6, y0 + 8), 90, thickness=-1, lineType=cv2.LINE_AA
    )
    cv2.putText(canvas, text, (x0, y0), cv2.FONT_HERSHEY_SIMPLEX, size, 255, thickness, cv2.LINE_AA)
    cv.bone += canvas.astype(_F) / _F(255) * _F(2.2)


# ----------------------------------------------------------------------------- public
def render_lateral(
    landmarks: LandmarkSet,
    *,
    seed: int | Sequence[int],
    index: IndexAppearance | None = None,
    bmd_t_score: float = -2.5,
    ribs: bool = True,
    bowel_gas: bool = True,
    aortic_calcification: float = 0.3,
    marker: str | None = "L",
    dose: float = 1.0,
    shape: tuple[int, int] | None = None,
) -> npt.NDArray[np.uint16]:
    """Draw a lateral thoracolumbar radiograph whose anatomy follows a landmark set.

    Parameters
    ----------
    landmarks : LandmarkSet
        A lateral set (``6pt`` or ``4pt``); every level with its four corners becomes a
        vertebral body exactly on its corners (and, for ``6pt``, with endplates whose
        deepest points are the ``mid_*`` points). Levels may extend beyond the image:
        they are drawn cut at the edge. Its calibration gives the millimetre scale of the
        drawing (0.2 mm assumed without one).
    seed : int or sequence of int
        Seed of the numpy Generator: the same seed gives the same pixels.
    index : IndexAppearance, optional
        The fractured / treated vertebra: impaction band, cleft, cement, leak.
    bmd_t_score : float, optional
        Bone mineral density T-score: lower scores give fainter trabecular bone and a
        thinner cortex.
    ribs : bool, optional
        Draw the lower ribs faintly.
    bowel_gas : bool, optional
        Draw gas in the bowel in front of the lumbar spine.
    aortic_calcification : float, optional
        Amount (0 to 1) of calcified flecks in the abdominal aortic wall.
    marker : str, optional
        Text of a lead side marker in the anterior upper corner (None: no marker).
    dose : float, optional
        Relative exposure: quantum noise scales with ``1 / sqrt(dose)``.
    shape : (rows, columns), optional
        Image size; default the landmark set's ``image.rows``/``image.columns``.

    Returns
    -------
    ndarray of uint16, shape (rows, columns)
        12-bit values (0 to 4095), high where attenuation is high (bone bright, as
        MONOCHROME2 stores it).

    Raises
    ------
    ValueError
        If the image size is unknown, or no level has its four corners.
    """
    if shape is None:
        if landmarks.image.rows is None or landmarks.image.columns is None:
            raise ValueError("the landmark set has no image.rows/columns; pass shape=(rows, cols)")
        shape = (int(landmarks.image.rows), int(landmarks.image.columns))
    cal = landmarks.calibration
    spacing = np.array(cal.spacing if cal.has_mm else (0.2, 0.2), dtype=float)
    frames = _frames(landmarks, spacing)
    if not frames:
        raise ValueError("no level of the landmark set has its four corner points")
    rng = np.random.default_rng(seed)
    px_mm = float(np.sqrt(spacing[0] * spacing[1]))
    bmd_factor = float(np.clip(1.0 + 0.14 * (bmd_t_score + 1.0), 0.45, 1.2))

    iso = _smooth_noise(rng, shape, (0.35 / spacing[0], 0.35 / spacing[1]))
    streak = _smooth_noise(rng, shape, (1.6 / spacing[0], 0.3 / spacing[1]))
    coarse = _smooth_noise(rng, shape, (3.0 / spacing[0], 3.0 / spacing[1]))
    osteo = 0.14 + 0.2 * (1 - bmd_factor)  # osteoporosis: vertical striation dominates
    texture = 1 + _F(0.22) * iso + _F(osteo) * streak + _F(0.1) * coarse
    np.clip(texture, 0.15, None, out=texture)
    cv = _Canvas(
        shape=shape,
        spacing=spacing,
        px_mm=px_mm,
        texture=texture.astype(_F),
        bone=np.zeros(shape, dtype=_F),
        cement=np.zeros(shape, dtype=_F),
        gas=np.zeros(shape, dtype=_F),
    )
    soft, trunk = _soft_tissue(cv, frames, rng, bowel_gas, aortic_calcification)
    for level, f in frames.items():
        lesion = index if index is not None and index.level == level else None
        _body(cv, f, bmd_factor, lesion, rng)
        _posterior(cv, f, bmd_factor)
    if ribs:
        _ribs(cv, frames, rng)
    if marker:
        _marker(cv, frames, marker)
    att = soft + cv.bone + cv.cement - cv.gas
    return _expose(att, trunk, cv.cement, rng, px_mm, dose)


def _expose(
    att: Array,
    trunk: Array,
    cement: Array,
    rng: np.random.Generator,
    px_mm: float,
    dose: float,
) -> npt.NDArray[np.uint16]:
    """Quantum noise, detector blur, log, console processing and 12-bit quantisation."""
    from scipy.ndimage import gaussian_filter

    att = np.maximum(att, _F(0.0))
    primary = np.exp(-att)
    # Scatter that passes the grid: a broad blur of the primary (scatter-to-primary ~0.4
    # behind the trunk), which lowers the contrast of bone against soft tissue.
    scatter = _F(0.4) * _blur(primary * trunk, 25.0 / px_mm)
    signal = primary + scatter
    photons = _F(2.5e5 * dose) * signal
    # Poisson statistics (Gaussian approximation) in the log domain: sd = 1 / sqrt(N).
    noise = rng.standard_normal(att.shape, dtype=_F) / np.sqrt(np.maximum(photons, _F(1.0)))
    log = -np.log(signal) + noise
    log = gaussian_filter(log, 0.2 / px_mm, mode="nearest")  # detector MTF, correlates noise
    tissue = (trunk > 0.5) & (cement < 0.02)
    sample = log[tissue] if tissue.any() else log.ravel()
    step = max(1, sample.size // 200_000)
    cap = float(np.percentile(sample[::step], 99.9))
    # Console processing: compress large-scale density differences (cement excluded, as
    # consoles segment it), enhance mid frequencies.
    large = _blur(np.minimum(log, _F(cap)), 18.0 / px_mm)
    mid = gaussian_filter(log, 1.6 / px_mm, mode="nearest")
    proc = log - _F(0.7) * large + _F(0.6) * (log - mid)
    sample = proc[tissue] if tissue.any() else proc.ravel()
    lo, hi = np.percentile(sample[::step], (0.5, 99.8))
    air = float(np.percentile(proc[::4, ::4], 0.5))
    lo = min(lo, air + 0.35 * (lo - air)) if lo > air else lo
    scale = (TISSUE_WHITE - _TISSUE_BLACK) / max(hi - lo, 1e-6)
    out = (proc - _F(lo)) * _F(scale) + _F(_TISSUE_BLACK)
    return np.clip(np.rint(out), 0, 4095).astype(np.uint16)
