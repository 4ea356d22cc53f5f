"""What every command shares: the parser class, help layout, error lists and the error boundary.

:func:`run_command` is the one place a command's failure becomes an exit code and one
sentence on stderr: usage or configuration errors exit 2, failed inputs 1, Ctrl+C 130;
no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from ..errors import ERROR_COLUMNS, WARNING_PREFIX, KyphoimgError, StudyError, UsageError
from ..export import TABLE_FORMATS, is_kyphoimg_table, write_table

__all__ = [
    "EXIT_CODES",
    "Parser",
    "check_outputs",
    "failed",
    "is_run_folder",
    "missing_stats_extra",
    "refuse_foreign_files",
    "report_errors",
    "run_command",
    "set_examples",
]

#: Exit codes, shown at the end of ``kyphoimg run --help``.
EXIT_CODES = """exit codes:
  0    every film measured, or only films not annotated yet (nothing failed)
  1    some input failed or was refused (listed on stderr and in errors.csv)
  2    usage error, found before any work
  130  interrupted (Ctrl+C); run the same command again to resume
"""

#: Argparse messages after which the usage line helps (an argument missing or unknown).
_SHOW_USAGE = ("the following arguments are required", "unrecognized arguments", "invalid choice")

#: The extra that installs each optional top-level package a command may import.
EXTRAS = {
    "dask": "dask",
    "distributed": "dask",
    "highdicom": "sr",
    "statsmodels": "stats",
    "pingouin": "stats",
    "sklearn": "stats",
    "matplotlib": "stats",
}

#: Packages of the ``stats`` extra that ``report``, ``reliability``, ``figure`` and ``demo`` need.
_STATS_EXTRA = ("statsmodels", "pingouin", "sklearn", "matplotlib")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wrap one-paragraph descriptions; keep laid-out text (the examples) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


class Parser(argparse.ArgumentParser):
    """An argument parser whose value errors are one line (exit 2).

    A missing or unknown argument still shows the usage line; a bad value (an option out
    of range, a path that does not exist or is a file where a folder is needed) is one
    sentence naming the option and the value.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print the usage error and exit with code 2.

        Parameters
        ----------
        message : str
            argparse's message.
        """
        if message.startswith(_SHOW_USAGE):
            self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def set_examples(p: argparse.ArgumentParser, examples: tuple[str, ...], epilog: str = "") -> None:
    """End a command's ``--help`` with real invocations.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    examples : tuple of str
        Command lines, one per example.
    epilog : str
        Text before the examples (the exit codes of ``run``).
    """
    lines = "\n".join(f"  {line}" for line in examples)
    p.formatter_class = _HelpFormatter
    p.epilog = (epilog + "\n" if epilog else "") + f"examples:\n{lines}\n"


def check_outputs(*paths: Path | None, overwrite: bool = True, errors: Path | None = None) -> None:
    """Refuse table outputs of an unknown format, or that would replace a user's file (exit 2).

    Parameters
    ----------
    *paths : pathlib.Path or None
        The output tables (``None`` when not asked for).
    overwrite : bool
        ``--overwrite`` was given: replace existing files whoever wrote them. Without it,
        an existing file is replaced only when kyphoimg wrote it
        (:func:`kyphoimg.export.is_kyphoimg_table`: its data dictionary is beside it).
    errors : pathlib.Path, optional
        The errors table (written without a dictionary: recognised by its columns).
    """
    for path in (*paths, errors):
        if path is None:
            continue
        if path.suffix.lower() not in TABLE_FORMATS:
            raise UsageError(
                f"{path}: unknown table format {path.suffix or '(none)'!r}; "
                f"use one of {', '.join(TABLE_FORMATS)}"
            )
        columns = ERROR_COLUMNS if path is errors else ()
        if not overwrite and path.exists() and not is_kyphoimg_table(path, columns):
            raise UsageError(
                f"{path}: the file exists and kyphoimg did not write it (no data dictionary "
                "beside it, not kyphoimg's columns); choose another output file, or add "
                "--overwrite to replace it"
            )


def is_run_folder(folder: Path) -> bool:
    """Tell whether ``folder`` holds the outputs of a ``kyphoimg run`` (its summary.json).

    Parameters
    ----------
    folder : pathlib.Path
        The folder.

    Returns
    -------
    bool
        True when ``folder/summary.json`` is a run's summary (it counts films by status).
    """
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and "films_by_status" in summary


def refuse_foreign_files(folder: Path, what: str, *, overwrite: bool) -> None:
    """Refuse an output folder that already holds files, unless ``--overwrite`` (exit 2).

    Parameters
    ----------
    folder : pathlib.Path
        The output folder.
    what : str
        What the command would write there, for the message.
    overwrite : bool
        ``--overwrite`` was given.
    """
    if overwrite or not folder.is_dir():
        return
    held = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    if held:
        shown = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
        raise UsageError(
            f"-o {folder}: the folder already holds {len(held)} file(s) or folder(s) ({shown}) "
            f"that {what} would write over; give an empty or new folder, or --overwrite"
        )


def _is_warning(errors: pd.DataFrame) -> pd.Series:
    return errors["error"].astype(str).str.startswith(WARNING_PREFIX)


def failed(errors: pd.DataFrame) -> bool:
    """Whether an errors table holds a failure (warnings aside): exit code 1.

    Parameters
    ----------
    errors : pandas.DataFrame
        An errors table (ERROR_COLUMNS).

    Returns
    -------
    bool
        True when a row is not a warning.
    """
    return bool((~_is_warning(errors)).any())


def report_errors(errors: pd.DataFrame, errors_output: Path | None, *, write: bool = True) -> None:
    """List the problems and warnings on stderr, and write them to ``errors_output``.

    Parameters
    ----------
    errors : pandas.DataFrame
        An errors table (ERROR_COLUMNS).
    errors_output : pathlib.Path or None
        Where to write it (even when empty: no stale report).
    write : bool
        Write it (False when the command wrote it already).
    """
    if errors_output is not None and write:
        write_table(errors, errors_output, dictionary=False)
    if errors.empty:
        return
    warn = _is_warning(errors)
    problems, notes = errors.loc[~warn, "error"], errors.loc[warn, "error"]
    if len(problems):
        print(f"\n{len(problems)} problem(s) in the inputs:", file=sys.stderr)
        for msg in problems:
            print(f"  - {msg}", file=sys.stderr)
    if len(notes):
        print(f"\n{len(notes)} warning(s):", file=sys.stderr)
        for msg in notes:
            print(f"  - {str(msg).removeprefix(WARNING_PREFIX)}", file=sys.stderr)
    if errors_output is not None:
        print(f"problems written to {errors_output}", file=sys.stderr)


def write_tables(*outputs: tuple[pd.DataFrame, Path | None]) -> None:
    """Write each table given a path, in the format its suffix names, and say so.

    Parameters
    ----------
    *outputs : tuple of (pandas.DataFrame, pathlib.Path or None)
        A table and where to write it (``None``: not asked for, skipped). Each file
        written (the table and its data dictionary) is printed as ``wrote PATH``.
    """
    for table, path in outputs:
        if path is None:
            continue
        for written in write_table(table, path):
            print(f"wrote {written}")


def finish_tables(
    outputs: Sequence[tuple[pd.DataFrame, Path | None]],
    errors: pd.DataFrame,
    errors_output: Path | None,
    *,
    summary: Sequence[str] = (),
    nothing: bool = False,
) -> int:
    """End a command that writes tables: write them, summarise, report problems, exit code.

    Parameters
    ----------
    outputs : sequence of (pandas.DataFrame, pathlib.Path or None)
        The tables and their paths, written in this order by :func:`write_tables`.
    errors : pandas.DataFrame
        The errors table (ERROR_COLUMNS), listed and written by :func:`report_errors`.
    errors_output : pathlib.Path or None
        Where to write the errors table.
    summary : sequence of str
        Lines printed after the tables, before the problems.
    nothing : bool
        The inputs were read but gave nothing to write (exit 1 even without problems).

    Returns
    -------
    int
        1 when a row of ``errors`` is a failure (not a warning) or ``nothing``, else 0.
    """
    write_tables(*outputs)
    for line in summary:
        print(line)
    report_errors(errors, errors_output)
    return 1 if failed(errors) or nothing else 0


def missing_stats_extra(command: str) -> int | None:
    """Return 2 (after a one-line message) when the ``stats`` extra is not installed.

    Parameters
    ----------
    command : str
        The command's name, for the message.

    Returns
    -------
    int or None
        2 when a package is missing, else None.
    """
    for name in _STATS_EXTRA:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return _extra_message(command, name)
    return None


def _extra_message(command: str, name: str | None) -> int:
    top = (name or "").partition(".")[0]
    extra = EXTRAS.get(top, "stats")
    label = "statistics" if extra == "stats" else extra
    print(
        f"kyphoimg {command} needs the {label} extra ({name or 'a package'} is not "
        f"installed): pip install 'kyphoimg[{extra}]'",
        file=sys.stderr,
    )
    return 2


def _os_message(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or str(exc)
    return f"{where}: {reason.lower()}"


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command's handler; turn every failure into one line on stderr and an exit code.

    Parameters
    ----------
    func : callable
        The handler.
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        0 done, 1 an input failed (data), 2 usage or configuration, 130 interrupted.
    """
    command = getattr(args, "name", None) or args.command
    try:
        return int(func(args))
    except KeyboardInterrupt:
        resume = "; run the same command again to resume" if args.command == "run" else ""
        print(f"kyphoimg: interrupted{resume}", file=sys.stderr)
        return 130
    except (UsageError, StudyError) as exc:
        print(f"kyphoimg: error: {exc}", file=sys.stderr)
        return 2
    except KyphoimgError as exc:
        print(f"kyphoimg: error: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in EXTRAS:
            raise
        return _extra_message(command, exc.name)
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
        print(f"kyphoimg: error: {_os_message(exc)}; give another output", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"kyphoimg: error: cannot write or read {_os_message(exc)}; check the path, its "
            "permissions and the free space",
            file=sys.stderr,
        )
        return 1
