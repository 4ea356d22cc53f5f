"""Shared fixtures: the validation-data location and a deterministic RNG."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def validation_data_dir() -> Path:
    """Return ``$KYPHOIMG_VALIDATION_DATA`` or ``../shared/data`` beside the project."""
    env = os.environ.get("KYPHOIMG_VALIDATION_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def validation_data() -> Path:
    """The external validation data folder; skips the test with a reason when absent."""
    path = validation_data_dir()
    if not path.is_dir():
        pytest.skip(
            f"validation data not found at {path}; set KYPHOIMG_VALIDATION_DATA to the "
            "folder holding aasce/, dicom/ and stats/"
        )
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so randomised tests are reproducible."""
    return np.random.default_rng(20261121)
