"""Lateral spine landmark phantoms with exact ground truth.

A phantom is built in the patient's own frame (anterior axis ``A``, caudal axis ``C``,
millimetres) from per-vertebra heights and per-disc angles, then placed on a film: facing
left or right, rotated, translated and divided by the pixel spacing. The ground truth
(heights, endplate inclinations, hence every Cobb angle) follows from the construction
parameters, not from kyphoimg's measuring code, so tests and benchmarks can compare the
two.

Construction of one vertebra (superior endplate posterior corner ``S_p``, superior
endplate direction ``u`` at inclination ``theta`` toward caudal, its caudal normal ``n``,
depth ``D``)::

    S_a = S_p + D u            I_p = S_p + Hp n           I_a = S_a + Ha n
    mid_sup = S_p + D/2 u + k n                            mid_inf = mid_sup + Hm n

so Ha, Hm and Hp are exact, the anterior and posterior walls are parallel, and the
inferior endplate is inclined by ``atan2(Ha - Hp, D)`` relative to the superior one: the
wedge angle is ``atan2(Hp - Ha, D)`` (positive when the anterior body is shorter). The
next vertebra's superior endplate lies a disc height below ``I_p`` along the inferior
endplate's normal, inclined by the disc angle (kyphosis positive).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..calibration import Calibration
from ..landmarks import ImageRef, LandmarkSet, level_index

__all__ = ["Phantom", "lateral_phantom"]


@dataclass(frozen=True)
class Phantom:
    """A phantom's landmark set with its ground truth.

    Attributes
    ----------
    landmarks : LandmarkSet
        Points in pixels on the simulated film.
    truth : dict
        Per level: ``ha_mm``, ``hm_mm``, ``hp_mm``, ``wedge_deg``, ``theta_sup_deg``,
        ``theta_inf_deg`` (endplate inclinations toward caudal at the anterior end, in
        the patient frame).
    """

    landmarks: LandmarkSet
    truth: dict[str, dict[str, float]] = field(default_factory=dict)

    def cobb_deg(
        self, upper: str, lower: str, upper_end: str = "sup", lower_end: str = "inf"
    ) -> float:
        """Ground-truth Cobb angle (kyphosis positive) between two endplates."""
        return (
            self.truth[upper][f"theta_{upper_end}_deg"]
            - self.truth[lower][f"theta_{lower_end}_deg"]
        )


def _per_level(value: Any, levels: Sequence[str], name: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        missing = [lv for lv in levels if lv not in value]
        if missing:
            raise ValueError(f"{name} lacks level(s) {', '.join(missing)}")
        return dict(value)
    return dict.fromkeys(levels, value)


def lateral_phantom(
    levels: Sequence[str] = ("T11", "T12", "L1", "L2", "L3"),
    *,
    heights_mm: Mapping[str, tuple[float, float, float]] | tuple[float, float, float] = (
        26.0,
        25.0,
        27.0,
    ),
    disc_angle_deg: Mapping[str, float] | float = 0.0,
    depth_mm: Mapping[str, float] | float = 34.0,
    disc_mm: float = 8.0,
    endplate_dip_mm: float = 1.0,
    start_inclination_deg: float = 0.0,
    facing: str = "right",
    rotation_deg: float = 0.0,
    spacing: tuple[float, float] = (0.15, 0.15),
    source: str = "pixel_spacing",
    origin_px: tuple[float, float] = (300.0, 700.0),
    scheme: str = "6pt",
    patient_id: str | None = "PH01",
    timepoint: str | None = "pre",
    index_levels: Sequence[str] = (),
    rater: str | None = "phantom",
    findings: Mapping[str, Mapping[str, str]] | None = None,
    image_path: str | None = None,
    margin_px: float = 150.0,
) -> Phantom:
    """Build a lateral spine phantom with known geometry.

    Parameters
    ----------
    levels : sequence of str
        Consecutive levels, cranial to caudal (``S1`` allowed last: superior endplate only).
    heights_mm : (ha, hm, hp) or mapping level -> (ha, hm, hp)
        Anterior, middle and posterior body heights in mm.
    disc_angle_deg : float or mapping level -> float
        Angle of the disc below each level (kyphosis positive).
    depth_mm : float or mapping level -> float
        Antero-posterior depth of the superior endplate.
    disc_mm : float
        Posterior disc height.
    endplate_dip_mm : float
        Depth of the mid-endplate point below the superior endplate line.
    start_inclination_deg : float
        Inclination of the first superior endplate in the patient frame.
    facing : {"right", "left"}
        Side of the image the patient's anterior faces.
    rotation_deg : float
        Rotation of the whole spine on the film (counter-clockwise in the displayed image).
    spacing : (row_mm, col_mm)
        Pixel spacing of the simulated film (anisotropic allowed).
    source : str
        Calibration source recorded on the set.
    origin_px : (row, col)
        Where the first posterior-superior corner lands, before the margin shift.
    scheme : {"6pt", "4pt"}
        Points to emit.
    patient_id, timepoint, index_levels, rater, findings, image_path
        Copied onto the landmark set.
    margin_px : float
        Margin kept around the points when the image size is chosen.

    Returns
    -------
    Phantom
        Landmarks (pixels) and ground truth.

    Raises
    ------
    ValueError
        If levels are not consecutive or a parameter is out of range.
    """
    idx = [level_index(lv) for lv in levels]
    if any(b - a != 1 for a, b in itertools.pairwise(idx)):
        raise ValueError(f"levels must be consecutive, got {list(levels)}")
    if facing not in ("left", "right"):
        raise ValueError(f"facing={facing!r}; use 'left' or 'right'")
    hts = _per_level(heights_mm, levels, "heights_mm")
    discs = _per_level(disc_angle_deg, levels, "disc_angle_deg")
    depths = _per_level(depth_mm, levels, "depth_mm")

    def u_n(theta: float) -> tuple[np.ndarray, np.ndarray]:
        # Patient frame (A, C): u points anterior, tilted toward caudal by theta; n = caudal normal.
        u = np.array([math.cos(theta), math.sin(theta)])
        return u, np.array([-math.sin(theta), math.cos(theta)])

    theta = math.radians(start_inclination_deg)
    s_p = np.zeros(2)
    pts_ac: dict[str, dict[str, np.ndarray]] = {}
    truth: dict[str, dict[str, float]] = {}
    for lv in levels:
        u, n = u_n(theta)
        d = float(depths[lv])
        s_a = s_p + d * u
        mid_sup = s_p + d / 2 * u + endplate_dip_mm * n
        if lv == "S1":
            pts_ac[lv] = {"ant_sup": s_a, "mid_sup": mid_sup, "post_sup": s_p}
            truth[lv] = {"theta_sup_deg": math.degrees(theta)}
            break
        ha, hm, hp = (float(x) for x in hts[lv])
        i_p = s_p + hp * n
        i_a = s_a + ha * n
        mid_inf = mid_sup + hm * n
        theta_inf = theta + math.atan2(ha - hp, d)
        pts_ac[lv] = {
            "ant_sup": s_a,
            "mid_sup": mid_sup,
            "post_sup": s_p,
            "ant_inf": i_a,
            "mid_inf": mid_inf,
            "post_inf": i_p,
        }
        truth[lv] = {
            "ha_mm": ha,
            "hm_mm": hm,
            "hp_mm": hp,
            "wedge_deg": math.degrees(math.atan2(hp - ha, d)),
            "theta_sup_deg": math.degrees(theta),
            "theta_inf_deg": math.degrees(theta_inf),
        }
        _, n_inf = u_n(theta_inf)
        s_p = i_p + disc_mm * n_inf
        theta = theta_inf - math.radians(float(discs[lv]))

    # Patient frame -> image mm: facing right puts anterior at +col, caudal at +row.
    sign = 1.0 if facing == "right" else -1.0
    rot = math.radians(rotation_deg)
    cr, sr = math.cos(rot), math.sin(rot)
    row_mm, col_mm = spacing

    def place(p: np.ndarray) -> tuple[float, float]:
        r, c = p[1], sign * p[0]
        # Counter-clockwise on screen (row axis pointing down): (r, c) -> (r cos - c sin, ...).
        rr = cr * r - sr * c
        cc = sr * r + cr * c
        return (origin_px[0] + rr / row_mm, origin_px[1] + cc / col_mm)

    names = ("ant_sup", "post_sup", "ant_inf", "post_inf") if scheme == "4pt" else None
    placed = {
        lv: {k: place(v) for k, v in pts.items() if names is None or k in names}
        for lv, pts in pts_ac.items()
    }
    allp = np.array([p for pts in placed.values() for p in pts.values()])
    shift = margin_px - allp.min(axis=0)
    placed = {
        lv: {k: (v[0] + shift[0], v[1] + shift[1]) for k, v in pts.items()}
        for lv, pts in placed.items()
    }
    rows, cols = (math.ceil(x) for x in allp.max(axis=0) + shift + margin_px)
    cal = Calibration.none() if source == "none" else Calibration(row_mm, col_mm, source)
    ls = LandmarkSet(
        points=placed,
        scheme=scheme,
        patient_id=patient_id,
        timepoint=timepoint,
        image=ImageRef(path=image_path, rows=rows, columns=cols),
        calibration=cal,
        index_levels=tuple(index_levels),
        rater=rater,
        findings=dict(findings or {}),
    )
    return Phantom(landmarks=ls, truth=truth)
