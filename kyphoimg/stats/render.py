"""The report's renderers, for other kyphoimg outputs (e.g. ``kyphoimg reliability``).

One look for every HTML page and workbook kyphoimg writes: the same stylesheet, table
formatting (numbers never wrap, p-values as 0.000 or <0.001, estimates to fixed
decimals) and workbook layout (bold frozen header, fitted widths, numbers stored as
numbers with a number format) as :func:`kyphoimg.stats.report`.

Names
-----
Table
    A table: a DataFrame, each column's display format, caption, footnote, sheet name.
html_table, embed_figure, embed_png, figure_grid, page
    HTML blocks and the self-contained page around them.
write_workbook
    One formatted sheet per table.
figure_to_bytes
    A matplotlib figure rendered to PNG, SVG or PDF bytes.
"""

from __future__ import annotations

from ._figures import figure_to_bytes
from ._html import embed_figure, embed_png, figure_grid, html_table, page
from ._tables import Table
from ._xlsx import write_workbook

__all__ = [
    "Table",
    "embed_figure",
    "embed_png",
    "figure_grid",
    "figure_to_bytes",
    "html_table",
    "page",
    "write_workbook",
]
