"""The end-to-end demo: sample cohort run, SR per film, simulated seed-study reports."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kyphoimg as ki
import kyphoimg.cli.demo
import kyphoimg.sr
from kyphoimg.cli import main
from kyphoimg.demo import DemoResult, run_demo
from kyphoimg.stats._format import fmt_p

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_dicom"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoResult]:
    """``kyphoimg demo`` on sample_dicom, with the DemoResult the command printed from."""
    out = tmp_path_factory.mktemp("demo")
    seen: list[DemoResult] = []

    def recorded(*args, **kwargs) -> DemoResult:
        seen.append(run_demo(*args, **kwargs))
        return seen[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kyphoimg.cli.demo, "run_demo", recorded)
        assert main(["demo", "-o", str(out), "--data", str(SAMPLE)]) == 0
    return out, seen[0]


@pytest.fixture(scope="module")
def demo(demo_run: tuple[Path, DemoResult]) -> Path:
    return demo_run[0]


def test_demo_result_fields(demo_run: tuple[Path, DemoResult]) -> None:
    out, result = demo_run
    assert result.data == SAMPLE
    assert result.run.summary.films_by_status.measured == 12
    assert result.run.summary.treated_vertebrae == len(result.run.features) == 4
    assert result.report.html == out / "report" / "report.html"
    assert result.report.html.is_file()
    assert len(result.sr_files) == 12
    assert all(p.is_file() and p.parent == out / "sr" for p in result.sr_files)
    assert result.sr_errors.empty
    assert [s.name for s in result.simulated] == ["recompression", "asd"]
    assert len(result.recompression.cohort) == 80
    assert len(result.asd.cohort) == 162
    for study in result.simulated:
        assert study.cohort_csv == out / f"simulated_{study.name}_cohort.csv"
        assert len(pd.read_csv(study.cohort_csv)) == len(study.cohort)
        assert study.report.html == out / f"report_{study.name}" / "report.html"
        assert study.report.html.is_file()
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.run = None  # type: ignore[misc]


def test_the_study_run_measures_every_sample_film(demo: Path) -> None:
    summary = pd.read_json(demo / "study" / "summary.json", typ="series")
    assert summary["dicom_films"] == 12
    assert summary["films_measured"] == 12
    assert summary["problems"] == 0
    features = pd.read_csv(demo / "study" / "features.csv", dtype={"patient_id": str})
    assert sorted(features["patient_id"]) == ["P001", "P002", "P003", "P004"]
    # sample_dicom/README.md: P002 is the patient whose treated vertebra recompresses.
    flags = features.set_index("patient_id")["recompression"].astype(str)
    assert flags.to_dict() == {"P001": "False", "P002": "True", "P003": "False", "P004": "False"}
    # Calibration re-derived from each DICOM (the landmark files agree with it).
    measures = pd.read_csv(demo / "study" / "measures.csv")
    assert set(measures["spacing_source"]) <= {"detector", "ermf", "pixel_spacing"}
    clinical = pd.read_csv(SAMPLE / "clinical.csv", dtype={"patient_id": str})
    joined = features.merge(
        clinical[["patient_id", "age_years"]], on="patient_id", suffixes=("", "_c")
    )
    assert (joined["age_years"] == joined["age_years_c"]).all()


def test_one_sr_per_film_round_trips_to_its_landmarks(demo: Path) -> None:
    srs = sorted((demo / "sr").glob("*.sr.dcm"))
    assert len(srs) == 12
    for sr in srs:
        pid, tp = sr.name.removesuffix(".sr.dcm").split("_")
        original = ki.read_landmarks(SAMPLE / pid / f"{tp}.landmarks.json")
        back = kyphoimg.sr.import_sr(sr)
        assert back.patient_id == pid
        assert back.timepoint == tp
        for level, pts in original.points.items():
            for name, (r, c) in pts.items():
                assert back.points[level][name] == pytest.approx((r, c), abs=1e-9)


def test_simulated_reports_reproduce_the_seed_analyses(demo: Path) -> None:
    asd = (demo / "report_asd" / "report.html").read_text(encoding="utf-8")
    rec = (demo / "report_recompression" / "report.html").read_text(encoding="utf-8")
    for html in (asd, rec):
        assert "SIMULATED DATA" in html
        assert "<svg" in html  # figures embedded: one self-contained file
    assert "its multivariable model is not matched" in asd  # says what it matches (item 8)
    tables = pd.read_excel(demo / "report_asd" / "tables.xlsx", sheet_name=None)
    t1 = next(t for name, t in tables.items() if name.lower().startswith("table"))
    t1 = t1.drop_duplicates("Characteristic").set_index("Characteristic")
    p = {k: fmt_p(v) for k, v in t1["p"].items()}  # numbers in the workbook, not text
    # seeds/004: age 0.003, smoking 0.036, previous ASD 0.035, leakage 0.008, cement/BMD <0.001
    assert p["Age (years)"] == "0.003"
    assert p["Smoking"] == "0.036"
    assert p["Previous ASD"] == "0.035"
    assert p["Cement leakage"] == "0.008"
    assert p["Cement volume (ml)"] == "<0.001"
    assert "Student t-test (pooled variance)" in asd
    assert "Pearson chi-square (no continuity correction)" in asd
    for marker in (
        "Age (years)",
        "BMD T-score",
        "Cement volume (ml)",
        "Height recovery (%)",
        "Model (predicted risk, apparent)",
    ):
        assert marker in asd
    assert "DeLong" in asd
    assert "IVC" in rec
    assert "NPEC" in rec
    assert "Greenhouse" in rec


def test_films_to_report_with_the_commands_a_user_types(tmp_path: Path, capsys) -> None:
    """make demo's chain: sample films, run (which writes study.toml), report the folder."""
    films, run, rep = tmp_path / "films", tmp_path / "study", tmp_path / "report"
    assert main(["sample", "-o", str(films), "--patients", "16"]) == 0
    argv = ["run", str(films), "-o", str(run), "--clinical", str(films / "clinical.csv")]
    assert main(argv) == 0
    assert (run / "study.toml").is_file()  # the starter study, commented, beside the tables
    assert "[timepoints]" in (run / "study.toml").read_text()
    assert main(["report", str(run), "-o", str(rep)]) == 0
    summary = json.loads((rep / "summary.json").read_text())
    assert summary["n_subjects"] == 16
    assert summary["n_vertebrae"] == 16
    ran = {a["section"]: a["status"] for a in summary["analyses"]}
    assert ran["table1"] == "run"
    assert ran["timepoints"] == "run"
    html = (rep / "report.html").read_text(encoding="utf-8")
    assert "Recompression after kyphoplasty" in html
    assert "16 patients" in html
    assert "KA (°)" in html
    assert "ka_deg" not in html
    capsys.readouterr()


