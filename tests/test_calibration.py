"""Calibration: the plain constructors, and the DICOM resolution order of DOMAIN.md §5."""

from __future__ import annotations

import io
import math

import numpy as np
import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from kyphoimg.calibration import SPACING_SOURCES, Calibration
from kyphoimg.dicom import calibration_from_dataset, resolve_calibration
from kyphoimg.errors import CalibrationError

PS = Tag(0x0028, 0x0030)  # Pixel Spacing
IPS = Tag(0x0018, 0x1164)  # Imager Pixel Spacing
ERMF = Tag(0x0018, 0x1114)  # Estimated Radiographic Magnification Factor
CAL_TYPE = Tag(0x0028, 0x0A02)  # Pixel Spacing Calibration Type
NSPS = Tag(0x0018, 0x2010)  # Nominal Scanned Pixel Spacing
VRS = {PS: "DS", IPS: "DS", ERMF: "DS", CAL_TYPE: "CS", NSPS: "DS"}


def header(**raw: str | None) -> Dataset:
    """A dataset whose spacing elements hold exactly these (possibly malformed) strings.

    The values are stored as raw, unconverted elements, as dcmread leaves them, so
    malformed text reaches the resolver without pydicom validating it first.
    """
    tags = {"ps": PS, "ips": IPS, "ermf": ERMF, "cal_type": CAL_TYPE, "nsps": NSPS}
    ds = Dataset()
    for name, text in raw.items():
        if text is None:
            continue
        tag = tags[name]
        value = text.encode("latin-1")
        ds[tag] = RawDataElement(tag, VRS[tag], len(value), value, 0, False, True)
    return ds


# -- plain constructors -----------------------------------------------------------------
def test_constructor_keeps_row_col_order_and_coerces_numbers():
    cal = Calibration("0.2", 0.1, "pixel_spacing")  # type: ignore[arg-type]
    assert (cal.row_mm, cal.col_mm) == (0.2, 0.1)
    np.testing.assert_array_equal(cal.spacing, [0.2, 0.1])


@pytest.mark.parametrize("bad", [0, -0.1, math.nan, math.inf, "abc", None])
def test_constructor_rejects_unusable_spacing(bad):
    with pytest.raises(CalibrationError, match="row_mm"):
        Calibration(bad, 0.1, "detector")  # type: ignore[arg-type]


def test_constructor_rejects_unknown_source():
    with pytest.raises(CalibrationError, match="unknown calibration source 'ruler'"):
        Calibration(0.1, 0.1, "ruler")


def test_none_has_nan_mm_and_unit_spacing():
    cal = Calibration.none()
    assert cal.source == "none"
    assert math.isnan(cal.row_mm)
    assert math.isnan(cal.col_mm)
    assert not cal.has_mm
    np.testing.assert_array_equal(cal.spacing, [1.0, 1.0])
    assert Calibration(5, 5, "none").to_dict() == {"row_mm": None, "col_mm": None, "source": "none"}


@pytest.mark.parametrize(
    ("source", "patient_plane"),
    [
        ("user", True),
        ("pixel_spacing", True),
        ("ermf", True),
        ("detector", False),
        ("unknown_origin", False),
    ],
)
def test_patient_plane_sources(source, patient_plane):
    assert Calibration(0.1, 0.1, source).is_patient_plane is patient_plane
    assert SPACING_SOURCES.index(source) < SPACING_SOURCES.index("none")


def test_from_user_horizontal_line():
    cal = Calibration.from_user((10, 0), (10, 200), 30.0)
    assert cal == Calibration(0.15, 0.15, "user")


def test_from_user_keeps_pixel_aspect():
    # a vertical line of 100 rows; rows are twice as far apart as columns
    cal = Calibration.from_user((0, 0), (100, 0), 30.0, pixel_aspect=2.0)
    assert cal.row_mm == pytest.approx(0.3)
    assert cal.col_mm == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("p2", "length", "aspect", "match"),
    [
        ((5, 5), 10.0, 1.0, "no length"),
        ((5, 50), 0.0, 1.0, "length_mm"),
        ((5, 50), -3.0, 1.0, "length_mm"),
        ((5, 50), 10.0, 0.0, "pixel_aspect"),
    ],
)
def test_from_user_rejects_degenerate_input(p2, length, aspect, match):
    with pytest.raises(CalibrationError, match=match):
        Calibration.from_user((5, 5), p2, length, pixel_aspect=aspect)


