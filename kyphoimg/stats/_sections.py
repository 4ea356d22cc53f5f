"""The sections of the report: each runs one analysis and returns tables, HTML and methods.

Every section returns a :class:`Section`: its HTML blocks, its :class:`Table` objects (the
same numbers go to the HTML and the workbook), its figures, the sentence of the methods
paragraph describing what ran, and a summary entry (analysis, tests, n).
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from kyphoimg.errors import NotEstimableError, StatsInputError
from kyphoimg.timepoints import TIMEPOINTS

from ._correlate import correlate
from ._data import StudyData
from ._estimable import complete_case_reason, model_reason, not_estimable_html, translated
from ._features import outcome_definition, wide_to_long
from ._figures import plot_forest, plot_roc, plot_timecourse, save_figure
from ._format import fmt_num
from ._html import embed_figure, html_table
from ._labels import Labels
from ._logistic import EVENTS_FLOOR, LogisticResult, logistic, nested_lr_test
from ._repeated import CORRECTIONS, compare_timepoints
from ._roc import RocResult, delong_test, roc
from ._table1 import Table1, table1
from ._tables import Table, common_note, select

__all__ = ["T_TESTS", "Context", "Section"]

#: ``[options] t_test``: Welch (unequal variances allowed) is the default on a user's data;
#: Student's pooled t reproduces an SPSS-style paper (the simulated seed studies set it).
T_TESTS = {
    "welch": (
        "Two groups were compared by Welch's t-test (variances not assumed equal), the default"
    ),
    "student": (
        "Two groups were compared by Student's pooled-variance t-test, as the study asked "
        '([options] t_test = "student", to reproduce an SPSS analysis); where Levene\'s test '
        "gave p < 0.05 the row is flagged with Welch's p"
    ),
}


@dataclass
class Context:
    """What every section needs: the study, the data, labels and output settings."""

    spec: Mapping[str, Any]
    base: Path
    out: Path
    data: StudyData
    labels: Labels
    decimals: int
    fig_fmt: str
    logistic_result: LogisticResult | None = None
    #: Patients in no analysis because no film of theirs could be measured (films.csv).
    absent: int = 0
    outcome_stated: bool = False

    @property
    def outcome(self) -> Any:
        """Outcome column."""
        return self.spec["outcome"]["column"]

    @property
    def positive(self) -> Any:
        """Event value of the outcome."""
        return self.spec["outcome"].get("positive")

    @property
    def t_test(self) -> str:
        """Two-group test of continuous variables: ``"welch"`` (default) or ``"student"``."""
        choice = self.spec.get("options", {}).get("t_test", "welch")
        if choice not in T_TESTS:
            raise StatsInputError(
                f"study [options] t_test must be one of {', '.join(map(repr, T_TESTS))}, "
                f"got {choice!r}"
            )
        return choice

    def outcome_sentence(self) -> str:
        """Return the outcome's definition for Methods, once per report ('' after that).

        From ``[outcome] definition``, else from a ``<outcome>_rule`` column of the data
        (``recompression_rule`` as ``kyphoimg run`` writes it).
        """
        if self.outcome_stated:
            return ""
        self.outcome_stated = True
        text = str(self.spec["outcome"].get("definition", "") or "")
        rule_col = f"{self.outcome}_rule"
        if not text and rule_col in self.data.rows.columns:
            rules = self.data.rows[rule_col].dropna().astype(str).unique()
            if len(rules):
                words = "; ".join(outcome_definition(r) for r in rules)
                text = f"{self.labels.var(self.outcome, with_unit=False)}: {words}"
        return f"Outcome definition. {text.rstrip('.')}." if text else ""

    def fmt(self) -> str:
        """Display format of means and SDs."""
        return f"f{min(max(self.decimals, 0), 4)}"


@dataclass
class Section:
    """Output of one section."""

    key: str
    heading: str
    blocks: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: dict[str, Path] = field(default_factory=dict)
    methods: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    n: dict[str, int] = field(default_factory=dict)
    not_estimable: list[dict[str, str]] = field(default_factory=list)

    def add(self, table: Table, indent_col: str | None = None, sheet: str = "") -> None:
        """Add a table to the HTML and the workbook (tables without rows are skipped)."""
        if table.frame.empty:
            return
        if sheet:
            table = dataclasses.replace(table, sheet=sheet)
        self.tables.append(table)
        self.blocks.append(html_table(table, indent_col))

    def skip(self, what: str, reason: str) -> None:
        """Show ``Not estimable: <reason>`` in place of the table(s) ``what``."""
        self.blocks.append(not_estimable_html(reason))
        self.not_estimable.append({"table": what, "reason": reason})

    def figure(self, ctx: Context, fig: Any, key: str, caption: str) -> None:
        """Save ``fig`` as PNG and SVG and embed it."""
        for p in save_figure(fig, ctx.out / "figures" / key):
            self.figures[f"{key}_{p.suffix[1:]}"] = p
        self.blocks.append(embed_figure(fig, ctx.fig_fmt, caption))

    def html(self) -> str:
        """Return the section's HTML with its heading."""
        return f"<h2>{html.escape(self.heading)}</h2>" + "".join(self.blocks)


def _stat_name(test: Any) -> str:
    """Return the symbol of a test's statistic (t, F, χ², U, H, W, z) from its name."""
    t = str(test)
    for key, sym in (
        ("Fisher", ""),
        ("t-test", "t"),
        ("ANOVA", "F"),
        ("chi-square", "χ²"),
        ("Mann–Whitney", "U"),
        ("Kruskal", "H"),
        ("Friedman", "χ²"),
        ("Wilcoxon", "W"),
        ("DeLong", "z"),
    ):
        if key in t:
            return sym
    return ""


def _with_stat(frame: pd.DataFrame, col: str = "test") -> pd.DataFrame:
    """Add ``stat_name`` (t, F, χ²...) from the test column."""
    if frame.empty or col not in frame.columns:
        return frame.assign(stat_name=pd.Series(dtype=object))
    return frame.assign(stat_name=frame[col].map(_stat_name))


