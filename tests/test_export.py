"""Tests for kyphoimg.export (tables in CSV, Parquet, XLSX) and kyphoimg.dictionary.

Written files are read back with pandas directly as well as with ``read_table``, so a
round trip cannot hide a writer and reader that are wrong in the same way.
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from kyphoimg.dictionary import DICTIONARY_COLUMNS, data_dictionary, describe_column
from kyphoimg.errors import KyphoimgError
from kyphoimg.export import dictionary_path, read_table, write_table
from kyphoimg.longitudinal import features_table
from kyphoimg.measure import IMAGE_COLUMNS, MEASURE_COLUMNS, images_table, measures_table
from kyphoimg.sample.phantom import lateral_phantom

FORMATS = [".csv", ".parquet", ".xlsx"]


def sample_table() -> pd.DataFrame:
    """A small table with the value kinds kyphoimg writes (ids, text, floats, NaN, flags)."""
    return pd.DataFrame(
        {
            "patient_id": ["007", "P02", "12"],
            "level": ["L1", "T12", "L2"],
            "ha_mm": [15.123456789012345, 21.0, math.nan],
            "ka_deg_post": [-3.25, 0.1 + 0.2, 12.5],
            "genant_grade": [3.0, math.nan, 0.0],
            "is_index": [True, False, True],
            "recompression": pd.array([True, None, False], dtype="boolean"),
            "status": ["ok", "incomplete", "ok"],
            "age_years": [71, 80, 66],
        }
    )


def read_direct(path: Path, sheet: str | int = 0) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype={"patient_id": str})
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_excel(path, sheet_name=sheet, dtype={"patient_id": str})


def _cell(value: Any) -> Any:
    """Normalise a cell for comparison: missing values become None, numpy scalars plain."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def assert_same_values(back: pd.DataFrame, expected: pd.DataFrame, *, rel: float = 0.0) -> None:
    """Same columns and cells; floats equal to ``rel`` (0: bit for bit)."""
    assert list(back.columns) == list(expected.columns)
    assert len(back) == len(expected)
    for col in expected.columns:
        got = [_cell(v) for v in back[col].tolist()]
        want = [_cell(v) for v in expected[col].tolist()]
        if rel and any(isinstance(v, float) for v in want):
            assert got == [None if v is None else pytest.approx(v, rel=rel) for v in want], col
        else:
            assert got == want, col


# --------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("ext", FORMATS)
def test_round_trip_keeps_values(tmp_path: Path, ext: str) -> None:
    table = sample_table()
    path = tmp_path / f"table{ext}"
    written = write_table(table, path)
    side = tmp_path / "table.dictionary.csv"
    assert written == ([path] if ext == ".xlsx" else [path, side])
    # Excel keeps about 15 significant digits; CSV and Parquet keep every bit.
    rel = 1e-14 if ext == ".xlsx" else 0.0
    for back in (read_table(path), read_direct(path)):
        assert_same_values(back, table, rel=rel)
        assert back["patient_id"].tolist() == ["007", "P02", "12"]  # identifiers stay text
        if ext != ".xlsx":
            assert back.loc[0, "ha_mm"] == 15.123456789012345
            assert back.loc[1, "ka_deg_post"] == 0.1 + 0.2


@pytest.mark.parametrize("ext", FORMATS)
def test_dictionary_is_written_beside_or_inside(tmp_path: Path, ext: str) -> None:
    table = sample_table()
    path = tmp_path / f"t{ext}"
    write_table(table, path)
    if ext == ".xlsx":
        sheets = pd.read_excel(path, sheet_name=None)
        assert list(sheets) == ["data", "dictionary"]
        dic = sheets["dictionary"]
        assert not dictionary_path(path).exists()
    else:
        assert dictionary_path(path) == tmp_path / "t.dictionary.csv"
        dic = pd.read_csv(tmp_path / "t.dictionary.csv")
    assert list(dic.columns) == list(DICTIONARY_COLUMNS)
    assert dic["column"].tolist() == list(table.columns)
    rows = dic.set_index("column")
    assert rows.loc["ha_mm", "unit"] == "mm"
    assert rows.loc["ka_deg_post", "unit"] == "deg"
    assert rows.loc["age_years", "source"] == "input"


