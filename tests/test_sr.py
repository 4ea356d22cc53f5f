"""DICOM SR (TID 1500) export and import: round trips, codes, references, bad input."""

from __future__ import annotations

import copy
import io
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydicom import dcmread, dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from kyphoimg.calibration import Calibration
from kyphoimg.errors import KyphoimgError, LandmarkError
from kyphoimg.landmarks import ImageRef, LandmarkSet, write_landmarks
from kyphoimg.measure import images_table, measures_table
from kyphoimg.sample.phantom import lateral_phantom
from kyphoimg.sr import (
    PRIVATE_SCHEME,
    SR_MEASURE_COLUMNS,
    SRError,
    SRWarning,
    build_sr,
    export_sr_files,
    import_sr,
    import_sr_files,
    sr_measurements,
    write_sr,
)
from kyphoimg.sr import _codes as C

ROOT = Path(__file__).resolve().parents[1]
CR_IMAGE = "1.2.840.10008.5.1.4.1.1.1"
COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"
TOL_PX = 1e-6
FINDINGS = {
    "L1": {"ivc": "yes", "npec": "superior", "cement_leakage": "no", "genant_visual": "2"},
    "T12": {"ivc": "not_assessable", "npec": "both"},
}
_UID_COUNTER = iter(range(100, 10**6))


def uid() -> str:
    return f"1.2.826.0.1.3680043.8.498.77{next(_UID_COUNTER)}"


def phantom_set(
    scheme: str = "6pt",
    facing: str = "right",
    source: str = "pixel_spacing",
    levels: tuple[str, ...] = ("T11", "T12", "L1", "L2", "L3"),
    findings: dict | None = None,
) -> LandmarkSet:
    """A tilted phantom with an L1 fracture, anisotropic spacing and reader findings."""
    heights = {lv: (26.0, 25.0, 27.0) for lv in levels}
    if "L1" in heights:
        heights["L1"] = (17.5, 19.0, 26.0)
    return lateral_phantom(
        levels,
        heights_mm=heights,
        disc_angle_deg=4.0,
        rotation_deg=7.0,
        facing=facing,
        spacing=(0.14, 0.16),
        source=source,
        scheme=scheme,
        index_levels=("L1",) if "L1" in levels else (),
        findings=FINDINGS if findings is None else findings,
        rater="reader1",
        patient_id="P007",
        timepoint="post",
    ).landmarks


def make_image(ls: LandmarkSet, **attrs: object) -> tuple[Dataset, LandmarkSet]:
    """A minimal CR image (zero pixels) for ``ls``, and ``ls`` pointing at it."""
    rows, cols = ls.image.rows, ls.image.columns
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CR_IMAGE
    ds.SOPClassUID = CR_IMAGE
    ds.SOPInstanceUID = uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = uid()
    ds.SeriesInstanceUID = uid()
    ds.PatientID = "MRN-0042"
    ds.PatientName = "Anonymous"  # single component, as de-identification leaves it
    ds.PatientBirthDate = ""
    ds.PatientSex = "F"
    ds.StudyDate, ds.StudyTime = "20240110", "093000"
    ds.AccessionNumber = ""
    ds.StudyID = "1"
    ds.ReferringPhysicianName = ""
    ds.Modality, ds.ViewPosition = "CR", "LL"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.ImagerPixelSpacing = [0.14, 0.16]
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = np.zeros((rows, cols), "<u2").tobytes()
    for key, value in attrs.items():
        setattr(ds, key, value)
    ref = ImageRef(path="film.dcm", sop_instance_uid=ds.SOPInstanceUID, rows=rows, columns=cols)
    return ds, ls.replace(image=ref)


def through_file(sr: Dataset) -> Dataset:
    """Encode as a DICOM file in memory and read it back (SCOORDs become float32)."""
    buf = io.BytesIO()
    dcmwrite(buf, sr, enforce_file_format=True)
    return dcmread(io.BytesIO(buf.getvalue()))


