"""Per-vertebra, segmental and whole-film measures, vectorized over a cohort.

The engine works on a *points frame*: one row per image x vertebra with the pixel
coordinates of every lateral point (``ant_sup_row``, ``ant_sup_col``, ...) and the
image's calibration. :func:`points_frame` builds it from landmark sets; the flat CSV
form maps onto it directly. :func:`measure_points` computes every measure for all rows
at once with numpy; :func:`measures_table` and :func:`images_table` are the usual entry
points. :func:`measure_vertebrae` is the same computation for one film's arrays, without
pandas (both run the one implementation of the formulas, ``_measure_rows``).
Single-value functions (:func:`vertebral_heights`, :func:`cobb_angle`, ...) raise
:class:`~kyphoimg.errors.LandmarkError` instead of returning NaN.

Definitions are those of ``docs/measures.md``; all distances and angles are computed in
mm space (``(row, col) * (row_mm, col_mm)``), square pixels being assumed only when the
calibration is ``none``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .calibration import Calibration
from .coronal import aasce_cobb_angles
from .errors import LandmarkError, MeasureError
from .geometry import cobb_deg, distance, nanmean_pair
from .landmarks import (
    FINDINGS,
    LATERAL_SCHEMES,
    LEVELS,
    SCHEMES,
    LandmarkSet,
    level_index,
    point_sources,
    validate_landmarks,
)

__all__ = [
    "GENANT_THRESHOLDS_PCT",
    "IMAGE_ANGLES",
    "IMAGE_COLUMNS",
    "MEASURE_COLUMNS",
    "VERTEBRA_COLUMNS",
    "Heights",
    "cobb_angle",
    "gardner_angle",
    "images_table",
    "kyphotic_angle",
    "measure_points",
    "measure_vertebrae",
    "measures_table",
    "points_frame",
    "vertebral_heights",
    "wedge_angle",
    "with_point_source",
]

LATERAL_POINTS: tuple[str, ...] = SCHEMES["6pt"]
KEY_COLUMNS: tuple[str, ...] = ("patient_id", "timepoint", "image", "rater")
_N_LEVELS = len(LEVELS)
_LEVEL_INDEX = pd.Index(LEVELS)
_LEVEL_CODE = {lv: i for i, lv in enumerate(LEVELS)}
_S1 = LEVELS.index("S1")

#: Lower bounds (percent height loss) of morphometric Genant grades 1, 2 and 3.
GENANT_THRESHOLDS_PCT: tuple[float, float, float] = (20.0, 25.0, 40.0)

#: Whole-film sagittal angles: column -> (upper level, upper endplate, lower level, lower endplate).
IMAGE_ANGLES: dict[str, tuple[str, str, str, str]] = {
    "tk_deg": ("T4", "sup", "T12", "inf"),
    "tlk_deg": ("T10", "sup", "L2", "inf"),
    "ll_deg": ("L1", "sup", "S1", "sup"),
    "tk_t5_t12_deg": ("T5", "sup", "T12", "inf"),
    "tk_t1_t12_deg": ("T1", "sup", "T12", "inf"),
    "ll_l1_l5_deg": ("L1", "sup", "L5", "inf"),
    "ll_t12_s1_deg": ("T12", "sup", "S1", "sup"),
}

QM_RATIOS: tuple[str, ...] = ("qm_ha_hp", "qm_hm_hp", "qm_hp_hpu", "qm_hp_hpl")

#: Column order of the measures table (the documented contract first, then variants).
MEASURE_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "timepoint",
    "level",
    "scheme",
    "spacing_source",
    "ha_mm",
    "hm_mm",
    "hp_mm",
    "ha_px",
    "hm_px",
    "hp_px",
    "wedge_ratio",
    "wedge_angle_deg",
    "ahr_pct",
    "mhr_pct",
    "phr_pct",
    "compression_pct",
    "genant_grade",
    "genant_type",
    "status",
    "reason",
    "ka_deg",
    "gardner_deg",
    "image",
    "rater",
    "is_index",
    "compression_mid_pct",
    "compression_post_pct",
    "compression_wedge_pct",
    "compression_max_pct",
    "genant_loss_pct",
    "genant_reference",
    *QM_RATIOS,
    *FINDINGS,
    "row_mm",
    "col_mm",
)

#: Column order of the images table.
IMAGE_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "timepoint",
    "image",
    "rater",
    "scheme",
    "spacing_source",
    *IMAGE_ANGLES,
    "cobb_pt_deg",
    "cobb_mt_deg",
    "cobb_tl_deg",
    "status",
    "reason",
)

_POINT_COLS = tuple(f"{n}_{ax}" for n in LATERAL_POINTS for ax in ("row", "col"))
POINTS_FRAME_COLUMNS: tuple[str, ...] = (
    *KEY_COLUMNS,
    "level",
    "scheme",
    "spacing_source",
    "row_mm",
    "col_mm",
    "is_index",
    *_POINT_COLS,
    *FINDINGS,
)


# ----------------------------------------------------------------------------- points frame
def points_frame(sets: Iterable[LandmarkSet]) -> pd.DataFrame:
    """Flatten lateral landmark sets into one row per image x vertebra.

    Parameters
    ----------
    sets : iterable of LandmarkSet
        Landmark sets of lateral films (schemes ``6pt``/``4pt``); ``ap4`` sets are skipped.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`POINTS_FRAME_COLUMNS`: the image key, level, scheme, calibration
        (``spacing_source``, ``row_mm``, ``col_mm``), ``is_index``, pixel coordinates
        ``<point>_row``/``<point>_col`` (NaN where absent) and the reader findings.
    """
    records: list[tuple[Any, ...]] = []
    for ls in sets:
        if ls.scheme not in LATERAL_SCHEMES:
            continue
        cal = ls.calibration
        key = (ls.patient_id, ls.timepoint, ls.image.path, ls.rater)
        for level, pts in ls.points.items():
            coords: list[float] = []
            for name in LATERAL_POINTS:
                r, c = pts.get(name, (np.nan, np.nan))
                coords += (r, c)
            found = ls.findings.get(level, {})
            records.append(
                (
                    *key,
                    level,
                    ls.scheme,
                    cal.source,
                    cal.row_mm,
                    cal.col_mm,
                    level in ls.index_levels,
                    *coords,
                    *(found.get(k) for k in FINDINGS),
                )
            )
    frame = pd.DataFrame.from_records(records, columns=list(POINTS_FRAME_COLUMNS))
    return frame.astype({c: float for c in (*_POINT_COLS, "row_mm", "col_mm")}).astype(
        {"is_index": bool}
    )


# ----------------------------------------------------------------------------- engine
# Bits of the per-row reason code, with their messages.
_REASONS: tuple[tuple[str, str], ...] = (
    *((f"missing_{n}", f"{n} missing") for n in LATERAL_POINTS),
    (
        "no_neighbour",
        "no adjacent vertebra annotated: ratios, compression and Genant grade need one",
    ),
    ("cranial_only", "reference height from the cranial neighbour only"),
    ("caudal_only", "reference height from the caudal neighbour only"),
    ("hm_approx", "hm from 4-corner chord midpoints (approximate)"),
    ("no_mm", "no calibration: mm values are NaN"),
    (
        "ka_missing",
        "ka_deg needs the cranial neighbour's superior and the caudal neighbour's inferior "
        "endplate corners",
    ),
    (
        "gardner_missing",
        "gardner_deg needs the cranial neighbour's superior endplate corners",
    ),
    ("duplicate", "level annotated twice on this image: measures withheld"),
    (
        "skipped_fractured",
        "fractured neighbour skipped as height reference (see ahr_reference_levels)",
    ),
    ("unknown_level", "unknown level name"),
    ("s1", "S1 carries its superior endplate only"),
)
_BIT = {name: 1 << i for i, (name, _) in enumerate(_REASONS)}
_GENANT_TYPES: tuple[str, ...] = ("normal", "wedge", "biconcave", "crush")
# Bits that leave every applicable measure computed (notes, not problems).
_NOTE_BITS = (
    _BIT["cranial_only"]
    | _BIT["caudal_only"]
    | _BIT["hm_approx"]
    | _BIT["no_mm"]
    | _BIT["skipped_fractured"]
)


def _describe(code: int) -> str:
    return "; ".join(msg for i, (_, msg) in enumerate(_REASONS) if code >> i & 1)


def _status(code: int) -> str:
    if code & _BIT["s1"]:
        return "endplate_only"
    if code & ~_NOTE_BITS:
        return "incomplete"
    return "ok"


def _take(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``values[idx]`` with NaN where ``idx`` is -1."""
    out = values[np.where(idx >= 0, idx, 0)]
    mask = idx < 0
    if out.ndim > 1:
        mask = mask.reshape(mask.shape + (1,) * (out.ndim - 1))
    return np.where(mask, np.nan, out)