def test_dict_round_trip():
    cal = Calibration(0.14, 0.12, "ermf")
    assert Calibration.from_dict(cal.to_dict()) == cal
    assert Calibration.from_dict(None).source == "none"
    assert Calibration.from_dict({"source": "none", "row_mm": None}).source == "none"
    with pytest.raises(CalibrationError, match="no 'source'"):
        Calibration.from_dict({"row_mm": 0.1, "col_mm": 0.1})


# -- calibration_from_dataset: the resolution order ------------------------------------
@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        pytest.param(
            {"ps": "0.12\\0.12", "ips": "0.15\\0.15"},
            (0.12, 0.12, "pixel_spacing"),
            id="PS differs from IPS: calibrated",
        ),
        pytest.param(
            {"ps": "0.12\\0.12", "ips": "0.15\\0.15", "ermf": "1.2"},
            (0.12, 0.12, "pixel_spacing"),
            id="calibrated PS beats ERMF",
        ),
        pytest.param(
            {"ps": "0.15\\0.15", "cal_type": "GEOMETRY"},
            (0.15, 0.15, "pixel_spacing"),
            id="PS with calibration type, no IPS",
        ),
        pytest.param(
            {"ps": "0.15\\0.15", "ips": "0.15\\0.15", "cal_type": "FIDUCIAL"},
            (0.15, 0.15, "pixel_spacing"),
            id="calibration type wins over equality",
        ),
        pytest.param({"ips": "0.15\\0.15", "ermf": "1.25"}, (0.12, 0.12, "ermf"), id="IPS/ERMF"),
        pytest.param(
            {"ps": "0.15\\0.15", "ips": "0.15\\0.15", "ermf": "1.25"},
            (0.12, 0.12, "ermf"),
            id="PS equal to IPS with ERMF",
        ),
        pytest.param({"ips": "0.15\\0.15"}, (0.15, 0.15, "detector"), id="IPS alone"),
        pytest.param(
            {"ps": "0.15\\0.15", "ips": "0.15\\0.15"},
            (0.15, 0.15, "detector"),
            id="PS equal to IPS: not corrected",
        ),
        pytest.param(
            {"ps": "0.1600", "ips": "0.16\\0.16"},
            (0.16, 0.16, "detector"),
            id="PS with one value ignored",
        ),
        pytest.param(
            {"ps": "0.15990\\0.15990", "ips": "0.16\\0.16"},
            (0.16, 0.16, "detector"),
            id="0.06 % apart counts as equal",
        ),
        pytest.param(
            {"ps": "0.1520\\0.1520", "ips": "0.16\\0.16"},
            (0.152, 0.152, "pixel_spacing"),
            id="5 % apart is a calibration",
        ),
        pytest.param({"ps": "0.2\\0.2"}, (0.2, 0.2, "unknown_origin"), id="PS alone"),
        pytest.param(
            {"ps": "0.2\\0.2", "ermf": "1.3"},
            (0.2, 0.2, "unknown_origin"),
            id="ERMF never applied to PS",
        ),
        pytest.param({"nsps": "0.08\\0.08"}, (0.08, 0.08, "unknown_origin"), id="scanned film"),
        pytest.param(
            {"ps": "0.2\\0.2", "nsps": "0.08\\0.08"},
            (0.2, 0.2, "unknown_origin"),
            id="PS before NSPS",
        ),
        pytest.param({}, (math.nan, math.nan, "none"), id="nothing"),
        pytest.param(
            {"cal_type": "GEOMETRY"}, (math.nan, math.nan, "none"), id="calibration type without PS"
        ),
    ],
)
def test_resolution_order(tags, expected):
    cal = calibration_from_dataset(header(**tags))
    row, col, source = expected
    assert cal.source == source
    np.testing.assert_allclose([cal.row_mm, cal.col_mm], [row, col], rtol=1e-12)


@pytest.mark.parametrize(
    "bad",
    [
        "0\\0",
        "0.15\\0",
        "-0.15\\0.15",
        "nan\\0.15",
        "inf\\inf",
        "abc\\0.15",
        "0.15\\0.15\\0.15",
        "",
        "  ",
        "0.15\\",
        "1e400\\0.1",
    ],
)
def test_malformed_spacing_counts_as_missing(bad):
    assert calibration_from_dataset(header(ps=bad, ips="0.14\\0.14")) == Calibration(
        0.14, 0.14, "detector"
    )
    assert calibration_from_dataset(header(ps="0.2\\0.2", ips=bad)).source == "unknown_origin"
    assert calibration_from_dataset(header(ips=bad, ermf="1.2")).source == "none"
    assert calibration_from_dataset(header(nsps=bad)).source == "none"


