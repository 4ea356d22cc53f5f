"""kyphoimg reliability (kyphoimg.agreement): readers measured, compared and reported.

The synthetic readers are the phantom's exact landmarks plus Gaussian placement noise of
known sigma (``perturb_landmarks``). Two readers' points then differ by a 2-D Gaussian of
sigma * sqrt(2) per axis, so the distance between them is Rayleigh distributed with median
sigma * sqrt(2) * sqrt(2 ln 2); and the ICC of a height falls as the noise grows.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kyphoimg.agreement import (
    ReliabilityOptions,
    format_summary,
    landmark_agreement,
    landmark_distances,
    perturb_landmarks,
    read_reliability_toml,
    reliability_options,
    run_reliability,
    simulate_readers,
)
from kyphoimg.cli import main
from kyphoimg.errors import StudyError
from kyphoimg.landmarks import read_landmarks, write_landmarks
from kyphoimg.measure import measures_table
from kyphoimg.sample import lateral_phantom
from kyphoimg.stats.reliability import icc

SAMPLE = Path(__file__).resolve().parents[1] / "sample_dicom"
RAYLEIGH_MEDIAN = math.sqrt(2 * math.log(2))  # median of a Rayleigh(1) distance


def _phantoms(n: int, rng: np.random.Generator) -> list:
    """n phantoms of different patients: heights vary, so vertebrae differ (ICC targets)."""
    out = []
    for i in range(n):
        ha, hm, hp = rng.uniform(14, 30), rng.uniform(16, 30), rng.uniform(20, 32)
        out.append(
            lateral_phantom(
                heights_mm=(ha, hm, hp),
                disc_angle_deg=float(rng.uniform(-6, 6)),
                patient_id=f"P{i:03d}",
                image_path=f"P{i:03d}/pre.dcm",
                spacing=(0.15, 0.15),
            ).landmarks
        )
    return out


def _reader(sets: list, sigma: float, seed: int, rater: str) -> list:
    rng = np.random.default_rng(seed)
    return [perturb_landmarks(ls, sigma, rng, rater=rater) for ls in sets]


# ====================================================================== synthetic check
@settings(max_examples=15, deadline=None)
@given(sigma=st.floats(0.5, 6.0), seed=st.integers(0, 2**32 - 1))
def test_median_landmark_distance_is_what_the_placement_noise_implies(sigma, seed) -> None:
    rng = np.random.default_rng(seed)
    truth = _phantoms(40, rng)  # 40 films x 5 vertebrae x 6 points = 1200 points
    a = _reader(truth, sigma, seed + 1, "A")
    b = _reader(truth, sigma, seed + 2, "B")
    d = landmark_distances(a, b)
    n = len(d)
    assert n == 40 * 5 * 6
    expected = sigma * math.sqrt(2) * RAYLEIGH_MEDIAN
    # Sampling SE of a Rayleigh median: 0.7213 / sqrt(n) relative; allow 4.5 SE.
    tol = 4.5 * 0.7213 / math.sqrt(n)
    assert d["distance_px"].median() == pytest.approx(expected, rel=tol)
    # calibrated phantoms: distances in mm at 0.15 mm per pixel
    assert set(d["unit"]) == {"mm"}
    np.testing.assert_allclose(d["distance"], 0.15 * d["distance_px"], rtol=1e-12)
    summary = landmark_agreement(d, by=("point",))
    assert set(summary["point"]) == {"ant_sup", "mid_sup", "post_sup", "ant_inf", "mid_inf",
                                     "post_inf"}  # fmt: skip
    assert summary["n"].sum() == n


def _ha_icc(truth: list, sigma: float, seed: int) -> pd.Series:
    measured = []
    for rater, offset in (("A", 1), ("B", 2)):
        m = measures_table(_reader(truth, sigma, seed + offset, rater))
        measured.append(m[["patient_id", "level", "rater", "ha_mm"]])
    long = pd.concat(measured, ignore_index=True)
    long["target"] = long["patient_id"] + long["level"]
    t = icc(long, targets="target", raters="rater", ratings="ha_mm")
    return t.set_index("form").loc["ICC(2,1)"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_icc_falls_as_the_placement_noise_grows(seed: int) -> None:
    truth = _phantoms(30, np.random.default_rng(seed))
    rows = {s: _ha_icc(truth, s, seed * 10) for s in (0.5, 2.0, 5.0, 10.0)}
    values = [rows[s]["icc"] for s in sorted(rows)]
    assert all(x > y for x, y in itertools.pairwise(values)), values
    # Ha is the distance of two points, each with sigma px per axis: its error variance is
    # 2 sigma^2 (x 0.15^2 mm^2) per reading, so ICC = var(true Ha) / (var(true Ha) + that).
    true_ha = measures_table(truth)["ha_mm"]
    for s, row in rows.items():
        expected = true_ha.var() / (true_ha.var() + 2 * (0.15 * s) ** 2)
        assert row["ci_low"] - 0.02 <= expected <= row["ci_high"] + 0.02, (s, row["icc"])


def test_perturb_keeps_points_in_the_image_and_flips_findings() -> None:
    ls = lateral_phantom(findings={"L1": {"ivc": "yes", "cement_leakage": "no"}}).landmarks
    rng = np.random.default_rng(0)
    copy = perturb_landmarks(ls, 1e4, rng, rater="X", finding_error=1.0)
    rows, cols = ls.image.rows, ls.image.columns
    pts = np.array([p for lv in copy.points.values() for p in lv.values()])
    assert (pts >= 0).all()
    assert (pts[:, 0] <= rows - 1).all()
    assert (pts[:, 1] <= cols - 1).all()
    assert copy.rater == "X"
    assert copy.findings["L1"]["ivc"] != "yes"
    assert copy.findings["L1"]["cement_leakage"] != "no"
    same = perturb_landmarks(ls, 0.0, rng)
    assert same.points == ls.points


# ======================================================================= the whole study
@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rel") / "study"
    shutil.copytree(SAMPLE, root)
    simulate_readers(root, {"A": 1.5, "B": 1.5, "A2": 1.0}, seed=7, finding_error=0.1)
    return root


@pytest.fixture(scope="module")
def result(study: Path, tmp_path_factory):
    out = tmp_path_factory.mktemp("rel-out")
    return run_reliability(
        ReliabilityOptions(study=study, output=out, raters=("A", "B"), repeat=("A", "A2"))
    )


def test_simulated_readers_files_are_per_reader_and_never_overwrite(study: Path) -> None:
    files = sorted(p.name for p in (study / "P001").glob("pre*.landmarks.json"))
    assert files == ["pre.A.landmarks.json", "pre.A2.landmarks.json", "pre.B.landmarks.json",
                     "pre.landmarks.json"]  # fmt: skip
    assert read_landmarks(study / "P001" / "pre.landmarks.json").rater == "ground_truth"
    assert read_landmarks(study / "P001" / "pre.A.landmarks.json").rater == "A"


def test_icc_table_names_the_forms_and_gives_sem_and_mdc(result) -> None:
    t = result.tables["icc"]
    inter = t[t["kind"] == "inter"].set_index("measure")
    intra = t[t["kind"] == "intra"].set_index("measure")
    assert set(inter["form"]) == {"ICC(2,1)"}
    assert set(intra["form"]) == {"ICC(3,1)"}
    assert set(inter["description"]) == {"two-way random, absolute agreement, single rater"}
    assert set(intra["description"]) == {"two-way mixed, consistency, single rater"}
    assert list(inter.index) == ["ha_mm", "hm_mm", "hp_mm", "ahr_pct", "compression_pct",
                                 "wedge_angle_deg", "ka_deg"]  # fmt: skip
    assert inter.loc["ha_mm", "n_targets"] == 72  # 12 films x 6 vertebrae
    assert inter.loc["ka_deg", "n_targets"] == 12  # index level only
    assert inter.loc["ha_mm", "unit"] == "mm"
    assert inter.loc["ka_deg", "unit"] == "deg"
    ha = inter.loc["ha_mm"]
    assert ha["ci_low"] < ha["icc"] < ha["ci_high"] <= 1
    assert ha["sem"] == pytest.approx(ha["sd"] * math.sqrt(1 - ha["icc"]))
    assert ha["mdc95"] == pytest.approx(1.96 * math.sqrt(2) * ha["sem"])
    assert ha["koo_li"] in {"excellent", "good to excellent"}
    forms = result.tables["icc_all_forms"]
    assert len(forms) == 6 * len(t)


def test_bland_altman_and_kappa_tables(result) -> None:
    ba = result.tables["bland_altman"]
    assert set(zip(ba["reader_a"], ba["reader_b"], strict=True)) == {("A", "B"), ("A", "A2")}
    row = ba[(ba["measure"] == "ha_mm") & (ba["reader_b"] == "B")].iloc[0]
    assert row["loa_low"] < row["bias"] < row["loa_high"]
    assert row["loa_low_ci_low"] < row["loa_low"] < row["loa_low_ci_high"]
    k = result.tables["kappa"]
    grade = k[(k["measure"] == "genant_grade") & (k["reader_b"] == "B")]
    assert list(grade["weights"]) == ["linear", "quadratic"]
    assert set(k.loc[k["measure"] == "ivc", "weights"]) == {"unweighted"}
    assert grade["kappa"].between(-1, 1).all()


def test_landmark_agreement_matches_the_simulated_noise(result) -> None:
    d = result.tables["landmark_distances"]
    for comparison, sigmas in (("inter-reader (A, B)", (1.5, 1.5)),
                               ("intra-reader (A vs A2)", (1.5, 1.0))):  # fmt: skip
        px = d.loc[d["comparison"] == comparison, "distance_px"]
        expected = math.hypot(*sigmas) * RAYLEIGH_MEDIAN
        assert len(px) == 12 * 6 * 6
        assert px.median() == pytest.approx(expected, rel=4.5 * 0.7213 / math.sqrt(len(px)))
    by_level = result.tables["landmark_by_level"]
    assert by_level.groupby("comparison")["rank"].min().eq(1).all()
    assert {"median", "p95", "point", "level", "unit"} <= set(by_level.columns)
    assert len(result.tables["landmark_largest"]) == 20  # 10 per comparison


def test_files_written_with_dictionaries_report_and_workbook(result) -> None:
    out = result.written[0].parent
    names = {p.relative_to(out).as_posix() for p in result.written}
    for table in result.tables:
        assert f"{table}.csv" in names
        assert f"{table}.dictionary.csv" in names
    assert {"reliability.html", "reliability.xlsx", "methods.txt", "summary.json"} <= names
    assert {"readers/A/measures.csv", "readers/B/measures.csv", "readers/A2/measures.csv"} <= names
    assert sum(n.startswith("figures/bland_altman_") for n in names) == 14
    dic = pd.read_csv(out / "icc.dictionary.csv").set_index("column")
    assert "Weir" in dic.loc["sem", "source"]
    assert "Shrout" in dic.loc["form", "source"]
    with pd.ExcelFile(out / "reliability.xlsx") as xf:
        sheets = xf.sheet_names
    assert {"methods", "icc", "bland_altman", "kappa", "landmark_by_point", "dictionary"} <= set(
        sheets
    )
    page = (out / "reliability.html").read_text(encoding="utf-8")
    assert page.count("<img") == 14
    assert "ICC(2,1)" in page
    assert "Koo &amp; Li" in page
    summary = json.loads((out / "summary.json").read_text())
    assert summary["films_by_reader"] == {"A": 12, "B": 12, "A2": 12}
    assert summary == result.summary.to_dict()  # the file is the result's summary
    assert (out / "summary.json").read_text() == json.dumps(summary, indent=2) + "\n"


def test_the_summary_is_read_by_attribute(result) -> None:
    s = result.summary
    assert s.readers == ("A", "B", "A2")
    assert s.films_by_reader == {"A": 12, "B": 12, "A2": 12}
    assert [(c.comparison, c.kind, c.readers, c.icc_form) for c in s.comparisons] == [
        ("inter-reader (A, B)", "inter", ("A", "B"), "ICC(2,1)"),
        ("intra-reader (A vs A2)", "intra", ("A", "A2"), "ICC(3,1)"),
    ]
    assert set(result.tables["icc"]["comparison"]) == {c.comparison for c in s.comparisons}
    for c in s.comparisons:
        assert c.films_measured_by_all == 12
        assert c.vertebrae == 72  # 12 films x 6 vertebrae
    assert s.problems == 0
    assert s.spacing_sources == tuple(sorted(set(result.measures["A"]["spacing_source"])))
    assert isinstance(result.written, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.summary = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.tables["icc"] = result.tables["kappa"]  # type: ignore[index]


def test_report_and_workbook_use_the_stats_renderers(result) -> None:
    """The page has the report's stylesheet and number formats; the workbook its layout."""
    from openpyxl import load_workbook

    out = result.written[0].parent
    page = (out / "reliability.html").read_text(encoding="utf-8")
    # the report's stylesheet: A4 print pages, numbers never wrap, figures in a grid
    for rule in ("@page{size:A4", "td.num{text-align:right", ".figures{display:grid"):
        assert rule in page
    assert '<th class="num">icc</th>' in page
    assert page.count('<div class="figures">') == 1  # Bland-Altman plots side by side
    assert '<td class="num">&lt;0.001</td>' in page  # p as journals print it
    wb = load_workbook(out / "reliability.xlsx")
    assert wb.sheetnames == ["methods", "icc", "bland_altman", "kappa", "landmark_by_point",
                             "landmark_by_level", "landmark_largest", "icc_all_forms",
                             "paired_measures", "problems", "dictionary"]  # fmt: skip
    icc_sheet = wb["icc"]
    assert icc_sheet.freeze_panes == "A2"
    assert icc_sheet["A1"].font.bold
    header = [c.value for c in icc_sheet[1]]
    row = [c for c in icc_sheet[2]]
    assert row[header.index("icc")].number_format == "0.000"
    assert row[header.index("p_value")].number_format == '[<0.001]"<0.001";0.000'
    assert row[header.index("icc")].value == pytest.approx(result.tables["icc"].loc[0, "icc"])
    assert [c.value for c in wb["problems"][1]] == ["file", "level", "point", "error", "reader"]
    dic = {r[0].value: r[2].value for r in wb["dictionary"].iter_rows(min_row=2)}
    assert dic["sem"] == "K-reliability"
    assert dic["ha_mm__A"] == "M-height"


