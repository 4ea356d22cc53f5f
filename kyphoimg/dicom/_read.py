"""Read projection radiographs (CR, DX) from DICOM files.

:func:`read_radiograph` returns a :class:`Radiograph`: the stored pixels of one frame after
the modality LUT, a :class:`~kyphoimg.calibration.Calibration` resolved by the rules of
:func:`kyphoimg.calibration.resolve_spacing`, the identifying metadata and the VOI
(window or VOI LUT) needed to display it with bone bright.

The file on disk is never written, and the returned pixel array is read-only: displaying,
measuring or exporting never alters the stored values.

Decoders are chosen per transfer syntax (see ``docs/dicom.md``): python-gdcm (Apache-2.0
packaging of the BSD-licensed GDCM) for the JPEG family and JPEG-LS; pylibjpeg-openjpeg
(MIT, OpenJPEG BSD-2) for JPEG 2000 and HTJ2K, with gdcm as the second JPEG 2000 decoder;
pydicom itself (MIT) for native, deflated and RLE data. No GPL decoder is needed. When one
decoder fails the next one is tried, and :attr:`RadiographMetadata.decoder` says which
one produced the pixels.
"""

from __future__ import annotations

import datetime as _dt
import math
import operator
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRBigEndian

from ..calibration import SPACING_EQUAL_RTOL, Calibration
from ..errors import DicomReadError
from ._scan import (
    _GDCM_FILE,
    SCAN_COLUMNS,
    _decoder_plan,
    _FileProblem,
    _finite_float,
    _header_fields,
    _int,
    _is_native,
    _no_decoder_reason,
    _not_image_reason,
    _parse,
    _positive_float,
    _raw_text,
    _recorded_warnings,
    _resolve_calibration,
    _transfer_syntax,
    iter_scan,
    scan,
)

__all__ = [
    "DISPLAY_PRESETS",
    "SCAN_COLUMNS",
    "SPACING_EQUAL_RTOL",
    "Radiograph",
    "RadiographMetadata",
    "VoiSettings",
    "calibration_from_dataset",
    "iter_scan",
    "read_radiograph",
    "resolve_calibration",
    "scan",
]

#: Named display presets accepted by :meth:`Radiograph.display`. ``file``, ``window`` and
#: ``lut`` use the VOI stored in the file; the others stretch contrast linearly between two
#: percentiles of the pixel values, counted with bone bright (so they mean the same thing
#: for MONOCHROME1 and MONOCHROME2 films).
DISPLAY_PRESETS: Mapping[str, str] = {
    "file": "stored VOI LUT, else stored window, else full range",
    "window": "stored window centre/width (choose with index=)",
    "lut": "stored VOI LUT Sequence item (choose with index=)",
    "full": "linear from the minimum to the maximum pixel value",
    "auto": "linear between the 0.5th and 99.5th percentiles",
    "bone": "linear over the brightest 70 % (30th to 99.5th percentile): bone contrast",
    "soft_tissue": "linear over the darker part (1st to 60th percentile): soft tissue",
}

_PERCENTILE_PRESETS: dict[str, tuple[float, float]] = {
    "full": (0.0, 100.0),
    "auto": (0.5, 99.5),
    "bone": (30.0, 99.5),
    "soft_tissue": (1.0, 60.0),
}


