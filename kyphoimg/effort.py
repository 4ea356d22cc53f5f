"""Reading effort: what a reader did on each film, logged beside the reader's files.

One small append-only log per film and reader, ``<stem>.<rater>.effort.jsonl`` beside the
film's landmark file (``<stem>.effort.jsonl`` without a rater): one JSON object per line,
``{"t": <UTC seconds since 1970>, "kind": <event>, ...fields}``. The name does not end in
``.landmarks.json``, so scans and exports never read it, and nothing of it enters an
export's identifiers. Events (:data:`EFFORT_KINDS`):

- ``open`` / ``close``: the film was shown / left;
- ``click``: one click that placed or moved a point (``n`` clicks if given);
- ``proposed``: ``n`` points proposed by kyphoimg (``method``: e.g. ``"centres"``);
- ``confirmed``: ``n`` proposed points accepted unchanged;
- ``moved``: one point moved by the reader, by ``px`` pixels and ``mm`` millimetres
  (``mm`` absent when the film has no calibration).

:func:`film_effort` sums one log; active seconds are the gaps between consecutive events,
each gap longer than ``idle_seconds`` left out (the reader was away).
:func:`summarise_effort` gives one row per film and reader for a study folder and
:func:`effort_summary` the median and IQR of clicks and seconds per reader.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .dicom import FILM_SUFFIXES
from .errors import StudyError

__all__ = [
    "EFFORT_KINDS",
    "EFFORT_SUFFIX",
    "IDLE_SECONDS",
    "EffortLog",
    "effort_file_for",
    "effort_summary",
    "film_effort",
    "read_effort",
    "summarise_effort",
]

#: The events a log may hold.
EFFORT_KINDS = ("open", "close", "click", "proposed", "confirmed", "moved")
#: File name ending of an effort log.
EFFORT_SUFFIX = ".effort.jsonl"
#: Gaps between events longer than this (seconds) are idle time, not counted as active.
IDLE_SECONDS = 60.0

_LANDMARK_SUFFIX = ".landmarks.json"
_NAME = re.compile(
    r"^(?P<stem>.+?)(?:\.(?P<rater>[A-Za-z0-9][A-Za-z0-9_-]{0,39}))?\.effort\.jsonl$"
)


def effort_file_for(path: str | os.PathLike[str], rater: str | None = None) -> Path:
    """Return the effort log of a film (or of its landmark file) for a reader.

    Parameters
    ----------
    path : path-like
        The film (``pre.dcm``) or the reader's landmark file (``pre.AB.landmarks.json``).
    rater : str, optional
        The reader, when ``path`` is the film.

    Returns
    -------
    pathlib.Path
        ``<stem>.<rater>.effort.jsonl`` beside it.

    Examples
    --------
    >>> effort_file_for("P001/pre.dcm", "AB").as_posix()
    'P001/pre.AB.effort.jsonl'
    >>> effort_file_for("P001/pre.AB.landmarks.json").as_posix()
    'P001/pre.AB.effort.jsonl'
    """
    p = Path(path)
    if p.name.endswith(_LANDMARK_SUFFIX):
        return p.with_name(p.name[: -len(_LANDMARK_SUFFIX)] + EFFORT_SUFFIX)
    stem = p.stem if p.suffix.lower() in FILM_SUFFIXES else p.name
    infix = f".{rater}" if rater else ""
    return p.with_name(f"{stem}{infix}{EFFORT_SUFFIX}")


class EffortLog:
    """The append-only effort log of one film and reader.

    Parameters
    ----------
    path : path-like
        The log file (see :func:`effort_file_for`); created on the first record.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> log = EffortLog(pathlib.Path(tempfile.mkdtemp()) / "pre.AB.effort.jsonl")
    >>> log.record("click", t=0.0)
    >>> log.record("moved", t=5.0, px=3.0, mm=0.45)
    >>> film_effort(read_effort(log.path))["clicks"]
    1
    """

    __slots__ = ("path",)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"EffortLog({str(self.path)!r})"

    def record(self, kind: str, *, t: float | None = None, **fields: Any) -> None:
        """Append one event.

        Parameters
        ----------
        kind : str
            One of :data:`EFFORT_KINDS`.
        t : float, optional
            Its time, UTC seconds since 1970; default now.
        **fields
            JSON-serialisable values (``n``, ``px``, ``mm``, ``level``, ``point``,
            ``method``...).

        Raises
        ------
        StudyError
            If ``kind`` is unknown or a field cannot be written as JSON.
        """
        if kind not in EFFORT_KINDS:
            raise StudyError(
                f"{self.path}: unknown effort event {kind!r}; use one of {', '.join(EFFORT_KINDS)}"
            )
        event = {"t": round(time.time() if t is None else float(t), 3), "kind": kind, **fields}
        try:
            line = json.dumps(event, ensure_ascii=False, allow_nan=False) + "\n"
        except (TypeError, ValueError) as exc:
            raise StudyError(
                f"{self.path}: effort event {kind!r} has a field that is not a finite JSON "
                f"value ({exc}); pass numbers and strings only"
            ) from exc
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # one write of one whole line in append mode: earlier lines are never touched
        with open(self.path, "ab+") as fh:
            if fh.seek(0, os.SEEK_END) > 0:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    line = "\n" + line  # a line cut short by a crash stays alone on its line
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())


def read_effort(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read an effort log, skipping lines that are not whole events.

    Parameters
    ----------
    path : path-like
        The log.

    Returns
    -------
    list of dict
        The events in file order (a line cut short by a crash, or otherwise unreadable, is
        left out; every other line is kept).
    """
    events = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict) and isinstance(event.get("t"), (int, float)):
                events.append(event)
    return events


