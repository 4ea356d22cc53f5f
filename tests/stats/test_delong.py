"""The fast midrank DeLong algorithm against a straightforward O(m·n) implementation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

from kyphoimg.stats._delong import delong_auc_variance, delong_covariance, midrank


def reference_delong(cases: np.ndarray, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong et al. (1988) by explicit pairwise comparison, O(k·m·n).

    psi(x, y) = 1 if x > y, 1/2 if x == y, 0 otherwise; V10_i = mean_j psi(X_i, Y_j),
    V01_j = mean_i psi(X_i, Y_j); S10, S01 their sample covariance matrices (ddof 1);
    Var = S10/m + S01/n.
    """
    k, m = cases.shape
    n = controls.shape[1]
    v10 = np.zeros((k, m))
    v01 = np.zeros((k, n))
    for r in range(k):
        for i in range(m):
            for j in range(n):
                x, y = cases[r, i], controls[r, j]
                psi = 1.0 if x > y else (0.5 if x == y else 0.0)
                v10[r, i] += psi / n
                v01[r, j] += psi / m
    auc = v10.mean(axis=1)
    s10 = np.zeros((k, k))
    s01 = np.zeros((k, k))
    for a in range(k):
        for b in range(k):
            s10[a, b] = np.sum((v10[a] - auc[a]) * (v10[b] - auc[b])) / (m - 1)
            s01[a, b] = np.sum((v01[a] - auc[a]) * (v01[b] - auc[b])) / (n - 1)
    return auc, s10 / m + s01 / n


@given(st.lists(st.integers(-5, 5), min_size=1, max_size=60))
@settings(max_examples=200, deadline=None)
def test_midrank_equals_average_rank(values: list[int]) -> None:
    x = np.array(values, dtype=float)
    np.testing.assert_array_equal(midrank(x), rankdata(x, method="average"))


@pytest.mark.parametrize(
    ("m", "n", "k", "levels"),
    [
        (5, 7, 1, None),  # continuous, no ties
        (12, 9, 2, 4),  # heavy ties, two correlated markers
        (30, 45, 3, 10),
        (2, 2, 1, 2),  # smallest sizes with a defined variance
    ],
)
def test_fast_delong_matches_pairwise_reference(m, n, k, levels, rng) -> None:
    base_cases = rng.normal(0.7, 1, size=m)
    base_controls = rng.normal(0.0, 1, size=n)
    cases = np.vstack([base_cases + rng.normal(0, 0.5 * r, m) for r in range(k)])
    controls = np.vstack([base_controls + rng.normal(0, 0.5 * r, n) for r in range(k)])
    if levels is not None:
        cases = np.round(cases * levels / 3)
        controls = np.round(controls * levels / 3)
    auc, cov, v10, v01 = delong_covariance(cases, controls)
    ref_auc, ref_cov = reference_delong(cases, controls)
    np.testing.assert_allclose(auc, ref_auc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-10, atol=1e-15)
    assert v10.shape == (k, m)
    assert v01.shape == (k, n)
    # the single-marker path used by roc() works on runs of ties only
    for r in range(k):
        a, var, runs = delong_auc_variance(cases[r], controls[r])
        assert a == pytest.approx(ref_auc[r], abs=1e-12)
        assert var == pytest.approx(ref_cov[r, r], rel=1e-10, abs=1e-15)
        assert runs["cases_in"].sum() == m
        assert runs["controls_in"].sum() == n
        assert np.all(np.diff(runs["values"]) > 0)


def test_auc_of_perfect_and_reversed_and_tied_markers() -> None:
    auc, cov, _, _ = delong_covariance(np.array([[3.0, 4.0, 5.0]]), np.array([[0.0, 1.0, 2.0]]))
    assert auc[0] == 1.0
    assert cov[0, 0] == 0.0
    auc, _, _, _ = delong_covariance(np.array([[0.0, 1.0]]), np.array([[3.0, 4.0]]))
    assert auc[0] == 0.0
    auc, _, _, _ = delong_covariance(np.array([[1.0, 1.0]]), np.array([[1.0, 1.0, 1.0]]))
    assert auc[0] == 0.5


def test_variance_undefined_with_a_single_case() -> None:
    auc, cov, _, _ = delong_covariance(np.array([[2.0]]), np.array([[0.0, 1.0, 3.0]]))
    assert auc[0] == pytest.approx(2 / 3)
    assert np.isnan(cov[0, 0])
