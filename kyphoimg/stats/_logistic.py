"""Logistic regression for risk-factor studies.

Univariable screen, multivariable model, prediction equation, events per variable,
separation, VIF, calibration and bootstrap optimism-corrected AUC (Harrell; TRIPOD).
Three estimators: maximum likelihood (``method="ml"``, as R's ``glm``), Firth's
penalised likelihood (``method="firth"``, as R's ``logistf``) and, for several rows per
patient, a GEE with exchangeable working correlation and cluster-robust standard errors
(``clusters=...``, as R's ``gee``).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from kyphoimg.errors import NotEstimableError, StatsInputError

from ._delong import midrank
from ._firth import PLR_TEST, firth_fit, firth_profile_ci, firth_test
from ._profile import profile_bounds
from ._roc import RocResult, roc
from ._validate import (
    EventsPerVariableWarning,
    SeparationWarning,
    as_binary,
    as_frame,
    as_numeric,
    require_columns,
)

__all__ = ["LogisticResult", "hosmer_lemeshow", "logistic", "nested_lr_test"]

WALD_TEST = "Wald z (logistic regression)"
GEE_TEST = "Wald z, cluster-robust SE (GEE, exchangeable working correlation)"
METHODS = ("ml", "firth")
NOT_ESTIMABLE = "not estimable: separation"
#: The floor of events below which a multivariable model is not estimated: at least 10 of
#: the rarer outcome (Peduzzi et al., J Clin Epidemiol 1996;49:1373) and 5 per model
#: parameter (Vittinghoff & McCulloch, Am J Epidemiol 2007;165:710).
MIN_EVENTS = 10
MIN_EPV = 5.0
EVENTS_FLOOR = (
    f"a multivariable model needs at least {MIN_EVENTS} events (of the rarer outcome) and "
    f"{MIN_EPV:g} per model parameter (Peduzzi et al. 1996; Vittinghoff & McCulloch 2007)"
)
UNIVARIABLE_COLUMNS = [
    "predictor",
    "term",
    "n",
    "events",
    "coef",
    "se",
    "z",
    "chi2",
    "p_value",
    "odds_ratio",
    "ci_low",
    "ci_high",
    "ci_method",
    "test",
    "note",
]
MULTIVARIABLE_COLUMNS = [
    "term",
    "coef",
    "se",
    "z",
    "chi2",
    "p_value",
    "odds_ratio",
    "wald_ci_low",
    "wald_ci_high",
    "profile_ci_low",
    "profile_ci_high",
    "estimable",
    "test",
]


@dataclass(frozen=True)
class LogisticResult:
    """Univariable and multivariable logistic regression of a binary outcome.

    Attributes
    ----------
    outcome : str
        Outcome column; ``positive`` is the value modelled as the event.
    positive : object
        Event value.
    univariable : pandas.DataFrame
        One row per term of each candidate predictor fitted alone: ``predictor, term,
        n, events, coef, se, z, p_value, odds_ratio, ci_low, ci_high, test, note``
        (Wald 95 % CI of the OR; rows not estimable because of separation are NaN with
        a note).
    multivariable : pandas.DataFrame
        ``term, coef, se, z, p_value, odds_ratio, wald_ci_low, wald_ci_high,
        profile_ci_low, profile_ci_high, estimable, test``; CIs are on the OR scale, the
        profile-likelihood interval as R's ``confint(glm)``. The intercept row is
        ``"(Intercept)"``.
    selected : tuple of str
        Predictors entered in the multivariable model.
    equation : str
        The fitted prediction equation, ``logit(p) = b0 + b1·x1 + ...``, and
        ``p = 1 / (1 + exp(−logit(p)))``.
    n, n_events, n_excluded : int
        Complete cases in the multivariable model, events among them, rows dropped for
        missing values.
    epv : float
        Events per variable: min(events, non-events) / number of model parameters
        (excluding the intercept).
    epv_candidates : float
        The same count of the rarer outcome divided by the parameters of all candidate
        predictors (before the univariable screen).
    vif : pandas.DataFrame
        ``term, vif`` of the multivariable design.
    hosmer_lemeshow : pandas.DataFrame
        One row: ``statistic, df, p_value, groups, test``.
    calibration : pandas.DataFrame
        Rows ``slope`` and ``intercept`` (calibration in the large) with columns
        ``apparent, optimism_corrected``. Apparent values of a maximum-likelihood fit are
        1 and 0 by construction; the corrected values come from the bootstrap.
    discrimination : pandas.DataFrame
        One row: ``auc_apparent, ci_low, ci_high, optimism, auc_corrected, bootstrap,
        seed, n_failed`` (apparent AUC with DeLong CI; Harrell optimism correction).
    roc : RocResult
        ROC of the apparent predicted probabilities.
    predicted : pandas.Series
        Predicted probabilities, indexed like the input rows used.
    separation : bool
        Separation detected in the multivariable model.
    messages : tuple of str
        Warnings raised, in words.
    model : object
        The multivariable fit: statsmodels GLM or GEE results, or a ``FirthFit``.
    method : str
        ``"ml"`` (maximum likelihood), ``"firth"`` (penalised likelihood) or ``"gee"``
        (clustered rows, cluster-robust standard errors).
    n_clusters : int or None
        Number of clusters (patients) in the multivariable model of a GEE, else None.
    reference : dict
        Reference level of every categorical predictor.
    estimable : bool
        False when the multivariable model has no finite maximum-likelihood estimate
        (separation) or too few events (below ``MIN_EVENTS`` of the rarer outcome or
        ``MIN_EPV`` per parameter): then no coefficient, test, AUC or calibration is
        reported.
    not_estimable : dict of str to str
        Why a figure is not reported, in words for the report: ``"model"`` (the whole
        multivariable model, e.g. "7 events; the model needs at least 10"),
        ``"performance"`` (under separation or a calibration refit that does not
        converge: the AUC's CI, Hosmer–Lemeshow, calibration and optimism correction)
        and ``"optimism"`` (bootstrap resamples whose refit failed).
    screened : bool
        True when the bootstrap repeated the univariable screen in every resample.
    """

    outcome: str
    positive: Any
    univariable: pd.DataFrame
    multivariable: pd.DataFrame
    selected: tuple[str, ...]
    equation: str
    n: int
    n_events: int
    n_excluded: int
    epv: float
    epv_candidates: float
    vif: pd.DataFrame
    hosmer_lemeshow: pd.DataFrame
    calibration: pd.DataFrame
    discrimination: pd.DataFrame
    roc: RocResult | None
    predicted: pd.Series = field(repr=False, compare=False)
    separation: bool = False
    messages: tuple[str, ...] = ()
    model: Any = field(default=None, repr=False, compare=False)
    method: str = "ml"
    n_clusters: int | None = None
    reference: dict = field(default_factory=dict)
    estimable: bool = True
    not_estimable: dict = field(default_factory=dict)
    screened: bool = False


# --------------------------------------------------------------------------- fitting
def _fit(y: np.ndarray, x: np.ndarray, offset: np.ndarray | None = None, start: Any = None) -> Any:
    """Fit a binomial GLM quietly; separation is detected separately."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    with warnings.catch_warnings():
        # Separation and non-convergence are diagnosed by _separation() and reported
        # once as SeparationWarning; statsmodels' own repeated warnings are noise here.
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="statsmodels")
        model = sm.GLM(y, x, family=sm.families.Binomial(), offset=offset)
        return model.fit(start_params=start)