def _n(event: Mapping[str, Any]) -> int:
    n = event.get("n", 1)
    return int(n) if isinstance(n, (int, float)) and math.isfinite(n) else 1


def film_effort(
    events: Iterable[Mapping[str, Any]], *, idle_seconds: float = IDLE_SECONDS
) -> dict[str, Any]:
    """Sum one film's effort log.

    Parameters
    ----------
    events : iterable of mapping
        The log's events (:func:`read_effort`).
    idle_seconds : float, optional
        Gaps between consecutive events longer than this are not counted.

    Returns
    -------
    dict
        ``clicks``, ``proposed``, ``confirmed``, ``moved`` (counts), ``moved_px`` and
        ``moved_mm`` (median distance moved, NaN if none), ``active_s`` (seconds), and
        ``sessions`` (``open`` events).
    """
    evs = sorted(events, key=lambda e: float(e["t"]))
    counts = {k: 0 for k in ("click", "proposed", "confirmed", "moved", "open")}
    px: list[float] = []
    mm: list[float] = []
    for e in evs:
        kind = e.get("kind")
        if kind in counts:
            counts[kind] += _n(e) if kind != "moved" else 1
        if kind == "moved":
            for key, out in (("px", px), ("mm", mm)):
                if isinstance(e.get(key), (int, float)):
                    out.append(float(e[key]))
    times = np.array([float(e["t"]) for e in evs])
    gaps = np.diff(times) if len(times) > 1 else np.array([])
    active = float(gaps[gaps <= idle_seconds].sum())
    return {
        "clicks": counts["click"],
        "proposed": counts["proposed"],
        "confirmed": counts["confirmed"],
        "moved": counts["moved"],
        "moved_px": float(np.median(px)) if px else float("nan"),
        "moved_mm": float(np.median(mm)) if mm else float("nan"),
        "active_s": round(active, 3),
        "sessions": counts["open"],
    }


def summarise_effort(
    folder: str | os.PathLike[str], *, idle_seconds: float = IDLE_SECONDS
) -> pd.DataFrame:
    """Return one row per film and reader from every effort log under a folder.

    Parameters
    ----------
    folder : path-like
        The study folder (searched recursively for ``*.effort.jsonl``).
    idle_seconds : float, optional
        See :func:`film_effort`.

    Returns
    -------
    pandas.DataFrame
        Columns ``film`` (the log's path relative to ``folder`` without the suffix and
        rater), ``rater`` (None for a single-reader study), then :func:`film_effort`'s
        keys; sorted by film and rater.

    Raises
    ------
    StudyError
        If ``folder`` is not a folder.
    """
    root = Path(folder)
    if not root.is_dir():
        raise StudyError(f"{root}: not a folder; give the study folder holding the films")
    rows = []
    for path in sorted(root.rglob(f"*{EFFORT_SUFFIX}")):
        m = _NAME.match(path.name)
        if m is None:
            continue
        film = (path.parent / m["stem"]).relative_to(root).as_posix()
        row: dict[str, Any] = {"film": film, "rater": m["rater"]}
        row.update(film_effort(read_effort(path), idle_seconds=idle_seconds))
        rows.append(row)
    columns = ["film", "rater", "clicks", "proposed", "confirmed", "moved", "moved_px"]
    columns += ["moved_mm", "active_s", "sessions"]
    return pd.DataFrame(rows, columns=columns)


def effort_summary(per_film: pd.DataFrame) -> pd.DataFrame:
    """Return the median and IQR of clicks and active seconds per film, per reader.

    Parameters
    ----------
    per_film : pandas.DataFrame
        :func:`summarise_effort`'s table.

    Returns
    -------
    pandas.DataFrame
        One row per reader (``rater``; ``"-"`` for a single-reader study): ``films``,
        ``clicks_median``, ``clicks_q1``, ``clicks_q3``, ``seconds_median``,
        ``seconds_q1``, ``seconds_q3``, ``moved_total``, ``confirmed_total``.
    """
    rows = []
    df = per_film.assign(rater=per_film["rater"].fillna("-"))
    for rater, g in df.groupby("rater", sort=True):
        row: dict[str, Any] = {"rater": rater, "films": len(g)}
        for col, name in (("clicks", "clicks"), ("active_s", "seconds")):
            q1, med, q3 = np.percentile(g[col].astype(float), [25, 50, 75])
            row |= {f"{name}_median": med, f"{name}_q1": q1, f"{name}_q3": q3}
        row |= {"moved_total": int(g["moved"].sum()), "confirmed_total": int(g["confirmed"].sum())}
        rows.append(row)
    return pd.DataFrame(rows)
