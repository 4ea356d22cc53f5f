"""Header-level DICOM reading and the header-only cohort index (:func:`scan`).

Everything here works without pixel data: recognising DICOM files (with or without a
Part 10 header), parsing headers leniently while recording pydicom's warnings, the
identifying header fields, the spacing rules of :mod:`kyphoimg.calibration`, whether an installed
decoder handles a transfer syntax, and whether a dataset is an image at all.
:mod:`kyphoimg.dicom` builds the pixel pipeline on top of it.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import struct
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from itertools import chain
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pydicom
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pydicom.valuerep import VR
from tqdm.auto import tqdm

from ..atomic import atomic_write
from ..calibration import SPACING_KEYWORDS, Calibration, resolve_spacing
from ..errors import DicomReadError
from ..parallel import ordered_map
from ._rawheader import RawHeader, parse_raw_header, read_head

if TYPE_CHECKING:  # pandas is imported where a table is made: reading a film needs none
    import pandas as pd

__all__ = ["FILM_SUFFIXES", "SCAN_COLUMNS", "iter_scan", "scan", "scan_to_csv"]

#: What a film file may be named like (case-insensitive); files without an extension
#: (a PACS export's ``IM000001``) are read by their header alone. The napari plugin's
#: reader (napari.yaml) declares the same patterns (a test holds them equal).
FILM_SUFFIXES: tuple[str, ...] = (".dcm", ".dicom", ".dic", ".ima")

#: Columns of the :func:`scan` index, in order, with their pandas dtypes.
SCAN_COLUMNS: Mapping[str, str] = {
    "path": "str",
    "patient_id": "str",
    "study_instance_uid": "str",
    "series_instance_uid": "str",
    "sop_instance_uid": "str",
    "study_date": "datetime64[s]",
    "study_time": "str",
    "acquisition_date": "datetime64[s]",
    "acquisition_time": "str",
    "modality": "str",
    "view_position": "str",
    "body_part": "str",
    "series_description": "str",
    "rows": "Int64",
    "columns": "Int64",
    "transfer_syntax": "str",
    "spacing_source": "str",
    "row_mm": "float64",
    "col_mm": "float64",
    "status": "str",
    "reason": "str",
}

# Decoder plugins tried in this order (pydicom plugin names); any other installed plugin
# for the syntax is tried after these. JPEG 2000 goes to pylibjpeg-openjpeg first: it
# bundles OpenJPEG 2.5, python-gdcm an OpenJPEG 2.3 (2018) build. "gdcm-file" is
# kyphoimg's own call into python-gdcm for 12-bit JPEG Extended, which pydicom's gdcm
# plugin refuses but gdcm itself decodes.
_GDCM_FILE = "gdcm-file"
_DECODER_ORDER: dict[str, tuple[str, ...]] = {
    JPEGBaseline8Bit: ("gdcm", "pillow"),
    JPEGExtended12Bit: ("gdcm", "pillow"),
    JPEGLossless: ("gdcm",),
    JPEGLosslessSV1: ("gdcm",),
    JPEGLSLossless: ("gdcm", "pyjpegls"),
    JPEGLSNearLossless: ("gdcm", "pyjpegls"),
    JPEG2000Lossless: ("pylibjpeg", "gdcm", "pillow"),
    JPEG2000: ("pylibjpeg", "gdcm", "pillow"),
    HTJ2KLossless: ("pylibjpeg",),
    HTJ2KLosslessRPCL: ("pylibjpeg",),
    HTJ2K: ("pylibjpeg",),
    RLELossless: ("pydicom",),
}

# What to install when no decoder for a syntax is present.
_INSTALL_HINTS: dict[str, str] = {
    JPEGBaseline8Bit: "python-gdcm (Apache-2.0/BSD) or pylibjpeg-libjpeg (GPLv3)",
    JPEGExtended12Bit: "python-gdcm (Apache-2.0/BSD) or pylibjpeg-libjpeg (GPLv3)",
    JPEGLossless: "python-gdcm (Apache-2.0/BSD) or pylibjpeg-libjpeg (GPLv3)",
    JPEGLosslessSV1: "python-gdcm (Apache-2.0/BSD) or pylibjpeg-libjpeg (GPLv3)",
    JPEGLSLossless: "python-gdcm (Apache-2.0/BSD) or pyjpegls (MIT)",
    JPEGLSNearLossless: "python-gdcm (Apache-2.0/BSD) or pyjpegls (MIT)",
    JPEG2000Lossless: "python-gdcm (Apache-2.0/BSD) or pylibjpeg with pylibjpeg-openjpeg (MIT)",
    JPEG2000: "python-gdcm (Apache-2.0/BSD) or pylibjpeg with pylibjpeg-openjpeg (MIT)",
    HTJ2KLossless: "pylibjpeg with pylibjpeg-openjpeg>=2.4 (MIT)",
    HTJ2KLosslessRPCL: "pylibjpeg with pylibjpeg-openjpeg>=2.4 (MIT)",
    HTJ2K: "pylibjpeg with pylibjpeg-openjpeg>=2.4 (MIT)",
    RLELossless: "pydicom>=3 (built in) or pylibjpeg-rle",
}

# SOP Class UID prefixes of objects that are never images.
_NON_IMAGE_SOP_PREFIXES: tuple[tuple[str, str], ...] = (
    ("1.2.840.10008.5.1.4.1.1.88.", "a structured report"),
    ("1.2.840.10008.5.1.4.1.1.11.", "a presentation state"),
    ("1.2.840.10008.5.1.4.1.1.104.", "an encapsulated document"),
    ("1.2.840.10008.5.1.4.1.1.9.", "a waveform"),
    ("1.2.840.10008.1.3.10", "a media directory (DICOMDIR)"),
)

_FLOAT_PIXEL_TAGS = (0x7FE00008, 0x7FE00009)
_UNDEFINED_LENGTH = 0xFFFFFFFF
_EXPLICIT_VRS = frozenset(v.value.encode("ascii") for v in VR if len(v.value) == 2)
_SNIFF_GROUPS = frozenset({0x0002, 0x0008})


# -- warnings and low-level value access ------------------------------------------------
@contextmanager
def _recorded_warnings(notes: list[str]) -> Iterator[None]:
    """Record the warnings pydicom or a decoder emits as notes instead of showing them.

    Not thread-safe (``warnings.catch_warnings`` changes global state): read files from
    several processes, not threads, when running in parallel.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        note = f"{w.category.__name__}: {w.message}"
        if note not in notes:
            notes.append(note)


