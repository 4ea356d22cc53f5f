"""Annotated figures for papers: what is drawn is what kyphoimg measured."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kyphoimg import read_landmarks
from kyphoimg.cli import main
from kyphoimg.measure import measures_table

pytest.importorskip("matplotlib")

SAMPLE = Path(__file__).resolve().parents[1] / "sample_dicom"


def test_patient_panel_writes_the_measured_values(tmp_path, capsys):
    out = tmp_path / "P002.svg"
    assert main(["figure", str(SAMPLE), "--patient", "P002", "-o", str(out)]) == 0
    svg = out.read_text(encoding="utf-8")
    # matplotlib's SVG draws text as glyph paths and names each string in a comment:
    # each panel's title and the KA of the index level as measures_table computed it.
    for tp in ("pre", "post", "last"):
        assert f"P002 {tp}" in svg
        ls = read_landmarks(SAMPLE / "P002" / f"{tp}.landmarks.json")
        row = measures_table([ls]).set_index("level").loc[ls.index_levels[0]]
        assert f"KA {row['ka_deg']:.1f}°" in svg
    assert re.search(r"wrote .*P002\.svg \(3 film\(s\)\)", capsys.readouterr().out)


def test_single_film_png_at_300_dpi(tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "pre.png"
    assert main(["figure", str(SAMPLE / "P001" / "pre.dcm"), "-o", str(out)]) == 0
    with Image.open(out) as im:
        assert round(im.info["dpi"][0]) == 300
        assert min(im.size) > 800
    capsys.readouterr()


def test_a_study_needs_a_patient_and_a_known_one(tmp_path, capsys):
    assert main(["figure", str(SAMPLE), "-o", str(tmp_path / "x.png")]) == 2
    assert main(["figure", str(SAMPLE), "--patient", "P999", "-o", str(tmp_path / "x.png")]) == 2
    assert "no film of patient 'P999'" in capsys.readouterr().err
