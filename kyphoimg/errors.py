"""Exceptions raised by kyphoimg.

Every message names the file, level, point, column or DICOM tag concerned and says
what to do. The classes that signal bad values also subclass :class:`ValueError`, so
generic handlers keep working.
"""

from __future__ import annotations

__all__ = [
    "CalibrationError",
    "DicomReadError",
    "KyphoimgError",
    "LandmarkError",
    "MeasureError",
    "StatsInputError",
]


class KyphoimgError(Exception):
    """Base class of every error kyphoimg raises on purpose."""


class LandmarkError(KyphoimgError, ValueError):
    """A landmark file or landmark set is invalid or lacks a point a measure needs.

    Parameters
    ----------
    message : str
        What is wrong and what to do.
    file : str, optional
        The landmark file concerned.
    level : str, optional
        The vertebral level concerned (``"L1"``).
    point : str, optional
        The point name concerned (``"ant_sup"``).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        level: str | None = None,
        point: str | None = None,
    ) -> None:
        self.file = file
        self.level = level
        self.point = point
        where = []
        if file:
            where.append(str(file))
        if level:
            where.append(f"level {level}")
        if point:
            where.append(f"point {point}")
        prefix = ": ".join([", ".join(where)]) + ": " if where else ""
        super().__init__(prefix + message)
        self.message = message


class MeasureError(KyphoimgError, ValueError):
    """A measure cannot be computed from the values given (degenerate geometry, missing input)."""


class CalibrationError(KyphoimgError, ValueError):
    """A pixel calibration is missing, malformed or unusable for the requested unit."""


class DicomReadError(KyphoimgError, ValueError):
    """A DICOM file cannot be read as a projection radiograph."""


class StatsInputError(KyphoimgError, ValueError):
    """A table given to the statistics module cannot be analysed as asked."""
