"""One-call study report: HTML (and PDF), an XLSX workbook, figures and ``summary.json``.

``report(study, output_dir)`` takes a study TOML, a mapping of the same structure, or the
output folder of ``kyphoimg run`` (then :func:`kyphoimg.stats.starter_study` writes the
study). The study file::

    title = "Recompression after PKP"

    [data]
    subjects = "features.csv"     # one row per subject, or kyphoimg run's features table
    longitudinal = "visits.csv"   # optional, one row per subject x time point
    subject = "patient_id"        # patient identifier (default: patient_id when present)
    level = "level"               # vertebral level of each row
    unit = "patient"              # or "vertebra" (GEE, cluster-robust SEs)
    index_vertebra = "most_compressed_pre"   # or "first", "most_kyphotic_pre"
    reference = { npec = "no" }   # reference level of categorical factors, every section

    [outcome]
    column = "recompression"
    positive = true

    [labels]                      # display names; see kyphoimg.stats._labels
    recompression = "Recompression"
    groups = { true = "Recompressed", false = "Not recompressed" }

    [table1]
    group = "recompression"       # default: the outcome column
    continuous = ["age_years"]
    categorical = ["sex", "npec"]
    nonnormal = []
    tests = { age_years = "welch" }

    [timepoints]                  # wide table: values name measures <measure>_<time>
    values = ["ka_deg", "compression_pct", "vas"]
    order = ["pre", "post", "last"]
    group = "recompression"
    method = "rm_anova"           # rm_anova | friedman | mixed
    correction = "bonferroni"
    # subject = "id" and time = "visit" select the columns of a long table instead

    [correlation]
    factors = ["ivc", "npec"]
    dichotomise = { npec = "no" } # optional: any level other than "no" = 1

    [logistic]
    predictors = ["ivc", "npec", "bmd_t_score"]
    method = "firth"              # or "ml"
    univariable_screen = 0.05
    bootstrap = 200
    seed = 20240601

    [roc]                         # direction per marker is required
    markers = { age_years = "higher", bmd_t_score = "lower" }
    model = true

    [options]
    figure_format = "svg"         # how figures are embedded: svg or png
    decimals = 1
    t_test = "welch"              # or "student" (pooled, to reproduce an SPSS paper)
    pdf = true                    # print report.pdf with headless Chromium if installed

Relative data paths are resolved against the TOML file's folder (against the current
directory for a mapping, which may also hold DataFrames instead of paths).
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from kyphoimg.errors import NotEstimableError, StatsInputError

from ..studyfile import REPORT_TABLES, parse_study_text, read_study_file
from ._data import StudyData, prepare_data
from ._exclusions import excluded_films, n_excluded_patients
from ._features import INDEX_RULES, starter_study
from ._html import html_table, page, print_pdf
from ._labels import Labels
from ._sections import (
    Context,
    Section,
    correlation_section,
    logistic_section,
    roc_section,
    table1_section,
    timepoints_section,
)
from ._tables import Table, select
from ._xlsx import write_workbook

__all__ = ["NotEstimable", "ReportAnalysis", "ReportResult", "report"]

#: The report's tables and their keys: the study file's schema (kyphoimg.studyfile),
#: also applied to a study given as a mapping.
_SECTIONS: dict[str, set[str] | None] = {
    "title": set(),
    **{k: None if v is None else set(v) for k, v in REPORT_TABLES.items()},
}

_RUNNERS: list[tuple[str, str, Callable[[Context], Section]]] = [
    ("table1", "Table 1", table1_section),
    ("timepoints", "Change over time", timepoints_section),
    ("correlation", "Correlation with the outcome", correlation_section),
    ("logistic", "Logistic regression", logistic_section),
    ("roc", "ROC analysis", roc_section),
]


@dataclass(frozen=True)
class NotEstimable:
    """A table of the report (or a whole section) that was not estimated, and why.

    Attributes
    ----------
    section : str
        The section's key (``table1``, ``timepoints``, ``correlation``, ``logistic``,
        ``roc``).
    table : str
        The table not estimated (empty when the whole section was not run).
    status : str
        ``not estimable`` (the data cannot give it) or ``not run`` (the study's settings
        do not fit the data).
    reason : str
        Why, in the words the report prints.
    """

    section: str
    table: str
    status: str
    reason: str


@dataclass(frozen=True)
class ReportAnalysis:
    """One section of the report as ``summary.json`` lists it in ``analyses``.

    Attributes
    ----------
    section : str
        The section's key (``table1``, ``timepoints``, ``correlation``, ``logistic``,
        ``roc``).
    title : str
        Its heading in the report (``analysis`` in ``summary.json``).
    status : str
        ``run``, ``not estimable`` (no table of it could be estimated) or ``not run``.
    tests : tuple of str
        The tests it used, in first-use order (empty unless run).
    n : tuple of (str, int)
        Its sample sizes by name (empty unless run).
    reason : str
        Why it was not run or not estimable (empty when run).
    not_estimable : tuple of NotEstimable
        The tables of it that were not estimated.
    """

    section: str
    title: str
    status: str
    tests: tuple[str, ...] = ()
    n: tuple[tuple[str, int], ...] = ()
    reason: str = ""
    not_estimable: tuple[NotEstimable, ...] = ()


@dataclass(frozen=True)
class ReportResult:
    """What :func:`report` wrote, and what it could not estimate.

    Attributes
    ----------
    html : pathlib.Path
        ``report.html``, self-contained (figures inline).
    xlsx : pathlib.Path
        ``tables.xlsx``: every table, numbers as numbers.
    summary : pathlib.Path
        ``summary.json``: subjects, vertebrae, analyses run with their tests, warnings.
    pdf : pathlib.Path or None
        ``report.pdf`` when headless Chromium printed it (None otherwise; the reason is
        among :attr:`warnings`).
    figures : mapping of str to pathlib.Path
        Each figure file under ``figures/`` by name (``roc_png``, ``forest_svg``, ...),
        read-only.
    analyses : tuple of ReportAnalysis
        Every section the study asked for, in report order, with its status.
    warnings : tuple of str
        The warnings printed in the report.
    """

    html: Path
    xlsx: Path
    summary: Path
    pdf: Path | None = None
    figures: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}))
    analyses: tuple[ReportAnalysis, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def not_estimable(self) -> tuple[NotEstimable, ...]:
        """Every table or section not estimated or not run, in report order."""
        out: list[NotEstimable] = []
        for a in self.analyses:
            out += a.not_estimable
            if a.status != "run" and not a.not_estimable:
                out.append(NotEstimable(a.section, "", a.status, a.reason))
        return tuple(out)

    @property
    def files(self) -> Mapping[str, Path]:
        """Every file written by name, read-only, as ``summary.json`` lists them (``files``).

        ``html``, ``xlsx``, the figures, ``pdf`` when printed, ``summary``.
        """
        out: dict[str, Path] = {"html": self.html, "xlsx": self.xlsx, **self.figures}
        if self.pdf is not None:
            out["pdf"] = self.pdf
        out["summary"] = self.summary
        return MappingProxyType(out)


def _analysis(entry: Mapping[str, Any]) -> ReportAnalysis:
    """Return the :class:`ReportAnalysis` of one ``analyses`` entry of ``summary.json``."""
    key = str(entry["section"])
    parts = tuple(
        NotEstimable(key, str(p["table"]), "not estimable", str(p["reason"]))
        for p in entry.get("not_estimable", [])
    )
    return ReportAnalysis(
        section=key,
        title=str(entry["analysis"]),
        status=str(entry["status"]),
        tests=tuple(str(t) for t in entry.get("tests", [])),
        n=tuple((str(k), int(v)) for k, v in dict(entry.get("n", {})).items()),
        reason=str(entry.get("reason", "")),
        not_estimable=parts,
    )


def _load_study(study: str | Path | Mapping[str, Any]) -> tuple[dict[str, Any], Path]:
    if isinstance(study, Mapping):
        return dict(study), Path.cwd()
    path = Path(study)
    if path.is_dir() and (path / "study.toml").is_file():
        path = path / "study.toml"  # the run's study file, as the user has edited it
    elif path.is_dir():
        return parse_study_text(starter_study(path), path / "study.toml").report_spec(), path
    if not path.is_file():
        raise StatsInputError(
            f"study file {str(path)!r} does not exist; pass the path of a TOML file or "
            "of a kyphoimg run folder"
        )
    return read_study_file(path).report_spec(), path.parent


def _check_spec(spec: Mapping[str, Any]) -> None:
    for key, value in spec.items():
        if key not in _SECTIONS:
            raise StatsInputError(
                f"study: unknown section [{key}]; allowed: {', '.join(sorted(_SECTIONS))}"
            )
        allowed = _SECTIONS[key]
        if allowed and isinstance(value, Mapping):
            unknown = set(value) - allowed
            if unknown:
                raise StatsInputError(
                    f"study [{key}]: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}"
                )
    if "subjects" not in spec.get("data", {}):
        raise StatsInputError("study [data]: 'subjects' (the per-subject table) is required")
    if "column" not in spec.get("outcome", {}):
        raise StatsInputError("study [outcome]: 'column' (the outcome column) is required")


def _options(spec: Mapping[str, Any]) -> tuple[str, int, bool]:
    """Return the figure format, the decimals and whether to print a PDF."""
    options = spec.get("options", {})
    fig_fmt = options.get("figure_format", "svg")
    if fig_fmt not in ("svg", "png"):
        raise StatsInputError(
            f"study [options] figure_format must be 'svg' or 'png', got {fig_fmt!r}"
        )
    return fig_fmt, int(options.get("decimals", 1)), bool(options.get("pdf", True))


def _entry(key: str, title: str, sec: Section) -> dict[str, Any]:
    """Return the summary.json entry of a section that ran (some tables maybe not)."""
    if sec.not_estimable and not sec.tables:  # every table of it was not estimable
        reason = "; ".join(f"{p['table']}: {p['reason']}" for p in sec.not_estimable)
        return {"section": key, "analysis": title, "status": "not estimable", "reason": reason,
                "not_estimable": sec.not_estimable}  # fmt: skip
    entry: dict[str, Any] = {
        "section": key,
        "analysis": title,
        "status": "run",
        "tests": list(dict.fromkeys(sec.tests)),
        "n": sec.n,
    }
    if sec.not_estimable:
        entry["not_estimable"] = sec.not_estimable
    return entry


def _skipped(analyses: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Every section or table not estimated or not run, for the workbook."""
    rows = []
    for a in analyses:
        parts = a.get("not_estimable", [])
        for p in parts:
            rows.append({"section": a["analysis"], "table": p["table"], "status": "not estimable",
                         "reason": p["reason"]})  # fmt: skip
        if a["status"] != "run" and not parts:
            rows.append({"section": a["analysis"], "table": "", "status": a["status"],
                         "reason": a["reason"]})  # fmt: skip
    return rows


