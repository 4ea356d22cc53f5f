"""DICOM Structured Reports: landmarks and measures as a TID 1500 Measurement Report.

:func:`build_sr` turns the landmark set of one radiograph into a Comprehensive 3D SR
(built with highdicom), :func:`write_sr` saves it, :func:`import_sr` reads one back into
a :class:`~kyphoimg.LandmarkSet` and :func:`sr_measurements` lists its numbers;
:func:`export_sr_files` and :func:`import_sr_files` run either direction over many files.
The layout and every code are documented in ``docs/sr.md``. highdicom
(``pip install 'kyphoimg[sr]'``) is imported only when a report is built or read.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..errors import SRError, SRWarning
from ._tid1500 import (
    LEVEL_CODES,
    PRIVATE_CODES,
    PRIVATE_SCHEME,
    SR_MEASURE_COLUMNS,
    build_sr,
    export_sr_files,
    import_sr,
    import_sr_files,
    sr_measurements,
    write_sr,
)

__all__ = [
    "LEVEL_CODES",
    "PRIVATE_CODES",
    "PRIVATE_SCHEME",
    "SR_MEASURE_COLUMNS",
    "SRError",
    "SRWarning",
    "build_sr",
    "export_sr_files",
    "import_sr",
    "import_sr_files",
    "sr_measurements",
    "write_sr",
]


def __getattr__(name: str) -> Any:
    if name == "export_sr":
        warnings.warn(
            "kyphoimg.sr.export_sr is deprecated: it builds the report in memory, so it is "
            "now called build_sr (write_sr saves it); the old name goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return build_sr
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
