"""A reading session on a PACS query: the worklist from the server, films fetched on demand.

:func:`open_pacs_session` queries the server (:class:`kyphoimg.pacs.PacsCache`), opens the
reader's worklist of the films found and shows the first one, fetched into the cache; each
film shown has the next one prefetched in a background thread. The reader's landmark files
are written beside the cached films, so ``kyphoimg run CACHE`` measures the session later.
The ``PACS`` dock (:class:`PacsWidget`) is the open-session dialog and says, in one
sentence, what failed (server down, credentials refused, no answer in time).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from psygnal import Signal
from qtpy.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kyphoimg import read_table
from kyphoimg.errors import KyphoimgError, PacsConfigError, PacsError
from kyphoimg.pacs import PacsCache, PacsServer, RemoteFilm, pacs_worklist, read_patient_list
from kyphoimg.study import StudyEntry

from ._reading import ReadingSession, start_session

__all__ = ["PacsReadingSession", "PacsWidget", "open_pacs_session"]


class PacsReadingSession(ReadingSession):
    """A :class:`ReadingSession` whose films are fetched from a PACS when first shown.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer.
    worklist : kyphoimg.study.Worklist
        The reader's worklist of the query's films (:func:`kyphoimg.pacs.pacs_worklist`).
    landmarks : LandmarksWidget, optional
        The Landmarks widget.
    cache : PacsCache
        Where the films are fetched to.
    films : sequence of RemoteFilm
        The query's films (the worklist's, by cache path).
    read_only : bool, optional
        Write nothing.

    Attributes
    ----------
    failed : psygnal.Signal
        Emitted with the one-sentence reason when a film cannot be fetched.
    """

    failed = Signal(str)

    def __init__(
        self,
        viewer: Any,
        worklist: Any,
        landmarks: Any | None = None,
        *,
        cache: PacsCache,
        films: Sequence[RemoteFilm],
        read_only: bool = False,
    ) -> None:
        self.cache = cache
        self.films = {cache.path(f): f for f in films}
        self.message = ""
        super().__init__(viewer, worklist, landmarks, read_only=read_only)

    def go_to(self, entry: StudyEntry) -> StudyEntry:
        """Fetch ``entry``'s film unless cached, show it, and prefetch the next film.

        When the film cannot be fetched, :attr:`message` says why in one sentence,
        :attr:`failed` is emitted and the canvas stays as it was.

        Parameters
        ----------
        entry : StudyEntry
            An entry of the worklist.

        Returns
        -------
        StudyEntry
            The entry now shown (the one shown before when the fetch failed).
        """
        film = self.films[entry.film_path]
        try:
            self.cache.fetch(film)
        except PacsError as exc:
            self.message = f"{entry.label} was not fetched: {exc}"
            self.failed.emit(self.message)
            return self.active if self.active is not None else entry
        shown = super().go_to(entry)
        following = self.worklist.next(shown)
        if following is not None:
            self.cache.prefetch(self.films[following.film_path])
        self.message = (
            f"{shown.label}: from {self.cache.server.name}, cached in {self.cache.folder}"
        )
        self.changed.emit(shown)
        return shown

    def close(self) -> None:
        """Take the films off the canvas and stop the background fetching."""
        super().close()
        self.cache.close()


def open_pacs_session(
    viewer: Any,
    server: PacsServer | str,
    cache: str | os.PathLike[str],
    *,
    rater: str | None,
    patients: Sequence[str] | str | os.PathLike[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    timepoints: Sequence[str] | None = None,
    surgery: str | os.PathLike[str] | None = None,
    dock: bool = True,
    start: bool = True,
) -> PacsReadingSession:
    """Open a reading session on the films a PACS query finds.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer.
    server : PacsServer or str
        The server, or its DICOMweb root URL. Credentials come from the environment, a
        netrc file or the keyring (:func:`kyphoimg.pacs.credentials`).
    cache : path-like
        The local cache folder (films in the layout ``kyphoimg pacs get`` writes, the
        reader's landmark files beside them).
    rater : str or None
        The reader (files ``<film>.<rater>.landmarks.json``).
    patients : sequence of str or path-like, optional
        Patient IDs, or a file of them (:func:`kyphoimg.pacs.read_patient_list`).
    since, until : str, optional
        Study dates, ``YYYY-MM-DD``, both included.
    timepoints : sequence of str, optional
        The study's time points in order.
    surgery : path-like, optional
        A table of ``patient_id, surgery_date``: pre/post/last from the study dates.
    dock, start : bool, optional
        As :func:`napari_kyphoimg.open_study`.

    Returns
    -------
    PacsReadingSession
        The controller (``.worklist``, ``.go_to``, ``.next``, ``.cache``).

    Raises
    ------
    PacsError
        If the query fails, or finds no CR/DX film.
    """
    if isinstance(server, str):
        server = PacsServer(url=server)
    if isinstance(patients, (str, os.PathLike)):
        patients = read_patient_list(patients)
    pacs = PacsCache(server, cache)
    try:
        films = pacs.query(patients=patients, since=since, until=until)
        if not films:
            raise PacsError(f"{server.name}: no CR/DX film matches the query; widen it")
        table = read_table(surgery) if surgery is not None else None
        worklist = pacs_worklist(pacs, films, rater=rater, timepoints=timepoints, surgery=table)
    except KyphoimgError:
        pacs.close()
        raise

    def make(v: Any, w: Any, landmarks: Any, *, read_only: bool) -> PacsReadingSession:
        return PacsReadingSession(v, w, landmarks, cache=pacs, films=films, read_only=read_only)

    session = start_session(
        viewer, worklist, dock=dock, start=start, read_only=rater is None, make=make
    )
    assert isinstance(session, PacsReadingSession)
    return session


class PacsWidget(QWidget):
    """The ``PACS`` dock: open a reading session on a query, and what the session is doing.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer.
    """

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session: PacsReadingSession | None = None
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://pacs.example.org/dicom-web")
        self.patients = QLineEdit()
        self.patients.setPlaceholderText("patient list file (optional)")
        self.since = QLineEdit()
        self.since.setPlaceholderText("YYYY-MM-DD (optional)")
        self.rater = QLineEdit()
        self.surgery = QLineEdit()
        self.surgery.setPlaceholderText("patient_id, surgery_date table (optional)")
        self.cache = QLineEdit()
        self.open_button = QPushButton("Open session")
        self.status = QLabel("Credentials come from the environment, netrc or keyring.")
        self.status.setWordWrap(True)
        form = QFormLayout()
        for label, field in (
            ("DICOMweb URL", self.url),
            ("Patients", self.patients),
            ("Since", self.since),
            ("Reader", self.rater),
            ("Surgery dates", self.surgery),
            ("Cache folder", self.cache),
        ):
            form.addRow(label, field)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.open_button)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.open_button.clicked.connect(self.open)

    def open(self) -> PacsReadingSession | None:
        """Open the session the fields ask for; a failure is one sentence in the dock.

        Returns
        -------
        PacsReadingSession or None
            The session, or None when it could not be opened (:attr:`status` says why).
        """
        url, cache = self.url.text().strip(), self.cache.text().strip()
        try:
            if not url or not cache:
                raise PacsConfigError("give the DICOMweb URL and a cache folder, then open")
            self.status.setText(f"Querying {url} …")
            self.status.repaint()
            session = open_pacs_session(
                self.viewer,
                url,
                Path(cache),
                rater=self.rater.text().strip() or None,
                patients=self.patients.text().strip() or None,
                since=self.since.text().strip() or None,
                surgery=self.surgery.text().strip() or None,
            )
        except KyphoimgError as exc:
            self.status.setText(str(exc))
            return None
        if self.session is not None:
            self.session.close()
        self.session = session
        session.failed.connect(self._say)
        session.changed.connect(lambda _entry: self._say(session.message))
        self._say(session.message or f"{len(session.worklist)} films")
        return session

    def _say(self, text: str) -> None:
        self.status.setText(text)