# -- value objects ----------------------------------------------------------------------
@dataclass(frozen=True)
class RadiographMetadata:
    """Identifying and technical header values of one radiograph frame.

    Text values are stripped strings or ``None`` when absent or empty; dates and times
    are parsed (``None`` when absent or malformed, with a note in :attr:`notes`).

    Attributes
    ----------
    sop_class_uid, sop_instance_uid, study_instance_uid, series_instance_uid : str or None
        The DICOM UIDs.
    patient_id : str or None
        Patient ID (0010,0020).
    study_date, acquisition_date : datetime.date or None
        Study Date (0008,0020); Acquisition Date (0008,0022), else the date part of
        Acquisition DateTime (0008,002A).
    study_time, acquisition_time : datetime.time or None
        Study Time (0008,0030); Acquisition Time (0008,0032) or Acquisition DateTime.
    modality, view_position, body_part, laterality, series_description : str or None
        Modality, View Position, Body Part Examined, and Image Laterality (0020,0062)
        falling back to Laterality (0020,0060), Series Description (0008,103E).
    patient_orientation : tuple of str
        Patient Orientation (row direction, column direction), e.g. ``("A", "F")``.
    photometric_interpretation : str
        ``MONOCHROME1`` (low values bright) or ``MONOCHROME2``.
    presentation_lut_shape : str or None
        Presentation LUT Shape, when given (``IDENTITY`` or ``INVERSE``).
    transfer_syntax, transfer_syntax_name : str
        The transfer syntax UID the pixels were decoded with, and its name.
    file_meta_missing : bool
        The file had no Part 10 header (no ``DICM`` prefix) and was read leniently.
    transfer_syntax_inferred : bool
        The transfer syntax was not in the file and was inferred from the encoding.
    rows, columns, number_of_frames, frame : int
        Image size, frame count, and the 0-based frame returned.
    bits_stored, pixel_representation : int or None
        Bits Stored; Pixel Representation (0 unsigned, 1 signed).
    modality_lut : str
        What produced :attr:`Radiograph.pixels` from the stored values: ``none``,
        ``identity`` (slope 1, intercept 0), ``rescale`` or ``lut_sequence``.
    decoder : str
        The decoder that produced the pixels (``native``, ``gdcm``, ``pylibjpeg``...).
    calibration_notes : tuple of str
        Why the calibration source was chosen and which spacing values were ignored.
    notes : tuple of str
        Everything else that happened while reading: lenient reading, inferred syntax,
        ignored malformed values, warnings emitted by pydicom or a decoder.
    """

    sop_class_uid: str | None
    sop_instance_uid: str | None
    study_instance_uid: str | None
    series_instance_uid: str | None
    patient_id: str | None
    study_date: _dt.date | None
    study_time: _dt.time | None
    acquisition_date: _dt.date | None
    acquisition_time: _dt.time | None
    modality: str | None
    view_position: str | None
    body_part: str | None
    laterality: str | None
    patient_orientation: tuple[str, ...]
    photometric_interpretation: str
    presentation_lut_shape: str | None
    transfer_syntax: str
    transfer_syntax_name: str
    file_meta_missing: bool
    transfer_syntax_inferred: bool
    rows: int
    columns: int
    number_of_frames: int
    frame: int
    bits_stored: int | None
    pixel_representation: int | None
    modality_lut: str
    decoder: str
    calibration_notes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    series_description: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the metadata as a plain ``dict`` (dates and times stay objects)."""
        return asdict(self)


@dataclass(frozen=True, eq=False)
class VoiSettings:
    """The VOI LUT module of a radiograph: stored windows and VOI LUTs.

    Attributes
    ----------
    windows : tuple of (float, float, str or None)
        ``(centre, width, explanation)`` per stored window, in modality-LUT output units.
    function : str
        VOI LUT Function: ``LINEAR`` (default), ``LINEAR_EXACT`` or ``SIGMOID``.
    luts : tuple of (int, int, ndarray, str or None)
        ``(first_mapped_value, bits_per_entry, table, explanation)`` per VOI LUT
        Sequence item; the tables are read-only ``uint16`` arrays.
    """

    windows: tuple[tuple[float, float, str | None], ...] = ()
    function: str = "LINEAR"
    luts: tuple[tuple[int, int, npt.NDArray[np.uint16], str | None], ...] = ()


@dataclass(frozen=True, eq=False)
class Radiograph:
    """One frame of a projection radiograph, ready to display and measure.

    Attributes
    ----------
    path : pathlib.Path
        The file read.
    pixels : ndarray, shape (rows, columns)
        Stored values after the modality LUT (rescale or Modality LUT Sequence), in the
        file's polarity (MONOCHROME1: low values are bright). Integer when no rescale
        applies, float64 otherwise. Read-only.
    calibration : Calibration
        Millimetres per pixel ``(row_mm, col_mm)`` and their source (``docs/dicom.md``).
    metadata : RadiographMetadata
        UIDs, patient, dates, view, photometric interpretation, transfer syntax...
    voi : VoiSettings
        The stored windows and VOI LUTs used by :meth:`display`.
    """

    path: Path
    pixels: npt.NDArray[Any] = field(repr=False)
    calibration: Calibration
    metadata: RadiographMetadata = field(repr=False)
    voi: VoiSettings = field(default_factory=VoiSettings, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of :attr:`pixels`."""
        rows, cols = self.pixels.shape
        return int(rows), int(cols)

    def display(
        self,
        preset: str = "file",
        *,
        index: int = 0,
        center: float | None = None,
        width: float | None = None,
    ) -> npt.NDArray[np.float32]:
        """Return a display image in ``[0, 1]`` with bone bright (1 is white).

        Parameters
        ----------
        preset : str, optional
            One of :data:`DISPLAY_PRESETS`. ``"file"`` (default) applies the stored VOI
            LUT Sequence, else the stored window, else the full range.
        index : int, optional
            Which stored window or VOI LUT to use when the file holds several.
        center, width : float, optional
            An explicit window in modality-LUT output units; overrides ``preset``. The
            stored VOI LUT Function (LINEAR, LINEAR_EXACT, SIGMOID) applies.

        Returns
        -------
        ndarray of float32, shape (rows, columns)
            A new array; MONOCHROME1 films are inverted so that bone is bright.

        Raises
        ------
        ValueError
            If ``preset`` is unknown, the file holds no window or LUT the preset asks
            for, ``index`` is out of range, or only one of ``center``/``width`` is given
            or ``width`` is not positive.

        Examples
        --------
        >>> img = radiograph.display()  # doctest: +SKIP
        >>> img = radiograph.display("bone")  # doctest: +SKIP
        >>> img = radiograph.display(center=1800, width=1200)  # doctest: +SKIP
        """
        inverted = self.metadata.photometric_interpretation == "MONOCHROME1"
        if center is not None or width is not None:
            if center is None or width is None or not (width > 0):
                raise ValueError(
                    f"give both center= and a positive width= (got center={center!r}, "
                    f"width={width!r})"
                )
            out = _apply_window(self.pixels, float(center), float(width), self.voi.function)
        else:
            out = self._display_preset(preset, index, inverted)
        if inverted:
            np.subtract(1.0, out, out=out)
        return out

    def _display_preset(self, preset: str, index: int, inverted: bool) -> npt.NDArray[np.float32]:
        if preset not in DISPLAY_PRESETS:
            raise ValueError(
                f"unknown display preset {preset!r}; use one of {', '.join(DISPLAY_PRESETS)}"
            )
        voi = self.voi
        if preset == "file":
            preset = "lut" if voi.luts else "window" if voi.windows else "full"
        if preset == "lut":
            first, bits, table, _ = _pick(voi.luts, index, "VOI LUT", self.path)
            return _apply_lut(self.pixels, first, bits, table)
        if preset == "window":
            c, w, _ = _pick(voi.windows, index, "window", self.path)
            return _apply_window(self.pixels, c, w, voi.function)
        lo_q, hi_q = _PERCENTILE_PRESETS[preset]
        if inverted:  # percentiles counted with bone bright
            lo_q, hi_q = 100.0 - hi_q, 100.0 - lo_q
        lo, hi = _percentiles(self.pixels, lo_q, hi_q)
        return _linear(self.pixels, lo, hi)


