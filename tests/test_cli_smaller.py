"""The smaller items of issue 18: each a sentence a user saw that was wrong or missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kyphoimg.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "sample_dicom"


def _empty_landmarks(tmp_path: Path) -> Path:
    data = json.loads((SAMPLE / "P001" / "pre.landmarks.json").read_text("utf-8"))
    data["points"] = {}
    path = tmp_path / "empty.landmarks.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_measure_says_a_file_has_no_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = _empty_landmarks(tmp_path)
    good = SAMPLE / "P001" / "post.landmarks.json"
    assert main(["measure", str(good), str(empty), "-o", str(tmp_path / "m.csv")]) == 0
    err = capsys.readouterr().err
    assert f'{empty}: no points placed ("points": {{}}): nothing measured' in err
    # nothing measured at all: exit 1
    assert main(["measure", str(empty), "-o", str(tmp_path / "m2.csv")]) == 1
    assert "no points placed" in capsys.readouterr().err


def test_reliability_with_readers_that_have_no_files_names_those_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "study" / "P001"
    study.mkdir(parents=True)
    shutil.copy(SAMPLE / "P001" / "pre.dcm", study / "pre.dcm")
    for reader in ("A", "B"):
        shutil.copy(SAMPLE / "P001" / "pre.landmarks.json", study / f"pre.{reader}.landmarks.json")
    out = tmp_path / "rel"
    assert main(["reliability", str(study.parent), "--raters", "Q1,Q2", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "no landmark files of reader(s) Q1, Q2" in err
    assert "readers found: A, B" in err
    assert not out.exists()


def test_a_truncated_film_is_unreadable_not_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "study" / "P001"
    study.mkdir(parents=True)
    shutil.copy(SAMPLE / "P001" / "pre.landmarks.json", study)
    (study / "pre.dcm").write_bytes((SAMPLE / "P001" / "pre.dcm").read_bytes()[:200])
    assert main(["run", str(study.parent), "-o", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "no DICOM film found" not in err
    assert f"{study / 'pre.landmarks.json'}: its film" in err
    assert "cannot be read" in err


def test_run_prints_the_counts_of_films_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "study"
    shutil.copytree(SAMPLE, study)
    (study / "P004" / "last.landmarks.json").unlink()  # one film not annotated
    out = tmp_path / "r"
    assert main(["run", str(study), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    films = pd.read_csv(out / "films.csv")
    status = films["status"].value_counts()
    assert f"{len(films)} film(s) in films.csv, {status['measured']} measured" in printed
    assert f"{status['not_annotated']} not annotated" in printed
    assert (status["measured"], status["not_annotated"]) == (11, 1)


def test_scan_counts_time_point_flags_of_films_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    surgery = tmp_path / "surgery.csv"
    surgery.write_text("patient_id,surgery_date\nP001,20240105\n", encoding="utf-8")
    out = tmp_path / "index.csv"
    assert main(["scan", str(SAMPLE), "-o", str(out), "--surgery", str(surgery)]) == 0
    printed = capsys.readouterr().out
    index = pd.read_csv(out)
    flagged = (index["status"] == "ok") & index["timepoint_flag"].notna()
    assert int(flagged.sum()) == 12  # the 12 films; not the landmark files beside them
    assert "12 film(s) have a time-point flag to review" in printed
