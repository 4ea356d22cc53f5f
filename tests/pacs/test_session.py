"""The reading session's core against a real Orthanc: a query's films fetched on demand."""

from __future__ import annotations

import socket
from pathlib import Path

import pandas as pd
import pytest
from pydicom import dcmread

from kyphoimg.errors import PacsError
from kyphoimg.pacs import MANIFEST_NAME, PacsCache, PacsServer, get, pacs_worklist
from kyphoimg.study import open_worklist

pytestmark = pytest.mark.usefixtures("pacs_env")
SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def test_query_lists_films_and_fetch_retrieves_one(orthanc, tmp_path: Path) -> None:
    cache = PacsCache(PacsServer(url=orthanc.dicomweb), tmp_path / "cache")
    try:
        films = cache.query(patients=["P001", "P002"])
        assert {f.patient_id for f in films} == {"P001", "P002"}
        assert len(films) == len(list(SAMPLE.glob("P00[12]/*.dcm")))
        assert not list((tmp_path / "cache").rglob("*.dcm"))  # nothing fetched by the query
        path = cache.fetch(films[0])
        assert path == tmp_path / "cache" / films[0].path
        assert str(dcmread(path).SOPInstanceUID) == films[0].sop_instance_uid
        assert [p.name for p in (tmp_path / "cache").rglob("*.dcm")] == [path.name]
        manifest = pd.read_csv(tmp_path / "cache" / MANIFEST_NAME, dtype=str)
        assert manifest["sop_instance_uid"].tolist() == [films[0].sop_instance_uid]
        assert cache.prefetch(films[1]).result(timeout=60).is_file()
    finally:
        cache.close()
    # pacs get of the same query into the cache resumes: the two fetched are not fetched again
    studies = pd.DataFrame(
        [{"study_instance_uid": f.study_instance_uid, "patient_id": f.patient_id,
          "study_date": f.study_date} for f in films]
    ).drop_duplicates()  # fmt: skip
    result = get(PacsServer(url=orthanc.dicomweb), studies, tmp_path / "cache", progress=False)
    assert (result.skipped, result.fetched) == (2, len(films) - 2)


def test_worklist_reads_landmark_files_beside_cached_films(orthanc, tmp_path: Path) -> None:
    cache = PacsCache(PacsServer(url=orthanc.dicomweb), tmp_path)
    try:
        films = cache.query(patients=["P003"])
        worklist = pacs_worklist(cache, films, rater="AB")
        assert [e.film_path for e in worklist] == sorted(cache.path(f) for f in films)
        assert {e.landmark_path.name for e in worklist} == {
            f"{Path(f.path).stem}.AB.landmarks.json" for f in films
        }
        assert {e.status for e in worklist} == {"not_started"}
        assert {e.timepoint for e in worklist} == {None}  # no surgery dates: none guessed
        surgery = pd.read_csv(SAMPLE / "clinical.csv")[["patient_id", "surgery_date"]]
        dated = pacs_worklist(cache, films, rater="AB", surgery=surgery)
        assert [e.label for e in dated] == ["P003 pre", "P003 post", "P003 last"]
        cache.fetch(films[0])
    finally:
        cache.close()
    # the cache is a study folder: kyphoimg's own worklist finds the fetched film
    local = open_worklist(tmp_path, rater="AB")
    assert [e.film_path for e in local] == [cache.path(films[0])]


def test_server_down_is_one_sentence_and_nothing_in_cache(orthanc, tmp_path: Path) -> None:
    cache = PacsCache(PacsServer(url=orthanc.dicomweb, timeout=5), tmp_path / "cache")
    films = cache.query(patients=["P004"])
    orthanc.stop()
    try:
        with pytest.raises(PacsError, match="cannot connect") as info:
            cache.fetch(films[0])
        assert "\n" not in str(info.value)
        assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*"))
    finally:
        cache.close()
        orthanc.start()


def test_dimse_fetches_the_same_layout(orthanc, tmp_path: Path) -> None:
    server = PacsServer(ae_title="ORTHANC", host="127.0.0.1", port=orthanc.dicom_port)
    cache = PacsCache(server, tmp_path)
    try:
        films = cache.query(patients=["P002"])
        assert len(films) == len(list(SAMPLE.glob("P002/*.dcm")))
        path = cache.fetch(films[-1])
    finally:
        cache.close()
    assert path.relative_to(tmp_path).parts[0] == "P002"
    assert str(dcmread(path).SOPInstanceUID) == films[-1].sop_instance_uid


def test_timeout_is_one_sentence_and_nothing_in_cache(orthanc, tmp_path: Path) -> None:
    films = PacsCache(PacsServer(url=orthanc.dicomweb), tmp_path).query(patients=["P001"])
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/dicom-web"
        cache = PacsCache(PacsServer(url=url, timeout=1), tmp_path / "cache")
        try:
            with pytest.raises(PacsError, match="no answer within 1 s") as info:
                cache.fetch(films[0])
        finally:
            cache.close()
    assert "\n" not in str(info.value)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*"))


def test_wrong_credentials_is_401(orthanc, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KYPHOIMG_PACS_PASSWORD", "wrong")
    cache = PacsCache(PacsServer(url=orthanc.dicomweb), tmp_path)
    try:
        with pytest.raises(PacsError, match="HTTP 401") as info:
            cache.query()
        assert "wrong" not in str(info.value)
    finally:
        cache.close()