def _pick(items: Sequence[Any], index: int, what: str, path: Path) -> Any:
    if not items:
        raise ValueError(f"{path}: the file holds no stored {what}; use another preset")
    if not 0 <= index < len(items):
        raise ValueError(
            f"{path}: {what} index {index} is out of range; the file holds {len(items)}"
        )
    return items[index]


# -- display helpers --------------------------------------------------------------------
def _linear(x: npt.NDArray[Any], lo: float, hi: float) -> npt.NDArray[np.float32]:
    """Map ``lo`` -> 0 and ``hi`` -> 1 linearly, clipped, as a new float32 array."""
    out = np.asarray(x, dtype=np.float32).copy()
    span = hi - lo
    if not span > 0:  # constant image or degenerate window: threshold at lo
        return (out > lo).astype(np.float32)
    out -= np.float32(lo)
    out *= np.float32(1.0 / span)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def _apply_window(
    x: npt.NDArray[Any], center: float, width: float, function: str
) -> npt.NDArray[np.float32]:
    """Apply a window as PS3.3 C.11.2.1.2 defines it, output in ``[0, 1]``."""
    if function == "SIGMOID":
        z = np.asarray(x, dtype=np.float32) - np.float32(center)
        z *= np.float32(-4.0 / width)
        np.exp(z, out=z)
        z += 1.0
        return np.reciprocal(z, out=z)
    if function == "LINEAR_EXACT":
        return _linear(x, center - width / 2.0, center + width / 2.0)
    if width <= 1.0:  # LINEAR with width 1 is a threshold at c - 0.5
        return (np.asarray(x) > center - 0.5).astype(np.float32)
    half = (width - 1.0) / 2.0
    return _linear(x, center - 0.5 - half, center - 0.5 + half)


