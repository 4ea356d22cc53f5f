"""The ``Worklist`` dock: a study's patients x time points, each film's status, navigation.

A view of a :class:`~napari_kyphoimg._reading.ReadingSession`: a click on a cell shows that
film; the buttons and keys (PageDown next, PageUp previous, Shift+PageDown next film to
do) call the session. Statuses are shown by symbol and word, not by colour alone.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kyphoimg.errors import KyphoimgError
from kyphoimg.study import StudyEntry

from ._session import repair_message

__all__ = ["STATUS_SYMBOLS", "WorklistWidget"]

#: Symbol and short word of each status (the cell text).
STATUS_SYMBOLS: dict[str, tuple[str, str]] = {
    "not_started": ("○", "to do"),
    "incomplete": ("◐", "partial"),
    "to_review": ("◇", "to review"),
    "complete": ("✓", "done"),
    "invalid": ("⚠", "invalid"),
}
_COLORS = {
    "not_started": "#9aa0a6",
    "incomplete": "#f4b400",
    "to_review": "#c058f0",
    "complete": "#34a853",
    "invalid": "#ea4335",
}
_ASSIGN = "assign…"


class WorklistWidget(QWidget):
    """Patients x time points of a reading session, with the films still to do.

    Parameters
    ----------
    session : ReadingSession
        The session this widget shows and drives.
    """

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.todo_only = QCheckBox("Show only films to do")
        self.side_by_side = QCheckBox("Patient's films side by side")
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setMinimumHeight(220)
        self.previous_button = QPushButton("◀ Prev")
        self.next_button = QPushButton("Next ▶")
        self.next_todo_button = QPushButton("Next to do ▶▶")
        self.previous_button.setToolTip("Previous film (PageUp)")
        self.next_button.setToolTip("Next film (PageDown)")
        self.next_todo_button.setToolTip("Next film not done yet (Shift+PageDown)")
        self.propose_button = QPushButton("Propose from the previous film")
        self.propose_button.setToolTip(
            "Carry this patient's last completed film's landmarks to this film, as proposals "
            "(magenta border) to accept (A) or move; the treated level is flagged for review"
        )
        self.active_label = QLabel()
        self.active_label.setWordWrap(True)
        self.repair_button = QPushButton("Repair…")
        self.repair_button.setToolTip(
            "Rewrite this film's unreadable landmark file with everything that can be read "
            "of it; the original is kept beside it as a timestamped backup"
        )
        self.undated_label = QLabel("Films without a time point: choose pre, post or last")
        self.undated_label.setWordWrap(True)
        self.undated = QTableWidget()
        self.undated.setColumnCount(5)
        self.undated.setHorizontalHeaderLabels(["Film", "Date", "Series", "Status", "Time point"])
        self.undated.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.undated.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.undated.verticalHeader().setVisible(False)
        self.undated.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.undated.horizontalHeader().setStretchLastSection(True)
        self.undated.setMinimumHeight(140)

        buttons = QHBoxLayout()
        for b in (self.previous_button, self.next_button, self.next_todo_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.todo_only)
        layout.addWidget(self.side_by_side)
        layout.addWidget(self.table, stretch=1)
        layout.addWidget(self.undated_label)
        layout.addWidget(self.undated, stretch=1)
        layout.addLayout(buttons)
        layout.addWidget(self.propose_button)
        layout.addWidget(self.active_label)
        layout.addWidget(self.repair_button)
        self.setMinimumWidth(300)
        self.setMinimumHeight(400)

        self.previous_button.clicked.connect(lambda: self.session.previous())
        self.next_button.clicked.connect(lambda: self.session.next())
        self.next_todo_button.clicked.connect(lambda: self.session.next(unannotated=True))
        self.todo_only.toggled.connect(lambda _on: self.rebuild())
        self.side_by_side.toggled.connect(self.session.set_side_by_side)
        self.side_by_side.setEnabled(not session.blind)
        self.table.cellClicked.connect(self._on_cell)
        self.propose_button.clicked.connect(self._propose)
        self.repair_button.clicked.connect(self._repair)
        self.undated.cellClicked.connect(self._on_undated_cell)
        self._undated: list[StudyEntry] = []
        session.changed.connect(lambda _entry: self.rebuild())
        self._cells: dict[tuple[int, int], StudyEntry] = {}
        # The table's rows and columns, and what each cell shows (to update only changes).
        self._layout: tuple[tuple[str, ...], tuple[str, ...]] | None = None
        self._shown: dict[tuple[int, int], tuple[str, str, str, bool]] = {}
        self.rebuild()

    # -- contents ------------------------------------------------------------------------
    def _columns(self) -> list[str]:
        wl = self.session.worklist
        if self.session.blind:
            return ["status"]
        return list(wl.timepoints)  # films without one are listed below the table

    def rebuild(self) -> None:
        """Redraw the table and the summary from the worklist."""
        wl = self.session.worklist
        cols = self._columns()
        patients: dict[str, list[StudyEntry]] = {}
        for k, e in enumerate(wl):  # blinded: one row per film, in the session's order
            key = f"Film {k + 1}" if self.session.blind else (e.patient_id or "?")
            patients.setdefault(key, []).append(e)
        if self.todo_only.isChecked():
            patients = {p: es for p, es in patients.items() if not all(e.done for e in es)}
        self.table.blockSignals(True)
        layout = (tuple(cols), tuple(patients))
        if layout != self._layout:  # other rows or columns: start over
            self.table.clear()
            self.table.setColumnCount(len(cols))
            self.table.setHorizontalHeaderLabels(cols)
            self.table.setRowCount(len(patients))
            self.table.setVerticalHeaderLabels(list(patients))
            self._layout, self._shown = layout, {}
        self._cells = {}
        active = self.session.active
        for r, entries in enumerate(patients.values()):
            for c, tp in enumerate(cols):
                here = entries if self.session.blind else [e for e in entries if e.timepoint == tp]
                if not here:
                    continue
                self._cells[(r, c)] = here[0]
                self._set_cell(r, c, here, active)
                if active is not None and any(e.film_path == active.film_path for e in here):
                    self.table.setCurrentCell(r, c)
        self.table.blockSignals(False)
        counts = wl.counts()
        done, total = counts["complete"], len(wl)
        parts = [f"{counts[s]} {s.replace('_', ' ')}" for s in STATUS_SYMBOLS if counts.get(s)]
        reader = (wl.rater or "single reader") + (" (blinded)" if self.session.blind else "")
        self.summary.setText(
            f"<b>{wl.folder.name}</b> · reader <b>{reader}</b> · {done} of {total} films "
            f"complete ({', '.join(parts)})"
        )
        self.active_label.setText(self._describe(active))
        self.propose_button.setEnabled(
            not self.session.blind
            and self.session.proposal_source() is not None
            and self.session.read_only_reason is None
        )
        self.repair_button.setVisible(self._repairable())
        self._rebuild_undated()

    def _repairable(self) -> bool:
        film = self.session.film_layer
        notes = ((film.metadata.get("kyphoimg") or {}).get("notes") or []) if film else []
        return not self.session.read_only and any(
            n.startswith("landmarks not loaded") for n in notes
        )

    def _rebuild_undated(self) -> None:
        """List the films without a time point, with date and series, to assign one."""
        wl = self.session.worklist
        self._undated = [] if self.session.blind else [e for e in wl if e.timepoint is None]
        for w in (self.undated_label, self.undated):
            w.setVisible(bool(self._undated))
        self.undated.setRowCount(len(self._undated))
        active = self.session.active
        for r, e in enumerate(self._undated):
            film = f"{e.patient_id or '?'} {e.film_path.name}"
            date = getattr(e, "acquisition_date", None) or "?"
            series = getattr(e, "series_description", None) or ""
            symbol, word = STATUS_SYMBOLS[e.status]
            for c, text in enumerate((film, date, series, f"{symbol} {word}")):
                item = QTableWidgetItem(text)
                item.setToolTip("\n".join([str(e.film_path), *e.problems[:4]]))
                if c == 3:
                    item.setForeground(QBrush(QColor(_COLORS[e.status])))
                self.undated.setItem(r, c, item)
            choose = QComboBox()
            choose.addItems([_ASSIGN, *wl.timepoints])
            choose.setEnabled(not self.session.read_only and e.status != "invalid")
            choose.activated.connect(lambda i, e=e: self._assign(e, i))
            self.undated.setCellWidget(r, 4, choose)
            if active is not None and e.film_path == active.film_path:
                self.undated.setCurrentCell(r, 0)

    def _assign(self, entry: StudyEntry, index: int) -> None:
        if index <= 0:
            return
        timepoint = self.session.worklist.timepoints[index - 1]
        try:
            new = self.session.assign_timepoint(entry, timepoint)
        except KyphoimgError as exc:
            self.active_label.setText(f"Time point not written: {exc}")
            return
        self.rebuild()
        self.active_label.setText(
            f"{new.film_path.name} is now <b>{new.label}</b> (written to "
            f"{new.landmark_path.name} only)."
        )

    def _on_undated_cell(self, row: int, _column: int) -> None:
        if 0 <= row < len(self._undated):
            self.session.go_to(self._undated[row])

    def _repair(self) -> None:
        path = self.session.active.landmark_path if self.session.active else None
        answer = QMessageBox.question(
            self,
            "Repair the landmark file",
            f"Rewrite {path} with everything that can be read of it?\n\nThe original is "
            "kept beside it as a timestamped backup (.bak-…).",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            outcome = self.session.repair()
        except KyphoimgError as exc:
            self.active_label.setText(f"Not repaired: {exc}")
            return
        self.active_label.setText(repair_message(outcome))

    def _set_cell(
        self, row: int, column: int, entries: list[StudyEntry], active: StudyEntry | None
    ) -> None:
        """Show a cell's films; a cell whose text, tooltip and weight are unchanged is kept.

        A film switch changes two cells (the film left, the film shown): rebuilding every
        item of a study of hundreds of films would cost more than the rest of the switch.
        """
        e = entries[0]
        symbol, word = STATUS_SYMBOLS[e.status]
        text = f"{symbol} {word}" + (f" (+{len(entries) - 1})" if len(entries) > 1 else "")
        tip = [] if self.session.blind else [str(e.film_path), str(e.landmark_path)]
        tip += list(e.problems[:8])
        bold = active is not None and e.film_path == active.film_path
        key = (text, e.status, "\n".join(tip), bold)
        if self._shown.get((row, column)) == key:
            return
        self._shown[(row, column)] = key
        item = QTableWidgetItem(text)
        item.setForeground(QBrush(QColor(_COLORS[e.status])))
        item.setToolTip(key[2])
        if bold:
            font = item.font()
            font.setBold(True)
            item.setFont(font)
        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
        self.table.setItem(row, column, item)

    def _describe(self, entry: StudyEntry | None) -> str:
        if entry is None:
            return "No film open."
        symbol, word = STATUS_SYMBOLS[entry.status]
        if self.session.blind:
            k = self.session.worklist.position(entry) + 1
            return f"Showing <b>Film {k}</b> of {len(self.session.worklist)}: {symbol} {word}"
        lines = [f"Showing <b>{entry.label}</b> ({entry.film_path.name}): {symbol} {word}"]
        lines += [f"• {p}" for p in entry.problems[:4]]
        if self.session.read_only_reason:
            lines.append(f"<b>{self.session.read_only_reason}</b>")
        return "<br>".join(lines)

    def _propose(self) -> None:
        try:
            review = self.session.propose()
        except KyphoimgError as exc:
            self.active_label.setText(f"Not proposed: {exc}")
            return
        self.active_label.setText(
            f"Proposed from the previous film: accept a vertebra with A or move its points; "
            f"{review} point(s) flagged for review (the treated level)."
        )

    def entry_at(self, row: int, column: int) -> StudyEntry | None:
        """Return the film shown in a cell, or None.

        Parameters
        ----------
        row, column : int
            The cell.

        Returns
        -------
        StudyEntry or None
            The first film of that patient and time point.
        """
        return self._cells.get((row, column))

    def _on_cell(self, row: int, column: int) -> None:
        entry = self.entry_at(row, column)
        if entry is not None:
            self.session.go_to(entry)
