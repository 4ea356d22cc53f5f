"""Logistic regression for risk-factor studies.

Univariable screen, multivariable model, prediction equation, events per variable,
separation, VIF, calibration and bootstrap optimism-corrected AUC (Harrell; TRIPOD).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from kyphoimg.errors import StatsInputError

from ._delong import midrank
from ._roc import RocResult, roc
from ._validate import (
    EventsPerVariableWarning,
    SeparationWarning,
    as_binary,
    as_frame,
    as_numeric,
    require_columns,
)

__all__ = ["LogisticResult", "hosmer_lemeshow", "logistic"]

WALD_TEST = "Wald z (logistic regression)"
UNIVARIABLE_COLUMNS = [
    "predictor",
    "term",
    "n",
    "events",
    "coef",
    "se",
    "z",
    "p_value",
    "odds_ratio",
    "ci_low",
    "ci_high",
    "test",
    "note",
]
MULTIVARIABLE_COLUMNS = [
    "term",
    "coef",
    "se",
    "z",
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
        The statsmodels GLM results of the multivariable model.
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
) -> tuple[np.ndarray, float]:
    """Maximum-likelihood logistic fit by Newton–Raphson with step halving.

    A lean equivalent of the GLM fit for the many refits of the profile likelihood and
    the bootstrap. Returns (coefficients, log-likelihood).
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
            break
    return beta, ll


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


def _design(
    df: pd.DataFrame, predictors: Sequence[Hashable], categorical: set
) -> tuple[pd.DataFrame, dict]:
    """Numeric design columns (no intercept) and a map predictor -> term names."""
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
            if isinstance(s.dtype, pd.CategoricalDtype):
                levels = [c for c in s.cat.categories if (s == c).any()]
            else:
                levels = sorted(s.dropna().unique().tolist(), key=str)
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
    return pd.DataFrame(cols, index=df.index), terms


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

    bounds = []
    for sign in (-1, 1):
        step = 2.0 * se
        far = est + sign * step
        for _ in range(40):
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


# --------------------------------------------------------------------------- steps
def _univariable_fit(
    p: Hashable,
    cols: Sequence[str],
    y_all: pd.Series,
    design: pd.DataFrame,
    outcome: Hashable,
    zq: float,
) -> tuple[list[dict], float, str | None]:
    """Fit predictor ``p`` alone.

    Returns its univariable rows, its smallest p-value and the separation message
    (None without separation).
    """
    keep = y_all.notna() & design[cols].notna().all(axis=1)
    yy = y_all[keep].to_numpy()
    if yy.min() == yy.max():
        raise StatsInputError(
            f"outcome {outcome!r} has a single class among rows where {p!r} is present"
        )
    xx = np.column_stack([np.ones(int(keep.sum())), design.loc[keep, cols].to_numpy()])
    if _separation(yy, xx) is not None:
        msg = (
            f"predictor {p!r}: perfect or quasi-complete separation of {outcome!r}; "
            "its odds ratio is not estimable by maximum likelihood (consider Firth's method)"
        )
        rows = [
            {
                "predictor": p,
                "term": t,
                "n": int(keep.sum()),
                "events": int(yy.sum()),
                "coef": np.nan,
                "se": np.nan,
                "z": np.nan,
                "p_value": np.nan,
                "odds_ratio": np.nan,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "test": WALD_TEST,
                "note": "separation: not estimable",
            }
            for t in cols
        ]
        return rows, 0.0, msg  # separated predictors are strongly associated by definition
    fit = _fit(yy, xx)
    rows = []
    for k, t in enumerate(cols, start=1):
        b, se = float(fit.params[k]), float(fit.bse[k])
        rows.append(
            {
                "predictor": p,
                "term": t,
                "n": int(keep.sum()),
                "events": int(yy.sum()),
                "coef": b,
                "se": se,
                "z": b / se,
                "p_value": float(fit.pvalues[k]),
                "odds_ratio": float(np.exp(b)),
                "ci_low": float(np.exp(b - zq * se)),
                "ci_high": float(np.exp(b + zq * se)),
                "test": WALD_TEST,
                "note": "",
            }
        )
    return rows, float(np.min(fit.pvalues[1:])), None