def walk(items):
    """Every content item of a content tree, depth first."""
    for item in items:
        yield item
        yield from walk(item.get("ContentSequence", []))


def concept(item) -> tuple[str, str]:
    c = item.ConceptNameCodeSequence[0]
    return (c.CodeValue, c.CodingSchemeDesignator)


def max_point_error(a: LandmarkSet, b: LandmarkSet) -> float:
    assert {lv: set(p) for lv, p in a.points.items()} == {lv: set(p) for lv, p in b.points.items()}
    return max(
        float(np.abs(np.subtract(a.points[lv][n], b.points[lv][n])).max())
        for lv in a.points
        for n in a.points[lv]
    )


@pytest.fixture(scope="module")
def exported() -> tuple[LandmarkSet, Dataset, Dataset]:
    """One 6pt set, its source image and its SR after a trip through a file."""
    ds, ls = make_image(phantom_set())
    return ls, ds, through_file(build_sr(ls, ds))


# -- round trips ------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", ["6pt", "4pt"])
@pytest.mark.parametrize("facing", ["left", "right"])
def test_round_trip_points_and_metadata(scheme, facing):
    source = "detector" if facing == "left" else "pixel_spacing"
    ds, ls = make_image(phantom_set(scheme, facing, source))
    back = import_sr(through_file(build_sr(ls, ds)))
    assert max_point_error(ls, back) <= TOL_PX
    assert back.scheme == scheme
    assert back.patient_id == "P007"
    assert back.timepoint == "post"
    assert back.rater == "reader1"
    assert back.index_levels == ("L1",)
    assert back.calibration == ls.calibration
    assert {k: dict(v) for k, v in back.findings.items()} == FINDINGS
    assert back.image.sop_instance_uid == ds.SOPInstanceUID
    # Everything the SR carries comes back exactly; path, size and `updated` are not carried.
    assert back.replace(source=None) == ls.replace(
        image=ImageRef(sop_instance_uid=ds.SOPInstanceUID)
    )


def test_round_trip_precision_is_far_below_the_requirement(exported):
    ls, _, sr = exported
    err = max_point_error(ls, import_sr(sr))
    assert err <= 1e-12, err


def test_round_trip_through_a_file_on_disk(tmp_path):
    ds, ls = make_image(phantom_set("4pt", "left"))
    image = tmp_path / "film.dcm"
    ds.save_as(image, enforce_file_format=True)
    out = write_sr(build_sr(ls, image), tmp_path / "sr" / "film.sr.dcm")
    assert out.is_file()
    assert not list(out.parent.glob(".*.tmp"))
    back = import_sr(out)
    assert max_point_error(ls, back) <= TOL_PX
    assert back.source == str(out)


def test_round_trip_without_calibration_findings_or_timepoint():
    ls = phantom_set(source="none", findings={}).replace(timepoint=None, patient_id=None)
    ds, ls = make_image(ls)
    sr = through_file(build_sr(ls, ds))
    back = import_sr(sr)
    assert back.calibration == Calibration.none()
    assert back.timepoint is None
    assert back.patient_id is None
    assert dict(back.findings) == {}
    assert max_point_error(ls, back) <= TOL_PX
    table = sr_measurements(sr)
    assert not table["column"].str.endswith("_mm").any()  # no millimetres without spacing
    assert table["column"].isin(["wedge_angle_deg", "ahr_pct", "ka_deg"]).any()


def test_s1_has_a_private_level_code():
    ds, ls = make_image(phantom_set(levels=("L3", "L4", "L5", "S1"), findings={}))
    sr = through_file(build_sr(ls, ds))
    sites = {
        (c.CodeValue, c.CodingSchemeDesignator)
        for item in walk(sr.ContentSequence)
        if concept(item) == ("363698007", "SCT")
        for c in item.ConceptCodeSequence
    }
    assert ("S1", PRIVATE_SCHEME) in sites
    assert ("49668003", "SCT") in sites  # L5 vertebra
    back = import_sr(sr)
    assert set(back.points["S1"]) == {"ant_sup", "mid_sup", "post_sup"}
    assert max_point_error(ls, back) <= TOL_PX


