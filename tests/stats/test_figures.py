"""Figures: written as PNG and SVG, legends carry AUC (CI), no pyplot figure left open."""

from __future__ import annotations

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from kyphoimg.errors import StatsInputError
from kyphoimg.stats import compare_timepoints, logistic, plot_forest, plot_roc, plot_timecourse, roc


@pytest.fixture
def two_markers(rng):
    n = 150
    y = (rng.random(n) < 0.3).astype(int)
    age = rng.normal(68, 8, n) + 5 * y
    bmd = rng.normal(-2.6, 0.6, n) - 0.5 * y
    return pd.DataFrame({"y": y, "age": age, "bmd": bmd})


def check_written(base, fig) -> None:
    png, svg = base.with_suffix(".png"), base.with_suffix(".svg")
    img = matplotlib.image.imread(png)
    w, h = fig.get_size_inches() * 200
    assert img.shape[0] == pytest.approx(h, abs=2)
    assert img.shape[1] == pytest.approx(w, abs=2)
    assert img[..., :3].std() > 0.05  # not a blank canvas
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_roc_overlay_legend_has_auc_and_ci(two_markers, tmp_path) -> None:
    d = two_markers
    curves = [
        roc(d["y"], d["age"], direction="higher", label="age"),
        roc(d["y"], d["bmd"], direction="lower", label="BMD"),
    ]
    fig = plot_roc(curves, tmp_path / "roc", title="ROC")
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    for r, text in zip(curves, texts, strict=True):
        assert text == f"{r.label}: AUC {r.auc:.3f} (95% CI {r.ci_low:.3f}–{r.ci_high:.3f})"
    check_written(tmp_path / "roc", fig)
    assert plt.get_fignums() == []


def test_forest_plot_has_one_row_per_term(two_markers, tmp_path) -> None:
    res = logistic(two_markers, "y", ["age", "bmd"], bootstrap=0)
    fig = plot_forest(res, tmp_path / "forest", ci="profile")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["bmd", "age"]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.texts]
    row = res.multivariable.set_index("term").loc["age"]
    assert (
        f"{row['odds_ratio']:.2f} ({row['profile_ci_low']:.2f}–{row['profile_ci_high']:.2f})"
        in labels
    )
    check_written(tmp_path / "forest", fig)
    with pytest.raises(StatsInputError, match="ci must be"):
        plot_forest(res, ci="bootstrap")


def test_timecourse_from_result_and_from_long_table(rng, tmp_path) -> None:
    rows = [
        {"id": s, "g": "A" if s < 8 else "B", "t": t, "v": rng.normal(10 + i, 1)}
        for s in range(16)
        for i, t in enumerate(["pre", "post", "last"])
    ]
    d = pd.DataFrame(rows)
    res = compare_timepoints(d, "id", "t", "v", group="g", order=["pre", "post", "last"])
    fig = plot_timecourse(res, tmp_path / "tc", ylabel="KA (deg)")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["pre", "post", "last"]
    assert ax.get_ylabel() == "KA (deg) (mean ± SD)"
    # error bar of group A at "post" spans mean ± SD
    desc = res.descriptives.set_index(["group", "time"]).loc[("A", "post")]
    segs = ax.containers[0].lines[2][0].get_segments()
    lo, hi = segs[1][0][1], segs[1][1][1]
    assert (lo, hi) == pytest.approx((desc["mean"] - desc["sd"], desc["mean"] + desc["sd"]))
    check_written(tmp_path / "tc", fig)
    fig2 = plot_timecourse(
        d, time="t", value="v", group="g", order=["pre", "post", "last"], error="sem"
    )
    assert fig2.axes[0].get_ylabel() == "v (mean ± SEM)"
    assert plt.get_fignums() == []
    with pytest.raises(StatsInputError, match="error must be"):
        plot_timecourse(res, error="iqr")
    assert np.isfinite(desc["sd"])
