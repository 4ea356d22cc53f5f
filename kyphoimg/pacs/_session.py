"""A reading session's films on a PACS: the worklist from a query, films fetched on demand.

:class:`PacsCache` is the Qt-free core of ``kyphoimg view --pacs-url``: :meth:`PacsCache.query`
lists the films of the studies a query finds (nothing retrieved yet), :meth:`PacsCache.fetch`
retrieves one film into the cache folder in the layout ``kyphoimg pacs get`` writes (so a
later ``pacs get`` or ``run`` of the folder sees it), :meth:`PacsCache.prefetch` does so in a
background thread. Each film is written whole under its final name or not at all.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..atomic import atomic_write
from ..errors import PacsError
from ..study import StudyEntry, Worklist, landmark_file_for
from ..timepoints import assign_timepoints, timepoint_vocabulary
from ._ops import _plan, _write_bytes, _write_manifest, connect, find
from ._server import PacsServer


@dataclass(frozen=True)
class RemoteFilm:
    """One instance of a query's studies: where it is on the server and in the cache.

    Attributes
    ----------
    path : str
        Relative path in the cache (``<patient>/<date>_<uid tail>/<modality>_<series>/
        <SOP Instance UID>.dcm``, as ``kyphoimg pacs get`` writes it).
    sop_instance_uid, series_instance_uid, study_instance_uid : str
        The instance's UIDs.
    patient_id, study_date, modality : str
        From the study and series.
    """

    path: str
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    patient_id: str
    study_date: str
    modality: str


class PacsCache:
    """Films of a PACS fetched on demand into a local cache folder.

    Parameters
    ----------
    server : PacsServer
        The server.
    folder : path-like
        The cache: a study folder ``kyphoimg run`` can measure afterwards.
    modalities : sequence of str
        Series of these modalities are films (default CR and DX).
    """

    def __init__(
        self,
        server: PacsServer,
        folder: str | Path,
        *,
        modalities: Sequence[str] = ("CR", "DX"),
    ) -> None:
        self.server = server
        self.folder = Path(folder)
        self.modalities = tuple(m.strip().upper() for m in modalities if m.strip())
        self._lock = threading.Lock()
        self._manifest_lock = threading.Lock()
        self._pending: dict[str, Future[Path]] = {}
        # One retrieval at a time: a C-MOVE listens on our one registered port, and a
        # film asked for while the next one is prefetched waits for one film at most.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kyphoimg-pacs")

    def query(
        self,
        *,
        patients: Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        description: str | None = None,
    ) -> list[RemoteFilm]:
        """List the films of the studies matching the query (nothing is retrieved).

        Parameters
        ----------
        patients : sequence of str, optional
            Patient IDs; all patients when omitted.
        since, until : str, optional
            Study date range, ``YYYY-MM-DD``, both ends included.
        description : str, optional
            Study description, with ``*`` wildcards.

        Returns
        -------
        list of RemoteFilm
            By patient, study date, then series and instance as the server lists them.

        Raises
        ------
        PacsError
            If the server is down, refuses the credentials or does not answer in time.
        """
        studies = find(
            self.server,
            patients=patients,
            date_from=since,
            date_to=until,
            modalities=self.modalities,
            description=description,
        )
        if studies.empty:
            return []
        with connect(self.server) as conn:
            plan = _plan(conn, studies, set(self.modalities))
        return [RemoteFilm(**item) for item in plan]

    def path(self, film: RemoteFilm) -> Path:
        """Return where ``film`` is (or will be) in the cache.

        Parameters
        ----------
        film : RemoteFilm
            A film of :meth:`query`.

        Returns
        -------
        pathlib.Path
            Its cache file.
        """
        return self.folder / film.path

    def is_cached(self, film: RemoteFilm) -> bool:
        """Whether ``film`` is in the cache already (whole: files appear only when complete).

        Parameters
        ----------
        film : RemoteFilm
            A film of :meth:`query`.

        Returns
        -------
        bool
            True when its file exists.
        """
        return self.path(film).is_file()

    def prefetch(self, film: RemoteFilm) -> Future[Path]:
        """Start retrieving ``film`` in a background thread (at once when cached).

        A failure is kept in the future; :meth:`fetch` of the film tries again.

        Parameters
        ----------
        film : RemoteFilm
            A film of :meth:`query`.

        Returns
        -------
        concurrent.futures.Future
            Resolves to the film's cache path.
        """
        with self._lock:
            running = self._pending.get(film.sop_instance_uid)
            if running is not None and not (running.done() and running.exception()):
                return running
            future = self._pool.submit(self._retrieve, film)
            self._pending[film.sop_instance_uid] = future
            return future

    def fetch(self, film: RemoteFilm) -> Path:
        """Return ``film``'s cache file, retrieving it first unless it is there already.

        A retrieval the prefetch has started is waited for, not repeated.

        Parameters
        ----------
        film : RemoteFilm
            A film of :meth:`query`.

        Returns
        -------
        pathlib.Path
            The cache file.

        Raises
        ------
        PacsError
            If the server fails; nothing of the film is left in the cache.
        """
        if self.is_cached(film):
            return self.path(film)
        return self.prefetch(film).result()

    def _retrieve(self, film: RemoteFilm) -> Path:
        target = self.path(film)
        if target.is_file():
            return target
        got: list[int] = []

        def save(sop: str, data: bytes) -> None:
            if sop != film.sop_instance_uid:
                raise PacsError(f"{self.server.name}: sent instance {sop}, which was not asked for")
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, lambda tmp: _write_bytes(tmp, data))
            got.append(len(data))

        with connect(self.server) as conn:
            conn.fetch(
                film.study_instance_uid, film.series_instance_uid, [film.sop_instance_uid], save
            )
        if not got:
            raise PacsError(
                f"{self.server.name}: instance {film.sop_instance_uid} was not sent; "
                "open the film again to retry"
            )
        row = {**film.__dict__, "bytes": got[0]}
        with self._manifest_lock:
            _write_manifest(self.folder, [row], self.server)
        return target

    def close(self) -> None:
        """Stop the background thread (a retrieval under way finishes or leaves nothing)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def pacs_worklist(
    cache: PacsCache,
    films: Sequence[RemoteFilm],
    *,
    rater: str | None = None,
    timepoints: Sequence[str] | None = None,
    surgery: pd.DataFrame | None = None,
) -> Worklist:
    """Build a reader's worklist of a query's films, cached or not.

    Each entry's film is its cache file (there once fetched) and its landmark file the
    reader's beside it, so ``kyphoimg run CACHE`` measures the session afterwards. The
    status of a film whose landmark file exists already is read from it.

    Parameters
    ----------
    cache : PacsCache
        The cache.
    films : sequence of RemoteFilm
        Films of :meth:`PacsCache.query`.
    rater : str, optional
        The reader (files ``<film>.<rater>.landmarks.json``).
    timepoints : sequence of str, optional
        The study's time points in order (default pre, post, last).
    surgery : pandas.DataFrame, optional
        ``patient_id, surgery_date`` (as ``kyphoimg scan --surgery``): the films get
        pre/post/last from their study dates (:func:`kyphoimg.timepoints.assign_timepoints`);
        without it they have no time point until the reader gives one.

    Returns
    -------
    kyphoimg.study.Worklist
        One entry per film, by patient.
    """
    from ..study import check_rater

    rater = check_rater(rater)
    assigned: list[str | None] = [None] * len(films)
    if surgery is not None and len(films):
        index = pd.DataFrame(
            {
                "patient_id": [f.patient_id for f in films],
                "study_date": [f.study_date for f in films],
            }
        )
        tp = assign_timepoints(index, surgery)["timepoint"]
        assigned = [t if isinstance(t, str) else None for t in tp]
    entries = [
        StudyEntry(
            patient_id=f.patient_id or None,
            timepoint=timepoint,
            film_path=cache.path(f),
            landmark_path=landmark_file_for(cache.path(f), rater),
            status="not_started",
            rater=rater,
            sop_instance_uid=f.sop_instance_uid,
            acquisition_date=f.study_date or None,
        )
        for f, timepoint in zip(films, assigned, strict=True)
    ]
    problems = pd.DataFrame(columns=["file", "level", "point", "error"])
    worklist = Worklist(cache.folder, entries, rater, timepoint_vocabulary(timepoints), problems)
    for entry in list(worklist):
        worklist.refresh(entry)
    return worklist
