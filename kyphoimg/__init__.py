"""kyphoimg: radiograph measurement toolkit for kyphoplasty outcome research."""

from __future__ import annotations

from .calibration import SPACING_SOURCES, Calibration
from .errors import (
    CalibrationError,
    DicomReadError,
    KyphoimgError,
    LandmarkError,
    MeasureError,
    StatsInputError,
)

__version__ = "0.1.0"

__all__ = [
    "SPACING_SOURCES",
    "Calibration",
    "CalibrationError",
    "DicomReadError",
    "KyphoimgError",
    "LandmarkError",
    "MeasureError",
    "StatsInputError",
    "__version__",
]
