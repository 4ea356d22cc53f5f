"""The byte-level header reader of the cohort index gives exactly pydicom's rows.

``kyphoimg.dicom._rawheader`` reads common headers without pydicom and declines the rest. Every
row it produces must equal the row of the pydicom path: checked on every file of pydicom's
test corpus (261 files of every syntax and oddity), the validation data and the bundled
sample cohort, and on randomly truncated and corrupted headers (hypothesis).
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEG2000Lossless

from kyphoimg.calibration import resolve_spacing
from kyphoimg.dicom import _scan
from kyphoimg.dicom._rawheader import parse_raw_header, read_head

from .test_scan import dataset, save

ROOT = Path(__file__).resolve().parents[1]
PYDICOM_FILES = sorted(p for p in pydicom.data.get_testdata_files() if os.path.isfile(p))


def fast_header(path: Path):
    """The byte-level reader's header, or ``None`` where it leaves the file to pydicom."""
    return parse_raw_header(str(path), *read_head(str(path)))


def rows(path: Path, monkeypatch) -> tuple[dict, dict]:
    """The index row of ``path`` as scanned, and as pydicom alone gives it."""
    scanned = _scan._index_file(str(path), path.name)
    with monkeypatch.context() as m:
        m.setattr(_scan, "parse_raw_header", lambda path, head, size: None)
        reference = _scan._index_file(str(path), path.name)
    return scanned, reference


def same_row(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        other = b[key]
        if isinstance(value, float) and isinstance(other, float):
            if not (value == other or (math.isnan(value) and math.isnan(other))):
                return False
        elif value != other or type(value) is not type(other):
            return False
    return True


def test_pydicom_corpus_gives_pydicom_rows(monkeypatch):
    fast = 0
    for path in map(Path, PYDICOM_FILES):
        scanned, reference = rows(path, monkeypatch)
        assert same_row(scanned, reference), (path.name, scanned, reference)
        fast += fast_header(path) is not None
    # the fast path is the common case, not a curiosity: most of the corpus takes it
    assert fast >= 0.6 * len(PYDICOM_FILES), fast


def test_sample_cohort_takes_the_fast_path(monkeypatch):
    files = sorted((ROOT / "sample_dicom").rglob("*.dcm"))
    assert len(files) == 12
    for path in files:
        assert fast_header(path) is not None, path
        scanned, reference = rows(path, monkeypatch)
        assert same_row(scanned, reference), path.name
        assert scanned["status"] == "ok"


@pytest.mark.validation
def test_validation_films_give_pydicom_rows(validation_data, monkeypatch):
    files = sorted(p for p in (validation_data / "dicom").rglob("*") if p.is_file())
    assert files
    for path in files:
        scanned, reference = rows(path, monkeypatch)
        assert same_row(scanned, reference), path.name


def _with_sequences(ts: str) -> Dataset:
    """A film with nested, undefined-length sequences before and after the wanted tags."""
    ds = dataset("SEQ", ts=ts, ImagerPixelSpacing=[0.15, 0.15])
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "T-11503", "SRT", "Spine"
    inner = Dataset()
    inner.ReferencedSOPClassUID = ds.SOPClassUID
    inner.ReferencedSOPInstanceUID = "1.2.3.4"
    inner.PurposeOfReferenceCodeSequence = Sequence([code])
    ds.AnatomicRegionSequence = Sequence([code])
    ds.SourceImageSequence = Sequence([inner, Dataset()])
    ds.RequestAttributesSequence = Sequence([Dataset()])
    ds.RequestAttributesSequence[0].StudyInstanceUID = "9.9.9"  # nested: not the study's
    for name in ("AnatomicRegionSequence", "SourceImageSequence"):
        ds[name].is_undefined_length = True
    return ds


def _cases(tmp: Path) -> dict[str, bytes]:
    cases = {
        "explicit": dataset("E", ImagerPixelSpacing=[0.15, 0.15], PatientName="Ärzt^Ü"),
        "implicit": dataset("I", ts=ImplicitVRLittleEndian, PixelSpacing=[0.2, 0.1]),
        "sequences": _with_sequences(ExplicitVRLittleEndian),
        "implicit_sequences": _with_sequences(ImplicitVRLittleEndian),
    }
    j2k = dataset("J", shape=(32, 32), ImagerPixelSpacing=[0.1, 0.1])
    j2k.compress(JPEG2000Lossless)
    cases["j2k"] = j2k
    out = {}
    for name, ds in cases.items():
        out[name] = save(ds, tmp / f"{name}.dcm").read_bytes()
    return out


def test_crafted_files_take_the_fast_path_and_match(tmp_path, monkeypatch):
    for name in _cases(tmp_path):
        path = tmp_path / f"{name}.dcm"
        header = fast_header(path)
        assert header is not None, name
        scanned, reference = rows(path, monkeypatch)
        assert same_row(scanned, reference), (name, scanned, reference)
        assert scanned["status"] == "ok", scanned["reason"]
    # the nested Study Instance UID is not taken for the study's
    assert fast_header(tmp_path / "sequences.dcm").text("StudyInstanceUID") == (
        "1.2.826.0.1.3680043.8.498.1"
    )


def test_non_ascii_values_are_left_to_pydicom(tmp_path):
    ds = dataset("Ö1", ImagerPixelSpacing=[0.15, 0.15])
    ds.SpecificCharacterSet = "ISO_IR 192"
    path = save(ds, tmp_path / "utf8.dcm")
    assert fast_header(path) is None
    assert _scan._index_file(str(path), "utf8.dcm")["patient_id"] == "Ö1"


class _Corpus(dict):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"<{len(self)} crafted files>"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, bytes]:
    return _Corpus(_cases(tmp_path_factory.mktemp("cases")))


