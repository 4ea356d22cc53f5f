"""A real Orthanc on loopback for the PACS tests: DICOMweb with basic auth, DIMSE with our AE.

The server runs as a plain process with a JSON configuration in ``tmp_path``: loopback only
(``RemoteAccessAllowed`` false), ``AuthenticationEnabled`` with one registered user, the
DICOMweb plugin, our AE title in ``DicomModalities`` (C-FIND/C-GET/C-STORE are refused to any
other AE title), and temporary storage. Without the ``Orthanc`` binary the tests skip with a
reason saying how to install it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("dicomweb_client", reason="the pacs extra: pip install 'kyphoimg[pacs]'")
pytest.importorskip("pynetdicom", reason="the pacs extra: pip install 'kyphoimg[pacs]'")
requests = pytest.importorskip("requests")

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_dicom"
PLUGIN_DIRS = (Path("/usr/share/orthanc/plugins"), Path("/usr/lib/orthanc/plugins"))
USER, PASSWORD = "fellow", "kypho-test-pw-7731"
OUR_AET, PACS_AET = "KYPHOIMG", "ORTHANC"


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary() -> str:
    found = shutil.which("Orthanc") or next(
        (p for p in ("/usr/sbin/Orthanc", "/usr/bin/Orthanc") if Path(p).is_file()), None
    )
    if found is None:
        pytest.skip(
            "Orthanc not installed: run `sudo apt-get install orthanc orthanc-dicomweb` "
            "(or `make sysdeps-test`, which tools/sysdeps.sh does as root)"
        )
    return found


def _plugin() -> Path:
    for folder in PLUGIN_DIRS:
        lib = folder / "libOrthancDicomWeb.so"
        if lib.is_file():
            return lib
    pytest.skip("the Orthanc DICOMweb plugin is missing: `sudo apt-get install orthanc-dicomweb`")


@dataclass
class Orthanc:
    """A running Orthanc: where it listens and how to stop or restart it."""

    folder: Path
    http_port: int
    dicom_port: int
    process: subprocess.Popen | None = None
    user: str = USER
    password: str = PASSWORD
    our_aet: str = OUR_AET
    pacs_aet: str = PACS_AET
    move_port: int = 0  # where the PACS sends C-MOVE results: our AE's registered port

    @property
    def rest(self) -> str:
        """The REST root (Orthanc's own API)."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb(self) -> str:
        """The DICOMweb root."""
        return f"{self.rest}/dicom-web"

    def start(self) -> None:
        """Start the process and wait until it answers an authenticated request."""
        with (self.folder / "orthanc.log").open("ab") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(
                [_binary(), str(self.folder / "orthanc.json")],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.folder,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (self.folder / "orthanc.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"Orthanc exited with {self.process.returncode}:\n{tail}")
            try:
                r = requests.get(f"{self.rest}/system", auth=(USER, PASSWORD), timeout=2)
                if r.status_code == 200:
                    return
            except requests.exceptions.ConnectionError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail("Orthanc did not answer within 60 s")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def upload(self, path: Path) -> None:
        """Store one DICOM file through the REST API."""
        r = requests.post(
            f"{self.rest}/instances", data=path.read_bytes(), auth=(USER, PASSWORD), timeout=30
        )
        r.raise_for_status()


def make_orthanc(folder: Path) -> Orthanc:
    """Write the configuration of an Orthanc in ``folder`` on free loopback ports."""
    folder.mkdir(parents=True, exist_ok=True)
    server = Orthanc(
        folder=folder, http_port=free_port(), dicom_port=free_port(), move_port=free_port()
    )
    storage = folder / "storage"
    config = {
        "Name": "kyphoimg-test",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpPort": server.http_port,
        "DicomPort": server.dicom_port,
        "DicomAet": PACS_AET,
        "DicomCheckCalledAet": True,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD},
        "HttpDescribeErrors": False,
        "Plugins": [str(_plugin())],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "Host": "127.0.0.1"},
        "DicomModalities": {"kyphoimg": [OUR_AET, "127.0.0.1", server.move_port]},
        "DicomAlwaysAllowEcho": False,
        "DicomAlwaysAllowStore": False,
        "DicomAlwaysAllowFind": False,
        "DicomAlwaysAllowGet": False,
        "DicomAlwaysAllowMove": False,
        "DicomScpTimeout": 10,
        "UnknownSopClassAccepted": False,
        "StableAge": 1,
    }
    (folder / "orthanc.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    return server


def sample_films() -> list[Path]:
    """The sample cohort's films (12 CR/DX radiographs of 4 synthetic patients)."""
    return sorted(SAMPLE.glob("P*/*.dcm"))


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """A running Orthanc holding the sample films; stopped after the module."""
    server = make_orthanc(tmp_path_factory.mktemp("orthanc"))
    server.start()
    try:
        for film in sample_films():
            server.upload(film)
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_orthanc(tmp_path: Path) -> Iterator[Orthanc]:
    """An empty Orthanc of this test's own (for tests that store into it or stop it)."""
    server = make_orthanc(tmp_path / "orthanc")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pacs_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials in the environment; no netrc or keyring of the user's is read."""
    monkeypatch.setenv("KYPHOIMG_PACS_USER", USER)
    monkeypatch.setenv("KYPHOIMG_PACS_PASSWORD", PASSWORD)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def tls_orthanc(orthanc: Orthanc, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS front of the module's Orthanc (self-signed certificate for 127.0.0.1).

    Orthanc 1.10 of Debian crashes (SIGSEGV) on its first HTTPS request with its own
    ``SslEnabled``, so TLS is terminated here, in a thread, and the bytes relayed to its
    HTTP port. Yields the DICOMweb root URL and the certificate (the CA bundle to give).
    """
    import ssl
    import threading

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not installed: `sudo apt-get install openssl`")
    cert, key = tmp_path / "ca.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()
    opened: list[socket.socket] = []  # closed at teardown, once their pipes have ended
    pipes: list[threading.Thread] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                client = context.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):
                raw.close()  # the client refused our certificate: that is the test
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", orthanc.http_port))
            except OSError:  # Orthanc busy or gone: the client sees a closed connection
                client.close()
                continue
            opened.extend((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                pipes.append(threading.Thread(target=_pipe, args=(a, b), daemon=True))
                pipes[-1].start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{port}/dicom-web", cert
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)
        for s in opened:  # ends every pipe still waiting on a connection
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        for pipe in pipes:
            pipe.join(timeout=5)
        for s in opened:  # left to the garbage collector, an unclosed socket warns
            s.close()
