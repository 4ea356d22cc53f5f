"""The ``kyphoimg`` command line.

Every command takes ``-o/--output``; the table format follows the extension (``.csv``,
``.parquet``, ``.xlsx``) and a data dictionary is written beside it. Bad inputs are
reported after everything else has been measured; the exit code is 0 only when nothing
failed (1: some input failed or lacks points, 2: usage error, found before any work or a
missing optional extra, 130: interrupted by Ctrl+C). Warnings (messages starting with
``warning:``) are listed but do not change the exit code. Every command's ``--help`` ends
with examples.
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pandas as pd

from ._version import __version__
from .assist import mark_proposed, propagate_study, propose_centres, read_centres_csv, refine
from .atomic import atomic_write_text
from .batch import (
    FILM_STATUSES,
    WARNING_PREFIX,
    RunOptions,
    RunResult,
    leave_out_proposals,
    run_study,
)
from .demo import DEMO_PATIENTS, demo_commands, run_demo
from .dicom import SCAN_COLUMNS, read_radiograph, scan, scan_to_csv
from .effort import IDLE_SECONDS, effort_summary, summarise_effort
from .errors import ERROR_COLUMNS, KyphoimgError
from .export import TABLE_FORMATS, read_table, write_dictionary, write_table
from .landmarks import (
    missing_points,
    pair_with_film,
    read_landmark_files,
    read_landmarks,
    write_landmarks,
)
from .longitudinal import (
    DEFAULT_TIMEPOINTS,
    RecompressionRule,
    features_table,
    patients_without_clinical,
)
from .measure import images_table, measures_table, with_point_source
from .pacs import add_pacs_command
from .sample import generate_cohort
from .sr import export_sr_files, import_sr_files
from .study import landmark_file_for
from .timepoints import assign_timepoints

__all__ = ["main"]


class _UsageError(KyphoimgError):
    """A command-line usage problem found before any work (exit code 2)."""


def _check_outputs(*paths: Path | None) -> None:
    for path in paths:
        if path is not None and path.suffix.lower() not in TABLE_FORMATS:
            raise _UsageError(
                f"{path}: unknown table format {path.suffix or '(none)'!r}; "
                f"use one of {', '.join(TABLE_FORMATS)}"
            )


def _is_warning(errors: pd.DataFrame) -> pd.Series:
    return errors["error"].astype(str).str.startswith(WARNING_PREFIX)


def _failed(errors: pd.DataFrame) -> bool:
    """Whether an errors table holds a failure (warnings aside): exit code 1."""
    return bool((~_is_warning(errors)).any())


def _report_errors(errors: pd.DataFrame, errors_output: Path | None, *, write: bool = True) -> None:
    if errors_output is not None and write:  # written even when empty: no stale report
        write_table(errors, errors_output, dictionary=False)
    if errors.empty:
        return
    warn = _is_warning(errors)
    problems, notes = errors.loc[~warn, "error"], errors.loc[warn, "error"]
    if len(problems):
        print(f"\n{len(problems)} problem(s) in the inputs:", file=sys.stderr)
        for msg in problems:
            print(f"  - {msg}", file=sys.stderr)
    if len(notes):
        print(f"\n{len(notes)} warning(s):", file=sys.stderr)
        for msg in notes:
            print(f"  - {str(msg).removeprefix(WARNING_PREFIX)}", file=sys.stderr)
    if errors_output is not None:
        print(f"problems written to {errors_output}", file=sys.stderr)


def _measure_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "landmarks",
        nargs="+",
        metavar="LANDMARKS",
        help="landmark files (*.landmarks.json, flat *.csv) or folders searched for them",
    )
    p.add_argument(
        "--rater",
        metavar="ID",
        help="keep only this reader's landmark sets (their rater field) when the folders hold "
        "several readers' files",
    )
    p.add_argument(
        "--genant-reference",
        choices=("adjacent", "own_posterior"),
        default="adjacent",
        help="reference height of the morphometric Genant grade (default: adjacent vertebrae)",
    )
    p.add_argument(
        "--normative",
        type=Path,
        metavar="TABLE",
        help="normative QM ratios (columns level, ratio, mean, sd) for qm_*_z and qm_deformity",
    )
    p.add_argument(
        "--sd-threshold", type=float, default=3.0, help="SD threshold of qm_deformity (default 3)"
    )
    p.add_argument(
        "--errors",
        type=Path,
        metavar="FILE",
        help="also write the problems (file, level, point, error) to this table",
    )
    p.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="do not count points missing from annotated vertebrae as failures "
        "(they are still NaN with a reason in the tables)",
    )
    _add_reference_option(p)
    _add_accept_proposals_option(p)


def _add_accept_proposals_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--accept-proposals",
        action="store_true",
        help="also measure vertebrae whose points kyphoimg proposed (assist) and no reader "
        "confirmed; each row says its source in point_source (default: leave them out and "
        "name them)",
    )


def _add_reference_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--skip-fractured-references",
        action="store_true",
        help="height ratios (AHR, MHR, PHR), compression and Genant grade: skip a fractured "
        "neighbour (index level, or Genant grade >= 1) for the next non-fractured vertebra; "
        "the levels used are named in ahr_reference_levels (default: adjacent vertebrae)",
    )


def _measure(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list]:
    sets, errors = read_landmark_files(args.landmarks, progress=True)
    if args.rater:
        sets = [ls for ls in sets if ls.rater == args.rater]
        if not sets:
            raise _UsageError(f"no landmark set of rater {args.rater!r} in the files given")
    sets, notes = leave_out_proposals(sets, accept=args.accept_proposals)
    errors = pd.concat([errors, notes], ignore_index=True)[list(ERROR_COLUMNS)]
    if not args.allow_incomplete:
        missing = missing_points(sets)
        if len(missing):
            errors = pd.concat([errors, missing], ignore_index=True)[list(ERROR_COLUMNS)]
    normative = read_table(args.normative) if args.normative else None
    measures = measures_table(
        sets,
        genant_reference=args.genant_reference,
        normative=normative,
        sd_threshold=args.sd_threshold,
        skip_fractured_references=args.skip_fractured_references,
    )
    measures = with_point_source(measures, sets)
    return measures, images_table(sets), errors, sets


def _cmd_measure(args: argparse.Namespace) -> int:
    _check_outputs(args.output, args.images_output, args.errors)
    measures, images, errors, sets = _measure(args)
    for path in write_table(measures, args.output):
        print(f"wrote {path}")
    if args.images_output:
        for path in write_table(images, args.images_output):
            print(f"wrote {path}")
    _summary(measures, sets)
    _report_errors(errors, args.errors)
    return 1 if _failed(errors) else 0


def _summary(measures: pd.DataFrame, sets: list) -> None:
    n_inc = int((measures["status"] == "incomplete").sum())
    print(
        f"measured {len(sets)} landmark set(s), {len(measures)} vertebra row(s)"
        + (f"; {n_inc} incomplete (see status/reason)" if n_inc else "")
    )
    det = measures["spacing_source"].isin(["detector", "unknown_origin"])
    if det.any():
        print(
            f"note: {int(det.sum())} row(s) have mm at the detector plane or of unknown origin "
            "(not corrected for magnification); see spacing_source"
        )


def _features(args: argparse.Namespace, measures: pd.DataFrame) -> tuple[pd.DataFrame, list]:
    """Build the features table, and a warning row naming patients the clinical table lacks."""
    clinical = read_table(args.clinical) if args.clinical else None
    rule = RecompressionRule(
        height_loss_pct=args.recompression_loss_pct,
        angle_increase_deg=None
        if args.recompression_angle_deg < 0
        else args.recompression_angle_deg,
        height=args.recompression_height,
        baseline=args.recompression_baseline,
        min_loss_mm=args.recompression_min_loss_mm,
    )
    features = features_table(
        measures,
        order=args.timepoints.split(",") if args.timepoints else None,
        clinical=clinical,
        restoration=args.restoration,
        restoration_height=args.restoration_height,
        reduction_rate=args.reduction_rate,
        recompression=rule,
    )
    missing = patients_without_clinical(features, clinical) if clinical is not None else []
    notes = [
        (
            str(args.clinical),
            None,
            None,
            f"{WARNING_PREFIX}{args.clinical}: no row for patient(s) {', '.join(missing)}, "
            "who have features: their clinical columns are empty; add them to the clinical "
            "table (patient_id as in the landmark files)",
        )
    ]
    return features, notes if missing else []


def _cmd_features(args: argparse.Namespace) -> int:
    _check_outputs(args.output, args.measures_output, args.errors)
    measures, _, errors, sets = _measure(args)
    raters = sorted({ls.rater for ls in sets if ls.rater})
    if len(raters) > 1:
        raise _UsageError(
            f"the landmark files are several readers' ({', '.join(raters)}): give --rater ID for "
            "the one whose measures make the features (compare readers with kyphoimg reliability)"
        )
    features, notes = _features(args, measures)
    features = with_point_source(features, sets)
    if notes:
        errors = pd.concat(
            [errors, pd.DataFrame(notes, columns=list(ERROR_COLUMNS))], ignore_index=True
        )
    for path in write_table(features, args.output):
        print(f"wrote {path}")
    if args.measures_output:
        for path in write_table(measures, args.measures_output):
            print(f"wrote {path}")
    _summary(measures, sets)
    print(f"{len(features)} treated vertebra(e) in the features table")
    _report_errors(errors, args.errors)
    return 1 if _failed(errors) else 0


#: Packages of the ``stats`` extra that ``report`` and ``demo`` need.
_STATS_EXTRA = ("statsmodels", "pingouin", "sklearn", "matplotlib")


def _missing_stats_extra(command: str) -> int | None:
    """Return 2 (after a one-line message) when the ``stats`` extra is not installed."""
    for name in _STATS_EXTRA:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return _stats_message(command, name)
    return None


def _stats_message(command: str, name: str | None) -> int:
    print(
        f"kyphoimg {command} needs the statistics extra ({name or 'a package'} is not "
        "installed): pip install 'kyphoimg[stats]'",
        file=sys.stderr,
    )
    return 2


def _cmd_demo(args: argparse.Namespace) -> int:
    missing = _missing_stats_extra("demo")
    if missing is not None:
        return missing
    out = Path(args.output)
    if args.data is None:
        print(f"$ kyphoimg sample -o {out / 'films'} --patients {args.patients}")
    for argv in demo_commands(out, args.data or out / "films"):
        print("$ kyphoimg " + " ".join(shlex.quote(a) for a in argv))
    result = run_demo(out, data=args.data, patients=args.patients)
    run = result["run"]
    s = run.summary
    print(
        f"\nkyphoimg demo: {s['films_measured']} synthetic films of {result['data']} measured "
        f"({s['vertebra_rows']} vertebra rows, {s['treated_vertebrae']} treated vertebrae)\n"
    )
    show = [
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
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(run.features[show].to_string(index=False, float_format=lambda x: f"{x:.1f}"))
    print(f"\ntables, films.csv, errors.csv, summary.json, study.toml: {out / 'study'}")
    print(f"statistics report of the run (HTML, XLSX, PDF): {result['report']['html']}")
    print(f"DICOM SR (TID 1500), one per film: {len(result['sr_files'])} in {out / 'sr'}")
    for name, paths in result["reports"].items():
        print(f"statistics report on the SIMULATED {name} cohort: {paths['html']}")
    problems = pd.concat([run.errors, result["sr_errors"]], ignore_index=True)
    _report_errors(problems, None)
    return 1 if _failed(problems) else 0


def _cmd_figure(args: argparse.Namespace) -> int:
    missing = _missing_stats_extra("figure")
    if missing is not None:
        return missing
    import matplotlib

    matplotlib.use("Agg")  # files only: no window
    from .figure import patient_figure, save_figure, study_patient_films

    paths = [Path(p) for p in args.inputs]
    if len(paths) == 1 and paths[0].is_dir():
        if not args.patient:
            raise _UsageError("a study folder needs --patient ID (whose films to draw)")
        films, titles = study_patient_films(paths[0], args.patient, rater=args.rater)
        if not films:
            raise _UsageError(f"{paths[0]}: no film of patient {args.patient!r}")
    else:
        films = []
        for film in paths:
            lm = landmark_file_for(film, args.rater)
            films.append((film, lm if lm.is_file() else None))
        titles = None
    fig = patient_figure(films, titles=titles, values=not args.no_values)
    written = save_figure(fig, args.output, dpi=args.dpi)
    print(f"wrote {written} ({len(films)} film(s))")
    return 0


def _cmd_assist(args: argparse.Namespace) -> int:
    if args.assist_command == "refine":
        lm = args.landmarks or landmark_file_for(args.film, args.rater)
        ls = read_landmarks(lm)
        rg = read_radiograph(args.film)
        ls = pair_with_film(
            ls,
            sop_instance_uid=rg.metadata.sop_instance_uid,
            rows=rg.shape[0],
            columns=rg.shape[1],
            calibration=rg.calibration,
            film=args.film,
        )
        result = refine(rg.display("full"), ls, max_shift=args.max_shift)
        out = mark_proposed(ls, result, keep_confirmed=False)
        write_landmarks(out, args.output)
        moved = sum(1 for v in result.shift.values() for d in v.values() if d > 0.5)
        print(f"wrote {args.output}: {moved} point(s) moved by more than 0.5 px, as proposals")
        return 0
    if args.assist_command == "centres":
        centres = read_centres_csv(args.centres)
        path, review = propose_centres(
            args.film, centres, rater=args.rater, scheme=args.scheme, facing=args.facing
        )
        print(f"wrote {path}: {len(centres)} vertebrae proposed, {review} point(s) to review")
        return 0
    timepoints = tuple(args.timepoints.split(",")) if args.timepoints else None
    written = propagate_study(
        args.study, rater=args.rater, patient=args.patient, timepoints=timepoints
    )
    for path, review in written:
        print(f"wrote {path} ({review} point(s) to review)")
    print(f"{len(written)} film(s) given proposed landmarks; open them with kyphoimg view")
    return 0


def _cmd_effort(args: argparse.Namespace) -> int:
    per_film = summarise_effort(args.study, idle_seconds=args.idle)
    if args.output is not None:
        print(f"wrote {atomic_write_text(args.output, per_film.to_csv(index=False))}")
    print(f"{len(per_film)} effort log(s) under {args.study}")
    print(effort_summary(per_film).to_string(index=False, float_format="%.1f"))
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    options = {} if args.seed is None else {"seed": args.seed}
    films = generate_cohort(args.output, args.patients, **options)
    print(
        f"wrote {len(films)} synthetic films of {args.patients} patient(s), their landmark "
        f"files and clinical.csv to {args.output}"
    )
    return 0


def _jobs(text: str) -> int:
    """Parse a ``--jobs`` value: a whole number of worker processes, at least 1."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes (1 or more)")
    return n


