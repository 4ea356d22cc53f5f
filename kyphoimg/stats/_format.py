"""Number formatting for published-style tables."""

from __future__ import annotations

import math

__all__ = ["fmt_ci", "fmt_num", "fmt_p"]


def fmt_p(p: float, digits: int = 3) -> str:
    """Format a p-value as journals print it (``"0.036"``, ``"<0.001"``, ``"—"`` if NaN)."""
    if p is None or not math.isfinite(p):
        return "—"
    floor = 10.0**-digits
    if p < floor:
        return f"<{floor:.{digits}f}"
    return f"{p:.{digits}f}"


def fmt_num(x: float, digits: int = 1) -> str:
    """Format a number with fixed decimals, ``"—"`` if NaN."""
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:.{digits}f}"


def fmt_ci(est: float, low: float, high: float, digits: int = 3) -> str:
    """Format ``est (low–high)``."""
    return f"{fmt_num(est, digits)} ({fmt_num(low, digits)}–{fmt_num(high, digits)})"