def _eta_p2(frame: pd.DataFrame, stat: str = "statistic") -> pd.DataFrame:
    """Add partial eta squared, F·df1 / (F·df1 + df2), to the rows of ANOVA F tests."""
    if frame.empty:
        return frame.assign(eta_p2=pd.Series(dtype=float))
    f, d1, d2 = frame[stat].astype(float), frame["df1"].astype(float), frame["df2"].astype(float)
    is_f = frame["test"].astype(str).str.contains("ANOVA")
    return frame.assign(eta_p2=(f * d1 / (f * d1 + d2)).where(is_f))


def _lower(label: str) -> str:
    """Lower-case a label for running text, but keep acronyms (ASD, IVC, KA) as written."""
    first = label.split(" ", 1)[0]
    return label if sum(c.isupper() for c in first) > 1 else label[:1].lower() + label[1:]


def _n_text(ctx: Context, rows: pd.DataFrame, by: Mapping[Any, int] | None = None) -> str:
    """Say how many patients (and vertebrae) a table analysed, by group when given."""
    d = ctx.data
    groups = (
        " (" + ", ".join(f"{ctx.labels.group(g)} {n}" for g, n in by.items()) + ")" if by else ""
    )
    if d.subject is None:
        return f"Analysed: n = {len(rows)}{groups}"
    n_pat = rows[d.subject].nunique()
    if d.unit == "vertebra":
        return f"Analysed: {n_pat} patients, {len(rows)} vertebrae{groups}"
    if by:  # rows without a group are not analysed
        n_pat = sum(by.values())
    return f"Analysed: {n_pat} patients{groups}, one index vertebra each"


# --------------------------------------------------------------------------- Table 1
def _t1_cells(t1: Table1, labels: Labels, decimals: int, absent: int = 0) -> pd.DataFrame:
    """Return the published layout of Table 1 with display names (strings per group).

    ``Missing`` counts the analysed patients without a value plus the ``absent`` ones
    (patients with no measurable film, in no analysis).
    """
    heads = {g: f"{labels.group(g)} (n={t1.group_sizes[g]})" for g in t1.groups}
    tests = t1.tests.set_index("variable")
    rows = []
    for var, sub in t1.summary.groupby("variable", sort=False):
        kind = sub["kind"].iloc[0]
        test = tests.loc[var]
        missing = int(sub.groupby("group")["missing"].first().sum()) + absent
        base: dict[str, Any] = {"Missing": missing}
        base.update({"SMD": test["smd"], "p": test["p_value"], "Test": test["test"]})
        if kind == "categorical":
            rows.append({"Characteristic": f"{labels.var(var)}, n (%)", **base})
            for lv, lsub in sub.groupby("level", sort=False):
                cells = {
                    heads[r.group]: f"{int(r['count'])} ({fmt_num(r['percent'], decimals)})"
                    for _, r in lsub.iterrows()
                }
                rows.append({"Characteristic": "  " + labels.level(var, lv), **cells})
            continue
        what = "median [IQR]" if kind == "nonnormal" else "mean ± SD"
        cells = {}
        for _, r in sub.iterrows():
            if kind == "nonnormal":
                text = (
                    f"{fmt_num(r['median'], decimals)} [{fmt_num(r['q1'], decimals)}–"
                    f"{fmt_num(r['q3'], decimals)}]"
                )
            else:
                text = f"{fmt_num(r['mean'], decimals)} ± {fmt_num(r['sd'], decimals)}"
            cells[heads[r.group]] = text
        rows.append({"Characteristic": f"{labels.var(var)}, {what}", **cells, **base})
    columns = ["Characteristic", *heads.values(), "Missing", "SMD", "p", "Test"]
    return pd.DataFrame(rows).reindex(columns=columns)


def _t1_numbers(t1: Table1, labels: Labels, absent: int = 0) -> pd.DataFrame:
    """Table 1 for the workbook: one numeric column per statistic and group.

    Every row has the patients with a value in each group (``<group>: n``, for a
    categorical level the patients at that level) and ``Missing`` as in the HTML.
    """
    tests = t1.tests.set_index("variable")
    missing = {
        var: int(sub.groupby("group")["missing"].first().sum()) + absent
        for var, sub in t1.summary.groupby("variable", sort=False)
    }
    rows = []
    for (var, lv), sub in t1.summary.groupby(["variable", "level"], sort=False):
        kind = sub["kind"].iloc[0]
        test = tests.loc[cast(str, var)]
        row: dict[str, Any] = {
            "Characteristic": labels.var(var),
            "Level": labels.level(var, lv) if kind == "categorical" else "",
            "Statistic": {"categorical": "n (%)", "nonnormal": "median [Q1–Q3]"}.get(
                kind, "mean ± SD"
            ),
        }
        for _, r in sub.iterrows():
            g = labels.group(r["group"])
            if kind == "categorical":
                row[f"{g}: n"], row[f"{g}: %"] = r["count"], r["percent"]
            elif kind == "nonnormal":
                row[f"{g}: n"] = r["n"]
                row[f"{g}: median"], row[f"{g}: Q1"], row[f"{g}: Q3"] = (
                    r["median"],
                    r["q1"],
                    r["q3"],
                )
            else:
                row[f"{g}: n"] = r["n"]
                row[f"{g}: mean"], row[f"{g}: SD"] = r["mean"], r["sd"]
        row["Missing"] = missing[cast(str, var)]
        row.update({"SMD": test["smd"], "p": test["p_value"], "Test": test["test"]})
        rows.append(row)
    frame = pd.DataFrame(rows)
    stats = ("n", "%", "mean", "SD", "median", "Q1", "Q3")
    by_group = [f"{labels.group(g)}: {s}" for g in t1.groups for s in stats]
    first = ["Characteristic", "Level", "Statistic", *by_group, "Missing", "SMD", "p", "Test"]
    return frame[[c for c in first if c in frame.columns]]


def _t1_formats(frame: pd.DataFrame, decimals: int) -> dict[str, str]:
    fmt = f"f{decimals}"
    out: dict[str, str] = {}
    for c in frame.columns:
        if c in ("SMD",):
            out[c] = "f2"
        elif c == "p":
            out[c] = "p"
        elif c in ("Missing",) or c.endswith(": n"):
            out[c] = "int"
        elif ": " in c:
            out[c] = fmt
        else:
            out[c] = "text"
    return out


