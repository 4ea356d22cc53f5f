"""Tests for the ``kyphoimg`` command line: measure, features, demo.

Commands run in-process through :func:`kyphoimg.cli.main` (with ``capsys``) and, for the
entry point itself, once as a real subprocess. Expected numbers come from the phantoms'
construction parameters (heights in mm, disc angles, endplate depth 34 mm), never from
kyphoimg's measuring code:

* a height ratio is ``100 * Ha / mean(Ha of the two neighbours)`` on each film;
* a Cobb angle between the superior endplate of U and the inferior endplate of L is
  ``sum(disc angles between them) + sum(atan((Hp - Ha) / 34))`` over U..L (kyphosis
  positive), whatever the film's facing, rotation or pixel spacing.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kyphoimg.cli import main
from kyphoimg.landmarks import write_landmarks, write_landmarks_csv
from kyphoimg.sample.phantom import lateral_phantom

DEPTH_MM = 34.0
LEVELS = ("T10", "T11", "T12", "L1", "L2")
TIMEPOINTS = ("pre", "post", "last")

# Two patients; the index vertebra's (Ha, Hm, Hp) changes per film, the others do not.
COHORT: dict[str, dict[str, Any]] = {
    "007": dict(
        index="L1",
        normal={
            "T10": (23.0, 22.0, 24.0),
            "T11": (24.0, 23.0, 25.0),
            "T12": (25.0, 24.0, 26.0),
            "L2": (27.0, 26.0, 28.0),
        },
        index_heights={
            "pre": (16.0, 20.0, 27.0),
            "post": (24.0, 24.0, 28.0),
            "last": (20.0, 21.0, 27.5),
        },
        discs={"pre": 3.0, "post": 1.0, "last": 2.0},
        facing="right",
        rotation=0.0,
        spacing=(0.15, 0.15),
        source="pixel_spacing",
        findings={"pre": {"ivc": "yes"}, "post": {"npec": "both", "cement_leakage": "no"}},
    ),
    "P02": dict(
        index="T12",
        normal={
            "T10": (23.0, 22.0, 24.5),
            "T11": (24.0, 23.0, 25.0),
            "L1": (26.0, 25.0, 27.0),
            "L2": (27.0, 26.0, 28.0),
        },
        index_heights={
            "pre": (18.0, 20.0, 26.0),
            "post": (23.0, 23.0, 26.5),
            "last": (22.5, 22.8, 26.4),
        },
        discs={"pre": 2.5, "post": 1.5, "last": 1.5},
        facing="left",
        rotation=-10.0,
        spacing=(0.2, 0.18),
        source="detector",
        findings={"pre": {"ivc": "no"}, "post": {"npec": "no", "cement_leakage": "yes"}},
    ),
}


def heights(pid: str, tp: str) -> dict[str, tuple[float, float, float]]:
    spec = COHORT[pid]
    return {**spec["normal"], spec["index"]: spec["index_heights"][tp]}


def wedge_deg(h: tuple[float, float, float]) -> float:
    """Wedge of one phantom vertebra from its construction: atan((Hp - Ha) / depth)."""
    return math.degrees(math.atan2(h[2] - h[0], DEPTH_MM))


def cobb_deg(pid: str, tp: str, upper: str, lower: str) -> float:
    """Superior endplate of ``upper`` vs inferior endplate of ``lower`` (kyphosis positive)."""
    hts = heights(pid, tp)
    span = LEVELS[LEVELS.index(upper) : LEVELS.index(lower) + 1]
    return COHORT[pid]["discs"][tp] * (len(span) - 1) + sum(wedge_deg(hts[lv]) for lv in span)


def neighbours(level: str) -> tuple[str, str]:
    i = LEVELS.index(level)
    return LEVELS[i - 1], LEVELS[i + 1]


def ahr_pct(pid: str, tp: str) -> float:
    hts = heights(pid, tp)
    up, down = neighbours(COHORT[pid]["index"])
    return 100.0 * hts[COHORT[pid]["index"]][0] / ((hts[up][0] + hts[down][0]) / 2)


def ka_deg(pid: str, tp: str) -> float:
    return cobb_deg(pid, tp, *neighbours(COHORT[pid]["index"]))


def make_set(pid: str, tp: str, *, like: str | None = None, **overrides: Any):
    """The phantom film of ``pid`` at ``tp`` (``like``: another patient's geometry)."""
    spec = COHORT[like or pid]
    kwargs = dict(
        heights_mm=heights(like or pid, tp),
        disc_angle_deg=spec["discs"][tp],
        facing=spec["facing"],
        rotation_deg=spec["rotation"],
        spacing=spec["spacing"],
        source=spec["source"],
        patient_id=pid,
        timepoint=tp,
        index_levels=[spec["index"]],
        rater="r1",
        findings={spec["index"]: spec["findings"].get(tp, {})},
        image_path=f"{tp}.dcm",
    )
    kwargs.update(overrides)
    return lateral_phantom(LEVELS, **kwargs).landmarks


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    """Six landmark files: two patients x pre/post/last, under ``cohort/<pid>/``."""
    root = tmp_path / "cohort"
    for pid in COHORT:
        for tp in TIMEPOINTS:
            write_landmarks(make_set(pid, tp), root / pid / f"{tp}.landmarks.json", touch=False)
    return root


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def read_back(path: Path) -> pd.DataFrame:
    """Read a written table with pandas directly (not through kyphoimg.export)."""
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype={"patient_id": str})
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_excel(path, sheet_name="data", dtype={"patient_id": str})


