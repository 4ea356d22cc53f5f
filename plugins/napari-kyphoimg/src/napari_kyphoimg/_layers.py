"""Layer recipes and look-ups shared by the reader, the sample data and the widgets.

The recipes (``*_layer_data``) return napari layer-data tuples ``(data, kwargs, type)``
and need neither napari nor Qt. The look-ups take a viewer (or anything with a
``layers`` list) and find the layers kyphoimg made by the ``metadata["kyphoimg"]`` they
carry:

``role: "film"``
    an image layer: ``uid`` (a link id), ``path`` (absolute, or None for generated
    films), ``sop_instance_uid``, ``rows``, ``columns``, ``patient_id``, ``timepoint``,
    ``calibration`` (:meth:`kyphoimg.Calibration.to_dict`), ``calibration_notes`` and
    ``notes`` (messages for the widgets, e.g. a refused landmark file).
``role: "landmarks"``
    a points layer: ``film_uid``, ``header`` (:func:`~napari_kyphoimg._layerdata.header_to_meta`),
    ``image_file`` (the film's absolute path or None) and ``path`` (the landmark file).
``role: "overlay"``
    the vectors layer drawing endplates and heights of the landmarks layer ``landmarks_uid``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from kyphoimg import Calibration, LandmarkError, LandmarkSet, read_landmarks
from kyphoimg.landmarks import ImageRef, landmark_problems, pair_with_film

from ._files import landmark_path_for
from ._layerdata import (
    LEVEL_COLORS,
    empty_features,
    header_from_meta,
    header_to_meta,
    landmarks_to_layer,
    layer_to_landmarks,
    overlay_vectors,
    split_unknown,
    with_unknown,
)
from ._session import loaded_state, unreadable_reason

KEY = "kyphoimg"

__all__ = [
    "KEY",
    "calibration_of",
    "default_header",
    "dicom_calibration",
    "film_layer_data",
    "films",
    "info",
    "landmark_layer_data",
    "landmark_layer_for",
    "landmarks_of",
    "overlay_colors",
    "overlay_layer_data",
    "pair_with_film_layer",
    "restore_landmarks",
    "scale_of",
    "set_header",
    "set_info",
]


def info(layer: Any, role: str | None = None) -> dict[str, Any] | None:
    """Return ``layer.metadata["kyphoimg"]`` (of the given role), or None."""
    meta = getattr(layer, "metadata", None)
    if not isinstance(meta, Mapping):
        return None
    value = meta.get(KEY)
    if not isinstance(value, dict) or (role is not None and value.get("role") != role):
        return None
    return value


def set_info(layer: Any, value: dict[str, Any]) -> None:
    """Replace ``layer.metadata["kyphoimg"]``, emitting ``layer.events.metadata``."""
    layer.metadata = {**dict(layer.metadata), KEY: value}


def set_header(layer: Any, header: LandmarkSet) -> None:
    """Store a new header (scheme, calibration, index levels, findings...) on a landmarks layer."""
    meta = dict(info(layer, "landmarks") or {})
    meta["header"] = header_to_meta(header.replace(points={}))
    set_info(layer, meta)


def default_header(film: Any) -> LandmarkSet:
    """Return an empty landmark set for a film: its image reference, calibration, identity."""
    meta = info(film, "film") or {}
    return LandmarkSet(
        points={},
        patient_id=meta.get("patient_id"),
        timepoint=meta.get("timepoint"),
        rater=meta.get("rater"),
        image=ImageRef(
            sop_instance_uid=meta.get("sop_instance_uid"),
            rows=meta.get("rows"),
            columns=meta.get("columns"),
        ),
        calibration=Calibration.from_dict(meta.get("calibration")),
    )


def scale_of(cal: Calibration) -> tuple[float, float]:
    """Return the layer scale of a film: ``(row_mm, col_mm)``, or ``(1, 1)`` uncalibrated."""
    return (cal.row_mm, cal.col_mm) if cal.has_mm else (1.0, 1.0)


def calibration_of(film: Any) -> Calibration:
    """Return the calibration a film layer carries (``none`` when it carries none)."""
    meta = info(film, "film")
    return Calibration.from_dict(meta.get("calibration") if meta else None)


def dicom_calibration(film: Mapping[str, Any]) -> Calibration:
    """Return a film's calibration as resolved from its DICOM header (not a user one).

    Parameters
    ----------
    film : mapping
        The film's ``metadata["kyphoimg"]`` (:func:`film_meta`).

    Returns
    -------
    Calibration
        ``calibration_file``: what :func:`kyphoimg.dicom.calibration_from_dataset` found when the
        film was read, whatever calibration the film shows now.
    """
    return Calibration.from_dict(film.get("calibration_file", film.get("calibration")))


def pair_with_film_layer(
    ls: LandmarkSet, film: Mapping[str, Any], name: str | None = None
) -> LandmarkSet:
    """Pair a landmark set with a film layer: :func:`kyphoimg.landmarks.pair_with_film`.

    The film's SOP Instance UID, size and DICOM calibration (:func:`dicom_calibration`)
    are taken from its ``metadata["kyphoimg"]``; the rule is the core's alone.

    Parameters
    ----------
    ls : LandmarkSet
        As read from its landmark file.
    film : mapping
        The film's ``metadata["kyphoimg"]``.
    name : str, optional
        The film's layer name, named in the error message when the film has no file.

    Returns
    -------
    LandmarkSet
        The paired set: its image facts completed, its calibration the set's ``user``
        one, else the film's.

    Raises
    ------
    kyphoimg.errors.FilmMismatchError
        If the set was placed on another image (UID or size).
    """
    return pair_with_film(
        ls,
        sop_instance_uid=film.get("sop_instance_uid"),
        rows=film.get("rows"),
        columns=film.get("columns"),
        calibration=dicom_calibration(film),
        film=film.get("path") or name,
    )


def films(layers: Iterable[Any]) -> list[Any]:
    """Return the film (image) layers among ``layers``, in layer-list order."""
    return [layer for layer in layers if info(layer, "film") is not None]


def landmark_layer_for(layers: Iterable[Any], film: Any) -> Any | None:
    """Return the landmarks layer linked to ``film``, or None."""
    meta = info(film, "film")
    if meta is None:
        return None
    for layer in layers:
        lm = info(layer, "landmarks")
        if lm is not None and lm.get("film_uid") == meta["uid"]:
            return layer
    return None


def film_for(layers: Iterable[Any], landmarks: Any) -> Any | None:
    """Return the film layer a landmarks layer belongs to, or None."""
    lm = info(landmarks, "landmarks")
    if lm is None:
        return None
    for layer in layers:
        meta = info(layer, "film")
        if meta is not None and meta["uid"] == lm.get("film_uid"):
            return layer
    return None


def overlay_for(layers: Iterable[Any], landmarks: Any) -> Any | None:
    """Return the overlay layer of a landmarks layer, or None."""
    lm = info(landmarks, "landmarks")
    if lm is None:
        return None
    for layer in layers:
        ov = info(layer, "overlay")
        if ov is not None and ov.get("landmarks_uid") == lm.get("uid"):
            return layer
    return None


def landmarks_of(layer: Any) -> LandmarkSet:
    """Return the landmark set a landmarks layer holds (header plus its points)."""
    lm = info(layer, "landmarks")
    if lm is None:
        raise LandmarkError(
            f"layer {getattr(layer, 'name', layer)!r} is not a kyphoimg landmarks layer"
        )
    ls = layer_to_landmarks(layer.data, layer.features, header_from_meta(lm["header"]))
    return with_unknown(ls, lm.get("unknown_points"))


# ----------------------------------------------------------------------------- recipes
def film_meta(
    *,
    path: str | None,
    sop_instance_uid: str | None,
    rows: int,
    columns: int,
    calibration: Calibration,
    patient_id: str | None = None,
    timepoint: str | None = None,
    calibration_notes: Iterable[str] = (),
    rater: str | None = None,
    landmark_path: str | None = None,
    timepoints: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Build the ``metadata["kyphoimg"]`` of a film layer (a fresh link ``uid``).

    ``rater`` and ``landmark_path`` say whose landmark file the film's landmarks are
    saved to (a reading session's reader); ``timepoints`` is the study's vocabulary.
    """
    return {
        "rater": rater,
        "landmark_path": landmark_path,
        "timepoints": list(timepoints) if timepoints is not None else None,
        "role": "film",
        "uid": uuid.uuid4().hex,
        "path": path,
        "sop_instance_uid": sop_instance_uid,
        "rows": int(rows),
        "columns": int(columns),
        "patient_id": patient_id,
        "timepoint": timepoint,
        "calibration": calibration.to_dict(),
        "calibration_file": calibration.to_dict(),
        "calibration_notes": list(calibration_notes),
        "notes": [],
    }