def _newton(
    y: np.ndarray, x: np.ndarray, offset: np.ndarray | None = None, start: np.ndarray | None = None
) -> tuple[np.ndarray, float, bool]:
    """Maximum-likelihood logistic fit by Newton–Raphson with step halving.

    A lean equivalent of the GLM fit for the many refits of the profile likelihood and
    the bootstrap. Returns (coefficients, log-likelihood, converged); a fit that is still
    moving after 100 iterations (separation: the estimate is infinite) has not converged.
    """
    off = np.zeros(len(y)) if offset is None else offset
    beta = np.zeros(x.shape[1]) if start is None else np.array(start, dtype=float)

    def loglik(b: np.ndarray) -> float:
        eta = x @ b + off
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)))

    ll = loglik(beta)
    for _ in range(100):
        eta = x @ beta + off
        p = special.expit(eta)
        w = p * (1 - p)
        grad = x.T @ (y - p)
        hess = (x * w[:, None]).T @ x
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        t = 1.0
        while True:
            new = beta + t * step
            ll_new = loglik(new)
            if ll_new >= ll - 1e-12 or t < 1e-8:
                break
            t /= 2
        converged = abs(ll_new - ll) < 1e-12 * (1 + abs(ll)) and np.max(np.abs(t * step)) < 1e-9
        beta, ll = new, ll_new
        if converged:
            return beta, ll, True
    return beta, ll, False


