"""Pixel calibration of projection radiographs.

A :class:`Calibration` says how many millimetres one pixel step spans along rows and
along columns, and where that number came from. The sources, in the resolution order
of DOMAIN.md §5 (DICOM PS3.3 §10.7.1), are:

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
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import CalibrationError

__all__ = ["SPACING_SOURCES", "Calibration"]

#: Calibration sources in resolution order (most to least trustworthy).
SPACING_SOURCES: tuple[str, ...] = (
    "user",
    "pixel_spacing",
    "ermf",
    "detector",
    "unknown_origin",
    "none",
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

    @classmethod
    def from_dataset(cls, ds: Any) -> Calibration:
        """Resolve the calibration of a DICOM projection radiograph (DOMAIN.md §5).

        Calibrated Pixel Spacing -> Imager Pixel Spacing / ERMF (``ermf``) -> Imager
        Pixel Spacing (``detector``) -> Pixel Spacing of unknown origin or Nominal
        Scanned Pixel Spacing (``unknown_origin``) -> ``none``. Zero, negative,
        non-finite or malformed values count as missing. See
        :func:`kyphoimg.dicom.calibration_from_dataset` for the full rules.

        Parameters
        ----------
        ds : pydicom.dataset.Dataset
            A dataset or a header read with ``stop_before_pixels=True``.

        Returns
        -------
        Calibration
            With source ``pixel_spacing``, ``ermf``, ``detector``, ``unknown_origin``
            or ``none``; bad spacing values never raise.
        """
        from .dicom import calibration_from_dataset

        return calibration_from_dataset(ds)

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
