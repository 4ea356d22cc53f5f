"""``kyphoimg sr export|import``: DICOM SR (TID 1500) of landmarks and measures."""

from __future__ import annotations

import argparse
import importlib.util

import pandas as pd

from ..errors import UsageError
from ..sr import export_sr_files, import_sr_files
from . import _options as opt
from ._common import report_errors, set_examples

__all__ = ["EXAMPLES", "add_command"]

EXAMPLES = {
    "sr": (
        "kyphoimg sr export sample_dicom --dicom sample_dicom -o sr/",
        "kyphoimg sr import sr/ -o landmarks/",
    ),
    "export": (
        "kyphoimg sr export sample_dicom --dicom sample_dicom -o sr/",
        "kyphoimg sr export study/P001/pre.landmarks.json --dicom study/ -o sr/ --observer AB",
    ),
    "import": (
        "kyphoimg sr import sr/ -o landmarks/",
        "kyphoimg sr import reader1.sr.dcm reader2.sr.dcm -o landmarks/",
    ),
}


def _need_highdicom() -> None:
    """Say once, before any film, that the sr extra is missing."""
    if importlib.util.find_spec("highdicom") is None:
        raise ModuleNotFoundError("highdicom is not installed", name="highdicom")


def _export(args: argparse.Namespace) -> int:
    if not args.dicom:
        raise UsageError("sr export needs --dicom DIR (the source films the SRs reference)")
    _need_highdicom()
    written, errors = export_sr_files(args.inputs, args.dicom, args.output, observer=args.observer)
    return _done(written, errors)


def _import(args: argparse.Namespace) -> int:
    _need_highdicom()
    written, errors = import_sr_files(args.inputs, args.output)
    return _done(written, errors)


def _done(written: list, errors: pd.DataFrame) -> int:
    for path in written:
        print(f"wrote {path}")
    report_errors(errors, None)
    return 1 if len(errors) else 0


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``sr`` (``export``, ``import``) to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``kyphoimg``.
    """
    p = sub.add_parser(
        "sr",
        help="DICOM SR (TID 1500) export of landmarks and measures, and import back",
        description="Export each landmark file as a Comprehensive 3D SR / TID 1500 "
        "measurement report referencing its film (landmarks as SCOORD points, levels as "
        "finding sites, measures with UCUM units), or import such reports back to landmark "
        "files. docs/sr.md describes the layout and codes. Needs highdicom "
        "(pip install 'kyphoimg[sr]').",
    )
    set_examples(p, EXAMPLES["sr"])
    actions = p.add_subparsers(dest="sr_command", required=True, metavar="ACTION")
    q = actions.add_parser("export", help="landmark files -> SR files")
    q.add_argument(
        "inputs",
        nargs="+",
        type=opt.existing_path,
        metavar="LANDMARKS",
        help="landmark files or folders",
    )
    q.add_argument(
        "--dicom",
        nargs="+",
        type=opt.existing_path,
        metavar="DIR",
        help="source films (files or folders)",
    )
    q.add_argument("--observer", help="observer name (default: the landmark file's rater)")
    opt.add_output(q, "output folder", folder=True)
    q.set_defaults(func=_export, name="sr export")
    set_examples(q, EXAMPLES["export"])
    q = actions.add_parser("import", help="SR files -> landmark files")
    q.add_argument(
        "inputs", nargs="+", type=opt.existing_path, metavar="SR", help="SR files or folders"
    )
    opt.add_output(q, "output folder", folder=True)
    q.set_defaults(func=_import, name="sr import")
    set_examples(q, EXAMPLES["import"])
