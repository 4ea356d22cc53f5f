"""The study's reader-agreement study (``kyphoimg reliability``): how well its readers agree.

Each reader places landmarks on the same films in their own files
(``<film>.<rater>.landmarks.json``, see :mod:`kyphoimg.study`). This module reads every
reader's worklist, measures each reader's films with the one measuring engine
(:func:`kyphoimg.measure.measures_table`), in the film's header calibration as
``kyphoimg run`` does, and compares the readers:

- **inter-reader** agreement of the listed readers: ICC(2,1) (two-way random effects,
  absolute agreement, single rater) of every continuous measure, with its CI, SEM and
  MDC95, Bland–Altman bias and limits of agreement for each pair of readers, Cohen's
  kappa (weighted for grades, unweighted for findings) and Fleiss' kappa beyond two;
- **intra-reader** agreement of one reader's repeated reading (``repeat=("A", "A2")``,
  the second reading saved as reader ``A2``): ICC(3,1) (two-way mixed effects,
  consistency, single rater) and the same agreement statistics;
- **landmark agreement**: the distance between the readers' corresponding points, per
  point type and level, in mm in the film's calibrated plane (px where the film has no
  calibration), summarised by median and 95th percentile, with the points that
  disagree most.

:func:`run_reliability` writes the tables (CSV with data dictionaries), an XLSX
workbook, an HTML report with the Bland–Altman plots, and a Methods paragraph naming
every statistic and its source. The statistics are :mod:`kyphoimg.stats.reliability`'s;
the page and the workbook are drawn by the report's renderers
(:mod:`kyphoimg.stats.render`) and the dictionaries by :mod:`kyphoimg.dictionary`
(:data:`~kyphoimg.dictionary.AGREEMENT_COLUMNS`). A study TOML's ``[reliability]`` table
(:func:`read_reliability_toml`) holds the same options. :func:`simulate_readers` writes
synthetic readers (the ground-truth landmarks with Gaussian placement noise) for trying
the command and for testing it.
"""

from __future__ import annotations

import datetime as _dt
import html
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from ._version import __version__
from .atomic import atomic_write, atomic_write_text
from .calibration import Calibration
from .dicom import scan
from .dictionary import AGREEMENT_COLUMNS, data_dictionary, describe_column
from .errors import ERROR_COLUMNS, CalibrationError, StudyError
from .export import write_table
from .landmarks import (
    FINDINGS,
    SCHEMES,
    LandmarkSet,
    find_landmark_files,
    pair_with_film,
    read_landmarks,
    without_proposals,
    write_landmarks,
)
from .measure import MEASURE_COLUMNS, measures_table, points_frame, with_point_source
from .stats.reliability import (
    ICC_FORMS,
    bland_altman,
    fleiss_kappa,
    icc,
    kappa,
    koo_li_grade,
    mdc95,
    plot_bland_altman,
    sem,
)
from .stats.render import (
    Table,
    embed_png,
    figure_grid,
    figure_to_bytes,
    html_table,
    page,
    write_workbook,
)
from .study import StudyEntry, check_rater, open_worklist

__all__ = [
    "CATEGORICAL_MEASURES",
    "DEFAULT_MEASURES",
    "MEASURE_LABELS",
    "Comparison",
    "ComparisonSummary",
    "ReliabilityOptions",
    "ReliabilityResult",
    "ReliabilitySummary",
    "format_summary",
    "landmark_agreement",
    "landmark_distances",
    "methods_paragraph",
    "perturb_landmarks",
    "read_reliability_toml",
    "reader_sets",
    "reliability_options",
    "run_reliability",
    "simulate_readers",
]

#: Measures compared by default: continuous ones by ICC and Bland–Altman, the others
#: (see :data:`CATEGORICAL_MEASURES`) by kappa.
DEFAULT_MEASURES: tuple[str, ...] = (
    "ha_mm",
    "hm_mm",
    "hp_mm",
    "ahr_pct",
    "compression_pct",
    "wedge_angle_deg",
    "ka_deg",
    "genant_grade",
    "genant_visual",
    "ivc",
    "npec",
    "cement_leakage",
)
#: Categorical measures: ``(kind, ordered categories)``; ordinal ones get linearly and
#: quadratically weighted kappa, nominal ones unweighted kappa. ``not_assessable`` counts
#: as missing.
CATEGORICAL_MEASURES: dict[str, tuple[str, tuple[Any, ...]]] = {
    "genant_grade": ("ordinal", (0, 1, 2, 3)),
    "genant_visual": ("ordinal", ("0", "0.5", "1", "2", "3")),
    "ivc": ("nominal", ("yes", "no")),
    "npec": ("nominal", ("no", "superior", "inferior", "both")),
    "cement_leakage": ("nominal", ("yes", "no")),
}
#: How the Methods paragraph names the measures (others by their column name).
MEASURE_LABELS: dict[str, str] = {
    "ha_mm": "anterior body height (Ha, mm)",
    "hm_mm": "middle body height (Hm, mm)",
    "hp_mm": "posterior body height (Hp, mm)",
    "ahr_pct": "anterior height ratio (%)",
    "compression_pct": "compression rate (%)",
    "wedge_angle_deg": "vertebral wedge angle (deg)",
    "ka_deg": "kyphotic angle (deg)",
    "genant_grade": "morphometric Genant grade",
    "genant_visual": "reader's visual Genant grade",
    "ivc": "intravertebral cleft",
    "npec": "non-PMMA-endplate contact",
    "cement_leakage": "cement leakage",
}
_NOT_ASSESSABLE = "not_assessable"
_POINTS = SCHEMES["6pt"]
_TARGET = ("film", "level")


# =============================================================================== options
@dataclass(frozen=True)
class Comparison:
    """One reliability comparison: several readers, or one reader's two readings.

    Parameters
    ----------
    kind : {"inter", "intra"}
        Inter-reader (different readers) or intra-reader (a repeated reading).
    readers : tuple of str
        The reader ids compared (for ``intra``: the first and the repeated reading).
    form : str
        The ICC form reported (``ICC(2,1)`` inter-reader, ``ICC(3,1)`` intra-reader).
    """

    kind: str
    readers: tuple[str, ...]
    form: str

    @property
    def label(self) -> str:
        """``"inter-reader (A, B)"`` or ``"intra-reader (A vs A2)"``."""
        if self.kind == "intra":
            return f"intra-reader ({self.readers[0]} vs {self.readers[1]})"
        return f"inter-reader ({', '.join(self.readers)})"

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """Every pair of readers, in the order given."""
        return list(itertools.combinations(self.readers, 2))


