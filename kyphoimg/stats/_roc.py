"""ROC analysis: AUC with DeLong variance and CI, Youden cutoff, DeLong tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from kyphoimg.errors import StatsInputError

from ._delong import delong_auc_variance, delong_covariance
from ._validate import as_binary, as_numeric

__all__ = ["DelongTestResult", "RocResult", "delong_test", "roc"]

DIRECTIONS = ("higher", "lower")
AUC_METHOD = "Mann–Whitney AUC (empirical ROC; ties count ½)"
CI_METHOD = "DeLong variance, normal approximation, bounds clipped to [0, 1] (as pROC)"
THRESHOLD_RULE = (
    "Youden J = sensitivity + specificity − 1, maximised over thresholds taken midway "
    "between adjacent observed values (pROC convention); ties: lowest threshold"
)


@dataclass(frozen=True)
class RocResult:
    """One empirical ROC curve.

    Attributes
    ----------
    label : str
        Marker name.
    auc, variance, se : float
        AUC, its DeLong variance and standard error.
    ci_low, ci_high : float
        DeLong confidence interval at ``conf_level``; NaN when the DeLong variance is 0
        (AUC 0 or 1, the marker separates the groups: not estimable).
    conf_level : float
        Confidence level of the interval.
    direction : {"higher", "lower"}
        Which values predict the event.
    positive : object
        Outcome value counted as the event.
    n_cases, n_controls, n_missing : int
        Events, non-events, and rows dropped for a missing outcome or marker.
    threshold, sensitivity, specificity, youden_index : float
        Youden-optimal cutoff (see ``threshold_rule``) and its operating point. With
        ``direction="higher"`` a subject is test-positive when marker > threshold;
        with ``"lower"`` when marker < threshold.
    n_youden_ties : int
        Number of thresholds sharing the maximal Youden index.
    curve : pandas.DataFrame
        Columns ``threshold, sensitivity, specificity, youden``; thresholds run from
        −inf to +inf in increasing order.
    auc_method, ci_method, threshold_rule : str
        The conventions used, for tables and reports.
    cases, controls : numpy.ndarray
        Marker values of the events and non-events used (rows with a missing value
        removed), multiplied by −1 for ``direction="lower"`` so that higher values
        predict the event; the inputs of the DeLong computation.
    """

    label: str
    auc: float
    variance: float
    se: float
    ci_low: float
    ci_high: float
    conf_level: float
    direction: str
    positive: Any
    n_cases: int
    n_controls: int
    n_missing: int
    threshold: float
    sensitivity: float
    specificity: float
    youden_index: float
    n_youden_ties: int
    curve: pd.DataFrame = field(repr=False, compare=False)
    auc_method: str = AUC_METHOD
    ci_method: str = CI_METHOD
    threshold_rule: str = THRESHOLD_RULE
    cases: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)
    controls: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of the scalar results (no curve).

        Returns
        -------
        pandas.DataFrame
            Columns ``label, auc, se, variance, ci_low, ci_high, conf_level,
            direction, n_cases, n_controls, n_missing, threshold, sensitivity,
            specificity, youden_index, auc_method, ci_method, threshold_rule,
            positive`` (``positive`` as text).
        """
        keys = [
            "label",
            "auc",
            "se",
            "variance",
            "ci_low",
            "ci_high",
            "conf_level",
            "direction",
            "n_cases",
            "n_controls",
            "n_missing",
            "threshold",
            "sensitivity",
            "specificity",
            "youden_index",
            "auc_method",
            "ci_method",
            "threshold_rule",
        ]
        row = {k: getattr(self, k) for k in keys}
        row["positive"] = str(self.positive)
        return pd.DataFrame([row])


