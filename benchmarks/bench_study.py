"""P7: a reading session on a 160-patient study (480 films) in napari.

The study is the bundled sample cohort's 12 films copied to 160 patients x pre/post/last,
each copy with its own Patient ID and UIDs (pydicom), so the worklist sees 480 distinct
films (``KYPHOIMG_BENCH_P7_PATIENTS`` and ``KYPHOIMG_BENCH_P7_SWITCHES`` make a quick run
smaller). Each measurement runs in a fresh interpreter on the virtual screen, so its peak
RSS is its own:

- ``open_study`` until the first film is shown (target <= 3 s);
- switching to the next film, median of 20 switches (target <= 300 ms), for a new reader
  (no landmark files yet) and for a reader whose 36 points per film are loaded; the
  latter against the same switches done by removing the layers and adding the next
  film's (``ReadingSession.in_place = read_ahead = False``, the way before), in the same run;
- peak RSS of the session after those switches (target <= 1 GB): ``VmHWM`` of the child's
  own ``/proc/self/status`` (``ru_maxrss`` is not the child's own: on Linux it survives
  fork + exec, so a child started by a big runner reads the runner's peak), and that of
  the process the session reads the next film in (``napari_kyphoimg._ahead``);
- the time from launching ``python -m kyphoimg view STUDY --rater AB`` to the first film
  shown, imports included (target <= 3 s), against ``import napari`` and an empty
  ``napari.Viewer`` shown, launched the same way in the same run;
- baseline, as the plugin did before the worklist: napari opens the study folder with
  the kyphoimg reader, every film at once. It is measured on the first 20 patients (60
  films) to keep the run short; its time, and its memory above that of the empty
  viewer, are scaled to 480 films linearly (the note says so); the ratio compares that
  with the session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A quick run on a loaded machine: KYPHOIMG_BENCH_P7_PATIENTS=20 KYPHOIMG_BENCH_P7_SWITCHES=10
PATIENTS = int(os.environ.get("KYPHOIMG_BENCH_P7_PATIENTS", "160"))
BASELINE_PATIENTS = min(20, PATIENTS)
SWITCHES = int(os.environ.get("KYPHOIMG_BENCH_P7_SWITCHES", "20"))


def make_study(root: Path, patients: int = PATIENTS) -> Path:
    """Copy the sample cohort's films to ``patients`` patients with distinct ids and UIDs."""
    import pydicom
    from pydicom.uid import generate_uid

    sample = ROOT / "sample_dicom"
    sources = sorted(sample.glob("P00*"))
    for i in range(patients):
        src = sources[i % len(sources)]
        pid = f"S{i + 1:03d}"
        (root / pid).mkdir(parents=True, exist_ok=True)
        for tp in ("pre", "post", "last"):
            ds = pydicom.dcmread(src / f"{tp}.dcm")
            ds.PatientID = pid
            ds.StudyInstanceUID = generate_uid(entropy_srcs=[pid])
            ds.SeriesInstanceUID = generate_uid(entropy_srcs=[pid, tp])
            ds.SOPInstanceUID = generate_uid(entropy_srcs=[pid, tp, "sop"])
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.save_as(root / pid / f"{tp}.dcm")
            data = json.loads((src / f"{tp}.landmarks.json").read_text())  # reader GT's file
            data["patient_id"] = pid
            data["image"]["sop_instance_uid"] = str(ds.SOPInstanceUID)
            (root / pid / f"{tp}.landmarks.json").write_text(json.dumps(data))
    return root


_PEAK = """
def peak_rss(pid="self"):
    # a process's own peak (VmHWM), not ru_maxrss, which a child inherits from its parent
    with open("/proc/" + str(pid) + "/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0
"""

_SESSION = (
    _PEAK
    + """
import json, statistics, sys, time
t0 = time.perf_counter()
import napari
from napari_kyphoimg import open_study
from qtpy.QtWidgets import QApplication
viewer = napari.Viewer(show=True)
t_viewer = time.perf_counter()
session = open_study(viewer, sys.argv[1], rater=sys.argv[2])
QApplication.processEvents()
first = time.perf_counter() - t_viewer
session.in_place = session.read_ahead = {in_place}
switch, cpu = [], []
for _ in range({switches}):
    t, c = time.perf_counter(), time.process_time()
    session.next()
    QApplication.processEvents()
    switch.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)
films = sum(1 for l in viewer.layers if l.metadata.get("kyphoimg", {{}}).get("role") == "film")
rss = peak_rss()
from napari_kyphoimg._ahead import shared_reader
ahead_rss = peak_rss(shared_reader().pid) if shared_reader().pid else 0
viewer.close()  # left open, napari's teardown at exit can crash (-11) after the figures
print(json.dumps({{"first_s": first, "switch_s": statistics.median(switch), "rss": rss,
                   "ahead_rss": ahead_rss,
                   "switch_cpu_s": statistics.median(cpu),
                   "films_on_canvas": films, "worklist": len(session.worklist),
                   "import_s": t_viewer - t0}}))
"""
)

