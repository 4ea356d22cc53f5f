"""Results a user scripts against are frozen dataclasses with documented fields (issue 19).

``run_study`` returns a :class:`~kyphoimg.batch.RunResult` whose ``summary`` is a
:class:`~kyphoimg.batch.RunSummary`; ``kyphoimg.stats.report`` a
:class:`~kyphoimg.stats.ReportResult`. Each is read field by field on a real run of
``sample_dicom/``, and ``summary.json`` is the same file it was before the change.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

import kyphoimg
from kyphoimg.batch import FILM_STATUSES, FilmStatusCounts, RunResult, RunSummary, RunVariants
from kyphoimg.stats import NotEstimable, ReportAnalysis, ReportResult

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_dicom"

#: summary.json of ``kyphoimg run sample_dicom --clinical sample_dicom/clinical.csv`` written
#: by the code before RunSummary existed (commit 16f8a3c), ``seconds`` left out, plus the one
#: key added since then (``vertebra_rows_confirmed_proposals``, confirmed proposals' rows).
SUMMARY_BEFORE = {
    "kyphoimg_version": kyphoimg.__version__,
    "executor": "serial",
    "files_scanned": 27,
    "dicom_films": 12,
    "unreadable_files": 0,
    "not_dicom_files": 3,
    "landmark_files": 12,
    "films_paired": 12,
    "films_measured": 12,
    "films_from_cache": 0,
    "films_not_annotated": 0,
    "films_invalid": 0,
    "films_to_review": 0,
    "accept_proposals": False,
    "vertebrae_unconfirmed_not_measured": 0,
    "vertebra_rows_from_proposals": 0,
    "vertebra_rows_confirmed_proposals": 0,
    "films_by_status": {
        "measured": 12,
        "not_annotated": 0,
        "incomplete": 0,
        "unreadable": 0,
        "not_dicom": 0,
        "refused": 0,
        "invalid": 0,
        "to_review": 0,
    },
    "vertebra_rows": 72,
    "treated_vertebrae": 4,
    "problems": 0,
    "warnings": 0,
    "clinical_columns_dropped_as_identifiers": [],
    "pseudonymised": False,
    "variants": {
        "skip_fractured_references": False,
        "genant_reference": "adjacent",
        "normative": None,
        "sd_threshold": 3.0,
        "restoration": "reference",
        "restoration_height": "ha",
        "reduction_rate": "restoration",
        "recompression_loss_pct": 15.0,
        "recompression_angle_deg": 10.0,
        "recompression_height": "ahr",
        "recompression_baseline": "post",
        "recompression_min_loss_mm": None,
    },
}


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    out = tmp_path_factory.mktemp("sample_run")
    return kyphoimg.run_study(
        kyphoimg.RunOptions(
            dicom_dir=SAMPLE, output=out / "run", clinical=SAMPLE / "clinical.csv", resume=False
        )
    )


def test_summary_json_is_the_file_written_before(sample_run: RunResult) -> None:
    path = next(p for p in sample_run.written if p.name == "summary.json")
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(sample_run.summary.to_dict(), indent=2) + "\n"
    written = json.loads(text)
    assert list(written) == [*SUMMARY_BEFORE, "seconds"]  # same keys, same order
    assert {k: v for k, v in written.items() if k != "seconds"} == SUMMARY_BEFORE
    assert written["seconds"] == sample_run.summary.seconds > 0


def test_every_field_of_a_sample_run(sample_run: RunResult) -> None:
    s = sample_run.summary
    assert isinstance(s, RunSummary)
    films = sample_run.films
    assert s.files_scanned == 27  # 12 films, 12 landmark files, README, clinical, generate.py
    assert s.dicom_films == s.films_paired == s.landmark_files == len(films) == 12
    assert s.films_measured == (films["status"] == "measured").sum() == 12
    assert s.films_by_status == FilmStatusCounts(measured=12)
    assert s.films_by_status.total == len(films)
    assert s.vertebra_rows == len(sample_run.measures) == 72
    assert s.treated_vertebrae == len(sample_run.features) == 4
    assert s.problems == s.warnings == 0
    assert s.clinical_columns_dropped_as_identifiers == ()
    assert s.key_table is None
    assert s.executor == "serial"
    assert isinstance(s.variants, RunVariants)
    assert s.variants.recompression_loss_pct == 15.0
    assert s.variants.recompression_height == "ahr"
    # Calibration sources: every film's, as films.csv records them.
    assert dict(s.spacing_sources) == films["spacing_source"].value_counts().to_dict()
    assert sum(n for _, n in s.spacing_sources) == 12
    names = {p.name for p in sample_run.written}
    assert {"summary.json", "films.csv", "errors.csv", "features.csv", "study.toml"} <= names
    for p in sample_run.written:
        assert p.is_file(), p
    assert isinstance(sample_run.written, tuple)


def test_results_are_frozen_and_read_by_attribute_only(sample_run: RunResult) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample_run.summary.films_measured = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample_run.summary = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample_run.summary.films_by_status.measured = 0  # type: ignore[misc]
    # No transitional dict access: the old string keys fail loudly, not silently.
    with pytest.raises(TypeError):
        sample_run.summary["films_measured"]  # type: ignore[index]


def test_status_counts_follow_the_status_vocabulary() -> None:
    assert [f.name for f in dataclasses.fields(FilmStatusCounts)] == list(FILM_STATUSES)


def test_counts_by_status_equal_the_films_of_each_status(tmp_path: Path) -> None:
    """A damaged copy of sample_dicom: one film per failing status, each counted."""
    study = tmp_path / "study"
    shutil.copytree(SAMPLE, study)
    pre = study / "P001" / "pre.dcm"
    pre.write_bytes(pre.read_bytes()[:2000])  # unreadable
    (study / "P002" / "post.landmarks.json").unlink()  # not annotated
    lf = study / "P003" / "last.landmarks.json"
    data = json.loads(lf.read_text(encoding="utf-8"))
    level = next(iter(data["points"]))
    del data["points"][level]["ant_sup"]
    lf.write_text(json.dumps(data), encoding="utf-8")  # incomplete
    (study / "P004" / "pre.landmarks.json").write_text("{not json", encoding="utf-8")  # invalid
    (study / "P004" / "note.dcm").write_text("not a DICOM file", encoding="utf-8")  # not_dicom
    result = kyphoimg.run_study(kyphoimg.RunOptions(dicom_dir=study, output=tmp_path / "out"))
    counts = result.summary.films_by_status
    by_status = result.films["status"].value_counts().to_dict()
    assert by_status == {
        "measured": 8,
        "unreadable": 1,
        "not_annotated": 1,
        "incomplete": 1,
        "invalid": 1,
        "not_dicom": 1,
    }
    assert counts.to_dict() == {s: by_status.get(s, 0) for s in FILM_STATUSES}
    assert counts.total == len(result.films) == 13  # 12 films and the not-DICOM .dcm
    assert result.summary.films_not_annotated == counts.not_annotated == 1
    assert result.summary.films_invalid == counts.invalid == 1
    assert result.summary.problems >= 3  # unreadable, incomplete, invalid
    assert result.summary.warnings >= 1  # the .dcm that is not DICOM
    assert not result.ok
    written = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert written == result.summary.to_dict()
    assert dict(result.summary.spacing_sources).get("unread", 0) >= 1  # the truncated film


def test_key_table_and_dropped_identifiers(tmp_path: Path) -> None:
    clinical = pd.read_csv(SAMPLE / "clinical.csv", dtype={"patient_id": str})
    clinical["patient_name"] = "Doe^Jane"
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    result = kyphoimg.run_study(
        kyphoimg.RunOptions(
            dicom_dir=SAMPLE,
            output=tmp_path / "out",
            clinical=tmp_path / "clinical.csv",
            pseudonymise=True,
            salt="s",
        )
    )
    s = result.summary
    assert s.clinical_columns_dropped_as_identifiers == ("patient_name",)
    assert s.pseudonymised is True
    assert s.key_table is not None
    assert "keys" in s.key_table
    written = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert written["key_table"] == s.key_table
    assert list(written)[-1] == "key_table"  # after seconds, as before
    assert written["clinical_columns_dropped_as_identifiers"] == ["patient_name"]


# ------------------------------------------------------------------------------ report
@pytest.fixture(scope="module")
def sample_report(sample_run: RunResult, tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    run = sample_run.written[0].parent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return kyphoimg.stats.report(run, tmp_path_factory.mktemp("report"))


def test_report_result_fields_on_a_sample_run(sample_report: ReportResult) -> None:
    r = sample_report
    assert isinstance(r, ReportResult)
    for path in (r.html, r.xlsx, r.summary):
        assert path.is_file()
    assert r.html.name == "report.html"
    assert r.xlsx.name == "tables.xlsx"
    assert r.pdf is None or r.pdf.is_file()
    for name, path in r.figures.items():
        assert path.is_file(), name
        assert path.parent.name == "figures", name
    with pytest.raises(TypeError):
        r.figures["x"] = r.html  # type: ignore[index]
    written = json.loads(r.summary.read_text(encoding="utf-8"))
    # files: the mapping report() used to return, in the order summary.json lists it
    assert {k: str(v) for k, v in r.files.items()} == written["files"]
    assert list(r.files) == list(written["files"])
    assert r.warnings == tuple(written["warnings"])
    assert all(isinstance(a, ReportAnalysis) for a in r.analyses)
    assert [(a.section, a.title, a.status) for a in r.analyses] == [
        (a["section"], a["analysis"], a["status"]) for a in written["analyses"]
    ]
    for a, entry in zip(r.analyses, written["analyses"], strict=True):
        assert a.tests == tuple(entry.get("tests", ()))
        assert dict(a.n) == entry.get("n", {})
        assert a.reason == entry.get("reason", "")


def test_report_names_what_it_could_not_estimate(sample_report: ReportResult) -> None:
    # Four patients, one recompressed: Table 1, the time course and the model are not run.
    not_run = {a.section for a in sample_report.analyses if a.status != "run"}
    assert {"table1", "timepoints", "logistic"} <= not_run
    assert all(isinstance(n, NotEstimable) for n in sample_report.not_estimable)
    named = {n.section for n in sample_report.not_estimable}
    assert named >= not_run
    skipped = pd.read_excel(sample_report.xlsx, sheet_name="Not estimable")
    assert len(skipped) == len(sample_report.not_estimable)
    for n in sample_report.not_estimable:
        assert n.reason
        assert n.status in ("not run", "not estimable")
