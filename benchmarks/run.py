"""Run every benchmark module and write ``bench_results.json``.

Each ``benchmarks/bench_*.py`` defines ``run() -> list[dict]``; each dict has the keys
``id`` (e.g. ``"P3"``), ``metric``, ``value``, ``unit``, ``baseline`` (the same metric
for the baseline measured in the same run), ``ratio`` (baseline / value for times, so
larger is better) and optionally ``target`` and ``note``. Figures are ratios against a
baseline measured in the same run because the machines are noisy; nothing here asserts.

Usage: ``python benchmarks/run.py [NAME ...]`` (module names without ``bench_``). Running
a subset replaces only those benchmarks' figures in ``bench_results.json``.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _number(row: dict) -> int:
    """The benchmark number of a figure ("P5" and "P5-gui" are 5); unnumbered ones last."""
    match = re.match(r"P(\d+)", str(row.get("id", "")))
    return int(match.group(1)) if match else 1_000


def main(argv: list[str]) -> int:
    wanted = set(argv)
    results: list[dict] = []
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if wanted and name not in wanted:
            continue
        print(f"== {path.name}", flush=True)
        t0 = time.perf_counter()
        rows = _load(path).run()
        for row in rows:
            ratio = row.get("ratio")
            target = f"  (target {row['target']})" if row.get("target") else ""
            print(
                f"  {row['id']:>4} {row['metric']}: {row['value']:.4g} {row['unit']}"
                f"  baseline {row['baseline']:.4g}  ratio {ratio:.1f}x{target}"
                if ratio is not None
                else f"  {row['id']:>4} {row['metric']}: {row['value']:.4g} {row['unit']}{target}"
            )
            if row.get("note"):
                print(f"       {row['note']}")
        print(f"  ({time.perf_counter() - t0:.1f} s)")
        results.extend(rows)
    out = Path.cwd() / "bench_results.json"
    if wanted and out.exists():  # a subset: keep the other benchmarks' figures
        fresh = {row["id"] for row in results}
        kept = [row for row in json.loads(out.read_text()) if row.get("id") not in fresh]
        results = sorted(kept + results, key=_number)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.name} ({len(results)} figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