def _cmd_scan(args: argparse.Namespace) -> int:
    _check_outputs(args.output)

    if args.surgery is None and args.output.suffix.lower() == ".csv":
        # streamed to disk in chunks: flat memory for exports of any size
        counts, index = scan_to_csv(args.dicom_dir, args.output, jobs=args.jobs)
        for path in (args.output, write_dictionary(SCAN_COLUMNS, args.output)):
            print(f"wrote {path}")
        return _scan_summary(sum(counts.values()), counts, index)
    index = scan(args.dicom_dir, progress=True, jobs=args.jobs)
    if args.surgery is not None:
        index = assign_timepoints(
            index, read_table(args.surgery), post_window_days=args.post_window_days
        )
    for path in write_table(index, args.output):
        print(f"wrote {path}")
    counts = {str(k): int(v) for k, v in index["status"].value_counts().items()}
    return _scan_summary(len(index), counts, index)


def _scan_summary(n: int, counts: dict[str, int], index: pd.DataFrame) -> int:
    """Print the scan's counts, time-point flags and unreadable files; return the exit code."""
    print(
        f"scanned {n} file(s): {int(counts.get('ok', 0))} DICOM image(s), "
        f"{int(counts.get('not_dicom', 0))} not DICOM, {int(counts.get('error', 0))} unreadable"
    )
    if "timepoint_flag" in index:
        flagged = index["timepoint_flag"].fillna("").astype(str) != ""
        if flagged.any():
            print(f"{int(flagged.sum())} film(s) have a time-point flag to review (timepoint_flag)")
    bad = index[index["status"] == "error"]
    for _, row in bad.iterrows():
        print(f"  - {row['path']}: {row['reason']}", file=sys.stderr)
    return 1 if len(bad) else 0


