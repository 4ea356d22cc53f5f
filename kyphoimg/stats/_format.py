"""Number formatting for published-style tables."""

from __future__ import annotations

import math

__all__ = ["fmt_ci", "fmt_num", "fmt_or", "fmt_p"]


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


def fmt_or(x: float) -> str:
    """Format an odds ratio: ``"<0.001"``, ``"0.034"``, ``"1.27"``, ``"152"``, ``">999"``.

    Small ratios keep three decimals so they never print as ``"0.00"``; ratios above 999
    (near-separation) print as ``">999"`` instead of a meaningless ``"898023.23"``.
    """
    if x is None or not math.isfinite(x):
        return "—" if x is None or math.isnan(x) else (">999" if x > 0 else "—")
    if x < 0.001:
        return "<0.001"
    if x > 999:
        return ">999"
    if x < 0.1:
        return f"{x:.3f}"
    if x >= 100:
        return f"{x:.0f}"
    return f"{x:.2f}"