@dataclass(frozen=True)
class ReliabilityOptions:
    """Options of :func:`run_reliability` (plain values: a ``[reliability]`` table maps onto them).

    Parameters
    ----------
    study : path
        The study folder: DICOM films with the readers' landmark files beside them.
    output : path
        Output folder.
    raters : tuple of str
        The readers compared inter-reader (two or more; one is allowed with ``repeat``).
    repeat : (str, str), optional
        A reader's first and repeated reading, e.g. ``("A", "A2")``: intra-reader.
    measures : tuple of str
        Columns of the measures table to compare (default :data:`DEFAULT_MEASURES`).
    timepoints : tuple of str, optional
        The study's time points (see :func:`kyphoimg.timepoints.timepoint_vocabulary`).
    landmarks_dir : path, optional
        Where the landmark files are, when not beside the films.
    conf_level : float
        Level of every confidence interval (default 0.95).
    jobs : int
        Processes for the header scan.
    progress : bool
        Show progress bars.
    accept_proposals : bool
        Also compare vertebrae whose points kyphoimg proposed and no reader confirmed
        (default: they are left out and named as warnings).
    """

    study: Path
    output: Path
    raters: tuple[str, ...]
    repeat: tuple[str, str] | None = None
    measures: tuple[str, ...] = DEFAULT_MEASURES
    timepoints: tuple[str, ...] | None = None
    landmarks_dir: Path | None = None
    conf_level: float = 0.95
    jobs: int = 1
    progress: bool = False
    accept_proposals: bool = False

    def comparisons(self) -> list[Comparison]:
        """Return the comparisons these options ask for: inter-reader, then intra-reader.

        Returns
        -------
        list of Comparison
            Inter-reader when two or more raters are given; intra-reader with ``repeat``.
        """
        out = []
        if len(self.raters) >= 2:
            out.append(Comparison("inter", tuple(self.raters), "ICC(2,1)"))
        if self.repeat is not None:
            out.append(Comparison("intra", tuple(self.repeat), "ICC(3,1)"))
        return out

    @property
    def readers(self) -> tuple[str, ...]:
        """Every reader id whose files are read (raters, then the repeated reading)."""
        extra = tuple(r for r in (self.repeat or ()) if r not in self.raters)
        return tuple(self.raters) + extra

    def validated(self) -> ReliabilityOptions:
        """Return the options checked and normalised (paths, reader ids, measures).

        Returns
        -------
        ReliabilityOptions
            A copy with ``Path`` values and each measure once.

        Raises
        ------
        StudyError
            If the study is not a folder, a reader id cannot name a file, fewer than two
            raters are given without ``repeat``, ``repeat`` is not two different ids, a
            measure is not a column of the measures table, or ``conf_level`` is not
            between 0 and 1.
        """
        return _check_options(self)


def _check_options(o: ReliabilityOptions) -> ReliabilityOptions:
    if not Path(o.study).is_dir():
        raise StudyError(f"{o.study}: not a folder; give the study folder holding the films")
    raters = tuple(check_rater(r) or "" for r in o.raters)
    if len(set(raters)) != len(raters):
        raise StudyError(f"raters {', '.join(raters)}: each reader once")
    repeat = tuple(check_rater(r) or "" for r in o.repeat) if o.repeat else None
    if repeat is not None and (len(repeat) != 2 or repeat[0] == repeat[1]):
        raise StudyError(
            f"repeat {o.repeat!r}: give the reader and the id of the repeated reading, "
            "e.g. A,A2 (the second reading saved as reader A2)"
        )
    if len(raters) < 2 and repeat is None:
        raise StudyError("give two or more raters (inter-reader) and/or repeat=A,A2 (intra-reader)")
    unknown = [m for m in o.measures if m not in MEASURE_COLUMNS]
    if unknown:
        raise StudyError(
            f"unknown measure(s) {', '.join(unknown)}; use columns of the measures table "
            f"such as {', '.join(DEFAULT_MEASURES)}"
        )
    if not 0 < o.conf_level < 1:
        raise StudyError(f"conf_level={o.conf_level!r}; give a level between 0 and 1")
    return replace(
        o,
        study=Path(o.study),
        output=Path(o.output),
        raters=raters,
        repeat=(repeat[0], repeat[1]) if repeat else None,
        measures=tuple(dict.fromkeys(o.measures)),
    )


# -------------------------------------------------------------------------- study TOML
_TOML_KEYS = {
    "study": "path",
    "output": "path",
    "landmarks": "path",
    "raters": "list",
    "repeat": "list",
    "measures": "list",
    "timepoints": "list",
    "conf_level": "float",
    "jobs": "int",
}
_TOML_FIELDS = {"landmarks": "landmarks_dir"}


def read_reliability_toml(path: str | Path) -> dict[str, Any]:
    """Read the ``[reliability]`` table of a study TOML into :class:`ReliabilityOptions` fields.

    Parameters
    ----------
    path : path-like
        The study file, e.g.::

            [reliability]
            study = "study/"          # default: the TOML's folder
            output = "reliability/"
            raters = ["A", "B"]       # or "A,B"
            repeat = ["A", "A2"]
            measures = ["ha_mm", "ka_deg", "genant_grade", "ivc"]

        Paths are relative to the file. Other tables of the file are ignored.

    Returns
    -------
    dict
        Keyword arguments of :class:`ReliabilityOptions` (``repeat`` as a pair).

    Raises
    ------
    StudyError
        If the file cannot be read, has no ``[reliability]`` table, or a key is unknown
        or malformed.
    """
    from .studyfile import read_study_file

    path = Path(path)
    table = read_study_file(path).table("reliability")
    if not table:
        raise StudyError(f"{path}: no [reliability] table (keys: {', '.join(_TOML_KEYS)})")
    out: dict[str, Any] = {"study": path.parent}
    for key, value in table.items():
        out[_TOML_FIELDS.get(key, key)] = value
    if "repeat" in out:
        rep = out["repeat"]
        if len(rep) != 2:
            raise StudyError(f"{path}: repeat = {list(rep)}; give two ids, e.g. ['A', 'A2']")
        out["repeat"] = (rep[0], rep[1])
    return out


def reliability_options(
    study: str | Path,
    *,
    output: str | Path | None = None,
    raters: Sequence[str] | None = None,
    repeat: Sequence[str] | None = None,
    measures: Sequence[str] | None = None,
    timepoints: Sequence[str] | None = None,
    landmarks_dir: str | Path | None = None,
    jobs: int | None = None,
    progress: bool = False,
    accept_proposals: bool = False,
) -> ReliabilityOptions:
    """Build checked options from a study folder or a study TOML, overridden by arguments.

    Parameters
    ----------
    study : path-like
        The study folder, or a study ``.toml`` with a ``[reliability]`` table
        (:func:`read_reliability_toml`).
    output, raters, repeat, measures, timepoints, landmarks_dir, jobs : optional
        Fields of :class:`ReliabilityOptions`; given ones override the TOML's.
    progress : bool, optional
        Show progress bars.
    accept_proposals : bool, optional
        Compare proposed points no reader confirmed too (``--accept-proposals``).

    Returns
    -------
    ReliabilityOptions
        Validated (see :meth:`ReliabilityOptions.validated`).

    Raises
    ------
    StudyError
        If the TOML cannot be read, the output folder or the raters are missing, or the
        options are invalid.
    """
    path = Path(study)
    values: dict[str, Any] = (
        read_reliability_toml(path) if path.suffix.lower() == ".toml" else {"study": path}
    )
    given = {
        "output": Path(output) if output is not None else None,
        "raters": tuple(raters) if raters is not None else None,
        "repeat": tuple(repeat) if repeat is not None else None,
        "measures": tuple(measures) if measures is not None else None,
        "timepoints": tuple(timepoints) if timepoints is not None else None,
        "landmarks_dir": Path(landmarks_dir) if landmarks_dir is not None else None,
        "jobs": jobs,
    }
    values.update({k: v for k, v in given.items() if v is not None})
    if "output" not in values:
        raise StudyError("give the output folder (-o/--output, or output in [reliability])")
    if "repeat" in values and len(values["repeat"]) != 2:
        raise StudyError(f"repeat {','.join(values['repeat'])}: give two ids, e.g. A,A2")
    values.setdefault("raters", ())
    if accept_proposals:
        values["accept_proposals"] = True
    return ReliabilityOptions(progress=progress, **values).validated()


