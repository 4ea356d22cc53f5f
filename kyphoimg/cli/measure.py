"""``kyphoimg measure``: landmark files to the measures table (one row per image x vertebra)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..batch import leave_out_proposals
from ..errors import ERROR_COLUMNS, WARNING_PREFIX, UsageError
from ..export import read_table
from ..landmarks import missing_points, read_landmark_files
from ..measure import images_table, measures_table, with_point_source
from . import _options as opt
from ._common import check_outputs, finish_tables, set_examples

__all__ = [
    "EXAMPLES",
    "add_command",
    "add_landmark_inputs",
    "measure_files",
    "measure_variants",
    "nothing_measured",
    "summary_lines",
]

EXAMPLES = {
    "measure": (
        "kyphoimg measure sample_dicom -o measures.csv --images-output images.csv",
        "kyphoimg measure sample_dicom/P002/pre.landmarks.json -o p002.xlsx --errors errors.csv",
        "kyphoimg measure sample_dicom -o measures.csv --skip-fractured-references",
    ),
}


def add_landmark_inputs(p: argparse.ArgumentParser) -> None:
    """Add what ``measure`` and ``features`` both read: landmark files and the measure variants.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    """
    p.add_argument(
        "landmarks",
        nargs="+",
        metavar="LANDMARKS",
        help="landmark files (*.landmarks.json, flat *.csv) or folders searched for them (one "
        "that is missing is reported after the others are measured)",
    )
    opt.add_rater(
        p,
        "keep only this reader's landmark sets (their rater field) when the folders hold "
        "several readers' files",
    )
    opt.add_measure_variants(p)
    opt.add_errors(p)
    p.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="do not count points missing from annotated vertebrae as failures "
        "(they are still NaN with a reason in the tables)",
    )


def measure_variants(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the measure variants given, as keyword arguments of ``measures_table``.

    Parameters
    ----------
    values : mapping
        Values by option name: the parsed command line (``vars(args)``) or a study
        file's ``[measures]`` table. Missing or ``None`` values (and a false
        ``skip_fractured_references``) are left out; ``normative`` is not included (it
        is a path, read by the caller).

    Returns
    -------
    dict
        Keyword arguments of :func:`kyphoimg.measure.measures_table`.
    """
    keys = ("genant_reference", "sd_threshold", "skip_fractured_references")
    return {k: values[k] for k in keys if values.get(k) not in (None, False)}


def measure_files(
    args: argparse.Namespace,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list]:
    """Read and measure the landmark files of ``measure`` and ``features``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    tuple
        The measures table, the images table, the errors table and the landmark sets.
    """
    sets, errors = read_landmark_files(args.landmarks, progress=True)
    if args.rater:
        sets = [ls for ls in sets if ls.rater == args.rater]
        if not sets:
            raise UsageError(f"--rater {args.rater}: no landmark set of this reader in the files")
    empty = [
        (
            ls.source,
            None,
            None,
            f'{WARNING_PREFIX}{ls.source}: no points placed ("points": '
            "{}): nothing measured; place them with kyphoimg view",
        )
        for ls in sets
        if not ls.points
    ]
    if empty:
        errors = pd.concat([errors, pd.DataFrame(empty, columns=list(ERROR_COLUMNS))])
        errors = errors.reset_index(drop=True)
    sets, notes = leave_out_proposals(sets, accept=args.accept_proposals)
    errors = pd.concat([errors, notes], ignore_index=True)[list(ERROR_COLUMNS)]
    if not args.allow_incomplete:
        missing = missing_points(sets)
        if len(missing):
            errors = pd.concat([errors, missing], ignore_index=True)[list(ERROR_COLUMNS)]
    normative = read_table(args.normative) if args.normative else None
    measures = measures_table(sets, normative=normative, **measure_variants(vars(args)))
    measures = with_point_source(measures, sets)
    return measures, images_table(sets), errors, sets


def nothing_measured(measures: pd.DataFrame, sets: list) -> bool:
    """Tell whether landmark sets were read but none had a vertebra to measure (exit 1).

    Parameters
    ----------
    measures : pandas.DataFrame
        The measures table.
    sets : list
        The landmark sets read.

    Returns
    -------
    bool
        True when sets were read and the measures table is empty.
    """
    return bool(sets) and measures.empty


def summary_lines(measures: pd.DataFrame, sets: list) -> list[str]:
    """Say how many sets and rows were measured, and note detector-plane mm.

    Parameters
    ----------
    measures : pandas.DataFrame
        The measures table.
    sets : list
        The landmark sets measured.

    Returns
    -------
    list of str
        The lines to print after the tables.
    """
    n_inc = int((measures["status"] == "incomplete").sum())
    lines = [
        f"measured {len(sets)} landmark set(s), {len(measures)} vertebra row(s)"
        + (f"; {n_inc} incomplete (see status/reason)" if n_inc else "")
    ]
    det = measures["spacing_source"].isin(["detector", "unknown_origin"])
    if det.any():
        lines.append(
            f"note: {int(det.sum())} row(s) have mm at the detector plane or of unknown origin "
            "(not corrected for magnification); see spacing_source"
        )
    return lines


def _cmd(args: argparse.Namespace) -> int:
    check_outputs(args.output, args.images_output, errors=args.errors, overwrite=args.overwrite)
    measures, images, errors, sets = measure_files(args)
    return finish_tables(
        [(measures, args.output), (images, args.images_output)],
        errors,
        args.errors,
        summary=summary_lines(measures, sets),
        nothing=nothing_measured(measures, sets),
    )


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``measure`` to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``kyphoimg``.
    """
    p = sub.add_parser(
        "measure",
        help="measure landmark files: one row per image x vertebra",
        description="Measure heights, ratios, compression, Genant grade and angles "
        "from landmark files.",
    )
    add_landmark_inputs(p)
    opt.add_output(p, "measures table (.csv/.parquet/.xlsx)")
    opt.add_overwrite(p)
    p.add_argument(
        "--images-output",
        type=opt.output_file,
        metavar="FILE",
        help="also write the per-image table (TK, TLK, LL; coronal Cobb angles)",
    )
    p.set_defaults(func=_cmd)
    set_examples(p, EXAMPLES["measure"])