_BASELINE = (
    _PEAK
    + """
import json, sys, time
import napari
from qtpy.QtWidgets import QApplication
viewer = napari.Viewer(show=True)
for name in ("Landmarks", "Measurements"):
    viewer.window.add_plugin_dock_widget("napari-kyphoimg", name)
empty = peak_rss()
t = time.perf_counter()
viewer.open(sys.argv[1], plugin="napari-kyphoimg")
QApplication.processEvents()
elapsed = time.perf_counter() - t
rss = peak_rss()
films = sum(1 for l in viewer.layers if l.metadata.get("kyphoimg", {}).get("role") == "film")
viewer.close()
print(json.dumps({"open_s": elapsed, "rss": rss, "empty_rss": empty, "films": films}))
"""
)


# ``kyphoimg view STUDY --rater AB`` as typed, except that the window stays open without
# an event loop: the film shown, the child reports the time since it was launched.
_VIEW = """
import json, sys, time
launched = float(sys.argv[3])
import napari_kyphoimg
from kyphoimg.cli import main
launch = napari_kyphoimg.launch
napari_kyphoimg.launch = lambda *a, **k: launch(*a, **{**k, "block": False})
code = main(["view", sys.argv[1], "--rater", sys.argv[2]])
from qtpy.QtWidgets import QApplication
QApplication.processEvents()
first = time.time() - launched
import napari
napari.current_viewer().close()
print(json.dumps({"first_s": first, "code": code}))
"""

# The floor of any napari application here: ``import napari`` and an empty viewer shown
# (its window drawn), launched the same way.
_EMPTY_VIEWER = """
import json, sys, time
launched = float(sys.argv[1])
import napari
from qtpy.QtWidgets import QApplication
viewer = napari.Viewer(title="kyphoimg")
QApplication.processEvents()
shown = time.time() - launched
viewer.close()
print(json.dumps({"viewer_s": shown}))
"""


# The floor of showing this film in napari: ``import napari``, an empty viewer and the same
# film's pixels (saved as .npy by the runner, so no DICOM reader is imported) added as an
# image and shown: napari's first image layer (its unit registry, the SciPy import of the
# thumbnail) is in it, as it is in the launch.
_FIRST_IMAGE = """
import json, sys, time
launched = float(sys.argv[3])
import numpy as np
import napari
from qtpy.QtWidgets import QApplication
viewer = napari.Viewer(title="kyphoimg")
data = np.load(sys.argv[1])
lo, hi = (float(v) for v in sys.argv[2].split(","))
viewer.add_image(data, name="film", contrast_limits=(lo, hi))
QApplication.processEvents()
shown = time.time() - launched
viewer.close()
print(json.dumps({"image_s": shown}))
"""


def _first_film_array(study: Path, out: Path) -> tuple[Path, str]:
    """Save the pixels of the film a new reader is shown first; return it and its range."""
    import numpy as np

    from kyphoimg import read_radiograph
    from kyphoimg.study import open_worklist

    worklist = open_worklist(study, rater="AB")
    entry = worklist.next(unannotated=True) or worklist[0]
    pixels = read_radiograph(entry.film_path).pixels
    np.save(out, pixels)
    return out, f"{float(pixels.min())},{float(pixels.max())}"


