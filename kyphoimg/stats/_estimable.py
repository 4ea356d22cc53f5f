"""Sections and tables that cannot be estimated on the data: one reason, every output.

A statistic that cannot be estimated raises :class:`kyphoimg.errors.NotEstimableError`
with the reason. Some libraries fail on such data with their own exceptions instead
(pingouin's Mauchly test divides by zero with a group of two, a singular matrix raises
``LinAlgError``, statsmodels raises ``PerfectSeparationError``, a constant column a
``ValueError``). :func:`translated` turns exactly those, raised inside one statistical
call, into a :class:`NotEstimableError` whose reason the caller (the section, which
knows the data) writes; a ``TypeError``, ``KeyError`` or any other exception is a
programming error and passes through.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from kyphoimg.errors import KyphoimgError, NotEstimableError

__all__ = [
    "complete_case_reason",
    "model_reason",
    "not_estimable_html",
    "translated",
]


@functools.cache
def _library_failures() -> tuple[type[BaseException], ...]:
    """Exceptions a statistics library raises when the data do not allow an estimate."""
    found: list[type[BaseException]] = [ZeroDivisionError, np.linalg.LinAlgError, ValueError]
    try:
        from statsmodels.tools.sm_exceptions import PerfectSeparationError
    except ImportError:  # pragma: no cover - statsmodels is a dependency of the extra
        pass
    else:
        found.append(PerfectSeparationError)
    return tuple(found)


def __getattr__(name: str) -> tuple[type[BaseException], ...]:
    # LIBRARY_FAILURES is built on first use: importing kyphoimg.stats must not load
    # statsmodels (tests/stats/test_api.py holds the import cost).
    if name == "LIBRARY_FAILURES":
        return _library_failures()
    raise AttributeError(name)


@contextmanager
def translated(reason: Callable[[BaseException], str]) -> Iterator[None]:
    """Turn a library's failure on unestimable data into a :class:`NotEstimableError`.

    Parameters
    ----------
    reason : callable
        Called with the library's exception; returns the reason for a reader ("group
        'maintained' has 2 patients with every time point; sphericity needs 3").

    Yields
    ------
    None

    Raises
    ------
    NotEstimableError
        When the block raised one of :data:`LIBRARY_FAILURES` that is not one of
        kyphoimg's own errors (those pass through unchanged, as does anything else).
    """
    try:
        yield
    except KyphoimgError:
        raise
    except Exception as exc:
        if isinstance(exc, _library_failures()):
            raise NotEstimableError(reason(exc)) from exc
        raise


def not_estimable_html(reason: str) -> str:
    """Return the HTML block that stands for a section or table not estimated.

    Parameters
    ----------
    reason : str
        Why (the :class:`NotEstimableError` message).

    Returns
    -------
    str
        ``Not estimable: <reason>`` in a grey box.
    """
    return f'<div class="notrun"><b>Not estimable:</b> {html.escape(reason)}</div>'


def complete_case_reason(
    long: pd.DataFrame,
    subject: Hashable,
    time: Hashable,
    value: Hashable,
    group: Hashable | None,
    order: Sequence[Hashable],
    exc: BaseException,
    name: Callable[[Any], str] = str,
) -> str:
    """Explain why a repeated-measures analysis failed, from its complete cases.

    Parameters
    ----------
    long : pandas.DataFrame
        The long table analysed (one row per subject × time point).
    subject, time, value : hashable
        Its subject, time and measure columns.
    group : hashable, optional
        Its between-subject group column.
    order : sequence
        Time points analysed.
    exc : BaseException
        What the library raised.
    name : callable, optional
        Display name of a group value.

    Returns
    -------
    str
        The smallest group and its number of patients with every time point, and what
        the test needs; the library's message when every group is large enough.
    """
    times = [t for t in order if t in set(long[time].astype(object))] or list(order)
    d = long[long[time].isin(times)]
    wide = d.pivot_table(index=subject, columns=time, values=value, aggfunc="first")
    complete = wide.reindex(columns=times).dropna().index
    sizes: dict[Any, int] = {}
    if group is not None and group in d.columns:
        per = d.drop_duplicates(subject).set_index(subject)[group]
        for g in per.dropna().unique():
            sizes[g] = int(per.index[per == g].isin(complete).sum())
    else:
        sizes["all"] = len(complete)
    g, n = min(sizes.items(), key=lambda kv: kv[1]) if sizes else ("all", 0)
    who = "the study" if g == "all" else f"group {name(g)!r}"
    tps = ", ".join(map(str, times))
    if n < 3:
        return (
            f"{who} has {n} patient(s) with a value at every time point ({tps}); "
            "the repeated-measures test and its sphericity check need at least 3"
        )
    return f"{who}: the repeated-measures test failed on these data ({type(exc).__name__}: {exc})"


def model_reason(
    rows: pd.DataFrame,
    columns: Sequence[Hashable],
    exc: BaseException,
    name: Callable[[Any], str] = str,
) -> str:
    """Explain why a model or coefficient failed: the variables with a single value.

    Parameters
    ----------
    rows : pandas.DataFrame
        The table analysed.
    columns : sequence of hashable
        The outcome and the variables of the analysis.
    exc : BaseException
        What the library raised.
    name : callable, optional
        Display name of a column.

    Returns
    -------
    str
        The variables that take a single value among the complete cases (nothing can be
        estimated for them), else the library's message.
    """
    cols = [c for c in columns if c in rows.columns]
    complete = rows[cols].dropna()
    constant = [c for c in cols if complete[c].nunique() <= 1]
    if len(complete) < 2:
        return f"{len(complete)} complete case(s) for {', '.join(map(name, cols))}"
    if constant:
        return (
            f"{', '.join(map(name, constant))} take(s) a single value among the "
            f"{len(complete)} complete cases, so no effect can be estimated"
        )
    return f"cannot be fitted on these data ({type(exc).__name__}: {exc})"
