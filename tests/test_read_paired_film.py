"""Read a film and pair its landmark file: one library function (issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kyphoimg.calibration import Calibration
from kyphoimg.dicom import read_radiograph
from kyphoimg.errors import FilmMismatchError
from kyphoimg.landmarks import read_landmarks
from kyphoimg.study import read_paired_film

SAMPLE = Path(__file__).resolve().parents[1] / "sample_dicom"


def test_a_path_is_read_and_takes_the_films_calibration():
    film, lm = SAMPLE / "P004" / "pre.dcm", SAMPLE / "P004" / "pre.landmarks.json"
    rg, ls = read_paired_film(film, lm)
    assert rg.calibration.source == "ermf"  # IPS 0.24 / ERMF 1.2
    assert ls.calibration == rg.calibration == Calibration(0.2, 0.2, "ermf")
    assert ls.image.sop_instance_uid == rg.metadata.sop_instance_uid
    assert (ls.image.rows, ls.image.columns) == rg.shape[:2]
    assert set(ls.points) == set(read_landmarks(lm).points)


def test_a_user_calibration_in_the_set_is_kept():
    film = SAMPLE / "P004" / "pre.dcm"
    ls = read_landmarks(SAMPLE / "P004" / "pre.landmarks.json")
    user = Calibration(0.17, 0.17, "user")
    _, paired = read_paired_film(film, ls.replace(calibration=user))
    assert paired.calibration == user


def test_another_films_set_is_refused_naming_the_film():
    other = SAMPLE / "P001" / "pre.landmarks.json"
    film = SAMPLE / "P004" / "pre.dcm"
    assert read_landmarks(other).image.sop_instance_uid != (
        read_radiograph(film).metadata.sop_instance_uid
    )
    with pytest.raises(FilmMismatchError, match=r"P004[/\\]pre\.dcm"):
        read_paired_film(film, other)
