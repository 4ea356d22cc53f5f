"""read_radiograph: pixels, modality LUT, VOI display, calibration, metadata and bad input."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import pixel_array
from pydicom.sequence import Sequence
from pydicom.uid import (
    MPEG2MPML,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

import kyphoimg.dicom._scan as scan_module
from kyphoimg.calibration import Calibration
from kyphoimg.dicom import DISPLAY_PRESETS, Radiograph, read_radiograph
from kyphoimg.errors import DicomReadError, KyphoimgError

CR_IMAGE = "1.2.840.10008.5.1.4.1.1.1"
PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def make_ds(
    pixels: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    sop_class: str = CR_IMAGE,
    ts: str = ExplicitVRLittleEndian,
    **attrs: object,
) -> Dataset:
    """A CR image dataset holding ``pixels`` (2-D, or 3-D for frames) as 16-bit values."""
    frames = pixels.shape[0] if pixels.ndim == 3 else 1
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ts
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.11"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.11"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.12"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.13"
    ds.PatientID = "P001"
    ds.StudyDate, ds.StudyTime = "20240110", "093000"
    ds.AcquisitionDate, ds.AcquisitionTime = "20240110", "093512.25"
    ds.Modality, ds.ViewPosition, ds.BodyPartExamined = "CR", "LL", "LSPINE"
    ds.ImageLaterality = "L"
    ds.PatientOrientation = ["A", "F"]
    ds.Rows, ds.Columns = pixels.shape[-2:]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = pixels.astype("<u2").tobytes()
    for key, value in attrs.items():
        setattr(ds, key, value)
    return ds


def write(ds: Dataset, path: Path, *, meta: bool = True, implicit: bool = False) -> Path:
    if meta:
        ds.save_as(path, enforce_file_format=True)
    else:
        del ds.file_meta
        pydicom.dcmwrite(path, ds, implicit_vr=implicit, little_endian=True)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def image(rng) -> np.ndarray:
    return rng.integers(0, 4096, size=(40, 32), dtype=np.uint16)


@pytest.fixture
def cr_file(tmp_path, image) -> Path:
    ds = make_ds(
        image, ImagerPixelSpacing=[0.15, 0.15], EstimatedRadiographicMagnificationFactor=1.2
    )
    return write(ds, tmp_path / "cr.dcm")


# -- the happy path ---------------------------------------------------------------------
def test_reads_pixels_calibration_and_metadata(cr_file, image):
    rg = read_radiograph(cr_file)
    assert isinstance(rg, Radiograph)
    assert rg.path == cr_file
    np.testing.assert_array_equal(rg.pixels, image)
    assert rg.pixels.dtype == np.uint16
    assert rg.shape == (40, 32)
    assert rg.calibration.source == "ermf"
    assert (rg.calibration.row_mm, rg.calibration.col_mm) == pytest.approx((0.125, 0.125))
    m = rg.metadata
    assert (m.patient_id, m.modality, m.view_position, m.body_part) == (
        "P001",
        "CR",
        "LL",
        "LSPINE",
    )
    assert m.sop_instance_uid == "1.2.826.0.1.3680043.8.498.11"
    assert m.study_instance_uid.endswith(".12")
    assert m.series_instance_uid.endswith(".13")
    assert m.study_date == dt.date(2024, 1, 10)
    assert m.study_time == dt.time(9, 30)
    assert m.acquisition_time == dt.time(9, 35, 12, 250000)
    assert m.laterality == "L"
    assert m.patient_orientation == ("A", "F")
    assert m.photometric_interpretation == "MONOCHROME2"
    assert m.transfer_syntax == ExplicitVRLittleEndian
    assert not m.file_meta_missing
    assert not m.transfer_syntax_inferred
    assert (m.rows, m.columns, m.number_of_frames, m.frame) == (40, 32, 1, 0)
    assert (m.modality_lut, m.decoder) == ("none", "native")
    assert "ERMF 1.2" in m.calibration_notes[-1]
    assert m.as_dict()["patient_id"] == "P001"


def test_stored_pixels_are_never_altered(cr_file, image):
    before = sha(cr_file)
    rg = read_radiograph(cr_file)
    assert not rg.pixels.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        rg.pixels[0, 0] = 1
    shown = rg.display("full")
    shown[:] = 0.5  # the display image is the caller's own copy
    np.testing.assert_array_equal(rg.pixels, image)
    assert sha(cr_file) == before
    with pytest.raises(AttributeError):
        rg.pixels = image  # type: ignore[misc]  # frozen


def test_non_square_pixels_keep_row_col(tmp_path, image):
    ds = make_ds(image, PixelSpacing=[0.2, 0.1], ImagerPixelSpacing=[0.25, 0.125])
    rg = read_radiograph(write(ds, tmp_path / "aniso.dcm"))
    assert rg.calibration == Calibration(0.2, 0.1, "pixel_spacing")


def test_bad_date_is_noted_not_fatal(cr_file):
    data = cr_file.read_bytes()
    data = data.replace(b"20240110", b"20241345", 1).replace(b"093000", b"990000", 1)
    cr_file.write_bytes(data)  # Study Date month 13, Study Time hour 99
    m = read_radiograph(cr_file).metadata
    assert m.study_date is None
    assert m.study_time is None
    assert m.acquisition_date == dt.date(2024, 1, 10)
    assert any("StudyDate '20241345' is not a valid date" in n for n in m.notes)
    assert any("StudyTime '990000' is not a valid time" in n for n in m.notes)


# -- multi-frame ------------------------------------------------------------------------
def test_frame_selects_one_frame(tmp_path, rng):
    frames = rng.integers(0, 4096, size=(3, 16, 12), dtype=np.uint16)
    path = write(make_ds(frames), tmp_path / "mf.dcm")
    rg = read_radiograph(path, frame=2)
    np.testing.assert_array_equal(rg.pixels, frames[2])
    assert (rg.metadata.number_of_frames, rg.metadata.frame) == (3, 2)


@pytest.mark.parametrize("frame", [3, -1])
def test_frame_out_of_range_names_file_and_count(tmp_path, rng, frame):
    frames = rng.integers(0, 4096, size=(3, 8, 8), dtype=np.uint16)
    path = write(make_ds(frames), tmp_path / "mf.dcm")
    with pytest.raises(
        DicomReadError, match=rf"mf\.dcm: frame {frame} is out of range: the file has 3 frame"
    ):
        read_radiograph(path, frame=frame)


def test_frame_must_be_an_integer(cr_file):
    with pytest.raises(TypeError):
        read_radiograph(cr_file, frame="1")  # type: ignore[arg-type]


def test_compressed_multiframe(tmp_path, rng):
    frames = rng.integers(0, 4096, size=(2, 64, 48), dtype=np.uint16)
    ds = make_ds(frames)
    ds.compress(JPEG2000Lossless)
    rg = read_radiograph(write(ds, tmp_path / "mf_j2k.dcm"), frame=1)
    np.testing.assert_array_equal(rg.pixels, frames[1])


# -- files without file meta ------------------------------------------------------------
@pytest.mark.parametrize(
    ("implicit", "expected_ts"), [(True, ImplicitVRLittleEndian), (False, ExplicitVRLittleEndian)]
)
def test_missing_file_meta_is_read_leniently(tmp_path, image, implicit, expected_ts):
    path = write(
        make_ds(image, ImagerPixelSpacing=[0.1, 0.1]),
        tmp_path / "raw.dcm",
        meta=False,
        implicit=implicit,
    )
    assert path.read_bytes()[128:132] != b"DICM"
    rg = read_radiograph(path)
    np.testing.assert_array_equal(rg.pixels, image)
    assert rg.metadata.file_meta_missing
    assert rg.metadata.transfer_syntax_inferred
    assert rg.metadata.transfer_syntax == expected_ts
    assert rg.calibration.source == "detector"
    assert any("no DICOM file meta header" in n for n in rg.metadata.notes)


def test_compressed_without_file_meta_is_refused(tmp_path, image):
    ds = make_ds(image)
    ds.compress(RLELossless)
    ds.save_as(tmp_path / "rle.dcm", enforce_file_format=True)
    data = (tmp_path / "rle.dcm").read_bytes()
    # drop preamble and file meta group: the dataset starts at the first (0008,xxxx) tag
    start = data.index(b"\x08\x00", 132 + 12)
    (tmp_path / "rle_raw.dcm").write_bytes(data[start:])
    with pytest.raises(DicomReadError, match=r"encapsulated.*no transfer syntax"):
        read_radiograph(tmp_path / "rle_raw.dcm")


# -- modality LUT -----------------------------------------------------------------------
def test_rescale_gives_float_modality_values(tmp_path, image):
    path = write(make_ds(image, RescaleSlope=2, RescaleIntercept=-100), tmp_path / "r.dcm")
    rg = read_radiograph(path)
    assert rg.pixels.dtype == np.float64
    np.testing.assert_array_equal(rg.pixels, image.astype(float) * 2 - 100)
    assert rg.metadata.modality_lut == "rescale"


def test_identity_rescale_keeps_integers(tmp_path, image):
    rg = read_radiograph(
        write(make_ds(image, RescaleSlope=1, RescaleIntercept=0), tmp_path / "i.dcm")
    )
    assert rg.pixels.dtype == np.uint16
    assert rg.metadata.modality_lut == "identity"


def test_unusable_rescale_is_ignored_with_a_note(tmp_path, image):
    rg = read_radiograph(
        write(make_ds(image, RescaleSlope=0, RescaleIntercept=5), tmp_path / "z.dcm")
    )
    np.testing.assert_array_equal(rg.pixels, image)
    assert rg.metadata.modality_lut == "none"
    assert any("Rescale Slope '0.0' / Intercept '5.0' unusable" in n for n in rg.metadata.notes)


def test_modality_lut_sequence(tmp_path, image):
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 16]
    table = (np.arange(4096) * 7 % 65536).astype(np.uint16)
    item.add_new(0x00283006, "US", table.tolist())  # LUT Data as US values
    item.ModalityLUTType = "US"
    ds = make_ds(image, ModalityLUTSequence=Sequence([item]))
    rg = read_radiograph(write(ds, tmp_path / "mlut.dcm"))
    np.testing.assert_array_equal(rg.pixels, table[image])
    assert rg.metadata.modality_lut == "lut_sequence"


# -- VOI and display --------------------------------------------------------------------
VALUES = np.array([[0, 1024, 2048, 4095]], dtype=np.uint16)


def read_values(tmp_path, photometric="MONOCHROME2", **attrs) -> Radiograph:
    return read_radiograph(
        write(make_ds(VALUES, photometric=photometric, **attrs), tmp_path / "v.dcm")
    )


def test_linear_window_follows_ps33_formula(tmp_path):
    rg = read_values(tmp_path, WindowCenter=2048, WindowWidth=4096)
    # LINEAR: y = (x - (c - 0.5)) / (w - 1) + 0.5, clipped; c=2048, w=4096 -> x / 4095
    np.testing.assert_allclose(rg.display(), VALUES / 4095.0, atol=1e-6)
    assert rg.voi.windows == ((2048.0, 4096.0, None),)


def test_linear_exact_and_sigmoid(tmp_path):
    rg = read_values(tmp_path, WindowCenter=2048, WindowWidth=2048, VOILUTFunction="LINEAR_EXACT")
    np.testing.assert_allclose(rg.display(), [[0.0, 0.0, 0.5, 1.0]], atol=1e-6)
    rg = read_values(tmp_path, WindowCenter=2048, WindowWidth=1024, VOILUTFunction="SIGMOID")
    expected = 1.0 / (1.0 + np.exp(-4.0 * (VALUES - 2048.0) / 1024.0))
    np.testing.assert_allclose(rg.display(), expected, rtol=1e-5)


def test_several_windows_picked_by_index(tmp_path):
    rg = read_values(
        tmp_path,
        WindowCenter=[2048, 1024],
        WindowWidth=[4096, 2],
        WindowCenterWidthExplanation=["FULL", "NARROW"],
    )
    assert [w[2] for w in rg.voi.windows] == ["FULL", "NARROW"]
    # LINEAR, c=1024, w=2: 0 up to 1023, ((x - 1023.5) / 1 + 0.5) between, 1 above 1024
    np.testing.assert_array_equal(rg.display("window", index=1), [[0.0, 1.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="window index 2 is out of range; the file holds 2"):
        rg.display("window", index=2)


def test_voi_lut_sequence_is_preferred(tmp_path):
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 12]
    table = (4095 - np.arange(4096)).astype(np.uint16)
    item.add_new(0x00283006, "OW", table.astype("<u2").tobytes())  # LUT Data as OW bytes
    item.LUTExplanation = "INVERSE"
    rg = read_values(tmp_path, WindowCenter=2048, WindowWidth=4096, VOILUTSequence=Sequence([item]))
    np.testing.assert_allclose(rg.display(), table[VALUES] / 4095.0, atol=1e-6)
    np.testing.assert_allclose(rg.display("window"), VALUES / 4095.0, atol=1e-6)
    assert rg.voi.luts[0][3] == "INVERSE"
    assert not rg.voi.luts[0][2].flags.writeable


def test_voi_lut_offset_and_out_of_range_values(tmp_path):
    item = Dataset()
    item.LUTDescriptor = [2, 1024, 16]  # maps 1024 -> 0 and 1025 -> 65535
    item.add_new(0x00283006, "US", [0, 65535])
    rg = read_values(tmp_path, VOILUTSequence=Sequence([item]))
    np.testing.assert_array_equal(rg.display("lut"), [[0.0, 0.0, 1.0, 1.0]])


def test_monochrome1_is_inverted_so_bone_is_bright(tmp_path):
    m1 = read_values(tmp_path, photometric="MONOCHROME1", WindowCenter=2048, WindowWidth=4096)
    np.testing.assert_allclose(m1.display(), 1.0 - VALUES / 4095.0, atol=1e-6)
    assert m1.display("full")[0, 0] == 1.0  # lowest stored value: densest, white
    np.testing.assert_array_equal(m1.pixels, VALUES)  # stored polarity is kept


@pytest.mark.parametrize("preset", ["full", "auto", "bone", "soft_tissue"])
def test_percentile_presets_do_not_depend_on_polarity(tmp_path, rng, preset):
    img = rng.integers(0, 4096, size=(64, 64), dtype=np.uint16)
    m2 = read_radiograph(write(make_ds(img), tmp_path / "m2.dcm"))
    m1 = read_radiograph(write(make_ds(4095 - img, photometric="MONOCHROME1"), tmp_path / "m1.dcm"))
    a, b = m2.display(preset), m1.display(preset)
    assert a.dtype == np.float32
    assert a.min() >= 0.0
    assert a.max() <= 1.0
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_bone_preset_spreads_the_bright_end(tmp_path, rng):
    img = rng.integers(0, 4096, size=(64, 64), dtype=np.uint16)
    rg = read_radiograph(write(make_ds(img), tmp_path / "b.dcm"))
    bone = rg.display("bone")
    p30 = np.percentile(img, 30)
    assert bone[img <= p30].max() == 0.0
    assert np.corrcoef(bone[img > p30], img[img > p30])[0, 1] > 0.99


def test_explicit_window_overrides_preset(tmp_path):
    rg = read_values(tmp_path, WindowCenter=2048, WindowWidth=4096)
    # LINEAR, c=1024.5, w=2: y = (x - 1024) / 1 + 0.5 between 1023.5 and 1024.5
    np.testing.assert_allclose(rg.display(center=1024.5, width=2), [[0.0, 0.5, 1.0, 1.0]])
    with pytest.raises(ValueError, match="both center= and a positive width="):
        rg.display(center=100)


def test_display_errors(tmp_path):
    rg = read_values(tmp_path)
    with pytest.raises(ValueError, match="unknown display preset 'lung'"):
        rg.display("lung")
    with pytest.raises(ValueError, match="holds no stored window"):
        rg.display("window")
    np.testing.assert_allclose(rg.display(), VALUES / 4095.0, atol=1e-6)  # file -> full range
    assert set(DISPLAY_PRESETS) >= {"file", "window", "lut", "full", "bone"}


# -- compressed transfer syntaxes -------------------------------------------------------
def _gdcm_jpeg_lossless(src: Path, dst: Path, *, sv1: bool = True) -> Path:
    """Transcode with python-gdcm's encoder (pydicom 3.0 has no JPEG Lossless encoder)."""
    gdcm = pytest.importorskip("gdcm")
    reader = gdcm.ImageReader()
    reader.SetFileName(str(src))
    assert reader.Read()
    change = gdcm.ImageChangeTransferSyntax()
    kind = "JPEGLosslessProcess14_1" if sv1 else "JPEGLosslessProcess14"
    change.SetTransferSyntax(gdcm.TransferSyntax(getattr(gdcm.TransferSyntax, kind)))
    change.SetInput(reader.GetImage())
    assert change.Change()
    writer = gdcm.ImageWriter()
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    writer.SetFileName(str(dst))
    assert writer.Write()
    return dst


