"""``kyphoimg features``: landmark files of all time points to the features table."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..errors import ERROR_COLUMNS, UsageError
from ..export import read_table
from ..longitudinal import RecompressionRule, clinical_gap_rows, features_table
from ..measure import with_point_source
from . import _options as opt
from ._common import check_outputs, finish_tables, set_examples
from .measure import add_landmark_inputs, measure_files, nothing_measured, summary_lines

__all__ = ["EXAMPLES", "add_command", "feature_variants"]

EXAMPLES = {
    "features": (
        "kyphoimg features sample_dicom --clinical sample_dicom/clinical.csv -o features.csv",
        "kyphoimg features landmarks/ --timepoints pre,post,6m,last -o features.xlsx",
        "kyphoimg features sample_dicom -o f.csv --recompression-height ha --measures-output m.csv",
    ),
}

_RULE = {
    "recompression_loss_pct": "height_loss_pct",
    "recompression_angle_deg": "angle_increase_deg",
    "recompression_height": "height",
    "recompression_baseline": "baseline",
    "recompression_min_loss_mm": "min_loss_mm",
}


def feature_variants(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the feature variants given, as keyword arguments of ``features_table``.

    Parameters
    ----------
    values : mapping
        Values by option name (``restoration``, ``recompression_loss_pct``, ...): the
        parsed command line (``vars(args)``) or a study file's ``[features]`` table.
        Missing or ``None`` values are left out (the library's defaults apply).

    Returns
    -------
    dict
        ``restoration``, ``restoration_height``, ``reduction_rate`` (when given) and
        ``recompression``, a :class:`kyphoimg.longitudinal.RecompressionRule` (a
        negative angle disables the angle criterion).
    """
    out: dict[str, Any] = {
        k: values[k]
        for k in ("restoration", "restoration_height", "reduction_rate")
        if values.get(k) is not None
    }
    rule = {f: values[k] for k, f in _RULE.items() if values.get(k) is not None}
    if "angle_increase_deg" in rule and rule["angle_increase_deg"] < 0:
        rule["angle_increase_deg"] = None
    out["recompression"] = RecompressionRule(**rule)
    return out


def _features(args: argparse.Namespace, measures: pd.DataFrame) -> tuple[pd.DataFrame, list]:
    """Build the features table, and a warning row naming patients the clinical table lacks."""
    clinical = read_table(args.clinical) if args.clinical else None
    features = features_table(
        measures,
        order=opt.ids(args.timepoints),
        clinical=clinical,
        **feature_variants(vars(args)),
    )
    notes = clinical_gap_rows(features, clinical, args.clinical) if clinical is not None else []
    return features, notes


def _cmd(args: argparse.Namespace) -> int:
    check_outputs(args.output, args.measures_output, errors=args.errors, overwrite=args.overwrite)
    measures, _, errors, sets = measure_files(args)
    raters = sorted({ls.rater for ls in sets if ls.rater})
    if len(raters) > 1:
        raise UsageError(
            f"the landmark files are several readers' ({', '.join(raters)}): give --rater ID for "
            "the one whose measures make the features (compare readers with kyphoimg reliability)"
        )
    features, notes = _features(args, measures)
    features = with_point_source(features, sets)
    if notes:
        errors = pd.concat(
            [errors, pd.DataFrame(notes, columns=list(ERROR_COLUMNS))], ignore_index=True
        )
    return finish_tables(
        [(features, args.output), (measures, args.measures_output)],
        errors,
        args.errors,
        summary=[
            *summary_lines(measures, sets),
            f"{len(features)} treated vertebra(e) in the features table",
        ],
        nothing=nothing_measured(measures, sets),
    )


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``features`` to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``kyphoimg``.
    """
    p = sub.add_parser(
        "features",
        help="longitudinal features: one row per treated vertebra",
        description="Measure landmark files of all time points and derive the features table "
        "(restoration, reduction angle, correction loss, recompression), joined to clinical data.",
    )
    add_landmark_inputs(p)
    opt.add_output(p, "features table (.csv/.parquet/.xlsx)")
    opt.add_overwrite(p)
    opt.add_clinical(p)
    opt.add_timepoints(p)
    opt.add_feature_variants(p)
    p.add_argument(
        "--measures-output",
        type=opt.output_file,
        metavar="FILE",
        help="also write the measures table",
    )
    p.set_defaults(func=_cmd)
    set_examples(p, EXAMPLES["features"])