# =========================================================================== the readers
def _film_key(entry: StudyEntry, folder: Path) -> str:
    try:
        return entry.film_path.relative_to(folder).as_posix()
    except ValueError:
        return entry.film_path.as_posix()


def _header_calibrations(index: pd.DataFrame) -> dict[str, Calibration]:
    """Each readable film's calibration from its header (the rules of ``kyphoimg run``)."""
    out: dict[str, Calibration] = {}
    ok = index[index["status"] == "ok"]
    for path, source, row_mm, col_mm in zip(
        ok["path"], ok["spacing_source"], ok["row_mm"], ok["col_mm"], strict=True
    ):
        try:
            out[str(path)] = (
                Calibration(float(row_mm), float(col_mm), str(source))
                if isinstance(source, str) and source != "none"
                else Calibration.none()
            )
        except CalibrationError:
            continue
    return out


def reader_sets(
    study: str | Path,
    rater: str,
    *,
    index: pd.DataFrame | None = None,
    timepoints: Iterable[str] | None = None,
    landmarks_dir: str | Path | None = None,
    accept_proposals: bool = False,
) -> tuple[list[LandmarkSet], pd.DataFrame]:
    """One reader's landmark sets of a study, paired with their films, keyed by film.

    The reader's worklist (:func:`kyphoimg.study.open_worklist`) gives each film's landmark
    file; sets that are complete or incomplete (measured as far as they go) are kept,
    paired with the film's header calibration (a ``user`` calibration is kept, as in
    ``kyphoimg run``), with ``image.path`` set to the film's path in the study folder (so
    every reader's set of one film has the same key), the worklist's patient and time
    point, and ``rater`` set to the reader.

    Parameters
    ----------
    study : path-like
        The study folder.
    rater : str
        The reader.
    index : pandas.DataFrame, optional
        The study's header index (:func:`kyphoimg.dicom.scan`), to scan only once.
    timepoints : iterable of str, optional
        The study's time points.
    landmarks_dir : path-like, optional
        Where the landmark files are, when not beside the films.
    accept_proposals : bool, optional
        Keep the vertebrae whose points kyphoimg proposed and the reader did not confirm
        (default: left out, each named in a warning row).

    Returns
    -------
    sets : list of LandmarkSet
        The reader's sets.
    problems : pandas.DataFrame
        Columns ``file, level, point, error``: files that could not be read or paired,
        refused (invalid) files, and, as warnings (``warning: ...``), unfinished ones.
    """
    folder = Path(study)
    if index is None:
        index = scan(folder)
    wl = open_worklist(
        folder, rater=rater, timepoints=timepoints, landmarks_dir=landmarks_dir, index=index
    )
    cals = _header_calibrations(index)
    sets: list[LandmarkSet] = []
    rows: list[tuple[Any, ...]] = list(wl.problems.itertuples(index=False, name=None))
    for e in wl:
        if e.status in ("invalid", "incomplete"):
            prefix = "warning: " if e.status == "incomplete" else ""
            rows += [(str(e.landmark_path), None, None, f"{prefix}{p}") for p in e.problems]
        if e.landmarks is None or e.status not in ("complete", "incomplete", "to_review"):
            continue
        own, notes = (e.landmarks, []) if accept_proposals else without_proposals(e.landmarks)
        rows += [(str(n.file or e.landmark_path), n.level, None, f"warning: {n}") for n in notes]
        if not own.points:
            continue
        key = _film_key(e, folder)
        ls = pair_with_film(
            own,
            sop_instance_uid=e.sop_instance_uid,
            rows=e.rows,
            columns=e.columns,
            calibration=cals.get(key),
            film=e.film_path,
        )
        sets.append(
            ls.replace(
                image=replace(ls.image, path=key),
                patient_id=e.patient_id,
                timepoint=e.timepoint,
                rater=rater,
            )
        )
    return sets, pd.DataFrame(rows, columns=list(ERROR_COLUMNS))


def _measures(sets: list[LandmarkSet]) -> pd.DataFrame:
    m = with_point_source(measures_table(sets), sets)
    return m.rename(columns={"image": "film"})


# ============================================================================ landmarks
def landmark_distances(
    sets_a: Sequence[LandmarkSet], sets_b: Sequence[LandmarkSet]
) -> pd.DataFrame:
    """Distances between two readers' corresponding landmarks (same film, level and point).

    Parameters
    ----------
    sets_a, sets_b : sequence of LandmarkSet
        Each reader's lateral sets; a set's film is its ``image.path`` (as
        :func:`reader_sets` gives them), so both readers' sets of a film must share it.

    Returns
    -------
    pandas.DataFrame
        One row per point both readers placed: ``film, patient_id, timepoint, level,
        point, is_index, reader_a, reader_b, d_row_px, d_col_px, distance_px,
        distance_mm`` (NaN when reader A's set has no mm calibration), ``distance`` and
        ``unit`` (mm where calibrated, else px) and ``spacing_source``.
    """
    cols = [f"{p}_{ax}" for p in _POINTS for ax in ("row", "col")]
    keys = ["image", "level"]
    fa, fb = points_frame(sets_a), points_frame(sets_b)
    keep_a = [*keys, "patient_id", "timepoint", "rater", "is_index", "spacing_source",
              "row_mm", "col_mm", *cols]  # fmt: skip
    both = fa[keep_a].merge(fb[[*keys, "rater", *cols]], on=keys, suffixes=("_a", "_b"))
    parts = []
    for p in _POINTS:
        dr = both[f"{p}_row_b"] - both[f"{p}_row_a"]
        dc = both[f"{p}_col_b"] - both[f"{p}_col_a"]
        part = both[["image", "patient_id", "timepoint", "level", "is_index", "rater_a",
                     "rater_b", "spacing_source", "row_mm", "col_mm"]].copy()  # fmt: skip
        part["point"] = p
        part["d_row_px"], part["d_col_px"] = dr.to_numpy(), dc.to_numpy()
        parts.append(part[dr.notna() & dc.notna()])
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    out = out.rename(columns={"image": "film", "rater_a": "reader_a", "rater_b": "reader_b"})
    out["distance_px"] = np.hypot(out["d_row_px"], out["d_col_px"])
    out["distance_mm"] = np.hypot(out["d_row_px"] * out["row_mm"], out["d_col_px"] * out["col_mm"])
    has_mm = out["distance_mm"].notna()
    out["distance"] = out["distance_mm"].where(has_mm, out["distance_px"])
    out["unit"] = np.where(has_mm, "mm", "px")
    out["spacing_source"] = out["spacing_source"].astype(str)
    order = ["film", "patient_id", "timepoint", "level", "point", "is_index", "reader_a",
             "reader_b", "distance", "unit", "distance_mm", "distance_px", "d_row_px",
             "d_col_px", "spacing_source"]  # fmt: skip
    return out[order].sort_values(["film", "level", "point"], kind="stable", ignore_index=True)


