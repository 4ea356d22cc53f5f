"""Display names: variables with their units, group and level names, time points.

The study file's ``[labels]`` table overrides the defaults::

    [labels]
    recompression = "Recompression"          # variable name
    ka_deg = "Kyphotic angle"                # the unit (°) is added from the column name
    groups = { true = "Recompressed", false = "Not recompressed" }

    [labels.units]                           # optional: unit per variable
    vas = "cm"

    [labels.levels]                          # optional: names of categorical levels
    npec = { no = "No NPEC", both = "Both endplates" }

Defaults come from the column names written by ``kyphoimg run`` (``ka_deg`` → "KA (°)",
``compression_pct_pre`` → "Compression (%), pre-op"), so no output shows snake_case.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Labels", "default_label"]

#: Unit suffixes of kyphoimg column names and how they print.
UNITS: dict[str, str] = {
    "deg": "°",
    "pct": "%",
    "pp": "percentage points",
    "mm": "mm",
    "px": "px",
    "ml": "ml",
    "years": "years",
    "weeks": "weeks",
    "months": "months",
    "days": "days",
    "kg": "kg",
}
#: Time points and how they print.
TIMEPOINTS: dict[str, str] = {
    "pre": "pre-op",
    "post": "post-op",
    "last": "last follow-up",
}
#: Words written in capitals (abbreviations of the field).
ACRONYMS = {
    "ka",
    "cr",
    "vas",
    "bmd",
    "ivc",
    "npec",
    "ahr",
    "mhr",
    "phr",
    "asd",
    "bmi",
    "odi",
    "pkp",
    "id",
}
#: Names of known kyphoimg columns (without unit and time point).
KNOWN: dict[str, str] = {
    "compression": "Compression",
    "compression_max": "Maximum compression",
    "cr_ratio": "CR",
    "bmd_t_score": "BMD T-score",
    "bmd_t": "BMD T-score",
    "age": "Age",
    "sex": "Sex",
    "cement_volume": "Cement volume",
    "cement_leakage": "Cement leakage",
    "leakage": "Cement leakage",
    "height_restoration": "Height restoration",
    "reduction_angle": "Reduction angle",
    "reduction_rate": "Reduction rate",
    "correction_loss": "Correction loss",
    "height_loss": "Height loss",
    "recompression": "Recompression",
    "symptom": "Symptom duration",
    "followup": "Follow-up",
    "genant_grade": "Genant grade",
    "genant_visual": "Genant grade (visual)",
    "wedge_angle": "Wedge angle",
    "gardner": "Gardner angle",
    "patient_id": "Patient",
    "level": "Level",
    "ha": "Ha",
    "hm": "Hm",
    "hp": "Hp",
}
_BOOL_NAMES = {True: "yes", False: "no"}


def _split(name: str) -> tuple[str, str, str]:
    """Split a column name into (stem, unit, time point)."""
    parts = name.split("_")
    time = ""
    if len(parts) > 1 and parts[-1] in TIMEPOINTS:
        time = parts.pop()
    unit = ""
    if len(parts) > 1 and parts[-1] in UNITS:
        unit = parts.pop()
    return "_".join(parts), unit, time


def _words(stem: str) -> str:
    words = [w.upper() if w in ACRONYMS else w for w in re.split(r"[_\s]+", stem) if w]
    if not words:
        return stem
    first = words[0]
    words[0] = first if first.isupper() else first[:1].upper() + first[1:]
    return " ".join(words)


def default_label(name: Any, unit: str | None = None) -> str:
    """Return the display label of a column: name, unit in brackets, time point.

    Parameters
    ----------
    name : object
        Column name (``"ka_deg_pre"``).
    unit : str, optional
        Unit to print instead of the one read from the name.

    Returns
    -------
    str
        For example ``"KA (°), pre-op"``, ``"Compression (%)"``, ``"Age (years)"``.
    """
    text = str(name)
    stem, suffix, time = _split(text)
    base = KNOWN.get(stem) or _words(stem)
    shown = unit if unit is not None else UNITS.get(suffix, "")
    label = f"{base} ({shown})" if shown else base
    return f"{label}, {TIMEPOINTS[time]}" if time else label


@dataclass(frozen=True)
class Labels:
    """Display names of one report.

    Attributes
    ----------
    names : dict
        Variable → label (without unit) given in the study file.
    units : dict
        Variable → unit given in the study file.
    groups : dict
        Group value (as written in TOML: ``"true"``, ``"1"``, ``"maintained"``) → label.
    levels : dict
        Variable → {level → label} of categorical variables.
    """

    names: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)
    levels: dict = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> Labels:
        """Build from the ``[labels]`` table of a study file.

        Parameters
        ----------
        spec : mapping or None
            The table (``groups``, ``units`` and ``levels`` are sub-tables; every other
            key names a variable).

        Returns
        -------
        Labels
        """
        spec = dict(spec or {})
        groups = {str(k).lower(): str(v) for k, v in dict(spec.pop("groups", {})).items()}
        units = {str(k): str(v) for k, v in dict(spec.pop("units", {})).items()}
        levels = {
            str(k): {str(a).lower(): str(b) for a, b in dict(v).items()}
            for k, v in dict(spec.pop("levels", {})).items()
        }
        names = {str(k): str(v) for k, v in spec.items()}
        return cls(names, units, groups, levels)

    def unit(self, var: Hashable) -> str:
        """Return the unit of ``var`` ("" when it has none).

        Parameters
        ----------
        var : hashable
            Column name.

        Returns
        -------
        str
        """
        key = str(var)
        if key in self.units:
            return self.units[key]
        stem, suffix, _ = _split(key)
        return self.units.get(stem, UNITS.get(suffix, ""))

    def var(self, var: Hashable, with_unit: bool = True) -> str:
        """Return the label of a variable, with its unit and time point.

        Parameters
        ----------
        var : hashable
            Column name (``"ka_deg_last"``) or a measure stem (``"ka_deg"``).
        with_unit : bool, default True
            Append the unit in brackets.

        Returns
        -------
        str
        """
        key = str(var)
        stem, suffix, time = _split(key)
        full_stem = f"{stem}_{suffix}" if suffix else stem
        name = self.names.get(key) or self.names.get(full_stem) or self.names.get(stem)
        if name is None:
            name = KNOWN.get(stem) or _words(stem)
        unit = self.unit(key) if with_unit else ""
        label = f"{name} ({unit})" if unit and f"({unit})" not in name else name
        if time and key not in self.names:
            label = f"{label}, {TIMEPOINTS[time]}"
        return label

    def group(self, value: Any) -> str:
        """Return the label of a group value (booleans print as yes/no by default).

        Parameters
        ----------
        value : object
            A value of the group or outcome column.

        Returns
        -------
        str
        """
        key = str(value).lower()
        if key in self.groups:
            return self.groups[key]
        if isinstance(value, bool) or key in ("true", "false"):
            return _BOOL_NAMES[key == "true"].capitalize()
        return str(value).replace("_", " ")

    def level(self, var: Hashable, value: Any) -> str:
        """Return the label of a level of a categorical variable.

        Parameters
        ----------
        var : hashable
            Column name.
        value : object
            One of its values.

        Returns
        -------
        str
        """
        key = str(value).lower()
        table = self.levels.get(str(var), {})
        if key in table:
            return table[key]
        if isinstance(value, bool) or key in ("true", "false"):
            return _BOOL_NAMES[key == "true"]
        return str(value).replace("_", " ")

    def time(self, value: Any) -> str:
        """Return the label of a time point (``"pre"`` → ``"Pre-op"``).

        Parameters
        ----------
        value : object
            Time point.

        Returns
        -------
        str
        """
        text = TIMEPOINTS.get(str(value), str(value).replace("_", " "))
        return text[:1].upper() + text[1:]

    def term(self, term: str, reference: Mapping[Any, Any] | None = None) -> str:
        """Return the label of a model term: ``"npec[superior]"`` → "NPEC: superior vs no".

        Parameters
        ----------
        term : str
            Term name as :func:`kyphoimg.stats.logistic` writes it.
        reference : mapping, optional
            Reference level of each categorical predictor.

        Returns
        -------
        str
        """
        if term == "(Intercept)":
            return "Intercept"
        m = re.fullmatch(r"(.+)\[(.+)\]", term)
        if m is None:
            return self.var(term)
        var, lv = m.group(1), m.group(2)
        ref = dict(reference or {}).get(var)
        text = f"{self.var(var, with_unit=False)}: {self.level(var, lv)}"
        return f"{text} vs {self.level(var, ref)}" if ref is not None else text
