"""``kyphoimg figure``: draw films with their landmarks, endplates and measures."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from ..errors import UsageError
from ..figure import study_patient_films
from ..study import landmark_file_for
from . import _options as opt
from ._common import set_examples

__all__ = ["EXAMPLES", "add_command"]

EXAMPLES = {
    "figure": (
        "kyphoimg figure sample_dicom --patient P002 -o /tmp/P002.png",
        "kyphoimg figure study/ --patient P014 --rater AB -o P014.svg",
        "kyphoimg figure study/P001/pre.dcm -o pre.png --no-values",
    ),
}


def _films(args: argparse.Namespace) -> tuple[list, list[str] | None]:
    paths = [Path(p) for p in args.inputs]
    if len(paths) == 1 and paths[0].is_dir():
        if not args.patient:
            raise UsageError(f"{paths[0]} is a study folder: give --patient ID (whose films)")
        films, titles = study_patient_films(paths[0], args.patient, rater=args.rater)
        if not films:
            raise UsageError(f"{paths[0]}: no film of patient {args.patient!r} (--patient)")
        return films, titles
    films = []
    for film in paths:
        lm = landmark_file_for(film, args.rater)
        films.append((film, lm if lm.is_file() else None))
    return films, None


def _cmd(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("matplotlib") is None:
        raise ModuleNotFoundError("matplotlib is not installed", name="matplotlib")
    import matplotlib

    matplotlib.use("Agg")  # files only: no window
    from ..figure import patient_figure, save_figure

    films, titles = _films(args)
    fig = patient_figure(films, titles=titles, values=not args.no_values)
    written = save_figure(fig, args.output, dpi=args.dpi)
    print(f"wrote {written} ({len(films)} film(s))")
    return 0


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``figure`` to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``kyphoimg``.
    """
    p = sub.add_parser(
        "figure",
        help="draw films with their landmarks, endplates and measures (PNG/SVG, for papers)",
        description="Draw one or more films (side by side) as displayed, with the landmarks, "
        "endplate and height lines, and beside each vertebra its heights and wedge angle (KA "
        "on index levels, with its endplates extended). Give films, or a study folder and "
        "--patient for that patient's films in time order. PNG at --dpi, or SVG/PDF. Needs "
        "matplotlib (pip install 'kyphoimg[stats]').",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        type=opt.existing_path,
        metavar="FILM|STUDY",
        help="DICOM films, or one study",
    )
    opt.add_output(p, "figure file (.png/.svg/.pdf)")
    opt.add_patient(p, "with a study folder: whose films to draw")
    opt.add_rater(p, "the reader whose landmark files are drawn")
    p.add_argument(
        "--dpi", type=opt.positive_int, default=300, help="resolution of PNG output (300)"
    )
    p.add_argument("--no-values", action="store_true", help="lines and points only")
    p.set_defaults(func=_cmd)
    set_examples(p, EXAMPLES["figure"])
