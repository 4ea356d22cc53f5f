"""Measurement reliability statistics: ICC, Bland–Altman, kappa, SEM and MDC95.

The public face of :mod:`kyphoimg.stats._reliability`, for modules outside
:mod:`kyphoimg.stats` (the study-level command, :mod:`kyphoimg.reliability`) and for
scripts:

- :func:`icc`: the six Shrout & Fleiss ICCs with McGraw & Wong names, F tests and CIs;
- :func:`bland_altman` and :func:`plot_bland_altman`: bias, limits of agreement, their
  CIs and the proportional-bias regression;
- :func:`kappa` (Cohen's, unweighted, linear or quadratic) and :func:`fleiss_kappa`;
- :func:`sem` and :func:`mdc95` (Weir 2005), :func:`koo_li_grade` (Koo & Li 2016).
"""

from __future__ import annotations

from ._reliability import (
    ICC_FORMS,
    KOO_LI_BANDS,
    MDC95_FACTOR,
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

__all__ = [
    "ICC_FORMS",
    "KOO_LI_BANDS",
    "MDC95_FACTOR",
    "BlandAltmanResult",
    "FleissKappaResult",
    "KappaResult",
    "bland_altman",
    "fleiss_kappa",
    "icc",
    "kappa",
    "koo_li_grade",
    "mdc95",
    "plot_bland_altman",
    "sem",
]
