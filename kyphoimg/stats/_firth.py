"""Firth's penalised-likelihood logistic regression (the method of R's ``logistf``).

Firth (1993) adds ½·log det I(β) to the log-likelihood (Jeffreys prior); the estimates
are finite under separation (Heinze & Schemper 2002). As ``logistf`` (≥ 1.24):

- coefficients maximise the penalised log-likelihood (Newton–Raphson on the modified
  score U* = Xᵀ(y − p + h(½ − p)), steps capped at 5, step halving);
- the covariance is the inverse of Xᵀ diag(p(1 − p)(1 + h)) X, the Fisher information of
  the augmented data (``cov_augmented`` in logistf's C code), h the hat diagonal;
- confidence intervals invert the penalised likelihood-ratio test (profile penalised
  likelihood, Heinze & Schemper 2002), and p-values are penalised likelihood-ratio tests
  of β_j = 0 with the penalty still computed on the full design.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from ._profile import profile_bounds

__all__ = ["FirthFit", "firth_fit", "firth_profile_ci", "firth_test"]

MAX_STEP = 5.0
PLR_TEST = "Penalised likelihood-ratio test (Firth; as R logistf)"
PL_CI = "profile penalised likelihood"


@dataclass(frozen=True)
class FirthFit:
    """A converged Firth fit.

    Attributes
    ----------
    params : numpy.ndarray
        Coefficients (intercept first when the design has one).
    cov : numpy.ndarray
        Covariance matrix as logistf reports it (augmented-data Fisher information).
    loglik : float
        Maximised penalised log-likelihood.
    iterations : int
        Newton–Raphson iterations used.
    converged : bool
        Whether the convergence criteria were met.
    """

    params: np.ndarray
    cov: np.ndarray
    loglik: float
    iterations: int
    converged: bool

    @property
    def bse(self) -> np.ndarray:
        """Standard errors (square roots of the covariance diagonal)."""
        return np.sqrt(np.diag(self.cov))


def _penalised_loglik(b: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    eta = x @ b
    p = special.expit(eta)
    w = p * (1 - p)
    sign, logdet = np.linalg.slogdet((x * w[:, None]).T @ x)
    if sign <= 0:
        return -np.inf
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)) + 0.5 * logdet)


def _score_info(b: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the modified score U* and the Fisher information at ``b``."""
    p = special.expit(x @ b)
    w = p * (1 - p)
    info = (x * w[:, None]).T @ x
    xw = x * np.sqrt(w)[:, None]
    h = np.einsum("ij,ji->i", xw, np.linalg.solve(info, xw.T))
    return x.T @ (y - p + h * (0.5 - p)), info


def _newton(
    y: np.ndarray, x: np.ndarray, b: np.ndarray, free: np.ndarray, max_iter: int = 100
) -> tuple[np.ndarray, float, int, bool]:
    """Maximise the penalised log-likelihood over the coefficients in ``free``."""
    ll = _penalised_loglik(b, x, y)
    for it in range(1, max_iter + 1):
        step = np.zeros_like(b)
        try:
            score, info = _score_info(b, x, y)
            step[free] = np.linalg.solve(info[np.ix_(free, free)], score[free])
        except np.linalg.LinAlgError:
            # fitted probabilities of exactly 0 or 1 (a coefficient held far out)
            return b, -np.inf, it, False
        largest = float(np.max(np.abs(step))) if step.size else 0.0
        if largest > MAX_STEP:
            step *= MAX_STEP / largest
        t = 1.0
        while True:
            new = b + t * step
            ll_new = _penalised_loglik(new, x, y)
            if ll_new >= ll - 1e-12 or t < 1e-10:
                break
            t /= 2
        moved = float(np.max(np.abs(t * step))) if step.size else 0.0
        b, ll_old, ll = new, ll, ll_new
        if moved < 1e-10 and abs(ll - ll_old) < 1e-12 * (1 + abs(ll)):
            return b, ll, it, True
    return b, ll, max_iter, False


def firth_fit(y: np.ndarray, x: np.ndarray, start: np.ndarray | None = None) -> FirthFit:
    """Fit a logistic model by Firth's penalised likelihood.

    Parameters
    ----------
    y : numpy.ndarray
        0/1 outcome.
    x : numpy.ndarray
        Design matrix (include a column of ones for an intercept).
    start : numpy.ndarray, optional
        Starting coefficients (default zeros).

    Returns
    -------
    FirthFit
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    b0 = np.zeros(x.shape[1]) if start is None else np.array(start, dtype=float)
    b, ll, it, ok = _newton(y, x, b0, np.arange(x.shape[1]))
    p = special.expit(x @ b)
    w = p * (1 - p)
    info = (x * w[:, None]).T @ x
    xw = x * np.sqrt(w)[:, None]
    h = np.einsum("ij,ji->i", xw, np.linalg.solve(info, xw.T))
    cov = np.linalg.inv((x * (w * (1 + h))[:, None]).T @ x)
    return FirthFit(params=b, cov=cov, loglik=ll, iterations=it, converged=ok)


def _fixed_loglik(y: np.ndarray, x: np.ndarray, fit: FirthFit, j: int, value: float) -> float:
    """Penalised log-likelihood maximised with coefficient ``j`` held at ``value``."""
    b = fit.params.copy()
    b[j] = value
    free = np.delete(np.arange(x.shape[1]), j)
    return _newton(y, x, b, free)[1]


def firth_test(y: np.ndarray, x: np.ndarray, fit: FirthFit, j: int) -> tuple[float, float]:
    """Penalised likelihood-ratio test of coefficient ``j`` = 0.

    Parameters
    ----------
    y, x : numpy.ndarray
        Outcome and design of ``fit``.
    fit : FirthFit
        The full model.
    j : int
        Index of the coefficient tested.

    Returns
    -------
    tuple of float
        Chi-square statistic (1 df) and p-value.
    """
    chi = max(0.0, 2.0 * (fit.loglik - _fixed_loglik(y, x, fit, j, 0.0)))
    return chi, float(stats.chi2.sf(chi, 1))


def firth_profile_ci(
    y: np.ndarray, x: np.ndarray, fit: FirthFit, j: int, level: float = 0.95
) -> tuple[float, float]:
    """Profile penalised-likelihood confidence interval of coefficient ``j``.

    Parameters
    ----------
    y, x : numpy.ndarray
        Outcome and design of ``fit``.
    fit : FirthFit
        The full model.
    j : int
        Index of the coefficient.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    tuple of float
        Lower and upper limit on the coefficient scale (±inf when the profile does not
        fall below the cut-off within 2⁴⁰ standard errors).
    """
    q = float(stats.chi2.ppf(level, 1))
    est = float(fit.params[j])
    se = float(fit.bse[j]) if np.isfinite(fit.bse[j]) and fit.bse[j] > 0 else 1.0

    def excess(v: float) -> float:
        # capped: held far out, the penalised likelihood underflows to -inf
        return min(2.0 * (fit.loglik - _fixed_loglik(y, x, fit, j, v)) - q, 1e6)

    return profile_bounds(excess, est, se)