def _run_sections(ctx: Context) -> tuple[list[Section], list[dict[str, Any]]]:
    """Run the sections present, in report order, each on its own.

    A section that cannot be estimated on these data (:class:`NotEstimableError`) says
    so with the reason; one whose settings do not fit the data (another
    :class:`StatsInputError`) is reported as not run with the reason. Any other
    exception is a programming error and propagates.
    """
    done: list[Section] = []
    analyses: list[dict[str, Any]] = []
    for key, title, runner in _RUNNERS:
        if key not in ctx.spec:
            continue
        try:
            sec = runner(ctx)
        except NotEstimableError as exc:
            sec = Section(key, title)
            sec.skip(title, str(exc))
        except StatsInputError as exc:
            reason = str(exc)
            sec = Section(key, title)
            sec.blocks.append(f'<div class="notrun"><b>Not run.</b> {html.escape(reason)}</div>')
            warnings.warn(f"[{key}] not run: {reason}", UserWarning, stacklevel=3)
            analyses.append(
                {"section": key, "analysis": title, "status": "not run", "reason": reason}
            )
            done.append(sec)
            continue
        analyses.append(_entry(key, title, sec))
        done.append(sec)
    return done, analyses


def _excluded(ctx: Context) -> pd.DataFrame:
    """Return the films of the run that gave no measure (films.csv beside the study)."""
    d = ctx.data
    ids: pd.Series | list[Any] = d.all_rows[d.subject] if d.subject is not None else []
    return excluded_films(ctx.base, ids)


