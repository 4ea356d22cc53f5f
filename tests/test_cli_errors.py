"""Every subcommand through a table of bad invocations: one sentence, the right exit code.

Each row is a user's ordinary mistake (an input that does not exist, an output that is a
file, a number out of range, an optional extra not installed, Ctrl+C). The command must
exit 2 for a usage or configuration error, 1 for a data error, 130 when interrupted,
with one line on stderr naming the path or option, and never a traceback.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from kyphoimg.cli import main as _main


def main(argv: list[str]) -> int:
    """The exit code, also of a usage error found while parsing (argparse exits)."""
    try:
        return _main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_dicom"
FILM = SAMPLE / "P001" / "pre.dcm"
LANDMARKS = SAMPLE / "P001" / "pre.landmarks.json"


@pytest.fixture
def place(tmp_path: Path) -> dict[str, Path]:
    """A missing path, a regular file, and a path under that file."""
    file = tmp_path / "a_file.txt"
    file.write_text("not a folder\n", encoding="utf-8")
    return {"missing": tmp_path / "no_such_thing", "file": file, "under": file / "out.csv"}


def _check(code: int, expected: int, err: str, names: str) -> None:
    assert code == expected, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert names in lines[0], err


def _film_study(tmp_path: Path) -> Path:
    """A study folder with one film and its landmark file (a copy, never the sample)."""
    study = tmp_path / "study" / "P001"
    study.mkdir(parents=True)
    for src in (FILM, LANDMARKS):
        (study / src.name).write_bytes(src.read_bytes())
    return study.parent


# -- missing input: exit 2, naming the path (measure/features report it as a data error) ---
MISSING_INPUT: dict[str, Any] = {
    "scan": lambda m, t: ["scan", str(m), "-o", str(t / "i.csv")],
    "run": lambda m, t: ["run", str(m), "-o", str(t / "r")],
    "report": lambda m, t: ["report", str(m), "-o", str(t / "rep")],
    "reliability": lambda m, t: ["reliability", str(m), "--raters", "A,B", "-o", str(t / "x")],
    "assist refine": lambda m, t: ["assist", "refine", str(m), "-o", str(t / "x.json")],
    "assist propagate": lambda m, t: ["assist", "propagate", str(m), "--rater", "AB"],
    "figure": lambda m, t: ["figure", str(m), "-o", str(t / "f.png")],
    "sr export": lambda m, t: ["sr", "export", str(LANDMARKS), "--dicom", str(m), "-o", str(t)],
    "sr import": lambda m, t: ["sr", "import", str(m), "-o", str(t / "lm")],
    "view": lambda m, t: ["view", str(m)],
    "demo": lambda m, t: ["demo", "--data", str(m), "-o", str(t / "d")],
}


@pytest.mark.parametrize("command", sorted(MISSING_INPUT))
def test_missing_input_is_a_usage_error(
    command: str, place: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(MISSING_INPUT[command](place["missing"], tmp_path))
    _check(code, 2, capsys.readouterr().err, str(place["missing"]))


@pytest.mark.parametrize("command", ["measure", "features"])
def test_missing_landmark_input_is_a_data_error_after_the_others(
    command: str, place: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [command, str(LANDMARKS), str(place["missing"]), "-o", str(tmp_path / "o.csv")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{place['missing']}: no such file or folder" in err
    assert (tmp_path / "o.csv").is_file()  # the others were measured


# -- output is a file (or under one): exit 2, naming the path ----------------------------
OUTPUT_IS_A_FILE: dict[str, Any] = {
    "scan": lambda f, u: ["scan", str(SAMPLE), "-o", str(u)],
    "measure": lambda f, u: ["measure", str(LANDMARKS), "-o", str(u)],
    "features": lambda f, u: ["features", str(LANDMARKS), "-o", str(u)],
    "run": lambda f, u: ["run", str(SAMPLE), "-o", str(f)],
    "report": lambda f, u: ["report", str(SAMPLE), "-o", str(f)],
    "reliability": lambda f, u: ["reliability", str(SAMPLE), "--raters", "A,B", "-o", str(f)],
    "assist refine": lambda f, u: ["assist", "refine", str(FILM), "-o", str(u)],
    "figure": lambda f, u: ["figure", str(FILM), "-o", str(u)],
    "sr export": lambda f, u: [
        "sr",
        "export",
        str(LANDMARKS),
        "--dicom",
        str(SAMPLE),
        "-o",
        str(f),
    ],
    "sr import": lambda f, u: ["sr", "import", str(FILM), "-o", str(f)],
    "demo": lambda f, u: ["demo", "-o", str(f)],
    "sample": lambda f, u: ["sample", "-o", str(f)],
}


@pytest.mark.parametrize("command", sorted(OUTPUT_IS_A_FILE))
def test_output_that_is_a_file_is_a_usage_error(
    command: str, place: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(OUTPUT_IS_A_FILE[command](place["file"], place["under"]))
    _check(code, 2, capsys.readouterr().err, str(place["file"]))
    assert place["file"].read_text(encoding="utf-8") == "not a folder\n"  # untouched


# -- a number out of range: exit 2, naming the option ------------------------------------
OUT_OF_RANGE: dict[str, tuple[list[str], str]] = {
    "scan": (["scan", str(SAMPLE), "-o", "{t}/i.csv", "--jobs", "0"], "--jobs"),
    "scan window": (
        ["scan", str(SAMPLE), "-o", "{t}/i.csv", "--post-window-days", "-3"],
        "--post-window-days",
    ),
    "measure": (["measure", str(LANDMARKS), "-o", "{t}/m.csv", "--sd-threshold", "-1"], "--sd-"),
    "features": (
        ["features", str(LANDMARKS), "-o", "{t}/f.csv", "--recompression-loss-pct", "-5"],
        "--recompression-loss-pct",
    ),
    "run": (["run", str(SAMPLE), "-o", "{t}/r", "--jobs", "0"], "--jobs"),
    "reliability": (["reliability", str(SAMPLE), "--raters", "A,B", "--jobs", "-2"], "--jobs"),
    "assist refine": (
        ["assist", "refine", str(FILM), "-o", "{t}/x.json", "--max-shift", "-1"],
        "--max-shift",
    ),
    "figure": (["figure", str(FILM), "-o", "{t}/f.png", "--dpi", "0"], "--dpi"),
    "demo": (["demo", "-o", "{t}/d", "--patients", "0"], "--patients"),
    "sample": (["sample", "-o", "{t}/s", "--patients", "-4"], "--patients"),
}


@pytest.mark.parametrize("row", sorted(OUT_OF_RANGE))
def test_number_out_of_range_is_a_usage_error(
    row: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, option = OUT_OF_RANGE[row]
    code = main([a.replace("{t}", str(tmp_path)) for a in argv])
    _check(code, 2, capsys.readouterr().err, option)
    assert list(tmp_path.iterdir()) == []  # refused before any work


# -- read-only output: exit 1, naming the path -------------------------------------------
READ_ONLY: dict[str, Any] = {
    "scan": lambda o: ["scan", str(SAMPLE), "-o", str(o / "i.csv")],
    "measure": lambda o: ["measure", str(LANDMARKS), "-o", str(o / "m.csv")],
    "features": lambda o: ["features", str(LANDMARKS), "-o", str(o / "f.csv")],
    "sample": lambda o: ["sample", "-o", str(o / "s"), "--patients", "1"],
    "assist refine": lambda o: ["assist", "refine", str(FILM), "-o", str(o / "x.json")],
}


@pytest.mark.parametrize("command", sorted(READ_ONLY))
def test_read_only_output_is_one_sentence(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 0o555 does not stop root's writes (see the next test)")
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        code = main(READ_ONLY[command](out))
    finally:
        out.chmod(0o755)
    _check(code, 1, capsys.readouterr().err, str(out))


@pytest.mark.parametrize("errno_name", ["EACCES", "ENOSPC", "EROFS"])
@pytest.mark.parametrize("command", sorted(READ_ONLY))
def test_a_write_that_fails_is_one_sentence_naming_the_file(
    command: str,
    errno_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A write refused by the system (read-only, disk full), also when running as root."""
    import errno
    import tempfile

    code_ = getattr(errno, errno_name)

    def refused(*args: Any, dir: Any = None, **kwargs: Any) -> Any:
        raise OSError(code_, os.strerror(code_), str(dir))

    monkeypatch.setattr(tempfile, "mkstemp", refused)  # every atomic write starts here
    out = tmp_path / "out"
    out.mkdir()
    code = main(READ_ONLY[command](out))
    err = capsys.readouterr().err
    _check(code, 1, err, str(out))
    assert os.strerror(code_).lower() in err


