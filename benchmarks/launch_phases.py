"""P7 launch, phase by phase: where the time from ``kyphoimg view STUDY --rater AB`` goes.

Not part of ``make bench``: a tool for whoever works on the launch. Each run is a fresh
interpreter launched the way ``bench_study`` launches one (wall clock from before the
process starts), timing the phases of ``kyphoimg view`` (interpreter start, the command
line's imports, napari's, the viewer, the study opened to the first film painted, the
deferred docks) and, with ``--profile``, printing cProfile's top functions of the launch.

Usage: ``python benchmarks/launch_phases.py STUDY [--runs N] [--profile]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

_CHILD = """
import json, sys, time
launched = float(sys.argv[2])
t = {"start": time.time() - launched}
profile = sys.argv[3] == "1"
if profile:
    import cProfile, pstats
    prof = cProfile.Profile(); prof.enable()
from kyphoimg.cli import main
t["kyphoimg.cli"] = time.time() - launched
import napari_kyphoimg
t["napari_kyphoimg"] = time.time() - launched
from napari_kyphoimg import _launch
new_viewer = _launch._new_viewer
def timed_viewer():
    t["import napari"] = time.time() - launched
    import napari  # noqa
    t["import napari"] = time.time() - launched
    v = new_viewer()
    t["viewer"] = time.time() - launched
    return v
_launch._new_viewer = timed_viewer
launch = napari_kyphoimg.launch
napari_kyphoimg.launch = lambda *a, **k: launch(*a, **{**k, "block": False})
code = main(["view", sys.argv[1], "--rater", "AB"])
t["open_study"] = time.time() - launched
import napari
from qtpy.QtWidgets import QApplication
viewer = napari.current_viewer()
drawn = []
def on_draw(_event=None):
    if not drawn:
        drawn.append(time.time() - launched)
        docks = set(viewer.window.dock_widgets)
        print("docked at the first draw:", sorted(docks), file=sys.stderr)
viewer.window._qt_viewer.canvas._scene_canvas.events.draw.connect(on_draw)  # napari's own
QApplication.processEvents()
t["event loop once"] = time.time() - launched
QApplication.processEvents()
t["event loop twice"] = time.time() - launched
t["(first canvas draw)"] = drawn[0] if drawn else float("nan")
if profile:
    prof.disable()
    pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
print(json.dumps(t))
"""


def run_once(study: str, profile: bool) -> dict[str, float]:
    """Launch one child and return the wall-clock time at the end of each phase."""
    env = {**os.environ, "NAPARI_ASYNC": "0"}
    launched = time.time()
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, study, str(launched), "1" if profile else "0"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=600,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    print(out.stderr.strip().splitlines()[-1] if not profile else out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Print a table: each phase's median end time and duration over ``--runs`` launches."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("study")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    a = p.parse_args()
    runs = [run_once(a.study, a.profile) for _ in range(a.runs)]
    print(f"load average {os.getloadavg()[0]:.2f}; {a.runs} runs; median seconds")
    previous = 0.0
    for phase in runs[0]:
        end = statistics.median(r[phase] for r in runs)
        if phase.startswith("("):
            print(f"{phase:20s} at   {end:6.2f}")
            continue
        print(f"{phase:20s} ends {end:6.2f}  takes {end - previous:5.2f}")
        previous = end


if __name__ == "__main__":
    main()
