"""Issue 22 item 3: one 2x2 table gets one p-value, from one rule, in every table.

IVC in the run report had p = 0.011 in Table 1 (Fisher) and p = 0.002 in the correlation
table (uncorrected chi-square) although the smallest expected count was 1.2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kyphoimg.stats import correlate, table1


def _ivc() -> pd.DataFrame:
    # 7 recompressed (5 with IVC) and 33 maintained (4 with IVC): expected count 1.6
    return pd.DataFrame(
        {
            "rec": [1] * 7 + [0] * 33,
            "ivc": ["yes"] * 5 + ["no"] * 2 + ["yes"] * 4 + ["no"] * 29,
        }
    )


def test_a_sparse_2x2_table_gets_fisher_in_table1_and_in_the_correlation() -> None:
    d = _ivc()
    table = pd.crosstab(d["ivc"], d["rec"]).to_numpy()
    assert stats.contingency.expected_freq(table).min() < 5
    fisher = stats.fisher_exact(table).pvalue
    chi2 = stats.chi2_contingency(table, correction=False).pvalue
    assert abs(fisher - chi2) > 0.001  # the two tests disagree on these data
    cor = correlate(d, "rec", ["ivc"], positive=1).iloc[0]
    t1 = table1(d, "rec", categorical=["ivc"]).tests.iloc[0]
    assert cor["p_value"] == pytest.approx(fisher, rel=1e-12)
    assert t1["p_value"] == pytest.approx(fisher, rel=1e-12)
    assert "Fisher exact" in cor["test"]
    assert "Fisher exact" in t1["test"]
    assert np.isnan(cor["statistic"])  # no chi-square printed beside a Fisher p
    # phi itself is unchanged: Pearson r of the 0/1 codes
    assert cor["r"] == pytest.approx(np.corrcoef(d["rec"], d["ivc"] == "yes")[0, 1])


def test_a_nominal_factor_with_sparse_cells_gets_the_same_rule() -> None:
    d = _ivc().assign(npec=["superior"] * 4 + ["both"] * 3 + ["no"] * 30 + ["inferior"] * 3)
    cor = correlate(d, "rec", ["npec"], positive=1).iloc[0]
    t1 = table1(d, "rec", categorical=["npec"]).tests.iloc[0]
    assert cor["method"] == "cramers_v"
    assert cor["p_value"] == pytest.approx(t1["p_value"], rel=1e-12)
    assert "Fisher–Freeman–Halton" in cor["test"]
