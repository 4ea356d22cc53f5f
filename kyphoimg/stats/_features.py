"""The features table of ``kyphoimg run`` as statistical data.

- :func:`read_run`: ``features.csv`` and ``summary.json`` of a run folder;
- :func:`missing_findings`: reader findings "not assessable" become missing values;
- :func:`index_vertebrae`: one row per patient by a named rule, and who was affected;
- :func:`wide_to_long`: ``<measure>_<timepoint>`` columns to one row per subject × time;
- :func:`starter_study`: a commented ``study.toml`` reproducing the seed-000 design.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from kyphoimg.errors import StatsInputError

__all__ = [
    "INDEX_RULES",
    "index_vertebrae",
    "missing_findings",
    "patient_level",
    "read_run",
    "starter_study",
    "wide_to_long",
]

#: Rules choosing the index vertebra of a patient with several treated levels.
INDEX_RULES: dict[str, str] = {
    "most_compressed_pre": (
        "the vertebra with the largest pre-operative compression (%); ties and missing "
        "values: the most cranial"
    ),
    "most_kyphotic_pre": (
        "the vertebra with the largest pre-operative kyphotic angle (°); ties and missing "
        "values: the most cranial"
    ),
    "first": "the most cranial treated vertebra",
}
_RULE_COLUMN = {"most_compressed_pre": "compression_pct_pre", "most_kyphotic_pre": "ka_deg_pre"}
#: Values of reader findings that mean "could not be assessed" (treated as missing).
NOT_ASSESSABLE = {"not_assessable", "not assessable", "n/a", "na", "unknown"}
TIMEPOINT_ORDER = ("pre", "post", "last")


def read_run(folder: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read the features table and the run summary of a ``kyphoimg run`` folder.

    Parameters
    ----------
    folder : str or pathlib.Path
        Output folder of ``kyphoimg run`` (``features.csv``, ``summary.json``).

    Returns
    -------
    features : pandas.DataFrame
        One row per treated vertebra.
    summary : dict
        The run summary (empty when ``summary.json`` is absent).

    Raises
    ------
    StatsInputError
        The folder has no ``features.csv``.
    """
    folder = Path(folder)
    path = folder / "features.csv"
    if not path.is_file():
        raise StatsInputError(
            f"{str(folder)!r} is not a kyphoimg run folder: features.csv not found; run "
            "`kyphoimg run DICOM_DIR -o FOLDER --clinical clinical.csv` first"
        )
    summary_path = folder / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
    return pd.read_csv(path), summary


