"""Naming a PACS and finding its credentials (environment, netrc, keyring; never a flag)."""

from __future__ import annotations

import netrc
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import PacsConfigError, StudyError

#: Environment variables holding the DICOMweb user name and password.
ENV_USER = "KYPHOIMG_PACS_USER"
ENV_PASSWORD = "KYPHOIMG_PACS_PASSWORD"
#: The keyring service name: ``keyring set kyphoimg <host>`` stores the password.
KEYRING_SERVICE = "kyphoimg"


@dataclass(frozen=True)
class PacsServer:
    """A PACS named either by its DICOMweb root URL or by its DIMSE AE title, host and port.

    Parameters
    ----------
    url : str, optional
        DICOMweb root (``https://pacs.example.org/dicom-web``); QIDO-RS, WADO-RS and STOW-RS
        are requested under it. Credentials never go in the URL.
    ca_bundle : pathlib.Path, optional
        A PEM file of the certificate authorities trusted for an ``https`` URL.
    ae_title, host, port : str, str, int, optional
        The DIMSE peer: its (called) AE title, host name and port.
    calling_ae_title : str
        Our own AE title, registered at the PACS (default ``KYPHOIMG``).
    move_port : int, optional
        DIMSE: retrieve by C-MOVE to our AE title, listening on this port (the one the PACS
        has registered for it) instead of C-GET.
    timeout : float
        Seconds to wait for the server before giving up (default 30).
    """

    url: str | None = None
    ca_bundle: Path | None = None
    ae_title: str | None = None
    host: str | None = None
    port: int | None = None
    calling_ae_title: str = "KYPHOIMG"
    timeout: float = 30.0
    move_port: int | None = None

    def __post_init__(self) -> None:
        dimse = (self.ae_title, self.host, self.port)
        if self.url and any(v is not None for v in dimse):
            raise PacsConfigError(
                "name the PACS either by --url (DICOMweb) or by --ae-title/--host/--port "
                "(DIMSE), not both"
            )
        if self.url:
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise PacsConfigError(
                    f"--url {parts.scheme or '(no scheme)'}://...: give the DICOMweb root as "
                    "http(s)://host[:port]/path"
                )
            if parts.username or parts.password:
                raise PacsConfigError(
                    "--url carries credentials: remove them from the URL and set "
                    f"{ENV_USER}/{ENV_PASSWORD}, a netrc entry or a keyring entry instead"
                )
        elif any(v is None for v in dimse):
            missing = [
                n
                for n, v in zip(("--ae-title", "--host", "--port"), dimse, strict=True)
                if v is None
            ]
            raise PacsConfigError(
                "name the PACS by --url (DICOMweb) or by --ae-title, --host and --port (DIMSE), "
                f"or in the study file's [pacs] table; missing: {', '.join(missing)}"
            )
        if not 0 < self.timeout <= 3600:
            raise PacsConfigError(f"timeout {self.timeout}: give seconds between 0 and 3600")

    @property
    def protocol(self) -> str:
        """``"dicomweb"`` or ``"dimse"``."""
        return "dicomweb" if self.url else "dimse"

    @property
    def name(self) -> str:
        """How messages and manifests name the server (never with credentials)."""
        if self.url:
            return self.url.rstrip("/")
        return f"{self.ae_title}@{self.host}:{self.port}"

    @property
    def hostname(self) -> str:
        """The host the credentials are looked up for."""
        return (urlsplit(self.url).hostname or "") if self.url else str(self.host)


def credentials(server: PacsServer) -> tuple[str, str] | None:
    """Return the (user, password) for ``server``, or ``None`` when none is configured.

    Looked up in this order: the environment (``KYPHOIMG_PACS_USER`` and
    ``KYPHOIMG_PACS_PASSWORD``), the netrc file (``$NETRC`` or ``~/.netrc``, the machine
    entry for the server's host), then the keyring when the ``keyring`` package is installed
    (service ``kyphoimg``, user name = the host's entry). Never from a command-line value.

    Parameters
    ----------
    server : PacsServer
        The server whose host the netrc and keyring entries are looked up for.

    Returns
    -------
    tuple of str or None
        User name and password.

    Raises
    ------
    PacsConfigError
        If only one of the two environment variables is set, or the netrc file is invalid.
    """
    user, password = os.environ.get(ENV_USER), os.environ.get(ENV_PASSWORD)
    if user and password:
        return user, password
    if user or password:
        raise PacsConfigError(f"set both {ENV_USER} and {ENV_PASSWORD} (only one of them is set)")
    found = _from_netrc(server.hostname)
    return found if found is not None else _from_keyring(server.hostname)


def _from_netrc(host: str) -> tuple[str, str] | None:
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    if not path.is_file():
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except (netrc.NetrcParseError, OSError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise PacsConfigError(
            f"{path}{where}: cannot read the netrc file; fix or remove it"
        ) from None
    if entry is None or not entry[0] or not entry[2]:
        return None
    return entry[0], entry[2]


def _from_keyring(host: str) -> tuple[str, str] | None:
    try:
        import keyring
    except ImportError:
        return None
    try:
        cred = keyring.get_credential(KEYRING_SERVICE, None)
        named = keyring.get_credential(f"{KEYRING_SERVICE}:{host}", None)
    except Exception:  # a broken keyring backend is 'no entry', not a crash
        return None
    cred = named or cred
    if cred is None or not cred.username or not cred.password:
        return None
    return cred.username, cred.password


def server_from_study_file(path: str | os.PathLike[str]) -> PacsServer:
    """Read the ``[pacs]`` table of a study file into a :class:`PacsServer`.

    The file is read by :func:`kyphoimg.studyfile.read_study_file` (one schema for
    every table); ``ca_bundle`` is taken relative to the file.

    Parameters
    ----------
    path : path-like
        The study TOML file.

    Returns
    -------
    PacsServer
        The server it names.

    Raises
    ------
    PacsConfigError
        If the file cannot be read, has no ``[pacs]`` table, or the table has an unknown key.
    """
    from ..studyfile import read_study_file

    path = Path(path)
    try:
        values = dict(read_study_file(path).table("pacs"))
    except StudyError as exc:
        raise PacsConfigError(str(exc)) from None
    if not values:
        raise PacsConfigError(f"{path}: no [pacs] table; add url = ... or ae_title/host/port")
    try:
        return PacsServer(**values)
    except TypeError as exc:
        raise PacsConfigError(f"{path}: [pacs] {exc}") from None
