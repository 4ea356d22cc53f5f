"""The study file (``study.toml``): one schema, parsed once into typed values.

Every command that reads a study file (``run``, ``report``, ``reliability``, ``view``,
``pacs``) reads it here and uses its own tables; every table of the file is checked,
whichever command reads it. An unknown table or key, or a value of the wrong type, is a
:class:`~kyphoimg.errors.StudyError` naming it, its place (``file:line``) and the nearest
valid name; the command line exits with code 2.

The tables (each key is documented in :data:`SCHEMA`, and in ``docs/studyfile.md``,
generated from it):

- ``[run]``: the options of ``kyphoimg run`` (the option names, ``-`` or ``_`` alike);
- ``[measures]`` and ``[features]``: the measure and feature variants (``run`` and
  ``features``);
- ``[reliability]``: the options of ``kyphoimg reliability``;
- ``[view]``: ``kyphoimg view``'s own options (it takes the study folder, landmarks
  folder, time points and surgery table from ``[run]``, the PACS from ``[pacs]``);
- ``[pacs]``: the PACS to query (no credentials: they come from the environment, a
  netrc file or the keyring);
- ``title``, ``[data]``, ``[outcome]``, ``[labels]``, ``[table1]``, ``[timepoints]``,
  ``[correlation]``, ``[logistic]``, ``[roc]``, ``[options]``: the statistics report
  (``docs/statistics.md``).

Paths are relative to the file's folder.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import StudyError

__all__ = [
    "REPORT_TABLES",
    "SCHEMA",
    "Key",
    "StudyFile",
    "parse_study_text",
    "read_study_file",
    "schema_markdown",
    "study_file_of",
]


@dataclass(frozen=True)
class Key:
    """One key of a study-file table.

    Attributes
    ----------
    kind : str
        ``path`` (relative to the file), ``list`` (of strings; a comma-separated string
        is accepted), ``str``, ``int`` (1 or more), ``float``, ``bool``, or ``any``.
    help : str
        What it sets.
    choices : tuple of str
        The allowed values of a ``str`` key (empty: any).
    """

    kind: str
    help: str
    choices: tuple[str, ...] = ()


_RUN = {
    "study": Key(
        "path", "folder of DICOM films and landmark files (STUDY; default: the file's folder)"
    ),
    "output": Key("path", "output folder (-o)"),
    "landmarks": Key("path", "folder of the landmark files (default: study)"),
    "clinical": Key("path", "clinical table joined on patient_id"),
    "surgery": Key("path", "patient_id, surgery_date: time points of films without one"),
    "errors": Key("path", "also write the problems to this table"),
    "timepoints": Key("list", "time points in order"),
    "format": Key("list", "table formats", ("csv", "parquet", "xlsx")),
    "jobs": Key("int", "worker processes"),
    "scheduler": Key("str", "Dask distributed scheduler address"),
    "salt": Key("str", "salt of the pseudonymisation keys"),
    "rater": Key("str", "the reader whose landmark files are measured"),
    "pseudonymise": Key("bool", "replace patient ids by salted-hash keys"),
    "keep_identifiers": Key("bool", "keep clinical columns that name direct identifiers"),
    "skip_fractured_references": Key("bool", "skip fractured neighbours as references"),
    "resume": Key("bool", "reuse the films measured by an earlier run (default true)"),
    "no_resume": Key("bool", "recompute every film"),
    "progress": Key("bool", "show progress"),
}

_MEASURES = {
    "genant_reference": Key(
        "str", "reference height of the Genant grade", ("adjacent", "own_posterior")
    ),
    "normative": Key("path", "normative QM ratios (level, ratio, mean, sd)"),
    "sd_threshold": Key("float", "SD threshold of qm_deformity (default 3)"),
    "skip_fractured_references": Key("bool", "skip fractured neighbours as references"),
}

_FEATURES = {
    "restoration": Key("str", "variant of height_restoration_pct", ("reference", "relative")),
    "restoration_height": Key("str", "height of the restoration measures", ("ha", "hm", "hp")),
    "reduction_rate": Key("str", "definition of reduction_rate_pct", ("restoration", "angle")),
    "recompression_loss_pct": Key("float", "height loss (%) that defines recompression"),
    "recompression_angle_deg": Key("float", "KA increase (deg); negative disables it"),
    "recompression_height": Key(
        "str", "height followed for recompression", ("ahr", "ha", "hm", "hp", "max_loss")
    ),
    "recompression_baseline": Key("str", "film the loss is measured against", ("post", "pre")),
    "recompression_min_loss_mm": Key("float", "also require this absolute loss in mm"),
}

_RELIABILITY = {
    "study": Key("path", "study folder (default: the file's folder)"),
    "output": Key("path", "output folder"),
    "landmarks": Key("path", "folder of the landmark files"),
    "raters": Key("list", "readers compared inter-reader"),
    "repeat": Key("list", "a reader's first and repeated reading (two ids)"),
    "measures": Key("list", "measures compared"),
    "timepoints": Key("list", "time points in order"),
    "conf_level": Key("float", "confidence level of the intervals (0-1)"),
    "jobs": Key("int", "processes for the header scan"),
}

#: ``kyphoimg view``'s own keys; the study folder, landmarks, time points and surgery
#: table come from [run], the PACS from [pacs].
_VIEW = {
    "blind": Key("bool", "blinded reading: films in a seeded random order, no patient or time"),
    "cache": Key("path", "with [pacs] url: read on the PACS, films fetched into this folder"),
    "patients": Key("path", "with [pacs] url: patient IDs, one a line"),
    "since": Key("str", "with [pacs] url: first study date, YYYY-MM-DD"),
}

_PACS = {
    "url": Key("str", "DICOMweb root URL (QIDO-RS, WADO-RS, STOW-RS), without credentials"),
    "ca_bundle": Key("path", "CA certificates to trust for https (PEM)"),
    "ae_title": Key("str", "DIMSE: the PACS's (called) AE title"),
    "host": Key("str", "DIMSE: the PACS's host name"),
    "port": Key("int", "DIMSE: the PACS's port"),
    "calling_ae_title": Key("str", "our AE title (default KYPHOIMG)"),
    "timeout": Key("float", "seconds to wait for the server (default 30)"),
    "move_port": Key("int", "DIMSE: retrieve by C-MOVE to us on this port (default C-GET)"),
}


def _report(*names: str) -> dict[str, Key]:
    return {n: Key("any", "see docs/statistics.md") for n in names}


#: The report's tables (``kyphoimg report``; their values are checked by the report).
REPORT_TABLES: dict[str, dict[str, Key] | None] = {
    "data": _report(
        "subjects", "longitudinal", "subject", "level", "unit", "index_vertebra", "reference"
    ),
    "outcome": _report("column", "positive", "definition"),
    "labels": None,  # free-form: variable names plus groups, units, levels
    "table1": _report("group", "continuous", "categorical", "nonnormal", "tests"),
    "timepoints": _report(
        "subject", "time", "values", "order", "group", "method", "correction", "posthoc"
    ),
    "correlation": _report("factors", "method", "dichotomise"),
    "logistic": _report(
        "predictors",
        "univariable_screen",
        "categorical",
        "bootstrap",
        "seed",
        "profile",
        "method",
        "reference",
        "per_sd",
    ),
    "roc": _report("markers", "model"),
    "options": _report("figure_format", "decimals", "pdf", "t_test"),
}

#: Every table of a study file and its keys (``None``: free-form).
SCHEMA: dict[str, dict[str, Key] | None] = {
    "run": _RUN,
    "measures": _MEASURES,
    "features": _FEATURES,
    "reliability": _RELIABILITY,
    "view": _VIEW,
    "pacs": _PACS,
    **REPORT_TABLES,
}

#: Keys allowed at the top level, outside any table: the report's title, and (a study
#: file of earlier releases, without a [run] table) run's keys.
_TOP_LEVEL = {"title": Key("str", "title of the report")}

#: [run] keys of earlier releases (the RunOptions field names), still read.
_RUN_ALIASES = {"dicom_dir": "study", "landmarks_dir": "landmarks", "formats": "format"}


@dataclass(frozen=True)
class StudyFile:
    """A study file, checked against :data:`SCHEMA` and read into typed values.

    Attributes
    ----------
    path : pathlib.Path or None
        The file (None when parsed from text without one).
    tables : mapping
        Table name to its values (paths resolved beside the file, lists as tuples,
        keys with ``_`` for ``-``); only the tables the file has.
    title : str or None
        The report's title.
    notes : tuple of str
        Notes for the user (a deprecated key read under its new name).
    """

    path: Path | None
    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    title: str | None = None
    notes: tuple[str, ...] = ()

    def table(self, name: str) -> Mapping[str, Any]:
        """Return one table's values (empty when the file has none).

        Parameters
        ----------
        name : str
            The table (``"run"``, ``"reliability"``, ...).

        Returns
        -------
        mapping
            Its keys and typed values.
        """
        if name not in SCHEMA:
            raise KeyError(name)
        return self.tables.get(name, MappingProxyType({}))

    def report_spec(self) -> dict[str, Any]:
        """Return the report's part of the file (title and report tables) as a plain dict.

        Returns
        -------
        dict
            What :func:`kyphoimg.stats.report` reads; the raw values of its tables.
        """
        spec: dict[str, Any] = {k: dict(v) for k, v in self.tables.items() if k in REPORT_TABLES}
        if self.title is not None:
            spec["title"] = self.title
        return spec


def _line(text: str, table: str | None, key: str | None) -> int:
    """Line number (1-based) of a table header, or of a key within a table (0 if not found)."""
    lines = text.splitlines()
    start = 0
    if table is not None:
        header = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]")
        start = next((i for i, line in enumerate(lines) if header.match(line)), -1)
        if start < 0:
            return 0
        if key is None:
            return start + 1
        start += 1
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key or '')}[\"']?\s*=")
    for i in range(start, len(lines)):
        if table is not None and i > start and re.match(r"^\s*\[", lines[i]):
            break
        if pattern.match(lines[i]):
            return i + 1
    return 0


def _nearest(name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'? " if close else ""


def _where(source: str, text: str, table: str | None, key: str | None) -> str:
    line = _line(text, table, key)
    return f"{source}:{line}" if line else source


def _value(key: Key, name: str, value: Any, base: Path, where: str) -> Any:
    if key.kind == "any":
        return value
    if key.kind == "path":
        if not isinstance(value, str):
            raise StudyError(f"{where}: {name} = {value!r}: give a path as a string")
        return base / value
    if key.kind == "list":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            raise StudyError(f"{where}: {name} must be a list or a comma-separated string")
        out = tuple(str(v).strip() for v in items if str(v).strip())
        bad = [v for v in out if key.choices and v not in key.choices]
        if bad:
            raise StudyError(f"{where}: {name} = {bad[0]!r}; use {', '.join(key.choices)}")
        return out
    if key.kind == "bool":
        if not isinstance(value, bool):
            raise StudyError(f"{where}: {name} = {value!r}; give true or false")
        return value
    if key.kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise StudyError(f"{where}: {name} = {value!r} is not a number")
        if key.kind == "int":
            if value != int(value) or value < 1:
                raise StudyError(f"{where}: {name} = {value!r}; give a whole number of 1 or more")
            return int(value)
        return float(value)
    if not isinstance(value, str):
        raise StudyError(f"{where}: {name} = {value!r}; give a string")
    if key.choices and value not in key.choices:
        raise StudyError(f"{where}: {name} = {value!r}; use {', '.join(key.choices)}")
    return value


def _read_table(
    name: str, raw: Mapping[str, Any], base: Path, source: str, text: str
) -> tuple[dict[str, Any], list[str]]:
    keys = SCHEMA[name]
    if keys is None:
        return dict(raw), []
    out: dict[str, Any] = {}
    raw_names: dict[str, str] = {}
    notes = []
    for raw_key, value in raw.items():
        key = raw_key.replace("-", "_")
        where = _where(source, text, name, raw_key)
        if name == "run" and key in _RUN_ALIASES:
            notes.append(f"{where}: [run] key '{raw_key}' is deprecated: use '{_RUN_ALIASES[key]}'")
            key = _RUN_ALIASES[key]
        if key not in keys:
            raise StudyError(
                f"{where}: unknown key '{raw_key}' in [{name}]; {_nearest(key, list(keys))}"
                f"known: {', '.join(keys)}"
            )
        if key in out:
            raise StudyError(
                f"{where}: [{name}] has both '{raw_names[key]}' and '{raw_key}'; keep '{key}'"
            )
        raw_names[key] = raw_key
        out[key] = _value(keys[key], key, value, base, where)
    return out, notes


def parse_study_text(
    text: str, source: str | Path = "study.toml", base: Path | None = None
) -> StudyFile:
    """Parse and check the text of a study file.

    Parameters
    ----------
    text : str
        The TOML text.
    source : str or pathlib.Path
        The file it came from, for messages.
    base : pathlib.Path, optional
        Folder relative paths are resolved against (default: the source's folder).

    Returns
    -------
    StudyFile
        The checked, typed tables.

    Raises
    ------
    StudyError
        If the text is not TOML, or a table, key or value is not in the schema.
    """
    source = str(source)
    base = Path(source).parent if base is None else base
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(f"{source}: not valid TOML ({exc}); fix the file") from None
    tables: dict[str, Any] = {}
    notes: list[str] = []
    legacy_run = {k: v for k, v in data.items() if not isinstance(v, dict) and k != "title"}
    for name, raw in data.items():
        if not isinstance(raw, dict):
            continue
        if name not in SCHEMA:
            raise StudyError(
                f"{_where(source, text, name, None)}: unknown table [{name}]; "
                f"{_nearest(name, list(SCHEMA))}known: {', '.join(SCHEMA)}"
            )
        tables[name], table_notes = _read_table(name, raw, base, source, text)
        notes += table_notes
    if legacy_run:  # run's keys at the top level (a study file of earlier releases)
        if "run" in tables:
            first = next(iter(legacy_run))
            raise StudyError(
                f"{_where(source, text, None, first)}: '{first}' is outside any table; "
                "put it in [run] (or the table it belongs to)"
            )
        tables["run"], table_notes = _read_table("run", legacy_run, base, source, text)
        notes += table_notes
    title = data.get("title")
    if title is not None and not isinstance(title, str):
        raise StudyError(f"{_where(source, text, None, 'title')}: title must be a string")
    frozen = {k: MappingProxyType(v) for k, v in tables.items()}
    path = Path(source) if source.endswith(".toml") else None
    return StudyFile(path=path, tables=MappingProxyType(frozen), title=title, notes=tuple(notes))


def study_file_of(path: str | Path) -> Path | None:
    """Return the study file a command was given: ``path`` itself, or ``path/study.toml``.

    The one rule of ``kyphoimg run`` and ``kyphoimg view``: a ``.toml`` file is the study
    file; a folder holding a ``study.toml`` is read with it (its ``[run] study`` defaults
    to the file's folder); any other path has none.

    Parameters
    ----------
    path : path-like
        What the command was given (a file or a folder).

    Returns
    -------
    pathlib.Path or None
    """
    path = Path(path)
    if path.suffix.lower() == ".toml":
        return path
    inside = path / "study.toml"
    return inside if path.is_dir() and inside.is_file() else None


def read_study_file(path: str | Path) -> StudyFile:
    """Read and check a study file.

    Parameters
    ----------
    path : path-like
        The ``study.toml``.

    Returns
    -------
    StudyFile
        The checked, typed tables.

    Raises
    ------
    StudyError
        If the file cannot be read, is not TOML, or a table, key or value is not in the
        schema (the message names it, ``file:line`` and the nearest valid name).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StudyError(f"{path}: cannot read the study file ({exc.strerror or exc})") from None
    return parse_study_text(text, path, path.parent)


def schema_markdown() -> str:
    """Return the reference of every study-file table and key, as Markdown.

    Returns
    -------
    str
        ``docs/studyfile.md`` (a test checks the file matches).
    """
    out = [
        "# The study file (`study.toml`)",
        "",
        "Generated from `kyphoimg.studyfile.SCHEMA` (a test checks this page matches it).",
        "Every command reads the whole file and uses its own tables; an unknown table or",
        "key is an error naming it, its line and the nearest valid name (exit 2). Paths",
        "are relative to the file's folder; keys may be written with `-` or `_`.",
        "",
        "| table | key | type | what it sets |",
        "|---|---|---|---|",
        "| (top level) | `title` | str | title of the report |",
    ]
    for name, keys in SCHEMA.items():
        if keys is None:
            out.append(f"| `[{name}]` | (free-form) | | see docs/statistics.md |")
            continue
        for key, spec in keys.items():
            kind = spec.kind + (f" ({', '.join(spec.choices)})" if spec.choices else "")
            out.append(f"| `[{name}]` | `{key}` | {kind} | {spec.help} |")
    return "\n".join(out) + "\n"