# [run] keys of a study TOML: the command-line option names ("-" or "_" alike; STUDY is
# "study"), each with the RunOptions field it sets and how its value is read.
_TOML_KEYS: dict[str, tuple[str, str]] = {
    "study": ("dicom_dir", "path"),
    "output": ("output", "path"),
    "landmarks": ("landmarks_dir", "path"),
    "clinical": ("clinical", "path"),
    "surgery": ("surgery", "path"),
    "errors": ("errors", "path"),
    "timepoints": ("timepoints", "list"),
    "format": ("formats", "list"),
    "jobs": ("jobs", "jobs"),
    "scheduler": ("scheduler", "value"),
    "salt": ("salt", "value"),
    "rater": ("rater", "value"),
    "pseudonymise": ("pseudonymise", "value"),
    "keep_identifiers": ("keep_identifiers", "value"),
    "skip_fractured_references": ("skip_fractured_references", "value"),
    "no_resume": ("resume", "negated"),
    "resume": ("resume", "value"),
    "progress": ("progress", "value"),
}
# Keys of earlier releases (the RunOptions field names), still read, with a note.
_TOML_DEPRECATED = {"dicom_dir": "study", "landmarks_dir": "landmarks", "formats": "format"}


def _toml_value(kind: str, value: object, base: Path) -> object:
    if kind == "path":
        return base / str(value)
    if kind == "list":
        items = value.split(",") if isinstance(value, str) else value
        return tuple(str(v).strip() for v in cast(list, items))
    if kind == "jobs":
        try:
            return _jobs(str(value))
        except argparse.ArgumentTypeError as exc:
            raise _UsageError(f"jobs: {exc}") from None
    if kind == "negated":
        return not value
    return value