@dataclass(frozen=True)
class DelongTestResult:
    """DeLong comparison of two AUCs.

    Attributes
    ----------
    label_a, label_b : str
        Marker names.
    auc_a, auc_b, difference : float
        AUCs and ``auc_a - auc_b``.
    se : float
        Standard error of the difference.
    statistic : float
        Z (paired) or D (unpaired).
    df : float
        Degrees of freedom of the unpaired D statistic (t reference, as pROC); ``inf``
        for the paired Z test.
    p_value : float
        Two-sided p-value.
    ci_low, ci_high : float
        Confidence interval of the difference.
    conf_level : float
        Its level.
    paired : bool
        Whether the correlation of the two AUCs was accounted for.
    n_cases, n_controls : int
        Sizes (for the unpaired test, those of curve a).
    n_missing : int
        Rows dropped for a missing value.
    test : str
        Name of the test.
    """

    label_a: str
    label_b: str
    auc_a: float
    auc_b: float
    difference: float
    se: float
    statistic: float
    df: float
    p_value: float
    ci_low: float
    ci_high: float
    conf_level: float
    paired: bool
    n_cases: int
    n_controls: int
    n_missing: int
    test: str

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of the test.

        Returns
        -------
        pandas.DataFrame
            One column per attribute, in the order listed above.
        """
        return pd.DataFrame([self.__dict__])


def _check_direction(direction: Any, arg: str = "direction") -> str:
    if direction not in DIRECTIONS:
        raise StatsInputError(
            f"{arg} is required and must be 'higher' (higher marker values predict the event) "
            f"or 'lower' (lower values predict it, e.g. BMD); got {direction!r}"
        )
    return str(direction)


def _split(y: Any, score: Any, positive: Any, name: str) -> tuple[np.ndarray, np.ndarray, int, Any]:
    ya = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
    sa = score.to_numpy() if isinstance(score, pd.Series) else np.asarray(score)
    if len(ya) != len(sa):
        raise StatsInputError(
            f"marker {name!r} has {len(sa)} values but the outcome has {len(ya)}; "
            "pass aligned vectors"
        )
    if sa.dtype.kind in "biuf":
        values = sa.astype(float, copy=False)
    else:
        values = as_numeric(pd.Series(sa), name).to_numpy()
    keep = np.isfinite(values)
    if not keep.all() and np.isinf(values).any():
        raise StatsInputError(
            f"marker {name!r} holds infinite values; replace them or drop the rows"
        )
    if ya.dtype.kind not in "biu":  # integer and boolean outcomes cannot be missing
        keep &= ~np.asarray(pd.isna(ya), dtype=bool)
    n_missing = int(keep.size - np.count_nonzero(keep))
    if n_missing:
        ya, values = ya[keep], values[keep]
    ycode, _ = as_binary(ya, positive, "outcome")
    if positive is None:
        positive = 1
    case = ycode == 1
    return values[case], values[~case], n_missing, positive


def _curve(runs: dict[str, np.ndarray], direction: str) -> pd.DataFrame:
    """Empirical ROC coordinates from the pooled runs of the signed marker.

    Thresholds lie at -inf, midway between adjacent distinct values, and +inf; a
    subject is test-positive when its signed marker exceeds the threshold. For
    ``direction="lower"`` the thresholds are mapped back to the original scale (and
    the rows put in increasing order), where test-positive means below the threshold.
    """
    v = runs["values"]
    m = runs["cases_in"].sum()
    n = runs["controls_in"].sum()
    thresholds = np.concatenate([[-np.inf], (v[1:] + v[:-1]) / 2.0, [np.inf]])
    sens = 1.0 - np.concatenate([[0], np.cumsum(runs["cases_in"])]) / m
    spec = np.concatenate([[0], np.cumsum(runs["controls_in"])]) / n
    if direction == "lower":
        thresholds, sens, spec = -thresholds[::-1], sens[::-1], spec[::-1]
    return pd.DataFrame(
        {
            "threshold": thresholds,
            "sensitivity": sens,
            "specificity": spec,
            "youden": sens + spec - 1,
        }
    )


def roc(
    y: Sequence[Any] | pd.Series | np.ndarray,
    score: Sequence[float] | pd.Series | np.ndarray,
    positive: Any = None,
    direction: str | None = None,
    *,
    conf_level: float = 0.95,
    label: str | None = None,
) -> RocResult:
    """Empirical ROC curve with AUC, DeLong 95 % CI and the Youden cutoff.

    Parameters
    ----------
    y : array-like
        Outcome, two classes (missing values are dropped and counted).
    score : array-like of float
        Marker or predicted probability, aligned with ``y``.
    positive : object, optional
        Outcome value marking the event; may be omitted for 0/1 or boolean outcomes.
    direction : {"higher", "lower"}
        **Required.** ``"higher"`` if higher marker values predict the event,
        ``"lower"`` if lower values do (protective factors such as BMD). The AUC is
        computed for that direction and is not flipped to exceed 0.5.
    conf_level : float, default 0.95
        Level of the DeLong interval.
    label : str, optional
        Marker name (default: the Series name or ``"marker"``).

    Returns
    -------
    RocResult

    Raises
    ------
    StatsInputError
        ``direction`` missing or invalid, a single outcome class, unknown ``positive``,
        non-numeric marker values, or mismatched lengths.

    Notes
    -----
    The cutoff maximises Youden's J over thresholds placed midway between adjacent
    distinct observed values, as pROC's ``coords(x, "best")`` does; the first
    (lowest) such threshold is returned when several tie.

    Examples
    --------
    >>> r = roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], direction="higher")
    >>> round(r.auc, 3)
    0.75
    """
    direction = _check_direction(direction)
    if not 0 < conf_level < 1:
        raise StatsInputError(f"conf_level must lie in (0, 1); got {conf_level!r}")
    name = label or (
        str(score.name) if isinstance(score, pd.Series) and score.name is not None else "marker"
    )
    cases, controls, n_missing, positive = _split(y, score, positive, name)
    sign = 1.0 if direction == "higher" else -1.0
    a, var, runs = delong_auc_variance(sign * cases, sign * controls)
    se = float(np.sqrt(var)) if np.isfinite(var) else float("nan")
    z = stats.norm.ppf(0.5 + conf_level / 2)
    # A DeLong variance of 0 (AUC 0 or 1: the marker separates the groups) gives no
    # interval, not the degenerate 1.000 (1.000-1.000).
    lo, hi = (
        (float(np.clip(a - z * se, 0, 1)), float(np.clip(a + z * se, 0, 1)))
        if np.isfinite(se) and se > 0
        else (np.nan, np.nan)
    )
    curve = _curve(runs, direction)
    j = curve["youden"].to_numpy()
    jmax = j.max()
    best = np.flatnonzero(np.isclose(j, jmax, rtol=0, atol=1e-12))
    i = int(best[0])
    return RocResult(
        label=name,
        auc=a,
        variance=var,
        se=se,
        ci_low=lo,
        ci_high=hi,
        conf_level=conf_level,
        direction=direction,
        positive=positive,
        n_cases=int(cases.size),
        n_controls=int(controls.size),
        n_missing=n_missing,
        threshold=float(curve["threshold"].to_numpy()[i]),
        sensitivity=float(curve["sensitivity"].to_numpy()[i]),
        specificity=float(curve["specificity"].to_numpy()[i]),
        youden_index=float(jmax),
        n_youden_ties=int(best.size),
        curve=curve,
        cases=sign * cases,
        controls=sign * controls,
    )


def _as_pair(direction: Any) -> tuple[str, str]:
    if isinstance(direction, str) or direction is None:
        d = _check_direction(direction)
        return d, d
    if isinstance(direction, Sequence) and len(direction) == 2:
        return _check_direction(direction[0]), _check_direction(direction[1])
    raise StatsInputError("direction must be 'higher', 'lower' or a pair of them (one per marker)")


def delong_test(
    y: Sequence[Any] | pd.Series | np.ndarray,
    score_a: Sequence[float] | pd.Series | np.ndarray,
    score_b: Sequence[float] | pd.Series | np.ndarray,
    paired: bool = True,
    *,
    direction: str | Sequence[str] | None = None,
    positive: Any = None,
    y_b: Sequence[Any] | pd.Series | np.ndarray | None = None,
    conf_level: float = 0.95,
    labels: tuple[str, str] | None = None,
) -> DelongTestResult:
    """Compare two AUCs with DeLong's test.

    Parameters
    ----------
    y : array-like
        Outcome for marker a (and for b when paired or when ``y_b`` is None).
    score_a, score_b : array-like of float
        The two markers.
    paired : bool, default True
        ``True``: both markers measured on the same subjects; Z uses the DeLong
        covariance of the two AUCs (rows with any missing value are dropped).
        ``False``: independent AUCs; D = (A − B) / sqrt(Var A + Var B) against a t
        distribution with the Welch-type degrees of freedom used by pROC.
    direction : {"higher", "lower"} or pair of them
        **Required**, as in :func:`roc`; one value for both markers or one each.
    positive : object, optional
        Event value of the outcome(s).
    y_b : array-like, optional
        Outcome for marker b in the unpaired case when it comes from other subjects.
    conf_level : float, default 0.95
        Level of the confidence interval of the difference (normal quantile when
        paired, t quantile with the same df when unpaired).
    labels : tuple of str, optional
        Names of the markers.

    Returns
    -------
    DelongTestResult

    Raises
    ------
    StatsInputError
        Invalid direction, outcome or marker values, or ``y_b`` given with
        ``paired=True``.
    """
    da, db = _as_pair(direction)
    la, lb = labels or (
        str(getattr(score_a, "name", None) or "a"),
        str(getattr(score_b, "name", None) or "b"),
    )
    z = stats.norm.ppf(0.5 + conf_level / 2)
    if paired:
        if y_b is not None:
            raise StatsInputError("y_b is only meaningful with paired=False")
        frame = pd.DataFrame(
            {
                "y": pd.Series(y).reset_index(drop=True),
                "a": as_numeric(pd.Series(score_a).reset_index(drop=True), la),
                "b": as_numeric(pd.Series(score_b).reset_index(drop=True), lb),
            }
        )
        keep = frame.notna().all(axis=1)
        n_missing = int((~keep).sum())
        f = frame[keep].reset_index(drop=True)
        ycode, _ = as_binary(f["y"], positive, "outcome")
        sa = 1.0 if da == "higher" else -1.0
        sb = 1.0 if db == "higher" else -1.0
        vals = np.vstack([sa * f["a"].to_numpy(), sb * f["b"].to_numpy()])
        auc, cov, _, _ = delong_covariance(vals[:, ycode == 1], vals[:, ycode == 0])
        diff = float(auc[0] - auc[1])
        var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
        se = float(np.sqrt(var)) if var > 0 else 0.0
        stat = diff / se if se > 0 else 0.0
        p = float(2 * stats.norm.sf(abs(stat))) if se > 0 else 1.0
        return DelongTestResult(
            la,
            lb,
            float(auc[0]),
            float(auc[1]),
            diff,
            se,
            float(stat),
            float("inf"),
            p,
            float(diff - z * se),
            float(diff + z * se),
            conf_level,
            True,
            int((ycode == 1).sum()),
            int((ycode == 0).sum()),
            n_missing,
            "DeLong's test for two correlated ROC curves (Z)",
        )
    ra = roc(y, score_a, positive, da, conf_level=conf_level, label=la)
    rb = roc(y if y_b is None else y_b, score_b, positive, db, conf_level=conf_level, label=lb)
    sr, ss = ra.variance, rb.variance
    diff = ra.auc - rb.auc
    se = float(np.sqrt(sr + ss))
    stat = diff / se
    df = (sr + ss) ** 2 / (
        sr**2 / (ra.n_cases + ra.n_controls - 1) + ss**2 / (rb.n_cases + rb.n_controls - 1)
    )
    p = float(2 * stats.t.sf(abs(stat), df))
    tq = stats.t.ppf(0.5 + conf_level / 2, df)
    return DelongTestResult(
        la,
        lb,
        ra.auc,
        rb.auc,
        float(diff),
        se,
        float(stat),
        float(df),
        p,
        float(diff - tq * se),
        float(diff + tq * se),
        conf_level,
        False,
        ra.n_cases,
        ra.n_controls,
        ra.n_missing + rb.n_missing,
        "DeLong's test for two uncorrelated ROC curves (D, t reference as pROC)",
    )
