"""Issue 17's remaining integrity parts (the proposal method survives confirmation,
unreadable landmark files pair by name everywhere, assist never writes over a reading)
and ``kyphoimg view`` reading the study file (issue 19).

Each test walks the user's path on a copy of the sample study and checks what is on disk;
the SHA-256 of every file the user did not change stays equal.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kyphoimg.cli import main
from kyphoimg.landmarks import (
    ASSIST_KEY,
    confirm,
    file_sha256,
    point_sources,
    read_landmarks,
    save_reading,
    unconfirmed,
    write_landmarks,
)

SAMPLE = Path(__file__).resolve().parents[1] / "sample_dicom"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def study(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    shutil.copytree(SAMPLE, root)
    return root


def _reader_x_pre_only(study: Path) -> None:
    for pre in sorted(study.glob("P*/pre.landmarks.json")):
        write_landmarks(
            read_landmarks(pre).replace(rater="X"), pre.with_name("pre.X.landmarks.json")
        )


# ------------------------------------------------- 1. the method survives confirmation
def test_confirmed_proposals_keep_their_method_on_disk_and_in_every_table(study, tmp_path, capsys):
    _reader_x_pre_only(study)
    assert main(["assist", "propagate", str(study / "P001"), "--rater", "X"]) == 0
    capsys.readouterr()
    path = study / "P001" / "post.X.landmarks.json"
    before = _digest(study)
    # The reader opens the film, accepts every proposed vertebra as it is, and saves.
    loaded = file_sha256(path)
    ls = read_landmarks(path, validate=False)
    accepted = ls
    for level in ls.levels:
        accepted = confirm(accepted, level)
    outcome = save_reading(accepted, path, loaded_sha256=loaded)
    assert outcome.conflict is None
    assert outcome.path == path
    raw = json.loads(path.read_text(encoding="utf-8"))
    record = raw[ASSIST_KEY]
    assert "proposed" not in record
    assert set(record["confirmed"]) == set(ls.levels)
    entry = record["confirmed"]["L1"]["ant_sup"]
    assert entry == {"method": "propagate", "at": list(ls.points["L1"]["ant_sup"])}
    back = read_landmarks(path)
    assert unconfirmed(back) == {}
    assert set(point_sources(back).values()) == {"confirmed:propagate"}
    # The reader then moves one point of T12: T12 becomes the reader's own, and the save
    # drops its entry from the record.
    loaded = file_sha256(path)
    pts = {lv: dict(p) for lv, p in back.points.items()}
    r, c = pts["T12"]["ant_sup"]
    pts["T12"]["ant_sup"] = (r + 1.5, c)
    moved = back.replace(points=pts)
    assert point_sources(moved)["T12"] == "confirmed:propagate"  # 5 of 6 still as proposed
    pts["T12"] = {n: (y + 1.0, x) for n, (y, x) in pts["T12"].items()}
    moved = back.replace(points=pts)
    assert point_sources(moved)["T12"] == "reader"
    save_reading(moved, path, loaded_sha256=loaded)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert "T12" not in raw[ASSIST_KEY]["confirmed"]
    assert set(raw[ASSIST_KEY]["confirmed"]) == set(ls.levels) - {"T12"}
    after = _digest(study)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {"P001/post.X.landmarks.json"}

    # run: each row names its source; the summary counts them; the report says it.
    out = tmp_path / "r"
    main(["run", str(study / "P001"), "-o", str(out), "--rater", "X"])
    measures = pd.read_csv(out / "measures.csv", dtype={"patient_id": str})
    post = measures[measures["timepoint"] == "post"].set_index("level")["point_source"]
    assert post["T12"] == "reader"
    assert set(post.drop("T12")) == {"confirmed:propagate"}
    assert set(measures.loc[measures["timepoint"] == "pre", "point_source"]) == {"reader"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["vertebra_rows_confirmed_proposals"] == len(post) - 1
    assert summary["vertebra_rows_from_proposals"] == 0
    features = pd.read_csv(out / "features.csv", dtype={"patient_id": str})
    assert "confirmed:propagate" in set(features["point_source"])
    dictionary = pd.read_csv(out / "measures.dictionary.csv")
    text = dictionary.set_index("column").loc["point_source", "description"]
    assert "confirmed:<method>" in text
    from kyphoimg.stats._report import _proposals_sentence

    (sentence,) = _proposals_sentence(out)
    assert f"For {len(post) - 1} vertebra measurement(s)" in sentence
    assert "confirmed by the reader" in sentence


def test_a_file_with_the_record_round_trips_unchanged_and_old_files_read_as_before(study):
    _reader_x_pre_only(study)
    assert main(["assist", "propagate", str(study / "P002"), "--rater", "X"]) == 0
    path = study / "P002" / "post.X.landmarks.json"
    ls = read_landmarks(path, validate=False)
    # half accepted: the record holds proposed and confirmed points at once
    half = confirm(confirm(ls, "L1"), "T12", ["ant_sup", "post_sup"])
    write_landmarks(half, path, touch=False)
    first = path.read_bytes()
    write_landmarks(read_landmarks(path, validate=False), path, touch=False)
    assert path.read_bytes() == first
    back = read_landmarks(path, validate=False)
    assert point_sources(back)["L1"] == "confirmed:propagate"
    assert point_sources(back)["T12"] == "proposed:propagate"
    assert set(unconfirmed(back)["T12"]) == set(ls.points["T12"]) - {"ant_sup", "post_sup"}
    # A file written before "confirmed" existed: its accepted points are the reader's.
    old = json.loads(first)
    del old[ASSIST_KEY]["confirmed"]
    path.write_text(json.dumps(old, indent=2), encoding="utf-8")
    legacy = read_landmarks(path, validate=False)
    assert point_sources(legacy)["L1"] == "reader"
    assert point_sources(legacy)["T12"] == "proposed:propagate"
    # confirming everything keeps only the confirmed part
    done = confirm(back)
    assert set(done.extra[ASSIST_KEY]) == {"method", "confirmed"}
    # a new proposal over a confirmed vertebra (refine, asked to replace the reader's
    # points) makes it a proposal again: its confirmed entries go
    from types import SimpleNamespace

    from kyphoimg.landmarks import mark_proposed

    again = mark_proposed(
        done,
        SimpleNamespace(landmarks=done.replace(points={"L1": done.points["L1"]}), method="refine"),
        keep_confirmed=False,
    )
    assert point_sources(again)["L1"] == "proposed:refine"
    assert "L1" not in again.extra[ASSIST_KEY]["confirmed"]
    assert point_sources(again)["T12"] == "confirmed:propagate"


# ------------------------------------- 2. unreadable files pair by name everywhere
def _separate_landmarks(study: Path, lm: Path) -> None:
    """Move every landmark file into ``lm``, keeping the patient folders."""
    for f in sorted(study.rglob("*.landmarks.json")):
        dest = lm / f.relative_to(study)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(f, dest)


def test_unreadable_files_in_a_landmarks_folder_or_csv_are_invalid_films(study, tmp_path, capsys):
    from kyphoimg.study import open_worklist

    lm = tmp_path / "landmarks"
    _separate_landmarks(study, lm)
    # damaged so that nothing in them names the film: no UID, no image path, no rater
    gone = lm / "P001" / "pre.landmarks.json"
    gone.write_bytes(b'{"schema": "kyphoimg-landmarks/1", "pat')
    binary = lm / "P002" / "post.landmarks.json"
    binary.write_bytes(b"\xff\xfe\x00garbage\x00")
    # a spreadsheet user's CSV that is not UTF-8, beside its film in the landmarks folder
    (lm / "P003" / "last.landmarks.json").unlink()
    sheet = lm / "P003" / "last.landmarks.csv"
    sheet.write_bytes(b"patient_id;timepoint\r\nP003;\xe9t\xe9\r\n")
    before = _digest(study) | {f"lm/{k}": v for k, v in _digest(lm).items()}

    worklist = open_worklist(study, landmarks_dir=lm)
    by_film = {e.film_path.relative_to(study).as_posix(): e for e in worklist}
    for film, path in (("P001/pre.dcm", gone), ("P002/post.dcm", binary), ("P003/last.dcm", sheet)):
        entry = by_film[film]
        assert entry.status == "invalid", film
        assert entry.landmark_path == path
        assert entry.paired_by == "file_name"
        assert str(path) in entry.problems[0]
    assert worklist.counts()["invalid"] == 3
    assert worklist.counts()["not_started"] == 0
    assert worklist.counts()["complete"] == 9

    out = tmp_path / "r"
    assert main(["run", str(study), "--landmarks", str(lm), "-o", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "3 invalid" in printed
    films = pd.read_csv(out / "films.csv", dtype=str, keep_default_na=False).set_index("dicom")
    for film, path in (("P001/pre.dcm", gone), ("P002/post.dcm", binary), ("P003/last.dcm", sheet)):
        assert films.loc[film, "status"] == "invalid"
        assert films.loc[film, "landmarks"] == str(path)
        assert str(path) in films.loc[film, "reason"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["films_invalid"] == 3
    assert summary["films_not_annotated"] == 0
    after = _digest(study) | {f"lm/{k}": v for k, v in _digest(lm).items()}
    assert after == before


def test_an_unreadable_csv_beside_its_film_is_invalid_and_a_new_file_goes_to_the_landmarks_folder(
    study, tmp_path
):
    from kyphoimg.study import open_worklist

    (study / "P004" / "pre.landmarks.json").unlink()
    sheet = study / "P004" / "pre.AB.landmarks.csv"
    sheet.write_bytes(b"\x00\x01\x02")
    entries = {e.film_path: e for e in open_worklist(study, rater="AB")}
    entry = entries[study / "P004" / "pre.dcm"]
    assert entry.status == "invalid"
    assert entry.landmark_path == sheet
    # another reader's worklist does not take it
    other = {e.film_path: e for e in open_worklist(study, rater="CD")}
    assert other[study / "P004" / "pre.dcm"].status == "not_started"
    # with a separate landmarks folder, a film not started gets its file there
    lm = tmp_path / "lm"
    lm.mkdir()
    fresh = {e.film_path: e for e in open_worklist(study, rater="CD", landmarks_dir=lm)}
    new = fresh[study / "P001" / "post.dcm"].landmark_path
    assert new == lm / "P001" / "post.CD.landmarks.json"


# --------------------------------- 3. assist never writes over a reading started meanwhile
def _start_reading(path: Path, truth_file: Path, rater: str) -> str:
    """The reader starts the film in the viewer: their file appears, holding one point."""
    truth = read_landmarks(truth_file)
    first = truth.levels[0]
    name = next(iter(truth.points[first]))
    mine = truth.replace(points={first: {name: truth.points[first][name]}}, rater=rater)
    write_landmarks(mine, path)
    return _sha(path)


def test_propagate_keeps_a_reading_started_while_it_runs(study, monkeypatch, capsys):
    import kyphoimg.assist._propagate as assist_study

    _reader_x_pre_only(study)
    folder = study / "P001"
    post = folder / "post.X.landmarks.json"
    started: dict[str, str] = {}
    real = assist_study.propose_from

    def slow_proposal(source_film, source_landmarks, target_film, target):
        out = real(source_film, source_landmarks, target_film, target)
        if Path(target_film).name == "post.dcm" and not started:
            # the reader opens P001 post and places a point while the proposal is computed
            started["sha"] = _start_reading(post, folder / "post.landmarks.json", "X")
        return out

    monkeypatch.setattr(assist_study, "propose_from", slow_proposal)
    before = _digest(study)
    assert main(["assist", "propagate", str(folder), "--rater", "X"]) == 1
    printed = capsys.readouterr()
    assert _sha(post) == started["sha"]  # the reader's file is theirs, unchanged
    beside = sorted(folder.glob("post.X.landmarks.json.conflict-*.X"))
    assert len(beside) == 1
    proposal = read_landmarks(beside[0], validate=False)
    assert sum(len(v) for v in unconfirmed(proposal).values()) == 36
    assert str(post) in printed.err
    assert beside[0].name in printed.err
    assert f"wrote {beside[0]}" in printed.out
    # the last film was not started by anyone: its proposal went to the reader's file
    assert (folder / "last.X.landmarks.json").is_file()
    after = _digest(study)
    new = {k for k in after if k not in before}
    assert new == {
        "P001/post.X.landmarks.json",
        f"P001/{beside[0].name}",
        "P001/last.X.landmarks.json",
    }
    assert {k: after[k] for k in before} == before


def test_save_reading_never_replaces_a_file_created_after_its_check(study, monkeypatch):
    import kyphoimg.landmarks as lm

    film_file = study / "P002" / "pre.landmarks.json"
    path = study / "P002" / "pre.AB.landmarks.json"
    ls = read_landmarks(film_file).replace(rater="AB")
    real = lm.file_sha256
    sha: dict[str, str] = {}

    def check_then_race(p):
        out = real(p)
        if Path(p) == path and not sha:  # another session creates the file right after
            sha["reader"] = _start_reading(path, film_file, "AB")
        return out

    monkeypatch.setattr(lm, "file_sha256", check_then_race)
    outcome = save_reading(ls, path, loaded_sha256=None)
    assert outcome.conflict is not None
    assert outcome.path != path
    assert outcome.path.name.startswith("pre.AB.landmarks.json.conflict-")
    assert _sha(path) == sha["reader"]
    assert read_landmarks(outcome.path).points == ls.points


def test_two_sessions_saving_at_the_same_moment_are_taken_one_after_the_other(study, monkeypatch):
    """Both loaded the file; A's save is paused between its check and its rename.

    B saves meanwhile. Without the folder lock B too finds the file unchanged, both
    report a clean save and A's rename throws B's points away.
    """
    import threading

    import kyphoimg.landmarks as lm

    path = study / "P001" / "pre.landmarks.json"
    loaded = file_sha256(path)
    first = read_landmarks(path)
    a = first.replace(
        points={**first.points, "L1": {**first.points["L1"], "ant_sup": (401.0, 301.0)}}
    )
    b = first.replace(
        points={**first.points, "L2": {**first.points["L2"], "ant_sup": (502.0, 312.0)}}
    )
    a_paused, b_done = threading.Event(), threading.Event()
    real_write = lm._write_json_bytes

    def paused_write(ls, where):
        if threading.current_thread().name == "A" and Path(where) == path:
            a_paused.set()
            b_done.wait(timeout=1.0)  # B runs its whole save here, unless it has to wait
        return real_write(ls, where)

    monkeypatch.setattr(lm, "_write_json_bytes", paused_write)
    outcome: dict[str, lm.SaveOutcome] = {}

    def save(name, ls):
        outcome[name] = save_reading(ls, path, loaded_sha256=loaded)
        if name == "B":
            b_done.set()

    ta = threading.Thread(target=save, args=("A", a), name="A")
    tb = threading.Thread(target=save, args=("B", b), name="B")
    ta.start()
    assert a_paused.wait(10)  # A has checked the file and is about to rename over it
    tb.start()
    ta.join(10)
    tb.join(10)
    assert outcome["A"].conflict is None
    assert outcome["A"].path == path
    assert outcome["B"].conflict is not None, "both saves went over the same file"
    assert "changed on disk" in outcome["B"].conflict
    assert _sha(path) == outcome["A"].sha256
    assert read_landmarks(path).points["L1"]["ant_sup"] == (401.0, 301.0)
    assert read_landmarks(outcome["B"].path).points["L2"]["ant_sup"] == (502.0, 312.0)


def test_centres_and_refine_keep_a_reading_started_while_they_run(
    study, tmp_path, monkeypatch, capsys
):
    import kyphoimg.assist._batch as assist_batch
    import kyphoimg.cli.assist as cli_assist

    folder = study / "P003"
    truth = read_landmarks(folder / "pre.landmarks.json")
    rows = ["level,row,col"]
    for lv in truth.levels:
        pts = list(truth.points[lv].values())
        rows.append(
            f"{lv},{sum(p[0] for p in pts) / len(pts):.1f},{sum(p[1] for p in pts) / len(pts):.1f}"
        )
    centres = tmp_path / "pre.centres.csv"
    centres.write_text("\n".join(rows) + "\n")
    mine = folder / "pre.AB.landmarks.json"
    sha: dict[str, str] = {}
    real_centres = assist_batch.from_centres

    def centres_then_reader(*args, **kwargs):
        out = real_centres(*args, **kwargs)
        sha["centres"] = _start_reading(mine, folder / "pre.landmarks.json", "AB")
        return out

    monkeypatch.setattr(assist_batch, "from_centres", centres_then_reader)
    argv = [
        "assist",
        "centres",
        str(folder / "pre.dcm"),
        "--rater",
        "AB",
        "--centres",
        str(centres),
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert _sha(mine) == sha["centres"]
    (beside,) = folder.glob("pre.AB.landmarks.json.conflict-*")
    assert beside.name in err
    assert len(unconfirmed(read_landmarks(beside, validate=False))) == len(truth.levels)

    # refine: the reader's own file is refined; they move a point while refine runs
    theirs = folder / "last.AB.landmarks.json"
    write_landmarks(read_landmarks(folder / "last.landmarks.json").replace(rater="AB"), theirs)
    real_refine = cli_assist.refine

    def refine_then_reader(*args, **kwargs):
        out = real_refine(*args, **kwargs)
        sha["refine"] = _start_reading(theirs, folder / "last.landmarks.json", "AB")
        return out

    monkeypatch.setattr(cli_assist, "refine", refine_then_reader)
    argv = ["assist", "refine", str(folder / "last.dcm"), "--rater", "AB", "-o", str(theirs)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert _sha(theirs) == sha["refine"]
    (beside,) = folder.glob("last.AB.landmarks.json.conflict-*")
    assert beside.name in err


# ------------------------------------------------ 4. view reads the study file
@pytest.fixture
def launched(monkeypatch):
    """``napari_kyphoimg.launch`` replaced: the calls it receives, napari never opened."""
    napari_kyphoimg = pytest.importorskip("napari_kyphoimg")
    calls: list[tuple[list[str], dict]] = []

    def fake_launch(paths, **kwargs):
        calls.append((list(paths), kwargs))
        return 0

    monkeypatch.setattr(napari_kyphoimg, "launch", fake_launch)
    return calls


def test_view_takes_folder_landmarks_timepoints_and_its_own_keys_from_the_study_file(
    study, tmp_path, launched
):
    lm = tmp_path / "landmarks"
    _separate_landmarks(study, lm)
    surgery = tmp_path / "surgery.csv"
    surgery.write_text("patient_id,surgery_date\nP001,2024-01-01\n", encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    (project / "study.toml").write_text(
        "[run]\n"
        f'study = "{study.as_posix()}"\n'
        'landmarks = "../landmarks"\n'
        'timepoints = ["pre", "post", "last"]\n'
        f'surgery = "{surgery.as_posix()}"\n'
        'output = "results"\n'
        "\n[view]\nblind = true\n"
        '\n[pacs]\nurl = "https://pacs.example.org/dicom-web"\n',
        encoding="utf-8",
    )
    before = _digest(study) | {f"lm/{k}": v for k, v in _digest(lm).items()}
    assert main(["view", str(project), "--rater", "AB"]) == 0
    ((paths, kwargs),) = launched
    assert paths == [str(study)]
    assert kwargs["rater"] == "AB"
    assert Path(kwargs["landmarks_dir"]).resolve() == lm.resolve()
    assert tuple(kwargs["timepoints"]) == ("pre", "post", "last")
    assert Path(kwargs["surgery"]) == surgery
    assert kwargs["blind"] is True
    assert kwargs["pacs_url"] is None  # no cache folder: the local study is opened
    # the file given itself; the command line wins
    other = tmp_path / "other-landmarks"
    other.mkdir()
    argv = ["view", str(project / "study.toml"), "--rater", "CD", "--landmarks", str(other)]
    assert main([*argv, "--timepoints", "pre,post"]) == 0
    paths, kwargs = launched[-1]
    assert paths == [str(study)]
    assert kwargs["rater"] == "CD"
    assert Path(kwargs["landmarks_dir"]) == other
    assert tuple(kwargs["timepoints"]) == ("pre", "post")
    # [view] cache: a reading session on the PACS of [pacs] url
    text = (project / "study.toml").read_text(encoding="utf-8")
    (project / "study.toml").write_text(
        text.replace("blind = true\n", 'blind = true\ncache = "cache"\n'), encoding="utf-8"
    )
    assert main(["view", str(project), "--rater", "AB"]) == 0
    paths, kwargs = launched[-1]
    assert kwargs["pacs_url"] == "https://pacs.example.org/dicom-web"
    assert Path(kwargs["cache"]) == project / "cache"
    after = _digest(study) | {f"lm/{k}": v for k, v in _digest(lm).items()}
    assert after == before


def test_view_refuses_an_unknown_key_naming_file_and_line(study, tmp_path, launched, capsys):
    toml = tmp_path / "study.toml"
    toml.write_text(
        f'[run]\nstudy = "{study.as_posix()}"\n\n[view]\nblnd = true\n', encoding="utf-8"
    )
    assert main(["view", str(toml), "--rater", "AB"]) == 2
    err = capsys.readouterr().err
    assert f"{toml}:5" in err
    assert "unknown key 'blnd' in [view]" in err
    assert "did you mean 'blind'?" in err
    assert launched == []
    # a folder without study.toml opens as before
    assert main(["view", str(study), "--rater", "AB", "--blind"]) == 0
    ((paths, kwargs),) = launched
    assert paths == [str(study)]
    assert kwargs["blind"] is True
    assert kwargs.get("landmarks_dir") is None


# ------------------------- a file at the reader's name that is not their reading of the film
def test_a_file_named_for_a_reader_but_holding_another_raters_points_is_invalid_never_to_do(
    study, tmp_path, capsys
):
    """A new user gives reader X the pre films by copying them to X's name (``cp``).

    The copies still say ``"rater": "ground_truth"``. Before, X's worklist and ``run``
    called these films "no landmark file" (to do), ``assist propagate`` wrote nothing
    without a word, and X's first save in the viewer went beside the copy.
    """
    from kyphoimg.study import open_worklist

    for pre in sorted(study.glob("P00[12]/pre.landmarks.json")):
        shutil.copyfile(pre, pre.with_name("pre.X.landmarks.json"))
    # and one copied into the wrong patient's folder: P003's pre reading under P004's name
    shutil.copyfile(study / "P003" / "pre.landmarks.json", study / "P004" / "pre.X.landmarks.json")
    write_landmarks(
        read_landmarks(study / "P004" / "pre.X.landmarks.json").replace(rater="X"),
        study / "P004" / "pre.X.landmarks.json",
    )
    before = _digest(study)
    wl = open_worklist(study, rater="X")
    by_film = {(e.patient_id, e.timepoint): e for e in wl}
    for pid in ("P001", "P002"):
        entry = by_film[(pid, "pre")]
        assert entry.status == "invalid"
        assert entry.landmark_path == study / pid / "pre.X.landmarks.json"
        (reason,) = entry.problems
        assert str(entry.landmark_path) in reason
        assert "'ground_truth'" in reason
        assert 'set "rater" to "X"' in reason
        assert "pre.ground_truth.landmarks.json" in reason
    # P004's copy holds P003's film: it is P003's pre for X, and P004's pre is invalid
    assert by_film[("P003", "pre")].landmark_path == study / "P004" / "pre.X.landmarks.json"
    p004 = by_film[("P004", "pre")]
    assert p004.status == "invalid"
    assert "the reading of another film, P003/pre.dcm" in p004.problems[0]
    # a film with no file at X's name is still to do
    assert by_film[("P001", "post")].status == "not_started"

    assert main(["assist", "propagate", str(study / "P001"), "--rater", "X"]) == 0
    err = capsys.readouterr().err
    assert "nothing to propagate for rater X" in err
    assert "1 invalid" in err

    out = tmp_path / "r"
    assert main(["run", str(study), "-o", str(out), "--rater", "X"]) == 1  # inputs failed
    said = capsys.readouterr()
    assert "3 problem(s) in the inputs" in said.out + said.err
    errors = pd.read_csv(out / "errors.csv", dtype=str)
    assert sorted(errors["file"]) == sorted(
        str(study / p / "pre.X.landmarks.json") for p in ("P001", "P002", "P004")
    )
    films = pd.read_csv(out / "films.csv", dtype=str).set_index("dicom")
    assert films.loc["P001/pre.dcm", "status"] == "invalid"
    assert "'ground_truth'" in films.loc["P001/pre.dcm", "reason"]
    assert films.loc["P004/pre.dcm", "status"] == "invalid"
    assert films.loc["P001/post.dcm", "status"] == "not_annotated"
    assert _digest(study) == before  # nothing written into the study by any of it


def test_a_file_is_a_readers_only_when_its_name_and_its_rater_agree(study):
    """B starts from A's reading by copying A's file to B's name, then moves it.

    Before, A's worklist took both files as A's (their field says A): the copy was an
    "already paired" error beside A's own, and once A's file was moved, A's session
    read and wrote the file named for B.
    """
    from kyphoimg.study import open_worklist

    truth = read_landmarks(study / "P001" / "pre.landmarks.json")
    a_file = study / "P001" / "pre.A.landmarks.json"
    b_file = study / "P001" / "pre.B.landmarks.json"
    write_landmarks(truth.replace(rater="A"), a_file)
    shutil.copyfile(a_file, b_file)

    def pre(rater):
        wl = open_worklist(study, rater=rater)
        return next(e for e in wl if e.film_path.name == "pre.dcm" and e.patient_id == "P001"), wl

    entry, wl = pre("A")
    assert entry.landmark_path == a_file
    assert entry.status == "complete"
    assert not any(str(b_file) in str(row) for row in wl.problems.itertuples())
    entry, _ = pre("B")
    assert entry.status == "invalid"
    assert "'A'" in entry.problems[0]
    # the single reader keeps the single-reader file
    entry, _ = pre(None)
    assert entry.landmark_path == study / "P001" / "pre.landmarks.json"
    assert entry.status == "complete"
    # A's file moved to B's name: A has not started (A's name), B's name is not A's
    a_file.unlink()
    entry, _ = pre("A")
    assert entry.landmark_path == a_file
    assert entry.status == "not_started"
