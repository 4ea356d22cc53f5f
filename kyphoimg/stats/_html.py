"""The HTML report: page, tables, figures, print stylesheet, PDF through Chromium.

Layout contract (tested): the page fits 1200 CSS pixels without horizontal scrolling —
tables take the page width and wrap their text cells between words (a word longer
than its column breaks: ``overflow-wrap: break-word``),
figures scale down (``max-width: 100%``); numbers never wrap (``white-space: nowrap`` on
numeric cells, screen and print) and numeric headers are right-aligned over them; a
print stylesheet gives A4 pages with a smaller table font, repeated table headers and no
rows split across pages. Figures inside a ``<div class="figures">`` (:func:`figure_grid`)
sit side by side, as many as fit at 480 CSS pixels or more each.
"""

from __future__ import annotations

import base64
import html
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._figures import figure_to_bytes
from ._tables import Table, fmt_cell

__all__ = [
    "CSS",
    "chromium",
    "embed_figure",
    "embed_png",
    "figure_grid",
    "html_table",
    "page",
    "print_pdf",
]

CSS = """
*{box-sizing:border-box}
html{font-size:15px}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;
margin:1.5em auto;padding:0 1.2em;color:#1a1a1a;line-height:1.45;overflow-wrap:anywhere}
h1{font-size:1.6em;margin:.2em 0 .4em}h2{font-size:1.3em;margin:1.6em 0 .4em;
border-bottom:1px solid #bbb}h3{font-size:1.1em;margin:1.2em 0 .3em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.86em;width:100%;
max-width:100%;table-layout:auto}
caption{text-align:left;font-weight:600;padding:.3em 0;caption-side:top}
th,td{border-bottom:1px solid #d0d0d0;padding:.25em .45em;text-align:left;
vertical-align:top;overflow-wrap:break-word;word-break:normal;hyphens:manual}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;
overflow-wrap:normal}
th.num{text-align:right}
thead th{border-bottom:2px solid #333;background:#f4f4f4;overflow-wrap:normal;
word-break:normal}
td.indent{padding-left:1.6em}
tfoot td,.note{font-size:.82em;color:#444;border:none}
.warn{background:#fff4e5;border-left:4px solid #c77800;padding:.4em 1em;margin:1em 0}
.notrun{background:#f3f3f3;border-left:4px solid #777;padding:.4em 1em;margin:1em 0}
figure{margin:1em 0;max-width:100%}figure svg,figure img{max-width:100%;height:auto;
display:block}
figcaption{font-size:.85em;color:#444}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,480px),1fr));
gap:0 1em}
code{background:#f1f1f1;padding:0 .2em}
.meta{color:#333}
@page{size:A4;margin:14mm 12mm}
@media print{
 html{font-size:10pt}
 body{max-width:none;margin:0;padding:0}
 h2,h3{break-after:avoid}
 caption{break-after:avoid}
 thead{display:table-header-group}
 tr,figure,.warn,.notrun{break-inside:avoid}
 table{font-size:.8em}
 th,td{padding:.2em .3em}
 a{color:inherit;text-decoration:none}
}
"""


def html_table(table: Table, indent_col: str | None = None) -> str:
    """Render a :class:`Table` with its caption and footnote.

    Parameters
    ----------
    table : Table
        The table.
    indent_col : str, optional
        Column whose values starting with two spaces are indented (Table 1 levels).

    Returns
    -------
    str
        A ``<table>`` element (an empty string for a table without rows).
    """
    frame = table.frame
    if frame.empty:
        return ""
    note = table.note
    # Empty columns are dropped; long text equal on every row (the test's name) is said
    # once, under the table, instead of stretching every row.
    keep = []
    for col in frame.columns:
        values = frame[col]
        if values.isna().all() or (values.map(str).str.strip() == "").all():
            continue
        text = values.map(str)
        if len(frame) > 1 and text.nunique() == 1 and len(text.iloc[0]) > 25 and col != indent_col:
            if text.iloc[0] not in note:
                note = f"{note} {col}: {text.iloc[0]}.".strip()
            continue
        keep.append(col)
    frame = frame[keep]
    num = ' class="num"'
    head = "".join(
        f"<th{num if table.formats.get(c, 'text') != 'text' else ''}>{html.escape(str(c))}</th>"
        for c in frame.columns
    )
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for col, value in zip(frame.columns, row, strict=True):
            kind = table.formats.get(col, "text")
            cell = fmt_cell(value, kind)
            cls = ' class="num"' if kind != "text" else ""
            if col == indent_col and cell.startswith("  "):
                cls, cell = ' class="indent"', cell.strip()
            cells.append(f"<td{cls}>{html.escape(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    foot = (
        f'<tfoot><tr><td colspan="{len(frame.columns)}">{html.escape(note)}</td></tr></tfoot>'
        if note
        else ""
    )
    return (
        f"<table><caption>{html.escape(table.title)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody>{foot}</table>"
    )