def _raw_text(ds: Dataset | RawHeader, keyword: str) -> str | None:
    """Return an element's value as text without letting pydicom convert it.

    The one reader of a DICOM element's stored text (the spacing rules, the modality
    and VOI LUTs, the frame count and the scan all read through it). Raw (not yet
    converted) elements are decoded from their bytes; converted ones are joined with
    backslashes. Absent or empty values give ``None``.
    """
    if isinstance(ds, RawHeader):
        return ds.text(keyword)
    tag = tag_for_keyword(keyword)
    if tag is None or tag not in ds:
        return None
    elem = ds.get_item(tag, keep_deferred=True)
    if elem is None:
        return None
    value = elem.value
    if isinstance(elem, RawDataElement):
        if value is None:
            return None
        text = bytes(value).decode("latin-1")
    elif value is None:
        return None
    elif isinstance(value, (list, tuple, MultiValue)):
        text = "\\".join(str(v) for v in value)
    elif isinstance(value, bytes):
        text = value.decode("latin-1")
    else:
        text = str(value)
    text = text.strip(" \x00")
    return text or None


def _positive_float(text: str) -> float | None:
    try:
        v = float(text.strip())
    except ValueError:
        return None
    return v if math.isfinite(v) and v > 0 else None


def _finite_float(text: str) -> float | None:
    try:
        v = float(text.strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


# -- calibration ------------------------------------------------------------------------
def _resolve_calibration(ds: Dataset | RawHeader) -> tuple[Calibration, tuple[str, ...]]:
    """Apply the spacing rules of :func:`kyphoimg.calibration.resolve_spacing` to a header."""
    if isinstance(ds, RawHeader):  # a cohort has few distinct spacing headers: remember them
        return _raw_calibration(tuple(ds.values.get(k) for k in SPACING_KEYWORDS))
    return resolve_spacing(lambda keyword: _raw_text(ds, keyword))


@lru_cache(maxsize=1024)
def _raw_calibration(values: tuple[bytes | None, ...]) -> tuple[Calibration, tuple[str, ...]]:
    present = {k: v for k, v in zip(SPACING_KEYWORDS, values, strict=True) if v is not None}
    return resolve_spacing(RawHeader(present, "", None, 0, 0).text)


class _FileProblem(Exception):
    """A file that cannot be indexed or read; ``status`` is ``not_dicom`` or ``error``."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _sniff(head: bytes, size: int) -> str | None:
    """``"part10"`` (preamble + DICM), ``"raw"`` (a dataset without header) or ``None``."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "part10"
    if len(head) < 8:
        return None
    for order in ("<", ">"):
        group, _ = struct.unpack(order + "HH", head[:4])
        if group not in _SNIFF_GROUPS:
            continue
        if head[4:6] in _EXPLICIT_VRS:
            return "raw"
        (length,) = struct.unpack(order + "I", head[4:8])
        if 0 < length <= size:
            return "raw"
    return None


def _not_dicom_reason(head: bytes) -> str:
    if not head:
        return "not DICOM: empty file"
    return "not DICOM: no 'DICM' prefix at byte 128 and no DICOM element at the start"


def _parse(fp: BinaryIO, size: int, *, header_only: bool, notes: list[str]) -> tuple[Dataset, bool]:
    """Parse a DICOM file; return the dataset and whether its file meta was missing.

    Raises
    ------
    _FileProblem
        Not DICOM, unparseable, or truncated inside the header.
    """
    head = fp.read(132)
    kind = _sniff(head, size)
    if kind is None:
        raise _FileProblem("not_dicom", _not_dicom_reason(head))
    fp.seek(0)
    try:
        with _recorded_warnings(notes):
            ds = pydicom.dcmread(fp, force=kind == "raw", stop_before_pixels=header_only)
    except InvalidDicomError as exc:
        raise _FileProblem("not_dicom", f"not DICOM: {exc}") from exc
    except (EOFError, struct.error) as exc:
        raise _FileProblem("error", f"truncated: the file ends inside the header ({exc})") from exc
    except Exception as exc:  # pydicom raises many types on corrupt files
        status = "not_dicom" if kind == "raw" else "error"
        reason = f"header could not be parsed: {type(exc).__name__}: {exc}"
        raise _FileProblem(status, reason) from exc
    if len(ds) == 0:
        raise _FileProblem("not_dicom", "not DICOM: no data elements could be read")
    truncated = _truncated_element(ds, notes)
    if truncated:
        raise _FileProblem("error", truncated)
    meta_missing = kind == "raw"
    if meta_missing:
        notes.append("no DICOM file meta header (no 'DICM' prefix): read leniently")
    return ds, meta_missing


def _truncated_element(ds: Dataset, notes: Sequence[str]) -> str | None:
    """Describe a truncation visible in the parsed data, or return ``None``."""
    if any("End of file reached before delimiter" in n for n in notes):
        return "truncated: the file ends inside an undefined-length value (no delimiter)"
    keys = list(ds.keys())
    if not keys:
        return None
    elem = ds.get_item(keys[-1], keep_deferred=True)
    if (
        isinstance(elem, RawDataElement)
        and elem.value is not None
        and elem.length != _UNDEFINED_LENGTH
        and len(elem.value) < elem.length
    ):
        return (
            f"truncated: element {elem.tag} declares {elem.length} bytes, "
            f"the file holds {len(elem.value)}"
        )
    return None


def _transfer_syntax(ds: Dataset, notes: list[str], *, encapsulated: bool) -> tuple[UID, bool]:
    """Return the dataset's transfer syntax and whether it was inferred from the encoding.

    ``encapsulated`` says whether the Pixel Data has undefined length (compressed).

    Raises
    ------
    _FileProblem
        If the syntax is absent and the pixel data is encapsulated (compressed).
    """
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts:
        return UID(str(ts).strip("\x00 ")), False
    implicit, little = ds.original_encoding
    if encapsulated:
        raise _FileProblem(
            "error",
            "compressed (encapsulated) pixel data but no transfer syntax in the file: "
            "the codec cannot be known; re-export the file with its file meta header",
        )
    if implicit is None or little is None:
        implicit, little = True, True
    inferred = (
        ImplicitVRLittleEndian
        if implicit
        else ExplicitVRLittleEndian
        if little
        else ExplicitVRBigEndian
    )
    notes.append(f"no Transfer Syntax UID in the file: {inferred.name} inferred from the encoding")
    return inferred, True


def _available_plugins(ts: UID) -> tuple[str, ...] | None:
    """Installed pydicom decoder plugins for ``ts``; ``None`` if pydicom has no decoder."""
    from pydicom.pixels import get_decoder

    try:
        decoder = get_decoder(ts)
    except NotImplementedError:
        return None
    return tuple(decoder.available_plugins)


def _gdcm_available() -> bool:
    try:
        import gdcm  # noqa: F401
    except ImportError:
        return False
    return True


def _is_native(ts: UID) -> bool:
    """Whether ``ts`` is a known transfer syntax with uncompressed pixel data."""
    return _is_known_syntax(ts) and not ts.is_compressed


def _is_known_syntax(ts: UID) -> bool:
    return not ts.is_private and ts.is_transfer_syntax


def _decoder_plan(ts: UID, bits_stored: int | None) -> tuple[str, ...]:
    """Return the decoders to try for ``ts``, in order (``""``: pydicom's native unpacking)."""
    if _is_native(ts):
        return ("",)
    available = _available_plugins(ts) if _is_known_syntax(ts) else None
    if available is None:
        return ()
    preferred = _DECODER_ORDER.get(ts, ())
    plan = [p for p in preferred if p in available]
    plan += [p for p in sorted(available) if p not in plan]
    if ts == JPEGExtended12Bit and (bits_stored or 8) > 8:
        # pydicom's gdcm and pillow plugins refuse 12-bit JPEG; gdcm itself decodes it.
        plan = [p for p in plan if p not in ("gdcm", "pillow")]
        if _gdcm_available():
            plan.insert(0, _GDCM_FILE)
    return tuple(plan)


def _no_decoder_reason(ts: UID) -> str:
    if not _is_known_syntax(ts):
        return (
            f"transfer syntax {ts} is not one pydicom knows; convert the file to an "
            "uncompressed or JPEG 2000 syntax (e.g. gdcmconv --raw)"
        )
    hint = _INSTALL_HINTS.get(ts)
    if hint is None:
        return (
            f"no decoder exists in pydicom for {ts.name} ({ts}); convert the file to an "
            "uncompressed or JPEG 2000 syntax (e.g. gdcmconv --raw)"
        )
    return f"no installed decoder handles {ts.name} ({ts}); install {hint}"


def _decoder_problem(ts: UID, bits_stored: int | None) -> str | None:
    """Say why pixel data of syntax ``ts`` cannot be decoded here, or return ``None``."""
    return None if _decoder_plan(ts, bits_stored) else _no_decoder_reason(ts)


def _uid_name(uid: str) -> str:
    """Return a UID's registered name, or the UID itself (an invalid one as it is)."""
    with warnings.catch_warnings():  # pydicom warns on invalid UIDs; the row says enough
        warnings.simplefilter("ignore")
        return UID(uid).name


def _not_image_reason(ds: Dataset | RawHeader, has_pixels: bool) -> str | None:
    """Say why a dataset is not a readable image (SOP class, pixel data), else ``None``."""
    sop = _raw_text(ds, "SOPClassUID")
    if sop is not None:
        for prefix, what in _NON_IMAGE_SOP_PREFIXES:
            if sop.startswith(prefix):
                return f"not an image: {what} ({_uid_name(sop)})"
    if has_pixels:
        return None
    name = _uid_name(sop) if sop is not None else ""
    if sop is not None and name != sop and "Image" not in name:
        return f"not an image: {name} has no pixel data"
    if any(t in ds for t in _FLOAT_PIXEL_TAGS):
        return "float pixel data (7FE0,0008/0009): not a projection radiograph"
    return "no pixel data (7FE0,0010)"


# -- header fields ----------------------------------------------------------------------
def _text(ds: Dataset | RawHeader, keyword: str) -> str | None:
    """Return a text element's value, stripped; ``None`` when absent or empty.

    ASCII bytes are decoded directly (the fast path of a header-only scan); anything else
    goes through pydicom, which applies the Specific Character Set.
    """
    if isinstance(ds, RawHeader):
        return ds.text(keyword)
    tag = tag_for_keyword(keyword)
    if tag is None or tag not in ds:
        return None
    elem = ds.get_item(tag, keep_deferred=True)
    if (
        isinstance(elem, RawDataElement)
        and elem.value is not None
        and elem.value.isascii()
        and b"\x1b" not in elem.value  # ESC: ISO 2022 text, for pydicom's decoder
    ):
        return elem.value.decode("ascii").strip(" \x00") or None
    value = _converted(ds, keyword, tag)
    if value is None:
        return None
    if isinstance(value, (list, tuple, MultiValue)):
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    return text.strip(" \x00") or None


def _converted(ds: Dataset, keyword: str, tag: int) -> Any:
    """Return pydicom's value of an element; a corrupt one is a :class:`_FileProblem`."""
    try:
        return ds.get(keyword)
    except Exception as exc:  # pydicom raises several types on corrupt elements
        raise _FileProblem(
            "error",
            f"{keyword} ({tag >> 16:04X},{tag & 0xFFFF:04X}) cannot be read, the header is "
            f"corrupt ({type(exc).__name__}: {exc}); re-export the file from the PACS",
        ) from exc


def _int(ds: Dataset | RawHeader, keyword: str) -> int | None:
    """Return an US/SS/IS element as an integer, ``None`` when absent or not a number."""
    if isinstance(ds, RawHeader):
        return ds.uint16(keyword)
    tag = tag_for_keyword(keyword)
    if tag is None or tag not in ds:
        return None
    elem = ds.get_item(tag, keep_deferred=True)
    if (
        isinstance(elem, RawDataElement)
        and elem.value is not None
        and len(elem.value) == 2
        and (elem.VR or dictionary_VR(tag)) == "US"  # implicit VR: the dictionary's VR
    ):
        order = "<" if elem.is_little_endian else ">"
        return int(struct.unpack(order + "H", elem.value)[0])
    value = _converted(ds, keyword, tag)
    try:
        number = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    # an IS of twenty digits is corruption, not a size: keep integers within int32
    return number if number is None or -(2**31) <= number < 2**31 else None


@lru_cache(maxsize=8192)  # dates repeat across a cohort's files; the results are immutable
def _parse_da(text: str | None) -> _dt.date | None:
    """Parse a DICOM DA value (``YYYYMMDD``, or legacy ``YYYY.MM.DD``); ``None`` if invalid."""
    if not text:
        return None
    digits = text.strip().replace(".", "").replace("-", "")
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def _parse_tm(text: str | None) -> _dt.time | None:
    """Parse a DICOM TM value (``HH[MM[SS[.F{1,6}]]]``, or legacy ``HH:MM:SS``)."""
    if not text:
        return None
    text = text.strip().replace(":", "")
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or len(whole) not in (2, 4, 6) or (frac and not frac.isdigit()):
        return None
    hh, mm, ss = int(whole[:2]), int(whole[2:4] or 0), int(whole[4:6] or 0)
    micro = int((frac + "000000")[:6]) if frac else 0
    try:
        return _dt.time(hh, mm, min(ss, 59), micro)  # DICOM allows ss = 60 (leap second)
    except ValueError:
        return None


def _date_time(
    ds: Dataset | RawHeader,
    date_kw: str,
    time_kw: str,
    notes: list[str],
    datetime_kw: str | None = None,
) -> tuple[_dt.date | None, _dt.time | None]:
    d_text, t_text = _text(ds, date_kw), _text(ds, time_kw)
    if d_text is None and datetime_kw is not None:
        dt_text = _text(ds, datetime_kw)
        if dt_text:
            d_text = dt_text[:8]
            t_text = t_text or (dt_text[8:].split("+")[0].split("-")[0] or None)
    date, time = _parse_da(d_text), _parse_tm(t_text)
    if d_text and date is None:
        notes.append(f"{date_kw} {d_text!r} is not a valid date: ignored")
    if t_text and time is None:
        notes.append(f"{time_kw} {t_text!r} is not a valid time: ignored")
    return date, time


def _header_fields(ds: Dataset | RawHeader, notes: list[str]) -> dict[str, Any]:
    """Return the identifying header values shared by the reader and the scan index."""
    # pydicom may warn while converting values; the raw ASCII header of the fast path cannot
    with nullcontext() if isinstance(ds, RawHeader) else _recorded_warnings(notes):
        study_date, study_time = _date_time(ds, "StudyDate", "StudyTime", notes)
        acq_date, acq_time = _date_time(
            ds, "AcquisitionDate", "AcquisitionTime", notes, "AcquisitionDateTime"
        )
        orientation = _text(ds, "PatientOrientation")
        return {
            "sop_class_uid": _text(ds, "SOPClassUID"),
            "sop_instance_uid": _text(ds, "SOPInstanceUID"),
            "study_instance_uid": _text(ds, "StudyInstanceUID"),
            "series_instance_uid": _text(ds, "SeriesInstanceUID"),
            "patient_id": _text(ds, "PatientID"),
            "study_date": study_date,
            "study_time": study_time,
            "acquisition_date": acq_date,
            "acquisition_time": acq_time,
            "modality": _text(ds, "Modality"),
            "view_position": _text(ds, "ViewPosition"),
            "body_part": _text(ds, "BodyPartExamined"),
            "series_description": _text(ds, "SeriesDescription"),
            "laterality": _text(ds, "ImageLaterality") or _text(ds, "Laterality"),
            "patient_orientation": tuple(orientation.split("\\")) if orientation else (),
            "photometric_interpretation": _text(ds, "PhotometricInterpretation"),
            "presentation_lut_shape": _text(ds, "PresentationLUTShape"),
            "rows": _int(ds, "Rows"),
            "columns": _int(ds, "Columns"),
            "bits_stored": _int(ds, "BitsStored"),
            "pixel_representation": _int(ds, "PixelRepresentation"),
        }


# -- the cohort index -------------------------------------------------------------------
def _pixel_verdict(tag: int | None, length: int, held: int) -> tuple[bool, bool, str | None]:
    """Judge the element a header-only parse stopped at.

    ``tag`` is the pixel element there (``None``: the data set ended without one),
    ``length`` its declared value length and ``held`` the bytes the file holds after its
    header. Returns whether Pixel Data (7FE0,0010) follows, whether it is encapsulated
    (undefined length), and a problem (float pixel data, truncated pixel data) or ``None``.
    """
    if tag is None:
        return False, False, None
    if tag != 0x7FE00010:
        return False, False, "float pixel data (7FE0,0008/0009): not a projection radiograph"
    if length == _UNDEFINED_LENGTH:
        return True, True, None
    if length > held:
        return True, False, f"truncated: pixel data declares {length} bytes, the file holds {held}"
    return True, False, None


def _pixel_element(fp: BinaryIO, size: int, ds: Dataset) -> tuple[bool, bool, str | None]:
    """Peek at where pydicom's header-only parse stopped (see :func:`_pixel_verdict`)."""
    pos = fp.tell()
    head = fp.read(12)
    implicit, little = ds.original_encoding
    order = ">" if little is False else "<"
    if len(head) < 8:
        return False, False, None
    group, element = struct.unpack(order + "HH", head[:4])
    if group != 0x7FE0:
        return False, False, None
    if implicit is False and len(head) == 12:
        (length,), header_length = struct.unpack(order + "I", head[8:12]), 12
    else:
        (length,), header_length = struct.unpack(order + "I", head[4:8]), 8
    return _pixel_verdict(group << 16 | element, length, size - pos - header_length)


def _read_header(
    path: str, head: bytes, size: int, notes: list[str]
) -> tuple[Dataset | RawHeader, tuple[bool, bool, str | None], str | None]:
    """Read a header for the index: byte-level when possible, else with pydicom.

    ``head`` is the file's first bytes (:func:`read_head`). Returns the header, the pixel
    verdict of :func:`_pixel_verdict` and the transfer syntax from the file meta
    (``None``: pydicom's dataset, resolved later).
    """
    raw = parse_raw_header(path, head, size)
    if raw is not None:
        verdict = _pixel_verdict(raw.pixel_tag, raw.pixel_length, raw.pixel_held)
        return raw, verdict, raw.transfer_syntax
    with open(path, "rb") as fp:
        size = os.fstat(fp.fileno()).st_size  # now: the file may have changed since its head
        ds, _ = _parse(fp, size, header_only=True, notes=notes)
        meta = getattr(ds, "file_meta", None)
        with _recorded_warnings(notes):  # converting the UID may warn
            ts = meta.get("TransferSyntaxUID") if meta is not None else None
        # the file position means nothing inside a deflated stream: assume pixels follow
        deflated = ts == DeflatedExplicitVRLittleEndian
        verdict = (True, False, None) if deflated else _pixel_element(fp, size, ds)
    return ds, verdict, None


class _DecoderCache:
    """:func:`_decoder_problem` remembered per (syntax, bits stored) for one scan."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int | None], str | None] = {}

    def problem(self, ts: str, bits_stored: int | None) -> str | None:
        key = (ts, bits_stored)
        if key not in self._seen:
            with warnings.catch_warnings():  # an invalid UID is reported by its reason
                warnings.simplefilter("ignore")
                self._seen[key] = _decoder_problem(UID(ts), bits_stored)
        return self._seen[key]


def _header_row(
    path: str, head: bytes, size: int, notes: list[str], decoders: _DecoderCache
) -> dict[str, Any]:
    """Index one file: identifying fields, spacing, status and reason."""
    header, (has_pixels, encapsulated, problem), meta_ts = _read_header(path, head, size, notes)
    fields = _header_fields(header, notes)
    calibration, cal_notes = _resolve_calibration(header)
    row: dict[str, Any] = {k: fields[k] for k in _FIELD_COLUMNS}
    row["spacing_source"] = calibration.source
    row["row_mm"] = calibration.row_mm
    row["col_mm"] = calibration.col_mm
    reason = problem or _not_image_reason(header, has_pixels)
    if reason is None:
        try:
            if meta_ts is None:  # pydicom's dataset: converting the syntax UID may warn
                assert isinstance(header, Dataset)
                with _recorded_warnings(notes):
                    meta_ts = str(_transfer_syntax(header, notes, encapsulated=encapsulated)[0])
            row["transfer_syntax"] = meta_ts
            bits = fields["bits_stored"]
            reason = decoders.problem(meta_ts, bits)
        except _FileProblem as exc:
            reason = exc.reason
    if reason is not None:
        row["status"], row["reason"] = "error", reason
    else:
        extra = [*notes, *cal_notes[:-1]]
        row["status"], row["reason"] = "ok", "; ".join(extra) if extra else None
    return row


# the index columns that come straight from _header_fields
_FIELD_COLUMNS = (
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
)


def _index_file(path: str, rel: str, decoders: _DecoderCache | None = None) -> dict[str, Any]:
    """Index one file: its row, with ``path`` set to ``rel``."""
    notes: list[str] = []
    row: dict[str, Any]
    try:
        row = _header_row(path, *read_head(path), notes, decoders or _DecoderCache())
    except _FileProblem as exc:
        row = {"status": exc.status, "reason": exc.reason}
    except OSError as exc:
        row = {"status": "error", "reason": f"cannot be opened: {exc.strerror or exc}"}
    except Warning:
        raise  # a warning turned into an error (tests): not the file's fault
    except Exception as exc:  # pydicom raises many types on corrupt headers: never fatal
        reason = f"header could not be read: {type(exc).__name__}: {exc}"
        row = {"status": "error", "reason": reason}
    row["path"] = _printable(rel)
    return row


def _printable(name: str) -> str:
    """Return a path as text, bytes that are not UTF-8 (OS surrogates) written as hex escapes."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return name


def _index_files(
    files: Iterable[tuple[str, str]], decoders: _DecoderCache
) -> Iterator[dict[str, Any]]:
    """Index ``(path, relative path)`` pairs in order."""
    for path, rel in files:
        yield _index_file(path, rel, decoders)


def _walk(root: str, rel: str = "") -> Iterator[tuple[str, str]]:
    """Yield ``(path, relative posix path)`` of every file under ``root``, sorted by the latter.

    Entries are sorted per folder with a folder's name followed by ``/``, which orders the
    files exactly as sorting their relative paths would, without holding the whole list.
    Symlinked folders are not followed; symlinks to files are listed.
    """
    try:
        with os.scandir(root) as it:
            entries = [
                e.name + "/" if e.is_dir(follow_symlinks=False) else e.name
                for e in it
                if e.is_dir(follow_symlinks=False) or e.is_file()
            ]
    except OSError:
        return
    entries.sort()
    for key in entries:
        if key.endswith("/"):
            yield from _walk(os.path.join(root, key[:-1]), rel + key)
        else:
            yield os.path.join(root, key), rel + key


_UNIX_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()


def _dates(values: Sequence[_dt.date | None]) -> np.ndarray:
    """Return a ``datetime64[s]`` array of dates (``None``: NaT), built from day numbers."""
    n = len(values)
    days = np.fromiter(
        (0 if v is None else v.toordinal() - _UNIX_EPOCH_ORDINAL for v in values), np.int64, n
    )
    out = days.astype("datetime64[D]").astype("datetime64[s]")
    out[np.fromiter((v is None for v in values), bool, n)] = np.datetime64("NaT")
    return out


class _Columns:
    """The index accumulated column by column (one list per column, no per-row dicts)."""

    def __init__(self) -> None:
        self.data: dict[str, list[Any]] = {c: [] for c in SCAN_COLUMNS}

    def __len__(self) -> int:
        return len(self.data["path"])

    def append(self, row: Mapping[str, Any]) -> None:
        for column, values in self.data.items():
            values.append(row.get(column))

    def extend(self, other: _Columns) -> None:
        for column, values in self.data.items():
            values.extend(other.data[column])

    def frame(self) -> pd.DataFrame:
        """Return the index with every column of :data:`SCAN_COLUMNS`, typed, even when empty."""
        import pandas as pd

        out: dict[str, pd.Series] = {}
        for column, dtype in SCAN_COLUMNS.items():
            values: list[Any] = self.data[column]
            if dtype.startswith("datetime"):
                out[column] = pd.Series(_dates(values), name=column)
                continue
            if column.endswith("_time"):
                values = [v.isoformat() if v is not None else None for v in values]
            elif dtype == "float64":
                values = [math.nan if v is None else v for v in values]
            out[column] = pd.Series(values, dtype=dtype, name=column)
        return pd.DataFrame(out, columns=list(SCAN_COLUMNS))


def iter_scan(folder: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Index every file under a folder from its DICOM header alone, one row at a time.

    The streaming form of :func:`scan`: the same rows, in the same order, as plain
    dictionaries keyed by the columns of :data:`SCAN_COLUMNS` (dates as
    :class:`datetime.date`, times as :class:`datetime.time`, missing values ``None``).
    Memory stays flat however many files the folder holds.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder to index, recursively (symlinked sub-folders are not followed).

    Yields
    ------
    dict
        One row per file.

    Raises
    ------
    DicomReadError
        If ``folder`` is not an existing folder (raised on the first ``next()``).

    Examples
    --------
    >>> for row in iter_scan("exports/"):  # doctest: +SKIP
    ...     if row["status"] != "ok":
    ...         print(row["path"], row["reason"])
    """
    root = os.fspath(folder)
    if not os.path.isdir(root):
        raise DicomReadError(f"{root}: not a folder; give the folder holding the DICOM files")
    for row in _rows(root):
        yield {column: row.get(column) for column in SCAN_COLUMNS}


def _rows(root: str) -> Iterator[dict[str, Any]]:
    """Yield the index rows of the files under ``root`` (keys: a subset of the columns)."""
    yield from _index_files(_walk(root), _DecoderCache())


#: Files per task when :func:`scan` runs in several processes.
_CHUNK = 256


def _chunks(root: str) -> Iterator[list[tuple[str, str]]]:
    chunk: list[tuple[str, str]] = []
    for item in _walk(root):
        chunk.append(item)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _index_chunk(chunk: list[tuple[str, str]]) -> _Columns:
    """Index a list of ``(path, relative path)`` in a worker process."""
    columns = _Columns()
    for row in _index_files(chunk, _DecoderCache()):
        columns.append(row)
    return columns


def scan(folder: str | os.PathLike[str], *, progress: bool = True, jobs: int = 1) -> pd.DataFrame:
    """Index every file under a folder from its DICOM header alone.

    Pixel data is never read or decoded: parsing stops at the Pixel Data element, whose
    length is checked against the file size to catch truncated files. Files that are not
    DICOM, or not readable radiographs, are rows with a status and a reason, never errors.
    Common headers (Part 10 files in Implicit or Explicit VR Little Endian, or any
    encapsulated syntax, with ASCII values) are read byte by byte without building
    pydicom data elements; every other file is parsed by pydicom. Both give the same row.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder to index, recursively (symlinked sub-folders are not followed).
    progress : bool, optional
        Show a tqdm progress bar on standard error (default ``True``).
    jobs : int, optional
        Worker processes (default 1: in this process). Several help on large folders,
        both when headers are in the page cache (parsing is then the cost) and on slow
        or network storage (waiting for the disk is). A single-threaded caller is
        forked; a caller running threads (a GUI) gets workers from a clean
        ``forkserver`` process (0.8 s the first time) and needs the ``__main__`` guard.

    Returns
    -------
    pandas.DataFrame
        One row per file, sorted by path, with the columns of :data:`SCAN_COLUMNS`:

        - ``path``: relative to ``folder``, with ``/`` separators;
        - ``patient_id``, ``study_instance_uid``, ``series_instance_uid``,
          ``sop_instance_uid``, ``modality``, ``view_position``, ``body_part``,
          ``series_description``;
        - ``study_date``, ``acquisition_date`` (datetime64, NaT when absent or invalid)
          and ``study_time``, ``acquisition_time`` (ISO ``HH:MM:SS[.ffffff]`` text);
        - ``rows``, ``columns`` (nullable integers), ``transfer_syntax`` (UID, inferred
          when the file has no file meta);
        - ``spacing_source``, ``row_mm``, ``col_mm``: the calibration
          (:func:`kyphoimg.calibration.resolve_spacing`; NaN mm with source ``none``);
        - ``status``: ``ok``, ``not_dicom`` or ``error``; ``reason``: why a row is not
          ``ok`` (not DICOM, truncated, not an image, no pixel data, no decoder
          installed...), or on an ``ok`` row what was noticed (no file meta, ignored
          malformed values), else missing.

        An empty folder gives zero rows with every column.

    Raises
    ------
    DicomReadError
        If ``folder`` is not an existing folder.

    See Also
    --------
    iter_scan : the same rows one at a time, in flat memory.

    Examples
    --------
    >>> index = scan("exports/", progress=False)  # doctest: +SKIP
    >>> ok = index[index.status == "ok"]  # doctest: +SKIP
    """
    columns = _Columns()
    for part in _column_chunks(folder, progress=progress, jobs=jobs):
        columns.extend(part)
    return columns.frame()


class _Progress(tqdm):
    """A tqdm bar without tqdm's monitor thread, which a scan's bar does not need.

    A scan then leaves no thread behind, and ``scan(jobs=N)`` can fork a caller that is
    single-threaded.
    """

    monitor_interval = 0


def _column_chunks(
    folder: str | os.PathLike[str], *, progress: bool, jobs: int
) -> Iterator[_Columns]:
    """Yield the index in order, in chunks of up to :data:`_CHUNK` rows."""
    root = os.fspath(folder)
    if not os.path.isdir(root):
        raise DicomReadError(f"{root}: not a folder; give the folder holding the DICOM files")
    total = sum(1 for _ in _walk(root)) if progress else None
    if jobs > 1:
        parts = ordered_map(_index_chunk, _chunks(root), jobs=jobs)
        # the first result starts the workers: before the bar starts its monitor thread
        first = next(parts, None)
        with _Progress(
            total=total, desc="scan", unit="file", disable=not progress, file=sys.stderr
        ) as bar:
            for part in chain([] if first is None else [first], parts):
                bar.update(len(part))
                yield part
        return
    with _Progress(
        total=total, desc="scan", unit="file", disable=not progress, file=sys.stderr
    ) as bar:
        part = _Columns()
        for row in _rows(root):
            part.append(row)
            bar.update()
            if len(part) == _CHUNK:
                yield part
                part = _Columns()
        if len(part):
            yield part


def scan_to_csv(
    folder: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    progress: bool = True,
    jobs: int = 1,
) -> tuple[dict[str, int], pd.DataFrame]:
    """Write the :func:`scan` index of a folder to a CSV file as it is made, in flat memory.

    The file is the one ``write_table(scan(folder), path, dictionary=False)`` writes, byte
    for byte, but rows go to disk in chunks instead of being held (the file appears
    atomically when complete). For very large exports.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder to index (see :func:`scan`).
    path : str or os.PathLike
        The CSV file to write.
    progress : bool, optional
        Show a progress bar on standard error (default ``True``).
    jobs : int, optional
        Worker processes (see :func:`scan`).

    Returns
    -------
    counts : dict
        Rows per ``status``.
    problems : pandas.DataFrame
        The rows whose status is ``error`` (the only rows kept in memory).
    """
    import pandas as pd

    counts: dict[str, int] = {}
    problems: list[pd.DataFrame] = []

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            first = True
            for part in _column_chunks(folder, progress=progress, jobs=jobs):
                frame = part.frame()
                frame.to_csv(out, index=False, header=first)
                first = False
                for status, n in frame["status"].value_counts().items():
                    counts[str(status)] = counts.get(str(status), 0) + int(n)
                bad = frame[frame["status"] == "error"]
                if len(bad):
                    problems.append(bad)
            if first:  # an empty folder: the header alone
                _Columns().frame().to_csv(out, index=False)

    atomic_write(path, write)
    empty = _Columns().frame()
    return counts, pd.concat(problems, ignore_index=True) if problems else empty
