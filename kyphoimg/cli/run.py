"""``kyphoimg run``: a whole study (scan, pair, measure, features, export) into one folder."""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import sys
from pathlib import Path
from typing import Any, cast

from ..batch import FILM_STATUSES, RunOptions, RunResult, run_study
from ..errors import UsageError
from ..export import TABLE_FORMATS
from ..studyfile import read_study_file, study_file_of
from . import _options as opt
from ._common import (
    EXIT_CODES,
    check_outputs,
    is_run_folder,
    refuse_foreign_files,
    report_errors,
    set_examples,
)
from .features import feature_variants
from .measure import measure_variants

__all__ = ["EXAMPLES", "add_command"]

EXAMPLES = {
    "run": (
        "kyphoimg run sample_dicom -o results",
        "kyphoimg run study/ -o results/ --clinical clinical.xlsx --jobs 4 --format csv,xlsx",
        'kyphoimg run study.toml        # [run] study = "study/", output = "results/", ...',
    ),
}

#: [run] keys whose RunOptions field has another name.
_RUN_FIELDS = {"study": "dicom_dir", "landmarks": "landmarks_dir", "format": "formats"}


def _toml_run_table(study: Path) -> dict[str, object]:
    """Read the [run] table of a study file into RunOptions fields (paths beside the file)."""
    sf = read_study_file(study)
    for note in sf.notes:
        print(f"kyphoimg: note: {note}", file=sys.stderr)
    values: dict[str, object] = {}
    for key, value in sf.table("run").items():
        if key == "no_resume":
            values["resume"] = not value
        else:
            values[_RUN_FIELDS.get(key, key)] = value
    values.setdefault("dicom_dir", study.parent)  # the folder the file is in
    return values


def _variants(args: argparse.Namespace, study: Path | None) -> dict[str, object]:
    """Measure and feature variants: the study file's [measures], [features], then the flags."""
    tables: dict[str, Any] = {"measures": {}, "features": {}}
    if study is not None:
        sf = read_study_file(study)
        tables = {name: dict(sf.table(name)) for name in tables}
    given = {k: v for k, v in vars(args).items() if v is not None and v is not False}
    measures = {**tables["measures"], **given}
    values: dict[str, object] = {
        **measure_variants(measures),
        **feature_variants({**tables["features"], **given}),
    }
    if measures.get("normative") is not None:
        values["normative"] = measures["normative"]
    return values


def _run_options(args: argparse.Namespace) -> RunOptions:
    """Options from the study file (STUDY.toml, or STUDY/study.toml), then the command line."""
    study = study_file_of(args.study)
    values: dict[str, object] = {"dicom_dir": Path(args.study)}
    if study is not None:
        if study.parent == Path(args.study):
            print(f"kyphoimg: reading the study file {study}", file=sys.stderr)
        values = _toml_run_table(study)
    cli = {
        "output": args.output,
        "landmarks_dir": args.landmarks,
        "clinical": args.clinical,
        "surgery": args.surgery,
        "timepoints": opt.ids(args.timepoints),
        "formats": opt.ids(args.format),
        "jobs": args.jobs,
        "scheduler": args.scheduler,
        "salt": args.salt,
        "rater": args.rater,
        "errors": args.errors,
    }
    values.update({k: v for k, v in cli.items() if v is not None})
    for flag in (
        "pseudonymise",
        "keep_identifiers",
        "skip_fractured_references",
        "accept_proposals",
    ):
        if getattr(args, flag):
            values[flag] = True
    if args.no_resume:
        values["resume"] = False
    values.update(_variants(args, study))
    if "output" not in values:
        raise UsageError("give -o/--output (or 'output' in the study file)")
    formats = cast(tuple[str, ...], values.get("formats", ("csv",)))
    bad = [f for f in formats if f".{f}" not in TABLE_FORMATS]
    if bad:
        raise UsageError(f"--format {','.join(bad)}: unknown format; use csv, parquet or xlsx")
    check_outputs(errors=cast(Path | None, values.get("errors")), overwrite=args.overwrite)
    out = Path(cast(Path, values["output"]))
    if not is_run_folder(out):  # a run's own folder is rewritten (resumed); not other files
        refuse_foreign_files(out, "the run", overwrite=args.overwrite)
    return RunOptions(progress=True, **values)  # type: ignore[arg-type]


