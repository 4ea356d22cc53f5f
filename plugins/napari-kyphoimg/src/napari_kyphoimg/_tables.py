"""The measurement tables the widgets show: one film's measures and a patient's time points.

No napari, no Qt. The measuring is kyphoimg's: :func:`film_measures` runs
:func:`kyphoimg.measure.measure_vertebrae` on a layer's arrays (the live path, no pandas);
:func:`film_measures_table` runs :func:`kyphoimg.measure.measure_points` on the points
table :func:`kyphoimg.measure.points_frame` builds (the full table, for copy and export).
The time-point tables are :func:`kyphoimg.measures_table` and
:func:`kyphoimg.features_table`. This module only formats their results as text cells.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kyphoimg import KyphoimgError, LandmarkSet, features_table, images_table, measures_table
from kyphoimg.landmarks import LATERAL_SCHEMES, level_index
from kyphoimg.measure import measure_points, measure_vertebrae, points_frame
from kyphoimg.timepoints import TIMEPOINTS

from ._layerdata import lateral_landmarks, layer_points

__all__ = [
    "derived_table",
    "display_rows",
    "display_table",
    "film_measures",
    "film_measures_table",
    "measure_layer",
    "table_tsv",
    "timepoint_matrix",
    "timepoint_tables",
    "whole_film_angles",
]


# ----------------------------------------------------------------------------- one film
def measure_layer(data: np.ndarray, features: pd.DataFrame, header: LandmarkSet) -> pd.DataFrame:
    """Measure a landmark layer with :func:`kyphoimg.measure_points` (one row per level).

    Parameters
    ----------
    data : ndarray, shape (N, 2)
        ``(row, col)`` in pixels.
    features : pandas.DataFrame
        ``level`` and ``point`` per row.
    header : LandmarkSet
        Scheme, calibration, image key, index levels and findings.

    Returns
    -------
    pandas.DataFrame
        :func:`film_measures_table` of the layer.
    """
    return film_measures_table(*layer_points(data, features, header), header)


def film_measures_table(
    levels: Sequence[str], points: np.ndarray, header: LandmarkSet
) -> pd.DataFrame:
    """Return the measures table of :func:`~napari_kyphoimg._layerdata.layer_points`' output.

    The points go back into a landmark set, through :func:`kyphoimg.measure.points_frame`
    and :func:`kyphoimg.measure.measure_points`.

    Parameters
    ----------
    levels, points
        From :func:`~napari_kyphoimg._layerdata.layer_points`.
    header : LandmarkSet
        Scheme, calibration, image key, index levels and findings.

    Returns
    -------
    pandas.DataFrame
        All of kyphoimg's columns, one row per level.
    """
    return measure_points(points_frame([lateral_landmarks(levels, points, header)]))


def film_measures(
    levels: list[str], points: np.ndarray, header: LandmarkSet
) -> dict[str, np.ndarray]:
    """Measure :func:`layer_points`' output with :func:`kyphoimg.measure_vertebrae`, without pandas.

    The live path of the Measurements widget: the per-vertebra columns of
    :func:`film_measures_table` (same values), as arrays.

    Parameters
    ----------
    levels, points
        From :func:`~napari_kyphoimg._layerdata.layer_points`.
    header : LandmarkSet
        Scheme, calibration and index levels.

    Returns
    -------
    dict of str to ndarray
        The columns :data:`kyphoimg.measure.VERTEBRA_COLUMNS`.
    """
    # ap4 layers have no lateral levels: measure zero rows as a lateral film.
    scheme = header.scheme if header.scheme in LATERAL_SCHEMES else "6pt"
    return measure_vertebrae(
        levels,
        points,
        header.calibration,
        scheme=scheme,
        index_levels=header.index_levels,
    )


_DISPLAY = (
    # (header, measures column, unit or None for heights, decimals)
    ("Ha", "ha", None, 1),
    ("Hm", "hm", None, 1),
    ("Hp", "hp", None, 1),
    ("AHR %", "ahr_pct", "", 1),
    ("Compr. %", "compression_pct", "", 1),
    ("Wedge °", "wedge_angle_deg", "", 1),
    ("KA °", "ka_deg", "", 1),
)


def _fmt(values: np.ndarray, decimals: int) -> list[str]:
    """Fixed-decimal text, empty for NaN, never ``-0.0``."""
    out = []
    for v in values.tolist():
        if not math.isfinite(v):
            out.append("")
            continue
        text = f"{v:.{decimals}f}"
        out.append(text[1:] if text.startswith("-") and float(text) == 0 else text)
    return out


def _display_columns(measures: Mapping[str, Any]) -> dict[str, list[str]]:
    """Return the text columns of :func:`display_table`."""
    level = np.asarray(measures["level"], dtype=object)
    has_mm = bool(len(level)) and bool(np.isfinite(np.asarray(measures["row_mm"], float)).any())
    unit = "mm" if has_mm else "px"
    is_index = np.asarray(measures["is_index"], dtype=bool)
    out: dict[str, list[str]] = {
        "Level": [
            f"{lv} *" if ix else str(lv) for lv, ix in zip(level.tolist(), is_index, strict=True)
        ]
    }
    for head, col, kind, dec in _DISPLAY:
        if kind is None:
            out[f"{head} ({unit})"] = _fmt(np.asarray(measures[f"{col}_{unit}"], float), dec)
        else:
            out[head] = _fmt(np.asarray(measures[col], float), dec)
    grades = np.asarray(measures["genant_grade"], float).tolist()
    kinds = np.asarray(measures["genant_type"], dtype=object).tolist()
    out["Genant"] = [
        "" if not math.isfinite(g) else (f"{g:.0f}" if g == 0 else f"{g:.0f} {k}")
        for g, k in zip(grades, kinds, strict=True)
    ]
    out["Status"] = [str(s) for s in np.asarray(measures["status"], dtype=object).tolist()]
    return out


def display_rows(measures: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Format one image's measures for the widget's table, without building a frame.

    Parameters
    ----------
    measures : pandas.DataFrame or mapping of str to array-like
        From :func:`measure_layer`, or :func:`film_measures`' arrays.

    Returns
    -------
    columns : list of str
        The headers of :func:`display_table`.
    rows : list of list of str
        The cells of :func:`display_table`, one list per vertebra.
    """
    cols = _display_columns(measures)
    return list(cols), [list(row) for row in zip(*cols.values(), strict=True)]