def _apply_lut(
    x: npt.NDArray[Any], first: int, bits: int, table: npt.NDArray[np.uint16]
) -> npt.NDArray[np.float32]:
    """Map values through a VOI LUT; values outside it take the first or last entry."""
    top = float(2**bits - 1)
    top = max(top, float(table.max()), 1.0)
    norm = table.astype(np.float32) / np.float32(top)
    idx = np.rint(x).astype(np.int64) if x.dtype.kind == "f" else x.astype(np.int64)
    idx -= first
    np.clip(idx, 0, len(table) - 1, out=idx)
    return norm[idx]


def _percentiles(x: npt.NDArray[Any], lo_q: float, hi_q: float) -> tuple[float, float]:
    """Percentiles of ``x`` on a regular subsample of at most about 512 x 512 pixels."""
    if lo_q == 0.0 and hi_q == 100.0:
        return float(x.min()), float(x.max())
    step = max(1, int(math.sqrt(x.size / 262_144.0)))
    sample = x[::step, ::step]
    lo, hi = np.percentile(sample, (lo_q, hi_q))
    return float(lo), float(hi)


# -- calibration ------------------------------------------------------------------------
def calibration_from_dataset(ds: Dataset) -> Calibration:
    """Resolve the pixel calibration of a projection radiograph's dataset.

    This is the one way to get a :class:`~kyphoimg.Calibration` from a DICOM dataset;
    :func:`read_radiograph` and :func:`scan` give the same for a file. The rules
    (calibrated Pixel Spacing, then Imager Pixel Spacing / ERMF, then Imager Pixel
    Spacing alone, then Pixel Spacing of unknown origin or Nominal Scanned Pixel
    Spacing, then none) are those of :func:`kyphoimg.calibration.resolve_spacing`, which
    lists them in full; values are read as stored, without letting pydicom convert them,
    so a malformed one counts as missing instead of raising.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset or header (pixel data is not needed, ``stop_before_pixels=True`` will do).

    Returns
    -------
    Calibration
        With source ``pixel_spacing``, ``ermf``, ``detector``, ``unknown_origin`` or
        ``none``; bad spacing values never raise: they lead to a lower source or ``none``.

    See Also
    --------
    resolve_calibration : the same, with the reasons for the choice.

    Examples
    --------
    >>> from pydicom.dataset import Dataset
    >>> ds = Dataset()
    >>> ds.ImagerPixelSpacing = [0.15, 0.15]
    >>> ds.EstimatedRadiographicMagnificationFactor = 1.25
    >>> calibration_from_dataset(ds)
    Calibration(row_mm=0.12, col_mm=0.12, source='ermf')
    >>> ds.PixelSpacing = [0.15, 0.15]  # equal to the imager spacing: not calibrated
    >>> calibration_from_dataset(ds).source
    'ermf'
    """
    return _resolve_calibration(ds)[0]


def resolve_calibration(ds: Dataset) -> tuple[Calibration, tuple[str, ...]]:
    """Return :func:`calibration_from_dataset` of a dataset, with the reasons for it.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset or header (pixel data is not needed).

    Returns
    -------
    calibration : Calibration
        As :func:`calibration_from_dataset` returns it.
    notes : tuple of str
        Each present but unusable spacing value that was ignored, then (last) why the
        source was chosen.
    """
    return _resolve_calibration(ds)