def landmark_agreement(
    distances: pd.DataFrame, by: Sequence[str] = ("point", "level")
) -> pd.DataFrame:
    """Summarise landmark distances: n, median, 95th percentile, mean and maximum.

    Parameters
    ----------
    distances : pandas.DataFrame
        From :func:`landmark_distances` (optionally with a ``comparison`` column).
    by : sequence of str, optional
        Grouping columns besides the comparison, readers and unit (default point and
        level; ``("point",)`` pools the levels).

    Returns
    -------
    pandas.DataFrame
        One row per group with ``n, median, p95, mean, max`` (95th percentile by linear
        interpolation) and ``rank`` (1 = the largest median: the points that disagree
        most, ranked within each comparison and unit), sorted by rank.
    """
    lead = [c for c in ("comparison", "reader_a", "reader_b") if c in distances]
    keys = [*lead, *by, "unit"]
    g = distances.groupby(keys, sort=False, observed=True)["distance"]
    out = g.agg(
        n="size",
        median="median",
        p95=lambda s: float(np.percentile(s, 95)),
        mean="mean",
        max="max",
    ).reset_index()
    rank_by = [*lead, "unit"]
    out["rank"] = out.groupby(rank_by, sort=False)["median"].rank(ascending=False, method="min")
    out["rank"] = out["rank"].astype(int)
    return out.sort_values([*rank_by, "rank"], kind="stable", ignore_index=True)


# ================================================================== measure agreement
def _values(measures: pd.DataFrame, measure: str) -> pd.Series:
    """One reader's values of a measure, indexed by (film, level); not-assessable is missing."""
    s = measures.set_index(list(_TARGET))[measure]
    if measure in CATEGORICAL_MEASURES:
        s = s.astype(object).where(s.astype(object) != _NOT_ASSESSABLE)
        cats = CATEGORICAL_MEASURES[measure][1]
        if all(isinstance(c, int) for c in cats):
            s = pd.to_numeric(s, errors="coerce")
    return s[~s.index.duplicated(keep=False)]


def _wide(
    by_reader: Mapping[str, pd.DataFrame], readers: Sequence[str], measure: str
) -> pd.DataFrame:
    """Targets (film, level) x readers; a target's row is kept when any reader has a value."""
    cols = {r: _values(by_reader[r], measure) for r in readers}
    wide = pd.concat(cols, axis=1)
    return wide[wide.notna().any(axis=1)]


def _unit(measure: str) -> str:
    return describe_column(measure)[0]


def _icc_row(c: Comparison, measure: str, wide: pd.DataFrame, conf: float) -> dict[str, Any]:
    row: dict[str, Any] = {
        "comparison": c.label,
        "kind": c.kind,
        "readers": ", ".join(c.readers),
        "measure": measure,
        "unit": _unit(measure),
        "form": c.form,
        "mcgraw_wong": ICC_FORMS[c.form][0],
        "description": ICC_FORMS[c.form][1],
    }
    complete = wide.dropna().astype(float)
    row["n_targets"], row["n_raters"] = len(complete), wide.shape[1]
    row["n_incomplete"] = int(len(wide) - len(complete))
    if len(complete) < 2:
        row["note"] = f"{len(complete)} target(s) rated by every reader: too few for an ICC"
        return row
    long = complete.set_axis([f"{f}|{lv}" for f, lv in complete.index], axis=0)
    long = long.rename_axis("target").reset_index()
    long = long.melt(id_vars="target", var_name="reader", value_name="value")
    table = icc(long, targets="target", raters="reader", ratings="value", conf_level=conf)
    pick: dict[Any, Any] = table[table["form"] == c.form].to_dict("records")[0]
    sd = float(np.std(complete.to_numpy().ravel(), ddof=1))
    value = float(pick["icc"])
    row.update(
        icc=value,
        ci_low=float(pick["ci_low"]),
        ci_high=float(pick["ci_high"]),
        koo_li=koo_li_grade(float(pick["ci_low"]), float(pick["ci_high"])),
        f=float(pick["f"]),
        df1=float(pick["df1"]),
        df2=float(pick["df2"]),
        p_value=float(pick["p_value"]),
        sd=sd,
    )
    if math.isfinite(value):
        row["sem"] = float(sem(min(value, 1.0), sd))
        row["mdc95"] = float(mdc95(row["sem"]))
    else:
        row["note"] = "no variation between targets: the ICC is undefined"
    row["_all_forms"] = table
    return row


