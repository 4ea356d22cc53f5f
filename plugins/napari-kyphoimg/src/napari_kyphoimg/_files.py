"""Where landmark files go: ``<image>.landmarks.json`` beside the film (DESIGN.md). No napari."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["LANDMARK_SUFFIX", "landmark_path_for", "relative_image_path"]

#: Suffix of a landmark file beside its image (DESIGN.md).
LANDMARK_SUFFIX = ".landmarks.json"
_DICOM_SUFFIXES = (".dcm", ".dicom", ".dic", ".ima")


def landmark_path_for(
    image_path: str | os.PathLike[str], folder: str | os.PathLike[str] | None = None
) -> Path:
    """Return where an image's landmark file goes: ``<name>.landmarks.json``.

    The DICOM suffix (``.dcm``, ``.dicom``, ``.dic``, ``.ima``) is dropped; other names
    are kept whole, so ``1.2.840.1`` and ``1.2.840.2`` never share a file.

    Parameters
    ----------
    image_path : path-like
        The image file.
    folder : path-like, optional
        Save there instead of beside the image.

    Returns
    -------
    pathlib.Path
        The landmark file's path.

    Examples
    --------
    >>> landmark_path_for("P001/pre.dcm").as_posix()
    'P001/pre.landmarks.json'
    >>> landmark_path_for("P001/1.2.840.5", "out").as_posix()
    'out/1.2.840.5.landmarks.json'
    """
    p = Path(image_path)
    stem = p.stem if p.suffix.lower() in _DICOM_SUFFIXES else p.name
    return Path(folder if folder is not None else p.parent) / f"{stem}{LANDMARK_SUFFIX}"


def relative_image_path(
    image_path: str | os.PathLike[str], landmark_path: str | os.PathLike[str]
) -> str:
    """Return the image path relative to the landmark file's folder, POSIX style.

    Parameters
    ----------
    image_path : path-like
        The image file.
    landmark_path : path-like
        The landmark file.

    Returns
    -------
    str
        What the landmark file records as ``image.path``.
    """
    return Path(
        os.path.relpath(Path(image_path).resolve(), Path(landmark_path).resolve().parent)
    ).as_posix()
