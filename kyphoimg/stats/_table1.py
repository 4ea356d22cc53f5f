"""Table 1: baseline characteristics by group, each p-value with the name of its test."""

from __future__ import annotations

import html
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from kyphoimg.errors import StatsInputError

from ._format import fmt_num, fmt_p
from ._htest import (
    CATEGORICAL_TESTS,
    CONTINUOUS_TESTS,
    TestResult,
    categorical_test,
    continuous_test,
)
from ._validate import as_frame, as_numeric, require_columns

__all__ = ["Table1", "table1"]

#: Quartiles use SPSS's default "weighted average" definition (HAVERAGE), which is
#: numpy's ``method="weibull"``; R's default (type 7) would be ``"linear"``.
QUANTILE_METHOD: Final = "weibull"

SUMMARY_COLUMNS = [
    "variable",
    "level",
    "kind",
    "group",
    "n",
    "missing",
    "mean",
    "sd",
    "median",
    "q1",
    "q3",
    "count",
    "percent",
]
TEST_COLUMNS = [
    "variable",
    "kind",
    "test",
    "statistic",
    "df",
    "df2",
    "p_value",
    "smd",
    "note",
    "difference",
    "diff_ci_low",
    "diff_ci_high",
]


@dataclass(frozen=True)
class Table1:
    """A baseline-characteristics table.

    Attributes
    ----------
    summary : pandas.DataFrame
        Long format, one row per variable × level × group, columns ``variable, level,
        kind, group, n, missing, mean, sd, median, q1, q3, count, percent``. ``kind`` is
        ``"continuous"``, ``"nonnormal"`` or ``"categorical"``; ``level`` is empty for
        continuous rows; ``n`` counts non-missing values; ``percent`` uses them as the
        denominator.
    tests : pandas.DataFrame
        One row per variable, columns ``variable, kind, test, statistic, df, df2,
        p_value, smd, note``. ``test`` names the test behind ``p_value``; ``smd`` is the
        absolute standardised mean difference (two groups only, NaN otherwise).
    display : pandas.DataFrame
        The published layout, all strings: ``Characteristic``, one column per group
        headed ``"<group> (n=<N>)"``, ``Missing``, ``SMD``, ``p``, ``Test``.
    groups : tuple
        Group labels in column order.
    group_sizes : dict
        Number of subjects per group.
    n_excluded : int
        Rows dropped because the group was missing.
    """

    summary: pd.DataFrame
    tests: pd.DataFrame
    display: pd.DataFrame
    groups: tuple[Hashable, ...]
    group_sizes: dict[Hashable, int] = field(default_factory=dict)
    n_excluded: int = 0

    @property
    def footnote(self) -> str:
        """Legend naming the summaries and every test used."""
        used = [t for t in dict.fromkeys(self.tests["test"]) if t]
        parts = ["Values are mean ± SD, median [IQR] or n (%)."]
        if used:
            parts.append("p-values: " + "; ".join(used) + ".")
        parts.append("SMD: absolute standardised mean difference.")
        parts.append("Quartiles: SPSS weighted-average definition.")
        if self.n_excluded:
            parts.append(f"{self.n_excluded} row(s) without a group were excluded.")
        return " ".join(parts)

    def to_markdown(self) -> str:
        """Return the published layout as a Markdown (pipe) table with its footnote.

        Returns
        -------
        str
            Header, separator and one line per ``display`` row (level rows indented
            with ``&nbsp;``), then a blank line and :attr:`footnote`.
        """
        cols = list(self.display.columns)
        lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
        for _, row in self.display.iterrows():
            cells = [str(row[c]).replace("|", "\\|") for c in cols]
            cells[0] = cells[0].replace("  ", "&nbsp;&nbsp;")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n\n" + self.footnote + "\n"

    def to_html(self, caption: str = "Table 1. Baseline characteristics") -> str:
        """Return the published layout as an HTML ``<table>`` with caption and footnote.

        Parameters
        ----------
        caption : str, default "Table 1. Baseline characteristics"
            Text of the ``<caption>`` element.

        Returns
        -------
        str
            A ``<table class="table1">`` with the caption, one row per ``display``
            row (level rows indented) and :attr:`footnote` in ``<tfoot>``; text is
            HTML-escaped.
        """
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.display.columns)
        body = []
        for _, row in self.display.iterrows():
            cells = []
            for i, c in enumerate(self.display.columns):
                text = str(row[c])
                style = ""
                if i == 0 and text.startswith("  "):
                    style = ' style="padding-left:1.5em"'
                    text = text.strip()
                cells.append(f"<td{style}>{html.escape(text)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        return (
            f'<table class="table1"><caption>{html.escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
            f'<tfoot><tr><td colspan="{len(self.display.columns)}">'
            f"{html.escape(self.footnote)}</td></tr></tfoot></table>"
        )

    def to_csv(self, path: str | Path) -> Path:
        """Write the published layout to CSV (UTF-8) and return the path.

        Parameters
        ----------
        path : str or pathlib.Path
            File to write (overwritten if it exists).

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        path = Path(path)
        self.display.to_csv(path, index=False, encoding="utf-8")
        return path

    def to_excel(self, path: str | Path) -> Path:
        """Write the layout, the long summary and the tests to three sheets of an XLSX file.

        Parameters
        ----------
        path : str or pathlib.Path
            File to write (overwritten if it exists); the sheets are ``Table 1``
            (``display``), ``summary`` and ``tests``.

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        path = Path(path)
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            self.display.to_excel(xw, sheet_name="Table 1", index=False)
            self.summary.to_excel(xw, sheet_name="summary", index=False)
            self.tests.to_excel(xw, sheet_name="tests", index=False)
        return path


