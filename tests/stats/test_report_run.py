"""report() on the output of `kyphoimg run`: the findings a new user met, each reproduced.

1. a run folder (features.csv + summary.json) and the wide features table are reported as
   they are; starter_study writes a commented study that runs as written;
2. the unit of analysis: one index vertebra per patient by a named rule (affected
   patients listed), or every vertebra with cluster-robust models; n of subjects and of
   vertebrae separately; patient-level variables counted once;
3. a separated model shows no coefficient, AUC, test or forest plot;
4. labels with units everywhere, one number format, methods from what ran, a layout that
   fits 1200 px in Chromium, a print stylesheet and a PDF;
5. the workbook: bold frozen header, fitted widths, number formats, numbers as numbers;
6. summary.json.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kyphoimg.errors import StatsInputError
from kyphoimg.sample import simulate_cohort
from kyphoimg.stats import (
    EventsPerVariableWarning,
    SeparationWarning,
    index_vertebrae,
    report,
    starter_study,
    wide_to_long,
)

SECOND_LEVELS = 6  # patients R001-R006 get a second treated vertebra (L3)


def features_table(seed: int = 0) -> pd.DataFrame:
    """A features table laid out as `kyphoimg run` writes it, shaped like seed 000."""
    c = simulate_cohort("recompression", seed=seed)
    rng = np.random.default_rng(seed)
    n = len(c)
    f = pd.DataFrame({"patient_id": c["patient_id"], "level": rng.choice(["T11", "T12", "L1"], n)})
    for t in ("pre", "post", "last"):
        f[f"ka_deg_{t}"] = c[f"ka_deg_{t}"]
    for t in ("pre", "post", "last"):
        f[f"compression_pct_{t}"] = 100 - c[f"cr_ratio_pct_{t}"]
    f["height_restoration_pct"] = c["reduction_rate_pct"]
    f["reduction_angle_deg"] = c["reduction_angle_deg"]
    f["correction_loss_deg"] = c["ka_deg_last"] - c["ka_deg_post"]
    f["recompression"] = c["recompression"].astype(bool)
    f["recompression_rule"] = "height_loss>=15% (ha vs post) or ka_increase>=10deg (last vs post)"
    f["ivc"] = c["ivc"]
    f["npec"] = np.where(c["npec"] == "yes", rng.choice(["superior", "inferior", "both"], n), "no")
    f["cement_leakage"] = rng.choice(["yes", "no"], n, p=[0.3, 0.7])
    f["age_years"] = c["age_years"]
    f["sex"] = c["sex"]
    f["bmd_t_score"] = c["bmd_t_score"]
    for t in ("pre", "post", "last"):
        f[f"vas_{t}"] = c[f"vas_{t}"]
    f.loc[40, "npec"] = "not_assessable"
    extra = f.iloc[:SECOND_LEVELS].copy()
    extra["level"] = "L3"
    extra["compression_pct_pre"] = extra["compression_pct_pre"] + 5.0  # the index vertebra
    extra["ka_deg_pre"] = extra["ka_deg_pre"] + 2.0
    return pd.concat([f, extra], ignore_index=True)


def write_run(folder: Path, table: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "features.csv", index=False)
    summary = {"kyphoimg_version": "0.1.0", "treated_vertebrae": len(table)}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return folder


def quiet_report(study, out):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return report(study, out)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    return write_run(tmp_path_factory.mktemp("run"), features_table())


@pytest.fixture(scope="module")
def from_folder(run_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return quiet_report(run_folder, out)


# --------------------------------------------------------------------------- 1. run output
def test_report_accepts_a_run_folder(from_folder) -> None:
    summary = json.loads(from_folder.summary.read_text(encoding="utf-8"))
    status = {a["section"]: a["status"] for a in summary["analyses"]}
    assert status == dict.fromkeys(["table1", "timepoints", "correlation", "logistic"], "run")
    doc = from_folder.html.read_text(encoding="utf-8")
    for name in ("Compression (%)", "KA (°)", "VAS (0–10)"):
        assert f"<h3>{name}</h3>" in doc


def test_starter_study_is_commented_and_runs_as_written(run_folder, tmp_path) -> None:
    text = starter_study(run_folder)
    spec = tomllib.loads(text)
    assert spec["data"]["subjects"] == "features.csv"
    assert spec["table1"]["group"] == "recompression"
    assert spec["timepoints"]["values"] == ["compression_pct", "ka_deg", "vas"]
    assert spec["timepoints"]["order"] == ["pre", "post", "last"]
    assert spec["correlation"]["factors"] == ["ivc", "npec", "bmd_t_score", "age_years"]
    assert spec["logistic"]["predictors"] == ["ivc", "npec", "bmd_t_score", "age_years"]
    assert spec["data"]["reference"] == {"npec": "no", "ivc": "no"}
    for section in ("[data]", "[outcome]", "[labels]", "[table1]", "[timepoints]", "[logistic]"):
        after = text.split(section, 1)[1].splitlines()[1]
        assert after.startswith("#"), f"{section} is not commented"
    study = run_folder / "study.toml"
    study.write_text(text, encoding="utf-8")
    paths = quiet_report(study, tmp_path / "out")
    summary = json.loads(paths.summary.read_text(encoding="utf-8"))
    assert all(a["status"] == "run" for a in summary["analyses"])


def test_starter_study_without_vas_leaves_it_out(tmp_path) -> None:
    table = features_table().drop(columns=["vas_pre", "vas_post", "vas_last"])
    spec = tomllib.loads(starter_study(write_run(tmp_path / "run", table)))
    assert spec["timepoints"]["values"] == ["compression_pct", "ka_deg"]


def test_report_on_the_bundled_sample_run(tmp_path) -> None:
    # kyphoimg run on sample_dicom/ (4 patients): too few for the design, so the sections
    # that cannot run say why, and the report is still written
    from kyphoimg.batch import RunOptions, run_study

    root = Path(__file__).resolve().parents[2] / "sample_dicom"
    if not root.is_dir():
        pytest.skip("sample_dicom/ not present")
    run_study(RunOptions(dicom_dir=root, output=tmp_path / "run", clinical=root / "clinical.csv"))
    spec = tomllib.loads(starter_study(tmp_path / "run"))
    assert spec["outcome"]["column"] == "recompression"
    paths = quiet_report(tmp_path / "run", tmp_path / "report")
    summary = json.loads(paths.summary.read_text(encoding="utf-8"))
    assert summary["n_subjects"] == 4
    assert summary["n_vertebrae"] == 4
    not_run = [a for a in summary["analyses"] if a["status"] == "not run"]
    assert not_run
    assert all(a["reason"] for a in not_run)
    assert "Not run." in paths.html.read_text(encoding="utf-8")


def test_wide_to_long_reshapes_measure_columns() -> None:
    wide = pd.DataFrame({"id": [1, 2], "g": ["a", "b"], "ka_deg_pre": [10, 12]})
    wide["ka_deg_post"] = [5, 6]
    long = wide_to_long(wide, "id", ["ka_deg"], ["pre", "post"], keep=["g"])
    assert list(long.columns) == ["id", "time", "g", "ka_deg"]
    assert long["ka_deg"].tolist() == [10, 5, 12, 6]
    with pytest.raises(StatsInputError, match="ka_deg_last"):
        wide_to_long(wide, "id", ["ka_deg"], ["pre", "post", "last"])


# --------------------------------------------------------------------------- 2. unit
def test_index_vertebra_rules() -> None:
    f = features_table()
    rows, affected = index_vertebrae(f, rule="most_compressed_pre")
    assert len(rows) == 80
    assert rows["patient_id"].is_unique
    assert len(affected) == SECOND_LEVELS
    assert (affected["index_level"] == "L3").all()
    first, _ = index_vertebrae(f, rule="first")
    assert (first.set_index("patient_id").loc[affected["patient"], "level"] != "L3").all()
    with pytest.raises(StatsInputError, match="index_vertebra = 'largest'"):
        index_vertebrae(f, rule="largest")


def test_patient_unit_lists_the_affected_patients_and_counts_both(from_folder) -> None:
    summary = json.loads(from_folder.summary.read_text(encoding="utf-8"))
    assert summary["n_subjects"] == 80
    assert summary["n_vertebrae"] == 86
    assert summary["n_analysed_rows"] == 80
    assert len(summary["patients_with_several_vertebrae"]) == SECOND_LEVELS
    doc = from_folder.html.read_text(encoding="utf-8")
    assert "80 patients, 86 treated vertebrae" in doc
    assert "Patients with several treated vertebrae" in doc
    assert "R001" in doc


def test_vertebra_unit_is_clustered_and_counts_patients_once(run_folder, tmp_path) -> None:
    spec = tomllib.loads(starter_study(run_folder))
    spec["data"]["subjects"] = str(run_folder / "features.csv")
    spec["data"]["unit"] = "vertebra"
    spec["logistic"] = {"predictors": ["bmd_t_score", "age_years"], "method": "ml"}
    spec["options"]["pdf"] = False
    paths = quiet_report(spec, tmp_path)
    summary = json.loads(paths.summary.read_text(encoding="utf-8"))
    t1 = next(a for a in summary["analyses"] if a["section"] == "table1")
    # age, sex, BMD are patient-level: 80 patients once each; KA, IVC: 86 vertebrae
    assert t1["n"] == {"table1patients_rows": 80, "table1vertebrae_rows": 86}
    sheets = pd.read_excel(paths.xlsx, sheet_name=None)
    assert "Age (years)" in set(sheets["Table 1 (patients)"]["Characteristic"])
    assert "Age (years)" not in set(sheets["Table 1 (vertebrae)"]["Characteristic"])
    assert "KA (°), pre-op" in set(sheets["Table 1 (vertebrae)"]["Characteristic"])
    doc = paths.html.read_text(encoding="utf-8")
    assert "cluster-robust" in doc
    assert "86 vertebrae of 80 patients" in doc
    assert len(sheets["Logistic multivariable"]) == 3


# --------------------------------------------------------------------------- 3. separation
def test_separated_model_in_the_report_shows_nothing_to_misread(run_folder, tmp_path) -> None:
    spec = tomllib.loads(starter_study(run_folder))
    spec["data"]["subjects"] = str(run_folder / "features.csv")
    spec["logistic"] = {"predictors": ["ivc", "age_years"], "method": "ml", "bootstrap": 0}
    spec["roc"] = {"markers": {"age_years": "higher"}, "model": True}
    spec["options"]["pdf"] = False
    for key in ("table1", "timepoints", "correlation"):
        spec.pop(key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EventsPerVariableWarning)
        with pytest.warns(SeparationWarning):
            paths = report(spec, tmp_path)
    assert "forest_png" not in paths.figures
    sheets = pd.read_excel(paths.xlsx, sheet_name=None)
    mv = sheets["Logistic multivariable"]
    assert mv[["B", "SE", "OR", "p"]].isna().all().all()
    assert list(sheets["ROC"]["Marker"]) == ["Age (years)"]  # no model curve
    assert "AUC (apparent)" not in sheets["Model performance"].columns
    doc = paths.html.read_text(encoding="utf-8")
    assert "Not estimable: the predictors separate the outcome" in doc
    assert "e-14" not in doc
    assert "1857" not in doc


def test_firth_in_the_report_estimates_the_separated_factors(from_folder) -> None:
    sheets = pd.read_excel(from_folder.xlsx, sheet_name=None)
    uni = sheets["Logistic univariable"].set_index("Predictor")
    assert np.isfinite(uni.loc["IVC: yes vs no", "OR"])
    assert np.isfinite(uni.loc["NPEC: superior vs no", "OR"])
    # 10 events for 6 parameters: below the floor (5 per parameter), the multivariable
    # model is not estimable, and the report says why instead of printing numbers.
    mv = sheets["Logistic multivariable"].set_index("Term")
    assert set(mv.index) >= {"NPEC: both vs no", "NPEC: inferior vs no", "NPEC: superior vs no"}
    assert mv["OR"].isna().all()
    doc = from_folder.html.read_text(encoding="utf-8")
    assert "Not estimable: 10 events for 6 parameters (1.7 per parameter)" in doc


# --------------------------------------------------------------------------- 4. presentation
def visible_text(doc: str) -> str:
    doc = re.sub(r"<svg.*?</svg>", " ", doc, flags=re.S)
    doc = re.sub(r"<style.*?</style>", " ", doc, flags=re.S)
    return re.sub(r"<[^>]+>", " ", doc)


def test_no_snake_case_and_no_scientific_notation(from_folder) -> None:
    text = visible_text(from_folder.html.read_text(encoding="utf-8"))
    assert not re.findall(r"\b[a-z]+_[a-z0-9_]+\b", text)
    assert not re.findall(r"\d\.?\d*e[-+]\d+", text)
    assert "nan" not in text.split()
    for label in (
        "KA (°), pre-op",
        "Compression (%), post-op",
        "Age (years)",
        "BMD T-score",
    ):
        assert label in text


def test_labels_from_the_study_reach_tables_figures_and_legends(run_folder, tmp_path) -> None:
    spec = tomllib.loads(starter_study(run_folder))
    spec["data"]["subjects"] = str(run_folder / "features.csv")
    spec["labels"] = {
        "recompression": "Recompression",
        "ka_deg": "Kyphotic angle",
        "groups": {"true": "Recompressed", "false": "Not recompressed"},
    }
    spec["options"] = {"pdf": False}
    spec.pop("logistic")
    paths = quiet_report(spec, tmp_path)
    doc = paths.html.read_text(encoding="utf-8")
    assert "Not recompressed (n=70)" in doc
    svg = paths.figures["timecourse_ka_deg_svg"].read_text(encoding="utf-8")
    # matplotlib writes text as paths; the labels are kept in the SVG's comments/ids
    fig_text = re.findall(r"<!-- (.*?) -->", svg)
    assert any("Kyphotic angle (°)" in t for t in fig_text)
    assert any("Not recompressed (n=70)" in t for t in fig_text)
    assert any("Last follow-up" in t for t in fig_text)


def test_timecourse_groups_differ_in_marker_and_line_style() -> None:
    from kyphoimg.stats import compare_timepoints, plot_timecourse

    f = features_table()
    long = wide_to_long(
        f.drop_duplicates("patient_id"), "patient_id", ["ka_deg"], keep=["recompression"]
    )
    res = compare_timepoints(
        long, "patient_id", "time", "ka_deg", group="recompression", order=["pre", "post", "last"]
    )
    fig = plot_timecourse(res)
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() not in (None, "None", "", "_")]
    styles = {(ln.get_marker(), ln.get_linestyle()) for ln in lines}
    assert len(styles) == 2


def test_mixed_anova_and_greenhouse_geisser_df_in_the_report(from_folder) -> None:
    sheets = pd.read_excel(from_folder.xlsx, sheet_name=None)
    inter = sheets["KA (°) interaction"].set_index("Effect")
    assert list(inter.index) == ["Recompression", "Time", "Recompression × time"]
    assert inter.loc["Time", "df1 (GG)"] == pytest.approx(2 * inter.loc["Time", "GG ε"])
    within = sheets["KA (°) within"]
    assert {"df1 (GG)", "df2 (GG)", "GG ε"} <= set(within.columns)


def test_methods_describe_only_what_ran(run_folder, tmp_path) -> None:
    spec = tomllib.loads(starter_study(run_folder))
    spec["data"]["subjects"] = str(run_folder / "features.csv")
    for key in ("timepoints", "correlation", "logistic"):
        spec.pop(key)
    spec["options"]["pdf"] = False
    paths = quiet_report(spec, tmp_path)
    doc = paths.html.read_text(encoding="utf-8")
    methods = visible_text(doc.split("<h2>Statistical methods</h2>", 1)[1])
    assert "Welch t-test" in methods
    for absent in ("Greenhouse", "logistic", "Logistic", "bootstrap", "ROC", "DeLong", "Firth"):
        assert absent not in methods


def scroll_width(chromium: str, html_path: Path, tmp: Path) -> int:
    probe = tmp / "probe.html"
    script = (
        "<script>document.body.setAttribute('data-scroll-width',"
        "String(document.documentElement.scrollWidth))</script></body>"
    )
    probe.write_text(html_path.read_text(encoding="utf-8").replace("</body>", script), "utf-8")
    from kyphoimg.stats._html import headless_args, run_chromium

    done = run_chromium(
        [chromium, *headless_args(tmp / "profile"), "--window-size=1200,900", "--dump-dom",
         probe.as_uri()],
        timeout=120,
    )  # fmt: skip
    found = re.search(r'data-scroll-width="(\d+)"', done.stdout)
    assert found, done.stderr[-2000:]
    return int(found.group(1))


def test_layout_fits_1200_pixels_in_chromium(from_folder, tmp_path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed")
    assert scroll_width(chromium, from_folder.html, tmp_path) <= 1200
    # the probe detects overflow: the same page with a 2000 px element does not fit
    wide = tmp_path / "wide.html"
    doc = from_folder.html.read_text(encoding="utf-8")
    wide.write_text(doc.replace("<body>", "<body><div style='width:2000px'>x</div>"), "utf-8")
    assert scroll_width(chromium, wide, tmp_path) > 1200


def test_print_stylesheet_and_pdf(from_folder) -> None:
    doc = from_folder.html.read_text(encoding="utf-8")
    assert "@media print" in doc
    assert "@page" in doc
    assert "thead{display:table-header-group}" in doc
    if shutil.which("chromium") is None:
        pytest.skip("chromium not installed: report.pdf is skipped with a warning")
    pdf = from_folder.pdf
    assert pdf.read_bytes()[:5] == b"%PDF-"


# --------------------------------------------------------------------------- 5. workbook
def test_workbook_is_formatted_and_stores_numbers(from_folder) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(from_folder.xlsx)
    for ws in wb.worksheets:
        assert ws.max_row >= 2, f"{ws.title} is empty"
        assert ws.freeze_panes == "A2"
        assert all(c.font.bold for c in ws[1])
        widths = [ws.column_dimensions[c.column_letter].width for c in ws[1]]
        assert all(w and w >= 8 for w in widths)
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                v = cell.value
                if isinstance(v, str):
                    assert v.lower() not in ("nan", "inf", "-inf", "none", "∞")
                    assert not re.fullmatch(r"-?\d+(\.\d+)?(e[-+]\d+)?", v), (ws.title, v)
    t1 = wb["Table 1"]
    header = [c.value for c in t1[1]]
    age = next(r for r in t1.iter_rows(min_row=2) if r[0].value == "Age (years)")
    mean = age[header.index("Maintained: mean")]
    assert isinstance(mean.value, float)
    assert mean.number_format == "0.0"
    p = age[header.index("p")]
    assert isinstance(p.value, float)
    assert "<0.001" in p.number_format


# --------------------------------------------------------------------------- 6. summary
def test_summary_json_lists_analyses_tests_and_warnings(from_folder) -> None:
    summary = json.loads(from_folder.summary.read_text(encoding="utf-8"))
    assert summary["unit"] == "patient"
    assert summary["index_vertebra"] == "most_compressed_pre"
    assert summary["outcome"]["events"] == 10
    assert summary["not_assessable_as_missing"] == {"npec": 1}
    tests = {a["section"]: a["tests"] for a in summary["analyses"]}
    assert "Repeated-measures ANOVA, Greenhouse–Geisser corrected" in tests["timepoints"]
    assert any("Firth" in t for t in tests["logistic"])
    assert any("events per variable" in w for w in summary["warnings"])
