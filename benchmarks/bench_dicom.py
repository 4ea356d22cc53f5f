"""P1 (header-only scan) and P2 (reading and displaying a 2k x 2k JPEG 2000 film).

P1: 2,000 synthetic lateral spine radiographs (kyphoimg.sample: 1024 x 800, 12-bit, the
sample cohort's mix of CR/DX, MONOCHROME1/2, uncompressed and JPEG 2000 lossless) are
written to a temporary folder. ``kyphoimg.scan`` of the folder is timed against three
baselines measured in the same run on the same files: a full ``pydicom.dcmread`` with the
pixel data decoded, ``dcmread`` without decoding, and walking the folder while reading the
first 8 KB of every file. The files have just been written, so all timings are with the
files in the page cache (warm). Peak traced memory (tracemalloc) of ``scan`` is reported for
2,000 and 10,000 files (the 10,000 are the 2,000 plus 8,000 hard links to them: the scan
opens each path; the headers are the same kind).

P2: ``read_radiograph`` + ``display()`` of one 2048 x 2048 JPEG 2000 lossless film against
the bare decoder call (``openjpeg.decode``) on the same codestream.

Protocol: ``run() -> list[dict]`` (see ``benchmarks/run.py``); nothing asserts.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import generate_uid

import kyphoimg
from kyphoimg.dicom._scan import scan_to_csv
from kyphoimg.sample import (
    FilmSpec,
    PatientSpec,
    film_calibration,
    radiograph_dataset,
    render_lateral,
    sample_patients,
    spine_phantom,
)

N_FILES = 2_000
N_FILES_MEMORY = 10_000
# (modality, photometric, transfer syntax) of the distinct films, cycled over the files
MIX = [
    ("CR", "MONOCHROME1", "j2k"),
    ("DX", "MONOCHROME2", "explicit"),
    ("DX", "MONOCHROME2", "j2k"),
    ("CR", "MONOCHROME1", "explicit"),
    ("DX", "MONOCHROME1", "j2k"),
    ("CR", "MONOCHROME2", "explicit"),
    ("CR", "MONOCHROME2", "j2k"),
    ("DX", "MONOCHROME2", "explicit"),
]


def _film(spec: PatientSpec, film: FilmSpec, seed: int) -> tuple[np.ndarray, pydicom.Dataset]:
    tags, cal = film_calibration(film)
    drawn, _ = spine_phantom(spec, film, cal, np.random.default_rng(seed))
    pixels = render_lateral(drawn, seed=seed, bmd_t_score=spec.bmd_t_score)
    return pixels, tags


def _templates() -> list[pydicom.Dataset]:
    """One encoded dataset per kind of film (J2K encoded once, reused by every copy)."""
    spec = sample_patients(1)[0]
    out = []
    for k, (modality, photometric, syntax) in enumerate(MIX):
        film = FilmSpec("pre", -1, modality=modality, photometric=photometric)
        pixels, tags = _film(spec, film, seed=100 + k)
        out.append(
            radiograph_dataset(
                pixels,
                patient_id="B0000",
                study_date=dt.date(2024, 1, 1),
                modality=modality,
                photometric=photometric,
                transfer_syntax=syntax,
                spacing_tags=tags,
                uid_seed=("bench", k),
            )
        )
    return out


def _write_files(folder: Path, n: int) -> list[Path]:
    templates = _templates()
    paths = []
    for i in range(n):
        ds = templates[i % len(templates)]
        pid = f"B{i // 4:04d}"
        ds.PatientID = pid
        ds.PatientName = f"SYNTHETIC^{pid}"
        ds.StudyDate = (dt.date(2024, 1, 1) + dt.timedelta(days=i % 700)).strftime("%Y%m%d")
        for kw in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            setattr(ds, kw, generate_uid(entropy_srcs=["kyphoimg-bench", str(i), kw]))
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        path = folder / pid / f"film{i % 4}.dcm"
        path.parent.mkdir(exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _timed(fn, repeat: int = 1) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _full_read(paths: list[Path]) -> None:
    for p in paths:
        pydicom.dcmread(p).pixel_array  # noqa: B018  (decoding is the point)


def _read_no_decode(paths: list[Path]) -> None:
    for p in paths:
        pydicom.dcmread(p)


def _walk_read_8kb(folder: Path) -> None:
    for dirpath, _, names in os.walk(folder):
        for name in names:
            with open(os.path.join(dirpath, name), "rb") as fh:
                fh.read(8192)


def _peak_scan(folder: Path) -> tuple[float, float]:
    """Peak traced memory of a scan, and the size of the table it returns (bytes)."""
    tracemalloc.start()
    try:
        index = kyphoimg.scan(folder, progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return float(peak), float(index.memory_usage(deep=True).sum())


def _peak_stream(folder: Path, out: Path) -> float:
    """Peak traced memory of ``kyphoimg scan DIR -o index.csv``: the index streamed to CSV."""
    tracemalloc.start()
    try:
        scan_to_csv(folder, out, progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return float(peak)


def _p1(folder: Path) -> list[dict]:
    t0 = time.perf_counter()
    paths = _write_files(folder, N_FILES)
    t_write = time.perf_counter() - t0
    size_gb = sum(p.stat().st_size for p in paths) / 1e9
    n_j2k = sum(1 for i in range(N_FILES) if MIX[i % len(MIX)][2] == "j2k")
    kyphoimg.scan(folder, progress=False)  # warm-up: imports, page cache
    kyphoimg.scan(folder, progress=False, jobs=2)
    t_scan, t_8kb, t_jobs = math.inf, math.inf, math.inf
    for _ in range(5):  # interleaved, best of 5: the machine is shared and noisy
        t_8kb = min(t_8kb, _timed(lambda: _walk_read_8kb(folder)))
        t_scan = min(t_scan, _timed(lambda: kyphoimg.scan(folder, progress=False)))
        t_jobs = min(t_jobs, _timed(lambda: kyphoimg.scan(folder, progress=False, jobs=2)))
    index = kyphoimg.scan(folder, progress=False)
    ok = int((index["status"] == "ok").sum())
    same = index.equals(kyphoimg.scan(folder, progress=False, jobs=2))
    t_nodecode = _timed(lambda: _read_no_decode(paths))
    t_full = _timed(lambda: _full_read(paths))

    mem_small, table_small = _peak_scan(folder)
    stream_small = _peak_stream(folder, folder.parent / "index.csv")
    links = folder / "links"
    links.mkdir()
    extra = N_FILES_MEMORY - N_FILES
    for j in range(extra):
        target = paths[j % N_FILES]
        link = links / f"copy{j // N_FILES}" / target.parent.name / target.name
        link.parent.mkdir(parents=True, exist_ok=True)
        os.link(target, link)
    mem_large, table_large = _peak_scan(folder)
    stream_large = _peak_stream(folder, folder.parent / "index.csv")

    files = (
        f"{N_FILES:,} files, {size_gb:.2f} GB ({n_j2k:,} JPEG 2000, {N_FILES - n_j2k:,} "
        f"uncompressed; written in {t_write:.0f} s), warm page cache; scan status ok: {ok:,}"
    )
    return [
        {
            "id": "P1",
            "metric": f"kyphoimg.scan of {N_FILES:,} radiographs vs full dcmread + pixel decode",
            "value": t_scan,
            "unit": "s",
            "baseline": t_full,
            "ratio": t_full / t_scan,
            "target": ">= 20x",
            "note": files,
        },
        {
            "id": "P1",
            "metric": f"kyphoimg.scan of {N_FILES:,} radiographs vs dcmread without decoding",
            "value": t_scan,
            "unit": "s",
            "baseline": t_nodecode,
            "ratio": t_nodecode / t_scan,
            "note": "baseline: pydicom.dcmread(path) (whole file read, pixel data not decoded)",
        },
        {
            "id": "P1",
            "metric": f"kyphoimg.scan of {N_FILES:,} radiographs vs walking the folder and "
            "reading the first 8 KB of each file",
            "value": t_scan,
            "unit": "s",
            "baseline": t_8kb,
            "ratio": t_8kb / t_scan,
            "target": "scan <= 3x the 8 KB read (ratio >= 0.33)",
            "note": f"serial scan is {t_scan / t_8kb:.1f}x the 8 KB read "
            f"({t_scan / N_FILES * 1e6:.0f} vs {t_8kb / N_FILES * 1e6:.0f} us per file); "
            "best of 5, interleaved",
        },
        {
            "id": "P1",
            "metric": f"kyphoimg.scan(jobs=2) of {N_FILES:,} radiographs vs walking the "
            "folder and reading the first 8 KB of each file",
            "value": t_jobs,
            "unit": "s",
            "baseline": t_8kb,
            "ratio": t_8kb / t_jobs,
            "target": "scan <= 3x the 8 KB read (ratio >= 0.33)",
            "note": f"2 worker processes: {t_jobs / t_8kb:.1f}x the (single-process) 8 KB "
            f"read, {t_scan / t_jobs:.2f}x faster than the serial scan; index identical to "
            f"the serial one: {same}; includes starting the workers",
        },
        {
            "id": "P1",
            "metric": f"peak traced memory of scan, {N_FILES_MEMORY:,} vs {N_FILES:,} files",
            "value": mem_large / 1e6,
            "unit": "MB",
            "baseline": mem_small / 1e6,
            "ratio": mem_small / mem_large,
            "note": f"tracemalloc peak {mem_small / 1e6:.1f} MB for {N_FILES:,} files, "
            f"{mem_large / 1e6:.1f} MB for {N_FILES_MEMORY:,}; the returned index itself is "
            f"{table_small / 1e6:.1f} MB and {table_large / 1e6:.1f} MB (deep), so the "
            f"working memory beyond it is {(mem_small - table_small) / 1e6:.1f} MB and "
            f"{(mem_large - table_large) / 1e6:.1f} MB; the 10,000 are the 2,000 plus hard links",
        },
        {
            "id": "P1",
            "metric": f"peak traced memory of the index streamed to CSV (kyphoimg scan -o "
            f"index.csv), {N_FILES_MEMORY:,} vs {N_FILES:,} files",
            "value": stream_large / 1e6,
            "unit": "MB",
            "baseline": stream_small / 1e6,
            "ratio": stream_small / stream_large,
            "target": "flat (ratio near 1)",
            "note": f"{stream_small / 1e6:.2f} MB and {stream_large / 1e6:.2f} MB: chunks of "
            "256 rows go to disk as they are made; what remains is one folder's sorted "
            "listing at a time (the 10,000-file tree has folders of 500 entries)",
        },
    ]


def _p2(folder: Path) -> list[dict]:
    spec = sample_patients(1)[0]
    film = FilmSpec(
        "pre",
        -1,
        modality="DX",
        photometric="MONOCHROME2",
        transfer_syntax="j2k",
        imager_spacing_mm=0.125,
        shape=(2048, 2048),
    )
    pixels, tags = _film(spec, film, seed=7)
    path = folder / "film2k.dcm"
    ds = radiograph_dataset(
        pixels,
        patient_id="B2K",
        study_date=dt.date(2024, 1, 1),
        modality="DX",
        transfer_syntax="j2k",
        spacing_tags=tags,
        uid_seed=("bench-2k",),
    )
    ds.save_as(path, enforce_file_format=True)
    import openjpeg
    from pydicom.encaps import generate_frames

    codestream = next(generate_frames(pydicom.dcmread(path).PixelData, number_of_frames=1))

    def ours() -> None:
        kyphoimg.read_radiograph(path).display()

    def bare() -> None:
        openjpeg.decode(codestream)

    ours(), bare()  # warm-up
    t_ours = _timed(ours, repeat=7)
    t_bare = _timed(bare, repeat=7)
    t_read = _timed(lambda: kyphoimg.read_radiograph(path), repeat=7)
    same = np.array_equal(kyphoimg.read_radiograph(path).pixels, openjpeg.decode(codestream))
    return [
        {
            "id": "P2",
            "metric": "read_radiograph + display() of a 2048 x 2048 JPEG 2000 lossless film "
            "vs the bare decoder call",
            "value": t_ours,
            "unit": "s",
            "baseline": t_bare,
            "ratio": t_bare / t_ours,
            "target": "<= 1.2x the decoder (ratio >= 0.83)",
            "note": f"ours is {t_ours / t_bare:.2f}x openjpeg.decode on the same codestream "
            f"({len(codestream) / 1e6:.2f} MB); read_radiograph alone {t_read * 1e3:.0f} ms; "
            f"pixels identical to the decoder's: {same}; best of 7",
        }
    ]


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="kyphoimg-bench-") as tmp:
        root = Path(tmp)
        (root / "p1").mkdir()
        rows = _p1(root / "p1")
        rows += _p2(root)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
