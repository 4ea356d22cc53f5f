"""The report never crashes on a small or awkward study, and every number is whole.

1. A section (or one table of it) that cannot be estimated shows "Not estimable: <why>"
   in the HTML, the workbook and summary.json, and the other sections are still written;
   a programming error (TypeError, KeyError) still fails;
2. a property test generates run folders (2 to 40 patients, groups of 1-2, constant
   columns, missing values, a time point absent for some patients) and requires every
   section to be estimated or explained;
3. summary.json counts the events whatever the yes/no encoding of the outcome.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import subprocess
import tomllib
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kyphoimg.stats import ReportResult, report, starter_study
from kyphoimg.stats._report import count_events

TIMES = ("pre", "post", "last")
CONTINUOUS = ("age_years", "bmd_t_score", "symptom_weeks", "cement_volume_ml", "vas_pre")


def features(
    n: int,
    n_events: int,
    *,
    seed: int = 0,
    constant: tuple[str, ...] = (),
    missing: float = 0.0,
    last_absent: int = 0,
) -> pd.DataFrame:
    """A features table with clinical columns as `kyphoimg run --clinical` writes it."""
    rng = np.random.default_rng(seed)
    event = np.zeros(n, dtype=bool)
    event[rng.choice(n, size=n_events, replace=False)] = True
    f = pd.DataFrame(
        {
            "patient_id": [f"P{i + 1:03d}" for i in range(n)],
            "level": rng.choice(["T12", "L1", "L2"], n),
        }
    )
    comp_pre = rng.normal(30, 8, n)
    comp_post = comp_pre - rng.normal(15, 4, n)
    comp_last = comp_post + np.where(event, rng.normal(20, 4, n), rng.normal(2, 2, n))
    ka_pre = rng.normal(15, 6, n)
    ka_post = ka_pre - rng.normal(5, 2, n)
    ka_last = ka_post + np.where(event, rng.normal(12, 3, n), rng.normal(1, 1, n))
    for name, values in {
        "compression_pct": (comp_pre, comp_post, comp_last),
        "ka_deg": (ka_pre, ka_post, ka_last),
        "vas": (rng.normal(8, 1, n), rng.normal(3, 1, n), rng.normal(2.5, 1, n)),
    }.items():
        for t, v in zip(TIMES, values, strict=True):
            f[f"{name}_{t}"] = np.round(v, 2)
    f["height_restoration_pct"] = np.round(rng.normal(50, 10, n), 1)
    f["reduction_angle_deg"] = np.round(ka_pre - ka_post, 2)
    f["correction_loss_deg"] = np.round(ka_last - ka_post, 2)
    f["recompression"] = event
    f["recompression_rule"] = "height_loss>=15% or ka_increase>=10deg"
    f["ivc"] = rng.choice(["yes", "no"], n)
    f["npec"] = rng.choice(["no", "superior", "inferior", "both"], n)
    f["cement_leakage"] = rng.choice(["yes", "no"], n)
    f["age_years"] = np.round(rng.normal(75, 8, n))
    f["sex"] = rng.choice(["F", "M"], n)
    f["bmd_t_score"] = np.round(rng.normal(-3, 0.6, n), 1)
    f["symptom_weeks"] = np.round(rng.gamma(2, 2, n), 1)
    f["cement_volume_ml"] = np.round(rng.normal(4, 1, n), 1)
    for col in constant:
        f[col] = f[col].iloc[0]
    if missing:
        for col in (*CONTINUOUS, "ivc", "npec", "ka_deg_post"):
            f.loc[rng.random(n) < missing, col] = np.nan
    if last_absent:
        gone = rng.choice(n, size=min(last_absent, n), replace=False)
        for name in ("compression_pct", "ka_deg", "vas"):
            f.loc[gone, f"{name}_last"] = np.nan
        f.loc[gone, "correction_loss_deg"] = np.nan
    return f


def write_run(folder: Path, table: pd.DataFrame, films: pd.DataFrame | None = None) -> Path:
    """A run folder: features.csv, summary.json, films.csv and the starter study.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "features.csv", index=False)
    summary = {"kyphoimg_version": "0.1.0", "treated_vertebrae": len(table)}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    if films is not None:
        films.to_csv(folder / "films.csv", index=False)
    study = starter_study(folder).replace("bootstrap = 200", "bootstrap = 20")
    (folder / "study.toml").write_text(study + "pdf = false\n", encoding="utf-8")
    return folder


