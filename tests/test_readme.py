"""The README's Python examples run as printed, on the bundled sample cohort."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code, tmp_path, monkeypatch):
    shutil.copytree(ROOT / "sample_dicom", tmp_path / "sample_dicom")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    if "features" in namespace:  # the quickstart: one row per treated vertebra
        features = namespace["features"]
        assert len(features) == 4
        assert (tmp_path / "features.parquet").is_file()
        assert features["age_years"].notna().all()
    if "rg" in namespace:
        assert namespace["rg"].calibration.source in ("detector", "ermf", "pixel_spacing")
    if "rep" in namespace:  # the scripted run and report: results read by attribute
        summary = namespace["result"].summary
        assert summary.films_by_status.measured == 12
        assert summary.treated_vertebrae == 4
        assert namespace["rep"].html.resolve() == (tmp_path / "report" / "report.html").resolve()
        assert namespace["rep"].html.is_file()
    if "ls" in namespace:
        assert math.isfinite(namespace["kyphotic_angle"](namespace["ls"], "L1"))