def _smd_continuous(a: np.ndarray, b: np.ndarray) -> float:
    va, vb = np.var(a, ddof=1), np.var(b, ddof=1)
    denom = np.sqrt((va + vb) / 2)
    if not np.isfinite(denom) or denom == 0:
        return float("nan")
    return float(abs(np.mean(a) - np.mean(b)) / denom)


def _smd_categorical(pa: np.ndarray, pb: np.ndarray) -> float:
    """Yang & Dalton (2012) multivariate SMD on level proportions (first level dropped)."""
    pa, pb = pa[1:], pb[1:]
    if pa.size == 0:
        return float("nan")
    sa = np.diag(pa) - np.outer(pa, pa)
    sb = np.diag(pb) - np.outer(pb, pb)
    s = (sa + sb) / 2
    d = pa - pb
    value = float(d @ np.linalg.pinv(s) @ d)
    return float(np.sqrt(max(value, 0.0)))


def _label_levels(series: pd.Series) -> list[Hashable]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return [c for c in series.cat.categories if (series == c).any()]
    values = series.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _check_variables(
    df: pd.DataFrame,
    group: Hashable,
    continuous: Sequence[Hashable],
    categorical: Sequence[Hashable],
    nonnormal: Sequence[Hashable],
    tests: Mapping[Hashable, str] | None,
) -> tuple[list[Hashable], list[Hashable], list[Hashable], dict[Hashable, str]]:
    """Check the variable lists and test overrides against each other and the table.

    Returns (continuous and non-normal variables, non-normal, categorical, tests).
    """
    tests = dict(tests or {})
    nonnormal = list(nonnormal)
    cont_all = list(dict.fromkeys([*continuous, *nonnormal]))
    categorical = list(categorical)
    overlap = set(cont_all) & set(categorical)
    if overlap:
        raise StatsInputError(
            f"column(s) {sorted(map(str, overlap))} listed both as continuous and categorical; "
            "list each variable once"
        )
    require_columns(df, [group, *cont_all, *categorical], "table1")
    unknown = [v for v in tests if v not in cont_all and v not in categorical]
    if unknown:
        raise StatsInputError(
            f"tests: variable(s) {unknown} are not among the analysed columns; "
            "add them to continuous/categorical or remove them from tests"
        )
    return cont_all, nonnormal, categorical, tests


