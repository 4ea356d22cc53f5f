"""The ``kyphoimg`` command line.

Every command takes ``-o/--output``; the table format follows the extension (``.csv``,
``.parquet``, ``.xlsx``) and a data dictionary is written beside it. Bad inputs are
reported after everything else has been measured; the exit code is 0 only when nothing
failed (1: some input failed or lacks points, 2: usage error, found before any work).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import pandas as pd

from ._version import __version__
from .batch import RunOptions, run_study
from .dicom import SCAN_COLUMNS, scan, scan_to_csv
from .errors import ERROR_COLUMNS, KyphoimgError
from .export import TABLE_FORMATS, read_table, write_dictionary, write_table
from .landmarks import missing_points, read_landmark_files
from .longitudinal import DEFAULT_TIMEPOINTS, RecompressionRule, features_table
from .measure import images_table, measures_table
from .sr import export_sr_files, import_sr_files
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


def _report_errors(errors: pd.DataFrame, errors_output: Path | None) -> None:
    if errors_output is not None:  # written even when empty, so no stale report survives
        write_table(errors, errors_output, dictionary=False)
    if errors.empty:
        return
    print(f"\n{len(errors)} problem(s) in the inputs:", file=sys.stderr)
    for msg in errors["error"]:
        print(f"  - {msg}", file=sys.stderr)
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


def _measure(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list]:
    sets, errors = read_landmark_files(args.landmarks, progress=True)
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
    )
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
    return 1 if len(errors) else 0


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


def _features(args: argparse.Namespace, measures: pd.DataFrame) -> pd.DataFrame:
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
    return features_table(
        measures,
        order=args.timepoints.split(",") if args.timepoints else None,
        clinical=clinical,
        restoration=args.restoration,
        restoration_height=args.restoration_height,
        reduction_rate=args.reduction_rate,
        recompression=rule,
    )


def _cmd_features(args: argparse.Namespace) -> int:
    _check_outputs(args.output, args.measures_output, args.errors)
    measures, _, errors, sets = _measure(args)
    features = _features(args, measures)
    for path in write_table(features, args.output):
        print(f"wrote {path}")
    if args.measures_output:
        for path in write_table(measures, args.measures_output):
            print(f"wrote {path}")
    _summary(measures, sets)
    print(f"{len(features)} treated vertebra(e) in the features table")
    _report_errors(errors, args.errors)
    return 1 if len(errors) else 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    out = Path(args.output)
    result = run_demo(out, data=args.data)
    run = result["run"]
    s = run.summary
    print(
        f"kyphoimg demo: {s['films_measured']} synthetic films of {result['data']} measured "
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
    print(f"\ntables, films.csv, errors.csv, summary.json: {out / 'study'}")
    print(f"DICOM SR (TID 1500), one per film: {len(result['sr_files'])} in {out / 'sr'}")
    for name, paths in result["reports"].items():
        print(f"statistics report on the SIMULATED {name} cohort: {paths['html']}")
    problems = pd.concat([run.errors, result["sr_errors"]], ignore_index=True)
    _report_errors(problems, None)
    return 1 if len(problems) else 0


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


def _run_options(args: argparse.Namespace) -> RunOptions:
    """Options from a study TOML (when STUDY is a .toml file) overridden by the command line."""
    study = Path(args.study)
    values: dict[str, object] = {}
    if study.suffix.lower() == ".toml":
        import tomllib

        try:
            data = tomllib.loads(study.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise _UsageError(f"{study}: cannot read the study file ({exc})") from None
        run = data.get("run", data)
        known = set(RunOptions.__dataclass_fields__)
        unknown = sorted(k for k in run if k not in known and not isinstance(run[k], dict))
        if unknown:
            raise _UsageError(
                f"{study}: unknown key(s) {', '.join(unknown)} in [run]; "
                f"known: {', '.join(sorted(known))}"
            )
        base = study.parent
        for k, v in run.items():
            if k in ("dicom_dir", "output", "landmarks_dir", "clinical", "surgery"):
                values[k] = base / str(v)
            elif k in ("timepoints", "formats"):
                values[k] = tuple(v)
            elif k in known:
                values[k] = v
        if "dicom_dir" not in values:
            raise _UsageError(f"{study}: [run] needs dicom_dir")
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
    }
    values.update({k: v for k, v in cli.items() if v is not None})
    for flag in ("pseudonymise", "keep_identifiers"):
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
    if s["clinical_columns_dropped_as_identifiers"]:
        print(
            "clinical columns dropped as direct identifiers: "
            + ", ".join(s["clinical_columns_dropped_as_identifiers"])
            + " (use --keep-identifiers to keep them)"
        )
    if "key_table" in s:
        print(s["key_table"])
    print(f"outputs in {options.output}")
    _report_errors(result.errors, None)
    if not result.ok:
        print(f"errors listed in {Path(options.output) / 'errors.csv'}", file=sys.stderr)
    return 0 if result.ok else 1


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
        launch([str(p) for p in args.files], rater=args.rater, timepoints=timepoints)
    )


def _cmd_report(args: argparse.Namespace) -> int:
    from .stats import report

    written = report(args.study, args.output)
    for name, path in written.items():
        print(f"wrote {name}: {path}")
    return 0


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
        choices=("ha", "hm", "hp", "ahr", "max_loss"),
        default="ha",
        help="height followed for recompression (default ha)",
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
        "run resumes where it stopped. Exit code 0 only when nothing failed.",
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
        "report",
        aliases=["stats"],
        help="outcome statistics report from a study TOML (HTML + XLSX)",
        description="Run the outcome statistics a study TOML describes (Table 1, time points, "
        "correlation, logistic regression, ROC with DeLong CIs) and write one self-contained "
        "HTML report, an XLSX workbook and the figures. Every p-value names its test.",
    )
    p.add_argument("study", type=Path, metavar="STUDY", help="study .toml (see docs/statistics.md)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    p.set_defaults(func=_cmd_report)

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
        help="films + landmark files + clinical.csv (default: ./sample_dicom, else generated)",
    )
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except _UsageError as exc:
        print(f"kyphoimg: error: {exc}", file=sys.stderr)
        return 2
    except KyphoimgError as exc:
        print(f"kyphoimg: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