# -- pixel pipeline ---------------------------------------------------------------------
def _number_of_frames(ds: Dataset) -> int:
    text = _raw_text(ds, "NumberOfFrames")
    if text is None:
        return 1
    try:
        n = int(float(text))
    except ValueError:
        n = 0
    if n < 1:
        raise _FileProblem("error", f"Number of Frames {text!r} is not a positive integer")
    return n


def _check_image_geometry(ds: Dataset, fields: Mapping[str, Any], ts: UID, frames: int) -> None:
    """Reject colour and malformed images; detect truncated native pixel data."""
    spp = _int(ds, "SamplesPerPixel") or 1
    photometric = fields["photometric_interpretation"]
    if spp != 1 or (photometric is not None and not photometric.startswith("MONOCHROME")):
        raise _FileProblem(
            "error",
            f"colour image ({photometric}, {spp} samples per pixel): kyphoimg reads "
            "greyscale radiographs",
        )
    rows, cols, bits = fields["rows"], fields["columns"], _int(ds, "BitsAllocated")
    if not rows or not cols or not bits:
        raise _FileProblem("error", "Rows, Columns or Bits Allocated missing or zero")
    if _is_native(ts):
        expected = rows * cols * frames * bits // 8
        held = len(ds.PixelData)
        if held < expected:
            raise _FileProblem(
                "error",
                f"truncated: pixel data holds {held} bytes, {rows}x{cols}x{frames} frame(s) "
                f"of {bits}-bit pixels need {expected}",
            )


def _gdcm_frame(path: Path, frame: int, frames: int) -> npt.NDArray[Any]:
    """Decode ``frame`` of a file with python-gdcm's own reader (12-bit JPEG Extended)."""
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(str(path))
    if not reader.Read():
        raise RuntimeError("gdcm could not read the file")
    image = reader.GetImage()
    kinds = {"UINT8": "u1", "INT8": "i1", "UINT16": "<u2", "INT16": "<i2"}
    kind = kinds.get(image.GetPixelFormat().GetScalarTypeAsString())
    if kind is None or image.GetPixelFormat().GetSamplesPerPixel() != 1:
        raise RuntimeError("gdcm returned an unexpected pixel format")
    cols, rows = image.GetDimension(0), image.GetDimension(1)
    buf = image.GetBuffer().encode("utf-8", "surrogateescape")
    arr = np.frombuffer(buf, dtype=kind)
    if arr.size != rows * cols * frames:
        raise RuntimeError(f"gdcm returned {arr.size} pixels, expected {rows * cols * frames}")
    return arr.reshape(frames, rows, cols)[frame].astype(arr.dtype.newbyteorder("="))


def _decode(
    ds: Dataset, path: Path, ts: UID, frame: int, frames: int, notes: list[str]
) -> tuple[npt.NDArray[Any], str]:
    """Decode one frame with the first decoder of the plan that succeeds."""
    from pydicom.pixels import pixel_array

    plan = _decoder_plan(ts, _int(ds, "BitsStored"))
    if not plan:
        raise _FileProblem("error", _no_decoder_reason(ts))
    errors: list[str] = []
    for plugin in plan:
        try:
            with _recorded_warnings(notes):
                if plugin == _GDCM_FILE:
                    arr = _gdcm_frame(path, frame, frames)
                else:
                    arr = pixel_array(ds, index=frame, decoding_plugin=plugin)
        except Exception as exc:  # each decoder's failure is reported, the next one tried
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            detail = lines[-1] if lines else type(exc).__name__
            name = plugin or "native"
            errors.append(detail if detail.startswith(f"{name}:") else f"{name}: {detail}")
            continue
        if errors:
            notes.append("decoders that failed first: " + "; ".join(errors))
        return arr, plugin or "native"
    raise _FileProblem(
        "error",
        f"pixel data ({ts.name}) could not be decoded (corrupt or truncated?): "
        + "; ".join(errors),
    )