def display_table(measures: Mapping[str, Any]) -> pd.DataFrame:
    """Format a measures table for the widget: text cells, units in the headers.

    Heights are in mm when the row's calibration has millimetres, else in pixels (the
    header says which). Index levels are marked ``*``. Genant shows grade and type.

    Parameters
    ----------
    measures : pandas.DataFrame or mapping of str to array-like
        From :func:`measure_layer` (one image), or :func:`film_measures`' arrays.

    Returns
    -------
    pandas.DataFrame
        Columns ``Level``, ``Ha (mm|px)``, ``Hm``, ``Hp``, ``AHR %``, ``Compr. %``,
        ``Wedge °``, ``KA °``, ``Genant``, ``Status``; all strings.
    """
    return pd.DataFrame(_display_columns(measures))


def table_tsv(table: pd.DataFrame) -> str:
    """Return a table as tab-separated text with a header line (for the clipboard).

    Parameters
    ----------
    table : pandas.DataFrame
        Any table; missing cells become empty.

    Returns
    -------
    str
        One line per row, ending with a newline.
    """
    lines = ["\t".join(map(str, table.columns))]
    lines += [
        "\t".join(
            "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in row
        )
        for row in table.itertuples(index=False)
    ]
    return "\n".join(lines) + "\n"


def whole_film_angles(ls: LandmarkSet) -> str:
    """Return one line of the whole-film angles kyphoimg finds (TK, TLK, LL, coronal Cobb).

    Parameters
    ----------
    ls : LandmarkSet
        One film's landmarks.

    Returns
    -------
    str
        ``"TLK 12.3°  LL 40.1°"``; empty when no angle can be measured.
    """
    row = images_table([ls]).iloc[0]
    names = {
        "tk_deg": "TK",
        "tlk_deg": "TLK",
        "ll_deg": "LL",
        "cobb_pt_deg": "Cobb PT",
        "cobb_mt_deg": "Cobb MT",
        "cobb_tl_deg": "Cobb TL",
    }
    parts = [
        f"{label} {float(row[col]):.1f}°"
        for col, label in names.items()
        if col in row and pd.notna(row[col])
    ]
    return "  ".join(parts)


