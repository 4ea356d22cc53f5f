"""Reading and writing tables: CSV, Parquet and XLSX, each with its data dictionary.

The format follows the file extension. Writes are atomic (temporary file in the same
folder, then rename), so an interrupted export never leaves a half-written table. The
data dictionary goes beside a CSV or Parquet file as ``<name>.dictionary.csv`` and into
a ``dictionary`` sheet of an XLSX workbook.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .dictionary import data_dictionary
from .errors import KyphoimgError
from .landmarks import _file_mode

__all__ = ["TABLE_FORMATS", "dictionary_path", "read_table", "write_table"]

TABLE_FORMATS = (".csv", ".parquet", ".xlsx")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise KyphoimgError(
            f"{path}: unknown table format {suffix or '(none)'!r}; use one of "
            + ", ".join(TABLE_FORMATS)
        )
    return suffix


def dictionary_path(path: str | os.PathLike[str]) -> Path:
    """Return where the data dictionary of a CSV/Parquet table is written."""
    path = Path(path)
    return path.with_name(path.stem + ".dictionary.csv")


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV, Parquet or XLSX table (first sheet); identifiers stay text.

    Raises
    ------
    KyphoimgError
        If the extension is unknown or the file cannot be read.
    """
    path = Path(path)
    suffix = _suffix(path)
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype={"patient_id": "string"})
        if suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_excel(path, sheet_name=0, dtype={"patient_id": "string"})
    except (OSError, ValueError) as exc:
        raise KyphoimgError(f"{path}: cannot read the table ({exc})") from None


def _atomic(path: Path, write: Callable[[str], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(
    table: pd.DataFrame, path: str | os.PathLike[str], *, dictionary: bool = True
) -> list[Path]:
    """Write a table in the format its extension names, atomically, with its dictionary.

    Parameters
    ----------
    table : pandas.DataFrame
        The table.
    path : path-like
        ``.csv``, ``.parquet`` or ``.xlsx``.
    dictionary : bool, optional
        Also write the data dictionary (default).

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    KyphoimgError
        If the extension is unknown.
    """
    path = Path(path)
    suffix = _suffix(path)
    written = [path]
    dic = data_dictionary(table.columns) if dictionary else None
    if suffix == ".csv":
        _atomic(path, lambda tmp: table.to_csv(tmp, index=False))
    elif suffix == ".parquet":
        _atomic(path, lambda tmp: _to_parquet(table, tmp))
    else:

        def xlsx(tmp: str) -> None:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                table.to_excel(xw, sheet_name="data", index=False)
                if dic is not None:
                    dic.to_excel(xw, sheet_name="dictionary", index=False)

        _atomic(path, xlsx)
    if dic is not None and suffix != ".xlsx":
        side = dictionary_path(path)
        _atomic(side, lambda tmp: dic.to_csv(tmp, index=False))
        written.append(side)
    return written


def _to_parquet(table: pd.DataFrame, tmp: str) -> None:
    # Object columns holding None and strings are written as strings.
    frame = table.copy()
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].astype("string")
    frame.to_parquet(tmp, index=False)
