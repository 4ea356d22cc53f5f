"""``kyphoimg run`` on copies of the sample cohort with one thing wrong at a time.

Each test changes the 12-film sample study (``sample_dicom/``: P001-P004 x pre/post/last,
landmark files beside the films) the way a reader or an export might, runs the command
line in-process, and checks what a user sees: the exit code, the lines printed, and
``films.csv``, ``errors.csv``, the tables and ``summary.json`` on disk.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kyphoimg.batch import FILM_STATUSES
from kyphoimg.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "sample_dicom"
ALLOWED = "pre, post, last"


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """A fresh copy of the sample study (films, landmark files, README, clinical.csv)."""
    root = tmp_path / "study"
    shutil.copytree(SAMPLE, root)
    return root


def edit(path: Path, **changes: Any) -> None:
    """Change top-level keys of a landmark file, as a reader's editor would."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def run(study: Path, out: Path, *extra: str) -> int:
    return main(["run", str(study), "-o", str(out), *extra])


def films(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "films.csv", dtype=str, keep_default_na=False).set_index("dicom")


def errors(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)


def table(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{name}.csv", dtype={"patient_id": str})


# --------------------------------------------------------------------------- 1. time points
def test_timepoint_case_is_normalised_and_a_typo_is_refused_by_name(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(study / "P001" / "pre.landmarks.json", timepoint="Pre")
    typo = study / "P002" / "last.landmarks.json"
    edit(typo, timepoint="psot")
    out = tmp_path / "out"
    assert run(study, out) == 1
    err = capsys.readouterr().err
    assert f"{typo}: time point 'psot' is not one of the study's time points ({ALLOWED})" in err

    f = films(out)
    assert (f.loc["P001/pre.dcm", "status"], f.loc["P001/pre.dcm", "timepoint"]) == (
        "measured",
        "pre",
    )
    refused = f.loc["P002/last.dcm"]
    assert refused["status"] == "refused"
    assert refused["landmarks"] == str(typo)
    assert "'psot'" in refused["reason"]
    assert ALLOWED in refused["reason"]
    assert (f["status"] == "measured").sum() == 11

    e = errors(out)
    row = e[e["file"] == str(typo)]
    assert len(row) == 1
    assert ALLOWED in row["error"].iloc[0]

    measures = table(out, "measures")
    assert set(measures.loc[measures["patient_id"] == "P001", "timepoint"]) == {
        "pre",
        "post",
        "last",
    }
    features = table(out, "features").set_index("patient_id")
    assert sorted(features.index) == ["P001", "P002", "P003", "P004"]
    assert (
        features[["ahr_pct_pre", "ahr_pct_post", "ahr_pct_last"]]
        .drop("P002")
        .notna()
        .all(axis=None)
    )
    assert pd.isna(features.loc["P002", "ahr_pct_last"])  # the refused film
    assert features.loc["P002", "ahr_pct_post"] > 0


@pytest.mark.parametrize(
    "timepoints",
    [
        pytest.param("6m", id="an-extra-follow-up"),
        pytest.param("Pre,Post,Last", id="capitalised"),
        pytest.param("pre,post,6m,last", id="a-whole-order"),
    ],
)
def test_features_are_built_whatever_way_the_timepoints_are_given(
    study: Path, tmp_path: Path, timepoints: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert run(study, out, "--timepoints", timepoints) == 0, capsys.readouterr().err
    assert errors(out).empty
    features = table(out, "features")
    assert sorted(features["patient_id"]) == ["P001", "P002", "P003", "P004"]
    assert features["height_loss_pct"].notna().all()


def test_two_films_at_one_timepoint_leave_only_that_patient_out_of_the_features(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(study / "P003" / "last.landmarks.json", timepoint="post")  # P003 now has two "post"
    out = tmp_path / "out"
    assert run(study, out) == 1
    features = table(out, "features")
    assert sorted(features["patient_id"]) == ["P001", "P002", "P004"]
    e = errors(out)
    msg = " ".join(e["error"])
    assert "patient P003 level L2" in msg
    assert "time point post" in msg
    # the two landmark files, so the reader can correct one
    assert str(study / "P003" / "post.landmarks.json") in msg
    assert str(study / "P003" / "last.landmarks.json") in msg
    assert len(table(out, "measures")) == 12 * 6  # every film is still measured


# --------------------------------------------------------------------------- 2. films.csv
def test_films_csv_lists_every_input_file_that_matters_with_a_status(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trunc = study / "P001" / "post.dcm"
    trunc.write_bytes(trunc.read_bytes()[:300_000])
    (study / "P002" / "notes.dcm").write_text("exported by mistake", encoding="utf-8")
    (study / "P002" / "README.txt").write_text("not a film", encoding="utf-8")
    edit(study / "P003" / "last.landmarks.json", points={})
    partial = study / "P003" / "post.landmarks.json"
    data = json.loads(partial.read_text(encoding="utf-8"))
    del data["points"]["L2"]["mid_inf"]
    partial.write_text(json.dumps(data), encoding="utf-8")
    edit(study / "P004" / "pre.landmarks.json", index_levels=[])
    (study / "P004" / "post.landmarks.json").unlink()
    wrong = study / "P004" / "last.landmarks.json"
    image = json.loads(wrong.read_text(encoding="utf-8"))["image"]
    edit(wrong, image={**image, "sop_instance_uid": "1.2.3.4", "rows": 999})
    out = tmp_path / "out"

    assert run(study, out) == 1
    f = films(out)
    assert set(f["status"]) <= set(FILM_STATUSES)
    expected = {
        "P001/last.dcm": "measured",
        "P001/post.dcm": "unreadable",
        "P001/pre.dcm": "measured",
        "P002/last.dcm": "measured",
        "P002/notes.dcm": "not_dicom",
        "P002/post.dcm": "measured",
        "P002/pre.dcm": "measured",
        "P003/last.dcm": "incomplete",
        "P003/post.dcm": "incomplete",
        "P003/pre.dcm": "measured",
        "P004/last.dcm": "refused",
        "P004/post.dcm": "not_annotated",
        "P004/pre.dcm": "incomplete",
    }
    assert f["status"].to_dict() == expected  # README, landmark files, clinical.csv: not films
    assert "truncated" in f.loc["P001/post.dcm", "reason"]
    assert f.loc["P001/post.dcm", "patient_id"] == "P001"
    assert "not DICOM" in f.loc["P002/notes.dcm", "reason"]
    assert "no point placed yet" in f.loc["P003/last.dcm", "reason"]
    assert "level L2, point mid_inf" in f.loc["P003/post.dcm", "reason"]
    assert "no index (treated) level" in f.loc["P004/pre.dcm", "reason"]
    assert "1.2.3.4" in f.loc["P004/last.dcm", "reason"]
    na = f.loc["P004/post.dcm"]
    assert (na["patient_id"], na["timepoint"], na["spacing_source"]) == ("P004", "post", "ermf")
    assert na["reason"] == "no landmark file"

    # Incomplete films are measured as far as they go, and say so in errors.csv too.
    measures = table(out, "measures")
    p003 = measures[measures["patient_id"] == "P003"]
    assert set(p003["timepoint"]) == {"pre", "post"}
    assert p003.set_index(["timepoint", "level"]).loc[("post", "L2"), "status"] == "incomplete"
    e = errors(out)
    assert any("no point placed yet" in m for m in e["error"])
    assert any("no index (treated) level" in m for m in e["error"])
    assert any(m.startswith("warning: ") and "notes.dcm" in m for m in e["error"])

    dictionary = pd.read_csv(out / "films.dictionary.csv").set_index("column")
    for status in FILM_STATUSES:
        assert status in dictionary.loc["status", "description"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["films_by_status"] == {
        "measured": 6,
        "not_annotated": 1,
        "incomplete": 3,
        "unreadable": 1,
        "not_dicom": 1,
        "refused": 1,
        "invalid": 0,
        "to_review": 0,
    }


# --------------------------------------------------------------------------- 3. point names
def test_a_misspelt_point_refuses_that_vertebra_and_measures_the_rest(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lf = study / "P001" / "pre.landmarks.json"
    data = json.loads(lf.read_text(encoding="utf-8"))
    data["points"]["T11"]["ant_supp"] = data["points"]["T11"].pop("ant_sup")
    lf.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "out"
    assert run(study, out) == 1
    err = capsys.readouterr().err
    assert f"{lf}, level T11, point ant_supp: unknown point name" in err

    measures = table(out, "measures")
    pre = measures[(measures["patient_id"] == "P001") & (measures["timepoint"] == "pre")]
    assert sorted(pre["level"]) == sorted(["T10", "T12", "L1", "L2", "L3"])  # T11 refused
    e = errors(out)
    row = e[(e["file"] == str(lf)) & (e["level"] == "T11")]
    assert row["point"].tolist() == ["ant_supp"]
    assert "T11 is not measured" in row["error"].iloc[0]
    f = films(out).loc["P001/pre.dcm"]
    assert f["status"] == "incomplete"
    assert "T11" in f["reason"]
    assert "ant_supp" in f["reason"]
    features = table(out, "features").set_index("patient_id")
    assert features.loc["P001", "ahr_pct_pre"] > 0  # L1's neighbours T12 and L2 are intact


# --------------------------------------------------------------------------- 4. clinical
def test_a_clinical_table_missing_a_patient_gives_a_warning_row(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clinical = pd.read_csv(study / "clinical.csv", dtype=str)
    short = tmp_path / "clinical.csv"
    clinical[~clinical["patient_id"].isin(["P002", "P004"])].to_csv(short, index=False)
    out = tmp_path / "out"
    assert run(study, out, "--clinical", str(short)) == 0  # a warning: nothing failed
    err = capsys.readouterr().err
    assert "P002, P004" in err
    assert str(short) in err
    e = errors(out)
    assert len(e) == 1
    assert e.loc[0, "file"] == str(short)
    assert e.loc[0, "error"].startswith("warning: ")
    assert "P002, P004" in e.loc[0, "error"]
    features = table(out, "features").set_index("patient_id")
    assert features.loc["P001", "age_years"] > 0
    assert pd.isna(features.loc["P002", "age_years"])


# --------------------------------------------------------------------------- 5. not annotated
def test_unannotated_films_exit_0_and_the_summary_says_how_to_open_them(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for lf in [*study.glob("P001/*.landmarks.json"), *study.glob("P002/*.landmarks.json")]:
        lf.unlink()
    out = tmp_path / "out"
    assert run(study, out) == 0
    stdout = capsys.readouterr().out
    assert "6 film(s) not annotated" in stdout
    assert f"kyphoimg view {study}" in stdout
    f = films(out)
    na = f[f["status"] == "not_annotated"]
    assert len(na) == 6
    assert set(na["patient_id"]) == {"P001", "P002"}
    assert sorted(na["timepoint"]) == sorted(["pre", "post", "last"] * 2)
    assert set(na["spacing_source"]) == {"detector"}
    assert errors(out).empty


def test_run_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "exit codes:" in text
    for code in ("0 ", "1 ", "2 ", "130 "):
        assert f" {code}" in text
    assert "not annotated" in text
    assert "interrupted" in text


# --------------------------------------------------------------------------- 6. --errors, TOML
def test_run_writes_the_errors_table_where_errors_says(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(study / "P002" / "last.landmarks.json", timepoint="psot")
    report = tmp_path / "report" / "problems.xlsx"
    out = tmp_path / "out"
    assert run(study, out, "--errors", str(report)) == 1
    assert f"problems written to {report}" in capsys.readouterr().err
    written = pd.read_excel(report, sheet_name=0)
    assert list(written.columns) == ["file", "level", "point", "error"]
    assert "psot" in written.loc[0, "error"]
    pd.testing.assert_frame_equal(written.astype(str), pd.read_csv(out / "errors.csv").astype(str))
    assert run(study, out, "--errors", str(tmp_path / "problems.txt")) == 2


def test_study_toml_takes_the_flag_names(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    landmarks = tmp_path / "landmarks"
    for lf in study.glob("*/*.landmarks.json"):
        (landmarks / lf.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.move(lf, landmarks / lf.parent.name / lf.name)
    toml = tmp_path / "study.toml"
    toml.write_text(
        "[run]\n"
        'study = "study"\n'
        'output = "out"\n'
        'landmarks = "landmarks"\n'
        'format = "csv,parquet"\n'
        'errors = "problems.csv"\n'
        "jobs = 1\n"
        "keep-identifiers = true\n"
        "skip-fractured-references = true\n",
        encoding="utf-8",
    )
    assert main(["run", str(toml)]) == 0
    cap = capsys.readouterr()
    assert "deprecated" not in cap.err
    out = tmp_path / "out"
    assert (out / "features.parquet").is_file()
    assert (tmp_path / "problems.csv").is_file()
    assert "ahr_reference_levels" in table(out, "measures").columns
    assert (films(out)["status"] == "measured").all()


def test_run_reads_the_study_file_of_the_folder_it_is_given_as_view_does(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``kyphoimg run STUDY`` with a ``STUDY/study.toml``: its [run] and [measures] apply
    (the folder is the study unless [run] says otherwise) and stderr names the file; the
    command line wins. The same file given directly is read the same way."""
    (study / "study.toml").write_text(
        '[run]\noutput = "../from-file"\nrater = "ground_truth"\n\n'
        '[measures]\ngenant_reference = "own_posterior"\n',
        encoding="utf-8",
    )
    before = {p.name: p.read_bytes() for p in study.rglob("*") if p.is_file()}
    assert main(["run", str(study)]) == 0
    cap = capsys.readouterr()
    assert f"reading the study file {study / 'study.toml'}" in cap.err
    out = tmp_path / "from-file"
    assert (films(out)["status"] == "measured").all()
    assert len(films(out)) == 12
    assert set(table(out, "measures")["genant_reference"]) == {"own_posterior"}
    assert main(["run", str(study / "study.toml"), "-o", str(tmp_path / "given")]) == 0
    assert "reading the study file" not in capsys.readouterr().err  # it was named
    pd.testing.assert_frame_equal(table(out, "measures"), table(tmp_path / "given", "measures"))
    assert {p.name: p.read_bytes() for p in study.rglob("*") if p.is_file()} == before
    # a folder without study.toml runs as before
    (study / "study.toml").unlink()
    assert main(["run", str(study), "-o", str(tmp_path / "plain")]) == 0
    assert "reading the study file" not in capsys.readouterr().err


def test_old_toml_keys_keep_working_with_a_deprecation_note(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = tmp_path / "study.toml"
    toml.write_text(
        f'[run]\ndicom_dir = "{study}"\nlandmarks_dir = "{study}"\noutput = "out"\n'
        'formats = ["csv", "xlsx"]\n',
        encoding="utf-8",
    )
    assert main(["run", str(toml)]) == 0
    err = capsys.readouterr().err
    for old, new in (("dicom_dir", "study"), ("landmarks_dir", "landmarks"), ("formats", "format")):
        assert f"'{old}' is deprecated: use '{new}'" in err
    assert (tmp_path / "out" / "features.xlsx").is_file()
    toml.write_text(f'[run]\nstudy = "{study}"\ndicom_dir = "{study}"\n', encoding="utf-8")
    assert main(["run", str(toml), "-o", str(tmp_path / "o2")]) == 2
    assert "both" in capsys.readouterr().err


# --------------------------------------------------------------------------- 7. Ctrl+C
def test_ctrl_c_prints_one_line_exits_130_and_a_rerun_resumes(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import kyphoimg.batch

    real = kyphoimg.batch.measure_film
    calls = []

    def interrupted_after_five(task: Any) -> Any:
        if len(calls) == 5:
            raise KeyboardInterrupt
        calls.append(task)
        return real(task)

    monkeypatch.setattr(kyphoimg.batch, "measure_film", interrupted_after_five)
    out = tmp_path / "out"
    assert run(study, out) == 130
    cap = capsys.readouterr()
    assert cap.err.endswith("\nkyphoimg: interrupted; run the same command again to resume\n")
    assert cap.err.count("interrupted") == 1  # above it, only the scan's progress bar
    assert "Traceback" not in cap.err + cap.out

    monkeypatch.setattr(kyphoimg.batch, "measure_film", real)
    assert run(study, out) == 0
    assert "(5 from an earlier run)" in capsys.readouterr().out
    assert (films(out)["status"] == "measured").sum() == 12


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")
def test_ctrl_c_with_worker_processes_in_a_real_terminal_session(
    study: Path, tmp_path: Path
) -> None:
    """SIGINT to the whole process group, as Ctrl+C in a terminal: workers stay quiet.

    The interrupt is sent as the films start to be measured (the cache folder appears),
    while the workers start: the moment a worker importing its modules used to die
    with a traceback. A run that finished before the interrupt
    proves nothing, so it is made again in a fresh folder (up to 5 times), not skipped.
    """
    for attempt in range(5):
        out = tmp_path / f"out{attempt}"
        argv = [sys.executable, "-m", "kyphoimg.cli", "run", str(study), "-o", str(out)]
        argv += ["--jobs", "2"]
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            # as a terminal starts a command: Ctrl+C not ignored, even when this test runs
            # under a shell that ignores it (a background job: `make test &`)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        cache = out / ".kyphoimg-cache"

        def cached(cache: Path = cache) -> int:  # finished entries, not a write's temporary
            return sum(not p.name.startswith(".") for p in cache.glob("*.json"))

        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if cache.is_dir():
                break
            time.sleep(0.002)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
        if proc.returncode != 0:
            break
    else:
        pytest.fail("5 runs in a row finished before the interrupt arrived")
    assert proc.returncode == 130, stderr
    assert stderr.endswith("kyphoimg: interrupted; run the same command again to resume\n")
    assert "Traceback" not in stderr
    assert stderr.count("KeyboardInterrupt") == 0
    done = cached()  # any number: the rerun says how many it took from this one
    rerun = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert f"({done} from an earlier run)" in rerun.stdout


# --------------------------------------------------------------------------- 10. references
def test_run_can_skip_fractured_references(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert run(study, out, "--skip-fractured-references") == 0
    m = table(out, "measures").set_index(["patient_id", "timepoint", "level"])
    # P002's index level is T12: T11 takes L1 below it instead of the fractured T12.
    assert m.loc[("P002", "pre", "T11"), "ahr_reference_levels"] == "T10,L1"
    assert m.loc[("P002", "pre", "T12"), "ahr_reference_levels"] == "T11,L1"
    plain = tmp_path / "plain"
    assert run(study, plain) == 0
    assert "ahr_reference_levels" not in table(plain, "measures").columns
