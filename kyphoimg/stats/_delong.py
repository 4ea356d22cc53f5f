"""DeLong's nonparametric AUC variance by the fast midrank algorithm of Sun & Xu.

X. Sun and W. Xu, "Fast implementation of DeLong's algorithm for comparing the areas
under correlated receiver operating characteristic curves", IEEE Signal Processing
Letters 21(11):1389-1393, 2014. For m cases and n controls the placement values
(DeLong, DeLong & Clarke-Pearson, Biometrics 44:837, 1988) follow from three midrank
vectors, so the cost is that of sorting, O((m + n) log(m + n)), instead of the
O(m·n) pairwise comparison. Ties count one half.

Two paths compute the same quantities:

- :func:`delong_covariance` (k markers on the same subjects, for the paired test)
  needs each subject's placement values, so it argsorts the pooled sample once per
  marker and reads the three midranks of every tie run off that permutation;
- :func:`delong_auc_variance` (one marker, used by ``roc``) needs only how many cases
  and controls share each distinct value, which value sorts and binary searches give
  without a permutation; the variance is then summed over runs of ties.

Conventions follow pROC: the variance is ``S10/m + S01/n`` with sample covariances
(denominators m − 1 and n − 1).
"""

from __future__ import annotations

import numpy as np

__all__ = ["delong_auc_variance", "delong_covariance", "midrank"]


def midrank(x: np.ndarray) -> np.ndarray:
    """Return 1-based ranks of ``x`` with ties given their average rank.

    Parameters
    ----------
    x : numpy.ndarray, shape (N,)
        Finite values.

    Returns
    -------
    numpy.ndarray of float, shape (N,)

    Examples
    --------
    >>> midrank(np.array([3.0, 1.0, 3.0, 2.0])).tolist()
    [3.5, 1.0, 3.5, 2.0]
    """
    n = x.shape[0]
    order = np.argsort(x)  # ties share their midrank: stability is not needed
    xs = x[order]
    new_group = np.empty(n, dtype=bool)
    if n:
        new_group[0] = True
        np.not_equal(xs[1:], xs[:-1], out=new_group[1:])
    starts = np.flatnonzero(new_group)
    ends = np.append(starts[1:], n)
    # Positions start..end-1 (0-based) share the rank ((start + 1) + end) / 2.
    ranks_sorted = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    out = np.empty(n, dtype=float)
    out[order] = ranks_sorted
    return out


def _pooled_runs(cases: np.ndarray, controls: np.ndarray) -> dict[str, np.ndarray]:
    """Sort the pooled sample once and describe its runs of tied values.

    Sun & Xu express the placements through three midrank vectors: T_Z over the pooled
    sample, T_X over the cases and T_Y over the controls, with
    V10 = (T_Z − T_X) / n for cases and V01 = 1 − (T_Z − T_Y) / m for controls. All
    three follow from one argsort of the pooled sample: in a run of tied pooled values
    occupying sorted positions s .. e−1, with c cases and d controls before it, the
    pooled midrank is (s + 1 + e) / 2, the case midrank c + (cases in run + 1) / 2 and
    the control midrank d + (controls in run + 1) / 2. Every member of a run shares
    these values.
    """
    m = cases.size
    z = np.concatenate([cases, controls])
    order = np.argsort(z)  # ties get equal midranks, so an unstable sort is fine
    zs = z[order]
    is_case = order < m
    new_run = np.empty(z.size, dtype=bool)
    new_run[0] = True
    np.not_equal(zs[1:], zs[:-1], out=new_run[1:])
    starts = np.flatnonzero(new_run)
    sizes = np.diff(np.append(starts, z.size))
    cases_in = np.add.reduceat(is_case.astype(np.int64), starts)
    controls_in = sizes - cases_in
    cases_before = np.cumsum(cases_in) - cases_in
    controls_before = starts - cases_before
    tz = starts + (sizes + 1) / 2.0
    tx = cases_before + (cases_in + 1) / 2.0
    ty = controls_before + (controls_in + 1) / 2.0
    n = controls.size
    return {
        "order": order,
        "is_case": is_case,
        "sizes": sizes,
        "values": zs[starts],
        "cases_in": cases_in,
        "controls_in": controls_in,
        "v10": (tz - tx) / n,  # per run: share of controls below a case, ties ½
        "v01": 1.0 - (tz - ty) / m,  # per run: share of cases above a control, ties ½
    }