def _univariable(
    y_all: pd.Series,
    design: pd.DataFrame,
    terms: dict,
    predictors: Sequence[Hashable],
    outcome: Hashable,
    zq: float,
) -> tuple[pd.DataFrame, dict[Hashable, float], list[str]]:
    """Fit each candidate alone: (univariable table, smallest p per predictor, warnings)."""
    uni_rows: list[dict] = []
    best_p: dict[Hashable, float] = {}
    messages: list[str] = []
    for p in predictors:
        rows, best_p[p], msg = _univariable_fit(p, terms[p], y_all, design, outcome, zq)
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


def _estimable(
    sep: np.ndarray | None, names: list[str], outcome: Hashable
) -> tuple[np.ndarray, str | None]:
    """Mark the coefficients estimable without separation: (mask, separation message)."""
    estimable = np.ones(len(names), dtype=bool)
    if sep is None:
        return estimable, None
    involved = [names[i] for i in range(1, len(names)) if abs(sep[i]) > 1e-8]
    # The intercept of a separated model is as meaningless as the separating slopes.
    estimable[[0, *[names.index(t) for t in involved]]] = False
    msg = (
        f"multivariable model: perfect or quasi-complete separation of {outcome!r} "
        f"by {involved}; those coefficients are not estimable (infinite ML estimate) "
        "and the rest should be read with care"
    )
    return estimable, msg