def embed_figure(fig: Any, fmt: str, caption: str) -> str:
    """Embed a matplotlib figure inline (SVG markup or a base64 PNG).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    fmt : {"svg", "png"}
        Embedding format.
    caption : str
        Figure caption.

    Returns
    -------
    str
        A ``<figure>`` element.
    """
    if fmt == "png":
        return embed_png(figure_to_bytes(fig, "png"), caption)
    svg = figure_to_bytes(fig, "svg").decode("utf-8")
    body = svg[svg.index("<svg") :]
    return f"<figure>{body}<figcaption>{html.escape(caption)}</figcaption></figure>"


def embed_png(data: bytes, caption: str) -> str:
    """Embed an already rendered PNG inline (base64), e.g. one also written to a file.

    Parameters
    ----------
    data : bytes
        The PNG file's bytes.
    caption : str
        Figure caption (also the image's alternative text).

    Returns
    -------
    str
        A ``<figure>`` element.
    """
    b64 = base64.b64encode(data).decode("ascii")
    alt = html.escape(caption)
    return (
        f'<figure><img alt="{alt}" src="data:image/png;base64,{b64}">'
        f"<figcaption>{alt}</figcaption></figure>"
    )


def figure_grid(figures: Sequence[str]) -> str:
    """Lay out ``<figure>`` elements side by side, as many per row as the page width allows.

    Parameters
    ----------
    figures : sequence of str
        Figure elements (:func:`embed_figure`, :func:`embed_png`).

    Returns
    -------
    str
        A ``<div class="figures">`` (an empty string for no figures).
    """
    return f'<div class="figures">{"".join(figures)}</div>' if figures else ""


def page(title: str, meta: str, blocks: Sequence[str]) -> str:
    """Return the self-contained HTML document.

    Parameters
    ----------
    title : str
        Report title.
    meta : str
        HTML of the line under the title (already escaped).
    blocks : sequence of str
        HTML blocks in order.

    Returns
    -------
    str
    """
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='meta'>{meta}</p>{''.join(blocks)}"
        "</body></html>"
    )


def chromium() -> str | None:
    """Return the path of a Chromium executable, or None when none is installed.

    Returns
    -------
    str or None
    """
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def headless_args(profile: Path) -> list[str]:
    """Return the Chromium flags of a quiet, offline, headless run.

    Parameters
    ----------
    profile : pathlib.Path
        Throw-away user-data directory.

    Returns
    -------
    list of str
    """
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]


def run_chromium(args: Sequence[str], timeout: float = 180) -> subprocess.CompletedProcess:
    """Run Chromium in its own process group and end the whole group on a time-out.

    Parameters
    ----------
    args : sequence of str
        Full command line.
    timeout : float, default 180
        Seconds.

    Returns
    -------
    subprocess.CompletedProcess

    Raises
    ------
    subprocess.TimeoutExpired
        After the group was killed.
    """
    proc = subprocess.Popen(
        list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(list(args), proc.returncode, out, err)


def print_pdf(html_path: Path, pdf_path: Path) -> str | None:
    """Print the report to PDF with headless Chromium.

    Parameters
    ----------
    html_path : pathlib.Path
        The report.
    pdf_path : pathlib.Path
        Target PDF.

    Returns
    -------
    str or None
        None when the PDF was written, else why not (no Chromium, an error).
    """
    exe = chromium()
    if exe is None:
        return "report.pdf not written: Chromium is not installed (print report.html instead)"
    with tempfile.TemporaryDirectory(prefix="kyphoimg-pdf-") as tmp:
        args = [
            exe,
            *headless_args(Path(tmp)),
            "--no-pdf-header-footer",
            "--print-to-pdf-no-header",
            f"--print-to-pdf={pdf_path}",
            html_path.resolve().as_uri(),
        ]
        try:
            done = run_chromium(args)
        except (subprocess.TimeoutExpired, OSError) as exc:
            return f"report.pdf not written: Chromium failed ({exc})"
    if done.returncode != 0 or not pdf_path.is_file():
        return f"report.pdf not written: Chromium exited with {done.returncode}"
    return None
