"""The DIMSE side (pynetdicom): C-ECHO, C-FIND, C-GET and C-STORE as a service user."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydicom import Dataset

from ..errors import PacsError
from ._server import PacsServer

#: Storage SOP classes C-GET accepts: CR, DX (presentation and processing), SR, SC.
_GET_CLASSES = (
    "ComputedRadiographyImageStorage",
    "DigitalXRayImageStorageForPresentation",
    "DigitalXRayImageStorageForProcessing",
    "Comprehensive3DSRStorage",
    "ComprehensiveSRStorage",
    "EnhancedSRStorage",
    "SecondaryCaptureImageStorage",
)
#: Transfer syntaxes offered for C-GET: the usual radiograph encodings, stored as sent.
_SYNTAXES = (
    "1.2.840.10008.1.2.1",  # explicit VR little endian
    "1.2.840.10008.1.2",  # implicit VR little endian
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.70",  # JPEG lossless SV1
    "1.2.840.10008.1.2.4.57",  # JPEG lossless
    "1.2.840.10008.1.2.4.50",  # JPEG baseline
    "1.2.840.10008.1.2.4.80",  # JPEG-LS lossless
    "1.2.840.10008.1.2.5",  # RLE
)
_PENDING = (0xFF00, 0xFF01)
_VERIFICATION = "1.2.840.10008.1.1"
_FIND = "1.2.840.10008.5.1.4.1.2.2.1"  # Study Root Query/Retrieve - FIND
_GET = "1.2.840.10008.5.1.4.1.2.2.3"  # Study Root Query/Retrieve - GET
_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"  # Study Root Query/Retrieve - MOVE


def _require() -> Any:
    try:
        import pynetdicom
    except ImportError:
        raise PacsError("DIMSE needs the 'pacs' extra: pip install 'kyphoimg[pacs]'") from None
    logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)
    return pynetdicom


class DimseConnection:
    """One association with a DIMSE peer; every failure becomes a :class:`PacsError`."""

    def __init__(self, server: PacsServer, *, store_contexts: list[tuple[str, str]] | None = None):
        pynetdicom = _require()
        from pynetdicom import sop_class

        self.server = server
        self._received: list[tuple[str, bytes]] = []
        ae = pynetdicom.AE(ae_title=server.calling_ae_title)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = server.timeout
        ae.connection_timeout = server.timeout
        roles = []
        if store_contexts is None:
            for uid in (_VERIFICATION, _FIND, _GET, _MOVE):
                ae.add_requested_context(uid)
            for name in _GET_CLASSES:
                uid = getattr(sop_class, name)
                # One context per syntax: the PACS then sends each film as it is stored.
                for syntax in _SYNTAXES:
                    ae.add_requested_context(uid, syntax)
                roles.append(pynetdicom.build_role(uid, scp_role=True))
                for syntax in _SYNTAXES:  # C-MOVE: the PACS calls us back on move_port
                    ae.add_supported_context(uid, syntax)
        else:
            for uid, syntax in sorted(set(store_contexts)):  # one context per syntax, as for C-GET
                ae.add_requested_context(uid, syntax)
        _reachable(server)
        handlers = [(pynetdicom.evt.EVT_C_STORE, self._on_store)]
        self._assoc = ae.associate(
            server.host, int(server.port or 0), ae_title=server.ae_title,
            ext_neg=roles, evt_handlers=handlers,
        )  # fmt: skip
        if self._assoc.is_rejected:
            raise PacsError(
                f"{server.name}: association refused (called AE title {server.ae_title}, "
                f"calling AE title {server.calling_ae_title}); check both AE titles are "
                "registered at the PACS"
            )
        if not self._assoc.is_established:
            raise PacsError(
                f"{server.name}: cannot connect (server down, wrong host/port, or no answer "
                f"within {server.timeout:g} s); check that the PACS is running"
            )
        self._scp = None
        if server.move_port is not None and store_contexts is None:
            try:
                self._scp = ae.start_server(("", server.move_port), block=False,
                                            evt_handlers=handlers)  # fmt: skip
            except OSError as exc:
                self._assoc.abort()
                raise PacsError(
                    f"{server.name}: cannot listen on port {server.move_port} for C-MOVE "
                    f"({exc.strerror}); choose a free port registered at the PACS"
                ) from None

    def _on_store(self, event: Any) -> int:
        # Runs on the association's thread: keep the bytes; the caller's thread writes them.
        self._received.append((str(event.request.AffectedSOPInstanceUID), event.encoded_dataset()))
        return 0x0000

    def _lost(self, what: str) -> PacsError:
        name, aet = self.server.name, self.server.calling_ae_title
        if self._assoc.is_aborted or not self._assoc.is_established:
            return PacsError(
                f"{name}: the PACS aborted the association while trying to {what}; it may not "
                f"accept our calling AE title {aet} (register it in its DICOM modalities)"
            )
        return PacsError(
            f"{name}: no answer within {self.server.timeout:g} s while trying to {what}; "
            "check the server or raise --timeout"
        )

    def echo(self) -> None:
        """C-ECHO."""
        status = self._assoc.send_c_echo()
        if "Status" not in status:
            raise self._lost("echo")
        if status.Status != 0:
            raise PacsError(f"{self.server.name}: C-ECHO answered status 0x{status.Status:04X}")

    def _find(self, query: Dataset, what: str) -> list[Dataset]:
        out = []
        for status, identifier in self._assoc.send_c_find(query, _FIND):
            if "Status" not in status:
                raise self._lost(what)
            if status.Status in _PENDING:
                out.append(identifier)
            elif status.Status != 0:
                raise PacsError(
                    f"{self.server.name}: C-FIND failed with status 0x{status.Status:04X} while "
                    f"trying to {what}; the PACS may not allow queries from "
                    f"{self.server.calling_ae_title}"
                )
        return out

    def studies(self, filters: dict[str, str]) -> list[Dataset]:
        """C-FIND at the STUDY level."""
        query = Dataset()
        query.QueryRetrieveLevel = "STUDY"
        for keyword in ("StudyInstanceUID", "PatientID", "StudyDate", "StudyDescription",
                        "ModalitiesInStudy", "AccessionNumber",
                        "NumberOfStudyRelatedInstances"):  # fmt: skip
            setattr(query, keyword, filters.get(keyword, ""))
        return self._find(query, "query studies")

    def series(self, study_uid: str) -> list[Dataset]:
        """C-FIND at the SERIES level."""
        query = Dataset()
        query.QueryRetrieveLevel = "SERIES"
        query.StudyInstanceUID = study_uid
        query.SeriesInstanceUID = ""
        query.SeriesNumber = ""
        query.Modality = ""
        return self._find(query, f"query the series of study {study_uid}")

    def instances(self, study_uid: str, series_uid: str) -> list[str]:
        """C-FIND at the IMAGE level: SOP Instance UIDs."""
        query = Dataset()
        query.QueryRetrieveLevel = "IMAGE"
        query.StudyInstanceUID = study_uid
        query.SeriesInstanceUID = series_uid
        query.SOPInstanceUID = ""
        found = self._find(query, f"query the instances of series {series_uid}")
        return [str(ds.SOPInstanceUID) for ds in found]

    def fetch(
        self,
        study_uid: str,
        series_uid: str,
        sop_uids: list[str],
        save: Callable[[str, bytes], None],
    ) -> None:
        """C-GET each instance; ``save`` runs on this thread as each one arrives."""
        for sop in sop_uids:
            query = Dataset()
            query.QueryRetrieveLevel = "IMAGE"
            query.StudyInstanceUID = study_uid
            query.SeriesInstanceUID = series_uid
            query.SOPInstanceUID = sop
            if self._scp is not None:
                responses = self._assoc.send_c_move(query, self.server.calling_ae_title, _MOVE)
            else:
                responses = self._assoc.send_c_get(query, _GET)
            for status, _ in responses:
                self._drain(save)
                if "Status" not in status:
                    raise self._lost(f"retrieve instance {sop}")
                if status.Status not in (*_PENDING, 0x0000):
                    raise PacsError(
                        f"{self.server.name}: {'C-MOVE' if self._scp else 'C-GET'} of "
                        f"instance {sop} failed with status "
                        f"0x{status.Status:04X}; the PACS may not allow retrieval by "
                        f"{self.server.calling_ae_title}"
                    )
            self._drain(save)

    def _drain(self, save: Callable[[str, bytes], None]) -> None:
        while self._received:
            sop, data = self._received.pop(0)
            save(sop, data)

    def store(self, ds: Dataset) -> tuple[bool, str]:
        """C-STORE one instance: (accepted, reason when refused)."""
        try:
            status = self._assoc.send_c_store(ds)
        except ValueError as exc:  # no accepted presentation context for it
            return False, f"not accepted by the PACS ({exc})"
        if "Status" not in status:
            raise self._lost(f"store instance {ds.SOPInstanceUID}")
        if status.Status in (0x0000, 0xB000, 0xB007, 0xB006):
            return True, ""
        return False, f"status 0x{status.Status:04X}"

    def close(self) -> None:
        """Release the association (abort it when it no longer answers); stop our SCP."""
        if self._scp is not None:
            self._scp.shutdown()
        if self._assoc.is_established:
            self._assoc.release()
        else:
            self._assoc.abort()


def _reachable(server: PacsServer) -> None:
    """Fail early and cleanly when nothing listens (pynetdicom 3.0 leaks the socket then)."""
    import socket

    try:
        with socket.create_connection((str(server.host), int(server.port or 0)), server.timeout):
            pass
    except TimeoutError:
        raise PacsError(
            f"{server.name}: no answer within {server.timeout:g} s while trying to connect; "
            "check the host and port or raise --timeout"
        ) from None
    except OSError as exc:
        raise PacsError(
            f"{server.name}: cannot connect ({exc.strerror or 'network error'}): the server is "
            "down or the host/port is wrong; check that the PACS is running"
        ) from None
