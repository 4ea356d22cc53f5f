"""A synthetic lateral time series of one patient, for landmark propagation.

One kyphoplasty patient filmed at several time points (pre, post, last): between films
the patient is repositioned (rotation, translation, magnification), the exposure and the
noise differ, the film may face either way, the posture changes the disc angles a little,
and the treated (index) vertebra changes: restored height and cement after surgery,
optionally recompression at follow-up. Every film comes with its exact ground-truth
landmarks, built like the sample cohort's (:func:`kyphoimg.sample.spine_phantom`,
:func:`kyphoimg.sample.render_lateral`) but kept in memory.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..landmarks import LandmarkSet
from ..timepoints import TIMEPOINTS
from ._cohort import FilmSpec, PatientSpec, _appearance, film_calibration, spine_phantom
from ._render import render_lateral

__all__ = ["SeriesFilm", "lateral_series"]

_TIMEPOINTS = TIMEPOINTS


@dataclass(frozen=True)
class SeriesFilm:
    """One film of a synthetic lateral series, with its ground truth.

    Attributes
    ----------
    timepoint : str
        ``"pre"``, ``"post"`` or ``"last"``.
    pixels : ndarray of uint16, shape (rows, columns)
        The film, 12-bit, bone bright.
    landmarks : LandmarkSet
        Ground-truth ``6pt`` landmarks (levels T10-L3) in this film's pixels, with its
        calibration (detector spacing: millimetres at the detector), time point and index
        level.
    truth : dict
        Per level: heights (``ha_mm``, ``hm_mm``, ``hp_mm``), ``wedge_deg`` and the
        endplate inclinations, as :class:`kyphoimg.sample.Phantom` gives them.
    facing : {"right", "left"}
        Side of the image the patient's anterior faces.
    rotation_deg : float
        Rotation of the straightened spine on this film (counter-clockwise).
    shift_px : (float, float)
        Offset of the spine from the film's centre, (rows, columns).
    magnification : float
        Geometric magnification of the patient plane.
    dose : float
        Relative exposure (quantum noise scales with ``1 / sqrt(dose)``).
    gamma : float
        Power applied to the stored values (a different console processing).
    """

    timepoint: str
    pixels: npt.NDArray[np.uint16]
    landmarks: LandmarkSet
    truth: dict[str, dict[str, float]]
    facing: str
    rotation_deg: float
    shift_px: tuple[float, float]
    magnification: float
    dose: float
    gamma: float


def _facings(facing: str | Sequence[str] | None, n: int, rng: np.random.Generator) -> list[str]:
    if facing is None:
        out = [str(rng.choice(["right", "left"])) for _ in range(n)]
    elif isinstance(facing, str):
        out = [facing] * n
    else:
        out = [str(f) for f in facing]
    if len(out) != n or any(f not in ("right", "left") for f in out):
        raise ValueError(f"facing={facing!r}: use 'right', 'left', None or one per time point")
    return out


def lateral_series(
    seed: int = 0,
    *,
    index_level: str = "L1",
    timepoints: Sequence[str] = _TIMEPOINTS,
    facing: str | Sequence[str] | None = None,
    restoration: float = 0.6,
    recompression: bool = False,
    genant_grade: int = 2,
    fracture_type: str = "wedge",
    max_rotation_deg: float = 5.0,
    max_shift_px: float = 40.0,
    max_magnification_change: float = 0.05,
    shape: tuple[int, int] = (1024, 800),
) -> list[SeriesFilm]:
    """Render one patient's lateral films at several time points, with ground truth.

    Relative to the first film, each later film is rotated by up to
    ``max_rotation_deg``, shifted by up to ``max_shift_px`` in each direction and
    magnified by up to ``max_magnification_change`` (uniformly drawn from ``seed``); each
    film has its own exposure (dose 0.5-1.5), grey-level gamma (0.8-1.25) and noise, and
    its own small posture change (disc angles, sd 0.8 degrees). After surgery the index
    vertebra holds cement and has regained ``restoration`` of its lost height.

    Parameters
    ----------
    seed : int, optional
        Seed of everything drawn (the same seed gives the same pixels).
    index_level : {"T11", "T12", "L1", "L2"}, optional
        The fractured and treated level.
    timepoints : sequence of {"pre", "post", "last"}, optional
        Time points to film, in order.
    facing : {"right", "left"} or sequence of them, optional
        Side the anterior faces, for all films or per film; default drawn per film.
    restoration : float, optional
        Fraction of the lost height restored by kyphoplasty (0 to 1).
    recompression : bool, optional
        Recompression of the treated vertebra at ``"last"``.
    genant_grade : {1, 2, 3}, optional
        Grade of the fracture before surgery.
    fracture_type : {"wedge", "biconcave", "crush"}, optional
        Deformity type.
    max_rotation_deg, max_shift_px, max_magnification_change : float, optional
        Largest repositioning between films.
    shape : (int, int), optional
        Film size ``(rows, columns)``.

    Returns
    -------
    list of SeriesFilm
        One per time point, in order.

    Raises
    ------
    ValueError
        If a parameter is out of range, or the spine does not fit on the film.

    Examples
    --------
    >>> films = lateral_series(3, timepoints=("pre", "post"))
    >>> [f.timepoint for f in films], films[0].landmarks.index_levels
    (['pre', 'post'], ('L1',))
    """
    if any(tp not in _TIMEPOINTS for tp in timepoints):
        raise ValueError(f"timepoints={tuple(timepoints)!r}: use pre, post and last")
    rng = np.random.default_rng([seed, 7])
    n = len(timepoints)
    facings = _facings(facing, n, rng)
    base_tilt = float(rng.uniform(-2, 2))
    base_mag = 1.15
    films: list[FilmSpec] = []
    for k, tp in enumerate(timepoints):
        first = k == 0
        tilt = base_tilt + (0.0 if first else float(rng.uniform(-1, 1) * max_rotation_deg))
        mag = base_mag * (
            1.0 if first else 1 + float(rng.uniform(-1, 1) * max_magnification_change)
        )
        shift = tuple(float(v) for v in rng.uniform(-1, 1, size=2) * max_shift_px)
        films.append(
            FilmSpec(
                timepoint=tp,
                days_from_surgery=(-2, 1, 400)[_TIMEPOINTS.index(tp)],
                facing=facings[k],
                tilt_deg=tilt,
                shift_px=(shift[0], shift[1]),
                magnification=mag,
                shape=shape,
                dose=float(rng.uniform(0.5, 1.5)),
            )
        )
    spec = PatientSpec(
        patient_id=f"S{seed:04d}",
        age_years=74,
        sex="F",
        bmd_t_score=-2.8,
        index_level=index_level,
        fracture_type=fracture_type,
        genant_grade=genant_grade,
        ivc=False,
        npec="no",
        cement_volume_ml=4.0,
        leak=None,
        recompression=recompression,
        restoration=restoration,
        surgery_date=_dt.date(2025, 3, 1),
        vas=(8, 3, 3),
        smoking=False,
        films=tuple(films),
    )
    return [
        _film(spec, film, seed, k, float(rng.uniform(0.8, 1.25))) for k, film in enumerate(films)
    ]


def _film(spec: PatientSpec, film: FilmSpec, seed: int, k: int, gamma: float) -> SeriesFilm:
    """Render one film of the series and attach its truth."""
    rng = np.random.default_rng([seed, 11, k])
    _, cal = film_calibration(film)
    drawn, phantom = spine_phantom(spec, film, cal, rng)
    scale = cal.row_mm / (film.ips_mm / film.magnification)
    pixels = render_lateral(
        drawn,
        seed=[seed, 13, k],
        index=_appearance(spec, film.timepoint, scale),
        bmd_t_score=spec.bmd_t_score,
        marker="L" if film.facing == "right" else "R",
        dose=film.dose,
    )
    shaped = 4095.0 * (pixels.astype(np.float64) / 4095.0) ** gamma
    return SeriesFilm(
        timepoint=film.timepoint,
        pixels=np.clip(np.rint(shaped), 0, 4095).astype(np.uint16),
        landmarks=phantom.landmarks,
        truth={lv: dict(v) for lv, v in phantom.truth.items()},
        facing=film.facing,
        rotation_deg=film.tilt_deg,
        shift_px=film.shift_px,
        magnification=film.magnification,
        dose=film.dose,
        gamma=gamma,
    )
