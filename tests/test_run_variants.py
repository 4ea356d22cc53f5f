"""`run` honours every measure and feature variant `features` takes (flags and study file)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kyphoimg.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "sample_dicom"
RULE = [
    "--recompression-loss-pct", "3", "--recompression-angle-deg", "-1",
    "--recompression-height", "ha", "--restoration", "relative",
    "--genant-reference", "own_posterior",
]  # fmt: skip
COLUMNS = ["patient_id", "level", "recompression", "recompression_rule", "height_restoration_pct"]


def _features(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path, dtype={"patient_id": str})
    return table[COLUMNS].sort_values(["patient_id", "level"]).reset_index(drop=True)


def test_run_with_a_recompression_rule_gives_the_features_of_features(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["features", str(SAMPLE), "-o", str(tmp_path / "f.csv"), *RULE]) == 0
    assert main(["features", str(SAMPLE), "-o", str(tmp_path / "default.csv")]) == 0
    assert main(["run", str(SAMPLE), "-o", str(tmp_path / "r"), *RULE]) == 0
    expected = _features(tmp_path / "f.csv")
    # the rule matters on this cohort: the defaults give other values
    assert not expected.equals(_features(tmp_path / "default.csv"))
    pd.testing.assert_frame_equal(_features(tmp_path / "r" / "features.csv"), expected)
    variants = json.loads((tmp_path / "r" / "summary.json").read_text("utf-8"))["variants"]
    assert variants["recompression_loss_pct"] == 3.0
    assert variants["recompression_angle_deg"] is None
    assert variants["recompression_height"] == "ha"
    assert variants["restoration"] == "relative"
    assert variants["genant_reference"] == "own_posterior"

    # the same rule from the study file's [features] and [measures] tables
    study = tmp_path / "study.toml"
    study.write_text(
        f'[run]\nstudy = "{SAMPLE}"\noutput = "r2"\n'
        '[measures]\ngenant_reference = "own_posterior"\n'
        "[features]\nrecompression_loss_pct = 3\nrecompression_angle_deg = -1\n"
        'recompression_height = "ha"\nrestoration = "relative"\n',
        encoding="utf-8",
    )
    assert main(["run", str(study)]) == 0
    pd.testing.assert_frame_equal(_features(tmp_path / "r2" / "features.csv"), expected)
    measures = pd.read_csv(tmp_path / "r2" / "measures.csv", dtype={"patient_id": str})
    by_flag = pd.read_csv(tmp_path / "r" / "measures.csv", dtype={"patient_id": str})
    pd.testing.assert_series_equal(measures["genant_grade"], by_flag["genant_grade"])
    # a flag overrides the file
    assert main(["run", str(study), "-o", str(tmp_path / "r3"), "--restoration", "reference"]) == 0
    summary = json.loads((tmp_path / "r3" / "summary.json").read_text("utf-8"))
    assert summary["variants"]["restoration"] == "reference"
    assert summary["variants"]["recompression_loss_pct"] == 3.0
    capsys.readouterr()
