"""``kyphoimg demo``: the whole chain on the synthetic sample cohort."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import pandas as pd

from ..demo import DEMO_PATIENTS, demo_commands, run_demo
from . import _options as opt
from ._common import failed, missing_stats_extra, report_errors, set_examples

__all__ = ["EXAMPLES", "add_command"]

EXAMPLES = {
    "demo": (
        "kyphoimg demo",
        "kyphoimg demo -o /tmp/kyphoimg-demo --data sample_dicom",
    ),
}

_SHOWN = [
    "patient_id",
    "level",
    "ahr_pct_pre",
    "ahr_pct_post",
    "ahr_pct_last",
    "ka_deg_pre",
    "ka_deg_post",
    "ka_deg_last",
    "height_restoration_pct",
    "reduction_angle_deg",
    "correction_loss_deg",
    "height_loss_pct",
    "recompression",
    "ivc",
    "npec",
]


def _cmd(args: argparse.Namespace) -> int:
    missing = missing_stats_extra("demo")
    if missing is not None:
        return missing
    out = Path(args.output)
    if args.data is None:
        print(f"$ kyphoimg sample -o {out / 'films'} --patients {args.patients}")
    for argv in demo_commands(out, args.data or out / "films"):
        print("$ kyphoimg " + " ".join(shlex.quote(a) for a in argv))
    result = run_demo(out, data=args.data, patients=args.patients)
    run = result.run
    s = run.summary
    print(
        f"\nkyphoimg demo: {s.films_by_status.measured} synthetic films of "
        f"{result.data} measured "
        f"({s.vertebra_rows} vertebra rows, {s.treated_vertebrae} treated vertebrae)\n"
    )
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(run.features[_SHOWN].to_string(index=False, float_format=lambda x: f"{x:.1f}"))
    print(f"\ntables, films.csv, errors.csv, summary.json, study.toml: {out / 'study'}")
    print(f"statistics report of the run (HTML, XLSX, PDF): {result.report.html}")
    print(f"DICOM SR (TID 1500), one per film: {len(result.sr_files)} in {out / 'sr'}")
    for study in result.simulated:
        print(f"statistics report on the SIMULATED {study.name} cohort: {study.report.html}")
    problems = pd.concat([run.errors, result.sr_errors], ignore_index=True)
    report_errors(problems, None)
    return 1 if failed(problems) else 0


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``demo`` to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``kyphoimg``.
    """
    p = sub.add_parser(
        "demo",
        help="run the whole chain on the synthetic sample cohort",
        description="Run the whole chain on the synthetic sample cohort (sample_dicom/, or a "
        "freshly generated copy): study run with measures, features and exports, a DICOM SR per "
        "film, and statistics reports reproducing the analyses of both seed studies on "
        "simulated cohorts (labelled simulated).",
    )
    opt.add_output(p, "output folder", folder=True, required=False, default=Path("demo-output"))
    p.add_argument(
        "--data",
        type=opt.existing_path,
        metavar="DIR",
        help="films + landmark files + clinical.csv (default: a synthetic cohort generated "
        "into OUTPUT/films)",
    )
    opt.add_patients(p, DEMO_PATIENTS)
    p.set_defaults(func=_cmd)
    set_examples(p, EXAMPLES["demo"])