def quiet_report(study, out):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return report(study, out)


def explained(files: ReportResult) -> dict:
    """Check every section is estimated or explained in summary.json, HTML and XLSX."""
    summary = json.loads(files.summary.read_text(encoding="utf-8"))
    doc = files.html.read_text(encoding="utf-8")
    sheets = pd.read_excel(files.xlsx, sheet_name=None)
    for a in summary["analyses"]:
        assert a["status"] in ("run", "not estimable", "not run"), a
        if a["status"] != "run":
            assert a["reason"].strip(), a
        for part in a.get("not_estimable", []):
            assert part["reason"].strip()
            assert f"<b>Not estimable:</b> {html.escape(part['reason'])}" in doc
            listed = sheets["Not estimable"]
            assert part["reason"] in set(listed["Reason"]), part
    return summary


# --------------------------------------------------------------------------- 1. the crash
@pytest.fixture(scope="module")
def twelve(tmp_path_factory) -> ReportResult:
    """12 patients, 2 of them recompressed: the issue-18 study that crashed."""
    run = write_run(tmp_path_factory.mktemp("run12"), features(12, 2, seed=3))
    return quiet_report(run, tmp_path_factory.mktemp("rep12"))


def test_a_group_of_two_is_not_estimable_and_the_report_goes_on(twelve) -> None:
    summary = explained(twelve)
    status = {a["section"]: a for a in summary["analyses"]}
    tp = status["timepoints"]
    reasons = [p["reason"] for p in tp.get("not_estimable", [])] + [tp.get("reason", "")]
    assert any(
        "group 'Recompressed' has 2 patient(s) with a value at every time point" in r
        and "need at least 3" in r
        for r in reasons
    ), tp
    # every other section was written
    assert status["table1"]["status"] == "run"
    assert status["correlation"]["status"] == "run"
    assert status["logistic"]["status"] in ("run", "not estimable")
    doc = twelve.html.read_text(encoding="utf-8")
    assert "Table 1. Characteristics by recompression" in doc
    assert "Correlation of each factor with the outcome" in doc
    sheet = pd.read_excel(twelve.xlsx, sheet_name="Not estimable")
    assert list(sheet.columns) == ["Section", "Table", "Status", "Reason"]
    assert set(sheet["Table"]) >= {"Compression (%)", "KA (°)", "VAS (0–10)"}


@pytest.mark.parametrize("error", [TypeError("bug"), KeyError("ka_deg")])
def test_a_programming_error_still_fails(tmp_path, monkeypatch, error) -> None:
    import kyphoimg.stats._sections as sections

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(sections, "compare_timepoints", broken)
    run = write_run(tmp_path / "run", features(12, 2, seed=3))
    with pytest.raises(type(error)):
        quiet_report(run, tmp_path / "out")


# --------------------------------------------------------------------------- 3. events
@pytest.mark.parametrize(
    ("values", "positive"),
    [
        (["1", "0", "1", "0", "1"], "1"),
        ([1, 0, 1, 0, 1], 1),
        ([1, 0, 1, 0, 1], True),
        ([True, False, True, False, True], True),
        ([True, False, True, False, True], "1"),
        (["yes", "no", "yes", "no", "yes"], "yes"),
        (["yes", "no", "yes", "no", "yes"], True),
        (["True", "False", "True", "False", "True"], True),
        ([1.0, 0.0, 1.0, 0.0, 1.0], "1"),
        ([1.0, 0.0, 1.0, np.nan, 1.0], None),
    ],
)
def test_events_are_counted_whatever_the_encoding(values, positive) -> None:
    assert count_events(pd.Series(values), positive) == 3


