"""`kyphoimg pacs` against a real Orthanc on loopback: the user's path and every failure."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydicom import dcmread

from kyphoimg.cli import main
from kyphoimg.errors import PacsConfigError
from kyphoimg.landmarks import read_landmark_files
from kyphoimg.measure import measures_table
from kyphoimg.pacs import MANIFEST_NAME, PacsServer, credentials, find, server_from_study_file

pytestmark = pytest.mark.usefixtures("pacs_env")
SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
# The test server's user and AE titles (tests/pacs/conftest.py configures them).
USER, PASSWORD, OUR_AET, PACS_AET = "fellow", "kypho-test-pw-7731", "KYPHOIMG", "ORTHANC"


def sample_films() -> list[Path]:
    return sorted(SAMPLE.glob("P*/*.dcm"))


def web(o) -> list[str]:
    return ["--url", o.dicomweb]


def dimse(o, calling: str = OUR_AET, called: str = PACS_AET) -> list[str]:
    return ["--ae-title", called, "--host", "127.0.0.1", "--port", str(o.dicom_port),
            "--calling-ae-title", calling]  # fmt: skip


PROTOCOLS = {"dicomweb": web, "dimse": dimse}


def sample_headers() -> pd.DataFrame:
    rows = []
    for f in sample_films():
        ds = dcmread(f, stop_before_pixels=True)
        rows.append({"file": f, "sop": ds.SOPInstanceUID, "patient": ds.PatientID,
                     "date": ds.StudyDate, "modality": ds.Modality})  # fmt: skip
    return pd.DataFrame(rows)


def dcm_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.dcm"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["pacs", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- echo, find
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_echo_answers(orthanc, protocol, capsys):
    code, out, err = run(capsys, "echo", *PROTOCOLS[protocol](orthanc))
    assert (code, err) == (0, "")
    assert f"answers ({protocol})" in out


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_find_filters_by_patient_date_and_modality(orthanc, protocol, tmp_path, capsys):
    h = sample_headers()
    ids = tmp_path / "ids.txt"
    ids.write_text("P002\nP003\n\nP002\n", encoding="utf-8")
    out_csv = tmp_path / "found.csv"
    argv = ["find", *PROTOCOLS[protocol](orthanc), "--patient-list", str(ids), "--modality", "DX",
            "--from", "2024-01-01", "--to", "2025-12-31", "-o", str(out_csv)]  # fmt: skip
    code, out, _ = run(capsys, *argv)
    assert code == 0
    want = h[h.patient.isin(["P002", "P003"]) & (h.modality == "DX")
             & h.date.between("20240101", "20251231")]  # fmt: skip
    assert len(want) > 0
    found = pd.read_csv(out_csv, dtype=str)
    assert sorted(found.study_date) == sorted(want.date)
    assert set(found.patient_id) <= {"P002", "P003"}
    assert (found.modalities == "DX").all()
    assert f"{len(want)} study(ies)" in out
    assert "SYNTHETIC" not in out_csv.read_text()  # no patient names in what find writes


def test_find_by_description_wildcard(orthanc):
    server = PacsServer(url=orthanc.dicomweb)
    assert len(find(server, description="*THORACOLUMBAR*")) == 12
    assert len(find(server, description="*CERVICAL*")) == 0


# --------------------------------------------------------------------------- get
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_get_lands_whole_films_in_the_study_layout_with_a_manifest(
    orthanc, protocol, tmp_path, capsys
):
    out = tmp_path / "films"
    code, stdout, err = run(capsys, "get", *PROTOCOLS[protocol](orthanc), "-o", str(out))
    assert code == 0, err
    assert "12 instance(s) retrieved, 0 already there" in stdout
    h = sample_headers().set_index("sop")
    files = dcm_files(out)
    assert sorted(f.stem for f in files) == sorted(h.index)
    for f in files:
        got, src = dcmread(f), dcmread(h.loc[f.stem, "file"])
        rel = f.relative_to(out).parts
        assert rel[0] == src.PatientID
        assert rel[1].startswith(src.StudyDate + "_")
        assert rel[2] == f"{src.Modality}_{src.SeriesNumber}"
        assert got.file_meta.TransferSyntaxUID == src.file_meta.TransferSyntaxUID  # as stored
        assert np.array_equal(got.pixel_array, src.pixel_array)
    manifest = pd.read_csv(out / MANIFEST_NAME, dtype=str)
    assert sorted(manifest.sop_instance_uid) == sorted(h.index)
    assert set(manifest.protocol) == {protocol}
    assert all((out / p).is_file() for p in manifest.path)
    text = (out / MANIFEST_NAME).read_text()
    assert PASSWORD not in text
    assert USER not in text
    # Running it again resumes: nothing is fetched twice.
    code, stdout, _ = run(capsys, "get", *PROTOCOLS[protocol](orthanc), "-o", str(out))
    assert code == 0
    assert "0 instance(s) retrieved, 12 already there" in stdout


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_interrupted_get_leaves_only_whole_files_and_resumes_with_the_rest(
    orthanc, protocol, tmp_path, capsys, monkeypatch
):
    import kyphoimg.pacs._ops as ops

    real = ops._write_bytes
    calls = []

    def ctrl_c_on_the_sixth(tmp: str, data: bytes) -> None:
        calls.append(tmp)
        if len(calls) == 6:  # half a file on disk, then Ctrl+C
            Path(tmp).write_bytes(data[: len(data) // 2])
            raise KeyboardInterrupt
        real(tmp, data)

    monkeypatch.setattr(ops, "_write_bytes", ctrl_c_on_the_sixth)
    out = tmp_path / "films"
    code, _, err = run(capsys, "get", *PROTOCOLS[protocol](orthanc), "-o", str(out))
    assert code == 130
    assert err.startswith("kyphoimg: interrupted;")
    assert err.count("\n") == 1
    files = [p for p in out.rglob("*") if p.is_file()]
    assert sorted(p.name for p in files if p.suffix != ".csv") == sorted(
        p.name for p in dcm_files(out)
    )
    assert len(dcm_files(out)) == 5  # the five whole ones, nothing partial or hidden
    for f in dcm_files(out):
        dcmread(f).pixel_array  # noqa: B018 - whole and decodable
    assert len(pd.read_csv(out / MANIFEST_NAME)) == 5
    monkeypatch.setattr(ops, "_write_bytes", real)
    code, stdout, _ = run(capsys, "get", *PROTOCOLS[protocol](orthanc), "-o", str(out))
    assert code == 0
    assert "7 instance(s) retrieved, 5 already there" in stdout
    assert len(dcm_files(out)) == 12
    assert len(pd.read_csv(out / MANIFEST_NAME)) == 12


# --------------------------------------------------------------------------- failures
def test_wrong_password_is_one_sentence_without_the_password(orthanc, capsys, monkeypatch):
    monkeypatch.setenv("KYPHOIMG_PACS_PASSWORD", "not-the-password-4242")
    code, out, err = run(capsys, "find", *web(orthanc))
    assert code == 1
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "refused the credentials (HTTP 401)" in err
    assert orthanc.dicomweb in err
    assert "not-the-password-4242" not in out + err


def test_no_credentials_names_where_to_put_them(orthanc, capsys, monkeypatch):
    monkeypatch.delenv("KYPHOIMG_PACS_USER")
    monkeypatch.delenv("KYPHOIMG_PACS_PASSWORD")
    code, _, err = run(capsys, "echo", *web(orthanc))
    assert code == 1
    assert "none are configured (HTTP 401)" in err
    assert "KYPHOIMG_PACS_USER" in err


def test_credentials_come_from_a_netrc_file(orthanc, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("KYPHOIMG_PACS_USER")
    monkeypatch.delenv("KYPHOIMG_PACS_PASSWORD")
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert credentials(PacsServer(url=orthanc.dicomweb)) == (USER, PASSWORD)
    code, _, err = run(capsys, "echo", *web(orthanc))
    assert code == 0, err


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_server_stopped(fresh_orthanc, protocol, capsys):
    argv = ["echo", *PROTOCOLS[protocol](fresh_orthanc)]
    assert run(capsys, *argv)[0] == 0
    fresh_orthanc.stop()
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert "cannot connect" in err
    assert "Traceback" not in err
    assert err.count("\n") == 1


def test_unregistered_calling_ae_is_refused(orthanc, capsys):
    code, _, err = run(capsys, "find", *dimse(orthanc, calling="STRANGER"))
    assert code == 1
    assert "calling AE title STRANGER" in err
    assert err.count("\n") == 1


def test_wrong_called_ae_title_is_an_association_refused(orthanc, capsys):
    code, _, err = run(capsys, "echo", *dimse(orthanc, called="NOTORTHANC"))
    assert code == 1
    assert "association refused" in err


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_server_that_never_answers_times_out(protocol, capsys):
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        if protocol == "dicomweb":
            argv = ["--url", f"http://127.0.0.1:{port}/dicom-web"]
        else:
            argv = ["--ae-title", "X", "--host", "127.0.0.1", "--port", str(port)]
        code, _, err = run(capsys, "echo", *argv, "--timeout", "1")
    assert code == 1
    assert ("no answer within 1 s" in err) or ("within 1 s" in err), err


def test_usage_errors_exit_2_and_never_echo_credentials(capsys, tmp_path):
    code, _, err = run(capsys, "echo", "--url", "https://bob:hunter2@pacs.example.org/dicom-web")
    assert code == 2
    assert "hunter2" not in err
    assert "carries credentials" in err
    code, _, err = run(capsys, "echo")
    assert code == 2
    assert "--ae-title" in err
    code, _, err = run(capsys, "echo", "--url", "https://pacs.example.org/x", "--host", "h")
    assert code == 2
    assert "not both" in err
    study = tmp_path / "study.toml"
    study.write_text('[pacs]\nurl = "http://127.0.0.1:1/dicom-web"\npasword = "x"\n')
    code, _, err = run(capsys, "echo", "--study", str(study))
    assert code == 2
    assert "pasword" in err
    assert "[pacs]" in err
    code, _, err = run(capsys, "find", "--url", "http://127.0.0.1:1/d", "--from", "last week")
    assert code == 2
    assert "--from" in err


def test_study_file_names_the_server(orthanc, tmp_path, capsys):
    study = tmp_path / "study.toml"
    study.write_text(
        f'[run]\nstudy = "films"\n\n[pacs]\nae_title = "{PACS_AET}"\nhost = "127.0.0.1"\n'
        f'port = {orthanc.dicom_port}\ncalling_ae_title = "{OUR_AET}"\n', encoding="utf-8"
    )  # fmt: skip
    assert server_from_study_file(study).name == f"{PACS_AET}@127.0.0.1:{orthanc.dicom_port}"
    code, out, _ = run(capsys, "echo", "--study", str(study))
    assert code == 0
    assert "(dimse)" in out
    other = tmp_path / "other.toml"
    other.write_text('[run]\nstudy = "x"\n', encoding="utf-8")
    with pytest.raises(PacsConfigError, match="no \\[pacs\\] table"):
        server_from_study_file(other)


def test_store_reports_each_instance_accepted_or_refused(fresh_orthanc, tmp_path, capsys):
    film = sample_films()[0]
    odd = dcmread(film)
    odd.SOPClassUID = "1.2.3.4.5.6.7"  # a SOP class this PACS does not accept
    odd.file_meta.MediaStorageSOPClassUID = odd.SOPClassUID
    odd.SOPInstanceUID = odd.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.5.6.7.8"
    folder = tmp_path / "send"
    folder.mkdir()
    shutil.copy(film, folder / "film.dcm")
    odd.save_as(folder / "odd.dcm")
    (folder / "notes.dcm").write_text("not DICOM")
    report = tmp_path / "stored.csv"
    code, out, _ = run(capsys, "store", *dimse(fresh_orthanc), str(folder), "-o", str(report))
    assert code == 1
    table = pd.read_csv(report).set_index("file")
    assert table.loc[str(folder / "film.dcm"), "status"] == "accepted"
    assert table.loc[str(folder / "odd.dcm"), "status"] == "refused"
    assert table.loc[str(folder / "notes.dcm"), "status"] == "unreadable"
    assert "1 of 3 accepted" in out


# --------------------------------------------------------------------------- the whole path
def test_find_get_run_store_query_back_and_import_equals_local_measures(
    fresh_orthanc, tmp_path, capsys
):
    """A fellow's path: films from the PACS, measured, SRs back, read back from the PACS."""
    for film in sample_films():
        fresh_orthanc.upload(film)
    found = tmp_path / "found.csv"
    assert run(capsys, "find", *web(fresh_orthanc), "-o", str(found))[0] == 0
    films = tmp_path / "films"
    code, out, _ = run(
        capsys, "get", *web(fresh_orthanc), "--studies", str(found), "-o", str(films)
    )
    assert code == 0
    assert "12 instance(s) retrieved" in out
    # The reader's landmark files (here the sample's ground truth) go beside the films.
    h = sample_headers().set_index("sop")
    for f in dcm_files(films):
        src = Path(h.loc[f.stem, "file"])
        shutil.copy(
            src.with_name(src.stem + ".landmarks.json"), f.with_name(f.stem + ".landmarks.json")
        )
    results = tmp_path / "results"
    assert main(["run", str(films), "-o", str(results)]) == 0
    sr = tmp_path / "sr"
    assert main(["sr", "export", str(films), "--dicom", str(films), "-o", str(sr)]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "store", *dimse(fresh_orthanc), str(sr), "--renderings", str(films))
    assert code == 0
    assert "24 of 24 accepted" in out  # 12 SRs and 12 Secondary Capture drawings
    back = tmp_path / "back.csv"
    assert run(capsys, "find", *web(fresh_orthanc), "--modality", "SR", "-o", str(back))[0] == 0
    mods = pd.read_csv(back, dtype=str)
    assert len(mods) == 12
    assert mods.modalities.str.split("\\").map(set).map({"SR", "OT"}.issubset).all()
    fetched = tmp_path / "fetched-sr"
    code, out, _ = run(capsys, "get", *dimse(fresh_orthanc), "--studies", str(back),
                       "--modality", "SR", "-o", str(fetched))  # fmt: skip
    assert code == 0
    assert "12 instance(s) retrieved" in out
    imported = tmp_path / "imported"
    assert main(["sr", "import", str(fetched), "-o", str(imported)]) == 0
    local, errors = read_landmark_files([films])
    remote, errors2 = read_landmark_files([imported])
    assert errors.empty
    assert errors2.empty
    assert len(local) == len(remote) == 12
    key = ["patient_id", "timepoint", "level"]
    a = measures_table(local).sort_values(key).reset_index(drop=True)
    b = measures_table(remote).sort_values(key).reset_index(drop=True)
    numeric = [c for c in a.columns if pd.api.types.is_float_dtype(a[c])]
    assert len(numeric) > 5
    pd.testing.assert_frame_equal(a[key], b[key])
    np.testing.assert_allclose(a[numeric].to_numpy(float), b[numeric].to_numpy(float),
                               rtol=0, atol=1e-6, equal_nan=True)  # fmt: skip


