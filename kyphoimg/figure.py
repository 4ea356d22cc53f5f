"""Annotated figures for papers: a film with its landmarks, endplates and measures.

:func:`film_figure` draws one film as it is displayed (its VOI, bone bright) with the
landmarks, the endplate lines, the anterior and posterior heights and, beside each
vertebra, its heights and wedge angle; the index levels also get their kyphotic angle,
with the two endplates that define it extended across the body. :func:`patient_figure`
puts one patient's films side by side (pre, post, last). Both return a matplotlib figure;
:func:`save_figure` writes PNG (300 dpi) or SVG. matplotlib comes with the statistics
extra (``pip install 'kyphoimg[stats]'``) and is imported only here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .dicom import read_radiograph
from .errors import KyphoimgError, LandmarkError
from .landmarks import LandmarkSet
from .measure import measures_table
from .study import open_worklist, read_paired_film

__all__ = ["film_figure", "patient_figure", "save_figure", "study_patient_films"]

_GREYS = ("#ffffff", "#d9d9d9")
_SIDES = (("ant_sup", "ant_inf"), ("post_sup", "post_inf"))


def _film_and_set(
    film: str | os.PathLike[str], landmarks: str | os.PathLike[str] | LandmarkSet | None
) -> tuple[np.ndarray, LandmarkSet | None, tuple[float, float]]:
    if landmarks is None:
        return np.asarray(read_radiograph(film).display("file")), None, (1.0, 1.0)
    rg, ls = read_paired_film(film, landmarks)
    image = np.asarray(rg.display("file"))
    return image, ls, (float(ls.calibration.spacing[0]), float(ls.calibration.spacing[1]))


def _value_text(row: Any, unit: str) -> str:
    parts = []
    ha, hp = row.get(f"ha_{unit}"), row.get(f"hp_{unit}")
    if np.isfinite(ha) and np.isfinite(hp):
        parts.append(f"Ha {ha:.1f}  Hp {hp:.1f} {unit}")
    if np.isfinite(row.get("wedge_angle_deg", np.nan)):
        parts.append(f"wedge {row['wedge_angle_deg'] + 0.0:.1f}°".replace("-0.0°", "0.0°"))
    if np.isfinite(row.get("ka_deg", np.nan)):
        parts.append(f"KA {row['ka_deg'] + 0.0:.1f}°".replace("-0.0°", "0.0°"))
    return "\n".join(parts)


def _draw_set(ax: Any, ls: LandmarkSet, *, values: bool, fontsize: float) -> None:
    """Points, endplates, heights and (optionally) the values of every vertebra."""
    table = measures_table([ls]).set_index("level")
    unit = "mm" if ls.calibration.has_mm else "px"
    cols = [p[1] for pts in ls.points.values() for p in pts.values()]
    for k, (level, pts) in enumerate(ls.points.items()):
        colour = _GREYS[k % 2]
        for a, b in (("ant_sup", "post_sup"), ("ant_inf", "post_inf"), *_SIDES):
            if a in pts and b in pts:
                (r1, c1), (r2, c2) = pts[a], pts[b]
                ax.plot([c1, c2], [r1, r2], color=colour, lw=0.9)
        rc = np.array(list(pts.values()))
        ax.scatter(rc[:, 1], rc[:, 0], s=9, c="#ffd400", edgecolors="black", linewidths=0.4)
        if level in table.index and "ant_sup" in pts and "post_sup" in pts:
            anterior_right = pts["ant_sup"][1] > pts["post_sup"][1]
            wall = [pts[n] for n in ("ant_sup", "ant_inf") if n in pts]
            r = float(np.mean([p[0] for p in wall]))
            c = (max(cols) if anterior_right else min(cols)) + (1 if anterior_right else -1) * 15
            text = _value_text(table.loc[level], unit) if values else ""
            ax.text(
                c,
                r,
                f"{level}\n{text}".strip(),
                color="white",
                fontsize=fontsize,
                va="center",
                ha="left" if anterior_right else "right",
                linespacing=1.1,
            )
    for level in ls.index_levels:
        _draw_ka(ax, ls, level)


def _draw_ka(ax: Any, ls: LandmarkSet, level: str) -> None:
    """Extend the two endplates of the index level's kyphotic angle (dashed)."""
    levels = list(ls.points)
    if level not in levels:
        return
    i = levels.index(level)
    upper = ls.points[levels[i - 1]] if i > 0 else {}
    lower = ls.points[levels[i + 1]] if i + 1 < len(levels) else {}
    for pts, a, b in ((upper, "ant_sup", "post_sup"), (lower, "ant_inf", "post_inf")):
        if a in pts and b in pts:
            p, q = np.asarray(pts[a]), np.asarray(pts[b])
            d = q - p
            ends = np.array([p - 0.6 * d, q + 0.6 * d])
            ax.plot(ends[:, 1], ends[:, 0], color="#ffd400", lw=1.0, ls="--")