def test_coronal_ap4_set_round_trips():
    corners = {}
    for i, lv in enumerate(("T10", "T11", "T12", "L1")):
        top, shift = 100.0 + 60 * i, 3.0 * i
        corners[lv] = {
            "left_sup": (top + 1.25, 80.5 + shift),
            "right_sup": (top - 2.0, 160.75 + shift),
            "left_inf": (top + 45.5, 81.0 + shift),
            "right_inf": (top + 43.0, 161.0 + shift),
        }
    ls = LandmarkSet(
        corners,
        scheme="ap4",
        image=ImageRef(rows=400, columns=300),
        calibration=Calibration(0.2, 0.2, "ermf"),
        rater="Doe^Jane",
        timepoint="pre",
    )
    ds, ls = make_image(ls)
    sr = through_file(build_sr(ls, ds))
    back = import_sr(sr)
    assert back.scheme == "ap4"
    assert back.rater == "Doe^Jane"
    assert max_point_error(ls, back) <= TOL_PX
    table = sr_measurements(sr)
    coronal = images_table([ls]).iloc[0]
    for col in ("cobb_pt_deg", "cobb_mt_deg", "cobb_tl_deg"):
        got = table.loc[table["column"] == col, "value"]
        if math.isnan(coronal[col]):
            assert got.empty
        else:
            assert got.tolist() == [coronal[col]]


# -- the SCOORD form and the half-pixel offset ------------------------------------------
def test_scoord_points_are_col_row_plus_half_pixel(exported):
    ls, _, sr = exported
    seen = 0
    for item in walk(sr.ContentSequence):
        if item.ValueType == "SCOORD" and item.GraphicType == "POINT":
            seen += 1
            assert len(item.GraphicData) == 2
    assert seen == sum(len(p) for p in ls.points.values())
    # Pair each SCOORD with its point through the group's tracking identifier.
    for group in walk(sr.ContentSequence):
        if group.ValueType != "CONTAINER" or concept(group) != ("125007", "DCM"):
            continue
        items = group.ContentSequence
        tracking = [i.TextValue for i in items if concept(i) == ("112039", "DCM")]
        scoords = [i for i in items if i.ValueType == "SCOORD"]
        if not scoords:
            continue
        level, name = tracking[0].split()
        row, col = ls.points[level][name]
        x, y = scoords[0].GraphicData
        assert x == pytest.approx(col + 0.5, abs=2.0**-22 * (col + 1))
        assert y == pytest.approx(row + 0.5, abs=2.0**-22 * (row + 1))


def test_pixel_edges_map_to_scoord_edges():
    """(row, col) = (-0.5, -0.5) is the top-left corner of the image: SCOORD (0, 0)."""
    box = {
        "ant_sup": (-0.5, 9.5),
        "post_sup": (-0.5, -0.5),
        "ant_inf": (5.0, 9.5),
        "post_inf": (5.0, -0.5),
    }
    ls = LandmarkSet({"L1": box}, scheme="4pt", image=ImageRef(rows=20, columns=10))
    ds, ls = make_image(ls)
    sr = through_file(build_sr(ls, ds))
    points = sorted(
        tuple(i.GraphicData) for i in walk(sr.ContentSequence) if i.get("GraphicType") == "POINT"
    )
    assert points == [(0.0, 0.0), (0.0, 5.5), (10.0, 0.0), (10.0, 5.5)]
    assert import_sr(sr).points == ls.points


def _strip_exact_copies(ds: Dataset) -> None:
    exact = {C.SCOORD_X[:2], C.SCOORD_Y[:2]}
    for item in walk(ds.ContentSequence):
        if "ContentSequence" in item:
            keep = [i for i in item.ContentSequence if concept(i) not in exact]
            item.ContentSequence = keep