def _select_groups(
    df: pd.DataFrame, group: Hashable, group_order: Sequence[Hashable] | None
) -> tuple[pd.DataFrame, list[Hashable], dict[Hashable, int], int]:
    """Keep rows with a (listed) group; return (rows, groups, group sizes, rows excluded)."""
    present = df[group].notna()
    data = df[present]
    n_excluded = int((~present).sum())
    if group_order is None:
        groups = _label_levels(data[group])
    else:
        groups = list(group_order)
        missing_levels = [g for g in groups if not (data[group] == g).any()]
        if missing_levels:
            raise StatsInputError(
                f"group_order: level(s) {missing_levels} do not occur in column {group!r}"
            )
        data = data[data[group].isin(groups)]
    sizes = {g: int((data[group] == g).sum()) for g in groups}
    if len(groups) < 2:
        raise StatsInputError(
            f"group column {group!r} has {len(groups)} level(s); a comparison needs at least two"
        )
    small = {g: n for g, n in sizes.items() if n < 2}
    if small:
        raise StatsInputError(
            f"group column {group!r}: group(s) {small} have fewer than 2 subjects; "
            "merge or drop these groups"
        )
    return data, groups, sizes, n_excluded


def _display_row(
    characteristic: str,
    cells: Mapping[Hashable, str],
    headers: Mapping[Hashable, str],
    groups: Sequence[Hashable],
    missing: str = "",
    smd: str = "",
    p: str = "",
    test: str = "",
) -> dict[str, str]:
    """Return one row of the published layout (``headers`` maps each group to its column)."""
    row = {"Characteristic": characteristic}
    row.update({headers[g]: cells.get(g, "") for g in groups})
    row.update({"Missing": missing, "SMD": smd, "p": p, "Test": test})
    return row


def _test_row(var: Hashable, kind: str, res: TestResult, smd: float) -> dict:
    """Return the ``tests`` row of one variable."""
    return {
        "variable": var,
        "kind": kind,
        "test": res.test,
        "statistic": res.statistic,
        "df": res.df,
        "df2": res.df2,
        "p_value": res.p_value,
        "smd": smd,
        "note": res.note,
        "difference": res.estimate,
        "diff_ci_low": res.ci_low,
        "diff_ci_high": res.ci_high,
    }


def _continuous_summary(
    var: Hashable, kind: str, g: Hashable, a: np.ndarray, n_missing: int, decimals: int
) -> tuple[dict, str]:
    """Summarise one group of a continuous variable: (``summary`` row, display cell)."""
    q1, med, q3 = np.percentile(a, [25, 50, 75], method=QUANTILE_METHOD)
    sd = float(np.std(a, ddof=1)) if len(a) > 1 else float("nan")
    row = {
        "variable": var,
        "level": "",
        "kind": kind,
        "group": g,
        "n": len(a),
        "missing": n_missing,
        "mean": float(np.mean(a)),
        "sd": sd,
        "median": float(med),
        "q1": float(q1),
        "q3": float(q3),
        "count": np.nan,
        "percent": np.nan,
    }
    if kind == "nonnormal":
        cell = f"{fmt_num(med, decimals)} [{fmt_num(q1, decimals)}–{fmt_num(q3, decimals)}]"
    else:
        cell = f"{fmt_num(float(np.mean(a)), decimals)} ± {fmt_num(sd, decimals)}"
    return row, cell


def _continuous_variable(
    data: pd.DataFrame,
    var: Hashable,
    kind: str,
    group: Hashable,
    groups: Sequence[Hashable],
    masks: Mapping[Hashable, np.ndarray],
    method: str,
    decimals: int,
) -> tuple[list[dict], dict, dict[Hashable, str], int]:
    """Summarise and test one continuous variable.

    Returns (``summary`` rows, ``tests`` row, display cells per group, missing count).
    """
    values = as_numeric(data[var], var)
    arrays = {g: values[masks[g]].dropna().to_numpy() for g in groups}
    empty = [g for g, a in arrays.items() if len(a) == 0]
    if empty:
        raise StatsInputError(
            f"column {var!r}: no values in group(s) {empty} of {group!r}; "
            "drop the variable or check the data"
        )
    summary_rows = []
    cells = {}
    for g in groups:
        n_missing = int(values[masks[g]].isna().sum())
        row, cells[g] = _continuous_summary(var, kind, g, arrays[g], n_missing, decimals)
        summary_rows.append(row)
    if method not in CONTINUOUS_TESTS:
        raise StatsInputError(
            f"tests[{var!r}] = {method!r} is not a continuous test; "
            f"use one of {', '.join(CONTINUOUS_TESTS)}"
        )
    res = continuous_test([arrays[g] for g in groups], method)
    smd = _smd_continuous(*arrays.values()) if len(groups) == 2 else float("nan")
    return summary_rows, _test_row(var, kind, res, smd), cells, int(values.isna().sum())


