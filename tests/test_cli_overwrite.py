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


SAMPLE = Path(__file__).resolve().parents[1] / "sample_dicom"


@pytest.mark.parametrize(
    ("command", "suffix"),
    [("measure", ".csv"), ("features", ".xlsx"), ("scan", ".csv"), ("scan", ".parquet")],
)
def test_a_table_command_keeps_a_users_file_and_replaces_its_own(
    command: str, suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a file of the user's at the output path: refused before any work, bytes unchanged
    mine = tmp_path / f"table{suffix}"
    mine.write_bytes(b"my own notes\n")
    assert main([command, str(SAMPLE), "-o", str(mine)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(mine) in err
    assert "--overwrite" in err
    assert mine.read_bytes() == b"my own notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name]
    # with --overwrite it is replaced; a re-run then replaces kyphoimg's own table freely
    assert main([command, str(SAMPLE), "-o", str(mine), "--overwrite"]) == 0
    first = mine.read_bytes()
    assert first != b"my own notes\n"
    assert main([command, str(SAMPLE), "-o", str(mine)]) == 0
    capsys.readouterr()


def test_the_errors_table_is_recognised_by_its_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, errors = tmp_path / "f.csv", tmp_path / "errors.csv"
    assert main(["features", str(SAMPLE), "-o", str(out), "--errors", str(errors)]) == 0
    assert errors.is_file()
    assert main(["features", str(SAMPLE), "-o", str(out), "--errors", str(errors)]) == 0
    errors.write_text("a,b\n1,2\n", encoding="utf-8")  # now someone else's table
    assert main(["features", str(SAMPLE), "-o", str(out), "--errors", str(errors)]) == 2
    assert str(errors) in capsys.readouterr().err
    assert errors.read_text(encoding="utf-8") == "a,b\n1,2\n"
