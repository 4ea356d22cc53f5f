"""Input checks shared by the statistics functions, and the warning classes.

Every error is a :class:`kyphoimg.errors.StatsInputError` whose message names the
column concerned and says what to do about it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kyphoimg.errors import (
    EventsPerVariableWarning,
    SeparationWarning,
    StatsInputError,
    StatsWarning,
)

__all__ = [
    "EventsPerVariableWarning",
    "SeparationWarning",
    "StatsWarning",
    "as_binary",
    "as_frame",
    "as_numeric",
    "require_columns",
]


def as_frame(df: Any, arg: str = "df") -> pd.DataFrame:
    """Return ``df`` as a DataFrame or raise naming the argument."""
    if isinstance(df, pd.DataFrame):
        return df
    raise StatsInputError(
        f"{arg} must be a pandas DataFrame (got {type(df).__name__}); "
        "build one with pandas.read_csv or pandas.DataFrame"
    )


def require_columns(df: pd.DataFrame, columns: Iterable[Hashable], arg: str) -> None:
    """Raise if any of ``columns`` is missing from ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        available = ", ".join(map(str, list(df.columns)[:20]))
        raise StatsInputError(
            f"{arg}: column(s) {', '.join(map(repr, missing))} not in the table; "
            f"available columns: {available}. Fix the name or add the column."
        )


def as_numeric(
    series: pd.Series, column: Hashable, *, allow_all_missing: bool = False
) -> pd.Series:
    """Convert a column to float, refusing text that is not a number.

    Parameters
    ----------
    series : pandas.Series
        The column.
    column : hashable
        Its name, used in messages.
    allow_all_missing : bool, default False
        Return an all-NaN column instead of raising.

    Returns
    -------
    pandas.Series
        float64 values, NaN where missing.

    Raises
    ------
    StatsInputError
        A value is present but not numeric, or every value is missing.
    """
    if pd.api.types.is_bool_dtype(series):
        out = series.astype(float)
    else:
        out = pd.to_numeric(series, errors="coerce").astype(float)
    bad = out.isna() & series.notna()
    if bad.any():
        # Blank strings count as missing; anything else is a data error.
        blanks = series[bad].astype(str).str.strip().isin(["", "nan", "NaN", "NA"])
        bad = bad & ~bad.index.isin(series[bad][blanks].index)
    if bad.any():
        first = series[bad].index[0]
        raise StatsInputError(
            f"column {column!r}: non-numeric value {series[first]!r} at row {first!r} "
            f"({int(bad.sum())} such value(s)); correct or blank the value, or list "
            f"{column!r} as categorical"
        )
    if not allow_all_missing and out.notna().sum() == 0:
        raise StatsInputError(
            f"column {column!r}: every value is missing; fill it in or drop it from the analysis"
        )
    return out


def as_binary(
    values: Sequence[Any] | pd.Series | np.ndarray,
    positive: Any,
    column: Hashable,
) -> tuple[np.ndarray, np.ndarray]:
    """Code a two-class column as 0/1 with ``positive`` as 1.

    Parameters
    ----------
    values : array-like
        The outcome values; missing values are allowed.
    positive : object or None
        The value that marks the event. ``None`` is accepted when the values are
        boolean or the numbers 0 and 1 (then ``True``/``1`` is the event).
    column : hashable
        Name used in messages.

    Returns
    -------
    y : numpy.ndarray of float
        1.0 for the event, 0.0 otherwise, NaN where missing.
    present : numpy.ndarray of bool
        Where the value was not missing.

    Raises
    ------
    StatsInputError
        The column does not hold exactly two classes, or ``positive`` is absent or
        ambiguous.
    """
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    present = ~np.asarray(pd.isna(arr), dtype=bool)
    kept = arr if present.all() else arr[present]
    observed = pd.unique(kept)
    if len(observed) < 2:
        raise StatsInputError(
            f"outcome {column!r} has a single class ({', '.join(map(repr, observed)) or 'none'}) "
            "after removing missing values; both events and non-events are needed"
        )
    if len(observed) > 2:
        raise StatsInputError(
            f"outcome {column!r} has {len(observed)} classes ({', '.join(map(repr, observed[:6]))}"
            "); recode it to two classes"
        )
    if positive is None:
        as_set = {bool(v) if isinstance(v, (bool, np.bool_)) else v for v in observed}
        if as_set <= {0, 1}:
            positive = 1
        else:
            raise StatsInputError(
                f"outcome {column!r} has classes {sorted(map(str, observed))}; "
                "say which one is the event with positive=..."
            )
    matches = [v for v in observed if v == positive]
    if not matches:
        raise StatsInputError(
            f"positive={positive!r} is not one of the classes of {column!r} "
            f"({', '.join(map(repr, observed))}); pick one of them"
        )
    y = np.full(len(arr), np.nan)
    y[present] = np.asarray(kept == positive, dtype=float)
    return y, present
