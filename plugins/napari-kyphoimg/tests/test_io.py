"""Reader, writer and sample data as plain functions (no viewer)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from napari_kyphoimg import _files, _layerdata, _layers, _sample
from napari_kyphoimg._reader import dicom_files, napari_get_reader, read_dicom
from napari_kyphoimg._writer import write_landmarks_layer
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from kyphoimg import Calibration, LandmarkError, read_landmarks, read_radiograph, write_landmarks
from kyphoimg.landmarks import ImageRef


# ----------------------------------------------------------------------------- reader: refusals
@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", b"hello"),
        ("image.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200),
        ("empty.bin", b""),
        ("table.csv", b"a,b\n1,2\n"),
    ],
)
def test_reader_returns_none_for_non_dicom_files(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    assert napari_get_reader(str(path)) is None


def test_reader_returns_none_for_missing_paths_empty_folders_and_odd_input(tmp_path):
    assert napari_get_reader(str(tmp_path / "nope.dcm")) is None
    assert napari_get_reader(str(tmp_path)) is None
    assert napari_get_reader([]) is None
    assert napari_get_reader(None) is None  # type: ignore[arg-type]


def test_reader_never_raises_on_a_corrupt_dicom_named_file(tmp_path):
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"\x00" * 128 + b"DICM" + b"\x01\x02garbage")
    reader = napari_get_reader(str(bad))
    assert reader is read_dicom  # the name claims DICOM...
    assert reader(str(bad)) is None  # ...but nothing readable: None, not an exception


# ----------------------------------------------------------------------------- reader: films
def test_reader_opens_a_film_with_window_scale_and_metadata(film_file, truth):
    layers = napari_get_reader(str(film_file))(str(film_file))
    assert len(layers) == 1
    data, kwargs, kind = layers[0]
    assert kind == "image"
    rg = read_radiograph(film_file)
    np.testing.assert_array_equal(data, rg.pixels)
    (c, w, _), *_ = rg.voi.windows  # the window stored in the file
    assert kwargs["contrast_limits"] == [c - w / 2, c + w / 2]
    assert kwargs["colormap"] == "gray_r"  # MONOCHROME1: low values bright
    assert kwargs["scale"] == (0.25, 0.25)
    meta = kwargs["metadata"]["kyphoimg"]
    uid = truth.image.sop_instance_uid
    assert meta["role"] == "film"
    assert meta["sop_instance_uid"] == uid
    assert meta["calibration"] == {"row_mm": 0.25, "col_mm": 0.25, "source": "detector"}
    assert meta["timepoint"] == "pre"
    assert meta["patient_id"] == "P001"
    assert meta["path"] == str(film_file.resolve())
    assert kwargs["metadata"]["dicom"]["sop_instance_uid"] == uid
    assert kwargs["name"] == "P001/pre"


def test_monochrome1_film_is_shown_bone_bright(tmp_path, truth, write_film):
    path = write_film(
        tmp_path / "m1.dcm", truth, sop_instance_uid="1.2.9", photometric="MONOCHROME1"
    )
    data, kwargs, _ = read_dicom(str(path))[0]
    assert kwargs["colormap"] == "gray_r"
    # bone (inside a vertebral body) has low stored values but shows bright through gray_r
    r, c = np.mean(list(truth.points["L2"].values()), axis=0).astype(int)
    lo, hi = kwargs["contrast_limits"]
    shown = 1 - (data[r, c] - lo) / (hi - lo)
    background = 1 - (data[5, 5] - lo) / (hi - lo)
    assert shown > background + 0.2


def test_film_without_window_uses_percentiles_and_without_spacing_has_unit_scale(
    tmp_path, truth, write_film
):
    path = write_film(
        tmp_path / "x.dcm", truth, sop_instance_uid="1.2.8", window=None, spacing_tags={}
    )
    data, kwargs, _ = read_dicom(str(path))[0]
    lo, hi = kwargs["contrast_limits"]
    assert data.min() <= lo < hi <= data.max()
    assert kwargs["scale"] == (1.0, 1.0)
    assert kwargs["metadata"]["kyphoimg"]["calibration"]["source"] == "none"


def test_voi_lut_film_is_displayed_through_the_lut(tmp_path, truth, film_dataset):
    ds = film_dataset(truth, sop_instance_uid="1.2.7", window=None)
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 12]
    item.add_new(0x00283006, "US", list(range(4095, -1, -1)))  # LUT Data: an inverting LUT
    ds.VOILUTSequence = Sequence([item])
    path = tmp_path / "lut.dcm"
    ds.save_as(path, enforce_file_format=True)
    data, kwargs, _ = read_dicom(str(path))[0]
    assert kwargs["contrast_limits"] == [0.0, 1.0]
    assert data.dtype == np.float32
    np.testing.assert_allclose(data, read_radiograph(path).display("file"))


def test_reader_opens_folders_recursively_and_skips_unreadable_files(
    tmp_path, phantoms, write_film
):
    for i, (tp, ph) in enumerate(phantoms.items()):
        write_film(tmp_path / "P001" / f"{tp}.dcm", ph.landmarks, sop_instance_uid=f"1.2.3.{i}")
    (tmp_path / "P001" / "junk.dcm").write_bytes(b"not dicom at all")
    (tmp_path / "P001" / "notes.txt").write_text("x")
    (tmp_path / "P001" / ".hidden.dcm").write_bytes(b"x")
    assert [p.name for p in dicom_files(str(tmp_path))] == [
        "junk.dcm",
        "last.dcm",
        "post.dcm",
        "pre.dcm",
    ]
    layers = napari_get_reader(str(tmp_path))(str(tmp_path))
    assert [k["name"] for _, k, _ in layers] == ["P001/last", "P001/post", "P001/pre"]
    assert {k["metadata"]["kyphoimg"]["timepoint"] for _, k, _ in layers} == {"pre", "post", "last"}


def test_extensionless_part10_file_is_found_by_its_magic(tmp_path, truth, write_film):
    path = write_film(tmp_path / "IM0001", truth, sop_instance_uid="1.2.6")
    assert dicom_files(str(tmp_path)) == [path]
    assert read_dicom([str(path)])[0][1]["name"] == f"{tmp_path.name}/IM0001"


# ----------------------------------------------------------------------------- restore beside
def _saved(film_file, truth, **changes):
    image = ImageRef(
        path=film_file.name,
        sop_instance_uid=truth.image.sop_instance_uid,
        rows=truth.image.rows,
        columns=truth.image.columns,
    )
    ls = truth.replace(image=image, **changes)
    return write_landmarks(ls, _files.landmark_path_for(film_file))


def test_reader_restores_the_landmark_file_beside_the_film(film_file, truth):
    path = _saved(film_file, truth, calibration=Calibration(0.3, 0.3, "pixel_spacing"))
    film, points = read_dicom(str(film_file))
    data, kwargs, kind = points
    assert kind == "points"
    assert data.shape == (36, 2)
    lm = kwargs["metadata"]["kyphoimg"]
    assert lm["film_uid"] == film[1]["metadata"]["kyphoimg"]["uid"]
    assert lm["path"] == str(path)
    assert kwargs["scale"] == (0.25, 0.25)
    header = _layerdata.header_from_meta(lm["header"])
    # the DICOM's calibration wins over a non-user one in the file (DESIGN.md)
    assert header.calibration == Calibration(0.25, 0.25, "detector")
    ls = _layerdata.layer_to_landmarks(data, kwargs["features"], header)
    assert ls.points == truth.points
    assert ls.index_levels == ("L1",)


def test_a_user_calibration_in_the_file_becomes_the_films(film_file, truth):
    _saved(film_file, truth, calibration=Calibration(0.2, 0.2, "user"))
    film, points = read_dicom(str(film_file))
    assert film[1]["metadata"]["kyphoimg"]["calibration"]["source"] == "user"
    assert film[1]["scale"] == points[1]["scale"] == (0.2, 0.2)
    assert film[1]["metadata"]["kyphoimg"]["calibration_file"]["source"] == "detector"


def test_a_landmark_file_of_another_image_is_refused_with_a_clear_note(film_file, truth):
    ls = truth.replace(image=ImageRef(sop_instance_uid="9.9.9"))
    write_landmarks(ls, _files.landmark_path_for(film_file))
    layers = read_dicom(str(film_file))
    assert len(layers) == 1
    notes = layers[0][1]["metadata"]["kyphoimg"]["notes"]
    assert len(notes) == 1
    assert notes[0].startswith("landmarks not loaded: ")
    assert "placed on SOP Instance UID 9.9.9" in notes[0]  # kyphoimg's pairing message
    assert f"{film_file.resolve()} is {truth.image.sop_instance_uid}" in notes[0]


def test_an_unreadable_landmark_file_is_noted_not_raised(film_file):
    _files.landmark_path_for(film_file).write_text("{not json")
    layers = read_dicom(str(film_file))
    assert "not valid JSON" in layers[0][1]["metadata"]["kyphoimg"]["notes"][0]


# ----------------------------------------------------------------------------- writer
def test_writer_writes_the_landmark_file_atomically_with_a_relative_image_path(
    tmp_path, film_file, truth
):
    film, _ = read_dicom(str(film_file))[0], None
    meta = film[1]["metadata"]["kyphoimg"]
    header = truth.replace(image=ImageRef(sop_instance_uid=truth.image.sop_instance_uid))
    data, kwargs, _ = _layers.landmark_layer_data(header, meta, name="x")
    out = tmp_path / "elsewhere" / "pre.landmarks.json"
    written = write_landmarks_layer(
        str(out), data, {"metadata": kwargs["metadata"], "features": kwargs["features"]}
    )
    assert written == [str(out)]
    ls = read_landmarks(out)
    assert ls.image.path == "../P001/pre.dcm"
    assert ls.points == truth.points
    assert json.loads(out.read_text())["schema"] == "kyphoimg-landmarks/1"
    assert [p.name for p in out.parent.iterdir()] == ["pre.landmarks.json"]  # no temp file left


def test_writer_refuses_a_plain_points_layer(tmp_path):
    with pytest.raises(LandmarkError, match="no kyphoimg landmarks"):
        write_landmarks_layer(
            str(tmp_path / "x.json"), np.zeros((1, 2)), {"metadata": {}, "features": pd.DataFrame()}
        )


# ----------------------------------------------------------------------------- sample data
def test_sample_lateral_spine_is_a_generated_pre_post_last_set():
    films = _sample.sample_films()
    layers = _sample.lateral_spine()
    assert [(k["name"], t) for _, k, t in layers] == [
        ("P001/pre", "image"), ("P001/pre landmarks", "points"),
        ("P001/post", "image"), ("P001/post landmarks", "points"),
        ("P001/last", "image"), ("P001/last landmarks", "points"),
    ]  # fmt: skip
    pairs = zip(layers[::2], layers[1::2], films, strict=True)
    for (img, ik, _), (pts, pk, _), film in pairs:
        meta = ik["metadata"]["kyphoimg"]
        truth = film.phantom.landmarks
        assert meta["timepoint"] == film.timepoint
        assert "sample_dicom" not in meta["path"]
        assert img.shape == (truth.image.rows, truth.image.columns)
        assert meta["sop_instance_uid"] == truth.image.sop_instance_uid
        header = _layerdata.header_from_meta(pk["metadata"]["kyphoimg"]["header"])
        assert header.index_levels == truth.index_levels
        ls = _layerdata.layer_to_landmarks(pts, pk["features"], header)
        assert ls.points == truth.points


def test_sample_is_deterministic(tmp_path):
    a = _sample.sample_films(("pre",), folder=tmp_path / "a")[0]
    b = _sample.sample_films(("pre",), folder=tmp_path / "b")[0]
    assert a.dicom_path.read_bytes() == b.dicom_path.read_bytes()
    single = _sample.lateral_film()
    assert len(single) == 1
    assert single[0][2] == "image"