def test_report_renders_in_headless_chromium(demo: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (make test installs it via tools/sysdeps.sh)")
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            "--window-size=1280,2400",
            f"--screenshot={shot}",
            (demo / "report_asd" / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert img.shape == (2400, 1280)
    # A rendered page: mostly white background, with text and figures in dark pixels.
    dark = (img < 128).mean()
    assert 0.01 < dark < 0.5, f"{dark:.3f} of the page is dark"
    rows_with_ink = (img < 128).any(axis=1).mean()
    assert rows_with_ink > 0.3, "content should fill the page, not a blank or error page"


def test_report_on_a_run_folder_uses_the_study_file_as_edited(tmp_path: Path, capsys) -> None:
    films, run = tmp_path / "films", tmp_path / "study"
    assert main(["sample", "-o", str(films), "--patients", "8"]) == 0
    assert main(["run", str(films), "-o", str(run)]) == 0
    study = run / "study.toml"
    study.write_text(
        study.read_text().replace(
            'title = "Recompression after kyphoplasty"', 'title = "My edited study"'
        )
    )
    before = study.read_text()
    assert main(["report", str(run), "-o", str(tmp_path / "report")]) == 0
    assert "My edited study" in (tmp_path / "report" / "report.html").read_text()
    assert main(["run", str(films), "-o", str(run)]) == 0  # a re-run keeps the user's file
    assert study.read_text() == before
    capsys.readouterr()


def test_starter_study_leaves_out_findings_no_reader_entered(tmp_path: Path, capsys) -> None:
    """Readers who have not entered IVC/NPEC yet: run's study.toml still reports."""
    films, run = tmp_path / "films", tmp_path / "study"
    assert main(["sample", "-o", str(films), "--patients", "8"]) == 0
    for lf in films.rglob("*.landmarks.json"):
        data = json.loads(lf.read_text())
        data["findings"] = {}
        lf.write_text(json.dumps(data))
    assert main(["run", str(films), "-o", str(run)]) == 0
    study = (run / "study.toml").read_text()
    assert "npec" not in study
    assert "ivc" not in study
    assert main(["report", str(run), "-o", str(tmp_path / "report")]) == 0
    capsys.readouterr()