def _pooled_counts(cases: np.ndarray, controls: np.ndarray) -> dict[str, np.ndarray]:
    """Run-level midranks as in :func:`_pooled_runs`, without the permutation.

    A single marker needs only the number of cases and of controls at each distinct
    value, which value sorts (cheaper than an argsort) and binary searches give.
    """
    m, n = cases.size, controls.size
    cs = np.sort(cases)
    ct = np.sort(controls)
    pooled = np.sort(np.concatenate([cs, ct]))
    distinct = np.empty(pooled.size, dtype=bool)
    distinct[0] = True
    np.not_equal(pooled[1:], pooled[:-1], out=distinct[1:])
    values = pooled[distinct]
    c_right = np.searchsorted(cs, values, side="right")
    d_right = np.searchsorted(ct, values, side="right")
    cases_in = np.diff(c_right, prepend=0)
    controls_in = np.diff(d_right, prepend=0)
    cases_before = c_right - cases_in
    controls_before = d_right - controls_in
    starts = cases_before + controls_before
    sizes = cases_in + controls_in
    tz = starts + (sizes + 1) / 2.0
    tx = cases_before + (cases_in + 1) / 2.0
    ty = controls_before + (controls_in + 1) / 2.0
    return {
        "values": values,
        "cases_in": cases_in,
        "controls_in": controls_in,
        "v10": (tz - tx) / n,
        "v01": 1.0 - (tz - ty) / m,
    }


def delong_auc_variance(
    cases: np.ndarray, controls: np.ndarray
) -> tuple[float, float, dict[str, np.ndarray]]:
    """AUC and DeLong variance of one marker, without leaving run-level arithmetic.

    Parameters
    ----------
    cases, controls : numpy.ndarray, shape (m,) and (n,)
        Marker values (higher values taken to indicate an event).

    Returns
    -------
    auc : float
    variance : float
        ``S10/m + S01/n`` (NaN when m < 2 or n < 2).
    runs : dict
        ``values`` (sorted distinct pooled values), ``cases_in`` and ``controls_in``
        (counts per value), from which the empirical ROC curve follows.
    """
    m, n = cases.size, controls.size
    r = _pooled_counts(np.asarray(cases, dtype=float), np.asarray(controls, dtype=float))
    ci, di = r["cases_in"], r["controls_in"]
    auc = float(np.dot(ci, r["v10"]) / m)
    if m < 2 or n < 2:
        return auc, float("nan"), r
    s10 = float(np.dot(ci, (r["v10"] - auc) ** 2) / (m - 1))
    s01 = float(np.dot(di, (r["v01"] - auc) ** 2) / (n - 1))
    return auc, s10 / m + s01 / n, r


def _placements(cases: np.ndarray, controls: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and per-subject placement values (original order) of one marker."""
    m = cases.size
    r = _pooled_runs(cases, controls)
    run = np.repeat(np.arange(r["sizes"].size), r["sizes"])
    is_case = r["is_case"]
    order = r["order"]
    v10 = np.empty(m)
    v01 = np.empty(controls.size)
    v10[order[is_case]] = r["v10"][run[is_case]]
    v01[order[~is_case] - m] = r["v01"][run[~is_case]]
    return float(v10.mean()), v10, v01


def delong_covariance(
    cases: np.ndarray, controls: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """AUCs of k markers and the DeLong covariance matrix of the AUC estimates.

    Parameters
    ----------
    cases : numpy.ndarray, shape (k, m)
        Marker values of the m cases (events); higher values are taken to indicate an
        event (negate a marker where lower values do).
    controls : numpy.ndarray, shape (k, n)
        Marker values of the n controls.

    Returns
    -------
    auc : numpy.ndarray, shape (k,)
        Mann–Whitney AUC estimates, P(case > control) + ½ P(case = control).
    cov : numpy.ndarray, shape (k, k)
        DeLong covariance ``S10/m + S01/n`` (NaN when m < 2 or n < 2).
    v10 : numpy.ndarray, shape (k, m)
        Placement values of the cases (share of controls below each case).
    v01 : numpy.ndarray, shape (k, n)
        Placement values of the controls (share of cases above each control).
    """
    cases = np.atleast_2d(np.asarray(cases, dtype=float))
    controls = np.atleast_2d(np.asarray(controls, dtype=float))
    k, m = cases.shape
    n = controls.shape[1]
    v10 = np.empty((k, m))
    v01 = np.empty((k, n))
    auc = np.empty(k)
    for r in range(k):
        auc[r], v10[r], v01[r] = _placements(cases[r], controls[r])
    if m < 2 or n < 2:
        return auc, np.full((k, k), np.nan), v10, v01
    s10 = np.atleast_2d(np.cov(v10, ddof=1))
    s01 = np.atleast_2d(np.cov(v01, ddof=1))
    return auc, s10 / m + s01 / n, v10, v01
