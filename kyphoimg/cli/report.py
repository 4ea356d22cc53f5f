"""``kyphoimg report`` (alias ``stats``): the outcome statistics report of a run or study file."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from ..errors import UsageError
from . import _options as opt
from ._common import is_run_folder, missing_stats_extra, set_examples

__all__ = ["EXAMPLES", "add_command"]

EXAMPLES = {
    "report": (
        "kyphoimg report analysis.toml -o report/",
        "kyphoimg report study.toml -o report/   # [data], [outcome], ...: docs/statistics.md",
    ),
}
EXAMPLES["stats"] = EXAMPLES["report"]


def _refuse_writing_into_the_run(study: Path, output: Path) -> None:
    """Refuse an output folder that is the run (or study folder) the report reads (exit 2)."""
    source = study if study.is_dir() else study.parent
    if output.resolve() == source.resolve() or is_run_folder(output):
        raise UsageError(
            f"-o {output}: this is the folder of the run the report reads ({source}); the report "
            "would write over its files (summary.json, study.toml): give another folder, e.g. "
            f"-o {source / 'report'}"
        )


def _cmd(args: argparse.Namespace) -> int:
    missing = missing_stats_extra(args.command)
    if missing is not None:
        return missing
    _refuse_writing_into_the_run(args.study, args.output)
    from ..stats import report

    with warnings.catch_warnings(record=True) as caught:  # they are in the report too
        warnings.simplefilter("always")
        written = report(args.study, args.output)
    for name, path in written.files.items():
        print(f"wrote {name}: {path}")
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"kyphoimg {args.command}: warning (also in the report): {message}", file=sys.stderr)
    return 0


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``report`` and its unlisted alias ``stats`` to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``kyphoimg``.
    """
    # 'stats': the alias docs/statistics.md names; a parser of its own so that its usage and
    # errors say 'kyphoimg stats', but not listed among the commands.
    for name in ("report", "stats"):
        listed: dict[str, Any] = {
            "help": "outcome statistics report from a run folder or study TOML (HTML + XLSX)"
        }
        p = sub.add_parser(
            name,
            **(listed if name == "report" else {}),
            description=("Same as 'kyphoimg report'. " if name == "stats" else "")
            + "Run the outcome statistics a study TOML describes (Table 1, time points, "
            "correlation, logistic regression, ROC with DeLong CIs) and write one self-contained "
            "HTML report, an XLSX workbook and the figures. STUDY is a run folder (its "
            "study.toml) or a study TOML. Every p-value names its test. Needs "
            "the statistics extra: pip install 'kyphoimg[stats]'.",
        )
        p.add_argument(
            "study",
            type=opt.existing_path,
            metavar="STUDY",
            help="run folder or study .toml (see docs/statistics.md)",
        )
        opt.add_output(p, "output folder", folder=True)
        p.set_defaults(func=_cmd)
        set_examples(p, EXAMPLES[name])
