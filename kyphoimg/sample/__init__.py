"""Synthetic data: phantoms with ground truth, rendered films, DICOM writers, cohorts.

Like :mod:`pydicom.examples`, everything here exists to try, test and demonstrate
kyphoimg without patient data:

- :func:`lateral_phantom`: a lateral landmark set with analytic ground truth;
- :func:`render_lateral`: a lateral radiograph drawn from a phantom;
- :func:`write_radiograph`: a DX DICOM file of a rendered film;
- :func:`generate_cohort`: the bundled ``sample_dicom/`` cohort (films, landmark files,
  clinical table), deterministic for a seed;
- :func:`simulate_cohort`: feature tables that reproduce the group summaries of the two
  seed studies, for the statistics demonstrations.
"""

from __future__ import annotations

from ._cohort import (
    CALIBRATION_KINDS,
    CLINICAL_COLUMNS,
    DRAWN_LEVELS,
    LANDMARK_LEVELS,
    SAMPLE_SEED,
    FilmSpec,
    PatientSpec,
    SampleFilm,
    clinical_table,
    film_calibration,
    fracture_heights,
    generate_cohort,
    generate_patient,
    radiograph_dataset,
    sample_patients,
    spine_phantom,
    truth_frame,
    write_radiograph,
)
from ._render import CementSpec, IndexAppearance, render_lateral
from ._series import SeriesFilm, lateral_series
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
    "Phantom",
    "SampleFilm",
    "SeriesFilm",
    "clinical_table",
    "film_calibration",
    "fracture_heights",
    "generate_cohort",
    "generate_patient",
    "lateral_phantom",
    "lateral_series",
    "radiograph_dataset",
    "render_lateral",
    "sample_patients",
    "simulate_cohort",
    "spine_phantom",
    "truth_frame",
    "write_radiograph",
]
