"""DICOM Structured Reports: landmarks and measures as a TID 1500 Measurement Report.

:func:`build_sr` turns the landmark set of one radiograph into a Comprehensive 3D SR
holding a TID 1500 "Imaging Measurement Report" built with highdicom; :func:`write_sr`
saves it; :func:`import_sr` reads such a report back into a
:class:`~kyphoimg.landmarks.LandmarkSet`, and :func:`sr_measurements` lists the numbers
it carries. :func:`export_sr_files` and :func:`import_sr_files` run either direction over
many files, collecting failures instead of stopping. The layout and every code are
documented in ``docs/sr.md``.

Coordinates: kyphoimg points are ``(row, col)`` with the origin at the *centre* of the
top-left pixel; DICOM SCOORD points are ``(x, y) = (col + 0.5, row + 0.5)`` with the
origin at its top-left *corner*. This module is the only place where the second form
appears. SCOORD Graphic Data is stored as 32-bit floats (VR FL), which rounds a
coordinate near 2000 px by up to 1.2e-4 px, so each point also carries its coordinates
as double-precision NUM items; :func:`import_sr` reads those, and falls back to the
SCOORD when they are absent or disagree with it (a viewer moved the point).

highdicom (``pip install kyphoimg[sr]``) is imported only when a report is built or
read, so ``import kyphoimg`` stays light.
"""

from __future__ import annotations

import copy
import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._version import __version__
from ..atomic import atomic_write
from ..calibration import Calibration
from ..dicom import scan
from ..errors import (
    ERROR_COLUMNS,
    CalibrationError,
    FilmMismatchError,
    KyphoimgError,
    SRError,
    SRWarning,
)
from ..landmarks import (
    LEVELS,
    SCHEMES,
    ImageRef,
    LandmarkSet,
    level_index,
    pair_with_film,
    read_landmark_files,
    validate_landmarks,
    write_landmarks,
)
from ..measure import IMAGE_ANGLES, images_table, measures_table
from . import _codes as C

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = [
    "LEVEL_CODES",
    "PRIVATE_CODES",
    "PRIVATE_SCHEME",
    "SR_MEASURE_COLUMNS",
    "build_sr",
    "export_sr_files",
    "import_sr",
    "import_sr_files",
    "sr_measurements",
    "write_sr",
]

PRIVATE_SCHEME = C.PRIVATE_SCHEME
PRIVATE_CODES = C.PRIVATE_CODES
LEVEL_CODES = C.LEVEL_CODES

#: Columns of :func:`sr_measurements`.
SR_MEASURE_COLUMNS: tuple[str, ...] = ("level", "column", "value", "unit", "spacing_source")

_SR_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.88.22": "EnhancedSR",
    "1.2.840.10008.5.1.4.1.1.88.33": "ComprehensiveSR",
    "1.2.840.10008.5.1.4.1.1.88.34": "Comprehensive3DSR",
}
_TYPE2_PATIENT_STUDY = (
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
)
# highdicom warns about single-component person names; a patient name copied verbatim
# from the source image (often "Anonymous" after de-identification) must stay as it is.
_PN_WARNING = r"The string .* is unlikely to represent the intended person name"
_HIGHDICOM_HINT = "the SR module needs highdicom: pip install 'kyphoimg[sr]'"


# ----------------------------------------------------------------------------- helpers
def _hd() -> Any:
    """Import highdicom on first use."""
    try:
        import highdicom
    except ImportError as exc:  # pragma: no cover - highdicom is installed in the test env
        raise SRError(_HIGHDICOM_HINT) from exc
    return highdicom


def _code(c: C.Coded) -> Any:
    """Return the :class:`pydicom.sr.coding.Code` of a code triple."""
    from pydicom.sr.coding import Code

    return Code(c[0], c[1], c[2])