def test_import_from_scoord_alone_applies_the_half_pixel_offset(exported):
    """Without the double-precision copies, points come from the float32 SCOORDs."""
    ls, _, sr = exported
    stripped = through_file(sr)
    _strip_exact_copies(stripped)
    back = import_sr(stripped)
    err = max_point_error(ls, back)
    assert 1e-9 < err < 2.5e-4  # float32 rounding only: a half-pixel slip would give 0.5


def test_a_point_moved_in_a_viewer_wins_with_a_warning(exported):
    ls, _, sr = exported
    moved = through_file(sr)
    for group in walk(moved.ContentSequence):
        items = group.get("ContentSequence", [])
        if any(getattr(i, "TextValue", None) == "L1 ant_sup" for i in items):
            scoord = next(i for i in items if i.ValueType == "SCOORD")
            x, y = scoord.GraphicData
            scoord.GraphicData = [x + 3.0, y - 2.0]
    with pytest.warns(SRWarning, match=r"L1 ant_sup.*moved after export"):
        back = import_sr(moved)
    row, col = ls.points["L1"]["ant_sup"]
    assert back.points["L1"]["ant_sup"] == pytest.approx((row - 2.0, col + 3.0), abs=2.5e-4)


# -- structure, references, codes -------------------------------------------------------
def test_sr_references_the_source_image(exported):
    _, ds, sr = exported
    assert sr.SOPClassUID == COMPREHENSIVE_3D_SR
    assert sr.Modality == "SR"
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert (sr.PatientID, sr.StudyInstanceUID) == (ds.PatientID, ds.StudyInstanceUID)
    assert sr.PatientName == "Anonymous"  # copied verbatim, not "fixed"
    assert sr.SeriesInstanceUID != ds.SeriesInstanceUID
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == ds.StudyInstanceUID
    refs = evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence
    assert [(r.ReferencedSOPClassUID, r.ReferencedSOPInstanceUID) for r in refs] == [
        (CR_IMAGE, ds.SOPInstanceUID)
    ]
    images = {
        ref.ReferencedSOPInstanceUID
        for item in walk(sr.ContentSequence)
        if item.ValueType == "IMAGE"
        for ref in item.ReferencedSOPSequence
    }
    assert images == {ds.SOPInstanceUID}
    schemes = {s.CodingSchemeDesignator: s for s in sr.CodingSchemeIdentificationSequence}
    assert schemes[PRIVATE_SCHEME].CodingSchemeName == "kyphoimg private codes"


def test_sr_carries_the_rater_as_person_observer(exported):
    _, _, sr = exported
    items = {concept(i): i for i in sr.ContentSequence}
    observers = [i for i in sr.ContentSequence if concept(i) == ("121005", "DCM")]
    assert [o.ConceptCodeSequence[0].CodeMeaning for o in observers] == ["Person", "Device"]
    assert str(items[("121008", "DCM")].PersonName) == "reader1^"
    assert items[("128774", "DCM")].TextValue == "reader1"


def test_observer_name_can_differ_from_the_rater_id():
    ds, ls = make_image(phantom_set())
    sr = through_file(build_sr(ls, ds, observer="Doe^Jane"))
    items = {concept(i): i for i in sr.ContentSequence}
    assert str(items[("121008", "DCM")].PersonName) == "Doe^Jane"
    assert import_sr(sr).rater == "reader1"


def test_measures_equal_the_measures_table(exported):
    ls, _, sr = exported
    table = sr_measurements(sr)
    assert tuple(table.columns) == SR_MEASURE_COLUMNS
    expected = measures_table([ls]).set_index("level")
    per_level = table[table["level"].notna()]
    assert len(per_level) > 40
    for code in C.VERTEBRA_MEASURES:
        for level in expected.index:
            want = expected.loc[level, code.column]
            got = per_level.loc[
                (per_level["level"] == level) & (per_level["column"] == code.column), "value"
            ]
            if pd.isna(want):
                assert got.empty, (level, code.column)
            else:
                assert got.tolist() == [want], (level, code.column)  # bit-exact (FD values)
    mm = per_level[per_level["column"].str.endswith("_mm")]
    assert set(mm["spacing_source"]) == {"pixel_spacing"}
    assert set(mm["unit"]) == {"mm"}
    whole = table[table["level"].isna()].set_index("column")["value"]
    assert whole["row_mm"] == 0.14
    assert whole["col_mm"] == 0.16
    film = images_table([ls]).iloc[0]
    for code in C.IMAGE_MEASURES:
        if pd.isna(film[code.column]):
            assert code.column not in whole.index
        else:
            assert whole[code.column] == film[code.column]


