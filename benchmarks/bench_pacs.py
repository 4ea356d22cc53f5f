"""PACS retrieval: films per second over DICOMweb (WADO-RS) and DIMSE (C-GET) on loopback.

A synthetic cohort (``kyphoimg.sample``: 20 patients, 60 lateral films of 1024 x 800, the
sample's mix of uncompressed and JPEG 2000 lossless) is stored in a real Orthanc started on
free loopback ports (the same configuration as tests/pacs/conftest.py: authentication on,
DICOMweb plugin, our AE title registered). ``kyphoimg.pacs.get`` of every study into an
empty folder is timed for each protocol (it includes the queries that plan the retrieval
and the atomic writes) against the baseline measured in the same run: a plain HTTP download
of the same instances' bytes (Orthanc's ``/instances/{id}/file``, one keep-alive session),
written to files. The ratio is the protocol's rate over the baseline's (1.0: as fast as a
plain download). Skipped (no rows) when the Orthanc binary or the pacs extra is absent.

Protocol: ``run() -> list[dict]`` (see ``benchmarks/run.py``); nothing asserts.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

N_PATIENTS = 20
USER, PASSWORD = "bench", "bench-pw-5521"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(folder: Path) -> tuple[subprocess.Popen, int, int]:
    import requests

    folder.mkdir(parents=True, exist_ok=True)
    http, dicom = _port(), _port()
    plugin = next(
        p
        for p in (Path("/usr/share/orthanc/plugins"), Path("/usr/lib/orthanc/plugins"))
        if (p / "libOrthancDicomWeb.so").is_file()
    )
    config = {
        "Name": "kyphoimg-bench", "StorageDirectory": str(folder / "db"),
        "IndexDirectory": str(folder / "db"), "HttpPort": http, "DicomPort": dicom,
        "DicomAet": "ORTHANC", "RemoteAccessAllowed": False, "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD}, "Plugins": [str(plugin / "libOrthancDicomWeb.so")],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "Host": "127.0.0.1"},
        "DicomModalities": {"kyphoimg": ["KYPHOIMG", "127.0.0.1", _port()]},
        "DicomAlwaysAllowGet": False, "DicomAlwaysAllowFind": False,
    }  # fmt: skip
    (folder / "orthanc.json").write_text(json.dumps(config), encoding="utf-8")
    with (folder / "orthanc.log").open("ab") as log:
        proc = subprocess.Popen(
            [shutil.which("Orthanc") or "/usr/sbin/Orthanc", str(folder / "orthanc.json")],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    for _ in range(300):
        try:
            if requests.get(f"http://127.0.0.1:{http}/system", auth=(USER, PASSWORD)).ok:
                return proc, http, dicom
        except requests.exceptions.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("Orthanc did not start")


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("nan")


def run() -> list[dict]:
    """Measure films per second retrieved by each protocol and by the plain download."""
    try:
        import requests

        import kyphoimg.pacs as pacs
        from kyphoimg.sample import generate_cohort
    except ImportError:
        print("  skipped: the pacs extra is not installed")
        return []
    if not (shutil.which("Orthanc") or Path("/usr/sbin/Orthanc").is_file()):
        print("  skipped: Orthanc not installed (apt-get install orthanc orthanc-dicomweb)")
        return []
    os.environ["KYPHOIMG_PACS_USER"], os.environ["KYPHOIMG_PACS_PASSWORD"] = USER, PASSWORD
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        films = [f.dicom_path for f in generate_cohort(tmp_path / "cohort", N_PATIENTS)]
        proc, http, dicom = _start(tmp_path / "orthanc")
        try:
            session = requests.Session()
            session.auth = (USER, PASSWORD)
            rest = f"http://127.0.0.1:{http}"
            ids = [session.post(f"{rest}/instances", data=Path(f).read_bytes()).json()["ID"]
                   for f in films]  # fmt: skip
            web = pacs.PacsServer(url=f"{rest}/dicom-web")
            dimse = pacs.PacsServer(ae_title="ORTHANC", host="127.0.0.1", port=dicom)
            studies = pacs.find(web)
            plain = tmp_path / "plain"
            plain.mkdir()
            t0 = time.perf_counter()
            for i in ids:
                (plain / f"{i}.dcm").write_bytes(session.get(f"{rest}/instances/{i}/file").content)
            t_plain = time.perf_counter() - t0
            times = {}
            for name, server in (("DICOMweb", web), ("DIMSE", dimse)):
                t0 = time.perf_counter()
                result = pacs.get(server, studies, tmp_path / name, progress=False)
                times[name] = time.perf_counter() - t0
                assert result.fetched == len(ids)
            mb = sum(p.stat().st_size for p in plain.iterdir()) / 1e6
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    base = _rate(len(ids), t_plain)
    return [
        {
            "id": "PACS",
            "metric": f"films/s retrieved over {name} (kyphoimg pacs get, {len(ids)} films)",
            "value": _rate(len(ids), t),
            "unit": "films/s",
            "baseline": base,
            "ratio": _rate(len(ids), t) / base,
            "note": f"baseline: plain HTTP download of the same {mb:.0f} MB from Orthanc's "
            "/instances/{id}/file; ratio = rate / baseline rate (1.0 = as fast)",
        }
        for name, t in times.items()
    ]