def _data_block(ctx: Context) -> tuple[str, list[Table], str]:
    """Return the 'Data' section: counts, unit of analysis, patients with several vertebrae."""
    d: StudyData = ctx.data
    lines = []
    if d.subject is not None:
        lines.append(f"{d.n_subjects} patients, {d.n_vertebrae} treated vertebrae.")
    else:
        lines.append(f"{d.n_vertebrae} rows.")
    method = ""
    if d.unit == "patient" and d.rule is not None:
        text = (
            f"Unit of analysis: the patient. {len(d.affected)} patient(s) had several treated "
            f"vertebrae; the index vertebra was {INDEX_RULES[d.rule]}."
        )
        lines.append(text)
        method = text
    elif d.unit == "vertebra":
        method = (
            "Unit of analysis: the treated vertebra; vertebrae of one patient are clustered "
            "(logistic models: GEE with cluster-robust standard errors; patient-level "
            "variables counted once per patient)."
        )
        lines.append(method)
    else:
        lines.append("Unit of analysis: the patient (one row each).")
    for col, n in d.not_assessable.items():
        lines.append(f"{ctx.labels.var(col)}: {n} finding(s) not assessable, treated as missing.")
    tables = []
    bad = _excluded(ctx)
    if not bad.empty:
        lines.append(
            f"{len(bad)} film(s) gave no measure (unreadable, not DICOM or refused; films.csv); "
            f"{ctx.absent} patient(s) are therefore in no analysis, the others are analysed "
            "without that time point."
        )
        tables.append(
            select(
                bad,
                {
                    "patient": ("Patient", "text"),
                    "timepoint": ("Time point", "text"),
                    "film": ("Film", "text"),
                    "status": ("Status", "text"),
                    "reason": ("Reason", "text"),
                    "analysed": ("Analysed", "text"),
                },
                "Films that gave no measure",
                "Status and reason as kyphoimg run recorded them in films.csv.",
                sheet="Excluded films",
            )
        )
    if not d.affected.empty:
        tables.append(
            select(
                d.affected,
                {
                    "patient": ("Patient", "text"),
                    "levels": ("Treated levels", "text"),
                    "index_level": ("Index vertebra", "text"),
                },
                "Patients with several treated vertebrae",
                f"Index vertebra: {INDEX_RULES[d.rule or 'first']}.",
            )
        )
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    body += "".join(html_table(t) for t in tables)
    return "<h2>Data</h2>" + body, tables, method


