"""echo, find, get and store: what `kyphoimg pacs` does, over either protocol."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from ..atomic import atomic_write
from ..errors import PacsConfigError, PacsError
from ._server import PacsServer

#: Columns of :func:`find`'s table (no patient name or birth date: no direct identifiers).
FIND_COLUMNS: tuple[str, ...] = (
    "patient_id", "study_date", "study_instance_uid", "accession_number",
    "study_description", "modalities", "instances",
)  # fmt: skip
#: Columns of the manifest ``pacs-manifest.csv`` that :func:`get` keeps in the output folder.
MANIFEST_COLUMNS: tuple[str, ...] = (
    "path", "sop_instance_uid", "series_instance_uid", "study_instance_uid", "patient_id",
    "study_date", "modality", "server", "protocol", "retrieved_at", "bytes",
)  # fmt: skip
#: Columns of :func:`store`'s report.
STORE_COLUMNS: tuple[str, ...] = ("file", "sop_instance_uid", "status", "reason")
MANIFEST_NAME = "pacs-manifest.csv"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@contextmanager
def connect(server: PacsServer, **kwargs: Any) -> Any:
    """Open a connection of the server's protocol and close it afterwards."""
    if server.protocol == "dicomweb":
        from ._web import WebConnection

        conn: Any = WebConnection(server)
    else:
        from ._dimse import DimseConnection

        conn = DimseConnection(server, **kwargs)
    try:
        yield conn
    finally:
        conn.close()


def echo(server: PacsServer) -> None:
    """Check the server answers (C-ECHO, or a QIDO-RS query over DICOMweb).

    Parameters
    ----------
    server : PacsServer
        The server.

    Raises
    ------
    PacsError
        If it is down, refuses us or our credentials, or does not answer in time.
    """
    with connect(server) as conn:
        conn.echo()


def _date_range(date_from: str | None, date_to: str | None) -> str | None:
    def norm(text: str | None, option: str) -> str:
        if not text:
            return ""
        try:
            return dt.date.fromisoformat(text.replace("-", "")[:8]).strftime("%Y%m%d")
        except ValueError:
            raise PacsConfigError(f"{option} {text!r}: give a date as YYYY-MM-DD") from None

    lo, hi = norm(date_from, "--from"), norm(date_to, "--to")
    return f"{lo}-{hi}" if (lo or hi) else None


def find(
    server: PacsServer,
    *,
    patients: Sequence[str] | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    modalities: Sequence[str] = ("CR", "DX"),
    description: str | None = None,
) -> pd.DataFrame:
    """Query the studies matching the filters.

    Parameters
    ----------
    server : PacsServer
        The server.
    patients : sequence of str, optional
        Patient IDs (one query each); all patients when omitted.
    date_from, date_to : str, optional
        Study date range, ``YYYY-MM-DD``, both ends included.
    modalities : sequence of str
        A study matches when it holds one of these modalities (default CR and DX).
    description : str, optional
        Study description, with ``*`` wildcards (``*LAT*``).

    Returns
    -------
    pandas.DataFrame
        One row per study, columns :data:`FIND_COLUMNS`, sorted by patient and date.

    Raises
    ------
    PacsError
        If the server fails (see :func:`echo`).
    """
    base: dict[str, str] = {}
    dates = _date_range(date_from, date_to)
    if dates:
        base["StudyDate"] = dates
    if description:
        base["StudyDescription"] = description
    wanted = {m.strip().upper() for m in modalities if m.strip()}
    rows: dict[str, dict[str, Any]] = {}
    with connect(server) as conn:
        pids: list[str | None] = list(patients or []) or [None]
        mods: list[str | None] = list(sorted(wanted)) or [None]
        for pid in pids:
            for modality in mods:
                filters = dict(base)
                if pid is not None:
                    filters["PatientID"] = pid
                if modality is not None:
                    filters["ModalitiesInStudy"] = modality
                for ds in conn.studies(filters):
                    row = _study_row(ds)
                    if not wanted or wanted & set(row["modalities"].split("\\")):
                        rows[row["study_instance_uid"]] = row
    table = pd.DataFrame(list(rows.values()), columns=list(FIND_COLUMNS))
    return table.sort_values(["patient_id", "study_date"], kind="stable").reset_index(drop=True)


def _study_row(ds: Any) -> dict[str, Any]:
    mods = ds.get("ModalitiesInStudy", "")
    mods = "\\".join(mods) if not isinstance(mods, str) else mods
    n = ds.get("NumberOfStudyRelatedInstances", None)
    return {
        "patient_id": str(ds.get("PatientID", "")),
        "study_date": str(ds.get("StudyDate", "")),
        "study_instance_uid": str(ds.StudyInstanceUID),
        "accession_number": str(ds.get("AccessionNumber", "")),
        "study_description": str(ds.get("StudyDescription", "")),
        "modalities": mods,
        "instances": int(n) if n not in (None, "") else pd.NA,
    }