@pytest.mark.parametrize(
    ("syntax", "decoder"),
    [
        (RLELossless, "pydicom"),
        (JPEG2000Lossless, "pylibjpeg"),
        (JPEGLSLossless, "gdcm"),
        (JPEGLosslessSV1, "gdcm"),
        (JPEGLossless, "gdcm"),
        (DeflatedExplicitVRLittleEndian, "native"),
    ],
)
def test_lossless_syntaxes_decode_to_the_source(tmp_path, image, syntax, decoder):
    ds = make_ds(image)
    if syntax in (JPEGLosslessSV1, JPEGLossless):
        sv1 = syntax == JPEGLosslessSV1
        path = _gdcm_jpeg_lossless(write(ds, tmp_path / "u.dcm"), tmp_path / "c.dcm", sv1=sv1)
    elif syntax == DeflatedExplicitVRLittleEndian:
        ds.file_meta.TransferSyntaxUID = syntax
        path = write(ds, tmp_path / "c.dcm")
    else:
        ds.compress(syntax)
        path = write(ds, tmp_path / "c.dcm")
    assert pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID == syntax
    rg = read_radiograph(path)
    np.testing.assert_array_equal(rg.pixels, image)
    assert (rg.metadata.transfer_syntax, rg.metadata.decoder) == (syntax, decoder)