def _ba_rows(
    c: Comparison, measure: str, wide: pd.DataFrame, conf: float, figures: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = []
    unit = _unit(measure)
    for a, b in c.pairs:
        base = {"comparison": c.label, "kind": c.kind, "reader_a": a, "reader_b": b,
                "measure": measure, "unit": unit}  # fmt: skip
        pair = wide[[a, b]].dropna().astype(float)
        if len(pair) < 2:
            rows.append({**base, "n": len(pair), "note": "fewer than 2 targets measured by both"})
            continue
        res = bland_altman(pair[a], pair[b], conf_level=conf, label_a=a, label_b=b, unit=unit)
        stats = res.to_frame().drop(columns=["label_a", "label_b", "unit"])
        rows.append({**base, **{str(k): v for k, v in stats.to_dict("records")[0].items()}})
        figures[f"{c.kind}_{a}_{b}_{measure}"] = (
            f"{c.label}: {measure} ({a} − {b})",
            plot_bland_altman(res, title=f"{measure}: {a} vs {b}"),
        )
    return rows


def _kappa_rows(c: Comparison, measure: str, wide: pd.DataFrame, conf: float) -> list[dict]:
    kind, cats = CATEGORICAL_MEASURES[measure]
    weights: list[str | None] = ["linear", "quadratic"] if kind == "ordinal" else [None]
    rows = []
    for a, b in c.pairs:
        for w in weights:
            base = {"comparison": c.label, "kind": c.kind, "reader_a": a, "reader_b": b,
                    "measure": measure, "statistic": "Cohen's kappa",
                    "weights": w or "unweighted"}  # fmt: skip
            pair = wide[[a, b]].dropna()
            if pair.empty:
                rows.append({**base, "n": 0, "note": "no target rated by both readers"})
                continue
            res = kappa(pair[a], pair[b], w, categories=cats, conf_level=conf)
            rows.append({**base, **_kappa_fields(res)})
    if len(c.readers) > 2:
        complete = wide.dropna()
        base = {"comparison": c.label, "kind": c.kind, "reader_a": ", ".join(c.readers),
                "reader_b": "", "measure": measure, "statistic": "Fleiss' kappa",
                "weights": "unweighted"}  # fmt: skip
        if complete.empty:
            rows.append({**base, "n": 0, "note": "no target rated by every reader"})
        else:
            fk = fleiss_kappa(complete)
            rows.append({**base, "n": fk.n_subjects, "kappa": fk.kappa, "se0": fk.se0,
                         "z": fk.z, "p_value": fk.p_value,
                         "categories": "|".join(map(str, fk.categories))})  # fmt: skip
    return rows


def _kappa_fields(res: Any) -> dict[str, Any]:
    keep = ("n", "kappa", "ci_low", "ci_high", "se", "se0", "z", "p_value",
            "observed_agreement", "note")  # fmt: skip
    out = {k: getattr(res, k) for k in keep}
    out["categories"] = "|".join(map(str, res.categories))
    return out


# ===================================================================== the whole study
@dataclass(frozen=True)
class ComparisonSummary:
    """One comparison of a reliability analysis in numbers (``summary.json``'s ``comparisons``).

    Attributes
    ----------
    comparison : str
        Its label (``inter-reader (A, B)``, ``intra-reader (A vs A2)``), as in the tables'
        ``comparison`` column.
    kind : str
        ``inter`` (between readers) or ``intra`` (a reader's repeated reading).
    readers : tuple of str
        The readers compared.
    icc_form : str
        The ICC form reported (``ICC(2,1)`` inter-reader, ``ICC(3,1)`` intra-reader).
    films_measured_by_all : int
        Films every reader of the comparison measured.
    vertebrae : int
        Vertebrae (film x level) every reader of the comparison measured.
    """

    comparison: str
    kind: str
    readers: tuple[str, ...]
    icc_form: str
    films_measured_by_all: int
    vertebrae: int

    def to_dict(self) -> dict[str, Any]:
        """Return the comparison as ``summary.json`` writes it.

        Returns
        -------
        dict
            Plain JSON values (``readers`` a list), in attribute order.
        """
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["readers"] = list(self.readers)
        return out


@dataclass(frozen=True)
class ReliabilitySummary:
    """A reliability analysis in numbers: the contents of its ``summary.json`` as attributes.

    Attributes
    ----------
    kyphoimg_version : str
        Version of kyphoimg that ran.
    study : str
        The study folder.
    readers : tuple of str
        The readers, in the order given.
    films_by_reader : mapping of str to int
        Films each reader measured (read-only).
    comparisons : tuple of ComparisonSummary
        Each comparison with its film and vertebra counts.
    measures : tuple of str
        The measures compared.
    conf_level : float
        Confidence level of the intervals.
    spacing_sources : tuple of str
        Calibration sources of the films read, sorted.
    problems : int
        Landmark files refused or unreadable (warnings aside).
    """

    kyphoimg_version: str
    study: str
    readers: tuple[str, ...]
    films_by_reader: Mapping[str, int]
    comparisons: tuple[ComparisonSummary, ...]
    measures: tuple[str, ...]
    conf_level: float
    spacing_sources: tuple[str, ...]
    problems: int

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as ``summary.json`` holds it.

        Returns
        -------
        dict
            Plain JSON values in the file's key order.
        """
        return {
            "kyphoimg_version": self.kyphoimg_version,
            "study": self.study,
            "readers": list(self.readers),
            "films_by_reader": dict(self.films_by_reader),
            "comparisons": [c.to_dict() for c in self.comparisons],
            "measures": list(self.measures),
            "conf_level": self.conf_level,
            "spacing_sources": list(self.spacing_sources),
            "problems": self.problems,
        }


@dataclass(frozen=True)
class ReliabilityResult:
    """What :func:`run_reliability` produced.

    Attributes
    ----------
    tables : mapping of str to pandas.DataFrame
        ``icc``, ``icc_all_forms``, ``bland_altman``, ``kappa``, ``landmark_distances``,
        ``landmark_by_point``, ``landmark_by_level``, ``landmark_largest``,
        ``paired_measures``, ``problems`` (each written as ``<name>.csv``); read-only.
    measures : mapping of str to pandas.DataFrame
        Each reader's measures table (``film`` is the film's path in the study); read-only.
    methods : str
        The Methods paragraph.
    summary : ReliabilitySummary
        Counts (films, vertebrae, readers) and settings; ``summary.to_dict()`` is
        ``summary.json``.
    written : tuple of pathlib.Path
        Every file written.
    """

    tables: Mapping[str, pd.DataFrame]
    measures: Mapping[str, pd.DataFrame]
    methods: str
    summary: ReliabilitySummary
    written: tuple[Path, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no landmark file was refused or unreadable (warnings aside)."""
        problems = self.tables["problems"]
        return not (~problems["error"].astype(str).str.startswith("warning: ")).any()


def _compare(
    o: ReliabilityOptions, by_reader: Mapping[str, pd.DataFrame], figures: dict[str, Any]
) -> dict[str, pd.DataFrame]:
    icc_rows, ba_rows, kappa_rows, paired = [], [], [], []
    all_forms = []
    for c in o.comparisons():
        for measure in o.measures:
            wide = _wide(by_reader, c.readers, measure)
            paired.append(wide.add_prefix(f"{measure}__"))
            if measure in CATEGORICAL_MEASURES:
                kappa_rows += _kappa_rows(c, measure, wide, o.conf_level)
                continue
            row = _icc_row(c, measure, wide, o.conf_level)
            forms = row.pop("_all_forms", None)
            if forms is not None:
                all_forms.append(forms.assign(comparison=c.label, measure=measure))
            icc_rows.append(row)
            ba_rows += _ba_rows(c, measure, wide, o.conf_level, figures)
    return {
        "icc": _frame(icc_rows, _ICC_COLS),
        "icc_all_forms": _all_forms(all_forms),
        "bland_altman": _frame(ba_rows, _BA_COLS),
        "kappa": _frame(kappa_rows, _KAPPA_COLS),
        "paired_measures": _paired(paired),
    }


_ICC_COLS = ["comparison", "kind", "readers", "measure", "unit", "form", "mcgraw_wong",
             "description", "n_targets", "n_raters", "n_incomplete", "icc", "ci_low",
             "ci_high", "koo_li", "f", "df1", "df2", "p_value", "sd", "sem", "mdc95",
             "note"]  # fmt: skip
_BA_COLS = ["comparison", "kind", "reader_a", "reader_b", "measure", "unit", "n", "n_dropped",
            "bias", "sd", "loa_low", "loa_high", "bias_ci_low", "bias_ci_high",
            "loa_low_ci_low", "loa_low_ci_high", "loa_high_ci_low", "loa_high_ci_high",
            "se_bias", "se_loa", "loa_multiplier", "conf_level", "slope", "intercept",
            "slope_ci_low", "slope_ci_high", "slope_p_value", "n_outside", "note"]  # fmt: skip
_KAPPA_COLS = ["comparison", "kind", "reader_a", "reader_b", "measure", "statistic", "weights",
               "n", "kappa", "ci_low", "ci_high", "se", "se0", "z", "p_value",
               "observed_agreement", "categories", "note"]  # fmt: skip


_COUNTS = ("n", "n_dropped", "n_outside", "n_targets", "n_raters", "n_incomplete")


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    for c in columns:
        if c not in out:
            out[c] = np.nan if c != "note" else ""
    out["note"] = out["note"].fillna("")
    for c in _COUNTS:
        if c in out:
            out[c] = out[c].astype("Int64")
    return out[columns]


def _all_forms(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=["comparison", "measure", *ICC_FORMS])
    out = pd.concat(parts, ignore_index=True)
    lead = ["comparison", "measure"]
    return out[lead + [c for c in out.columns if c not in lead]]


def _paired(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=list(_TARGET))
    wide = pd.concat(parts, axis=1)
    wide = wide.loc[:, ~wide.columns.duplicated()]
    return wide.rename_axis(index=list(_TARGET)).reset_index()


def _landmarks(
    o: ReliabilityOptions, sets: Mapping[str, list[LandmarkSet]]
) -> dict[str, pd.DataFrame]:
    parts = []
    for c in o.comparisons():
        for a, b in c.pairs:
            d = landmark_distances(sets[a], sets[b])
            parts.append(d.assign(comparison=c.label))
    dist = pd.concat(parts, ignore_index=True) if parts else landmark_distances([], [])
    if "comparison" not in dist:
        dist["comparison"] = pd.Series(dtype=str)
    dist = dist[["comparison", *[c for c in dist.columns if c != "comparison"]]]
    largest = (
        dist.sort_values(
            ["comparison", "unit", "distance"], ascending=[True, True, False], kind="stable"
        )
        .groupby(["comparison", "unit"], sort=False)
        .head(10)
    )
    return {
        "landmark_distances": dist,
        "landmark_by_point": landmark_agreement(dist, by=("point",)),
        "landmark_by_level": landmark_agreement(dist, by=("point", "level")),
        "landmark_largest": largest.reset_index(drop=True),
    }


