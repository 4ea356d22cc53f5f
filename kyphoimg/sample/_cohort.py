"""Deterministic synthetic radiographs and cohorts: sample data, tests and benchmarks.

Nothing here is real patient data. Three layers:

- :func:`render_lateral` draws a lateral thoracolumbar radiograph whose anatomy follows
  a landmark set exactly (see :mod:`kyphoimg._render`);
- :func:`write_radiograph` stores 12-bit pixels as a real DICOM CR or DX file (Imager
  Pixel Spacing always; optionally an Estimated Radiographic Magnification Factor or a
  calibrated Pixel Spacing; MONOCHROME1 or 2; uncompressed or JPEG 2000 lossless), with
  UIDs derived from the seed;
- :func:`generate_patient` and :func:`generate_cohort` build one phantom per film with
  :func:`kyphoimg.lateral_phantom` (a fractured index vertebra of a chosen Genant grade
  and type, kyphoplasty with cement, recompression or not at follow-up), render it,
  write the DICOM and its exact ground-truth landmark file (``<name>.landmarks.json``),
  and a ``clinical.csv``.

:func:`simulate_cohort` draws patient-level tables shaped like the two seed studies, for
the statistics (no images).

The same seed gives the same pixels, landmark files and tables, byte for byte, with the
same library versions.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEG2000Lossless, generate_uid

from ..calibration import Calibration
from ..dicom import calibration_from_dataset
from ..landmarks import ImageRef, LandmarkSet, write_landmarks
from ..timepoints import TIMEPOINTS
from ._render import TISSUE_WHITE, CementSpec, IndexAppearance, render_lateral
from ._simulate import PUBLISHED, simulate_cohort
from .phantom import Phantom, lateral_phantom

__all__ = [
    "CALIBRATION_KINDS",
    "CLINICAL_COLUMNS",
    "DRAWN_LEVELS",
    "LANDMARK_LEVELS",
    "PUBLISHED",
    "SAMPLE_SEED",
    "CementSpec",
    "FilmSpec",
    "IndexAppearance",
    "PatientSpec",
    "SampleFilm",
    "clinical_table",
    "film_calibration",
    "fracture_heights",
    "generate_cohort",
    "generate_patient",
    "radiograph_dataset",
    "render_lateral",
    "sample_patients",
    "simulate_cohort",
    "spine_phantom",
    "truth_frame",
    "write_radiograph",
]

#: Seed of the committed ``sample_dicom/`` cohort.
SAMPLE_SEED = 20260131

#: Levels drawn on every film (the outer two are cut by the image edges).
DRAWN_LEVELS: tuple[str, ...] = ("T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4")
#: Levels carried by the ground-truth landmark files.
LANDMARK_LEVELS: tuple[str, ...] = ("T10", "T11", "T12", "L1", "L2", "L3")

#: How the spacing tags of a film are written (all carry Imager Pixel Spacing):
#: ``detector`` IPS alone; ``detector_ps_equal`` IPS and an equal Pixel Spacing (not
#: corrected for magnification); ``ermf`` IPS and the Estimated Radiographic
#: Magnification Factor; ``pixel_spacing`` a calibrated Pixel Spacing (IPS / M) with
#: Pixel Spacing Calibration Type FIDUCIAL.
CALIBRATION_KINDS: tuple[str, ...] = ("detector", "detector_ps_equal", "ermf", "pixel_spacing")

_TRANSFER_SYNTAXES: dict[str, UID] = {
    "explicit": ExplicitVRLittleEndian,
    "j2k": JPEG2000Lossless,
    str(ExplicitVRLittleEndian): ExplicitVRLittleEndian,
    str(JPEG2000Lossless): JPEG2000Lossless,
}
_SOP_CLASSES = {
    "CR": UID("1.2.840.10008.5.1.4.1.1.1"),  # Computed Radiography Image Storage
    "DX": UID("1.2.840.10008.5.1.4.1.1.1.1"),  # Digital X-Ray Image Storage - For Presentation
}

# Anatomy for drawing (approximate adult values, mm): anterior and posterior body
# heights, antero-posterior depth, and the angle of the disc below (kyphosis positive).
_ANATOMY: dict[str, tuple[float, float, float, float]] = {
    "T9": (19.0, 20.6, 27.5, 3.5),
    "T10": (19.6, 21.2, 28.5, 3.0),
    "T11": (20.6, 22.2, 29.5, 2.0),
    "T12": (22.0, 23.4, 31.0, 0.5),
    "L1": (23.6, 24.6, 32.5, -2.5),
    "L2": (24.8, 25.4, 34.0, -5.0),
    "L3": (25.4, 25.4, 35.0, -7.5),
    "L4": (25.6, 25.0, 35.5, -9.0),
}
_ENDPLATE_DIP_MM = 0.9
_DISC_MM = 4.5

#: Height loss (fraction of the adjacent-average reference) drawn for each Genant grade:
#: the middle of the grade's range (grade 1: 20-25 %, 2: 25-40 %, 3: >= 40 %).
_GENANT_LOSS = {1: 0.225, 2: 0.32, 3: 0.46}


# ----------------------------------------------------------------------------- specs
@dataclass(frozen=True)
class FilmSpec:
    """How one film of a patient is acquired and stored.

    Parameters
    ----------
    timepoint : {"pre", "post", "last"}
        Time point name; also the file name (``pre.dcm``).
    days_from_surgery : int
        Film date relative to the surgery date (negative before surgery).
    modality : {"CR", "DX"}
        Modality and SOP class (CR Image Storage, DX Image Storage For Presentation).
    photometric : {"MONOCHROME1", "MONOCHROME2"}
        Stored polarity; MONOCHROME1 stores bone dark (inverted).
    transfer_syntax : {"explicit", "j2k"}
        Explicit VR Little Endian, or JPEG 2000 lossless (pylibjpeg-openjpeg).
    calibration_kind : str
        One of :data:`CALIBRATION_KINDS`.
    facing : {"right", "left"}
        Side of the image the patient's anterior faces.
    tilt_deg : float
        Rotation of the spine on the film (counter-clockwise), after straightening it.
    shift_px : (float, float)
        Offset of the spine from its default place on the film.
    magnification : float
        True geometric magnification (SID / SOD) of the patient plane.
    imager_spacing_mm : float, optional
        Imager Pixel Spacing (square); default 0.25 for CR, 0.24 for DX.
    shape : (int, int), optional
        ``(rows, columns)``; default (1024, 800).
    dose : float
        Relative exposure (noise scales with ``1 / sqrt(dose)``).
    """

    timepoint: str
    days_from_surgery: int
    modality: str = "DX"
    photometric: str = "MONOCHROME2"
    transfer_syntax: str = "explicit"
    calibration_kind: str = "detector"
    facing: str = "right"
    tilt_deg: float = 0.0
    shift_px: tuple[float, float] = (0.0, 0.0)
    magnification: float = 1.15
    imager_spacing_mm: float | None = None
    shape: tuple[int, int] = (1024, 800)
    dose: float = 1.0

    def __post_init__(self) -> None:
        if self.modality not in _SOP_CLASSES:
            raise ValueError(f"modality={self.modality!r}; use 'CR' or 'DX'")
        if self.photometric not in ("MONOCHROME1", "MONOCHROME2"):
            raise ValueError(
                f"photometric={self.photometric!r}; use 'MONOCHROME1' or 'MONOCHROME2'"
            )
        if self.transfer_syntax not in _TRANSFER_SYNTAXES:
            raise ValueError(f"transfer_syntax={self.transfer_syntax!r}; use 'explicit' or 'j2k'")
        if self.calibration_kind not in CALIBRATION_KINDS:
            raise ValueError(
                f"calibration_kind={self.calibration_kind!r}; use one of "
                + ", ".join(CALIBRATION_KINDS)
            )
        if self.facing not in ("left", "right"):
            raise ValueError(f"facing={self.facing!r}; use 'left' or 'right'")
        if not 1.0 <= self.magnification <= 2.0:
            raise ValueError(f"magnification={self.magnification!r} must lie in [1, 2]")

    @property
    def ips_mm(self) -> float:
        """Imager Pixel Spacing in mm (the modality default when not given)."""
        if self.imager_spacing_mm is not None:
            return float(self.imager_spacing_mm)
        return 0.25 if self.modality == "CR" else 0.24


@dataclass(frozen=True)
class PatientSpec:
    """A synthetic patient: fracture, treatment, outcome, clinical values and films.

    Parameters
    ----------
    patient_id : str
        Identifier (``P001``).
    age_years : int
        Age at surgery.
    sex : {"F", "M"}
        Sex.
    bmd_t_score : float
        Lowest BMD T-score (also thins the drawn bone).
    index_level : str
        The fractured level, T11 to L2 (its neighbours must be on the film).
    fracture_type : {"wedge", "biconcave", "crush"}
        Which height is most reduced (anterior, middle, posterior).
    genant_grade : {1, 2, 3}
        Morphometric grade of the pre-operative film.
    ivc : bool
        Intravertebral cleft on the pre-operative film.
    npec : {"no", "superior", "inferior", "both"}
        Non-PMMA-endplate contact: which endplate the cement does not reach.
    cement_volume_ml : float
        Cement volume (clinical record); sets the drawn size of the mass.
    leak : {None, "disc_superior", "disc_inferior", "anterior"}
        Cement leakage site.
    recompression : bool
        Recompression of the treated vertebra at the last follow-up.
    restoration : float
        Fraction of the lost height restored by kyphoplasty (0 to 1).
    surgery_date : datetime.date
        Date of kyphoplasty.
    vas : (int, int, int)
        VAS back pain at pre, post and last.
    smoking : bool
        Current smoker.
    symptom_weeks : float
        Duration of symptoms before surgery.
    size : float
        Scale of the patient's anatomy (1 = the drawing defaults).
    films : tuple of FilmSpec
        The films, in time order.
    height_loss : float
        Anterior height lost between post-op and the last follow-up, as a fraction, of a
        patient without recompression (below the 15 % rule; the middle and posterior
        heights lose less).
    """

    patient_id: str
    age_years: int
    sex: str
    bmd_t_score: float
    index_level: str
    fracture_type: str
    genant_grade: int
    ivc: bool
    npec: str
    cement_volume_ml: float
    leak: str | None
    recompression: bool
    restoration: float
    surgery_date: _dt.date
    vas: tuple[int, int, int]
    smoking: bool
    symptom_weeks: float = 4.0
    size: float = 1.0
    films: tuple[FilmSpec, ...] = field(default_factory=tuple)
    height_loss: float = 0.03

    def __post_init__(self) -> None:
        if self.index_level not in ("T11", "T12", "L1", "L2"):
            raise ValueError(
                f"index_level={self.index_level!r}; use T11, T12, L1 or L2 (both neighbours "
                "must be on the film)"
            )
        if self.genant_grade not in _GENANT_LOSS:
            raise ValueError(f"genant_grade={self.genant_grade!r}; use 1, 2 or 3")
        if self.npec not in ("no", "superior", "inferior", "both"):
            raise ValueError(f"npec={self.npec!r}; use no, superior, inferior or both")
        if not 0.0 <= self.restoration <= 1.0:
            raise ValueError(f"restoration={self.restoration!r} must lie in [0, 1]")


@dataclass(frozen=True)
class SampleFilm:
    """One generated film: its files and its ground truth.

    Attributes
    ----------
    patient_id, timepoint : str
        Identification.
    dicom_path, landmarks_path : pathlib.Path
        The files written.
    phantom : Phantom
        The landmark set written (levels :data:`LANDMARK_LEVELS`) with the truth of
        every drawn level (heights in the calibration's mm, endplate inclinations).
    calibration : Calibration
        The calibration the DICOM resolves to (and the landmark file records).
    film : FilmSpec
        How the film was acquired and stored.
    """

    patient_id: str
    timepoint: str
    dicom_path: Path
    landmarks_path: Path
    phantom: Phantom
    calibration: Calibration
    film: FilmSpec


# ----------------------------------------------------------------------------- geometry
def fracture_heights(
    reference: tuple[float, float, float], grade: int, fracture_type: str
) -> tuple[float, float, float]:
    """Heights ``(ha, hm, hp)`` of a fractured body of a morphometric Genant grade.

    The most reduced height (anterior for a wedge, middle for a biconcave, posterior for
    a crush fracture) loses the middle of the grade's range of the reference height
    (22.5 %, 32 %, 46 % for grades 1-3), the others less, so that kyphoimg's morphometric
    grade and type (largest loss against the adjacent-average reference) come out as
    asked.

    Parameters
    ----------
    reference : (float, float, float)
        Reference ``(ha, hm, hp)``: the mean of the adjacent vertebrae's heights.
    grade : {1, 2, 3}
        Morphometric Genant grade.
    fracture_type : {"wedge", "biconcave", "crush"}
        Deformity type.

    Returns
    -------
    (float, float, float)
        ``(ha, hm, hp)`` in the unit of ``reference``.

    Raises
    ------
    ValueError
        If the grade or type is unknown.

    Examples
    --------
    >>> [round(h, 2) for h in fracture_heights((24.0, 22.0, 25.0), 2, "wedge")]
    [16.32, 18.13, 24.36]
    """
    if grade not in _GENANT_LOSS:
        raise ValueError(f"grade={grade!r}; use 1, 2 or 3")
    share = {
        "wedge": (1.0, 0.55, 0.08),
        "biconcave": (0.4, 1.0, 0.2),
        "crush": (0.9, 0.93, 1.0),
    }
    if fracture_type not in share:
        raise ValueError(f"fracture_type={fracture_type!r}; use wedge, biconcave or crush")
    loss = _GENANT_LOSS[grade]
    ha, hm, hp = (r * (1 - loss * k) for r, k in zip(reference, share[fracture_type], strict=True))
    return ha, hm, hp


def _normal_heights(size: float) -> dict[str, tuple[float, float, float]]:
    out = {}
    for level, (ha, hp, _, _) in _ANATOMY.items():
        hm = (ha + hp) / 2 - 2 * _ENDPLATE_DIP_MM
        out[level] = (ha * size, hm * size, hp * size)
    return out


def _index_heights(spec: PatientSpec) -> dict[str, tuple[float, float, float]]:
    """Anatomical heights of the index vertebra at pre, post and last (mm)."""
    normal = _normal_heights(spec.size)
    i = DRAWN_LEVELS.index(spec.index_level)
    up, down = normal[DRAWN_LEVELS[i - 1]], normal[DRAWN_LEVELS[i + 1]]
    ref = tuple((a + b) / 2 for a, b in zip(up, down, strict=True))
    pre = fracture_heights(ref, spec.genant_grade, spec.fracture_type)  # type: ignore[arg-type]
    target = tuple(r * 0.97 for r in ref)
    post = tuple(p + spec.restoration * max(t - p, 0.0) for p, t in zip(pre, target, strict=True))
    if spec.recompression:
        loss = {"wedge": (0.27, 0.2, 0.04), "biconcave": (0.16, 0.27, 0.05)}.get(
            spec.fracture_type, (0.24, 0.24, 0.2)
        )
        loss = (max(loss[0], 0.2), loss[1], loss[2])  # Ha loss >= 15 %: recompression
    else:
        k = spec.height_loss
        # the middle and posterior heights lose 5/6 and 1/3 as much; the literal default
        # keeps the committed sample_dicom/ films bit-identical
        loss = (0.03, 0.025, 0.01) if k == 0.03 else (k, k * 5 / 6, k / 3)
    last = tuple(p * (1 - k) for p, k in zip(post, loss, strict=True))
    return {"pre": pre, "post": post, "last": last}  # type: ignore[dict-item]


def film_calibration(film: FilmSpec) -> tuple[Dataset, Calibration]:
    """Return the spacing tags of a film and the calibration kyphoimg resolves from them.

    Parameters
    ----------
    film : FilmSpec
        Gives the calibration kind, the Imager Pixel Spacing and the magnification.

    Returns
    -------
    tags : pydicom.dataset.Dataset
        Imager Pixel Spacing, and Pixel Spacing (with its calibration type and
        description) or Estimated Radiographic Magnification Factor as the kind asks,
        plus Distance Source to Detector / to Patient.
    calibration : Calibration
        What :func:`kyphoimg.dicom.calibration_from_dataset` makes of the tags.
    """
    ips = f"{film.ips_mm:.4f}".rstrip("0").rstrip(".")
    ermf = f"{film.magnification:.4f}".rstrip("0").rstrip(".")
    sid = 1150.0 if film.modality == "DX" else 1000.0
    tags = Dataset()
    tags.ImagerPixelSpacing = [ips, ips]
    tags.DistanceSourceToDetector = f"{sid:.1f}"
    kind = film.calibration_kind
    if kind == "detector_ps_equal":
        tags.PixelSpacing = [ips, ips]
    elif kind == "ermf":
        tags.EstimatedRadiographicMagnificationFactor = ermf
        tags.DistanceSourceToPatient = f"{sid / float(ermf):.1f}"
    elif kind == "pixel_spacing":
        ps = f"{float(ips) / float(ermf):.6f}"
        tags.PixelSpacing = [ps, ps]
        tags.PixelSpacingCalibrationType = "FIDUCIAL"
        tags.PixelSpacingCalibrationDescription = (
            "calibration sphere of 25.0 mm placed at the level of the spine"
        )
    return tags, calibration_from_dataset(tags)


def spine_phantom(
    spec: PatientSpec, film: FilmSpec, calibration: Calibration, rng: np.random.Generator
) -> tuple[LandmarkSet, Phantom]:
    """Build the geometry of one film: every drawn level, and the landmark phantom.

    Anatomy is built in patient-plane mm and expressed in the plane of ``calibration``:
    a detector calibration gives magnified millimetres (anatomy x magnification), an
    ERMF or calibrated Pixel Spacing the estimated patient plane. The spine is
    straightened on the film, tilted by ``film.tilt_deg`` and centred.

    Parameters
    ----------
    spec : PatientSpec
        The patient (fracture, restoration, recompression, size).
    film : FilmSpec
        The film (time point, facing, tilt, shape, magnification).
    calibration : Calibration
        The calibration the film's DICOM resolves to.
    rng : numpy.random.Generator
        Source of the small per-film variation (disc angles, placement).

    Returns
    -------
    drawn : LandmarkSet
        Every level of :data:`DRAWN_LEVELS` (for drawing; the outer ones may leave the
        image).
    phantom : Phantom
        The landmark levels :data:`LANDMARK_LEVELS` and the truth of every drawn level.

    Raises
    ------
    ValueError
        If the landmark levels do not fit on the film.
    """
    pixel_mm = film.ips_mm / film.magnification  # patient-plane size of one pixel
    scale = calibration.row_mm / pixel_mm  # calibration-plane mm per patient-plane mm
    heights = _normal_heights(spec.size)
    heights[spec.index_level] = _index_heights(spec)[film.timepoint]
    # Anatomy varies a little between films: posture changes the disc angles.
    discs = {lv: _ANATOMY[lv][3] + float(rng.normal(0, 0.8)) for lv in DRAWN_LEVELS}
    kwargs: dict[str, Any] = {
        "heights_mm": {lv: tuple(h * scale for h in hs) for lv, hs in heights.items()},
        "depth_mm": {lv: _ANATOMY[lv][2] * spec.size * scale for lv in DRAWN_LEVELS},
        "disc_angle_deg": discs,
        "disc_mm": _DISC_MM * spec.size * scale,
        "endplate_dip_mm": _ENDPLATE_DIP_MM * spec.size * scale,
        "facing": film.facing,
        "spacing": (calibration.row_mm, calibration.col_mm),
        "source": calibration.source,
        "patient_id": spec.patient_id,
        "timepoint": film.timepoint,
        "index_levels": (spec.index_level,),
        "rater": "ground_truth",
    }
    first = lateral_phantom(DRAWN_LEVELS, **kwargs)
    spacing = np.array([calibration.row_mm, calibration.col_mm])

    def centre(ls: LandmarkSet, level: str) -> npt.NDArray[np.float64]:
        return np.mean(np.array(list(ls.points[level].values())), axis=0) * spacing

    v = centre(first.landmarks, LANDMARK_LEVELS[-1]) - centre(first.landmarks, LANDMARK_LEVELS[0])
    lean = math.degrees(math.atan2(v[1], v[0]))
    phantom = lateral_phantom(DRAWN_LEVELS, rotation_deg=-lean + film.tilt_deg, **kwargs)
    pts = phantom.landmarks.points
    inner = np.array([p for lv in LANDMARK_LEVELS for p in pts[lv].values()])
    rows, cols = film.shape
    target = np.array(
        [rows / 2 + film.shift_px[0], cols * (0.58 if film.facing == "right" else 0.42)]
    )
    target[1] += film.shift_px[1]
    offset = target - (inner.min(axis=0) + inner.max(axis=0)) / 2
    moved = {
        lv: {k: (p[0] + offset[0], p[1] + offset[1]) for k, p in v.items()} for lv, v in pts.items()
    }
    lo, hi = inner.min(axis=0) + offset, inner.max(axis=0) + offset
    margin = 12.0
    if lo.min() < margin or hi[0] > rows - 1 - margin or hi[1] > cols - 1 - margin:
        raise ValueError(
            f"{spec.patient_id} {film.timepoint}: levels {LANDMARK_LEVELS[0]}-"
            f"{LANDMARK_LEVELS[-1]} span rows {lo[0]:.0f}-{hi[0]:.0f}, columns "
            f"{lo[1]:.0f}-{hi[1]:.0f}, beyond the {rows}x{cols} film; use a larger shape "
            "or a coarser imager spacing"
        )
    image = ImageRef(rows=rows, columns=cols)
    drawn = phantom.landmarks.replace(points=moved, image=image)
    kept = {lv: moved[lv] for lv in LANDMARK_LEVELS}
    truth = {lv: phantom.truth[lv] for lv in DRAWN_LEVELS}
    return drawn, Phantom(landmarks=drawn.replace(points=kept), truth=truth)


# ----------------------------------------------------------------------------- DICOM
def _uid(*parts: object) -> UID:
    return generate_uid(entropy_srcs=["kyphoimg.sample", *(str(p) for p in parts)])


def _da(d: _dt.date) -> str:
    return d.strftime("%Y%m%d")


def _code(value: str, meaning: str, scheme: str = "SCT") -> Dataset:
    """One item of a code sequence (Code Sequence Macro, PS3.3 Table 8.8-1)."""
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def radiograph_dataset(
    pixels: npt.NDArray[np.integer[Any]],
    *,
    patient_id: str,
    study_date: _dt.date,
    study_time: _dt.time = _dt.time(9, 0),
    modality: str = "DX",
    photometric: str = "MONOCHROME2",
    transfer_syntax: str = "explicit",
    spacing_tags: Dataset | None = None,
    facing: str = "right",
    patient_sex: str = "O",
    patient_age_years: int | None = None,
    birth_date: _dt.date | None = None,
    uid_seed: Sequence[object] = (),
    series_number: int = 1,
    instance_number: int = 1,
    description: str = "XR THORACOLUMBAR SPINE LAT",
    comment: str | None = None,
    window: tuple[float, float] | None = None,
) -> Dataset:
    r"""Build a CR or DX dataset (with file meta) holding 12-bit pixels.

    Parameters
    ----------
    pixels : ndarray of int, shape (rows, columns)
        Values 0-4095 with bone high (as :func:`render_lateral` returns them); for
        MONOCHROME1 they are stored inverted (``4095 - pixels``).
    patient_id : str
        Patient ID (0010,0020); the Patient's Name is ``SYNTHETIC^<patient_id>``.
    study_date, study_time : datetime.date, datetime.time
        Study, series, acquisition and content date and time.
    modality : {"CR", "DX"}
        Modality and SOP class.
    photometric : {"MONOCHROME1", "MONOCHROME2"}
        Stored polarity (with Presentation LUT Shape INVERSE or IDENTITY).
    transfer_syntax : {"explicit", "j2k"} or UID
        Explicit VR Little Endian, or JPEG 2000 lossless (encoded with pylibjpeg-openjpeg).
    spacing_tags : pydicom.dataset.Dataset, optional
        Spacing elements to copy (see :func:`film_calibration`); default Imager Pixel
        Spacing 0.2 mm alone.
    facing : {"right", "left"}
        Where the patient's anterior faces: Patient Orientation ``A\F`` or ``P\F``.
    patient_sex, patient_age_years, birth_date
        Patient module values.
    uid_seed : sequence
        Values the UIDs are derived from (with the study date, time and patient id):
        the same values give the same UIDs.
    series_number, instance_number : int
        Series and instance numbers.
    description : str
        Study and series description.
    comment : str, optional
        Image Comments; default states that the image is synthetic.
    window : (float, float), optional
        Display window ``(low, high)`` in bone-high units (before any MONOCHROME1
        inversion), stored as Window Center/Width; default the 2nd to 99.8th
        percentile of the pixels.

    Returns
    -------
    pydicom.dataset.Dataset
        Ready for ``save_as(path, enforce_file_format=True)``; valid against the CR Image
        or DX Image For Presentation IOD (no ``dciodvfy`` errors).

    Raises
    ------
    ValueError
        If the pixels are not 2-D or outside 0-4095, or an option is unknown.
    """
    arr = np.asarray(pixels)
    if arr.ndim != 2:
        raise ValueError(f"pixels must be 2-D (rows, columns), got shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() > 4095):
        raise ValueError("pixels must hold 12-bit values (0 to 4095)")
    if modality not in _SOP_CLASSES:
        raise ValueError(f"modality={modality!r}; use 'CR' or 'DX'")
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise ValueError(f"photometric={photometric!r}; use 'MONOCHROME1' or 'MONOCHROME2'")
    ts = _TRANSFER_SYNTAXES.get(str(transfer_syntax))
    if ts is None:
        raise ValueError(f"transfer_syntax={transfer_syntax!r}; use 'explicit' or 'j2k'")
    stored = arr.astype(np.uint16)
    if photometric == "MONOCHROME1":
        stored = np.uint16(4095) - stored
    key = (*uid_seed, patient_id, _da(study_date), study_time.isoformat())
    study_uid, series_uid, sop_uid = (_uid(*key, role) for role in ("study", "series", "image"))
    sop_class = _SOP_CLASSES[modality]

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    date, time = _da(study_date), study_time.strftime("%H%M%S")
    for kw in ("Study", "Series", "Acquisition", "Content"):
        setattr(ds, f"{kw}Date", date)
        setattr(ds, f"{kw}Time", time)
    ds.AccessionNumber = f"SYN{zlib.crc32(sop_uid.encode()) % 10**8:08d}"
    ds.Modality = modality
    ds.Manufacturer = "kyphoimg (synthetic)"
    ds.ManufacturerModelName = "kyphoimg.sample"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = description
    ds.SeriesDescription = description
    ds.PatientName = f"SYNTHETIC^{patient_id}"
    ds.PatientID = patient_id
    ds.PatientBirthDate = _da(birth_date) if birth_date else ""
    ds.PatientSex = patient_sex
    if patient_age_years is not None:
        ds.PatientAge = f"{int(patient_age_years):03d}Y"
    ds.BodyPartExamined = "SPINE"
    ds.ViewPosition = "LL"
    ds.PatientPosition = ""
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = ds.AccessionNumber[-6:]
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    ds.PatientOrientation = ["A", "F"] if facing == "right" else ["P", "F"]
    ds.ImageLaterality = "U"
    ds.BurnedInAnnotation = "NO"
    ds.ImageComments = comment or (
        "Synthetic radiograph generated by kyphoimg.sample; not a real patient"
    )
    ds.DerivationDescription = "synthetic lateral spine phantom (kyphoimg.sample)"
    # General Image / DX Image: stored losslessly (JPEG 2000 lossless included), Type 1
    # in DX. General Anatomy Required Macro (DX Anatomy Imaged, General Image): the
    # region of Body Part Examined SPINE, CID 4009 / 4031.
    ds.LossyImageCompression = "00"
    ds.AnatomicRegionSequence = [_code("421060004", "Spine")]
    if modality == "DX":
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.DetectorType = "SCINTILLATOR"
        # DX Positioning (present: View Position, the source distances, ERMF): an
        # upright tube stand, and the coded View Position LL (CID 4010 DX View).
        ds.PositionerType = "COLUMN"
        ds.ViewCodeSequence = [_code("399173006", "left lateral")]
        # Acquisition Context module (Type 2): no context recorded.
        ds.AcquisitionContextSequence = []
    ds.KVP = "85"
    for elem in spacing_tags or _default_spacing():
        ds.add(elem)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = (int(x) for x in stored.shape)
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelIntensityRelationship = "LOG"
    ds.PixelIntensityRelationshipSign = -1 if photometric == "MONOCHROME2" else 1
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.RescaleType = "US"
    ds.PresentationLUTShape = "IDENTITY" if photometric == "MONOCHROME2" else "INVERSE"
    centre, width = _window(arr) if window is None else _window_of(*window)
    ds.WindowCenter = f"{centre if photometric == 'MONOCHROME2' else 4095 - centre:d}"
    ds.WindowWidth = f"{width:d}"
    ds.WindowCenterWidthExplanation = "SPINE"
    if ts == JPEG2000Lossless:
        ds.compress(
            JPEG2000Lossless,
            np.ascontiguousarray(stored),
            encoding_plugin="pylibjpeg",
            generate_instance_uid=False,
        )
    else:
        ds.PixelData = np.ascontiguousarray(stored).astype("<u2").tobytes()
    return ds


def _default_spacing() -> Dataset:
    tags = Dataset()
    tags.ImagerPixelSpacing = ["0.2", "0.2"]
    return tags


def _window(bone_high: npt.NDArray[Any]) -> tuple[int, int]:
    """Return a display window (centre, width) in bone-high units over most of the film."""
    sample = np.asarray(bone_high)[::4, ::4]
    lo, hi = np.percentile(sample, (2.0, 99.8))
    return _window_of(float(lo), float(hi))


def _window_of(lo: float, hi: float) -> tuple[int, int]:
    return int(round((lo + hi) / 2)), max(int(round(hi - lo)), 2)


def write_radiograph(
    pixels: npt.NDArray[np.integer[Any]], path: str | os.PathLike[str], **kwargs: Any
) -> Dataset:
    """Write 12-bit pixels as a DICOM CR or DX file (see :func:`radiograph_dataset`).

    Parameters
    ----------
    pixels : ndarray of int, shape (rows, columns)
        Values 0-4095, bone high.
    path : path-like
        Destination; parent folders are created.
    **kwargs
        Passed to :func:`radiograph_dataset` (``patient_id`` and ``study_date`` are
        required).

    Returns
    -------
    pydicom.dataset.Dataset
        The dataset written.
    """
    ds = radiograph_dataset(pixels, **kwargs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return ds


# ----------------------------------------------------------------------------- patients
def _stable(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _cement_spec(spec: PatientSpec, post_heights: tuple[float, float, float]) -> CementSpec:
    """Return the cement mass, in anatomical mm, for the volume and the NPEC pattern."""
    _, hm, _ = post_heights
    half = float(np.clip(0.27 + 0.035 * (spec.cement_volume_ml - 3.0), 0.22, 0.4))
    gap = 0.34 * hm
    if spec.npec == "no":
        anchor, low, high = "inf", 0.35, hm - 0.35
    elif spec.npec == "superior":
        anchor, low, high = "inf", 0.35, hm - gap
    elif spec.npec == "inferior":
        anchor, low, high = "sup", 0.35, hm - gap
    else:
        anchor, low, high = "inf", 0.24 * hm, 0.76 * hm
    return CementSpec(
        s_center=0.56,
        s_halfwidth=half,
        low_mm=low,
        high_mm=high,
        anchor=anchor,
        leak=spec.leak,
        shape_seed=_stable(spec.patient_id),
    )


def _appearance(spec: PatientSpec, timepoint: str, scale: float) -> IndexAppearance:
    if timepoint == "pre":
        return IndexAppearance(spec.index_level, spec.fracture_type, acute=True, ivc=spec.ivc)
    post = _index_heights(spec)["post"]
    cement = _cement_spec(spec, post)
    cement = replace(cement, low_mm=cement.low_mm * scale, high_mm=cement.high_mm * scale)
    acute = timepoint != "post" and spec.recompression
    return IndexAppearance(spec.index_level, spec.fracture_type, acute=acute, cement=cement)


def _findings(spec: PatientSpec, timepoint: str) -> dict[str, dict[str, str]]:
    found: dict[str, str] = {"ivc": "yes" if spec.ivc else "no"}
    if timepoint == "pre":
        found["genant_visual"] = str(spec.genant_grade)
    else:
        found["npec"] = spec.npec
        found["cement_leakage"] = "yes" if spec.leak else "no"
    return {spec.index_level: found}


def generate_patient(
    spec: PatientSpec, folder: str | os.PathLike[str], *, seed: int = SAMPLE_SEED
) -> list[SampleFilm]:
    """Render and write every film of one patient with its ground-truth landmark file.

    Files: ``<folder>/<patient_id>/<timepoint>.dcm`` and
    ``<timepoint>.landmarks.json`` (schema ``kyphoimg-landmarks/1``: ``image.path``
    relative, SOP Instance UID, rows, columns, the calibration the DICOM resolves to,
    index level, findings, the truth of every level under ``truth``).

    Parameters
    ----------
    spec : PatientSpec
        The patient and its films.
    folder : path-like
        Cohort folder.
    seed : int, optional
        Cohort seed; with the patient id and time point it seeds every film.

    Returns
    -------
    list of SampleFilm
        One per film, in the order of ``spec.films``.
    """
    out_dir = Path(folder) / spec.patient_id
    out_dir.mkdir(parents=True, exist_ok=True)
    birth = spec.surgery_date - _dt.timedelta(days=int(365.25 * spec.age_years) + 40)
    films = []
    for number, film in enumerate(spec.films, start=1):
        rng = np.random.default_rng([seed, _stable(spec.patient_id), _stable(film.timepoint)])
        tags, cal = film_calibration(film)
        drawn, phantom = spine_phantom(spec, film, cal, rng)
        scale = cal.row_mm / (film.ips_mm / film.magnification)
        pixels = render_lateral(
            drawn,
            seed=[seed, _stable(spec.patient_id), _stable(film.timepoint), 1],
            index=_appearance(spec, film.timepoint, scale),
            bmd_t_score=spec.bmd_t_score,
            aortic_calcification=float(np.clip((spec.age_years - 60) / 30, 0, 1)),
            marker="L" if film.facing == "right" else "R",
            dose=film.dose,
        )
        date = spec.surgery_date + _dt.timedelta(days=film.days_from_surgery)
        minutes = int(rng.integers(8 * 60, 17 * 60))
        time = _dt.time(minutes // 60, minutes % 60, int(rng.integers(0, 60)))
        dicom_path = out_dir / f"{film.timepoint}.dcm"
        ds = write_radiograph(
            pixels,
            dicom_path,
            patient_id=spec.patient_id,
            study_date=date,
            study_time=time,
            modality=film.modality,
            photometric=film.photometric,
            transfer_syntax=film.transfer_syntax,
            spacing_tags=tags,
            facing=film.facing,
            patient_sex=spec.sex,
            patient_age_years=spec.age_years + (date - spec.surgery_date).days // 365,
            birth_date=birth,
            uid_seed=(seed,),
            window=(float(np.percentile(pixels[::4, ::4], 12.0)), float(TISSUE_WHITE + 200)),
            series_number=number,
            instance_number=1,
        )
        ls = phantom.landmarks.replace(
            image=ImageRef(
                path=dicom_path.name,
                sop_instance_uid=str(ds.SOPInstanceUID),
                rows=film.shape[0],
                columns=film.shape[1],
            ),
            findings=_findings(spec, film.timepoint),
            updated=f"{date.isoformat()}T{time.isoformat()}Z",
            extra={
                "generator": {
                    "name": "kyphoimg.sample",
                    "seed": seed,
                    "note": "synthetic: exact ground truth of the drawn geometry; "
                    "not a real patient",
                },
                "truth": {
                    lv: {k: round(v, 12) for k, v in phantom.truth[lv].items()}
                    for lv in LANDMARK_LEVELS
                },
            },
        )
        lm_path = write_landmarks(ls, out_dir / f"{film.timepoint}.landmarks.json", touch=False)
        films.append(
            SampleFilm(
                spec.patient_id,
                film.timepoint,
                dicom_path,
                lm_path,
                Phantom(landmarks=ls, truth=phantom.truth),
                cal,
                film,
            )
        )
    return films


def _films(
    rng: np.random.Generator,
    modality: Sequence[str],
    photometric: Sequence[str],
    syntax: Sequence[str],
    calibration: Sequence[str],
    facing: Sequence[str],
    last_days: int,
) -> tuple[FilmSpec, ...]:
    days = (-int(rng.integers(1, 4)), int(rng.integers(1, 3)), last_days)
    return tuple(
        FilmSpec(
            timepoint=tp,
            days_from_surgery=days[i],
            modality=modality[i],
            photometric=photometric[i],
            transfer_syntax=syntax[i],
            calibration_kind=calibration[i],
            facing=facing[i],
            tilt_deg=float(rng.uniform(-3, 3)),
            shift_px=(float(rng.uniform(-12, 12)), float(rng.uniform(-15, 15))),
            magnification=float(np.round(rng.uniform(1.12, 1.2), 2)),
            dose=0.7 if modality[i] == "CR" else 1.0,
        )
        for i, tp in enumerate(TIMEPOINTS)
    )


def sample_patients(n_patients: int = 4, *, seed: int = SAMPLE_SEED) -> list[PatientSpec]:
    """Return the patients of the synthetic sample cohort.

    The first four are designed to cover the reader's cases: CR and DX, MONOCHROME1 and
    2, uncompressed and JPEG 2000, films facing left and right, an ERMF film, a
    calibrated Pixel Spacing film, a Pixel Spacing equal to the imager spacing, wedge,
    biconcave and crush fractures of grades 1-3, an intravertebral cleft with
    superior NPEC and recompression at the last follow-up (P002), cement leaks. Further
    patients are drawn at random from ``seed``.

    Parameters
    ----------
    n_patients : int, optional
        Number of patients (default 4).
    seed : int, optional
        Seed of the random patients and of the per-film variation.

    Returns
    -------
    list of PatientSpec
    """
    if n_patients < 0:
        raise ValueError(f"n_patients={n_patients!r} must be >= 0")
    rng = np.random.default_rng([seed, 1])
    fixed = [
        PatientSpec(
            "P001", 74, "F", -3.1, "L1", "wedge", 2, ivc=False, npec="no",
            cement_volume_ml=4.2, leak=None, recompression=False, restoration=0.65,
            surgery_date=_dt.date(2024, 3, 12), vas=(8, 3, 2), smoking=False,
            symptom_weeks=3.0, size=1.0,
            films=_films(rng, ("CR", "DX", "DX"), ("MONOCHROME1", "MONOCHROME2", "MONOCHROME2"),
                         ("j2k", "explicit", "j2k"), ("detector", "detector", "detector"),
                         ("right", "right", "right"), 426),
        ),
        PatientSpec(
            "P002", 79, "F", -3.6, "T12", "wedge", 3, ivc=True, npec="superior",
            cement_volume_ml=3.4, leak=None, recompression=True, restoration=0.7,
            surgery_date=_dt.date(2024, 6, 3), vas=(9, 3, 6), smoking=False,
            symptom_weeks=7.0, size=0.96,
            films=_films(rng, ("DX", "CR", "DX"), ("MONOCHROME2", "MONOCHROME1", "MONOCHROME2"),
                         ("explicit", "explicit", "j2k"),
                         ("detector_ps_equal", "detector", "detector"),
                         ("left", "left", "left"), 398),
        ),
        PatientSpec(
            "P003", 68, "M", -2.7, "L2", "crush", 2, ivc=False, npec="inferior",
            cement_volume_ml=5.1, leak="disc_superior", recompression=False, restoration=0.5,
            surgery_date=_dt.date(2024, 9, 17), vas=(7, 2, 2), smoking=True,
            symptom_weeks=2.0, size=1.04,
            films=_films(rng, ("CR", "DX", "CR"), ("MONOCHROME1", "MONOCHROME2", "MONOCHROME2"),
                         ("j2k", "j2k", "explicit"),
                         ("pixel_spacing", "pixel_spacing", "pixel_spacing"),
                         ("right", "right", "left"), 371),
        ),
        PatientSpec(
            "P004", 83, "F", -3.9, "T11", "biconcave", 1, ivc=False, npec="no",
            cement_volume_ml=2.8, leak="anterior", recompression=False, restoration=0.6,
            surgery_date=_dt.date(2025, 1, 20), vas=(8, 4, 3), smoking=False,
            symptom_weeks=5.0, size=0.98,
            films=_films(rng, ("DX", "DX", "CR"), ("MONOCHROME1", "MONOCHROME2", "MONOCHROME1"),
                         ("j2k", "explicit", "j2k"), ("ermf", "ermf", "ermf"),
                         ("right", "right", "right"), 455),
        ),
    ]  # fmt: skip
    patients = fixed[:n_patients]
    # A generator of its own for the follow-up height loss, so that adding it left every
    # other drawn value of the cohort as it was.
    loss_rng = np.random.default_rng([seed, 2])
    for i in range(len(fixed), n_patients):
        recompressed = bool(rng.random() < 0.2)
        pick = rng.choice
        patients.append(
            PatientSpec(
                patient_id=f"P{i + 1:03d}",
                age_years=int(rng.integers(60, 90)),
                sex=str(pick(["F", "F", "F", "M"])),
                bmd_t_score=float(np.round(rng.normal(-3.0, 0.6), 1)),
                index_level=str(pick(["T11", "T12", "L1", "L1", "L2"])),
                fracture_type=str(pick(["wedge", "wedge", "biconcave", "crush"])),
                genant_grade=int(pick([1, 2, 2, 3])),
                ivc=bool(rng.random() < (0.6 if recompressed else 0.15)),
                npec=str(
                    pick(["superior", "both"]) if recompressed else pick(["no", "no", "inferior"])
                ),
                cement_volume_ml=float(np.round(np.clip(rng.normal(3.6, 0.8), 2.0, 6.0), 1)),
                leak=None if rng.random() < 0.75 else str(pick(["disc_superior", "anterior"])),
                recompression=recompressed,
                restoration=float(rng.uniform(0.4, 0.8)),
                surgery_date=_dt.date(2024, 1, 8)
                + _dt.timedelta(days=int(rng.integers(0, 500))),
                vas=(
                    int(rng.integers(7, 10)),
                    int(rng.integers(1, 4)),
                    int(rng.integers(1, 4)) + 3 * recompressed,
                ),
                smoking=bool(rng.random() < 0.3),
                symptom_weeks=float(np.round(rng.uniform(1, 10), 1)),
                size=float(rng.uniform(0.95, 1.05)),
                # maintained vertebrae settle a little, with spread (0-10 % of Ha)
                height_loss=float(np.clip(loss_rng.gamma(2.0, 0.02), 0.0, 0.10)),
                films=_films(
                    rng,
                    tuple(str(pick(["CR", "DX"])) for _ in range(3)),
                    tuple(str(pick(["MONOCHROME1", "MONOCHROME2"])) for _ in range(3)),
                    tuple(str(pick(["explicit", "j2k"])) for _ in range(3)),
                    (str(pick(CALIBRATION_KINDS)),) * 3,
                    (str(pick(["left", "right"])),) * 3,
                    int(rng.integers(365, 730)),
                ),
            )
        )  # fmt: skip
    return patients


#: Columns of ``clinical.csv``, in order.
CLINICAL_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "age_years",
    "sex",
    "bmd_t_score",
    "index_level",
    "surgery_date",
    "symptom_weeks",
    "cement_volume_ml",
    "leakage",
    "vas_pre",
    "vas_post",
    "vas_last",
    "smoking",
    "followup_months",
    "simulated",
)


def clinical_table(patients: Sequence[PatientSpec]) -> pd.DataFrame:
    """Return the clinical table of synthetic patients (one row each, ``simulated`` True).

    Parameters
    ----------
    patients : sequence of PatientSpec

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CLINICAL_COLUMNS`.
    """
    rows = []
    for p in patients:
        last = max((f.days_from_surgery for f in p.films), default=0)
        rows.append(
            {
                "patient_id": p.patient_id,
                "age_years": p.age_years,
                "sex": p.sex,
                "bmd_t_score": p.bmd_t_score,
                "index_level": p.index_level,
                "surgery_date": p.surgery_date.isoformat(),
                "symptom_weeks": p.symptom_weeks,
                "cement_volume_ml": p.cement_volume_ml,
                "leakage": "yes" if p.leak else "no",
                "vas_pre": p.vas[0],
                "vas_post": p.vas[1],
                "vas_last": p.vas[2],
                "smoking": "yes" if p.smoking else "no",
                "followup_months": round(last / 30.4375, 1),
                "simulated": True,
            }
        )
    frame = pd.DataFrame(rows, columns=list(CLINICAL_COLUMNS))
    frame.attrs["source"] = "synthetic patients of kyphoimg.sample; not real data"
    return frame


def generate_cohort(
    folder: str | os.PathLike[str],
    n_patients: int = 4,
    *,
    seed: int = SAMPLE_SEED,
    patients: Sequence[PatientSpec] | None = None,
) -> list[SampleFilm]:
    """Write a synthetic cohort: DICOM films, landmark files and ``clinical.csv``.

    Parameters
    ----------
    folder : path-like
        Destination (created); one sub-folder per patient.
    n_patients : int, optional
        Number of patients of :func:`sample_patients` (ignored with ``patients``).
    seed : int, optional
        Cohort seed (default :data:`SAMPLE_SEED`, the committed ``sample_dicom/``).
    patients : sequence of PatientSpec, optional
        Patients to write instead of :func:`sample_patients`.

    Returns
    -------
    list of SampleFilm
        Every film written, patient by patient.

    Examples
    --------
    >>> films = generate_cohort("sample_dicom", n_patients=4)  # doctest: +SKIP
    >>> films[0].dicom_path.name, films[0].calibration.source  # doctest: +SKIP
    ('pre.dcm', 'detector')
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    specs = list(patients) if patients is not None else sample_patients(n_patients, seed=seed)
    films = [f for spec in specs for f in generate_patient(spec, folder, seed=seed)]
    clinical_table(specs).to_csv(folder / "clinical.csv", index=False, lineterminator="\n")
    return films


def truth_frame(films: Sequence[SampleFilm]) -> pd.DataFrame:
    """Return the ground truth of generated films: one row per film x landmark level.

    Parameters
    ----------
    films : sequence of SampleFilm
        Films as :func:`generate_cohort` or :func:`generate_patient` return them.

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id, timepoint, level, ha_mm, hm_mm, hp_mm, wedge_deg`` (heights
        in the film calibration's mm), ``ka_deg`` (bisegmental Cobb of the index level,
        NaN elsewhere) and ``spacing_source``.
    """
    rows = []
    for film in films:
        ph = film.phantom
        index = ph.landmarks.index_levels[0] if ph.landmarks.index_levels else None
        for lv in LANDMARK_LEVELS:
            t = ph.truth[lv]
            ka = math.nan
            if lv == index:
                i = DRAWN_LEVELS.index(lv)
                ka = ph.cobb_deg(DRAWN_LEVELS[i - 1], DRAWN_LEVELS[i + 1])
            rows.append(
                {
                    "patient_id": film.patient_id,
                    "timepoint": film.timepoint,
                    "level": lv,
                    "ha_mm": t["ha_mm"],
                    "hm_mm": t["hm_mm"],
                    "hp_mm": t["hp_mm"],
                    "wedge_deg": t["wedge_deg"],
                    "ka_deg": ka,
                    "spacing_source": film.calibration.source,
                }
            )
    return pd.DataFrame(rows)