def test_half_set_credentials_are_a_usage_error(capsys, monkeypatch):
    monkeypatch.delenv("KYPHOIMG_PACS_PASSWORD")
    code, _, err = run(capsys, "echo", "--url", "http://127.0.0.1:1/dicom-web")
    assert code == 2
    assert "only one of them is set" in err


def test_tls_with_a_ca_bundle_and_without_it(tls_orthanc, capsys, tmp_path):
    url, ca = tls_orthanc
    code, out, err = run(capsys, "find", "--url", url, "--ca-bundle", str(ca))
    assert code == 0, err
    assert "12 study(ies)" in out
    code, _, err = run(capsys, "echo", "--url", url)  # the system CAs only
    assert code == 1
    assert "TLS verification failed" in err
    assert "--ca-bundle" in err
    code, _, err = run(capsys, "echo", "--url", url, "--ca-bundle", str(tmp_path / "x"))
    assert code == 1
    assert "CA bundle" in err


def test_get_by_c_move_to_our_own_port(orthanc, tmp_path, capsys, monkeypatch):
    from pynetdicom.association import Association

    def no_c_get(*args, **kwargs):
        raise AssertionError("C-GET used where C-MOVE was asked for")

    monkeypatch.setattr(Association, "send_c_get", no_c_get)
    out = tmp_path / "films"
    argv = ["get", *dimse(orthanc), "--move-port", str(orthanc.move_port), "-o", str(out)]
    code, stdout, err = run(capsys, *argv)
    assert code == 0, err
    assert "12 instance(s) retrieved, 0 already there" in stdout
    h = sample_headers().set_index("sop")
    assert sorted(f.stem for f in dcm_files(out)) == sorted(h.index)
    for f in dcm_files(out):
        assert np.array_equal(dcmread(f).pixel_array, dcmread(h.loc[f.stem, "file"]).pixel_array)