def table1_section(ctx: Context) -> Section:
    """``[table1]``: baseline characteristics by group."""
    t1s = ctx.spec["table1"]
    group = t1s.get("group", ctx.outcome)
    cont = list(t1s.get("continuous", [])) + list(t1s.get("nonnormal", []))
    cat = list(t1s.get("categorical", []))
    sec = Section("table1", "Table 1. Characteristics by group")
    parts = [("", ctx.data.rows, cont, cat)]
    if ctx.data.unit == "vertebra":
        per_patient, pcols = ctx.data.once_per_patient([*cont, *cat], by=group)
        vert_cont = [c for c in cont if c not in pcols]
        vert_cat = [c for c in cat if c not in pcols]
        parts = [
            (
                " (patients)",
                per_patient,
                [c for c in cont if c in pcols],
                [c for c in cat if c in pcols],
            ),
            (" (vertebrae)", ctx.data.rows, vert_cont, vert_cat),
        ]
    for suffix, rows, c_vars, k_vars in parts:
        if not c_vars and not k_vars:
            continue
        normal = [c for c in c_vars if c not in t1s.get("nonnormal", [])]
        t1 = table1(
            rows,
            group,
            continuous=normal,
            categorical=k_vars,
            nonnormal=[c for c in c_vars if c in t1s.get("nonnormal", [])],
            tests={**dict.fromkeys(normal, ctx.t_test), **t1s.get("tests", {})},
            decimals=ctx.decimals,
        )
        unit_note = _n_text(ctx, rows, {g: t1.group_sizes[g] for g in t1.groups})
        multiplicity = _MULTIPLICITY.format(k=len(t1.tests), what="tests of this table")
        note = f"{t1.footnote} {unit_note}. {multiplicity}"
        if ctx.absent:
            note += (
                f" Missing includes {ctx.absent} patient(s) with no measurable film, in no "
                "analysis (named under Data)."
            )
        if suffix == " (patients)":
            note += " Patient-level variables: each patient counted once per group."
        if suffix == " (vertebrae)":
            note += " Vertebrae of the same patient are treated as independent in these tests."
        cells = _t1_cells(t1, ctx.labels, ctx.decimals, ctx.absent)
        title = f"Table 1{suffix}. Characteristics by {ctx.labels.var(group).lower()}"
        sec.blocks.append(
            html_table(
                Table(title, cells, {"Missing": "int", "SMD": "f2", "p": "p"}, note),
                "Characteristic",
            )
        )
        numbers = _t1_numbers(t1, ctx.labels, ctx.absent)
        sec.tables.append(
            Table(f"Table 1{suffix}", numbers, _t1_formats(numbers, ctx.decimals), note)
        )
        sec.tables.append(_t1_tests(t1, ctx.labels, f"Table 1{suffix} tests"))
        sec.tests += [t for t in t1.tests["test"] if t]
        sec.n[f"table1{suffix.strip(' ()') or ''}_rows"] = int(sum(t1.group_sizes.values()))
    groups = [ctx.labels.group(g) for g in sorted(ctx.data.rows[group].dropna().unique(), key=str)]
    sec.methods.append(ctx.outcome_sentence())
    sec.methods.append(
        f"Characteristics were compared between the groups {', '.join(groups[:-1])} and "
        f"{groups[-1]} "
        f"({'; '.join(dict.fromkeys(sec.tests))}). {T_TESTS[ctx.t_test]}."
    )
    return sec


def _t1_tests(t1: Table1, labels: Labels, title: str) -> Table:
    return select(
        _with_stat(t1.tests),
        {
            "variable": ("Variable", "text"),
            "test": ("Test", "text"),
            "stat_name": ("Statistic type", "text"),
            "statistic": ("Statistic", "f3"),
            "df": ("df", "f2"),
            "p_value": ("p", "p"),
            "difference": ("Mean difference", "f2"),
            "diff_ci_low": ("Difference 95% CI low", "f2"),
            "diff_ci_high": ("Difference 95% CI high", "f2"),
            "smd": ("SMD", "f2"),
            "note": ("Note", "text"),
        },
        title,
        "Mean difference: first group minus second, 95% CI of the t-test used. "
        + _MULTIPLICITY.format(k=len(t1.tests), what="tests of this table"),
        labels=labels,
        relabel={"variable": "var"},
    )


_MULTIPLICITY = (
    "The {k} {what} are not corrected for multiplicity; read their p-values as "
    "descriptive (at 5% each, about 1 in 20 true null differences appears significant)."
)


# --------------------------------------------------------------------------- time points
def _long_table(
    ctx: Context, tp: Mapping[str, Any], values: list[str]
) -> tuple[pd.DataFrame, str, str]:
    """Return the long table, subject and time columns of ``[timepoints]``."""
    if "longitudinal" in ctx.spec["data"]:
        from ._data import read_table

        long = read_table(ctx.spec["data"]["longitudinal"], ctx.base, "longitudinal")
        return long, tp.get("subject", "subject"), tp.get("time", "time")
    if "time" in tp:
        return ctx.data.rows, tp.get("subject", "subject"), tp["time"]
    order = [str(t) for t in tp.get("order", list(TIMEPOINTS))]
    rows = ctx.data.rows.assign(unit_id=ctx.data.unit_id.to_numpy())
    group = tp.get("group")
    keep = [group] if group is not None and group in rows.columns else []
    long = wide_to_long(rows, "unit_id", values, order, keep=keep)
    return long, "unit_id", "time"


