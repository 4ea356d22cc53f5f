"""The report workbook: one formatted sheet per table (openpyxl).

Bold, frozen header row; column widths fitted to the content; numbers stored as numbers
with a number format (p-values print as 0.000 or <0.001); missing and infinite values
are empty cells; tables without rows get no sheet (a header-only one with
``keep_empty=True``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._tables import EXCEL_FORMATS, Table, fmt_cell

__all__ = ["write_workbook"]

_MAX_WIDTH = 60
_INVALID = "[]:*?/\\"


def _sheet_name(name: str, used: set[str]) -> str:
    for ch in _INVALID:
        name = name.replace(ch, "-")
    base = name[:31].strip() or "Sheet"
    out, i = base, 2
    while out.lower() in {u.lower() for u in used}:
        suffix = f" ({i})"
        out = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(out)
    return out


def _cell_value(value: Any) -> Any:
    """Return what the cell stores: numbers as numbers, nothing for NaN and inf."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        x = float(value)
        return None if math.isnan(x) or math.isinf(x) else x
    return str(value)


def _write_sheet(ws: Any, table: Table) -> None:
    from openpyxl.styles import Alignment, Font

    frame = table.frame
    ws.append([str(c) for c in frame.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [len(str(c)) for c in frame.columns]
    for row in frame.itertuples(index=False):
        ws.append([_cell_value(v) for v in row])
    for j, col in enumerate(frame.columns, start=1):
        kind = table.formats.get(col, "text")
        texts = [fmt_cell(v, kind) for v in frame[col]]
        widths[j - 1] = max([widths[j - 1], *(len(t) for t in texts)])
        number_format = EXCEL_FORMATS.get(kind)
        for i in range(2, len(frame) + 2):
            cell = ws.cell(row=i, column=j)
            if isinstance(cell.value, int | float) and number_format:
                cell.number_format = number_format
            elif isinstance(cell.value, str) and len(cell.value) > _MAX_WIDTH:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    from openpyxl.utils import get_column_letter

    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(_MAX_WIDTH, max(8, w + 2))
    ws.freeze_panes = "A2"


def write_workbook(
    path: Path,
    tables: Sequence[Table],
    messages: Sequence[str],
    skipped: Sequence[Mapping[str, str]] = (),
    *,
    keep_empty: bool = False,
) -> Path:
    """Write every non-empty table to its own formatted sheet, then the warnings.

    Parameters
    ----------
    path : pathlib.Path
        Target ``.xlsx`` file.
    tables : sequence of Table
        Report tables, in report order.
    messages : sequence of str
        Warnings; a "Warnings" sheet is written only when there are some.
    skipped : sequence of mapping, optional
        Sections and tables not estimated or not run (keys ``section``, ``table``,
        ``status``, ``reason``); a "Not estimable" sheet, first, lists them.
    keep_empty : bool, optional
        Also give a table without rows its sheet (its header row only), so that a
        workbook's sheets are the same whatever the data (default: no sheet).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    if skipped:
        frame = pd.DataFrame(
            [[r["section"], r.get("table", ""), r["status"], r["reason"]] for r in skipped],
            columns=["Section", "Table", "Status", "Reason"],
        )
        _write_sheet(wb.create_sheet(_sheet_name("Not estimable", used)), Table("", frame))
    for table in tables:
        if not len(table.frame.columns) or (table.frame.empty and not keep_empty):
            continue
        _write_sheet(wb.create_sheet(_sheet_name(table.sheet or table.title, used)), table)
    if messages:
        warn = Table("Warnings", pd.DataFrame({"Warning": list(dict.fromkeys(messages))}))
        _write_sheet(wb.create_sheet(_sheet_name("Warnings", used)), warn)
    if not wb.sheetnames:
        notice = Table("Report", pd.DataFrame({"Note": ["No analysis produced a table."]}))
        _write_sheet(wb.create_sheet("Report"), notice)
    wb.save(path)
    return path