def test_standard_codes_are_used_with_ucum_units(exported):
    _, _, sr = exported
    nums = [i for i in walk(sr.ContentSequence) if i.ValueType == "NUM"]
    units = {
        concept(i): {m.MeasurementUnitsCodeSequence[0].CodeValue for m in i.MeasuredValueSequence}
        for i in nums
    }
    assert units[("121207", "DCM")] == {"mm"}  # Height
    assert units[("285285000", "SCT")] == {"deg"}  # Cobb angle
    assert units[(C.WEDGE_RATIO[0], PRIVATE_SCHEME)] == {"{ratio}"}
    assert units[(C.AHR[0], PRIVATE_SCHEME)] == {"%"}
    assert all(
        u.MeasurementUnitsCodeSequence[0].CodingSchemeDesignator == "UCUM"
        for i in nums
        for u in i.MeasuredValueSequence
    )
    # Each height names its side as a topographical modifier of the finding site and
    # its plane (the spacing source) as its measurement method.
    heights = [i for i in nums if concept(i) == ("121207", "DCM")]
    methods = {
        m.ConceptCodeSequence[0].CodeValue
        for h in heights
        for m in h.ContentSequence
        if concept(m) == ("370129005", "SCT")
    }
    assert methods == {"pixel_spacing"}
    modifiers = {
        mod.ConceptCodeSequence[0].CodeMeaning
        for h in heights
        for site in h.ContentSequence
        if concept(site) == ("363698007", "SCT")
        for mod in site.ContentSequence
    }
    assert modifiers == {"Anterior", "Central", "Posterior"}


def test_detector_plane_millimetres_are_flagged():
    ds, ls = make_image(phantom_set(source="detector"))
    table = sr_measurements(through_file(build_sr(ls, ds)))
    mm = table[table["column"].str.endswith("_mm")]
    assert len(mm)
    assert set(mm["spacing_source"]) == {"detector"}


def test_4pt_sets_leave_out_the_approximate_middle_height():
    ds, ls = make_image(phantom_set("4pt"))
    columns = set(sr_measurements(through_file(build_sr(ls, ds)))["column"])
    assert {"ha_mm", "hp_mm", "ka_deg"} <= columns
    assert not {"hm_mm", "mhr_pct"} & columns


def test_measures_given_are_filtered_to_the_landmark_set():
    ds, ls = make_image(phantom_set())
    other = phantom_set().replace(patient_id="P999")
    table = measures_table([other, ls])
    table.loc[table["patient_id"] == "P999", "ha_mm"] = 999.0
    sr = build_sr(ls, ds, measures=table, images=images_table([other, ls]))
    got = sr_measurements(sr)
    assert 999.0 not in got["value"].tolist()
    assert (got["column"] == "ha_mm").sum() == 5


@pytest.mark.parametrize(
    ("name", "code"), sorted(C.STANDARD_CODE_NAMES.items()), ids=lambda v: str(v)
)
def test_standard_codes_match_pydicom(name, code):
    from pydicom.sr.codedict import codes

    scheme, attr = name.split(".")
    ref = getattr(getattr(codes, scheme), attr)
    assert (ref.value, ref.scheme_designator, ref.meaning) == code


def test_level_codes_match_pydicom_snomed():
    from pydicom.sr.codedict import codes

    for level, (value, scheme, meaning) in C.LEVEL_CODES.items():
        if level == "S1":
            assert scheme == PRIVATE_SCHEME
            continue
        ref = getattr(codes.SCT, f"{level}Vertebra")
        assert (ref.value, ref.scheme_designator, ref.meaning) == (value, scheme, meaning)


