"""A byte-level reader of the common DICOM header, for the cohort index (:func:`kyphoimg.scan`).

pydicom's parser builds a data element object for every element of a header; indexing a
100,000-file PACS export needs a few dozen values from each, so the fast path here walks
the element headers of one buffer with :mod:`struct` and keeps the raw bytes of the
elements :data:`HEADER_KEYWORDS` names. It reads only what it is sure of: a Part 10 file
(preamble, ``DICM``, Explicit VR Little Endian file meta) whose data set is Implicit or
Explicit VR Little Endian (which covers every encapsulated syntax), whose elements carry
known VRs, whose wanted values have their dictionary VR and are ASCII without escape
sequences, whose Specific Character Set (if any) is made of defined terms, and which ends
in the pixel data, a float pixel element, or cleanly at the end of the file.

Anything else (no file meta, big endian, deflated, a non-ASCII value that needs the
Specific Character Set, an unknown VR, a truncated element, a header over
:data:`MAX_HEADER_BYTES`) gives ``None``, and the caller parses the file with pydicom
instead. The two paths give the same index row; ``tests/test_rawheader.py`` checks this on
every file of pydicom's test corpus and the project's data.

The encoding rules followed are those of DICOM PS3.5 §7.1 (data elements), §7.5 (nesting
of sequences and items) and PS3.10 §7.1 (file meta information).
"""

from __future__ import annotations

import os
import struct
from functools import lru_cache

from pydicom.charset import python_encoding
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.uid import UID, AllTransferSyntaxes
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32, VR

__all__ = [
    "FIRST_READ",
    "HEADER_KEYWORDS",
    "MAX_HEADER_BYTES",
    "RawHeader",
    "parse_raw_header",
    "read_head",
]

#: The header elements the cohort index reads (top level of the data set only).
HEADER_KEYWORDS: tuple[str, ...] = (
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyDate",
    "AcquisitionDate",
    "StudyTime",
    "AcquisitionTime",
    "AcquisitionDateTime",
    "Modality",
    "PatientID",
    "BodyPartExamined",
    "SeriesDescription",
    "NominalScannedPixelSpacing",
    "ImagerPixelSpacing",
    "EstimatedRadiographicMagnificationFactor",
    "ViewPosition",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "PatientOrientation",
    "Laterality",
    "ImageLaterality",
    "PhotometricInterpretation",
    "Rows",
    "Columns",
    "PixelSpacing",
    "PixelSpacingCalibrationType",
    "BitsStored",
    "PixelRepresentation",
    "PresentationLUTShape",
)

#: A header longer than this (bytes before the pixel data) is left to pydicom.
MAX_HEADER_BYTES = 1 << 20

#: Bytes read from every file first (most headers of radiographs are shorter).
FIRST_READ = 8192
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
_TRANSFER_SYNTAX_TAG = 0x00020010
_VRS = frozenset(v.value.encode("ascii") for v in VR if len(v.value) == 2)
# VRs with a 2-byte reserved field and a 4-byte length in explicit encoding (PS3.5 7.1.2)
_LONG_VRS = frozenset(str(vr).encode("ascii") for vr in EXPLICIT_VR_LENGTH_32)


def _swapped(tag: int) -> int:
    """``tag`` as a little-endian ``<I`` read of its 4 bytes gives it: element, then group."""
    return (tag & 0xFFFF) << 16 | tag >> 16


