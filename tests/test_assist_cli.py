"""kyphoimg assist on a study, as a reader would use it between films."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np

from kyphoimg import read_landmarks, write_landmarks
from kyphoimg.assist import unconfirmed
from kyphoimg.cli import main
from kyphoimg.study import open_worklist

SAMPLE = Path(__file__).resolve().parents[1] / "sample_dicom"


def _study(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    shutil.copytree(SAMPLE / "P001", root / "P001")
    # Reader AB has read the pre-op film (as the first reader did); post and last are to do.
    truth = read_landmarks(root / "P001" / "pre.landmarks.json")
    write_landmarks(truth.replace(rater="AB"), root / "P001" / "pre.AB.landmarks.json")
    return root


def test_propagate_proposes_the_next_films_and_touches_nothing_else(tmp_path, capsys):
    root = _study(tmp_path)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (root / "P001").iterdir()}
    assert main(["assist", "propagate", str(root), "--rater", "AB"]) == 0
    out = capsys.readouterr().out
    assert "2 film(s) given proposed landmarks" in out
    for tp in ("post", "last"):
        proposed = read_landmarks(root / "P001" / f"{tp}.AB.landmarks.json", validate=False)
        truth = read_landmarks(root / "P001" / f"{tp}.landmarks.json")
        assert proposed.rater == "AB"
        assert proposed.timepoint == tp
        assert proposed.image.sop_instance_uid == truth.image.sop_instance_uid
        # Every point is a proposal until the reader confirms it.
        assert sum(len(v) for v in unconfirmed(proposed).values()) == sum(
            len(v) for v in proposed.points.values()
        )
        # Non-treated vertebrae land near the first reader's points on the new film.
        errors = [
            np.hypot(*np.subtract(proposed.points[lv][n], truth.points[lv][n])) * 0.25  # mm
            for lv in truth.points
            if lv not in truth.index_levels and lv in proposed.points
            for n in truth.points[lv]
            if n in proposed.points[lv]
        ]
        assert len(errors) >= 24
        assert np.median(errors) < 1.0
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (root / "P001").iterdir()}
    assert {k: v for k, v in after.items() if k in before} == before  # nothing overwritten
    # Proposals are not a reading: the worklist shows them to review (issue 17), and a
    # second run proposes nothing more.
    statuses = {e.timepoint: e.status for e in open_worklist(root, rater="AB")}
    assert statuses == {"pre": "complete", "post": "to_review", "last": "to_review"}
    assert main(["assist", "propagate", str(root), "--rater", "AB"]) == 0
    assert "0 film(s) given" in capsys.readouterr().out


def test_refine_writes_proposals_to_the_file_asked_for(tmp_path, capsys):
    root = _study(tmp_path)
    film = root / "P001" / "pre.dcm"
    out = tmp_path / "refined.json"
    assert main(["assist", "refine", str(film), "--rater", "AB", "-o", str(out)]) == 0
    refined = read_landmarks(out, validate=False)
    original = read_landmarks(root / "P001" / "pre.AB.landmarks.json")
    assert set(refined.points) == set(original.points)
    for lv, pts in original.points.items():
        if "ant_sup" not in pts or "post_sup" not in pts:
            continue
        width = np.hypot(*np.subtract(pts["ant_sup"], pts["post_sup"]))
        for n in pts:
            moved = np.hypot(*np.subtract(refined.points[lv][n], pts[n]))
            assert moved <= 0.25 * width + 1e-6, (lv, n, moved, width)  # the default bound
    assert "point(s) moved" in capsys.readouterr().out