def read_patient_list(path: str | Path) -> list[str]:
    """Patient IDs from a file: one per line, or a table with a ``patient_id`` column.

    Parameters
    ----------
    path : path-like
        A ``.csv``/``.xlsx``/``.parquet`` table or a text file.

    Returns
    -------
    list of str
        The IDs, in file order, without blanks or duplicates.
    """
    path = Path(path)
    try:
        if path.suffix.lower() in (".csv", ".xlsx", ".parquet"):
            from ..export import read_table

            table = read_table(path)
            if "patient_id" not in table.columns:
                raise PacsConfigError(f"{path}: no patient_id column; name the ID column so")
            ids = table["patient_id"].dropna().astype(str).tolist()
        else:
            ids = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise PacsConfigError(f"{path}: cannot read the patient list ({exc.strerror})") from None
    return list(dict.fromkeys(i.strip() for i in ids if i.strip()))


def _part(text: str, fallback: str) -> str:
    return _SAFE.sub("_", text).strip("._") or fallback


def study_folder(patient_id: str, study_date: str, study_uid: str) -> Path:
    """Return the relative folder of a study: ``<patient>/<date>_<last 8 digits of the study UID>``.

    Parameters
    ----------
    patient_id, study_date, study_uid : str
        From the study's header.

    Returns
    -------
    pathlib.Path
        Relative to the output folder.
    """
    tail = study_uid.replace(".", "")[-8:]
    return Path(_part(patient_id, "unknown-patient")) / f"{_part(study_date, 'nodate')}_{tail}"


@dataclass(frozen=True)
class GetResult:
    """What :func:`get` did.

    Attributes
    ----------
    fetched : int
        Instances retrieved by this call.
    skipped : int
        Instances already in the folder (by SOP Instance UID), not fetched again.
    manifest : pathlib.Path
        The manifest CSV (every instance retrieved into the folder so far).
    """

    fetched: int
    skipped: int
    manifest: Path


def _present(output: Path) -> set[str]:
    return {p.stem for p in output.rglob("*.dcm") if not p.name.startswith(".")}


def _plan(conn: Any, studies: pd.DataFrame, modalities: set[str]) -> list[dict[str, Any]]:
    plan = []
    for study in studies.itertuples(index=False):
        uid = str(study.study_instance_uid)
        folder = study_folder(str(study.patient_id), str(study.study_date), uid)
        for series in conn.series(uid):
            modality = str(series.get("Modality", ""))
            if modalities and modality.upper() not in modalities:
                continue
            series_uid = str(series.SeriesInstanceUID)
            number = str(series.get("SeriesNumber", "") or series_uid.replace(".", "")[-6:])
            sub = folder / f"{_part(modality, 'OT')}_{_part(number, 'series')}"
            for sop in conn.instances(uid, series_uid):
                plan.append({
                    "path": (sub / f"{_part(sop, 'instance')}.dcm").as_posix(),
                    "sop_instance_uid": sop, "series_instance_uid": series_uid,
                    "study_instance_uid": uid, "patient_id": str(study.patient_id),
                    "study_date": str(study.study_date), "modality": modality,
                })  # fmt: skip
    return plan


def _write_bytes(tmp: str, data: bytes) -> None:
    with open(tmp, "wb") as fh:
        fh.write(data)


