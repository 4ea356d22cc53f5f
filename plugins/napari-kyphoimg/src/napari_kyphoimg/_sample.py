"""Sample data: a generated pre/post/last lateral spine set of one patient.

The films come from the core's deterministic generator :mod:`kyphoimg.sample` (never
from ``sample_dicom/``): :func:`kyphoimg.sample.generate_patient` renders the first sample
patient's films and writes them, with their exact ground-truth landmark files, as real
DICOM (CR/DX, MONOCHROME1/2, uncompressed or JPEG 2000) into a fresh temporary folder,
which the plugin's own reader then opens. So the sample exercises the same path as a
user's films, and edits autosave into that temporary folder.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from kyphoimg.sample import SampleFilm, generate_patient, sample_patients
from kyphoimg.timepoints import TIMEPOINTS

from ._reader import LayerData, read_dicom

__all__ = ["PATIENT_INDEX", "lateral_film", "lateral_spine", "sample_films"]

#: Which of :func:`kyphoimg.sample.sample_patients` the sample data shows.
PATIENT_INDEX = 0


def sample_films(
    timepoints: Sequence[str] = TIMEPOINTS,
    folder: str | Path | None = None,
) -> list[SampleFilm]:
    """Generate the sample patient's films (DICOM + ground-truth landmark files).

    Parameters
    ----------
    timepoints : sequence of str
        Which films (of ``pre``, ``post``, ``last``).
    folder : path-like, optional
        Where to write them (default: a new temporary folder).

    Returns
    -------
    list of kyphoimg.sample.SampleFilm
        With ``dicom_path``, ``landmarks_path`` and the ground truth (``phantom``).
    """
    spec = sample_patients()[PATIENT_INDEX]
    spec = replace(spec, films=tuple(f for f in spec.films if f.timepoint in timepoints))
    out = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="kyphoimg-"))
    return generate_patient(spec, out)


def _read(path: Path) -> list[LayerData]:
    layers = read_dicom(str(path))
    if not layers:
        raise RuntimeError(f"the generated sample film {path} could not be read")
    return layers


def lateral_spine() -> list[LayerData]:
    """Sample data ``lateral_spine``: pre, post and last films of one patient, with landmarks.

    Returns
    -------
    list of layer-data tuples
        Per film an image layer and its ground-truth landmarks layer (T10-L3, index level
        as generated), read from the generated files.
    """
    return [layer for film in sample_films() for layer in _read(film.dicom_path)]


def lateral_film() -> list[LayerData]:
    """Sample data ``lateral_film``: the pre-operative film alone, without landmarks."""
    (film,) = sample_films(("pre",))
    film.landmarks_path.unlink()  # a film to place landmarks on
    return _read(film.dicom_path)
