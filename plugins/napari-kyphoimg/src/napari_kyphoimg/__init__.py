"""napari-kyphoimg: guided vertebral landmark placement with live kyphoimg measures.

The napari contributions (reader, writer, sample data and the ``Landmarks``,
``Measurements`` and ``Calibrate`` widgets) are declared in ``napari.yaml`` and imported
by napari on demand; importing this package loads neither napari nor Qt. The measuring
is kyphoimg's; the plugin gathers points and shows results.
"""

from __future__ import annotations

from typing import Any

from ._launch import launch

__version__ = "0.1.0"

__all__ = ["__version__", "launch", "open_study"]


def open_study(viewer: Any, folder: Any, **options: Any) -> Any:
    """Open a study folder for one reader in ``viewer`` (see :mod:`napari_kyphoimg._study`).

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer.
    folder : path-like
        The study folder.
    **options
        ``rater``, ``timepoints``, ``dock``, ``start`` of
        :func:`napari_kyphoimg._study.open_study`.

    Returns
    -------
    ReadingSession
        ``.worklist``, ``.active``, ``.go_to(entry)``, ``.next(unannotated=True)``.
    """
    from ._study import open_study as _open  # napari and Qt load only when asked for

    return _open(viewer, folder, **options)
