"""Assign the films of a cohort index to surgical time points (pre, post, last).

The rules, per patient, with the film date taken from Study Date (falling back to
Acquisition Date) and ``d`` the number of days from surgery to the film:

- ``pre``: the films of the latest date with ``d < 0``;
- ``post``: the films of the earliest date with ``1 <= d <= post_window_days``;
- ``last``: the films of the latest date with ``d > post_window_days`` (the last
  follow-up);
- every other film has no time point.

Nothing is guessed: a film on the surgery day (``d == 0``) gets no time point, because
without the surgery time it may be either side; several films on the date chosen for a
time point all get it and are flagged; a patient without a surgery date gets none. Each
case is named in ``timepoint_flag`` (see :data:`TIMEPOINT_FLAGS`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from .errors import TimepointError, TimepointInputError

__all__ = [
    "TIMEPOINTS",
    "TIMEPOINT_FLAGS",
    "TimepointInputError",
    "assign_timepoints",
    "normalise_timepoint",
    "timepoint_vocabulary",
]

#: Time points assigned, in order; also the default vocabulary of a study.
TIMEPOINTS: tuple[str, ...] = ("pre", "post", "last")

#: Flags written to ``timepoint_flag`` (several are joined with ``;``).
TIMEPOINT_FLAGS: Mapping[str, str] = {
    "not_ok": "the index row's status is not 'ok': never given a time point",
    "no_patient_id": "the film has no patient id",
    "no_surgery_date": "the patient is missing from the surgery table or has no valid date",
    "several_surgery_dates": "the surgery table gives the patient several dates: none used",
    "no_film_date": "the film has neither a valid Study Date nor Acquisition Date",
    "surgery_day": "the film is dated on the surgery day: pre or post cannot be told",
    "several_pre": "several films on the pre-op date: all marked pre, choose one",
    "several_post": "several films on the post-op date: all marked post, choose one",
    "several_last": "several films on the last follow-up date: all marked last, choose one",
    "no_pre": "the patient has no film before surgery (on every film of the patient)",
    "no_post": "the patient has no film within the post-op window (on every film)",
    "no_last": "the patient has no film after the post-op window (on every film)",
}


def timepoint_vocabulary(extra: Iterable[str] | None = None) -> tuple[str, ...]:
    """Return a study's time points in chronological order: pre, post, last and its own.

    Parameters
    ----------
    extra : iterable of str, optional
        The study's own time points (``"6m"``, ``"12m"``), or a whole chronological order
        that already lists ``pre``/``post``/``last`` where they belong. Names are
        normalised (case, surrounding and repeated whitespace).

    Returns
    -------
    tuple of str
        When ``extra`` names none of pre/post/last, they come first and the study's own
        follow; otherwise ``extra`` is the order as given. Duplicates are dropped.

    Raises
    ------
    TimepointInputError
        If a name is empty.

    Examples
    --------
    >>> timepoint_vocabulary(["6m", "12M "])
    ('pre', 'post', 'last', '6m', '12m')
    >>> timepoint_vocabulary(["pre", "post", "6m", "last"])
    ('pre', 'post', '6m', 'last')
    """
    names = [_clean_timepoint(t) for t in (extra or ())]
    if any(not n for n in names):
        raise TimepointInputError("a time point name is empty; name every time point")
    order = names if set(names) & set(TIMEPOINTS) else [*TIMEPOINTS, *names]
    return tuple(dict.fromkeys(order))


def _clean_timepoint(value: object) -> str:
    return " ".join(str(value).split()).lower()


def normalise_timepoint(
    value: object, vocabulary: Sequence[str] = TIMEPOINTS, *, where: str | None = None
) -> str:
    """Return a time point name in its canonical form, refusing names outside the study's.

    Case and whitespace are normalised (``" Pre"`` is ``pre``); anything else that is not
    in ``vocabulary`` is refused, so a typo never becomes a time point of its own.

    Parameters
    ----------
    value : object
        The name as typed or read from a file.
    vocabulary : sequence of str, optional
        The study's time points (default pre, post, last; see
        :func:`timepoint_vocabulary`).
    where : str, optional
        The file or row the name comes from, named in the message.

    Returns
    -------
    str
        The canonical name, an element of ``vocabulary``.

    Raises
    ------
    TimepointError
        If the name is missing or not in the vocabulary; the message names ``where`` and
        lists the allowed names.

    Examples
    --------
    >>> normalise_timepoint(" Post ")
    'post'
    """
    allowed = ", ".join(vocabulary)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise TimepointError(f"no time point; choose one of {allowed}", file=where)
    name = _clean_timepoint(value)
    if name not in vocabulary:
        raise TimepointError(
            f"time point {value!r} is not one of the study's time points ({allowed}); "
            "choose one of those, or add it to the study's time points (--timepoints)",
            file=where,
        )
    return name


def _require(df: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = ", ".join(map(str, df.columns)) or "no columns"
        raise TimepointInputError(
            f"{name} table lacks column(s) {', '.join(missing)}; it has {have}"
        )


def _norm_id(value: Any) -> str | None:
    """Normalise a patient id so ``77654033``, ``77654033.0`` and ``" 77654033"`` agree."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _to_dates(values: pd.Series) -> pd.Series:
    """Parse dates (datetime, ``YYYY-MM-DD`` or ``YYYYMMDD`` text) to midnight timestamps."""
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        text = values.astype("string").str.strip()
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    return pd.to_datetime(parsed, errors="coerce").dt.normalize()