# ----------------------------------------------------------------------------- time points
_TP_MEASURES = (
    ("AHR %", "ahr_pct"),
    ("Compression %", "compression_pct"),
    ("Wedge °", "wedge_angle_deg"),
    ("KA °", "ka_deg"),
    ("Ha mm", "ha_mm"),
    ("Genant grade", "genant_grade"),
)
_DERIVED = (
    ("Height restoration %", "height_restoration_pct"),
    ("AHR gain pp", "ahr_gain_pp"),
    ("Reduction angle °", "reduction_angle_deg"),
    ("Correction loss °", "correction_loss_deg"),
    ("Height loss %", "height_loss_pct"),
    ("Recompression", "recompression"),
)


def _timepoint_order(present: Sequence[str]) -> list[str]:
    known = [t for t in ("pre", "post") if t in present]
    others = [t for t in present if t not in TIMEPOINTS]
    return known + others + (["last"] if "last" in present else [])


def timepoint_tables(sets: Sequence[LandmarkSet]) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Measure one patient's films and derive their longitudinal features.

    Parameters
    ----------
    sets : sequence of LandmarkSet
        One set per film (pre, post, last, ...), each with its ``timepoint``.

    Returns
    -------
    measures : pandas.DataFrame
        :func:`kyphoimg.measures_table` of the sets.
    features : pandas.DataFrame
        :func:`kyphoimg.features_table` (zero rows when no index level is set).
    message : str
        Empty, or why the features could not be derived.
    """
    measures = measures_table(sets)
    present = [str(t) for t in pd.unique(measures["timepoint"].dropna())]
    try:
        features = features_table(measures, order=_timepoint_order(present))
    except KyphoimgError as exc:
        return measures, features_table(measures.iloc[0:0]), str(exc)
    message = "" if len(features) else "set the index level(s) to derive the features"
    return measures, features, message


def timepoint_matrix(measures: pd.DataFrame) -> pd.DataFrame:
    """Return index-level measures side by side: a row per level x measure, a column per time.

    Parameters
    ----------
    measures : pandas.DataFrame
        From :func:`timepoint_tables`.

    Returns
    -------
    pandas.DataFrame
        Column ``Measure`` then one text column per time point (pre, post, others, last).
    """
    idx = measures[measures["is_index"].astype(bool)]
    tps = _timepoint_order([str(t) for t in pd.unique(idx["timepoint"].dropna())])
    rows = []
    for level in sorted(set(idx["level"]), key=level_index):
        sub = idx[idx["level"] == level].set_index("timepoint")
        for label, col in _TP_MEASURES:
            vals = [sub[col].get(t, np.nan) if t in sub.index else np.nan for t in tps]
            rows.append(
                [f"{level} {label}", *("" if pd.isna(v) else f"{float(v):.1f}" for v in vals)]
            )
    return pd.DataFrame(rows, columns=["Measure", *tps])


def derived_table(features: pd.DataFrame) -> pd.DataFrame:
    """Return the derived features of each treated vertebra as ``Feature, Value`` rows.

    Parameters
    ----------
    features : pandas.DataFrame
        From :func:`timepoint_tables`.

    Returns
    -------
    pandas.DataFrame
        Columns ``Feature`` and ``Value`` (text).
    """
    rows = []
    for _, row in features.iterrows():
        for label, col in _DERIVED:
            if col not in row:
                continue
            v = row[col]
            if isinstance(v, bool | np.bool_):
                text = "yes" if v else "no"
            elif pd.isna(v):
                text = ""
            else:
                text = f"{float(v):.1f}"
            rows.append([f"{row['level']} {label}", text])
    return pd.DataFrame(rows, columns=["Feature", "Value"])
