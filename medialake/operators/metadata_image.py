"""Photo metadata with Pillow: EXIF (IFD0, Exif and GPS IFDs), XMP packets and IPTC records.

``image_metadata(img)`` takes an open PIL image (before any pixel is needed) and returns a
:class:`medialake.operators.metadata.Metadata`; it never raises (see that module).
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET

from PIL import Image

from medialake.operators.metadata import MAX_XMP, Metadata, _cut, _gps_coord, clean, parse_datetime

log = logging.getLogger(__name__)

_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_IFD0 = {0x010F: "camera_make", 0x0110: "camera_model", 0x0112: "orientation", 0x010E: "description",
         0x013B: "artist", 0x8298: "copyright", 0x0131: "software"}
_XP = {0x9C9B: "title", 0x9C9C: "comment", 0x9C9D: "artist", 0x9C9E: "keywords", 0x9C9F: "subject"}
_EXIF = {0xA434: "lens", 0xA433: "lens_make", 0x829A: "exposure_s", 0x829D: "f_number", 0x8827: "iso",
         0x920A: "focal_length_mm", 0xA420: "image_unique_id"}
_IPTC = {(2, 5): "title", (2, 120): "description", (2, 25): "keywords", (2, 80): "artist", (2, 90): "city",
         (2, 101): "country", (2, 116): "copyright"}

_NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "iptcExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "mwg": "http://www.metadataworkinggroup.com/schemas/regions/",
    "mp": "http://ns.microsoft.com/photo/1.2/t/RegionInfo#",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
}


def image_metadata(img: Image.Image) -> Metadata:
    """EXIF, XMP and IPTC of ``img``; each part that cannot be read is skipped."""
    meta = Metadata()
    for part in (_exif, _xmp, _iptc):
        try:
            part(img, meta)
        except Exception as e:  # hostile or broken metadata never fails the picture
            log.debug("metadata %s skipped: %s", part.__name__, e)
    return meta


def _xp_text(value) -> str | None:
    if isinstance(value, tuple):
        value = bytes(v & 0xFF for v in value if isinstance(v, int))
    if isinstance(value, bytes):
        try:
            return _cut(value.decode("utf-16-le").rstrip("\x00"))
        except UnicodeDecodeError:
            return None
    return _cut(value)


def _exif(img: Image.Image, meta: Metadata) -> None:
    exif = img.getexif()
    if not exif:
        return
    for tag, key in _IFD0.items():
        if tag in exif:
            meta.set(key, exif[tag])
    for tag, key in _XP.items():
        if tag in exif:
            text = _xp_text(exif[tag])
            if key == "keywords" and text:
                meta.add_list("keywords", [k.strip() for k in text.split(";")])
            elif text:
                meta.set(key, text)
    sub = exif.get_ifd(_EXIF_IFD)
    for tag, key in _EXIF.items():
        if tag in sub:
            meta.set(key, sub[tag])
    comment = sub.get(0x9286)
    if isinstance(comment, bytes) and comment[:8] in (b"ASCII\x00\x00\x00", b"UNICODE\x00"):
        codec = "ascii" if comment[:1] == b"A" else "utf-16"
        meta.set("comment", comment[8:].decode(codec, "replace"))
    taken = (sub.get(0x9003), sub.get(0x9011)) if sub.get(0x9003) else (sub.get(0x9004), sub.get(0x9012))
    meta.taken_at = parse_datetime(taken[0], _cut(taken[1])) or parse_datetime(exif.get(0x0132), _cut(sub.get(0x9010)))
    meta.camera_make = _cut(meta.other.pop("camera_make", None))
    meta.camera_model = _cut(meta.other.pop("camera_model", None))
    gps = exif.get_ifd(_GPS_IFD)
    if gps and 2 in gps and 4 in gps:
        meta.gps_lat, meta.gps_lon = _gps_coord(gps[2], gps.get(1)), _gps_coord(gps[4], gps.get(3))
        if meta.gps_lat is not None and abs(meta.gps_lat) > 90:
            meta.gps_lat = None
        if meta.gps_lat is None or meta.gps_lon is None:
            meta.gps_lat = meta.gps_lon = None


def _xmp_packet(img: Image.Image) -> bytes | None:
    for key in ("xmp", "XML:com.adobe.xmp"):
        raw = img.info.get(key)
        if raw:
            return raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    tag = getattr(img, "tag_v2", None)
    raw = tag.get(700) if tag is not None else None
    return bytes(raw) if isinstance(raw, (bytes, bytearray)) else None


def _texts(el: ET.Element) -> list[str]:
    """The values of an XMP property: its text, or its rdf:Alt / Bag / Seq items."""
    items = el.findall(".//rdf:li", _NS)
    vals = [i.text for i in items] if items else [el.text]
    return [v.strip() for v in vals if v and v.strip()]


def _xmp(img: Image.Image, meta: Metadata) -> None:
    raw = _xmp_packet(img)
    if not raw or len(raw) > MAX_XMP or b"<!ENTITY" in raw or b"<!DOCTYPE" in raw:
        return
    for open_tag, close_tag in ((b"<x:xmpmeta", b"</x:xmpmeta>"), (b"<rdf:RDF", b"</rdf:RDF>")):
        start, end = raw.find(open_tag), raw.rfind(close_tag)
        if 0 <= start < end:
            break
    else:
        return
    root = ET.fromstring(raw[start : end + len(close_tag)])

    def prop(name: str) -> list[str]:
        prefix, local = name.split(":")
        attr = f"{{{_NS[prefix]}}}{local}"
        vals = [d.attrib[attr] for d in root.iter(f"{{{_NS['rdf']}}}Description") if attr in d.attrib]
        for el in root.iter(attr):
            vals.extend(_texts(el))
        return vals

    for key, names in (("title", ("dc:title",)), ("description", ("dc:description",)),
                       ("artist", ("dc:creator",)), ("rating", ("xmp:Rating",))):
        for name in names:
            for v in prop(name)[:1]:
                meta.set(key, v)
    meta.add_list("keywords", prop("dc:subject") + [t.split("|")[-1] for t in prop("lr:hierarchicalSubject")]
                  + [t.split("/")[-1] for t in prop("digiKam:TagsList")])
    people = prop("iptcExt:PersonInImage") + prop("mp:PersonDisplayName") + [
        n.text for n in root.iter(f"{{{_NS['mwg']}}}Name") if n.text]
    people += [d.attrib[f"{{{_NS['mwg']}}}Name"] for d in root.iter() if f"{{{_NS['mwg']}}}Name" in d.attrib]
    meta.add_list("people", people)
    if meta.taken_at is None:
        for name in ("exif:DateTimeOriginal", "photoshop:DateCreated", "xmp:CreateDate"):
            got = next((d for d in (parse_datetime(v) for v in prop(name)) if d is not None), None)
            if got is not None:
                meta.taken_at = got
                break


def _iptc(img: Image.Image, meta: Metadata) -> None:
    if img.format not in ("JPEG", "TIFF") or (img.format == "JPEG" and "photoshop" not in img.info):
        return
    from PIL import IptcImagePlugin

    info = IptcImagePlugin.getiptcinfo(img) or {}
    for code, key in _IPTC.items():
        val = info.get(code)
        if val is None:
            continue
        vals = val if isinstance(val, list) else [val]
        if key == "keywords":
            meta.add_list(key, vals)
        else:
            meta.set(key, clean(vals[0]))
    if meta.taken_at is None and info.get((2, 55)):
        d = _cut(info[(2, 55)])
        if d and re.match(r"^\d{8}$", d):
            meta.taken_at = parse_datetime(f"{d[:4]}-{d[4:6]}-{d[6:]}")