@settings(
    max_examples=int(os.environ.get("KYPHOIMG_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    name=st.sampled_from(["explicit", "implicit", "implicit_sequences", "j2k", "sequences"]),
    cut=st.one_of(st.none(), st.floats(0, 1, exclude_max=True)),
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_damaged_headers_give_pydicom_rows(corpus, tmp_path, monkeypatch, name, cut, edits):
    """Truncate a file or overwrite bytes of its header: the fast path declines or agrees."""
    raw = bytearray(corpus[name])
    if cut is not None:
        raw = raw[: int(cut * len(raw))]
    else:
        header_end = raw.index(b"\xe0\x7f\x10\x00") + 12  # through the pixel data header
        for where, byte in edits:
            raw[132 + int(where * (header_end - 133))] = byte
    path = tmp_path / "damaged.dcm"
    path.write_bytes(bytes(raw))
    scanned, reference = rows(path, monkeypatch)
    assert same_row(scanned, reference), (scanned, reference)


def test_long_headers_are_read_past_the_first_block(tmp_path, monkeypatch):
    ds = dataset("LONG", ImagerPixelSpacing=[0.15, 0.15])
    # a 20 KB private block (as vendors' CSA headers are) pushes the pixels past 8 KB
    ds.add_new(0x00290010, "LO", "KYPHOIMG TEST")
    ds.add_new(0x00291010, "OB", bytes(20_000))
    ds.ViewPosition = "LL"
    path = save(ds, tmp_path / "long.dcm")
    header = fast_header(path)
    assert header is not None
    assert header.pixel_tag == 0x7FE00010
    scanned, reference = rows(path, monkeypatch)
    assert same_row(scanned, reference)
    assert scanned["view_position"] == "LL"


def test_float_pixel_data_and_no_pixel_data(tmp_path, monkeypatch):
    floats = dataset("F", pixels=False)
    floats.FloatPixelData = np.zeros(4, "<f4").tobytes()
    bare = dataset("N", pixels=False)
    for name, ds in (("float", floats), ("bare", bare)):
        path = save(ds, tmp_path / f"{name}.dcm")
        assert fast_header(path) is not None
        scanned, reference = rows(path, monkeypatch)
        assert same_row(scanned, reference)
        assert scanned["status"] == "error"
    assert "float pixel data" in _scan._index_file(str(tmp_path / "float.dcm"), "f")["reason"]
    assert _scan._index_file(str(tmp_path / "bare.dcm"), "b")["reason"] == (
        "no pixel data (7FE0,0010)"
    )


def test_parallel_scan_gives_the_serial_index(tmp_path):
    for i in range(40):
        save(dataset(f"P{i:02d}", ImagerPixelSpacing=[0.15, 0.15]), tmp_path / f"P{i:02d}.dcm")
    (tmp_path / "notes.txt").write_text("not DICOM")
    serial = _scan.scan(tmp_path, progress=False)
    parallel = _scan.scan(tmp_path, progress=False, jobs=2)
    assert len(serial) == 41
    assert serial.equals(parallel)


def test_iter_scan_streams_the_rows_of_scan(tmp_path):
    for i in range(5):
        save(dataset(f"S{i}", ImagerPixelSpacing=[0.15, 0.15]), tmp_path / f"d{i}" / "f.dcm")
    rows_ = list(_scan.iter_scan(tmp_path))
    index = _scan.scan(tmp_path, progress=False)
    assert [r["path"] for r in rows_] == index["path"].tolist()
    assert list(rows_[0]) == list(_scan.SCAN_COLUMNS)
    assert rows_[0]["study_date"].isoformat() == "2024-03-01"
    assert pydicom.dcmread(tmp_path / "d0" / "f.dcm").PatientID == rows_[0]["patient_id"]


# -- hand-built byte streams for the corner cases a review found ------------------------
_LONG = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}


def _el(group: int, elem: int, vr: str, value: bytes | str, *, implicit: bool = False) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    if implicit:
        return struct.pack("<HHI", group, elem, len(data)) + data
    if vr in _LONG:
        return struct.pack("<HH2sHI", group, elem, vr.encode(), 0, len(data)) + data
    return struct.pack("<HH2sH", group, elem, vr.encode(), len(data)) + data


def _meta(ts: bytes = b"1.2.840.10008.1.2.1\0") -> bytes:
    body = (
        _el(2, 1, "OB", b"\0\1")
        + _el(2, 2, "UI", b"1.2.840.10008.5.1.4.1.1.1.1\0")
        + _el(2, 3, "UI", b"1.2.3.4\0")
        + _el(2, 0x10, "UI", ts)
    )
    return b"\0" * 128 + b"DICM" + _el(2, 0, "UL", struct.pack("<I", len(body))) + body


def _us(n: int) -> bytes:
    return struct.pack("<H", n)


def _body(*, implicit: bool = False, charset: str | None = None, patient: bytes = b"PID1") -> list:
    e = {"implicit": implicit}
    parts = (
        []
        if charset is None
        else [_el(8, 5, "CS", charset.ljust(len(charset) + len(charset) % 2), **e)]
    )
    return [
        *parts,
        _el(8, 22, "UI", b"1.2.840.10008.5.1.4.1.1.1.1\x00", **e),
        _el(8, 24, "UI", b"1.2.3.4\x00", **e),
        _el(8, 96, "CS", "DX", **e),
        _el(16, 32, "LO", patient.ljust(len(patient) + len(patient) % 2), **e),
        _el(24, 4452, "DS", "0.15\\0.15 ", **e),
        _el(24, 20737, "CS", "AP", **e),
        _el(40, 16, "US", _us(4), **e),
        _el(40, 17, "US", _us(4), **e),
        _el(40, 257, "US", _us(12), **e),
    ]


def _pixels(implicit: bool = False) -> bytes:
    return _el(0x7FE0, 0x10, "OW", bytes(32), implicit=implicit)


def _nested(depth: int) -> bytes:
    head = struct.pack("<HH2sHI", 0x40, 0xA730, b"SQ", 0, 0xFFFFFFFF)
    item = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    tail = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    return (head + item) * depth + tail * depth


def _corner_cases() -> dict[str, bytes]:
    b = _body()
    sv = _el(0x19, 0x10, "LO", "ACME") + _el(
        0x19, 0x1001, "SV", b"SH\x02\x00\x00\x00" + _el(0x18, 0x5101, "CS", "PA")
    )
    stray = struct.pack("<HH2sH", 0xFFFE, 0xE00D, b"CS", 2) + b"XX"
    item_cs = (
        struct.pack("<HH2sHI", 0x8, 0x1140, b"SQ", 0, 0xFFFFFFFF)
        + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
        + _el(8, 5, "CS", "ISO-IR 100")
        + struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
        + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    )
    return {
        "only_pixels": _meta() + _pixels(),
        "only_float_pixels": _meta() + _el(0x7FE0, 8, "OF", bytes(16)),
        "sv_private": _meta() + b"".join(b[:5]) + sv + b"".join(b[5:]) + _pixels(),
        "command_group": _meta() + _el(0, 0, "UL", _us(0) * 2) + b"".join(b) + _pixels(),
        "ts_leading_space": _meta(b" 1.2.840.10008.1.2")
        + b"".join(_body(implicit=True))
        + _pixels(implicit=True),
        "stray_delimiter": _meta() + b"".join(b[:5]) + stray + b"".join(b[5:]) + _pixels(),
        "nested_300": _meta() + b"".join(b[:4]) + _nested(300) + b"".join(b[4:]) + _pixels(),
        "charset_misspelt": _meta() + b"".join(_body(charset="ISO-IR 100")) + _pixels(),
        "charset_no_space": _meta() + b"".join(_body(charset="ISO_IR100")) + _pixels(),
        "charset_unknown": _meta() + b"".join(_body(charset="ISO_IR 999")) + _pixels(),
        "charset_in_item": _meta() + b"".join(b[:2]) + item_cs + b"".join(b[2:]) + _pixels(),
        "iso2022": _meta()
        + b"".join(_body(charset="\\ISO 2022 IR 87", patient=b"\x1b$B%d%^%@\x1b(B"))
        + _pixels(),
        "charset_plain": _meta() + b"".join(_body(charset="ISO_IR 100")) + _pixels(),
        "rows_overflow": _meta(b"1.2.840.10008.1.2\0")
        + b"".join(_body(implicit=True)[:6])
        + _el(0x28, 0x10, "IS", "99999999999999999999", implicit=True)
        + _pixels(implicit=True),
    }


@pytest.mark.parametrize("name", sorted(_corner_cases()))
def test_corner_cases_give_pydicom_rows(name, tmp_path, monkeypatch):
    path = tmp_path / f"{name}.dcm"
    path.write_bytes(_corner_cases()[name])
    scanned, reference = rows(path, monkeypatch)
    assert same_row(scanned, reference), (scanned, reference)
    taken = fast_header(path) is not None
    assert taken == (name in ("sv_private", "charset_plain")), name
    if name == "sv_private":  # the SV value hides bytes that look like an element
        assert scanned["view_position"] == "AP"
    if name == "iso2022":  # decoded by pydicom, not shown as escape sequences
        assert "\x1b" not in scanned["patient_id"]


def test_a_file_that_shrinks_while_read_is_left_to_pydicom(tmp_path):
    path = tmp_path / "shrunk.dcm"
    path.write_bytes(_meta() + b"".join(_body()) + _el(0x0009, 0x1010, "OB", bytes(20_000)))
    head = path.read_bytes()[:4096]
    # the size measured before the file was cut: the header seems to run past 4 KB
    assert parse_raw_header(str(path), head, 40_000) is None


def test_rows_overflow_and_undecodable_names_do_not_stop_a_scan(tmp_path):
    (tmp_path / "overflow.dcm").write_bytes(_corner_cases()["rows_overflow"])
    odd = os.fsencode(tmp_path) + b"/caf\xe9.dcm"  # Latin-1 bytes in a name: not UTF-8
    with open(odd, "wb") as fh:
        fh.write(_corner_cases()["charset_plain"])
    index = _scan.scan(tmp_path, progress=False)
    assert len(index) == 2
    assert index.loc[index.path == "overflow.dcm", "rows"].isna().all()
    assert "caf\\xe9.dcm" in index["path"].tolist()
    assert (index.loc[index.path == "caf\\xe9.dcm", "status"] == "ok").all()


def test_every_field_the_index_reads_is_one_the_fast_path_keeps():
    """A field added to the index but not to HEADER_KEYWORDS would be None on one path only."""
    from kyphoimg.dicom._rawheader import HEADER_KEYWORDS, RawHeader

    asked: list[str] = []

    class Spy(RawHeader):
        __slots__ = ()

        def text(self, keyword: str) -> str | None:
            asked.append(keyword)
            return super().text(keyword)

        def uint16(self, keyword: str) -> int | None:
            asked.append(keyword)
            return super().uint16(keyword)

    header = Spy({}, str(ExplicitVRLittleEndian), None, 0, 0)
    _scan._header_fields(header, [])
    resolve_spacing(header.text)
    _scan._not_image_reason(header, has_pixels=False)
    assert set(asked) <= set(HEADER_KEYWORDS), set(asked) - set(HEADER_KEYWORDS)
    assert {"PatientID", "Rows", "ImagerPixelSpacing", "SOPClassUID"} <= set(asked)


def test_a_scan_leaves_no_thread_behind(tmp_path):
    import threading

    save(dataset("T1", ImagerPixelSpacing=[0.15, 0.15]), tmp_path / "t1.dcm")
    before = {t.ident for t in threading.enumerate()}
    _scan.scan(tmp_path, progress=True)
    _scan.scan(tmp_path, progress=False)
    assert {t.ident for t in threading.enumerate()} == before


def test_workers_are_forked_only_from_a_single_threaded_caller(tmp_path, monkeypatch):
    import importlib.util
    import threading

    from kyphoimg import parallel as _executors

    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert _executors._context().get_start_method() == "fork"
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert _executors._context().get_start_method() == "forkserver"
    # the server imports what the workers run (a name that does not import is skipped
    # silently by multiprocessing: then a Ctrl+C can catch a worker importing)
    for name in _executors._WORKER_MODULES:
        assert importlib.util.find_spec(name) is not None, name
    monkeypatch.undo()
    # a caller running a thread: the workers come from the server and give the same index
    for i in range(6):
        save(dataset(f"W{i}", ImagerPixelSpacing=[0.15, 0.15]), tmp_path / f"w{i}.dcm")
    stop = threading.Event()
    busy = threading.Thread(target=stop.wait, daemon=True)
    busy.start()
    try:
        parallel = _scan.scan(tmp_path, progress=False, jobs=2)
    finally:
        stop.set()
        busy.join()
    assert parallel.equals(_scan.scan(tmp_path, progress=False))
