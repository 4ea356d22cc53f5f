"""The data dictionary: unit, definition and source of every column kyphoimg writes.

Definition ids point into ``docs/measures.md`` (``M-...`` measures, ``A-...`` angles,
``L-...`` longitudinal, ``K-...`` keys and bookkeeping); ``K-scan`` columns are the DICOM
header fields of ``kyphoimg scan`` (docs/dicom.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

__all__ = ["AGREEMENT_COLUMNS", "DICTIONARY_COLUMNS", "data_dictionary", "describe_column"]

DICTIONARY_COLUMNS = ("column", "unit", "definition_id", "description", "source")

_QM = "McCloskey et al. Osteoporos Int 1993;3:138"
_GENANT = "Genant et al. JBMR 1993;8:1137 (morphometric approximation of a visual method)"
_STSG = "Keynan et al. Spine 2006;31:E156 (STSG)"
_YU = "Yu et al. 2017 (PMC5266161)"
_MCK = "McKiernan et al. Spine 2003;28:2517"
_CAL = "DICOM PS3.3 §10.7.1; docs/dicom.md"

# column -> (unit, definition id, description, source)
_ENTRIES: dict[str, tuple[str, str, str, str]] = {
    "patient_id": (
        "",
        "K-patient",
        "patient identifier as given in the landmark file",
        "",
    ),
    "timepoint": ("", "K-timepoint", "time point name (pre, post, last or a named follow-up)", ""),
    "image": ("", "K-image", "image path relative to its landmark file", ""),
    "rater": ("", "K-rater", "reader who placed the landmarks", ""),
    "point_source": (
        "",
        "K-rater",
        "where the vertebra's points come from: reader (placed or moved by the reader), "
        "confirmed:<method> (proposed by kyphoimg, e.g. confirmed:propagate, and accepted "
        "by the reader as proposed) or proposed:<method> (proposed by kyphoimg and measured "
        "unreviewed because --accept-proposals was given)",
        "",
    ),
    "level": ("", "K-level", "vertebral level (C2-C7, T1-T12, L1-L5, S1)", ""),
    "scheme": (
        "",
        "K-scheme",
        "landmark scheme: 6pt, 4pt (lateral) or ap4 (coronal)",
        "README.md, Landmark files",
    ),
    "spacing_source": (
        "",
        "K-spacing",
        "where the mm spacing came from: user, pixel_spacing, ermf (estimated patient plane), detector (NOT corrected for magnification), unknown_origin, none",
        _CAL,
    ),
    "row_mm": (
        "mm/px",
        "K-spacing",
        "row spacing used for mm values (NaN when spacing_source is none)",
        _CAL,
    ),
    "col_mm": ("mm/px", "K-spacing", "column spacing used for mm values", _CAL),
    "path": ("", "K-scan", "file path relative to the scanned folder", ""),
    "study_instance_uid": ("", "K-scan", "Study Instance UID (0020,000D)", "DICOM PS3.3"),
    "series_instance_uid": ("", "K-scan", "Series Instance UID (0020,000E)", "DICOM PS3.3"),
    "sop_instance_uid": (
        "",
        "K-scan",
        "SOP Instance UID (0008,0018): the image's identity",
        "DICOM PS3.3",
    ),
    "study_date": ("date", "K-scan", "Study Date (0008,0020)", "DICOM PS3.3"),
    "study_time": ("time", "K-scan", "Study Time (0008,0030)", "DICOM PS3.3"),
    "acquisition_date": ("date", "K-scan", "Acquisition Date (0008,0022)", "DICOM PS3.3"),
    "acquisition_time": ("time", "K-scan", "Acquisition Time (0008,0032)", "DICOM PS3.3"),
    "modality": ("", "K-scan", "Modality (0008,0060): CR, DX ...", "DICOM PS3.3"),
    "view_position": ("", "K-scan", "View Position (0018,5101): LL, AP, PA ...", "DICOM PS3.3"),
    "body_part": ("", "K-scan", "Body Part Examined (0018,0015)", "DICOM PS3.3"),
    "series_description": ("", "K-scan", "Series Description (0008,103E)", "DICOM PS3.3"),
    "rows": ("px", "K-scan", "Rows (0028,0010)", "DICOM PS3.3"),
    "columns": ("px", "K-scan", "Columns (0028,0011)", "DICOM PS3.3"),
    "transfer_syntax": (
        "",
        "K-scan",
        "Transfer Syntax UID of the pixel data encoding",
        "DICOM PS3.5",
    ),
    "days_from_surgery": ("days", "K-scan", "film date minus surgery date", ""),
    "timepoint_flag": (
        "",
        "K-scan",
        "why a film's time point is in doubt (not assigned, or to review)",
        "",
    ),
    "is_index": ("", "K-index", "vertebra is an index (fractured/treated) level", ""),
    "status": (
        "",
        "K-status",
        "ok; incomplete (some measure NaN, see reason); endplate_only (S1)",
        "",
    ),
    "reason": (
        "",
        "K-status",
        "why values are missing, and notes (approximate Hm, single-neighbour reference, no calibration)",
        "",
    ),
    "ha_mm": (
        "mm",
        "M-height",
        "anterior body height: distance ant_sup-ant_inf, in the plane of spacing_source",
        "Chou & Vokes, J Clin Densitom 2015 (6-point QM)",
    ),
    "hm_mm": (
        "mm",
        "M-height",
        "middle body height: distance mid_sup-mid_inf (4pt: chord midpoints, approximate)",
        "Chou & Vokes 2015",
    ),
    "hp_mm": (
        "mm",
        "M-height",
        "posterior body height: distance post_sup-post_inf",
        "Chou & Vokes 2015",
    ),
    "ha_px": ("px", "M-height", "anterior body height in pixel units", ""),
    "hm_px": ("px", "M-height", "middle body height in pixel units", ""),
    "hp_px": ("px", "M-height", "posterior body height in pixel units", ""),
    "wedge_ratio": (
        "ratio",
        "M-wedge-ratio",
        "Ha/Hp of the same vertebra",
        "J Orthop Surg Res 2023, doi 10.1186/s13018-023-03758-w",
    ),
    "wedge_angle_deg": (
        "deg",
        "A-wedge",
        "angle between the vertebra's own superior and inferior endplates; positive when the anterior body is shorter",
        "J Orthop Surg Res 2023",
    ),
    "ahr_pct": (
        "%",
        "M-ahr",
        "anterior height ratio (retained): 100 x Ha / mean(Ha of adjacent vertebrae)",
        _STSG,
    ),
    "mhr_pct": (
        "%",
        "M-ahr",
        "middle height ratio (retained): 100 x Hm / mean(Hm of adjacent)",
        _STSG,
    ),
    "phr_pct": (
        "%",
        "M-ahr",
        "posterior height ratio (retained): 100 x Hp / mean(Hp of adjacent)",
        _STSG,
    ),
    "ahr_reference_levels": (
        "",
        "M-ahr",
        "levels whose heights were the reference of ahr_pct, mhr_pct, phr_pct, compression "
        "and the adjacent Genant grade (cranial,caudal): fractured neighbours (index levels, "
        "morphometric Genant grade >= 1) skipped for the next non-fractured vertebra",
        _STSG,
    ),
    "compression_pct": (
        "%",
        "M-compression",
        "compression rate (height LOST): 100 - ahr_pct",
        _STSG + "; Hsu et al. 2019",
    ),
    "compression_mid_pct": ("%", "M-compression", "middle height lost: 100 - mhr_pct", _STSG),
    "compression_post_pct": ("%", "M-compression", "posterior height lost: 100 - phr_pct", _STSG),
    "compression_wedge_pct": (
        "%",
        "M-compression",
        "wedge form of height lost: 100 x (1 - Ha/Hp)",
        "Hsu et al. 2019",
    ),
    "compression_max_pct": (
        "%",
        "M-compression",
        "largest of anterior, middle and posterior height lost vs adjacent reference",
        "Hsu et al. 2019",
    ),
    "genant_grade": (
        "grade",
        "M-genant",
        "morphometric Genant grade from genant_loss_pct: 0 <20 %, 1 20-25 %, 2 25-40 %, 3 >=40 %",
        _GENANT,
    ),
    "genant_type": (
        "",
        "M-genant",
        "deformity type: wedge (Ha most reduced), biconcave (Hm), crush (Hp); normal when grade 0",
        _GENANT,
    ),
    "genant_loss_pct": (
        "%",
        "M-genant",
        "height loss used for the grade (see genant_reference)",
        _GENANT,
    ),
    "genant_reference": (
        "",
        "M-genant",
        "adjacent (mean of neighbours) or own_posterior (own Hp)",
        _GENANT,
    ),
    "qm_ha_hp": ("ratio", "M-qm", "QM shape ratio Ha/Hp", _QM),
    "qm_hm_hp": ("ratio", "M-qm", "QM shape ratio Hm/Hp", _QM),
    "qm_hp_hpu": ("ratio", "M-qm", "QM size ratio Hp / Hp of the cranial neighbour", _QM),
    "qm_hp_hpl": ("ratio", "M-qm", "QM size ratio Hp / Hp of the caudal neighbour", _QM),
    "qm_deformity": (
        "",
        "M-qm",
        "any QM ratio more than qm_sd_threshold SD below the user's normative mean",
        _QM,
    ),
    "qm_sd_threshold": ("SD", "M-qm", "SD threshold used for qm_deformity", _QM),
    "ka_deg": (
        "deg",
        "A-ka",
        "kyphotic angle, bisegmental Cobb: superior endplate of the cranial neighbour vs inferior endplate of the caudal neighbour; kyphosis positive",
        _STSG,
    ),
    "gardner_deg": (
        "deg",
        "A-gardner",
        "Gardner angle: superior endplate of the cranial neighbour vs inferior endplate of the index vertebra",
        "Gardner; Curfs et al.",
    ),
    "ivc": (
        "",
        "L-findings",
        "intravertebral cleft seen by the reader (yes/no/not_assessable)",
        "Maldague 1978; PMC3669703",
    ),
    "npec": (
        "",
        "L-findings",
        "non-PMMA-endplate contact: no/superior/inferior/both/not_assessable",
        "Kim et al. 2009/2010",
    ),
    "cement_leakage": (
        "",
        "L-findings",
        "cement leakage seen by the reader (yes/no/not_assessable)",
        "",
    ),
    "genant_visual": (
        "grade",
        "L-findings",
        "reader's visual semiquantitative Genant grade (0, 0.5, 1, 2, 3), kept apart from the "
        "morphometric genant_grade",
        "Genant et al. JBMR 1993;8:1137",
    ),
    "tk_deg": (
        "deg",
        "A-tk",
        "thoracic kyphosis: T4 superior vs T12 inferior endplate",
        "Sci Rep 2022, doi 10.1038/s41598-022-05352-2",
    ),
    "tk_t5_t12_deg": ("deg", "A-tk", "thoracic kyphosis variant T5-T12", "Sci Rep 2022"),
    "tk_t1_t12_deg": ("deg", "A-tk", "thoracic kyphosis variant T1-T12", "Sci Rep 2022"),
    "tlk_deg": ("deg", "A-tlk", "thoracolumbar kyphosis: T10 superior vs L2 inferior endplate", ""),
    "ll_deg": (
        "deg",
        "A-ll",
        "lumbar lordosis: L1 superior vs S1 superior endplate (negative = lordosis)",
        "",
    ),
    "ll_l1_l5_deg": ("deg", "A-ll", "lumbar lordosis variant L1 superior - L5 inferior", ""),
    "ll_t12_s1_deg": ("deg", "A-ll", "lumbar lordosis variant T12 superior - S1 superior", ""),
    "cobb_pt_deg": (
        "deg",
        "A-aasce",
        "AASCE organisers' PT: the largest angle between any two vertebrae, unsigned",
        "Wu et al. MICCAI 2017; AASCE 2019",
    ),
    "cobb_mt_deg": (
        "deg",
        "A-aasce",
        "coronal Cobb, main thoracic, unsigned",
        "Wu et al. MICCAI 2017; AASCE 2019",
    ),
    "cobb_tl_deg": (
        "deg",
        "A-aasce",
        "coronal Cobb, thoracolumbar/lumbar, unsigned",
        "Wu et al. MICCAI 2017; AASCE 2019",
    ),
    "height_restoration_pct": (
        "%",
        "L-restoration",
        "height restoration by the variant in height_restoration_method",
        _MCK,
    ),
    "height_restoration_method": (
        "",
        "L-restoration",
        "variant:height of height_restoration_pct (reference or relative; ha, hm or hp)",
        _MCK,
    ),
    "restoration_reference_pct": (
        "%",
        "L-restoration",
        "(R_post - R_pre)/(100 - R_pre) x 100, R = height ratio to adjacent vertebrae on each film",
        _MCK,
    ),
    "restoration_relative_pct": (
        "%",
        "L-restoration",
        "(H_post - H_pre)/H_pre x 100 (mm when both films calibrated, else px)",
        _MCK,
    ),
    "height_gain_mm": (
        "mm",
        "L-restoration",
        "H_post - H_pre in mm (NaN unless both films calibrated)",
        _MCK,
    ),
    "ahr_gain_pp": ("pp", "L-restoration", "ahr_pct_post - ahr_pct_pre, percentage points", _MCK),
    "reduction_rate_pct": (
        "%",
        "L-reduction",
        "reduction rate, the variant named in reduction_rate_method",
        _YU,
    ),
    "reduction_rate_method": (
        "",
        "L-reduction",
        "which definition produced reduction_rate_pct",
        _YU,
    ),
    "reduction_angle_deg": ("deg", "L-reduction", "ka_pre - ka_post", _YU),
    "correction_loss_deg": (
        "deg",
        "L-loss",
        "ka_last - ka_post (last = latest follow-up, see last_timepoint)",
        _YU,
    ),
    "height_loss_pct": (
        "%",
        "L-loss",
        "height loss at the latest follow-up vs the rule's baseline (see recompression_rule)",
        _YU,
    ),
    "recompression": (
        "",
        "L-recompression",
        "recompression by recompression_rule (NA when not assessable)",
        _YU + "; Black et al. JBMR 1999",
    ),
    "recompression_rule": (
        "",
        "L-recompression",
        "thresholds, height and baseline that defined recompression, and whether the "
        "height basis cancels magnification (default: ahr, a ratio to the adjacent vertebrae)",
        _YU,
    ),
    "last_timepoint": ("", "L-loss", "which follow-up was used as 'last' for this vertebra", ""),
}

_AGREEMENT_SOURCES = {
    "icc": "Shrout & Fleiss, Psychol Bull 1979;86:420; McGraw & Wong, Psychol Methods 1996;1:30",
    "sem": "Weir, J Strength Cond Res 2005;19:231",
    "ba": "Bland & Altman, Lancet 1986;i:307; Stat Methods Med Res 1999;8:135",
    "kappa": "Cohen 1960, 1968; Fleiss, Cohen & Everitt, Psychol Bull 1969;72:323",
    "fleiss": "Fleiss, Psychol Bull 1971;76:378; Fleiss, Nee & Landis 1979",
    "koo": "Koo & Li, J Chiropr Med 2016;15:155",
}

#: Columns of the reader-agreement tables (``kyphoimg reliability``, :mod:`kyphoimg.agreement`):
#: column -> (unit, definition id, description, source); pass as ``entries`` to
#: :func:`data_dictionary`. "see unit" means the unit is in the row's ``unit`` column.
AGREEMENT_COLUMNS: dict[str, tuple[str, str, str, str]] = {
    "comparison": (
        "",
        "K-reliability",
        "inter-reader (readers) or intra-reader (reader vs repeated reading)",
        "",
    ),
    "kind": (
        "",
        "K-reliability",
        "inter (different readers) or intra (one reader's repeated reading)",
        "",
    ),
    "readers": ("", "K-reliability", "the readers compared", ""),
    "reader_a": (
        "",
        "K-reliability",
        "first reader of the pair (differences are reader_a - reader_b)",
        "",
    ),
    "reader_b": ("", "K-reliability", "second reader of the pair", ""),
    "measure": ("", "K-reliability", "column of the measures table compared", "docs/measures.md"),
    "unit": (
        "",
        "K-reliability",
        "unit of the measure or distance (mm, %, deg; px where uncalibrated)",
        "",
    ),
    "form": ("", "K-reliability", "ICC form, Shrout & Fleiss notation", _AGREEMENT_SOURCES["icc"]),
    "mcgraw_wong": (
        "",
        "K-reliability",
        "the same ICC in McGraw & Wong notation",
        _AGREEMENT_SOURCES["icc"],
    ),
    "description": (
        "",
        "K-reliability",
        "model, definition and unit of the ICC form",
        _AGREEMENT_SOURCES["icc"],
    ),
    "n_targets": ("", "K-reliability", "targets (vertebra on a film) rated by every reader", ""),
    "n_raters": ("", "K-reliability", "readers (or readings) in the ICC", ""),
    "n_incomplete": (
        "",
        "K-reliability",
        "targets rated by some readers only: left out of the ICC",
        "",
    ),
    "icc": ("", "K-reliability", "intraclass correlation coefficient", _AGREEMENT_SOURCES["icc"]),
    "ci_low": (
        "",
        "K-reliability",
        "lower confidence bound (level in conf_level; F-based for ICC, asymptotic for kappa)",
        "",
    ),
    "ci_high": ("", "K-reliability", "upper confidence bound", ""),
    "koo_li": (
        "",
        "K-reliability",
        "reliability band of the ICC's confidence interval",
        _AGREEMENT_SOURCES["koo"],
    ),
    "f": ("", "K-reliability", "F statistic of the test ICC = 0", _AGREEMENT_SOURCES["icc"]),
    "df1": ("", "K-reliability", "numerator degrees of freedom of F", ""),
    "df2": ("", "K-reliability", "denominator degrees of freedom of F", ""),
    "p_value": (
        "",
        "K-reliability",
        "two-sided p-value (F test for the ICC, z test for kappa)",
        "",
    ),
    "sd": (
        "see unit",
        "K-reliability",
        "standard deviation of all readings (ICC table) or of the differences (Bland-Altman)",
        "",
    ),
    "sem": (
        "see unit",
        "K-reliability",
        "standard error of measurement, SD * sqrt(1 - ICC)",
        _AGREEMENT_SOURCES["sem"],
    ),
    "mdc95": (
        "see unit",
        "K-reliability",
        "minimal detectable change, 1.96 * sqrt(2) * SEM",
        _AGREEMENT_SOURCES["sem"],
    ),
    "note": ("", "K-reliability", "why a value is missing", ""),
    "n": ("", "K-reliability", "pairs (or targets, points) analysed", ""),
    "n_dropped": ("", "K-reliability", "pairs left out for a missing value", ""),
    "bias": (
        "see unit",
        "K-reliability",
        "mean difference reader_a - reader_b",
        _AGREEMENT_SOURCES["ba"],
    ),
    "loa_low": (
        "see unit",
        "K-reliability",
        "lower limit of agreement, bias - loa_multiplier * SD",
        _AGREEMENT_SOURCES["ba"],
    ),
    "loa_high": (
        "see unit",
        "K-reliability",
        "upper limit of agreement, bias + loa_multiplier * SD",
        _AGREEMENT_SOURCES["ba"],
    ),
    "bias_ci_low": (
        "see unit",
        "K-reliability",
        "lower bound of the bias CI (t, n - 1 df)",
        _AGREEMENT_SOURCES["ba"],
    ),
    "bias_ci_high": (
        "see unit",
        "K-reliability",
        "upper bound of the bias CI",
        _AGREEMENT_SOURCES["ba"],
    ),
    "loa_low_ci_low": (
        "see unit",
        "K-reliability",
        "CI of the lower limit, lower bound (SE sqrt(3 SD^2 / n))",
        _AGREEMENT_SOURCES["ba"],
    ),
    "loa_low_ci_high": (
        "see unit",
        "K-reliability",
        "CI of the lower limit, upper bound",
        _AGREEMENT_SOURCES["ba"],
    ),
    "loa_high_ci_low": (
        "see unit",
        "K-reliability",
        "CI of the upper limit, lower bound",
        _AGREEMENT_SOURCES["ba"],
    ),
    "loa_high_ci_high": (
        "see unit",
        "K-reliability",
        "CI of the upper limit, upper bound",
        _AGREEMENT_SOURCES["ba"],
    ),
    "se_bias": (
        "see unit",
        "K-reliability",
        "standard error of the bias, SD / sqrt(n)",
        _AGREEMENT_SOURCES["ba"],
    ),
    "se_loa": (
        "see unit",
        "K-reliability",
        "approximate standard error of each limit, sqrt(3 SD^2 / n)",
        _AGREEMENT_SOURCES["ba"],
    ),
    "loa_multiplier": (
        "",
        "K-reliability",
        "SDs either side of the bias (1.96: 95 % limits)",
        _AGREEMENT_SOURCES["ba"],
    ),
    "conf_level": ("", "K-reliability", "confidence level of the intervals", ""),
    "slope": (
        "",
        "K-reliability",
        "slope of the differences regressed on the means (proportional bias)",
        "",
    ),
    "intercept": ("see unit", "K-reliability", "intercept of that regression", ""),
    "slope_ci_low": ("", "K-reliability", "lower confidence bound of the slope", ""),
    "slope_ci_high": ("", "K-reliability", "upper confidence bound of the slope", ""),
    "slope_p_value": ("", "K-reliability", "p-value of the slope (t test): proportional bias", ""),
    "n_outside": ("", "K-reliability", "differences outside the limits of agreement", ""),
    "statistic": (
        "",
        "K-reliability",
        "Cohen's kappa (two readers) or Fleiss' kappa (all readers)",
        _AGREEMENT_SOURCES["kappa"],
    ),
    "weights": (
        "",
        "K-reliability",
        "unweighted, linear or quadratic weights (by category position)",
        _AGREEMENT_SOURCES["kappa"],
    ),
    "kappa": ("", "K-reliability", "kappa coefficient", _AGREEMENT_SOURCES["kappa"]),
    "se": (
        "",
        "K-reliability",
        "asymptotic standard error of kappa (for the CI)",
        _AGREEMENT_SOURCES["kappa"],
    ),
    "se0": (
        "",
        "K-reliability",
        "standard error of kappa under kappa = 0 (for the z test)",
        _AGREEMENT_SOURCES["fleiss"],
    ),
    "z": ("", "K-reliability", "z statistic of the test kappa = 0", ""),
    "observed_agreement": ("", "K-reliability", "proportion of exact agreements", ""),
    "categories": ("", "K-reliability", "the ordered categories, separated by |", ""),
    "film": ("", "K-reliability", "the film's path in the study folder (the target's film)", ""),
    "point": ("", "K-reliability", "landmark name (6-point scheme)", "README.md, Landmark files"),
    "distance": (
        "see unit",
        "K-reliability",
        "distance between the readers' points: mm where calibrated, else px",
        "",
    ),
    "distance_mm": (
        "mm",
        "K-reliability",
        "distance in mm in the film's calibrated plane (see spacing_source)",
        "",
    ),
    "distance_px": ("px", "K-reliability", "distance in pixels", ""),
    "d_row_px": ("px", "K-reliability", "row offset reader_b - reader_a", ""),
    "d_col_px": ("px", "K-reliability", "column offset reader_b - reader_a", ""),
    "median": ("see unit", "K-reliability", "median distance", ""),
    "p95": (
        "see unit",
        "K-reliability",
        "95th percentile of the distances (linear interpolation)",
        "",
    ),
    "mean": ("see unit", "K-reliability", "mean distance", ""),
    "max": ("see unit", "K-reliability", "largest distance", ""),
    "rank": ("", "K-reliability", "1 = largest median distance: the points that disagree most", ""),
    "reader": ("", "K-reliability", "the reader whose worklist reported the problem", ""),
    "error": (
        "",
        "K-reliability",
        "the problem; 'warning: ' marks an unfinished file (measured as far as it goes)",
        "",
    ),
}

_SUFFIX_NOTE = " at time point {tp}"
_READER_NOTE = ", read by {reader}"


def describe_column(
    column: str, entries: Mapping[str, tuple[str, str, str, str]] | None = None
) -> tuple[str, str, str, str]:
    """Return ``(unit, definition_id, description, source)`` of a column.

    Time-point-suffixed feature columns (``ka_deg_post``) and QM z-scores are described
    from their base column; a reader's column of a paired table (``ha_mm__A``: reader
    A's ``ha_mm``) from its base column, with ", read by A".

    Unknown columns (clinical data) are described as coming from the input.

    Parameters
    ----------
    column : str
        A column name as it appears in a kyphoimg table.
    entries : mapping, optional
        The columns a table defines itself (e.g. :data:`AGREEMENT_COLUMNS`): column ->
        ``(unit, definition_id, description, source)``, looked up first.

    Returns
    -------
    unit : str
        Unit such as ``mm``, ``deg``, ``%``, ``ratio`` or ``px``; empty for keys, labels
        and flags.
    definition_id : str
        Anchor of the definition in ``docs/measures.md`` (``M-height``, ``A-ka``, ...),
        ``K-scan`` for the scan fields (``docs/dicom.md``) and ``K-input`` for columns
        carried from the input.
    description : str
        What the column holds; a time point suffix adds " at time point <name>".
    source : str
        Literature or standard reference, ``input`` for carried columns, or empty.

    Examples
    --------
    >>> describe_column("ka_deg_post")[:2]
    ('deg', 'A-ka')
    """
    if entries and column in entries:
        return entries[column]
    if column in _ENTRIES:
        return _ENTRIES[column]
    base, _, reader = column.partition("__")
    if base and reader:
        unit, did, desc, src = describe_column(base, entries)
        return unit, did, desc + _READER_NOTE.format(reader=reader), src
    if column.startswith("qm_") and column.endswith("_z"):
        return ("SD", "M-qm", f"z-score of {column[:-2]} against the normative table", _QM)
    if column.endswith("_clinical"):  # a clinical column renamed to avoid a clash
        return ("", "K-input", "column carried from the clinical table", "input")
    # Longest known base first, so time points may contain underscores (ka_deg_fu_6m).
    cuts = [i for i, ch in enumerate(column) if ch == "_"]
    for i in reversed(cuts):
        base, tp = column[:i], column[i + 1 :]
        if base in _ENTRIES and tp:
            unit, did, desc, src = _ENTRIES[base]
            return unit, did, desc + _SUFFIX_NOTE.format(tp=tp), src
    return ("", "K-input", "column carried from the input table (e.g. clinical data)", "input")


def data_dictionary(
    columns: Iterable[str], entries: Mapping[str, tuple[str, str, str, str]] | None = None
) -> pd.DataFrame:
    """Return the data dictionary (column, unit, definition_id, description, source) of ``columns``.

    Parameters
    ----------
    columns : iterable of str
        Column names of a table, e.g. ``table.columns``.
    entries : mapping, optional
        Columns the table defines itself, looked up first (see :func:`describe_column`).

    Returns
    -------
    pandas.DataFrame
        One row per column, in the given order, with the columns of
        :data:`DICTIONARY_COLUMNS` as :func:`describe_column` fills them.

    Examples
    --------
    >>> data_dictionary(["ha_mm"]).loc[0, "unit"]
    'mm'
    """
    rows = [(c, *describe_column(str(c), entries)) for c in columns]
    return pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))
