"""End-to-end study runs: pairing, corrupted inputs, executors, resume, pseudonymisation."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from kyphoimg import write_landmarks
from kyphoimg.batch import RunOptions, run_study
from kyphoimg.cli import main
from kyphoimg.sample import lateral_phantom

CR_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
NAMES = {"S01": "Doe^Jane", "S02": "Roe^Richard", "S03": "Poe^Edgar", "S04": "Moe^Mary"}
BIRTH = {"S01": "19410203", "S02": "19380405", "S03": "19500607", "S04": "19451111"}
HEIGHTS = {"pre": (14.0, 17.0, 25.0), "post": (21.0, 22.0, 26.0), "last": (19.0, 20.5, 25.5)}


def write_film(
    path: Path, rows: int, cols: int, *, pid: str, uid: str, spacing: float, date: str
) -> None:
    """A minimal CR film with a patient's direct identifiers in the header."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CR_STORAGE
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CR_STORAGE, uid
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.PatientName, ds.PatientBirthDate = pid, NAMES[pid], BIRTH[pid]
    ds.PatientAddress = f"{pid} Elm Street 12, Springfield"
    ds.StudyDate = ds.AcquisitionDate = date
    ds.Modality, ds.ViewPosition, ds.BodyPartExamined = "CR", "LL", "SPINE"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.ImagerPixelSpacing = [spacing, spacing]
    rng = np.random.default_rng(int(uid.split(".")[-1]) % 2**32)
    ds.PixelData = rng.integers(0, 4096, size=(rows, cols), dtype=np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


def make_study(root: Path, patients=("S01", "S02", "S03", "S04")) -> dict[str, dict[str, Path]]:
    """Patients x pre/post/last films with exact landmark files beside them."""
    files: dict[str, dict[str, Path]] = {}
    dates = {"pre": "20250101", "post": "20250103", "last": "20250701"}
    for k, pid in enumerate(patients):
        folder = root / pid
        folder.mkdir(parents=True)
        files[pid] = {}
        for tp, (ha, hm, hp) in HEIGHTS.items():
            ph = lateral_phantom(
                ("T12", "L1", "L2"),
                heights_mm={"T12": (26, 25, 27), "L1": (ha + k * 0.5, hm, hp), "L2": (28, 27, 29)},
                disc_angle_deg=2.0 + k,
                spacing=(0.5, 0.5),
                source="detector",
                facing="left" if k % 2 else "right",
                patient_id=pid,
                timepoint=tp,
                index_levels=["L1"],
                image_path=f"{tp}.dcm",
                margin_px=20,
            )
            ls = ph.landmarks
            uid = generate_uid(entropy_srcs=[pid, tp])
            write_film(
                folder / f"{tp}.dcm",
                ls.image.rows,
                ls.image.columns,
                pid=pid,
                uid=uid,
                spacing=0.5,
                date=dates[tp],
            )
            ls = ls.replace(
                image=ls.image.__class__(
                    path=f"{tp}.dcm",
                    sop_instance_uid=uid,
                    rows=ls.image.rows,
                    columns=ls.image.columns,
                )
            )
            write_landmarks(ls, folder / f"{tp}.landmarks.json", touch=False)
            files[pid][tp] = folder / f"{tp}.dcm"
    return files


def checksums(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("study")
    make_study(root)
    return root


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """A 20-film study where a few inputs are broken: truncated DICOM, not DICOM, missing point."""
    root = tmp_path_factory.mktemp("corrupt")
    NAMES.update({f"C{i:02d}": f"Name^C{i:02d}" for i in range(6)})
    BIRTH.update({f"C{i:02d}": "19400101" for i in range(6)})
    make_study(root, patients=tuple(f"C{i:02d}" for i in range(6)))
    bad = {}
    trunc = root / "C01" / "post.dcm"
    trunc.write_bytes(trunc.read_bytes()[: len(trunc.read_bytes()) // 2])
    bad["truncated"] = trunc
    junk = root / "C02" / "notes.dcm"
    junk.write_text("this is not a DICOM file", encoding="utf-8")
    bad["not_dicom"] = junk
    lf = root / "C03" / "last.landmarks.json"
    data = json.loads(lf.read_text(encoding="utf-8"))
    del data["points"]["L1"]["ant_sup"]
    lf.write_text(json.dumps(data), encoding="utf-8")
    bad["missing_point"] = lf
    return root, bad


def test_run_measures_a_clean_study(study: Path, tmp_path: Path) -> None:
    before = checksums(study)
    result = run_study(
        RunOptions(dicom_dir=study, output=tmp_path / "out", formats=("csv", "parquet", "xlsx"))
    )
    assert result.ok, result.errors
    assert result.summary.films_measured == 12
    assert result.summary.treated_vertebrae == 4
    assert set(result.measures["spacing_source"]) == {"detector"}  # re-derived from the DICOM
    f = result.features.set_index("patient_id").loc["S01"]
    # S01 (k=0): Ha pre 14, post 21, neighbours' mean Ha 27
    assert f["ahr_pct_pre"] == pytest.approx(100 * 14 / 27)
    assert f["height_loss_pct"] == pytest.approx(100 * (21 - 19) / 21)
    for name in ("measures", "images", "features"):
        for ext in ("csv", "parquet", "xlsx"):
            assert (tmp_path / "out" / f"{name}.{ext}").is_file()
        assert (tmp_path / "out" / f"{name}.dictionary.csv").is_file()
    films = pd.read_csv(tmp_path / "out" / "films.csv")
    assert set(films["paired_by"]) == {"sop_instance_uid"}
    assert checksums(study) == before  # inputs untouched


def test_corrupted_inputs_are_reported_and_everything_else_measured(
    corrupted, tmp_path: Path
) -> None:
    root, bad = corrupted
    before = checksums(root)
    out = tmp_path / "out"
    code = main(["run", str(root), "-o", str(out)])
    assert code == 1
    errors = pd.read_csv(out / "errors.csv")
    text = " ".join(errors["error"])
    assert str(bad["truncated"]) in text
    assert str(bad["missing_point"]) in text
    assert "point ant_sup" in text
    scan_rows = pd.read_csv(out / "films.csv").set_index("dicom")
    # 18 films: one truncated, one measured without its missing point, 16 measured in full
    assert scan_rows["status"].value_counts().to_dict() == {
        "measured": 16,
        "incomplete": 1,
        "unreadable": 1,
        "not_dicom": 1,
    }
    assert scan_rows.loc["C03/last.dcm", "status"] == "incomplete"
    assert "level L1, point ant_sup" in scan_rows.loc["C03/last.dcm", "reason"]
    assert scan_rows.loc["C01/post.dcm", "status"] == "unreadable"
    # A .dcm that is not DICOM is listed with its reason and a warning, not as a failure.
    assert "not DICOM" in scan_rows.loc["C02/notes.dcm", "reason"]
    assert any(e.startswith("warning: ") and "notes.dcm" in e for e in errors["error"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["not_dicom_files"] == 1
    assert summary["films_measured"] == 17  # the incomplete film's other points are measured
    assert checksums(root) == before


def test_executors_give_identical_results(study: Path, tmp_path: Path) -> None:
    serial = run_study(RunOptions(dicom_dir=study, output=tmp_path / "a", resume=False))
    procs = run_study(RunOptions(dicom_dir=study, output=tmp_path / "b", jobs=2, resume=False))
    pd.testing.assert_frame_equal(serial.measures, procs.measures)
    pd.testing.assert_frame_equal(serial.features, procs.features)
    assert procs.summary.executor == "processes:2"


@pytest.mark.slow
def test_dask_local_cluster_gives_identical_results(study: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    serial = run_study(RunOptions(dicom_dir=study, output=tmp_path / "a", resume=False))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        dask = run_study(
            RunOptions(
                dicom_dir=study,
                output=tmp_path / "d",
                scheduler=cluster.scheduler_address,
                resume=False,
            )
        )
    pd.testing.assert_frame_equal(serial.measures, dask.measures)
    pd.testing.assert_frame_equal(serial.features, dask.features)
    assert dask.summary.executor.startswith("dask:tcp://127.0.0.1")


def test_interrupted_run_resumes_from_cache(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_study(RunOptions(dicom_dir=study, output=out))
    assert first.summary.films_from_cache == 0
    # Simulate an interruption: drop half of the cached film results.
    cached = sorted((out / ".kyphoimg-cache").glob("*.json"))
    for p in cached[::2]:
        p.unlink()
    second = run_study(RunOptions(dicom_dir=study, output=out))
    assert second.summary.films_from_cache == len(cached) - len(cached[::2])
    pd.testing.assert_frame_equal(first.features, second.features)
    # A changed landmark file is recomputed, not taken from the cache.
    lf = study / "S01" / "pre.landmarks.json"
    original = lf.read_text()
    try:
        lf.write_text(original.replace('"rater": "phantom"', '"rater": "reader2"'))
        third = run_study(RunOptions(dicom_dir=study, output=out))
        assert third.summary.films_from_cache == 11
        assert "reader2" in set(third.measures["rater"])
    finally:
        lf.write_text(original)


def test_pseudonymised_outputs_carry_no_identifiers(study: Path, tmp_path: Path) -> None:
    clinical = tmp_path / "clinical.csv"
    pd.DataFrame(
        {
            "patient_id": list(NAMES)[:4],
            "Patient Name": [NAMES[p] for p in list(NAMES)[:4]],
            "birth_date": [BIRTH[p] for p in list(NAMES)[:4]],
            "age": [80, 82, 70, 75],
        }
    ).to_csv(clinical, index=False)
    out = tmp_path / "out"
    code = main(
        [
            "run",
            str(study),
            "-o",
            str(out),
            "--clinical",
            str(clinical),
            "--pseudonymise",
            "--salt",
            "pepper",
            "--format",
            "csv,xlsx,parquet",
        ]
    )
    assert code == 0
    identifiers = set()
    for dcm in study.rglob("*.dcm"):
        ds = pydicom.dcmread(dcm, stop_before_pixels=True)
        identifiers |= {
            str(ds.PatientName),
            str(ds.PatientName).replace("^", " "),
            ds.PatientBirthDate,
            ds.PatientID,
            str(ds.PatientAddress),
        }
    identifiers |= {"Doe", "Roe"}
    outputs = [
        p
        for p in out.rglob("*")
        if p.is_file() and "keys" not in p.parts and ".kyphoimg-cache" not in p.parts
    ]
    assert outputs
    for p in outputs:
        if p.suffix == ".parquet":
            text = pd.read_parquet(p).to_csv()
        elif p.suffix == ".xlsx":
            text = "".join(
                pd.read_excel(p, sheet_name=None)[s].to_csv()
                for s in pd.read_excel(p, sheet_name=None)
            )
        else:
            text = p.read_text(encoding="utf-8")
        for ident in identifiers:
            assert ident not in text, f"{ident!r} found in {p}"
    keys = pd.read_csv(out / "keys" / "pseudonym_key.csv", dtype=str)
    assert set(keys["patient_id"]) == set(list(NAMES)[:4])
    features = pd.read_csv(out / "features.csv", dtype={"patient_id": str})
    assert set(features["patient_id"]) == set(keys["pseudonym"])
    assert features["age"].notna().all()  # the clinical data joined before pseudonymisation


def test_study_toml(study: Path, tmp_path: Path) -> None:
    toml = tmp_path / "study.toml"
    toml.write_text(
        f'[run]\ndicom_dir = "{study}"\noutput = "out"\nformats = ["csv"]\njobs = 1\n',
        encoding="utf-8",
    )
    assert main(["run", str(toml)]) == 0
    assert (tmp_path / "out" / "features.csv").is_file()
    toml.write_text('[run]\ndicom_dir = "x"\ncolour = "blue"\n', encoding="utf-8")
    assert main(["run", str(toml)]) == 2


def test_run_result_tables_are_the_pseudonymised_ones(study: Path, tmp_path: Path) -> None:
    """What run_study returns is what it wrote: no real patient id in either."""
    result = run_study(RunOptions(dicom_dir=study, output=tmp_path / "out", pseudonymise=True))
    written = pd.read_csv(tmp_path / "out" / "measures.csv", dtype=str)
    real = set(NAMES)
    assert len(result.measures) > 0
    assert not real & set(result.measures["patient_id"])
    assert not real & set(result.films["patient_id"].dropna())
    assert set(result.measures["patient_id"]) == set(written["patient_id"])


def test_two_readers_files_never_collide_and_rater_picks_one(tmp_path: Path) -> None:
    """A second reader's files sit beside the first's; run measures the reader asked for."""
    import shutil

    from kyphoimg import read_landmarks

    root = tmp_path / "study"
    shutil.copytree(Path(__file__).resolve().parents[1] / "sample_dicom", root)
    for lf in sorted(root.glob("P00[12]/*.landmarks.json")):
        ls = read_landmarks(lf)
        moved = {
            lv: {k: (r + 2.0, c) for k, (r, c) in pts.items()} for lv, pts in ls.points.items()
        }
        write_landmarks(
            ls.replace(rater="AB", points=moved),
            lf.with_name(lf.name.replace(".landmarks", ".AB.landmarks")),
        )
    first = run_study(RunOptions(dicom_dir=root, output=tmp_path / "a"))
    assert first.ok, first.errors
    assert first.summary.films_measured == 12
    assert set(first.measures["rater"]) == {"ground_truth"}
    second = run_study(RunOptions(dicom_dir=root, output=tmp_path / "b", rater="AB"))
    assert second.ok, second.errors
    assert second.summary.films_measured == 6
    assert set(second.measures["rater"]) == {"AB"}
    assert second.summary.films_not_annotated == 6
