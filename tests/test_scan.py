"""scan: the header-only cohort index."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import MPEG2MPML, ExplicitVRLittleEndian, JPEG2000Lossless

from kyphoimg.dicom import scan
from kyphoimg.dicom._scan import SCAN_COLUMNS
from kyphoimg.errors import DicomReadError

# The column set of issue 3, in order.
EXPECTED_COLUMNS = [
    "path",
    "patient_id",
    "study_instance_uid",
    "series_instance_uid",
    "sop_instance_uid",
    "study_date",
    "study_time",
    "acquisition_date",
    "acquisition_time",
    "modality",
    "view_position",
    "body_part",
    "series_description",
    "rows",
    "columns",
    "transfer_syntax",
    "spacing_source",
    "row_mm",
    "col_mm",
    "status",
    "reason",
]


def dataset(
    patient: str, *, shape=(32, 24), ts=ExplicitVRLittleEndian, pixels=True, **attrs
) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ts
    ds.SOPClassUID = attrs.pop("sop_class", "1.2.840.10008.5.1.4.1.1.1.1")  # DX
    ds.SOPInstanceUID = f"1.2.826.0.1.3680043.8.498.{int.from_bytes(patient.encode(), 'big')}"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    ds.PatientID = patient
    ds.StudyDate, ds.StudyTime = "20240301", "101500"
    ds.Modality, ds.ViewPosition, ds.BodyPartExamined = "DX", "LL", "LSPINE"
    ds.Rows, ds.Columns = shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if pixels:
        ds.PixelData = np.arange(shape[0] * shape[1], dtype="<u2").tobytes()
    for key, value in attrs.items():
        setattr(ds, key, value)
    return ds


def save(ds: Dataset, path: Path, *, meta: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if meta:
        ds.save_as(path, enforce_file_format=True)
    else:
        del ds.file_meta
        pydicom.dcmwrite(path, ds, implicit_vr=True, little_endian=True)
    return path


@pytest.fixture
def tree(tmp_path) -> Path:
    """A PACS-export-like folder with good, odd and bad files."""
    root = tmp_path / "export"
    save(dataset("P1", ImagerPixelSpacing=[0.15, 0.15]), root / "P1" / "pre.dcm")
    j2k = dataset(
        "P1",
        shape=(64, 64),
        ImagerPixelSpacing=[0.15, 0.15],
        EstimatedRadiographicMagnificationFactor=1.25,
    )
    j2k.compress(JPEG2000Lossless)
    save(j2k, root / "P1" / "post.dcm")
    save(dataset("P2", PixelSpacing=[0.2, 0.1]), root / "P2" / "sub" / "ps_only.dcm")
    save(dataset("P3", ImagerPixelSpacing=[0.1, 0.1]), root / "P3" / "nometa.dcm", meta=False)
    save(dataset("P4", pixels=False), root / "P4" / "no_pixels.dcm")
    save(
        dataset("P4", pixels=False, sop_class="1.2.840.10008.5.1.4.1.1.88.22"),
        root / "P4" / "sr.dcm",
    )
    mpeg = dataset("P5", ts=MPEG2MPML)
    mpeg.PixelData = encapsulate([b"\x00\x00\x01\xb3" + bytes(60)])
    mpeg["PixelData"].VR = "OB"
    save(mpeg, root / "P5" / "video.dcm")
    whole = save(
        dataset("P6", ImagerPixelSpacing=[0.1, 0.1]), root / "P6" / "whole.dcm"
    ).read_bytes()
    (root / "P6" / "cut_pixels.dcm").write_bytes(whole[:-100])
    (root / "P6" / "cut_header.dcm").write_bytes(whole[: whole.index(b"LSPINE") + 2])
    (root / "P6" / "whole.dcm").unlink()
    (root / "README.txt").write_text("exported from PACS\n")
    (root / "empty.bin").write_bytes(b"")
    return root


def by_path(index: pd.DataFrame) -> dict[str, pd.Series]:
    return {row.path: row for _, row in index.iterrows()}


def test_columns_are_fixed_and_typed(tree):
    index = scan(tree, progress=False)
    assert list(index.columns) == EXPECTED_COLUMNS == list(SCAN_COLUMNS)
    assert {c: str(t) for c, t in index.dtypes.items()} == dict(SCAN_COLUMNS)


def test_every_file_is_a_row_sorted_by_relative_path(tree):
    index = scan(tree, progress=False)
    assert index["path"].tolist() == [
        "P1/post.dcm",
        "P1/pre.dcm",
        "P2/sub/ps_only.dcm",
        "P3/nometa.dcm",
        "P4/no_pixels.dcm",
        "P4/sr.dcm",
        "P5/video.dcm",
        "P6/cut_header.dcm",
        "P6/cut_pixels.dcm",
        "README.txt",
        "empty.bin",
    ]


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("P1/pre.dcm", "ok", None),
        ("P1/post.dcm", "ok", None),
        ("P2/sub/ps_only.dcm", "ok", None),
        ("P3/nometa.dcm", "ok", "no DICOM file meta header"),
        ("P4/no_pixels.dcm", "error", "no pixel data"),
        ("P4/sr.dcm", "error", "not an image: a structured report"),
        ("P5/video.dcm", "error", "no decoder exists in pydicom for MPEG2"),
        ("P6/cut_header.dcm", "error", "truncated"),
        (
            "P6/cut_pixels.dcm",
            "error",
            "truncated: pixel data declares 1536 bytes, the file holds 1436",
        ),
        ("README.txt", "not_dicom", "not DICOM"),
        ("empty.bin", "not_dicom", "not DICOM: empty file"),
    ],
)
def test_status_and_reason(tree, path, status, reason):
    row = by_path(scan(tree, progress=False))[path]
    assert row.status == status
    if reason is None:
        assert pd.isna(row.reason)
    else:
        assert reason in row.reason


def test_header_values_and_calibration(tree):
    rows = by_path(scan(tree, progress=False))
    pre, post, ps_only, nometa = (
        rows[p] for p in ("P1/pre.dcm", "P1/post.dcm", "P2/sub/ps_only.dcm", "P3/nometa.dcm")
    )
    assert (pre.patient_id, pre.modality, pre.view_position, pre.body_part) == (
        "P1",
        "DX",
        "LL",
        "LSPINE",
    )
    assert pre.study_date == pd.Timestamp("2024-03-01")
    assert pre.study_time == "10:15:00"
    assert pd.isna(pre.acquisition_date)
    assert pd.isna(pre.acquisition_time)
    assert (pre.rows, pre.columns) == (32, 24)
    assert (pre.spacing_source, pre.row_mm, pre.col_mm) == ("detector", 0.15, 0.15)
    assert post.transfer_syntax == JPEG2000Lossless
    assert (post.spacing_source, post.row_mm) == ("ermf", pytest.approx(0.12))
    assert (ps_only.spacing_source, ps_only.row_mm, ps_only.col_mm) == ("unknown_origin", 0.2, 0.1)
    assert nometa.transfer_syntax == "1.2.840.10008.1.2"  # inferred: implicit VR little endian
    assert nometa.spacing_source == "detector"
    assert rows["P4/sr.dcm"].patient_id == "P4"  # error rows keep what the header says
    assert math.isnan(rows["README.txt"].row_mm)
    assert pd.isna(rows["README.txt"].spacing_source)


def test_pixel_data_is_never_decoded(tree, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("scan decoded pixel data")

    monkeypatch.setattr(pydicom.dataset.Dataset, "convert_pixel_data", refuse)
    monkeypatch.setattr(pydicom.pixels.decoders.base.Decoder, "as_array", refuse)
    monkeypatch.setattr(pydicom.pixels.decoders.base.Decoder, "iter_array", refuse)
    monkeypatch.setattr(pydicom.pixels, "pixel_array", refuse)
    index = scan(tree, progress=False)
    assert (index["status"] == "ok").sum() == 4


def test_empty_folder_gives_zero_rows_with_every_column(tmp_path):
    index = scan(tmp_path, progress=False)
    assert len(index) == 0
    assert list(index.columns) == EXPECTED_COLUMNS
    assert {c: str(t) for c, t in index.dtypes.items()} == dict(SCAN_COLUMNS)


def test_not_a_folder(tmp_path):
    with pytest.raises(DicomReadError, match=r"missing: not a folder"):
        scan(tmp_path / "missing")
    (tmp_path / "f.dcm").write_bytes(b"x")
    with pytest.raises(DicomReadError, match="not a folder"):
        scan(tmp_path / "f.dcm")


def test_progress_bar_goes_to_stderr_only_when_asked(tree, capsys):
    scan(tree, progress=False)
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ""
    scan(tree, progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "scan" in err
    assert "11/11" in err


def test_index_round_trips_through_csv(tree, tmp_path):
    index = scan(tree, progress=False)
    index.to_csv(tmp_path / "index.csv", index=False)
    back = pd.read_csv(tmp_path / "index.csv")
    assert list(back.columns) == EXPECTED_COLUMNS
    assert back.loc[back.path == "P1/pre.dcm", "study_date"].item() == "2024-03-01"


@pytest.mark.validation
def test_real_folder(validation_data):
    index = scan(validation_data / "dicom", progress=False)
    rows = by_path(index)
    expected = {
        "ljdata_966_fixed.dcm": ("detector", 0.16, "DX"),
        "ljdata_RG2_JPLL.dcm": ("unknown_origin", 0.2, "CR"),
        "pydicom_CR1_6154_cspine_LL.dcm": ("detector", 0.1, "CR"),
        "pydicomdata_RG3_J2KR.dcm": ("none", math.nan, "CR"),
    }
    for name, (source, mm, modality) in expected.items():
        row = rows[name]
        assert row.status == "ok", row.reason
        assert (row.spacing_source, row.modality) == (source, modality)
        np.testing.assert_allclose([row.row_mm, row.col_mm], [mm, mm])
    assert rows["ljdata_RG2_JPLL.dcm"].study_date == pd.Timestamp("2004-08-26")
    assert rows["ljdata_RG2_JPLL.dcm"].acquisition_date == pd.Timestamp("1997-03-14")


def test_command_line_scan_writes_the_index_and_lists_unreadable_files(tree, tmp_path, capsys):
    from kyphoimg.cli import main

    serial, parallel = tmp_path / "index.csv", tmp_path / "index_jobs.csv"
    assert main(["scan", str(tree), "-o", str(serial)]) == 1  # unreadable files: exit 1
    out, err = capsys.readouterr()
    assert "scanned 11 file(s): 4 DICOM image(s), 2 not DICOM, 5 unreadable" in out
    assert "P6/cut_pixels.dcm: truncated: pixel data declares 1536 bytes" in err
    assert main(["scan", str(tree), "-o", str(parallel), "--jobs", "2"]) == 1
    assert serial.read_bytes() == parallel.read_bytes()
    index = pd.read_csv(serial)
    assert index["path"].tolist()[:2] == ["P1/post.dcm", "P1/pre.dcm"]
    assert index.loc[index.path == "P1/post.dcm", "spacing_source"].item() == "ermf"


def test_streamed_csv_equals_the_written_index(tree, tmp_path, monkeypatch):
    from kyphoimg.dicom import _scan
    from kyphoimg.dicom._scan import scan_to_csv
    from kyphoimg.export import write_table

    whole, streamed = tmp_path / "whole.csv", tmp_path / "streamed.csv"
    write_table(scan(tree, progress=False), whole, dictionary=False)
    monkeypatch.setattr(_scan, "_CHUNK", 4)  # 11 files: three chunks
    counts, problems = scan_to_csv(tree, streamed, progress=False)
    assert streamed.read_bytes() == whole.read_bytes()
    assert counts == {"ok": 4, "not_dicom": 2, "error": 5}
    written = pd.read_csv(whole)
    assert sorted(problems["path"]) == sorted(written.loc[written.status == "error", "path"])
    empty = tmp_path / "empty"
    empty.mkdir()
    scan_to_csv(empty, tmp_path / "empty.csv", progress=False)
    assert (tmp_path / "empty.csv").read_text().strip() == ",".join(SCAN_COLUMNS)


def test_command_line_refuses_a_job_count_below_one(tree, tmp_path, capsys):
    from kyphoimg.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["scan", str(tree), "-o", str(tmp_path / "i.csv"), "--jobs", "0"])
    assert stop.value.code == 2
    assert "'0' is not a number of processes (1 or more)" in capsys.readouterr().err
    assert not (tmp_path / "i.csv").exists()
