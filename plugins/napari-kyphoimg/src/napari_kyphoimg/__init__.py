"""napari-kyphoimg: guided vertebral landmark placement with live kyphoimg measures.

The napari contributions (reader, writer, sample data and the ``Landmarks``,
``Measurements`` and ``Calibrate`` widgets) are declared in ``napari.yaml`` and imported
by napari on demand; importing this package loads neither napari nor Qt. The measuring
is kyphoimg's; the plugin gathers points and shows results.
"""

from __future__ import annotations

from ._launch import launch

__version__ = "0.1.0"

__all__ = ["__version__", "launch"]
