"""Nothing is written over without asking: foreign files need --overwrite; a report never
writes into the run it reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kyphoimg.cli import main


def test_sample_refuses_a_folder_with_files_unless_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "films"
    out.mkdir()
    mine = out / "clinical.csv"
    mine.write_text("patient_id,age\nX,1\n", encoding="utf-8")
    assert main(["sample", "-o", str(out), "--patients", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(out) in err
    assert "--overwrite" in err
    assert mine.read_text(encoding="utf-8") == "patient_id,age\nX,1\n"  # untouched
    assert sorted(p.name for p in out.iterdir()) == ["clinical.csv"]
    assert main(["sample", "-o", str(out), "--patients", "1", "--overwrite"]) == 0
    assert mine.read_text(encoding="utf-8") != "patient_id,age\nX,1\n"


def test_run_refuses_a_folder_of_other_files_but_resumes_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    films = tmp_path / "films"
    assert main(["sample", "-o", str(films), "--patients", "1"]) == 0
    # the study folder itself as the output: its files are not the run's
    assert main(["run", str(films), "-o", str(films)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    out = tmp_path / "r"
    assert main(["run", str(films), "-o", str(out)]) == 0
    assert main(["run", str(films), "-o", str(out)]) == 0  # a run's own folder: resumed
    capsys.readouterr()


def test_report_refuses_to_write_into_the_run_it_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "r"
    run.mkdir()
    summary = {"films_by_status": {"measured": 3}}
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    for output in (run, Path(str(run) + "/")):
        assert main(["report", str(run), "-o", str(output)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert str(run) in err
    # another run's folder is refused too
    other = tmp_path / "other"
    other.mkdir()
    (other / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    assert main(["report", str(run), "-o", str(other)]) == 2
    assert json.loads((run / "summary.json").read_text(encoding="utf-8")) == summary
    assert json.loads((other / "summary.json").read_text(encoding="utf-8")) == summary
