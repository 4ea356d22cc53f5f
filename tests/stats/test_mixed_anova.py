"""Group × time mixed ANOVA (Greenhouse–Geisser) against R's ez::ezANOVA.

Reference (tests/reference/ezanova_mixed.R): ezANOVA output quoted in pingouin's
tests/test_parametric.py (test_mixed_anova, three groups × four time points,
unbalanced), on pingouin's bundled data set mixed_anova_unbalanced.csv.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kyphoimg.stats import compare_timepoints


@pytest.fixture(scope="module")
def result():
    pingouin = pytest.importorskip("pingouin")
    d = pingouin.read_dataset("mixed_anova_unbalanced")
    return compare_timepoints(
        d, "Subject", "Time", "Scores", group="Group", order=["T0", "T1", "T2", "T3"]
    )


def test_mixed_anova_matches_ezanova(result) -> None:
    t = result.interaction.set_index("effect")
    assert list(t.index) == ["group", "time", "group × time"]
    np.testing.assert_allclose(t["df1"], [2, 3, 6])
    np.testing.assert_allclose(t["df2"], [23, 69, 69])
    # F as quoted (3 decimals, truncated in the copy); the p-values check F exactly
    np.testing.assert_allclose(t["statistic"], [2.302, 1.707, 0.888], atol=1e-3)
    np.testing.assert_allclose(
        t["p_uncorrected"], [1.225913e-01, 1.736066e-01, 5.087900e-01], rtol=1e-6
    )
    assert t.loc["time", "epsilon_gg"] == pytest.approx(0.925374, abs=5e-7)
    assert t.loc["time", "p_value"] == pytest.approx(0.1779205, abs=5e-8)
    assert t.loc["time", "sphericity_w"] == pytest.approx(0.8850318, abs=5e-8)
    assert t.loc["time", "sphericity_p"] == pytest.approx(0.7535238, abs=5e-7)


def test_greenhouse_geisser_df_are_reported(result) -> None:
    t = result.interaction.set_index("effect")
    eps = t.loc["time", "epsilon_gg"]
    assert t.loc["time", "df1_gg"] == pytest.approx(3 * eps)
    assert t.loc["group × time", "df2_gg"] == pytest.approx(69 * eps)
    assert np.isnan(t.loc["group", "df1_gg"])  # between-subject effect: no correction
    w = result.within
    np.testing.assert_allclose(w["df1_gg"], w["df1"] * w["epsilon_gg"])
    np.testing.assert_allclose(w["df2_gg"], w["df2"] * w["epsilon_gg"])


def test_no_interaction_table_without_groups() -> None:
    d = pd.DataFrame(
        {
            "s": np.repeat(np.arange(6), 3),
            "t": ["a", "b", "c"] * 6,
            "v": np.arange(18.0) % 5 + np.repeat(np.arange(6), 3),
        }
    )
    res = compare_timepoints(d, "s", "t", "v", order=["a", "b", "c"])
    assert res.interaction.empty
