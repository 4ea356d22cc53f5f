"""Reading effort: the per-film log and its summaries (issue 20)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kyphoimg.cli import main
from kyphoimg.effort import (
    EffortLog,
    effort_file_for,
    effort_summary,
    film_effort,
    read_effort,
    summarise_effort,
)
from kyphoimg.errors import StudyError
from kyphoimg.landmarks import find_landmark_files


def _session(log: EffortLog, t0: float, clicks: int, moved: int = 0, confirmed: int = 0) -> None:
    """A reader's session: open, clicks 2 s apart, moves, confirm, close."""
    t = t0
    log.record("open", t=t)
    for _ in range(clicks):
        t += 2.0
        log.record("click", t=t)
    for k in range(moved):
        t += 3.0
        log.record("moved", t=t, px=4.0 + k, mm=(4.0 + k) * 0.25, level="L1", point="ant_sup")
    if confirmed:
        t += 1.0
        log.record("confirmed", t=t, n=confirmed)
    log.record("close", t=t + 1.0)


def test_effort_file_sits_beside_the_readers_files_and_is_not_a_landmark_file(tmp_path):
    assert effort_file_for(tmp_path / "P001" / "pre.dcm", "AB") == (
        tmp_path / "P001" / "pre.AB.effort.jsonl"
    )
    assert effort_file_for(tmp_path / "pre.AB.landmarks.json") == tmp_path / "pre.AB.effort.jsonl"
    assert effort_file_for(tmp_path / "pre.dcm") == tmp_path / "pre.effort.jsonl"
    log = EffortLog(effort_file_for(tmp_path / "pre.dcm", "AB"))
    log.record("click")
    assert find_landmark_files([tmp_path]) == []  # scans and exports never read it


def test_the_log_is_append_only_and_survives_a_cut_line(tmp_path):
    log = EffortLog(tmp_path / "pre.AB.effort.jsonl")
    log.record("open", t=100.0)
    log.record("click", t=101.5)
    first = log.path.read_bytes()
    log.record("moved", t=104.0, px=5.0, mm=1.25)
    assert log.path.read_bytes().startswith(first)  # earlier lines untouched
    with open(log.path, "a", encoding="utf-8") as fh:
        fh.write('{"t": 110.0, "kind": "cli')  # a crash in the middle of a line
    events = read_effort(log.path)
    assert [e["kind"] for e in events] == ["open", "click", "moved"]
    assert events[2] == {"t": 104.0, "kind": "moved", "px": 5.0, "mm": 1.25}
    log.record("click", t=120.0)  # still appendable: the cut line stays skipped
    assert [e["kind"] for e in read_effort(log.path)][-1] == "click"


def test_bad_events_are_refused_naming_the_log(tmp_path):
    log = EffortLog(tmp_path / "pre.AB.effort.jsonl")
    with pytest.raises(StudyError, match=r"pre\.AB\.effort\.jsonl.*unknown effort event 'tap'"):
        log.record("tap")
    with pytest.raises(StudyError, match="not a finite JSON value"):
        log.record("moved", px=float("nan"))
    assert not log.path.exists()


def test_active_seconds_leave_idle_gaps_out():
    events = [
        {"t": 0.0, "kind": "open"},
        {"t": 2.0, "kind": "click"},
        {"t": 5.0, "kind": "click"},
        {"t": 305.0, "kind": "click"},  # 300 s away: not counted
        {"t": 307.0, "kind": "moved", "px": 6.0, "mm": 1.5},
        {"t": 308.0, "kind": "moved", "px": 2.0, "mm": 0.5},
        {"t": 310.0, "kind": "confirmed", "n": 30},
        {"t": 311.0, "kind": "proposed", "n": 36, "method": "centres"},
    ]
    got = film_effort(events)
    assert got["active_s"] == pytest.approx(2 + 3 + 2 + 1 + 2 + 1)
    assert got["clicks"] == 3
    assert (got["moved"], got["confirmed"], got["proposed"]) == (2, 30, 36)
    assert got["moved_px"] == pytest.approx(4.0)
    assert got["moved_mm"] == pytest.approx(1.0)
    assert film_effort(events, idle_seconds=1000)["active_s"] == pytest.approx(311.0)
    assert film_effort(reversed(events))["active_s"] == got["active_s"]  # order by time


def _study(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    for k, patient in enumerate(("P001", "P002", "P003")):
        for rater, clicks in (("AB", 10 + 10 * k), ("CD", 36)):
            log = EffortLog(effort_file_for(root / patient / "pre.dcm", rater))
            _session(log, 1000.0 * k, clicks, moved=2, confirmed=4)
    return root


def test_summary_per_film_and_per_reader(tmp_path):
    root = _study(tmp_path)
    (root / "P001" / "notes.txt").write_text("not a log")
    per_film = summarise_effort(root)
    assert len(per_film) == 6
    assert list(per_film[["film", "rater"]].iloc[0]) == ["P001/pre", "AB"]
    ab = per_film[per_film.rater == "AB"]
    assert list(ab.clicks) == [10, 20, 30]
    # seconds: 2 s per click, 3 s per move, 1 s to confirm, 1 s to close
    assert list(ab.active_s) == [2.0 * c + 6 + 1 + 1 for c in (10, 20, 30)]
    summary = effort_summary(per_film).set_index("rater")
    assert summary.loc["AB", "films"] == 3
    assert summary.loc["AB", "clicks_median"] == 20
    assert (summary.loc["AB", "clicks_q1"], summary.loc["AB", "clicks_q3"]) == (15, 25)
    assert summary.loc["CD", "seconds_median"] == pytest.approx(2 * 36 + 8)
    assert summary.loc["CD", "moved_total"] == 6


def test_single_reader_logs_and_an_empty_folder(tmp_path):
    root = tmp_path / "study"
    _session(EffortLog(effort_file_for(root / "P001" / "pre.dcm")), 0.0, 5)
    per_film = summarise_effort(root)
    assert per_film.rater.isna().all()
    assert effort_summary(per_film).rater.tolist() == ["-"]
    empty = summarise_effort(tmp_path / "study" / "P001" / "..")
    assert len(empty) == 1
    with pytest.raises(StudyError, match="not a folder"):
        summarise_effort(tmp_path / "missing")


def test_effort_command_prints_per_reader_and_writes_per_film(tmp_path, capsys):
    root = _study(tmp_path)
    out = tmp_path / "effort.csv"
    assert main(["effort", str(root), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "6 effort log(s)" in text
    lines = text.splitlines()
    ab = next(line for line in lines if line.strip().startswith("AB"))
    assert ab.split()[1:3] == ["3", "20.0"]  # films, median clicks
    table = out.read_text().splitlines()
    assert table[0].startswith("film,rater,clicks")
    assert len(table) == 7
    # identifiers: only the film path and rater, nothing from the log's events
    assert json.dumps(table).count("P00") == 6
    assert np.isfinite(float(table[1].split(",")[-2]))


def test_effort_command_on_a_study_nobody_has_read_says_where_logs_come_from(tmp_path, capsys):
    root = tmp_path / "study"
    (root / "P001").mkdir(parents=True)
    assert main(["effort", str(root)]) == 0
    text = capsys.readouterr().out
    assert text.count("\n") == 1  # one sentence, no empty table
    assert f"no effort logs under {root}" in text
    assert "kyphoimg view" in text
    assert "DataFrame" not in text
