"""Where landmark files go: beside the film, one per reader (kyphoimg.study). No napari."""

from __future__ import annotations

import os
from pathlib import Path

from kyphoimg.study import landmark_file_for

__all__ = ["LANDMARK_SUFFIX", "landmark_path_for", "relative_image_path"]

#: Suffix of a landmark file beside its image.
LANDMARK_SUFFIX = ".landmarks.json"


def landmark_path_for(
    image_path: str | os.PathLike[str],
    folder: str | os.PathLike[str] | None = None,
    rater: str | None = None,
) -> Path:
    """Return where an image's landmark file goes (:func:`kyphoimg.study.landmark_file_for`).

    ``<name>.landmarks.json`` for a single reader, ``<name>.<rater>.landmarks.json`` for
    one of several; the DICOM suffix (``.dcm``, ``.dicom``, ``.dic``, ``.ima``) is dropped,
    other names are kept whole, so ``1.2.840.1`` and ``1.2.840.2`` never share a file.

    Parameters
    ----------
    image_path : path-like
        The image file.
    folder : path-like, optional
        Save there instead of beside the image.
    rater : str, optional
        The reader (see :func:`kyphoimg.study.check_rater`).

    Returns
    -------
    pathlib.Path
        The landmark file's path.

    Examples
    --------
    >>> landmark_path_for("P001/pre.dcm").as_posix()
    'P001/pre.landmarks.json'
    >>> landmark_path_for("P001/1.2.840.5", "out", rater="AB").as_posix()
    'out/1.2.840.5.AB.landmarks.json'
    """
    path = landmark_file_for(image_path, rater)
    return path if folder is None else Path(folder) / path.name


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
