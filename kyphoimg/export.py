"""Reading and writing tables: CSV, Parquet and XLSX, each with its data dictionary.

The format follows the file extension. Writes are atomic (temporary file in the same
folder, then rename), so an interrupted export never leaves a half-written table. The
data dictionary goes beside a CSV or Parquet file as ``<name>.dictionary.csv`` and into
a ``dictionary`` sheet of an XLSX workbook.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from .atomic import atomic_write
from .dictionary import data_dictionary
from .errors import KyphoimgError

__all__ = [
    "DIRECT_IDENTIFIER_COLUMNS",
    "TABLE_FORMATS",
    "dictionary_path",
    "drop_identifiers",
    "is_kyphoimg_table",
    "pseudonym",
    "pseudonymise",
    "read_table",
    "write_dictionary",
    "write_table",
]

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
    """Return where the data dictionary of a CSV/Parquet table is written.

    Parameters
    ----------
    path : str or os.PathLike
        The table's path. Its extension is not checked.

    Returns
    -------
    pathlib.Path
        ``<stem>.dictionary.csv`` in the table's folder (``out/measures.parquet`` gives
        ``out/measures.dictionary.csv``). An XLSX workbook keeps its dictionary in a
        sheet instead, so nothing is written here for it.

    Examples
    --------
    >>> dictionary_path("out/measures.parquet").as_posix()
    'out/measures.dictionary.csv'
    """
    path = Path(path)
    return path.with_name(path.stem + ".dictionary.csv")


def is_kyphoimg_table(path: str | os.PathLike[str], columns: Iterable[str] = ()) -> bool:
    """Tell whether a table file looks written by kyphoimg (so a command may replace it).

    Parameters
    ----------
    path : str or os.PathLike
        An existing CSV, Parquet or XLSX file.
    columns : iterable of str, optional
        For tables written without a data dictionary (the errors table): the file is
        kyphoimg's when its columns are exactly these.

    Returns
    -------
    bool
        True when its data dictionary is beside it (CSV, Parquet) or in its
        ``dictionary`` sheet (XLSX), or its columns are ``columns``. A file that cannot
        be read is not kyphoimg's.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet") and dictionary_path(path).is_file():
        return True
    try:
        if suffix == ".xlsx":
            with pd.ExcelFile(path) as book:
                if "dictionary" in book.sheet_names:
                    return True
        wanted = list(columns)
        return bool(wanted) and list(read_table(path).columns) == wanted
    except Exception:  # unreadable, or not a table: not ours
        return False


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV, Parquet or XLSX table (first sheet); identifiers stay text.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.csv``, ``.parquet`` or ``.xlsx`` file (extension case-insensitive).

    Returns
    -------
    pandas.DataFrame
        The table. From CSV and XLSX, ``patient_id`` (when present) is read with the
        pandas ``string`` dtype so ids such as ``007`` keep their leading zeros; Parquet
        keeps the dtypes stored in the file. Of an XLSX workbook only the first sheet
        (the data, as :func:`write_table` writes it) is read.

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


def write_table(
    table: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    dictionary: bool = True,
    entries: Mapping[str, tuple[str, str, str, str]] | None = None,
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
    entries : mapping, optional
        Columns the table defines itself, for its dictionary (see
        :func:`kyphoimg.dictionary.describe_column`).

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
    dic = data_dictionary(table.columns, entries) if dictionary else None
    if suffix == ".csv":
        atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))
    elif suffix == ".parquet":
        atomic_write(path, lambda tmp: _to_parquet(table, tmp))
    else:

        def xlsx(tmp: str) -> None:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                table.to_excel(xw, sheet_name="data", index=False)
                if dic is not None:
                    dic.to_excel(xw, sheet_name="dictionary", index=False)

        atomic_write(path, xlsx)
    if dic is not None and suffix != ".xlsx":
        written.append(write_dictionary(table.columns, path, entries))
    return written


def write_dictionary(
    columns: Iterable[str],
    path: str | os.PathLike[str],
    entries: Mapping[str, tuple[str, str, str, str]] | None = None,
) -> Path:
    """Write the data dictionary of ``columns`` beside the table ``path``, atomically.

    Parameters
    ----------
    columns : iterable of str
        The table's columns.
    path : str or os.PathLike
        The table the dictionary describes.
    entries : mapping, optional
        Columns the table defines itself (see :func:`kyphoimg.dictionary.describe_column`).

    Returns
    -------
    pathlib.Path
        The dictionary file (see :func:`dictionary_path`).
    """
    side = dictionary_path(path)
    dic = data_dictionary(columns, entries)
    atomic_write(side, lambda tmp: dic.to_csv(tmp, index=False))
    return side


