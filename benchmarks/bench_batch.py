"""P6: a decode-bound study run on 2 processes vs 1, and on a Dask LocalCluster.

A temporary study of JPEG 2000 lossless films (1600 x 1600, 12-bit texture) with landmark
files is run three times with `kyphoimg.batch.run_study` (no resume cache): serially,
with two worker processes, and on a two-worker Dask LocalCluster on loopback. The
per-film work is dominated by decoding, so the ratio shows how well the run scales on
this machine's cores. The three runs' features tables are compared before any time is
reported.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, generate_uid

from kyphoimg import write_landmarks
from kyphoimg.batch import RunOptions, run_study
from kyphoimg.landmarks import ImageRef
from kyphoimg.sample import lateral_phantom

N_PATIENTS = 8  # x 3 films
SIZE = 1600
CR = "1.2.840.10008.5.1.4.1.1.1"


def _film(path: Path, uid: str, pid: str, rng: np.random.Generator) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = CR, uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID, ds.PatientID = CR, uid, pid
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.Rows, ds.Columns = "CR", SIZE, SIZE
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.ImagerPixelSpacing = [0.15, 0.15]
    # Smooth anatomy-like background plus noise: compresses like a radiograph, not like noise.
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    img = 1800 + 900 * np.sin(6 * x + 3 * y) * np.cos(4 * y) + rng.normal(0, 40, (SIZE, SIZE))
    ds.PixelData = np.clip(img, 0, 4095).astype(np.uint16).tobytes()
    ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg", generate_instance_uid=False)
    ds.save_as(path, enforce_file_format=True)


def make_study(root: Path, n_patients: int = N_PATIENTS) -> None:
    rng = np.random.default_rng(6)
    for k in range(n_patients):
        pid = f"B{k:03d}"
        (root / pid).mkdir(parents=True)
        for tp, ha in (("pre", 14.0), ("post", 21.0), ("last", 19.5)):
            ph = lateral_phantom(
                ("T12", "L1", "L2"),
                heights_mm={"T12": (26, 25, 27), "L1": (ha, 20, 26), "L2": (28, 27, 29)},
                spacing=(0.15, 0.15),
                source="detector",
                patient_id=pid,
                timepoint=tp,
                index_levels=["L1"],
            )
            uid = generate_uid(entropy_srcs=[pid, tp])
            _film(root / pid / f"{tp}.dcm", uid, pid, rng)
            ls = ph.landmarks.replace(
                image=ImageRef(path=f"{tp}.dcm", sop_instance_uid=uid, rows=SIZE, columns=SIZE)
            )
            write_landmarks(ls, root / pid / f"{tp}.landmarks.json", touch=False)


def _timed(options: RunOptions) -> tuple[float, pd.DataFrame]:
    t0 = time.perf_counter()
    result = run_study(options)
    elapsed = time.perf_counter() - t0
    if not result.ok:
        raise RuntimeError(f"benchmark study failed: {result.errors}")
    return elapsed, result.features


def _peak_mb(options: RunOptions) -> float:
    """tracemalloc peak of a serial run (numpy pixel buffers are traced), in MB."""
    import tracemalloc

    tracemalloc.start()
    try:
        run_study(options)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def run() -> list[dict]:
    from dask.distributed import LocalCluster

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "study"
        make_study(root)
        n_films = 3 * N_PATIENTS
        base = dict(dicom_dir=root, resume=False)
        t1, f1 = _timed(RunOptions(output=Path(tmp) / "o1", jobs=1, **base))
        t2, f2 = _timed(RunOptions(output=Path(tmp) / "o2", jobs=2, **base))
        with LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster:
            td, fd = _timed(
                RunOptions(output=Path(tmp) / "od", scheduler=cluster.scheduler_address, **base)
            )
        pd.testing.assert_frame_equal(f1, f2)
        pd.testing.assert_frame_equal(f1, fd)
        # Memory: the same run on half the cohort; bounded memory means a flat peak.
        half = Path(tmp) / "half"
        make_study(half, N_PATIENTS // 2)
        m_half = _peak_mb(RunOptions(dicom_dir=half, output=Path(tmp) / "mh", resume=False))
        m_full = _peak_mb(RunOptions(dicom_dir=root, output=Path(tmp) / "mf", resume=False))
    cores = os.cpu_count()
    film_mb = SIZE * SIZE * 2 / 1e6
    return [
        {
            "id": "P6",
            "metric": f"study run, {n_films} JPEG 2000 films {SIZE}x{SIZE}, 2 processes",
            "value": t2,
            "unit": "s",
            "baseline": t1,
            "ratio": t1 / t2,
            "target": ">= 1.7x",
            "note": f"baseline: the same run serially; {cores} CPU cores; features identical",
        },
        {
            "id": "P6",
            "metric": "same run on a 2-worker Dask LocalCluster (loopback)",
            "value": td,
            "unit": "s",
            "baseline": t1,
            "ratio": t1 / td,
            "note": "includes the client connection; features identical to the serial run",
        },
        {
            "id": "P6",
            "metric": f"peak traced memory of a serial run, {n_films} films vs {n_films // 2}",
            "value": m_full,
            "unit": "MB",
            "baseline": m_half,
            "ratio": m_half / m_full,
            "target": "flat (ratio near 1)",
            "note": f"one decoded film is {film_mb:.1f} MB; keeping the pixels of the extra "
            f"{n_films // 2} films would add {n_films // 2 * film_mb:.0f} MB",
        },
    ]
