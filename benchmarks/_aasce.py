"""What the AASCE benchmarks share (``bench_assist``, ``bench_centres``): the films, the split,
the corner arrays, the Cobb angles, the challenge's error and the worker pool.

Not a benchmark itself (``run.py`` runs ``bench_*.py`` only); imported by name, which
works because ``run.py`` (and a benchmark run as a script) has this folder on
``sys.path``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import types
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import scipy.io

from kyphoimg.coronal import aasce_cobb_angles
from kyphoimg.landmarks import SCHEMES

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / os.environ.get("KYPHOIMG_VALIDATION_DATA", "../shared/data")
#: Lines 1-150 of filenames.csv: ``refine`` was tuned and the ``ap4`` shape model built
#: on them; every reported figure is on the others (held out).
N_DEVELOPMENT = 150
AP_LEVELS = tuple([f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)])
AP4 = SCHEMES["ap4"]
WORKERS = 2


def aasce_names() -> list[str]:
    """The training split's film names, in ``filenames.csv`` order."""
    return (DATA / "aasce" / "labels" / "training" / "filenames.csv").read_text().splitlines()


def have_aasce() -> bool:
    """Whether the AASCE films are in the validation data."""
    return (DATA / "aasce" / "labels" / "training" / "filenames.csv").is_file()


def load_film(i: int, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Film ``i`` (grey) and its expert corners, (17, 4, 2) as (row, col) in ap4 order."""
    root = DATA / "aasce"
    image = cv2.imread(str(root / "images" / "training" / names[i]), cv2.IMREAD_GRAYSCALE)
    p2 = scipy.io.loadmat(str(root / "labels" / "training" / f"{names[i]}.mat"))["p2"]
    return image, p2.astype(float).reshape(17, 4, 2)[..., ::-1]


def widths(c: np.ndarray) -> np.ndarray:
    """Each vertebra's width: the mean of its upper and lower corner distances."""
    return (np.hypot(*(c[:, 1] - c[:, 0]).T) + np.hypot(*(c[:, 3] - c[:, 2]).T)) / 2


def cobb_angles(corners: np.ndarray, height: int) -> list[float]:
    """The three AASCE Cobb angles (PT, MT, TL) of the corners, the organisers' way."""
    c = aasce_cobb_angles(corners, height)
    return [c.pt_deg, c.mt_deg, c.tl_deg]


def smape(truth: np.ndarray, est: np.ndarray) -> float:
    """The AASCE challenge's symmetric mean absolute percentage error, in %."""
    num = np.abs(truth - est).sum(axis=1)
    den = (truth + est).sum(axis=1)
    return float(np.mean(num / np.maximum(den, 1e-12)) * 100)


def fork_pool(name: str, namespace: dict[str, Any]) -> ProcessPoolExecutor:
    """A pool of forked workers that find the benchmark's functions by name.

    ``run.py`` loads a benchmark without registering it in ``sys.modules``; it is
    registered here (``name``, ``namespace``: the benchmark's ``__name__`` and
    ``globals()``), so the forked workers can unpickle references to its functions.
    """
    if name not in sys.modules:
        module = types.ModuleType(name)
        module.__dict__.update(namespace)
        sys.modules[name] = module
    return ProcessPoolExecutor(WORKERS, mp_context=mp.get_context("fork"))
