"""Coded concepts of kyphoimg's DICOM SR (TID 1500) documents, as plain tuples.

Each code is a ``(code value, coding scheme designator, code meaning)`` triple, turned
into a :class:`pydicom.sr.coding.Code` only when a report is built or read, so that
importing kyphoimg loads neither highdicom nor pydicom's large code dictionaries.

Standard codes (SCT, DCM, UCUM, UMLS) are those of DICOM PS3.16 as shipped in pydicom
3.0.2's ``pydicom.sr.codedict.codes`` (``tests/test_sr.py`` checks every one against
it), except ``{pixels}``, taken from DCMTK's ``dcmsr/include/dcmtk/dcmsr/codes/ucum.h``
("generated semi-automatically from DICOM PS 3.16-2015c"). Where no standard code exists,
kyphoimg uses its private coding scheme :data:`PRIVATE_SCHEME` (private designators begin
with ``99``, DICOM PS3.16 chapter 8); every private code and its meaning is listed in
:data:`PRIVATE_CODES` and in ``docs/sr.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

#: A coded concept: ``(code value, coding scheme designator, code meaning)``.
Coded = tuple[str, str, str]

#: Designator of kyphoimg's private coding scheme.
PRIVATE_SCHEME = "99KYPHOIMG"
#: Version of the private scheme written to the Coding Scheme Identification Sequence.
PRIVATE_SCHEME_VERSION = "1"

_PRIVATE: dict[str, str] = {}


def _p(value: str, meaning: str) -> Coded:
    """Register and return a private code (code values are at most 16 characters, SH)."""
    if len(value) > 16 or value in _PRIVATE:
        raise ValueError(f"bad or duplicate private code value {value!r}")
    _PRIVATE[value] = meaning
    return (value, PRIVATE_SCHEME, meaning)


# ----------------------------------------------------------------------------- standard codes
# pydicom 3.0.2 codes.SCT.<name> / codes.DCM.<name> / codes.UCUM.<name> / codes.UMLS.<name>.
HEIGHT: Coded = ("121207", "DCM", "Height")  # codes.DCM.Height (CID 7469/7470)
COBB_ANGLE: Coded = ("285285000", "SCT", "Cobb angle")  # codes.SCT.CobbAngle (CID 218/7550)
VERTICAL_PIXEL_SPACING: Coded = ("111066", "DCM", "Vertical Pixel Spacing")
HORIZONTAL_PIXEL_SPACING: Coded = ("111026", "DCM", "Horizontal Pixel Spacing")
ANTERIOR: Coded = ("255549009", "SCT", "Anterior")  # CID 2 anatomic modifiers
CENTRAL: Coded = ("26216008", "SCT", "Central")
POSTERIOR: Coded = ("255551008", "SCT", "Posterior")
SUPERIOR: Coded = ("264217000", "SCT", "Superior")
INFERIOR: Coded = ("261089000", "SCT", "Inferior")
YES: Coded = ("373066001", "SCT", "Yes")  # CID 230
NO: Coded = ("373067005", "SCT", "No")
PLAIN_RADIOGRAPHY: Coded = ("168537006", "SCT", "Plain radiography")  # CID 10005
TIME_POINT: Coded = ("C2348792", "UMLS", "Time Point")  # TID 1502 row 1 (highdicom)

MM: Coded = ("mm", "UCUM", "mm")  # codes.UCUM.Millimeter
DEGREE: Coded = ("deg", "UCUM", "Degree")  # codes.UCUM.Degree
PERCENT: Coded = ("%", "UCUM", "Percent")  # codes.UCUM.Percent
RATIO: Coded = ("{ratio}", "UCUM", "ratio")  # codes.UCUM.Ratio
NO_UNITS: Coded = ("1", "UCUM", "no units")  # codes.UCUM.NoUnits
PIXELS: Coded = ("{pixels}", "UCUM", "pixels")  # DCMTK codes/ucum.h CODE_UCUM_Pixels

#: pydicom ``codes`` attribute of each standard code above (checked by the tests).
STANDARD_CODE_NAMES: Mapping[str, Coded] = MappingProxyType(
    {
        "DCM.Height": HEIGHT,
        "SCT.CobbAngle": COBB_ANGLE,
        "DCM.VerticalPixelSpacing": VERTICAL_PIXEL_SPACING,
        "DCM.HorizontalPixelSpacing": HORIZONTAL_PIXEL_SPACING,
        "SCT.Anterior": ANTERIOR,
        "SCT.Central": CENTRAL,
        "SCT.Posterior": POSTERIOR,
        "SCT.Superior": SUPERIOR,
        "SCT.Inferior": INFERIOR,
        "SCT.Yes": YES,
        "SCT.No": NO,
        "SCT.PlainRadiography": PLAIN_RADIOGRAPHY,
        "UCUM.Millimeter": MM,
        "UCUM.Degree": DEGREE,
        "UCUM.Percent": PERCENT,
        "UCUM.Ratio": RATIO,
        "UCUM.NoUnits": NO_UNITS,
    }
)

# ----------------------------------------------------------------------------- levels
_SCT_LEVELS: dict[str, tuple[str, str]] = {
    "C2": ("39976000", "C2 vertebra"),
    "C3": ("113205007", "C3 vertebra"),
    "C4": ("5329002", "C4 vertebra"),
    "C5": ("36978003", "C5 vertebra"),
    "C6": ("36054005", "C6 vertebra"),
    "C7": ("87391001", "C7 vertebra"),
    "T1": ("64864005", "T1 vertebra"),
    "T2": ("53733008", "T2 vertebra"),
    "T3": ("1626008", "T3 vertebra"),
    "T4": ("73071006", "T4 vertebra"),
    "T5": ("56401006", "T5 vertebra"),
    "T6": ("45296009", "T6 vertebra"),
    "T7": ("62487009", "T7 vertebra"),
    "T8": ("11068009", "T8 vertebra"),
    "T9": ("82687006", "T9 vertebra"),
    "T10": ("7610001", "T10 vertebra"),
    "T11": ("12989004", "T11 vertebra"),
    "T12": ("23215003", "T12 vertebra"),
    "L1": ("66794005", "L1 vertebra"),
    "L2": ("14293000", "L2 vertebra"),
    "L3": ("36470004", "L3 vertebra"),
    "L4": ("11994002", "L4 vertebra"),
    "L5": ("49668003", "L5 vertebra"),
}
#: Finding-site code of every level: SNOMED CT (pydicom ``codes.SCT.<level>Vertebra``,
#: DICOM CID 7151/7602) for C2-L5; private for S1, which PS3.16 (as in pydicom 3.0.2)
#: does not code.
LEVEL_CODES: Mapping[str, Coded] = MappingProxyType(
    {
        **{lv: (v, "SCT", m) for lv, (v, m) in _SCT_LEVELS.items()},
        "S1": _p("S1", "First sacral vertebra (S1)"),
    }
)

# ----------------------------------------------------------------------------- private codes
LANDMARK_SET = _p("landmark_set", "kyphoimg landmark set (image-level measurement group)")
VERTEBRA = _p("vertebra", "Vertebral body (kyphoimg per-vertebra measurement group)")
POINTS: Mapping[str, Coded] = MappingProxyType(
    {
        "ant_sup": _p("ant_sup", "Anterior-superior corner of the vertebral body"),
        "mid_sup": _p("mid_sup", "Midpoint of the superior endplate"),
        "post_sup": _p("post_sup", "Posterior-superior corner of the vertebral body"),
        "ant_inf": _p("ant_inf", "Anterior-inferior corner of the vertebral body"),
        "mid_inf": _p("mid_inf", "Midpoint of the inferior endplate"),
        "post_inf": _p("post_inf", "Posterior-inferior corner of the vertebral body"),
        "left_sup": _p("left_sup", "Superior corner on the image left (coronal film)"),
        "right_sup": _p("right_sup", "Superior corner on the image right (coronal film)"),
        "left_inf": _p("left_inf", "Inferior corner on the image left (coronal film)"),
        "right_inf": _p("right_inf", "Inferior corner on the image right (coronal film)"),
    }
)
SCOORD_X = _p("scoord_x", "Column coordinate x of the point, full precision")
SCOORD_Y = _p("scoord_y", "Row coordinate y of the point, full precision")
PATIENT_ID = _p("patient_id", "Patient identifier of the kyphoimg landmark set")
SCHEME = _p("scheme", "Landmark scheme")
SCHEMES: Mapping[str, Coded] = MappingProxyType(
    {
        "6pt": _p("6pt", "Lateral 6-point scheme: endplate corners and midpoints"),
        "4pt": _p("4pt", "Lateral 4-point scheme: endplate corners"),
        "ap4": _p("ap4", "Coronal 4-point scheme: endplate corners, image left/right"),
    }
)
SPACING_SOURCE = _p("spacing_source", "Source of the pixel spacing of millimetre values")
SPACING_SOURCES: Mapping[str, Coded] = MappingProxyType(
    {
        "user": _p("user", "Reader calibration on an object of known length"),
        "pixel_spacing": _p("pixel_spacing", "Pixel Spacing calibrated to the patient plane"),
        "ermf": _p("ermf", "Imager Pixel Spacing / ERMF: estimated patient plane"),
        "detector": _p("detector", "Detector plane: not corrected for magnification"),
        "unknown_origin": _p("unknown_origin", "Pixel spacing of unknown plane"),
        "none": _p("none", "No usable pixel spacing: no millimetre values"),
    }
)
INDEX_LEVEL = _p("index_level", "Index (fractured or treated) vertebra")

# Per-vertebra and whole-film measures: concept or Cobb-angle method, named by column.
WEDGE_RATIO = _p("wedge_ratio", "Wedge ratio Ha/Hp")
AHR = _p("ahr_pct", "Anterior height ratio to the adjacent vertebrae")
MHR = _p("mhr_pct", "Middle height ratio to the adjacent vertebrae")
PHR = _p("phr_pct", "Posterior height ratio to the adjacent vertebrae")
COMPRESSION = _p("compression_pct", "Compression rate: anterior height lost")
GENANT_GRADE = _p("genant_grade", "Morphometric Genant grade")
GENANT_TYPE = _p("genant_type", "Morphometric Genant deformity type")
GENANT_TYPES: Mapping[str, Coded] = MappingProxyType(
    {
        "normal": _p("genant_normal", "No deformity"),
        "wedge": _p("genant_wedge", "Wedge deformity"),
        "biconcave": _p("genant_biconcave", "Biconcave deformity"),
        "crush": _p("genant_crush", "Crush deformity"),
    }
)
COBB_METHODS: Mapping[str, Coded] = MappingProxyType(
    {
        "wedge_angle_deg": _p("wedge_angle_deg", "Wedge angle: own superior-inferior endplates"),
        "ka_deg": _p("ka_deg", "Kyphotic angle: bisegmental Cobb U sup - L inf"),
        "gardner_deg": _p("gardner_deg", "Gardner angle: U superior - V inferior endplate"),
        "tk_deg": _p("tk_deg", "Thoracic kyphosis T4 sup - T12 inf"),
        "tlk_deg": _p("tlk_deg", "Thoracolumbar kyphosis T10 sup - L2 inf"),
        "ll_deg": _p("ll_deg", "Lumbar lordosis L1 sup - S1 sup"),
        "tk_t5_t12_deg": _p("tk_t5_t12_deg", "Thoracic kyphosis T5 sup - T12 inf"),
        "tk_t1_t12_deg": _p("tk_t1_t12_deg", "Thoracic kyphosis T1 sup - T12 inf"),
        "ll_l1_l5_deg": _p("ll_l1_l5_deg", "Lumbar lordosis L1 sup - L5 inf"),
        "ll_t12_s1_deg": _p("ll_t12_s1_deg", "Lumbar lordosis T12 sup - S1 sup"),
        "cobb_pt_deg": _p("cobb_pt_deg", "Coronal Cobb angle, proximal thoracic (AASCE)"),
        "cobb_mt_deg": _p("cobb_mt_deg", "Coronal Cobb angle, main thoracic (AASCE)"),
        "cobb_tl_deg": _p("cobb_tl_deg", "Coronal Cobb angle, thoracolumbar (AASCE)"),
    }
)

# Reader findings (landmarks.FINDINGS) and their values; yes/no and superior/inferior
# take the SNOMED CT qualifiers.
FINDING_CONCEPTS: Mapping[str, Coded] = MappingProxyType(
    {
        "ivc": _p("ivc", "Intravertebral cleft seen by the reader"),
        "npec": _p("npec", "Non-PMMA-endplate contact seen by the reader"),
        "cement_leakage": _p("cement_leakage", "Cement leakage seen by the reader"),
        "genant_visual": _p("genant_visual", "Visual semiquantitative Genant grade"),
    }
)
FINDING_VALUES: Mapping[str, Coded] = MappingProxyType(
    {
        "yes": YES,
        "no": NO,
        "superior": SUPERIOR,
        "inferior": INFERIOR,
        "both": _p("both", "Both endplates"),
        "not_assessable": _p("not_assessable", "Not assessable"),
    }
)
#: Values of the ``genant_visual`` finding (its codes are distinct from any other value).
GENANT_VISUAL_VALUES: Mapping[str, Coded] = MappingProxyType(
    {g: _p(f"genant_v{g}", f"Visual Genant grade {g}") for g in ("0", "0.5", "1", "2", "3")}
)

#: Every private code value of :data:`PRIVATE_SCHEME` with its meaning.
PRIVATE_CODES: Mapping[str, str] = MappingProxyType(dict(_PRIVATE))


@dataclass(frozen=True)
class MeasureCode:
    """How one measures-table column is coded as a TID 300 measurement.

    Attributes
    ----------
    column : str
        Column of :func:`kyphoimg.measures_table` or :func:`kyphoimg.images_table`.
    name : Coded
        Concept name of the NUM item.
    unit : Coded
        UCUM unit.
    method : Coded or None
        Measurement Method (SCT 370129005) concept modifier; ``None`` for millimetre
        values, whose method is the spacing source (see :data:`SPACING_SOURCES`).
    site_modifier : Coded or None
        Topographical modifier of the finding site (anterior, central, posterior height).
    """

    column: str
    name: Coded
    unit: Coded
    method: Coded | None = None
    site_modifier: Coded | None = None

    @property
    def is_mm(self) -> bool:
        """Whether the value is in millimetres, so depends on the pixel spacing."""
        return self.unit == MM


#: Per-vertebra measures written to each vertebra group (when not NaN).
VERTEBRA_MEASURES: tuple[MeasureCode, ...] = (
    MeasureCode("ha_mm", HEIGHT, MM, site_modifier=ANTERIOR),
    MeasureCode("hm_mm", HEIGHT, MM, site_modifier=CENTRAL),
    MeasureCode("hp_mm", HEIGHT, MM, site_modifier=POSTERIOR),
    MeasureCode("wedge_ratio", WEDGE_RATIO, RATIO),
    MeasureCode("wedge_angle_deg", COBB_ANGLE, DEGREE, COBB_METHODS["wedge_angle_deg"]),
    MeasureCode("ahr_pct", AHR, PERCENT),
    MeasureCode("mhr_pct", MHR, PERCENT),
    MeasureCode("phr_pct", PHR, PERCENT),
    MeasureCode("compression_pct", COMPRESSION, PERCENT),
    MeasureCode("genant_grade", GENANT_GRADE, NO_UNITS),
    MeasureCode("ka_deg", COBB_ANGLE, DEGREE, COBB_METHODS["ka_deg"]),
    MeasureCode("gardner_deg", COBB_ANGLE, DEGREE, COBB_METHODS["gardner_deg"]),
)

#: Whole-film angles written to the image-level group (when not NaN).
IMAGE_MEASURES: tuple[MeasureCode, ...] = tuple(
    MeasureCode(col, COBB_ANGLE, DEGREE, COBB_METHODS[col])
    for col in (
        "tk_deg",
        "tlk_deg",
        "ll_deg",
        "tk_t5_t12_deg",
        "tk_t1_t12_deg",
        "ll_l1_l5_deg",
        "ll_t12_s1_deg",
        "cobb_pt_deg",
        "cobb_mt_deg",
        "cobb_tl_deg",
    )
)
