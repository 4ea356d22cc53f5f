"""The Landmarks dock's rules without napari or Qt: :class:`LandmarksController`.

Each test opens a sample film through the plugin's Qt-free reader recipe
(:func:`napari_kyphoimg._reader.radiograph_layer_data`), edits a plain points object the
way the reader's clicks do, and checks the next target, the texts the dock would show and
the landmark file on disk.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from napari_kyphoimg._guide import level_range, placement_plan
from napari_kyphoimg._landmarks_controller import LandmarksController, Message, check_text
from napari_kyphoimg._layers import KEY, landmark_layer_data
from napari_kyphoimg._reader import radiograph_layer_data

from kyphoimg import LandmarkError, read_landmarks, read_radiograph, write_landmarks
from kyphoimg.landmarks import mark_proposed, unconfirmed

SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom"
FIELDS = {"scheme": "6pt", "index_levels": [], "patient_id": "", "timepoint": None}


@dataclass
class Film:
    """A film layer as the controller sees it."""

    name: str
    metadata: dict


@dataclass
class Layer:
    """A landmarks points layer as the controller sees it (napari's Points has these)."""

    data: np.ndarray
    features: pd.DataFrame
    metadata: dict
    name: str = "landmarks"
    selected_data: set = field(default_factory=set)

    def refresh_colors(self) -> None:
        pass

    def remove(self, indices) -> None:
        keep = np.ones(len(self.data), dtype=bool)
        keep[list(indices)] = False
        self.data = np.asarray(self.data)[keep]
        self.features = self.features[keep].reset_index(drop=True)


class Dock:
    """One film open for one reader, and the controller of its Landmarks dock."""

    def __init__(self, film_path: Path, rater: str = "AB") -> None:
        self.file = film_path.with_name(f"{film_path.stem}.{rater}.landmarks.json")
        tuples = radiograph_layer_data(
            read_radiograph(film_path),
            rater=rater,
            landmark_path=self.file,
            levels=("T10", "L3"),
        )
        self.film = Film(tuples[0][1]["name"], tuples[0][1]["metadata"])
        self.layer = None
        if len(tuples) > 1:
            data, kwargs, _ = tuples[1]
            self.layer = Layer(np.asarray(data), kwargs["features"], kwargs["metadata"])
        self.ctl = LandmarksController(lambda _layer: self.film)
        if self.layer is not None:
            self.ctl.attach(self.layer)

    def start(self) -> Layer:
        """Press 'Place landmarks': a new layer with the fields' header (as the view does)."""
        if self.layer is None:
            meta = self.film.metadata[KEY]
            header = self.ctl.new_header(self.film, {**FIELDS, "rater": meta["rater"]})
            data, kwargs, _ = landmark_layer_data(header, meta, name="lm", path=str(self.file))
            kwargs["metadata"][KEY]["levels"] = list(level_range(*meta["levels"]))
            self.layer = Layer(
                np.asarray(data).reshape(-1, 2), kwargs["features"], kwargs["metadata"]
            )
            self.ctl.attach(self.layer)
        self.ctl.ensure_target(self.layer)
        return self.layer

    def change(self, *, save: bool = True) -> Message | None:
        """After a finished change the view autosaves; return what it would say."""
        return self.ctl.autosave(self.layer)[1] if save else None


@pytest.fixture
def truth():
    return read_landmarks(SAMPLE / "P001" / "pre.landmarks.json")


@pytest.fixture
def film(tmp_path) -> Path:
    """The sample pre-operative film alone in a patient folder (no landmark file)."""
    path = tmp_path / "P001" / "pre.dcm"
    path.parent.mkdir()
    shutil.copyfile(SAMPLE / "P001" / "pre.dcm", path)
    return path


def test_the_controller_loads_neither_napari_nor_qt():
    code = (
        "import sys, napari_kyphoimg._landmarks_controller\n"
        "gui = ('napari', 'qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'magicgui', 'vispy')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in gui))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_36_points_of_a_film_in_plan_order_reach_the_file(film, truth):
    dock = Dock(film)
    layer = dock.start()
    plan = placement_plan(truth.levels, "6pt")
    assert len(plan) == 36
    guide = dock.ctl.guide(layer)
    assert guide.text == "Next: T10 · anterior superior corner"
    assert guide.progress == "0 of 36 points placed"
    for k, (level, point) in enumerate(plan):
        assert dock.ctl.target(layer) == (level, point)
        assert dock.ctl.place(layer, truth.points[level][point]) == (level, point)
        said = dock.change()
        assert said == Message(f"Saved {dock.file.name} in {dock.file.parent}", "ok")
        assert dock.ctl.guide(layer).progress == f"{k + 1} of 36 points placed"
    assert dock.ctl.target(layer) is None
    assert dock.ctl.guide(layer).text.startswith("All 36 points placed")
    on_disk = read_landmarks(dock.file)
    assert on_disk.rater == "AB"
    assert on_disk.levels == truth.levels
    for level in truth.levels:
        for point, rc in truth.points[level].items():
            assert np.allclose(on_disk.points[level][point], rc)
    assert dock.ctl.problems(layer)[1] == []


def test_undo_and_redo_take_back_and_bring_back_a_point_on_disk(film, truth):
    dock = Dock(film)
    layer = dock.start()
    assert dock.ctl.undo(layer) == (False, Message("Nothing to undo.", "muted"))
    for point in ("ant_sup", "mid_sup", "post_sup"):
        dock.ctl.place(layer, truth.points["T10"][point])
        dock.change()
    assert dock.ctl.target(layer) == ("T10", "ant_inf")
    assert dock.ctl.undo(layer) == (True, Message("Undone.", "muted"))
    dock.change()
    assert dock.ctl.target(layer) == ("T10", "post_sup")
    assert dock.ctl.guide(layer).text == "Next: T10 · posterior superior corner"
    assert set(read_landmarks(dock.file, validate=False).points["T10"]) == {"ant_sup", "mid_sup"}
    assert dock.ctl.undo(layer, redo=True) == (True, Message("Redone.", "muted"))
    dock.change()
    assert dock.ctl.target(layer) == ("T10", "ant_inf")
    back = read_landmarks(dock.file, validate=False).points["T10"]
    assert np.allclose(back["post_sup"], truth.points["T10"]["post_sup"])
    assert dock.ctl.undo(layer, redo=True)[1] == Message("Nothing to redo.", "muted")


def test_a_moved_and_a_re_placed_point_are_what_the_file_holds(film, truth):
    dock = Dock(film)
    layer = dock.start()
    for point in ("ant_sup", "mid_sup", "post_sup"):
        dock.ctl.place(layer, truth.points["T10"][point])
    dock.ctl.move(layer, 1, (101.0, 202.0))  # a drag of T10 mid_sup released
    dock.change()
    on_disk = read_landmarks(dock.file, validate=False).points["T10"]
    assert on_disk["mid_sup"] == pytest.approx((101.0, 202.0))
    assert on_disk["ant_sup"] == pytest.approx(truth.points["T10"]["ant_sup"])
    # Shift+N twice: the target goes back to a placed point, which a click re-places.
    dock.ctl.step(layer, -1)
    dock.ctl.step(layer, -1)
    assert (
        dock.ctl.guide(layer).text
        == "Re-place: T10 · superior endplate midpoint (click its new position)"
    )
    dock.ctl.place(layer, (111.0, 222.0))
    dock.change()
    assert len(layer.data) == 3  # the old row went
    assert dock.ctl.target(layer) == ("T10", "ant_inf")
    assert read_landmarks(dock.file, validate=False).points["T10"]["mid_sup"] == pytest.approx(
        (111.0, 222.0)
    )
    assert dock.ctl.undo(layer)[0]
    dock.change()
    assert read_landmarks(dock.file, validate=False).points["T10"]["mid_sup"] == pytest.approx(
        (101.0, 202.0)
    )


def test_accept_vertebra_confirms_the_target_levels_proposal_only(film, truth):
    dock = Dock(film)
    layer = dock.start()
    for level, point in placement_plan(("T10", "T11"), "6pt"):
        dock.ctl.place(layer, truth.points[level][point])
    proposal = SimpleNamespace(
        landmarks=truth.replace(points={lv: truth.points[lv] for lv in ("T12", "L1")}),
        confidence={},
        needs_review={},
        method="propagate",
    )
    ls = mark_proposed(dock.ctl.problems(layer)[0], proposal)
    dock.ctl.put_set(layer, ls, history="push")
    dock.change()
    assert set(unconfirmed(read_landmarks(dock.file, validate=False))) == {"T12", "L1"}
    assert dock.ctl.target(layer) == ("L2", "ant_sup")  # proposed points count as placed
    dock.ctl.step(layer, -1)  # the target is now L1's last point: A accepts L1
    assert dock.ctl.accept(layer) == Message("Accepted the proposed points of L1.", "ok")
    dock.change()
    assert set(unconfirmed(read_landmarks(dock.file, validate=False))) == {"T12"}
    assert set(dock.ctl.proposed(layer)) == {"T12"}
    # Nothing proposed at the target's level: A accepts what is proposed anywhere.
    assert dock.ctl.accept(layer) == Message(
        "Accepted the proposed points of every vertebra.", "ok"
    )
    dock.change()
    assert unconfirmed(read_landmarks(dock.file, validate=False)) == {}
    # Undo takes the proposals back: the file then holds the reader's two vertebrae.
    assert dock.ctl.undo(layer)[0]
    dock.change()
    assert set(read_landmarks(dock.file, validate=False).points) == {"T10", "T11"}


def test_the_rater_of_a_file_with_points_cannot_be_rewritten(film, truth):
    mine = film.with_name("pre.AB.landmarks.json")
    write_landmarks(truth.replace(rater="AB", points={"T10": truth.points["T10"]}), mine)
    before = mine.read_bytes()
    dock = Dock(film)
    fields = dock.ctl.film_fields(dock.film, dock.layer, ())
    assert fields.rater == "AB"
    assert not fields.rater_enabled  # a reading session names the reader
    refused = dock.ctl.set_field(dock.layer, "rater", "CD")
    assert refused is not None
    assert refused.restore == "AB"  # the control shows the file's rater again
    assert refused.message.kind == "error"
    assert refused.message.text.startswith("The rater of a file with points never changes (AB)")
    assert dock.ctl.problems(dock.layer)[0].rater == "AB"
    assert mine.read_bytes() == before
    # Other fields still write their own value, and only it.
    assert dock.ctl.set_field(dock.layer, "patient_id", " P777 ") is None
    dock.change()
    after = read_landmarks(mine, validate=False)
    assert (after.rater, after.patient_id) == ("AB", "P777")
    assert (
        after.points
        == read_landmarks(SAMPLE / "P001" / "pre.landmarks.json")
        .replace(points={"T10": truth.points["T10"]})
        .points
    )


def test_a_rater_id_that_is_not_valid_is_refused_with_its_reason(film):
    dock = Dock(film)
    layer = dock.start()
    layer.metadata[KEY]["header"]["rater"] = None
    refused = dock.ctl.set_field(layer, "rater", "A/B")
    assert refused is not None
    assert refused.restore is None
    assert refused.message.text.startswith("Not saved:")
    assert dock.ctl.set_field(layer, "rater", " CD ") is None
    assert dock.ctl.problems(layer)[0].rater == "CD"  # a file without points takes it


def test_a_file_changed_on_disk_since_loading_is_not_overwritten(film, truth):
    mine = film.with_name("pre.AB.landmarks.json")
    write_landmarks(truth.replace(rater="AB", points={"T10": truth.points["T10"]}), mine)
    dock = Dock(film)
    layer = dock.ctl.ensure_target(dock.layer) and dock.layer
    assert dock.ctl.target(layer) == ("T11", "ant_sup")
    # Another session saves the same reader's file meanwhile.
    other = read_landmarks(mine, validate=False)
    write_landmarks(other.replace(points={**other.points, "L3": truth.points["L3"]}), mine)
    theirs = mine.read_bytes()
    dock.ctl.place(layer, truth.points["T11"]["ant_sup"])
    said = dock.change()
    assert mine.read_bytes() == theirs
    (beside,) = sorted(mine.parent.glob("pre.AB.landmarks.json.conflict-*"))
    assert said.kind == "error"
    assert said.text.startswith("Not saved over the file")
    assert beside.name in said.text
    assert layer.metadata[KEY]["path"] == str(beside)
    assert set(read_landmarks(beside, validate=False).points) == {"T10", "T11"}
    # The next change goes to the same file beside, never over the other session's.
    dock.ctl.place(layer, truth.points["T11"]["mid_sup"])
    assert dock.change().text.startswith(f"Saved {beside.name}")
    assert mine.read_bytes() == theirs
    assert len(list(mine.parent.glob("pre.AB.landmarks.json.conflict-*"))) == 1
    assert len(read_landmarks(beside, validate=False).points["T11"]) == 2


def test_a_film_whose_file_cannot_be_read_is_read_only(film, truth):
    mine = film.with_name("pre.AB.landmarks.json")
    mine.write_text('{"format": "kyphoimg-landmarks/1", "points": [', encoding="utf-8")
    before = mine.read_bytes()
    dock = Dock(film)
    assert dock.layer is None  # the file is refused, not shown
    said = dock.ctl.status(dock.film, None, None)
    assert said.kind == "error"
    assert said.text.startswith("read-only: the landmark file pre.AB.landmarks.json cannot be read")
    assert "Repair" in said.text
    assert dock.ctl.film_fields(dock.film, None, ()).read_only == said.text
    # Even a layer made anyway saves nothing: the save is refused and the file kept.
    layer = dock.start()
    dock.ctl.place(layer, truth.points["T10"]["ant_sup"])
    saved, said = dock.ctl.autosave(layer)
    assert saved is None
    assert said.kind == "error"
    assert said.text.startswith("Autosave failed:")
    assert "not saved, read-only" in said.text
    with pytest.raises(LandmarkError, match="not saved, read-only"):
        dock.ctl.save(layer)
    assert mine.read_bytes() == before
    assert json.loads(json.dumps(sorted(p.name for p in film.parent.iterdir()))) == [
        "pre.AB.landmarks.json",
        "pre.dcm",
    ]


def test_the_check_line_lists_what_the_command_line_would_refuse(film, truth):
    dock = Dock(film)
    layer = dock.start()
    dock.ctl.place(layer, truth.points["T10"]["ant_sup"])
    assert dock.ctl.problems(layer)[1] == []
    dock.ctl.place(layer, (-40.0, -60.0))  # mid_sup off the film
    _, problems = dock.ctl.problems(layer)
    text = check_text(problems)
    assert len(problems) == 1
    assert "mid_sup" in text
    assert text.startswith("Check: ")
    assert str(problems[0]) in text
    assert check_text([]) == ""
    assert dock.ctl.status(dock.film, layer, None) == Message(
        "This landmark file has problems (listed above); fix them here.", "error"
    )


def test_delete_takes_the_selected_point_else_the_targets_and_the_guide_goes_back(film, truth):
    dock = Dock(film)
    layer = dock.start()
    for point in ("ant_sup", "mid_sup", "post_sup"):
        dock.ctl.place(layer, truth.points["T10"][point])
    assert dock.ctl.delete_rows(layer) == []  # the target (ant_inf) is not placed yet
    layer.selected_data = {1}
    assert dock.ctl.delete_rows(layer) == [1]
    dock.ctl.delete(layer, [1])
    dock.change()
    assert dock.ctl.target(layer) == ("T10", "mid_sup")
    assert dock.ctl.guide(layer).text == "Next: T10 · superior endplate midpoint"
    assert set(read_landmarks(dock.file, validate=False).points["T10"]) == {"ant_sup", "post_sup"}
    layer.selected_data = set()
    dock.ctl.step(layer, +1)  # the target is the placed post_sup: Delete takes it
    assert dock.ctl.delete_rows(layer) == [1]
    dock.ctl.delete(layer, dock.ctl.delete_rows(layer))
    dock.change()
    assert set(read_landmarks(dock.file, validate=False).points["T10"]) == {"ant_sup"}
    assert dock.ctl.target(layer) == ("T10", "post_sup")