@pytest.mark.parametrize(
    ("name", "decoder"),
    [
        ("MR_small_RLE.dcm", "pydicom"),
        ("MR_small_jp2klossless.dcm", "pylibjpeg"),
        ("MR_small_jpeg_ls_lossless.dcm", "gdcm"),
        ("MR_small_bigendian.dcm", "native"),
        ("MR_small_implicit.dcm", "native"),
    ],
)
def test_pydicom_twins_equal_their_uncompressed_original(name, decoder):
    """Files encoded by other tools (pydicom's test data) decode to the uncompressed twin."""
    if not (PYDICOM_FILES / name).exists():
        pytest.skip(f"{name} is not shipped with this pydicom")
    original = pydicom.dcmread(PYDICOM_FILES / "MR_small.dcm").pixel_array  # signed 16-bit
    rg = read_radiograph(PYDICOM_FILES / name)
    assert rg.metadata.decoder == decoder
    np.testing.assert_array_equal(rg.pixels, original)


def test_jpeg2000_decoders_agree(tmp_path, image):
    ds = make_ds(image)
    ds.compress(JPEG2000Lossless)  # encoded by pylibjpeg-openjpeg
    path = write(ds, tmp_path / "j2k.dcm")
    full = pydicom.dcmread(path)
    by_gdcm = pixel_array(full, decoding_plugin="gdcm")
    by_openjpeg = pixel_array(full, decoding_plugin="pylibjpeg")
    np.testing.assert_array_equal(by_gdcm, by_openjpeg)
    rg = read_radiograph(path)
    assert rg.metadata.decoder == "pylibjpeg"
    np.testing.assert_array_equal(rg.pixels, by_gdcm)


