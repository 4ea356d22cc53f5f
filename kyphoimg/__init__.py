"""kyphoimg: radiograph measurement toolkit for kyphoplasty outcome research.

The data flow, and where each stage lives::

    DICOM films ──► kyphoimg.dicom        read_radiograph, scan (header index)
    landmarks   ──► kyphoimg.landmarks    LandmarkSet, files, validation, pairing with a film
    measures    ──► kyphoimg.measure      measures_table, images_table (+ kyphoimg.coronal)
    features    ──► kyphoimg.longitudinal features_table (time points as columns)
    export      ──► kyphoimg.export       read_table, write_table (+ data dictionary), kyphoimg.sr
    statistics  ──► kyphoimg.stats        Table 1, repeated measures, logistic, ROC, report

:func:`run_study` runs the whole chain on a folder of films; :mod:`kyphoimg.sample` makes
synthetic films and cohorts to try it on. This top level holds the names most scripts
need; everything else is in its subpackage. Importing kyphoimg only defines names; it
never imports napari or Qt.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562)
    from .batch import RunOptions, run_study
    from .calibration import Calibration
    from .dicom import Radiograph, read_radiograph, scan
    from .errors import CalibrationError, DicomReadError, KyphoimgError, LandmarkError
    from .export import read_table, write_table
    from .landmarks import LandmarkSet, read_landmark_files, read_landmarks, write_landmarks
    from .longitudinal import features_table
    from .measure import images_table, measures_table

#: Where each top-level name lives. A name is imported on first use: ``import kyphoimg``
#: (and so every ``kyphoimg`` command, and the viewer's film-reading process) loads only
#: what it uses, not pandas and the whole pipeline.
_HOME: dict[str, str] = {
    "RunOptions": "batch",
    "run_study": "batch",
    "Calibration": "calibration",
    "Radiograph": "dicom",
    "read_radiograph": "dicom",
    "scan": "dicom",
    "CalibrationError": "errors",
    "DicomReadError": "errors",
    "KyphoimgError": "errors",
    "LandmarkError": "errors",
    "read_table": "export",
    "write_table": "export",
    "LandmarkSet": "landmarks",
    "read_landmark_files": "landmarks",
    "read_landmarks": "landmarks",
    "write_landmarks": "landmarks",
    "features_table": "longitudinal",
    "images_table": "measure",
    "measures_table": "measure",
}

__all__ = [
    "Calibration",
    "CalibrationError",
    "DicomReadError",
    "KyphoimgError",
    "LandmarkError",
    "LandmarkSet",
    "Radiograph",
    "RunOptions",
    "__version__",
    "features_table",
    "images_table",
    "measures_table",
    "read_landmark_files",
    "read_landmarks",
    "read_radiograph",
    "read_table",
    "run_study",
    "scan",
    "write_landmarks",
    "write_table",
]

#: Names the top level used to export, with where they live now. They still work, with a
#: DeprecationWarning, for one release.
_MOVED: dict[str, str] = {
    "LEVELS": "kyphoimg.landmarks:LEVELS",
    "SCHEMES": "kyphoimg.landmarks:SCHEMES",
    "ImageRef": "kyphoimg.landmarks:ImageRef",
    "read_landmarks_csv": "kyphoimg.landmarks:read_landmarks_csv",
    "write_landmarks_csv": "kyphoimg.landmarks:write_landmarks_csv",
    "validate_landmarks": "kyphoimg.landmarks:validate_landmarks",
    "load_landmarks": "kyphoimg.landmarks:read_landmark_files",
    "SPACING_SOURCES": "kyphoimg.calibration:SPACING_SOURCES",
    "CoronalCobb": "kyphoimg.coronal:CoronalCobb",
    "aasce_cobb_angles": "kyphoimg.coronal:aasce_cobb_angles",
    "RadiographMetadata": "kyphoimg.dicom:RadiographMetadata",
    "iter_scan": "kyphoimg.dicom:iter_scan",
    "data_dictionary": "kyphoimg.dictionary:data_dictionary",
    "MeasureError": "kyphoimg.errors:MeasureError",
    "StatsInputError": "kyphoimg.errors:StatsInputError",
    "SRError": "kyphoimg.errors:SRError",
    "RecompressionRule": "kyphoimg.longitudinal:RecompressionRule",
    "Heights": "kyphoimg.measure:Heights",
    "cobb_angle": "kyphoimg.measure:cobb_angle",
    "gardner_angle": "kyphoimg.measure:gardner_angle",
    "kyphotic_angle": "kyphoimg.measure:kyphotic_angle",
    "measure_points": "kyphoimg.measure:measure_points",
    "measure_vertebrae": "kyphoimg.measure:measure_vertebrae",
    "points_frame": "kyphoimg.measure:points_frame",
    "vertebral_heights": "kyphoimg.measure:vertebral_heights",
    "wedge_angle": "kyphoimg.measure:wedge_angle",
    "Phantom": "kyphoimg.sample:Phantom",
    "lateral_phantom": "kyphoimg.sample:lateral_phantom",
    "generate_cohort": "kyphoimg.sample:generate_cohort",
    "render_lateral": "kyphoimg.sample:render_lateral",
    "simulate_cohort": "kyphoimg.sample:simulate_cohort",
    "write_radiograph": "kyphoimg.sample:write_radiograph",
    "export_sr": "kyphoimg.sr:build_sr",
    "import_sr": "kyphoimg.sr:import_sr",
    "sr_measurements": "kyphoimg.sr:sr_measurements",
    "write_sr": "kyphoimg.sr:write_sr",
    "assign_timepoints": "kyphoimg.timepoints:assign_timepoints",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is not None:
        value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
        globals()[name] = value  # the next use is a plain attribute
        return value
    target = _MOVED.get(name)
    if target is None:
        raise AttributeError(f"module 'kyphoimg' has no attribute {name!r}")
    module, attr = target.split(":")
    warnings.warn(
        f"kyphoimg.{name} is deprecated: use {module}.{attr}; the old name goes in the next "
        "release",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), attr)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