def _launched(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter, passing it the wall-clock time of the launch."""
    env = {**os.environ, "NAPARI_ASYNC": "0"}
    launched = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code, *args, str(launched)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run(code: str, folder: Path, *args: str) -> dict:
    env = {**os.environ, "NAPARI_ASYNC": "0"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(folder), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=1800,
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> list[dict]:
    """Measure P7 (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        study = make_study(Path(tmp) / "study")
        small = Path(tmp) / "baseline"
        small.mkdir()
        for pid in sorted(p.name for p in study.iterdir())[:BASELINE_PATIENTS]:
            shutil.copytree(study / pid, small / pid)
        session = _SESSION.format(switches=SWITCHES, in_place=True)
        replacing = _SESSION.format(switches=SWITCHES, in_place=False)  # the way before
        s = _run(session, study, "AB")  # a new reader: no files
        r = _run(session, study, "ground_truth")  # 36 points a film
        r0 = _run(replacing, study, "ground_truth")
        b = _run(_BASELINE, small)
        array, limits = _first_film_array(study, Path(tmp) / "first.npy")
        v = _launched(_VIEW, str(study), "AB")
        empty = _launched(_EMPTY_VIEWER)
        image = _launched(_FIRST_IMAGE, str(array), limits)
    scale = (PATIENTS * 3) / max(b["films"], 1)
    base_open = b["open_s"] * scale
    base_rss = b["empty_rss"] + (b["rss"] - b["empty_rss"]) * scale  # the films' share scales
    note = (
        f"baseline: all films opened at once, measured on {b['films']} films "
        f"({b['open_s']:.1f} s, {b['rss'] / 2**20:.0f} MiB) and scaled x{scale:.0f} to "
        f"{PATIENTS * 3}; session kept {s['films_on_canvas']} film(s) on the canvas"
    )
    return [
        {
            "id": "P7",
            "metric": f"open_study to first film ({s['worklist']} films)",
            "value": s["first_s"],
            "unit": "s",
            "baseline": base_open,
            "ratio": base_open / s["first_s"],
            "target": "<= 3 s",
            "note": note,
        },
        {
            "id": "P7",
            "metric": f"switch to the next film (median of {SWITCHES})",
            "value": s["switch_s"] * 1000,
            "unit": "ms",
            "baseline": None,
            "ratio": None,
            "target": "<= 300 ms",
        },
        {
            "id": "P7",
            "metric": f"switch to the next film with its 36 landmarks (median of {SWITCHES})",
            "value": r["switch_s"] * 1000,
            "unit": "ms",
            "baseline": r0["switch_s"] * 1000,
            "ratio": r0["switch_s"] / r["switch_s"],
            "target": "<= 300 ms",
            "note": (
                "layers updated in place, the next film read ahead in another process; "
                "baseline: the same switches removing the layers and adding the next film's, "
                "read when shown (as before). "
                f"CPU time (all threads) of the switch: "
                f"{r['switch_cpu_s'] * 1000:.0f} ms in place, {r0['switch_cpu_s'] * 1000:.0f} "
                f"ms replacing; {PATIENTS * 3} films"
            ),
        },
        {
            "id": "P7",
            "metric": f"launch 'kyphoimg view STUDY --rater AB' to first film ({s['worklist']} "
            "films, imports included)",
            "value": v["first_s"],
            "unit": "s",
            "baseline": empty["viewer_s"],
            "ratio": empty["viewer_s"] / v["first_s"],
            "target": "<= 3 s",
            "note": "baseline: launching 'import napari' and an empty napari.Viewer shown, the "
            "same way in the same run (the floor of any napari window on this machine); "
            f"against napari showing the same film: {image['image_s']:.2f} s, "
            f"ratio {image['image_s'] / v['first_s']:.2f}",
        },
        {
            "id": "P7",
            "metric": "launch 'kyphoimg view STUDY --rater AB' to first film, against napari "
            "showing the same film",
            "value": v["first_s"],
            "unit": "s",
            "baseline": image["image_s"],
            "ratio": image["image_s"] / v["first_s"],
            "target": "<= 3 s",
            "note": "baseline: launching 'import napari', an empty napari.Viewer and "
            "viewer.add_image of the same film's pixels shown, the same way in the same run "
            "(napari's first image layer included: the floor of showing this film in napari); "
            f"against the empty viewer: {empty['viewer_s']:.2f} s",
        },
        {
            "id": "P7",
            "metric": "peak RSS of the session",
            "value": s["rss"] / 2**20,
            "unit": "MiB",
            "baseline": base_rss / 2**20,
            "ratio": base_rss / s["rss"],
            "target": "<= 1024 MiB",
            "note": "VmHWM of the session's own process (the baseline's likewise); the "
            f"process reading the next film ahead: {s['ahead_rss'] / 2**20:.0f} MiB more",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
