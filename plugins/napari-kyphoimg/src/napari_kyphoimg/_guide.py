"""The placement guide: which landmark the next click places, and how the widget names it.

No napari, no Qt. :func:`placement_plan` lists the ``(level, point)`` pairs of a film in
guided order (the scheme's points are kyphoimg's :func:`~kyphoimg.landmarks.scheme_points`);
:class:`PlacementGuide` walks that plan as points are placed, re-placed and deleted;
:func:`describe_point` is the prompt the Landmarks widget shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kyphoimg.landmarks import LEVELS, scheme_points

__all__ = [
    "POINT_LABELS",
    "PlacementGuide",
    "describe_point",
    "level_range",
    "placement_plan",
]

#: What the guide calls each point.
POINT_LABELS: dict[str, str] = {
    "ant_sup": "anterior superior corner",
    "mid_sup": "superior endplate midpoint",
    "post_sup": "posterior superior corner",
    "ant_inf": "anterior inferior corner",
    "mid_inf": "inferior endplate midpoint",
    "post_inf": "posterior inferior corner",
    "left_sup": "left superior corner",
    "right_sup": "right superior corner",
    "left_inf": "left inferior corner",
    "right_inf": "right inferior corner",
}

_LEVEL_CODE = {lv: i for i, lv in enumerate(LEVELS)}


def level_range(first: str, last: str) -> tuple[str, ...]:
    """Return the levels from ``first`` to ``last`` inclusive, cranial to caudal.

    Parameters
    ----------
    first, last : str
        Level names (``"T11"``, ``"L1"``).

    Returns
    -------
    tuple of str
        The levels between them, both included.

    Raises
    ------
    ValueError
        If a level is unknown or ``first`` lies caudal to ``last``.

    Examples
    --------
    >>> level_range("T11", "L1")
    ('T11', 'T12', 'L1')
    """
    for lv in (first, last):
        if lv not in _LEVEL_CODE:
            raise ValueError(f"unknown level {lv!r}; levels are C2-C7, T1-T12, L1-L5, S1")
    i, j = _LEVEL_CODE[first], _LEVEL_CODE[last]
    if i > j:
        raise ValueError(f"first level {first} lies below last level {last}; swap them")
    return LEVELS[i : j + 1]


def placement_plan(levels: Iterable[str], scheme: str) -> tuple[tuple[str, str], ...]:
    """Return the ``(level, point)`` pairs to place, in guided order.

    Levels go cranial to caudal; within a vertebra the scheme's order (superior endplate
    anterior to posterior, then the inferior one). S1 takes its superior endplate only.

    Parameters
    ----------
    levels : iterable of str
        The levels to annotate, in any order.
    scheme : str
        ``6pt``, ``4pt`` or ``ap4``.

    Returns
    -------
    tuple of (str, str)
        The plan.

    Examples
    --------
    >>> placement_plan(["L5", "S1"], "4pt")[-3:]
    (('L5', 'post_inf'), ('S1', 'ant_sup'), ('S1', 'post_sup'))
    """
    ordered = sorted(set(levels), key=_LEVEL_CODE.__getitem__)
    return tuple((lv, p) for lv in ordered for p in scheme_points(scheme, lv))


def describe_point(level: str, point: str) -> str:
    """Name a landmark for the guide: ``"L1 · anterior superior corner"``.

    Parameters
    ----------
    level, point : str
        The landmark.

    Returns
    -------
    str
        The prompt text.
    """
    return f"{level} · {POINT_LABELS.get(point, point)}"


@dataclass
class PlacementGuide:
    """Which landmark the next click places.

    Parameters
    ----------
    plan : tuple of (level, point)
        From :func:`placement_plan`.
    cursor : int
        Index of the current target in ``plan``; ``-1`` when every point is placed.
    """

    plan: tuple[tuple[str, str], ...]
    cursor: int = 0

    @property
    def target(self) -> tuple[str, str] | None:
        """The ``(level, point)`` the next click places, or None when done."""
        if not self.plan or not 0 <= self.cursor < len(self.plan):
            return None
        return self.plan[self.cursor]

    def first_missing(self, placed: Iterable[tuple[str, str]], start: int = 0) -> int:
        """Return the first planned index not in ``placed`` from ``start`` (wrapping), or -1."""
        done = set(placed)
        n = len(self.plan)
        for k in range(n):
            i = (start + k) % n
            if self.plan[i] not in done:
                return i
        return -1

    def advance(self, placed: Iterable[tuple[str, str]]) -> None:
        """Move to the next missing point after the current target (after a placement)."""
        start = self.cursor + 1 if self.cursor >= 0 else 0
        self.cursor = self.first_missing(placed, start) if self.plan else -1

    def step(self, delta: int) -> None:
        """Move ``delta`` places along the plan (wrapping), placed or not: to re-place."""
        if not self.plan:
            return
        base = self.cursor if self.cursor >= 0 else (-1 if delta > 0 else 0)
        self.cursor = (base + delta) % len(self.plan)

    def go_to(self, level: str, point: str) -> bool:
        """Make ``(level, point)`` the target; False when it is not in the plan."""
        try:
            self.cursor = self.plan.index((level, point))
        except ValueError:
            return False
        return True

    def progress(self, placed: Iterable[tuple[str, str]]) -> tuple[int, int]:
        """Return ``(placed, planned)`` counts over the plan."""
        done = set(placed)
        return sum(p in done for p in self.plan), len(self.plan)
