"""Pixel calibration of projection radiographs.

A :class:`Calibration` says how many millimetres one pixel step spans along rows and
along columns, and where that number came from. The sources, in the resolution order
of :func:`resolve_spacing` (DICOM PS3.3 §10.7.1; ``docs/dicom.md``), are:

``user``
    a line of known length drawn by the reader (patient plane, at that line's depth);
``pixel_spacing``
    Pixel Spacing (0028,0030) calibrated to the patient plane (differs from Imager
    Pixel Spacing, or a calibration type is given);
``ermf``
    Imager Pixel Spacing (0018,1164) divided by the Estimated Radiographic
    Magnification Factor (0018,1114): an *estimate* of patient-plane spacing;
``detector``
    Imager Pixel Spacing alone, or Pixel Spacing equal to it (not corrected for
    magnification): millimetres at the detector, which overstate anatomy by the
    magnification (typically 5-40 % on lumbar films);
``unknown_origin``
    a spacing whose plane cannot be established (Pixel Spacing without Imager Pixel
    Spacing, or Nominal Scanned Pixel Spacing of a digitised film);
``none``
    no usable spacing: millimetre values are NaN, pixel values, ratios and angles stay valid.

This module holds the rules only; it reads no DICOM. The calibration of a pydicom
dataset is :func:`kyphoimg.dicom.calibration_from_dataset`, which applies
:func:`resolve_spacing` to the values as stored in the file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import CalibrationError

__all__ = [
    "SPACING_EQUAL_RTOL",
    "SPACING_KEYWORDS",
    "SPACING_SOURCES",
    "Calibration",
    "resolve_spacing",
]

#: Calibration sources in resolution order (most to least trustworthy).
SPACING_SOURCES: tuple[str, ...] = (
    "user",
    "pixel_spacing",
    "ermf",
    "detector",
    "unknown_origin",
    "none",
)


#: Relative tolerance under which Pixel Spacing and Imager Pixel Spacing count as equal
#: (rounding of the decimal strings, not a magnification correction, which is >= 5 %).
SPACING_EQUAL_RTOL = 1e-3

#: The DICOM attributes the spacing rules read, by keyword.
SPACING_KEYWORDS: tuple[str, ...] = (
    "PixelSpacing",
    "ImagerPixelSpacing",
    "EstimatedRadiographicMagnificationFactor",
    "PixelSpacingCalibrationType",
    "NominalScannedPixelSpacing",
)


def _positive_finite(value: object) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v) or v <= 0:
        return None
    return v


@dataclass(frozen=True)
class Calibration:
    """Millimetres per pixel along rows and columns, with the source of that figure.

    Parameters
    ----------
    row_mm : float
        Spacing between pixel rows (adjacent row centres) in mm; DICOM's first value.
    col_mm : float
        Spacing between pixel columns in mm; DICOM's second value.
    source : str
        One of :data:`SPACING_SOURCES`. With ``"none"`` both spacings are NaN.

    Raises
    ------
    CalibrationError
        If ``source`` is unknown, or a spacing is not a positive finite number
        (other than NaN with ``source="none"``).

    Examples
    --------
    >>> cal = Calibration(0.15, 0.15, "detector")
    >>> cal.has_mm, cal.is_patient_plane
    (True, False)
    >>> Calibration.none().has_mm
    False
    """

    row_mm: float
    col_mm: float
    source: str

    SOURCES: ClassVar[tuple[str, ...]] = SPACING_SOURCES

    def __post_init__(self) -> None:
        if self.source not in SPACING_SOURCES:
            raise CalibrationError(
                f"unknown calibration source {self.source!r}; "
                f"use one of {', '.join(SPACING_SOURCES)}"
            )
        if self.source == "none":
            object.__setattr__(self, "row_mm", math.nan)
            object.__setattr__(self, "col_mm", math.nan)
            return
        for name in ("row_mm", "col_mm"):
            v = _positive_finite(getattr(self, name))
            if v is None:
                raise CalibrationError(
                    f"{name}={getattr(self, name)!r} is not a positive finite spacing in mm; "
                    "give a positive number or use Calibration.none()"
                )
            object.__setattr__(self, name, v)

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def none(cls) -> Calibration:
        """Return the calibration of an image without any usable spacing."""
        return cls(math.nan, math.nan, "none")

    @classmethod
    def from_user(
        cls,
        p1: Sequence[float],
        p2: Sequence[float],
        length_mm: float,
        *,
        pixel_aspect: float = 1.0,
    ) -> Calibration:
        """Calibrate from a line of known length drawn on the image.

        Parameters
        ----------
        p1, p2 : sequence of float
            The line's end points as ``(row, col)`` in pixels.
        length_mm : float
            The true length of the object under the line, in mm.
        pixel_aspect : float, optional
            Ratio ``row_mm / col_mm`` of the pixels (1 for square pixels). Keep the
            aspect of the image's own spacing when it has one.

        Returns
        -------
        Calibration
            With ``source="user"``.

        Raises
        ------
        CalibrationError
            If the two points coincide or the length or aspect is not positive.

        Examples
        --------
        >>> Calibration.from_user((0, 0), (0, 200), 30.0)
        Calibration(row_mm=0.15, col_mm=0.15, source='user')
        """
        length = _positive_finite(length_mm)
        aspect = _positive_finite(pixel_aspect)
        if length is None:
            raise CalibrationError(f"length_mm={length_mm!r} must be a positive length in mm")
        if aspect is None:
            raise CalibrationError(f"pixel_aspect={pixel_aspect!r} must be a positive ratio")
        (r1, c1), (r2, c2) = (tuple(map(float, p1)), tuple(map(float, p2)))
        span = math.hypot((r2 - r1) * aspect, c2 - c1)
        if not math.isfinite(span) or span == 0:
            raise CalibrationError(
                f"calibration line from {tuple(p1)} to {tuple(p2)} has no length; "
                "draw the line between two distinct points"
            )
        col_mm = length / span
        return cls(aspect * col_mm, col_mm, "user")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Calibration:
        """Build from the landmark file's ``calibration`` object (``None`` gives :meth:`none`).

        Raises
        ------
        CalibrationError
            If the mapping lacks ``source`` or holds invalid spacings.
        """
        if d is None:
            return cls.none()
        source = d.get("source")
        if source is None:
            raise CalibrationError(
                "calibration object has no 'source'; add one of " + ", ".join(SPACING_SOURCES)
            )
        if source == "none":
            return cls.none()
        return cls(d.get("row_mm"), d.get("col_mm"), str(source))  # type: ignore[arg-type]

    # -- views --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return the landmark-file form ``{"row_mm", "col_mm", "source"}`` (null mm for none)."""
        if self.source == "none":
            return {"row_mm": None, "col_mm": None, "source": "none"}
        return {"row_mm": self.row_mm, "col_mm": self.col_mm, "source": self.source}

    @property
    def has_mm(self) -> bool:
        """Whether millimetre values can be computed at all."""
        return self.source != "none"

    @property
    def is_patient_plane(self) -> bool:
        """Whether the spacing refers to the patient (anatomical) plane, measured or estimated."""
        return self.source in ("user", "pixel_spacing", "ermf")

    @property
    def spacing(self) -> np.ndarray:
        """``(row_mm, col_mm)`` as a float array, ``(1, 1)`` when there is no calibration.

        The unit fallback keeps angles and ratios computable (square pixels assumed);
        millimetre outputs must check :attr:`has_mm`.
        """
        if not self.has_mm:
            return np.ones(2)
        return np.array([self.row_mm, self.col_mm], dtype=float)