def _image_codes(pf: pd.DataFrame) -> np.ndarray:
    """One integer per distinct image key (patient, time point, image, rater).

    Each key column is factorised on its own (missing values get their own code) and the
    code tuples are numbered: cheaper than a groupby, which matters for the live refresh
    of a single film in the napari plugin as much as for a cohort.
    """
    combined = np.zeros(len(pf), dtype=np.int64)
    for c in KEY_COLUMNS:
        codes, uniques = pd.factorize(pf[c], use_na_sentinel=False)
        # Mixed-radix number of the code tuple; re-factorised after each column so it
        # never exceeds the number of rows (no overflow, whatever the cardinalities).
        combined = pd.factorize(combined * (len(uniques) + 1) + codes)[0].astype(np.int64)
    return combined


def _categorical(codes: np.ndarray, labels: list[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=pd.Index(labels, dtype=object))


def _check_reference(genant_reference: str) -> None:
    if genant_reference not in ("adjacent", "own_posterior"):
        raise ValueError(
            f"genant_reference={genant_reference!r}; use 'adjacent' or 'own_posterior'"
        )


def _neighbours(
    img: np.ndarray, lvl: np.ndarray, known: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Duplicated rows and each row's cranial and caudal neighbour row (-1 when none).

    Rows are keyed by (image code, level index) in a dense lookup table; a level annotated
    twice on one image is a duplicate, has no neighbours and is nobody's neighbour.
    """
    n = len(lvl)
    size = (int(img.max()) + 1 if n else 0) * _N_LEVELS
    flat = img * _N_LEVELS + lvl
    dup = known & (np.bincount(flat[known], minlength=size)[flat] > 1)
    good = known & ~dup
    table = np.full(size, -1, dtype=np.int64)
    table[flat[good]] = np.flatnonzero(good)
    up = np.where(good & (lvl > 0), table[np.maximum(flat - 1, 0)], -1)
    down = np.where(good & (lvl < _N_LEVELS - 1), table[np.minimum(flat + 1, size - 1)], -1)
    return dup, up, down


def _measure_rows(
    coords: np.ndarray,
    spacing: np.ndarray,
    has_mm: np.ndarray,
    four: np.ndarray,
    lvl: np.ndarray,
    known: np.ndarray,
    dup: np.ndarray,
    up: np.ndarray,
    down: np.ndarray,
    is_index: np.ndarray,
    genant_reference: str,
    *,
    ref: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Every per-vertebra and segmental measure of N vertebra rows: the formulas, numpy only.

    Shared by :func:`measure_points` (a cohort) and :func:`measure_vertebrae` (one film).

    Parameters
    ----------
    coords : ndarray, shape (N, 12)
        Pixel ``(row, col)`` of :data:`LATERAL_POINTS` (``_POINT_COLS`` order), NaN where
        absent.
    spacing : ndarray, shape (N, 2)
        ``(row_mm, col_mm)`` as recorded (NaN allowed).
    has_mm : ndarray of bool
        Whether the row's calibration has millimetres.
    four : ndarray of bool
        Whether the row comes from a 4-corner (``4pt``) set.
    lvl, known, dup, up, down : ndarray
        Level index (any value where not ``known``), whether the level is known, whether
        it is duplicated, and the neighbour rows from :func:`_neighbours`.
    is_index : ndarray of bool
        The index flags as recorded.
    genant_reference : str
        ``adjacent`` or ``own_posterior``.
    ref : tuple of ndarray, optional
        The cranial and caudal rows whose heights are the reference of the height ratios,
        compression and the adjacent Genant grade (default ``up`` and ``down``; see
        :func:`_reference_rows`). The segmental angles and the QM size ratios always use
        the adjacent vertebrae.

    Returns
    -------
    columns : dict of str to ndarray
        The float measure columns of :data:`MEASURE_COLUMNS`, ``is_index`` (bool) and
        ``row_mm``/``col_mm``.
    code : ndarray of int64
        Reason code of each row (bits of ``_REASONS``).
    genant_type : ndarray of int64
        Index into ``_GENANT_TYPES``, -1 where ungraded.
    """
    n = len(lvl)
    code = np.zeros(n, dtype=np.int64)
    code[~known] |= _BIT["unknown_level"]
    code[dup] |= _BIT["duplicate"]
    good = known & ~dup

    # Coordinates in mm space (unit spacing when uncalibrated: angles and ratios only).
    unit = np.where(has_mm[:, None] & np.isfinite(spacing), spacing, 1.0)
    px = {p: coords[:, 2 * i : 2 * i + 2] for i, p in enumerate(LATERAL_POINTS)}
    is_s1 = good & (lvl == _S1)
    code[is_s1] |= _BIT["s1"]
    for i, p in enumerate(LATERAL_POINTS):
        absent = np.isnan(px[p]).any(axis=1)
        needed = ~(four & p.startswith("mid")) & ~(is_s1 & p.endswith("_inf"))
        code[absent & needed & known] |= 1 << i
    for end in ("sup", "inf"):
        approx = four & np.isnan(px[f"mid_{end}"]).any(axis=1)
        px[f"mid_{end}"] = np.where(
            approx[:, None], (px[f"ant_{end}"] + px[f"post_{end}"]) / 2, px[f"mid_{end}"]
        )
    code[four & ~is_s1] |= _BIT["hm_approx"]
    code[~has_mm] |= _BIT["no_mm"]
    mm = {p: v * unit for p, v in px.items()}

    def heights(pts: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(distance(pts[f"{s}_sup"], pts[f"{s}_inf"]) for s in ("ant", "mid", "post"))  # type: ignore[return-value]

    ha_px, hm_px, hp_px = heights(px)
    ha, hm, hp = heights(mm)  # geometric heights (mm when calibrated)
    nan = np.full(n, np.nan)
    out: dict[str, np.ndarray] = {}
    out["ha_mm"], out["hm_mm"], out["hp_mm"] = (np.where(has_mm, h, nan) for h in (ha, hm, hp))
    out["ha_px"], out["hm_px"], out["hp_px"] = ha_px, hm_px, hp_px

    with np.errstate(invalid="ignore", divide="ignore"):
        wedge_ratio = ha / hp
        out["wedge_ratio"] = wedge_ratio
        out["wedge_angle_deg"] = cobb_deg(
            mm["post_sup"], mm["ant_sup"], mm["post_inf"], mm["ant_inf"]
        )

        # A neighbour counts when it is annotated at all; its own row says what it lacks.
        ref_up, ref_dn = (up, down) if ref is None else ref
        up_ok, dn_ok = ref_up >= 0, ref_dn >= 0
        code[good & ~is_s1 & ~up_ok & ~dn_ok] |= _BIT["no_neighbour"]
        code[good & ~is_s1 & up_ok & ~dn_ok] |= _BIT["cranial_only"]
        code[good & ~is_s1 & ~up_ok & dn_ok] |= _BIT["caudal_only"]
        code[good & ~is_s1 & ((ref_up != up) | (ref_dn != down))] |= _BIT["skipped_fractured"]
        ratios = {}
        for name, h in (("ahr_pct", ha), ("mhr_pct", hm), ("phr_pct", hp)):
            reference = nanmean_pair(_take(h, ref_up), _take(h, ref_dn))
            ratios[name] = 100.0 * h / reference
            out[name] = ratios[name]
        out["compression_pct"] = 100.0 - ratios["ahr_pct"]
        out["compression_mid_pct"] = 100.0 - ratios["mhr_pct"]
        out["compression_post_pct"] = 100.0 - ratios["phr_pct"]
        out["compression_wedge_pct"] = 100.0 * (1.0 - wedge_ratio)
        losses = np.stack(
            [out["compression_pct"], out["compression_mid_pct"], out["compression_post_pct"]]
        )
        all_three = ~np.isnan(losses).any(axis=0)
        out["compression_max_pct"] = np.where(
            all_three, np.max(np.nan_to_num(losses, nan=-np.inf), axis=0), np.nan
        )

        if genant_reference == "adjacent":
            g_losses = losses
        else:
            g_losses = np.stack([100.0 * (1 - ha / hp), 100.0 * (1 - hm / hp), np.zeros(n)])
        g_ok = ~np.isnan(g_losses).any(axis=0)
        g_loss = np.where(g_ok, np.max(np.nan_to_num(g_losses, nan=-np.inf), axis=0), np.nan)
        # Round away floating-point noise so that an exact 40 % loss grades as 3, not 2.
        grade = np.searchsorted(
            np.asarray(GENANT_THRESHOLDS_PCT), np.round(g_loss, 9), side="right"
        ).astype(float)
        grade[~g_ok] = np.nan
        kind = np.argmax(np.nan_to_num(g_losses, nan=-np.inf), axis=0) + 1
        out["genant_grade"] = grade
        genant_type = np.where(~g_ok, -1, np.where(grade >= 1, kind, 0)).astype(np.int64)
        out["genant_loss_pct"] = g_loss

        out["qm_ha_hp"] = wedge_ratio
        out["qm_hm_hp"] = hm / hp
        out["qm_hp_hpu"] = hp / _take(hp, up)
        out["qm_hp_hpl"] = hp / _take(hp, down)

        # Segmental angles of index vertebrae: KA (bisegmental Cobb), Gardner.
        is_index = is_index & good
        # Only index rows carry segmental angles: compute them there.
        sel = np.flatnonzero(is_index)
        up_sel, dn_sel = up[sel], down[sel]
        ka = cobb_deg(
            _take(mm["post_sup"], up_sel),
            _take(mm["ant_sup"], up_sel),
            _take(mm["post_inf"], dn_sel),
            _take(mm["ant_inf"], dn_sel),
        )
        gardner = cobb_deg(
            _take(mm["post_sup"], up_sel),
            _take(mm["ant_sup"], up_sel),
            mm["post_inf"][sel],
            mm["ant_inf"][sel],
        )
    out["ka_deg"] = np.full(n, np.nan)
    out["ka_deg"][sel] = ka
    out["gardner_deg"] = np.full(n, np.nan)
    out["gardner_deg"][sel] = gardner
    code[is_index & np.isnan(out["gardner_deg"])] |= _BIT["gardner_missing"]
    code[is_index & np.isnan(out["ka_deg"])] |= _BIT["ka_missing"]

    # A duplicated or unknown level gets no measures at all (every float measure column).
    withheld = dup | ~known
    for col, values in out.items():
        out[col] = np.where(withheld, np.nan, values)
    out["is_index"] = is_index
    out["row_mm"] = np.where(has_mm, spacing[:, 0], np.nan)
    out["col_mm"] = np.where(has_mm, spacing[:, 1], np.nan)
    return out, code, genant_type


def _reference_rows(
    up: np.ndarray, down: np.ndarray, fractured: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's nearest non-fractured annotated vertebra above and below (-1 when none).

    Walks from the adjacent row past fractured rows; a level that is not annotated ends the
    walk (an unseen vertebra is not known to be normal).
    """
    ref_up, ref_dn = up.copy(), down.copy()
    for _ in range(_N_LEVELS):
        step_up = (ref_up >= 0) & fractured[np.maximum(ref_up, 0)]
        step_dn = (ref_dn >= 0) & fractured[np.maximum(ref_dn, 0)]
        if not (step_up.any() or step_dn.any()):
            break
        ref_up = np.where(step_up, up[np.maximum(ref_up, 0)], ref_up)
        ref_dn = np.where(step_dn, down[np.maximum(ref_dn, 0)], ref_dn)
    return ref_up, ref_dn


def _skip_fractured(
    args: tuple[Any, ...], first: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Re-measure with fractured vertebrae skipped as height references.

    A vertebra is fractured when it is an index level of its film or has a morphometric
    Genant grade of 1 or more. Skipping a fractured neighbour can reveal another fracture
    its low height hid, so the set of fractured vertebrae grows until it is stable (it only
    grows, so this ends; in practice after one or two passes).

    Parameters
    ----------
    args : tuple
        The positional arguments of :func:`_measure_rows` (with ``up`` and ``down``).
    first : dict
        The columns measured with the adjacent references.

    Returns
    -------
    columns, code, genant_type
        As :func:`_measure_rows`.
    ref : tuple of ndarray
        The cranial and caudal reference rows used.
    """
    up, down, is_index = args[7], args[8], args[9]
    good = args[5] & ~args[6]
    fractured = good & (is_index | (first["genant_grade"] >= 1))
    for _ in range(_N_LEVELS + 1):
        ref = _reference_rows(up, down, fractured)
        columns, code, genant_type = _measure_rows(*args, ref=ref)
        grown = fractured | (good & (columns["genant_grade"] >= 1))
        if (grown == fractured).all():
            break
        fractured = grown
    return columns, code, genant_type, ref


def _reference_levels(
    lvl: np.ndarray, ref: tuple[np.ndarray, np.ndarray], measured: np.ndarray
) -> np.ndarray:
    """``"T12,L2"``: the levels of each row's reference rows (empty where none or unmeasured)."""
    names = np.array(LEVELS, dtype=object)
    sides = [np.where(r >= 0, names[lvl[np.maximum(r, 0)]], "") for r in ref]
    out = np.array(
        [",".join(x for x in pair if x) for pair in zip(*sides, strict=True)], dtype=object
    )
    out[~measured] = ""
    return out


def _status_reason(code: np.ndarray) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    """Status and reason of each row's code: ``(status codes, statuses, reason codes, reasons)``."""
    uniq, inv = np.unique(code, return_inverse=True)
    statuses = sorted({_status(int(c)) for c in uniq})
    status = np.array([statuses.index(_status(int(c))) for c in uniq], dtype=np.int64)[inv]
    return status, statuses, inv.astype(np.int64), [_describe(int(c)) for c in uniq]


def measure_points(
    pf: pd.DataFrame,
    *,
    genant_reference: str = "adjacent",
    normative: pd.DataFrame | None = None,
    sd_threshold: float = 3.0,
    skip_fractured_references: bool = False,
) -> pd.DataFrame:
    """Compute every per-vertebra and segmental measure for a points frame.

    Parameters
    ----------
    pf : pandas.DataFrame
        A points frame (see :func:`points_frame`).
    genant_reference : {"adjacent", "own_posterior"}, optional
        Reference height of the morphometric Genant grade: the mean of the adjacent
        vertebrae's heights (default; the loss is the largest of anterior, middle and
        posterior), or the vertebra's own posterior height (losses of Ha and Hm only).
    normative : pandas.DataFrame, optional
        Normative QM ratios with columns ``level``, ``ratio`` (one of ``ha_hp``,
        ``hm_hp``, ``hp_hpu``, ``hp_hpl``), ``mean`` and ``sd``. When given, the table
        gains ``qm_<ratio>_z`` columns and ``qm_deformity`` (any ratio more than
        ``sd_threshold`` SD below the normative mean).
    sd_threshold : float, optional
        SD threshold of ``qm_deformity`` (3 or 4 are customary).
    skip_fractured_references : bool, optional
        Reference heights of the height ratios (``ahr_pct``, ``mhr_pct``, ``phr_pct``),
        compression and the adjacent Genant grade: by default (False) the adjacent
        vertebrae, fractured or not. With True a fractured neighbour (an index level of
        the film, or a morphometric Genant grade of 1 or more) is skipped for the next
        annotated vertebra on that side that is not fractured; an unannotated level
        ends the search. The table then gains ``ahr_reference_levels`` naming the levels
        used (``"T12,L2"``), and ``reason`` notes each row whose references moved. The
        segmental angles and the QM size ratios keep the adjacent vertebrae.

    Returns
    -------
    pandas.DataFrame
        The measures table, columns :data:`MEASURE_COLUMNS` (plus the QM z-scores when
        ``normative`` is given, and ``ahr_reference_levels`` with
        ``skip_fractured_references``), one row per input row.

    Raises
    ------
    ValueError
        If ``genant_reference`` is unknown or the normative table lacks a column.

    See Also
    --------
    measure_vertebrae : the same measures of one film from arrays, without pandas.
    """
    _check_reference(genant_reference)
    n = len(pf)
    lvl = _LEVEL_INDEX.get_indexer(pd.Index(pf["level"]))
    known = lvl >= 0
    lvl = np.where(known, lvl, 0).astype(np.int64)
    img = _image_codes(pf) if n else np.zeros(0, dtype=np.int64)
    dup, up, down = _neighbours(img, lvl, known)

    source = pf["spacing_source"].astype("category")
    if source.isna().any():  # an unset source means no calibration
        if "none" not in source.cat.categories:
            source = source.cat.add_categories(["none"])
        source = source.fillna("none")
    spacing = np.column_stack(
        [pf["row_mm"].to_numpy(dtype=float), pf["col_mm"].to_numpy(dtype=float)]
    )
    args = (
        np.column_stack([pf[c].to_numpy(dtype=float) for c in _POINT_COLS]),
        spacing,
        (source != "none").to_numpy(),
        (pf["scheme"] == "4pt").to_numpy(),
        lvl,
        known,
        dup,
        up,
        down,
        pf["is_index"].to_numpy(dtype=bool),
        genant_reference,
    )
    columns, code, genant_type = _measure_rows(*args)
    ref = None
    if skip_fractured_references:
        columns, code, genant_type, ref = _skip_fractured(args, columns)
    out: dict[str, Any] = {
        c: pf[c].reset_index(drop=True) for c in (*KEY_COLUMNS, "level", "scheme")
    }
    out["spacing_source"] = source.reset_index(drop=True)
    out.update(columns)
    out["genant_type"] = _categorical(genant_type, list(_GENANT_TYPES))
    out["genant_reference"] = _categorical(np.zeros(n, dtype=np.int64), [genant_reference])
    for k in FINDINGS:
        out[k] = pf[k].reset_index(drop=True)
    status, statuses, reason, reasons = _status_reason(code)
    out["status"] = _categorical(status, statuses)
    out["reason"] = _categorical(reason, reasons)

    # copy=False: the arrays are freshly computed here, and consolidating ~30 float columns
    # into one block would cost more than every measure above (pandas is copy-on-write).
    frame = pd.DataFrame({c: out[c] for c in MEASURE_COLUMNS}, copy=False)
    if ref is not None:
        measured = ~np.isnan(columns["ahr_pct"]) | ~np.isnan(columns["phr_pct"])
        frame["ahr_reference_levels"] = _reference_levels(lvl, ref, measured)
    if normative is not None:
        frame = _apply_normative(frame, normative, sd_threshold)
    return frame


#: Columns of :func:`measure_vertebrae`: the per-vertebra columns of :data:`MEASURE_COLUMNS`.
VERTEBRA_COLUMNS: tuple[str, ...] = tuple(
    c
    for c in MEASURE_COLUMNS
    if c not in (*KEY_COLUMNS, "scheme", "spacing_source", "genant_reference", *FINDINGS)
)


def measure_vertebrae(
    levels: Sequence[str],
    points: ArrayLike,
    calibration: Calibration | None = None,
    *,
    scheme: str = "6pt",
    index_levels: Iterable[str] = (),
    genant_reference: str = "adjacent",
) -> dict[str, np.ndarray]:
    """Measure the vertebrae of one lateral film from arrays, without pandas.

    The lean path of :func:`measure_points` for a single image, e.g. for a display that
    re-measures on every point move: the same computation (hence the same values) as the
    per-vertebra columns :func:`measure_points` gives for the film's rows, without
    building a points frame or a table.

    Parameters
    ----------
    levels : sequence of str
        Level of each of the N vertebrae (:data:`~kyphoimg.LEVELS`); an unknown or
        repeated level gets no measures, as in :func:`measure_points`.
    points : array_like, shape (N, 6, 2)
        Pixel ``(row, col)`` of each vertebra's points in ``SCHEMES["6pt"]`` order
        (``ant_sup``, ``mid_sup``, ``post_sup``, ``ant_inf``, ``mid_inf``, ``post_inf``),
        NaN where a point is absent (the midpoints of a ``4pt`` film).
    calibration : Calibration, optional
        The film's pixel spacing (default: none; the mm values are then NaN).
    scheme : {"6pt", "4pt"}, optional
        The film's landmark scheme (``4pt``: Hm from the chord midpoints).
    index_levels : iterable of str, optional
        Levels that get the segmental angles ``ka_deg`` and ``gardner_deg``.
    genant_reference : {"adjacent", "own_posterior"}, optional
        See :func:`measure_points`.

    Returns
    -------
    dict of str to numpy.ndarray
        One array of length N per column of :data:`VERTEBRA_COLUMNS` (the columns of
        :data:`MEASURE_COLUMNS` but the image key, ``scheme``, ``spacing_source``,
        ``genant_reference`` and the reader findings), in that order: ``level``,
        ``genant_type`` (None where ungraded), ``status`` and ``reason`` as object arrays
        of str, ``is_index`` as bool, the others as float.

    Raises
    ------
    ValueError
        If ``scheme`` is not lateral, ``points`` does not have shape (N, 6, 2) or
        ``genant_reference`` is unknown.

    Examples
    --------
    >>> nan = (np.nan, np.nan)
    >>> box = [(0, 30), nan, (0, 0), (20, 30), nan, (25, 0)]
    >>> m = measure_vertebrae(["L1"], [box], scheme="4pt")
    >>> m["ha_px"].tolist(), m["hp_px"].tolist(), m["wedge_ratio"].tolist()
    ([20.0], [25.0], [0.8])
    """
    _check_reference(genant_reference)
    if scheme not in LATERAL_SCHEMES:
        raise ValueError(f"scheme={scheme!r}; measure_vertebrae measures lateral films (6pt, 4pt)")
    names = np.empty(len(levels), dtype=object)
    names[:] = list(levels)
    n = len(names)
    xy = np.asarray(points, dtype=float)
    if xy.shape != (n, len(LATERAL_POINTS), 2) and not (n == 0 and xy.size == 0):
        raise ValueError(
            f"points has shape {xy.shape}; expected ({n}, {len(LATERAL_POINTS)}, 2): the "
            f"(row, col) of {', '.join(LATERAL_POINTS)} of each level"
        )
    cal = calibration if calibration is not None else Calibration.none()
    lvl = np.fromiter((_LEVEL_CODE.get(lv, -1) for lv in names), dtype=np.int64, count=n)
    known = lvl >= 0
    lvl = np.where(known, lvl, 0)
    dup, up, down = _neighbours(np.zeros(n, dtype=np.int64), lvl, known)
    index = set(index_levels)
    out, code, genant_type = _measure_rows(
        xy.reshape(n, 2 * len(LATERAL_POINTS)),
        np.full((n, 2), (cal.row_mm, cal.col_mm), dtype=float),
        np.full(n, cal.has_mm),
        np.full(n, scheme == "4pt"),
        lvl,
        known,
        dup,
        up,
        down,
        np.fromiter((lv in index for lv in names), dtype=bool, count=n),
        genant_reference,
    )
    out["level"] = names
    out["genant_type"] = np.array([None, *_GENANT_TYPES], dtype=object)[genant_type + 1]
    status, statuses, reason, reasons = _status_reason(code)
    out["status"] = np.array(statuses, dtype=object)[status]
    out["reason"] = np.array(reasons, dtype=object)[reason]
    return {c: out[c] for c in VERTEBRA_COLUMNS}


def _apply_normative(frame: pd.DataFrame, normative: pd.DataFrame, k: float) -> pd.DataFrame:
    needed = {"level", "ratio", "mean", "sd"}
    missing = needed - set(normative.columns)
    if missing:
        raise ValueError(
            f"normative table lacks column(s) {', '.join(sorted(missing))}; "
            "it needs level, ratio, mean, sd"
        )
    frame = frame.copy()
    flags = np.zeros(len(frame), dtype=bool)
    any_z = np.zeros(len(frame), dtype=bool)
    for ratio in ("ha_hp", "hm_hp", "hp_hpu", "hp_hpl"):
        sub = normative[normative["ratio"] == ratio].set_index("level")
        mean = frame["level"].map(sub["mean"]).to_numpy(dtype=float)
        sd = frame["level"].map(sub["sd"]).to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (frame[f"qm_{ratio}"].to_numpy(dtype=float) - mean) / sd
        frame[f"qm_{ratio}_z"] = z
        flags |= z < -k
        any_z |= ~np.isnan(z)
    frame["qm_deformity"] = pd.arrays.BooleanArray(flags, ~any_z)
    frame["qm_sd_threshold"] = float(k)
    return frame


def measures_table(
    sets: Iterable[LandmarkSet],
    *,
    genant_reference: str = "adjacent",
    normative: pd.DataFrame | None = None,
    sd_threshold: float = 3.0,
    skip_fractured_references: bool = False,
) -> pd.DataFrame:
    """Measure lateral landmark sets: one row per image x vertebra.

    Parameters
    ----------
    sets : iterable of LandmarkSet
        Lateral sets (``ap4`` sets are skipped; see :func:`images_table`).
    genant_reference, normative, sd_threshold
        See :func:`measure_points`.
    skip_fractured_references : bool, optional
        Take the next non-fractured vertebra instead of a fractured neighbour (an index
        level, or morphometric Genant grade >= 1) as height reference, and name the
        levels used in ``ahr_reference_levels`` (default False: the adjacent vertebrae;
        see :func:`measure_points`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MEASURE_COLUMNS`; zero rows (same columns) for empty input.

    Examples
    --------
    >>> from kyphoimg import LandmarkSet
    >>> box = {"ant_sup": (0, 30), "post_sup": (0, 0), "ant_inf": (20, 30), "post_inf": (25, 0)}
    >>> t = measures_table([LandmarkSet({"L1": box}, scheme="4pt")])
    >>> t.loc[0, ["ha_px", "hp_px", "wedge_ratio"]].tolist()
    [20.0, 25.0, 0.8]
    """
    return measure_points(
        points_frame(sets),
        genant_reference=genant_reference,
        normative=normative,
        sd_threshold=sd_threshold,
        skip_fractured_references=skip_fractured_references,
    )


# ----------------------------------------------------------------------------- images table
def _endplate(ls: LandmarkSet, level: str, end: str) -> tuple[np.ndarray, np.ndarray] | None:
    pts = ls.points.get(level, {})
    post, ant = pts.get(f"post_{end}"), pts.get(f"ant_{end}")
    if post is None or ant is None:
        return None
    s = ls.calibration.spacing
    return np.asarray(post) * s, np.asarray(ant) * s


def images_table(sets: Iterable[LandmarkSet]) -> pd.DataFrame:
    """Whole-film angles: one row per image.

    Lateral films get thoracic kyphosis ``tk_deg`` (T4 superior - T12 inferior),
    thoracolumbar kyphosis ``tlk_deg`` (T10 - L2), lumbar lordosis ``ll_deg`` (L1 superior
    - S1 superior, negative when lordotic) and the variants of :data:`IMAGE_ANGLES`, each
    NaN when its endplates are not annotated. Coronal (``ap4``) films get the AASCE
    organisers' three Cobb angles ``cobb_pt_deg``, ``cobb_mt_deg``, ``cobb_tl_deg``.

    Parameters
    ----------
    sets : iterable of LandmarkSet
        Landmark sets of lateral (``6pt``/``4pt``) and coronal (``ap4``) films, one row
        each. Angles are computed in mm space (square pixels when the calibration is
        ``none``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`IMAGE_COLUMNS`; zero rows for empty input. Angles are float
        degrees: the sagittal ones signed (kyphosis positive, lordosis negative; NaN on
        coronal films, and also NaN, without a reason, when an endplate has coincident
        points), the coronal ones unsigned (NaN on lateral films, and on a coronal film
        unless every vertebra but S1 has all four corners, at least 3 do, and
        ``image.rows`` is known). ``status`` is ``incomplete`` and ``reason`` says why
        when ``tk_deg``, ``tlk_deg`` or ``ll_deg`` or the coronal angles are missing;
        the other variants are NaN silently.

    Raises
    ------
    MeasureError
        If a coronal film has a vertebra whose left and right mid-points coincide (see
        :func:`~kyphoimg.coronal.aasce_cobb_angles`).
    """
    rows = []
    for ls in sets:
        row: dict[str, Any] = {
            "patient_id": ls.patient_id,
            "timepoint": ls.timepoint,
            "image": ls.image.path,
            "rater": ls.rater,
            "scheme": ls.scheme,
            "spacing_source": ls.calibration.source,
        }
        missing = []
        if ls.scheme in LATERAL_SCHEMES:
            for col, (ul, ue, ll, le) in IMAGE_ANGLES.items():
                a, b = _endplate(ls, ul, ue), _endplate(ls, ll, le)
                if a is None or b is None:
                    row[col] = np.nan
                    if col in ("tk_deg", "tlk_deg", "ll_deg"):
                        missing.append(f"{col} needs {ul} {ue} and {ll} {le} endplates")
                else:
                    row[col] = float(cobb_deg(a[0], a[1], b[0], b[1]))
        else:
            row.update(_coronal(ls, missing))
        row["status"] = "ok" if not missing else "incomplete"
        row["reason"] = "; ".join(missing)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(IMAGE_COLUMNS))
    return frame.astype(
        {c: float for c in (*IMAGE_ANGLES, "cobb_pt_deg", "cobb_mt_deg", "cobb_tl_deg")}
    )


def _coronal(ls: LandmarkSet, missing: list[str]) -> dict[str, float]:

    names = SCHEMES["ap4"]
    levels = [lv for lv in ls.levels if lv != "S1"]
    complete = [lv for lv in levels if all(n in ls.points[lv] for n in names)]
    nan = {"cobb_pt_deg": np.nan, "cobb_mt_deg": np.nan, "cobb_tl_deg": np.nan}
    if len(complete) != len(levels) or len(complete) < 3:
        missing.append("coronal Cobb angles need >= 3 vertebrae with all four ap4 corners")
        return nan
    if ls.image.rows is None:
        missing.append("coronal Cobb angles need image.rows (the organisers' S-curve rule uses it)")
        return nan
    result = aasce_cobb_angles(
        ls.array(complete, names), ls.image.rows, spacing=tuple(ls.calibration.spacing)
    )
    return {
        "cobb_pt_deg": result.pt_deg,
        "cobb_mt_deg": result.mt_deg,
        "cobb_tl_deg": result.tl_deg,
    }


# ----------------------------------------------------------------------------- single values
def _level_index(ls: LandmarkSet, level: str) -> int:
    try:
        return level_index(level)
    except LandmarkError as exc:
        raise LandmarkError(exc.message, file=ls.where, level=level) from None


@dataclass(frozen=True)
class Heights:
    """Anterior, middle and posterior heights of one vertebral body.

    ``*_mm`` are NaN when the calibration is ``none``; ``spacing_source`` says which plane
    the millimetres refer to (``detector`` means not corrected for magnification).
    ``hm_approximate`` is True for 4-corner sets (Hm from the chord midpoints).

    Attributes
    ----------
    level : str
        The vertebral level, e.g. ``"L1"``.
    ha_mm, hm_mm, hp_mm : float
        Anterior (``ant_sup``-``ant_inf``), middle (``mid_sup``-``mid_inf``) and
        posterior (``post_sup``-``post_inf``) heights in mm; NaN without calibration.
    ha_px, hm_px, hp_px : float
        The same distances in pixels, on the raw pixel grid (not proportional to length
        when pixels are not square).
    spacing_source : str
        The calibration source (``user``, ``pixel_spacing``, ``ermf``, ``detector``,
        ``unknown_origin`` or ``none``).
    hm_approximate : bool
        Whether Hm comes from the chord midpoints of a ``4pt`` set.
    """

    level: str
    ha_mm: float
    hm_mm: float
    hp_mm: float
    ha_px: float
    hm_px: float
    hp_px: float
    spacing_source: str
    hm_approximate: bool


def vertebral_heights(ls: LandmarkSet, level: str) -> Heights:
    """Ha, Hm and Hp of one vertebra.

    Parameters
    ----------
    ls : LandmarkSet
        A lateral landmark set (``6pt`` or ``4pt``); the whole set is validated.
    level : str
        The vertebra, e.g. ``"L1"``. It needs its four corners, and in ``6pt`` also
        ``mid_sup`` and ``mid_inf``; S1, which has no inferior endplate, cannot be
        measured.

    Returns
    -------
    Heights
        The heights in mm (NaN when the calibration is ``none``) and in pixels, with
        the calibration source and whether Hm is approximate.

    Raises
    ------
    LandmarkError
        If the level is unknown or a needed point is missing (naming it), or the set
        fails :func:`~kyphoimg.landmarks.validate_landmarks`.
    """
    _level_index(ls, level)
    names: tuple[str, ...] = ("ant_sup", "post_sup", "ant_inf", "post_inf")
    if ls.scheme == "6pt":
        names = SCHEMES["6pt"]
    validate_landmarks(ls, require={level: names})
    table = measure_points(points_frame([ls.replace(index_levels=())]))
    row = {str(k): v for k, v in table[table["level"] == level].iloc[0].items()}
    return Heights(
        level=level,
        ha_mm=float(row["ha_mm"]),
        hm_mm=float(row["hm_mm"]),
        hp_mm=float(row["hp_mm"]),
        ha_px=float(row["ha_px"]),
        hm_px=float(row["hm_px"]),
        hp_px=float(row["hp_px"]),
        spacing_source=ls.calibration.source,
        hm_approximate=ls.scheme == "4pt",
    )


def cobb_angle(
    ls: LandmarkSet,
    upper: str,
    lower: str,
    *,
    upper_endplate: str = "sup",
    lower_endplate: str = "inf",
) -> float:
    """Signed Cobb angle between two endplates, kyphosis positive, in degrees.

    Parameters
    ----------
    ls : LandmarkSet
        A lateral landmark set.
    upper, lower : str
        Levels; by default the superior endplate of ``upper`` and the inferior endplate
        of ``lower`` (the Cobb convention). Naming the caudal endplate first (e.g.
        ``cobb_angle(ls, "L2", "T12", upper_endplate="inf", lower_endplate="sup")``)
        gives the negated angle.
    upper_endplate, lower_endplate : {"sup", "inf"}
        Which endplate of each level to use (``lower_endplate="sup"`` for S1).

    Returns
    -------
    float
        Angle in degrees.

    Raises
    ------
    LandmarkError
        If a level is unknown or a needed corner point is missing, or the set is coronal.
    MeasureError
        If an endplate has coincident points.
    ValueError
        If an endplate name is not ``"sup"`` or ``"inf"``.
    """
    if ls.scheme not in LATERAL_SCHEMES:
        raise LandmarkError(
            f"sagittal Cobb angles need a lateral scheme (6pt/4pt), not {ls.scheme}; "
            "use images_table for coronal Cobb angles",
            file=ls.where,
        )
    for lv, end in ((upper, upper_endplate), (lower, lower_endplate)):
        _level_index(ls, lv)
        if end not in ("sup", "inf"):
            raise ValueError(f"endplate {end!r} must be 'sup' or 'inf'")
    validate_landmarks(
        ls,
        require={
            upper: (f"post_{upper_endplate}", f"ant_{upper_endplate}"),
            lower: (f"post_{lower_endplate}", f"ant_{lower_endplate}"),
        }
        if upper != lower
        else {
            upper: (
                f"post_{upper_endplate}",
                f"ant_{upper_endplate}",
                f"post_{lower_endplate}",
                f"ant_{lower_endplate}",
            )
        },
    )
    a = _endplate(ls, upper, upper_endplate)
    b = _endplate(ls, lower, lower_endplate)
    if a is None or b is None:  # pragma: no cover - excluded by the validation above
        raise LandmarkError("endplate points missing", file=ls.where)
    value = float(cobb_deg(a[0], a[1], b[0], b[1]))
    # cobb_deg reads cranial/caudal from the lines' positions; the labels decide the sign
    # here, so naming the caudal endplate first gives the negated angle, as documented.
    order = {"sup": 0, "inf": 1}
    if (level_index(upper), order[upper_endplate]) > (level_index(lower), order[lower_endplate]):
        value = -value
    if not np.isfinite(value):
        raise MeasureError(
            f"{ls.where}: the {upper} {upper_endplate} or {lower} {lower_endplate} endplate has "
            "coincident points (or lies along the spine); re-place its corners"
        )
    return value


def kyphotic_angle(ls: LandmarkSet, level: str) -> float:
    """Kyphotic angle of ``level``: bisegmental Cobb from its cranial to its caudal neighbour.

    Parameters
    ----------
    ls : LandmarkSet
        A lateral landmark set.
    level : str
        The (index) vertebra V. The angle is measured between the superior endplate of
        the level above V and the inferior endplate of the level below it; V itself
        need not be annotated. It need not be listed in ``index_levels`` either.

    Returns
    -------
    float
        Signed angle in degrees, in (-180, 180], kyphosis positive (``ka_deg`` of the
        measures table; see ``docs/measures.md``, A-ka).

    Raises
    ------
    LandmarkError
        If ``level`` is unknown or lacks a neighbour on either side (C2, S1; L5 also
        fails, as S1 has no inferior endplate), points are missing, or the set is
        coronal.
    MeasureError
        If an endplate has coincident points.
    """
    i = _level_index(ls, level)
    if i == 0 or i == len(LEVELS) - 1:
        raise LandmarkError(
            "the kyphotic angle needs a level with neighbours on both sides",
            file=ls.where,
            level=level,
        )
    return cobb_angle(ls, LEVELS[i - 1], LEVELS[i + 1])


def gardner_angle(ls: LandmarkSet, level: str) -> float:
    """Gardner angle: superior endplate of the cranial neighbour vs inferior endplate of ``level``.

    Parameters
    ----------
    ls : LandmarkSet
        A lateral landmark set.
    level : str
        The (index) vertebra V; it need not be listed in ``index_levels``.

    Returns
    -------
    float
        Signed angle in degrees, in (-180, 180], kyphosis positive (``gardner_deg`` of
        the measures table; see ``docs/measures.md``, A-gardner).

    Raises
    ------
    LandmarkError
        If ``level`` is unknown, the cranial neighbour or points are missing (C2 has no
        cranial neighbour, S1 no inferior endplate), or the set is coronal.
    MeasureError
        If an endplate has coincident points.
    """
    i = _level_index(ls, level)
    if i == 0:
        raise LandmarkError(
            "the Gardner angle needs a cranial neighbour", file=ls.where, level=level
        )
    return cobb_angle(ls, LEVELS[i - 1], level)


def wedge_angle(ls: LandmarkSet, level: str) -> float:
    """Wedge angle: own superior vs inferior endplate (positive when the anterior is shorter).

    Parameters
    ----------
    ls : LandmarkSet
        A lateral landmark set.
    level : str
        The vertebra; it needs its four corners (so S1 cannot be measured).

    Returns
    -------
    float
        Signed angle in degrees, in (-180, 180] (``wedge_angle_deg`` of the measures
        table; see ``docs/measures.md``, A-wedge).

    Raises
    ------
    LandmarkError
        If the level is unknown, a corner point is missing, or the set is coronal.
    MeasureError
        If an endplate has coincident points.
    """
    return cobb_angle(ls, level, level)


# ----------------------------------------------------------------------------- provenance
def with_point_source(table: pd.DataFrame, sets: Iterable[LandmarkSet]) -> pd.DataFrame:
    """Add ``point_source`` to a table: ``reader``, ``confirmed:<method>`` or ``proposed:<method>``.

    Parameters
    ----------
    table : pandas.DataFrame
        A measures table (keyed by ``patient_id, timepoint, image, rater, level``; the
        column goes after ``rater``) or a features table (keyed by ``patient_id, level``:
        a vertebra is ``reader`` only when every film of it is, else the other sources
        ``+``-joined; the column goes after ``level``).
    sets : iterable of LandmarkSet
        The sets the table was made from (see
        :func:`~kyphoimg.landmarks.point_sources`).

    Returns
    -------
    pandas.DataFrame
        A copy with the column (replaced when present).
    """
    sets = list(sets)
    out = table.drop(columns="point_source", errors="ignore")
    if {"timepoint", "image", "rater"} <= set(out.columns):
        keys = ("patient_id", "timepoint", "image", "rater", "level")
        source = {
            (ls.patient_id, ls.timepoint, ls.image.path, ls.rater, lv): src
            for ls in sets
            for lv, src in point_sources(ls).items()
        }
        values = [source.get(k, "reader") for k in zip(*(out[c] for c in keys), strict=True)]
        after = "rater"
    else:
        merged: dict[tuple[Any, str], set[str]] = {}
        for ls in sets:
            for lv, src in point_sources(ls).items():
                merged.setdefault((ls.patient_id, lv), set()).add(src)
        values = []
        for k in zip(out["patient_id"], out["level"], strict=True):
            proposed = sorted(s for s in merged.get(k, set()) if s != "reader")
            values.append("+".join(proposed) if proposed else "reader")
        after = "level"
    out.insert(int(cast(int, out.columns.get_loc(after))) + 1, "point_source", values)
    return out
