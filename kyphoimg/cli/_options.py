"""The options several commands share, each declared once, and the checks of their values.

Every option string of the command line is declared in one place: an option used by
several commands is added by one function here (its help text may differ by command).
Values are checked when parsed (``type=``), so a bad value exits with code 2 and one
sentence naming the option, before any work.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..timepoints import TIMEPOINTS

__all__ = [
    "add_accept_proposals",
    "add_clinical",
    "add_errors",
    "add_feature_variants",
    "add_format",
    "add_jobs",
    "add_landmarks",
    "add_measure_variants",
    "add_output",
    "add_overwrite",
    "add_patient",
    "add_patient_list",
    "add_patients",
    "add_rater",
    "add_raters",
    "add_reference_option",
    "add_surgery",
    "add_timepoints",
    "existing_path",
    "ids",
    "jobs_count",
    "non_negative_float",
    "output_file",
    "output_folder",
    "positive_int",
]


# -- value checks (argparse ``type=``) ---------------------------------------------------
def positive_int(text: str) -> int:
    """Parse a whole number of at least 1 (processes, patients, dpi).

    Parameters
    ----------
    text : str
        The value given on the command line.

    Returns
    -------
    int
        The number.
    """
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return n


def jobs_count(text: str) -> int:
    """Parse a ``--jobs`` value: a whole number of worker processes, at least 1.

    Parameters
    ----------
    text : str
        The value given on the command line.

    Returns
    -------
    int
        The number of processes.
    """
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of processes (1 or more)"
        ) from None


def non_negative_float(text: str) -> float:
    """Parse a number of 0 or more (a distance, a threshold).

    Parameters
    ----------
    text : str
        The value given on the command line.

    Returns
    -------
    float
        The number.
    """
    try:
        x = float(text)
    except ValueError:
        x = -1.0
    if not x >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of 0 or more")
    return x


def existing_path(text: str) -> Path:
    """Check an input file or folder exists.

    Parameters
    ----------
    text : str
        The path given on the command line.

    Returns
    -------
    pathlib.Path
        The path.
    """
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder")
    return path


def _under_a_file(path: Path) -> Path | None:
    """Return the first existing ancestor of ``path`` if it is a file (else None)."""
    for parent in path.parents:
        if parent.exists():
            return parent if not parent.is_dir() else None
    return None


def output_file(text: str) -> Path:
    """Check an output file is not an existing folder, nor under a file.

    Parameters
    ----------
    text : str
        The path given on the command line.

    Returns
    -------
    pathlib.Path
        The path.
    """
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    blocker = _under_a_file(path)
    if blocker is not None:
        raise argparse.ArgumentTypeError(f"{text}: {blocker} is a file, not a folder")
    return path


def output_folder(text: str) -> Path:
    """Check an output folder is a folder or can become one (not a file, not under one).

    Parameters
    ----------
    text : str
        The path given on the command line.

    Returns
    -------
    pathlib.Path
        The path.
    """
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; give a folder")
    blocker = _under_a_file(path)
    if blocker is not None:
        raise argparse.ArgumentTypeError(f"{text}: {blocker} is a file, not a folder")
    return path


def ids(text: str | None) -> tuple[str, ...] | None:
    """Split a comma-separated list (``A,B``) into its items; ``None`` stays ``None``.

    Parameters
    ----------
    text : str or None
        The value given on the command line.

    Returns
    -------
    tuple of str or None
        The items, stripped, empty ones dropped.
    """
    return None if text is None else tuple(t.strip() for t in text.split(",") if t.strip())


# -- shared options ----------------------------------------------------------------------
def add_output(
    p: argparse.ArgumentParser,
    help: str,
    *,
    folder: bool = False,
    required: bool = True,
    default: Path | None = None,
) -> None:
    """Add ``-o/--output``: an output file (``folder=False``) or folder.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    help : str
        What is written there.
    folder : bool
        The output is a folder.
    required : bool
        The option must be given.
    default : pathlib.Path, optional
        Its default when not required.
    """
    p.add_argument(
        "-o",
        "--output",
        type=output_folder if folder else output_file,
        required=required,
        default=default,
        help=help,
    )


def add_overwrite(p: argparse.ArgumentParser) -> None:
    """Add ``--overwrite``: allow writing over files this command did not write.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    """
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="write over existing files in the output that this command did not write",
    )


def add_rater(p: argparse.ArgumentParser, help: str) -> None:
    """Add ``--rater ID``: one reader's landmark files.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    help : str
        What the reader's id selects in this command.
    """
    p.add_argument("--rater", metavar="ID", help=help)


def add_raters(p: argparse.ArgumentParser, help: str) -> None:
    """Add ``--raters LIST``: readers, comma-separated.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    help : str
        What the readers are used for.
    """
    p.add_argument("--raters", metavar="LIST", help=help)


def add_timepoints(p: argparse.ArgumentParser, help: str | None = None) -> None:
    """Add ``--timepoints LIST``: the study's time points in order.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    help : str, optional
        Its help (default: the time points in order, with the default list).
    """
    p.add_argument(
        "--timepoints",
        metavar="LIST",
        help=help
        or "the study's time points in order, comma-separated (default: "
        + ",".join(TIMEPOINTS)
        + ")",
    )


def add_jobs(p: argparse.ArgumentParser, help: str, default: int | None = None) -> None:
    """Add ``--jobs N``: worker processes, 1 or more.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    help : str
        What the processes do.
    default : int, optional
        Its default.
    """
    p.add_argument("--jobs", type=jobs_count, default=default, metavar="N", help=help)


def add_format(p: argparse.ArgumentParser, help: str) -> None:
    """Add ``--format LIST``: table formats, comma-separated.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    help : str
        Its help.
    """
    p.add_argument("--format", metavar="LIST", help=help)


def add_errors(p: argparse.ArgumentParser) -> None:
    """Add ``--errors FILE``: also write the problems to this table.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    """
    p.add_argument(
        "--errors",
        type=output_file,
        metavar="FILE",
        help="also write the problems (file, level, point, error) to this table",
    )


def add_clinical(p: argparse.ArgumentParser) -> None:
    """Add ``--clinical FILE``: the clinical table joined on patient_id.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    """
    p.add_argument(
        "--clinical",
        type=existing_path,
        metavar="FILE",
        help="clinical table joined on patient_id",
    )


def add_surgery(p: argparse.ArgumentParser, help: str) -> None:
    """Add ``--surgery TABLE``: patient_id, surgery_date.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    help : str
        What the dates are used for.
    """
    p.add_argument("--surgery", type=existing_path, metavar="TABLE", help=help)


def add_landmarks(p: argparse.ArgumentParser, help: str, metavar: str = "DIR") -> None:
    """Add ``--landmarks PATH``: where the landmark files are.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    help : str
        Its help.
    metavar : str
        ``DIR`` or ``FILE``.
    """
    p.add_argument("--landmarks", type=existing_path, metavar=metavar, help=help)


def add_patient(p: argparse.ArgumentParser, help: str) -> None:
    """Add ``--patient ID``.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    help : str
        Its help.
    """
    p.add_argument("--patient", metavar="ID", help=help)


def add_patient_list(p: argparse.ArgumentParser, help: str) -> None:
    """Add ``--patient-list FILE``: patient IDs, one a line (or a table's ``patient_id``).

    Parameters
    ----------
    p : argparse.ArgumentParser or argument group
        The command's parser.
    help : str
        What the list selects in this command.
    """
    p.add_argument(
        "--patient-list", dest="patient_list", type=existing_path, metavar="FILE", help=help
    )


def add_patients(p: argparse.ArgumentParser, default: int) -> None:
    """Add ``--patients N``: patients of a generated cohort.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    default : int
        Its default.
    """
    p.add_argument(
        "--patients",
        type=positive_int,
        default=default,
        metavar="N",
        help=f"patients of the generated cohort (default {default})",
    )


def add_reference_option(p: argparse.ArgumentParser) -> None:
    """Add ``--skip-fractured-references``.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    """
    p.add_argument(
        "--skip-fractured-references",
        action="store_true",
        help="height ratios (AHR, MHR, PHR), compression and Genant grade: skip a fractured "
        "neighbour (index level, or Genant grade >= 1) for the next non-fractured vertebra; "
        "the levels used are named in ahr_reference_levels (default: adjacent vertebrae)",
    )


def add_measure_variants(p: argparse.ArgumentParser) -> None:
    """Add the measure variants: ``--genant-reference``, ``--normative``, ``--sd-threshold``.

    Defaults are ``None`` so that a study file's value is not overridden; the library's
    defaults apply when neither gives one.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    """
    p.add_argument(
        "--genant-reference",
        choices=("adjacent", "own_posterior"),
        default=None,
        help="reference height of the morphometric Genant grade (default: adjacent vertebrae)",
    )
    p.add_argument(
        "--normative",
        type=existing_path,
        metavar="TABLE",
        help="normative QM ratios (columns level, ratio, mean, sd) for qm_*_z and qm_deformity",
    )
    p.add_argument(
        "--sd-threshold",
        metavar="SD",
        type=non_negative_float,
        default=None,
        help="SD threshold of qm_deformity (default 3)",
    )
    add_reference_option(p)
    add_accept_proposals(p)


def add_accept_proposals(p: argparse.ArgumentParser) -> None:
    """Add ``--accept-proposals``.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    """
    p.add_argument(
        "--accept-proposals",
        action="store_true",
        help="also measure vertebrae whose points kyphoimg proposed (assist) and no reader "
        "confirmed; each row says its source in point_source (default: leave them out and "
        "name them)",
    )


def add_feature_variants(p: argparse.ArgumentParser) -> None:
    """Add the feature variants: ``--restoration*``, ``--reduction-rate``, ``--recompression-*``.

    Defaults are ``None`` (see :func:`add_measure_variants`).

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    """
    p.add_argument(
        "--restoration",
        choices=("reference", "relative"),
        default=None,
        help="variant reported as height_restoration_pct (both are always exported; "
        "default reference)",
    )
    p.add_argument(
        "--restoration-height",
        choices=("ha", "hm", "hp"),
        default=None,
        help="height followed by the restoration measures (default ha)",
    )
    p.add_argument(
        "--reduction-rate",
        choices=("restoration", "angle"),
        default=None,
        help="definition behind reduction_rate_pct (named in reduction_rate_method; "
        "default restoration)",
    )
    p.add_argument(
        "--recompression-loss-pct",
        metavar="PCT",
        type=non_negative_float,
        default=None,
        help="height loss (percent) that defines recompression (default 15)",
    )
    p.add_argument(
        "--recompression-angle-deg",
        metavar="DEG",
        type=float,
        default=None,
        help="KA increase (deg) that defines recompression (default 10; negative disables)",
    )
    p.add_argument(
        "--recompression-height",
        choices=("ahr", "ha", "hm", "hp", "max_loss"),
        default=None,
        help="height followed for recompression (default ahr: the anterior height ratio to "
        "the adjacent vertebrae, which cancels magnification differences between films; "
        "ha, hm, hp follow a body height in mm and are the default only with "
        "--recompression-min-loss-mm)",
    )
    p.add_argument(
        "--recompression-baseline",
        choices=("post", "pre"),
        default=None,
        help="film the loss is measured against (default post)",
    )
    p.add_argument(
        "--recompression-min-loss-mm",
        metavar="MM",
        type=non_negative_float,
        default=None,
        help="also require this absolute loss in mm (e.g. 4 with 20 %% for Black et al. 1999)",
    )
