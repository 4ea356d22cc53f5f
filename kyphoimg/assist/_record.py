"""Which points of a landmark file were proposed by kyphoimg and which the reader confirmed.

The record is one top-level key of the landmark file, ``"assist"``, which the schema
``kyphoimg-landmarks/1`` does not define: it is carried in :attr:`LandmarkSet.extra` and
survives every load/save round trip unchanged (unknown keys are kept), so the schema
version stays. Its form::

    "assist": {
      "method": "kyphoimg 0.x assist.propagate",
      "proposed": {"L1": {"ant_sup": [512.0, 300.5], ...}, ...},
      "confidence": {"L1": {"ant_sup": 0.93, ...}, ...},
      "review": {"L1": ["ant_sup", ...], ...}
    }

``proposed`` holds, per level, the points placed by kyphoimg that no reader has confirmed
yet, with the coordinates kyphoimg gave them. A point is **confirmed** when it is not
listed there, or when its coordinates in the file differ from the proposed ones (a reader
moved it: whatever tool moved it, the edit counts). :func:`confirm` removes points from
``proposed`` (the reader accepted them as they are); when none is left the key goes.
The flat CSV form does not carry this record; use the JSON files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..landmarks import LandmarkSet

#: The top-level key of the landmark file holding the record.
ASSIST_KEY = "assist"
#: Two coordinates closer than this (pixels) are the same: the point was not moved.
_SAME = 1e-6


def mark_proposed(
    ls: LandmarkSet,
    result: Any,
    *,
    levels: Iterable[str] | None = None,
    keep_confirmed: bool = True,
) -> LandmarkSet:
    """Return ``result``'s landmarks with the record of which points kyphoimg proposed.

    Parameters
    ----------
    ls : LandmarkSet
        The reader's set for the film, possibly empty or partly placed (its fields,
        points and extra keys are kept).
    result : RefineResult or PropagateResult
        The proposal (its ``landmarks``, ``confidence``, ``needs_review``, ``method``).
    levels : iterable of str, optional
        Levels to take from the proposal; default every level of it.
    keep_confirmed : bool, optional
        Keep the points the reader placed or confirmed (default). False replaces them
        too: the reader asked to refine their own rough points.

    Returns
    -------
    LandmarkSet
        ``ls`` with the proposed points added (or replacing unconfirmed ones) and the
        ``"assist"`` record updated.

    Raises
    ------
    ValueError
        If the proposal's scheme differs from the set's.
    """
    proposal: LandmarkSet = result.landmarks
    if ls.points and proposal.scheme != ls.scheme:
        raise ValueError(
            f"the proposal uses scheme {proposal.scheme!r} but the set uses {ls.scheme!r}"
        )
    wanted = set(proposal.levels if levels is None else levels)
    done = confirmed(ls) if keep_confirmed else {}
    record = _record(ls)
    points = {lv: dict(pts) for lv, pts in ls.points.items()}
    for level, pts in proposal.points.items():
        if level not in wanted:
            continue
        for name, (r, c) in pts.items():
            if name in done.get(level, ()):
                continue
            points.setdefault(level, {})[name] = (r, c)
            record["proposed"].setdefault(level, {})[name] = [float(r), float(c)]
            conf = result.confidence.get(level, {}).get(name)
            if conf is not None:
                record["confidence"].setdefault(level, {})[name] = round(float(conf), 4)
            review = record["review"].setdefault(level, [])
            flagged = bool(result.needs_review.get(level, {}).get(name, False))
            if flagged and name not in review:
                review.append(name)
            elif not flagged and name in review:
                review.remove(name)
    record["method"] = str(getattr(result, "method", "kyphoimg assist"))
    return _with_record(
        ls.replace(points=points, scheme=proposal.scheme if not ls.points else ls.scheme),
        record,
    )


def confirmed(ls: LandmarkSet) -> dict[str, tuple[str, ...]]:
    """Return the points of a set that a reader placed or confirmed, per level.

    Parameters
    ----------
    ls : LandmarkSet
        A set, possibly carrying the ``"assist"`` record.

    Returns
    -------
    dict
        ``{level: (point names, in the set's order)}``: every point not listed as
        proposed, or whose coordinates differ from the proposed ones. Levels without
        such points are left out.
    """
    proposed = _proposed(ls)
    out: dict[str, tuple[str, ...]] = {}
    for level, pts in ls.points.items():
        names = tuple(
            n
            for n, (r, c) in pts.items()
            if n not in proposed.get(level, {}) or _moved(proposed[level][n], (r, c))
        )
        if names:
            out[level] = names
    return out


def unconfirmed(ls: LandmarkSet) -> dict[str, tuple[str, ...]]:
    """Return the points of a set that kyphoimg proposed and no reader confirmed yet.

    Parameters
    ----------
    ls : LandmarkSet
        A set, possibly carrying the ``"assist"`` record.

    Returns
    -------
    dict
        ``{level: (point names)}``, the complement of :func:`confirmed` within the set.
    """
    done = confirmed(ls)
    out: dict[str, tuple[str, ...]] = {}
    for level, pts in ls.points.items():
        names = tuple(n for n in pts if n not in done.get(level, ()))
        if names:
            out[level] = names
    return out


def confirm(
    ls: LandmarkSet, level: str | None = None, names: Iterable[str] | None = None
) -> LandmarkSet:
    """Record that the reader accepted proposed points as they are.

    Parameters
    ----------
    ls : LandmarkSet
        The set.
    level : str, optional
        The level; default every level.
    names : iterable of str, optional
        The points; default every point of the level(s).

    Returns
    -------
    LandmarkSet
        The set with those points removed from the record (the key is dropped when no
        proposed point is left).
    """
    record = _record(ls)
    wanted = None if names is None else set(names)
    for lv in list(record["proposed"]):
        if level is not None and lv != level:
            continue
        for n in list(record["proposed"][lv]):
            if wanted is None or n in wanted:
                del record["proposed"][lv][n]
                record["confidence"].get(lv, {}).pop(n, None)
                if n in record["review"].get(lv, []):
                    record["review"][lv].remove(n)
    return _with_record(ls, record)


def _moved(a: Any, b: tuple[float, float]) -> bool:
    return abs(float(a[0]) - b[0]) > _SAME or abs(float(a[1]) - b[1]) > _SAME


def _proposed(ls: LandmarkSet) -> Mapping[str, Mapping[str, Any]]:
    rec = ls.extra.get(ASSIST_KEY)
    if not isinstance(rec, Mapping):
        return {}
    prop = rec.get("proposed")
    return prop if isinstance(prop, Mapping) else {}


def _record(ls: LandmarkSet) -> dict[str, Any]:
    """Return a mutable copy of the set's record (empty parts created)."""
    rec = ls.extra.get(ASSIST_KEY)
    rec = dict(rec) if isinstance(rec, Mapping) else {}
    out: dict[str, Any] = {
        k: v for k, v in rec.items() if k not in ("proposed", "confidence", "review")
    }
    for key in ("proposed", "confidence"):
        part = rec.get(key)
        out[key] = {lv: dict(v) for lv, v in part.items()} if isinstance(part, Mapping) else {}
    review = rec.get("review")
    out["review"] = {lv: list(v) for lv, v in review.items()} if isinstance(review, Mapping) else {}
    return out


def _with_record(ls: LandmarkSet, record: dict[str, Any]) -> LandmarkSet:
    """Store the record (pruned of empty levels) in ``extra``; drop it when nothing is proposed."""
    for key in ("proposed", "confidence", "review"):
        record[key] = {lv: v for lv, v in record[key].items() if v}
    extra = {k: v for k, v in ls.extra.items() if k != ASSIST_KEY}
    if record["proposed"]:
        extra[ASSIST_KEY] = record
    return ls.replace(extra=extra)
