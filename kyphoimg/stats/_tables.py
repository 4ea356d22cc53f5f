"""Report tables: values kept as numbers, each column with its display format.

One :class:`Table` feeds both outputs: the HTML report prints it with :func:`fmt_cell`
(p to 3 decimals or "<0.001", estimates to fixed decimals, never scientific notation)
and the workbook stores the numbers with the matching Excel number format.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._format import fmt_or, fmt_p
from ._labels import Labels

__all__ = ["Table", "fmt_cell", "select"]

#: Excel number format of each display format.
EXCEL_FORMATS = {
    "p": '[<0.001]"<0.001";0.000',
    "int": "0",
    "f0": "0",
    "f1": "0.0",
    "f2": "0.00",
    "f3": "0.000",
    "f4": "0.0000",
    "or": '[<0.001]"<0.001";[>999]">999";0.00##',
    "text": "@",
}


@dataclass(frozen=True)
class Table:
    """A report table.

    Attributes
    ----------
    title : str
        Caption (and sheet name).
    frame : pandas.DataFrame
        Display headers; numbers as numbers.
    formats : dict
        Column → ``"p"``, ``"int"``, ``"f0"``…``"f4"`` or ``"text"`` (default text).
    note : str
        Footnote (tests used, conventions).
    sheet : str
        Short workbook sheet name (default: the title).
    """

    title: str
    frame: pd.DataFrame
    formats: dict = field(default_factory=dict)
    note: str = ""
    sheet: str = ""


def fmt_cell(value: Any, kind: str) -> str:
    """Format one value for the HTML report.

    Parameters
    ----------
    value : object
        The value.
    kind : str
        Display format (see :class:`Table`).

    Returns
    -------
    str
        ``""`` for missing values, ``"∞"``/``"−∞"`` for infinities.
    """
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return ""
    if value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | float | np.integer | np.floating) and kind != "text":
        x = float(value)
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        if kind == "p":
            return fmt_p(x)
        if kind == "int":
            return f"{round(x):d}"
        if kind == "or":
            return fmt_or(x)
        digits = int(kind[1]) if kind.startswith("f") and kind[1:].isdigit() else 2
        text = f"{x:.{digits}f}"
        return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text
    return str(value)


def select(
    df: pd.DataFrame,
    columns: Mapping[str, tuple[str, str]],
    title: str,
    note: str = "",
    labels: Labels | None = None,
    relabel: Mapping[str, str] | None = None,
    sheet: str = "",
) -> Table:
    """Build a :class:`Table` from a result frame.

    Parameters
    ----------
    df : pandas.DataFrame
        Result table with snake_case columns.
    columns : mapping
        Source column → (display header, format); absent source columns are skipped.
    title : str
        Caption.
    note : str
        Footnote.
    labels : Labels, optional
        Display names.
    relabel : mapping, optional
        Source column → ``"var"``, ``"group"``, ``"time"`` or ``"term"``: translate the
        values with ``labels``.
    sheet : str, optional
        Short sheet name.

    Returns
    -------
    Table
    """
    labels = labels or Labels()
    out = pd.DataFrame(index=df.index)
    formats = {}
    for src, (head, kind) in columns.items():
        if src not in df.columns:
            continue
        values = df[src]
        how = (relabel or {}).get(src)
        if how == "var":
            values = values.map(labels.var)
        elif how == "group":
            values = values.map(labels.group)
        elif how == "time":
            values = values.map(labels.time)
        out[head] = values.to_numpy()
        formats[head] = kind
    return Table(title, out.reset_index(drop=True), formats, note, sheet)


def common_note(df: pd.DataFrame, columns: Sequence[str]) -> str:
    """Join the distinct non-empty values of ``columns`` (tests, methods) for a footnote.

    Parameters
    ----------
    df : pandas.DataFrame
        Result table.
    columns : sequence of str
        Columns holding test or method names.

    Returns
    -------
    str
    """
    seen: list[str] = []
    for c in columns:
        if c in df.columns:
            seen += [str(v) for v in df[c].dropna() if str(v) and str(v) not in seen]
    return "; ".join(dict.fromkeys(seen))
