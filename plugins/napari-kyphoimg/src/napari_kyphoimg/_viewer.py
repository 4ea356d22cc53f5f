"""Viewer-side actions shared by the widgets: create, link and update kyphoimg layers.

Everything here takes a viewer (or its layers) and kyphoimg values; the widgets call
these and keep no geometry of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from napari.layers import Points, Shapes, Vectors

from kyphoimg import Calibration, LandmarkSet

from ._layerdata import header_from_meta, overlay_vectors
from ._layers import (
    KEY,
    default_header,
    info,
    landmark_layer_data,
    landmark_layer_for,
    overlay_colors,
    overlay_for,
    overlay_layer_data,
    scale_of,
    set_header,
    set_info,
)

__all__ = [
    "PROPOSED_BORDER",
    "add_calibration_layer",
    "add_landmarks_layer",
    "anterior_side",
    "apply_calibration",
    "calibration_layer_for",
    "default_header",
    "ensure_overlay",
    "landmark_layers",
    "mark_proposals",
    "refresh_overlay",
    "set_header",
    "set_info",
    "show_problems",
    "show_values",
    "value_labels",
]


def landmark_layers(layers: Iterable[Any]) -> list[Any]:
    """Return the kyphoimg landmarks layers among ``layers``."""
    return [layer for layer in layers if info(layer, "landmarks") is not None]


def add_landmarks_layer(
    viewer: Any,
    film: Any,
    header: LandmarkSet | None = None,
    *,
    levels: tuple[str, ...] | None = None,
) -> Any:
    """Add a landmarks layer for ``film`` just above it and return it.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer.
    film : napari.layers.Image
        A kyphoimg film layer.
    header : LandmarkSet, optional
        Header and points (default: :func:`default_header`).
    levels : tuple of str, optional
        The levels the guide plans (kept in the layer's metadata).
    """
    meta = info(film, "film")
    if meta is None:
        raise ValueError(f"layer {film.name!r} is not a kyphoimg film")
    ls = header if header is not None else default_header(film)
    data, kwargs, _ = landmark_layer_data(
        ls, meta, name=f"{film.name} landmarks", path=meta.get("landmark_path")
    )
    if levels:
        kwargs["metadata"][KEY]["levels"] = list(levels)
    layer = Points(data, **kwargs)
    viewer.layers.insert(viewer.layers.index(film) + 1, layer)
    return viewer.layers[layer.name]


def ensure_overlay(viewer: Any, landmarks: Any) -> Any:
    """Return the overlay of a landmarks layer, adding it just below the landmarks if needed."""
    overlay = overlay_for(viewer.layers, landmarks)
    if overlay is not None:
        return overlay
    lm = info(landmarks, "landmarks")
    data, kwargs, _ = overlay_layer_data(
        landmarks.data,
        landmarks.features,
        lm,
        name=f"{landmarks.name} overlay",
        scale=tuple(landmarks.scale[-2:]),
    )
    layer = Vectors(data, **kwargs)
    viewer.layers.insert(viewer.layers.index(landmarks), layer)
    return viewer.layers[layer.name]


def refresh_overlay(overlay: Any, landmarks: Any, *, thumbnail: bool = True) -> None:
    """Redraw an overlay's endplate lines and height segments from the landmarks.

    ``thumbnail=False`` (during a drag) leaves the overlay's layer-list thumbnail as it is
    when only the positions changed: napari draws it vector by vector, which costs more
    than the rest of the redraw. The next call with ``thumbnail=True`` updates it.
    """
    lm = info(landmarks, "landmarks")
    if lm is None:
        return
    vectors, levels, kinds = overlay_vectors(
        landmarks.data, landmarks.features, lm["header"]["scheme"]
    )
    colors = overlay_colors(levels, kinds)
    current = overlay.data
    # napari keeps colours as float32: compare at that precision (in float64 they never
    # match, and every drag step would take the slow path below).
    if current.shape == vectors.shape and np.array_equal(
        np.asarray(overlay.edge_color, dtype=np.float32), colors.astype(np.float32)
    ):
        # Same segments, new positions (a drag): update in place and re-slice, about a
        # third of the cost of assigning new data.
        current[...] = vectors
        overlay.refresh(thumbnail=thumbnail)
        return
    overlay.data = vectors
    if len(current) != len(vectors):  # a refresh held back (a film switch) left the old count
        overlay.set_view_slice()
    if len(vectors):
        overlay.edge_color = colors


def calibration_layer_for(layers: Iterable[Any], film: Any) -> Any | None:
    """Return the calibration-line shapes layer of a film, or None."""
    meta = info(film, "film")
    if meta is None:
        return None
    for layer in layers:
        cl = info(layer, "calibration")
        if cl is not None and cl.get("film_uid") == meta["uid"]:
            return layer
    return None


def add_calibration_layer(viewer: Any, film: Any) -> Any:
    """Add an empty shapes layer, scaled like ``film``, to draw a calibration line on."""
    meta = info(film, "film")
    if meta is None:
        raise ValueError(f"layer {film.name!r} is not a kyphoimg film")
    layer = Shapes(
        name=f"{film.name} calibration line",
        ndim=2,
        scale=tuple(film.scale[-2:]),
        edge_color="#ff1744",
        edge_width=4.0,
        metadata={KEY: {"role": "calibration", "film_uid": meta["uid"]}},
    )
    viewer.layers.append(layer)
    return viewer.layers[layer.name]


def apply_calibration(viewer: Any, film: Any, cal: Calibration) -> None:
    """Make ``cal`` the film's calibration: metadata, scales, landmarks header.

    The film, its landmarks, overlay and calibration line get the new scale, so the
    points keep their pixel positions; the landmarks header (saved in the landmark file)
    gets the calibration, which lets autosave record it.
    """
    meta = dict(info(film, "film") or {})
    meta["calibration"] = cal.to_dict()
    set_info(film, meta)
    scale = np.asarray(scale_of(cal))
    related = [film]
    landmarks = landmark_layer_for(viewer.layers, film)
    if landmarks is not None:
        related.append(landmarks)
        overlay = overlay_for(viewer.layers, landmarks)
        if overlay is not None:
            related.append(overlay)
    line = calibration_layer_for(viewer.layers, film)
    if line is not None:
        related.append(line)
    for layer in related:
        full = np.array(layer.scale, dtype=float)
        full[-2:] = scale
        layer.scale = full
    if landmarks is not None:
        header = header_from_meta(info(landmarks, "landmarks")["header"])
        set_header(landmarks, header.replace(calibration=cal))


def show_problems(viewer: Any, landmarks: Any, ls: LandmarkSet, problems: Sequence[Any]) -> None:
    """Ring in red the points a landmark set's problems name (a layer of their own).

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer.
    landmarks : napari.layers.Points
        A kyphoimg landmarks layer.
    ls : LandmarkSet
        Its set (with any points kept aside for unknown names).
    problems : sequence of LandmarkError
        From :func:`kyphoimg.landmarks.landmark_problems`; those naming a level (and
        point) are ringed: the point, else every point of the level.
    """
    lm = info(landmarks, "landmarks")
    where: list[tuple[float, float]] = []
    for p in problems:
        pts = ls.points.get(getattr(p, "level", None) or "", {})
        name = getattr(p, "point", None)
        where += [pts[name]] if name in pts else list(pts.values())
    existing = [
        layer
        for layer in viewer.layers
        if (info(layer, "problems") or {}).get("landmarks_uid") == lm["uid"]
    ]
    data = np.asarray(where, dtype=float).reshape(-1, 2)
    if existing:
        existing[0].data = data
        return
    if not len(data):
        return
    layer = Points(
        data,
        name=f"{landmarks.name} problems",
        size=float(np.max(landmarks.size)) * 2.5 if len(landmarks.size) else 20.0,
        face_color="transparent",
        border_color="#ff3b30",
        border_width=0.2,
        scale=tuple(landmarks.scale[-2:]),
        metadata={
            KEY: {"role": "problems", "landmarks_uid": lm["uid"], "film_uid": lm["film_uid"]}
        },
    )
    active = viewer.layers.selection.active
    viewer.layers.insert(viewer.layers.index(landmarks) + 1, layer)
    viewer.layers.selection.active = active  # clicks keep going to the landmarks


def value_labels(
    levels: Sequence[str], points: np.ndarray, measures: Mapping[str, Any]
) -> tuple[np.ndarray, list[str]]:
    """Return where and what to write on the film: each vertebra's heights and wedge angle.

    Parameters
    ----------
    levels : sequence of str
        The levels measured (:func:`~napari_kyphoimg._layerdata.layer_points`).
    points : ndarray, shape (n, 6, 2)
        Their lateral points.
    measures : mapping
        :func:`~napari_kyphoimg._tables.film_measures` of the same levels.

    Returns
    -------
    positions : ndarray, shape (m, 2)
        ``(row, col)`` in pixels: the middle of each vertebra's anterior wall (the text
        goes on the soft-tissue side, away from the body).
    texts : list of str
        ``"Ha 14.2 · Hp 24.0 mm"``, ``"wedge 12.3°"`` and, on index levels, ``"KA 18.5°"``,
        one per line (the level's name is already on its corner).
    """
    has_mm = bool(len(levels)) and np.isfinite(np.asarray(measures["row_mm"], float)).any()
    unit = "mm" if has_mm else "px"
    positions, texts = [], []
    for i in range(len(levels)):
        pts = points[i]
        if not np.isfinite(pts).any():
            continue
        wall = pts[[0, 3]] if np.isfinite(pts[[0, 3]]).all() else pts[np.isfinite(pts[:, 0])]
        parts = []
        ha, hp = (float(measures[f"{h}_{unit}"][i]) for h in ("ha", "hp"))
        if np.isfinite(ha) and np.isfinite(hp):
            parts.append(f"Ha {ha:.1f} · Hp {hp:.1f} {unit}".replace("-0.0", "0.0"))
        wedge = float(measures["wedge_angle_deg"][i])
        if np.isfinite(wedge):
            parts.append(f"wedge {wedge + 0.0:.1f}°".replace("-0.0°", "0.0°"))
        ka = float(measures["ka_deg"][i])
        if np.isfinite(ka):
            parts.append(f"KA {ka + 0.0:.1f}°".replace("-0.0°", "0.0°"))
        if parts:
            positions.append(np.nanmean(wall, axis=0))
            texts.append("\n".join(parts))
    return np.asarray(positions, dtype=float).reshape(-1, 2), texts


def anterior_side(points: np.ndarray) -> int:
    """Return +1 when the film's anterior side is to the right (larger columns), else -1.

    Parameters
    ----------
    points : ndarray, shape (n, 6, 2)
        Lateral points (:func:`~napari_kyphoimg._layerdata.layer_points`).

    Returns
    -------
    int
        The sign of the median anterior-minus-posterior column offset (+1 when unknown).
    """
    if not len(points):
        return 1
    offset = points[:, [0, 3], 1] - points[:, [2, 5], 1]
    offset = offset[np.isfinite(offset)]
    return -1 if len(offset) and float(np.median(offset)) < 0 else 1


def show_values(
    viewer: Any, landmarks: Any, positions: np.ndarray, texts: list[str], side: int = 1
) -> Any:
    """Write the measures on the film, in a text layer of their own (hide it to toggle).

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer.
    landmarks : napari.layers.Points
        A kyphoimg landmarks layer.
    positions, texts
        From :func:`value_labels`.
    side : int, optional
        :func:`anterior_side`: the text is written on that side of the position.

    Returns
    -------
    napari.layers.Points
        The values layer (created on first use, kept in the layer list as "... values").
    """
    lm = info(landmarks, "landmarks")
    size = float(np.max(landmarks.size)) if len(landmarks.size) else 10.0
    anchor = "upper_left" if side > 0 else "upper_right"
    shift = [1.5 * size, side * 1.5 * size]  # vispy sets multi-line text above its anchor
    active = viewer.layers.selection.active
    for layer in list(viewer.layers):
        if (info(layer, "values") or {}).get("landmarks_uid") == lm["uid"]:
            if len(layer.data) == len(positions):  # same vertebrae: new text and places
                layer.features = {"text": texts}
                layer.data = positions
                layer.text.anchor = anchor
                layer.text.translation = shift
                return layer
            visible = layer.visible
            viewer.layers.remove(layer)  # data and text must change size together
            break
    else:
        visible = True
    layer = Points(
        positions,
        name=f"{landmarks.name} values",
        features={"text": texts},
        size=0.1,
        face_color="transparent",
        border_width=0,
        text={
            "string": "{text}",
            "size": 10,
            "color": "#ffe066",
            "anchor": anchor,
            "translation": shift,
        },
        scale=tuple(landmarks.scale[-2:]),
        metadata={KEY: {"role": "values", "landmarks_uid": lm["uid"], "film_uid": lm["film_uid"]}},
    )
    layer.visible = visible
    viewer.layers.insert(viewer.layers.index(landmarks) + 1, layer)
    viewer.layers.selection.active = active
    return viewer.layers[layer.name]


#: Border of a proposed point no reader has confirmed yet (kyphoimg.assist).
PROPOSED_BORDER = (1.0, 0.0, 1.0, 1.0)


def mark_proposals(landmarks: Any, proposed: Mapping[str, Sequence[str]]) -> None:
    """Draw proposed, unconfirmed points with a thick magenta border; the others black.

    Parameters
    ----------
    landmarks : napari.layers.Points
        A kyphoimg landmarks layer.
    proposed : mapping
        ``{level: point names}`` not confirmed yet (:func:`kyphoimg.assist.unconfirmed`).
    """
    n = len(landmarks.data)
    if not n:
        return
    flags = np.zeros(n, dtype=bool)
    for i, (level, point) in enumerate(
        zip(landmarks.features["level"], landmarks.features["point"], strict=True)
    ):
        flags[i] = point in proposed.get(str(level), ())
    colors = np.tile(np.array([0.0, 0.0, 0.0, 1.0]), (n, 1))
    colors[flags] = PROPOSED_BORDER
    widths = np.where(flags, 0.35, 0.15)
    if not np.array_equal(np.asarray(landmarks.border_width), widths):
        landmarks.border_width = widths
    if not np.array_equal(np.asarray(landmarks.border_color), colors):
        landmarks.border_color = colors
