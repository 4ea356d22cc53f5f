"""report(): a study TOML in, one self-contained HTML file and an XLSX workbook out."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from kyphoimg.errors import StatsInputError, StudyError
from kyphoimg.stats import EventsPerVariableWarning, report, table1

STUDY = """
title = "Simulated ASD cohort"

[data]
subjects = "cohort.csv"
longitudinal = "visits.csv"

[outcome]
column = "asd"
positive = 1

[table1]
continuous = ["age", "cement_ml", "bmd_t"]
categorical = ["smoking", "leakage"]
nonnormal = ["symptom_weeks"]

[timepoints]
subject = "id"
time = "visit"
values = ["kyphotic_angle_deg"]
order = ["pre", "post", "last"]
group = "asd"
method = "rm_anova"
correction = "holm"

[correlation]
factors = ["leakage", "cement_ml"]

[logistic]
predictors = ["age", "cement_ml", "bmd_t", "smoking"]
univariable_screen = 0.2
bootstrap = 30
seed = 5

[roc]
markers = { age = "higher", bmd_t = "lower" }
model = true

[options]
figure_format = "svg"
pdf = false
"""


def simulated(rng: np.random.Generator, n: int = 160) -> tuple[pd.DataFrame, pd.DataFrame]:
    age = rng.normal(69, 8, n)
    cement = rng.normal(3.3, 0.9, n)
    bmd = rng.normal(-2.7, 0.6, n)
    smoking = rng.random(n) < 0.5
    lp = -2.2 + 0.08 * (age - 69) + 0.9 * (cement - 3.3) - 1.2 * (bmd + 2.7) + 0.6 * smoking
    asd = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    subjects = pd.DataFrame(
        {
            "id": np.arange(n),
            "asd": asd,
            "age": age.round(0),
            "cement_ml": cement.round(1),
            "bmd_t": bmd.round(1),
            "smoking": np.where(smoking, "yes", "no"),
            "leakage": np.where(rng.random(n) < 0.2 + 0.2 * asd, "yes", "no"),
            "symptom_weeks": rng.exponential(4, n).round(1),
        }
    )
    visits = []
    for i, a in zip(subjects["id"], asd, strict=True):
        base = rng.normal(18, 4)
        for t, shift in [("pre", 0.0), ("post", -7.0), ("last", -5.0 + 4 * a)]:
            if t == "last" and i % 23 == 0:
                continue  # lost to follow-up
            visits.append(
                {
                    "id": i,
                    "asd": a,
                    "visit": t,
                    "kyphotic_angle_deg": base + shift + rng.normal(0, 2),
                }
            )
    return subjects, pd.DataFrame(visits)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    rng = np.random.default_rng(20261121)
    folder = tmp_path_factory.mktemp("study")
    subjects, visits = simulated(rng)
    subjects.to_csv(folder / "cohort.csv", index=False)
    visits.to_csv(folder / "visits.csv", index=False)
    (folder / "study.toml").write_text(STUDY, encoding="utf-8")
    with warnings.catch_warnings():
        # the simulated cohort has few events for four candidate predictors; the report
        # lists this warning, checked below
        warnings.simplefilter("ignore", EventsPerVariableWarning)
        paths = report(folder / "study.toml", folder / "out")
    return paths, subjects


def test_returns_the_paths_written(written) -> None:
    paths, _ = written
    assert {"html", "xlsx", "summary", "roc_png", "roc_svg", "forest_png", "forest_svg"} <= set(
        paths.files
    )
    assert {"timecourse_kyphotic_angle_deg_png", "timecourse_kyphotic_angle_deg_svg"} <= set(
        paths.figures
    )
    for p in paths.files.values():
        assert p.is_file()
        assert p.stat().st_size > 0


def test_html_is_self_contained_with_every_section(written) -> None:
    paths, _ = written
    doc = paths.html.read_text(encoding="utf-8")
    assert doc.startswith("<!DOCTYPE html>")
    # no external resources: no src/href pointing anywhere, figures are inline SVG
    assert not re.search(r"(src|href)=['\"](?!data:|#)", doc)
    assert doc.count("<svg") == 3  # time course, forest, ROC
    for heading in [
        "Data",
        "Table 1. Characteristics by group",
        "Change over time",
        "Correlation with the outcome",
        "Logistic regression",
        "ROC analysis",
        "Statistical methods",
    ]:
        assert f"<h2>{heading}</h2>" in doc
    assert "Welch t-test" in doc  # the report's default on a user's data (issue 22)
    assert "Repeated-measures ANOVA, Greenhouse–Geisser corrected" in doc
    assert "logit(p) = " in doc
    assert "DeLong" in doc


def test_workbook_tables_match_the_functions(written) -> None:
    paths, subjects = written
    sheets = pd.read_excel(paths.xlsx, sheet_name=None)
    for name in [
        "Table 1",
        "Table 1 tests",
        "Correlation",
        "Logistic univariable",
        "Logistic multivariable",
        "Model performance",
        "VIF",
        "ROC",
        "DeLong tests",
        "Warnings",
    ]:
        assert name in sheets, name
    direct = table1(
        subjects,
        "asd",
        continuous=["age", "cement_ml", "bmd_t"],
        categorical=["smoking", "leakage"],
        nonnormal=["symptom_weeks"],
        tests=dict.fromkeys(["age", "cement_ml", "bmd_t"], "welch"),  # the report's default
    )
    np.testing.assert_allclose(sheets["Table 1 tests"]["p"], direct.tests["p_value"])
    within = sheets["Kyphotic angle (°) within"]
    assert within["Excluded (incomplete)"].sum() == 7  # ids 0, 23, ..., 138 lost to follow-up
    roc_sheet = sheets["ROC"].set_index("Marker")
    assert list(roc_sheet.index) == ["Age", "BMD T-score", "Model (predicted risk, apparent)"]
    assert roc_sheet.loc["BMD T-score", "Direction"] == "lower predicts event"


def test_warnings_are_listed_in_the_report(tmp_path) -> None:
    rng = np.random.default_rng(3)
    # 22 events, 3 parameters: 7.3 per parameter, warned (< 10) but above the floor of 5
    subjects, _ = simulated(rng, n=100)
    spec = {
        "data": {"subjects": subjects},
        "outcome": {"column": "asd"},
        "logistic": {"predictors": ["age", "cement_ml", "bmd_t"], "bootstrap": 0},
        "options": {"figure_format": "png", "pdf": False},
    }
    with pytest.warns(EventsPerVariableWarning):
        paths = report(spec, tmp_path)
    doc = paths.html.read_text(encoding="utf-8")
    assert "events per variable" in doc
    assert "data:image/png;base64," in doc
    assert (
        pd.read_excel(paths.xlsx, sheet_name="Warnings")["Warning"]
        .str.contains("events per variable")
        .any()
    )


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (
            {"data": {"subjects": "x.csv"}, "outcome": {"column": "y"}, "tabel1": {}},
            r"unknown section \[tabel1\]",
        ),
        (
            {"data": {"subjects": "x.csv"}, "outcome": {"column": "y"}, "roc": {"marker": {}}},
            r"unknown key\(s\) \['marker'\]",
        ),
        ({"outcome": {"column": "y"}}, r"'subjects' .* is required"),
        (
            {"data": {"subjects": "missing.csv"}, "outcome": {"column": "y"}},
            r"file .*missing.csv.* not found",
        ),
    ],
)
def test_bad_study_files_are_refused(spec, match, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StatsInputError, match=match):
        report(spec, tmp_path / "out")


def test_missing_or_invalid_toml(tmp_path) -> None:
    with pytest.raises(StatsInputError, match="does not exist"):
        report(tmp_path / "nope.toml", tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text("title = \n", encoding="utf-8")
    with pytest.raises(StudyError, match=r"bad\.toml: not valid TOML"):  # one parser: studyfile
        report(bad, tmp_path)


def test_renderers_for_other_outputs(tmp_path) -> None:
    """kyphoimg.stats.render: a header-only sheet on request, PNGs embedded side by side."""
    from openpyxl import load_workbook

    from kyphoimg.stats.render import Table, embed_png, figure_grid, write_workbook

    empty = Table("problems", pd.DataFrame(columns=["file", "error"]))
    full = Table("icc", pd.DataFrame({"icc": [0.91234]}), {"icc": "f3"})
    write_workbook(tmp_path / "a.xlsx", [empty, full], [])
    assert load_workbook(tmp_path / "a.xlsx").sheetnames == ["icc"]
    write_workbook(tmp_path / "b.xlsx", [empty, full], [], keep_empty=True)
    wb = load_workbook(tmp_path / "b.xlsx")
    assert wb.sheetnames == ["problems", "icc"]
    assert [c.value for c in wb["problems"][1]] == ["file", "error"]
    assert wb["icc"]["A2"].number_format == "0.000"
    fig = embed_png(b"\x89PNG-bytes", "A & B")
    assert fig.startswith('<figure><img alt="A &amp; B" src="data:image/png;base64,')
    assert figure_grid([fig, fig]) == f'<div class="figures">{fig}{fig}</div>'
    assert figure_grid([]) == ""
