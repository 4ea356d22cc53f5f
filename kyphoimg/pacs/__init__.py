"""Query, retrieve and store back: a PACS over DICOMweb or DIMSE (the ``pacs`` extra).

Name the server with :class:`PacsServer` (a DICOMweb URL, or an AE title, host and port)
or the study file's ``[pacs]`` table (:func:`server_from_study_file`); credentials come from
the environment, a netrc file or the keyring (:func:`credentials`), never from an argument
that lands in shell history. :func:`find` lists studies, :func:`get` retrieves them into a
study folder ``run`` reads (resumable, with a manifest), :func:`store` sends SRs back.
:class:`PacsCache` fetches a query's films one by one for a reading session
(:func:`pacs_worklist`).
Every failure is a :class:`~kyphoimg.errors.PacsError` naming the server.
"""

from __future__ import annotations

from ._ops import (
    FIND_COLUMNS,
    MANIFEST_COLUMNS,
    MANIFEST_NAME,
    STORE_COLUMNS,
    GetResult,
    echo,
    find,
    get,
    read_patient_list,
    store,
    study_folder,
)
from ._server import PacsServer, credentials, server_from_study_file
from ._session import PacsCache, RemoteFilm, pacs_worklist

__all__ = [
    "FIND_COLUMNS",
    "MANIFEST_COLUMNS",
    "MANIFEST_NAME",
    "STORE_COLUMNS",
    "GetResult",
    "PacsCache",
    "PacsServer",
    "RemoteFilm",
    "credentials",
    "echo",
    "find",
    "get",
    "pacs_worklist",
    "read_patient_list",
    "server_from_study_file",
    "store",
    "study_folder",
]