# --------------------------------------------------------------------------- measure
def test_measure_writes_table_and_dictionary(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(cohort)
    out = tmp_path / "out" / "measures.csv"
    assert main(["measure", str(cohort), "-o", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert f"wrote {out}" in stdout
    assert f"wrote {out.with_name('measures.dictionary.csv')}" in stdout
    assert "measured 6 landmark set(s), 30 vertebra row(s)" in stdout
    assert "note: 15 row(s) have mm at the detector plane" in stdout  # P02's three films

    t = read_back(out)
    assert len(t) == 30
    for col in ("patient_id", "timepoint", "level", "scheme", "spacing_source", "ha_mm", "hm_mm",
                "hp_mm", "ha_px", "ahr_pct", "compression_pct", "genant_grade", "status",
                "reason", "ka_deg", "gardner_deg"):  # fmt: skip
        assert col in t.columns
    t = t.set_index(["patient_id", "timepoint", "level"])
    for pid in COHORT:
        for tp in TIMEPOINTS:
            for lv, (ha, hm, hp) in heights(pid, tp).items():
                row = t.loc[(pid, tp, lv)]
                assert row[["ha_mm", "hm_mm", "hp_mm"]].to_list() == pytest.approx(
                    [ha, hm, hp], abs=1e-9
                )
                assert row["spacing_source"] == COHORT[pid]["source"]
            idx = t.loc[(pid, tp, COHORT[pid]["index"])]
            assert idx["ka_deg"] == pytest.approx(ka_deg(pid, tp), abs=1e-9)
            assert idx["ahr_pct"] == pytest.approx(ahr_pct(pid, tp), abs=1e-9)
    # 007's films have square 0.15 mm pixels: Ha in pixels is Ha in mm / 0.15.
    assert t.loc[("007", "pre", "L1"), "ha_px"] == pytest.approx(16.0 / 0.15, abs=1e-9)
    dic = pd.read_csv(out.with_name("measures.dictionary.csv"))
    assert dic["column"].to_list() == list(read_back(out).columns)
    units = dict(zip(dic["column"], dic["unit"].fillna(""), strict=True))
    assert (units["ha_mm"], units["ka_deg"], units["ahr_pct"], units["ha_px"]) == (
        "mm",
        "deg",
        "%",
        "px",
    )
    assert snapshot(cohort) == before  # inputs are never modified


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".xlsx"])
def test_output_format_follows_extension(
    cohort: Path, tmp_path: Path, ext: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"measures{ext}"
    images = tmp_path / f"images{ext}"
    rc = main(["measure", str(cohort), "-o", str(out), "--images-output", str(images)])
    assert rc == 0
    magic = {".csv": b"patient_id,", ".parquet": b"PAR1", ".xlsx": b"PK\x03\x04"}[ext]
    assert out.read_bytes().startswith(magic)
    t = read_back(out).set_index(["patient_id", "timepoint", "level"])
    for pid in COHORT:
        for tp in TIMEPOINTS:
            lv = COHORT[pid]["index"]
            assert t.loc[(pid, tp, lv), "ha_mm"] == pytest.approx(heights(pid, tp)[lv][0], abs=1e-9)
            assert t.loc[(pid, tp, lv), "ka_deg"] == pytest.approx(ka_deg(pid, tp), abs=1e-9)
            assert bool(t.loc[(pid, tp, lv), "is_index"]) is True
            assert bool(t.loc[(pid, tp, "T10"), "is_index"]) is False
    side = tmp_path / "measures.dictionary.csv"
    if ext == ".xlsx":
        sheets = pd.read_excel(out, sheet_name=None)
        assert list(sheets) == ["data", "dictionary"]
        dic = sheets["dictionary"]
        assert not side.exists()
    else:
        dic = pd.read_csv(side)
    assert list(dic.columns) == ["column", "unit", "definition_id", "description", "source"]
    assert dic["column"].to_list() == list(read_back(out).columns)
    assert len(read_back(images)) == 6


def test_images_output_has_one_row_per_film(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = tmp_path / "images.csv"
    rc = main(
        ["measure", str(cohort), "-o", str(tmp_path / "m.csv"), "--images-output", str(images)]
    )
    assert rc == 0
    assert f"wrote {images}" in capsys.readouterr().out
    assert (tmp_path / "images.dictionary.csv").exists()
    t = read_back(images).set_index(["patient_id", "timepoint"])
    assert len(t) == 6
    for pid in COHORT:
        for tp in TIMEPOINTS:
            row = t.loc[(pid, tp)]
            # TLK: T10 superior vs L2 inferior, four discs and five wedges.
            assert row["tlk_deg"] == pytest.approx(cobb_deg(pid, tp, "T10", "L2"), abs=1e-9)
            assert math.isnan(row["ll_deg"])  # no S1 on these films
            assert math.isnan(row["tk_deg"])  # no T4
            assert row["status"] == "incomplete"
            assert "ll_deg needs L1 sup and S1 sup endplates" in row["reason"]
            assert row["spacing_source"] == COHORT[pid]["source"]


def test_measure_reads_the_flat_csv_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sets = [make_set(pid, tp) for pid in COHORT for tp in TIMEPOINTS]
    flat = write_landmarks_csv(sets, tmp_path / "cohort.csv")
    out = tmp_path / "m.csv"
    assert main(["measure", str(flat), "-o", str(out)]) == 0
    t = read_back(out).set_index(["patient_id", "timepoint", "level"])
    assert len(t) == 30
    assert t.loc[("P02", "last", "T12"), "ka_deg"] == pytest.approx(ka_deg("P02", "last"), abs=1e-9)
    assert t.loc[("007", "pre", "L1"), "ahr_pct"] == pytest.approx(100 * 16 / 26, abs=1e-9)


# --------------------------------------------------------------------------- features
def test_features_joins_clinical_on_patient_id(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clinical = tmp_path / "clinical.csv"
    clinical.write_text(
        "patient_id,age_years,sex\n007,71,F\nP02,80,M\nP99,60,F\n", encoding="utf-8"
    )
    out = tmp_path / "features.csv"
    measures_out = tmp_path / "measures.parquet"
    rc = main(
        ["features", str(cohort), "--clinical", str(clinical), "-o", str(out),
         "--measures-output", str(measures_out)]
    )  # fmt: skip
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "2 treated vertebra(e) in the features table" in stdout
    assert len(pd.read_parquet(measures_out)) == 30
    f = read_back(out)
    assert sorted(f["patient_id"]) == ["007", "P02"]  # leading zeros kept; P99 has no films
    f = f.set_index("patient_id")
    assert f.loc["007", "level"] == "L1"
    assert f.loc["P02", "level"] == "T12"
    assert (f.loc["007", "age_years"], f.loc["007", "sex"]) == (71, "F")
    assert (f.loc["P02", "age_years"], f.loc["P02", "sex"]) == (80, "M")
    # 007: L1 Ha 16 -> 24 -> 20 mm, neighbours' Ha mean (25 + 27) / 2 = 26 mm on every film.
    assert f.loc["007", "ahr_pct_pre"] == pytest.approx(100 * 16 / 26, abs=1e-9)
    assert f.loc["007", "ahr_pct_post"] == pytest.approx(100 * 24 / 26, abs=1e-9)
    assert f.loc["007", "ahr_pct_last"] == pytest.approx(100 * 20 / 26, abs=1e-9)
    assert f.loc["007", "height_restoration_pct"] == pytest.approx(100 * 8 / 10, abs=1e-9)
    assert f.loc["007", "ahr_gain_pp"] == pytest.approx(100 * 8 / 26, abs=1e-9)
    assert f.loc["007", "height_loss_pct"] == pytest.approx(100 * 4 / 24, abs=1e-9)
    assert bool(f.loc["007", "recompression"]) is True  # 16.7 % >= 15 %
    # P02: T12 Ha 18 -> 23 -> 22.5 mm, neighbours (24 + 26) / 2 = 25 mm.
    assert f.loc["P02", "height_restoration_pct"] == pytest.approx(100 * 5 / 7, abs=1e-9)
    assert f.loc["P02", "height_loss_pct"] == pytest.approx(100 * 0.5 / 23, abs=1e-9)
    assert bool(f.loc["P02", "recompression"]) is False
    for pid in COHORT:
        assert f.loc[pid, "reduction_angle_deg"] == pytest.approx(
            ka_deg(pid, "pre") - ka_deg(pid, "post"), abs=1e-9
        )
        assert f.loc[pid, "correction_loss_deg"] == pytest.approx(
            ka_deg(pid, "last") - ka_deg(pid, "post"), abs=1e-9
        )
    assert (f.loc["007", "ivc"], f.loc["007", "npec"], f.loc["007", "cement_leakage"]) == (
        "yes",
        "both",
        "no",
    )
    assert (f.loc["P02", "ivc"], f.loc["P02", "npec"], f.loc["P02", "cement_leakage"]) == (
        "no",
        "no",
        "yes",
    )
    dic = pd.read_csv(tmp_path / "features.dictionary.csv").set_index("column")
    assert dic.loc["ka_deg_post", "unit"] == "deg"
    assert dic.loc["age_years", "source"] == "input"


def test_unknown_timepoint_names_it_and_the_option(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    six = make_set("007", "last", timepoint="6m", image_path="6m.dcm")
    write_landmarks(six, cohort / "007" / "6m.landmarks.json", touch=False)
    out = tmp_path / "f.csv"
    rc = main(["features", str(cohort), "-o", str(out)])
    assert rc != 0
    err = capsys.readouterr().err
    assert "'6m'" in err
    assert "--timepoints" in err
    assert not out.exists()

    rc = main(["features", str(cohort), "-o", str(out), "--timepoints", "pre,post,6m,last"])
    assert rc == 0
    f = read_back(out).set_index("patient_id")
    assert f.loc["007", "ha_mm_6m"] == pytest.approx(20.0, abs=1e-9)
    assert math.isnan(f.loc["P02", "ha_mm_6m"])
    assert f.loc["007", "last_timepoint"] == "last"


@pytest.mark.parametrize(
    ("argv", "bad_name", "shown"),
    [
        pytest.param(["measure", "-o", "m.txt"], "m.txt", "'.txt'", id="measure-txt"),
        pytest.param(["measure", "-o", "m"], "m", "'(none)'", id="measure-no-extension"),
        pytest.param(
            ["measure", "-o", "m.csv", "--images-output", "i.txt"],
            "i.txt",
            "'.txt'",
            id="images-txt",
        ),
        pytest.param(["features", "-o", "f.tsv"], "f.tsv", "'.tsv'", id="features-tsv"),
    ],
)
def test_unknown_output_extension_is_a_clear_error(
    cohort: Path,
    tmp_path: Path,
    argv: list[str],
    bad_name: str,
    shown: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    command, *options = argv
    options = [str(tmp_path / a) if not a.startswith("-") else a for a in options]
    rc = main([command, str(cohort), *options])
    assert rc != 0
    err = capsys.readouterr().err
    bad = tmp_path / bad_name
    assert f"{bad}: unknown table format {shown}; use one of .csv, .parquet, .xlsx" in err
    assert not bad.exists()


def test_missing_output_option_is_a_usage_error(
    cohort: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["measure", str(cohort)])
    assert info.value.code == 2
    assert "-o/--output" in capsys.readouterr().err


# --------------------------------------------------------------------------- bad input
def _bad_inputs(cohort: Path, tmp_path: Path) -> dict[str, Path]:
    corrupt = cohort / "corrupt.landmarks.json"
    corrupt.write_text('{"schema": "kyphoimg-landmarks/1", "points": {', encoding="utf-8")
    nullpoint = make_set("P03", "pre", like="007")
    data = json.loads(write_landmarks(nullpoint, tmp_path / "tmp.json").read_text())
    data["points"]["L1"]["ant_sup"] = None
    bad_point = cohort / "P03" / "pre.landmarks.json"
    bad_point.parent.mkdir()
    bad_point.write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "tmp.json").unlink()
    return {
        "corrupt": corrupt,
        "bad_point": bad_point,
        "missing": tmp_path / "no_such_folder",
    }


@pytest.mark.parametrize("command", ["measure", "features"])
def test_bad_input_fails_after_measuring_everything_else(
    cohort: Path, tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _bad_inputs(cohort, tmp_path)
    partial = make_set("P04", "pre", like="007")
    pts = {lv: dict(p) for lv, p in partial.points.items()}
    del pts["L1"]["ant_inf"]
    write_landmarks(partial.replace(points=pts), cohort / "P04.landmarks.json", touch=False)
    before = snapshot(cohort)
    out = tmp_path / "result.csv"
    errors = tmp_path / "errors.csv"
    argv = [command, str(cohort), str(bad["missing"]), "-o", str(out), "--errors", str(errors)]
    if command == "measure":
        argv += ["--images-output", str(tmp_path / "images.csv")]
    else:
        argv += ["--measures-output", str(tmp_path / "measures.csv")]
    assert main(argv) == 1
    cap = capsys.readouterr()
    assert f"wrote {out}" in cap.out
    # three unreadable inputs, and P04's missing point (measured, but reported)
    assert "4 problem(s) in the inputs:" in cap.err
    for path in [*bad.values(), cohort / "P04.landmarks.json"]:
        assert str(path) in cap.err
    assert "level L1, point ant_inf: point missing" in cap.err
    assert "level L1, point ant_sup" in cap.err
    assert "no such file or folder" in cap.err
    assert f"problems written to {errors}" in cap.err

    # Everything else was measured and written.
    measures = read_back(out if command == "measure" else tmp_path / "measures.csv")
    assert sorted(set(measures["patient_id"])) == ["007", "P02", "P04"]
    assert len(measures) == 7 * 5
    p04 = measures.set_index(["patient_id", "level"]).loc[("P04", "L1")]
    assert p04["status"] == "incomplete"
    assert "ant_inf missing" in p04["reason"]
    if command == "measure":
        assert len(read_back(tmp_path / "images.csv")) == 7
    else:
        assert sorted(read_back(out)["patient_id"]) == ["007", "P02", "P04"]

    report = pd.read_csv(errors)
    assert list(report.columns) == ["file", "level", "point", "error"]
    expected = [*bad.values(), cohort / "P04.landmarks.json"]
    assert sorted(report["file"]) == sorted(str(p) for p in expected)
    row = report.set_index("file").loc[str(bad["bad_point"])]
    assert (row["level"], row["point"]) == ("L1", "ant_sup")
    assert snapshot(cohort) == before


def test_missing_point_is_reported_as_a_failed_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    partial = make_set("P04", "pre", like="007")
    pts = {lv: dict(p) for lv, p in partial.points.items()}
    del pts["L1"]["ant_inf"]
    path = write_landmarks(partial.replace(points=pts), tmp_path / "P04.landmarks.json")
    errors = tmp_path / "errors.csv"
    rc = main(["measure", str(path), "-o", str(tmp_path / "m.csv"), "--errors", str(errors)])
    assert rc == 1
    assert str(path) in capsys.readouterr().err
    assert errors.exists()


def test_wrongly_typed_file_does_not_abort_the_batch(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((cohort / "007" / "pre.landmarks.json").read_text())
    data["image"] = "pre.dcm"
    odd = cohort / "odd.landmarks.json"
    odd.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "m.csv"
    assert main(["measure", str(cohort), "-o", str(out)]) == 1
    assert len(read_back(out)) == 30
    assert str(odd) in capsys.readouterr().err


def test_a_file_given_twice_is_measured_once(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.csv"
    also = cohort / "007" / "pre.landmarks.json"
    assert main(["measure", str(cohort), str(also), "-o", str(out)]) == 0
    t = read_back(out)
    assert len(t) == 30
    row = t.set_index(["patient_id", "timepoint", "level"]).loc[("007", "pre", "L1")]
    assert row["ha_mm"] == pytest.approx(16.0, abs=1e-9)


def test_one_bad_image_in_a_flat_csv_does_not_drop_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = make_set("007", "pre")
    bad = make_set("P02", "pre")
    pts = {lv: dict(p) for lv, p in bad.points.items()}
    pts["L1"]["bogus"] = (300.0, 300.0)
    flat = write_landmarks_csv([good, bad.replace(points=pts)], tmp_path / "two.csv")
    out = tmp_path / "m.csv"
    assert main(["measure", str(flat), "-o", str(out)]) == 1
    assert "point bogus" in capsys.readouterr().err
    assert sorted(set(read_back(out)["patient_id"])) == ["007"]


def test_only_bad_input_still_writes_a_zero_row_table_with_every_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.csv"
    assert main(["measure", str(tmp_path / "nothing.landmarks.json"), "-o", str(out)]) == 1
    t = read_back(out)
    assert len(t) == 0
    for col in ("patient_id", "timepoint", "level", "scheme", "spacing_source", "ha_mm", "hm_mm",
                "hp_mm", "ha_px", "hm_px", "hp_px", "wedge_ratio", "wedge_angle_deg", "ahr_pct",
                "mhr_pct", "phr_pct", "compression_pct", "genant_grade", "genant_type", "status",
                "reason", "ka_deg", "gardner_deg"):  # fmt: skip
        assert col in t.columns
    assert "nothing.landmarks.json" in capsys.readouterr().err


# --------------------------------------------------------------------------- help
def _sections(text: str) -> dict[str, dict[str, str]]:
    """Entries of the 'positional arguments' and 'options' sections: invocation -> help text."""
    out: dict[str, dict[str, str]] = {}
    section = None
    current = None
    for line in text.splitlines():
        if line in ("positional arguments:", "options:"):
            section, current = line[:-1], None
            out[section] = {}
            continue
        if section is None:
            continue
        if not line.strip():
            section = None
            continue
        m = re.match(r"^  (\S.*?)(?:\s{2,}(\S.*))?$", line)
        if m:
            current = m.group(1)
            out[section][current] = m.group(2) or ""
        elif current is not None and line.startswith(" " * 6):
            out[section][current] = (out[section][current] + " " + line.strip()).strip()
    return out


EXPECTED_OPTIONS = {
    "measure": {"-o", "--output", "--images-output", "--errors", "--allow-incomplete", "--rater",
                "--genant-reference",
                "--normative", "--sd-threshold", "--skip-fractured-references",
                "--accept-proposals", "--overwrite"},
    "features": {"-o", "--output", "--clinical", "--timepoints", "--errors", "--rater",
                 "--allow-incomplete", "--restoration",
                 "--restoration-height", "--reduction-rate", "--recompression-loss-pct",
                 "--recompression-angle-deg", "--recompression-height",
                 "--recompression-baseline", "--recompression-min-loss-mm",
                 "--measures-output", "--genant-reference", "--normative", "--sd-threshold",
                 "--skip-fractured-references", "--accept-proposals", "--overwrite"},
    "demo": {"-o", "--output", "--data", "--patients"},
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(EXPECTED_OPTIONS))
def test_help_documents_every_option(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "90")
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    usage = text.split("\n\n", 1)[0]
    assert usage.startswith(f"usage: kyphoimg {command}")
    in_usage = set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", usage))
    sections = _sections(text)
    documented: dict[str, str] = {}
    for invocation, help_text in sections["options"].items():
        for opt in re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", invocation):
            documented[opt] = help_text
    assert in_usage <= set(documented)
    assert EXPECTED_OPTIONS[command] | {"-h", "--help"} == set(documented)
    for opt, help_text in documented.items():
        assert len(help_text) >= 10, f"{command} {opt} has no help text"
    for invocation, help_text in sections.get("positional arguments", {}).items():
        assert len(help_text) >= 10, f"{command} {invocation} has no help text"
    if command != "demo":
        assert "LANDMARKS" in sections["positional arguments"]
        assert ".csv/.parquet/.xlsx" in documented["--output"]


def test_top_level_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for command in ("scan", "measure", "features", "run", "sr", "report", "demo"):
        assert re.search(rf"^\s+{command}\s+\S", text, flags=re.MULTILINE), command


def test_real_subprocess(cohort: Path, tmp_path: Path) -> None:
    corrupt = cohort / "corrupt.landmarks.json"
    corrupt.write_text("{", encoding="utf-8")
    out = tmp_path / "m.xlsx"
    proc = subprocess.run(
        [sys.executable, "-m", "kyphoimg.cli", "measure", str(cohort), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert f"wrote {out}" in proc.stdout
    assert f"{corrupt}: not valid JSON (line 1, column 2" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(read_back(out)) == 30

    for command in ("", "measure", "features", "demo"):
        proc = subprocess.run(
            [sys.executable, "-m", "kyphoimg.cli", *([command] if command else []), "--help"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(f"usage: kyphoimg {command}".rstrip())
        assert "-h, --help" in proc.stdout
        if command:
            assert "-o OUTPUT, --output OUTPUT" in proc.stdout


# --------------------------------------------------------------------------- examples, Ctrl+C
def _subcommands() -> list[list[str]]:
    return [["measure"], ["features"], ["scan"], ["run"], ["sr"], ["sr", "export"],
            ["sr", "import"], ["report"], ["stats"], ["view"], ["demo"], []]  # fmt: skip


@pytest.mark.parametrize("command", _subcommands(), ids=lambda c: " ".join(c) or "kyphoimg")
def test_every_help_ends_with_real_examples(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    usage = text.splitlines()[0]
    assert usage.startswith(" ".join(["usage: kyphoimg", *command]).rstrip())
    block = text.rstrip("\n").split("\nexamples:\n")
    assert len(block) == 2, "no examples block"
    examples = block[1].splitlines()
    assert 2 <= len(examples) <= 3
    for line in examples:  # each a real invocation of this command (or of kyphoimg)
        assert line.startswith("  kyphoimg "), line
    if command and command[0] not in ("report", "stats"):
        assert any(line.startswith(f"  kyphoimg {' '.join(command)} ") for line in examples)
    # The descriptions are still wrapped to the terminal, not one long line.
    assert max(len(line) for line in text.splitlines()) <= 100


def test_help_examples_run_as_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The examples naming sample_dicom work from the project folder, as printed."""
    from kyphoimg.cli import _EXAMPLES

    root = Path(__file__).resolve().parents[1]
    (tmp_path / "sample_dicom").symlink_to(root / "sample_dicom")
    monkeypatch.chdir(tmp_path)
    for command in ("measure", "features", "scan", "run"):
        for line in _EXAMPLES[command]:
            argv = line.split("#")[0].split()[1:]
            if "sample_dicom" not in " ".join(argv):
                continue
            assert main(argv) == 0, line
    capsys.readouterr()


def test_unknown_command_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["statistics", "study.toml"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'statistics'" in err
    for command in ("measure", "features", "scan", "run", "sr", "report", "view", "demo"):
        assert f"'{command}'" in err


def test_stats_alias_names_itself(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/statistics.md documents `kyphoimg stats` as an alias of report."""
    with pytest.raises(SystemExit) as info:
        main(["stats"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: kyphoimg stats ")
    assert "usage: kyphoimg report" not in err


@pytest.mark.parametrize("command", ["report", "demo"])
def test_missing_stats_extra_is_one_line_and_exit_2(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "statsmodels", None)
    toml = tmp_path / "analysis.toml"
    toml.write_text('[data]\nsubjects = "f.csv"\n[outcome]\ncolumn = "y"\n', encoding="utf-8")
    out = tmp_path / "out"
    argv = (
        [command, str(toml), "-o", str(out)] if command == "report" else [command, "-o", str(out)]
    )
    assert main(argv) == 2
    cap = capsys.readouterr()
    assert cap.err == (
        f"kyphoimg {command} needs the statistics extra (statsmodels is not installed): "
        "pip install 'kyphoimg[stats]'\n"
    )
    assert "Traceback" not in cap.out
    assert not out.exists()  # refused before any work


def test_ctrl_c_in_any_command_is_one_line_and_exit_130(
    cohort: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import kyphoimg.cli.measure

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(kyphoimg.cli.measure, "read_landmark_files", interrupted)
    for command in ("measure", "features"):
        assert main([command, str(cohort), "-o", str(tmp_path / "m.csv")]) == 130
        assert capsys.readouterr().err == "kyphoimg: interrupted\n"


def test_features_warns_about_patients_missing_from_the_clinical_table(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clinical = tmp_path / "clinical.csv"
    clinical.write_text("patient_id,age_years\n007,71\n", encoding="utf-8")
    errors = tmp_path / "errors.csv"
    out = tmp_path / "features.csv"
    argv = ["features", str(cohort), "--clinical", str(clinical), "-o", str(out)]
    assert main([*argv, "--errors", str(errors)]) == 0  # a warning, nothing failed
    err = capsys.readouterr().err
    assert "1 warning(s):" in err
    assert f"{clinical}: no row for patient(s) P02, who have features" in err
    report = pd.read_csv(errors)
    assert report["file"].tolist() == [str(clinical)]
    assert report["error"].iloc[0].startswith("warning: ")
    f = read_back(out).set_index("patient_id")
    assert f.loc["007", "age_years"] == 71
    assert math.isnan(f.loc["P02", "age_years"])


def test_features_with_two_readers_asks_which_and_rater_picks_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two readers' files of the same films: features names them and --rater chooses."""
    import shutil

    from kyphoimg import read_landmarks as read

    root = Path(__file__).resolve().parents[1]
    study = tmp_path / "study"
    shutil.copytree(root / "sample_dicom", study)
    for lf in sorted(study.glob("P00*/*.landmarks.json")):
        ls = read(lf)
        write_landmarks(
            ls.replace(rater="B"), lf.with_name(lf.name.replace(".landmarks", ".B.landmarks"))
        )
    out = tmp_path / "f.csv"
    assert main(["features", str(study), "-o", str(out)]) == 2
    assert "several readers' (B, ground_truth): give --rater" in capsys.readouterr().err
    assert main(["features", str(study), "-o", str(out), "--rater", "B"]) == 0
    features = pd.read_csv(out, dtype={"patient_id": str})
    assert len(features) == 4
    measures_out = tmp_path / "m.csv"
    assert main(["measure", str(study), "-o", str(measures_out)]) == 0  # measures keep both
    assert set(pd.read_csv(measures_out)["rater"]) == {"B", "ground_truth"}
    capsys.readouterr()