# -- the spacing rules ------------------------------------------------------------------
def _positive_float(text: str) -> float | None:
    try:
        v = float(text.strip())
    except ValueError:
        return None
    return v if math.isfinite(v) and v > 0 else None


def _spacing_pair(
    text_of: Callable[[str], str | None], keyword: str, notes: list[str]
) -> tuple[float, float] | None:
    """Return a ``(row_mm, col_mm)`` pair, or ``None`` when absent or unusable (noted)."""
    text = text_of(keyword)
    if text is None:
        return None
    parts = text.split("\\")
    if len(parts) != 2:
        notes.append(
            f"{keyword} {text!r} has {len(parts)} value(s), expected 2 (row\\column): ignored"
        )
        return None
    row, col = (_positive_float(p) for p in parts)
    if row is None or col is None:
        notes.append(f"{keyword} {text!r} is not two positive finite numbers: ignored")
        return None
    return row, col


def _same_spacing(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return all(math.isclose(x, y, rel_tol=SPACING_EQUAL_RTOL) for x, y in zip(a, b, strict=True))


def _magnification(text_of: Callable[[str], str | None], notes: list[str]) -> float | None:
    keyword = "EstimatedRadiographicMagnificationFactor"
    text = text_of(keyword)
    if text is None:
        return None
    value = _positive_float(text) if "\\" not in text else None
    if value is None:
        notes.append(f"{keyword} {text!r} is not a positive finite number: ignored")
        return None
    if value < 1.0:
        notes.append(
            f"{keyword} {text!r} is below 1, impossible for a projection (SID/SOD): ignored"
        )
        return None
    return value


def resolve_spacing(text_of: Callable[[str], str | None]) -> tuple[Calibration, tuple[str, ...]]:
    r"""Resolve a projection radiograph's calibration from its spacing attributes.

    The first rule that applies wins (DICOM PS3.3 C.8.11.7 and §10.7.1; see
    ``docs/dicom.md``):

    1. ``pixel_spacing``: Pixel Spacing (0028,0030) that differs from Imager Pixel
       Spacing (0018,1164) by more than :data:`SPACING_EQUAL_RTOL` (relative), or that
       comes with a Pixel Spacing Calibration Type (0028,0A02);
    2. ``ermf``: Imager Pixel Spacing divided by the Estimated Radiographic Magnification
       Factor (0018,1114), an estimate of the patient plane;
    3. ``detector``: Imager Pixel Spacing alone, also when Pixel Spacing equals it (then
       it was not corrected for magnification);
    4. ``unknown_origin``: Pixel Spacing alone, else Nominal Scanned Pixel Spacing
       (0018,2010) of a digitised film;
    5. ``none``: no usable spacing.

    Zero, negative, non-finite or malformed values (not exactly two numbers, not
    numeric) count as missing and are never divided by; a magnification factor below 1
    is physically impossible (SID/SOD) and is ignored too. The DICOM order
    ``(row_mm, col_mm)`` is kept, so non-square pixels stay non-square.

    Parameters
    ----------
    text_of : callable
        ``text_of(keyword)`` returns the attribute's value as stored (multiple values
        separated by backslashes), or ``None`` when absent; it is asked only for the
        keywords in :data:`SPACING_KEYWORDS`.

    Returns
    -------
    calibration : Calibration
        Bad spacing values never raise: they lead to a lower source or ``none``.
    notes : tuple of str
        Each present but unusable value that was ignored, then (last) why the source
        was chosen.

    Examples
    --------
    >>> header = {"ImagerPixelSpacing": "0.15\\0.15"}
    >>> header["EstimatedRadiographicMagnificationFactor"] = "1.25"
    >>> resolve_spacing(header.get)[0]
    Calibration(row_mm=0.12, col_mm=0.12, source='ermf')
    """
    notes: list[str] = []
    ps = _spacing_pair(text_of, "PixelSpacing", notes)
    ips = _spacing_pair(text_of, "ImagerPixelSpacing", notes)
    ermf = _magnification(text_of, notes)
    cal_type = text_of("PixelSpacingCalibrationType")
    calibrated = ps is not None and ips is not None and not _same_spacing(ps, ips)
    if ps is not None and (cal_type is not None or calibrated):
        why = (
            f"Pixel Spacing calibrated ({cal_type})"
            if cal_type is not None
            else "Pixel Spacing differs from Imager Pixel Spacing: calibrated to the patient plane"
        )
        return Calibration(ps[0], ps[1], "pixel_spacing"), (*notes, why)
    if cal_type is not None:
        notes.append(f"Pixel Spacing Calibration Type {cal_type!r} without usable Pixel Spacing")
    equal = (
        ["Pixel Spacing equals Imager Pixel Spacing: not corrected for magnification"]
        if ps is not None and ips is not None
        else []
    )
    if ips is not None and ermf is not None:
        why = f"Imager Pixel Spacing / ERMF {ermf:g}: estimated patient plane"
        return Calibration(ips[0] / ermf, ips[1] / ermf, "ermf"), (*notes, *equal, why)
    if ips is not None:
        why = "Imager Pixel Spacing: detector plane, magnification not corrected"
        return Calibration(ips[0], ips[1], "detector"), (*notes, *equal, why)
    if ps is not None:
        why = "Pixel Spacing without Imager Pixel Spacing or calibration type: plane unknown"
        return Calibration(ps[0], ps[1], "unknown_origin"), (*notes, why)
    nsps = _spacing_pair(text_of, "NominalScannedPixelSpacing", notes)
    if nsps is not None:
        why = "Nominal Scanned Pixel Spacing (digitised film): plane unknown"
        return Calibration(nsps[0], nsps[1], "unknown_origin"), (*notes, why)
    return Calibration.none(), (*notes, "no usable spacing: pixel units only")
