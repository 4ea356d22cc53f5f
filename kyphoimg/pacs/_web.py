"""The DICOMweb side (dicomweb-client): QIDO-RS queries, WADO-RS retrieval, STOW-RS storage."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydicom import Dataset, dcmwrite

from ..errors import PacsError
from ._server import ENV_PASSWORD, ENV_USER, PacsServer, credentials

#: Retrieve each instance in the transfer syntax it is stored in (no transcoding).
_AS_STORED = (("application/dicom", "*"),)
#: Studies asked for per QIDO-RS request.
_PAGE = 200


def _require() -> Any:
    try:
        from dicomweb_client.api import DICOMwebClient
    except ImportError:
        raise PacsError("DICOMweb needs the 'pacs' extra: pip install 'kyphoimg[pacs]'") from None
    return DICOMwebClient


class WebConnection:
    """A DICOMweb session with one server; every failure becomes a :class:`PacsError`."""

    def __init__(self, server: PacsServer) -> None:

        client_class = _require()
        self.server = server
        session = _session_class()()
        cred = credentials(server)
        if cred is not None:
            session.auth = cred
        if server.ca_bundle is not None:
            if not Path(server.ca_bundle).is_file():
                raise PacsError(
                    f"{server.name}: CA bundle {server.ca_bundle} not found; give a PEM file"
                )
            session.verify = str(server.ca_bundle)
        self._client = client_class(
            url=str(server.url).rstrip("/"), session=session, timeout=server.timeout
        )
        self._client.set_http_retry_params(retry=False)
        self._authenticated = cred is not None

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        import requests

        name = self.server.name
        try:
            yield
        except requests.exceptions.SSLError:
            raise PacsError(
                f"{name}: TLS verification failed while trying to {what}; give the server's "
                "CA bundle (--ca-bundle) or fix its certificate"
            ) from None
        except requests.exceptions.Timeout:
            raise PacsError(
                f"{name}: no answer within {self.server.timeout:g} s while trying to {what}; "
                "check the server or raise --timeout"
            ) from None
        except requests.exceptions.ConnectionError:
            raise PacsError(
                f"{name}: cannot connect to {what} (server down or wrong URL); check that the "
                "PACS is running and the URL"
            ) from None
        except requests.exceptions.HTTPError as exc:
            raise PacsError(self._http_message(exc, what)) from None

    def _http_message(self, exc: Any, what: str) -> str:
        code = exc.response.status_code if exc.response is not None else "?"
        name = self.server.name
        if code == 401:
            how = (
                "the server refused the credentials"
                if self._authenticated
                else "the server asks for credentials and none are configured"
            )
            return (
                f"{name}: {how} (HTTP 401) while trying to {what}; set {ENV_USER} and "
                f"{ENV_PASSWORD}, a netrc entry or a keyring entry for {self.server.hostname}"
            )
        if code == 403:
            return (
                f"{name}: access forbidden (HTTP 403) while trying to {what}; ask its administrator"
            )
        return f"{name}: HTTP {code} while trying to {what}; check the URL (the DICOMweb root)"

    def echo(self) -> None:
        """Check the server answers a QIDO-RS query with our credentials."""
        with self._errors("query studies"):
            self._client.search_for_studies(limit=1, fields=["StudyInstanceUID"])

    def studies(self, filters: dict[str, str]) -> list[Dataset]:
        """QIDO-RS studies matching ``filters`` (keyword -> DICOM matching value)."""
        fields = ["StudyDescription", "ModalitiesInStudy", "NumberOfStudyRelatedInstances",
                  "AccessionNumber", "PatientID", "StudyDate"]  # fmt: skip
        out: dict[str, Dataset] = {}
        while True:  # page by offset; a server that ignores it repeats a page, which ends it
            with self._errors("query studies"):
                page = self._client.search_for_studies(
                    search_filters=filters, fields=fields, limit=_PAGE, offset=len(out)
                )
            fresh = [Dataset.from_json(item) for item in page]
            fresh = [ds for ds in fresh if str(ds.StudyInstanceUID) not in out]
            out.update((str(ds.StudyInstanceUID), ds) for ds in fresh)
            if len(page) < _PAGE or not fresh:
                return list(out.values())

    def series(self, study_uid: str) -> list[Dataset]:
        """QIDO-RS series of one study."""
        with self._errors(f"query the series of study {study_uid}"):
            found = self._client.search_for_series(study_uid, fields=["SeriesNumber", "Modality"])
        return [Dataset.from_json(item) for item in found]

    def instances(self, study_uid: str, series_uid: str) -> list[str]:
        """SOP Instance UIDs of one series (QIDO-RS)."""
        with self._errors(f"query the instances of series {series_uid}"):
            found = self._client.search_for_instances(study_uid, series_uid)
        return [str(Dataset.from_json(item).SOPInstanceUID) for item in found]

    def fetch(
        self,
        study_uid: str,
        series_uid: str,
        sop_uids: list[str],
        save: Callable[[str, bytes], None],
    ) -> None:
        """WADO-RS each instance as stored and hand its Part 10 bytes to ``save``."""
        for sop in sop_uids:
            with self._errors(f"retrieve instance {sop}"):
                ds = self._client.retrieve_instance(
                    study_uid, series_uid, sop, media_types=_AS_STORED
                )
            save(sop, _part10(ds))

    def store(self, ds: Dataset) -> tuple[bool, str]:
        """STOW-RS one instance: (accepted, reason when refused)."""
        import requests

        try:
            with self._errors(f"store instance {ds.SOPInstanceUID}"):
                response = self._client.store_instances([ds])
        except PacsError as exc:
            cause = exc.__context__
            response = getattr(cause, "response", None)
            http = isinstance(cause, requests.exceptions.HTTPError)
            if http and response is not None and response.status_code not in (401, 403):
                return False, f"HTTP {response.status_code}"
            raise
        failed = response.get("FailedSOPSequence") or []
        if failed:
            reason = failed[0].get("FailureReason", "?")
            return False, f"failure reason {reason}"
        return True, ""

    def close(self) -> None:
        """Nothing to release (HTTP connections are pooled by the session)."""


def _session_class() -> Any:
    import requests

    class WildcardSession(requests.Session):
        """Send QIDO-RS wildcards as ``*`` (legal in a query string).

        dicomweb-client encodes them as ``%2A``, which Orthanc 1.10 matches literally, so
        ``*LAT*`` found nothing.
        """

        def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
            # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's CA bundle;
            # --ca-bundle must win, so it is passed with every request.
            if isinstance(self.verify, str):
                kwargs.setdefault("verify", self.verify)
            return super().request(method, url, *args, **kwargs)

        def send(self, request: Any, **kwargs: Any) -> Any:
            if request.url and "%2A" in request.url:
                request.url = request.url.replace("%2A", "*")
            return super().send(request, **kwargs)

    return WildcardSession


def _part10(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()
