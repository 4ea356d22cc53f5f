"""``kyphoimg scan``: index the DICOM files under a folder from their headers."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from ..dicom import SCAN_COLUMNS, scan, scan_to_csv
from ..export import read_table, write_dictionary
from ..timepoints import assign_timepoints
from . import _options as opt
from ._common import check_outputs, set_examples, write_tables

__all__ = ["EXAMPLES", "add_command"]

EXAMPLES = {
    "scan": (
        "kyphoimg scan sample_dicom -o index.csv",
        "kyphoimg scan exports/ -o index.csv --surgery surgery.csv",
        "kyphoimg scan /pacs/export -o index.csv --jobs 4",
    ),
}


def _cmd(args: argparse.Namespace) -> int:
    check_outputs(args.output, overwrite=args.overwrite)
    if args.surgery is None and args.output.suffix.lower() == ".csv":
        # streamed to disk in chunks: flat memory for exports of any size
        counts, index = scan_to_csv(args.dicom_dir, args.output, jobs=args.jobs)
        for path in (args.output, write_dictionary(SCAN_COLUMNS, args.output)):
            print(f"wrote {path}")
        return _summary(sum(counts.values()), counts, index)
    index = scan(args.dicom_dir, progress=True, jobs=args.jobs)
    if args.surgery is not None:
        index = assign_timepoints(
            index, read_table(args.surgery), post_window_days=args.post_window_days
        )
    write_tables((index, args.output))
    counts = {str(k): int(v) for k, v in index["status"].value_counts().items()}
    return _summary(len(index), counts, index)


def _summary(n: int, counts: dict[str, int], index: pd.DataFrame) -> int:
    """Print the scan's counts, time-point flags and unreadable files; return the exit code."""
    print(
        f"scanned {n} file(s): {int(counts.get('ok', 0))} DICOM image(s), "
        f"{int(counts.get('not_dicom', 0))} not DICOM, {int(counts.get('error', 0))} unreadable"
    )
    if "timepoint_flag" in index:
        films = index["status"] == "ok"  # DICOM images only, not the JSON/CSV beside them
        flagged = films & (index["timepoint_flag"].fillna("").astype(str) != "")
        if flagged.any():
            print(f"{int(flagged.sum())} film(s) have a time-point flag to review (timepoint_flag)")
    bad = index[index["status"] == "error"]
    for _, row in bad.iterrows():
        print(f"  - {row['path']}: {row['reason']}", file=sys.stderr)
    return 1 if len(bad) else 0


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``scan`` to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``kyphoimg``.
    """
    p = sub.add_parser(
        "scan",
        help="index the DICOM files under a folder (headers only)",
        description="Index every file under DICOM_DIR from its header (pixels are not read): "
        "patient, UIDs, dates, modality, view, size, transfer syntax and calibration. Files "
        "that are not DICOM are listed with a reason. Exit code 1 when a DICOM file is unreadable.",
    )
    p.add_argument(
        "dicom_dir",
        type=opt.existing_path,
        metavar="DICOM_DIR",
        help="folder searched recursively",
    )
    opt.add_output(p, "index table (.csv/.parquet/.xlsx)")
    opt.add_overwrite(p)
    opt.add_surgery(p, "table of patient_id, surgery_date: assign pre/post/last time points")
    p.add_argument(
        "--post-window-days",
        type=opt.positive_int,
        default=14,
        help="days after surgery within which the first film is 'post' (default 14)",
    )
    opt.add_jobs(
        p, "worker processes (default 1); more help on large folders and network storage", 1
    )
    p.set_defaults(func=_cmd)
    set_examples(p, EXAMPLES["scan"])