def run_reliability(options: ReliabilityOptions) -> ReliabilityResult:
    """Measure every reader's landmarks of a study and compare the readers.

    Steps: scan the films' headers once; build each reader's worklist and measure the
    reader's films (:func:`reader_sets`, :func:`kyphoimg.measure.measures_table`);
    for each comparison (:meth:`ReliabilityOptions.comparisons`) compute, per measure,
    the ICC with its CI, SEM and MDC95 and the Bland–Altman statistics (continuous
    measures), or Cohen's (and Fleiss') kappa (grades and findings); compare the
    landmarks point by point; then write the tables, the workbook, the HTML report with
    the Bland–Altman plots, ``methods.txt`` and ``summary.json`` to ``options.output``.

    Parameters
    ----------
    options : ReliabilityOptions
        The study, the readers, the measures and the output folder.

    Returns
    -------
    ReliabilityResult
        The tables, each reader's measures, the Methods paragraph, a summary and the
        files written.

    Raises
    ------
    StudyError
        If the options are unusable (fewer than two readers and no repeat, a bad rater
        id, an unknown measure) or the study folder does not exist.
    """
    o = options.validated()
    index = scan(o.study, progress=o.progress, jobs=o.jobs)
    sets: dict[str, list[LandmarkSet]] = {}
    problems = []
    for r in o.readers:
        s, p = reader_sets(
            o.study,
            r,
            index=index,
            timepoints=o.timepoints,
            landmarks_dir=o.landmarks_dir,
            accept_proposals=o.accept_proposals,
        )
        sets[r] = s
        problems.append(p.assign(reader=r))
    by_reader = {r: _measures(s) for r, s in sets.items()}
    figures: dict[str, Any] = {}
    tables = _compare(o, by_reader, figures)
    tables.update(_landmarks(o, sets))
    # a file no reader can read is listed once (every reader's worklist meets it)
    tables["problems"] = pd.concat(problems, ignore_index=True).drop_duplicates(
        subset=list(ERROR_COLUMNS), ignore_index=True
    )
    summary = _summary(o, sets, tables)
    methods = methods_paragraph(o, summary)
    result = ReliabilityResult(
        MappingProxyType(tables), MappingProxyType(by_reader), methods, summary
    )
    return replace(result, written=tuple(_write(o, result, figures)))


def _summary(
    o: ReliabilityOptions, sets: Mapping[str, list[LandmarkSet]], tables: dict[str, pd.DataFrame]
) -> ReliabilitySummary:
    films = {r: {str(ls.image.path) for ls in s} for r, s in sets.items()}
    levels = {
        r: {(str(ls.image.path), lv) for ls in s for lv in ls.points} for r, s in sets.items()
    }
    comps = tuple(
        ComparisonSummary(
            comparison=c.label,
            kind=c.kind,
            readers=tuple(c.readers),
            icc_form=c.form,
            films_measured_by_all=len(set.intersection(*(films[r] for r in c.readers))),
            vertebrae=len(set.intersection(*(levels[r] for r in c.readers))),
        )
        for c in o.comparisons()
    )
    sources = sorted({ls.calibration.source for s in sets.values() for ls in s})
    return ReliabilitySummary(
        kyphoimg_version=__version__,
        study=str(o.study),
        readers=tuple(o.readers),
        films_by_reader=MappingProxyType({r: len(f) for r, f in films.items()}),
        comparisons=comps,
        measures=tuple(o.measures),
        conf_level=o.conf_level,
        spacing_sources=tuple(sources),
        problems=int((~tables["problems"]["error"].astype(str).str.startswith("warning: ")).sum()),
    )


# ============================================================================== summary
def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _fmt(x: Any, digits: int = 2) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    return f"{v:.{digits}f}".replace("-", "−") if math.isfinite(v) else "—"


def _icc_lines(icc_rows: pd.DataFrame) -> list[str]:
    lines = [f"  {'measure':<17}{'n':>5}  {'ICC':>6}  {'95% CI':<15} {'Koo & Li':<19}"
             f"{'SEM':>12}{'MDC95':>12}"]  # fmt: skip
    for r in icc_rows.to_dict("records"):
        ci = f"{_fmt(r['ci_low'], 3)}–{_fmt(r['ci_high'], 3)}"
        unit = f" {r['unit']}" if r["unit"] else ""
        grade = r["koo_li"] if isinstance(r["koo_li"], str) else ""
        lines.append(
            f"  {r['measure']!s:<17}{r['n_targets']!s:>5}  {_fmt(r['icc'], 3):>6}  {ci:<15} "
            f"{grade:<19}{_fmt(r['sem']) + unit:>12}{_fmt(r['mdc95']) + unit:>12}"
            + (f"  ({r['note']})" if r["note"] else "")
        )
    return lines


def _kappa_lines(rows: pd.DataFrame) -> list[str]:
    lines = []
    for measure, group in rows.groupby("measure", sort=False):
        parts = []
        for r in group.to_dict("records"):
            name = r["weights"] if r["statistic"] == "Cohen's kappa" else "Fleiss"
            ci = f"({_fmt(r['ci_low'])}–{_fmt(r['ci_high'])})" if _finite(r["ci_low"]) else ""
            parts.append(f"{name} {_fmt(r['kappa'])} {ci}".rstrip() + f", n {r['n']}")
        lines.append(f"  kappa {measure}: " + "; ".join(parts))
    return lines


def _landmark_line(dist: pd.DataFrame, by_level: pd.DataFrame) -> str:
    parts = []
    for unit, d in dist.groupby("unit", sort=True):
        worst = by_level[by_level["unit"] == unit].iloc[0]
        parts.append(
            f"median {_fmt(d['distance'].median())} {unit}, 95th percentile "
            f"{_fmt(np.percentile(d['distance'], 95))} {unit} ({len(d)} points); farthest "
            f"apart: {worst['point']} {worst['level']} (median {_fmt(worst['median'])} {unit})"
        )
    return "  landmarks: " + "; ".join(parts) if parts else ""


def format_summary(result: ReliabilityResult) -> str:
    """Return the plain-text summary ``kyphoimg reliability`` prints.

    Parameters
    ----------
    result : ReliabilityResult
        From :func:`run_reliability`.

    Returns
    -------
    str
        Per comparison: the ICC of each continuous measure with its CI, Koo & Li band,
        SEM and MDC95; the kappas; the landmark distances.
    """
    t = result.tables
    films = ", ".join(f"{n} by {r}" for r, n in result.summary.films_by_reader.items())
    lines = [f"kyphoimg reliability: films read {films}"]
    for comp in result.summary.comparisons:
        label = comp.comparison
        form = comp.icc_form
        lines.append(
            f"\n{label}: {comp.films_measured_by_all} film(s) read by all, "
            f"{form} ({ICC_FORMS[form][1]})"
        )
        rows = t["icc"][t["icc"]["comparison"] == label]
        if len(rows):
            lines += _icc_lines(rows)
        lines += _kappa_lines(t["kappa"][t["kappa"]["comparison"] == label])
        dist = t["landmark_distances"]
        by_level = t["landmark_by_level"]
        lm = _landmark_line(
            dist[dist["comparison"] == label], by_level[by_level["comparison"] == label]
        )
        if lm:
            lines.append(lm)
    return "\n".join(lines)


