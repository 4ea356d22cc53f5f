"""Tests for kyphoimg.landmarks: the JSON and flat CSV landmark files and their validation.

Valid landmark sets come from :func:`kyphoimg.sample.phantom.lateral_phantom`, whose geometry is
known from its construction parameters (heights in mm, disc angles, depth 34 mm); invalid
files are made by changing one thing in a valid file. Every validation error is checked
for its message (file, level, point) and for the attributes of the ``LandmarkError``.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kyphoimg.calibration import Calibration
from kyphoimg.errors import KyphoimgError, LandmarkError
from kyphoimg.landmarks import (
    SCHEMA,
    ImageRef,
    LandmarkSet,
    read_landmarks,
    read_landmarks_csv,
    validate_landmarks,
    write_landmarks,
    write_landmarks_csv,
)
from kyphoimg.measure import (
    cobb_angle,
    gardner_angle,
    kyphotic_angle,
    measures_table,
    vertebral_heights,
    wedge_angle,
)
from kyphoimg.sample.phantom import lateral_phantom

LEVELS5 = ("T11", "T12", "L1", "L2", "L3")
CSV_HEADER = (
    "patient_id,timepoint,image,level,point,row,col,rater,"
    "scheme,row_mm,col_mm,spacing_source,index_level"
)


# --------------------------------------------------------------------------- helpers
def phantom_set(**kwargs: Any) -> LandmarkSet:
    """A valid lateral landmark set (defaults: T11-L3, facing right, 6pt, 0.15 mm)."""
    return lateral_phantom(**kwargs).landmarks


def as_file_dict(ls: LandmarkSet) -> dict[str, Any]:
    """The landmark-file dictionary of ``ls``, built by hand (not by the module's writer)."""
    cal = ls.calibration
    return {
        "schema": "kyphoimg-landmarks/1",
        "patient_id": ls.patient_id,
        "timepoint": ls.timepoint,
        "image": {"path": "pre.dcm", "rows": ls.image.rows, "columns": ls.image.columns},
        "calibration": {"row_mm": cal.row_mm, "col_mm": cal.col_mm, "source": cal.source},
        "scheme": ls.scheme,
        "index_levels": list(ls.index_levels),
        "rater": ls.rater,
        "updated": "2026-01-31T09:30:00Z",
        "points": {lv: {n: [r, c] for n, (r, c) in pts.items()} for lv, pts in ls.points.items()},
        "findings": {lv: dict(f) for lv, f in ls.findings.items()},
    }


def dump(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def swapped(points: dict[str, list[float]], a: str, b: str) -> dict[str, list[float]]:
    """Exchange the labels ``a*`` and ``b*`` (e.g. ``ant_`` and ``post_``) of one vertebra."""
    out = {}
    for name, value in points.items():
        if name.startswith(a):
            out[b + name[len(a) :]] = value
        elif name.startswith(b):
            out[a + name[len(b) :]] = value
        else:
            out[name] = value
    return out


def swap_set(ls: LandmarkSet, level: str, a: str, b: str) -> LandmarkSet:
    pts = {lv: dict(p) for lv, p in ls.points.items()}
    pts[level] = swapped(pts[level], a, b)
    return ls.replace(points=pts)


def drop_points(ls: LandmarkSet, *pairs: tuple[str, str]) -> LandmarkSet:
    pts = {lv: dict(p) for lv, p in ls.points.items()}
    for level, name in pairs:
        del pts[level][name]
    return ls.replace(points=pts)


def ap4_points(levels: tuple[str, ...]) -> dict[str, dict[str, list[float]]]:
    """Coronal boxes 40 px high, 100 px wide, one every 60 px down the image."""
    out = {}
    for i, lv in enumerate(levels):
        top = 100.0 + 60.0 * i
        out[lv] = {
            "left_sup": [top, 100.0],
            "right_sup": [top, 200.0],
            "left_inf": [top + 40.0, 100.0],
            "right_inf": [top + 40.0, 200.0],
        }
    return out


def assert_names(exc: LandmarkError, path: Path, level: str | None, point: str | None) -> None:
    """The error names the file, level and point in its attributes and in its message."""
    msg = str(exc)
    assert exc.file == str(path)
    assert msg.startswith(str(path))
    assert exc.level == level
    assert exc.point == point
    if level is not None:
        assert f"level {level}" in msg
    if point is not None:
        assert f"point {point}" in msg


# --------------------------------------------------------------------------- JSON round trips
def test_json_round_trip_is_exact(tmp_path: Path) -> None:
    ls = phantom_set(
        facing="left",
        rotation_deg=7.0,
        spacing=(0.16, 0.13),
        source="ermf",
        index_levels=["L1"],
        findings={"L1": {"ivc": "yes", "npec": "superior", "cement_leakage": "no"}},
        image_path="P001/pre.dcm",
    ).replace(updated="2026-01-31T09:30:00Z")
    first = write_landmarks(ls, tmp_path / "a.landmarks.json", touch=False)
    back = read_landmarks(first)
    assert back == ls
    # Every coordinate bit for bit, not just approximately.
    for level, pts in ls.points.items():
        for name, (r, c) in pts.items():
            assert back.point(level, name) == (r, c)
    assert back.calibration == Calibration(0.16, 0.13, "ermf")
    assert back.index_levels == ("L1",)
    assert dict(back.findings["L1"]) == {"ivc": "yes", "npec": "superior", "cement_leakage": "no"}
    assert back.image == ImageRef(path="P001/pre.dcm", rows=ls.image.rows, columns=ls.image.columns)
    assert back.source == str(first)
    # A second save of what was read gives the same bytes.
    second = write_landmarks(back, tmp_path / "b.landmarks.json", touch=False)
    assert second.read_bytes() == first.read_bytes()


def test_json_uncalibrated_round_trip(tmp_path: Path) -> None:
    ls = phantom_set(source="none", scheme="4pt")
    back = read_landmarks(write_landmarks(ls, tmp_path / "x.landmarks.json", touch=False))
    assert back == ls
    assert back.calibration.source == "none"
    assert json.loads((tmp_path / "x.landmarks.json").read_text())["calibration"] == {
        "row_mm": None,
        "col_mm": None,
        "source": "none",
    }


def test_unknown_keys_survive_load_save_load(tmp_path: Path) -> None:
    data = as_file_dict(phantom_set(index_levels=["L1"]))
    data["study"] = {"arm": "PKP", "visit": 3}
    data["position"] = "standing"
    data["image"]["view"] = "lateral"
    data["image"]["kvp"] = 85
    data["calibration"] = {
        "row_mm": 0.15,
        "col_mm": 0.15,
        "source": "ermf",
        "ermf": 1.12,
        "note": "divided by ERMF",
    }
    data["findings"] = {"L1": {"ivc": "yes", "comment": "cleft at the superior endplate"}}
    src = dump(tmp_path / "in.landmarks.json", data)

    ls = read_landmarks(src)
    assert ls.extra == {"study": {"arm": "PKP", "visit": 3}, "position": "standing"}
    assert ls.image.extra == {"view": "lateral", "kvp": 85}
    assert ls.calibration_extra == {"ermf": 1.12, "note": "divided by ERMF"}
    out = write_landmarks(ls, tmp_path / "out.landmarks.json", touch=False)
    assert json.loads(out.read_text(encoding="utf-8")) == data
    again = read_landmarks(out)
    assert again == ls
    assert again.extra["study"] == {"arm": "PKP", "visit": 3}
    assert dict(again.findings["L1"]) == {"ivc": "yes", "comment": "cleft at the superior endplate"}


def test_reading_does_not_modify_the_file(tmp_path: Path) -> None:
    src = dump(tmp_path / "in.landmarks.json", as_file_dict(phantom_set()))
    before = (src.read_bytes(), src.stat().st_mtime_ns)
    read_landmarks(src)
    assert (src.read_bytes(), src.stat().st_mtime_ns) == before


def test_design_example_file_reads(tmp_path: Path) -> None:
    text = """{
      "schema": "kyphoimg-landmarks/1",
      "patient_id": "P001",
      "timepoint": "pre",
      "image": {"path": "P001/pre.dcm", "sop_instance_uid": "1.2.3", "rows": 1400, "columns": 1000},
      "calibration": {"row_mm": 0.15, "col_mm": 0.15, "source": "detector"},
      "scheme": "6pt",
      "index_levels": ["L1"],
      "rater": "reader1",
      "updated": "2026-01-31T09:30:00Z",
      "points": {
        "T12": {"ant_sup": [512.0, 300.5], "mid_sup": [508.2, 380.0], "post_sup": [505.0, 460.1],
                "ant_inf": [612.3, 298.0], "mid_inf": [610.0, 379.5], "post_inf": [608.8, 461.0]},
        "L1":  {"ant_sup": [652.0, 302.0], "mid_sup": [655.1, 381.0], "post_sup": [641.7, 462.3],
                "ant_inf": [735.4, 300.2], "mid_inf": [741.0, 380.8], "post_inf": [820.9, 463.5]}
      },
      "findings": {"L1": {"ivc": "yes", "npec": "superior", "cement_leakage": "no"}}
    }"""
    path = tmp_path / "P001_pre.landmarks.json"
    path.write_text(text, encoding="utf-8")
    ls = read_landmarks(path)
    assert (ls.patient_id, ls.timepoint, ls.rater, ls.scheme) == ("P001", "pre", "reader1", "6pt")
    assert ls.image == ImageRef(
        path="P001/pre.dcm", sop_instance_uid="1.2.3", rows=1400, columns=1000
    )
    assert ls.calibration == Calibration(0.15, 0.15, "detector")
    assert ls.index_levels == ("L1",)
    assert ls.levels == ("T12", "L1")
    assert ls.point("L1", "post_inf") == (820.9, 463.5)
    assert ls.updated == "2026-01-31T09:30:00Z"


def test_minimal_file_gets_documented_defaults(tmp_path: Path) -> None:
    box = {"ant_sup": [0, 30], "post_sup": [0, 0], "ant_inf": [20, 30], "post_inf": [25, 0]}
    path = dump(tmp_path / "m.landmarks.json", {"schema": SCHEMA, "points": {"L1": box}})
    ls = read_landmarks(path)
    assert ls.scheme == "6pt"
    assert ls.calibration.source == "none"
    assert ls.index_levels == ()
    assert (ls.patient_id, ls.timepoint, ls.rater, ls.updated) == (None, None, None, None)
    assert ls.point("L1", "post_inf") == (25.0, 0.0)


def test_touch_false_keeps_updated(tmp_path: Path) -> None:
    ls = phantom_set().replace(updated="2020-05-06T07:08:09Z")
    path = write_landmarks(ls, tmp_path / "a.landmarks.json", touch=False)
    assert json.loads(path.read_text())["updated"] == "2020-05-06T07:08:09Z"
    assert read_landmarks(path).updated == "2020-05-06T07:08:09Z"


def test_touch_sets_updated_to_now_in_utc(tmp_path: Path) -> None:
    ls = phantom_set().replace(updated="2020-05-06T07:08:09Z")
    before = datetime.now(UTC).replace(microsecond=0)
    path = write_landmarks(ls, tmp_path / "a.landmarks.json")
    after = datetime.now(UTC)
    stamp = json.loads(path.read_text())["updated"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= when <= after
    assert ls.updated == "2020-05-06T07:08:09Z"  # the set itself is unchanged (frozen)


# --------------------------------------------------------------------------- atomic writes
def _boom(*args: Any, **kwargs: Any) -> None:
    raise OSError("simulated failure")


@pytest.mark.parametrize(
    "patched",
    [pytest.param("replace", id="rename-fails"), pytest.param("fsync", id="fails-midway")],
)
@pytest.mark.parametrize("form", ["json", "csv"])
def test_failed_save_keeps_original_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, patched: str, form: str
) -> None:
    target = tmp_path / ("a.landmarks.json" if form == "json" else "a.landmarks.csv")
    target.write_text("ORIGINAL CONTENT\n", encoding="utf-8")
    monkeypatch.setattr(os, patched, _boom)
    ls = phantom_set()
    save = write_landmarks if form == "json" else lambda s, p: write_landmarks_csv([s], p)
    with pytest.raises(OSError, match="simulated failure"):
        save(ls, target)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "ORIGINAL CONTENT\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_successful_save_leaves_only_the_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.landmarks.json"
    write_landmarks(phantom_set(), target)
    write_landmarks_csv([phantom_set()], tmp_path / "sub" / "a.landmarks.csv")
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == [
        "a.landmarks.csv",
        "a.landmarks.json",
    ]


def test_saved_file_permissions_follow_umask(tmp_path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    path = write_landmarks(phantom_set(), tmp_path / "a.landmarks.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


# --------------------------------------------------------------------------- validation: content
def _rename_point(level: str, old: str, new: str):
    def mutate(d: dict[str, Any]) -> None:
        d["points"][level][new] = d["points"][level].pop(old)

    return mutate


def _set_point(level: str, name: str, value: Any):
    def mutate(d: dict[str, Any]) -> None:
        d["points"][level][name] = value

    return mutate


def _set(key: str, value: Any):
    def mutate(d: dict[str, Any]) -> None:
        d[key] = value

    return mutate


def _add_level(level: str, points: dict[str, list[float]]):
    def mutate(d: dict[str, Any]) -> None:
        d["points"][level] = points

    return mutate


def _ap4_with(level: str, name: str):
    def mutate(d: dict[str, Any]) -> None:
        d["scheme"] = "ap4"
        d["points"] = ap4_points(("T12", "L1", "L2"))
        d["points"][level][name] = [d["points"][level]["left_sup"][0], 150.0]

    return mutate


def _s1_with(name: str):
    def mutate(d: dict[str, Any]) -> None:
        r, c = d["points"]["S1"]["ant_sup"]
        d["points"]["S1"][name] = [r + 150.0, c]

    return mutate


def _rows_beyond(delta: float):
    def mutate(d: dict[str, Any]) -> None:
        d["points"]["L2"]["post_inf"][0] = d["image"]["rows"] - 0.5 + delta

    return mutate


CONTENT_ERRORS = [
    pytest.param(
        {},
        _add_level("X9", {"ant_sup": [300.0, 400.0]}),
        "unknown level",
        "X9",
        None,
        id="level-X9",
    ),
    pytest.param(
        {},
        lambda d: d["points"].__setitem__("l1", d["points"].pop("L1")),
        r"unknown level; levels are C2-C7, T1-T12, L1-L5 and S1",
        "l1",
        None,
        id="level-lowercase",
    ),
    pytest.param(
        {},
        _rename_point("L1", "ant_sup", "anterior_sup"),
        r"unknown point name for this level; scheme 6pt uses ant_sup, mid_sup",
        "L1",
        "anterior_sup",
        id="point-name",
    ),
    pytest.param(
        {"scheme": "4pt"},
        _set_point("L2", "mid_sup", [400.0, 500.0]),
        r"scheme 4pt uses ant_sup, post_sup, ant_inf, post_inf",
        "L2",
        "mid_sup",
        id="6pt-point-on-4pt-set",
    ),
    pytest.param(
        {"levels": ("L4", "L5", "S1")},
        _s1_with("ant_inf"),
        r"S1 takes its superior endplate points only",
        "S1",
        "ant_inf",
        id="S1-ant_inf",
    ),
    pytest.param(
        {"levels": ("L4", "L5", "S1")},
        _s1_with("mid_inf"),
        r"S1 takes its superior endplate points only",
        "S1",
        "mid_inf",
        id="S1-mid_inf",
    ),
    pytest.param(
        {},
        _ap4_with("L1", "ant_sup"),
        r"scheme ap4 uses left_sup, right_sup, left_inf, right_inf",
        "L1",
        "ant_sup",
        id="ap4-ant_sup",
    ),
    pytest.param(
        {},
        _ap4_with("L2", "mid_inf"),
        r"scheme ap4 uses left_sup",
        "L2",
        "mid_inf",
        id="ap4-mid_inf",
    ),
    pytest.param(
        {},
        _set("scheme", "5pt"),
        r"unknown scheme '5pt'; use one of 6pt, 4pt, ap4",
        None,
        None,
        id="scheme",
    ),
    pytest.param(
        {},
        _set("index_levels", ["L9"]),
        r"index level 'L9' is not a level name",
        "L9",
        None,
        id="index-level",
    ),
    pytest.param(
        {},
        _set_point("L1", "post_inf", [math.nan, 500.0]),
        r"is not finite",
        "L1",
        "post_inf",
        id="nan",
    ),
    pytest.param(
        {},
        _set_point("T12", "mid_sup", [400.0, math.inf]),
        r"\(400.0, inf\) is not finite",
        "T12",
        "mid_sup",
        id="inf",
    ),
    pytest.param(
        {},
        _set_point("L3", "ant_sup", [-math.inf, 400.0]),
        r"is not finite",
        "L3",
        "ant_sup",
        id="minus-inf",
    ),
    pytest.param(
        {},
        _rows_beyond(1e-6),
        r"lies outside the \d+x\d+ image",
        "L2",
        "post_inf",
        id="outside-rows",
    ),
    pytest.param(
        {},
        _set_point("T11", "ant_sup", [200.0, -0.6]),
        r"\(row 200, col -0.6\) lies outside the \d+x\d+ image; re-place the point",
        "T11",
        "ant_sup",
        id="outside-col",
    ),
    pytest.param(
        {},
        _set("findings", {"L1": {"ivc": "maybe"}}),
        r"finding ivc='maybe' is not one of yes, no, not_assessable",
        "L1",
        None,
        id="finding-value",
    ),
    pytest.param(
        {},
        _set("findings", {"L1": {"npec": "top"}}),
        r"finding npec='top' is not one of no, superior, inferior, both, not_assessable",
        "L1",
        None,
        id="finding-npec",
    ),
    pytest.param(
        {},
        _set("findings", {"Q1": {"ivc": "yes"}}),
        r"findings given for an unknown level",
        "Q1",
        None,
        id="finding-level",
    ),
    pytest.param(
        {},
        _set_point("L1", "ant_sup", [1.0]),
        r"expected \[row, col\]",
        "L1",
        "ant_sup",
        id="point-one-number",
    ),
    pytest.param(
        {},
        _set_point("L1", "ant_sup", ["a", "b"]),
        r"are not numbers",
        "L1",
        "ant_sup",
        id="point-text",
    ),
    pytest.param(
        {},
        _set_point("L1", "ant_sup", None),
        r"expected \[row, col\], got None",
        "L1",
        "ant_sup",
        id="point-null",
    ),
    pytest.param(
        {},
        _set("calibration", {"row_mm": 0.15, "col_mm": 0.15}),
        r"calibration: calibration object has no 'source'",
        None,
        None,
        id="calibration-no-source",
    ),
    pytest.param(
        {},
        _set("calibration", {"row_mm": -0.1, "col_mm": 0.15, "source": "detector"}),
        r"row_mm=-0.1 is not a positive finite spacing",
        None,
        None,
        id="calibration-negative",
    ),
]


@pytest.mark.parametrize(("phantom", "mutate", "match", "level", "point"), CONTENT_ERRORS)
def test_invalid_content_is_refused_naming_file_level_point(
    tmp_path: Path, phantom: dict, mutate, match: str, level: str | None, point: str | None
) -> None:
    data = as_file_dict(phantom_set(**phantom))
    mutate(data)
    path = dump(tmp_path / "bad.landmarks.json", data)
    with pytest.raises(LandmarkError, match=match) as info:
        read_landmarks(path)
    assert_names(info.value, path, level, point)


@pytest.mark.parametrize(
    ("corner", "delta", "valid"),
    [
        pytest.param("min", 0.0, True, id="top-left-edge-accepted"),
        pytest.param("max", 0.0, True, id="bottom-right-edge-accepted"),
        pytest.param("min", -1e-6, False, id="just-above-top-left"),
        pytest.param("max", 1e-6, False, id="just-beyond-bottom-right"),
    ],
)
@pytest.mark.parametrize("axis", [0, 1], ids=["row", "col"])
def test_image_edge_is_half_a_pixel_beyond_the_outer_pixel_centres(
    tmp_path: Path, corner: str, delta: float, valid: bool, axis: int
) -> None:
    ls = phantom_set()
    rows, cols = ls.image.rows, ls.image.columns
    size = (rows, cols)[axis]
    flat = [(lv, n, p) for lv, pts in ls.points.items() for n, p in pts.items()]
    pick = min if corner == "min" else max
    level, name, _ = pick(flat, key=lambda t: t[2][axis])
    extreme = pick(p[axis] for _, _, p in flat)
    # Translate along one axis so that the extreme point lies exactly on the edge (+ delta).
    edge = -0.5 if corner == "min" else size - 0.5
    data = as_file_dict(ls)
    for pts in data["points"].values():
        for p in pts.values():
            p[axis] = p[axis] - extreme + edge
    data["points"][level][name][axis] += delta
    assert data["points"][level][name][axis] == edge + delta
    path = dump(tmp_path / "edge.landmarks.json", data)
    if valid:
        assert read_landmarks(path).point(level, name)[axis] == edge
    else:
        with pytest.raises(LandmarkError, match=rf"lies outside the {rows}x{cols} image") as info:
            read_landmarks(path)
        assert_names(info.value, path, level, name)


def test_points_outside_are_accepted_when_image_size_is_unknown(tmp_path: Path) -> None:
    data = as_file_dict(phantom_set())
    data["image"] = {"path": "pre.dcm"}
    data["points"]["T11"]["ant_sup"][1] = -40.0
    ls = read_landmarks(dump(tmp_path / "a.landmarks.json", data))
    assert ls.point("T11", "ant_sup")[1] == -40.0


# --------------------------------------------------------------------------- orientation
@pytest.mark.parametrize(
    ("levels", "facing", "rotation"),
    [
        pytest.param(LEVELS5, "right", 0.0, id="five-right"),
        pytest.param(LEVELS5, "left", 25.0, id="five-left-rotated"),
        pytest.param(("L1",), "right", 0.0, id="single-right"),
        pytest.param(("L1",), "left", -30.0, id="single-left-rotated"),
    ],
)
def test_superior_below_inferior_names_that_vertebra(
    tmp_path: Path, levels: tuple[str, ...], facing: str, rotation: float
) -> None:
    target = "L1"
    data = as_file_dict(phantom_set(levels=levels, facing=facing, rotation_deg=rotation))
    data["points"][target] = swapped(data["points"][target], "ant_sup", "ant_inf")
    data["points"][target] = swapped(data["points"][target], "mid_sup", "mid_inf")
    data["points"][target] = swapped(data["points"][target], "post_sup", "post_inf")
    path = dump(tmp_path / "si.landmarks.json", data)
    with pytest.raises(
        LandmarkError, match=r"superior points lie caudal to \(below\) the inferior points"
    ) as info:
        read_landmarks(path)
    assert_names(info.value, path, target, None)
    others = [lv for lv in levels if lv != target]
    assert not any(f"level {lv}" in str(info.value) for lv in others)
    assert "more:" not in str(info.value)  # that vertebra only


@pytest.mark.parametrize(
    ("facing", "rotation", "scheme", "target"),
    [
        pytest.param("right", 0.0, "6pt", "L2", id="right-6pt-L2"),
        pytest.param("left", 0.0, "6pt", "T11", id="left-6pt-first"),
        pytest.param("left", 40.0, "4pt", "L3", id="left-rot40-4pt-last"),
        pytest.param("right", -40.0, "6pt", "L1", id="right-rot-40"),
    ],
)
def test_anterior_posterior_swapped_on_one_of_several_names_only_that_one(
    tmp_path: Path, facing: str, rotation: float, scheme: str, target: str
) -> None:
    data = as_file_dict(phantom_set(facing=facing, rotation_deg=rotation, scheme=scheme))
    data["points"][target] = swapped(data["points"][target], "ant_", "post_")
    path = dump(tmp_path / "ap.landmarks.json", data)
    with pytest.raises(
        LandmarkError, match=r"anterior and posterior points are swapped relative to the other"
    ) as info:
        read_landmarks(path)
    assert_names(info.value, path, target, None)
    assert not any(f"level {lv}" in str(info.value) for lv in LEVELS5 if lv != target)
    assert "more:" not in str(info.value)


def test_anterior_posterior_swapped_on_one_of_two_names_both(tmp_path: Path) -> None:
    data = as_file_dict(phantom_set(levels=("T12", "L1")))
    data["points"]["L1"] = swapped(data["points"]["L1"], "ant_", "post_")
    path = dump(tmp_path / "ap2.landmarks.json", data)
    with pytest.raises(
        LandmarkError, match=r"face opposite ways on T12, L1: one half has them swapped"
    ) as info:
        read_landmarks(path)
    assert_names(info.value, path, None, None)


def test_anterior_posterior_swapped_on_every_vertebra_is_a_left_facing_film(
    tmp_path: Path,
) -> None:
    # Swapping the labels everywhere only mirrors the anatomy: nothing to compare against.
    data = as_file_dict(phantom_set())
    for lv in LEVELS5:
        data["points"][lv] = swapped(data["points"][lv], "ant_", "post_")
    read_landmarks(dump(tmp_path / "all.landmarks.json", data))


@pytest.mark.parametrize("scheme", ["6pt", "4pt"])
@pytest.mark.parametrize("rotation", [-40.0, -15.0, 0.0, 15.0, 40.0])
@pytest.mark.parametrize("facing", ["left", "right"])
def test_films_facing_either_way_and_rotated_are_valid(
    tmp_path: Path, facing: str, rotation: float, scheme: str
) -> None:
    # Ha 22 / Hp 28 mm: if anterior/posterior were inferred from image left/right, a film
    # facing left would report Ha 28.
    ls = phantom_set(
        facing=facing,
        rotation_deg=rotation,
        scheme=scheme,
        heights_mm=(22.0, 25.0, 28.0),
        disc_angle_deg=4.0,
        spacing=(0.16, 0.12),
    )
    path = write_landmarks(ls, tmp_path / "f.landmarks.json", touch=False)
    back = read_landmarks(path)
    validate_landmarks(back)
    table = measures_table([back])
    assert table["ha_mm"].to_list() == pytest.approx([22.0] * 5, abs=1e-9)
    assert table["hp_mm"].to_list() == pytest.approx([28.0] * 5, abs=1e-9)


def test_partially_annotated_vertebrae_are_valid_and_measure_nan_with_reason(
    tmp_path: Path,
) -> None:
    data = as_file_dict(phantom_set(heights_mm=(22.0, 24.0, 28.0)))
    del data["points"]["L1"]["ant_inf"]
    data["points"]["L3"] = {"post_sup": data["points"]["L3"]["post_sup"]}
    ls = read_landmarks(dump(tmp_path / "part.landmarks.json", data))
    validate_landmarks(ls)
    t = measures_table([ls]).set_index("level")
    assert math.isnan(t.loc["L1", "ha_mm"])
    assert t.loc["L1", "hp_mm"] == pytest.approx(28.0, abs=1e-9)
    assert t.loc["L1", "hm_mm"] == pytest.approx(24.0, abs=1e-9)
    assert t.loc["L1", "status"] == "incomplete"
    assert "ant_inf missing" in t.loc["L1", "reason"]
    assert t.loc["L3", "status"] == "incomplete"
    assert math.isnan(t.loc["L3", "hp_mm"])
    assert t.loc["T12", "status"] == "ok"


# --------------------------------------------------------------------------- required points
def test_require_names_the_missing_point(tmp_path: Path) -> None:
    ls = drop_points(phantom_set(), ("L1", "mid_sup")).replace(source=str(tmp_path / "r.json"))
    validate_landmarks(ls, require={"L1": ("ant_sup", "post_sup")})  # present: fine
    with pytest.raises(LandmarkError, match=r"the requested measure needs it") as info:
        validate_landmarks(ls, require={"L1": ("ant_sup", "mid_sup")})
    assert_names(info.value, tmp_path / "r.json", "L1", "mid_sup")
    with pytest.raises(LandmarkError, match=r"level T10, point post_inf: point is missing"):
        validate_landmarks(ls, require={"T10": ("post_inf",)})


def test_in_memory_set_is_named_by_patient_and_timepoint() -> None:
    ls = drop_points(phantom_set(patient_id="P042", timepoint="post"), ("L2", "ant_sup"))
    with pytest.raises(LandmarkError, match=r"^P042 post, level L2, point ant_sup: "):
        validate_landmarks(ls, require={"L2": ("ant_sup",)})


@pytest.mark.parametrize(
    ("func", "args", "drop", "level", "point"),
    [
        pytest.param(vertebral_heights, ("L1",), ("L1", "mid_inf"), "L1", "mid_inf", id="heights"),
        pytest.param(kyphotic_angle, ("L1",), ("T12", "ant_sup"), "T12", "ant_sup", id="ka-upper"),
        pytest.param(kyphotic_angle, ("L1",), ("L2", "post_inf"), "L2", "post_inf", id="ka-lower"),
        pytest.param(gardner_angle, ("L1",), ("L1", "ant_inf"), "L1", "ant_inf", id="gardner"),
        pytest.param(wedge_angle, ("L2",), ("L2", "post_sup"), "L2", "post_sup", id="wedge"),
        pytest.param(cobb_angle, ("T11", "L3"), ("L3", "ant_inf"), "L3", "ant_inf", id="cobb"),
    ],
)
def test_single_value_measures_raise_naming_the_missing_point(
    tmp_path: Path, func, args: tuple[str, ...], drop: tuple[str, str], level: str, point: str
) -> None:
    full = phantom_set()
    path = write_landmarks(drop_points(full, drop), tmp_path / "d.landmarks.json", touch=False)
    ls = read_landmarks(path)  # partially annotated: a valid file
    with pytest.raises(LandmarkError, match=r"point is missing") as info:
        func(ls, *args)
    assert_names(info.value, path, level, point)
    func(full, *args)  # the complete set measures


def test_kyphotic_angle_of_complete_set_matches_construction() -> None:
    # KA(L1) = T12 sup vs L2 inf = 2 discs + the wedges of T12, L1, L2 (Hp - Ha over depth 34).
    ls = phantom_set(heights_mm=(26.0, 25.0, 27.0), disc_angle_deg=3.0, rotation_deg=-12.0)
    expected = 2 * 3.0 + 3 * math.degrees(math.atan2(27.0 - 26.0, 34.0))
    assert kyphotic_angle(ls, "L1") == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("func", "level"),
    [
        pytest.param(kyphotic_angle, "C2", id="ka-C2"),
        pytest.param(gardner_angle, "C2", id="gardner-C2"),
        pytest.param(vertebral_heights, "L9", id="heights-unknown-level"),
    ],
)
def test_single_value_level_errors_name_the_file(tmp_path: Path, func, level: str) -> None:
    path = write_landmarks(phantom_set(), tmp_path / "s.landmarks.json", touch=False)
    ls = read_landmarks(path)
    with pytest.raises(LandmarkError) as info:
        func(ls, level)
    assert info.value.level == level
    assert info.value.file == str(path)


# --------------------------------------------------------------------------- validation: files
def _text(text: str):
    return lambda valid: text.encode("utf-8")


def _replace_first(old: str, new: str):
    def make(valid: str) -> bytes:
        assert old in valid
        return valid.replace(old, new, 1).encode("utf-8")

    return make


def _schema(value: Any):
    def make(valid: str) -> bytes:
        data = json.loads(valid)
        if value is None:
            del data["schema"]
        else:
            data["schema"] = value
        return json.dumps(data).encode("utf-8")

    return make


FILE_ERRORS = [
    pytest.param(
        _schema("kyphoimg-landmarks/2"),
        r"written with schema kyphoimg-landmarks/2, newer than this kyphoimg reads "
        r"\(kyphoimg-landmarks/1\); upgrade kyphoimg to read it",
        id="newer-schema",
    ),
    pytest.param(
        _schema(None),
        r"'schema' is None, expected 'kyphoimg-landmarks/1'; is this a kyphoimg landmark file\?",
        id="missing-schema",
    ),
    pytest.param(
        _schema("labelme/5.0.1"),
        r"'schema' is 'labelme/5.0.1', expected 'kyphoimg-landmarks/1'",
        id="foreign-schema",
    ),
    pytest.param(
        _schema("kyphoimg-landmarks/1.1"),
        r"unreadable schema version in 'kyphoimg-landmarks/1.1'",
        id="unreadable-version",
    ),
    pytest.param(
        _text('{\n  "schema": "kyphoimg-landmarks/1"\n  "scheme": "6pt"\n}\n'),
        r"not valid JSON \(line 3, column 3: Expecting ',' delimiter\)",
        id="json-missing-comma",
    ),
    pytest.param(
        _text('{"schema": "kyphoimg-landmarks/1",\n"points": {\n'),
        r"not valid JSON \(line 3, column 1:",
        id="json-truncated",
    ),
    pytest.param(_text(""), r"not valid JSON \(line 1, column 1:", id="empty-file"),
    pytest.param(_text("[1, 2]"), r"expected a JSON object at the top level", id="json-array"),
    pytest.param(
        lambda valid: valid.replace('"rater": "phantom"', '"rater": "Müller"').encode("latin-1"),
        r"not a UTF-8 text file; is this a landmark file\?",
        id="latin-1",
    ),
    pytest.param(
        lambda valid: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
        r"not a UTF-8 text file",
        id="binary",
    ),
]


@pytest.mark.parametrize(("make", "match"), FILE_ERRORS)
def test_unreadable_files_are_refused_naming_the_file(tmp_path: Path, make, match: str) -> None:
    valid = json.dumps(as_file_dict(phantom_set()), indent=2)
    path = tmp_path / "f.landmarks.json"
    path.write_bytes(make(valid))
    with pytest.raises(LandmarkError, match=match) as info:
        read_landmarks(path)
    assert_names(info.value, path, None, None)


def test_missing_file_is_a_landmark_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.landmarks.json"
    with pytest.raises(LandmarkError, match=r"cannot read the file") as info:
        read_landmarks(path)
    assert_names(info.value, path, None, None)


@pytest.mark.parametrize(
    ("old", "new", "level", "point"),
    [
        pytest.param(
            '"T12": {', '"T12": {"ant_sup": [1.0, 2.0]}, "T12": {', "T12", None, id="level"
        ),
        pytest.param(
            '"ant_sup": [', '"ant_sup": [1.0, 2.0], "ant_sup": [', "T11", "ant_sup", id="point"
        ),
    ],
)
def test_duplicate_json_key_names_level_and_point(
    tmp_path: Path, old: str, new: str, level: str, point: str | None
) -> None:
    text = json.dumps(as_file_dict(phantom_set()))
    path = tmp_path / "dup.landmarks.json"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(LandmarkError) as info:
        read_landmarks(path)
    assert_names(info.value, path, level, point)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(_set("image", "pre.dcm"), id="image-string"),
        pytest.param(lambda d: d["image"].__setitem__("rows", "big"), id="rows-text"),
        pytest.param(_set("calibration", [0.15, 0.15]), id="calibration-list"),
        pytest.param(_set("findings", {"L1": "yes"}), id="findings-string"),
        pytest.param(_set("findings", ["L1"]), id="findings-list"),
        pytest.param(_set("index_levels", 5), id="index-levels-number"),
    ],
)
def test_wrong_json_types_are_landmark_errors(tmp_path: Path, mutate) -> None:
    data = as_file_dict(phantom_set())
    mutate(data)
    path = dump(tmp_path / "t.landmarks.json", data)
    with pytest.raises(LandmarkError) as info:
        read_landmarks(path)
    assert info.value.file == str(path)


def test_validate_false_returns_the_set_and_validation_raises_later(tmp_path: Path) -> None:
    data = as_file_dict(phantom_set())
    data["points"]["L1"]["ant_sup"] = [math.nan, 1.0]
    path = dump(tmp_path / "n.landmarks.json", data)
    ls = read_landmarks(path, validate=False)
    assert math.isnan(ls.point("L1", "ant_sup")[0])
    with pytest.raises(LandmarkError, match=r"level L1, point ant_sup: coordinate"):
        validate_landmarks(ls)


def test_several_problems_report_the_first_and_count_the_rest(tmp_path: Path) -> None:
    data = as_file_dict(phantom_set())
    data["points"]["L1"]["ant_sup"] = [math.nan, 1.0]
    data["points"]["L2"]["foo"] = [1.0, 1.0]
    data["points"]["L3"]["post_inf"] = [1e9, 1.0]
    path = dump(tmp_path / "many.landmarks.json", data)
    with pytest.raises(LandmarkError, match=r"\(and 2 more: ") as info:
        read_landmarks(path)
    msg = str(info.value)
    assert (info.value.level, info.value.point) == ("L1", "ant_sup")
    assert "level L2, point foo" in msg
    assert "level L3, point post_inf" in msg


# --------------------------------------------------------------------------- LandmarkError
def test_landmark_error_attributes_and_message() -> None:
    exc = LandmarkError("place it", file="a.landmarks.json", level="L1", point="ant_sup")
    assert (exc.file, exc.level, exc.point, exc.message) == (
        "a.landmarks.json",
        "L1",
        "ant_sup",
        "place it",
    )
    assert str(exc) == "a.landmarks.json, level L1, point ant_sup: place it"
    assert str(LandmarkError("bare")) == "bare"
    assert isinstance(exc, ValueError)
    assert isinstance(exc, KyphoimgError)


def test_landmark_error_is_caught_as_value_error(tmp_path: Path) -> None:
    path = tmp_path / "x.landmarks.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        read_landmarks(path)


# --------------------------------------------------------------------------- CSV
def _strip_for_csv(ls: LandmarkSet) -> LandmarkSet:
    """What the flat CSV form carries: no image size, findings or timestamp."""
    return ls.replace(image=ImageRef(path=ls.image.path), findings={}, updated=None)


def test_csv_round_trip_is_exact(tmp_path: Path) -> None:
    a = phantom_set(
        patient_id="007",
        timepoint="pre",
        spacing=(0.16, 0.13),
        source="ermf",
        index_levels=["L1"],
        image_path="007/pre.dcm",
        rotation_deg=11.0,
    )
    b = phantom_set(
        patient_id="007",
        timepoint="post",
        scheme="4pt",
        source="none",
        facing="left",
        index_levels=["L1", "L2"],
        image_path="007/post.dcm",
    )
    c = phantom_set(levels=("L4", "L5", "S1"), patient_id="P2", rater="r2", image_path="p2.dcm")
    path = write_landmarks_csv([a, b, c], tmp_path / "all.landmarks.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == CSV_HEADER
    assert len(lines) == 1 + 5 * 6 + 5 * 4 + (2 * 6 + 3)
    back = read_landmarks_csv(path)
    assert back == [_strip_for_csv(a), _strip_for_csv(b), _strip_for_csv(c)]
    assert back[0].index_levels == ("L1",)
    assert back[1].index_levels == ("L1", "L2")
    assert back[0].calibration == Calibration(0.16, 0.13, "ermf")
    assert back[1].calibration.source == "none"
    assert back[1].scheme == "4pt"
    assert back[0].patient_id == "007"
    for level, pts in a.points.items():
        for name, (r, c_) in pts.items():
            assert back[0].point(level, name) == (r, c_)
    assert back[0].source.startswith(str(path))


def test_csv_reads_a_hand_written_file_with_extra_columns_and_bom(tmp_path: Path) -> None:
    rows = [
        "patient_id,timepoint,image,level,point,row,col,rater,study_arm,site",
        "P1,pre,p1.dcm,L1,ant_sup,100,200,r1,PKP,Graz",
        "P1,pre,p1.dcm,L1,post_sup,102,120,r1,PKP,Graz",
        "P1,pre,p1.dcm,L1,ant_inf,150,200,r1,PKP,Graz",
        "P1,pre,p1.dcm,L1,post_inf,152,120,r1,PKP,Graz",
        "P2,pre,p2.dcm,L2,ant_sup, 10.5 ,20,r1,VP,Linz",
        "P2,pre,p2.dcm,L2,post_sup,10,80,r1,VP,Linz",
    ]
    path = tmp_path / "hand.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(rows) + "\r\n").encode("utf-8"))
    p1, p2 = read_landmarks_csv(path)
    assert p1.scheme == "4pt"  # inferred: corners only
    assert p1.calibration.source == "none"
    assert p1.point("L1", "post_inf") == (152.0, 120.0)
    assert p2.point("L2", "ant_sup") == (10.5, 20.0)
    assert p1.extra == {"study_arm": "PKP", "site": "Graz"}
    assert p2.extra == {"study_arm": "VP", "site": "Linz"}
    out = write_landmarks_csv([p1, p2], tmp_path / "out.csv")
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == CSV_HEADER + ",study_arm,site"
    again = read_landmarks_csv(out)
    assert again == [p1, p2]
    assert [s.extra for s in again] == [p1.extra, p2.extra]


def test_csv_extra_column_varying_within_an_image_is_refused(tmp_path: Path) -> None:
    # Extra columns are kept per image; a per-point value would be lost on writing, so
    # the reader refuses it rather than keep only the first value.
    rows = [
        "patient_id,timepoint,image,level,point,row,col,rater,confidence",
        "P1,pre,p1.dcm,L1,ant_sup,100,200,r1,high",
        "P1,pre,p1.dcm,L1,post_sup,102,120,r1,low",
    ]
    path = tmp_path / "conf.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(LandmarkError, match=r"line 3: extra column 'confidence' changes"):
        read_landmarks_csv(path)


@pytest.mark.parametrize(
    ("names", "scheme"),
    [
        pytest.param(("ant_sup", "mid_sup", "post_sup"), "6pt", id="mid-means-6pt"),
        pytest.param(("ant_sup", "post_sup", "ant_inf", "post_inf"), "4pt", id="corners-4pt"),
        pytest.param(("left_sup", "right_sup"), "ap4", id="left-right-ap4"),
    ],
)
def test_csv_scheme_is_inferred_without_a_scheme_column(
    tmp_path: Path, names: tuple[str, ...], scheme: str
) -> None:
    coords = {
        "ant_sup": (100, 200),
        "mid_sup": (101, 160),
        "post_sup": (102, 120),
        "ant_inf": (150, 200),
        "post_inf": (152, 120),
        "left_sup": (100, 100),
        "right_sup": (100, 200),
    }
    lines = ["patient_id,timepoint,image,level,point,row,col,rater"]
    lines += [f"P1,pre,a.dcm,L1,{n},{coords[n][0]},{coords[n][1]}," for n in names]
    path = tmp_path / "s.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (ls,) = read_landmarks_csv(path)
    assert ls.scheme == scheme
    assert set(ls.points["L1"]) == set(names)


def test_csv_duplicate_row_names_file_line_level_point(tmp_path: Path) -> None:
    lines = [
        "patient_id,timepoint,image,level,point,row,col,rater",
        "P1,pre,a.dcm,L1,ant_sup,100,200,r1",
        "P1,pre,a.dcm,L1,post_sup,102,120,r1",
        "P1,pre,b.dcm,L1,post_sup,102,120,r1",  # another image: not a duplicate
        "P1,pre,a.dcm,L1,ant_sup,101,201,r1",
    ]
    path = tmp_path / "dup.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(LandmarkError, match=r"duplicate point for this image; keep one row") as e:
        read_landmarks_csv(path)
    assert e.value.file == f"{path} line 5"
    assert (e.value.level, e.value.point) == ("L1", "ant_sup")
    assert str(e.value).startswith(f"{path} line 5, level L1, point ant_sup: ")


def test_csv_missing_required_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("patient_id,timepoint,image,level,point,row,col\nP1,pre,a,L1,ant_sup,1,2\n")
    with pytest.raises(LandmarkError, match=r"missing column\(s\) rater; the header must contain"):
        read_landmarks_csv(path)


def test_csv_validation_error_names_file_image_level_point(tmp_path: Path) -> None:
    lines = [
        "patient_id,timepoint,image,level,point,row,col,rater",
        "P1,pre,a.dcm,L1,ant_sup,100,200,r1",
        "P1,pre,a.dcm,L1,antsup,102,120,r1",
    ]
    path = tmp_path / "v.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(LandmarkError, match=r"unknown point name") as e:
        read_landmarks_csv(path)
    assert str(e.value).startswith(f"{path} (image a.dcm, from line 2), level L1, point antsup: ")
    assert (e.value.level, e.value.point) == ("L1", "antsup")


def test_csv_non_numeric_coordinate_names_line(tmp_path: Path) -> None:
    lines = [
        "patient_id,timepoint,image,level,point,row,col,rater",
        "P1,pre,a.dcm,L1,ant_sup,100,200,r1",
        "P1,pre,a.dcm,L1,post_sup,,120,r1",
    ]
    path = tmp_path / "n.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(LandmarkError, match=r"are not numbers") as e:
        read_landmarks_csv(path)
    assert e.value.file == f"{path} line 3"
    assert (e.value.level, e.value.point) == ("L1", "post_sup")


def test_csv_calibration_changing_within_an_image_is_refused(tmp_path: Path) -> None:
    lines = [
        "patient_id,timepoint,image,level,point,row,col,rater,row_mm,col_mm,spacing_source",
        "P1,pre,a.dcm,L1,ant_sup,100,200,r1,0.15,0.15,detector",
        "P1,pre,a.dcm,L1,post_sup,102,120,r1,0.14,0.15,detector",
    ]
    path = tmp_path / "c.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(LandmarkError, match=r"column row_mm changes within one image") as e:
        read_landmarks_csv(path)
    assert e.value.file == f"{path} line 3"


def test_csv_non_utf8_is_a_landmark_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(
        "patient_id,timepoint,image,level,point,row,col,rater\n"
        "P1,pre,a.dcm,L1,ant_sup,100,200,Müller\n".encode("latin-1")
    )
    with pytest.raises(LandmarkError, match=r"UTF-8") as e:
        read_landmarks_csv(path)
    assert e.value.file == str(path)


def test_csv_short_row_is_a_landmark_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text(
        "patient_id,timepoint,image,level,point,row,col,rater\n"
        "P1,pre,a.dcm,L1,ant_sup,100,200,r1\n"
        "P1,pre,a.dcm\n",
        encoding="utf-8",
    )
    with pytest.raises(LandmarkError) as e:
        read_landmarks_csv(path)
    assert e.value.file == f"{path} line 3"
