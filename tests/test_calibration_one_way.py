"""One way to a film's calibration (issue 19): every entry point gives the same answer.

``kyphoimg.dicom.calibration_from_dataset`` is the public way for a dataset;
``resolve_calibration`` (the same with reasons), ``read_radiograph(...).calibration``,
the ``scan`` index and the rule itself (``resolve_spacing`` over the stored text) must
agree on the sample films and on each edge case of the spacing rules, written as files.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pydicom
import pytest

from kyphoimg.calibration import SPACING_KEYWORDS, Calibration, resolve_spacing
from kyphoimg.dicom import calibration_from_dataset, read_radiograph, resolve_calibration, scan

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FILMS = sorted((ROOT / "sample_dicom").glob("P*/*.dcm"))


def _stored_text(path: Path) -> dict[str, str]:
    """The spacing attributes as the file stores them (raw bytes, decoded, no pydicom)."""
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    out = {}
    for keyword in SPACING_KEYWORDS:
        elem = ds.get_item(keyword)
        if elem is not None and elem.value:
            out[keyword] = bytes(elem.value).decode("latin-1").strip(" \x00")
    return out


def _every_way(path: Path) -> dict[str, Calibration]:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    index = scan(path.parent, progress=False)
    row = index.loc[index["path"].map(lambda p: Path(p).name) == path.name].iloc[0]
    scanned = (
        Calibration.none()
        if row["spacing_source"] == "none"
        else Calibration(float(row["row_mm"]), float(row["col_mm"]), row["spacing_source"])
    )
    return {
        "calibration_from_dataset": calibration_from_dataset(ds),
        "resolve_calibration": resolve_calibration(ds)[0],
        "read_radiograph": read_radiograph(path).calibration,
        "scan": scanned,
        "resolve_spacing": resolve_spacing(_stored_text(path).get)[0],
    }


def _assert_same(ways: dict[str, Calibration], expected: tuple[float, float, str]) -> None:
    row, col, source = expected
    for name, cal in ways.items():
        assert cal.source == source, f"{name}: {cal}"
        np.testing.assert_allclose([cal.row_mm, cal.col_mm], [row, col], rtol=1e-9, err_msg=name)


def test_sample_films_are_there():
    assert len(SAMPLE_FILMS) == 12


@pytest.mark.parametrize("path", SAMPLE_FILMS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_way_agrees_on_the_sample_films(path):
    ways = _every_way(path)
    first = ways["calibration_from_dataset"]
    assert first.source in ("detector", "pixel_spacing", "ermf")
    _assert_same(ways, (first.row_mm, first.col_mm, first.source))


EDGE_CASES = {
    "imager pixel spacing only": ({"ImagerPixelSpacing": "0.15\\0.15"}, (0.15, 0.15, "detector")),
    "pixel spacing only": ({"PixelSpacing": "0.2\\0.2"}, (0.2, 0.2, "unknown_origin")),
    "both, disagreeing": (
        {"PixelSpacing": "0.125\\0.125", "ImagerPixelSpacing": "0.15\\0.15"},
        (0.125, 0.125, "pixel_spacing"),
    ),
    "magnification factor": (
        {"ImagerPixelSpacing": "0.15\\0.1", "EstimatedRadiographicMagnificationFactor": "1.25"},
        (0.12, 0.08, "ermf"),
    ),
    "none": ({}, (math.nan, math.nan, "none")),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_every_way_agrees_on_the_edge_cases(case, tmp_path):
    tags, expected = EDGE_CASES[case]
    ds = pydicom.dcmread(SAMPLE_FILMS[0])
    for keyword in SPACING_KEYWORDS:
        if keyword in ds:
            delattr(ds, keyword)
    for keyword, text in tags.items():
        setattr(ds, keyword, text)
    path = tmp_path / "film.dcm"
    ds.save_as(path, enforce_file_format=True)
    assert _stored_text(path) == tags
    _assert_same(_every_way(path), expected)


def test_the_calibration_class_reads_no_dicom():
    """The dataset way is kyphoimg.dicom's; the class holds values and the rules only."""
    assert not hasattr(Calibration, "from_dataset")