def _toml_run_table(study: Path) -> dict[str, object]:
    """Read the [run] table of a study TOML into RunOptions fields (paths beside the file)."""
    import tomllib

    try:
        data = tomllib.loads(study.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise _UsageError(f"{study}: cannot read the study file ({exc})") from None
    run = data.get("run", data)
    keys: dict[str, tuple[str, object]] = {}
    unknown = []
    for raw, value in run.items():
        if isinstance(value, dict):
            continue  # another table ([data], [outcome] ... of the report)
        key = raw.replace("-", "_")
        if key in _TOML_DEPRECATED:
            new = _TOML_DEPRECATED[key]
            print(
                f"kyphoimg: note: {study}: [run] key '{raw}' is deprecated: use '{new}' "
                f"(the option's name, as in --{new})",
                file=sys.stderr,
            )
            key = new
        if key not in _TOML_KEYS:
            unknown.append(raw)
        elif key in keys:
            raise _UsageError(f"{study}: [run] has both '{keys[key][0]}' and '{raw}'; keep '{key}'")
        else:
            keys[key] = (raw, value)
    if unknown:
        known = ", ".join(k.replace("_", "-") for k in _TOML_KEYS)
        raise _UsageError(
            f"{study}: unknown key(s) {', '.join(sorted(unknown))} in [run]; known: {known}"
        )
    if "study" not in keys:
        raise _UsageError(f"{study}: [run] needs study (the folder of films and landmark files)")
    values = {}
    for key, (_, value) in keys.items():
        name, kind = _TOML_KEYS[key]
        values[name] = _toml_value(kind, value, study.parent)
    return values


def _run_options(args: argparse.Namespace) -> RunOptions:
    """Options from a study TOML (when STUDY is a .toml file) overridden by the command line."""
    study = Path(args.study)
    values: dict[str, object] = {}
    if study.suffix.lower() == ".toml":
        values = _toml_run_table(study)
    else:
        values["dicom_dir"] = study
    cli = {
        "output": args.output,
        "landmarks_dir": args.landmarks,
        "clinical": args.clinical,
        "surgery": args.surgery,
        "timepoints": tuple(args.timepoints.split(",")) if args.timepoints else None,
        "formats": tuple(args.format.split(",")) if args.format else None,
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
    if "output" not in values:
        raise _UsageError("give -o/--output (or 'output' in the study file)")
    formats = cast(tuple[str, ...], values.get("formats", ("csv",)))
    bad = [f for f in formats if f".{f}" not in TABLE_FORMATS]
    if bad:
        raise _UsageError(f"unknown format(s) {', '.join(bad)}; use csv, parquet or xlsx")
    _check_outputs(cast(Path | None, values.get("errors")))
    return RunOptions(progress=True, **values)  # type: ignore[arg-type]


def _cmd_run(args: argparse.Namespace) -> int:
    options = _run_options(args)
    result = run_study(options)
    s = result.summary
    print(
        f"kyphoimg run ({s['executor']}): {s['dicom_films']} film(s), "
        f"{s['films_paired']} paired with landmarks, {s['films_measured']} measured "
        f"({s['films_from_cache']} from an earlier run), "
        f"{s['films_not_annotated']} not annotated; {s['vertebra_rows']} vertebra rows, "
        f"{s['treated_vertebrae']} treated vertebra(e); {s['seconds']} s"
    )
    _print_film_statuses(result, options)
    if s["clinical_columns_dropped_as_identifiers"]:
        print(
            "clinical columns dropped as direct identifiers: "
            + ", ".join(s["clinical_columns_dropped_as_identifiers"])
            + " (use --keep-identifiers to keep them)"
        )
    if "key_table" in s:
        print(s["key_table"])
    print(f"outputs in {options.output}")
    _report_errors(result.errors, options.errors, write=False)
    if not result.errors.empty:
        print(f"errors listed in {Path(options.output) / 'errors.csv'}", file=sys.stderr)
    return 0 if result.ok else 1


def _print_film_statuses(result: RunResult, options: RunOptions) -> None:
    """Films by status (films.csv) when not all were measured; how to open unannotated ones."""
    counts = result.summary["films_by_status"]
    if any(n for status, n in counts.items() if status != "measured"):
        parts = [f"{n} {status.replace('_', ' ')}" for status, n in counts.items() if n]
        print(f"films: {', '.join(parts)} (films.csv says why)")
    n = counts["not_annotated"]
    if n:
        command = f"kyphoimg view {shlex.quote(str(options.dicom_dir))}"
        if options.rater:
            command += f" --rater {options.rater}"
        if options.timepoints:
            command += f" --timepoints {shlex.quote(','.join(options.timepoints))}"
        print(f"{n} film(s) not annotated: to place their points, open the study with\n  {command}")
    s = result.summary
    if s.get("films_to_review"):
        print(
            f"{s['films_to_review']} film(s) hold points kyphoimg proposed that no reader has "
            f"confirmed: {s['vertebrae_unconfirmed_not_measured']} vertebra(e) left out (named "
            "in errors.csv); review them in kyphoimg view, or measure them unreviewed with "
            "--accept-proposals"
        )
    if s.get("vertebra_rows_from_proposals"):
        print(
            f"{s['vertebra_rows_from_proposals']} vertebra row(s) measured from proposals no "
            "reader confirmed (--accept-proposals; point_source says which)"
        )


def _cmd_sr(args: argparse.Namespace) -> int:

    if args.sr_command == "export":
        if not args.dicom:
            raise _UsageError("sr export needs --dicom DIR (the source films the SRs reference)")
        written, errors = export_sr_files(
            args.inputs, args.dicom, args.output, observer=args.observer
        )
    else:
        written, errors = import_sr_files(args.inputs, args.output)
    for path in written:
        print(f"wrote {path}")
    _report_errors(errors, None)
    return 1 if len(errors) else 0


def _cmd_view(args: argparse.Namespace) -> int:
    try:  # imported here only: the core never loads napari or Qt
        from napari_kyphoimg import launch
    except ImportError as exc:
        print(
            f"kyphoimg view needs the napari plugin ({exc}); install it with\n"
            "  pip install './plugins/napari-kyphoimg[pyqt6]'",
            file=sys.stderr,
        )
        return 2
    timepoints = tuple(args.timepoints.split(",")) if args.timepoints else None
    return int(
        launch(
            [str(p) for p in args.files],
            rater=args.rater,
            timepoints=timepoints,
            blind=args.blind,
            surgery=args.surgery,
            pacs_url=args.pacs_url,
            cache=args.cache,
            patients=args.patients,
            since=args.since,
        )
    )


def _cmd_report(args: argparse.Namespace) -> int:
    missing = _missing_stats_extra(args.command)
    if missing is not None:
        return missing
    try:
        from .stats import report
    except ImportError as exc:
        return _stats_message(args.command, exc.name)

    with warnings.catch_warnings(record=True) as caught:  # they are in the report too
        warnings.simplefilter("always")
        written = report(args.study, args.output)
    for name, path in written.items():
        print(f"wrote {name}: {path}")
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"kyphoimg {args.command}: warning (also in the report): {message}", file=sys.stderr)
    return 0


def _cmd_reliability(args: argparse.Namespace) -> int:
    missing = _missing_stats_extra(args.command)
    if missing is not None:
        return missing
    # The statistics extra is imported when a command needs it, so `kyphoimg run` and
    # `import kyphoimg` stay fast (scipy, pandas-heavy modules).
    from .agreement import format_summary, reliability_options, run_reliability

    def ids(text: str | None) -> tuple[str, ...] | None:
        return None if text is None else tuple(t.strip() for t in text.split(",") if t.strip())

    try:
        options = reliability_options(
            args.study,
            output=args.output,
            raters=ids(args.raters),
            repeat=ids(args.repeat),
            measures=ids(args.measures),
            timepoints=ids(args.timepoints),
            landmarks_dir=args.landmarks,
            jobs=args.jobs,
            progress=True,
            accept_proposals=args.accept_proposals,
        )
    except KyphoimgError as exc:  # options that cannot work: found before any work
        raise _UsageError(str(exc)) from None
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
    _report_errors(problems, None)
    return 0 if result.ok else 1


def _add_features_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--clinical", type=Path, metavar="FILE", help="clinical table joined on patient_id"
    )
    p.add_argument(
        "--timepoints",
        metavar="LIST",
        help="time points in order, comma-separated (default: "
        + ",".join(DEFAULT_TIMEPOINTS)
        + ")",
    )
    p.add_argument(
        "--restoration",
        choices=("reference", "relative"),
        default="reference",
        help="variant reported as height_restoration_pct (both are always exported)",
    )
    p.add_argument(
        "--restoration-height",
        choices=("ha", "hm", "hp"),
        default="ha",
        help="height followed by the restoration measures (default ha)",
    )
    p.add_argument(
        "--reduction-rate",
        choices=("restoration", "angle"),
        default="restoration",
        help="definition behind reduction_rate_pct (named in reduction_rate_method)",
    )
    p.add_argument(
        "--recompression-loss-pct",
        type=float,
        default=15.0,
        help="height loss (percent) that defines recompression (default 15)",
    )
    p.add_argument(
        "--recompression-angle-deg",
        type=float,
        default=10.0,
        help="KA increase (deg) that defines recompression (default 10; negative disables)",
    )
    p.add_argument(
        "--recompression-height",
        choices=("ahr", "ha", "hm", "hp", "max_loss"),
        default=None,
        help="height followed for recompression (default ahr: the anterior height ratio to "
        "the adjacent vertebrae, which cancels magnification differences between films; "
        "ha, hm, hp follow a body height in mm and are the default only with "
        "--recompression-min-loss-mm)",
    )
    p.add_argument(
        "--recompression-baseline",
        choices=("post", "pre"),
        default="post",
        help="film the loss is measured against (default post)",
    )
    p.add_argument(
        "--recompression-min-loss-mm",
        type=float,
        default=None,
        help="also require this absolute loss in mm (e.g. 4 with 20 %% for Black et al. 1999)",
    )
    p.add_argument(
        "--measures-output", type=Path, metavar="FILE", help="also write the measures table"
    )


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wrap one-paragraph descriptions; keep laid-out text (the examples) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


