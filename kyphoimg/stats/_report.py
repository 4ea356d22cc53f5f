"""One-call study report: an HTML file with every table and figure, and an XLSX workbook.

The study is described in TOML (read with :mod:`tomllib`)::

    title = "Adjacent segment degeneration after PKP"

    [data]
    subjects = "cohort.csv"       # one row per subject: CSV, XLSX or Parquet
    longitudinal = "visits.csv"   # optional, one row per subject x time point

    [outcome]
    column = "asd"
    positive = 1                  # event value (optional for 0/1 outcomes)

    [table1]
    group = "asd"                 # default: the outcome column
    continuous = ["age", "cement_ml"]
    categorical = ["smoking"]
    nonnormal = []
    tests = { age = "student" }

    [timepoints]                  # optional
    subject = "id"
    time = "visit"
    values = ["kyphotic_angle_deg"]
    order = ["pre", "post", "last"]
    group = "recompressed"        # optional
    method = "rm_anova"           # rm_anova | friedman | mixed
    correction = "bonferroni"

    [correlation]                 # optional
    factors = ["ivc", "npec"]
    method = "auto"

    [logistic]                    # optional
    predictors = ["age", "bmd_t", "cement_ml"]
    univariable_screen = 0.05
    categorical = []
    bootstrap = 200
    seed = 20240601

    [roc]                         # optional; direction per marker is required
    markers = { age = "higher", bmd_t = "lower" }
    model = true                  # add the multivariable model's predicted risk

    [options]
    figure_format = "svg"         # how figures are embedded: svg or png
    decimals = 1

Relative data paths are resolved against the TOML file's folder (against the current
directory for a mapping, which may also hold DataFrames instead of paths).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import tomllib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from kyphoimg.errors import StatsInputError

from ._correlate import correlate
from ._figures import figure_to_bytes, plot_forest, plot_roc, plot_timecourse, save_figure
from ._format import fmt_p
from ._logistic import LogisticResult, logistic
from ._repeated import compare_timepoints
from ._roc import RocResult, delong_test, roc
from ._table1 import table1

__all__ = ["report"]

_SECTIONS: dict[str, set[str]] = {
    "title": set(),
    "data": {"subjects", "longitudinal"},
    "outcome": {"column", "positive"},
    "table1": {"group", "continuous", "categorical", "nonnormal", "tests"},
    "timepoints": {
        "subject",
        "time",
        "values",
        "order",
        "group",
        "method",
        "correction",
        "posthoc",
    },
    "correlation": {"factors", "method"},
    "logistic": {"predictors", "univariable_screen", "categorical", "bootstrap", "seed", "profile"},
    "roc": {"markers", "model"},
    "options": {"figure_format", "decimals"},
}

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:70em;margin:2em auto;
color:#222;line-height:1.4}
table{border-collapse:collapse;margin:1em 0;font-size:.85em;display:block;overflow-x:auto;
max-width:100%}
th,td{border-bottom:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #444}caption{text-align:left;font-weight:600;padding:.3em 0}
tfoot td{font-size:.85em;color:#555;border:none}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.5em 1em}
figure{margin:1em 0}figcaption{font-size:.85em;color:#555}
code{background:#f4f4f4;padding:0 .2em}
.note{font-size:.8em;color:#555;margin:.1em 0}
"""

#: Conventions listed under "Methods and conventions" in every report.
_CONVENTIONS = [
    "Two-group continuous variables: Student t-test with pooled variance unless stated; "
    "categorical: Pearson chi-square without continuity correction, Fisher exact test "
    "when an expected count is below 5 (SPSS defaults).",
    "AUC confidence intervals: DeLong variance, normal approximation (pROC).",
    "Logistic regression: maximum likelihood (IRLS); Wald and profile-likelihood CIs; "
    "bootstrap optimism correction after Harrell.",
]


def _load_study(study: str | Path | Mapping[str, Any]) -> tuple[dict[str, Any], Path]:
    if isinstance(study, Mapping):
        return dict(study), Path.cwd()
    path = Path(study)
    if not path.is_file():
        raise StatsInputError(
            f"study file {str(path)!r} does not exist; pass the path of a TOML file"
        )
    try:
        with path.open("rb") as fh:
            spec = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise StatsInputError(f"study file {str(path)!r} is not valid TOML: {exc}") from exc
    return spec, path.parent


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