def test_summary_counts_events_of_a_one_zero_outcome(tmp_path) -> None:
    table = features(16, 5, seed=1)
    table["recompression"] = table["recompression"].astype(int)  # 1/0 in the CSV
    run = write_run(tmp_path / "run", table)
    study = (run / "study.toml").read_text(encoding="utf-8")
    assert "positive = true" in study  # the events are the 1s; "1" is not "true" as text
    study = study.replace("[timepoints]", "[skip_timepoints]").split("[skip_timepoints]")[0]
    (run / "study.toml").write_text(study + "[options]\npdf = false\n", encoding="utf-8")
    files = quiet_report(run, tmp_path / "out")
    summary = json.loads(files.summary.read_text(encoding="utf-8"))
    assert summary["outcome"]["events"] == 5


# --------------------------------------------------------------------------- 2. property
@st.composite
def studies(draw) -> dict:
    n = draw(st.integers(2, 40))
    return {
        "n": n,
        # groups down to 1-2 patients, or anywhere in between
        "n_events": draw(st.one_of(st.integers(1, min(2, n - 1)), st.integers(1, n - 1))),
        "seed": draw(st.integers(0, 2**16)),
        "constant": tuple(draw(st.sets(st.sampled_from([*CONTINUOUS, "ivc", "sex"]), max_size=3))),
        "missing": draw(st.sampled_from([0.0, 0.1, 0.3])),
        "last_absent": draw(st.integers(0, n)),
    }


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=studies())
def test_every_section_is_estimated_or_explained(case, tmp_path_factory) -> None:
    table = features(
        case["n"],
        case["n_events"],
        seed=case["seed"],
        constant=case["constant"],
        missing=case["missing"],
        last_absent=case["last_absent"],
    )
    run = write_run(tmp_path_factory.mktemp("run"), table)
    files = quiet_report(run, tmp_path_factory.mktemp("rep"))
    summary = explained(files)
    # every analysis the study asks for (the starter study drops [timepoints] when no
    # patient has a follow-up value) is in summary.json
    spec = tomllib.loads((run / "study.toml").read_text(encoding="utf-8"))
    asked = {"table1", "timepoints", "correlation", "logistic", "roc"} & set(spec)
    assert {a["section"] for a in summary["analyses"]} == asked
    assert asked >= {"table1", "correlation", "logistic"}


# --------------------------------------------------------------------------- 4. who was analysed
def films_table(table: pd.DataFrame) -> pd.DataFrame:
    """films.csv of the run: every film measured but P900's (unreadable, the patient is in
    no analysis) and P002's last film (refused: analysed without it)."""
    rows = [
        {"dicom": f"{p}/{t}.dcm", "patient_id": p, "timepoint": t, "status": "measured",
         "reason": ""}
        for p in table["patient_id"] for t in TIMES
    ]  # fmt: skip
    rows[5]["status"], rows[5]["reason"] = "refused", "landmark file made on another image"
    why = "truncated file: pixel data ends early"
    rows.append({"dicom": "P900/pre.dcm", "patient_id": "P900", "timepoint": "pre",
                 "status": "unreadable", "reason": why})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def with_exclusions(tmp_path_factory) -> ReportResult:
    table = features(20, 6, seed=5)
    table.loc[1, ["compression_pct_last", "ka_deg_last", "vas_last"]] = np.nan  # P002 last
    table.loc[3, "age_years"] = np.nan
    run = write_run(tmp_path_factory.mktemp("runx"), table, films_table(table))
    return quiet_report(run, tmp_path_factory.mktemp("repx"))


def test_excluded_patients_are_named_with_the_reason(with_exclusions) -> None:
    doc = with_exclusions.html.read_text(encoding="utf-8")
    data = doc.split("<h2>Data</h2>", 1)[1].split("<h2>", 1)[0]
    assert "P900" in data
    assert "truncated file: pixel data ends early" in data
    assert "no (excluded)" in data
    assert "P002" in data
    assert "landmark file made on another image" in data
    assert "yes, without this film" in data
    summary = json.loads(with_exclusions.summary.read_text(encoding="utf-8"))
    assert summary["patients_in_no_analysis"] == 1
    assert {f["patient"] for f in summary["films_without_measure"]} == {"P002", "P900"}


