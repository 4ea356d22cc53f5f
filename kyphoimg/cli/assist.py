"""``kyphoimg assist refine|propagate|centres``: proposed landmarks (classical image processing)."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from typing import Any

from ..assist import mark_proposed, propagate_study, propose_centres, read_centres_csv, refine
from ..errors import KyphoimgWarning
from ..landmarks import file_sha256, save_reading
from ..study import landmark_file_for, open_worklist, read_paired_film
from . import _options as opt
from ._common import set_examples

__all__ = ["EXAMPLES", "add_command"]

EXAMPLES = {
    "assist": (
        "kyphoimg assist centres study/P001/pre.dcm --rater AB --centres pre.centres.csv",
        "kyphoimg assist propagate study/ --rater AB",
        "kyphoimg assist refine study/P001/pre.dcm --rater AB -o pre.AB.landmarks.json",
    ),
    "refine": (
        "kyphoimg assist refine study/P001/pre.dcm --rater AB -o pre.AB.landmarks.json",
        "kyphoimg assist refine film.dcm --landmarks film.landmarks.json -o refined.json",
    ),
    "centres": (
        "kyphoimg assist centres study/P001/pre.dcm --rater AB --centres pre.centres.csv",
        "kyphoimg assist centres study/P001/pre.dcm --rater AB --centres c.csv --facing left",
    ),
    "propagate": (
        "kyphoimg assist propagate study/ --rater AB",
        "kyphoimg assist propagate study/ --rater AB --patient P014",
    ),
}


def _kept_apart(call: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Run ``call``; return its result and the proposals it had to write beside a file."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", KyphoimgWarning)
        result = call()
    beside = [str(w.message) for w in caught if issubclass(w.category, KyphoimgWarning)]
    for w in caught:
        if not issubclass(w.category, KyphoimgWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for text in beside:
        print(f"not written over a reading: {text}", file=sys.stderr)
    return result, beside


def _refine(args: argparse.Namespace) -> int:
    lm = args.landmarks or landmark_file_for(args.film, args.rater)
    loaded = file_sha256(args.output)
    rg, ls = read_paired_film(args.film, lm)
    result = refine(rg.display("full"), ls, max_shift=args.max_shift)
    out = mark_proposed(ls, result, keep_confirmed=False)
    outcome = save_reading(out, args.output, loaded_sha256=loaded)
    moved = sum(1 for v in result.shift.values() for d in v.values() if d > 0.5)
    print(f"wrote {outcome.path}: {moved} point(s) moved by more than 0.5 px, as proposals")
    if outcome.conflict:
        print(f"not written over a reading: {outcome.conflict}", file=sys.stderr)
        return 1
    return 0


def _propagate(args: argparse.Namespace) -> int:
    written, beside = _kept_apart(
        lambda: propagate_study(
            args.study, rater=args.rater, patient=args.patient, timepoints=opt.ids(args.timepoints)
        )
    )
    for path, review in written:
        print(f"wrote {path} ({review} point(s) to review)")
    print(f"{len(written)} film(s) given proposed landmarks; open them with kyphoimg view")
    if not written:
        print(_why_nothing_to_propagate(args), file=sys.stderr)
    if beside:
        print(
            f"{len(beside)} film(s) were started by a reader meanwhile: their files were kept "
            "and the proposals written beside them",
            file=sys.stderr,
        )
    return 1 if beside else 0


def _why_nothing_to_propagate(args: argparse.Namespace) -> str:
    """Say why no film was given a proposal: the counts of this reader's films."""
    wl = open_worklist(args.study, rater=args.rater, timepoints=opt.ids(args.timepoints))
    counts = {k: v for k, v in wl.counts().items() if v}
    said = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in counts.items())
    who = f"rater {args.rater}" if args.rater else "the single reader"
    text = (
        f"nothing to propagate for {who} ({said}): a film is given proposals only when an "
        "earlier film of the patient is complete and it is not started"
    )
    if counts.get("invalid"):
        rater = f" --rater {args.rater}" if args.rater else ""
        text += (
            f"; {counts['invalid']} film(s) have an invalid landmark file: "
            f"kyphoimg run {args.study} -o OUT{rater} says why in OUT/films.csv"
        )
    return text


def _centres(args: argparse.Namespace) -> int:
    centres = read_centres_csv(args.centres)
    (path, review), beside = _kept_apart(
        lambda: propose_centres(
            args.film, centres, rater=args.rater, scheme=args.scheme, facing=args.facing
        )
    )
    print(f"wrote {path}: {len(centres)} vertebrae proposed, {review} point(s) to review")
    return 1 if beside else 0


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``assist`` (``refine``, ``propagate``) to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``kyphoimg``.
    """
    p = sub.add_parser(
        "assist",
        help="propose landmarks: refine placed points to the edges, or carry them to the next film",
        description="Assisted placement, classical image processing only. 'refine' moves a "
        "film's points onto the endplate and wall edges near them (bounded by the vertebra's "
        "size, a confidence per point) and writes the result as proposals. 'propagate' carries "
        "each patient's landmarks from a film to the next film of that patient that this "
        "reader has not started (global alignment, each vertebra, then refine); the treated "
        "level is flagged for review. Proposed points are recorded in the landmark file "
        "('assist') until the reader confirms or moves them.",
    )
    set_examples(p, EXAMPLES["assist"])
    actions = p.add_subparsers(dest="assist_command", required=True, metavar="ACTION")
    q = actions.add_parser("refine", help="refine a film's landmarks to the image edges")
    q.add_argument("film", type=opt.existing_path, metavar="FILM", help="the DICOM film")
    opt.add_output(q, "landmark file to write")
    opt.add_landmarks(q, "its landmark file", metavar="FILE")
    opt.add_rater(q, "the reader whose landmark file is refined")
    q.add_argument(
        "--max-shift", type=opt.non_negative_float, metavar="PX", help="largest move in pixels"
    )
    q.set_defaults(func=_refine, name="assist refine")
    set_examples(q, EXAMPLES["refine"])
    q = actions.add_parser(
        "propagate", help="carry landmarks to each patient's next film not started"
    )
    q.add_argument("study", type=opt.existing_path, metavar="STUDY", help="the study folder")
    opt.add_rater(q, "the reader (their files are read and written)")
    opt.add_patient(q, "only this patient")
    opt.add_timepoints(q)
    q.set_defaults(func=_propagate, name="assist propagate")
    set_examples(q, EXAMPLES["propagate"])
    q = actions.add_parser("centres", help="propose every point from one click per vertebra")
    q.add_argument("film", type=opt.existing_path, metavar="FILM", help="the DICOM film")
    q.add_argument(
        "--centres",
        type=opt.existing_path,
        required=True,
        metavar="CSV",
        help="table level,row,col: the centre of each vertebral body (pixels)",
    )
    opt.add_rater(q, "the reader whose landmark file is written")
    q.add_argument("--scheme", choices=("6pt", "4pt", "ap4"), default="6pt", help="default 6pt")
    q.add_argument("--facing", choices=("right", "left"), help="anterior side (default: guessed)")
    q.set_defaults(func=_centres, name="assist centres")
    set_examples(q, EXAMPLES["centres"])