@pytest.mark.parametrize("bad", ["0", "-1.2", "nan", "inf", "abc", "0.8", "1.2\\1.3"])
def test_unusable_magnification_is_never_divided_by(bad):
    cal, notes = resolve_calibration(header(ips="0.15\\0.15", ermf=bad))
    assert cal == Calibration(0.15, 0.15, "detector")
    assert any("EstimatedRadiographicMagnificationFactor" in n for n in notes)


def test_non_square_pixels_keep_dicom_order():
    cal = calibration_from_dataset(header(ips="0.2\\0.1", ermf="1.25"))
    assert (cal.row_mm, cal.col_mm) == pytest.approx((0.16, 0.08))
    cal = calibration_from_dataset(header(ps="0.3\\0.1", ips="0.2\\0.1"))
    assert (cal.row_mm, cal.col_mm, cal.source) == (0.3, 0.1, "pixel_spacing")


def test_reasons_name_ignored_values_and_the_choice():
    cal, notes = resolve_calibration(header(ps="abc\\0.1", ips="0.15\\0.15"))
    assert cal.source == "detector"
    assert "PixelSpacing 'abc\\\\0.1'" in notes[0] or "PixelSpacing 'abc\\0.1'" in notes[0]
    assert "detector plane" in notes[-1]
    _, notes = resolve_calibration(header(ps="0.15\\0.15", ips="0.15\\0.15"))
    assert any("not corrected for magnification" in n for n in notes)


def test_converted_values_resolve_like_raw_ones():
    ds = Dataset()
    ds.PixelSpacing = [0.15, 0.15]
    ds.ImagerPixelSpacing = [0.15, 0.15]
    ds.EstimatedRadiographicMagnificationFactor = 1.5
    cal = calibration_from_dataset(ds)
    assert cal.source == "ermf"
    assert (cal.row_mm, cal.col_mm) == pytest.approx((0.1, 0.1))


@pytest.mark.parametrize("ts", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
def test_calibration_after_a_file_round_trip(ts):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ts
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.7"
    ds.ImagerPixelSpacing = [0.139, 0.14]
    ds.EstimatedRadiographicMagnificationFactor = 1.15
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    back = pydicom.dcmread(io.BytesIO(buf.getvalue()), stop_before_pixels=True)
    cal = calibration_from_dataset(back)
    assert cal.source == "ermf"
    assert (cal.row_mm, cal.col_mm) == pytest.approx((0.139 / 1.15, 0.14 / 1.15))


_texts = st.one_of(
    st.none(),
    st.text(alphabet="0123456789.-+e\\ naif", max_size=14),
    st.tuples(st.floats(allow_nan=True, allow_infinity=True), st.floats()).map(
        lambda t: f"{t[0]!r}\\{t[1]!r}"
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    ps=_texts, ips=_texts, ermf=_texts, cal_type=st.sampled_from([None, "GEOMETRY"]), nsps=_texts
)
def test_any_spacing_text_gives_a_valid_calibration(ps, ips, ermf, cal_type, nsps):
    cal = calibration_from_dataset(header(ps=ps, ips=ips, ermf=ermf, cal_type=cal_type, nsps=nsps))
    assert cal.source in SPACING_SOURCES
    assert cal.source != "user"
    if cal.has_mm:
        assert all(math.isfinite(v) and v > 0 for v in (cal.row_mm, cal.col_mm))
    if cal.source == "ermf":
        assert ips is not None
        assert ermf is not None


# -- real files (data/README.md, dicom/ table) ------------------------------------------
@pytest.mark.validation
@pytest.mark.parametrize(
    ("name", "source", "spacing"),
    [
        ("ljdata_966_fixed.dcm", "detector", (0.16, 0.16)),
        ("ljdata_RG2_JPLL.dcm", "unknown_origin", (0.2, 0.2)),
        ("pydicom_CR1_6154_cspine_LL.dcm", "detector", (0.1, 0.1)),
        ("pydicomdata_RG3_J2KR.dcm", "none", (math.nan, math.nan)),
    ],
)
def test_real_headers(validation_data, name, source, spacing):
    ds = pydicom.dcmread(validation_data / "dicom" / name, stop_before_pixels=True)
    cal = calibration_from_dataset(ds)
    assert cal.source == source
    np.testing.assert_allclose([cal.row_mm, cal.col_mm], spacing)