def _read_table(source: Any, base: Path, key: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if not path.is_absolute():
        path = base / path
    if not path.is_file():
        raise StatsInputError(f"study [data] {key} = {str(source)!r}: file {str(path)!r} not found")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return pd.read_csv(path)
    if suffix in (".xlsx", ".xls"):
        return pd.read_excel(path)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    raise StatsInputError(
        f"study [data] {key}: unsupported file type {suffix!r}; use .csv, .xlsx or .parquet"
    )


def _sheet_name(name: str, used: set[str]) -> str:
    for ch in "[]:*?/\\":
        name = name.replace(ch, "_")
    base = name[:31]
    out, i = base, 2
    while out in used:
        suffix = f"~{i}"
        out = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(out)
    return out


def _fmt_cell(col: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        lc = col.lower()
        if lc.startswith("p_") or lc in ("p", "p_value") or lc.endswith("_p"):
            return fmt_p(float(value))
        if np.isinf(value):
            return "∞" if value > 0 else "−∞"
        x = float(value)
        return f"{x:.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.3e}"
    return str(value)


def _html_table(df: pd.DataFrame, caption: str) -> str:
    # Long text that is the same on every row (a method, a convention) reads better once,
    # under the table, than repeated in a narrow column that stretches every row.
    notes = {
        c: str(df[c].iloc[0])
        for c in df.columns
        if len(df) > 1
        and (df[c].dtype == object or pd.api.types.is_string_dtype(df[c]))
        and df[c].nunique(dropna=False) == 1
        and len(str(df[c].iloc[0])) > 30
    }
    df = df.drop(columns=list(notes))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for _, r in df.iterrows():
        rows.append(
            "<tr>"
            + "".join(f"<td>{html.escape(_fmt_cell(str(c), r[c]))}</td>" for c in df.columns)
            + "</tr>"
        )
    note = "".join(
        f'<p class="note"><b>{html.escape(c)}</b>: {html.escape(v)}</p>' for c, v in notes.items()
    )
    return (
        f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{note}"
    )


def _embed(fig: Any, fmt: str, caption: str) -> str:
    if fmt == "png":
        data = base64.b64encode(figure_to_bytes(fig, "png")).decode("ascii")
        body = (
            f'<img alt="{html.escape(caption)}" style="max-width:100%" '
            f'src="data:image/png;base64,{data}">'
        )
    else:
        svg = figure_to_bytes(fig, "svg").decode("utf-8")
        body = svg[svg.index("<svg") :]
    return f"<figure>{body}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _options(spec: Mapping[str, Any]) -> tuple[str, int]:
    """Return the figure format and the decimals of the ``[options]`` section."""
    options = spec.get("options", {})
    fig_fmt = options.get("figure_format", "svg")
    if fig_fmt not in ("svg", "png"):
        raise StatsInputError(
            f"study [options] figure_format must be 'svg' or 'png', got {fig_fmt!r}"
        )
    return fig_fmt, int(options.get("decimals", 1))


def _save(fig: Any, out: Path, key: str) -> dict[str, Path]:
    """Write ``fig`` to ``figures/<key>.png`` and ``.svg``; return them keyed ``<key>_<fmt>``."""
    return {f"{key}_{p.suffix[1:]}": p for p in save_figure(fig, out / "figures" / key)}


def _table1_section(
    t1s: Mapping[str, Any], subjects: pd.DataFrame, outcome: Any, decimals: int
) -> tuple[str, dict[str, pd.DataFrame]]:
    """Run the ``[table1]`` section: (HTML, sheets)."""
    t1 = table1(
        subjects,
        t1s.get("group", outcome),
        continuous=t1s.get("continuous", []),
        categorical=t1s.get("categorical", []),
        nonnormal=t1s.get("nonnormal", []),
        tests=t1s.get("tests", {}),
        decimals=decimals,
    )
    sheets = {"Table 1": t1.display, "Table 1 tests": t1.tests, "Table 1 summary": t1.summary}
    return "<h2>Table 1</h2>" + t1.to_html(), sheets


def _timepoints_section(
    tp: Mapping[str, Any], long: pd.DataFrame, out: Path, fig_fmt: str
) -> tuple[str, dict[str, pd.DataFrame], dict[str, Path]]:
    """Run the ``[timepoints]`` section on the long table: (HTML, sheets, figure files)."""
    values = tp.get("values") or []
    if isinstance(values, str):
        values = [values]
    if not values:
        raise StatsInputError("study [timepoints]: 'values' must name at least one column")
    parts = ["<h2>Change over time</h2>"]
    sheets: dict[str, pd.DataFrame] = {}
    written: dict[str, Path] = {}
    for v in values:
        res = compare_timepoints(
            long,
            tp.get("subject", "subject"),
            tp.get("time", "time"),
            v,
            group=tp.get("group"),
            order=tp.get("order"),
            method=tp.get("method", "rm_anova"),
            posthoc=tp.get("posthoc"),
            correction=tp.get("correction", "bonferroni"),
        )
        parts.append(f"<h3>{html.escape(str(v))}</h3>")
        parts.append(_html_table(res.descriptives, f"{v}: descriptives by group and time"))
        parts.append(_html_table(res.within, f"{v}: change over time within groups"))
        parts.append(_html_table(res.posthoc, f"{v}: pairwise comparisons of time points"))
        if len(res.between):
            parts.append(_html_table(res.between, f"{v}: groups compared at each time point"))
        fig = plot_timecourse(res, ylabel=str(v), title=str(v))
        written.update(_save(fig, out, f"timecourse_{v}"))
        parts.append(_embed(fig, fig_fmt, f"{v}: mean ± SD by group over time"))
        sheets[f"{v} descriptives"] = res.descriptives
        sheets[f"{v} within"] = res.within
        sheets[f"{v} posthoc"] = res.posthoc
        sheets[f"{v} between"] = res.between
        sheets[f"{v} excluded"] = res.excluded
    return "".join(parts), sheets, written


def _correlation_section(
    cs: Mapping[str, Any], subjects: pd.DataFrame, outcome: Any, positive: Any
) -> tuple[str, dict[str, pd.DataFrame]]:
    """Run the ``[correlation]`` section: (HTML, sheets)."""
    cor = correlate(
        subjects,
        outcome,
        cs.get("factors", []),
        cs.get("method", "auto"),
        positive=positive,
    )
    section = "<h2>Correlation with the outcome</h2>" + _html_table(cor, "Correlations")
    return section, {"Correlation": cor}


def _model_info(lr: LogisticResult) -> pd.DataFrame:
    """Return the equation, predictors, cases, events and EPV of a model as a table."""
    return pd.DataFrame(
        {
            "item": [
                "prediction equation",
                "predictors entered",
                "complete cases",
                "events",
                "excluded (missing)",
                "events per variable",
            ],
            "value": [
                lr.equation,
                ", ".join(lr.selected),
                str(lr.n),
                str(lr.n_events),
                str(lr.n_excluded),
                f"{lr.epv:.1f}",
            ],
        }
    )


def _logistic_section(
    ls: Mapping[str, Any],
    subjects: pd.DataFrame,
    outcome: Any,
    positive: Any,
    out: Path,
    fig_fmt: str,
) -> tuple[str, dict[str, pd.DataFrame], dict[str, Path], LogisticResult]:
    """Run the ``[logistic]`` section: (HTML, sheets, figure files, the model)."""
    lr = logistic(
        subjects,
        outcome,
        ls.get("predictors", []),
        ls.get("univariable_screen"),
        positive=positive,
        categorical=ls.get("categorical", []),
        bootstrap=int(ls.get("bootstrap", 200)),
        seed=int(ls.get("seed", 20240601)),
        profile=bool(ls.get("profile", True)),
    )
    model_info = _model_info(lr)
    parts = [
        "<h2>Logistic regression</h2>",
        _html_table(lr.univariable, "Univariable logistic regression (OR per unit, Wald 95% CI)"),
        _html_table(
            lr.multivariable,
            "Multivariable model (OR with Wald and profile-likelihood 95% CI)",
        ),
        _html_table(model_info, "Model"),
        _html_table(lr.vif, "Variance inflation factors"),
        _html_table(lr.hosmer_lemeshow, "Hosmer–Lemeshow goodness of fit"),
        _html_table(lr.calibration, "Calibration (bootstrap optimism-corrected)"),
        _html_table(lr.discrimination, "Discrimination (AUC)"),
    ]
    written: dict[str, Path] = {}
    if not lr.separation:
        fig = plot_forest(lr, title="Multivariable odds ratios")
        written = _save(fig, out, "forest")
        parts.append(_embed(fig, fig_fmt, "Forest plot of multivariable odds ratios (Wald 95% CI)"))
    sheets = {
        "Logistic univariable": lr.univariable,
        "Logistic multivariable": lr.multivariable,
        "Logistic model": model_info,
        "VIF": lr.vif,
        "Hosmer-Lemeshow": lr.hosmer_lemeshow,
        "Calibration": lr.calibration,
        "Discrimination": lr.discrimination,
    }
    return "".join(parts), sheets, written, lr


def _roc_curves(
    markers: Mapping[Any, str],
    subjects: pd.DataFrame,
    outcome: Any,
    positive: Any,
    model: RocResult | None,
) -> dict[str, RocResult]:
    """Return the ROC curve of each marker, and of the model's risk when ``model`` is given."""
    curves = {}
    for m, direction in markers.items():
        if m not in subjects.columns:
            raise StatsInputError(f"study [roc]: marker column {m!r} not in the subjects table")
        marker = cast(pd.Series, subjects[m])
        curves[m] = roc(subjects[outcome], marker, positive, direction, label=m)
    if model is not None:
        curves["model"] = model
    return curves


def _delong_tests(
    markers: Mapping[Any, str],
    names: list[str],
    subjects: pd.DataFrame,
    outcome: Any,
    positive: Any,
    lr: LogisticResult | None,
) -> list[pd.DataFrame]:
    """Compare every pair of markers, then the model (if given) with each marker (DeLong)."""
    tests = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            tests.append(
                delong_test(
                    subjects[outcome],
                    subjects[a],
                    subjects[b],
                    direction=(markers[a], markers[b]),
                    positive=positive,
                    labels=(a, b),
                ).to_frame()
            )
    if lr is not None:
        idx = lr.predicted.index
        for b in names:
            tests.append(
                delong_test(
                    subjects.loc[idx, outcome],
                    lr.predicted,
                    subjects.loc[idx, b],
                    direction=("higher", markers[b]),
                    positive=positive,
                    labels=("model", b),
                ).to_frame()
            )
    return tests


def _roc_section(
    rs: Mapping[str, Any],
    subjects: pd.DataFrame,
    outcome: Any,
    positive: Any,
    lr: LogisticResult | None,
    out: Path,
    fig_fmt: str,
) -> tuple[str, dict[str, pd.DataFrame], dict[str, Path], str]:
    """Run the ``[roc]`` section: (HTML, sheets, figure files, threshold convention)."""
    markers = rs.get("markers", {})
    if not isinstance(markers, Mapping):
        raise StatsInputError(
            "study [roc] markers must map each marker to its direction, "
            'e.g. markers = { age = "higher", bmd = "lower" }'
        )
    model = lr.roc if rs.get("model", False) and lr is not None else None
    curves = _roc_curves(markers, subjects, outcome, positive, model)
    names = [m for m in curves if m != "model"]
    tests = _delong_tests(
        markers, names, subjects, outcome, positive, lr if "model" in curves else None
    )
    roc_table = pd.concat([c.to_frame() for c in curves.values()], ignore_index=True)
    parts = ["<h2>ROC analysis</h2>", _html_table(roc_table, "ROC curves")]
    sheets: dict[str, pd.DataFrame] = {}
    if tests:
        dt = pd.concat(tests, ignore_index=True)
        parts.append(_html_table(dt, "Paired DeLong tests between AUCs"))
        sheets["DeLong tests"] = dt
    fig = plot_roc(curves, title="ROC curves")
    written = _save(fig, out, "roc")
    parts.append(
        _embed(fig, fig_fmt, "ROC curves; legend: AUC (DeLong 95% CI); dots: Youden cutoffs")
    )
    sheets["ROC"] = roc_table
    for name, c in curves.items():
        sheets[f"ROC curve {name}"] = c.curve
    convention = next(iter(curves.values())).threshold_rule if curves else ""
    return "".join(parts), sheets, written, convention


def _run_analyses(
    spec: Mapping[str, Any],
    base: Path,
    subjects: pd.DataFrame,
    out: Path,
    fig_fmt: str,
    decimals: int,
) -> tuple[list[str], dict[str, pd.DataFrame], dict[str, Path], list[str]]:
    """Run the sections the study asks for, in report order.

    Returns the HTML sections, the sheets, the figure files and the conventions to list.
    """
    outcome = spec["outcome"]["column"]
    positive = spec["outcome"].get("positive")
    sections: list[str] = []
    sheets: dict[str, pd.DataFrame] = {}
    written: dict[str, Path] = {}
    conventions: list[str] = []

    # ---- Table 1
    if "table1" in spec:
        section, tables = _table1_section(spec["table1"], subjects, outcome, decimals)
        sections.append(section)
        sheets.update(tables)

    # ---- Time points
    if "timepoints" in spec:
        long = (
            _read_table(spec["data"]["longitudinal"], base, "longitudinal")
            if "longitudinal" in spec["data"]
            else subjects
        )
        section, tables, files = _timepoints_section(spec["timepoints"], long, out, fig_fmt)
        sections.append(section)
        sheets.update(tables)
        written.update(files)

    # ---- Correlation
    if "correlation" in spec:
        section, tables = _correlation_section(spec["correlation"], subjects, outcome, positive)
        sections.append(section)
        sheets.update(tables)

    # ---- Logistic regression
    lr = None
    if "logistic" in spec:
        section, tables, files, lr = _logistic_section(
            spec["logistic"], subjects, outcome, positive, out, fig_fmt
        )
        sections.append(section)
        sheets.update(tables)
        written.update(files)

    # ---- ROC
    if "roc" in spec:
        section, tables, files, convention = _roc_section(
            spec["roc"], subjects, outcome, positive, lr, out, fig_fmt
        )
        sections.append(section)
        sheets.update(tables)
        written.update(files)
        conventions.append(convention)
    return sections, sheets, written, conventions


def _reissue(caught: list[warnings.WarningMessage]) -> list[str]:
    """Issue the recorded warnings again; return the messages of the user warnings."""
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return messages


def _html_document(
    title: str,
    n_subjects: int,
    outcome: Any,
    sections: list[str],
    conventions: list[str],
    messages: list[str],
) -> str:
    """Return the self-contained HTML report: warnings, sections, then methods."""
    warn_html = ""
    if messages:
        warn_html = (
            '<div class="warn"><h2>Warnings</h2><ul>'
            + "".join(f"<li>{html.escape(m)}</li>" for m in dict.fromkeys(messages))
            + "</ul></div>"
        )
    conv_html = (
        "<h2>Methods and conventions</h2><ul>"
        + "".join(f"<li>{html.escape(c)}</li>" for c in [*conventions, *_CONVENTIONS] if c)
        + "</ul>"
    )
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>Generated by kyphoimg.stats on {stamp}. "
        f"{n_subjects} subjects; outcome <code>{html.escape(str(outcome))}</code>.</p>"
        f"{warn_html}{''.join(sections)}{conv_html}</body></html>"
    )


def _write_workbook(path: Path, sheets: Mapping[str, pd.DataFrame], messages: list[str]) -> Path:
    """Write every table to its own sheet, then the warnings, and return ``path``."""
    used: set[str] = set()
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, frame in sheets.items():
            frame.to_excel(xw, sheet_name=_sheet_name(name, used), index=False)
        pd.DataFrame({"warning": list(dict.fromkeys(messages))}).to_excel(
            xw, sheet_name=_sheet_name("Warnings", used), index=False
        )
    return path


def report(study: str | Path | Mapping[str, Any], output_dir: str | Path) -> dict[str, Path]:
    """Run the analyses a study file asks for and write an HTML report and an XLSX workbook.

    Parameters
    ----------
    study : str, pathlib.Path or mapping
        Path of a TOML study file (see the module documentation for its sections), or
        the same structure as a mapping (whose ``[data]`` entries may be DataFrames).
    output_dir : str or pathlib.Path
        Folder to write to (created if needed).

    Returns
    -------
    dict of str to pathlib.Path
        ``"html"`` (one self-contained file, figures embedded inline), ``"xlsx"``
        (every table, one sheet each) and one entry per figure file written under
        ``figures/`` (``"roc_png"``, ``"roc_svg"``, ``"forest_png"``, ...).

    Raises
    ------
    StatsInputError
        An unknown section or key, missing required entries, unreadable data files, or
        any input error raised by the analyses.

    Warns
    -----
    SeparationWarning, EventsPerVariableWarning
        Re-issued from the analyses; they are also listed in the report.
    """
    spec, base = _load_study(study)
    _check_spec(spec)
    out = Path(output_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    fig_fmt, decimals = _options(spec)
    subjects = _read_table(spec["data"]["subjects"], base, "subjects")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sections, sheets, written, conventions = _run_analyses(
            spec, base, subjects, out, fig_fmt, decimals
        )
    messages = _reissue(caught)

    title = str(spec.get("title", "Outcome statistics report"))
    doc = _html_document(
        title, len(subjects), spec["outcome"]["column"], sections, conventions, messages
    )
    html_path = out / "report.html"
    html_path.write_text(doc, encoding="utf-8")
    xlsx_path = _write_workbook(out / "tables.xlsx", sheets, messages)
    return {"html": html_path, "xlsx": xlsx_path, **written}
