"""The read-ahead process: the film it reads is the film, its failures are not the viewer's.

The next film of a reading session is read in another process (``napari_kyphoimg._ahead``),
because the JPEG 2000 decoder holds the GIL for the whole decode. These tests talk to a
real reading process; none needs Qt.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from napari_kyphoimg._ahead import AheadReader

from kyphoimg import read_radiograph

SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom"


@pytest.fixture
def reader():
    r = AheadReader()
    yield r
    r.close()


def test_a_film_read_ahead_is_the_film_read_here(reader):
    """Pixels, calibration and the film's identity are those of an in-process read, for a
    JPEG 2000 film and an uncompressed one."""
    import pydicom

    syntaxes = set()
    for path in (SAMPLE / "P003" / "post.dcm", SAMPLE / "P002" / "post.dcm"):
        syntaxes.add(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
        ahead = reader.submit(path).result(timeout=60)
        here = read_radiograph(path)
        assert np.array_equal(ahead.pixels, here.pixels)
        assert ahead.pixels.dtype == here.pixels.dtype
        assert ahead.calibration == here.calibration
        assert ahead.metadata == here.metadata
        assert ahead.voi.windows == here.voi.windows  # VoiSettings compares by identity
        assert ahead.voi.function == here.voi.function
        assert len(ahead.voi.luts) == len(here.voi.luts)
        assert ahead.path == here.path
    assert reader.ready.is_set()
    assert len(syntaxes) == 2, "the sample should give one compressed and one plain film"


def test_a_film_that_cannot_be_read_fails_its_request_only(reader, tmp_path):
    """A file that is not DICOM: its request fails with the reader's reason; the next
    request is answered."""
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"not a film")
    with pytest.raises(RuntimeError, match=r"Error: .*bad\.dcm"):
        reader.submit(bad).result(timeout=60)
    good = reader.submit(SAMPLE / "P001" / "pre.dcm").result(timeout=60)
    assert good.pixels.shape == read_radiograph(SAMPLE / "P001" / "pre.dcm").pixels.shape


def test_a_dead_reading_process_says_so_and_takes_no_more_requests(reader):
    """The process killed: the pending request fails, ``ready`` is cleared and the next
    ``submit`` raises at once (the session then reads its films itself)."""
    reader.submit(SAMPLE / "P001" / "pre.dcm").result(timeout=60)
    reader._proc.kill()  # the process only this reader owns
    reader._proc.wait(timeout=10)
    with pytest.raises(RuntimeError, match="read-ahead process failed"):
        reader.submit(SAMPLE / "P001" / "post.dcm").result(timeout=60)
    assert not reader.ready.is_set()
    with pytest.raises(RuntimeError, match="not running"):
        reader.submit(SAMPLE / "P001" / "post.dcm")


def test_a_script_without_a_main_guard_runs_once(tmp_path):
    """A reader's own script (no ``if __name__ == "__main__"``) that reads ahead is not run
    a second time by the reading process (a multiprocessing child would re-run it)."""
    script = tmp_path / "my_study.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from napari_kyphoimg._ahead import shared_reader
            print("the script ran", flush=True)
            film = shared_reader().submit({str(SAMPLE / "P003" / "pre.dcm")!r}).result(60)
            print("film", film.pixels.shape, flush=True)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("the script ran") == 1
    shape = read_radiograph(SAMPLE / "P003" / "pre.dcm").pixels.shape
    assert f"film {shape}" in out.stdout
