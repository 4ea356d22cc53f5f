"""The study's data as the report analyses it: unit of analysis, counts, reshaping."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kyphoimg.errors import StatsInputError

from ._features import INDEX_RULES, index_vertebrae, missing_findings, patient_level

__all__ = ["StudyData", "prepare_data", "read_table"]

UNITS = ("patient", "vertebra")


def read_table(source: Any, base: Path, key: str) -> pd.DataFrame:
    """Read a CSV, XLSX or Parquet table (or pass a DataFrame through).

    Parameters
    ----------
    source : str, pathlib.Path or pandas.DataFrame
        File (relative paths against ``base``) or table.
    base : pathlib.Path
        Folder of the study file.
    key : str
        ``[data]`` key, for messages.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    StatsInputError
        Missing file or unsupported type.
    """
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


@dataclass
class StudyData:
    """The rows analysed and what the report says about them.

    Attributes
    ----------
    rows : pandas.DataFrame
        Analysis rows: one per patient (``unit="patient"``) or per vertebra.
    all_rows : pandas.DataFrame
        Every row read (after "not assessable" became missing).
    subject, level : str or None
        Patient and level columns (None when absent).
    unit : str
        ``"patient"`` or ``"vertebra"``.
    rule : str or None
        Index-vertebra rule used.
    affected : pandas.DataFrame
        Patients with several vertebrae and the index level chosen.
    n_subjects, n_vertebrae : int
        Patients and vertebrae in the table read.
    not_assessable : dict
        Column → number of "not assessable" findings treated as missing.
    reference : dict
        Reference level per categorical column.
    """

    rows: pd.DataFrame
    all_rows: pd.DataFrame
    subject: str | None
    level: str | None
    unit: str
    rule: str | None
    affected: pd.DataFrame
    n_subjects: int
    n_vertebrae: int
    not_assessable: dict = field(default_factory=dict)
    reference: dict = field(default_factory=dict)

    @property
    def clusters(self) -> str | None:
        """Cluster column of the models (the patient when rows are vertebrae)."""
        return self.subject if self.unit == "vertebra" else None

    @property
    def unit_id(self) -> pd.Series:
        """Identifier of each analysis row (patient, or patient:level per vertebra)."""
        if self.subject is None:
            return pd.Series(range(len(self.rows)), index=self.rows.index, name="unit_id")
        ids = self.rows[self.subject].astype(str)
        if self.unit == "vertebra" and self.level is not None:
            ids = ids + ":" + self.rows[self.level].astype(str)
        return ids.rename("unit_id")

    def once_per_patient(
        self, columns: Sequence[Hashable], by: Hashable | None = None
    ) -> tuple[pd.DataFrame, list]:
        """Rows in which patient-level ``columns`` count once per patient (and group).

        Parameters
        ----------
        columns : sequence of hashable
            Variables about to be summarised.
        by : hashable, optional
            Group or outcome column: a patient counts once within each of its values.

        Returns
        -------
        table : pandas.DataFrame
            ``rows`` when the unit is the patient; otherwise one row per patient (and
            value of ``by``).
        patient_columns : list
            The patient-level columns among ``columns`` (empty per-patient unit).
        """
        if self.unit != "vertebra" or self.subject is None:
            return self.rows, []
        cols = patient_level(self.rows, self.subject, columns)
        keys = [self.subject, *([by] if by is not None else [])]
        return self.rows.drop_duplicates(keys), cols


def _categorical_order(df: pd.DataFrame, reference: Mapping[str, Any]) -> pd.DataFrame:
    """Put each reference level first (pandas categoricals) so every section uses it."""
    out = df.copy()
    for col, ref in reference.items():
        if col not in out.columns:
            continue
        s = out[col]
        levels = sorted(s.dropna().unique().tolist(), key=str)
        match = [lv for lv in levels if lv == ref or str(lv) == str(ref)]
        if not match:
            raise StatsInputError(
                f"[data] reference: level {ref!r} of {col!r} does not occur; levels: {levels}"
            )
        order = [match[0], *[lv for lv in levels if lv is not match[0]]]
        out[col] = pd.Categorical(s, categories=order)
    return out


def prepare_data(spec: Mapping[str, Any], base: Path) -> StudyData:
    """Read ``[data] subjects`` and apply the unit of analysis.

    Parameters
    ----------
    spec : mapping
        The study.
    base : pathlib.Path
        Folder of the study file.

    Returns
    -------
    StudyData

    Raises
    ------
    StatsInputError
        Unknown unit or rule, missing columns.
    """
    ds = spec["data"]
    table, counts = missing_findings(read_table(ds["subjects"], base, "subjects"))
    subject = ds.get("subject", "patient_id" if "patient_id" in table.columns else None)
    level = ds.get("level", "level" if "level" in table.columns else None)
    if subject is not None and subject not in table.columns:
        raise StatsInputError(f"study [data] subject = {subject!r}: column not in the table")
    unit = ds.get("unit", "patient")
    if unit not in UNITS:
        raise StatsInputError(f"study [data] unit = {unit!r}; use 'patient' or 'vertebra'")
    reference = {str(k): v for k, v in dict(ds.get("reference", {})).items()}
    table = _categorical_order(table, reference)
    n_subjects = int(table[subject].nunique()) if subject else len(table)
    several = subject is not None and bool(table[subject].duplicated().any())
    rule = None
    affected = pd.DataFrame(columns=["patient", "levels", "index_level", "rule"])
    rows = table
    if unit == "patient" and several:
        if level is None:
            raise StatsInputError(
                "study [data]: patients have several rows but no level column; name it "
                "with level = ... or set unit = 'vertebra'"
            )
        default = "most_compressed_pre" if "compression_pct_pre" in table.columns else "first"
        rule = ds.get("index_vertebra", default)
        if rule not in INDEX_RULES:
            raise StatsInputError(
                f"study [data] index_vertebra = {rule!r}; use one of {', '.join(INDEX_RULES)}"
            )
        rows, affected = index_vertebrae(table, subject, level, rule)
    return StudyData(
        rows=rows.reset_index(drop=True),
        all_rows=table,
        subject=subject,
        level=level,
        unit=unit,
        rule=rule,
        affected=affected,
        n_subjects=n_subjects,
        n_vertebrae=len(table),
        not_assessable=counts,
        reference=reference,
    )