def test_private_codes_fit_their_vr_and_are_documented():
    doc = (ROOT / "docs" / "sr.md").read_text(encoding="utf-8")
    assert PRIVATE_SCHEME.startswith("99")
    assert len(PRIVATE_SCHEME) <= 16
    for value, meaning in C.PRIVATE_CODES.items():
        assert 0 < len(value) <= 16
        assert "\\" not in value
        assert 0 < len(meaning) <= 64  # Code Meaning, LO
        assert f"`{value}`" in doc, f"docs/sr.md does not list private code {value}"


# -- bad input --------------------------------------------------------------------------
def test_mismatched_image_is_refused(exported, tmp_path):
    ls, _, _ = exported
    other, _ = make_image(ls)
    path = tmp_path / "other.dcm"
    other.save_as(path, enforce_file_format=True)
    with pytest.raises(SRError, match=r"placed on SOP Instance UID .*other\.dcm is 1\.") as err:
        build_sr(ls.replace(source="P007_post.landmarks.json"), path)
    assert "P007_post.landmarks.json" in str(err.value)
    assert isinstance(err.value, KyphoimgError)
    assert isinstance(err.value, ValueError)


def test_image_of_another_size_is_refused(exported):
    ls, ds, _ = exported
    unnamed = ls.replace(image=ImageRef(rows=ls.image.rows, columns=ls.image.columns))
    small = copy.deepcopy(ds)
    small.Rows = ls.image.rows - 1
    with pytest.raises(SRError, match=r"placed on a \d+x\d+ image, but"):
        build_sr(unnamed, small)


def test_non_image_sources_are_refused(tmp_path, exported):
    ls, _, sr = exported
    text = tmp_path / "notes.dcm"
    text.write_text("not a radiograph\n" * 10)
    with pytest.raises(SRError, match=r"notes\.dcm: not a DICOM file"):
        build_sr(ls, text)
    with pytest.raises(SRError, match="a structured report, not an image"):
        build_sr(ls, sr)
    with pytest.raises(SRError, match="cannot read the file"):
        build_sr(ls, tmp_path / "missing.dcm")


def test_invalid_landmarks_are_refused_before_any_dicom_work(exported):
    ls, ds, _ = exported
    pts = {lv: dict(p) for lv, p in ls.points.items()}
    pts["L1"]["ant_sup"] = (math.nan, 3.0)
    with pytest.raises(LandmarkError, match="not finite"):
        build_sr(ls.replace(points=pts), ds)


def test_frame_of_a_single_frame_image_is_refused(exported):
    ls, ds, _ = exported
    with pytest.raises(SRError, match=r"frame=1 but the image has 1 frame\(s\)"):
        build_sr(ls, ds, frame=1)


def test_finding_that_cannot_be_coded_is_refused(exported):
    ls, ds, _ = exported
    findings = {"L1": {"a_very_long_finding_name": "yes"}}
    with pytest.raises(SRError, match=r"level L1: finding name .* rename it"):
        build_sr(ls.replace(findings=findings), ds)


def test_custom_short_findings_survive(exported):
    ls, ds, _ = exported
    ls = ls.replace(findings={"L1": {"ivc": "no", "edema": "yes", "fx_age": "acute"}})
    back = import_sr(through_file(build_sr(ls, ds)))
    assert dict(back.findings["L1"]) == {"ivc": "no", "edema": "yes", "fx_age": "acute"}


def test_importing_an_image_is_refused(exported, tmp_path):
    _, ds, _ = exported
    path = tmp_path / "film.dcm"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(SRError, match=r"film\.dcm: not a structured report .*kyphoimg sr export"):
        import_sr(path)