def test_methods_paragraph_names_each_icc_form_and_source(result) -> None:
    m = result.methods
    assert (
        "two-way random-effects, absolute-agreement, single-rater intraclass correlation "
        "coefficient ICC(2,1) (Shrout & Fleiss 1979; ICC(A,1) in McGraw & Wong 1996)"
    ) in m
    assert "two-way mixed-effects, consistency, single-rater ICC(3,1)" in m
    for source in ("Koo & Li 2016", "Weir 2005", "Bland & Altman 1986, 1999", "Cohen 1968",
                   "Fleiss, Cohen & Everitt 1969"):  # fmt: skip
        assert source in m
    assert "readers A and B" in m
    assert "12 films (72 vertebrae)" in m
    text = format_summary(result)
    assert "ICC(2,1) (two-way random, absolute agreement, single rater)" in text
    assert "landmarks: median" in text


def test_three_readers_get_fleiss_kappa_and_every_pair(study: Path, tmp_path: Path) -> None:
    simulate_readers(study, {"C": 2.0}, seed=9)
    try:
        r = run_reliability(
            ReliabilityOptions(
                study=study, output=tmp_path, raters=("A", "B", "C"), measures=("ha_mm", "ivc")
            )
        )
    finally:
        for p in study.rglob("*.C.landmarks.json"):
            p.unlink()
    assert r.tables["icc"].loc[0, "n_raters"] == 3
    pairs = set(zip(r.tables["bland_altman"]["reader_a"], r.tables["bland_altman"]["reader_b"],
                    strict=True))  # fmt: skip
    assert pairs == {("A", "B"), ("A", "C"), ("B", "C")}
    assert "Fleiss' kappa" in set(r.tables["kappa"]["statistic"])
    assert "Fleiss' kappa across all readers (Fleiss 1971)" in r.methods


