"""Issue 17, the core half: a reader's work is never lost, overwritten or mistaken.

Scenario tests walk the reader's path on copies of the sample study with realistic
damage (a truncated file, a ``null`` coordinate, bytes that are not UTF-8) and check what
the worklist, ``kyphoimg run`` and the files on disk say; unit tests pin
:func:`~kyphoimg.landmarks.save_reading` (two sessions on one film, another reader's file)
and :func:`~kyphoimg.landmarks.repair_landmark_file`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kyphoimg.cli import main
from kyphoimg.errors import LandmarkError
from kyphoimg.landmarks import (
    file_sha256,
    find_landmark_files,
    read_landmarks,
    repair_landmark_file,
    save_reading,
    unconfirmed,
    unconfirmed_levels,
    write_landmarks,
)
from kyphoimg.study import landmark_file_for, open_worklist

SAMPLE = Path(__file__).resolve().parents[1] / "sample_dicom"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _null_coordinate(path: Path, level: str = "T10", point: str = "ant_sup") -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["points"][level][point] = [None, 3.0]
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _damage(root: Path) -> dict[str, Path]:
    """Damage one landmark file three ways, as the issue reproduced them."""
    truncated = root / "P001" / "pre.landmarks.json"
    truncated.write_bytes(truncated.read_bytes()[:551])
    null = root / "P002" / "pre.landmarks.json"
    _null_coordinate(null)
    latin = root / "P003" / "pre.landmarks.json"
    latin.write_bytes(latin.read_bytes().replace(b'"rater"', b'"note": "caf\xe9 \xff", "rater"', 1))
    return {"truncated": truncated, "null": null, "latin": latin}


@pytest.fixture
def study(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    shutil.copytree(SAMPLE, root)
    return root


# ------------------------------------------------------------------ unreadable files
def test_unreadable_landmark_files_are_invalid_films_not_films_to_do(study):
    damaged = _damage(study)
    worklist = open_worklist(study)
    by_file = {e.landmark_path: e for e in worklist}
    assert worklist.counts()["not_started"] == 0
    assert worklist.counts()["invalid"] == 3
    for kind, path in damaged.items():
        entry = by_file[path]
        assert entry.status == "invalid", kind
        assert entry.landmarks is None
        assert str(path) in entry.problems[0]
    assert "not valid JSON" in by_file[damaged["truncated"]].problems[0]
    assert "T10" in by_file[damaged["null"]].problems[0]
    assert "UTF-8" in by_file[damaged["latin"]].problems[0]
    # Next to do stops at them (only complete films are skipped).
    first = worklist.next(skip_done=True)
    assert first is not None
    assert first.landmark_path == damaged["truncated"]


def test_unreadable_file_of_a_reader_pairs_by_its_name_or_by_the_film_it_names(study):
    pre = study / "P001" / "pre.dcm"
    own = landmark_file_for(pre, "AB")
    own.write_text('{"schema": "kyphoimg-landmarks/1", "rater": "AB", "poi', encoding="utf-8")
    post = study / "P001" / "post.dcm"
    truth = read_landmarks(study / "P001" / "post.landmarks.json")
    named = study / "P001" / "post-reading.AB.landmarks.json"  # not the reader's usual name
    write_landmarks(truth.replace(rater="AB"), named)
    _null_coordinate(named)
    entries = {e.film_path: e for e in open_worklist(study, rater="AB")}
    assert entries[pre].status == "invalid"
    assert entries[pre].landmark_path == own
    assert entries[post].status == "invalid"
    assert entries[post].landmark_path == named
    assert entries[post].paired_by == "sop_instance_uid"
    # Another reader's worklist does not take them.
    other = {e.film_path: e for e in open_worklist(study, rater="CD")}
    assert other[pre].status == other[post].status == "not_started"


def test_run_reports_unreadable_files_as_invalid_and_changes_nothing(study, tmp_path, capsys):
    damaged = _damage(study)
    before = _digest(study)
    out = tmp_path / "out"
    assert main(["run", str(study), "-o", str(out)]) == 1
    printed = capsys.readouterr()
    assert "0 not annotated" in printed.out
    assert "film(s) not annotated" not in printed.out
    assert "open the study" not in printed.out
    assert "3 invalid" in printed.out
    films = pd.read_csv(out / "films.csv", dtype=str, keep_default_na=False).set_index("dicom")
    for path in damaged.values():
        row = films.loc[f"{path.parent.name}/pre.dcm"]
        assert row["status"] == "invalid"
        assert row["landmarks"] == str(path)
        assert str(path) in row["reason"]
    assert (films["status"] == "measured").sum() == 9
    errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    assert {str(p) for p in damaged.values()} <= set(errors["file"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["films_invalid"] == 3
    assert summary["films_not_annotated"] == 0
    assert summary["films_by_status"]["invalid"] == 3
    assert _digest(study) == before  # nothing written over the damaged files


def test_reliability_reader_sets_name_unreadable_files(study):
    from kyphoimg.agreement import reader_sets

    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    path = landmark_file_for(study / "P001" / "pre.dcm", "A")
    write_landmarks(truth.replace(rater="A"), path)
    _null_coordinate(path)
    sets, problems = reader_sets(study, "A")
    assert sets == []
    assert str(path) in set(problems["file"])


# ------------------------------------------------------------------------- proposals
def _reader_x_pre_only(study: Path) -> None:
    for pre in sorted(study.glob("P*/pre.landmarks.json")):
        write_landmarks(
            read_landmarks(pre).replace(rater="X"), pre.with_name("pre.X.landmarks.json")
        )


def test_proposals_are_not_a_reading_run_leaves_them_out_unless_accepted(study, tmp_path, capsys):
    _reader_x_pre_only(study)
    assert main(["assist", "propagate", str(study), "--rater", "X"]) == 0
    capsys.readouterr()
    worklist = open_worklist(study, rater="X")
    assert worklist.counts()["to_review"] == 8
    assert worklist.counts()["complete"] == 4
    post = next(e for e in worklist if e.timepoint == "post")
    assert post.unconfirmed == unconfirmed_levels(post.landmarks) != ()
    assert worklist.next(worklist[0], skip_done=True).status == "to_review"

    out = tmp_path / "r"
    assert main(["run", str(study), "-o", str(out), "--rater", "X"]) == 1
    printed = capsys.readouterr().out
    assert "8 film(s) hold points kyphoimg proposed that no reader has confirmed" in printed
    films = pd.read_csv(out / "films.csv", dtype=str, keep_default_na=False)
    assert (films["status"] == "measured").sum() == 4
    assert (films["status"] == "to_review").sum() == 8
    summary = json.loads((out / "summary.json").read_text())
    assert summary["films_measured"] == 4
    assert summary["films_to_review"] == 8
    assert summary["vertebrae_unconfirmed_not_measured"] == 48  # 8 films x 6 vertebrae
    assert summary["accept_proposals"] is False
    measures = pd.read_csv(out / "measures.csv", dtype={"patient_id": str})
    assert set(measures["timepoint"]) == {"pre"}
    assert set(measures["point_source"]) == {"reader"}
    errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    left_out = errors[errors["error"].str.contains("no reader has confirmed")]
    assert len(left_out) == 48
    assert left_out["error"].str.startswith("warning: ").all()
    assert "proposed by propagate" in left_out["error"].iloc[0]

    accepted = tmp_path / "a"
    main(["run", str(study), "-o", str(accepted), "--rater", "X", "--accept-proposals"])
    summary = json.loads((accepted / "summary.json").read_text())
    assert summary["films_measured"] == 12
    assert summary["films_to_review"] == 0
    assert summary["accept_proposals"] is True
    measures = pd.read_csv(accepted / "measures.csv", dtype={"patient_id": str})
    source = measures.groupby("timepoint")["point_source"].agg(set).to_dict()
    assert source == {
        "pre": {"reader"},
        "post": {"proposed:propagate"},
        "last": {"proposed:propagate"},
    }
    assert summary["vertebra_rows_from_proposals"] == int((measures["timepoint"] != "pre").sum())
    features = pd.read_csv(accepted / "features.csv", dtype={"patient_id": str})
    assert set(features["point_source"]) == {"proposed:propagate"}


def test_a_point_the_reader_moves_is_confirmed_and_measured(study, tmp_path):
    _reader_x_pre_only(study)
    assert main(["assist", "propagate", str(study / "P001"), "--rater", "X"]) == 0
    path = study / "P001" / "post.X.landmarks.json"
    ls = read_landmarks(path, validate=False)
    # The reader moves every point of L1 by half a pixel (and leaves the rest as proposed).
    moved = {lv: dict(p) for lv, p in ls.points.items()}
    moved["L1"] = {n: (r + 0.5, c) for n, (r, c) in moved["L1"].items()}
    write_landmarks(ls.replace(points=moved), path)
    assert "L1" not in unconfirmed(read_landmarks(path, validate=False))
    out = tmp_path / "r"
    main(["run", str(study / "P001"), "-o", str(out), "--rater", "X"])
    measures = pd.read_csv(out / "measures.csv", dtype={"patient_id": str})
    assert sorted(measures.loc[measures["timepoint"] == "post", "level"]) == ["L1"]


# ---------------------------------------------------------------------- save_reading
def test_two_sessions_on_one_film_the_second_save_goes_beside(study):
    path = study / "P001" / "pre.landmarks.json"
    loaded = file_sha256(path)
    a = read_landmarks(path)
    b = read_landmarks(path)
    a = a.replace(points={**a.points, "L1": {**a.points["L1"], "ant_sup": (400.0, 300.0)}})
    b = b.replace(points={**b.points, "L2": {**b.points["L2"], "ant_sup": (500.0, 310.0)}})
    saved_a = save_reading(a, path, loaded_sha256=loaded)
    assert saved_a.path == path
    assert saved_a.conflict is None
    assert saved_a.sha256 == file_sha256(path) != loaded
    saved_b = save_reading(b, path, loaded_sha256=loaded)
    assert saved_b.conflict is not None
    assert "changed on disk" in saved_b.conflict
    assert saved_b.path != path
    assert saved_b.path.parent == path.parent
    assert saved_b.path.name.startswith("pre.landmarks.json.conflict-")
    assert saved_b.path.name.endswith(".ground_truth")
    assert file_sha256(path) == saved_a.sha256  # A's file intact
    assert file_sha256(saved_b.path) == saved_b.sha256
    assert read_landmarks(path).points["L1"]["ant_sup"] == (400.0, 300.0)
    assert read_landmarks(saved_b.path).points["L2"]["ant_sup"] == (500.0, 310.0)
    # Scans ignore the conflict copy: the study still has one file per film.
    assert saved_b.path not in find_landmark_files([study])
    assert len(open_worklist(study)) == 12
    # A then saves again from what it wrote: no conflict.
    again = save_reading(a, path, loaded_sha256=saved_a.sha256)
    assert again.conflict is None
    assert again.path == path


def test_another_readers_file_is_never_changed_in_place(study):
    path = study / "P001" / "pre.landmarks.json"
    before = _sha(path)
    first = read_landmarks(path)  # rater ground_truth, 36 points
    mine = first.replace(rater="B", points={"L1": first.points["L1"]})
    outcome = save_reading(mine, path, loaded_sha256=before)
    assert outcome.conflict is not None
    assert "ground_truth" in outcome.conflict
    assert _sha(path) == before
    assert outcome.path.name.endswith(".B")
    assert read_landmarks(outcome.path).rater == "B"
    # A file of another rater without points (a time point only) may be taken over.
    empty = study / "P002" / "pre.landmarks.json"
    write_landmarks(read_landmarks(empty).replace(points={}, index_levels=()), empty)
    taken = save_reading(mine, empty, loaded_sha256=file_sha256(empty))
    assert taken.conflict is None
    assert read_landmarks(empty).rater == "B"


def test_a_file_that_appeared_is_not_overwritten(study):
    path = landmark_file_for(study / "P001" / "pre.dcm", "AB")
    ls = read_landmarks(study / "P001" / "pre.landmarks.json").replace(rater="AB")
    write_landmarks(ls, path)  # another session created it meanwhile
    before = _sha(path)
    outcome = save_reading(ls.replace(points={}), path, loaded_sha256=None)
    assert outcome.conflict is not None
    assert "appeared" in outcome.conflict
    assert _sha(path) == before
    # With no file on disk the set is simply written.
    fresh = landmark_file_for(study / "P001" / "post.dcm", "AB")
    outcome = save_reading(ls, fresh, loaded_sha256=None)
    assert outcome.conflict is None
    assert outcome.sha256 == _sha(fresh)


def test_saving_over_an_unreadable_file_is_refused(study):
    path = study / "P001" / "pre.landmarks.json"
    ls = read_landmarks(path)
    _null_coordinate(path)
    before = _digest(study)
    with pytest.raises(LandmarkError, match="repair it first") as info:
        save_reading(ls, path, loaded_sha256=None)
    assert str(path) in str(info.value)
    assert _digest(study) == before


# ------------------------------------------------------------------------ repair
def test_repair_keeps_a_byte_identical_backup_and_every_readable_point(study):
    path = study / "P002" / "pre.landmarks.json"
    _null_coordinate(path, "T10", "ant_sup")
    original = path.read_bytes()
    outcome = repair_landmark_file(path)
    assert outcome.backup.read_bytes() == original
    assert outcome.backup.name.startswith("pre.landmarks.json.bak-")
    assert outcome.carried == 35
    assert len(outcome.dropped) == 1
    assert "T10" in outcome.dropped[0]
    assert "ant_sup" in outcome.dropped[0]
    repaired = read_landmarks(path)
    assert "ant_sup" not in repaired.points["T10"]
    assert sum(len(p) for p in repaired.points.values()) == 35
    assert outcome.sha256 == _sha(path)
    truth = read_landmarks(SAMPLE / "P002" / "pre.landmarks.json")
    assert repaired.points["L1"] == truth.points["L1"]
    assert repaired.index_levels == truth.index_levels
    assert repaired.rater == truth.rater
    # The backup is not a landmark file of the study.
    assert outcome.backup not in find_landmark_files([study])


def test_repair_salvages_truncated_and_non_utf8_files(study):
    damaged = _damage(study)
    # Cut in the middle of the points (the 551 bytes of the issue end inside the first).
    damaged["truncated"].write_bytes((SAMPLE / "P001" / "pre.landmarks.json").read_bytes()[:2500])
    truncated = repair_landmark_file(damaged["truncated"])
    assert truncated.landmarks is not None
    assert 10 <= truncated.carried < 36
    assert any("not valid JSON" in d for d in truncated.dropped)
    truth = read_landmarks(SAMPLE / "P001" / "pre.landmarks.json")
    for level, pts in truncated.landmarks.points.items():
        for name, xy in pts.items():
            assert truth.points[level][name] == xy  # carried as they were
    latin = repair_landmark_file(damaged["latin"])
    assert latin.carried == 36
    assert any("UTF-8" in d for d in latin.dropped)
    assert read_landmarks(damaged["latin"]).extra["note"] == "caf\ufffd \ufffd"
    # After repair the worklist shows the films again (the truncated one is incomplete).
    statuses = {e.landmark_path: e.status for e in open_worklist(study)}
    assert statuses[damaged["latin"]] == "complete"
    assert statuses[damaged["truncated"]] in ("incomplete", "complete")


# ------------------------------------------------------------- PACS export, time points
def _pacs_export(src: Path, root: Path) -> dict[str, Path]:
    """P001's films as a PACS writes them: nested folders, no extension, no time point."""
    import pydicom

    out = {}
    for k, tp in enumerate(("pre", "post", "last"), start=1):
        ds = pydicom.dcmread(src / "P001" / f"{tp}.dcm")
        ds.PatientID = "PAT0001"
        ds.SeriesDescription = f"LAT THORACOLUMBAR {k}"
        date = str(ds.get("AcquisitionDate") or ds.StudyDate)
        path = root / "PAT0001" / f"ST_{date}" / f"SER0000{k}" / "IM000001"
        path.parent.mkdir(parents=True)
        ds.save_as(path)
        out[tp] = path
    return out


