"""``kyphoimg reliability``: inter- and intra-reader agreement of a study's readers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import ERROR_COLUMNS, KyphoimgError, LandmarkError, UsageError
from . import _options as opt
from ._common import missing_stats_extra, report_errors, set_examples

__all__ = ["EXAMPLES", "add_command"]

EXAMPLES = {
    "reliability": (
        "kyphoimg reliability study/ --raters A,B -o reliability/",
        "kyphoimg reliability study/ --raters A,B --repeat A,A2 -o reliability/",
        'kyphoimg reliability study.toml   # [reliability] raters = ["A", "B"], output = ...',
    ),
}


def _readers_found(folder: Path) -> list[str]:
    """Return the reader ids of the per-reader landmark files under ``folder``."""
    found = set()
    for path in folder.rglob("*.landmarks.json"):
        parts = path.name[: -len(".landmarks.json")].rsplit(".", 1)
        if len(parts) == 2 and parts[1]:
            found.add(parts[1])
    return sorted(found)


def _check_readers_have_files(options: Any) -> None:
    """Refuse readers without a landmark file (a typo in the initials): exit 1."""
    folder = Path(options.landmarks_dir or options.study)
    asked = list(dict.fromkeys([*options.raters, *(options.repeat or ())]))
    found = _readers_found(folder)
    missing = [r for r in asked if r not in found]
    if missing:
        raise LandmarkError(
            f"no landmark files of reader(s) {', '.join(missing)} (<film>.<ID>.landmarks.json); "
            f"readers found: {', '.join(found) or 'none'}; check --raters/--repeat",
            file=str(folder),
        )


def _cmd(args: argparse.Namespace) -> int:
    missing = missing_stats_extra(args.command)
    if missing is not None:
        return missing
    # The statistics extra is imported when a command needs it, so `kyphoimg run` and
    # `import kyphoimg` stay fast (scipy, pandas-heavy modules).
    from ..agreement import format_summary, reliability_options, run_reliability

    try:
        options = reliability_options(
            args.study,
            output=args.output,
            raters=opt.ids(args.raters),
            repeat=opt.ids(args.repeat),
            measures=opt.ids(args.measures),
            timepoints=opt.ids(args.timepoints),
            landmarks_dir=args.landmarks,
            jobs=args.jobs,
            progress=True,
            accept_proposals=args.accept_proposals,
        )
    except KyphoimgError as exc:  # options that cannot work: found before any work
        raise UsageError(str(exc)) from None
    _check_readers_have_files(options)
    result = run_reliability(options)
    print(format_summary(result))
    out = options.output
    print(f"\nwrote {len(result.written)} files to {out}:")
    print(f"  report (with the Bland-Altman plots): {out / 'reliability.html'}")
    print(f"  workbook: {out / 'reliability.xlsx'}; Methods paragraph: {out / 'methods.txt'}")
    tables = ", ".join(f"{name}.csv" for name in result.tables)
    print(f"  tables, each with <name>.dictionary.csv: {tables}")
    print(f"  each reader's measures: {out / 'readers'}; plots: {out / 'figures'}")
    problems = result.tables["problems"][list(ERROR_COLUMNS)]
    report_errors(problems, None)
    return 0 if result.ok else 1


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``reliability`` to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``kyphoimg``.
    """
    p = sub.add_parser(
        "reliability",
        help="inter- and intra-reader reliability of the measures and landmarks (HTML + XLSX)",
        description="Measure each reader's landmark files of a study (<film>.<ID>.landmarks.json) "
        "and compare the readers, per measure: inter-reader ICC(2,1) (two-way random, absolute "
        "agreement), with --repeat the intra-reader ICC(3,1) (two-way mixed, consistency), each "
        "with its 95 % CI, SEM and MDC95; Bland-Altman bias and limits of agreement; weighted "
        "kappa for Genant grades and unweighted kappa for the findings; and the distance between "
        "the readers' landmarks per point type and level. Writes CSV tables with data "
        "dictionaries, an XLSX workbook, an HTML report with the Bland-Altman plots and a "
        "Methods paragraph. A study TOML's [reliability] keys are the option names (study, "
        "output, raters, repeat, measures, timepoints, landmarks). Needs the statistics extra: "
        "pip install 'kyphoimg[stats]'.",
    )
    p.add_argument(
        "study", type=opt.existing_path, metavar="STUDY", help="study folder, or a study .toml file"
    )
    opt.add_output(p, "output folder", folder=True, required=False)
    opt.add_raters(
        p,
        "readers compared inter-reader, comma-separated (e.g. A,B): their "
        "<film>.<ID>.landmarks.json files",
    )
    p.add_argument(
        "--repeat",
        metavar="ID,ID2",
        help="a reader's first and repeated reading (the second saved as reader ID2), e.g. "
        "A,A2: intra-reader reliability",
    )
    p.add_argument(
        "--measures",
        metavar="LIST",
        help="measures compared, comma-separated (default: ha_mm, hm_mm, hp_mm, ahr_pct, "
        "compression_pct, wedge_angle_deg, ka_deg, genant_grade, genant_visual, ivc, npec, "
        "cement_leakage)",
    )
    opt.add_timepoints(p)
    opt.add_landmarks(p, "landmark files (default: STUDY)")
    opt.add_jobs(p, "processes for the header scan")
    opt.add_accept_proposals(p)
    p.set_defaults(func=_cmd)
    set_examples(p, EXAMPLES["reliability"])