def test_jpeg_baseline(tmp_path, rng):
    pil = pytest.importorskip("PIL.Image")
    smooth = np.add.outer(np.arange(48), np.arange(64)).astype(np.uint8) * 2
    buf = io.BytesIO()
    pil.fromarray(smooth).save(buf, format="JPEG", quality=95)
    ds = make_ds(smooth, bits_stored=8, ts=JPEGBaseline8Bit)
    ds.BitsAllocated = 8
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    path = write(ds, tmp_path / "jpeg.dcm")
    rg = read_radiograph(path)
    assert rg.metadata.decoder == "gdcm"
    by_pillow = pixel_array(pydicom.dcmread(path), decoding_plugin="pillow")
    assert np.abs(rg.pixels.astype(int) - by_pillow.astype(int)).max() <= 1
    assert np.abs(rg.pixels.astype(int) - smooth.astype(int)).mean() < 2.0


def test_jpeg_extended_12bit_via_gdcm():
    path = PYDICOM_FILES / "JPGExtended.dcm"
    if not path.exists():
        pytest.skip(f"{path} is not shipped with this pydicom")
    rg = read_radiograph(path)
    assert rg.metadata.decoder == "gdcm-file"
    # reference values of pydicom's test suite (JPGE_16_12_1_0_1F_M2, decoded by libjpeg)
    assert rg.pixels[420, 140] == 244
    assert rg.pixels[230, 120] == 95