def _to_parquet(table: pd.DataFrame, tmp: str) -> None:
    # Object columns holding None and strings are written as strings.
    frame = table.copy()
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].astype("string")
    frame.to_parquet(tmp, index=False)


# ----------------------------------------------------------------------------- identifiers
#: Column names treated as direct identifiers (case-insensitive, spaces/dashes as "_").
DIRECT_IDENTIFIER_COLUMNS: frozenset[str] = frozenset(
    {
        "name",
        "patient_name",
        "patientname",
        "first_name",
        "last_name",
        "surname",
        "given_name",
        "birth_date",
        "date_of_birth",
        "dob",
        "patient_birth_date",
        "address",
        "patient_address",
        "street",
        "postcode",
        "zip",
        "phone",
        "telephone",
        "email",
        "e_mail",
        "mrn",
        "medical_record_number",
        "ssn",
        "national_id",
        "insurance_number",
    }
)


def _norm(col: str) -> str:
    return str(col).strip().lower().replace(" ", "_").replace("-", "_")


def drop_identifiers(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Remove columns whose names mark direct identifiers (names, birth dates, addresses...).

    Parameters
    ----------
    table : pandas.DataFrame
        Any table. A column is dropped when its name, stripped, lower-cased and with
        spaces and dashes as ``_``, is in :data:`DIRECT_IDENTIFIER_COLUMNS`
        (``"Date of Birth"`` matches ``date_of_birth``). ``patient_id`` is kept; use
        :func:`pseudonymise` for it. The input is not modified.

    Returns
    -------
    table : pandas.DataFrame
        Without those columns.
    dropped : list of str
        The columns removed, so the caller can say so.
    """
    dropped = [c for c in table.columns if _norm(c) in DIRECT_IDENTIFIER_COLUMNS]
    return table.drop(columns=dropped), dropped


def pseudonym(patient_id: str, salt: str) -> str:
    """Salted-hash key of a patient id: ``"PS-"`` and 12 hex digits of HMAC-SHA256.

    The same id and salt always give the same key; without the salt the key cannot be
    traced back by hashing candidate ids.

    Parameters
    ----------
    patient_id : str
        The patient identifier (other values are converted with ``str``).
    salt : str
        Secret key of the HMAC; keep it apart from the exported data.

    Returns
    -------
    str
        ``"PS-"`` followed by the first 12 lower-case hex digits of the digest.

    Examples
    --------
    >>> pseudonym("P001", "s3cret") == pseudonym("P001", "s3cret")
    True
    >>> pseudonym("P001", "s3cret") != pseudonym("P001", "other")
    True
    """
    import hashlib
    import hmac

    digest = hmac.new(salt.encode(), str(patient_id).encode(), hashlib.sha256).hexdigest()
    return f"PS-{digest[:12]}"


def pseudonymise(
    tables: dict[str, pd.DataFrame], salt: str, *, text_columns: tuple[str, ...] = ()
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Replace ``patient_id`` in every table by its salted-hash key.

    Parameters
    ----------
    tables : dict of str to DataFrame
        Tables to pseudonymise (those without ``patient_id`` pass through).
    salt : str
        Secret salt; keep it (and the key table) apart from the exported data.
    text_columns : tuple of str
        Further text columns (file paths) in which each original id is replaced by its key,
        since folder and file names often carry the patient id.

    Returns
    -------
    tables : dict of str to DataFrame
        Copies with pseudonymised ids.
    key_table : pandas.DataFrame
        Columns ``patient_id, pseudonym``: the only link back; write it separately.
    """
    ids: set[str] = set()
    for t in tables.values():
        if "patient_id" in t:
            ids.update(str(x) for x in t["patient_id"].dropna())
    key = {pid: pseudonym(pid, salt) for pid in sorted(ids)}
    # Longest ids first, so "P1" does not replace the start of "P10".
    ordered = sorted(key, key=len, reverse=True)
    out = {}
    for name, t in tables.items():
        t = t.copy()
        if "patient_id" in t:
            t["patient_id"] = t["patient_id"].map(
                lambda x: key.get(str(x), x) if pd.notna(x) else x
            )
        for col in text_columns:
            if col in t:
                t[col] = t[col].map(lambda s: _replace_ids(s, ordered, key))
        out[name] = t
    key_table = pd.DataFrame({"patient_id": list(key), "pseudonym": list(key.values())})
    return out, key_table


def _replace_ids(value: object, ordered: list[str], key: dict[str, str]) -> object:
    if not isinstance(value, str):
        return value
    for pid in ordered:
        if pid and pid in value:
            value = value.replace(pid, key[pid])
    return value
