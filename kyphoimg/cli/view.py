"""``kyphoimg view``: open films in napari with the kyphoimg plugin docked."""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from . import _options as opt
from ._common import set_examples

__all__ = ["EXAMPLES", "add_command"]

EXAMPLES = {
    "view": (
        "kyphoimg view sample_dicom --rater AB   # a reading session: worklist, film by film",
        "kyphoimg view sample_dicom --rater B --blind   # a blinded re-read",
        "kyphoimg view sample_dicom/P001/pre.dcm sample_dicom/P001/post.dcm",
    ),
}


def _cmd(args: argparse.Namespace) -> int:
    if args.pacs_url and args.cache is None:
        raise UsageError("--pacs-url needs --cache DIR: the local folder films are fetched into")
    try:  # imported here only: the core never loads napari or Qt
        from napari_kyphoimg import launch
    except ImportError as exc:
        print(
            f"kyphoimg view needs the napari plugin ({exc}); install it with\n"
            "  pip install './plugins/napari-kyphoimg[pyqt6]'",
            file=sys.stderr,
        )
        return 2
    return int(
        launch(
            [str(p) for p in args.files],
            rater=args.rater,
            timepoints=opt.ids(args.timepoints),
            blind=args.blind,
            surgery=args.surgery,
            pacs_url=args.pacs_url,
            cache=args.cache,
            patients=args.patient_list,
            since=args.since,
        )
    )


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``view`` to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``kyphoimg``.
    """
    p = sub.add_parser(
        "view",
        help="open films in napari with the kyphoimg plugin docked",
        description="Open a study folder in napari for one reader (a worklist of its films, "
        "one film at a time), or DICOM files and landmark files, with the Landmarks, "
        "Measurements and Calibrate widgets docked (needs plugins/napari-kyphoimg).",
    )
    p.add_argument(
        "files",
        nargs="*",
        type=opt.existing_path,
        metavar="FILES",
        help="one study folder (read film by film from its worklist), or DICOM files or "
        "landmark files",
    )
    opt.add_rater(p, "the reader: reads and writes only <film>.<ID>.landmarks.json")
    opt.add_timepoints(p)
    p.add_argument(
        "--blind",
        action="store_true",
        help="blinded reading (reliability studies): films in a seeded random order, without "
        "patient or time point; the seed is kept in STUDY/.kyphoimg/<ID>.session.json",
    )
    opt.add_surgery(
        p, "patient_id, surgery_date (as scan --surgery): pre/post/last for films without one"
    )
    g = p.add_argument_group(
        "a reading session on the PACS (credentials: KYPHOIMG_PACS_USER/_PASSWORD, netrc, keyring)"
    )
    g.add_argument(
        "--pacs-url",
        metavar="URL",
        help="DICOMweb root of the PACS: the worklist comes from a query, films are fetched "
        "on demand (the next one ahead) into --cache",
    )
    g.add_argument(
        "--cache",
        type=opt.output_folder,
        metavar="DIR",
        help="with --pacs-url: the local study folder films are fetched into; the reader's "
        "landmark files are written beside them",
    )
    opt.add_patient_list(g, "with --pacs-url: patient IDs, one a line")
    g.add_argument("--since", metavar="DATE", help="with --pacs-url: first study date, YYYY-MM-DD")
    p.set_defaults(func=_cmd)
    set_examples(p, EXAMPLES["view"])