def test_unbalanced_readers_and_refused_files_are_reported(study: Path, tmp_path: Path) -> None:
    work = tmp_path / "study"
    shutil.copytree(study, work)
    (work / "P002" / "post.B.landmarks.json").unlink()  # B has not read this film
    bad = work / "P003" / "pre.B.landmarks.json"
    ls = read_landmarks(bad)
    write_landmarks(ls.replace(image=replace(ls.image, sop_instance_uid="1.2.3")), bad)
    r = run_reliability(
        ReliabilityOptions(
            study=work, output=tmp_path / "out", raters=("A", "B"), measures=("ha_mm",)
        )
    )
    row = r.tables["icc"].iloc[0]
    assert row["n_targets"] == 60
    assert row["n_incomplete"] == 12
    problems = r.tables["problems"]
    assert problems["error"].str.contains("1.2.3").any()
    assert not r.ok
    assert r.summary.films_by_reader == {"A": 12, "B": 10}
    assert r.summary.problems == 1  # the file of another image


# ========================================================================= options, TOML
def test_options_are_checked_before_any_work(study: Path, tmp_path: Path) -> None:
    with pytest.raises(StudyError, match="two or more raters"):
        ReliabilityOptions(study=study, output=tmp_path, raters=("A",)).validated()
    with pytest.raises(StudyError, match="unknown measure"):
        ReliabilityOptions(study=study, output=tmp_path, raters=("A", "B"),
                           measures=("ha",)).validated()  # fmt: skip
    with pytest.raises(StudyError, match="cannot name a landmark file"):
        ReliabilityOptions(study=study, output=tmp_path, raters=("A", "B/C")).validated()
    with pytest.raises(StudyError, match="repeated reading"):
        ReliabilityOptions(study=study, output=tmp_path, raters=(),
                           repeat=("A", "A")).validated()  # fmt: skip
    with pytest.raises(StudyError, match="not a folder"):
        ReliabilityOptions(study=tmp_path / "nope", output=tmp_path, raters=("A", "B")).validated()
    only_repeat = ReliabilityOptions(
        study=study, output=tmp_path, raters=("A",), repeat=("A", "A2")
    )
    assert [c.kind for c in only_repeat.validated().comparisons()] == ["intra"]