def test_importing_another_tools_tid1500_report_is_refused(exported):
    import highdicom as hd
    from pydicom.sr.codedict import codes

    _, ds, _ = exported
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(identifier="lesion 1"),
        measurements=[hd.sr.Measurement(codes.DCM.Height, 12.0, codes.UCUM.Millimeter)],
    )
    report = hd.sr.MeasurementReport(
        hd.sr.ObservationContext(), codes.SCT.PlainRadiography, [group]
    )
    header = Dataset()
    header.update({e.tag: e for e in ds if e.tag.group < 0x7FE0})
    with pytest.warns(UserWarning, match="unlikely to represent the intended person name"):
        foreign = hd.sr.Comprehensive3DSR([header], report, hd.UID(), 1, hd.UID(), 1)
    with pytest.raises(SRError, match="a TID 1500 report, but not one written by kyphoimg"):
        import_sr(through_file(foreign))


def test_importing_other_sr_kinds_is_refused(exported):
    _, _, sr = exported
    basic = through_file(sr)
    basic.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    with pytest.raises(SRError, match="another kind"):
        import_sr(basic)
    untemplated = through_file(sr)
    del untemplated.ContentTemplateSequence
    with pytest.raises(SRError, match="not a TID 1500 Measurement Report"):
        import_sr(untemplated)


def test_source_dataset_is_not_modified():
    ds, ls = make_image(phantom_set())
    before = through_file(ds)
    build_sr(ls, ds)
    assert through_file(ds) == before
    assert "PixelData" in ds


def test_export_with_missing_type2_attributes_and_odd_sex():
    ds, ls = make_image(phantom_set(), PatientSex="U")
    for kw in ("PatientName", "PatientBirthDate", "AccessionNumber", "StudyDate", "StudyTime"):
        delattr(ds, kw)
    sr = through_file(build_sr(ls, ds))
    assert ds.PatientSex == "U"  # the caller's dataset keeps its value
    assert sr.PatientSex == ""
    assert sr.PatientID == "MRN-0042"
    assert max_point_error(ls, import_sr(sr)) <= TOL_PX


# -- many files --------------------------------------------------------------------------
def test_export_and_import_files_collect_failures(tmp_path):
    films = tmp_path / "dicom"
    films.mkdir()
    sets = []
    for i, (scheme, facing) in enumerate([("6pt", "right"), ("4pt", "left")]):
        ds, ls = make_image(phantom_set(scheme, facing).replace(patient_id=f"P{i}"))
        ds.save_as(films / f"film{i}.dcm", enforce_file_format=True)
        write_landmarks(ls, tmp_path / "lm" / f"P{i}_post.landmarks.json", touch=False)
        sets.append(ls)
    _, stray = make_image(phantom_set())  # its film is not in the folder
    write_landmarks(stray, tmp_path / "lm" / "stray.landmarks.json", touch=False)

    written, errors = export_sr_files([tmp_path / "lm"], [films], tmp_path / "sr")
    assert sorted(p.name for p in written) == ["P0_post.sr.dcm", "P1_post.sr.dcm"]
    assert list(errors.columns) == ["file", "level", "point", "error"]
    assert len(errors) == 1
    assert re.search(r"stray\.landmarks\.json: no DICOM image found", errors["error"][0])

    (tmp_path / "sr" / "junk.dcm").write_bytes(b"\0" * 200)
    landmarks, errors = import_sr_files([tmp_path / "sr"], tmp_path / "back")
    assert sorted(p.name for p in landmarks) == ["P0_post.landmarks.json", "P1_post.landmarks.json"]
    assert len(errors) == 1
    assert "junk.dcm: not a DICOM file" in errors["error"][0]
    from kyphoimg.landmarks import read_landmarks

    for ls, path in zip(sets, sorted(landmarks), strict=True):
        back = read_landmarks(path)
        assert max_point_error(ls, back) <= TOL_PX
        assert back.patient_id == ls.patient_id


# -- packaging -----------------------------------------------------------------------------
def test_importing_the_module_loads_neither_highdicom_nor_pydicom_sr():
    code = (
        "import sys, kyphoimg, kyphoimg.sr; "
        "bad = [m for m in ('highdicom', 'pydicom.sr.codedict') if m in sys.modules]; "
        "sys.exit(repr(bad) if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr + done.stdout
