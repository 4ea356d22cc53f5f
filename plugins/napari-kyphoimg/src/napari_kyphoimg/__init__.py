"""napari-kyphoimg: guided vertebral landmark placement with live kyphoimg measures.

The napari contributions (reader, writer, sample data and the ``Landmarks``,
``Measurements``, ``Calibrate`` and ``PACS session`` widgets) are declared in
``napari.yaml`` and imported by napari on demand; importing this package loads neither
napari nor Qt. The measuring is kyphoimg's; the plugin gathers points and shows results.
"""

from __future__ import annotations

from typing import Any

from ._launch import launch

__version__ = "0.1.0"

__all__ = ["__version__", "launch", "open_pacs_session", "open_study"]


def open_study(viewer: Any, folder: Any, **options: Any) -> Any:
    """Open a study folder for one reader in ``viewer`` (see :mod:`napari_kyphoimg._reading`).

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer.
    folder : path-like
        The study folder.
    **options
        ``rater``, ``timepoints``, ``dock``, ``start`` of
        :func:`napari_kyphoimg._reading.open_study`.

    Returns
    -------
    ReadingSession
        ``.worklist``, ``.active``, ``.go_to(entry)``, ``.next(unannotated=True)``.
    """
    from ._reading import open_study as _open  # napari and Qt load only when asked for

    return _open(viewer, folder, **options)


def open_pacs_session(viewer: Any, server: Any, cache: Any, **options: Any) -> Any:
    """Open a reading session on a PACS query in ``viewer`` (see :mod:`napari_kyphoimg._pacs`).

    The worklist is the query's films; each is fetched into ``cache`` when opened and the
    next one prefetched; the reader's landmark files are written beside the cached films.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer.
    server : kyphoimg.pacs.PacsServer or str
        The server, or its DICOMweb root URL (credentials from the environment, netrc or
        keyring).
    cache : path-like
        The local cache folder (a study folder ``kyphoimg run`` reads).
    **options
        ``rater``, ``patients``, ``since``, ``until``, ``timepoints``, ``surgery``,
        ``dock``, ``start`` of :func:`napari_kyphoimg._pacs.open_pacs_session`.

    Returns
    -------
    PacsReadingSession
        ``.worklist``, ``.active``, ``.go_to(entry)``, ``.next()``, ``.cache``.
    """
    from ._pacs import open_pacs_session as _open  # napari and Qt load only when asked for

    return _open(viewer, server, cache, **options)
