"""napari writer: a landmarks points layer to a kyphoimg landmark file (JSON, atomic)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kyphoimg import LandmarkError, LandmarkSet, write_landmarks

from ._files import relative_image_path
from ._layerdata import header_from_meta, layer_to_landmarks, with_unknown
from ._layers import KEY

__all__ = ["landmark_set_for_file", "write_landmarks_layer"]


def landmark_set_for_file(
    data: np.ndarray, features: pd.DataFrame, lm_meta: dict[str, Any], path: str | Path
) -> LandmarkSet:
    """Return the landmark set of a layer as it is written to ``path``.

    ``image.path`` is made relative to the landmark file when the film's file is known.
    """
    ls = layer_to_landmarks(data, features, header_from_meta(lm_meta["header"]))
    ls = with_unknown(ls, lm_meta.get("unknown_points"))  # kept until the reader fixes them
    image_file = lm_meta.get("image_file")
    if image_file:
        ls = ls.replace(image=replace(ls.image, path=relative_image_path(image_file, path)))
    return ls


def write_landmarks_layer(path: str, data: Any, attributes: dict[str, Any]) -> list[str]:
    """Write a landmarks points layer as ``kyphoimg-landmarks/1`` JSON, atomically.

    Parameters
    ----------
    path : str
        Destination chosen in napari; ``.landmarks.json`` is conventional.
    data : array-like, shape (N, 2)
        The layer's ``(row, col)`` pixel coordinates.
    attributes : dict
        The layer's attributes; ``features`` (``level``, ``point``) and
        ``metadata["kyphoimg"]`` are used.

    Returns
    -------
    list of str
        The path written.

    Raises
    ------
    LandmarkError
        If the layer is not a kyphoimg landmarks layer (no ``level``/``point`` features).
    """
    meta = (attributes.get("metadata") or {}).get(KEY) or {}
    features = attributes.get("features")
    if meta.get("role") != "landmarks" or features is None or "level" not in features:
        raise LandmarkError(
            "this points layer has no kyphoimg landmarks (features level and point); place "
            "them with the Landmarks widget, or save the layer with napari's CSV writer",
            file=str(path),
        )
    ls = landmark_set_for_file(np.asarray(data), pd.DataFrame(features), meta, path)
    return [str(write_landmarks(ls, path))]