# -- a missing optional extra: exit 2, naming the extra once -----------------------------
def test_run_on_a_scheduler_without_dask_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    out = tmp_path / "r"
    code = main(["run", str(SAMPLE), "-o", str(out), "--scheduler", "tcp://127.0.0.1:1"])
    _check(code, 2, capsys.readouterr().err, "pip install 'kyphoimg[dask]'")
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "module", "extra"),
    [
        (["sr", "export", str(SAMPLE), "--dicom", str(SAMPLE), "-o", "{t}/sr"], "highdicom", "sr"),
        (["sr", "import", str(SAMPLE), "-o", "{t}/lm"], "highdicom", "sr"),
        (["figure", str(FILM), "-o", "{t}/f.png"], "matplotlib", "stats"),
        (["reliability", str(SAMPLE), "--raters", "A,B", "-o", "{t}/x"], "statsmodels", "stats"),
        (["report", str(SAMPLE), "-o", "{t}/rep"], "pingouin", "stats"),
        (["demo", "-o", "{t}/d"], "sklearn", "stats"),
    ],
    ids=["sr export", "sr import", "figure", "reliability", "report", "demo"],
)
def test_missing_extra_is_named_once(
    argv: list[str],
    module: str,
    extra: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    code = main([a.replace("{t}", str(tmp_path)) for a in argv])
    _check(code, 2, capsys.readouterr().err, f"pip install 'kyphoimg[{extra}]'")
    assert list(tmp_path.iterdir()) == []


def test_view_without_the_plugin_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "napari_kyphoimg", None)
    assert main(["view", str(SAMPLE)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "napari-kyphoimg" in err


# -- interrupted: exit 130, one line ------------------------------------------------------
INTERRUPTED: dict[str, tuple[str, str, Any]] = {
    "scan": (
        "kyphoimg.cli.scan",
        "scan_to_csv",
        lambda t: ["scan", str(SAMPLE), "-o", f"{t}/i.csv"],
    ),
    "measure": (
        "kyphoimg.cli.measure",
        "read_landmark_files",
        lambda t: ["measure", str(SAMPLE), "-o", f"{t}/m.csv"],
    ),
    "features": (
        "kyphoimg.cli.measure",
        "read_landmark_files",
        lambda t: ["features", str(SAMPLE), "-o", f"{t}/f.csv"],
    ),
    "run": ("kyphoimg.cli.run", "run_study", lambda t: ["run", str(SAMPLE), "-o", f"{t}/r"]),
    "report": ("kyphoimg.stats", "report", lambda t: ["report", str(SAMPLE), "-o", f"{t}/rep"]),
    "reliability": (
        "kyphoimg.agreement",
        "reliability_options",
        lambda t: ["reliability", str(SAMPLE), "--raters", "A,B", "-o", f"{t}/x"],
    ),
    "assist refine": (
        "kyphoimg.cli.assist",
        "read_paired_film",
        lambda t: ["assist", "refine", str(FILM), "-o", f"{t}/x.json"],
    ),
    "assist propagate": (
        "kyphoimg.cli.assist",
        "propagate_study",
        lambda t: ["assist", "propagate", str(SAMPLE), "--rater", "AB"],
    ),
    "figure": (
        "kyphoimg.figure",
        "patient_figure",
        lambda t: ["figure", str(FILM), "-o", f"{t}/f.png"],
    ),
    "sr export": (
        "kyphoimg.cli.sr",
        "export_sr_files",
        lambda t: ["sr", "export", str(SAMPLE), "--dicom", str(SAMPLE), "-o", f"{t}/sr"],
    ),
    "sr import": (
        "kyphoimg.cli.sr",
        "import_sr_files",
        lambda t: ["sr", "import", str(SAMPLE), "-o", f"{t}/lm"],
    ),
    "demo": ("kyphoimg.cli.demo", "run_demo", lambda t: ["demo", "-o", f"{t}/d"]),
    "sample": ("kyphoimg.cli.sample", "generate_cohort", lambda t: ["sample", "-o", f"{t}/s"]),
}


@pytest.mark.parametrize("command", sorted(INTERRUPTED))
def test_ctrl_c_is_exit_130_and_one_line(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import importlib

    module, name, argv = INTERRUPTED[command]

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib.import_module(module), name, interrupted)
    code = main(argv(tmp_path))
    _check(code, 130, capsys.readouterr().err, "kyphoimg: interrupted")


def test_ctrl_c_in_view_is_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "napari_kyphoimg", types.SimpleNamespace(launch=interrupted))
    assert main(["view", str(SAMPLE)]) == 130
    assert capsys.readouterr().err == "kyphoimg: interrupted\n"