def _reissue(caught: list[warnings.WarningMessage]) -> list[str]:
    """Issue the recorded warnings again; return the messages of the user warnings."""
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return list(dict.fromkeys(messages))


def _methods(ctx: Context, unit_method: str, sections: list[Section]) -> str:
    """Return the methods paragraph, describing only what ran."""
    import matplotlib
    import pandas
    import scipy
    import statsmodels

    parts = [unit_method] if unit_method else []
    for sec in sections:
        parts += sec.methods
    parts += _proposals_sentence(ctx.base)
    parts.append(
        "p-values are two-sided and printed to three decimals. Analyses used kyphoimg.stats "
        f"with scipy {scipy.__version__}, statsmodels {statsmodels.__version__}, pandas "
        f"{pandas.__version__} and matplotlib {matplotlib.__version__}."
    )
    return "<h2>Statistical methods</h2>" + "".join(f"<p>{html.escape(p)}</p>" for p in parts if p)


def _proposals_sentence(base: Path) -> list[str]:
    """Sentences on assisted landmarking, from the run's ``summary.json``.

    One when the run measured proposals no reader reviewed (``--accept-proposals``), one
    when readers confirmed points kyphoimg had proposed (``point_source`` ``confirmed:``).
    """
    try:
        run = json.loads((Path(base) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(run, dict):
        return []
    out = []
    confirmed = run.get("vertebra_rows_confirmed_proposals") or 0
    if confirmed:
        out.append(
            f"For {confirmed} vertebra measurement(s), landmarks were proposed by kyphoimg's "
            "assisted landmarking and confirmed by the reader (column point_source of the "
            "measures and features tables, confirmed:<method>, names the method)."
        )
    if run.get("accept_proposals"):
        n = run.get("vertebra_rows_from_proposals", "some")
        out.append(
            f"Landmarks proposed by kyphoimg's assisted landmarking were accepted without "
            f"review by a reader for {n} vertebra measurement(s) (kyphoimg run "
            "--accept-proposals; column point_source of the measures and features tables "
            "names them)."
        )
    return out


_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def _token(value: Any) -> str:
    """Canonical text of an outcome value: ``"1"``/``"0"`` for every yes/no encoding."""
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, int | float | np.integer | np.floating) and float(value).is_integer():
        text = str(int(value))
    else:
        text = str(value).strip().lower()
    return "1" if text in _TRUE else "0" if text in _FALSE else text


def count_events(outcome: pd.Series, positive: Any) -> int:
    """Count the rows whose outcome is the event, whatever its yes/no encoding.

    Parameters
    ----------
    outcome : pandas.Series
        The outcome column (bool, 0/1 numbers, "1"/"0", "true"/"false", "yes"/"no").
    positive : object or None
        The event value from ``[outcome] positive`` (None: true/1/yes).

    Returns
    -------
    int
        Rows equal to the event; ``"1"``, ``1``, ``1.0``, ``True``, ``"true"`` and
        ``"yes"`` are the same event, missing values are never events.
    """
    target = _token(True if positive is None else positive)
    present = outcome.dropna()
    return int(sum(_token(v) == target for v in present))


def _summary(
    ctx: Context,
    analyses: list[dict[str, Any]],
    messages: list[str],
    files: Mapping[str, Path],
    title: str,
) -> dict[str, Any]:
    d = ctx.data
    outcome = d.rows[ctx.outcome] if ctx.outcome in d.rows.columns else None
    events = None if outcome is None else count_events(outcome, ctx.positive)
    return {
        "title": title,
        "generated": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "n_subjects": d.n_subjects,
        "n_vertebrae": d.n_vertebrae,
        "n_analysed_rows": len(d.rows),
        "unit": d.unit,
        "index_vertebra": d.rule,
        "patients_with_several_vertebrae": d.affected.to_dict("records"),
        "not_assessable_as_missing": d.not_assessable,
        "films_without_measure": _excluded(ctx).to_dict("records"),
        "patients_in_no_analysis": ctx.absent,
        "outcome": {"column": str(ctx.outcome), "positive": str(ctx.positive), "events": events},
        "analyses": analyses,
        "warnings": messages,
        "files": {k: str(v) for k, v in files.items()},
    }


def _build(
    spec: dict[str, Any], base: Path, out: Path
) -> tuple[Context, list[Section], list[dict[str, Any]]]:
    fig_fmt, decimals, _ = _options(spec)
    data = prepare_data(spec, base)
    ctx = Context(spec, base, out, data, Labels.from_spec(spec.get("labels")), decimals, fig_fmt)
    ctx.absent = n_excluded_patients(_excluded(ctx))
    if ctx.outcome not in data.rows.columns:
        raise StatsInputError(f"study [outcome]: column {ctx.outcome!r} not in the table")
    sections, analyses = _run_sections(ctx)
    return ctx, sections, analyses


def report(study: str | Path | Mapping[str, Any], output_dir: str | Path) -> ReportResult:
    """Run the analyses a study asks for; write the HTML report, workbook and summary.

    Parameters
    ----------
    study : str, pathlib.Path or mapping
        A TOML study file (sections in the module documentation), the same structure as
        a mapping (whose ``[data]`` entries may be DataFrames), or the output folder of
        ``kyphoimg run`` (``features.csv``, ``summary.json``), analysed with its
        ``study.toml`` as the user edited it (``run`` writes a starter one), else with the
        study :func:`kyphoimg.stats.starter_study` writes for it.
    output_dir : str or pathlib.Path
        Folder to write to (created if needed).

    Returns
    -------
    ReportResult
        The paths written (``html``, self-contained with figures inline; ``xlsx``, every
        table with numbers as numbers; ``summary``, ``summary.json``; ``pdf`` when
        Chromium printed it; ``figures`` by name, ``"roc_png"``, ``"forest_svg"``, ...;
        ``files`` all of them by name), each section's status (``analyses``), the tables
        not estimated (``not_estimable``) and the warnings.

    Raises
    ------
    StatsInputError
        An unknown section or key, missing required entries, unreadable data files, an
        unknown unit of analysis. A section whose analysis fails is reported as not run
        (with the reason) instead of stopping the report.

    Warns
    -----
    SeparationWarning, EventsPerVariableWarning, UserWarning
        Re-issued from the analyses; they are also listed in the report.
    """
    spec, base = _load_study(study)
    _check_spec(spec)
    out = Path(output_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ctx, sections, analyses = _build(spec, base, out)
    messages = _reissue(caught)
    title = str(spec.get("title", "Outcome statistics report"))
    data_html, data_tables, unit_method = _data_block(ctx)
    blocks = [data_html]
    if messages:
        blocks.append(
            '<div class="warn"><h2>Warnings</h2><ul>'
            + "".join(f"<li>{html.escape(m)}</li>" for m in messages)
            + "</ul></div>"
        )
    blocks += [s.html() for s in sections]
    blocks.append(_methods(ctx, unit_method, sections))
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = (
        f"Generated by kyphoimg.stats on {stamp}. Outcome: "
        f"{html.escape(ctx.labels.var(ctx.outcome))}."
    )
    html_path = out / "report.html"
    html_path.write_text(page(title, meta, blocks), encoding="utf-8")
    tables = [*data_tables, *(t for s in sections for t in s.tables)]
    files: dict[str, Path] = {"html": html_path}
    files["xlsx"] = write_workbook(out / "tables.xlsx", tables, messages, _skipped(analyses))
    for s in sections:
        files.update(s.figures)
    if _options(spec)[2]:
        problem = print_pdf(html_path, out / "report.pdf")
        if problem is None:
            files["pdf"] = out / "report.pdf"
        else:
            messages.append(problem)
    files["summary"] = out / "summary.json"
    summary = _summary(ctx, analyses, messages, files, title)
    files["summary"].write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return ReportResult(
        html=files["html"],
        xlsx=files["xlsx"],
        summary=files["summary"],
        pdf=files.get("pdf"),
        figures=MappingProxyType({k: v for s in sections for k, v in s.figures.items()}),
        analyses=tuple(_analysis(a) for a in analyses),
        warnings=tuple(messages),
    )
