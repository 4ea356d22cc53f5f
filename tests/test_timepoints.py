"""assign_timepoints: pre / post / last from surgery dates, ambiguity flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kyphoimg.timepoints import TIMEPOINT_FLAGS, TimepointInputError, assign_timepoints

SURGERY = pd.DataFrame(
    {
        "patient_id": ["P1", "P2", "P4", "P5", "P5", 77654033],
        "surgery_date": [
            "2024-01-10",
            "2024-01-10",
            "2024-01-10",
            "2024-01-10",
            "2024-02-01",
            "20240110",
        ],
    }
)

# (row label, patient, study date, acquisition date, status) -> expected (timepoint, flags)
FILMS = [
    ("p1_old", "P1", "2023-12-01", None, "ok", None, ""),
    ("p1_pre", "P1", "2024-01-03", None, "ok", "pre", ""),
    ("p1_day0", "P1", "2024-01-10", None, "ok", None, "surgery_day"),
    ("p1_post", "P1", "2024-01-11", None, "ok", "post", ""),
    ("p1_window", "P1", "2024-01-24", None, "ok", None, ""),  # day 14: inside, not first
    ("p1_fu", "P1", "2024-03-01", None, "ok", None, ""),
    ("p1_last", "P1", None, "2024-07-01", "ok", "last", ""),  # acquisition date fallback
    ("p1_bad", "P1", "2024-08-01", None, "error", None, "not_ok"),
    ("p1_nodate", "P1", None, None, "ok", None, "no_film_date"),
    ("p2_pre_a", "P2", "2024-01-03", None, "ok", "pre", "several_pre;no_post"),
    ("p2_pre_b", "P2", "2024-01-03", "2024-01-02", "ok", "pre", "several_pre;no_post"),
    ("p2_last", "P2", "2024-01-25", None, "ok", "last", "no_post"),  # day 15: after window
    ("p3", "P3", "2024-01-03", None, "ok", None, "no_surgery_date"),
    ("p4_post_a", "P4", "2024-01-12", None, "ok", "post", "several_post;no_pre;no_last"),
    ("p4_post_b", "P4", "2024-01-12", None, "ok", "post", "several_post;no_pre;no_last"),
    ("p5", "P5", "2024-01-03", None, "ok", None, "several_surgery_dates"),
    ("noid", None, "2024-01-03", None, "ok", None, "no_patient_id"),
    ("num_pre", "77654033", "2024-01-09", None, "ok", "pre", "no_post;no_last"),
]


@pytest.fixture
def index() -> pd.DataFrame:
    df = pd.DataFrame(
        [f[1:5] for f in FILMS],
        columns=["patient_id", "study_date", "acquisition_date", "status"],
        index=[f[0] for f in FILMS],
    )
    # typed like kyphoimg.scan's output
    df["study_date"] = pd.to_datetime(df["study_date"]).astype("datetime64[s]")
    df["acquisition_date"] = pd.to_datetime(df["acquisition_date"]).astype("datetime64[s]")
    return df


def test_assignment_table(index):
    out = assign_timepoints(index, SURGERY)
    for label, *_, timepoint, flags in FILMS:
        got = out.loc[label, "timepoint"]
        assert (None if pd.isna(got) else got) == timepoint, label
        assert out.loc[label, "timepoint_flag"] == flags, label


def test_days_from_surgery(index):
    out = assign_timepoints(index, SURGERY)
    assert out.loc["p1_pre", "days_from_surgery"] == -7
    assert out.loc["p1_day0", "days_from_surgery"] == 0
    assert out.loc["p1_window", "days_from_surgery"] == 14
    assert out.loc["p1_last", "days_from_surgery"] == 173
    assert pd.isna(out.loc["p3", "days_from_surgery"])
    assert out["days_from_surgery"].dtype == "Int64"


def test_keeps_rows_columns_and_input(index):
    before = index.copy()
    out = assign_timepoints(index, SURGERY)
    pd.testing.assert_frame_equal(index, before)
    assert list(out.index) == list(index.index)
    assert list(out.columns) == [*index.columns, "days_from_surgery", "timepoint", "timepoint_flag"]
    flags = {f for cell in out["timepoint_flag"] for f in cell.split(";") if f}
    assert flags <= set(TIMEPOINT_FLAGS)


def test_window_is_configurable(index):
    out = assign_timepoints(index, SURGERY, post_window_days=1)
    assert out.loc["p1_post", "timepoint"] == "post"
    assert out.loc["p1_last", "timepoint"] == "last"
    wide = assign_timepoints(index, SURGERY, post_window_days=200)
    assert wide.loc["p1_last", "timepoint"] != "last"
    assert "no_last" in wide.loc["p1_post", "timepoint_flag"]


def test_text_dates_and_no_status_column():
    index = pd.DataFrame(
        {"patient_id": ["A", "A", "A"], "study_date": ["20240101", "2024-01-06", "2024-06-30"]}
    )
    surgery = pd.DataFrame({"patient_id": ["A"], "surgery_date": [pd.Timestamp("2024-01-05")]})
    out = assign_timepoints(index, surgery)
    assert out["timepoint"].tolist() == ["pre", "post", "last"]
    assert (out["timepoint_flag"] == "").all()


def test_empty_index_keeps_columns():
    empty = pd.DataFrame(
        {"patient_id": pd.Series(dtype="str"), "study_date": pd.Series(dtype="datetime64[s]")}
    )
    out = assign_timepoints(empty, SURGERY)
    assert len(out) == 0
    assert {"days_from_surgery", "timepoint", "timepoint_flag"} <= set(out.columns)


@pytest.mark.parametrize(
    ("index", "surgery", "match"),
    [
        (pd.DataFrame({"study_date": []}), SURGERY, "index table lacks column"),
        (pd.DataFrame({"patient_id": []}), SURGERY, "study_date or acquisition_date"),
        (
            pd.DataFrame({"patient_id": [], "study_date": []}),
            pd.DataFrame({"patient_id": []}),
            "surgery table lacks column.*surgery_date",
        ),
    ],
)
def test_missing_columns(index, surgery, match):
    with pytest.raises(TimepointInputError, match=match):
        assign_timepoints(index, surgery)


@pytest.mark.parametrize("window", [0, -3, 2.5, True])
def test_bad_window(index, window):
    with pytest.raises(TimepointInputError, match="post_window_days"):
        assign_timepoints(index, SURGERY, post_window_days=window)


def test_error_is_a_value_error(index):
    with pytest.raises(ValueError, match="post_window_days"):
        assign_timepoints(index, SURGERY, post_window_days=0)


def test_works_on_a_scan_index(tmp_path):
    scan_like = pd.DataFrame(
        {
            "path": ["a.dcm", "b.dcm", "c.txt"],
            "patient_id": pd.Series(["P1", "P1", np.nan], dtype="str"),
            "study_date": pd.to_datetime(["2024-01-01", "2024-01-12", None]).astype(
                "datetime64[s]"
            ),
            "acquisition_date": pd.Series([pd.NaT] * 3, dtype="datetime64[s]"),
            "status": ["ok", "ok", "not_dicom"],
        }
    )
    out = assign_timepoints(scan_like, SURGERY)
    assert out["timepoint"].iloc[:2].tolist() == ["pre", "post"]
    assert out["timepoint_flag"].tolist() == ["no_last", "no_last", "not_ok"]
