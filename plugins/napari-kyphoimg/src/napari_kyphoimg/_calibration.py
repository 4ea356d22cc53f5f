"""Calibration for the widgets: how a film's calibration is described, and a drawn line's.

No napari, no Qt. The spacing rules are kyphoimg's (:class:`kyphoimg.Calibration`); this
module words them for the Measurements and Calibrate widgets and turns a line drawn over an
object of known size into a ``user`` calibration (:meth:`kyphoimg.Calibration.from_user`).
"""

from __future__ import annotations

import numpy as np

from kyphoimg import Calibration

__all__ = ["calibration_from_line", "calibration_status"]

_SOURCE_TEXT = {
    "user": "user calibration (line of known length)",
    "pixel_spacing": "Pixel Spacing, patient plane",
    "ermf": "Imager Pixel Spacing / ERMF (estimated patient plane)",
    "detector": "Imager Pixel Spacing (detector plane)",
    "unknown_origin": "spacing of unknown origin",
    "none": "no spacing",
}


def calibration_status(cal: Calibration) -> tuple[str, str | None]:
    """Describe a calibration for the widgets: a summary line and a warning (or None).

    Parameters
    ----------
    cal : Calibration
        A film's calibration.

    Returns
    -------
    summary : str
        Unit, spacing and source.
    warning : str or None
        What the reader should know about this source (detector plane, unknown origin,
        no spacing), or None.

    Examples
    --------
    >>> calibration_status(Calibration(0.15, 0.15, "pixel_spacing"))[0]
    'Heights in mm · 0.1500 × 0.1500 mm/px · source pixel_spacing (Pixel Spacing, patient plane)'
    """
    text = _SOURCE_TEXT.get(cal.source, cal.source)
    if not cal.has_mm:
        return (
            "Heights in pixels · source none (no spacing)",
            "No pixel spacing: heights are in pixels and the mm columns are empty; ratios "
            "and angles are valid. Use Calibrate with an object of known size for mm.",
        )
    summary = (
        f"Heights in mm · {cal.row_mm:.4f} × {cal.col_mm:.4f} mm/px · source {cal.source} ({text})"
    )
    if cal.source == "detector":
        return summary, (
            "Detector-plane spacing: millimetres are measured at the detector and overstate "
            "the anatomy by the radiographic magnification (often 5-40 %). Ratios and "
            "angles are unaffected; calibrate for patient-plane mm."
        )
    if cal.source == "unknown_origin":
        return summary, (
            "Spacing of unknown origin (Pixel Spacing without Imager Pixel Spacing, or a "
            "digitised film): the plane the millimetres refer to is not known."
        )
    return summary, None


def calibration_from_line(line: np.ndarray, length_mm: float, current: Calibration) -> Calibration:
    """Calibrate from a drawn line, keeping the pixel aspect of the current calibration.

    Parameters
    ----------
    line : ndarray, shape (2, 2)
        The line's end points, ``(row, col)`` in pixels.
    length_mm : float
        True length of the object under the line.
    current : Calibration
        The image's calibration so far; its ``row_mm / col_mm`` aspect is kept (square
        pixels when it has none).

    Returns
    -------
    Calibration
        With ``source="user"``.

    Raises
    ------
    CalibrationError
        If the line has no length or ``length_mm`` is not positive.
    """
    pts = np.asarray(line, dtype=float).reshape(-1, np.shape(line)[-1])[:, -2:]
    aspect = current.row_mm / current.col_mm if current.has_mm else 1.0
    return Calibration.from_user(pts[0], pts[-1], length_mm, pixel_aspect=aspect)
