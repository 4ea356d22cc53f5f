"""Regenerate ``kyphoimg/assist/shape_model.json``, the shape model of ``from_centres``.

Usage (from the project root)::

    KYPHOIMG_VALIDATION_DATA=path/to/data python tools/shape_model.py

For every level, each point of a vertebra is expressed in the vertebra's own frame:
origin at its centre (mean of its four corners), ``a`` along the local spine axis
(caudal, from the centre above to the centre below), ``b`` across it (anterior on lateral
films, image right on AP films), both divided by the local centre spacing
(:func:`kyphoimg.assist._centres.centre_frames`). The model is the median over films.

Sources:

- ``ap4``: SpineWeb dataset 16 / AASCE 2019 training films with expert corners (Wu H,
  Bailey C, Rasoulinejad P, Li S. Automatic landmark estimation for adolescent idiopathic
  scoliosis assessment using BoostNet. MICCAI 2017, LNCS 10433:127-135), lines 1-150 of
  ``labels/training/filenames.csv`` only (the films ``refine`` was tuned on; lines
  151-481 are kept for evaluation). Made left-right symmetric (an AP vertebra is).
- ``6pt`` (and ``4pt``, its corners): the synthetic lateral series of
  :func:`kyphoimg.sample.lateral_series`, seeds 0-23 (index level T11, T12, L1, L2 in turn) (evaluation uses seeds 200 and up).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import scipy.io

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kyphoimg.assist import centre_frames  # noqa: E402
from kyphoimg.landmarks import SCHEMES, level_index  # noqa: E402

OUT = ROOT / "kyphoimg" / "assist" / "shape_model.json"
AP_LEVELS = tuple([f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)])
N_TRAIN = 150
LATERAL_SEEDS = range(24)
INDEX_LEVELS = ("T11", "T12", "L1", "L2")


def normalised(levels, pts: np.ndarray, mirror: bool) -> np.ndarray:
    """Points ``(n, k, 2)`` (row, col) in their frames, ``(n, k, 2)`` as (a, b)."""
    centres = pts[:, :4].mean(axis=1) if pts.shape[1] == 4 else pts[:, [0, 2, 3, 5]].mean(axis=1)
    axis, size = centre_frames(levels, centres)
    across = np.stack([-axis[:, 1], axis[:, 0]], axis=1)
    if mirror:
        across = -across
    d = pts - centres[:, None]
    a = np.einsum("nkd,nd->nk", d, axis) / size[:, None]
    b = np.einsum("nkd,nd->nk", d, across) / size[:, None]
    return np.stack([a, b], axis=-1)


def ap4_model(data: Path) -> dict:
    """Return the ap4 table from the AASCE training films 1-150, made symmetric."""
    root = data / "aasce"
    names = (root / "labels" / "training" / "filenames.csv").read_text().splitlines()[:N_TRAIN]
    rows = []
    for name in names:
        p2 = scipy.io.loadmat(str(root / "labels" / "training" / f"{name}.mat"))["p2"]
        pts = p2.astype(float).reshape(17, 4, 2)[..., ::-1]
        rows.append(normalised(AP_LEVELS, pts, mirror=False))
    med = np.median(np.stack(rows), axis=0)  # (17, 4, 2)
    # symmetric: left_sup <-> right_sup, left_inf <-> right_inf with b -> -b
    mirrored = med[:, [1, 0, 3, 2]] * np.array([1.0, -1.0])
    sym = (med + mirrored) / 2
    names4 = SCHEMES["ap4"]
    return {
        lv: {n: [round(float(v), 4) for v in sym[i, j]] for j, n in enumerate(names4)}
        for i, lv in enumerate(AP_LEVELS)
    }


def ap4_steps(data: Path) -> dict:
    """Return the median centre-to-centre step below each level, relative to the film's mean."""
    root = data / "aasce"
    names = (root / "labels" / "training" / "filenames.csv").read_text().splitlines()[:N_TRAIN]
    steps = []
    for name in names:
        p2 = scipy.io.loadmat(str(root / "labels" / "training" / f"{name}.mat"))["p2"]
        c = p2.astype(float).reshape(17, 4, 2).mean(axis=1)
        seg = np.hypot(*np.diff(c, axis=0).T)
        steps.append(seg / seg.mean())
    med = np.median(np.stack(steps), axis=0)
    return {lv: round(float(v), 4) for lv, v in zip(AP_LEVELS[:-1], med, strict=True)}


def lateral_model() -> dict:
    """Return the 6pt table from the synthetic lateral series (index levels left out)."""
    from kyphoimg.sample import lateral_series

    per_level: dict[str, list[np.ndarray]] = {}
    names6 = SCHEMES["6pt"]
    for seed in LATERAL_SEEDS:
        for film in lateral_series(seed, index_level=INDEX_LEVELS[seed % len(INDEX_LEVELS)]):
            ls = film.landmarks
            levels = [lv for lv in ls.levels if set(ls.points[lv]) == set(names6)]
            pts = ls.array(levels, names6)
            norm = normalised(levels, pts, mirror=film.facing == "left")
            for i, lv in enumerate(levels):
                if lv in ls.index_levels:
                    continue  # fractured or treated: not the shape of a normal vertebra
                per_level.setdefault(lv, []).append(norm[i])
    return {
        lv: {
            n: [round(float(v), 4) for v in np.median(np.stack(rows), axis=0)[j]]
            for j, n in enumerate(names6)
        }
        for lv, rows in sorted(per_level.items(), key=lambda kv: level_index(kv[0]))
    }


def main() -> int:
    """Write the model file."""
    data = Path(os.environ.get("KYPHOIMG_VALIDATION_DATA", ROOT / ".." / "shared" / "data"))
    model = {
        "format": "kyphoimg-shape-model/1",
        "frame": (
            "per level and point, [a, b]: a along the local spine axis (caudal, from the "
            "centre above to the centre below), b across it (anterior on lateral films, "
            "image right on AP films), both in units of the local centre-to-centre spacing "
            "per level step; origin at the vertebra's centre (mean of its four corners); "
            "medians over the source films"
        ),
        "source": {
            "ap4": (
                "SpineWeb dataset 16 / AASCE 2019 training films, expert corners (Wu et al., "
                "MICCAI 2017, LNCS 10433:127-135), filenames.csv lines 1-150 only; made "
                "left-right symmetric"
            ),
            "6pt": "kyphoimg.sample.lateral_series seeds 0-23 (index level T11, T12, L1, L2 in turn), index levels left out",
        },
        "steps_about": (
            "median distance from each level's centre to the next level's, relative to the "
            "film's mean step (AASCE films 1-150, T1-L4); used to space the levels between "
            "two clicks"
        ),
        "generator": "tools/shape_model.py",
        "steps": ap4_steps(data),
        "schemes": {"ap4": ap4_model(data), "6pt": lateral_model()},
    }
    text = json.dumps(model, indent=1)
    # one line per level: the table stays short and diffable
    text = re.sub(r"\[\s+(-?[\d.e-]+),\s+(-?[\d.e-]+)\s+\]", r"[\1, \2]", text)
    OUT.write_text(text + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