def _film_dates(index: pd.DataFrame) -> pd.Series:
    dates = pd.Series(pd.NaT, index=index.index, dtype="datetime64[s]")
    for column in ("acquisition_date", "study_date"):  # study date wins where present
        if column in index.columns:
            parsed = _to_dates(index[column]).astype("datetime64[s]")
            dates = parsed.where(parsed.notna(), dates)
    return dates


def _surgery_dates(surgery: pd.DataFrame) -> tuple[dict[str, pd.Timestamp], set[str]]:
    """Map patient id -> surgery date; also return ids with conflicting dates."""
    ids = [_norm_id(v) for v in surgery["patient_id"]]
    dates = _to_dates(surgery["surgery_date"])
    by_id: dict[str, set[pd.Timestamp]] = {}
    for pid, date in zip(ids, dates, strict=True):
        if pid is not None and not pd.isna(date):
            by_id.setdefault(pid, set()).add(date)
    conflicting = {pid for pid, ds in by_id.items() if len(ds) > 1}
    unique = {pid: next(iter(ds)) for pid, ds in by_id.items() if len(ds) == 1}
    return unique, conflicting


def _assign_patient(days: pd.Series, window: int) -> tuple[dict[Any, str], dict[Any, list[str]]]:
    """Time points and flags of one patient's dated films (``days`` indexed by row)."""
    timepoint: dict[Any, str] = {}
    flags: dict[Any, list[str]] = {i: [] for i in days.index}
    for i in days.index[days == 0]:
        flags[i].append("surgery_day")
    choices = {
        "pre": days[days < 0].max() if (days < 0).any() else None,
        "post": days[(days >= 1) & (days <= window)].min()
        if ((days >= 1) & (days <= window)).any()
        else None,
        "last": days[days > window].max() if (days > window).any() else None,
    }
    patient_flags = [f"no_{tp}" for tp in TIMEPOINTS if choices[tp] is None]
    for tp in TIMEPOINTS:
        chosen = choices[tp]
        if chosen is None:
            continue
        rows = days.index[days == chosen]
        for i in rows:
            timepoint[i] = tp
            if len(rows) > 1:
                flags[i].append(f"several_{tp}")
    for i in days.index:
        flags[i].extend(patient_flags)
    return timepoint, flags