_WITHIN = {
    "group": ("Group", "text"),
    "test": ("Test", "text"),
    "stat_name": ("Statistic type", "text"),
    "statistic": ("Statistic", "f2"),
    "df1": ("df1", "f2"),
    "df2": ("df2", "f2"),
    "epsilon_gg": ("GG ε", "f3"),
    "df1_gg": ("df1 (GG)", "f2"),
    "df2_gg": ("df2 (GG)", "f2"),
    "p_value": ("p", "p"),
    "eta_p2": ("Partial η²", "f3"),
    "n_subjects": ("n", "int"),
    "n_excluded": ("Excluded (incomplete)", "int"),
    "note": ("Note", "text"),
}
_POSTHOC = {
    "group": ("Group", "text"),
    "time_a": ("Time A", "text"),
    "time_b": ("Time B", "text"),
    "change": ("Mean change (B − A)", "f2"),
    "change_ci_low": ("Change 95% CI low", "f2"),
    "change_ci_high": ("Change 95% CI high", "f2"),
    "stat_name": ("Statistic type", "text"),
    "statistic": ("Statistic", "f2"),
    "df": ("df", "f0"),
    "p_uncorrected": ("p (uncorrected)", "p"),
    "p_adjusted": ("p (adjusted)", "p"),
    "n": ("n", "int"),
    "note": ("Note", "text"),
}
_BETWEEN = {
    "time": ("Time", "text"),
    "test": ("Test", "text"),
    "difference": ("Mean difference", "f2"),
    "diff_ci_low": ("Difference 95% CI low", "f2"),
    "diff_ci_high": ("Difference 95% CI high", "f2"),
    "stat_name": ("Statistic type", "text"),
    "statistic": ("Statistic", "f2"),
    "df": ("df", "f0"),
    "p_value": ("p", "p"),
    "n": ("n", "int"),
    "note": ("Note", "text"),
}
_INTERACTION = {
    "effect": ("Effect", "text"),
    "statistic": ("F", "f2"),
    "eta_p2": ("Partial η²", "f3"),
    "df1": ("df1", "f0"),
    "df2": ("df2", "f0"),
    "epsilon_gg": ("GG ε", "f3"),
    "df1_gg": ("df1 (GG)", "f2"),
    "df2_gg": ("df2 (GG)", "f2"),
    "p_value": ("p", "p"),
    "p_uncorrected": ("p (uncorrected)", "p"),
    "sphericity_w": ("Mauchly W", "f3"),
    "sphericity_p": ("Mauchly p", "p"),
    "n_subjects": ("n", "int"),
}


def _measure_tables(ctx: Context, sec: Section, v: str, res: Any, unit: str) -> None:
    lab = ctx.labels
    name = lab.var(v)
    rel = {"group": "group", "time": "time", "time_a": "time", "time_b": "time"}
    fmt = ctx.fmt()
    desc = {
        "group": ("Group", "text"),
        "time": ("Time", "text"),
        "n": ("n", "int"),
        "mean": ("Mean", fmt),
        "sd": ("SD", fmt),
        "median": ("Median", fmt),
        "q1": ("Q1", fmt),
        "q3": ("Q3", fmt),
    }
    sec.blocks.append(f"<h3>{html.escape(name)}</h3>")
    descriptives = select(res.descriptives, desc, f"{name}: descriptive statistics", unit, lab, rel)
    sec.add(descriptives, sheet=f"{name} descriptives")
    within_note = (
        "p: Greenhouse–Geisser corrected; df (GG) = df × ε." if res.method == "rm_anova" else ""
    )
    sec.add(
        select(
            _eta_p2(_with_stat(res.within)),
            _WITHIN,
            f"{name}: change over time within groups",
            within_note,
            lab,
            rel,
        ),
        sheet=f"{name} within",
    )
    post_note = common_note(res.posthoc, ["test", "correction"])
    sec.add(
        select(
            _with_stat(res.posthoc),
            _POSTHOC,
            f"{name}: pairwise comparisons of time points",
            post_note,
            lab,
            rel,
        ),
        sheet=f"{name} pairwise",
    )
    between_note = "Mean difference: first group minus second, 95% CI of the t-test used. " + (
        _MULTIPLICITY.format(k=len(res.between), what="per-time-point comparisons")
    )
    sec.add(
        select(
            _with_stat(res.between),
            _BETWEEN,
            f"{name}: groups compared at each time point",
            between_note if not res.between.empty else "",
            lab,
            rel,
        ),
        sheet=f"{name} between",
    )
    if not res.interaction.empty:
        group_name = lab.var(ctx.spec["timepoints"].get("group", ""), with_unit=False)
        effects = {"group": group_name, "time": "Time", "group × time": f"{group_name} × time"}
        inter = res.interaction.assign(effect=res.interaction["effect"].map(effects))
        # every effect of the mixed ANOVA is an F test
        eta = _eta_p2(inter.assign(test="ANOVA"))["eta_p2"]
        res = _with(res, interaction=inter.assign(eta_p2=eta))
        note = (
            f"{res.interaction['test'].iloc[0]}; subjects with every time point "
            f"(n = {int(res.interaction['n_subjects'].iloc[0])})."
        )
        sec.add(
            select(res.interaction, _INTERACTION, f"{name}: group × time (mixed ANOVA)", note, lab),
            sheet=f"{name} interaction",
        )
    sec.tests += [t for t in res.within["test"] if isinstance(t, str) and t]
    sec.tests += [t for t in res.posthoc["test"].unique() if t]
    sec.tests += [t for t in res.between["test"].unique() if t]
    sec.tests += [t for t in res.interaction["test"].unique() if t]