# ============================================================================== methods
def _label(measure: str) -> str:
    return MEASURE_LABELS.get(measure, measure)


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def methods_paragraph(options: ReliabilityOptions, summary: ReliabilitySummary) -> str:
    """Write the Methods paragraph of a reliability analysis, naming every statistic and source.

    Parameters
    ----------
    options : ReliabilityOptions
        The analysis (readers, repeat, measures, confidence level).
    summary : ReliabilitySummary
        :attr:`ReliabilityResult.summary` (film and vertebra counts per comparison).

    Returns
    -------
    str
        One paragraph, ready to adapt for a manuscript.
    """
    pct = f"{options.conf_level * 100:g} %"
    parts = []
    for comp in summary.comparisons:
        readers = comp.readers
        if comp.kind == "inter":
            parts.append(
                f"Inter-reader reliability was assessed between readers {_and(readers)}, "
                "who placed the landmarks independently on the same "
                f"{comp.films_measured_by_all} films ({comp.vertebrae} vertebrae), "
                "with the two-way random-effects, "
                "absolute-agreement, single-rater intraclass correlation coefficient ICC(2,1) "
                "(Shrout & Fleiss 1979; ICC(A,1) in McGraw & Wong 1996)."
            )
        else:
            parts.append(
                f"Intra-reader reliability was assessed from reader {readers[0]}'s repeated "
                f"reading ({readers[1]}) of {comp.films_measured_by_all} films "
                f"({comp.vertebrae} vertebrae) with the two-way mixed-effects, consistency, "
                "single-rater ICC(3,1) (Shrout & Fleiss 1979; ICC(C,1) in McGraw & Wong 1996)."
            )
    continuous = [_label(m) for m in options.measures if m not in CATEGORICAL_MEASURES]
    categorical = [_label(m) for m in options.measures if m in CATEGORICAL_MEASURES]
    text = " ".join(parts)
    text += (
        " Each vertebra on each film was one target; vertebrae not measured by every reader "
        "of a comparison were left out of its ICC (listwise deletion). "
        f"ICCs of the {_and(continuous) or 'no continuous measure'} are given with "
        f"{pct} confidence intervals from the F distribution (McGraw & Wong 1996) and graded "
        "on those intervals as poor (< 0.5), moderate (0.5–0.75), good (0.75–0.9) or "
        "excellent (> 0.9) (Koo & Li 2016). The standard error of measurement was "
        "SEM = SD·√(1 − ICC), with SD the standard deviation of all readings, and the "
        "minimal detectable change MDC95 = 1.96·√2·SEM (Weir 2005). Agreement was shown "
        "with Bland–Altman plots: the bias (mean difference) and the 95 % limits of "
        "agreement (bias ± 1.96 SD of the differences), each with a "
        f"{pct} confidence interval (Bland & Altman 1986, 1999); proportional bias was "
        "examined by regressing the differences on the means."
    )
    if categorical:
        text += (
            f" Agreement on the {_and(categorical)} was measured with Cohen's kappa "
            "(Cohen 1960), linearly and quadratically weighted for ordinal grades "
            "(Cohen 1968) and unweighted for nominal findings, with asymptotic "
            f"{pct} confidence intervals (Fleiss, Cohen & Everitt 1969)"
            + (
                ", and Fleiss' kappa across all readers (Fleiss 1971)."
                if any(len(c.readers) > 2 for c in summary.comparisons)
                else "."
            )
            + " Not-assessable findings were treated as missing."
        )
    text += (
        " Landmark placement agreement was measured as the Euclidean distance between the "
        "readers' corresponding points, in millimetres in each film's calibrated plane "
        "(pixels where a film had no calibration), and summarised per point type and "
        "vertebral level by the median and 95th percentile."
    )
    if "detector" in summary.spacing_sources:
        text += (
            " Some films were calibrated only at the detector plane (Imager Pixel Spacing, "
            "not corrected for radiographic magnification), so their millimetres overstate "
            "anatomical size."
        )
    text += (
        f" Analyses used kyphoimg {summary.kyphoimg_version} "
        "(ICC F tests from pingouin; kappa and its variances from statsmodels)."
    )
    return text


# =============================================================================== output
def _write_csv(table: pd.DataFrame, path: Path) -> list[Path]:
    return write_table(table, path, entries=AGREEMENT_COLUMNS)


#: Display format of a column in the HTML report and the workbook (other float columns
#: "f2", integer columns "int", the rest text); see :class:`kyphoimg.stats.render.Table`.
_F3 = ("icc", "ci_low", "ci_high", "kappa", "se", "se0", "slope", "slope_ci_low",
       "slope_ci_high", "observed_agreement")  # fmt: skip
_FORMATS = {
    **dict.fromkeys(_F3, "f3"),
    **dict.fromkeys(("p_value", "slope_p_value"), "p"),
    **dict.fromkeys(("df1", "df2"), "f0"),
}


def _table(frame: pd.DataFrame, title: str, columns: Sequence[str] | None = None) -> Table:
    """Return a report table of ``frame`` (its ``columns`` only, when given)."""
    if columns is not None:
        frame = frame[[c for c in columns if c in frame]]
    formats = {}
    for col in frame.columns:
        dtype = frame[col].dtype
        if col in _FORMATS:
            formats[col] = _FORMATS[col]
        elif pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            formats[col] = "int"
        elif pd.api.types.is_float_dtype(dtype):
            formats[col] = "f2"
    return Table(title, frame.reset_index(drop=True), formats, sheet=title)


def _write(o: ReliabilityOptions, result: ReliabilityResult, figures: dict[str, Any]) -> list[Path]:
    out = o.output
    written: list[Path] = []
    for name, table in result.tables.items():
        written += _write_csv(table, out / f"{name}.csv")
    for r, m in result.measures.items():
        written += _write_csv(m, out / "readers" / r / "measures.csv")
    pngs: dict[str, tuple[str, bytes]] = {}
    for key, (caption, fig) in figures.items():
        data = figure_to_bytes(fig, "png")
        path = out / "figures" / f"bland_altman_{key}.png"

        def write_png(tmp: str, data: bytes = data) -> int:
            return Path(tmp).write_bytes(data)

        written.append(atomic_write(path, write_png))
        pngs[key] = (caption, data)
    written.append(atomic_write_text(out / "methods.txt", result.methods + "\n"))
    written.append(_write_workbook(out / "reliability.xlsx", result))
    written.append(atomic_write_text(out / "reliability.html", _html(o, result, pngs)))
    written.append(
        atomic_write_text(
            out / "summary.json", json.dumps(result.summary.to_dict(), indent=2) + "\n"
        )
    )
    return written


_SHEETS = ("icc", "bland_altman", "kappa", "landmark_by_point", "landmark_by_level",
           "landmark_largest", "icc_all_forms", "paired_measures", "problems")  # fmt: skip


def _write_workbook(path: Path, result: ReliabilityResult) -> Path:
    """Write the workbook: Methods, one sheet per table, the dictionary of every column."""
    tables = [Table("methods", pd.DataFrame({"methods": [result.methods]}))]
    columns: list[str] = []
    for name in _SHEETS:
        tables.append(_table(result.tables[name], name))
        columns += [c for c in result.tables[name].columns if c not in columns]
    tables.append(Table("dictionary", data_dictionary(columns, AGREEMENT_COLUMNS)))
    return atomic_write(path, lambda tmp: write_workbook(Path(tmp), tables, (), keep_empty=True))