# -- bad input --------------------------------------------------------------------------
def _sr(tmp_path: Path, sop_class: str) -> Path:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.21"
    ds.Modality = "SR"
    return write(ds, tmp_path / "obj.dcm")


@pytest.mark.parametrize(
    ("sop_class", "match"),
    [
        ("1.2.840.10008.5.1.4.1.1.88.11", "not an image: a structured report"),
        ("1.2.840.10008.5.1.4.1.1.11.1", "not an image: a presentation state"),
        ("1.2.840.10008.5.1.4.1.1.481.5", "not an image: RT Plan Storage has no pixel data"),
        (CR_IMAGE, "no pixel data"),
    ],
)
def test_objects_without_an_image(tmp_path, sop_class, match):
    path = _sr(tmp_path, sop_class)
    with pytest.raises(DicomReadError, match=match) as err:
        read_radiograph(path)
    assert str(path) in str(err.value)


def test_errors_are_kyphoimg_and_value_errors(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("patient P001, lateral film\n" * 20)
    with pytest.raises(DicomReadError, match=r"notes\.txt: not DICOM") as err:
        read_radiograph(path)
    assert isinstance(err.value, KyphoimgError)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"", "not DICOM: empty file"), (b"\x89PNG\r\n\x1a\n" + bytes(200), "not DICOM")],
)
def test_not_dicom(tmp_path, content, match):
    path = tmp_path / "x.dcm"
    path.write_bytes(content)
    with pytest.raises(DicomReadError, match=match):
        read_radiograph(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DicomReadError, match=r"nope\.dcm: cannot be opened"):
        read_radiograph(tmp_path / "nope.dcm")
    with pytest.raises(DicomReadError, match="cannot be opened"):
        read_radiograph(tmp_path)


