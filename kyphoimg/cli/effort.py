"""``kyphoimg effort``: clicks and active seconds per film per reader, from the effort logs."""

from __future__ import annotations

import argparse

from ..atomic import atomic_write_text
from ..effort import IDLE_SECONDS, effort_summary, summarise_effort
from . import _options as opt
from ._common import set_examples

__all__ = ["EXAMPLES", "add_command"]

EXAMPLES = {
    "effort": ("kyphoimg effort study/", "kyphoimg effort study/ -o effort.csv --idle 120"),
}


def _cmd(args: argparse.Namespace) -> int:
    per_film = summarise_effort(args.study, idle_seconds=args.idle)
    if args.output is not None:
        print(f"wrote {atomic_write_text(args.output, per_film.to_csv(index=False))}")
    if per_film.empty:
        print(
            f"no effort logs under {args.study}: a reading session (kyphoimg view "
            f"{args.study} --rater ID) writes <film>.<ID>.effort.jsonl beside the reader's files"
        )
        return 0
    print(f"{len(per_film)} effort log(s) under {args.study}")
    print(effort_summary(per_film).to_string(index=False, float_format="%.1f"))
    return 0


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``effort`` to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``kyphoimg``.
    """
    p = sub.add_parser(
        "effort",
        help="clicks and seconds per film per reader (reading-effort logs)",
        description="Summarise the reading-effort logs (<film>.<ID>.effort.jsonl) a reading "
        "session writes beside the reader's landmark files: clicks, points proposed, confirmed "
        "unchanged and moved, and active seconds per film and reader (gaps longer than --idle "
        "seconds do not count), with the median and IQR per reader.",
    )
    p.add_argument("study", type=opt.existing_path, metavar="STUDY", help="the study folder")
    opt.add_output(p, "write one row per film and reader (CSV)", required=False)
    p.add_argument(
        "--idle",
        type=opt.non_negative_float,
        default=IDLE_SECONDS,
        metavar="S",
        help=f"longest gap counted as active time, seconds (default {IDLE_SECONDS:g})",
    )
    p.set_defaults(func=_cmd)
    set_examples(p, EXAMPLES["effort"])