def test_pacs_export_lists_dates_and_series_and_takes_time_points_from_the_reader(tmp_path):
    import pydicom

    from kyphoimg.errors import StudyError, TimepointError

    root = tmp_path / "pacs"
    films = _pacs_export(SAMPLE, root)
    worklist = open_worklist(root, rater="AB")
    assert len(worklist) == 3
    entries = {e.film_path: e for e in worklist}
    for k, film in enumerate(films.values(), start=1):
        e = entries[film]
        assert e.timepoint is None
        assert e.status == "not_started"
        assert e.patient_id == "PAT0001"
        assert e.series_description == f"LAT THORACOLUMBAR {k}"
        ds = pydicom.dcmread(film, stop_before_pixels=True)
        acquired = str(ds.get("AcquisitionDate") or ds.StudyDate)
        assert e.acquisition_date == f"{acquired[:4]}-{acquired[4:6]}-{acquired[6:]}"
    frame = worklist.to_frame()
    assert {"acquisition_date", "series_description", "unconfirmed"} <= set(frame.columns)

    before = _digest(root)
    with pytest.raises(TimepointError):
        worklist.assign_timepoint(entries[films["pre"]], "psot")
    assert _digest(root) == before
    updated = worklist.assign_timepoint(entries[films["pre"]], "pre")
    written = landmark_file_for(films["pre"], "AB")
    assert updated.landmark_path == written
    assert updated.timepoint == "pre"
    assert updated.status == "incomplete"
    saved = read_landmarks(written, validate=False)
    assert saved.rater == "AB"
    assert saved.timepoint == "pre"
    assert saved.points == {}
    assert saved.image.sop_instance_uid == entries[films["pre"]].sop_instance_uid
    after = _digest(root)
    assert {k: v for k, v in after.items() if k in before} == before  # only the new file
    assert set(after) - set(before) == {str(written.relative_to(root))}
    reopened = {e.film_path: e for e in open_worklist(root, rater="AB")}
    assert reopened[films["pre"]].timepoint == "pre"
    assert reopened[films["post"]].timepoint is None
    # Another reader's worklist is untouched by AB's time point.
    assert {e.timepoint for e in open_worklist(root, rater="CD")} == {None}

    # A file that cannot be read is refused, and left as it is.
    broken = landmark_file_for(films["post"], "AB")
    broken.write_bytes(b'{"schema": "kyphoimg-landmarks/1", "rater": "AB", "points": {"L1": ')
    worklist = open_worklist(root, rater="AB")
    post = next(e for e in worklist if e.film_path == films["post"])
    assert post.status == "invalid"
    with pytest.raises(StudyError, match="repair"):
        worklist.assign_timepoint(post, "post")
    assert broken.read_bytes().endswith(b'"L1": ')