def test_truncated_native_pixel_data(cr_file, tmp_path):
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(cr_file.read_bytes()[:-500])
    with pytest.raises(DicomReadError, match=r"cut\.dcm: truncated"):
        read_radiograph(cut)


def test_truncated_inside_the_header(cr_file, tmp_path):
    data = cr_file.read_bytes()
    at = data.index(b"LSPINE")  # inside Body Part Examined
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: at + 3])
    with pytest.raises(DicomReadError, match="truncated"):
        read_radiograph(cut)


def test_truncated_compressed_pixel_data(tmp_path, image):
    ds = make_ds(image)
    ds.compress(JPEG2000Lossless)
    data = write(ds, tmp_path / "j.dcm").read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: len(data) - 300])
    with pytest.raises(DicomReadError, match="truncated"):
        read_radiograph(cut)


def test_corrupt_codestream(tmp_path, image):
    ds = make_ds(image, ts=JPEG2000Lossless)
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + bytes(64)])
    ds["PixelData"].VR = "OB"
    with pytest.raises(DicomReadError, match=r"(?s)could not be decoded.*pylibjpeg: .*gdcm: "):
        read_radiograph(write(ds, tmp_path / "bad.dcm"))


def test_syntax_without_any_decoder(tmp_path, image):
    ds = make_ds(image, ts=MPEG2MPML)
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + bytes(60)])
    ds["PixelData"].VR = "OB"
    with pytest.raises(DicomReadError, match="no decoder exists in pydicom for MPEG2"):
        read_radiograph(write(ds, tmp_path / "mpeg.dcm"))


def test_missing_decoder_names_the_package(tmp_path, image, monkeypatch):
    path = _gdcm_jpeg_lossless(write(make_ds(image), tmp_path / "u.dcm"), tmp_path / "jll.dcm")
    monkeypatch.setattr(scan_module, "_available_plugins", lambda ts: ())
    with pytest.raises(
        DicomReadError,
        match=r"no installed decoder handles JPEG Lossless.*"
        r"install python-gdcm \(Apache-2.0/BSD\) or pylibjpeg-libjpeg \(GPLv3\)",
    ):
        read_radiograph(path)


def test_colour_images_are_refused(tmp_path):
    ds = make_ds(np.zeros((4, 4), dtype=np.uint16), photometric="RGB")
    ds.SamplesPerPixel, ds.PlanarConfiguration = 3, 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelData = bytes(4 * 4 * 3)
    with pytest.raises(DicomReadError, match=r"colour image \(RGB, 3 samples per pixel\)"):
        read_radiograph(write(ds, tmp_path / "rgb.dcm"))