def test_table1_missing_counts_them_in_html_and_workbook(with_exclusions) -> None:
    doc = with_exclusions.html.read_text(encoding="utf-8")
    t1 = pd.read_html(io.StringIO(doc), match="Characteristics by recompression")[0]
    missing = t1.set_index("Characteristic")["Missing"]
    assert missing["Age (years), mean ± SD"] == "2"  # P004 without age + P900 in none
    assert missing["BMD T-score, mean ± SD"] == "1"
    book = pd.read_excel(with_exclusions.xlsx, sheet_name="Table 1")
    age = book[book["Characteristic"] == "Age (years)"].iloc[0]
    assert age["Missing"] == 2
    cols = list(book.columns)  # each group's columns together, then Missing, SMD, p, Test
    assert cols.index("Maintained: %") < cols.index("Recompressed: n")
    assert cols[-4:] == ["Missing", "SMD", "p", "Test"]
    assert age["Maintained: n"] + age["Recompressed: n"] == 19  # 20 analysed, one without age
    sex = book[book["Characteristic"] == "Sex"]
    assert sex["Missing"].tolist() == [1, 1]
    assert int(sex["Maintained: n"].sum() + sex["Recompressed: n"].sum()) == 20
    assert "Missing includes 1 patient(s) with no measurable film" in doc


def test_each_table_states_the_patients_it_analysed(twelve) -> None:
    doc = twelve.html.read_text(encoding="utf-8")
    assert "Analysed: 12 patients (Maintained 10, Recompressed 2), one index vertebra each" in doc
    assert "12 patients (one index vertebra each)" not in doc


# --------------------------------------------------------------------------- 3. whole numbers
def test_no_number_wraps_in_the_pdf(tmp_path) -> None:
    """Every numeric cell of the HTML (p-values among them) is one token in the PDF."""
    if shutil.which("chromium") is None or shutil.which("pdftotext") is None:
        pytest.skip("chromium and pdftotext (poppler-utils, tools/sysdeps.sh test) are needed")
    run = write_run(tmp_path / "run", features(40, 9, seed=11))
    study = (run / "study.toml").read_text(encoding="utf-8").replace("pdf = false", "pdf = true")
    (run / "study.toml").write_text(study, encoding="utf-8")
    files = quiet_report(run, tmp_path / "out")
    doc = files.html.read_text(encoding="utf-8")
    cells = [html.unescape(c) for c in re.findall(r'<td class="num">([^<]+)</td>', doc)]
    p_values = re.findall(r'<td class="num">(&lt;0\.001|[01]\.\d{3})</td>', doc)
    assert len(p_values) > 40  # the check below sees the p-values of every table
    text = subprocess.run(
        ["pdftotext", "-layout", str(files.pdf), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    tokens = Counter(text.split())
    short = {c: n for c, n in Counter(cells).items() if tokens[c] < n}
    assert not short, f"numbers broken across lines in report.pdf: {short}"
    assert not re.search(r"<0\.(?!001)", text)  # "<0. / 001"


def test_numeric_headers_are_right_aligned(twelve) -> None:
    doc = twelve.html.read_text(encoding="utf-8")
    assert '<th class="num">p</th>' in doc
    assert "<th>Factor</th>" in doc
    assert "th.num{text-align:right}" in doc


@pytest.mark.parametrize(
    ("target", "error", "section"),
    [
        ("logistic", np.linalg.LinAlgError("Singular matrix"), "logistic"),
        ("correlate", ZeroDivisionError("float division by zero"), "correlation"),
    ],
)
def test_a_library_failure_becomes_a_reason(tmp_path, monkeypatch, target, error, section):
    """A singular matrix or a division by zero inside a library is 'Not estimable: <why>'
    for that section (or factor), naming the variable that takes a single value."""
    import kyphoimg.stats._sections as sections

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(sections, target, failing)
    table = features(16, 5, seed=4, constant=("age_years",))
    run = write_run(tmp_path / "run", table)
    study = (run / "study.toml").read_text(encoding="utf-8")
    head, rest = study.split("[timepoints]")
    study = head + "[correlation]" + rest.split("[correlation]")[1]  # quicker
    (run / "study.toml").write_text(study, encoding="utf-8")
    summary = explained(quiet_report(run, tmp_path / "out"))
    status = {a["section"]: a for a in summary["analyses"]}
    assert status["table1"]["status"] == "run"
    parts = status[section].get("not_estimable", [])
    assert parts, status[section]
    assert any("Age (years) take(s) a single value" in p["reason"] for p in parts), parts
