"""``kyphoimg view``: open films in napari with the kyphoimg plugin docked."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..studyfile import read_study_file, study_file_of
from . import _options as opt
from ._common import set_examples

__all__ = ["EXAMPLES", "add_command"]

EXAMPLES = {
    "view": (
        "kyphoimg view sample_dicom --rater AB   # a reading session: worklist, film by film",
        "kyphoimg view sample_dicom --rater B --blind   # a blinded re-read",
        "kyphoimg view study.toml --rater AB   # [run] study, landmarks, timepoints; [view]",
    ),
}


def _study_file(files: list[Path]) -> Path | None:
    """Return the study file given: a ``.toml`` file, or the ``study.toml`` of the folder."""
    tomls = [f for f in files if f.suffix.lower() == ".toml"]
    if tomls and len(files) > 1:
        raise UsageError(f"{tomls[0]}: give a study file alone, without other files")
    return study_file_of(files[0]) if len(files) == 1 else None


def _launch_arguments(args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    """Return launch()'s paths and keywords: the study file's values, then the command line.

    The study file (``STUDY`` as a ``.toml``, or ``STUDY/study.toml``) gives the folder
    (``[run] study``, default the file's folder), ``[run] landmarks``, ``timepoints`` and
    ``surgery``, ``[view]``'s own keys, and ``[pacs] url`` when a cache folder is given
    (``[view] cache`` or ``--cache``): a reading session on the PACS.
    """
    files = [Path(p) for p in args.files]
    values: dict[str, Any] = {"blind": False}
    file = _study_file(files)
    if file is not None:
        sf = read_study_file(file)
        for note in sf.notes:
            print(f"kyphoimg: note: {note}", file=sys.stderr)
        run, view = sf.table("run"), sf.table("view")
        files = [run.get("study", file.parent)]
        values |= {
            "landmarks_dir": run.get("landmarks"),
            "timepoints": run.get("timepoints"),
            "surgery": run.get("surgery"),
            "blind": bool(view.get("blind", False)),
            "cache": view.get("cache"),
            "patients": view.get("patients"),
            "since": view.get("since"),
        }
        if args.cache is not None or view.get("cache") is not None:
            values["pacs_url"] = sf.table("pacs").get("url")
    given = {
        "rater": args.rater,
        "timepoints": opt.ids(args.timepoints),
        "landmarks_dir": args.landmarks,
        "surgery": args.surgery,
        "pacs_url": args.pacs_url,
        "cache": args.cache,
        "patients": args.patient_list,
        "since": args.since,
    }
    values |= {k: v for k, v in given.items() if v is not None}
    if args.blind:
        values["blind"] = True
    defaults = ("rater", "timepoints", "surgery", "pacs_url", "cache", "patients", "since")
    values = {k: values.get(k) for k in defaults} | values
    if values["pacs_url"] and values["cache"] is None:
        raise UsageError("--pacs-url needs --cache DIR: the local folder films are fetched into")
    return [str(p) for p in files], values


def _cmd(args: argparse.Namespace) -> int:
    paths, values = _launch_arguments(args)
    try:  # imported here only: the core never loads napari or Qt
        from napari_kyphoimg import launch
    except ImportError as exc:
        print(
            f"kyphoimg view needs the napari plugin ({exc}); install it with\n"
            "  pip install './plugins/napari-kyphoimg[pyqt6]'",
            file=sys.stderr,
        )
        return 2
    return int(launch(paths, **values))


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``view`` to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``kyphoimg``.
    """
    p = sub.add_parser(
        "view",
        help="open films in napari with the kyphoimg plugin docked",
        description="Open a study folder in napari for one reader (a worklist of its films, "
        "one film at a time), or DICOM files and landmark files, with the Landmarks, "
        "Measurements and Calibrate widgets docked (needs plugins/napari-kyphoimg). A study "
        "file (STUDY.toml, or STUDY/study.toml) gives the folder, landmarks folder, time "
        "points and surgery table ([run]), blind, cache, patients, since ([view]) and, with "
        "a cache folder, the PACS url ([pacs]); the command line wins.",
    )
    p.add_argument(
        "files",
        nargs="*",
        type=opt.existing_path,
        metavar="FILES",
        help="one study folder (read film by film from its worklist; its study.toml, if "
        "any, is read), a study .toml file, or DICOM files or landmark files",
    )
    opt.add_rater(p, "the reader: reads and writes only <film>.<ID>.landmarks.json")
    opt.add_timepoints(p)
    opt.add_landmarks(p, "the study's landmark files, when not beside the films")
    p.add_argument(
        "--blind",
        action="store_true",
        help="blinded reading (reliability studies): films in a seeded random order, without "
        "patient or time point; the seed is kept in STUDY/.kyphoimg/<ID>.session.json",
    )
    opt.add_surgery(
        p, "patient_id, surgery_date (as scan --surgery): pre/post/last for films without one"
    )
    g = p.add_argument_group(
        "a reading session on the PACS (credentials: KYPHOIMG_PACS_USER/_PASSWORD, netrc, keyring)"
    )
    g.add_argument(
        "--pacs-url",
        metavar="URL",
        help="DICOMweb root of the PACS: the worklist comes from a query, films are fetched "
        "on demand (the next one ahead) into --cache",
    )
    g.add_argument(
        "--cache",
        type=opt.output_folder,
        metavar="DIR",
        help="with --pacs-url: the local study folder films are fetched into; the reader's "
        "landmark files are written beside them",
    )
    opt.add_patient_list(g, "with --pacs-url: patient IDs, one a line")
    g.add_argument("--since", metavar="DATE", help="with --pacs-url: first study date, YYYY-MM-DD")
    p.set_defaults(func=_cmd)
    set_examples(p, EXAMPLES["view"])
