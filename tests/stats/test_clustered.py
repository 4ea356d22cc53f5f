"""Several vertebrae per patient: GEE logistic regression against R's gee.

Reference (tests/reference/gee_logistic.R): R ``gee(Y ~ X1 + X2 + X3, id = Id,
family = binomial, corstr = "exchangeable")`` estimates and robust SEs, quoted in
statsmodels/genmod/tests/test_gee.py (TestGEE.test_logistic) with the data file
gee_logistic_1.csv that statsmodels ships.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kyphoimg.errors import StatsInputError
from kyphoimg.stats import logistic

COEF = [0.0178982283915449, 1.13118798191788, -1.86133518416017, 1.08944256230299]
ROBUST_SE = [0.127045031730155, 0.165470678232842, 0.192052750030501, 0.173174779369249]


@pytest.fixture(scope="module")
def gee_data() -> pd.DataFrame:
    import statsmodels

    path = Path(statsmodels.__file__).parent / "genmod/tests/results/gee_logistic_1.csv"
    if not path.is_file():
        pytest.skip(f"{path} not shipped with this statsmodels")
    return pd.read_csv(path, header=None, names=["Id", "Y", "X1", "X2", "X3"])


def test_gee_exchangeable_matches_r_gee(gee_data) -> None:
    res = logistic(gee_data, "Y", ["X1", "X2", "X3"], clusters="Id", bootstrap=0)
    mv = res.multivariable
    np.testing.assert_allclose(mv["coef"], COEF, atol=1e-6)
    np.testing.assert_allclose(mv["se"], ROBUST_SE, atol=1e-6)
    assert res.method == "gee"
    assert res.n_clusters == gee_data["Id"].nunique()
    assert (mv["test"].str.contains("cluster-robust")).all()
    # no test that assumes independent rows
    assert res.hosmer_lemeshow["p_value"].isna().all()
    assert mv["profile_ci_low"].isna().all()


def test_firth_with_clusters_is_refused(gee_data) -> None:
    with pytest.raises(StatsInputError, match="Firth's method with clustered rows"):
        logistic(gee_data, "Y", ["X1"], clusters="Id", method="firth", bootstrap=0)