def film_figure(
    film: str | os.PathLike[str],
    landmarks: str | os.PathLike[str] | LandmarkSet | None = None,
    *,
    values: bool = True,
    title: str | None = None,
    ax: Any = None,
    crop: bool = True,
) -> Any:
    """Draw one film with its landmarks, endplate and height lines and measures.

    Parameters
    ----------
    film : path-like
        The DICOM film.
    landmarks : path-like or LandmarkSet, optional
        Its landmark file (paired with the film by the core rule); without one, the film.
    values : bool, optional
        Write heights, wedge angle and (index levels) KA beside each vertebra.
    title : str, optional
        Axes title (default: patient, time point and calibration source).
    ax : matplotlib.axes.Axes, optional
        Draw there (default: a new figure).
    crop : bool, optional
        Show the landmarks' region with a margin rather than the whole film.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.

    Raises
    ------
    FilmMismatchError
        If the landmark file belongs to another film.
    """
    import matplotlib.pyplot as plt

    image, ls, (row_mm, col_mm) = _film_and_set(film, landmarks)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 7), dpi=100, facecolor="black")
    else:
        fig = ax.figure
    # Pixels are drawn at their physical aspect (non-square pixels stay true to size).
    ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, aspect=row_mm / col_mm)
    ax.set_axis_off()
    if ls is not None and ls.points:
        _draw_set(ax, ls, values=values, fontsize=7)
        if crop:
            rc = np.array([p for pts in ls.points.values() for p in pts.values()])
            (r0, c0), (r1, c1) = rc.min(axis=0), rc.max(axis=0)
            margin_r, margin_c = 0.12 * (r1 - r0), 0.9 * (c1 - c0)
            ax.set_xlim(max(c0 - margin_c, 0), min(c1 + margin_c, image.shape[1] - 1))
            ax.set_ylim(min(r1 + margin_r, image.shape[0] - 1), max(r0 - margin_r, 0))
        source = ls.calibration.source
        ax.set_title(
            title or f"{ls.patient_id or ''} {ls.timepoint or ''} (spacing: {source})".strip(),
            fontsize=9,
            color="white",
        )
    elif title:
        ax.set_title(title, fontsize=9, color="white")
    return fig


def patient_figure(
    films: Sequence[tuple[str | os.PathLike[str], str | os.PathLike[str] | None]],
    *,
    titles: Sequence[str] | None = None,
    values: bool = True,
) -> Any:
    """Put one patient's films side by side (pre, post, last), each annotated.

    Parameters
    ----------
    films : sequence of (film, landmark file) pairs
        In the order to show, left to right.
    titles : sequence of str, optional
        One per film (default: each set's time point).
    values : bool, optional
        Write the measures beside each vertebra.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per film.

    Raises
    ------
    KyphoimgError
        If no film is given.
    """
    import matplotlib.pyplot as plt

    if not films:
        raise KyphoimgError("patient_figure: give at least one film")
    fig, axes = plt.subplots(
        1, len(films), figsize=(4.2 * len(films), 6.5), dpi=100, facecolor="black"
    )
    axes = np.atleast_1d(axes)
    for k, ((film, lm), ax) in enumerate(zip(films, axes, strict=True)):
        film_figure(film, lm, values=values, ax=ax, title=titles[k] if titles else None)
    fig.tight_layout()
    return fig


def study_patient_films(
    study: str | os.PathLike[str], patient: str, *, rater: str | None = None
) -> tuple[list[tuple[Path, Path | None]], list[str]]:
    """Return one patient's films of a study in time-point order, with a title for each panel.

    The films and their reader's landmark files come from the worklist
    (:func:`kyphoimg.study.open_worklist`), under the same rules as ``kyphoimg run``: a
    film whose landmark file is invalid (a time point outside the study's, a file that
    cannot be read, another film's landmarks) is refused rather than drawn mislabelled.

    Parameters
    ----------
    study : path-like
        The study folder.
    patient : str
        The patient whose films are drawn.
    rater : str, optional
        The reader whose landmark files are drawn.

    Returns
    -------
    films : list of (film, landmark file or None)
        In time-point order (films without a time point last); empty when the patient
        has no film in the study.
    titles : list of str
        ``"<patient> <time point> (<film>)"`` per film; ``no time point`` when unknown;
        a film holding proposals no reader confirmed says ``points not reviewed``.

    Raises
    ------
    LandmarkError
        If one of the patient's films has an invalid landmark file (the message names the
        file and the reason).
    """
    folder = Path(study)
    entries = open_worklist(folder, rater=rater).patient(patient)
    for e in entries:
        if e.status == "invalid":
            raise LandmarkError(
                f"{e.landmark_path}: not drawn, the landmark file is invalid for "
                f"{e.film_path.name}: {'; '.join(e.problems)}"
            )
    films = [(e.film_path, e.landmark_path if e.landmark_path.is_file() else None) for e in entries]
    titles = []
    for e in entries:
        try:
            name = e.film_path.relative_to(folder / str(e.patient_id)).as_posix()
        except ValueError:
            name = e.film_path.name
        review = ", points not reviewed" if e.status == "to_review" else ""
        titles.append(f"{e.patient_id} {e.timepoint or 'no time point'} ({name}{review})")
    return films, titles


def save_figure(fig: Any, path: str | os.PathLike[str], *, dpi: int = 300) -> Path:
    """Write a figure as PNG (``dpi``, default 300) or SVG, by the file's extension.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : path-like
        ``.png`` or ``.svg`` (``.pdf`` also works).
    dpi : int, optional
        Resolution of raster output.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    KyphoimgError
        If the extension is not png, svg or pdf.
    """
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise KyphoimgError(f"{path}: write a figure as .png, .svg or .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight", facecolor="black")
    return path
