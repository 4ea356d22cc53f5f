"""correlate: automatic method choice, identities with the two-group tests, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kyphoimg.errors import StatsInputError
from kyphoimg.stats import correlate


def recompression(rng: np.random.Generator, n: int = 80) -> pd.DataFrame:
    """Seed study 000 layout: 80 patients, recompression yes/no, IVC and NPEC flags."""
    y = np.r_[np.ones(10), np.zeros(n - 10)]
    ivc = np.where(y == 1, rng.random(n) < 0.7, rng.random(n) < 0.1).astype(int)
    npec = np.where(y == 1, rng.random(n) < 0.6, rng.random(n) < 0.15).astype(int)
    ka = rng.normal(15, 5, n) + 6 * y
    return pd.DataFrame(
        {
            "recompressed": y.astype(int),
            "ivc": ivc,
            "npec": npec,
            "ka_last": ka,
            "sex": rng.choice(["F", "M"], n),
        }
    )


def test_auto_methods_and_their_tests(rng) -> None:
    d = recompression(rng)
    out = correlate(d, "recompressed", ["ivc", "ka_last", "sex"]).set_index("factor")
    assert out.loc["ivc", "method"] == "phi"
    assert out.loc["ka_last", "method"] == "pointbiserial"
    assert out.loc["sex", "method"] == "phi"
    assert out.loc["sex", "coding"] == "sex: 'M' = 1"
    assert out["test"].str.len().gt(0).all()


def test_point_biserial_p_equals_student_t(rng) -> None:
    d = recompression(rng)
    row = correlate(d, "recompressed", ["ka_last"]).iloc[0]
    t = stats.ttest_ind(
        d.loc[d.recompressed == 1, "ka_last"], d.loc[d.recompressed == 0, "ka_last"]
    )
    assert row["p_value"] == pytest.approx(t.pvalue, rel=1e-10)
    assert row["statistic"] == pytest.approx(t.statistic, rel=1e-10)


def test_phi_equals_sqrt_chi_square_over_n(rng) -> None:
    d = recompression(rng)
    row = correlate(d, "recompressed", ["ivc"]).iloc[0]
    table = pd.crosstab(d["ivc"], d["recompressed"]).to_numpy()
    (a, b), (c, dd) = table
    # phi for a 2x2 table: (ad - bc) / sqrt of the product of the margins
    phi = (a * dd - b * c) / np.sqrt((a + b) * (c + dd) * (a + c) * (b + dd))
    assert row["r"] == pytest.approx(phi, rel=1e-12)
    # the p-value follows Table 1's rule: these data have an expected count < 5, so Fisher
    assert stats.contingency.expected_freq(table).min() < 5
    assert np.isnan(row["statistic"])
    assert row["p_value"] == pytest.approx(stats.fisher_exact(table).pvalue, rel=1e-12)
    assert "p: Fisher exact (two-sided)" in row["test"]


def test_missing_pairs_are_dropped_per_factor(rng) -> None:
    d = recompression(rng)
    d.loc[:4, "ka_last"] = np.nan
    out = correlate(d, "recompressed", ["ka_last", "ivc"]).set_index("factor")
    assert out.loc["ka_last", "n"] == 75
    assert out.loc["ivc", "n"] == 80


@pytest.mark.parametrize(
    ("column", "values", "match"),
    [
        ("x", [1.0] * 6, r"column 'x' is constant"),
        ("x", [np.nan] * 6, r"column 'x': every value is missing"),
        ("x", [1.0, 2.0, "3.5 mm", 4.0, 5.0, 6.0], r"column 'x': non-numeric value '3.5 mm'"),
    ],
)
def test_bad_factor_is_refused(column, values, match) -> None:
    d = pd.DataFrame({"y": [0, 1, 0, 1, 0, 1], column: values})
    with pytest.raises(StatsInputError, match=match):
        correlate(d, "y", [column])


def test_unknown_method_and_outcome_class_checks() -> None:
    d = pd.DataFrame({"y": [0, 1, 0, 1], "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(StatsInputError, match="unknown method 'biserial'"):
        correlate(d, "y", ["x"], method="biserial")
    with pytest.raises(StatsInputError, match="phi needs two binary variables"):
        correlate(d, "y", ["x"], method="phi")
    with pytest.raises(StatsInputError, match="constant"):
        correlate(d.assign(y=1), "y", ["x"])