_HTML_ICC = ("comparison", "measure", "unit", "form", "n_targets", "icc", "ci_low", "ci_high",
             "koo_li", "p_value", "sem", "mdc95", "note")  # fmt: skip
_HTML_BA = ("comparison", "reader_a", "reader_b", "measure", "unit", "n", "bias",
            "bias_ci_low", "bias_ci_high", "loa_low", "loa_high", "slope", "slope_p_value",
            "n_outside")  # fmt: skip
_HTML_KAPPA = ("comparison", "reader_a", "reader_b", "measure", "statistic", "weights", "n",
               "kappa", "ci_low", "ci_high", "p_value", "observed_agreement", "note")  # fmt: skip
_HTML_POINT = ("comparison", "point", "unit", "n", "median", "p95", "max", "rank")
_HTML_LEVEL = ("comparison", "point", "level", "unit", "n", "median", "p95", "max", "rank")
_HTML_LARGEST = ("comparison", "film", "level", "point", "distance", "unit", "spacing_source")


def _html_block(frame: pd.DataFrame, columns: Sequence[str], caption: str) -> str:
    block = html_table(_table(frame, caption, columns))
    return block or f'<p class="note">{html.escape(caption)}: nothing to show.</p>'


def _html(
    o: ReliabilityOptions, result: ReliabilityResult, pngs: Mapping[str, tuple[str, bytes]]
) -> str:
    t = result.tables
    films = ", ".join(f"{n} by {r}" for r, n in result.summary.films_by_reader.items())
    meta = html.escape(
        f"kyphoimg {__version__}, {_dt.date.today().isoformat()}; films read: {films}."
    )
    blocks = [
        "<h2>Methods</h2>",
        f"<p>{html.escape(result.methods)}</p>",
        "<h2>Intraclass correlation, SEM and MDC95</h2>",
        _html_block(t["icc"], _HTML_ICC, "ICC per measure"),
        "<h2>Bland–Altman agreement</h2>",
        _html_block(
            t["bland_altman"], _HTML_BA, "Bias and limits of agreement (reader_a − reader_b)"
        ),
        figure_grid([embed_png(data, caption) for caption, data in pngs.values()]),
        "<h2>Kappa for grades and findings</h2>",
        _html_block(t["kappa"], _HTML_KAPPA, "Cohen's and Fleiss' kappa"),
        "<h2>Landmark agreement</h2>",
        _html_block(t["landmark_by_point"], _HTML_POINT, "Distance by point type (all levels)"),
        _html_block(
            t["landmark_by_level"].groupby(["comparison", "unit"]).head(12),
            _HTML_LEVEL,
            "The 12 point types × levels that disagree most (largest median distance)",
        ),
        _html_block(t["landmark_largest"], _HTML_LARGEST, "The largest single distances"),
    ]
    if len(t["problems"]):
        blocks.append("<h2>Problems and warnings</h2>")
        blocks.append(_html_block(t["problems"], ["reader", "file", "error"], "From the worklists"))
    return page(f"Measurement reliability — {o.study}", meta, blocks) + "\n"


# ============================================================================ simulation
def perturb_landmarks(
    ls: LandmarkSet,
    sigma_px: float,
    rng: np.random.Generator,
    *,
    rater: str | None = None,
    finding_error: float = 0.0,
) -> LandmarkSet:
    """Copy a landmark set as a simulated reader would place it: Gaussian noise on every point.

    Parameters
    ----------
    ls : LandmarkSet
        The set to copy (e.g. a phantom's ground truth).
    sigma_px : float
        Standard deviation of the noise added to the row and to the column of each
        point, independently, in pixels.
    rng : numpy.random.Generator
        The random source (seed it for reproducible readers).
    rater : str, optional
        The copy's rater id.
    finding_error : float, optional
        Probability that each reader finding (:data:`kyphoimg.landmarks.FINDINGS`) is
        replaced by another allowed value.

    Returns
    -------
    LandmarkSet
        The copy; points are kept inside the image when its size is known.
    """
    rows, cols = ls.image.rows, ls.image.columns
    points: dict[str, dict[str, tuple[float, float]]] = {}
    for level, pts in ls.points.items():
        moved = {}
        for name, (r, c) in pts.items():
            dr, dc = rng.normal(0.0, sigma_px, 2) if sigma_px > 0 else (0.0, 0.0)
            nr, nc = r + dr, c + dc
            if rows is not None and cols is not None:
                nr, nc = min(max(nr, 0.0), rows - 1.0), min(max(nc, 0.0), cols - 1.0)
            moved[name] = (float(nr), float(nc))
        points[level] = moved
    findings = {}
    for level, found in ls.findings.items():
        new = dict(found)
        for key, value in found.items():
            choices = [v for v in FINDINGS.get(key, ()) if v != value]
            if choices and rng.random() < finding_error:
                new[key] = str(rng.choice(choices))
        findings[level] = new
    return ls.replace(points=points, findings=findings, rater=rater or ls.rater)


def simulate_readers(
    study: str | Path,
    noise_px: Mapping[str, float],
    *,
    seed: int = 0,
    finding_error: float = 0.0,
) -> list[Path]:
    """Write synthetic readers' landmark files beside a study's single-reader files.

    Each single-reader file ``<film>.landmarks.json`` (the ground truth of a generated
    cohort, :func:`kyphoimg.sample.generate_cohort`) is copied once per reader as
    ``<film>.<reader>.landmarks.json`` with Gaussian placement noise
    (:func:`perturb_landmarks`), so :func:`run_reliability` can be tried, and tested,
    with readers of known precision.

    Parameters
    ----------
    study : path-like
        The study folder.
    noise_px : mapping of str to float
        Reader id -> standard deviation of the placement noise per axis, in pixels,
        e.g. ``{"A": 1.5, "B": 1.5, "A2": 1.0}``.
    seed : int, optional
        Seed of the noise (each reader draws from its own stream).
    finding_error : float, optional
        Probability that a reader records a finding differently.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    StudyError
        If a reader id cannot name a file, or the study has no single-reader files.
    """
    folder = Path(study)
    readers = {check_rater(r) or "": float(s) for r, s in noise_px.items()}
    sources = []
    for path in find_landmark_files([folder]):
        if not path.name.endswith(".landmarks.json"):
            continue
        ls = read_landmarks(path, validate=False)
        stem = path.name.removesuffix(".landmarks.json")
        if ls.rater and stem.endswith(f".{ls.rater}"):
            continue  # a reader's own file
        sources.append((path, stem, ls))
    if not sources:
        raise StudyError(f"{folder}: no single-reader landmark files to copy")
    written = []
    for i, (reader, sigma) in enumerate(readers.items()):
        rng = np.random.default_rng([seed, i])
        for path, stem, ls in sources:
            copy = perturb_landmarks(ls, sigma, rng, rater=reader, finding_error=finding_error)
            # the copy is a reader's file: no ground truth in it, and it says what it is
            extra = {k: v for k, v in copy.extra.items() if k not in ("truth", "generator")}
            extra["simulated_reader"] = {"noise_px": sigma, "seed": seed, "source": path.name}
            copy = copy.replace(extra=extra)
            target = path.with_name(f"{stem}.{reader}.landmarks.json")
            written.append(write_landmarks(copy, target))
    return written