def film_layer_data(
    data: np.ndarray,
    meta: dict[str, Any],
    *,
    name: str,
    contrast_limits: tuple[float, float] | None = None,
    colormap: str = "gray",
    extra_metadata: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, dict[str, Any], str]:
    """Image layer-data tuple of a film, scaled by its calibration."""
    cal = Calibration.from_dict(meta["calibration"])
    kwargs: dict[str, Any] = {
        "name": name,
        "metadata": {KEY: meta, **dict(extra_metadata or {})},
        "scale": scale_of(cal),
        "colormap": colormap,
    }
    if contrast_limits is not None:
        kwargs["contrast_limits"] = [float(contrast_limits[0]), float(contrast_limits[1])]
    return data, kwargs, "image"


def point_size(rows: int | None, columns: int | None) -> float:
    """Return the marker size in pixels for a film of this size."""
    if not rows or not columns:
        return 10.0
    return float(np.clip(min(rows, columns) / 100.0, 5.0, 25.0))


def landmark_layer_data(
    ls: LandmarkSet,
    film: Mapping[str, Any],
    *,
    name: str,
    path: str | None = None,
) -> tuple[np.ndarray, dict[str, Any], str]:
    """Points layer-data tuple of a landmark set placed on a film.

    Parameters
    ----------
    ls : LandmarkSet
        Points and header; its calibration should be the film's.
    film : mapping
        The film's ``metadata["kyphoimg"]``.
    name : str
        Layer name.
    path : str, optional
        Where the landmark file lives (autosave target).
    """
    ls, unknown = split_unknown(ls)
    data, features = landmarks_to_layer(ls)
    cal = Calibration.from_dict(film["calibration"])
    size = point_size(film.get("rows"), film.get("columns"))
    kwargs = {
        "name": name,
        "features": features if len(features) else empty_features(),
        "face_color": "level",
        "face_color_cycle": dict(LEVEL_COLORS),
        "border_color": "black",
        "border_width": 0.15,
        "size": size,
        "symbol": "disc",
        "text": {
            "string": "{label}",
            "size": 9,
            "color": "white",
            "anchor": "lower_left",
            "translation": [-0.5 * size, 0.5 * size],
        },
        "scale": scale_of(cal),
        "metadata": {
            KEY: {
                "role": "landmarks",
                "uid": uuid.uuid4().hex,
                "film_uid": film["uid"],
                "header": header_to_meta(ls.replace(points={})),
                "image_file": film.get("path"),
                "path": path,
                "unknown_points": unknown,
            }
        },
    }
    return data, kwargs, "points"


