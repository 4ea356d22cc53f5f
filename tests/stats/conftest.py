"""Fixtures of the statistics tests: the pROC aSAH data and a headless matplotlib."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd
import pytest

# Figures are drawn on matplotlib.figure.Figure objects; Agg keeps any accidental
# pyplot use headless too.
matplotlib.use("Agg")


@pytest.fixture(scope="session")
def asah(validation_data: Path) -> pd.DataFrame:
    """pROC's aSAH data (113 patients; 72 Good, 41 Poor), from the validation folder."""
    path = validation_data / "stats" / "aSAH.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found; the aSAH validation table is needed")
    return pd.read_csv(path)
