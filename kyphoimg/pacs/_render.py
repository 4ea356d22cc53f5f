"""Secondary Capture renderings of annotated films (what `kyphoimg figure` draws), to store."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import PacsConfigError

#: Series number of the renderings in the film's study (one series per film).
RENDERING_SERIES_NUMBER = 901


def renderings(folders: Iterable[str | Path]) -> list[tuple[str, Any]]:
    """Draw each film under ``folders`` that has a landmark file, as a Secondary Capture.

    Parameters
    ----------
    folders : iterable of path-like
        Study folders: every ``*.dcm`` with a landmark file beside it (the single-reader
        name, see :func:`kyphoimg.study.landmark_file_for`) is drawn.

    Returns
    -------
    list of (str, pydicom.Dataset)
        A label (``<film> (rendering)``) and the RGB Secondary Capture, in the film's study
        (new series and SOP Instance UIDs; the patient module copied from the film).
    """
    import highdicom as hd
    import matplotlib
    import numpy as np
    from pydicom import dcmread

    from ..figure import film_figure
    from ..study import landmark_file_for

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out: list[tuple[str, Any]] = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise PacsConfigError(f"--renderings {folder}: not a folder; give the study folder")
        for film in sorted(p for p in folder.rglob("*.dcm") if not p.name.startswith(".")):
            landmarks = landmark_file_for(film)
            if not landmarks.is_file():
                continue
            fig = film_figure(film, landmarks)
            try:
                fig.canvas.draw()
                rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
            finally:
                plt.close(fig)
            ref = dcmread(film, stop_before_pixels=True)
            sc = hd.sc.SCImage.from_ref_dataset(
                ref, rgb, "RGB", 8, "PATIENT", hd.UID(), RENDERING_SERIES_NUMBER, hd.UID(), 1,
                "kyphoimg", patient_orientation=("P", "F"),
                series_description="kyphoimg landmarks and measures",
            )  # fmt: skip
            out.append((f"{film} (rendering)", sc))
    return out
