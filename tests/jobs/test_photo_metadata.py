"""End to end on real photos (the samples' scikit-image pictures) given EXIF: a camera query,
capture-date filters, near-duplicate groups, collapsed copies and an image query by hash."""

from __future__ import annotations

import json

import pytest
from PIL import Image

import medialake
from medialake.jobs.cli import main

pytestmark = pytest.mark.slow


def _exif(make: str, model: str, taken: str) -> Image.Exif:
    ex = Image.Exif()
    ex[0x010F], ex[0x0110] = make, model
    ex.get_ifd(0x8769)[0x9003] = taken
    return ex


@pytest.fixture(scope="module")
def photos(tmp_path_factory, samples, ray_local):
    src = tmp_path_factory.mktemp("photos")
    astronaut = Image.open(samples / "images" / "astronaut.jpg").convert("RGB")
    chelsea = Image.open(samples / "images" / "chelsea.jpg").convert("RGB")
    astronaut.save(src / "canon.jpg", quality=92, exif=_exif("Canon", "Canon EOS 5D Mark II", "2019:07:14 09:30:00"))
    chelsea.save(src / "nikon.jpg", quality=92, exif=_exif("NIKON CORPORATION", "NIKON D750", "2021:03:02 18:00:00"))
    astronaut.resize((192, 192), Image.LANCZOS).save(src / "copy_small.webp", quality=70)  # no EXIF
    query = tmp_path_factory.mktemp("query") / "crop.png"
    w, h = astronaut.size
    astronaut.crop((int(0.05 * w), int(0.05 * h), w, h)).save(query)  # 5% cropped off two sides
    db = str(tmp_path_factory.mktemp("db") / "lake.lance")
    summary = medialake.ingest(src, db, profile="fast")
    assert summary.ingested == 3 and summary.failed == 0
    return db, query


def _name(m: dict) -> str:
    return m["asset_uri"].rsplit("/", 1)[-1]


def test_camera_query_finds_that_cameras_photo_first(photos):
    db, _ = photos
    assert _name(medialake.search("NIKON D750", db=db, limit=3)[0]) == "nikon.jpg"
    top = medialake.search("Canon EOS 5D", db=db, limit=3)[0]
    assert _name(top) == "canon.jpg"
    assert top["copies"] == 1 and top["copy_uris"][0].endswith("copy_small.webp")  # the copy is folded in


def test_capture_date_filters_are_inclusive_and_exact(photos):
    db, _ = photos
    words = "Canon NIKON photo"
    assert {_name(m) for m in medialake.search(words, db=db, taken_since="2021-03-02")} == {"nikon.jpg"}
    assert {_name(m) for m in medialake.search(words, db=db, taken_until="2019-07-14")} == {"canon.jpg"}
    assert medialake.search(words, db=db, taken_since="2021-03-03") == []
    both = medialake.search(words, db=db, taken_since="2019-07-14", taken_until="2021-03-02")
    assert {_name(m) for m in both} == {"canon.jpg", "nikon.jpg"}  # the copy has no capture time


def test_duplicates_groups_the_copy_and_not_the_distinct_photo(photos, capsys):
    db, _ = photos
    assert main(["duplicates", "--db", db, "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)
    assert len(groups) == 1
    assert sorted(_name(m) for m in groups[0]) == ["canon.jpg", "copy_small.webp"]
    assert groups[0][0]["distance"] == 0 and 0 <= groups[0][1]["distance"] <= 12 / 64
    assert main(["duplicates", "--db", db, "--json", "--threshold", "1"]) == 0  # everything is a copy at 1
    assert [len(g) for g in json.loads(capsys.readouterr().out)] == [3]


def test_image_query_finds_its_source_photo_without_an_image_model(photos):
    db, query = photos
    hits = medialake.search(image=query, db=db, limit=3, explain=True)
    assert hits and _name(hits[0]) in ("canon.jpg", "copy_small.webp")
    assert "phash<-image" in hits[0]["explain"]["lists"]
    assert all(_name(h) != "nikon.jpg" for h in hits)


def test_asset_view_shows_the_metadata(photos):
    from fastapi.testclient import TestClient

    from medialake.jobs.serve import create_app

    db, _ = photos
    top = medialake.search("Canon EOS 5D", db=db, limit=1)[0]
    client = TestClient(create_app(db))
    body = client.get(f"/api/assets/{top['asset_id']}").json()
    assert body["camera_model"] == "Canon EOS 5D Mark II" and body["taken_at"].startswith("2019-07-14")
    assert body["metadata"]["camera_make"] == "Canon"
    got = client.get("/api/search", params={"q": "Canon NIKON", "taken_since": "2021-01-01"}).json()
    assert [_name(m) for m in got] == ["nikon.jpg"]
