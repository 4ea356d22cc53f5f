"""The study worklist: films, time points, per-reader landmark files and their status."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from kyphoimg.errors import StudyError, TimepointError
from kyphoimg.landmarks import read_landmarks, write_landmarks
from kyphoimg.study import STATUSES, check_rater, landmark_file_for, open_worklist
from kyphoimg.timepoints import normalise_timepoint, timepoint_vocabulary

SAMPLE = Path(__file__).resolve().parents[1] / "sample_dicom"


@pytest.fixture
def study(tmp_path: Path) -> Path:
    dst = tmp_path / "study"
    shutil.copytree(SAMPLE, dst)
    return dst


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_sample_study_is_complete_for_its_single_reader(study):
    w = open_worklist(study)
    assert len(w) == 12
    assert w.counts() == {
        "not_started": 0,
        "incomplete": 0,
        "complete": 12,
        "to_review": 0,
        "invalid": 0,
    }
    assert [(e.patient_id, e.timepoint) for e in w.patient("P002")] == [
        ("P002", "pre"),
        ("P002", "post"),
        ("P002", "last"),
    ]
    assert all(e.landmark_path.name.endswith(".landmarks.json") for e in w)
    assert set(w.to_frame()["status"]) <= set(STATUSES)


def test_a_new_reader_starts_with_every_film_to_do_and_his_own_file_names(study):
    before = _digest(study)
    w = open_worklist(study, rater="AB")
    assert w.counts()["not_started"] == 12
    first = w.next(unannotated=True)
    assert first is not None
    assert first.patient_id == "P001"
    assert first.timepoint == "pre"
    assert first.landmark_path == study / "P001" / "pre.AB.landmarks.json"
    assert _digest(study) == before  # building a worklist writes nothing


def test_the_single_reader_file_belongs_to_the_reader_it_names(study):
    w = open_worklist(study, rater="ground_truth")  # the sample files say rater ground_truth
    assert w.counts()["complete"] == 12
    assert w[0].landmark_path == study / "P001" / "pre.landmarks.json"


def test_status_follows_the_file(study):
    w = open_worklist(study, rater="AB")
    entry = w[0]
    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    # Incomplete: one point missing and no index level.
    points = {lv: dict(p) for lv, p in truth.points.items()}
    del points["L1"]["post_inf"]
    partial = truth.replace(points=points, index_levels=(), rater="AB")
    write_landmarks(partial, entry.landmark_path)
    entry = w.refresh(entry)
    assert entry.status == "incomplete"
    text = " ".join(entry.problems)
    assert "post_inf" in text
    assert "no index" in text
    # Complete again.
    write_landmarks(truth.replace(rater="AB"), entry.landmark_path)
    assert w.refresh(entry).status == "complete"
    # Invalid: a level typo, named as the CLI names it.
    data = json.loads(entry.landmark_path.read_text())
    data["points"]["T21"] = data["points"].pop("T12")
    entry.landmark_path.write_text(json.dumps(data))
    entry = w.refresh(entry)
    assert entry.status == "invalid"
    assert any("T21" in p and "unknown level" in p for p in entry.problems)
    assert w.next(unannotated=True) == entry  # invalid still needs work


def test_a_file_for_another_film_is_invalid(study):
    post = read_landmarks(study / "P001" / "post.landmarks.json")
    target = study / "P001" / "pre.AB.landmarks.json"
    write_landmarks(post.replace(rater="AB", image=post.image), target)
    # Named for pre (pre.AB...), but its SOP Instance UID is the post film's: the UID
    # pairs it to post.dcm, and pre is invalid, never "not started" (AB's first save on
    # pre would find a file there), with a sentence naming the film the file belongs to.
    w = open_worklist(study, rater="AB")
    by_tp = {e.timepoint: e for e in w.patient("P001")}
    assert by_tp["post"].landmark_path == target
    assert by_tp["pre"].status == "invalid"
    assert by_tp["pre"].landmark_path == target
    (reason,) = by_tp["pre"].problems
    assert reason.startswith(f"{target}: this file is the reading of another film, P001/post.dcm")


def test_time_point_typo_makes_the_film_invalid_naming_the_file(study):
    path = study / "P003" / "post.landmarks.json"
    data = json.loads(path.read_text())
    data["timepoint"] = "psot"
    path.write_text(json.dumps(data))
    w = open_worklist(study)
    bad = [e for e in w if e.status == "invalid"]
    assert len(bad) == 1
    assert str(path) in bad[0].problems[0]
    assert "'psot'" in bad[0].problems[0]
    # Case and whitespace are normalised, not refused.
    data["timepoint"] = " Post"
    path.write_text(json.dumps(data))
    assert open_worklist(study).counts()["complete"] == 12


def test_next_and_previous_walk_the_list_without_wrapping(study):
    w = open_worklist(study)
    assert w.next() is w[0]
    assert w.previous() is w[-1]
    assert w.next(w[-1]) is None
    assert w.previous(w[0]) is None
    assert w.next(w[0]) is w[1]
    assert w.next(unannotated=True) is None  # everything complete


def test_film_without_time_point_in_name_gets_it_from_its_file_or_stays_open(study):
    (study / "P004" / "last.dcm").rename(study / "P004" / "IMG0003.dcm")
    (study / "P004" / "last.landmarks.json").unlink()
    w = open_worklist(study)
    entry = next(e for e in w if e.film_path.name == "IMG0003.dcm")
    assert entry.timepoint is None
    assert entry.status == "not_started"
    assert entry.landmark_path.name == "IMG0003.landmarks.json"


def test_own_time_points_extend_the_vocabulary():
    assert timepoint_vocabulary(["6m", "12m"]) == ("pre", "post", "last", "6m", "12m")
    assert normalise_timepoint("6M", timepoint_vocabulary(["6m"])) == "6m"
    with pytest.raises(TimepointError, match=r"f\.json: .*'Pree' is not one of"):
        normalise_timepoint("Pree", where="f.json")
    with pytest.raises(TimepointError, match="no time point"):
        normalise_timepoint(None)


@pytest.mark.parametrize("bad", ["", "A B", "../x", "a/b", "x" * 41, ".hidden"])
def test_rater_ids_must_fit_a_file_name(bad):
    with pytest.raises(StudyError, match="cannot name a landmark file"):
        check_rater(bad)


def test_landmark_file_names():
    assert landmark_file_for("s/P1/IMG0001.dcm").name == "IMG0001.landmarks.json"
    assert landmark_file_for("s/P1/IMG0001", "AB").name == "IMG0001.AB.landmarks.json"
    assert landmark_file_for("s/P1/x.DCM", "r2").name == "x.r2.landmarks.json"


def test_not_a_folder_is_refused(tmp_path):
    with pytest.raises(StudyError, match="not a folder"):
        open_worklist(tmp_path / "missing")


def test_a_blinded_order_is_random_and_reproducible_from_its_seed(study):
    w = open_worklist(study, rater="B")
    a, b, c = w.shuffled(7), w.shuffled(7), w.shuffled(8)
    films = [e.film_path for e in a]
    assert films == [e.film_path for e in b]  # the recorded seed gives the same order
    assert films != [e.film_path for e in c]
    assert sorted(films) == sorted(e.film_path for e in w)  # the same films, each once
    assert films != [e.film_path for e in w]
    assert a.next() is a[0]
    assert a.next(a[0]) is a[1]
