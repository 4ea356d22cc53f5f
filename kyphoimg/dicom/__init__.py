"""DICOM input: read one radiograph, index a cohort from its headers.

:func:`read_radiograph` decodes one film into a :class:`Radiograph` (pixels after the
modality LUT, its :class:`~kyphoimg.Calibration`, identifying metadata and the VOI to
display it). :func:`scan` (and the streaming :func:`iter_scan` and :func:`scan_to_csv`)
index a folder of files from their headers alone, through a byte-level fast path that
falls back to pydicom for anything unusual. The spacing rules themselves live in
:mod:`kyphoimg.calibration`.
"""

from __future__ import annotations

from ..calibration import SPACING_EQUAL_RTOL
from ._read import (
    DISPLAY_PRESETS,
    Radiograph,
    RadiographMetadata,
    VoiSettings,
    calibration_from_dataset,
    read_radiograph,
    resolve_calibration,
)
from ._scan import FILM_SUFFIXES, SCAN_COLUMNS, iter_scan, scan, scan_to_csv

__all__ = [
    "DISPLAY_PRESETS",
    "FILM_SUFFIXES",
    "SCAN_COLUMNS",
    "SPACING_EQUAL_RTOL",
    "Radiograph",
    "RadiographMetadata",
    "VoiSettings",
    "calibration_from_dataset",
    "iter_scan",
    "read_radiograph",
    "resolve_calibration",
    "scan",
    "scan_to_csv",
]