# -- the real files of ../shared/data/dicom (data/README.md) ----------------------------
REAL = [
    # name, shape, photometric, transfer syntax, source, spacing, decoder
    (
        "ljdata_966_fixed.dcm",
        (2128, 2000),
        "MONOCHROME1",
        JPEG2000Lossless,
        "detector",
        0.16,
        "pylibjpeg",
    ),
    (
        "ljdata_RG2_JPLL.dcm",
        (2140, 1760),
        "MONOCHROME2",
        JPEGLosslessSV1,
        "unknown_origin",
        0.2,
        "gdcm",
    ),
    (
        "pydicom_CR1_6154_cspine_LL.dcm",
        (16, 16),
        "MONOCHROME1",
        ExplicitVRLittleEndian,
        "detector",
        0.1,
        "native",
    ),
    (
        "pydicomdata_RG3_J2KR.dcm",
        (1760, 1760),
        "MONOCHROME1",
        JPEG2000Lossless,
        "none",
        np.nan,
        "pylibjpeg",
    ),
]


@pytest.mark.validation
@pytest.mark.parametrize(("name", "shape", "photometric", "ts", "source", "mm", "decoder"), REAL)
def test_real_files(validation_data, name, shape, photometric, ts, source, mm, decoder):
    path = validation_data / "dicom" / name
    before = sha(path)
    rg = read_radiograph(path)
    assert rg.shape == shape
    assert rg.metadata.photometric_interpretation == photometric
    assert rg.metadata.transfer_syntax == ts
    assert rg.metadata.decoder == decoder
    assert rg.calibration.source == source
    np.testing.assert_allclose([rg.calibration.row_mm, rg.calibration.col_mm], [mm, mm])
    if rg.metadata.modality_lut in ("none", "identity"):
        assert rg.pixels.max() <= 2**rg.metadata.bits_stored - 1
    shown = rg.display()
    assert shown.shape == shape
    assert 0.0 <= shown.min() <= shown.max() <= 1.0
    assert sha(path) == before


@pytest.mark.validation
def test_real_jpeg2000_decoders_agree(validation_data):
    path = validation_data / "dicom" / "ljdata_966_fixed.dcm"
    ds = pydicom.dcmread(path)
    by_gdcm = pixel_array(ds, decoding_plugin="gdcm")
    rg = read_radiograph(path)  # pylibjpeg-openjpeg
    assert rg.metadata.decoder == "pylibjpeg"
    np.testing.assert_array_equal(rg.pixels, by_gdcm)
    assert by_gdcm.max() <= 4095  # 12-bit


@pytest.mark.validation
def test_real_rescale_is_applied(validation_data):
    path = validation_data / "dicom" / "pydicom_CR1_6154_cspine_LL.dcm"
    stored = pydicom.dcmread(path).pixel_array
    rg = read_radiograph(path)
    assert rg.metadata.modality_lut == "rescale"
    np.testing.assert_allclose(rg.pixels, stored * 0.684 + 200)
    assert rg.metadata.view_position == "LL"
    assert rg.metadata.body_part == "CSPINE"


def test_pydicom_data_real_cr_j2k_twins_decode_identically():
    # pydicom-data (a test dependency) installs its files as the package ``data_store``.
    data_store = pytest.importorskip("data_store", reason="pydicom-data not installed")
    base = Path(data_store.__file__).parent
    # J2KR (reversible) twins UNCR; J2KI (irreversible) twins UNCI, its decoded reference.
    pairs = [
        ("RG1_UNCR.dcm", "RG1_J2KR.dcm"),
        ("RG3_UNCR.dcm", "RG3_J2KR.dcm"),
        ("RG1_UNCI.dcm", "RG1_J2KI.dcm"),
        ("RG3_UNCI.dcm", "RG3_J2KI.dcm"),
    ]
    found = {p.name: p for p in base.rglob("RG*_*.dcm")}
    missing = [n for pair in pairs for n in pair if n not in found]
    assert not missing, f"pydicom-data at {base} lacks {missing}"
    for plain, j2k in pairs:
        np.testing.assert_array_equal(
            read_radiograph(found[plain]).pixels, read_radiograph(found[j2k]).pixels
        )


def test_text_values_follow_the_character_set(tmp_path, image):
    ds = make_ds(image, SpecificCharacterSet="ISO_IR 192", PatientID="Müller-7")
    assert read_radiograph(write(ds, tmp_path / "utf8.dcm")).metadata.patient_id == "Müller-7"
