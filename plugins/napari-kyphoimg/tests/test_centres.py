"""The centres mode's logic and the effort recorder, without napari or Qt."""

from __future__ import annotations

import numpy as np
import pytest
from napari_kyphoimg._centres import CENTRES_METHOD, CentresPlacement, EffortRecorder

from kyphoimg import LandmarkSet
from kyphoimg.effort import film_effort, read_effort
from kyphoimg.landmarks import ASSIST_KEY, confirm, unconfirmed
from kyphoimg.sample import lateral_phantom, render_lateral

LEVELS = ("T12", "L1", "L2", "L3")


@pytest.fixture(scope="module")
def phantom():
    ph = lateral_phantom(LEVELS)
    return ph, render_lateral(ph.landmarks, seed=3)


def _centre(ls: LandmarkSet, level: str) -> np.ndarray:
    return np.mean(list(ls.points[level].values()), axis=0)


def test_clicks_go_to_the_levels_top_down_and_undo_takes_the_last():
    p = CentresPlacement(LEVELS)
    assert p.click((1, 2)) == "T12"
    assert p.click((3, 4)) == "L1"
    assert p.next_level == "L2"
    assert p.undo() == "L1"
    assert p.next_level == "L1"
    for rc in ((3, 4), (5, 6), (7, 8)):
        p.click(rc)
    assert p.done
    assert p.click((9, 9)) is None  # nothing left to click: not kept
    assert list(p.centres) == list(LEVELS)


def test_proposals_from_the_second_click_update_neighbours_and_keep_the_readers(phantom):
    ph, film = phantom
    truth = ph.landmarks
    empty = LandmarkSet(points={}, scheme="6pt")
    p = CentresPlacement(LEVELS)
    p.click(_centre(truth, "T12"))
    assert p.propose(film, empty) is empty  # one centre: no size, nothing proposed
    p.click(_centre(truth, "L1"))
    two = p.propose(film, empty)
    assert set(two.points) == {"T12", "L1"}
    assert set(unconfirmed(two)) == {"T12", "L1"}
    assert set(two.extra[ASSIST_KEY]["methods"]["L1"].values()) == {CENTRES_METHOD}
    # the reader moves one L1 point: the next click's proposals leave it where it is
    moved = two.points["L1"]["ant_sup"]
    mine = two.replace(
        points={**two.points, "L1": {**two.points["L1"], "ant_sup": (moved[0] + 5, moved[1])}}
    )
    for lv in LEVELS[2:]:
        p.click(_centre(truth, lv))
    every = p.propose(film, mine)
    assert set(every.points) == set(LEVELS)
    assert every.points["L1"]["ant_sup"] == (moved[0] + 5, moved[1])
    assert "ant_sup" not in unconfirmed(every)["L1"]
    errors = [
        np.hypot(*np.subtract(every.points[lv][n], truth.points[lv][n]))
        for lv in LEVELS
        for n in every.points[lv]
        if not (lv == "L1" and n == "ant_sup")
    ]
    assert np.median(errors) < 4.0  # px, on a synthetic film from its true centres


def test_effort_recorder_counts_proposed_confirmed_and_moved(tmp_path, phantom):
    ph, film = phantom
    times = iter(range(100))
    rec = EffortRecorder(clock=lambda: float(next(times)))
    log = tmp_path / "pre.AB.effort.jsonl"
    rec.open(log, None)
    p = CentresPlacement(LEVELS[:2])
    for lv in LEVELS[:2]:
        p.click(_centre(ph.landmarks, lv))
        rec.click(level=lv)
    ls = p.propose(film, LandmarkSet(points={}, scheme="6pt"))
    rec.observe(ls, (0.2, 0.2))
    r, c = ls.points["T12"]["ant_sup"]
    moved = ls.replace(
        points={**ls.points, "T12": {**ls.points["T12"], "ant_sup": (r + 3.0, c + 4.0)}}
    )
    rec.observe(moved, (0.2, 0.2))
    rec.observe(confirm(moved), (0.2, 0.2))
    rec.close()
    rec.click()  # closed: nothing more is written
    events = read_effort(log)
    assert [e["kind"] for e in events] == [
        "open", "click", "click", "proposed", "moved", "confirmed", "close",
    ]  # fmt: skip
    assert events[3] == {"t": 3.0, "kind": "proposed", "n": 12, "method": "centres"}
    assert (events[4]["px"], events[4]["mm"]) == (5.0, 1.0)
    assert (events[5]["n"], events[5]["method"], events[4]["method"]) == (11, "centres", "centres")
    summary = film_effort(events)
    assert (summary["clicks"], summary["proposed"], summary["confirmed"]) == (2, 12, 11)
    assert summary["moved"] == 1


def test_effort_recorder_writes_nothing_without_a_log_or_for_a_film_only_looked_at(tmp_path):
    rec = EffortRecorder()
    rec.open(None)
    rec.click()
    rec.observe(LandmarkSet(points={}, scheme="6pt"))
    rec.close()
    assert rec.path is None
    rec.open(tmp_path / "post.AB.effort.jsonl")  # opened, looked at, left
    rec.observe(LandmarkSet(points={}, scheme="6pt"))
    rec.close()
    assert list(tmp_path.iterdir()) == []


def test_effort_recorder_writes_the_opening_time_with_the_first_event(tmp_path):
    times = iter([10.0, 25.0, 31.0])
    rec = EffortRecorder(clock=lambda: next(times))
    log = tmp_path / "pre.AB.effort.jsonl"
    rec.open(log)
    rec.click()
    rec.close()
    assert [(e["t"], e["kind"]) for e in read_effort(log)] == [
        (10.0, "open"), (25.0, "click"), (31.0, "close"),
    ]  # fmt: skip
    assert film_effort(read_effort(log))["active_s"] == 21.0
