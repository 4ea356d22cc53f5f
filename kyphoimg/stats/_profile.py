"""The profile-likelihood interval search shared by the logistic and Firth models."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize

#: How often the search doubles its step before it calls a limit infinite (2⁴⁰ SE).
_DOUBLINGS = 40


def profile_bounds(excess: Callable[[float], float], est: float, se: float) -> tuple[float, float]:
    """Return where ``excess`` crosses zero below and above the estimate.

    ``excess(v)`` is the likelihood-ratio statistic of the coefficient held at ``v``
    minus the chi-square cut-off: negative at the estimate, rising away from it. Each
    side is bracketed by doubling a step of two standard errors, then solved with
    Brent's method.

    Parameters
    ----------
    excess : callable
        The statistic minus the cut-off, as a function of the coefficient's value.
    est : float
        The estimate (inside the interval).
    se : float
        A positive step scale (the standard error, or 1 when it is not usable).

    Returns
    -------
    tuple of float
        Lower and upper limit; ``-inf`` or ``inf`` when ``excess`` stays at or below
        zero within 2⁴⁰ steps on that side.
    """
    bounds = []
    for sign in (-1.0, 1.0):
        step = 2.0 * se
        far = est + sign * step
        for _ in range(_DOUBLINGS):
            if excess(far) > 0:
                break
            step *= 2
            far = est + sign * step
        else:
            bounds.append(float(sign * np.inf))
            continue
        lo, hi = sorted((est, far))
        bounds.append(float(optimize.brentq(excess, lo, hi, xtol=1e-10)))
    return bounds[0], bounds[1]