# ------------------------------------------------------------------------- figure
def test_figure_titles_each_panel_and_refuses_a_bad_time_point(study, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    for tp in ("pre", "post", "last"):
        ls = read_landmarks(study / "P001" / f"{tp}.landmarks.json")
        write_landmarks(ls.replace(rater="A"), study / "P001" / f"{tp}.A.landmarks.json")
    bad = study / "P001" / "post.A.landmarks.json"
    data = json.loads(bad.read_text(encoding="utf-8"))
    data["timepoint"] = "psot"
    bad.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "P001.svg"
    argv = ["figure", str(study), "--patient", "P001", "--rater", "A", "-o", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "psot" in err
    assert not out.exists()
    data["timepoint"] = "post"
    bad.write_text(json.dumps(data), encoding="utf-8")
    assert main(argv) == 0
    svg = out.read_text(encoding="utf-8")
    for tp in ("pre", "post", "last"):
        assert f"P001 {tp} ({tp}.dcm)" in svg


def test_report_methods_say_when_proposals_were_accepted_unreviewed(tmp_path):
    pytest.importorskip("statsmodels")
    from kyphoimg.stats._report import _proposals_sentence

    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"accept_proposals": False}), encoding="utf-8")
    assert _proposals_sentence(tmp_path) == []
    summary.write_text(
        json.dumps({"accept_proposals": True, "vertebra_rows_from_proposals": 48}),
        encoding="utf-8",
    )
    (sentence,) = _proposals_sentence(tmp_path)
    assert "accepted without review" in sentence
    assert "48 vertebra measurement(s)" in sentence
    assert _proposals_sentence(tmp_path / "nowhere") == []


