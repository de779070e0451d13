"""Metadata of photos (EXIF, XMP, IPTC) and of containers (tags), and hostile headers."""

from __future__ import annotations

import io
import json
import struct
from datetime import datetime, timezone
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from media import _encode_audio, tone

from medialake.operators.config import DecodeConfig
from medialake.operators.decode import decode_file
from medialake.operators.metadata_av import container_metadata
from medialake.operators.metadata_image import image_metadata

XMP = b"""<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Harbour at dawn</rdf:li></rdf:Alt></dc:title>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">Fishing boats leaving</rdf:li></rdf:Alt></dc:description>
<dc:subject><rdf:Bag><rdf:li>boats</rdf:li><rdf:li>sea</rdf:li></rdf:Bag></dc:subject>
<Iptc4xmpExt:PersonInImage><rdf:Bag><rdf:li>Ada Lovelace</rdf:li></rdf:Bag></Iptc4xmpExt:PersonInImage>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def _exif(make="Canon", model="Canon EOS 5D Mark II", taken="2019:07:14 09:30:12", comment: bytes | None = None):
    ex = Image.Exif()
    ex[0x010F] = make
    ex[0x0110] = model
    ex[0x0112] = 1
    sub = ex.get_ifd(0x8769)
    sub[0x9003] = taken
    sub[0xA434] = "EF24-105mm f/4L IS USM"
    if comment is not None:
        sub[0x9286] = comment
    gps = ex.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 29.0)
    gps[3], gps[4] = "E", (2.0, 17.0, 40.0)
    return ex


def _with_app1(jpeg: bytes, payload: bytes) -> bytes:
    """``jpeg`` with one more APP1 segment (an XMP packet) right after SOI."""
    seg = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + seg + jpeg[2:]


def _jpeg(path: Path, exif=None, xmp: bytes | None = None, size=(64, 48)) -> Path:
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif if exif is not None else Image.Exif())
    data = buf.getvalue()
    if xmp is not None:
        data = _with_app1(data, b"http://ns.adobe.com/xap/1.0/\x00" + xmp)
    path.write_bytes(data)
    return path


def _record(path: Path, media_type: str = "image") -> dict:
    return {"asset_id": path.stem, "uri": str(path), "media_type": media_type, "size": path.stat().st_size,
            "mtime": None}


def test_exif_xmp_of_a_photo(tmp_path):
    p = _jpeg(tmp_path / "a.jpg", _exif(), XMP)
    with Image.open(p) as img:
        m = image_metadata(img)
    assert m.taken_at == datetime(2019, 7, 14, 9, 30, 12, tzinfo=timezone.utc)
    assert (m.camera_make, m.camera_model) == ("Canon", "Canon EOS 5D Mark II")
    assert m.gps_lat == pytest.approx(48.858, abs=1e-3) and m.gps_lon == pytest.approx(2.2944, abs=1e-3)
    assert m.other["lens"].startswith("EF24-105mm")
    assert m.other["title"] == "Harbour at dawn" and m.other["keywords"] == ["boats", "sea"]
    assert m.other["people"] == ["Ada Lovelace"]
    assert "Canon EOS 5D Mark II" in m.text() and "Ada Lovelace" in m.text()


def test_decode_carries_metadata_to_the_marker_and_first_segment(tmp_path):
    p = _jpeg(tmp_path / "b.jpg", _exif(), XMP)
    rows = decode_file(_record(p), DecodeConfig(frames_per_segment=0))
    assert len(rows) == 1 and rows[0]["camera_model"] == "Canon EOS 5D Mark II"
    assert rows[0]["taken_at"].date().isoformat() == "2019-07-14"
    assert "Harbour at dawn" in rows[0]["metadata_text"]
    assert json.loads(rows[0]["metadata"])["keywords"] == ["boats", "sea"]
    assert isinstance(rows[0]["phash"], int)


HOSTILE_XMP = [
    b"<x:xmpmeta><rdf:RDF><rdf:Description><dc:title>unclosed",  # malformed
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><x:xmpmeta>&b;</x:xmpmeta>',  # entities
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + b"\xff\xfe\x00\x01" * 1000 + b"</x:xmpmeta>",  # binary
]


@pytest.mark.parametrize("xmp", HOSTILE_XMP, ids=["malformed", "entities", "binary"])
def test_hostile_xmp_never_fails_a_photo(tmp_path, xmp):
    p = _jpeg(tmp_path / "x.jpg", _exif(), xmp)
    rows = decode_file(_record(p), DecodeConfig(frames_per_segment=0))
    assert rows[0]["error"] is None and rows[0]["segment_index"] == 0
    assert rows[0]["camera_model"] == "Canon EOS 5D Mark II"  # the EXIF part is still read


def test_huge_and_binary_exif_never_fails_a_photo(tmp_path):
    blob = b"UNICODE\x00" + ("x" * 24000).encode("utf-16-le")  # a 48 KB user comment (JPEG's limit is 64 KB)
    ex = _exif(make=b"\x00\x01\x02\xff" * 64, model="M" * 5000, taken="9999:99:99 99:99:99", comment=blob)
    ex[0x927C] = bytes(range(256)) * 20  # maker notes: binary
    p = _jpeg(tmp_path / "h.jpg", ex)
    rows = decode_file(_record(p), DecodeConfig(frames_per_segment=0))
    row = rows[0]
    assert row["error"] is None
    assert row["camera_make"] is None  # binary bytes are not text
    assert len(row["camera_model"]) <= 500 and row["taken_at"] is None
    assert len(row["metadata"].encode()) <= 16_384


def test_container_tags(tmp_path):
    p = tmp_path / "tagged.mp4"
    with av.open(str(p), "w") as c:
        c.metadata["title"] = "Boat trip"
        c.metadata["artist"] = "Grace Hopper"
        c.metadata["comment"] = "first outing"
        c.metadata["creation_time"] = "2021-05-03T10:00:00.000000Z"
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        a = c.add_stream("aac", rate=16000, layout="mono")
        a.metadata["language"] = "fra"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
            for pkt in s.encode(frame):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
        _encode_audio(c, a, tone(1.0), 16000)
    with av.open(str(p)) as c:
        m = container_metadata(c)
    assert m.other["title"] == "Boat trip" and m.other["artist"] == "Grace Hopper"
    assert m.taken_at == datetime(2021, 5, 3, 10, 0, tzinfo=timezone.utc)
    assert "audio:fra" in m.other["stream_languages"]
    assert "Boat trip" in m.text()


def test_megabytes_of_exif_in_a_png(tmp_path):
    ex = _exif(comment=b"ASCII\x00\x00\x00" + b"y" * (3 << 20))  # PNG's eXIf chunk has no 64 KB limit
    p = tmp_path / "big.png"
    Image.new("RGB", (32, 24), (10, 200, 30)).save(p, exif=ex)
    rows = decode_file(_record(p), DecodeConfig(frames_per_segment=0))
    assert rows[0]["error"] is None and rows[0]["camera_model"] == "Canon EOS 5D Mark II"
    assert len(rows[0]["metadata"].encode()) <= 16_384