@pytest.mark.parametrize("ext", FORMATS)
def test_without_dictionary(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"t{ext}"
    assert write_table(sample_table(), path, dictionary=False) == [path]
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    if ext == ".xlsx":
        assert list(pd.read_excel(path, sheet_name=None)) == ["data"]


@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize(
    "columns",
    [
        pytest.param(list(MEASURE_COLUMNS), id="measures"),
        pytest.param(list(IMAGE_COLUMNS), id="images"),
        pytest.param(["patient_id", "level", "ka_deg_pre", "recompression"], id="features-like"),
    ],
)
def test_zero_row_table_keeps_every_column(tmp_path: Path, ext: str, columns: list[str]) -> None:
    empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    path = tmp_path / f"empty{ext}"
    write_table(empty, path)
    for back in (read_table(path), read_direct(path)):
        assert list(back.columns) == columns
        assert len(back) == 0
    dic = read_direct(path, "dictionary") if ext == ".xlsx" else pd.read_csv(dictionary_path(path))
    assert dic["column"].tolist() == columns


@pytest.mark.parametrize("ext", FORMATS)
def test_empty_measures_and_images_tables_survive_export(tmp_path: Path, ext: str) -> None:
    for name, table, columns in (
        ("m", measures_table([]), MEASURE_COLUMNS),
        ("i", images_table([]), IMAGE_COLUMNS),
    ):
        path = tmp_path / f"{name}{ext}"
        write_table(table, path)
        back = read_table(path)
        assert list(back.columns) == list(columns)
        assert len(back) == 0


def test_uppercase_extension_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "T.CSV"
    written = write_table(sample_table(), path)
    assert written == [path, tmp_path / "T.dictionary.csv"]
    assert read_table(path)["level"].tolist() == ["L1", "T12", "L2"]


def test_missing_parent_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "t.parquet"
    write_table(sample_table(), path)
    assert read_direct(path)["status"].tolist() == ["ok", "incomplete", "ok"]


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("name", "shown"),
    [
        pytest.param("t.txt", "'.txt'", id="txt"),
        pytest.param("t.json", "'.json'", id="json"),
        pytest.param("t.xls", "'.xls'", id="xls"),
        pytest.param("table", "'(none)'", id="no-extension"),
    ],
)
def test_unknown_extension_is_refused(tmp_path: Path, name: str, shown: str) -> None:
    path = tmp_path / name
    msg = re.escape(f"{path}: unknown table format {shown}; use one of .csv, .parquet, .xlsx")
    with pytest.raises(KyphoimgError, match=msg):
        write_table(sample_table(), path)
    assert list(tmp_path.iterdir()) == []
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(KyphoimgError, match=msg):
        read_table(path)


@pytest.mark.parametrize("ext", FORMATS)
def test_unreadable_table_is_a_kyphoimg_error(tmp_path: Path, ext: str) -> None:
    missing = tmp_path / f"missing{ext}"
    with pytest.raises(KyphoimgError, match=rf"{missing}: cannot read the table"):
        read_table(missing)
    if ext != ".csv":
        garbage = tmp_path / f"garbage{ext}"
        garbage.write_bytes(b"this is not a table\n")
        with pytest.raises(KyphoimgError, match=rf"{garbage}: cannot read the table"):
            read_table(garbage)


# --------------------------------------------------------------------------- atomicity
def _boom(*args: Any, **kwargs: Any) -> None:
    raise OSError("simulated failure")


def _write_half_then_fail(self: pd.DataFrame, target: Any, *args: Any, **kwargs: Any) -> None:
    Path(target).write_bytes(b"half a table")
    raise OSError("simulated failure")


WRITER = {".csv": "to_csv", ".parquet": "to_parquet"}


@pytest.mark.parametrize("how", ["rename-fails", "writer-fails-midway"])
@pytest.mark.parametrize("ext", FORMATS)
def test_failed_write_keeps_the_original_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ext: str, how: str
) -> None:
    path = tmp_path / f"t{ext}"
    path.write_bytes(b"ORIGINAL")
    if how == "rename-fails":
        monkeypatch.setattr(os, "replace", _boom)
    elif ext == ".xlsx":
        # The data sheet is written, then the dictionary sheet fails.
        original = pd.DataFrame.to_excel
        calls = []

        def second_sheet_fails(self: pd.DataFrame, *args: Any, **kwargs: Any) -> None:
            calls.append(kwargs.get("sheet_name"))
            if len(calls) == 2:
                raise OSError("simulated failure")
            original(self, *args, **kwargs)

        monkeypatch.setattr(pd.DataFrame, "to_excel", second_sheet_fails)
    else:
        monkeypatch.setattr(pd.DataFrame, WRITER[ext], _write_half_then_fail)
    with pytest.raises(OSError, match="simulated failure"):
        write_table(sample_table(), path)
    monkeypatch.undo()
    assert path.read_bytes() == b"ORIGINAL"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.parametrize("ext", FORMATS)