# swapped tag -> (keyword, dictionary VR) of the wanted elements; pixel tags map to None
def _tag(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    if tag is None:  # a misspelt keyword must not become (0000,0000)
        raise ValueError(f"{keyword} is not a DICOM keyword")
    return int(tag)


_TOP: dict[int, tuple[str, bytes] | None] = {
    _swapped(_tag(kw)): (kw, dictionary_VR(_tag(kw)).encode("ascii")) for kw in HEADER_KEYWORDS
}
_TOP.update(dict.fromkeys(map(_swapped, _PIXEL_TAGS)))
# Specific Character Set: read to check that pydicom would take it as it is
_CHARSET = "SpecificCharacterSet"
_CHARSET_SWAPPED = _swapped(0x00080005)
_TOP[_CHARSET_SWAPPED] = (_CHARSET, b"CS")
# item and sequence delimiters have no business at the top level
_STRAY = ("", b"")
_TOP.update(dict.fromkeys(map(_swapped, (_ITEM, _ITEM_END, _SEQUENCE_END)), _STRAY))
#: Deepest nesting of undefined-length sequences read here (pydicom's recursion is deeper
#: per level; a header nested this deep is left to it).
_MAX_DEPTH = 64


@lru_cache(maxsize=256)
def _plain_charset(raw: bytes) -> bool:
    """Whether every term of a Specific Character Set value is a defined term verbatim."""
    terms = raw.decode("ascii").rstrip(" \x00").split("\\")
    return all(term.strip(" ") in python_encoding for term in terms)


_SHORT_VRS = _VRS - _LONG_VRS

_EXPLICIT_HEADER = struct.Struct("<I2sH").unpack_from  # swapped tag, VR, short length
_IMPLICIT_HEADER = struct.Struct("<II").unpack_from  # swapped tag, length
_U32 = struct.Struct("<I").unpack_from
_U16 = struct.Struct("<H").unpack_from

# transfer syntax UID -> whether its data set is implicit VR, for the syntaxes read here:
# every public little-endian syntax but the deflated one (all encapsulated syntaxes are
# explicit VR little endian)
_SYNTAX_IMPLICIT: dict[str, bool] = {
    str(ts): ts.is_implicit_VR
    for ts in map(UID, AllTransferSyntaxes)
    if ts.is_little_endian and not ts.is_deflated
}


class _NeedMore(Exception):
    """The buffer ends before the header does; ``size`` bytes would be enough."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class _Unsure(Exception):
    """Something the fast path does not read: leave the file to pydicom."""


class RawHeader:
    """The raw values of :data:`HEADER_KEYWORDS` in one file, and where its pixel data is.

    Attributes
    ----------
    values : dict of str to bytes
        Raw value bytes by keyword, for the wanted elements present (ASCII, or 2-byte US).
    transfer_syntax : str
        The file meta's Transfer Syntax UID.
    pixel_tag : int or None
        The pixel element the data set ends in (7FE0,0010/0008/0009), else ``None``.
    pixel_length : int
        Its declared value length (``0xFFFFFFFF``: encapsulated).
    pixel_held : int
        The bytes the file holds after that element's header.
    """

    __slots__ = ("pixel_held", "pixel_length", "pixel_tag", "transfer_syntax", "values")

    def __init__(
        self,
        values: dict[str, bytes],
        transfer_syntax: str,
        pixel_tag: int | None,
        pixel_length: int,
        pixel_held: int,
    ) -> None:
        self.values = values
        self.transfer_syntax = transfer_syntax
        self.pixel_tag = pixel_tag
        self.pixel_length = pixel_length
        self.pixel_held = pixel_held

    def __contains__(self, tag: object) -> bool:
        """Whether the data set holds the pixel element ``tag`` (other tags: not known)."""
        return tag is not None and tag == self.pixel_tag

    def text(self, keyword: str) -> str | None:
        """Return the value of ``keyword`` as stripped text; ``None`` when absent or empty."""
        value = self.values.get(keyword)
        if not value:
            return None
        return value.decode("ascii").strip(" \x00") or None

    def uint16(self, keyword: str) -> int | None:
        """Return the value of the US element ``keyword``; ``None`` when absent."""
        value = self.values.get(keyword)
        return None if value is None else int(_U16(value)[0])


def read_head(path: str) -> tuple[bytes, int]:
    """Read the first :data:`FIRST_READ` bytes of a file, and its size.

    Parameters
    ----------
    path : str
        The file.

    Returns
    -------
    head : bytes
        Its first bytes (all of them for a shorter file).
    size : int
        Its size in bytes.

    Raises
    ------
    OSError
        If the file cannot be opened or read.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        return os.read(fd, min(FIRST_READ, size)), size
    finally:
        os.close(fd)


def parse_raw_header(path: str, head: bytes, size: int) -> RawHeader | None:
    """Parse the header of ``path`` from its first bytes ``head`` (the file has ``size``).

    Reads more of the file only when the header is longer than ``head``.

    Parameters
    ----------
    path : str
        The file, reopened only to read past ``head``.
    head : bytes
        Its first bytes, from :func:`read_head`.
    size : int
        Its size in bytes, from :func:`read_head`.

    Returns
    -------
    RawHeader or None
        The header, or ``None`` when the file is not one the fast path reads (see the
        module docstring): pydicom should parse it.

    Raises
    ------
    OSError
        If more of the file was needed and it could not be read.
    """
    buf = head
    while True:
        try:
            return _parse(buf, size)
        except _Unsure:
            return None
        except _NeedMore as more:
            want = min(max(more.size, 2 * len(buf)), size)
            if len(buf) >= size or want > MAX_HEADER_BYTES:
                return None  # truncated, or a header too long for this path
            with open(path, "rb") as fp:
                more_bytes = fp.read(want)
            if len(more_bytes) <= len(buf):
                return None  # the file shrank since it was measured: leave it to pydicom
            buf = more_bytes


def _parse(buf: bytes, size: int) -> RawHeader:
    if len(buf) < 132 or buf[128:132] != b"DICM":
        raise _Unsure
    # file meta: explicit VR little endian, group 0002 (PS3.10 7.1)
    pos, raw_ts = _file_meta(buf, 132)
    if not raw_ts or not raw_ts.isascii():
        raise _Unsure
    ts = raw_ts.decode("ascii").rstrip("\x00 ")  # as pydicom: trailing padding only
    implicit = _SYNTAX_IMPLICIT.get(ts)
    if implicit is None:
        raise _Unsure  # big endian, deflated, private or unknown
    if pos + 8 > size:
        raise _Unsure  # an empty data set
    if pos + 8 > len(buf):
        raise _NeedMore(pos + 8)
    looks_explicit = all(0x40 < b < 0x5B for b in buf[pos + 4 : pos + 6])
    if looks_explicit == implicit:
        raise _Unsure  # pydicom would switch encodings and warn
    if _U16(buf, pos)[0] == 0x0000:
        raise _Unsure  # a command set (group 0000): pydicom reads it apart, implicitly
    values: dict[str, bytes] = {}
    start = pos
    pos = (_top_implicit if implicit else _top_explicit)(buf, pos, values)
    if pos == start:
        raise _Unsure  # no element before the pixel data: pydicom calls that not DICOM
    charset = values.pop(_CHARSET, None)
    if charset is not None and not _plain_charset(charset):
        raise _Unsure  # pydicom would correct or reject the term, with a warning
    if pos >= size:
        return RawHeader(values, ts, None, 0, 0)
    if pos + 12 > len(buf):
        raise _NeedMore(pos + 12)
    stag = _U32(buf, pos)[0]
    if implicit:
        length, header = _U32(buf, pos + 4)[0], 8
    else:
        length, header = _U32(buf, pos + 8)[0], 12
    return RawHeader(values, ts, _swapped(stag), length, size - pos - header)


_TS_SWAPPED = _swapped(_TRANSFER_SYNTAX_TAG)


def _file_meta(buf: bytes, pos: int) -> tuple[int, bytes | None]:
    """Walk the group 0002 elements; return where the data set starts and the raw syntax."""
    ts = None
    while True:
        if pos + 12 > len(buf):
            raise _NeedMore(pos + 12)
        stag, vr, short = _EXPLICIT_HEADER(buf, pos)
        if stag & 0xFFFF != 0x0002:
            return pos, ts
        start, length = _explicit_length(buf, pos, vr, short)
        if length == _UNDEFINED:
            raise _Unsure
        if stag == _TS_SWAPPED:
            if vr != b"UI" or start + length > len(buf):
                raise _Unsure
            ts = buf[start : start + length]
        pos = start + length


def _explicit_length(buf: bytes, pos: int, vr: bytes, short: int) -> tuple[int, int]:
    """Return where the value of the explicit element at ``pos`` starts, and its length."""
    if vr in _SHORT_VRS:
        return pos + 8, short
    if vr not in _LONG_VRS:
        raise _Unsure  # not a VR
    if pos + 12 > len(buf):
        raise _NeedMore(pos + 12)
    return pos + 12, _U32(buf, pos + 8)[0]


def _keep(
    want: tuple[str, bytes], vr: bytes | None, value: bytes, values: dict[str, bytes]
) -> None:
    """Keep a wanted value, or give up where pydicom's conversion would decide it.

    That is a VR other than the dictionary's, a US value that is not exactly one number,
    or text that is not ASCII (it needs the Specific Character Set).
    """
    keyword, expected = want
    if vr is not None and vr != expected:
        raise _Unsure
    if expected == b"US":
        if len(value) != 2:
            raise _Unsure
    elif not _plain(value):
        raise _Unsure
    values[keyword] = value


def _plain(value: bytes) -> bool:
    """ASCII text without ESC (ISO 2022 escape sequences switch to other character sets)."""
    return value.isascii() and b"\x1b" not in value


def _top_explicit(buf: bytes, pos: int, values: dict[str, bytes]) -> int:
    """Walk the top level of an explicit VR data set up to a pixel element or the end.

    Returns the position of the pixel element, or ``len(buf)`` when the buffer ends on an
    element boundary (the caller compares it with the file size). Values of the wanted
    elements go into ``values``, by keyword.
    """
    end = len(buf)
    top, short_vrs, long_vrs, header, u32 = _TOP, _SHORT_VRS, _LONG_VRS, _EXPLICIT_HEADER, _U32
    while pos + 8 <= end:
        stag, vr, length = header(buf, pos)
        if vr in short_vrs:
            start = pos + 8
        elif vr in long_vrs:
            if pos + 12 > end:
                raise _NeedMore(pos + 12)
            length = u32(buf, pos + 8)[0]
            start = pos + 12
        else:
            raise _Unsure  # not a VR: a stray delimiter, or not explicit after all
        if stag in top:
            want = top[stag]
            if want is None:  # a pixel element
                break
            if want is _STRAY:
                raise _Unsure  # a delimiter at the top level (pydicom ends the data set there)
            if length == _UNDEFINED:
                raise _Unsure
            if start + length > end:
                raise _NeedMore(start + length)
            value = buf[start : start + length]
            if vr == want[1] and (
                length == 2 if vr == b"US" else value.isascii() and b"\x1b" not in value
            ):
                values[want[0]] = value
            else:
                _keep(want, vr, value, values)  # raises
        elif length == _UNDEFINED:
            if vr != b"SQ":
                raise _Unsure  # undefined-length UN, or OB outside the pixel data
            pos = _skip_sequence(buf, start, False)
            continue
        pos = start + length
    else:
        if pos != end:
            raise _NeedMore(pos + 8)
    return pos


def _top_implicit(buf: bytes, pos: int, values: dict[str, bytes]) -> int:
    """Walk the top level of an implicit VR data set (see :func:`_top_explicit`)."""
    end = len(buf)
    top, header = _TOP, _IMPLICIT_HEADER
    while pos + 8 <= end:
        stag, length = header(buf, pos)
        start = pos + 8
        if stag in top:
            want = top[stag]
            if want is None:  # a pixel element
                break
            if want is _STRAY:
                raise _Unsure  # a delimiter at the top level
            if length == _UNDEFINED:
                raise _Unsure
            if start + length > end:
                raise _NeedMore(start + length)
            _keep(want, None, buf[start : start + length], values)
        elif stag & 0xFFFF == 0xFFFE:
            raise _Unsure  # a stray delimiter
        elif length == _UNDEFINED:
            pos = _skip_sequence(buf, start, True)
            continue
        pos = start + length
    else:
        if pos != end:
            raise _NeedMore(pos + 8)
    return pos


def _skip_sequence(buf: bytes, pos: int, implicit: bool, depth: int = 1) -> int:
    """Skip an undefined-length sequence, checking its structure; return the position after.

    pydicom parses undefined-length sequences when it reads a header (defined-length ones
    are kept as bytes), and fails on a damaged one, so their items are walked here too:
    an item or element that does not end where its container does leaves the file to
    pydicom.
    """
    while True:
        if pos + 8 > len(buf):
            raise _NeedMore(pos + 8)
        stag, item_length = _IMPLICIT_HEADER(buf, pos)
        tag = _swapped(stag)
        pos += 8
        if tag == _SEQUENCE_END:
            return pos
        if tag != _ITEM:
            raise _Unsure
        pos = _skip_item(buf, pos, implicit, item_length, depth)


def _skip_item(buf: bytes, pos: int, implicit: bool, length: int, depth: int) -> int:
    """Skip the elements of an item; return the position after it (and its delimiter)."""
    if depth > _MAX_DEPTH:
        raise _Unsure
    end = None if length == _UNDEFINED else pos + length
    while end is None or pos < end:
        if pos + 8 > len(buf):
            raise _NeedMore(pos + 8)
        stag, value_length = _IMPLICIT_HEADER(buf, pos)
        if stag == _CHARSET_SWAPPED:
            raise _Unsure  # an item's own character set: pydicom applies (and checks) it
        if stag & 0xFFFF == 0xFFFE:
            if end is None and _swapped(stag) == _ITEM_END:
                return pos + 8
            raise _Unsure  # a delimiter out of place
        if implicit:
            start, vr = pos + 8, None
        else:
            _, vr, short = _EXPLICIT_HEADER(buf, pos)
            start, value_length = _explicit_length(buf, pos, vr, short)
        if value_length != _UNDEFINED:
            pos = start + value_length  # defined-length values, sequences too, stay bytes
        elif vr in (None, b"SQ"):
            pos = _skip_sequence(buf, start, implicit, depth + 1)
        else:
            raise _Unsure  # undefined-length UN or OB inside an item
    if pos != end:
        raise _Unsure  # the last element overruns the item
    return pos
