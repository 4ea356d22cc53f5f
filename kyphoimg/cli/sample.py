"""``kyphoimg sample``: write a synthetic cohort (films, landmark files, clinical.csv)."""

from __future__ import annotations

import argparse

from ..sample import generate_cohort
from . import _options as opt
from ._common import refuse_foreign_files, set_examples

__all__ = ["EXAMPLES", "add_command"]

EXAMPLES = {
    "sample": (
        "kyphoimg sample -o films/ --patients 40",
        "kyphoimg sample -o films/ --patients 10 --seed 7",
    ),
}


def _cmd(args: argparse.Namespace) -> int:
    refuse_foreign_files(args.output, "the sample", overwrite=args.overwrite)
    options = {} if args.seed is None else {"seed": args.seed}
    films = generate_cohort(args.output, args.patients, **options)
    print(
        f"wrote {len(films)} synthetic films of {args.patients} patient(s), their landmark "
        f"files and clinical.csv to {args.output}"
    )
    return 0


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``sample`` to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``kyphoimg``.
    """
    p = sub.add_parser(
        "sample",
        help="write a synthetic cohort: DICOM films, landmark files, clinical.csv",
        description="Write a synthetic cohort to try kyphoimg without patient data: per "
        "patient, lateral DX/CR films at pre, post and last follow-up with their ground-truth "
        "landmark files, and a clinical table. The first four patients are sample_dicom/'s; "
        "the rest are drawn from the seed.",
    )
    opt.add_output(p, "output folder", folder=True)
    opt.add_patients(p, 4)
    p.add_argument("--seed", type=int, default=None, help="cohort seed (default: sample_dicom's)")
    opt.add_overwrite(p)
    p.set_defaults(func=_cmd)
    set_examples(p, EXAMPLES["sample"])
