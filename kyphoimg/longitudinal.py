"""Longitudinal features: one row per treated vertebra, time points as columns.

Input is the measures table (:func:`kyphoimg.measure.measures_table`); output is the
features table: ``patient_id, level``, each measure suffixed by time point
(``ka_deg_pre``, ``ka_deg_post``, ``ka_deg_last`` ...), the derived measures (defined with
their sources in ``docs/measures.md``), the reader findings and, when given, the clinical
columns.

Every derived column that has variants is accompanied by a column naming the variant
that produced it (``height_restoration_method``, ``reduction_rate_method``,
``recompression_rule``), so a table never carries an unnamed number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import WARNING_PREFIX, KyphoimgError
from .landmarks import FINDINGS
from .timepoints import TIMEPOINTS

__all__ = [
    "DEFAULT_TIMEPOINTS",
    "FEATURE_MEASURES",
    "RecompressionRule",
    "clinical_gap_rows",
    "features_table",
    "patients_without_clinical",
]

#: Default time-point order; follow-ups named otherwise need an explicit ``order``.
DEFAULT_TIMEPOINTS: tuple[str, ...] = TIMEPOINTS

#: Measures carried into the features table, each suffixed by time point.
FEATURE_MEASURES: tuple[str, ...] = (
    "ha_mm",
    "hm_mm",
    "hp_mm",
    "ha_px",
    "hm_px",
    "hp_px",
    "ahr_pct",
    "mhr_pct",
    "phr_pct",
    "compression_pct",
    "compression_max_pct",
    "wedge_ratio",
    "wedge_angle_deg",
    "ka_deg",
    "gardner_deg",
    "genant_grade",
    "spacing_source",
)

_HEIGHT_RATIO = {"ha": "ahr_pct", "hm": "mhr_pct", "hp": "phr_pct"}

# Which film a reader finding is taken from first (IVC is seen before cement fills it).
_FINDING_PREFERENCE = {
    "ivc": ("pre", "post"),
    "npec": ("post",),
    "cement_leakage": ("post",),
    "genant_visual": ("pre",),
}


_HEIGHT_BASIS = {
    "ahr": "anterior height ratio to the adjacent vertebrae, magnification cancels",
    "max_loss": "percentage points of the largest loss vs the adjacent vertebrae, "
    "magnification cancels",
    **{
        h: "body height in mm (px when uncalibrated), magnification not cancelled"
        for h in ("ha", "hm", "hp")
    },
}


@dataclass(frozen=True)
class RecompressionRule:
    """Definition of recompression (refracture of a treated vertebra) at follow-up.

    By default the height followed is the anterior height ratio to the adjacent
    vertebrae (``ahr``): each film's index vertebra is measured against its own
    neighbours, so a difference of magnification between the baseline and the follow-up
    film (patient-to-detector distance, another room) cancels. Millimetres do not
    compare across such films: detector-plane mm carry each film's magnification, and
    even estimated patient-plane mm (ERMF) carry the error of a nominal factor, so a
    body height in mm (``height="ha"``) is kept as a named variant, not the default.

    Parameters
    ----------
    height_loss_pct : float
        Threshold of height loss in percent (default 15; Yu et al. 2017).
    angle_increase_deg : float or None
        Threshold of kyphotic-angle increase in degrees (default 10); None disables it.
    height : {"ahr", "ha", "hm", "hp", "max_loss"}, optional
        Which height is followed: the anterior height ratio (default), a body height (mm
        when both films share a calibration source, pixels when neither is calibrated;
        magnification differences between the films are *not* cancelled), or the
        increase of the maximum loss (percentage points). Left unset with a
        ``min_loss_mm`` it is ``ha``, the height that criterion is defined on.
    baseline : {"post", "pre"}
        The film losses are measured against (``"pre"`` gives "vertebral height
        deterioration").
    min_loss_mm : float or None
        Additionally require this absolute loss in mm (Black et al. 1999 use 4 mm with
        20 %); None disables it. It needs a body height (``ha``, ``hm``, ``hp``).
    """

    height_loss_pct: float = 15.0
    angle_increase_deg: float | None = 10.0
    height: str | None = None  # None: resolved in __post_init__ (ahr, or ha with min_loss_mm)
    baseline: str = "post"
    min_loss_mm: float | None = None

    def __post_init__(self) -> None:
        if self.height is None:
            # The Black et al. rule is a mm rule: its 4 mm apply to a body height.
            object.__setattr__(self, "height", "ahr" if self.min_loss_mm is None else "ha")
        if self.height not in _HEIGHT_BASIS:
            raise ValueError(f"height={self.height!r}; use ahr, ha, hm, hp or max_loss")
        if self.baseline not in ("post", "pre"):
            raise ValueError(f"baseline={self.baseline!r}; use 'post' or 'pre'")
        if self.min_loss_mm is not None and self.height not in ("ha", "hm", "hp"):
            raise ValueError(
                f"min_loss_mm needs a body height (ha, hm or hp), not height={self.height!r}: "
                "a ratio has no millimetres"
            )

    def describe(self) -> str:
        """Return the rule as text, recorded in the ``recompression_rule`` column.

        Returns
        -------
        str
            Thresholds, the height followed and whether its basis cancels magnification,
            e.g. ``height_loss>=15% (ahr vs post: anterior height ratio to the adjacent
            vertebrae, magnification cancels) or ka_increase>=10deg (last vs post)``.
        """
        unit = "pp" if self.height == "max_loss" else "%"
        text = (
            f"height_loss>={self.height_loss_pct:g}{unit} "
            f"({self.height} vs {self.baseline}: {_HEIGHT_BASIS[str(self.height)]})"
        )
        if self.min_loss_mm is not None:
            text += f" and loss>={self.min_loss_mm:g}mm"
        if self.angle_increase_deg is not None:
            text += f" or ka_increase>={self.angle_increase_deg:g}deg (last vs post)"
        return text


def _order_timepoints(present: Sequence[str], order: Sequence[str] | None) -> list[str]:
    order = list(DEFAULT_TIMEPOINTS if order is None else order)
    unknown = [t for t in present if t not in order]
    if unknown:
        raise KyphoimgError(
            f"time point(s) {', '.join(map(repr, sorted(unknown)))} are not in the order "
            f"{order}; pass order=[...] (CLI: --timepoints pre,post,...) listing every time point"
        )
    return [t for t in order if t in present]


def features_table(
    measures: pd.DataFrame,
    *,
    order: Sequence[str] | None = None,
    clinical: pd.DataFrame | None = None,
    restoration: str = "reference",
    restoration_height: str = "ha",
    reduction_rate: str = "restoration",
    recompression: RecompressionRule | None = None,
) -> pd.DataFrame:
    """Build the features table from a measures table.

    Parameters
    ----------
    measures : pandas.DataFrame
        The measures table; only index (treated) vertebrae become rows.
    order : sequence of str, optional
        Time points in chronological order (default ``pre, post, last``). Time points
        after ``post`` are follow-ups; ``last`` in the derived measures means the latest
        follow-up available for that vertebra (named in ``last_timepoint``).
    clinical : pandas.DataFrame, optional
        Patient-level table joined on ``patient_id`` (kept as text). Columns that clash
        with feature columns get a ``_clinical`` suffix.
    restoration : {"reference", "relative"}
        Variant reported as ``height_restoration_pct``: ``reference`` is
        (R_post - R_pre) / (100 - R_pre) x 100 with R the height ratio to the adjacent
        vertebrae (McKiernan's reference method; each film normalised by its own
        neighbours, so magnification differences between films cancel); ``relative`` is
        (H_post - H_pre) / H_pre x 100. Both are always exported under their own names.
    restoration_height : {"ha", "hm", "hp"}
        Which height the restoration follows.
    reduction_rate : {"restoration", "angle"}
        ``reduction_rate_pct`` is the chosen restoration variant, or the angle form
        (KA_pre - KA_post) / KA_pre x 100; ``reduction_rate_method`` names it.
    recompression : RecompressionRule, optional
        Definition of recompression (default :class:`RecompressionRule`: height loss of
        the anterior height ratio >= 15 % or KA increase >= 10 deg against post-op).

    Returns
    -------
    pandas.DataFrame
        One row per (patient_id, level) of an index vertebra: ``<measure>_<timepoint>``
        for :data:`FEATURE_MEASURES`, ``height_restoration_pct``,
        ``restoration_reference_pct``, ``restoration_relative_pct``, ``height_gain_mm``,
        ``ahr_gain_pp``, ``reduction_rate_pct``, ``reduction_angle_deg``,
        ``correction_loss_deg``, ``height_loss_pct``, ``recompression`` (nullable
        boolean), the method columns, ``last_timepoint``, ``ivc``, ``npec``,
        ``cement_leakage``, then clinical columns.

    Raises
    ------
    KyphoimgError
        If a time point is not in ``order`` or a vertebra appears twice at one time point.
    ValueError
        If a variant name is unknown.
    """
    _check_variants(restoration, restoration_height, reduction_rate)
    rule = recompression or RecompressionRule()
    idx = _index_rows(measures, order)
    tps = list(DEFAULT_TIMEPOINTS if order is None else order)  # a fixed schema
    w = _Wide(_pivot(idx, tps), tps)
    _add_restoration(w, restoration, restoration_height)
    _add_reduction(w, reduction_rate, restoration, restoration_height)
    loss, loss_mm = _height_loss(w, rule)
    w.out["height_loss_pct"] = loss
    w.out["recompression"] = _recompression(w, rule, loss, loss_mm)
    w.out["recompression_rule"] = rule.describe()
    w.out["last_timepoint"] = w.last_tp
    out = w.out.join(_findings(idx, w.out.index, tps)).reset_index()
    if clinical is not None:
        out = _join_clinical(out, clinical)
    return out


def _check_variants(restoration: str, restoration_height: str, reduction_rate: str) -> None:
    """Refuse unknown variant names of :func:`features_table`."""
    if restoration not in ("reference", "relative"):
        raise ValueError(f"restoration={restoration!r}; use 'reference' or 'relative'")
    if restoration_height not in _HEIGHT_RATIO:
        raise ValueError(f"restoration_height={restoration_height!r}; use ha, hm or hp")
    if reduction_rate not in ("restoration", "angle"):
        raise ValueError(f"reduction_rate={reduction_rate!r}; use 'restoration' or 'angle'")


def _index_rows(measures: pd.DataFrame, order: Sequence[str] | None) -> pd.DataFrame:
    """Return the index vertebrae's rows, checking time points and one row per film."""
    idx = measures[measures["is_index"].astype(bool)]
    present = [str(t) for t in pd.unique(idx["timepoint"].dropna())]
    _order_timepoints(present, order)  # every time point must have its place in the order
    dup = idx.duplicated(["patient_id", "level", "timepoint"], keep=False)
    if dup.any():
        first = idx[dup].iloc[0]
        raise KyphoimgError(
            f"patient {first['patient_id']} level {first['level']} appears more than once at "
            f"time point {first['timepoint']} (two raters or two films?); measure one set per "
            "time point, or split the table by rater"
        )
    return idx


def _pivot(idx: pd.DataFrame, tps: Sequence[str]) -> pd.DataFrame:
    """Pivot to one row per (patient_id, level), ``<measure>_<timepoint>`` columns."""
    key = ["patient_id", "level"]
    numeric = [m for m in FEATURE_MEASURES if m != "spacing_source"]
    # Pivot the float measures and the text column apart: a mixed pivot goes through object.
    wide = idx.pivot(index=key, columns="timepoint", values=numeric)
    wide.columns = [f"{c[0]}_{c[1]}" for c in wide.columns]
    sources = idx.assign(spacing_source=idx["spacing_source"].astype(object)).pivot(
        index=key, columns="timepoint", values="spacing_source"
    )
    for t in sources.columns:
        wide[f"spacing_source_{t}"] = sources[t]
    if wide.index.nlevels != 2:  # empty input: pivot loses the key names
        wide.index = pd.MultiIndex.from_arrays([[], []], names=key)
    columns = {f"{m}_{t}": wide.get(f"{m}_{t}") for m in FEATURE_MEASURES for t in tps}
    out = pd.DataFrame(
        {
            c: (v if v is not None else pd.Series(np.nan, index=wide.index, dtype=object))
            for c, v in columns.items()
        },
        index=wide.index,
    )
    for m in numeric:
        for t in tps:
            if out[f"{m}_{t}"].dtype != float:
                out[f"{m}_{t}"] = out[f"{m}_{t}"].astype(float)
    return out


class _Wide:
    """The wide table being built, with column access by measure and time point.

    ``last_tp`` is each row's latest follow-up: the last time point after ``post`` with a
    value.
    """

    def __init__(self, out: pd.DataFrame, tps: Sequence[str]) -> None:
        self.out = out
        post_pos = tps.index("post") if "post" in tps else -1
        self.follow = [t for i, t in enumerate(tps) if i > post_pos and t not in ("pre", "post")]
        self.last_tp = np.full(len(out), None, dtype=object)
        for t in self.follow:
            seen = ~np.isnan(self.col("ha_px", t)) | ~np.isnan(self.col("ka_deg", t))
            self.last_tp = np.where(seen, t, self.last_tp)
        self.last_source = np.full(len(out), None, dtype=object)
        for t in self.follow:
            self.last_source = np.where(self.last_tp == t, self.source(t), self.last_source)

    def col(self, m: str, t: str | None) -> np.ndarray:
        name = f"{m}_{t}"
        if t is None or name not in self.out:
            return np.full(len(self.out), np.nan)
        return self.out[name].to_numpy(dtype=float)

    def source(self, t: str | None) -> np.ndarray:
        name = f"spacing_source_{t}"
        if t is None or name not in self.out:
            return np.full(len(self.out), None, dtype=object)
        return self.out[name].to_numpy(dtype=object)

    def at_last(self, m: str) -> np.ndarray:
        vals = np.full(len(self.out), np.nan)
        for t in self.follow:
            vals = np.where(self.last_tp == t, self.col(m, t), vals)
        return vals

    def height(self, m: str, t: str | None, mm_ok: np.ndarray, px_ok: np.ndarray) -> np.ndarray:
        """Return height ``m`` in mm where films compare in mm, px where in pixels, else NaN."""
        return np.where(
            mm_ok, self.col(f"{m}_mm", t), np.where(px_ok, self.col(f"{m}_px", t), np.nan)
        )


def _comparable(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the rows where two films' heights compare in mm, and where only pixels do.

    Millimetres compare when both films share a calibration source other than none;
    pixels when neither film is calibrated. Mixed sources compare in neither.
    """
    mm = (a == b) & (a != "none") & pd.notna(a)
    px = (a == "none") & (b == "none")
    return mm, px


def _add_restoration(w: _Wide, restoration: str, h: str) -> None:
    """Add height restoration (reference, relative), height and AHR gain, pre to post."""
    out = w.out
    ratio = _HEIGHT_RATIO[h]
    pre_r, post_r = w.col(ratio, "pre"), w.col(ratio, "post")
    mm_both, px_both = _comparable(w.source("pre"), w.source("post"))
    h_pre, h_post = (w.height(h, t, mm_both, px_both) for t in ("pre", "post"))
    with np.errstate(invalid="ignore", divide="ignore"):
        # Nothing to restore (R_pre = 100) or a zero height: undefined, NaN rather than inf.
        room = 100.0 - pre_r
        room = np.where(np.abs(room) < 1e-9, np.nan, room)
        out["restoration_reference_pct"] = _finite(100.0 * (post_r - pre_r) / room)
        out["restoration_relative_pct"] = _finite(100.0 * (h_post - h_pre) / h_pre)
        out["height_gain_mm"] = np.where(
            mm_both, w.col(f"{h}_mm", "post") - w.col(f"{h}_mm", "pre"), np.nan
        )
    out["ahr_gain_pp"] = w.col("ahr_pct", "post") - w.col("ahr_pct", "pre")
    out["height_restoration_pct"] = out[f"restoration_{restoration}_pct"]
    out["height_restoration_method"] = f"{restoration}:{h}"


def _add_reduction(w: _Wide, reduction_rate: str, restoration: str, h: str) -> None:
    """Add reduction angle and rate (pre to post) and correction loss (post to last)."""
    out = w.out
    ka_pre, ka_post, ka_last = w.col("ka_deg", "pre"), w.col("ka_deg", "post"), w.at_last("ka_deg")
    out["reduction_angle_deg"] = ka_pre - ka_post
    if reduction_rate == "angle":
        with np.errstate(invalid="ignore", divide="ignore"):
            out["reduction_rate_pct"] = _finite(100.0 * (ka_pre - ka_post) / ka_pre)
        out["reduction_rate_method"] = "angle:(ka_pre-ka_post)/ka_pre"
    else:
        out["reduction_rate_pct"] = out["height_restoration_pct"]
        out["reduction_rate_method"] = f"height_restoration:{restoration}:{h}"
    out["correction_loss_deg"] = ka_last - ka_post


def _height_loss(w: _Wide, rule: RecompressionRule) -> tuple[np.ndarray, np.ndarray]:
    """Return the height loss from the rule's baseline to the last follow-up, % and mm."""
    base = rule.baseline
    nan = np.full(len(w.out), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        if rule.height == "max_loss":
            loss = w.at_last("compression_max_pct") - w.col("compression_max_pct", base)
            loss_mm = nan
        elif rule.height == "ahr":
            b = w.col("ahr_pct", base)
            loss = 100.0 * (b - w.at_last("ahr_pct")) / b
            loss_mm = nan
        else:
            mm_ok, px_ok = _comparable(w.source(base), w.last_source)
            b_mm, l_mm = w.col(f"{rule.height}_mm", base), w.at_last(f"{rule.height}_mm")
            b_px, l_px = w.col(f"{rule.height}_px", base), w.at_last(f"{rule.height}_px")
            b = np.where(mm_ok, b_mm, np.where(px_ok, b_px, np.nan))
            last_h = np.where(mm_ok, l_mm, np.where(px_ok, l_px, np.nan))
            loss = 100.0 * (b - last_h) / b
            loss_mm = np.where(mm_ok, b_mm - l_mm, np.nan)
    return _finite(loss), loss_mm


def _recompression(
    w: _Wide, rule: RecompressionRule, loss: np.ndarray, loss_mm: np.ndarray
) -> pd.Series | pd.arrays.BooleanArray:
    """Apply the rule's thresholds (inclusive) with Kleene logic for missing values."""
    # Rounding to 1e-9 keeps an exact 15 % or 10 deg from failing on floating-point noise.
    height_hit = _nullable(np.round(loss, 9) >= rule.height_loss_pct, np.isnan(loss))
    if rule.min_loss_mm is not None:
        height_hit = height_hit & _nullable(
            np.round(loss_mm, 9) >= rule.min_loss_mm, np.isnan(loss_mm)
        )
    if rule.angle_increase_deg is None:
        return height_hit
    cl = w.out["correction_loss_deg"].to_numpy(dtype=float)
    angle_hit = _nullable(np.round(cl, 9) >= rule.angle_increase_deg, np.isnan(cl))
    # Kleene logic: NA | True is True, NA | False is NA.
    return pd.Series(height_hit, index=w.out.index) | pd.Series(angle_hit, index=w.out.index)


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def _nullable(values: np.ndarray, missing: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), np.asarray(missing, dtype=bool))


def _findings(idx: pd.DataFrame, index: pd.Index, tps: Sequence[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=index)
    for name in FINDINGS:
        if name not in idx:
            out[name] = None
            continue
        sub = idx.dropna(subset=[name]).set_index(["patient_id", "level", "timepoint"])[name]
        preferred = [*_FINDING_PREFERENCE[name], *tps]
        value = pd.Series(None, index=index, dtype=object)
        for t in reversed(preferred):
            if t in sub.index.get_level_values("timepoint"):
                vals = sub.xs(t, level="timepoint").reindex(index)
                value = vals.where(vals.notna(), value)
        out[name] = value
    return out


def patients_without_clinical(features: pd.DataFrame, clinical: pd.DataFrame) -> list[str]:
    """Return the patients of a features table that have no row in the clinical table.

    Their clinical columns come out empty from the join; callers report them rather than
    leave silent NaN. Ids are compared as the join compares them (as text, so ``7`` and
    ``"007"`` differ: the list then shows the mismatch).

    Parameters
    ----------
    features : pandas.DataFrame
        A features table (``patient_id`` column).
    clinical : pandas.DataFrame
        The clinical table; without a ``patient_id`` column nothing is listed (the join
        itself refuses it).

    Returns
    -------
    list of str
        The patient ids, sorted; empty when every patient has a clinical row.
    """
    if "patient_id" not in clinical.columns or "patient_id" not in features.columns:
        return []
    have = set(clinical["patient_id"].astype("string").dropna())
    ids = features["patient_id"].astype("string").dropna()
    return sorted({str(p) for p in ids} - have)


def clinical_gap_rows(
    features: pd.DataFrame, clinical: pd.DataFrame, source: object
) -> list[tuple[str, None, None, str]]:
    """Return the warning row naming the patients the clinical table lacks (or none).

    Parameters
    ----------
    features : pandas.DataFrame
        The features table joined with ``clinical``.
    clinical : pandas.DataFrame
        The clinical table.
    source : path-like or str
        The clinical table's file, named in the row.

    Returns
    -------
    list of tuple
        ``[(file, None, None, message)]`` in :data:`~kyphoimg.errors.ERROR_COLUMNS` order,
        the message a warning; empty when every patient has a clinical row.
    """
    missing = patients_without_clinical(features, clinical)
    if not missing:
        return []
    return [
        (
            str(source),
            None,
            None,
            f"{WARNING_PREFIX}{source}: no row for patient(s) {', '.join(missing)}, who have "
            "features: their clinical columns are empty; add them to the clinical table "
            "(patient_id as in the landmark files)",
        )
    ]


def _join_clinical(features: pd.DataFrame, clinical: pd.DataFrame) -> pd.DataFrame:
    if "patient_id" not in clinical.columns:
        raise KyphoimgError(
            "the clinical table has no 'patient_id' column; add one to join it to the features"
        )
    clinical = clinical.copy()
    clinical["patient_id"] = clinical["patient_id"].astype("string")
    if clinical["patient_id"].duplicated().any():
        dup = clinical.loc[clinical["patient_id"].duplicated(), "patient_id"].iloc[0]
        raise KyphoimgError(
            f"the clinical table lists patient_id {dup} more than once; keep one row per patient"
        )
    clash = {
        c: f"{c}_clinical" for c in clinical.columns if c in features.columns and c != "patient_id"
    }
    clinical = clinical.rename(columns=clash)
    features = features.copy()
    features["patient_id"] = features["patient_id"].astype("string")
    return features.merge(clinical, on="patient_id", how="left", validate="many_to_one")
