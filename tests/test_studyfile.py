"""The study file: one schema, one parser, the same errors (exit 2) in every command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kyphoimg.cli import main
from kyphoimg.errors import StudyError
from kyphoimg.studyfile import SCHEMA, parse_study_text, read_study_file, schema_markdown

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_dicom"


def test_unknown_key_names_file_line_and_the_nearest_name(tmp_path: Path) -> None:
    path = tmp_path / "study.toml"
    path.write_text('[run]\nstudy = "films"\n\n[reliability]\nrater = ["A", "B"]\n', "utf-8")
    with pytest.raises(StudyError) as info:
        read_study_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}:5: unknown key 'rater' in [reliability]")
    assert "did you mean 'raters'?" in message


def test_unknown_table_names_its_line_and_the_nearest_table(tmp_path: Path) -> None:
    path = tmp_path / "study.toml"
    path.write_text('title = "t"\n\n[realiability]\nraters = "A,B"\n', "utf-8")
    with pytest.raises(StudyError, match=r"study\.toml:3: unknown table \[realiability\]; "):
        read_study_file(path)
    with pytest.raises(StudyError, match="did you mean 'reliability'"):
        read_study_file(path)


def test_values_are_typed_and_paths_resolved_beside_the_file(tmp_path: Path) -> None:
    sf = parse_study_text(
        '[run]\nstudy = "films"\nformat = "csv,xlsx"\njobs = 2\n'
        "[features]\nrecompression-loss-pct = 20\n",
        tmp_path / "study.toml",
    )
    run = sf.table("run")
    assert run["study"] == tmp_path / "films"
    assert run["format"] == ("csv", "xlsx")
    assert run["jobs"] == 2
    assert sf.table("features")["recompression_loss_pct"] == 20.0
    assert sf.table("pacs") == {}
    with pytest.raises(TypeError):
        sf.table("run")["jobs"] = 3  # type: ignore[index]
    for bad, message in [
        ("[run]\njobs = 0\n", "jobs = 0; give a whole number of 1 or more"),
        ("[run]\nformat = 'csv,docx'\n", "format = 'docx'; use csv, parquet, xlsx"),
        ("[measures]\ngenant_reference = 'own'\n", "use adjacent, own_posterior"),
        ("[run]\npseudonymise = 'yes'\n", "give true or false"),
    ]:
        with pytest.raises(StudyError, match=message):
            parse_study_text(bad, tmp_path / "study.toml")


def test_pacs_table_has_no_credentials() -> None:
    pacs = SCHEMA["pacs"]
    assert pacs is not None
    # the server and how to reach it (kyphoimg.pacs.PacsServer's fields), nothing secret
    assert set(pacs) == {
        "url", "ca_bundle", "ae_title", "host", "port", "calling_ae_title", "timeout", "move_port"
    }  # fmt: skip
    assert not any(w in k for k in pacs for w in ("user", "pass", "token", "secret", "key"))
    with pytest.raises(StudyError, match="unknown key 'password' in \\[pacs\\]"):
        parse_study_text('[pacs]\npassword = "x"\n', "study.toml")


def test_docs_document_every_key_of_the_schema() -> None:
    assert (ROOT / "docs" / "studyfile.md").read_text(encoding="utf-8") == schema_markdown()
    text = schema_markdown()
    for table, keys in SCHEMA.items():
        for key in keys or {}:
            assert f"| `[{table}]` | `{key}` |" in text


def test_every_command_reads_the_whole_file_and_exits_2_on_an_unknown_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "study.toml"
    path.write_text(
        f'[run]\nstudy = "{SAMPLE}"\noutput = "r"\n[reliability]\nraters = ["A", "B"]\n'
        '[data]\nsubjects = "features.csv"\n[outcome]\ncolumn = "recompression"\n'
        "[measures]\nsd_treshold = 2\n",
        "utf-8",
    )
    for argv in (
        ["run", str(path)],
        ["report", str(path), "-o", str(tmp_path / "rep")],
        ["reliability", str(path)],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert f"{path}:11: unknown key 'sd_treshold' in [measures]" in err
        assert "did you mean 'sd_threshold'?" in err
    assert not (tmp_path / "r").exists()


def test_the_starter_study_of_a_run_passes_and_report_accepts_a_run_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "films"
    shutil.copytree(SAMPLE, study)
    out = tmp_path / "r"
    assert main(["run", str(study), "-o", str(out), "--format", "xlsx"]) == 0
    starter = out / "study.toml"
    assert starter.is_file()  # also after --format xlsx
    sf = read_study_file(starter)
    assert sf.report_spec()["data"]["subjects"] == "features.xlsx"
    # issue 19: a [run] table added to the run's study.toml broke report (unknown section)
    text = starter.read_text(encoding="utf-8")
    starter.write_text(f'{text}\n[run]\nstudy = "{study}"\noutput = "{out}"\n', "utf-8")
    assert read_study_file(starter).table("run")["output"] == out
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["films_by_status"]["measured"] == 12
    capsys.readouterr()
    code = main(["report", str(out), "-o", str(tmp_path / "rep")])
    err = capsys.readouterr().err
    assert "unknown" not in err
    assert code == 0, err
