"""Nominal factors (NPEC's categories) in the correlation section: Cramér's V.

Reference (tests/reference/r_examples.R): ``lsr::cramersV`` help-page example, a 3 × 2
table (choices × condition, counts 30/20/50 and 35/30/35): V = 0.159.
"""

from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats

from kyphoimg.stats import correlate


def test_cramers_v_matches_lsr_example() -> None:
    counts = {"condition1": [30, 20, 50], "condition2": [35, 30, 35]}
    rows = []
    for cond, ns in counts.items():
        for choice, n in zip(["choice1", "choice2", "choice3"], ns, strict=True):
            rows += [{"condition": cond, "choice": choice}] * n
    d = pd.DataFrame(rows)
    res = correlate(d, "condition", ["choice"], positive="condition2").iloc[0]
    assert res["method"] == "cramers_v"
    assert round(res["r"], 3) == pytest.approx(0.159)
    table = [[30, 35], [20, 30], [50, 35]]
    assert res["p_value"] == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue)
    assert "Cramér's V" in res["test"]
