"""The end-to-end demo: the whole chain on the sample cohort and on simulated seed cohorts.

``kyphoimg demo -o DIR`` (and ``make demo``):

1. runs :func:`kyphoimg.batch.run_study` on the bundled synthetic films (``sample_dicom/``,
   or a freshly generated copy when the package is installed without it): scan, pairing,
   time points, per-film reading with calibration from the DICOM, measures, features,
   clinical join, exports with data dictionaries;
2. writes a DICOM SR (TID 1500) per film beside the tables;
3. runs the statistics of both seed studies on simulated cohorts shaped like them
   (:func:`kyphoimg.sample.simulate_cohort`), each as one HTML report plus a workbook:
   the recompression study (n = 80; Table 1, CR / KA / VAS over time by group, correlation
   of IVC and NPEC with recompression) and the adjacent-segment-degeneration study
   (n = 162; Table 1, multivariable logistic regression with ORs, ROC per factor and for
   the combined prediction equation). Every simulated output is labelled as such.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from .batch import RunOptions, run_study
from .sample import generate_cohort, simulate_cohort
from .sr import export_sr_files

__all__ = ["SIMULATED_NOTE", "asd_study", "recompression_study", "run_demo"]

SIMULATED_NOTE = (
    "SIMULATED DATA - drawn to match the published summaries of the seed study; "
    "not real patients (kyphoimg.sample.simulate_cohort)"
)


def recompression_study(cohort: pd.DataFrame) -> dict[str, Any]:
    """Study mapping for :func:`kyphoimg.stats.report` reproducing the n = 80 recompression study.

    The paper (seeds/000) compares recompressed and maintained groups on CR, KA and VAS
    at pre-op, post-op and last follow-up (within- and between-group tests) and correlates
    the evaluated factors with recompression (IVC r = 0.557, NPEC r = 0.496).
    """
    long = cohort.melt(
        id_vars=["patient_id", "group"],
        value_vars=[
            f"{m}_{t}" for m in ("cr_ratio_pct", "ka_deg", "vas") for t in ("pre", "post", "last")
        ],
    )
    long["time"] = long["variable"].str.rsplit("_", n=1).str[1]
    long["measure"] = long["variable"].str.rsplit("_", n=1).str[0]
    long = long.pivot_table(
        index=["patient_id", "group", "time"], columns="measure", values="value"
    ).reset_index()
    long.columns.name = None
    return {
        "title": "Recompression after PKP (n = 80) - " + SIMULATED_NOTE,
        "data": {"subjects": cohort, "longitudinal": long},
        "outcome": {"column": "recompression", "positive": 1},
        "table1": {
            "group": "group",
            "continuous": [
                "age_years",
                "bmd_t_score",
                "symptom_weeks",
                "cr_ratio_pct_pre",
                "cr_ratio_pct_post",
                "cr_ratio_pct_last",
                "reduction_rate_pct",
                "ka_deg_pre",
                "ka_deg_post",
                "ka_deg_last",
                "reduction_angle_deg",
            ],
            "categorical": ["sex", "ivc", "npec"],
        },
        "timepoints": {
            "subject": "patient_id",
            "time": "time",
            "values": ["cr_ratio_pct", "ka_deg", "vas"],
            "order": ["pre", "post", "last"],
            "group": "group",
            "method": "rm_anova",
            "correction": "bonferroni",
        },
        "correlation": {"factors": ["ivc", "npec", "age_years", "bmd_t_score", "ka_deg_last"]},
    }


def asd_study(cohort: pd.DataFrame) -> dict[str, Any]:
    """Study mapping reproducing the n = 162 adjacent-segment-degeneration study (seeds/004).

    Univariate Student t and Pearson chi-square (Table 1), multivariable logistic
    regression of age, BMD, cement volume and height recovery (ORs), and ROC per factor
    (BMD protective: lower predicts ASD) and for the combined prediction equation.
    """
    return {
        "title": "Adjacent segment degeneration after PKP (n = 162) - " + SIMULATED_NOTE,
        "data": {"subjects": cohort},
        "outcome": {"column": "asd", "positive": 1},
        "table1": {
            "group": "group",
            "continuous": [
                "age_years",
                "bmd_t_score",
                "cement_volume_ml",
                "cobb_deg_post",
                "height_recovery_pct",
            ],
            "categorical": ["sex", "smoking", "previous_asd", "leakage"],
        },
        "logistic": {
            "predictors": ["age_years", "bmd_t_score", "cement_volume_ml", "height_recovery_pct"],
            "bootstrap": 200,
            "seed": 20240601,
        },
        "roc": {
            "markers": {
                "age_years": "higher",
                "bmd_t_score": "lower",
                "cement_volume_ml": "higher",
                "height_recovery_pct": "higher",
            },
            "model": True,
        },
    }


def run_demo(output: str | Path, data: str | Path | None = None) -> dict[str, Any]:
    """Run the demo into ``output``; returns what was produced (tables, paths, summary).

    Parameters
    ----------
    output : path-like
        Output folder (created).
    data : path-like, optional
        Folder of films, landmark files and ``clinical.csv`` (default: ``sample_dicom/`` of
        the working directory when present, else a copy generated into ``output``).
    """
    from .stats import report

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    if data is None:
        local = Path("sample_dicom")
        if local.is_dir() and any(local.rglob("*.dcm")):
            data = local
        else:
            data = out / "sample_dicom"
            generate_cohort(data)
    data = Path(data)
    clinical = data / "clinical.csv"
    run = run_study(
        RunOptions(
            dicom_dir=data,
            output=out / "study",
            clinical=clinical if clinical.exists() else None,
            formats=("csv", "xlsx"),
        )
    )
    sr_files, sr_errors = export_sr_files([data], [data], out / "sr")
    reports = {}
    cohorts = {}
    for name, build in (("recompression", recompression_study), ("asd", asd_study)):
        cohort = simulate_cohort(name)
        cohorts[name] = cohort
        cohort.to_csv(out / f"simulated_{name}_cohort.csv", index=False)
        with warnings.catch_warnings():
            # Events-per-variable and separation warnings are printed in the report itself.
            warnings.simplefilter("ignore", UserWarning)
            reports[name] = report(build(cohort), out / f"report_{name}")
    return {
        "run": run,
        "sr_files": sr_files,
        "sr_errors": sr_errors,
        "reports": reports,
        "cohorts": cohorts,
        "data": data,
    }
