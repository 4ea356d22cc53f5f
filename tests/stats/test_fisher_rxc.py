"""The r×c Fisher test returns a p-value for every table it is given.

SciPy's Monte Carlo ``fisher_exact`` returns its p-value as a shape-(1,) array for some
tables (here a 4×2 table with counts 0-2, found by the report's property test with
11 patients), which ``float()`` refused: Table 1 died with a ``TypeError``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from kyphoimg.stats._htest import categorical_test


def _scipy_rxc(table: list[list[int]]) -> float:
    from kyphoimg.stats import _htest

    mc = stats.MonteCarloMethod(
        n_resamples=_htest._FISHER_RXC_RESAMPLES, rng=np.random.default_rng(_htest._FISHER_RXC_SEED)
    )
    return float(np.asarray(stats.fisher_exact(np.array(table), method=mc).pvalue).item())


@pytest.mark.parametrize(
    "table",
    [
        [[0, 1], [1, 0], [0, 1], [2, 2]],  # SciPy gives array([1.]) here
        [[3, 1], [1, 5], [2, 2]],
        [[5, 1, 2], [1, 5, 3]],
    ],
)
def test_rxc_fisher_gives_scipys_p_value_as_a_float(table: list[list[int]]) -> None:
    res = categorical_test(np.array(table), "fisher")
    assert isinstance(res.p_value, float)
    assert res.p_value == pytest.approx(_scipy_rxc(table), rel=1e-12)
    assert "Freeman–Halton" in res.test