def assign_timepoints(
    index: pd.DataFrame, surgery: pd.DataFrame, *, post_window_days: int = 14
) -> pd.DataFrame:
    """Assign each film of a cohort index to ``pre``, ``post`` or ``last``.

    Parameters
    ----------
    index : pandas.DataFrame
        One row per film, as :func:`kyphoimg.scan` returns it: needs ``patient_id`` and
        ``study_date`` and/or ``acquisition_date`` (datetimes or ``YYYY-MM-DD`` /
        ``YYYYMMDD`` text); rows whose ``status`` (when present) is not ``ok`` are
        never assigned.
    surgery : pandas.DataFrame
        Columns ``patient_id`` and ``surgery_date``; one date per patient.
    post_window_days : int, optional
        The post-operative film is the first one 1 to ``post_window_days`` days after
        surgery (default 14); later films are follow-ups.

    Returns
    -------
    pandas.DataFrame
        A copy of ``index`` (same index and row order) with three more columns:
        ``days_from_surgery`` (nullable integer), ``timepoint`` (``pre``, ``post``,
        ``last`` or missing) and ``timepoint_flag`` (``;``-joined names from
        :data:`TIMEPOINT_FLAGS`, empty when nothing is ambiguous or missing).

    Raises
    ------
    TimepointInputError
        If a required column is missing or ``post_window_days`` is not a positive
        integer.

    Examples
    --------
    >>> import pandas as pd
    >>> index = pd.DataFrame({
    ...     "patient_id": ["P1", "P1", "P1", "P1"],
    ...     "study_date": ["2024-01-03", "2024-01-10", "2024-01-11", "2024-07-01"],
    ... })
    >>> surgery = pd.DataFrame({"patient_id": ["P1"], "surgery_date": ["2024-01-10"]})
    >>> assign_timepoints(index, surgery)["timepoint"].tolist()
    ['pre', nan, 'post', 'last']
    """
    if isinstance(post_window_days, bool) or not isinstance(post_window_days, int):
        raise TimepointInputError(f"post_window_days={post_window_days!r} must be an integer")
    if post_window_days < 1:
        raise TimepointInputError(f"post_window_days={post_window_days} must be at least 1")
    _require(index, ["patient_id"], "index")
    if not {"study_date", "acquisition_date"} & set(index.columns):
        raise TimepointInputError(
            "index table needs a study_date or acquisition_date column (as kyphoimg.scan gives)"
        )
    _require(surgery, ["patient_id", "surgery_date"], "surgery")

    # not Series.map: string dtypes skip missing values instead of passing them
    ids = pd.Series([_norm_id(v) for v in index["patient_id"]], index=index.index, dtype=object)
    film_dates = _film_dates(index)
    ok = (
        index["status"].astype("string").eq("ok").fillna(False)
        if "status" in index.columns
        else pd.Series(True, index=index.index)
    )
    surgery_on, conflicting = _surgery_dates(surgery)

    flags: dict[Any, list[str]] = {i: [] for i in index.index}
    timepoint: dict[Any, str] = {}
    days = pd.Series(pd.NA, index=index.index, dtype="Int64")
    for i in index.index:
        pid = ids[i]
        if not ok[i]:
            flags[i].append("not_ok")
        elif pid is None:
            flags[i].append("no_patient_id")
        elif pid in conflicting:
            flags[i].append("several_surgery_dates")
        elif pid not in surgery_on:
            flags[i].append("no_surgery_date")
        elif pd.isna(film_dates[i]):
            flags[i].append("no_film_date")
        else:
            days[i] = int((film_dates[i] - surgery_on[pid]).days)
    dated = days.notna()
    for _, rows in days[dated].groupby(ids[dated], sort=False):
        tp, fl = _assign_patient(rows.astype(int), post_window_days)
        timepoint.update(tp)
        for i, names in fl.items():
            flags[i].extend(names)

    out = index.copy()
    out["days_from_surgery"] = days
    out["timepoint"] = pd.Series(
        [timepoint.get(i) for i in index.index], index=index.index, dtype="str"
    )
    out["timepoint_flag"] = pd.Series(
        [";".join(_unique(flags[i])) for i in index.index], index=index.index, dtype="str"
    )
    return out


def _unique(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))