def _rescale(ds: Dataset, notes: list[str]) -> tuple[float, float] | None:
    """Rescale slope and intercept to apply, or ``None`` (absent or unusable, noted)."""
    s_text, i_text = _raw_text(ds, "RescaleSlope"), _raw_text(ds, "RescaleIntercept")
    if s_text is None and i_text is None:
        return None
    slope = 1.0 if s_text is None else _finite_float(s_text)
    intercept = 0.0 if i_text is None else _finite_float(i_text)
    if slope is None or slope == 0.0 or intercept is None:
        notes.append(
            f"Rescale Slope {s_text!r} / Intercept {i_text!r} unusable: modality LUT not applied"
        )
        return None
    if s_text is None or i_text is None:
        notes.append("only one of Rescale Slope/Intercept given: the other taken as 1/0")
    return slope, intercept


def _modality_lut(
    stored: npt.NDArray[Any], ds: Dataset, notes: list[str]
) -> tuple[npt.NDArray[Any], str]:
    """Apply the Modality LUT Sequence or rescale; never modifies ``stored``."""
    from pydicom.pixels import apply_modality_lut

    if ds.get("ModalityLUTSequence"):
        try:
            with _recorded_warnings(notes):
                return np.asarray(apply_modality_lut(stored, ds)), "lut_sequence"
        except Exception as exc:
            raise _FileProblem("error", f"Modality LUT Sequence unusable: {exc}") from exc
    rescale = _rescale(ds, notes)
    if rescale is None:
        return stored, "none"
    slope, intercept = rescale
    if slope == 1.0 and intercept == 0.0:
        return stored, "identity"
    out = stored.astype(np.float64)
    out *= slope
    out += intercept
    return out, "rescale"


def _lut_table(item: Dataset, n: int, little: bool) -> npt.NDArray[np.uint16]:
    elem = item["LUTData"]
    value = elem.value
    if isinstance(value, bytes):
        table = np.frombuffer(value, dtype="<u2" if little else ">u2")
    else:
        table = np.asarray(list(value) if value is not None else [], dtype=np.int64)
    if table.size < n:
        raise ValueError(f"LUT Data holds {table.size} entries, the descriptor says {n}")
    out = np.array(table[:n], dtype=np.uint16)
    out.flags.writeable = False
    return out


def _voi_settings(ds: Dataset, ts: UID, notes: list[str]) -> VoiSettings:
    """Read the stored windows and VOI LUTs; unusable entries are skipped with a note."""
    centers = (_raw_text(ds, "WindowCenter") or "").split("\\")
    widths = (_raw_text(ds, "WindowWidth") or "").split("\\")
    expl = (_raw_text(ds, "WindowCenterWidthExplanation") or "").split("\\")
    windows = []
    if len(centers) != len(widths):
        notes.append(
            f"{len(centers)} window centre(s) but {len(widths)} width(s): unpaired ones ignored"
        )
    for i, (c_text, w_text) in enumerate(zip(centers, widths, strict=False)):
        if not c_text and not w_text:
            continue
        c, w = _finite_float(c_text), _positive_float(w_text)
        if c is None or w is None:
            notes.append(f"window {i} (centre {c_text!r}, width {w_text!r}) unusable: ignored")
            continue
        windows.append((c, w, expl[i] if i < len(expl) and expl[i] else None))
    function = (_raw_text(ds, "VOILUTFunction") or "LINEAR").upper()
    if function not in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
        notes.append(f"VOI LUT Function {function!r} unknown: LINEAR used")
        function = "LINEAR"
    luts = []
    little = ts != ExplicitVRBigEndian
    with _recorded_warnings(notes):
        for i, item in enumerate(ds.get("VOILUTSequence") or []):
            try:
                n, first, bits = (int(v) for v in item.LUTDescriptor)
                table = _lut_table(item, n or 65536, little)
            except Exception as exc:
                notes.append(f"VOI LUT Sequence item {i} unusable ({exc}): ignored")
                continue
            explanation = _raw_text(item, "LUTExplanation")
            luts.append((first, bits, table, explanation))
    return VoiSettings(tuple(windows), function, tuple(luts))