_EXIT_CODES = """exit codes:
  0    every film measured, or only films not annotated yet (nothing failed)
  1    some input failed or was refused (listed on stderr and in errors.csv)
  2    usage error, found before any work
  130  interrupted (Ctrl+C); run the same command again to resume
"""

#: Real invocations shown at the end of each command's --help (run from the project
#: folder, the sample_dicom paths work as printed).
_EXAMPLES: dict[str, tuple[str, ...]] = {
    "kyphoimg": (
        "kyphoimg run sample_dicom -o results",
        "kyphoimg measure sample_dicom -o measures.csv --images-output images.csv",
        "kyphoimg COMMAND --help",
    ),
    "measure": (
        "kyphoimg measure sample_dicom -o measures.csv --images-output images.csv",
        "kyphoimg measure sample_dicom/P002/pre.landmarks.json -o p002.xlsx --errors errors.csv",
        "kyphoimg measure sample_dicom -o measures.csv --skip-fractured-references",
    ),
    "features": (
        "kyphoimg features sample_dicom --clinical sample_dicom/clinical.csv -o features.csv",
        "kyphoimg features landmarks/ --timepoints pre,post,6m,last -o features.xlsx",
        "kyphoimg features sample_dicom -o f.csv --recompression-height ha --measures-output m.csv",
    ),
    "scan": (
        "kyphoimg scan sample_dicom -o index.csv",
        "kyphoimg scan exports/ -o index.csv --surgery surgery.csv",
        "kyphoimg scan /pacs/export -o index.csv --jobs 4",
    ),
    "run": (
        "kyphoimg run sample_dicom -o results",
        "kyphoimg run study/ -o results/ --clinical clinical.xlsx --jobs 4 --format csv,xlsx",
        'kyphoimg run study.toml        # [run] study = "study/", output = "results/", ...',
    ),
    "sr": (
        "kyphoimg sr export sample_dicom --dicom sample_dicom -o sr/",
        "kyphoimg sr import sr/ -o landmarks/",
    ),
    "export": (
        "kyphoimg sr export sample_dicom --dicom sample_dicom -o sr/",
        "kyphoimg sr export study/P001/pre.landmarks.json --dicom study/ -o sr/ --observer AB",
    ),
    "import": (
        "kyphoimg sr import sr/ -o landmarks/",
        "kyphoimg sr import reader1.sr.dcm reader2.sr.dcm -o landmarks/",
    ),
    "report": (
        "kyphoimg report analysis.toml -o report/",
        "kyphoimg report study.toml -o report/   # [data], [outcome], ...: docs/statistics.md",
    ),
    "reliability": (
        "kyphoimg reliability study/ --raters A,B -o reliability/",
        "kyphoimg reliability study/ --raters A,B --repeat A,A2 -o reliability/",
        'kyphoimg reliability study.toml   # [reliability] raters = ["A", "B"], output = ...',
    ),
    "view": (
        "kyphoimg view sample_dicom --rater AB   # a reading session: worklist, film by film",
        "kyphoimg view sample_dicom --rater B --blind   # a blinded re-read",
        "kyphoimg view sample_dicom/P001/pre.dcm sample_dicom/P001/post.dcm",
    ),
    "figure": (
        "kyphoimg figure sample_dicom --patient P002 -o /tmp/P002.png",
        "kyphoimg figure study/ --patient P014 --rater AB -o P014.svg",
        "kyphoimg figure study/P001/pre.dcm -o pre.png --no-values",
    ),
    "centres": (
        "kyphoimg assist centres study/P001/pre.dcm --rater AB --centres pre.centres.csv",
        "kyphoimg assist centres study/P001/pre.dcm --rater AB --centres c.csv --facing left",
    ),
    "effort": ("kyphoimg effort study/", "kyphoimg effort study/ -o effort.csv --idle 120"),
    "assist": (
        "kyphoimg assist centres study/P001/pre.dcm --rater AB --centres pre.centres.csv",
        "kyphoimg assist propagate study/ --rater AB",
        "kyphoimg assist refine study/P001/pre.dcm --rater AB -o pre.AB.landmarks.json",
    ),
    "refine": (
        "kyphoimg assist refine study/P001/pre.dcm --rater AB -o pre.AB.landmarks.json",
        "kyphoimg assist refine film.dcm --landmarks film.landmarks.json -o refined.json",
    ),
    "propagate": (
        "kyphoimg assist propagate study/ --rater AB",
        "kyphoimg assist propagate study/ --rater AB --patient P014",
    ),
    "sample": (
        "kyphoimg sample -o films/ --patients 40",
        "kyphoimg sample -o films/ --patients 10 --seed 7",
    ),
    "pacs": (
        "kyphoimg pacs find --study study.toml --from 2024-01-01 -o found.csv",
        "kyphoimg pacs get --study study.toml --studies found.csv -o films/",
    ),
    "demo": (
        "kyphoimg demo",
        "kyphoimg demo -o /tmp/kyphoimg-demo --data sample_dicom",
    ),
}
_EXAMPLES["stats"] = _EXAMPLES["report"]