def test_features_and_reliability_use_confirmed_vertebrae_unless_accepted(study, tmp_path, capsys):
    from kyphoimg.agreement import reader_sets

    _reader_x_pre_only(study)
    assert main(["assist", "propagate", str(study / "P001"), "--rater", "X"]) == 0
    capsys.readouterr()
    files = [str(p) for p in sorted((study / "P001").glob("*.X.landmarks.json"))]
    out = tmp_path / "f.csv"
    measures = tmp_path / "m.csv"
    argv = ["features", *files, "--rater", "X", "-o", str(out), "--measures-output", str(measures)]
    assert main(argv) == 0  # leaving proposals out is a warning, not a failure
    assert "point(s) proposed by propagate" in capsys.readouterr().err
    m = pd.read_csv(measures, dtype={"patient_id": str})
    assert set(m["timepoint"]) == {"pre"}
    assert main([*argv, "--accept-proposals"]) == 0
    m = pd.read_csv(measures, dtype={"patient_id": str})
    assert set(m["timepoint"]) == {"pre", "post", "last"}
    assert set(m.loc[m["timepoint"] != "pre", "point_source"]) == {"proposed:propagate"}
    f = pd.read_csv(out, dtype={"patient_id": str})
    assert list(f["point_source"]) == ["proposed:propagate"]

    sets, problems = reader_sets(study / "P001", "X")
    assert [ls.timepoint for ls in sets] == ["pre"]
    assert problems["error"].str.contains("no reader has confirmed").sum() == 12
    sets, _ = reader_sets(study / "P001", "X", accept_proposals=True)
    assert sorted(ls.timepoint for ls in sets) == ["last", "post", "pre"]


def test_figure_says_when_a_panel_shows_proposals_no_reader_reviewed(study):
    from kyphoimg.figure import study_patient_films

    _reader_x_pre_only(study)
    assert main(["assist", "propagate", str(study / "P001"), "--rater", "X"]) == 0
    films, titles = study_patient_films(study, "P001", rater="X")
    assert [f.name for f, _ in films] == ["pre.dcm", "post.dcm", "last.dcm"]
    assert titles == [
        "P001 pre (pre.dcm)",
        "P001 post (post.dcm, points not reviewed)",
        "P001 last (last.dcm, points not reviewed)",
    ]