def _finite(value: Any) -> float | None:
    """``float(value)`` when it is a finite number, else ``None``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _person_name(name: str) -> str:
    """Return a PN value for a rater id (one component gets the trailing caret PS3.5 allows)."""
    name = re.sub(r"[\\=\r\n]", "_", str(name)).strip()[:64]
    return name if "^" in name else name + "^"


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    filename = getattr(source, "filename", None)
    return str(filename) if isinstance(filename, (str, os.PathLike)) else "<dataset>"


def _read_dicom(path: str | os.PathLike[str], what: str, *, header_only: bool) -> Dataset:
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    where = str(path)
    try:
        return dcmread(path, stop_before_pixels=header_only)
    except InvalidDicomError:
        raise SRError(f"{where}: not a DICOM file; pass {what}") from None
    except OSError as exc:
        raise SRError(f"{where}: cannot read the file ({exc.strerror or exc})") from None
    except Exception as exc:  # pydicom raises assorted errors on damaged files
        raise SRError(f"{where}: unreadable DICOM ({exc}); pass {what}") from None


def _source_header(source: Any) -> tuple[Dataset, str]:
    """Return the source image's header without pixels, empty Type 2 patient/study fields added.

    The caller's dataset is never modified: a new dataset shares its elements.
    """
    from pydicom.dataset import Dataset

    where = _describe(source)
    what = "the radiograph the landmarks were placed on"
    ds = source if isinstance(source, Dataset) else _read_dicom(source, what, header_only=True)
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class in _SR_CLASSES or str(ds.get("Modality", "")) == "SR":
        raise SRError(f"{where}: a structured report, not an image; pass {what}")
    missing = [
        k
        for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
        if not ds.get(k)
    ]
    if missing:
        raise SRError(
            f"{where}: no {', '.join(missing)}; the SR references its image by these UIDs, "
            f"so pass {what} as stored in the PACS"
        )
    if ds.get("Rows") is None or ds.get("Columns") is None:
        raise SRError(f"{where}: not an image (no Rows/Columns); pass {what}")
    header = Dataset()
    for elem in ds:
        if elem.tag.group < 0x7FE0:
            header.add(copy.copy(elem))  # the SR copies these; the caller's stay untouched
    for kw in _TYPE2_PATIENT_STUDY:
        if kw not in header:
            setattr(header, kw, None if kw in ("StudyDate", "PatientBirthDate") else "")
    if str(header.get("PatientSex") or "") not in ("M", "F", "O", ""):
        # highdicom accepts only the enumerated values; a new element, so the caller's
        # dataset keeps its own.
        header.add_new("PatientSex", "CS", "")
    return header, where


def _paired(ls: LandmarkSet, header: Dataset, where: str) -> LandmarkSet:
    """Apply :func:`kyphoimg.landmarks.pair_with_film`, raising an :class:`SRError`."""
    try:
        return pair_with_film(
            ls,
            sop_instance_uid=str(header.SOPInstanceUID),
            rows=int(header.Rows),
            columns=int(header.Columns),
            calibration=None,  # the report documents the set's values as they were measured
            film=where,
        )
    except FilmMismatchError as exc:
        raise SRError(str(exc)) from exc


def _rows_for(table: pd.DataFrame | None, ls: LandmarkSet) -> pd.DataFrame | None:
    """Return the rows of a measures/images table that belong to ``ls`` (None: no table)."""
    if table is None:
        return None
    keep = pd.Series(True, index=table.index)
    for col, value in (
        ("patient_id", ls.patient_id),
        ("timepoint", ls.timepoint),
        ("image", ls.image.path),
        ("rater", ls.rater),
    ):
        if col in table.columns:
            keep &= table[col].isna() if value is None else (table[col] == value)
    return table[keep]


def _by_level(rows: pd.DataFrame, ls: LandmarkSet) -> dict[str, dict[str, Any]]:
    if "level" not in rows.columns:
        return {}
    dup = rows["level"][rows["level"].duplicated()]
    if len(dup):
        raise SRError(
            f"{ls.where}: the measures given hold several rows for level {dup.iloc[0]} of this "
            "image; pass the measures_table rows of this landmark set only"
        )
    return {str(r["level"]): {str(k): v for k, v in r.items()} for r in rows.to_dict("records")}


# ----------------------------------------------------------------------------- export
class _Builder:
    """Builds the content of one report (keeps the highdicom module and source refs)."""

    def __init__(
        self, hd: Any, header: Dataset, where: str, ls: LandmarkSet, frame: int | None
    ) -> None:
        self.hd = hd
        self.ls = ls
        self.sop_class = str(header.SOPClassUID)
        self.sop_uid = str(header.SOPInstanceUID)
        frames = _finite(header.get("NumberOfFrames")) or 1
        if frame is not None and not 0 <= frame < frames:
            raise SRError(
                f"{where}: frame={frame} but the image has {int(frames)} frame(s); "
                "frames count from 0"
            )
        self.frames = [frame + 1] if frame is not None and frames > 1 else None

    def source_region(self) -> Any:
        return self.hd.sr.SourceImageForRegion(
            self.sop_class, self.sop_uid, referenced_frame_numbers=self.frames
        )

    def source_group(self) -> list[Any]:
        return [
            self.hd.sr.SourceImageForMeasurementGroup(
                self.sop_class, self.sop_uid, referenced_frame_numbers=self.frames
            )
        ]

    def time_point(self) -> Any:
        tp = self.ls.timepoint
        return None if tp is None else self.hd.sr.TimePointContext(time_point=str(tp))

    def site(self, level: str, modifier: C.Coded | None = None) -> Any:
        return self.hd.sr.FindingSite(
            _code(C.LEVEL_CODES[level]),
            topographical_modifier=None if modifier is None else _code(modifier),
        )

    def qual(self, name: C.Coded, value: C.Coded) -> Any:
        return self.hd.sr.QualitativeEvaluation(_code(name), _code(value))

    def measurement(
        self, mc: C.MeasureCode, value: float, sites: Sequence[Any] | None, coords: Any = None
    ) -> Any:
        method = C.SPACING_SOURCES[self.ls.calibration.source] if mc.is_mm else mc.method
        return self.hd.sr.Measurement(
            name=_code(mc.name),
            value=float(value),
            unit=_code(mc.unit),
            method=None if method is None else _code(method),
            finding_sites=None if sites is None else list(sites),
            referenced_coordinates=coords,
        )

    # -- groups --------------------------------------------------------------------------
    def image_group(self, image_row: Mapping[str, Any] | None) -> Any:

        sr, ls, cal = self.hd.sr, self.ls, self.ls.calibration
        measurements = []
        if cal.has_mm:
            for code, spacing in (
                (C.VERTICAL_PIXEL_SPACING, cal.row_mm),
                (C.HORIZONTAL_PIXEL_SPACING, cal.col_mm),
            ):
                measurements.append(
                    self.measurement(C.MeasureCode("spacing", code, C.MM), spacing, None)
                )
        for mc in C.IMAGE_MEASURES:
            value = _finite((image_row or {}).get(mc.column))
            if value is None:
                continue
            ends = IMAGE_ANGLES.get(mc.column)
            sites = None if ends is None else [self.site(ends[0]), self.site(ends[2])]
            measurements.append(self.measurement(mc, value, sites))
        group = sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=sr.TrackingIdentifier(identifier="kyphoimg landmark set"),
            time_point_context=self.time_point(),
            finding_type=_code(C.LANDMARK_SET),
            measurements=measurements,
            qualitative_evaluations=[
                self.qual(C.SCHEME, C.SCHEMES[ls.scheme]),
                self.qual(C.SPACING_SOURCE, C.SPACING_SOURCES[cal.source]),
            ],
            source_images=self.source_group(),
        )
        if ls.patient_id is not None:
            group[0].ContentSequence.append(
                sr.TextContentItem(
                    name=_code(C.PATIENT_ID),
                    value=str(ls.patient_id),
                    relationship_type=sr.RelationshipTypeValues.HAS_OBS_CONTEXT,
                )
            )
        return group

    def height_line(self, level: str, column: str) -> list[Any] | None:
        """Return the two points a height was measured between, as an INFERRED FROM polyline."""
        side = {"ha_mm": "ant", "hm_mm": "mid", "hp_mm": "post"}.get(column)
        pts = self.ls.points.get(level, {})
        if side is None or f"{side}_sup" not in pts or f"{side}_inf" not in pts:
            return None
        import numpy as np

        line = np.array([_scoord(pts[f"{side}_sup"]), _scoord(pts[f"{side}_inf"])])
        return [self.hd.sr.CoordinatesForMeasurement("POLYLINE", line, self.source_region())]

    def vertebra_group(self, level: str, row: Mapping[str, Any] | None) -> Any:
        sr, ls = self.hd.sr, self.ls
        measurements = []
        for mc in C.VERTEBRA_MEASURES:
            if ls.scheme == "4pt" and mc.column in ("hm_mm", "mhr_pct"):
                continue  # chord-midpoint approximations: left to the measures table
            value = _finite((row or {}).get(mc.column))
            if value is None:
                continue
            sites = None if mc.site_modifier is None else [self.site(level, mc.site_modifier)]
            coords = self.height_line(level, mc.column) if mc.is_mm else None
            measurements.append(self.measurement(mc, value, sites, coords))
        quals = [self.qual(C.INDEX_LEVEL, C.YES if level in ls.index_levels else C.NO)]
        genant_type = (row or {}).get("genant_type")
        if isinstance(genant_type, str) and genant_type in C.GENANT_TYPES:
            quals.append(self.qual(C.GENANT_TYPE, C.GENANT_TYPES[genant_type]))
        for key, finding in ls.findings.get(level, {}).items():
            if finding is None:
                continue
            quals.append(self.qual(*_finding_codes(ls, level, key, str(finding))))
        return sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=sr.TrackingIdentifier(identifier=level),
            time_point_context=self.time_point(),
            finding_type=_code(C.VERTEBRA),
            finding_sites=[self.site(level)],
            measurements=measurements,
            qualitative_evaluations=quals,
            source_images=self.source_group(),
        )

    def point_group(self, level: str, name: str, point: tuple[float, float]) -> Any:
        import numpy as np

        sr = self.hd.sr
        x, y = _scoord(point)
        exact = [
            self.measurement(C.MeasureCode(code[0], code, C.PIXELS), value, None)
            for code, value in ((C.SCOORD_X, x), (C.SCOORD_Y, y))
        ]
        return sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=sr.TrackingIdentifier(identifier=f"{level} {name}"),
            referenced_region=sr.ImageRegion("POINT", np.array([[x, y]]), self.source_region()),
            time_point_context=self.time_point(),
            finding_type=_code(C.POINTS[name]),
            finding_sites=[self.site(level)],
            measurements=exact,
        )


def _scoord(point: tuple[float, float]) -> tuple[float, float]:
    """DICOM SCOORD ``(x, y)`` of a kyphoimg ``(row, col)`` point."""
    return (float(point[1]) + 0.5, float(point[0]) + 0.5)


def _finding_codes(ls: LandmarkSet, level: str, key: str, value: str) -> tuple[C.Coded, C.Coded]:
    """Concept and value codes of one reader finding."""
    reserved = set(C.PRIVATE_CODES)
    if key in C.FINDING_CONCEPTS:
        concept = C.FINDING_CONCEPTS[key]
    elif key not in reserved and 0 < len(key) <= 16 and "\\" not in key:
        concept = (key, C.PRIVATE_SCHEME, f"Reader finding {key}")
    else:
        raise SRError(
            f"{ls.where}: level {level}: finding name {key!r} cannot be coded in the SR "
            "(at most 16 characters, not a reserved kyphoimg code); rename it"
        )
    if key == "genant_visual" and value in C.GENANT_VISUAL_VALUES:
        return concept, C.GENANT_VISUAL_VALUES[value]
    if value in C.FINDING_VALUES:
        return concept, C.FINDING_VALUES[value]
    if value not in reserved and 0 < len(value) <= 16 and "\\" not in value:
        return concept, (value, C.PRIVATE_SCHEME, value)
    raise SRError(
        f"{ls.where}: level {level}: value {value!r} of finding {key!r} cannot be coded in "
        "the SR (at most 16 characters, not a reserved kyphoimg code); shorten it"
    )


def build_sr(
    landmarks: LandmarkSet,
    source_image: Dataset | str | os.PathLike[str],
    *,
    measures: pd.DataFrame | None = None,
    images: pd.DataFrame | None = None,
    observer: str | None = None,
    frame: int | None = None,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    series_number: int = 1,
    instance_number: int = 1,
    institution_name: str | None = None,
) -> Any:
    """Build a TID 1500 Measurement Report (Comprehensive 3D SR) for one radiograph.

    The report holds one image-level group (scheme, calibration, time point, patient
    id, whole-film angles), one group per vertebra (finding site = the level; heights,
    ratios, angles, index flag, reader findings) and one planar-ROI group per landmark
    (a SCOORD POINT on the source image, the point name as finding type). See
    ``docs/sr.md`` for the layout and the codes.

    Parameters
    ----------
    landmarks : LandmarkSet
        The landmarks of one image; validated first.
    source_image : pydicom.dataset.Dataset or path-like
        The radiograph the landmarks were placed on (a header read with
        ``stop_before_pixels=True`` is enough). The report copies its patient and study
        attributes and references it by SOP Class and SOP Instance UID. Not modified.
    measures : pandas.DataFrame, optional
        Rows of :func:`~kyphoimg.measure.measures_table` for this landmark set (other rows
        are ignored, matched on ``patient_id``, ``timepoint``, ``image``, ``rater``).
        Default: ``measures_table([landmarks])``. NaN values are left out.
    images : pandas.DataFrame, optional
        Likewise for :func:`~kyphoimg.measure.images_table` (whole-film angles).
    observer : str, optional
        Person Observer Name (DICOM PN, e.g. ``"Doe^Jane"``); default the set's ``rater``.
        The rater id itself is written as the observer's login name.
    frame : int, optional
        Frame (from 0) of a multi-frame source image the landmarks were placed on.
    series_instance_uid, sop_instance_uid : str, optional
        UIDs of the SR; new ones by default.
    series_number, instance_number : int, optional
        Series and instance numbers of the SR.
    institution_name : str, optional
        Institution Name of the SR.

    Returns
    -------
    highdicom.sr.Comprehensive3DSR
        A :class:`pydicom.dataset.Dataset`; write it with :func:`write_sr`.

    Raises
    ------
    LandmarkError
        If the landmark set does not validate.
    SRError
        If the source image cannot be read or is not an image, its SOP Instance UID or
        size differs from the landmark set's, a finding cannot be coded, or highdicom
        refuses a value (the message names the files).

    Notes
    -----
    Millimetre values carry the spacing source as their Measurement Method
    (``detector`` = not corrected for magnification), so detector-plane millimetres
    are not mistaken for anatomy. Hm and MHR of ``4pt`` sets (chord-midpoint
    approximations) are not written. The SR carries the patient module of the source
    image, as any SR stored next to the image in a PACS must.
    """
    validate_landmarks(landmarks)
    hd = _hd()
    from highdicom.coding_schemes import CodingSchemeIdentificationItem

    header, where = _source_header(source_image)
    ls = _paired(landmarks, header, where)
    mrows = _rows_for(measures, ls)
    if mrows is None:
        mrows = measures_table([ls])
    irows = _rows_for(images, ls)
    if irows is None:
        irows = images_table([ls])
    per_level = _by_level(mrows, ls)
    image_row = {str(k): v for k, v in irows.iloc[0].items()} if len(irows) else None

    b = _Builder(hd, header, where, ls, frame)
    levels = sorted({*ls.points, *ls.index_levels, *ls.findings}, key=level_index)
    try:
        groups = [b.image_group(image_row)]
        groups += [b.vertebra_group(lv, per_level.get(lv)) for lv in levels]
        order = SCHEMES[ls.scheme]
        for level, pts in ls.points.items():
            for name in sorted(pts, key=order.index):
                groups.append(b.point_group(level, name, pts[name]))
        content = _report(hd, ls, groups, observer)
        with warnings.catch_warnings():
            # The patient name is copied verbatim from the source image; highdicom's
            # person-name heuristic must not reject or alter a de-identified "Anonymous".
            warnings.filterwarnings("ignore", message=_PN_WARNING, category=UserWarning)
            return hd.sr.Comprehensive3DSR(
                evidence=[header],
                content=content,
                series_instance_uid=series_instance_uid or hd.UID(),
                series_number=series_number,
                sop_instance_uid=sop_instance_uid or hd.UID(),
                instance_number=instance_number,
                manufacturer="kyphoimg",
                manufacturer_model_name="kyphoimg",
                software_versions=_version(),
                series_description="kyphoimg landmarks and measurements",
                institution_name=institution_name,
                is_complete=True,
                coding_schemes=[
                    CodingSchemeIdentificationItem(
                        designator=C.PRIVATE_SCHEME,
                        name="kyphoimg private codes",
                        version=C.PRIVATE_SCHEME_VERSION,
                        responsible_organization="kyphoimg (see docs/sr.md)",
                    )
                ],
            )
    except KyphoimgError:
        raise
    except (ValueError, TypeError, AttributeError) as exc:
        raise SRError(f"{ls.where} on {where}: the SR could not be built ({exc})") from exc


def _version() -> str:

    return str(__version__)


def _report(hd: Any, ls: LandmarkSet, groups: list[Any], observer: str | None) -> Any:
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    sr = hd.sr
    person = None
    name = observer if observer is not None else ls.rater
    if name:
        person = sr.ObserverContext(
            observer_type=codes.DCM.Person,
            observer_identifying_attributes=sr.PersonObserverIdentifyingAttributes(
                name=_person_name(str(name)),
                login_name=None if ls.rater is None else str(ls.rater),
            ),
        )
    device = sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(entropy_srcs=["kyphoimg measurement software"]),
            name="kyphoimg",
            manufacturer_name="kyphoimg",
            model_name=f"kyphoimg {_version()}",
        ),
    )
    return sr.MeasurementReport(
        observation_context=sr.ObservationContext(
            observer_person_context=person, observer_device_context=device
        ),
        procedure_reported=_code(C.PLAIN_RADIOGRAPHY),
        imaging_measurements=groups,
    )


def write_sr(sr: Dataset, path: str | os.PathLike[str]) -> Path:
    """Write an SR (or any dataset) as a DICOM file, atomically (temporary file, rename).

    Parameters
    ----------
    sr : pydicom.dataset.Dataset
        Typically the result of :func:`build_sr`.
    path : path-like
        Destination, conventionally ``<name>.sr.dcm``; folders are created.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    SRError
        If the file cannot be written.
    """
    from pydicom import dcmwrite

    try:
        return atomic_write(path, lambda tmp: dcmwrite(tmp, sr, enforce_file_format=True))
    except OSError as exc:
        raise SRError(f"{path}: cannot write ({exc.strerror or exc})") from None


# ----------------------------------------------------------------------------- import
# Reading walks the content tree with pydicom: highdicom's parsers deep-copy every item
# and took over a second per 30-point report, and reading then needs no highdicom.
_MEASUREMENT_GROUP = ("125007", "DCM")
_IMAGING_MEASUREMENTS = ("126010", "DCM")
_FINDING = ("121071", "DCM")
_FINDING_SITE = ("363698007", "SCT")
_TOPOGRAPHICAL_MODIFIER = ("106233006", "SCT")
_METHOD = ("370129005", "SCT")
_IMAGE_REGION = ("111030", "DCM")
_TRACKING_ID = ("112039", "DCM")
_OBSERVER_TYPE = ("121005", "DCM")
_PERSON = ("121006", "DCM")
_PERSON_NAME = ("121008", "DCM")
_LOGIN_NAME = ("128774", "DCM")


def _code_of(seq: Any) -> tuple[str, str] | None:
    """``(value, designator)`` of the first item of a code sequence (None when empty)."""
    if not seq:
        return None
    c = seq[0]
    value = c.get("CodeValue") or c.get("LongCodeValue") or c.get("URNCodeValue")
    return (str(value), str(c.get("CodingSchemeDesignator", "")))


def _name(item: Dataset) -> tuple[str, str] | None:
    return _code_of(item.get("ConceptNameCodeSequence"))


def _children(item: Dataset) -> list[Dataset]:
    return list(item.get("ContentSequence") or [])


def _num_value(item: Dataset) -> float:
    mv = item.MeasuredValueSequence[0]
    fp = mv.get("FloatingPointValue")
    return float(fp) if fp is not None else float(mv.NumericValue)


@dataclass
class _Group:
    """The content of one TID 1501/1410 measurement group, as plain values."""

    finding: tuple[str, str] | None = None
    sites: list[tuple[tuple[str, str], tuple[str, str] | None]] = field(default_factory=list)
    texts: dict[tuple[str, str], str] = field(default_factory=dict)
    codes: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    #: (name, value, unit, method, site modifier) of each NUM item
    nums: list[tuple[Any, float, Any, Any, Any]] = field(default_factory=list)
    #: (graphic type, graphic data, referenced SOP Instance UID) of the image region
    region: tuple[str, list[float], str] | None = None
    images: list[str] = field(default_factory=list)

    def level(self, where: str, what: str) -> str:
        by_code = {c[:2]: lv for lv, c in C.LEVEL_CODES.items()}
        for site, _ in self.sites:
            if site in by_code:
                return by_code[site]
        raise SRError(f"{where}: {what} has no vertebral level as its finding site")


def _site(item: Dataset) -> tuple[tuple[str, str], tuple[str, str] | None]:
    value = _code_of(item.get("ConceptCodeSequence")) or ("", "")
    modifier = next(
        (
            _code_of(m.get("ConceptCodeSequence"))
            for m in _children(item)
            if _name(m) == _TOPOGRAPHICAL_MODIFIER
        ),
        None,
    )
    return value, modifier


def _referenced_uid(item: Dataset) -> str:
    refs = item.get("ReferencedSOPSequence") or []
    return str(refs[0].ReferencedSOPInstanceUID) if refs else ""


def _parse_group(container: Dataset) -> _Group:
    g = _Group()
    for item in _children(container):
        vt, name = item.get("ValueType"), _name(item)
        if name is None:
            continue
        if vt == "CODE":
            value = _code_of(item.get("ConceptCodeSequence"))
            if name == _FINDING:
                g.finding = value
            elif name == _FINDING_SITE:
                g.sites.append(_site(item))
            elif name != _METHOD and value is not None:
                g.codes[name] = value
        elif vt == "TEXT":
            g.texts[name] = str(item.get("TextValue", ""))
        elif vt == "NUM" and item.get("MeasuredValueSequence"):
            kids = _children(item)
            method = next(
                (_code_of(k.get("ConceptCodeSequence")) for k in kids if _name(k) == _METHOD),
                None,
            )
            modifier = next((_site(k)[1] for k in kids if _name(k) == _FINDING_SITE), None)
            unit = _code_of(item.MeasuredValueSequence[0].get("MeasurementUnitsCodeSequence"))
            g.nums.append((name, _num_value(item), unit, method, modifier))
        elif vt == "SCOORD" and name == _IMAGE_REGION:
            source = next((k for k in _children(item) if k.get("ValueType") == "IMAGE"), None)
            g.region = (
                str(item.GraphicType),
                [float(v) for v in item.GraphicData],
                "" if source is None else _referenced_uid(source),
            )
        elif vt == "IMAGE":
            g.images.append(_referenced_uid(item))
    return g


@dataclass
class _Report:
    """The parts of a kyphoimg SR that import needs, parsed once."""

    where: str
    root: Dataset
    image: _Group
    vertebrae: list[_Group]
    points: list[_Group]


def _open_report(sr: Any) -> _Report:
    """Parse a kyphoimg TID 1500 report, refusing anything else with a clear message."""
    from pydicom.dataset import Dataset

    where = _describe(sr)
    what = "an SR written by kyphoimg sr export"
    ds = sr if isinstance(sr, Dataset) else _read_dicom(sr, what, header_only=False)
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class not in _SR_CLASSES:
        kind = "a structured report of another kind" if ds.get("Modality") == "SR" else None
        raise SRError(
            f"{where}: {kind or 'not a structured report'} (SOP Class {sop_class or 'missing'}); "
            f"kyphoimg reads Comprehensive (3D) SR TID 1500 reports, i.e. {what}"
        )
    try:
        template = str(ds.ContentTemplateSequence[0].TemplateIdentifier)
    except (AttributeError, IndexError):
        template = ""
    if template != "1500":
        raise SRError(
            f"{where}: not a TID 1500 Measurement Report (template {template or 'not given'}); "
            f"pass {what}"
        )
    try:
        groups = [
            _parse_group(group)
            for container in _children(ds)
            if _name(container) == _IMAGING_MEASUREMENTS
            for group in _children(container)
            if _name(group) == _MEASUREMENT_GROUP
        ]
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise SRError(f"{where}: malformed TID 1500 content ({exc}); pass {what}") from None
    images = [g for g in groups if g.finding == C.LANDMARK_SET[:2]]
    if len(images) != 1:
        raise SRError(
            f"{where}: a TID 1500 report, but not one written by kyphoimg "
            f"({len(images)} '{C.LANDMARK_SET[2]}' groups of scheme {C.PRIVATE_SCHEME}, "
            f"expected 1); pass {what}"
        )
    vertebrae = [g for g in groups if g.finding == C.VERTEBRA[:2]]
    points = [g for g in groups if g.region is not None]
    return _Report(where, ds, images[0], vertebrae, points)


def _decode(value: Any, table: Mapping[str, C.Coded], where: str, what: str) -> str:
    by_code = {c[:2]: k for k, c in table.items()}
    try:
        return by_code[value]
    except KeyError:
        raise SRError(
            f"{where}: unknown or missing {what} code {value}; was this SR written by a newer "
            "kyphoimg?"
        ) from None


def _measure_lookup() -> dict[tuple[Any, ...], C.MeasureCode]:
    out = {}
    for mc in (*C.VERTEBRA_MEASURES, *C.IMAGE_MEASURES):
        method = None if mc.is_mm or mc.method is None else mc.method[:2]
        modifier = None if mc.site_modifier is None else mc.site_modifier[:2]
        out[(mc.name[:2], method, modifier)] = mc
    for column, code in (
        ("row_mm", C.VERTICAL_PIXEL_SPACING),
        ("col_mm", C.HORIZONTAL_PIXEL_SPACING),
    ):
        out[(code[:2], None, None)] = C.MeasureCode(column, code, C.MM)
    return out


def _measure_rows(group: _Group, level: str | None) -> list[tuple[Any, ...]]:
    lookup = _measure_lookup()
    spacing = {c[:2]: k for k, c in C.SPACING_SOURCES.items()}
    rows = []
    for name, value, unit, method, modifier in group.nums:
        source = spacing.get(method) if method is not None else None
        mc = lookup.get((name, None if source else method, modifier))
        if mc is not None:
            rows.append((level, mc.column, value, None if unit is None else unit[0], source))
    return rows


def sr_measurements(sr: Dataset | str | os.PathLike[str]) -> pd.DataFrame:
    """List the numeric measures of a kyphoimg SR, one row per value.

    Parameters
    ----------
    sr : pydicom.dataset.Dataset or path-like
        A report written by :func:`build_sr`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SR_MEASURE_COLUMNS`: ``level`` (None for whole-film values and the
        pixel spacing), ``column`` (the measures/images table column, or ``row_mm`` and
        ``col_mm``), ``value``, ``unit`` (UCUM) and ``spacing_source`` (for millimetre
        values: the plane they refer to).

    Raises
    ------
    SRError
        If ``sr`` is not a kyphoimg TID 1500 report.
    """
    rep = _open_report(sr)
    rows = _measure_rows(rep.image, None)
    for group in rep.vertebrae:
        rows += _measure_rows(group, group.level(rep.where, "a vertebra group"))
    return pd.DataFrame(rows, columns=list(SR_MEASURE_COLUMNS))


def _point(group: _Group, where: str, label: str) -> tuple[tuple[float, float], str]:
    """``(row, col)`` of a point group and the SOP Instance UID it refers to."""
    graphic_type, data, uid = group.region or ("", [], "")
    if graphic_type != "POINT" or len(data) != 2:
        raise SRError(f"{where}: landmark {label} is not a SCOORD POINT")
    x, y = data
    exact = {name: value for name, value, *_ in group.nums}
    ex, ey = exact.get(C.SCOORD_X[:2]), exact.get(C.SCOORD_Y[:2])
    if ex is not None and ey is not None:
        # float32 storage of the SCOORD rounds by at most 2**-24 relative.
        tol = 1e-4 + 2.0**-22 * max(abs(ex), abs(ey))
        if abs(ex - x) <= tol and abs(ey - y) <= tol:
            x, y = ex, ey
        else:
            warnings.warn(
                f"{where}: landmark {label}: the SCOORD point ({x:g}, {y:g}) differs from its "
                f"full-precision copy ({ex:g}, {ey:g}); the point was moved after export, "
                "so the SCOORD is used",
                SRWarning,
                stacklevel=3,
            )
    return (y - 0.5, x - 0.5), uid


def _rater(root: Dataset) -> str | None:
    """Return the person observer's login name, else the person name without carets."""
    person = False
    name = login = None
    for item in _children(root):
        key = _name(item)
        if key == _OBSERVER_TYPE:
            if name or login:
                break
            person = _code_of(item.get("ConceptCodeSequence")) == _PERSON
        elif person and key == _PERSON_NAME:
            name = str(item.get("PersonName") or "").rstrip("^") or None
        elif person and key == _LOGIN_NAME:
            login = str(item.get("TextValue") or "") or None
    return login or name


def import_sr(sr: Dataset | str | os.PathLike[str], *, validate: bool = True) -> LandmarkSet:
    """Read a kyphoimg TID 1500 report back into a landmark set.

    Parameters
    ----------
    sr : pydicom.dataset.Dataset or path-like
        A report written by :func:`build_sr` (possibly after a PACS round trip). Not
        modified.
    validate : bool, optional
        Run :func:`~kyphoimg.landmarks.validate_landmarks` on the result (default).

    Returns
    -------
    LandmarkSet
        Points (from the double-precision copies, exact up to double rounding), scheme,
        patient id, time point, index levels (cranial to caudal), calibration, reader
        findings and rater (the observer's login name, else the observer name), with
        ``image.sop_instance_uid`` set to the referenced image and ``source`` to the SR.
        Not carried: ``image.path``, ``image.rows/columns``, ``updated``,
        ``calibration_extra`` and unknown landmark-file keys.

    Raises
    ------
    SRError
        If ``sr`` is not a DICOM file, not a Comprehensive (3D) or Enhanced SR, not a
        TID 1500 report written by kyphoimg, or its points refer to several images.
    LandmarkError
        If ``validate`` and the points do not validate.

    Warns
    -----
    SRWarning
        When a SCOORD point disagrees with its full-precision copy (it was moved in a
        viewer after export); the SCOORD is used.
    """
    rep = _open_report(sr)
    where, image = rep.where, rep.image
    scheme = _decode(image.codes.get(C.SCHEME[:2]), C.SCHEMES, where, "scheme")
    source = _decode(
        image.codes.get(C.SPACING_SOURCE[:2]), C.SPACING_SOURCES, where, "spacing source"
    )
    spacing = {col: value for _, col, value, _, _ in _measure_rows(image, None)}
    try:
        calibration = (
            Calibration.none()
            if source == "none"
            else Calibration(
                spacing.get("row_mm", math.nan), spacing.get("col_mm", math.nan), source
            )
        )
    except CalibrationError as exc:
        raise SRError(f"{where}: unusable pixel spacing ({exc})") from None

    index_levels: list[str] = []
    findings: dict[str, dict[str, str]] = {}
    not_findings = {C.INDEX_LEVEL[:2], C.GENANT_TYPE[:2]}
    finding_keys = {c[:2]: k for k, c in C.FINDING_CONCEPTS.items()}
    values = {c[:2]: k for k, c in (*C.FINDING_VALUES.items(), *C.GENANT_VISUAL_VALUES.items())}
    for group in rep.vertebrae:
        level = group.level(where, "a vertebra group")
        for name, value in group.codes.items():
            if name == C.INDEX_LEVEL[:2]:
                if value == C.YES[:2]:
                    index_levels.append(level)
            elif name not in not_findings and name[1] == C.PRIVATE_SCHEME:
                key = finding_keys.get(name, name[0])
                findings.setdefault(level, {})[key] = values.get(value, value[0])

    points: dict[str, dict[str, tuple[float, float]]] = {}
    uids: set[str] = set()
    point_names = {c[:2]: n for n, c in C.POINTS.items()}
    for group in rep.points:
        point = point_names.get(group.finding) if group.finding else None
        if point is None:
            continue
        level = group.level(where, f"landmark {point}")
        label = f"{level} {point}"
        if point in points.get(level, {}):
            raise SRError(f"{where}: landmark {label} appears twice; the SR is damaged")
        points.setdefault(level, {})[point], ref = _point(group, where, label)
        uids.add(ref)
    if len(uids) > 1:
        raise SRError(
            f"{where}: the landmarks refer to {len(uids)} different images; kyphoimg writes "
            "one SR per image"
        )
    uid = next(iter(uids), None) or next(iter(image.images), None)
    patient_id = image.texts.get(C.PATIENT_ID[:2])
    ls = LandmarkSet(
        points=points,
        scheme=scheme,
        patient_id=patient_id,
        timepoint=image.texts.get(C.TIME_POINT[:2]),
        image=ImageRef(sop_instance_uid=uid or None),
        calibration=calibration,
        index_levels=tuple(sorted(index_levels, key=LEVELS.index)),
        rater=_rater(rep.root),
        findings=findings,
        source=where,
    )
    if validate:
        validate_landmarks(ls)
    return ls


# ----------------------------------------------------------------------------- many files
def _dicom_index(
    dicom: Iterable[str | os.PathLike[str]],
) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    """``{SOP Instance UID: path}`` and ``{file name: paths}`` of the DICOM files given."""
    from pydicom import dcmread

    by_uid: dict[str, Path] = {}
    by_name: dict[str, list[Path]] = {}

    def add(uid: Any, path: Path) -> None:
        if uid:
            by_uid.setdefault(str(uid), path)
        by_name.setdefault(path.name, []).append(path)

    for p in map(Path, dicom):
        if p.is_dir():
            table = scan(p, progress=False)
            for rel, uid, status in table[["path", "sop_instance_uid", "status"]].itertuples(
                index=False
            ):
                if status == "ok":
                    add(uid, p / rel)
        elif p.is_file():
            try:
                uid = dcmread(p, stop_before_pixels=True, specific_tags=["SOPInstanceUID"]).get(
                    "SOPInstanceUID"
                )
            except Exception:  # not DICOM: build_sr reports it if the file is chosen
                uid = None
            add(uid, p)
    return by_uid, by_name


def _landmark_file(ls: LandmarkSet) -> Path | None:
    """Return the JSON file a set was read from (None for CSV-born or in-memory sets)."""
    if ls.source and str(ls.source).lower().endswith(".json"):
        return Path(ls.source)
    return None


def _find_source(
    ls: LandmarkSet, by_uid: Mapping[str, Path], by_name: Mapping[str, list[Path]]
) -> Path:
    uid = ls.image.sop_instance_uid
    if uid and str(uid) in by_uid:
        return by_uid[str(uid)]
    rel = ls.image.path
    if rel:
        home = _landmark_file(ls)
        if home is not None and (home.parent / rel).is_file():
            return home.parent / rel
        named = by_name.get(Path(rel).name, [])
        if len(named) == 1:
            return named[0]
    raise SRError(
        f"{ls.where}: no DICOM image found for "
        + (f"SOP Instance UID {uid}" if uid else f"image {rel!r}")
        + "; pass the folder holding the radiograph (--dicom)"
    )


def _sr_name(ls: LandmarkSet) -> str:
    """Return the file name of a set's SR.

    The landmark file's stem, prefixed by the patient id when the stem does not already
    name it (films are often called pre.dcm, post.dcm in every patient's folder).
    """
    home = _landmark_file(ls)
    if home is not None:
        stem = home.name
        for suffix in (".landmarks.json", ".json"):
            if stem.lower().endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        if ls.patient_id and str(ls.patient_id) not in stem:
            stem = f"{ls.patient_id}_{stem}"
    else:
        parts = [p for p in (ls.patient_id, ls.timepoint, ls.rater) if p]
        stem = "_".join(parts) or str(ls.image.sop_instance_uid or "landmarks")
    return re.sub(r"[^\w.+-]", "_", stem) + ".sr.dcm"


def export_sr_files(
    landmarks: Iterable[str | os.PathLike[str]],
    dicom: Iterable[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    **options: Any,
) -> tuple[list[Path], pd.DataFrame]:
    """Export one SR per landmark set, pairing each with its radiograph; never stops early.

    Parameters
    ----------
    landmarks : iterable of path-like
        Landmark files or folders (see :func:`kyphoimg.batch.find_landmark_files`).
    dicom : iterable of path-like
        DICOM files or folders (searched recursively) holding the radiographs. A set is
        paired by ``image.sop_instance_uid``, then by ``image.path`` relative to its
        landmark file, then by that file name among the DICOM files.
    output : path-like
        Folder for ``<landmark file stem>.sr.dcm`` files (created).
    **options
        Passed to :func:`build_sr` (``observer``, ``institution_name``, ...).

    Returns
    -------
    written : list of pathlib.Path
        The SR files written.
    errors : pandas.DataFrame
        One row per failure, columns ``file, level, point, error``.
    """
    sets, errors = read_landmark_files(landmarks)
    rows = list(errors.itertuples(index=False, name=None))
    by_uid, by_name = _dicom_index(dicom)
    out = Path(output)
    written: list[Path] = []
    for ls in sets:
        try:
            target = out / _sr_name(ls)
            if target in written:
                raise SRError(
                    f"{ls.where}: another landmark set already wrote {target}; give the sets "
                    "distinct file names or patient/time point/rater"
                )
            sr = build_sr(ls, _find_source(ls, by_uid, by_name), **options)
            written.append(write_sr(sr, target))
        except KyphoimgError as exc:
            rows.append(
                (ls.where, getattr(exc, "level", None), getattr(exc, "point", None), str(exc))
            )
    return written, pd.DataFrame(rows, columns=list(ERROR_COLUMNS))


def import_sr_files(
    srs: Iterable[str | os.PathLike[str]], output: str | os.PathLike[str]
) -> tuple[list[Path], pd.DataFrame]:
    """Import SR files into ``<name>.landmarks.json`` files; never stops early.

    Parameters
    ----------
    srs : iterable of path-like
        SR files, or folders searched recursively for ``*.dcm``.
    output : path-like
        Folder for the landmark files (created); ``X.sr.dcm`` gives
        ``X.landmarks.json``.

    Returns
    -------
    written : list of pathlib.Path
        The landmark files written.
    errors : pandas.DataFrame
        One row per failure, columns ``file, level, point, error``.
    """
    files: list[Path] = []
    for p in map(Path, srs):
        files.extend(sorted(p.rglob("*.dcm")) if p.is_dir() else [p])
    out = Path(output)
    written: list[Path] = []
    rows = []
    for f in files:
        try:
            ls = import_sr(f)
            stem = f.name
            for suffix in (".sr.dcm", ".dcm"):
                if stem.lower().endswith(suffix):
                    stem = stem[: -len(suffix)]
                    break
            target = out / f"{stem}.landmarks.json"
            if target in written:
                raise SRError(f"{f}: another SR already wrote {target}; rename one of them")
            written.append(write_landmarks(ls, target, touch=False))
        except KyphoimgError as exc:
            rows.append(
                (str(f), getattr(exc, "level", None), getattr(exc, "point", None), str(exc))
            )
    return written, pd.DataFrame(rows, columns=list(ERROR_COLUMNS))