def missing_findings(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Replace "not assessable" reader findings by missing values.

    Parameters
    ----------
    df : pandas.DataFrame
        Any table; text columns are checked.

    Returns
    -------
    table : pandas.DataFrame
        A copy with those values missing.
    counts : dict of str to int
        Per column, how many values were "not assessable".
    """
    out = df.copy()
    counts: dict[str, int] = {}
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        hit = s.astype("string").str.strip().str.lower().isin(NOT_ASSESSABLE).fillna(False)
        if hit.any():
            counts[str(col)] = int(hit.sum())
            out[col] = s.where(~hit.to_numpy())
    return out, counts


def _level_rank(level: Any) -> float:
    """Cranio-caudal rank of a vertebral level (C1 … C7, T1 … T12, L1 … L6, S1 …)."""
    m = re.fullmatch(r"\s*([CTLS])(\d+)\s*", str(level).upper())
    if m is None:
        return np.inf
    return {"C": 0, "T": 100, "L": 200, "S": 300}[m.group(1)] + int(m.group(2))


def index_vertebrae(
    df: pd.DataFrame,
    subject: Hashable = "patient_id",
    level: Hashable = "level",
    rule: str = "most_compressed_pre",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep one row per patient: the index vertebra chosen by a named rule.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per treated vertebra.
    subject : hashable, default "patient_id"
        Patient identifier column.
    level : hashable, default "level"
        Vertebral level column (``T12``, ``L1``...), used for "most cranial".
    rule : {"most_compressed_pre", "most_kyphotic_pre", "first"}
        See :data:`INDEX_RULES`.

    Returns
    -------
    rows : pandas.DataFrame
        One row per patient, in the input order.
    affected : pandas.DataFrame
        Patients with several treated vertebrae: ``patient, levels, index_level, rule``.

    Raises
    ------
    StatsInputError
        Unknown rule or missing columns.
    """
    if rule not in INDEX_RULES:
        raise StatsInputError(
            f"index_vertebra = {rule!r} is unknown; use one of {', '.join(INDEX_RULES)}"
        )
    for col in (subject, level):
        if col not in df.columns:
            raise StatsInputError(f"[data]: column {col!r} not in the features table")
    rank = df[level].map(_level_rank)
    key = pd.Series(0.0, index=df.index)
    if rule in _RULE_COLUMN:
        col = _RULE_COLUMN[rule]
        if col not in df.columns:
            raise StatsInputError(
                f"index_vertebra = {rule!r} needs column {col!r}; use index_vertebra = 'first'"
            )
        key = -pd.to_numeric(df[col], errors="coerce").fillna(-np.inf)
    order = pd.DataFrame({"key": key, "rank": rank, "pos": np.arange(len(df))}, index=df.index)
    chosen = order.sort_values(["key", "rank", "pos"]).groupby(df[subject], sort=False).head(1)
    rows = df.loc[sorted(chosen.index, key=lambda i: order.loc[i, "pos"])]
    sizes = df.groupby(cast(str, subject), sort=False)[cast(str, level)].agg(list)
    multi = sizes[sizes.map(len) > 1]
    affected = pd.DataFrame(
        {
            "patient": list(multi.index),
            "levels": [", ".join(map(str, v)) for v in multi],
            "index_level": [
                rows.loc[rows[subject] == p, cast(str, level)].iloc[0] for p in multi.index
            ],
            "rule": rule,
        },
        columns=["patient", "levels", "index_level", "rule"],
    )
    return rows, affected


def patient_level(df: pd.DataFrame, subject: Hashable, columns: Sequence[Hashable]) -> list:
    """Return the columns that are constant within every patient (patient-level data).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per vertebra.
    subject : hashable
        Patient identifier column.
    columns : sequence of hashable
        Columns to classify.

    Returns
    -------
    list
        The patient-level columns among ``columns``.
    """
    grouped = df.groupby(cast(str, subject), sort=False)
    return [
        c
        for c in columns
        if c in df.columns and (grouped[cast(str, c)].nunique(dropna=False) <= 1).all()
    ]


def wide_to_long(
    df: pd.DataFrame,
    subject: Hashable,
    measures: Sequence[str],
    order: Sequence[str] = TIMEPOINT_ORDER,
    keep: Sequence[Hashable] = (),
) -> pd.DataFrame:
    """Reshape ``<measure>_<timepoint>`` columns to one row per subject × time point.

    Parameters
    ----------
    df : pandas.DataFrame
        Wide table, one row per subject (``ka_deg_pre``, ``ka_deg_post``...).
    subject : hashable
        Subject identifier column (unique per row).
    measures : sequence of str
        Measure stems (``"ka_deg"``, ``"compression_pct"``, ``"vas"``).
    order : sequence of str, default ("pre", "post", "last")
        Time points; a measure lacking one of them is an error.
    keep : sequence of hashable
        Further columns copied to every row (the group).

    Returns
    -------
    pandas.DataFrame
        Columns ``subject``, ``time``, each measure and ``keep``; ``time`` is ordered.

    Raises
    ------
    StatsInputError
        A ``<measure>_<timepoint>`` column is missing, or subjects repeat.
    """
    missing = [f"{m}_{t}" for m in measures for t in order if f"{m}_{t}" not in df.columns]
    if missing:
        raise StatsInputError(
            f"[timepoints]: column(s) {missing} not in the table; values name measures "
            f"whose columns are <measure>_<timepoint> for each of {list(order)}"
        )
    if df[subject].duplicated().any():
        raise StatsInputError(
            f"[timepoints]: subject column {subject!r} repeats; choose one row per subject "
            "([data] unit) before reshaping"
        )
    frames = []
    for t in order:
        part = df[[subject, *keep]].copy()
        part.insert(1, "time", t)
        for m in measures:
            part[m] = df[f"{m}_{t}"].to_numpy()
        frames.append(part)
    long = pd.concat(frames, ignore_index=True)
    long["time"] = pd.Categorical(long["time"], categories=list(order), ordered=True)
    long["time"] = long["time"].astype(str)
    by = [cast(str, subject), "time"]
    return long.sort_values(by, key=_time_key(order)).reset_index(drop=True)


def _time_key(order: Sequence[str]) -> Any:
    rank = {t: i for i, t in enumerate(order)}

    def key(s: pd.Series) -> pd.Series:
        return s.map(rank) if s.name == "time" else s

    return key


# --------------------------------------------------------------------------- starter
def _toml_list(items: Sequence[str]) -> str:
    one_line = "[" + ", ".join(json.dumps(i) for i in items) + "]"
    if len(one_line) <= 70:
        return one_line
    return "[\n" + "".join(f"    {json.dumps(i)},\n" for i in items) + "]"


def _present(columns: Sequence[str], wanted: Sequence[str]) -> list[str]:
    return [c for c in wanted if c in columns]


def _measures(columns: Sequence[str], wanted: Sequence[str]) -> list[str]:
    return [m for m in wanted if all(f"{m}_{t}" in columns for t in TIMEPOINT_ORDER)]


def _starter_lists(columns: list[str]) -> dict[str, list[str]]:
    """Choose the variables of each section among the columns present."""
    continuous = _present(
        columns,
        [
            "age_years",
            "bmd_t_score",
            "symptom_weeks",
            "cement_volume_ml",
            *[f"{m}_{t}" for m in ("compression_pct", "ka_deg") for t in TIMEPOINT_ORDER],
            "height_restoration_pct",
            "reduction_angle_deg",
            "correction_loss_deg",
            "vas_pre",
        ],
    )
    factors = _present(columns, ["ivc", "npec", "bmd_t_score", "age_years"])
    return {
        "continuous": continuous,
        "categorical": _present(columns, ["sex", "ivc", "npec", "cement_leakage"]),
        "measures": _measures(columns, ["compression_pct", "ka_deg", "vas"]),
        "factors": factors,
        "markers": _present(columns, ["age_years", "bmd_t_score"]),
        "reference": _present(columns, ["npec", "ivc"]),
    }


def starter_study(run_folder: str | Path) -> str:
    """Return a commented starter ``study.toml`` for the output of ``kyphoimg run``.

    It reproduces the design of the recompression study (seed 000): recompressed versus
    maintained vertebrae; compression (CR) and kyphotic angle (KA), and VAS when the
    clinical table has it, at pre-op, post-op and last follow-up within and between
    groups; correlation and logistic regression of recompression on IVC, NPEC, BMD and
    age where present. Every section is commented so that it can be edited.

    Parameters
    ----------
    run_folder : str or pathlib.Path
        Output folder of ``kyphoimg run`` (``features.csv``, ``summary.json``). The study
        file is meant to be saved in that folder (``subjects = "features.csv"``).

    Returns
    -------
    str
        TOML text; :func:`kyphoimg.stats.report` runs it as written.

    Raises
    ------
    StatsInputError
        The folder has no ``features.csv``, or the table lacks ``recompression``.
    """
    features, summary = read_run(run_folder)
    columns = [str(c) for c in features.columns]
    if "recompression" not in columns:
        raise StatsInputError(
            "features.csv has no 'recompression' column; run `kyphoimg run` with landmarks "
            "at post-op and a follow-up"
        )
    # Only columns that hold values: a finding no reader has entered yet (all empty) would
    # name a variable, or a reference level, that the report cannot analyse.
    lists = _starter_lists([str(c) for c in features.columns if features[c].notna().any()])
    lists["reference"] = [c for c in lists["reference"] if (features[c].astype(str) == "no").any()]
    n_pat = features["patient_id"].nunique() if "patient_id" in columns else len(features)
    rule = "most_compressed_pre" if "compression_pct_pre" in columns else "first"
    return _render_starter(lists, n_pat, len(features), summary, rule)


def _render_starter(
    lists: dict[str, list[str]], n_pat: int, n_vert: int, summary: dict, rule: str
) -> str:
    """Write the starter study text."""
    version = summary.get("kyphoimg_version", "")
    made = f"{n_pat} patients, {n_vert} treated vertebrae"
    if version:
        made += f", kyphoimg {version}"
    reference = ", ".join(f'{c} = "no"' for c in lists["reference"])
    lines = [
        "# Starter study for `kyphoimg report study.toml -o report/`, written by",
        f"# kyphoimg.stats.starter_study from a run folder ({made}).",
        "# It follows the recompression study (seed 000): groups by recompression; CR and",
        "# KA (and VAS) at pre-op, post-op and last follow-up; correlation and logistic",
        "# regression of recompression with its candidate factors. Every section but [data]",
        "# and [outcome] is optional: delete a section to skip it. Paths are relative to",
        "# this file, which belongs in the run folder.",
        "",
        'title = "Recompression after kyphoplasty"',
        "",
        "[data]",
        "# The features table of `kyphoimg run`: one row per treated vertebra.",
        'subjects = "features.csv"',
        'subject = "patient_id"          # patient identifier',
        'level = "level"                 # vertebral level of each row',
        '# Unit of analysis. "patient": one index vertebra per patient (the patients with',
        '# several treated levels are listed in the report); "vertebra": every treated',
        "# vertebra, with cluster-robust (GEE) logistic models and patient-level variables",
        "# counted once per patient.",
        'unit = "patient"',
        f'index_vertebra = "{rule}"   # or "first" (most cranial), "most_kyphotic_pre"',
        "# Reference level of categorical factors, used in every section.",
        f"reference = {{ {reference} }}",
        "",
        "[outcome]",
        "# Recompression as `kyphoimg run` flags it (rule in the column recompression_rule).",
        'column = "recompression"',
        "positive = true",
        "",
        "[labels]",
        "# Names used in every table, figure and legend; units come from the column names",
        '# (ka_deg -> KA (°)). Add e.g. ka_deg = "Kyphotic angle" to rename a variable.',
        'recompression = "Recompression"',
        'groups = { true = "Recompressed", false = "Maintained" }',
        "",
    ]
    lines += _starter_sections(lists)
    return "\n".join(lines) + "\n"


def _starter_sections(lists: dict[str, list[str]]) -> list[str]:
    """Sections [table1] … [roc] of the starter study."""
    lines = [
        "[table1]",
        "# Baseline characteristics by group; Student t (pooled), Pearson chi-square or",
        "# Fisher exact test. List skewed variables under nonnormal (median [IQR]).",
        'group = "recompression"',
        f"continuous = {_toml_list(lists['continuous'])}",
        f"categorical = {_toml_list(lists['categorical'])}",
        "nonnormal = []",
        "",
    ]
    if lists["measures"]:
        lines += [
            "[timepoints]",
            "# Change over time within each group (repeated-measures ANOVA, Greenhouse–",
            "# Geisser), group × time interaction (mixed ANOVA), groups at each time point.",
            "# values name measures; their columns are <measure>_pre, _post, _last.",
            f"values = {_toml_list(lists['measures'])}",
            'order = ["pre", "post", "last"]',
            'group = "recompression"',
            'method = "rm_anova"             # or "friedman", "mixed" (keeps incomplete)',
            'correction = "bonferroni"       # or "holm", "sidak", "fdr_bh", "none"',
            "",
        ]
    if lists["factors"]:
        lines += [
            "[correlation]",
            "# Point-biserial / phi with the outcome (Cramér's V for NPEC's four levels).",
            "# dichotomise codes a factor as any level other than the one named = 1",
            "# (NPEC present/absent, as in seed 000).",
            f"factors = {_toml_list(lists['factors'])}",
            'dichotomise = { npec = "no" }' if "npec" in lists["factors"] else "dichotomise = {}",
            "",
            "[logistic]",
            "# Univariable and multivariable models. Firth's penalised likelihood gives finite",
            "# estimates when a factor separates the groups (IVC or NPEC present in every",
            '# recompressed vertebra); method = "ml" for ordinary maximum likelihood.',
            f"predictors = {_toml_list(lists['factors'])}",
            'method = "firth"',
            "# univariable_screen = 0.05     # enter only factors with univariable p < 0.05",
            "bootstrap = 200                 # optimism-corrected AUC and calibration",
            "seed = 20240601",
            "",
        ]
    if lists["markers"]:
        directions = {"age_years": "higher", "bmd_t_score": "lower"}
        markers = ", ".join(f'{m} = "{directions[m]}"' for m in lists["markers"])
        lines += [
            "# [roc]",
            "# ROC curves per marker with DeLong CIs; the direction that predicts the event",
            "# is required (lower BMD predicts recompression). Uncomment to run.",
            f"# markers = {{ {markers} }}",
            "# model = true                  # add the logistic model's predicted risk",
            "",
        ]
    lines += [
        "[options]",
        'figure_format = "svg"            # figures embedded as svg or png',
        "decimals = 1                     # decimals of means, SDs and percentages",
    ]
    return lines