def _coefficients(
    y: np.ndarray,
    x: np.ndarray,
    fit: Any,
    params: np.ndarray,
    bse: np.ndarray,
    names: list[str],
    estimable: np.ndarray,
    zq: float,
    conf_level: float,
    profile: bool,
) -> pd.DataFrame:
    """Return the multivariable table: Wald and (if ``profile``) profile-likelihood CIs."""
    rows = []
    for i, t in enumerate(names):
        b, se = float(params[i]), float(bse[i])
        lo_p = hi_p = np.nan
        if profile:
            lo_p, hi_p = _profile_ci(y, x, fit, i, conf_level)
        ok = bool(estimable[i])
        rows.append(
            {
                "term": t,
                "coef": b if ok else np.nan,
                "se": se if ok else np.nan,
                "z": b / se if ok else np.nan,
                "p_value": float(fit.pvalues[i]) if ok else np.nan,
                "odds_ratio": float(np.exp(b)) if ok else np.nan,
                "wald_ci_low": float(np.exp(b - zq * se)) if ok else np.nan,
                "wald_ci_high": float(np.exp(b + zq * se)) if ok else np.nan,
                "profile_ci_low": float(np.exp(lo_p)),
                "profile_ci_high": float(np.exp(hi_p)),
                "estimable": ok,
                "test": WALD_TEST,
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
) -> tuple[Any, np.ndarray, np.ndarray | None, pd.DataFrame, list[str]]:
    """Fit the multivariable model.

    Returns the GLM fit, its coefficients, the separating direction (None without
    separation), the multivariable table and the warnings issued.
    """
    sep = _separation(y, x)
    fit = _fit(y, x)
    params = np.asarray(fit.params)
    bse = np.asarray(fit.bse)
    estimable, msg = _estimable(sep, names, outcome)
    messages = []
    if msg is not None:
        # stacklevel 3: the warning points at the caller of logistic()
        warnings.warn(msg, SeparationWarning, stacklevel=3)
        messages.append(msg)
    table = _coefficients(
        y, x, fit, params, bse, names, estimable, zq, conf_level, profile and sep is None
    )
    return fit, params, sep, table, messages


def _vif(x: np.ndarray, cols: list[str]) -> pd.DataFrame:
    """Return the variance inflation factor of each model term (1 for a single term)."""
    if len(cols) >= 2:
        from statsmodels.stats.outliers_influence import variance_inflation_factor

        vif_values = [float(variance_inflation_factor(x, i)) for i in range(1, x.shape[1])]
    else:
        vif_values = [1.0] * len(cols)
    return pd.DataFrame({"term": cols, "vif": vif_values})


def _bootstrap(
    y: np.ndarray, x: np.ndarray, params: np.ndarray, bootstrap: int, seed: int
) -> tuple[list[float], list[float], list[float], int]:
    """Refit the model in bootstrap resamples (Harrell's optimism correction).

    Returns the AUC optimism, calibration slope and intercept in the original data of
    each resample model, and the number of resamples that could not be fitted.
    """
    opt_auc: list[float] = []
    slopes: list[float] = []
    intercepts: list[float] = []
    failed = 0
    n = y.size
    rng = np.random.default_rng(seed)
    for _ in range(int(bootstrap)):
        idx = rng.integers(0, n, n)
        yb, xb = y[idx], x[idx]
        if yb.min() == yb.max() or np.linalg.matrix_rank(xb) < xb.shape[1]:
            failed += 1
            continue
        pb = _newton(yb, xb, start=params)[0]
        if not np.all(np.isfinite(pb)):
            failed += 1
            continue
        lp_orig = x @ pb
        opt_auc.append(_auc(yb, xb @ pb) - _auc(y, lp_orig))
        slopes.append(float(_newton(y, np.column_stack([np.ones(n), lp_orig]))[0][1]))
        intercepts.append(float(_newton(y, np.ones((n, 1)), offset=lp_orig)[0][0]))
    return opt_auc, slopes, intercepts, failed


def _discrimination(
    roc_res: RocResult, opt_auc: list[float], bootstrap: int, seed: int, failed: int
) -> pd.DataFrame:
    """Return the apparent AUC with its DeLong CI and the optimism-corrected AUC."""
    optimism = float(np.mean(opt_auc)) if opt_auc else float("nan")
    return pd.DataFrame(
        [
            {
                "auc_apparent": roc_res.auc,
                "ci_low": roc_res.ci_low,
                "ci_high": roc_res.ci_high,
                "optimism": optimism,
                "auc_corrected": roc_res.auc - optimism,
                "bootstrap": bootstrap,
                "seed": seed,
                "n_failed": failed,
                "method": "Harrell bootstrap optimism correction; apparent AUC with DeLong CI",
            }
        ]
    )


def _calibration(slopes: list[float], intercepts: list[float]) -> pd.DataFrame:
    """Return apparent and optimism-corrected calibration slope and intercept."""
    return pd.DataFrame(
        {
            "measure": ["slope", "intercept"],
            "apparent": [1.0, 0.0],
            "optimism_corrected": [
                float(np.mean(slopes)) if slopes else np.nan,
                float(np.mean(intercepts)) if intercepts else np.nan,
            ],
        }
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
        Perfect or quasi-complete separation (the affected terms are reported as not
        estimable; the remaining results are still given).
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
    require_columns(df, [outcome, *predictors], "logistic")
    y_codes, _ = as_binary(df[outcome], positive, outcome)
    if positive is None:
        positive = 1
    y_all = pd.Series(y_codes, index=df.index)
    design, terms = _design(df, predictors, set(categorical))
    alpha = 1 - conf_level
    zq = stats.norm.ppf(1 - alpha / 2)

    # ---- univariable
    univariable, best_p, messages = _univariable(y_all, design, terms, predictors, outcome, zq)

    # ---- selection and complete cases
    selected = _screen(predictors, best_p, univariable_screen)
    cols = [t for p in selected for t in terms[p]]
    keep, y, x, names = _complete_cases(y_all, design, cols, outcome)
    n_excluded = int((~keep).sum())
    n, events = int(y.size), int(y.sum())
    n_cand = sum(len(terms[p]) for p in predictors)
    epv, epv_cand, epv_messages = _events_per_variable(n, events, len(cols), n_cand)
    messages += epv_messages

    # ---- multivariable
    fit, params, sep, multivariable, sep_messages = _multivariable(
        y, x, names, outcome, zq, conf_level, profile
    )
    messages += sep_messages
    equation = _equation(names, params) if sep is None else "not estimable: separation"

    # ---- VIF
    vif = _vif(x, cols)

    # ---- performance
    prob = special.expit(x @ params)
    predicted = pd.Series(prob, index=y_all[keep].index, name="predicted")
    hl = hosmer_lemeshow(y, prob, hl_groups)
    roc_res = roc(y, prob, positive=1, direction="higher", conf_level=conf_level, label="model")
    opt_auc, slopes, intercepts, failed = (
        _bootstrap(y, x, params, bootstrap, seed) if bootstrap and sep is None else ([], [], [], 0)
    )
    discrimination = _discrimination(
        roc_res, opt_auc, int(bootstrap) if sep is None else 0, seed, failed
    )
    calibration = _calibration(slopes, intercepts)
    return LogisticResult(
        outcome=str(outcome),
        positive=positive,
        univariable=univariable,
        multivariable=multivariable,
        selected=tuple(map(str, selected)),
        equation=equation,
        n=n,
        n_events=events,
        n_excluded=n_excluded,
        epv=float(epv),
        epv_candidates=float(epv_cand),
        vif=vif,
        hosmer_lemeshow=hl,
        calibration=calibration,
        discrimination=discrimination,
        roc=roc_res,
        predicted=predicted,
        separation=sep is not None,
        messages=tuple(messages),
        model=fit,
    )
