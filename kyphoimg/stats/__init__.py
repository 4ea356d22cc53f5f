"""Outcome statistics for kyphoplasty studies (see ``docs/statistics.md``).

DataFrames in, DataFrames (or frozen result objects holding DataFrames) out; every
p-value is accompanied by the name of its test. Defaults follow SPSS: Student t-test
with pooled variance, Pearson chi-square without Yates' correction, Fisher's exact
test when an expected count is below 5, Mann–Whitney U for non-normal variables.

Functions
---------
table1
    Baseline characteristics by group with the test for each row.
compare_timepoints
    Repeated-measures ANOVA (Greenhouse–Geisser), Friedman or mixed model over time
    points, paired post-hoc tests and between-group tests per time point.
correlate
    Point-biserial, phi, Pearson, Spearman or Kendall correlation with CI.
logistic
    Univariable screen and multivariable logistic model with OR (Wald and profile CI),
    prediction equation, EPV, separation check, VIF, Hosmer–Lemeshow, calibration and
    bootstrap optimism-corrected AUC.
roc, delong_test
    ROC analysis with DeLong variance/CI and Youden cutoff; DeLong comparison of AUCs.
plot_roc, plot_forest, plot_timecourse, save_figure
    Figures (PNG and SVG).
report
    HTML (and PDF) report, XLSX workbook and summary.json from a study TOML file or a
    ``kyphoimg run`` folder; returns a :class:`ReportResult` (the paths written, each
    section's :class:`ReportAnalysis`, the tables :class:`NotEstimable`, the warnings).
starter_study
    A commented study.toml for the output of ``kyphoimg run`` (the seed-000 design).
wide_to_long, index_vertebrae
    Reshape ``<measure>_<timepoint>`` columns; one index vertebra per patient.

The report's renderers (page, tables, workbook) are public in
:mod:`kyphoimg.stats.render` for other outputs such as ``kyphoimg reliability``.

Heavy dependencies (statsmodels, pingouin, matplotlib) are imported only when a
function needs them.
"""

from __future__ import annotations

from ._correlate import correlate
from ._features import index_vertebrae, starter_study, wide_to_long
from ._figures import plot_forest, plot_roc, plot_timecourse, save_figure
from ._logistic import LogisticResult, hosmer_lemeshow, logistic
from ._repeated import TimepointResult, compare_timepoints
from ._report import NotEstimable, ReportAnalysis, ReportResult, report
from ._roc import DelongTestResult, RocResult, delong_test, roc
from ._table1 import Table1, table1
from ._validate import EventsPerVariableWarning, SeparationWarning, StatsWarning
from .reliability import (
    ICC_FORMS,
    BlandAltmanResult,
    FleissKappaResult,
    KappaResult,
    bland_altman,
    fleiss_kappa,
    icc,
    kappa,
    koo_li_grade,
    mdc95,
    plot_bland_altman,
    sem,
)

__all__ = [  # noqa: RUF022 - plain sorted order, as tests/stats/test_api.py checks
    "BlandAltmanResult",
    "DelongTestResult",
    "EventsPerVariableWarning",
    "FleissKappaResult",
    "ICC_FORMS",
    "KappaResult",
    "LogisticResult",
    "NotEstimable",
    "ReportAnalysis",
    "ReportResult",
    "RocResult",
    "SeparationWarning",
    "StatsWarning",
    "Table1",
    "TimepointResult",
    "bland_altman",
    "compare_timepoints",
    "correlate",
    "delong_test",
    "fleiss_kappa",
    "hosmer_lemeshow",
    "icc",
    "index_vertebrae",
    "kappa",
    "koo_li_grade",
    "logistic",
    "mdc95",
    "plot_bland_altman",
    "plot_forest",
    "plot_roc",
    "plot_timecourse",
    "report",
    "roc",
    "save_figure",
    "sem",
    "starter_study",
    "table1",
    "wide_to_long",
]
