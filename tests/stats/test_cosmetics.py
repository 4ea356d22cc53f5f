"""Issue 22, cosmetic list: forest plot ticks and axis label, OR formatting, Methods grammar."""

from __future__ import annotations

import html
import warnings

import numpy as np
import pandas as pd
import pytest

from kyphoimg.stats import logistic, plot_forest, report
from kyphoimg.stats._format import fmt_or
from kyphoimg.stats._tables import fmt_cell


def _near_one() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    n = 400
    d = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    d["y"] = (rng.random(n) < 1 / (1 + np.exp(-(0.1 * d["a"] - 0.5)))).astype(int)
    return d


def test_a_forest_plot_of_ors_near_one_has_labelled_x_ticks() -> None:
    # the run report's forest plot had no x tick label: no 1-2-5 tick in a narrow range
    res = logistic(_near_one(), "y", ["a", "b"], bootstrap=0)
    fig = plot_forest(res, ci="profile")
    ax = fig.axes[0]
    left, right = ax.get_xlim()
    assert right / left < 5  # a narrow range: less than one decade
    labels = [t.get_text() for t in ax.get_xticklabels() if left <= t.get_position()[0] <= right]
    assert len([t for t in labels if t]) >= 3
    assert "profile-likelihood" in ax.get_xlabel()


def test_the_axis_names_the_penalised_likelihood_under_firth() -> None:
    res = logistic(_near_one(), "y", ["a", "b"], bootstrap=0, method="firth")
    fig = plot_forest(res, ci="profile")
    assert "profile penalised-likelihood" in fig.axes[0].get_xlabel()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0034, "0.003"),
        (0.00012, "<0.001"),
        (0.0451, "0.045"),
        (1.2649, "1.26"),
        (152.4, "152"),
        (898023.23, ">999"),
        (float("inf"), ">999"),
        (float("nan"), "—"),
    ],
)
def test_odds_ratios_never_print_as_zero_or_as_six_digits(value, text) -> None:
    assert fmt_or(value) == text


def test_table_cells_of_odds_ratios_use_the_or_format() -> None:
    assert fmt_cell(0.0034, "or") == "0.003"
    assert fmt_cell(898023.23, "or") == ">999"


def test_methods_name_the_groups_and_keep_acronyms(tmp_path) -> None:
    rng = np.random.default_rng(5)
    n = 200
    d = pd.DataFrame(
        {
            "group": rng.choice(["ASD", "non-ASD"], n, p=[0.3, 0.7]),
            "age_years": rng.normal(70, 8, n),
        }
    )
    d["asd"] = (d["group"] == "ASD").astype(int)
    spec = {
        "data": {"subjects": d},
        "outcome": {"column": "asd", "positive": 1},
        "table1": {"group": "group", "continuous": ["age_years"]},
        "logistic": {"predictors": ["age_years"], "bootstrap": 0},
        "options": {"pdf": False},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        paths = report(spec, tmp_path)
    doc = html.unescape(paths.html.read_text(encoding="utf-8"))
    assert "between groups of group" not in doc
    assert "compared between the groups ASD and non-ASD" in doc
    assert "Logistic regression of ASD was fitted" in doc
