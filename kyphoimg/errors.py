"""Every exception and warning kyphoimg raises or issues.

Every message names the file, level, point, column or DICOM tag concerned and says
what to do. The classes that signal bad values also subclass :class:`ValueError`, so
generic handlers keep working. All derive from :class:`KyphoimgError` (errors) or
:class:`KyphoimgWarning` (warnings), so one ``except`` or one warnings filter covers
the package.
"""

from __future__ import annotations

__all__ = [
    "ERROR_COLUMNS",
    "WARNING_PREFIX",
    "CalibrationError",
    "DicomReadError",
    "EventsPerVariableWarning",
    "FilmMismatchError",
    "KyphoimgError",
    "KyphoimgWarning",
    "LandmarkError",
    "MeasureError",
    "NotEstimableError",
    "PacsConfigError",
    "PacsError",
    "SRError",
    "SRWarning",
    "SeparationWarning",
    "StatsInputError",
    "StatsWarning",
    "StudyError",
    "TimepointError",
    "TimepointInputError",
    "UsageError",
]


#: Columns of every error report kyphoimg writes (``errors.csv``): the file, the level
#: and the point concerned (empty when not about one), and the message.
ERROR_COLUMNS: tuple[str, ...] = ("file", "level", "point", "error")

#: Messages of an error report that start with this are warnings: listed and printed,
#: but nothing failed (they do not make the exit code non-zero).
WARNING_PREFIX = "warning: "


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


class NotEstimableError(StatsInputError):
    """A statistic cannot be estimated from these data.

    Too few patients or events, a constant or singular variable, separation, a missing
    time point. The message is the reason, written for the report ("2 patients in group B; at least
    3 are needed"); a report shows the section as "Not estimable: <reason>" and goes on.
    """


class PacsError(KyphoimgError):
    """A PACS (DICOMweb or DIMSE) request failed.

    Server down, refused, unauthorised, timed out or interrupted. The message names the
    server, never its credentials.
    """


class TimepointInputError(KyphoimgError, ValueError):
    """The index or surgery table lacks a column, or an argument is invalid."""


class StudyError(KyphoimgError, ValueError):
    """A study folder, worklist or rater id cannot be used as asked."""


class UsageError(KyphoimgError, ValueError):
    """A command-line option, path or study-file key cannot be used as given.

    Found before any work; the command line exits with code 2 and one sentence naming
    the option, path or key and what to do.
    """


class TimepointError(LandmarkError):
    """A film's time point is missing or not one of the study's time points."""


class FilmMismatchError(LandmarkError):
    """A landmark set does not belong to the film it was paired with.

    Raised by :func:`kyphoimg.landmarks.pair_with_film` when the SOP Instance UID or the
    image size recorded in the landmark file differs from the film's.
    """


class SRError(KyphoimgError, ValueError):
    """A DICOM SR cannot be written from, or read into, a landmark set.

    The message names the landmark file, image or SR file concerned and what to do.
    """


# -- warnings ---------------------------------------------------------------------------
class KyphoimgWarning(UserWarning):
    """Base class of every warning kyphoimg issues."""


class SRWarning(KyphoimgWarning):
    """A kyphoimg SR was read, but something in it needed a decision (see the message)."""


class StatsWarning(KyphoimgWarning):
    """Base class of the warnings issued by :mod:`kyphoimg.stats`."""


class SeparationWarning(StatsWarning):
    """Perfect or quasi-complete separation: a logistic ML estimate does not exist.

    The affected coefficients are reported as not estimable (NaN) with a note; the rest
    of the analysis is still reported. Firth's penalised likelihood or exact logistic
    regression are the usual remedies.
    """


class EventsPerVariableWarning(StatsWarning):
    """Fewer than 10 events per candidate parameter in a logistic model (Peduzzi 1996)."""


class PacsConfigError(PacsError, ValueError):
    """The PACS is not named, or named wrongly (a usage error: exit code 2).

    The message names the option or study-file key to fix, never a credential.
    """
