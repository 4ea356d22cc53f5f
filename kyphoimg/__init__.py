"""kyphoimg: radiograph measurement toolkit for kyphoplasty outcome research.

The public API: landmark sets and their files, calibration, the measures, features and
images tables, single-value measures, table export and the phantom generator. The
statistics live in :mod:`kyphoimg.stats` (imported on demand). Importing kyphoimg does
nothing but define names; it never imports napari or Qt.
"""

from __future__ import annotations

from ._version import __version__
from .batch import load_landmarks
from .calibration import SPACING_SOURCES, Calibration
from .coronal import CoronalCobb, aasce_cobb_angles
from .dicom import Radiograph, RadiographMetadata, iter_scan, read_radiograph, scan
from .dictionary import data_dictionary
from .errors import (
    CalibrationError,
    DicomReadError,
    KyphoimgError,
    LandmarkError,
    MeasureError,
    StatsInputError,
)
from .export import read_table, write_table
from .landmarks import (
    LEVELS,
    SCHEMES,
    ImageRef,
    LandmarkSet,
    read_landmarks,
    read_landmarks_csv,
    validate_landmarks,
    write_landmarks,
    write_landmarks_csv,
)
from .longitudinal import RecompressionRule, features_table
from .measure import (
    Heights,
    cobb_angle,
    gardner_angle,
    images_table,
    kyphotic_angle,
    measure_points,
    measure_vertebrae,
    measures_table,
    points_frame,
    vertebral_heights,
    wedge_angle,
)
from .phantom import Phantom, lateral_phantom
from .sample import generate_cohort, render_lateral, simulate_cohort, write_radiograph
from .sr import SRError, export_sr, import_sr, sr_measurements, write_sr
from .timepoints import assign_timepoints

__all__ = [
    "LEVELS",
    "SCHEMES",
    "SPACING_SOURCES",
    "Calibration",
    "CalibrationError",
    "CoronalCobb",
    "DicomReadError",
    "Heights",
    "ImageRef",
    "KyphoimgError",
    "LandmarkError",
    "LandmarkSet",
    "MeasureError",
    "Phantom",
    "Radiograph",
    "RadiographMetadata",
    "RecompressionRule",
    "SRError",
    "StatsInputError",
    "__version__",
    "aasce_cobb_angles",
    "assign_timepoints",
    "cobb_angle",
    "data_dictionary",
    "export_sr",
    "features_table",
    "gardner_angle",
    "generate_cohort",
    "images_table",
    "import_sr",
    "iter_scan",
    "kyphotic_angle",
    "lateral_phantom",
    "load_landmarks",
    "measure_points",
    "measure_vertebrae",
    "measures_table",
    "points_frame",
    "read_landmarks",
    "read_landmarks_csv",
    "read_radiograph",
    "read_table",
    "render_lateral",
    "scan",
    "simulate_cohort",
    "sr_measurements",
    "validate_landmarks",
    "vertebral_heights",
    "wedge_angle",
    "write_landmarks",
    "write_landmarks_csv",
    "write_radiograph",
    "write_sr",
    "write_table",
]