def _categorical_levels(
    var: Hashable,
    col: pd.Series,
    levels: Sequence[Hashable],
    groups: Sequence[Hashable],
    masks: Mapping[Hashable, np.ndarray],
    table: np.ndarray,
    props: np.ndarray,
    decimals: int,
) -> tuple[list[dict], list[dict[Hashable, str]]]:
    """Summarise every level of a categorical variable: (``summary`` rows, cells per level).

    ``table`` holds the counts (levels × groups) and ``props`` the column proportions.
    """
    n_by_group = table.sum(axis=0)
    summary_rows = []
    level_cells = []
    for i, lv in enumerate(levels):
        cells = {}
        for j, g in enumerate(groups):
            pct = 100.0 * props[i, j]
            summary_rows.append(
                {
                    "variable": var,
                    "level": lv,
                    "kind": "categorical",
                    "group": g,
                    "n": int(n_by_group[j]),
                    "missing": int(col[masks[g]].isna().sum()),
                    "mean": np.nan,
                    "sd": np.nan,
                    "median": np.nan,
                    "q1": np.nan,
                    "q3": np.nan,
                    "count": int(table[i, j]),
                    "percent": pct,
                }
            )
            cells[g] = f"{int(table[i, j])} ({fmt_num(pct, decimals)})"
        level_cells.append(cells)
    return summary_rows, level_cells


def _categorical_variable(
    data: pd.DataFrame,
    var: Hashable,
    groups: Sequence[Hashable],
    masks: Mapping[Hashable, np.ndarray],
    method: str,
    decimals: int,
) -> tuple[list[dict], dict, list[Hashable], list[dict[Hashable, str]]]:
    """Summarise and test one categorical variable.

    Returns (``summary`` rows, ``tests`` row, levels, display cells per level).
    """
    col = data[var]
    if col.notna().sum() == 0:
        raise StatsInputError(
            f"column {var!r}: every value is missing; fill it in or drop it from the analysis"
        )
    levels = _label_levels(col)
    table = np.array(
        [[int(((col == lv).to_numpy() & masks[g]).sum()) for g in groups] for lv in levels]
    )
    n_by_group = table.sum(axis=0)
    if method not in CATEGORICAL_TESTS:
        raise StatsInputError(
            f"tests[{var!r}] = {method!r} is not a categorical test; "
            f"use one of {', '.join(CATEGORICAL_TESTS)}"
        )
    res = categorical_test(table, method)
    props = table / np.where(n_by_group == 0, 1, n_by_group)
    smd = _smd_categorical(props[:, 0], props[:, 1]) if len(groups) == 2 else float("nan")
    summary_rows, level_cells = _categorical_levels(
        var, col, levels, groups, masks, table, props, decimals
    )
    return summary_rows, _test_row(var, "categorical", res, smd), levels, level_cells


