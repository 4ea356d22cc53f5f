"""napari reader: DICOM radiographs (files and folders) as film layers.

Each readable film becomes an image layer holding the stored pixels after the modality
LUT, shown through the file's VOI (window or VOI LUT) with bone bright (MONOCHROME1 films
get an inverted colour map), scaled by the film's calibration. When the film's landmark
file lies beside it, its landmarks come back as a points layer. The reader never raises:
anything it cannot read gives None (napari then tries other readers).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kyphoimg import Radiograph, read_radiograph
from kyphoimg.timepoints import TIMEPOINTS

from ._layers import film_layer_data, film_meta, restore_landmarks

__all__ = ["dicom_files", "napari_get_reader", "radiograph_layer_data", "read_dicom"]

LayerData = tuple[Any, dict[str, Any], str]

_DICOM_SUFFIXES = (".dcm", ".dicom", ".dic", ".ima")
_MAX_FILES = 500
_TIMEPOINT_WORDS = TIMEPOINTS


def _has_dicm_magic(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _is_dicom_file(path: Path) -> bool:
    """Tell a Part 10 file (``DICM`` at byte 128) or a file with a DICOM suffix."""
    if not path.is_file():
        return False
    return path.suffix.lower() in _DICOM_SUFFIXES or _has_dicm_magic(path)


def dicom_files(path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """List the DICOM files a path (or paths) names: files, or folders searched recursively.

    Hidden files and folders are skipped; at most 500 files are returned.
    """
    paths = [path] if isinstance(path, str | os.PathLike) else list(path)
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    f = Path(dirpath) / name
                    if not name.startswith(".") and _is_dicom_file(f):
                        out.append(f)
                        if len(out) >= _MAX_FILES:
                            return out
        elif _is_dicom_file(p):
            out.append(p)
    return out


def napari_get_reader(path: str | list[str]) -> Callable[[Any], list[LayerData] | None] | None:
    """Return :func:`read_dicom` when ``path`` names DICOM files or a folder holding some.

    Parameters
    ----------
    path : str or list of str
        What napari was asked to open.

    Returns
    -------
    callable or None
        None for anything that is not DICOM; never raises.
    """
    try:
        return read_dicom if dicom_files(path) else None
    except Exception:  # a reader must never raise
        return None


def _display(rg: Radiograph) -> tuple[np.ndarray, tuple[float, float], str, str]:
    """Return pixels, contrast limits, colour map and a note saying how the film is shown.

    Linear windows keep the stored values (re-windowing stays possible and the status
    bar shows real values) with ``gray_r`` for MONOCHROME1; a VOI LUT Sequence or a
    SIGMOID function is applied by :meth:`kyphoimg.Radiograph.display`.
    """
    inverted = rg.metadata.photometric_interpretation == "MONOCHROME1"
    cmap = "gray_r" if inverted else "gray"
    voi = rg.voi
    if voi.luts or (voi.windows and voi.function == "SIGMOID"):
        return rg.display("file"), (0.0, 1.0), "gray", "VOI LUT applied (bone bright)"
    if voi.windows:
        c, w, _ = voi.windows[0]
        lo, hi = c - w / 2.0, c + w / 2.0
        return np.asarray(rg.pixels), (lo, hi), cmap, f"window {c:g}/{w:g} from the file"
    step = max(1, int(np.sqrt(rg.pixels.size / 262_144.0)))
    sample = np.asarray(rg.pixels[::step, ::step], dtype=float)
    lo, hi = (float(v) for v in np.percentile(sample, (0.5, 99.5)))
    if not hi > lo:
        lo, hi = float(sample.min()), float(sample.min()) + 1.0
    return np.asarray(rg.pixels), (lo, hi), cmap, "no stored window: 0.5-99.5 percentile"


def _guess_timepoint(path: Path) -> str | None:
    stem = path.stem.lower() if path.suffix.lower() in _DICOM_SUFFIXES else path.name.lower()
    return stem if stem in _TIMEPOINT_WORDS else None


def radiograph_layer_data(
    rg: Radiograph,
    name: str | None = None,
    *,
    landmark_path: str | os.PathLike[str] | None = None,
    rater: str | None = None,
    patient_id: str | None = None,
    timepoint: str | None = None,
    timepoints: Sequence[str] | None = None,
    levels: tuple[str, str] | None = None,
) -> list[LayerData]:
    """Return the layer data of a radiograph: the film, then its landmarks if saved beside it.

    Parameters
    ----------
    rg : Radiograph
        From :func:`kyphoimg.read_radiograph`.
    name : str, optional
        Layer name (default ``<folder>/<file stem>``).
    landmark_path : path-like, optional
        The landmark file of this film for this reader (a reading session's); default the
        single-reader file beside the film.
    rater : str, optional
        The reader whose file it is (new landmarks are saved as theirs).
    patient_id, timepoint : str, optional
        The study's patient and time point of the film (default: Patient ID and the
        file's name when it is a time point).
    timepoints : sequence of str, optional
        The study's time points (the Time point control's choices).
    levels : (str, str), optional
        The level range to plan on a film without landmarks (the study's last one).

    Returns
    -------
    list of layer-data tuples
        The film's image layer, then its landmarks layer when the file exists.
    """
    path = Path(rg.path).resolve()
    if name is None:
        stem = path.stem if path.suffix.lower() in _DICOM_SUFFIXES else path.name
        name = f"{path.parent.name}/{stem}" if path.parent.name else stem
    data, limits, cmap, how = _display(rg)
    meta = film_meta(
        path=str(path),
        sop_instance_uid=rg.metadata.sop_instance_uid,
        rows=rg.shape[0],
        columns=rg.shape[1],
        calibration=rg.calibration,
        patient_id=patient_id or rg.metadata.patient_id,
        timepoint=timepoint or _guess_timepoint(path),
        calibration_notes=rg.metadata.calibration_notes,
        rater=rater,
        landmark_path=None if landmark_path is None else str(Path(landmark_path).resolve()),
        timepoints=timepoints,
    )
    if levels:
        meta["levels"] = list(levels)
    meta["display"] = how
    # The reader may window beyond the file's window: the slider spans the values shown.
    meta["display_range"] = [float(min(limits[0], data.min())), float(max(limits[1], data.max()))]
    meta["photometric_interpretation"] = rg.metadata.photometric_interpretation
    landmarks = restore_landmarks(meta, name)
    film = film_layer_data(
        data,
        meta,
        name=name,
        contrast_limits=limits,
        colormap=cmap,
        extra_metadata={"dicom": rg.metadata.as_dict()},
    )
    return [film] if landmarks is None else [film, landmarks]


def read_dicom(path: str | list[str]) -> list[LayerData] | None:
    """Read DICOM films (files, or folders searched recursively) as layers.

    Parameters
    ----------
    path : str or list of str
        Files or folders.

    Returns
    -------
    list of layer-data tuples, or None
        Film image layers (each followed by its landmarks when a landmark file lies
        beside it); None when no file could be read. Never raises.
    """
    layers: list[LayerData] = []
    try:
        files = dicom_files(path)
    except Exception:
        return None
    for f in files:
        try:
            layers.extend(radiograph_layer_data(read_radiograph(f)))
        except Exception:  # one unreadable file must not stop the others
            continue
    return layers or None