def _photometric(fields: Mapping[str, Any], notes: list[str]) -> str:
    """Return the photometric interpretation (MONOCHROME2 if absent), noting oddities.

    The display inverts MONOCHROME1 only: in DX and CR, Presentation LUT Shape INVERSE is
    how a MONOCHROME1 image states that inversion, not a second one.
    """
    photometric = fields["photometric_interpretation"]
    if photometric is None:
        notes.append("Photometric Interpretation missing: MONOCHROME2 assumed")
        photometric = "MONOCHROME2"
    shape = fields["presentation_lut_shape"]
    expected = "INVERSE" if photometric == "MONOCHROME1" else "IDENTITY"
    if shape is not None and shape != expected:
        notes.append(
            f"Presentation LUT Shape {shape} with {photometric}: "
            "display follows the photometric interpretation"
        )
    return str(photometric)


def _open_dataset(path: Path, notes: list[str]) -> tuple[Dataset, bool]:
    try:
        size = path.stat().st_size
        with path.open("rb") as fp:
            return _parse(fp, size, header_only=False, notes=notes)
    except OSError as exc:
        raise _FileProblem("error", f"cannot be opened: {exc.strerror or exc}") from exc


def _read(path: Path, frame: int) -> Radiograph:
    notes: list[str] = []
    ds, meta_missing = _open_dataset(path, notes)
    fields = _header_fields(ds, notes)
    reason = _not_image_reason(ds, has_pixels="PixelData" in ds)
    if reason:
        raise _FileProblem("error", reason)
    encapsulated = "PixelData" in ds and ds["PixelData"].is_undefined_length
    ts, inferred = _transfer_syntax(ds, notes, encapsulated=encapsulated)
    if inferred:
        meta = getattr(ds, "file_meta", None)
        if meta is None:
            ds.file_meta = meta = FileMetaDataset()
        meta.TransferSyntaxUID = ts
    frames = _number_of_frames(ds)
    if not 0 <= frame < frames:
        raise _FileProblem(
            "error",
            f"frame {frame} is out of range: the file has {frames} frame(s) "
            f"(valid frames 0 to {frames - 1})",
        )
    _check_image_geometry(ds, fields, ts, frames)
    stored, decoder = _decode(ds, path, ts, frame, frames, notes)
    if stored.ndim != 2:
        raise _FileProblem("error", f"decoded frame has shape {stored.shape}, expected 2-D")
    pixels, lut_kind = _modality_lut(stored, ds, notes)
    pixels.flags.writeable = False
    calibration, cal_notes = _resolve_calibration(ds)
    voi = _voi_settings(ds, ts, notes)
    fields["photometric_interpretation"] = _photometric(fields, notes)
    meta = RadiographMetadata(
        **fields,
        transfer_syntax=str(ts),
        transfer_syntax_name=ts.name,
        file_meta_missing=meta_missing,
        transfer_syntax_inferred=inferred,
        number_of_frames=frames,
        frame=frame,
        modality_lut=lut_kind,
        decoder=decoder,
        calibration_notes=cal_notes,
        notes=tuple(notes),
    )
    return Radiograph(path, pixels, calibration, meta, voi)


def read_radiograph(path: str | os.PathLike[str], frame: int = 0) -> Radiograph:
    """Read one frame of a DICOM projection radiograph.

    Parameters
    ----------
    path : str or os.PathLike
        A DICOM file, with or without its Part 10 header (files without one are read
        leniently and flagged in :attr:`RadiographMetadata.file_meta_missing`).
    frame : int, optional
        0-based frame of a multi-frame file (default the first).

    Returns
    -------
    Radiograph
        Read-only pixels after the modality LUT, calibration, metadata and VOI.

    Raises
    ------
    DicomReadError
        Naming the file and the reason: not DICOM (or empty), cannot be opened,
        truncated, not an image (structured report, presentation state, other non-image
        SOP class), no pixel data, colour image, frame out of range (with the frame
        count), compressed pixel data without a transfer syntax, a transfer syntax no
        installed decoder handles (naming the package that would), or undecodable
        pixel data.
    TypeError
        If ``frame`` is not an integer.

    Examples
    --------
    >>> rg = read_radiograph("P001/pre.dcm")  # doctest: +SKIP
    >>> rg.calibration.source, rg.metadata.photometric_interpretation  # doctest: +SKIP
    ('detector', 'MONOCHROME1')
    """
    frame = operator.index(frame)
    p = Path(path)
    try:
        return _read(p, frame)
    except _FileProblem as exc:
        raise DicomReadError(f"{p}: {exc.reason}") from exc