def test_overwrite_replaces_the_whole_file(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"t{ext}"
    write_table(sample_table(), path)
    smaller = sample_table().iloc[:1]
    write_table(smaller, path)
    assert_same_values(read_direct(path), smaller, rel=1e-14 if ext == ".xlsx" else 0.0)
    expected = [path.name] if ext == ".xlsx" else sorted([path.name, "t.dictionary.csv"])
    assert sorted(p.name for p in tmp_path.iterdir()) == expected


def test_written_table_permissions_follow_umask(tmp_path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    path = tmp_path / "t.csv"
    write_table(sample_table(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


# --------------------------------------------------------------------------- data dictionary
@pytest.mark.parametrize(
    ("column", "unit", "definition", "says"),
    [
        pytest.param("ha_mm", "mm", "M-height", "anterior body height", id="ha_mm"),
        pytest.param("ka_deg_post", "deg", "A-ka", "at time point post", id="ka_deg_post"),
        pytest.param("ka_deg_pre", "deg", "A-ka", "at time point pre", id="ka_deg_pre"),
        pytest.param("ahr_pct_last", "%", "M-ahr", "at time point last", id="ahr_pct_last"),
        pytest.param("ha_mm_6m", "mm", "M-height", "at time point 6m", id="ha_mm_6m"),
        pytest.param("hp_px_post", "px", "M-height", "at time point post", id="hp_px_post"),
        pytest.param("genant_grade_pre", "grade", "M-genant", "time point pre", id="genant_pre"),
        pytest.param("spacing_source_post", "", "K-spacing", "time point post", id="source_post"),
        pytest.param("qm_hm_hp_z", "SD", "M-qm", "z-score of qm_hm_hp", id="qm_z"),
        pytest.param("height_loss_pct", "%", "L-loss", "height loss", id="height_loss"),
        pytest.param("vas_post", "", "K-input", "carried from the input", id="clinical-vas_post"),
        pytest.param("age_years", "", "K-input", "carried from the input", id="clinical-age"),
    ],
)
def test_describe_column(column: str, unit: str, definition: str, says: str) -> None:
    got_unit, got_def, description, source = describe_column(column)
    assert (got_unit, got_def) == (unit, definition)
    assert says in description
    if definition == "K-input":
        assert source == "input"


def test_suffixed_column_says_which_time_point() -> None:
    dic = data_dictionary(["ka_deg", "ka_deg_post"]).set_index("column")
    base = dic.loc["ka_deg", "description"]
    assert dic.loc["ka_deg_post", "description"] == base + " at time point post"
    assert dic.loc["ka_deg_post", "source"] == dic.loc["ka_deg", "source"]
    assert "post" not in base


def test_data_dictionary_shape_and_order() -> None:
    cols = ["level", "zeta", "ha_mm", "alpha"]
    dic = data_dictionary(cols)
    assert list(dic.columns) == list(DICTIONARY_COLUMNS)
    assert dic["column"].tolist() == cols
    empty = data_dictionary([])
    assert list(empty.columns) == list(DICTIONARY_COLUMNS)
    assert len(empty) == 0


def test_every_column_kyphoimg_writes_is_described() -> None:
    def sets(tp: str, ha: float):
        return lateral_phantom(
            heights_mm={"T11": (26, 25, 27), "T12": (26, 25, 27), "L1": (ha, 22, 27),
                        "L2": (26, 25, 27), "L3": (26, 25, 27)},
            timepoint=tp, index_levels=["L1"], findings={"L1": {"ivc": "yes"}},
        ).landmarks  # fmt: skip

    measures = measures_table([sets("pre", 16.0), sets("post", 24.0), sets("last", 22.0)])
    features = features_table(measures)
    written = {*MEASURE_COLUMNS, *IMAGE_COLUMNS, *features.columns}
    undescribed = sorted(c for c in written if describe_column(c)[1] == "K-input")
    assert undescribed == []
    for c in written:
        unit = describe_column(c)[0]
        if c.endswith(("_mm", "_mm_pre", "_mm_post", "_mm_last")) and not c.startswith(
            ("row_mm", "col_mm")
        ):
            assert unit == "mm", c
        if "_deg" in c:
            assert unit == "deg", c


def test_timepoint_with_underscore_is_described() -> None:
    unit, definition, description, _ = describe_column("ka_deg_fu_6m")
    assert (unit, definition) == ("deg", "A-ka")
    assert "at time point fu_6m" in description


def test_clashing_clinical_column_is_described_as_input() -> None:
    _, definition, _, source = describe_column("ivc_clinical")
    assert definition == "K-input"
    assert source == "input"


# -- columns a table defines itself, a reader's column of a paired table ------------------
def test_dictionary_entries_come_first_and_reader_columns_name_the_reader(tmp_path: Path) -> None:
    from kyphoimg.dictionary import AGREEMENT_COLUMNS

    own = {"sd": ("see unit", "K-own", "SD of the differences", "Bland & Altman 1986")}
    assert describe_column("sd", own)[1:3] == ("K-own", "SD of the differences")
    assert describe_column("sd")[1] == "K-input"  # without entries: a carried column
    unit, did, description, _ = describe_column("ha_mm__A2")
    assert (unit, did) == ("mm", "M-height")
    assert description.endswith(", read by A2")
    assert describe_column("ka_deg_post__B")[2].endswith("at time point post, read by B")
    written = write_table(
        pd.DataFrame({"icc": [0.9], "ha_mm__A": [20.0]}), tmp_path / "t.csv", entries=own
    )
    dic = pd.read_csv(written[1]).set_index("column")
    assert dic.loc["ha_mm__A", "unit"] == "mm"
    # every agreement column's unit is a unit, empty, or points at the row's unit column
    units = {entry[0] for entry in AGREEMENT_COLUMNS.values()}
    assert units <= {"", "see unit", "mm", "px"}, units
