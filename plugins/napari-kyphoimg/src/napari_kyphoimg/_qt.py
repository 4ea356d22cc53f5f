"""The few direct Qt touches of the widgets: label styles, tables, clipboard, file dialogs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from magicgui.application import use_app
from magicgui.types import FileDialogMode
from magicgui.widgets import Container, Label

__all__ = [
    "TextTable",
    "ask_path",
    "copy_text",
    "make_label",
    "make_table",
    "on_window_close",
    "set_label",
    "set_table",
]

_STYLES = {
    "info": "",
    "guide": "font-weight: bold; font-size: 13px; color: #ffd60a;",
    "ok": "color: #80ed99;",
    "warning": "color: #ffb347;",
    "error": "color: #ff6b6b; font-weight: bold;",
    "muted": "color: #a0a0a0;",
}


def make_label(text: str = "", kind: str = "info", *, label: str = "") -> Label:
    """Make a word-wrapped label styled ``info``/``guide``/``ok``/``warning``/``error``."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QSizePolicy

    widget = Label(value=text, label=label)
    widget.native.setWordWrap(True)
    widget.native.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    widget.native.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    set_label(widget, text, kind)
    return widget


def set_label(widget: Label, text: str, kind: str = "info") -> None:
    """Set a label's text and style; an empty text hides it. Unchanged labels are left alone."""
    native = widget.native
    if native.property("kyphoimg_kind") != kind:
        native.setStyleSheet(_STYLES.get(kind, ""))
        native.setProperty("kyphoimg_kind", kind)
    if native.text() != text:
        widget.value = text
    if widget.visible != bool(text):
        widget.visible = bool(text)


class TextTable(Container):
    """A read-only table of text cells, updated in place (fast enough for live refresh).

    magicgui's ``Table`` re-creates every item and re-reads numbers as floats; this keeps
    the items, remembers their texts and only rewrites (and re-fits the columns of) the
    cells that differ.
    """

    def __init__(
        self, max_height: int | None = None, min_height: int = 150, *, fit: bool = False
    ) -> None:
        from qtpy.QtWidgets import QAbstractItemView, QTableWidget

        super().__init__(labels=False)
        self.margins = (0, 0, 0, 0)
        self.qtable = QTableWidget()
        self.qtable.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.qtable.verticalHeader().setVisible(False)
        self.qtable.horizontalHeader().setStretchLastSection(True)
        self.qtable.setMinimumHeight(min_height)
        if max_height is not None:
            self.qtable.setMaximumHeight(max_height)
        self.native.layout().addWidget(self.qtable)
        self._columns: list[str] = []
        self._texts: list[list[str]] = []  # the cells shown, row by row
        self._fit = fit
        self._max_height = max_height

    def set_frame(self, frame: pd.DataFrame) -> None:
        """Show a frame's cells as text (its columns as headers)."""
        self.set_rows(
            [str(c) for c in frame.columns],
            [["" if v is None else str(v) for v in row] for row in frame.to_numpy(object)],
        )

    def set_rows(self, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """Show rows of text cells under ``columns``, rewriting only the cells that changed.

        The texts shown are remembered, so an unchanged cell costs a string comparison;
        a changed one gets ``setText`` and its column is fitted to its contents again
        (every column when the headers or the number of rows change).
        """
        from qtpy.QtWidgets import QTableWidgetItem

        q = self.qtable
        columns = [str(c) for c in columns]
        same_columns = columns == self._columns
        resize_all = not same_columns or q.rowCount() != len(rows)
        shown = self._texts if same_columns else []
        changed: set[int] = set()
        q.setUpdatesEnabled(False)
        try:
            if not same_columns:
                q.setColumnCount(len(columns))
                q.setHorizontalHeaderLabels(columns)
                self._columns = columns
            if q.rowCount() != len(rows):
                q.setRowCount(len(rows))
            for r, row in enumerate(rows):
                before = shown[r] if r < len(shown) else ()
                for c, text in enumerate(row):
                    if c < len(before) and before[c] == text:
                        continue
                    item = q.item(r, c)
                    if item is None:
                        q.setItem(r, c, QTableWidgetItem(text))
                    elif item.text() != text:
                        item.setText(text)
                    else:
                        continue
                    changed.add(c)
            self._texts = [list(row) for row in rows]
            if resize_all or len(columns) - 1 in changed:  # the last column stretches
                q.resizeColumnsToContents()
            else:
                for c in sorted(changed):
                    q.resizeColumnToContents(c)
            if self._fit and (resize_all or changed):
                self._fit_height()
        finally:
            q.setUpdatesEnabled(True)

    def _fit_height(self) -> None:
        """Make the table as tall as its rows (up to the maximum height)."""
        q = self.qtable
        rows = sum(q.rowHeight(r) for r in range(q.rowCount()))
        height = q.horizontalHeader().height() + rows + 2 * q.frameWidth() + 2
        if q.horizontalScrollBar().isVisible():
            height += q.horizontalScrollBar().height()
        if self._max_height is not None:
            height = min(height, self._max_height)
        q.setFixedHeight(max(height, 40))

    def to_dataframe(self) -> pd.DataFrame:
        """Return the shown cells as a frame of strings."""
        q = self.qtable
        data = [
            [q.item(r, c).text() if q.item(r, c) else "" for c in range(q.columnCount())]
            for r in range(q.rowCount())
        ]
        return pd.DataFrame(data, columns=self._columns[: q.columnCount()], dtype=object)


def make_table(
    max_height: int | None = None, min_height: int = 150, *, fit: bool = False
) -> TextTable:
    """Make a read-only text table without row numbers (``fit``: as tall as its rows)."""
    return TextTable(max_height, min_height, fit=fit)


def scrollable(widget: Any) -> Any:
    """Put a dock's widget in a scroll area.

    A small screen then scrolls the dock instead of squeezing its controls over each
    other (or growing the window past the screen).
    """
    from qtpy.QtWidgets import QFrame, QScrollArea

    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(getattr(widget, "native", widget))
    return area


def on_window_close(widget: Any, callback: Any) -> None:
    """Call ``callback()`` when the window holding ``widget`` is asked to close.

    It is called as the close event arrives (before napari may ask the reader to confirm),
    so a callback must leave things usable if the window stays open after all.

    Parameters
    ----------
    widget : QWidget or magicgui widget
        A widget already in the window (docked).
    callback : callable
        Called with no argument.
    """
    from qtpy.QtCore import QEvent, QObject

    class _Watch(QObject):
        def eventFilter(self, obj: Any, event: Any) -> bool:
            if event.type() == QEvent.Type.Close:
                callback()
            return False

    window = getattr(widget, "native", widget).window()
    window.installEventFilter(_Watch(window))  # parented: it lives as long as the window


def add_stretch(container: Container) -> None:
    """Keep a container's widgets at the top instead of spreading them over its height."""
    container.native.layout().addStretch(1)


def set_table(table: TextTable, frame: pd.DataFrame) -> None:
    """Show a frame of text cells in a table."""
    table.set_frame(frame)


def copy_text(text: str) -> None:
    """Put ``text`` on the system clipboard."""
    from qtpy.QtWidgets import QApplication

    QApplication.clipboard().setText(text)


def ask_path(mode: str, caption: str, filter: str | None = None) -> Path | None:
    """Ask for a path with the platform file dialog (``"r"``, ``"w"`` or ``"d"``)."""
    show: Any = use_app().get_obj("show_file_dialog")
    result = show(FileDialogMode(mode), caption=caption, filter=filter)
    return Path(result) if result else None
