"""Patients a run could not measure: films unreadable or refused, from ``films.csv``.

``kyphoimg run`` gives every film file a status (``kyphoimg.batch.FILM_STATUSES``). A
film that is ``unreadable``, ``not_dicom`` or ``refused`` gives no measure: its patient
is either missing from the features table (excluded from every analysis) or analysed
without that time point. The report names them in its Data section, with the reason,
and counts the excluded patients in Table 1's Missing column.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["EXCLUDING", "excluded_films", "n_excluded_patients"]

#: Film statuses that give no measure.
EXCLUDING = ("unreadable", "not_dicom", "refused")

_COLUMNS = ["patient", "timepoint", "film", "status", "reason", "analysed"]


def _text(value: Any) -> str:
    return "" if pd.isna(value) else str(value)


def excluded_films(folder: Path, analysed: Iterable[Any]) -> pd.DataFrame:
    """Return the films of a run folder that gave no measure, and whose patient they are.

    Parameters
    ----------
    folder : pathlib.Path
        The run folder (the study file's folder); nothing is found when it holds no
        ``films.csv``.
    analysed : iterable
        Identifiers of the patients in the analysed table.

    Returns
    -------
    pandas.DataFrame
        Columns ``patient, timepoint, film, status, reason, analysed``; ``analysed`` is
        ``"no (excluded)"`` when the patient is in no analysis, else ``"yes, without
        this film"``. One row per film, sorted by patient and time point.
    """
    path = Path(folder) / "films.csv"
    if not path.is_file():
        return pd.DataFrame(columns=_COLUMNS)
    films = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not {"status", "patient_id"} <= set(films.columns):
        return pd.DataFrame(columns=_COLUMNS)
    bad = films[films["status"].isin(EXCLUDING)]
    ids = {str(a) for a in analysed}
    rows = [
        {
            "patient": _text(r.get("patient_id")) or "(unknown patient)",
            "timepoint": _text(r.get("timepoint")),
            "film": _text(r.get("dicom")),
            "status": r["status"],
            "reason": _text(r.get("reason")),
            "analysed": "yes, without this film"
            if _text(r.get("patient_id")) in ids
            else "no (excluded)",
        }
        for _, r in bad.iterrows()
    ]
    out = pd.DataFrame(rows, columns=_COLUMNS)
    return out.sort_values(["patient", "timepoint"], kind="stable").reset_index(drop=True)


def n_excluded_patients(films: pd.DataFrame) -> int:
    """Return how many patients are in no analysis because of their films.

    Parameters
    ----------
    films : pandas.DataFrame
        The result of :func:`excluded_films`.

    Returns
    -------
    int
    """
    gone = films.loc[films["analysed"] == "no (excluded)", "patient"]
    return int(gone.nunique())