def _cmd(args: argparse.Namespace) -> int:
    options = _run_options(args)
    if options.scheduler and importlib.util.find_spec("distributed") is None:
        raise ModuleNotFoundError("dask.distributed is not installed", name="distributed")
    result = run_study(options)
    s = result.summary
    counts = s.films_by_status  # every film count comes from films.csv
    print(
        f"kyphoimg run ({s.executor}): {counts.total} film(s) in films.csv, "
        f"{counts.measured} measured ({s.films_from_cache} from an earlier run), "
        f"{counts.not_annotated} not annotated; {s.vertebra_rows} vertebra rows, "
        f"{s.treated_vertebrae} treated vertebra(e); {s.seconds} s"
    )
    _print_film_statuses(result, options)
    if s.clinical_columns_dropped_as_identifiers:
        print(
            "clinical columns dropped as direct identifiers: "
            + ", ".join(s.clinical_columns_dropped_as_identifiers)
            + " (use --keep-identifiers to keep them)"
        )
    if s.key_table is not None:
        print(s.key_table)
    print(f"outputs in {options.output}")
    report_errors(result.errors, options.errors, write=False)
    if not result.errors.empty:
        print(f"errors listed in {Path(options.output) / 'errors.csv'}", file=sys.stderr)
    return 0 if result.ok else 1


def _print_film_statuses(result: RunResult, options: RunOptions) -> None:
    """Films by status (films.csv) when not all were measured; how to open unannotated ones."""
    s = result.summary
    counts = s.films_by_status
    if counts.total != counts.measured:
        parts = [f"{n} {status.replace('_', ' ')}" for status, n in counts.items() if n]
        print(f"films: {', '.join(parts)} (films.csv says why)")
    n = counts.not_annotated
    if n:
        command = f"kyphoimg view {shlex.quote(str(options.dicom_dir))}"
        if options.rater:
            command += f" --rater {options.rater}"
        if options.timepoints:
            command += f" --timepoints {shlex.quote(','.join(options.timepoints))}"
        print(f"{n} film(s) not annotated: to place their points, open the study with\n  {command}")
    if s.films_to_review:
        print(
            f"{s.films_to_review} film(s) hold points kyphoimg proposed that no reader has "
            f"confirmed: {s.vertebrae_unconfirmed_not_measured} vertebra(e) left out (named "
            "in errors.csv); review them in kyphoimg view, or measure them unreviewed with "
            "--accept-proposals"
        )
    if s.vertebra_rows_from_proposals:
        print(
            f"{s.vertebra_rows_from_proposals} vertebra row(s) measured from proposals no "
            "reader confirmed (--accept-proposals; point_source says which)"
        )


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``run`` to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``kyphoimg``.
    """
    p = sub.add_parser(
        "run",
        help="run a whole study: scan, pair, measure, features, export",
        description="Run a study from a folder of DICOM films and landmark files (or a study "
        "TOML with a [run] table): scan, pair each film with its landmark file, assign time "
        "points, measure every film (in parallel), derive features, join the clinical table and "
        "export with data dictionaries, films.csv, errors.csv and summary.json. An interrupted "
        "run resumes where it stopped. films.csv gives each film a status ("
        + ", ".join(FILM_STATUSES)
        + ") and the reason. A study TOML's [run] keys are the option names (study: default "
        "the file's folder, output, "
        "landmarks, format, errors, ...).",
    )
    p.add_argument(
        "study",
        type=opt.existing_path,
        metavar="STUDY",
        help="study folder (its study.toml, if it has one, is read), or a study .toml file",
    )
    opt.add_output(p, "output folder", folder=True, required=False)
    opt.add_landmarks(p, "landmark files (default: STUDY)")
    opt.add_clinical(p)
    opt.add_surgery(
        p, "patient_id, surgery_date: time points for films whose landmark file has none"
    )
    opt.add_timepoints(p)
    opt.add_rater(
        p,
        "measure this reader's landmark files (<film>.<ID>.landmarks.json); "
        "default: the single-reader files (<film>.landmarks.json)",
    )
    opt.add_format(p, "table formats: csv,parquet,xlsx (default csv)")
    opt.add_jobs(p, "worker processes (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed scheduler")
    p.add_argument(
        "--pseudonymise",
        action="store_true",
        help="replace patient ids by salted-hash keys; the key table is written to OUTPUT/keys/",
    )
    p.add_argument("--salt", help="salt for the keys (default: random, stored with the key table)")
    p.add_argument(
        "--keep-identifiers",
        action="store_true",
        help="keep clinical columns that name direct identifiers (names, birth dates, addresses)",
    )
    p.add_argument("--no-resume", action="store_true", help="recompute every film")
    opt.add_errors(p)
    opt.add_measure_variants(p)
    opt.add_feature_variants(p)
    opt.add_overwrite(p)
    p.set_defaults(func=_cmd)
    set_examples(p, EXAMPLES["run"], EXIT_CODES)