def overlay_colors(levels: list[str], kinds: list[str]) -> np.ndarray:
    """Return RGBA per overlay segment: endplates in their level's colour, heights white."""
    out = np.ones((len(levels), 4))
    for i, (lv, kind) in enumerate(zip(levels, kinds, strict=True)):
        out[i] = _rgba(LEVEL_COLORS[lv]) if kind == "endplate" else (1.0, 1.0, 1.0, 0.75)
    return out


def _rgba(hex_color: str) -> tuple[float, float, float, float]:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    return (r, g, b, 1.0)


def overlay_layer_data(
    landmarks_data: np.ndarray,
    features: Any,
    lm_meta: Mapping[str, Any],
    *,
    name: str,
    scale: tuple[float, float],
) -> tuple[np.ndarray, dict[str, Any], str]:
    """Vectors layer-data tuple drawing a landmarks layer's endplates and heights."""
    scheme = lm_meta["header"]["scheme"]
    vectors, levels, kinds = overlay_vectors(landmarks_data, features, scheme)
    kwargs = {
        "name": name,
        "edge_width": 2.0,
        "vector_style": "line",
        "edge_color": overlay_colors(levels, kinds) if len(levels) else "white",
        "scale": scale,
        "metadata": {KEY: {"role": "overlay", "landmarks_uid": lm_meta["uid"]}},
        "blending": "translucent_no_depth",
    }
    return vectors, kwargs, "vectors"


# ----------------------------------------------------------------------------- restore
def restore_landmarks(
    film: dict[str, Any], film_name: str, folder: str | Path | None = None
) -> tuple[np.ndarray, dict[str, Any], str] | None:
    """Load the landmark file of a film, if there is one, as a points layer-data tuple.

    The file ``<name>.landmarks.json`` is looked for beside the film (or in ``folder``) and
    paired with the film by :func:`pair_with_film_layer` (kyphoimg's rule). A file saved
    for another image (SOP Instance UID or size mismatch) or unreadable is refused: None
    is returned and the reason is appended to ``film["notes"]``. The paired set's
    calibration (a user calibration saved in the file, else the DICOM's) becomes the
    film's.

    Parameters
    ----------
    film : dict
        The film's ``metadata["kyphoimg"]``; updated in place (calibration, notes, and a
        missing time point or patient id taken from the file).
    film_name : str
        The film's layer name.
    folder : path-like, optional
        Look there instead of beside the film.

    Returns
    -------
    tuple or None
        The points layer-data tuple, or None when there is no usable file.
    """
    if not film.get("path"):
        return None
    if film.get("landmark_path"):
        path = Path(film["landmark_path"])
    else:
        path = landmark_path_for(film["path"], folder, film.get("rater"))
    film.update(loaded_state(path))  # the hash a save checks the file against
    if not path.is_file():
        return None
    try:
        ls = pair_with_film_layer(read_landmarks(path, validate=False), film, film_name)
    except LandmarkError as exc:  # read-only until repaired: never overwritten
        film.setdefault("notes", []).append(f"landmarks not loaded: {exc}")
        film["read_only"] = unreadable_reason(path, exc)
        return None
    problems = landmark_problems(ls)
    if problems:  # shown and highlighted, as the command line would refuse it
        film.setdefault("notes", []).append(
            f"landmark file has {len(problems)} problem(s): " + "; ".join(map(str, problems))
        )
    film["calibration"] = ls.calibration.to_dict()
    if film.get("timepoint") is None and ls.timepoint:
        film["timepoint"] = ls.timepoint
    if film.get("patient_id") is None and ls.patient_id:
        film["patient_id"] = ls.patient_id
    layer = landmark_layer_data(ls, film, name=f"{film_name} landmarks", path=str(path))
    layer[1]["metadata"][KEY]["sha256"] = film["landmark_sha256"]
    return layer