def _separation(y: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """Return a separating direction if (quasi-)complete separation exists, else None.

    Linear programme (Konis 2007): maximise sum_i s_i x_i·b subject to s_i x_i·b >= 0
    and -1 <= b <= 1, with s_i = ±1 for events/non-events. A positive optimum means a
    hyperplane separates the classes (ties allowed), so the ML estimate is infinite.
    """
    sd = x.std(axis=0)
    z = np.where(sd > 0, (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1), x)
    s = np.where(y == 1, 1.0, -1.0)[:, None] * z
    res = optimize.linprog(
        -s.sum(axis=0),
        A_ub=-s,
        b_ub=np.zeros(len(y)),
        bounds=[(-1, 1)] * x.shape[1],
        method="highs",
    )
    if res.status == 0 and -res.fun > 1e-7 * len(y):
        return np.asarray(res.x)
    return None


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    r = midrank(score)
    m = int(y.sum())
    n = y.size - m
    return float((r[y == 1].sum() - m * (m + 1) / 2) / (m * n))


def _order_levels(s: pd.Series, p: Hashable, reference: Mapping[Hashable, Any]) -> list:
    """Return the levels of a categorical predictor, its reference level first."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        levels = [c for c in s.cat.categories if (s == c).any()]
    else:
        levels = sorted(s.dropna().unique().tolist(), key=str)
    if p in reference:
        ref = reference[p]
        match = [lv for lv in levels if lv == ref or str(lv) == str(ref)]
        if not match:
            raise StatsInputError(
                f"reference level {ref!r} of {p!r} does not occur; levels: {levels}"
            )
        levels = [match[0], *[lv for lv in levels if lv is not match[0]]]
    return levels


def _design(
    df: pd.DataFrame,
    predictors: Sequence[Hashable],
    categorical: set,
    reference: Mapping[Hashable, Any] | None = None,
) -> tuple[pd.DataFrame, dict, dict]:
    """Numeric design columns (no intercept), predictor -> term names, reference levels.

    The first level of a categorical predictor (``reference[p]`` when given) is the
    reference; the others enter as ``p[level]`` indicator terms.
    """
    reference = dict(reference or {})
    refs: dict[Hashable, Any] = {}
    cols: dict[str, pd.Series] = {}
    terms: dict[Hashable, list[str]] = {}
    for p in predictors:
        s = df[p]
        if s.notna().sum() == 0:
            raise StatsInputError(
                f"predictor {p!r}: every value is missing; fill it in or drop it from the model"
            )
        is_text = not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))
        if is_text and p not in categorical:
            parsed = pd.to_numeric(s.dropna(), errors="coerce")
            if parsed.notna().any():
                # Mostly numbers with stray text: a data error, which as_numeric explains.
                as_numeric(s, p)
        if p in categorical or is_text:
            levels = _order_levels(s, p, reference)
            refs[p] = levels[0]
            if len(levels) < 2:
                raise StatsInputError(
                    f"predictor {p!r} is constant ({levels[0]!r}); drop it from the model"
                )
            names = []
            for lv in levels[1:]:
                name = f"{p}[{lv}]"
                cols[name] = (s == lv).astype(float).where(s.notna())
                names.append(name)
            terms[p] = names
        else:
            v = as_numeric(s, p)
            if v.nunique() < 2:
                raise StatsInputError(
                    f"predictor {p!r} is constant ({v.dropna().iloc[0]!r}); drop it from the model"
                )
            cols[str(p)] = v
            terms[p] = [str(p)]
    return pd.DataFrame(cols, index=df.index), terms, refs


def _profile_ci(
    y: np.ndarray, x: np.ndarray, fit: Any, j: int, level: float
) -> tuple[float, float]:
    """Profile-likelihood interval of coefficient j by root finding on the deviance."""
    q = stats.chi2.ppf(level, 1)
    ll_max = fit.llf
    est = fit.params[j]
    se = fit.bse[j] if np.isfinite(fit.bse[j]) and fit.bse[j] > 0 else 1.0
    others = np.delete(np.arange(x.shape[1]), j)
    start = np.delete(fit.params, j)

    def excess(b: float) -> float:
        off = b * x[:, j]
        if others.size == 0:
            ll = float(np.sum(y * off - np.logaddexp(0.0, off)))
        else:
            ll = _newton(y, x[:, others], offset=off, start=start)[1]
        return 2 * (ll_max - ll) - q

    return profile_bounds(excess, est, se)


def hosmer_lemeshow(y: np.ndarray, p: np.ndarray, groups: int = 10) -> pd.DataFrame:
    """Hosmer–Lemeshow goodness-of-fit test over groups of predicted risk.

    Parameters
    ----------
    y : numpy.ndarray
        0/1 outcome.
    p : numpy.ndarray
        Predicted probabilities.
    groups : int, default 10
        Number of risk groups, cut at quantiles of ``p`` (ties kept together, so fewer
        groups may result), as ``ResourceSelection::hoslem.test`` in R.

    Returns
    -------
    pandas.DataFrame
        One row: ``statistic, df, p_value, groups, test``. The statistic sums
        (O − E)² / E over events and non-events of every group; df = groups − 2.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    edges = np.unique(np.quantile(p, np.linspace(0, 1, groups + 1)))
    idx = np.clip(np.searchsorted(edges, p, side="left") - 1, 0, len(edges) - 2)
    # include.lowest: the minimum belongs to the first interval (right-closed bins).
    idx[p <= edges[0]] = 0
    g = len(edges) - 1
    stat = 0.0
    for k in range(g):
        m = idx == k
        if not m.any():
            continue
        o1, e1 = y[m].sum(), p[m].sum()
        o0, e0 = m.sum() - o1, m.sum() - e1
        if e1 <= 0 or e0 <= 0:
            # predicted risks of exactly 0 or 1 (separation): the statistic is undefined
            stat = float("nan")
            break
        stat += (o1 - e1) ** 2 / e1 + (o0 - e0) ** 2 / e0
    df = g - 2
    pval = float(stats.chi2.sf(stat, df)) if df > 0 and np.isfinite(stat) else float("nan")
    return pd.DataFrame(
        [
            {
                "statistic": float(stat),
                "df": df,
                "p_value": pval,
                "groups": g,
                "test": f"Hosmer–Lemeshow chi-square ({g} groups at quantiles of predicted risk)",
            }
        ]
    )


def _equation(names: Sequence[str], params: np.ndarray, digits: int = 4) -> str:
    parts = [f"{params[0]:.{digits}f}"]
    for n, b in zip(names[1:], params[1:], strict=True):
        sign = "−" if b < 0 else "+"
        parts.append(f"{sign} {abs(b):.{digits}f}×{n}")
    return "logit(p) = " + " ".join(parts) + ";  p = 1 / (1 + exp(−logit(p)))"


# --------------------------------------------------------------------------- engines
@dataclass(frozen=True)
class _Fitted:
    """Coefficients and tests of one fit, whatever the estimator."""

    params: np.ndarray
    bse: np.ndarray
    z: np.ndarray
    chi2: np.ndarray
    pvalues: np.ndarray
    profile: np.ndarray
    test: str
    model: Any


def _gee(y: np.ndarray, x: np.ndarray, groups: np.ndarray) -> Any:
    """Fit a binomial GEE with exchangeable working correlation (robust covariance)."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="statsmodels")
        model = sm.GEE(
            y,
            x,
            groups=groups,
            family=sm.families.Binomial(),
            cov_struct=sm.cov_struct.Exchangeable(),
        )
        return model.fit()


def _engine(
    y: np.ndarray,
    x: np.ndarray,
    method: str,
    groups: np.ndarray | None,
    level: float,
    profile: bool,
) -> _Fitted:
    """Fit by ML (GLM), Firth or GEE; return coefficients, SEs, tests and intervals."""
    k = x.shape[1]
    nan = np.full(k, np.nan)
    prof = np.full((k, 2), np.nan)
    if method == "firth":
        fit = firth_fit(y, x)
        tests = np.array([firth_test(y, x, fit, j) for j in range(k)])
        if profile:
            prof = np.array([firth_profile_ci(y, x, fit, j, level) for j in range(k)])
        return _Fitted(fit.params, fit.bse, nan, tests[:, 0], tests[:, 1], prof, PLR_TEST, fit)
    if groups is not None:
        fit = _gee(y, x, groups)
        params, bse = np.asarray(fit.params), np.asarray(fit.bse)
        return _Fitted(params, bse, params / bse, nan, np.asarray(fit.pvalues), prof, GEE_TEST, fit)
    fit = _fit(y, x)
    params, bse = np.asarray(fit.params), np.asarray(fit.bse)
    if profile:
        prof = np.array([_profile_ci(y, x, fit, j, level) for j in range(k)])
    return _Fitted(params, bse, params / bse, nan, np.asarray(fit.pvalues), prof, WALD_TEST, fit)


def _ci_method(method: str, groups: Any) -> str:
    if method == "firth":
        return "profile penalised likelihood"
    return "Wald, cluster-robust SE" if groups is not None else "Wald"


# --------------------------------------------------------------------------- steps
def _uni_rows(
    p: Hashable,
    cols: Sequence[str],
    n: int,
    events: int,
    fitted: _Fitted | None,
    ci_method: str,
    test: str,
    zq: float,
) -> list[dict]:
    """Rows of the univariable table for predictor ``p`` (all NaN when not estimable)."""
    rows = []
    for k, t in enumerate(cols, start=1):
        row = {
            "predictor": p,
            "term": t,
            "n": n,
            "events": events,
            "ci_method": ci_method,
            "test": test,
        }
        if fitted is None:
            row.update(dict.fromkeys(UNIVARIABLE_COLUMNS[4:12], np.nan))
            row["note"] = "separation: not estimable"
        else:
            b, se = float(fitted.params[k]), float(fitted.bse[k])
            computed = not np.isnan(fitted.profile[k]).all()
            lo, hi = fitted.profile[k] if computed else (b - zq * se, b + zq * se)
            row.update(
                coef=b,
                se=se,
                z=float(fitted.z[k]),
                chi2=float(fitted.chi2[k]),
                p_value=float(fitted.pvalues[k]),
                odds_ratio=float(np.exp(b)),
                ci_low=float(np.exp(lo)),
                ci_high=float(np.exp(hi)),
                note="",
            )
        rows.append(row)
    return rows


def _univariable_fit(
    p: Hashable,
    cols: Sequence[str],
    y_all: pd.Series,
    design: pd.DataFrame,
    outcome: Hashable,
    zq: float,
    method: str = "ml",
    groups: pd.Series | None = None,
    level: float = 0.95,
) -> tuple[list[dict], float, str | None]:
    """Fit predictor ``p`` alone.

    Returns its univariable rows, its smallest p-value and the separation message
    (None without separation, and always None for Firth's method).
    """
    keep = y_all.notna() & design[cols].notna().all(axis=1)
    yy = y_all[keep].to_numpy()
    if yy.min() == yy.max():
        raise StatsInputError(
            f"outcome {outcome!r} has a single class among rows where {p!r} is present"
        )
    xx = np.column_stack([np.ones(int(keep.sum())), design.loc[keep, cols].to_numpy()])
    gg = None if groups is None else groups[keep].to_numpy()
    n, events = int(keep.sum()), int(yy.sum())
    ci_method = _ci_method(method, gg)
    test = PLR_TEST if method == "firth" else (GEE_TEST if gg is not None else WALD_TEST)
    if method != "firth" and _separation(yy, xx) is not None:
        msg = (
            f"predictor {p!r}: perfect or quasi-complete separation of {outcome!r}; "
            "its odds ratio is not estimable by maximum likelihood "
            '(use [logistic] method = "firth")'
        )
        # separated predictors are strongly associated by definition: they pass a screen
        return _uni_rows(p, cols, n, events, None, ci_method, test, zq), 0.0, msg
    fitted = _engine(yy, xx, method, gg, level, profile=method == "firth")
    rows = _uni_rows(p, cols, n, events, fitted, ci_method, test, zq)
    return rows, float(np.min(fitted.pvalues[1:])), None


def _univariable(
    y_all: pd.Series,
    design: pd.DataFrame,
    terms: dict,
    predictors: Sequence[Hashable],
    outcome: Hashable,
    zq: float,
    method: str = "ml",
    groups: pd.Series | None = None,
    level: float = 0.95,
) -> tuple[pd.DataFrame, dict[Hashable, float], list[str]]:
    """Fit each candidate alone: (univariable table, smallest p per predictor, warnings)."""
    uni_rows: list[dict] = []
    best_p: dict[Hashable, float] = {}
    messages: list[str] = []
    for p in predictors:
        rows, best_p[p], msg = _univariable_fit(
            p, terms[p], y_all, design, outcome, zq, method, groups, level
        )
        if msg is not None:
            # stacklevel 3: the warning points at the caller of logistic()
            warnings.warn(msg, SeparationWarning, stacklevel=3)
            messages.append(msg)
        uni_rows += rows
    return pd.DataFrame(uni_rows, columns=UNIVARIABLE_COLUMNS), best_p, messages


def _screen(
    predictors: list[Hashable], best_p: dict[Hashable, float], univariable_screen: float | None
) -> list[Hashable]:
    """Return the predictors entering the multivariable model."""
    if univariable_screen is None:
        return predictors
    selected = [p for p in predictors if best_p[p] < univariable_screen]
    if not selected:
        raise StatsInputError(
            f"no predictor has a univariable p < {univariable_screen}; relax "
            "univariable_screen or pass univariable_screen=None"
        )
    return selected


def _complete_cases(
    y_all: pd.Series, design: pd.DataFrame, cols: list[str], outcome: Hashable
) -> tuple[pd.Series, np.ndarray, np.ndarray, list[str]]:
    """Return (rows kept, outcome, design with intercept, term names) of the model.

    Refuses a single outcome class and a rank-deficient (collinear) design.
    """
    keep = y_all.notna() & design[cols].notna().all(axis=1)
    y = y_all[keep].to_numpy()
    if y.min() == y.max():
        raise StatsInputError(
            f"outcome {outcome!r} has a single class among complete cases of the model"
        )
    x = np.column_stack([np.ones(int(keep.sum())), design.loc[keep, cols].to_numpy()])
    names = ["(Intercept)", *cols]
    if x.shape[0] <= x.shape[1]:
        raise StatsInputError(
            f"{x.shape[0]} complete case(s) for {x.shape[1]} model parameters; the model "
            "needs more patients than parameters (drop predictors)"
        )
    rank = np.linalg.matrix_rank(x)
    if rank < x.shape[1]:
        _, r_ = np.linalg.qr(x)
        dependent = [names[i] for i in range(x.shape[1]) if abs(r_[i, i]) < 1e-10 * abs(r_).max()]
        raise StatsInputError(
            f"predictors are collinear (design rank {rank} < {x.shape[1]} columns; "
            f"dependent term(s): {dependent}); drop or combine them"
        )
    return keep, y, x, names


def _events_per_variable(
    n: int, events: int, n_params: int, n_cand: int
) -> tuple[float, float, list[str]]:
    """Return events per variable of the model and of all candidates, and warnings.

    Warns below 10 events per variable of the model.
    """
    epv = min(events, n - events) / n_params
    epv_cand = min(events, n - events) / n_cand
    messages = []
    if epv < 10:
        msg = (
            f"{epv:.1f} events per variable ({min(events, n - events)} of the rarer outcome, "
            f"{n_params} parameter(s)); below 10 the model may be overfitted"
        )
        # stacklevel 3: the warning points at the caller of logistic()
        warnings.warn(msg, EventsPerVariableWarning, stacklevel=3)
        messages.append(msg)
    return epv, epv_cand, messages


def _separation_message(sep: np.ndarray, names: list[str], outcome: Hashable) -> str:
    """Explain a separated multivariable model in words."""
    involved = [names[i] for i in range(1, len(names)) if abs(sep[i]) > 1e-8]
    return (
        f"multivariable model: perfect or quasi-complete separation of {outcome!r} "
        f"(by {', '.join(map(repr, involved)) or 'the intercept'}); the maximum-likelihood "
        "estimates "
        "are infinite, so no coefficient, test, AUC or calibration of this model is "
        'reported; use Firth\'s penalised likelihood ([logistic] method = "firth")'
    )


def _coefficients(fitted: _Fitted | None, names: list[str], zq: float, test: str) -> pd.DataFrame:
    """Return the multivariable table (all NaN and not estimable when ``fitted`` is None)."""
    rows = []
    for i, t in enumerate(names):
        if fitted is None:
            rows.append(
                {
                    "term": t,
                    **dict.fromkeys(MULTIVARIABLE_COLUMNS[1:-2], np.nan),
                    "estimable": False,
                    "test": test,
                }
            )
            continue
        b, se = float(fitted.params[i]), float(fitted.bse[i])
        rows.append(
            {
                "term": t,
                "coef": b,
                "se": se,
                "z": float(fitted.z[i]),
                "chi2": float(fitted.chi2[i]),
                "p_value": float(fitted.pvalues[i]),
                "odds_ratio": float(np.exp(b)),
                "wald_ci_low": float(np.exp(b - zq * se)),
                "wald_ci_high": float(np.exp(b + zq * se)),
                "profile_ci_low": float(np.exp(fitted.profile[i, 0])),
                "profile_ci_high": float(np.exp(fitted.profile[i, 1])),
                "estimable": True,
                "test": fitted.test,
            }
        )
    return pd.DataFrame(rows, columns=MULTIVARIABLE_COLUMNS)


def _multivariable(
    y: np.ndarray,
    x: np.ndarray,
    names: list[str],
    outcome: Hashable,
    zq: float,
    conf_level: float,
    profile: bool,
    method: str = "ml",
    groups: np.ndarray | None = None,
) -> tuple[_Fitted | None, np.ndarray | None, pd.DataFrame, list[str]]:
    """Fit the multivariable model.

    Returns the fit (None when not estimable), the separating direction (None without
    separation), the multivariable table and the warnings issued. Under separation a
    maximum-likelihood or GEE model is not estimable at all; Firth's method is.
    """
    sep = _separation(y, x)
    messages: list[str] = []
    test = PLR_TEST if method == "firth" else (GEE_TEST if groups is not None else WALD_TEST)
    if sep is not None and method != "firth":
        msg = _separation_message(sep, names, outcome)
        # stacklevel 3: the warning points at the caller of logistic()
        warnings.warn(msg, SeparationWarning, stacklevel=3)
        return None, sep, _coefficients(None, names, zq, test), [msg]
    fitted = _engine(y, x, method, groups, conf_level, profile and groups is None)
    return fitted, sep, _coefficients(fitted, names, zq, test), messages


def _vif(x: np.ndarray, cols: list[str]) -> pd.DataFrame:
    """Return the variance inflation factor of each model term (1 for a single term)."""
    if len(cols) >= 2:
        from statsmodels.stats.outliers_influence import variance_inflation_factor

        vif_values = [float(variance_inflation_factor(x, i)) for i in range(1, x.shape[1])]
    else:
        vif_values = [1.0] * len(cols)
    return pd.DataFrame({"term": cols, "vif": vif_values})


@dataclass(frozen=True)
class _Procedure:
    """The whole modelling procedure, as the bootstrap repeats it in every resample.

    ``y`` and ``design`` hold every analysed row (NaN where a value is missing);
    ``terms`` lists the design columns of each candidate predictor; ``screen`` is the
    univariable p-value a candidate needs to enter the model (None: all enter).
    """

    y: np.ndarray
    design: np.ndarray
    terms: tuple[tuple[int, ...], ...]
    screen: float | None
    method: str


def _wald_min_p(y: np.ndarray, x: np.ndarray, method: str) -> float:
    """Smallest univariable p of the non-intercept terms of ``x`` (0 when separated)."""
    if method == "firth":
        fit = firth_fit(y, x)
        return float(min(firth_test(y, x, fit, j)[1] for j in range(1, x.shape[1])))
    b, _, ok = _newton(y, x)
    if not ok:
        return 0.0  # separated: passes any screen, as in the original analysis
    p = special.expit(x @ b)
    cov = np.linalg.pinv((x * (p * (1 - p))[:, None]).T @ x)
    z = b[1:] / np.sqrt(np.diag(cov)[1:])
    return float(np.min(2 * stats.norm.sf(np.abs(z))))


def _rows(y: np.ndarray, d: np.ndarray, cols: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Outcome and design (intercept first) of the rows complete for ``cols``."""
    keep = ~np.isnan(y) & ~np.isnan(d[:, list(cols)]).any(axis=1)
    return y[keep], np.column_stack([np.ones(int(keep.sum())), d[keep][:, list(cols)]])


def _run_procedure(
    proc: _Procedure, yb: np.ndarray, db: np.ndarray, start: np.ndarray | None
) -> tuple[list[int], np.ndarray] | str:
    """Screen (if asked) and fit the model in one resample: (columns, coefficients).

    Returns the reason in words when the procedure fails in this resample.
    """
    chosen = list(range(len(proc.terms)))
    if proc.screen is not None:
        chosen = []
        for k, term_cols in enumerate(proc.terms):
            yk, xk = _rows(yb, db, term_cols)
            if yk.min() == yk.max() or np.linalg.matrix_rank(xk) < xk.shape[1]:
                continue
            if _wald_min_p(yk, xk, proc.method) < proc.screen:
                chosen.append(k)
        if not chosen:
            return "no candidate passed the screen"
    cols = [c for k in chosen for c in proc.terms[k]]
    ym, xm = _rows(yb, db, cols)
    if ym.size == 0 or ym.min() == ym.max() or np.linalg.matrix_rank(xm) < xm.shape[1]:
        return "a single outcome class or collinear terms"
    start = start if start is not None and start.size == xm.shape[1] else None
    if proc.method == "firth":
        fit = firth_fit(ym, xm, start=start)
        pb, ok = fit.params, fit.converged
    else:
        # Newton "converges" at a huge coefficient under separation (the weights
        # underflow), so separation is tested directly.
        pb, _, ok = _newton(ym, xm, start=start)
        ok = ok and _separation(ym, xm) is None
    if not ok or not np.all(np.isfinite(pb)):
        return "the model did not converge (separation in the resample)"
    return cols, pb


def _bootstrap(
    proc: _Procedure, params: np.ndarray, bootstrap: int, seed: int
) -> tuple[list[float], list[float], list[float], dict[str, int]]:
    """Repeat the whole procedure in bootstrap resamples (Harrell's optimism correction).

    Each resample is screened (when the analysis screened) and refitted; the resample
    model is tested on the original rows. Returns the AUC optimism, the calibration
    slope and intercept in the original data of each resample model, and the count of
    failed resamples by reason (a refit or a calibration refit that did not converge).
    """
    opt_auc: list[float] = []
    slopes: list[float] = []
    intercepts: list[float] = []
    failed: dict[str, int] = {}
    y, d = proc.y, proc.design
    n = y.size
    rng = np.random.default_rng(seed)
    for _ in range(int(bootstrap)):
        idx = rng.integers(0, n, n)
        out = _run_procedure(proc, y[idx], d[idx], params)
        if isinstance(out, str):
            failed[out] = failed.get(out, 0) + 1
            continue
        cols, pb = out
        yb, xb = _rows(y[idx], d[idx], cols)
        yo, xo = _rows(y, d, cols)
        lp_orig = xo @ pb
        (slope, inter), ok = _apparent_calibration(yo, lp_orig)
        if not ok:
            reason = "the calibration refit did not converge (the risk score separates)"
            failed[reason] = failed.get(reason, 0) + 1
            continue
        opt_auc.append(_auc(yb, xb @ pb) - _auc(yo, lp_orig))
        slopes.append(slope)
        intercepts.append(inter)
    return opt_auc, slopes, intercepts, failed


def _discrimination(
    roc_res: RocResult | None, opt_auc: list[float], bootstrap: int, seed: int, failed: int
) -> pd.DataFrame:
    """Return the apparent AUC with its DeLong CI and the optimism-corrected AUC."""
    optimism = float(np.mean(opt_auc)) if opt_auc else float("nan")
    auc, lo, hi = (
        (np.nan,) * 3 if roc_res is None else (roc_res.auc, roc_res.ci_low, roc_res.ci_high)
    )
    return pd.DataFrame(
        [
            {
                "auc_apparent": auc,
                "ci_low": lo,
                "ci_high": hi,
                "optimism": optimism,
                "auc_corrected": auc - optimism,
                "bootstrap": bootstrap,
                "seed": seed,
                "n_failed": failed,
                "method": "Harrell bootstrap optimism correction; apparent AUC with DeLong CI",
            }
        ]
    )


def _calibration(
    slopes: list[float], intercepts: list[float], apparent: tuple[float, float] = (1.0, 0.0)
) -> pd.DataFrame:
    """Return apparent and optimism-corrected calibration slope and intercept."""
    return pd.DataFrame(
        {
            "measure": ["slope", "intercept"],
            "apparent": list(apparent),
            "optimism_corrected": [
                float(np.mean(slopes)) if slopes else np.nan,
                float(np.mean(intercepts)) if intercepts else np.nan,
            ],
        }
    )


def _floor_reason(n: int, events: int, n_params: int) -> str:
    """Why a model with this many events cannot be estimated ('' when it can).

    The floor: at least ``MIN_EVENTS`` of the rarer outcome and ``MIN_EPV`` of them per
    model parameter (Peduzzi et al. 1996; Vittinghoff & McCulloch 2007).
    """
    rarer = min(events, n - events)
    kind = "events" if events <= n - events else "non-events"
    if rarer < MIN_EVENTS:
        return f"{rarer} {kind}; the model needs at least {MIN_EVENTS}"
    if rarer / n_params < MIN_EPV:
        return (
            f"{rarer} {kind} for {n_params} parameters ({rarer / n_params:.1f} per "
            f"parameter); the model needs at least {MIN_EPV:g} per parameter"
        )
    return ""


def _apparent_calibration(y: np.ndarray, lp: np.ndarray) -> tuple[tuple[float, float], bool]:
    """Calibration slope and intercept of the outcome on a risk score, and convergence."""
    design = np.column_stack([np.ones(y.size), lp])
    slope, _, ok_s = _newton(y, design)
    inter, _, ok_i = _newton(y, np.ones((y.size, 1)), offset=lp)
    ok = ok_s and ok_i and _separation(y, design) is None
    return (float(slope[1]), float(inter[0])), ok


def _hl_empty() -> pd.DataFrame:
    return pd.DataFrame(
        [{"statistic": np.nan, "df": np.nan, "p_value": np.nan, "groups": 0, "test": ""}]
    )


def _not_estimable_performance(reason: str, seed: int) -> dict[str, Any]:
    """Return the performance entries of a model that has none (NaN rows, no ROC)."""
    return {
        "hl": _hl_empty(),
        "roc": None,
        "predicted": pd.Series(dtype=float, name="predicted"),
        "calibration": _calibration([], [], (np.nan, np.nan)),
        "discrimination": _discrimination(None, [], 0, seed, 0),
        "not_estimable": {"model": reason} if reason else {},
    }


def _performance(
    y: np.ndarray,
    x: np.ndarray,
    fitted: _Fitted | None,
    index: pd.Index,
    proc: _Procedure,
    separated: bool,
    groups: np.ndarray | None,
    settings: tuple[int, int, float, int],
) -> dict[str, Any]:
    """Predicted risk, Hosmer–Lemeshow, ROC, calibration and bootstrap of a fitted model.

    ``settings`` is (bootstrap, seed, conf_level, hl_groups). Under separation, or when
    the calibration refit does not converge, only the apparent AUC is given; the AUC's
    CI, Hosmer–Lemeshow, calibration and optimism correction are not estimable, each
    with its reason in ``not_estimable``. Clustered (GEE) models get no Hosmer–Lemeshow
    test and no bootstrap, which assume independent rows.
    """
    bootstrap, seed, conf_level, hl_groups = settings
    if fitted is None:
        return _not_estimable_performance("", seed)
    lp = x @ fitted.params
    prob = special.expit(lp)
    roc_res = roc(y, prob, positive=1, direction="higher", conf_level=conf_level, label="model")
    apparent, converged = _apparent_calibration(y, lp)
    reasons: dict[str, str] = {}
    if separated or not converged:
        why = (
            "the predictors separate the outcome"
            if separated
            else "the calibration refit of the outcome on the risk score did not converge"
        )
        reasons["performance"] = (
            f"{why} (apparent AUC {roc_res.auc:.3f}); the AUC's confidence interval, "
            "Hosmer–Lemeshow test, calibration and optimism correction cannot be estimated"
        )
        nan_out = _not_estimable_performance("", seed)
        roc_res = dataclasses.replace(roc_res, ci_low=np.nan, ci_high=np.nan)
        return {
            **nan_out,
            "roc": roc_res,
            "predicted": pd.Series(prob, index=index, name="predicted"),
            "discrimination": _discrimination(roc_res, [], 0, seed, 0),
            "not_estimable": reasons,
        }
    if fitted.test != PLR_TEST:
        apparent = (1.0, 0.0)  # maximum likelihood: exactly 1 and 0 by construction
    clustered = groups is not None
    runs = int(bootstrap) if bootstrap and not clustered else 0
    opt_auc, slopes, intercepts, failed = (
        _bootstrap(proc, fitted.params, runs, seed) if runs else ([], [], [], {})
    )
    n_failed = sum(failed.values())
    if n_failed:
        reasons["optimism"] = (
            f"{n_failed} of {runs} bootstrap resamples failed ("
            + "; ".join(f"{k}: {v}" for k, v in failed.items())
            + "); the optimism-corrected AUC and calibration are not reported"
        )
        opt_auc, slopes, intercepts = [], [], []
    return {
        "hl": _hl_empty() if clustered else hosmer_lemeshow(y, prob, hl_groups),
        "roc": roc_res,
        "predicted": pd.Series(prob, index=index, name="predicted"),
        "calibration": _calibration(slopes, intercepts, apparent),
        "discrimination": _discrimination(roc_res, opt_auc, runs, seed, n_failed),
        "not_estimable": reasons,
    }


def _procedure(
    y_all: pd.Series,
    design: pd.DataFrame,
    terms: dict,
    predictors: Sequence[Hashable],
    selected: Sequence[Hashable],
    screen: float | None,
    method: str,
) -> _Procedure:
    """Return what the bootstrap repeats.

    With a screen: every candidate on every analysed row; without one: the final model
    on its complete cases (as fitted).
    """
    chosen = list(predictors) if screen is not None else list(selected)
    cols = [t for p in chosen for t in terms[p]]
    rows = y_all.notna()
    if screen is None:
        rows &= design[cols].notna().all(axis=1)
    idx = tuple(tuple(cols.index(t) for t in terms[p]) for p in chosen)
    return _Procedure(
        y=y_all[rows].to_numpy(dtype=float),
        design=design.loc[rows, cols].to_numpy(dtype=float),
        terms=idx,
        screen=screen,
        method=method,
    )


# --------------------------------------------------------------------------- public
def logistic(
    df: pd.DataFrame,
    outcome: Hashable,
    predictors: Sequence[Hashable],
    univariable_screen: float | None = None,
    *,
    positive: Any = None,
    categorical: Sequence[Hashable] = (),
    bootstrap: int = 200,
    seed: int = 20240601,
    conf_level: float = 0.95,
    profile: bool = True,
    hl_groups: int = 10,
    method: str = "ml",
    clusters: Hashable | None = None,
    reference: Mapping[Hashable, Any] | None = None,
) -> LogisticResult:
    """Univariable screen, multivariable logistic model and its validation figures.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject.
    outcome : hashable
        Binary outcome column.
    predictors : sequence of hashable
        Candidate predictors. Numeric columns enter per unit; columns holding only text
        and those listed in ``categorical`` are dummy-coded against their first (sorted)
        level (pandas categoricals: their first category). A numeric column with a
        stray text value is an error.
    univariable_screen : float, optional
        Enter only predictors whose smallest univariable p-value is below this level
        (e.g. 0.05 or 0.10); ``None`` enters all candidates.
    positive : object, optional
        Outcome value modelled as the event (needed unless 0/1 or boolean).
    categorical : sequence of hashable
        Numeric predictors to treat as categorical.
    bootstrap : int, default 200
        Bootstrap resamples for the optimism-corrected AUC and calibration; 0 skips.
    seed : int
        Seed of the bootstrap generator (results are reproducible).
    conf_level : float, default 0.95
        Level of all confidence intervals.
    profile : bool, default True
        Compute profile-likelihood intervals (a few extra fits per coefficient).
    hl_groups : int, default 10
        Groups of the Hosmer–Lemeshow test.
    method : {"ml", "firth"}, default "ml"
        Maximum likelihood (R ``glm``; Wald tests, profile-likelihood CIs), or Firth's
        penalised likelihood (R ``logistf``: penalised likelihood-ratio tests and
        profile penalised-likelihood CIs, finite under separation).
    clusters : hashable, optional
        Column identifying clusters of rows (the patient when each row is a vertebra).
        The models are then GEEs with an exchangeable working correlation and
        cluster-robust (sandwich) standard errors, as R's ``gee``; no profile CI,
        Hosmer–Lemeshow test or bootstrap (they assume independent rows).
    reference : mapping, optional
        Reference level per categorical predictor, e.g. ``{"npec": "no"}`` (default:
        the first level).

    Returns
    -------
    LogisticResult

    Raises
    ------
    StatsInputError
        Missing columns, a single outcome class, a constant, all-missing or non-numeric
        predictor, collinear predictors, or no predictor passing the screen.

    Warns
    -----
    SeparationWarning
        Perfect or quasi-complete separation under maximum likelihood: the model is not
        estimable, so its coefficients, tests, AUC and calibration are all left empty
        (``estimable`` False); Firth's method gives finite estimates.
    EventsPerVariableWarning
        Fewer than 10 events per variable.

    Notes
    -----
    Coefficients, SEs and Wald tests come from statsmodels' binomial GLM (IRLS, as R's
    ``glm``). Profile-likelihood intervals invert the likelihood-ratio test for each
    coefficient. The bootstrap follows Harrell (2015, §5.3): optimism = mean over
    resamples of (AUC of the refitted model in its resample − its AUC in the original
    data); the corrected calibration slope is the mean slope of the original outcome
    on the resample models' linear predictors.
    """
    df = as_frame(df)
    predictors = list(predictors)
    if not predictors:
        raise StatsInputError("predictors is empty; name at least one column")
    if method not in METHODS:
        raise StatsInputError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    require_columns(
        df, [outcome, *predictors, *([clusters] if clusters is not None else [])], "logistic"
    )
    if method == "firth" and clusters is not None:
        raise StatsInputError(
            "Firth's method with clustered rows (several vertebrae per patient) is not "
            "available; analyse one row per patient, or use method='ml' with clusters"
        )
    y_codes, _ = as_binary(df[outcome], positive, outcome)
    if positive is None:
        positive = 1
    y_all = pd.Series(y_codes, index=df.index)
    groups = None if clusters is None else df[clusters]
    if groups is not None:
        y_all = y_all.where(groups.notna())
    design, terms, refs = _design(df, predictors, set(categorical), reference)
    zq = stats.norm.ppf(1 - (1 - conf_level) / 2)

    # ---- univariable
    univariable, best_p, messages = _univariable(
        y_all, design, terms, predictors, outcome, zq, method, groups, conf_level
    )

    # ---- selection and complete cases
    selected = _screen(predictors, best_p, univariable_screen)
    cols = [t for p in selected for t in terms[p]]
    keep, y, x, names = _complete_cases(y_all, design, cols, outcome)
    gg = None if groups is None else groups[keep].to_numpy()
    n, events = int(y.size), int(y.sum())
    n_cand = sum(len(terms[p]) for p in predictors)
    epv, epv_cand, epv_messages = _events_per_variable(n, events, len(cols), n_cand)
    messages += epv_messages

    # ---- multivariable (not below the floor of events)
    floor = _floor_reason(n, events, len(cols))
    fitted, sep, multivariable, sep_messages = _multivariable(
        y, x, names, outcome, zq, conf_level, profile and not floor, method, gg
    )
    messages += sep_messages
    if floor:
        fitted = None
        multivariable = _coefficients(None, names, zq, multivariable["test"].iloc[0])
        messages.append(f"multivariable model not estimable: {floor}")
    proc = _procedure(y_all, design, terms, predictors, selected, univariable_screen, method)
    perf = _performance(
        y, x, fitted, y_all[keep].index, proc, sep is not None, gg,
        (bootstrap, seed, conf_level, hl_groups),
    )  # fmt: skip
    if fitted is None:
        perf["not_estimable"] = {"model": floor or "the predictors separate the outcome"}
    return LogisticResult(
        outcome=str(outcome),
        positive=positive,
        univariable=univariable,
        multivariable=multivariable,
        selected=tuple(map(str, selected)),
        equation=(f"not estimable ({floor})" if floor else NOT_ESTIMABLE)
        if fitted is None
        else _equation(names, fitted.params),
        n=n,
        n_events=events,
        n_excluded=int((~keep).sum()),
        epv=float(epv),
        epv_candidates=float(epv_cand),
        vif=_vif(x, cols),
        hosmer_lemeshow=perf["hl"],
        calibration=perf["calibration"],
        discrimination=perf["discrimination"],
        roc=perf["roc"],
        predicted=perf["predicted"],
        separation=sep is not None,
        messages=tuple(messages),
        model=None if fitted is None else fitted.model,
        method="gee" if gg is not None else method,
        n_clusters=None if gg is None else int(pd.Series(gg).nunique()),
        reference=refs,
        estimable=fitted is not None,
        not_estimable=perf["not_estimable"],
        screened=univariable_screen is not None,
    )


LR_TEST = "Likelihood-ratio test of the added terms (nested models, same patients)"
PENALISED_LR_TEST = (
    "Penalised likelihood-ratio test of the added terms (Firth; nested models, same patients)"
)


def nested_lr_test(
    result: LogisticResult, df: pd.DataFrame, reduced: Sequence[Hashable]
) -> dict[str, Any]:
    """Test the terms a multivariable model adds to a model of some of its predictors.

    The valid comparison of a model with its own components (DeLong's test of in-sample
    AUCs of nested models is not; Demler, Pencina & D'Agostino, Stat Med 2012): both
    models are fitted to the complete cases of the full model, by the full model's
    method, and 2·(log L_full − log L_reduced) is referred to chi-square on the number of
    added parameters.

    Parameters
    ----------
    result : LogisticResult
        The full model (estimable; maximum likelihood or Firth).
    df : pandas.DataFrame
        The table the full model was fitted to.
    reduced : sequence of hashable
        Predictors of the reduced model, all among ``result.selected``.

    Returns
    -------
    dict
        ``reduced, added, statistic, df, p_value, n, test``.

    Raises
    ------
    NotEstimableError
        The full model is not estimable, or clustered (GEE has no likelihood).
    StatsInputError
        A reduced predictor is not in the model.
    """
    if not result.estimable or result.method == "gee":
        why = "the model is not estimable" if not result.estimable else "GEE has no likelihood"
        raise NotEstimableError(f"likelihood-ratio test of the added terms: {why}")
    reduced_names = [str(p) for p in reduced]
    missing = [p for p in reduced_names if p not in result.selected]
    if missing:
        raise StatsInputError(f"{missing} not among the model's predictors {list(result.selected)}")
    rows = result.predicted.index
    design, terms, _ = _design(
        df.loc[rows], list(result.selected), set(result.reference), result.reference
    )
    y = as_binary(df.loc[rows, result.outcome], result.positive, result.outcome)[0]

    def loglik(predictors: Sequence[str]) -> tuple[float, int]:
        cols = [t for p in predictors for t in terms[p]]
        x = np.column_stack([np.ones(len(rows)), design[cols].to_numpy(dtype=float)])
        if result.method == "firth":
            return float(firth_fit(y, x).loglik), len(cols)
        return float(_newton(y, x)[1]), len(cols)

    ll_full, k_full = loglik(list(result.selected))
    ll_red, k_red = loglik(reduced_names)
    stat = max(2 * (ll_full - ll_red), 0.0)
    dof = k_full - k_red
    return {
        "reduced": ", ".join(reduced_names),
        "added": ", ".join(p for p in result.selected if p not in reduced_names),
        "statistic": stat,
        "df": dof,
        "p_value": float(stats.chi2.sf(stat, dof)),
        "n": len(rows),
        "test": PENALISED_LR_TEST if result.method == "firth" else LR_TEST,
    }