def get(
    server: PacsServer,
    studies: pd.DataFrame,
    output: str | Path,
    *,
    modalities: Sequence[str] = ("CR", "DX"),
    progress: bool = True,
) -> GetResult:
    """Retrieve the studies' instances into ``output`` in the layout ``scan``/``run`` read.

    Each instance lands at ``<patient>/<date>_<uid tail>/<modality>_<series number>/
    <SOP Instance UID>.dcm``, written to a temporary name and renamed when whole, so an
    interrupted retrieval leaves only complete files. Instances whose SOP Instance UID is
    already a file in ``output`` are not fetched again, so running it again resumes.
    ``pacs-manifest.csv`` records what came from where (no credentials).

    Parameters
    ----------
    server : PacsServer
        The server.
    studies : pandas.DataFrame
        Studies to retrieve: :func:`find`'s table (``study_instance_uid``, ``patient_id``,
        ``study_date``).
    output : path-like
        The study folder.
    modalities : sequence of str
        Series of these modalities are retrieved (default CR and DX; add SR for reports).
    progress : bool
        Show a progress bar on standard error.

    Returns
    -------
    GetResult
        Counts and the manifest path.

    Raises
    ------
    PacsError
        If the server fails; what was retrieved until then stays, whole, in ``output``.
    """
    output = Path(output)
    wanted = {m.strip().upper() for m in modalities if m.strip()}
    present = _present(output) if output.is_dir() else set()
    done: list[dict[str, Any]] = []
    with connect(server) as conn:
        plan = _plan(conn, studies, wanted)
        todo = [item for item in plan if item["sop_instance_uid"] not in present]
        by_sop = {item["sop_instance_uid"]: item for item in todo}
        bar = tqdm(total=len(plan), initial=len(plan) - len(todo), unit="film",
                   desc="retrieve", disable=None if progress else True)  # fmt: skip

        def save(sop: str, data: bytes) -> None:
            item = by_sop.get(sop)
            if item is None:
                raise PacsError(f"{server.name}: sent instance {sop}, which was not asked for")
            atomic_write(output / item["path"], lambda tmp: _write_bytes(tmp, data))
            done.append({**item, "bytes": len(data)})
            bar.update(1)

        try:
            groups: dict[tuple[str, str], list[str]] = {}
            for item in todo:
                key = (item["study_instance_uid"], item["series_instance_uid"])
                groups.setdefault(key, []).append(item["sop_instance_uid"])
            for (study_uid, series_uid), sops in groups.items():
                conn.fetch(study_uid, series_uid, sops, save)
        finally:
            bar.close()
            manifest = _write_manifest(output, done, server) if done else output / MANIFEST_NAME
    got = {d["sop_instance_uid"] for d in done}
    missing = [i["sop_instance_uid"] for i in todo if i["sop_instance_uid"] not in got]
    if missing:
        raise PacsError(
            f"{server.name}: {len(missing)} instance(s) were not sent (first {missing[0]}); "
            "run the same command again to retry them"
        )
    return GetResult(fetched=len(done), skipped=len(plan) - len(todo), manifest=manifest)


def _write_manifest(output: Path, done: list[dict[str, Any]], server: PacsServer) -> Path:
    path = output / MANIFEST_NAME
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    new = pd.DataFrame(
        [{**d, "server": server.name, "protocol": server.protocol, "retrieved_at": now}
         for d in done],
        columns=list(MANIFEST_COLUMNS),
    )  # fmt: skip
    if path.is_file():
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        new = pd.concat([old, new.astype(str)], ignore_index=True)
        new = new.drop_duplicates("sop_instance_uid", keep="last")
    output.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda tmp: new.to_csv(tmp, index=False))


def _dicom_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*.dcm") if not q.name.startswith(".")))
        elif p.is_file():
            files.append(p)
        else:
            raise PacsConfigError(f"{p}: no such file or folder; give SR files or folders")
    return files


def store(
    server: PacsServer,
    paths: Iterable[str | Path],
    *,
    renderings: Iterable[str | Path] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Send DICOM files (a run's SRs, Secondary Captures ...) to the server.

    Parameters
    ----------
    server : PacsServer
        The server.
    paths : iterable of path-like
        Files, or folders searched for ``*.dcm``.
    renderings : iterable of path-like, optional
        Study folders: also send a Secondary Capture drawing of each film with a landmark
        file (points, lines and measures, as ``kyphoimg figure`` draws them).
    progress : bool
        Show a progress bar on standard error.

    Returns
    -------
    pandas.DataFrame
        One row per file, columns :data:`STORE_COLUMNS`; ``status`` is ``accepted``,
        ``refused`` (by the server, with its reason) or ``unreadable`` (not sent).

    Raises
    ------
    PacsError
        If the server cannot be reached or refuses us as a whole.
    """
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    rows: list[dict[str, str]] = []
    datasets: list[tuple[Any, Any]] = []
    for f in _dicom_files(paths):
        try:
            ds = dcmread(f)
            datasets.append((f, ds))
        except (InvalidDicomError, OSError, AttributeError) as exc:
            rows.append({"file": str(f), "sop_instance_uid": "", "status": "unreadable",
                         "reason": f"not a DICOM file ({type(exc).__name__})"})  # fmt: skip
    if renderings is not None:
        from ._render import renderings as draw

        datasets.extend(draw(renderings))
    contexts = [(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)) for _, ds in datasets]
    if datasets:
        kwargs = {"store_contexts": contexts} if server.protocol == "dimse" else {}
        with connect(server, **kwargs) as conn:
            for f, ds in tqdm(datasets, unit="file", desc="store",
                              disable=None if progress else True):  # fmt: skip
                ok, reason = conn.store(ds)
                status = "accepted" if ok else "refused"
                rows.append({"file": str(f), "sop_instance_uid": str(ds.SOPInstanceUID),
                             "status": status, "reason": reason})  # fmt: skip
    return pd.DataFrame(rows, columns=list(STORE_COLUMNS))