def _add_examples(
    parser: argparse.ArgumentParser,
    sub: argparse._SubParsersAction,
    *actions: argparse._SubParsersAction,
) -> None:
    """End every command's --help with real invocations (and run's with its exit codes)."""
    commands = {"kyphoimg": parser, **sub.choices}
    for action in actions:
        commands.update({name: p for name, p in action.choices.items()})
    for name, p in commands.items():
        lines = "\n".join(f"  {line}" for line in _EXAMPLES[name])
        p.formatter_class = _HelpFormatter
        p.epilog = (_EXIT_CODES + "\n" if name == "run" else "") + f"examples:\n{lines}\n"


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``kyphoimg`` command."""
    parser = argparse.ArgumentParser(
        prog="kyphoimg",
        description="Radiograph measurements for kyphoplasty outcome research.",
    )
    parser.add_argument("--version", action="version", version=f"kyphoimg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "measure",
        help="measure landmark files: one row per image x vertebra",
        description="Measure heights, ratios, compression, Genant grade and angles "
        "from landmark files.",
    )
    _measure_args(p)
    p.add_argument(
        "-o", "--output", type=Path, required=True, help="measures table (.csv/.parquet/.xlsx)"
    )
    p.add_argument(
        "--images-output",
        type=Path,
        metavar="FILE",
        help="also write the per-image table (TK, TLK, LL; coronal Cobb angles)",
    )
    p.set_defaults(func=_cmd_measure)

    p = sub.add_parser(
        "features",
        help="longitudinal features: one row per treated vertebra",
        description="Measure landmark files of all time points and derive the features table "
        "(restoration, reduction angle, correction loss, recompression), joined to clinical data.",
    )
    _measure_args(p)
    p.add_argument(
        "-o", "--output", type=Path, required=True, help="features table (.csv/.parquet/.xlsx)"
    )
    _add_features_options(p)
    p.set_defaults(func=_cmd_features)

    p = sub.add_parser(
        "scan",
        help="index the DICOM files under a folder (headers only)",
        description="Index every file under DICOM_DIR from its header (pixels are not read): "
        "patient, UIDs, dates, modality, view, size, transfer syntax and calibration. Files "
        "that are not DICOM are listed with a reason. Exit code 1 when a DICOM file is unreadable.",
    )
    p.add_argument("dicom_dir", type=Path, metavar="DICOM_DIR", help="folder searched recursively")
    p.add_argument(
        "-o", "--output", type=Path, required=True, help="index table (.csv/.parquet/.xlsx)"
    )
    p.add_argument(
        "--surgery",
        type=Path,
        metavar="TABLE",
        help="table of patient_id, surgery_date: assign pre/post/last time points",
    )
    p.add_argument(
        "--post-window-days",
        type=int,
        default=14,
        help="days after surgery within which the first film is 'post' (default 14)",
    )
    p.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        metavar="N",
        help="worker processes (default 1); more help on large folders and network storage",
    )
    p.set_defaults(func=_cmd_scan)

    p = sub.add_parser(
        "run",
        help="run a whole study: scan, pair, measure, features, export",
        description="Run a study from a folder of DICOM films and landmark files (or a study "
        "TOML with a [run] table): scan, pair each film with its landmark file, assign time "
        "points, measure every film (in parallel), derive features, join the clinical table and "
        "export with data dictionaries, films.csv, errors.csv and summary.json. An interrupted "
        "run resumes where it stopped. films.csv gives each film a status ("
        + ", ".join(FILM_STATUSES)
        + ") and the reason. A study TOML's [run] keys are the option names (study, output, "
        "landmarks, format, errors, ...).",
    )
    p.add_argument("study", metavar="STUDY", help="study folder, or a study .toml file")
    p.add_argument("-o", "--output", type=Path, help="output folder")
    p.add_argument("--landmarks", type=Path, metavar="DIR", help="landmark files (default: STUDY)")
    p.add_argument(
        "--clinical", type=Path, metavar="FILE", help="clinical table joined on patient_id"
    )
    p.add_argument(
        "--surgery",
        type=Path,
        metavar="FILE",
        help="patient_id, surgery_date: time points for films whose landmark file has none",
    )
    p.add_argument("--timepoints", metavar="LIST", help="time points in order, comma-separated")
    p.add_argument(
        "--rater",
        metavar="ID",
        help="measure this reader's landmark files (<film>.<ID>.landmarks.json); "
        "default: the single-reader files (<film>.landmarks.json)",
    )
    p.add_argument("--format", metavar="LIST", help="table formats: csv,parquet,xlsx (default csv)")
    p.add_argument("--jobs", type=_jobs, metavar="N", help="worker processes (default 1)")
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
    p.add_argument(
        "--errors",
        type=Path,
        metavar="FILE",
        help="also write the problems (file, level, point, error) to this table",
    )
    _add_reference_option(p)
    _add_accept_proposals_option(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "sr",
        help="DICOM SR (TID 1500) export of landmarks and measures, and import back",
        description="Export each landmark file as a Comprehensive 3D SR / TID 1500 "
        "measurement report referencing its film (landmarks as SCOORD points, levels as "
        "finding sites, measures with UCUM units), or import such reports back to landmark "
        "files. docs/sr.md describes the layout and codes.",
    )
    sr_sub = p.add_subparsers(dest="sr_command", required=True, metavar="ACTION")
    q = sr_sub.add_parser("export", help="landmark files -> SR files")
    q.add_argument("inputs", nargs="+", metavar="LANDMARKS", help="landmark files or folders")
    q.add_argument(
        "--dicom", nargs="+", type=Path, metavar="DIR", help="source films (files or folders)"
    )
    q.add_argument("--observer", help="observer name (default: the landmark file's rater)")
    q.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    q.set_defaults(func=_cmd_sr)
    q = sr_sub.add_parser("import", help="SR files -> landmark files")
    q.add_argument("inputs", nargs="+", metavar="SR", help="SR files or folders")
    q.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    q.set_defaults(func=_cmd_sr)

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
    assist_sub = p.add_subparsers(dest="assist_command", required=True, metavar="ACTION")
    q = assist_sub.add_parser("refine", help="refine a film's landmarks to the image edges")
    q.add_argument("film", type=Path, metavar="FILM", help="the DICOM film")
    q.add_argument("-o", "--output", type=Path, required=True, help="landmark file to write")
    q.add_argument("--landmarks", type=Path, metavar="FILE", help="its landmark file")
    q.add_argument("--rater", metavar="ID", help="the reader whose landmark file is refined")
    q.add_argument("--max-shift", type=float, metavar="PX", help="largest move in pixels")
    q.set_defaults(func=_cmd_assist)
    q = assist_sub.add_parser(
        "propagate", help="carry landmarks to each patient's next film not started"
    )
    q.add_argument("study", type=Path, metavar="STUDY", help="the study folder")
    q.add_argument("--rater", metavar="ID", help="the reader (their files are read and written)")
    q.add_argument("--patient", metavar="ID", help="only this patient")
    q.add_argument("--timepoints", metavar="LIST", help="the study's time points, in order")
    q.set_defaults(func=_cmd_assist)
    q = assist_sub.add_parser("centres", help="propose every point from one click per vertebra")
    q.add_argument("film", type=Path, metavar="FILM", help="the DICOM film")
    q.add_argument(
        "--centres", type=Path, required=True, metavar="CSV", help="table level,row,col (pixels)"
    )
    q.add_argument("--rater", metavar="ID", help="the reader whose landmark file is written")
    q.add_argument("--scheme", choices=("6pt", "4pt", "ap4"), default="6pt", help="default 6pt")
    q.add_argument("--facing", choices=("right", "left"), help="anterior side (default: guessed)")
    q.set_defaults(func=_cmd_assist)
    p = sub.add_parser("effort", help="clicks and seconds per film per reader (effort logs)")
    p.add_argument("study", type=Path, metavar="STUDY", help="the study folder")
    p.add_argument("-o", "--output", type=Path, help="write one row per film and reader (CSV)")
    p.add_argument("--idle", type=float, default=IDLE_SECONDS, metavar="S", help="idle gap, s")
    p.set_defaults(func=_cmd_effort)

    # 'stats': the alias docs/statistics.md names; a parser of its own so that its usage and
    # errors say 'kyphoimg stats', but not listed among the commands.
    for name in ("report", "stats"):
        listed: dict[str, Any] = {
            "help": "outcome statistics report from a study TOML (HTML + XLSX)"
        }
        p = sub.add_parser(
            name,
            **(listed if name == "report" else {}),
            description=("Same as 'kyphoimg report'. " if name == "stats" else "")
            + "Run the outcome statistics a study TOML describes (Table 1, time points, "
            "correlation, logistic regression, ROC with DeLong CIs) and write one self-contained "
            "HTML report, an XLSX workbook and the figures. Every p-value names its test. Needs "
            "the statistics extra: pip install 'kyphoimg[stats]'.",
        )
        p.add_argument(
            "study", type=Path, metavar="STUDY", help="study .toml (see docs/statistics.md)"
        )
        p.add_argument("-o", "--output", type=Path, required=True, help="output folder")
        p.set_defaults(func=_cmd_report)

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
    p.add_argument("study", metavar="STUDY", help="study folder, or a study .toml file")
    p.add_argument("-o", "--output", type=Path, help="output folder")
    p.add_argument(
        "--raters",
        metavar="LIST",
        help="readers compared inter-reader, comma-separated (e.g. A,B): their "
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
    p.add_argument("--timepoints", metavar="LIST", help="the study's time points, in order")
    p.add_argument("--landmarks", type=Path, metavar="DIR", help="landmark files (default: STUDY)")
    p.add_argument("--jobs", type=_jobs, metavar="N", help="processes for the header scan")
    _add_accept_proposals_option(p)
    p.set_defaults(func=_cmd_reliability)

    p = sub.add_parser(
        "view",
        help="open films in napari with the kyphoimg plugin docked",
        description="Open a study folder in napari for one reader (a worklist of its films, "
        "one film at a time), or DICOM files and landmark files, with the Landmarks, "
        "Measurements and Calibrate widgets docked (needs plugins/napari-kyphoimg).",
    )
    p.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILES",
        help="one study folder (read film by film from its worklist), or DICOM files or "
        "landmark files",
    )
    p.add_argument(
        "--rater",
        metavar="ID",
        help="the reader: reads and writes only <film>.<ID>.landmarks.json",
    )
    p.add_argument("--timepoints", metavar="LIST", help="the study's time points, in order")
    p.add_argument(
        "--blind",
        action="store_true",
        help="blinded reading (reliability studies): films in a seeded random order, without "
        "patient or time point; the seed is kept in STUDY/.kyphoimg/<ID>.session.json",
    )
    p.add_argument(
        "--surgery",
        type=Path,
        metavar="FILE",
        help="patient_id, surgery_date (as scan --surgery): pre/post/last for films without one",
    )
    p.add_argument(
        "--pacs-url",
        metavar="URL",
        help="read the films a query of this DICOMweb root finds, fetched into --cache "
        "(credentials from KYPHOIMG_PACS_USER/KYPHOIMG_PACS_PASSWORD, netrc or keyring)",
    )
    p.add_argument("--cache", type=Path, metavar="DIR", help="a PACS session's local cache")
    p.add_argument("--patients", type=Path, metavar="FILE", help="a PACS session's patient list")
    p.add_argument("--since", metavar="DATE", help="a PACS session's first study date")
    p.set_defaults(func=_cmd_view)

    p = sub.add_parser(
        "demo",
        help="run the whole chain on the synthetic sample cohort",
        description="Run the whole chain on the synthetic sample cohort (sample_dicom/, or a "
        "freshly generated copy): study run with measures, features and exports, a DICOM SR per "
        "film, and statistics reports reproducing the analyses of both seed studies on "
        "simulated cohorts (labelled simulated).",
    )
    p.add_argument("-o", "--output", type=Path, default=Path("demo-output"), help="output folder")
    p.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="films + landmark files + clinical.csv (default: a synthetic cohort generated "
        "into OUTPUT/films)",
    )
    p.add_argument(
        "--patients",
        type=_jobs,
        default=DEMO_PATIENTS,
        metavar="N",
        help=f"patients of the generated cohort (default {DEMO_PATIENTS})",
    )
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser(
        "figure",
        help="draw films with their landmarks, endplates and measures (PNG/SVG, for papers)",
        description="Draw one or more films (side by side) as displayed, with the landmarks, "
        "endplate and height lines, and beside each vertebra its heights and wedge angle (KA "
        "on index levels, with its endplates extended). Give films, or a study folder and "
        "--patient for that patient's films in time order. PNG at --dpi, or SVG/PDF.",
    )
    p.add_argument("inputs", nargs="+", metavar="FILM|STUDY", help="DICOM films, or one study")
    p.add_argument("-o", "--output", type=Path, required=True, help="figure file (.png/.svg/.pdf)")
    p.add_argument("--patient", metavar="ID", help="with a study folder: whose films to draw")
    p.add_argument("--rater", metavar="ID", help="the reader whose landmark files are drawn")
    p.add_argument("--dpi", type=_jobs, default=300, help="resolution of PNG output (300)")
    p.add_argument("--no-values", action="store_true", help="lines and points only")
    p.set_defaults(func=_cmd_figure)

    p = sub.add_parser(
        "sample",
        help="write a synthetic cohort: DICOM films, landmark files, clinical.csv",
        description="Write a synthetic cohort to try kyphoimg without patient data: per "
        "patient, lateral DX/CR films at pre, post and last follow-up with their ground-truth "
        "landmark files, and a clinical table. The first four patients are sample_dicom/'s; "
        "the rest are drawn from the seed.",
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    p.add_argument("--patients", type=_jobs, default=4, metavar="N", help="patients (default 4)")
    p.add_argument("--seed", type=int, default=None, help="cohort seed (default: sample_dicom's)")
    p.set_defaults(func=_cmd_sample)
    add_pacs_command(sub)
    _add_examples(parser, sub, sr_sub, assist_sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        resume = "; run the same command again to resume" if args.command == "run" else ""
        print(f"kyphoimg: interrupted{resume}", file=sys.stderr)
        return 130
    except _UsageError as exc:
        print(f"kyphoimg: error: {exc}", file=sys.stderr)
        return 2
    except KyphoimgError as exc:
        print(f"kyphoimg: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