def test_study_toml_reliability_table(study: Path, tmp_path: Path) -> None:
    toml = tmp_path / "study.toml"
    toml.write_text(
        f'[run]\nstudy = "{study}"\n\n[reliability]\nstudy = "{study}"\noutput = "rel"\n'
        'raters = "A,B"\nrepeat = ["A", "A2"]\nmeasures = ["ha_mm", "ka_deg"]\n',
        encoding="utf-8",
    )
    values = read_reliability_toml(toml)
    assert values["raters"] == ("A", "B")
    assert values["repeat"] == ("A", "A2")
    assert values["output"] == tmp_path / "rel"
    o = reliability_options(toml, measures=["ha_mm"])  # arguments override the file
    assert o.measures == ("ha_mm",)
    assert o.raters == ("A", "B")
    toml.write_text('[reliability]\nraters = ["A", "B"]\ncolour = "red"\n', encoding="utf-8")
    with pytest.raises(StudyError, match=r"unknown key.*colour"):
        read_reliability_toml(toml)
    toml.write_text("[run]\n", encoding="utf-8")
    with pytest.raises(StudyError, match=r"no \[reliability\] table"):
        read_reliability_toml(toml)


# ================================================================================== CLI
def test_cli_runs_and_prints_the_summary(study: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli"
    code = main(["reliability", str(study), "--raters", "A,B", "--measures", "ha_mm,ivc",
                 "-o", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "inter-reader (A, B)" in printed
    assert "ha_mm" in printed
    assert "kappa ivc" in printed
    assert (out / "reliability.html").is_file()
    assert (out / "icc.dictionary.csv").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--raters", "A"], "two or more raters"),
        (["--raters", "A,B", "--measures", "height"], "unknown measure"),
        (["--raters", "A,B", "--repeat", "A"], "give two ids"),
    ],
)
def test_cli_usage_errors_exit_2(study: Path, tmp_path: Path, capsys, args, message) -> None:
    assert main(["reliability", str(study), *args, "-o", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_cli_needs_an_output_and_has_examples(study: Path, capsys) -> None:
    assert main(["reliability", str(study), "--raters", "A,B"]) == 2
    assert "-o/--output" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["reliability", "--help"])
    text = capsys.readouterr().out
    assert "examples:" in text
    assert "kyphoimg reliability study/ --raters A,B" in text