def table1(
    df: pd.DataFrame,
    group: Hashable,
    continuous: Sequence[Hashable] = (),
    categorical: Sequence[Hashable] = (),
    nonnormal: Sequence[Hashable] = (),
    tests: Mapping[Hashable, str] | None = None,
    *,
    group_order: Sequence[Hashable] | None = None,
    decimals: int = 1,
    p_decimals: int = 3,
) -> Table1:
    """Summarise variables by group and test each difference, naming the test.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject.
    group : hashable
        Column holding the group (two or more levels, each with at least 2 subjects).
    continuous : sequence of hashable
        Approximately normal variables: mean ± SD, Student t-test (pooled variance) for
        two groups, one-way ANOVA for more.
    categorical : sequence of hashable
        Variables summarised as n (%) per level: Pearson chi-square without Yates'
        correction, or Fisher's exact test when an expected count is below 5.
    nonnormal : sequence of hashable
        Skewed variables (may also appear in ``continuous``): median [IQR],
        Mann–Whitney U (asymptotic with tie correction, as SPSS) or Kruskal–Wallis.
    tests : mapping, optional
        Per-variable override: ``{"age": "welch", "smoking": "chi2_yates"}``. Continuous
        names: ``student, welch, mannwhitney, mannwhitney_exact, anova, welch_anova,
        kruskal``; categorical: ``auto, chi2, chi2_yates, fisher``.
    group_order : sequence, optional
        Column order of the groups (default: sorted).
    decimals : int, default 1
        Decimals of means, SDs, medians and percentages in ``display``.
    p_decimals : int, default 3
        Decimals of p-values in ``display`` (smaller values print as ``<0.001``).

    Returns
    -------
    Table1
        ``summary`` (long), ``tests`` and ``display`` DataFrames, with CSV, XLSX,
        Markdown and HTML export.

    Raises
    ------
    StatsInputError
        A column is missing, a group has fewer than 2 subjects, fewer than two groups
        are present, a continuous column holds text or is entirely missing, or a test
        name is unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"g": ["a"] * 3 + ["b"] * 3, "age": [60, 65, 70, 70, 75, 80],
    ...                   "sex": ["F", "M", "F", "M", "M", "M"]})
    >>> t = table1(d, "g", continuous=["age"], categorical=["sex"])
    >>> t.tests[["variable", "test"]].to_dict("records")[0]
    {'variable': 'age', 'test': 'Student t-test (pooled variance)'}
    """
    df = as_frame(df)
    cont_all, nonnormal, categorical, tests = _check_variables(
        df, group, continuous, categorical, nonnormal, tests
    )
    data, groups, sizes, n_excluded = _select_groups(df, group, group_order)
    masks = {g: (data[group] == g).to_numpy() for g in groups}
    headers = {g: f"{g} (n={sizes[g]})" for g in groups}
    summary_rows: list[dict] = []
    test_rows: list[dict] = []
    display_rows: list[dict] = []

    for var in cont_all:
        kind = "nonnormal" if var in nonnormal else "continuous"
        method = tests.get(var, "mannwhitney" if kind == "nonnormal" else "student")
        rows, test, cells, n_missing = _continuous_variable(
            data, var, kind, group, groups, masks, method, decimals
        )
        summary_rows += rows
        test_rows.append(test)
        label = f"{var}, median [IQR]" if kind == "nonnormal" else f"{var}, mean ± SD"
        display_rows.append(
            _display_row(
                label,
                cells,
                headers,
                groups,
                str(n_missing),
                fmt_num(test["smd"], 2),
                fmt_p(test["p_value"], p_decimals),
                test["test"],
            )
        )

    for var in categorical:
        rows, test, levels, level_cells = _categorical_variable(
            data, var, groups, masks, tests.get(var, "auto"), decimals
        )
        summary_rows += rows
        test_rows.append(test)
        display_rows.append(
            _display_row(
                f"{var}, n (%)",
                {},
                headers,
                groups,
                str(int(data[var].isna().sum())),
                fmt_num(test["smd"], 2),
                fmt_p(test["p_value"], p_decimals),
                test["test"],
            )
        )
        display_rows += [
            _display_row(f"  {lv}", cells, headers, groups)
            for lv, cells in zip(levels, level_cells, strict=True)
        ]

    summary = pd.DataFrame(summary_rows, columns=SUMMARY_COLUMNS)
    tests_df = pd.DataFrame(test_rows, columns=TEST_COLUMNS)
    display = pd.DataFrame(
        display_rows,
        columns=["Characteristic", *headers.values(), "Missing", "SMD", "p", "Test"],
    )
    return Table1(summary, tests_df, display, tuple(groups), sizes, n_excluded)