def _with(res: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(res, **changes)


def _tp_note(ctx: Context, res: Any) -> str:
    """Say whom the tables of one measure analysed (complete cases by group)."""
    w = res.within
    by = ", ".join(
        f"{ctx.labels.group(g)} {int(n)}" for g, n in zip(w["group"], w["n_subjects"], strict=True)
    )
    whole = "patients" if ctx.data.unit == "patient" else "vertebrae"
    who = "with every time point" if res.method != "mixed" else "with at least one time point"
    return (
        f"Analysed over time: the {whole} {who} ({by}); descriptive statistics and the "
        "comparisons at each time point use every value available (n per row)."
    )


def timepoints_section(ctx: Context) -> Section:
    """``[timepoints]``: change over time within groups, groups per time point."""
    outcome_text = ctx.outcome_sentence()
    tp = ctx.spec["timepoints"]
    values = tp.get("values") or []
    values = [values] if isinstance(values, str) else list(values)
    if not values:
        raise StatsInputError("study [timepoints]: 'values' must name at least one measure")
    long, subject, time = _long_table(ctx, tp, values)
    sec = Section("timepoints", "Change over time")
    sec.methods.append(outcome_text)
    method = tp.get("method", "rm_anova")
    group = tp.get("group")
    lab = ctx.labels
    for v in values:
        order = tp.get("order") or sorted(long[time].dropna().unique().tolist(), key=str)
        why = partial(complete_case_reason, long, subject, time, v, group, order, name=lab.group)
        try:
            with translated(why):
                res = compare_timepoints(
                    long, subject, time, v, group=group, order=tp.get("order"), method=method,
                    posthoc=tp.get("posthoc"), correction=tp.get("correction", "bonferroni"),
                    between=None if method == "friedman" else ctx.t_test,
                )  # fmt: skip
        except NotEstimableError as exc:
            sec.blocks.append(f"<h3>{html.escape(ctx.labels.var(v))}</h3>")
            sec.skip(ctx.labels.var(v), str(exc))
            continue
        _measure_tables(ctx, sec, v, res, _tp_note(ctx, res))
        fig = plot_timecourse(
            res,
            ylabel=ctx.labels.var(v),
            group_labels={g: ctx.labels.group(g) for g in res.descriptives["group"].unique()},
            time_labels={t: ctx.labels.time(t) for t in res.order},
        )
        fig.axes[0].set_xlabel("Time point")
        sec.figure(
            ctx, fig, f"timecourse_{v}", f"{ctx.labels.var(v)}: mean ± SD by group over time"
        )
    correction = CORRECTIONS[tp.get("correction", "bonferroni")]
    if not sec.tables:
        return sec
    sec.methods.append(
        f"{', '.join(ctx.labels.var(v) for v in values)} were compared over "
        f"{', '.join(ctx.labels.time(t).lower() for t in tp.get('order', []))} within each "
        f"group ({'; '.join(dict.fromkeys(t for t in sec.tests if 'within' not in t))}); "
        f"pairwise comparisons of time points were corrected by {correction}."
    )
    return sec


# --------------------------------------------------------------------------- correlation
def _dichotomised(
    ctx: Context, factors: list, rules: Mapping[str, Any]
) -> tuple[pd.DataFrame, dict]:
    rows = ctx.data.rows.copy()
    names = {}
    for col, ref in rules.items():
        if col not in rows.columns:
            raise StatsInputError(f"study [correlation] dichotomise: column {col!r} not found")
        s = rows[col]
        coded = np.where((s.astype(str) == str(ref)).to_numpy(), "no", "yes").astype(object)
        coded[s.isna().to_numpy()] = None
        new = f"{col} (any vs {ref})"
        rows[new] = pd.Series(coded, index=rows.index).astype(object)
        names[col] = new
    return rows, names


def correlation_section(ctx: Context) -> Section:
    """``[correlation]``: each factor's correlation with the outcome, method named."""
    outcome_text = ctx.outcome_sentence()
    cs = ctx.spec["correlation"]
    factors = list(cs.get("factors", []))
    rows, renamed = _dichotomised(ctx, factors, dict(cs.get("dichotomise", {})))
    sec = Section("correlation", "Correlation with the outcome")
    sec.methods.append(outcome_text)
    frames = []
    for f in factors:
        col = renamed.get(f, f)
        use = rows
        if ctx.data.unit == "vertebra" and ctx.data.subject is not None:
            once, pcols = ctx.data.once_per_patient([f], by=ctx.outcome)
            use = once.assign(**{col: rows.loc[once.index, col]}) if f in pcols else rows
        why = partial(model_reason, use, [ctx.outcome, col], name=ctx.labels.var)
        try:
            with translated(why):
                res = correlate(
                    use, ctx.outcome, [col], cs.get("method", "auto"), positive=ctx.positive
                )
        except NotEstimableError as exc:
            sec.skip(ctx.labels.var(f), f"{ctx.labels.var(f)}: {exc}")
            continue
        if f in renamed:
            ref = ctx.labels.level(f, cs["dichotomise"][f])
            res["label"] = f"{ctx.labels.var(f, with_unit=False)} (any vs {ref})"
        else:
            res["label"] = ctx.labels.var(f)
        frames.append(res)
    if not frames:
        return sec
    cor = pd.concat(frames, ignore_index=True)
    cols = {
        "label": ("Factor", "text"),
        "method": ("Coefficient", "text"),
        "n": ("n", "int"),
        "r": ("r", "f3"),
        "ci_low": ("95% CI low", "f3"),
        "ci_high": ("95% CI high", "f3"),
        "statistic": ("Statistic", "f2"),
        "df": ("df", "f0"),
        "p_value": ("p", "p"),
        "test": ("Test", "text"),
    }
    names = {
        "pointbiserial": "point-biserial r",
        "phi": "phi",
        "pearson": "Pearson r",
        "spearman": "Spearman rho",
        "kendall": "Kendall tau-b",
        "cramers_v": "Cramér's V",
    }
    cor["method"] = cor["method"].map(lambda m: names.get(m, m))
    note = f"Outcome: {ctx.labels.var(ctx.outcome)}. CIs: " + common_note(cor, ["ci_method"])
    sec.add(
        select(cor, cols, "Correlation of each factor with the outcome", note), sheet="Correlation"
    )
    sec.tests += list(dict.fromkeys(cor["test"]))
    sec.methods.append(
        f"Correlation of each factor with {ctx.labels.var(ctx.outcome).lower()}: "
        + "; ".join(sec.tests)
        + "."
    )
    sec.n["correlation_max_n"] = int(cor["n"].max())
    return sec


# --------------------------------------------------------------------------- logistic
def _term_labels(ctx: Context, lr: LogisticResult) -> dict[str, str]:
    terms = list(lr.multivariable["term"]) + list(lr.univariable["term"])
    return {t: ctx.labels.term(t, lr.reference) for t in terms}


def _equation(lr: LogisticResult, names: Mapping[str, str]) -> str:
    """Return the prediction equation with display names (4 decimals)."""
    if not lr.estimable:
        return lr.equation
    mv = lr.multivariable
    b = mv["coef"].to_numpy()
    parts = [f"{b[0]:.4f}".replace("-", "−")]
    for term, coef in zip(mv["term"].iloc[1:], b[1:], strict=True):
        sign = "−" if coef < 0 else "+"
        parts.append(f"{sign} {abs(coef):.4f} × [{names[term]}]")
    return "logit(p) = " + " ".join(parts) + "; p = 1 / (1 + exp(−logit(p)))"


def _logistic_tables(ctx: Context, sec: Section, lr: LogisticResult) -> None:
    names = _term_labels(ctx, lr)
    uni = lr.univariable.assign(label=lr.univariable["term"].map(names))
    ci = "profile penalised likelihood" if lr.method == "firth" else uni["ci_method"].iloc[0]
    sec.add(
        select(
            uni,
            {
                "label": ("Predictor", "text"),
                "n": ("n", "int"),
                "events": ("Events", "int"),
                "coef": ("B", "f3"),
                "se": ("SE", "f3"),
                "odds_ratio": ("OR", "or"),
                "ci_low": ("95% CI low", "or"),
                "ci_high": ("95% CI high", "or"),
                "p_value": ("p", "p"),
                "note": ("Note", "text"),
            },
            "Univariable logistic regression",
            f"OR per unit or vs the reference level; 95% CI: {ci}. " + common_note(uni, ["test"]),
        ),
        sheet="Logistic univariable",
    )
    mv = lr.multivariable.assign(label=lr.multivariable["term"].map(names))
    intercept = mv["term"] == "(Intercept)"
    for col in ("odds_ratio", "wald_ci_low", "wald_ci_high", "profile_ci_low", "profile_ci_high"):
        mv.loc[intercept, col] = np.nan  # the odds of the reference profile, not a ratio
    primary = "wald" if lr.method == "gee" else "profile"
    cols = {
        "label": ("Term", "text"),
        "coef": ("B", "f3"),
        "se": ("SE", "f3"),
        "odds_ratio": ("OR", "or"),
        f"{primary}_ci_low": ("95% CI low", "or"),
        f"{primary}_ci_high": ("95% CI high", "or"),
        "p_value": ("p", "p"),
    }
    if lr.method != "gee":
        cols.update({"wald_ci_low": ("Wald CI low", "or"), "wald_ci_high": ("Wald CI high", "or")})
    if ctx.spec["logistic"].get("per_sd", False) and lr.estimable:
        mv = _per_sd(ctx, lr, mv, primary)
        cols.update(
            {
                "sd": ("SD", "f2"),
                "or_sd": ("OR per SD", "or"),
                "or_sd_low": ("OR per SD 95% CI low", "or"),
                "or_sd_high": ("OR per SD 95% CI high", "or"),
            }
        )
    kind = {
        "ml": "profile likelihood",
        "firth": "profile penalised likelihood",
        "gee": "Wald, cluster-robust",
    }[lr.method]
    note = f"95% CI: {kind}. " + common_note(mv, ["test"])
    if not lr.estimable:
        why = lr.not_estimable.get("model", "separation")
        note = f"Not estimable: {why}; no coefficient, test or AUC is reported. " + note
    sec.add(
        select(mv, cols, "Multivariable logistic regression", note), sheet="Logistic multivariable"
    )
    overall = _overall_tests(ctx, lr)
    if not overall.empty:
        sec.add(
            select(
                overall,
                {
                    "label": ("Factor", "text"),
                    "df": ("df", "int"),
                    "statistic": ("Chi-square", "f2"),
                    "p_value": ("p", "p"),
                },
                "Overall test of each multi-level factor in the multivariable model",
                common_note(overall, ["test"])
                + " Each factor's terms dropped together from the model.",
            ),
            sheet="Logistic overall tests",
        )
        sec.tests += list(dict.fromkeys(overall["test"]))
    for table in _model_tables(lr, _equation(lr, names)):
        sec.add(table)
    vif = lr.vif.assign(label=lr.vif["term"].map(names))
    sec.add(
        select(
            vif, {"label": ("Term", "text"), "vif": ("VIF", "f2")}, "Variance inflation factors"
        ),
        sheet="VIF",
    )


def _per_sd(ctx: Context, lr: LogisticResult, mv: pd.DataFrame, primary: str) -> pd.DataFrame:
    """Add the OR per standard deviation (SD of the model's complete cases) of numeric terms."""
    rows = ctx.data.rows.loc[lr.predicted.index]
    sd = {
        t: float(pd.to_numeric(rows[t], errors="coerce").std(ddof=1))
        for t in mv["term"]
        if t in rows.columns and pd.api.types.is_numeric_dtype(rows[t]) and t not in lr.reference
    }
    s = mv["term"].map(sd).astype(float)
    return mv.assign(
        sd=s,
        or_sd=np.exp(mv["coef"] * s),
        or_sd_low=mv[f"{primary}_ci_low"] ** s,
        or_sd_high=mv[f"{primary}_ci_high"] ** s,
    )


def _overall_tests(ctx: Context, lr: LogisticResult) -> pd.DataFrame:
    """Likelihood-ratio test of each multi-level factor (all its terms) in the model."""
    if not lr.estimable or lr.method == "gee":
        return pd.DataFrame()
    rows = []
    for p in lr.selected:
        n_terms = sum(str(t).startswith(f"{p}[") for t in lr.multivariable["term"])
        if n_terms < 2:
            continue
        res = nested_lr_test(lr, ctx.data.rows, [q for q in lr.selected if q != p])
        rows.append({**res, "label": ctx.labels.var(p, with_unit=False)})
    return pd.DataFrame(rows)


_METHOD_NAMES = {
    "ml": "maximum likelihood",
    "firth": "Firth penalised likelihood",
    "gee": "GEE, exchangeable working correlation, cluster-robust SE",
}


def _model_tables(lr: LogisticResult, equation: str) -> tuple[Table, Table]:
    """Return the model description (text) and its performance (one numeric row)."""
    n_text: Any = f"{lr.n} vertebrae of {lr.n_clusters} patients" if lr.n_clusters else lr.n
    about = pd.DataFrame(
        {
            "Item": ["Method", "Prediction equation", "Complete cases", "Excluded (missing)"],
            "Value": [_METHOD_NAMES[lr.method], equation, n_text, lr.n_excluded],
        }
    )
    disc = lr.discrimination.iloc[0]
    hl = lr.hosmer_lemeshow.iloc[0]
    cal = lr.calibration.set_index("measure")
    perf = {
        "Events": (lr.n_events, "int"),
        "Events per variable": (lr.epv, "f1"),
        "AUC (apparent)": (disc["auc_apparent"], "f3"),
        "AUC 95% CI low": (disc["ci_low"], "f3"),
        "AUC 95% CI high": (disc["ci_high"], "f3"),
        "AUC (optimism-corrected)": (disc["auc_corrected"], "f3"),
        "Bootstrap resamples": (disc["bootstrap"], "int"),
        "Failed resamples": (disc["n_failed"], "int"),
        "Calibration slope (corrected)": (cal.loc["slope", "optimism_corrected"], "f3"),
        "Calibration intercept (corrected)": (cal.loc["intercept", "optimism_corrected"], "f3"),
        "Hosmer–Lemeshow chi-square": (hl["statistic"], "f2"),
        "Hosmer–Lemeshow df": (hl["df"], "int"),
        "Hosmer–Lemeshow p": (hl["p_value"], "p"),
    }
    kept = {k: v for k, v in perf.items() if not (isinstance(v[0], float) and np.isnan(v[0]))}
    if not disc["bootstrap"]:
        kept.pop("Failed resamples", None)
    if not lr.estimable:
        kept = {"Events": perf["Events"], "Events per variable": perf["Events per variable"]}
    frame = pd.DataFrame([{k: v for k, (v, _) in kept.items()}])
    note = "AUC: apparent (in the data the model was fitted to); CI: DeLong."
    if lr.estimable and disc["bootstrap"]:
        note += (
            " Bootstrap: Harrell optimism correction, the whole procedure "
            + ("(univariable screen included) " if lr.screened else "")
            + "repeated in each resample."
        )
    if lr.method == "gee":
        note += " No Hosmer–Lemeshow test or bootstrap for clustered rows."
    rarer = min(lr.n_events, lr.n - lr.n_events)
    groups = int(hl["groups"]) if np.isfinite(hl["groups"]) and hl["groups"] else 0
    if "Hosmer–Lemeshow p" in kept and groups and rarer / groups < 5:
        note += (
            f" Hosmer–Lemeshow: few events ({rarer} over {groups} risk groups, fewer than 5 "
            "expected per group); the test has little power to detect poor calibration."
        )
    for reason in lr.not_estimable.values():
        note += f" Not estimable: {reason}."
    return (
        Table("Logistic model", about),
        Table("Model performance", frame, {k: f for k, (_, f) in kept.items()}, note),
    )


def logistic_section(ctx: Context) -> Section:
    """``[logistic]``: univariable and multivariable models."""
    outcome_text = ctx.outcome_sentence()
    ls = ctx.spec["logistic"]
    reference = {**ctx.data.reference, **dict(ls.get("reference", {}))}
    method = ls.get("method", "ml")
    why = partial(model_reason, ctx.data.rows, [ctx.outcome, *ls.get("predictors", [])],
                  name=ctx.labels.var)  # fmt: skip
    with translated(why):
        lr = logistic(
            ctx.data.rows,
            ctx.outcome,
            ls.get("predictors", []),
            ls.get("univariable_screen"),
            positive=ctx.positive,
            categorical=ls.get("categorical", []),
            bootstrap=int(ls.get("bootstrap", 200)),
            seed=int(ls.get("seed", 20240601)),
            profile=bool(ls.get("profile", True)),
            method=method,
            clusters=ctx.data.clusters,
            reference={k: v for k, v in reference.items() if k in ls.get("predictors", [])},
        )
    ctx.logistic_result = lr
    sec = Section("logistic", "Logistic regression")
    sec.methods.append(outcome_text)
    _logistic_tables(ctx, sec, lr)
    if lr.estimable:
        fig = plot_forest(
            lr, ci="wald" if lr.method == "gee" else "profile", labels=_term_labels(ctx, lr)
        )
        sec.figure(ctx, fig, "forest", "Odds ratios of the multivariable model (95% CI, log scale)")
    sec.tests += list(dict.fromkeys([*lr.univariable["test"], *lr.multivariable["test"]]))
    est = {
        "ml": "maximum likelihood (Wald tests, profile-likelihood CIs)",
        "firth": "Firth's penalised likelihood (penalised likelihood-ratio tests, profile "
        "penalised-likelihood CIs, as R logistf)",
        "gee": "generalised estimating equations with an exchangeable working correlation "
        "and cluster-robust standard errors (vertebrae clustered within patients)",
    }[lr.method]
    screen = ls.get("univariable_screen")
    text = (
        f"Logistic regression of {_lower(ctx.labels.var(ctx.outcome))} was fitted by {est}; "
        + (
            "all candidates entered the multivariable model"
            if screen is None
            else f"predictors with univariable p < {screen} entered the multivariable model"
        )
        + f". By convention {EVENTS_FLOOR}; below that floor the model is reported as not "
        "estimable."
    )
    runs = int(ls.get("bootstrap", 200))
    if lr.estimable and lr.method != "gee":
        text += (
            " AUCs of the model are apparent (computed in the data it was fitted to)"
            + (
                f"; discrimination and calibration (slope and intercept) were corrected for "
                f"optimism with {runs} bootstrap resamples, each repeating the whole "
                f"procedure{' (univariable screen included)' if screen is not None else ''} "
                "(Harrell); a resample whose refit did not converge counts as failed, and "
                "any failure leaves the corrected values unreported"
                if runs
                else ""
            )
            + "; goodness of fit by the Hosmer–Lemeshow test. Under separation, or when the "
            "calibration refit does not converge, no performance figure but the apparent "
            "AUC is estimated."
        )
    if not lr.estimable:
        why = lr.not_estimable.get("model", "separation")
        text += f" The multivariable model was not estimable: {why}."
    sec.methods.append(text)
    sec.n.update(logistic_n=lr.n, logistic_events=lr.n_events)
    return sec


# --------------------------------------------------------------------------- ROC
def _roc_curves(ctx: Context, markers: Mapping[Any, str]) -> dict[str, RocResult]:
    rows = ctx.data.rows
    curves: dict[str, RocResult] = {}
    for m, direction in markers.items():
        if m not in rows.columns:
            raise StatsInputError(f"study [roc]: marker column {m!r} not in the table")
        curves[m] = roc(
            rows[ctx.outcome], cast(pd.Series, rows[m]), ctx.positive, direction, label=m
        )
    lr = ctx.logistic_result
    if ctx.spec["roc"].get("model", False) and lr is not None and lr.roc is not None:
        curves["model"] = lr.roc
    return curves


def _delong_rows(
    ctx: Context, markers: Mapping[Any, str], curves: Mapping[str, RocResult]
) -> pd.DataFrame:
    """Paired DeLong tests between the markers (never the model against its components)."""
    rows = ctx.data.rows
    names = [m for m in curves if m != "model"]
    tests = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            tests.append(
                delong_test(rows[ctx.outcome], rows[a], rows[b], direction=(markers[a], markers[b]),
                            positive=ctx.positive, labels=(a, b)).to_frame()
            )  # fmt: skip
    return pd.concat(tests, ignore_index=True) if tests else pd.DataFrame()


def _nested_rows(ctx: Context, markers: Mapping[Any, str]) -> pd.DataFrame:
    """Likelihood-ratio tests of what the model adds to each marker it contains."""
    lr = ctx.logistic_result
    if lr is None or not lr.estimable or lr.method == "gee" or len(lr.selected) < 2:
        return pd.DataFrame()
    out = []
    for m in markers:
        if str(m) in lr.selected:
            row = nested_lr_test(lr, ctx.data.rows, [str(m)])
            row["pair"] = f"Model vs {ctx.labels.var(m)} alone"
            row["added_label"] = ", ".join(
                ctx.labels.var(p, with_unit=False) for p in lr.selected if p != str(m)
            )
            out.append(row)
    return pd.DataFrame(out)


def roc_section(ctx: Context) -> Section:
    """``[roc]``: ROC curve per marker (and of the model), DeLong comparisons."""
    markers = ctx.spec["roc"].get("markers", {})
    if not isinstance(markers, Mapping) or not markers:
        raise StatsInputError(
            "study [roc] markers must map each marker to its direction, "
            'e.g. markers = { age = "higher", bmd = "lower" }'
        )
    curves = _roc_curves(ctx, markers)
    lab = ctx.labels
    name = {m: ("Model (predicted risk, apparent)" if m == "model" else lab.var(m)) for m in curves}
    table = pd.concat([c.to_frame() for c in curves.values()], ignore_index=True)
    table["label"] = [name[m] for m in curves]
    table["direction"] = table["direction"].map(
        {"higher": "higher predicts event", "lower": "lower predicts event"}
    )
    sec = Section("roc", "ROC analysis")
    cols = {
        "label": ("Marker", "text"),
        "direction": ("Direction", "text"),
        "n_cases": ("Events", "int"),
        "n_controls": ("Non-events", "int"),
        "auc": ("AUC", "f3"),
        "ci_low": ("95% CI low", "f3"),
        "ci_high": ("95% CI high", "f3"),
        "threshold": ("Youden cutoff", "f2"),
        "sensitivity": ("Sensitivity", "f3"),
        "specificity": ("Specificity", "f3"),
    }
    note = common_note(table, ["ci_method", "threshold_rule"])
    sec.add(select(table, cols, "ROC curves", note), sheet="ROC")
    dt = _delong_rows(ctx, markers, curves)
    if not dt.empty:
        dt["pair"] = [
            f"{name.get(a, a)} vs {name.get(b, b)}"
            for a, b in zip(dt["label_a"], dt["label_b"], strict=True)
        ]
        dcols = {
            "pair": ("Comparison", "text"),
            "auc_a": ("AUC A", "f3"),
            "auc_b": ("AUC B", "f3"),
            "difference": ("Difference", "f3"),
            "ci_low": ("95% CI low", "f3"),
            "ci_high": ("95% CI high", "f3"),
            "statistic": ("Z", "f2"),
            "p_value": ("p", "p"),
        }
        delong = select(dt, dcols, "Paired DeLong tests between AUCs", common_note(dt, ["test"]))
        sec.add(delong, sheet="DeLong tests")
        sec.tests += list(dict.fromkeys(dt["test"]))
    nested = _nested_rows(ctx, markers)
    if not nested.empty:
        ncols = {
            "pair": ("Comparison", "text"),
            "added_label": ("Added terms", "text"),
            "statistic": ("Chi-square", "f2"),
            "df": ("df", "int"),
            "p_value": ("p", "p"),
            "n": ("n", "int"),
        }
        note = (
            common_note(nested, ["test"])
            + " The model's AUC is not compared with its own components by DeLong's test, "
            "which does not apply to nested models compared in the same data (Demler, "
            "Pencina & D'Agostino, Stat Med 2012)."
        )
        sec.add(
            select(nested, ncols, "Does the model add to each marker it contains?", note),
            sheet="Nested model tests",
        )
        sec.tests += list(dict.fromkeys(nested["test"]))
    fig = plot_roc({name[m]: c for m, c in curves.items()})
    sec.figure(
        ctx, fig, "roc", "ROC curves; legend: AUC (DeLong 95% CI); open markers: Youden cutoffs"
    )
    for m, c in curves.items():
        curve = c.curve.rename(columns=str.capitalize)
        sec.tables.append(
            Table(
                f"ROC curve {name[m]}",
                curve,
                dict.fromkeys(curve.columns, "f4"),
                sheet=f"ROC {name[m]}",
            )
        )
    sec.tests.insert(0, "DeLong 95% CI of the AUC")
    sec.methods.append(
        "ROC curves with the AUC and its DeLong 95% CI; Youden cutoffs taken midway between "
        "observed values (pROC convention)"
        + ("; markers' AUCs compared by the paired DeLong test" if not dt.empty else "")
        + (
            "; the model's AUC is apparent (in the data it was fitted to), and what the model "
            "adds to each marker it contains was tested by a likelihood-ratio test of the "
            "added terms, not by DeLong's test (Demler et al. 2012)"
            if "model" in curves
            else ""
        )
        + "."
    )
    return sec
