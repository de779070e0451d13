"""Container tags with PyAV: title, artist, album, comment, creation time, GPS, stream languages.

``container_metadata(container)`` reads the format-level tags and each stream's tags of an
open container and returns a :class:`medialake.operators.metadata.Metadata`; it never raises.
"""

from __future__ import annotations

import logging

from medialake.operators.metadata import Metadata, _cut, iso6709, parse_datetime

log = logging.getLogger(__name__)

#: tag name (lower case) -> metadata key; the first tag present wins.
_TAGS = {
    "title": "title", "artist": "artist", "album_artist": "album_artist", "album": "album", "comment": "comment",
    "description": "description", "synopsis": "description", "genre": "genre", "composer": "composer",
    "date": "date", "keywords": "keywords", "encoder": "encoder", "copyright": "copyright",
    "com.apple.quicktime.make": "camera_make", "com.apple.quicktime.model": "camera_model",
    "com.apple.quicktime.software": "software", "make": "camera_make", "model": "camera_model",
}
_TIMES = ("creation_time", "com.apple.quicktime.creationdate", "date")
_PLACES = ("location", "com.apple.quicktime.location.iso6709", "location-eng")


def container_metadata(container) -> Metadata:
    """The tags of an open PyAV container and its streams."""
    meta = Metadata()
    try:
        _read(container, meta)
    except Exception as e:  # hostile or broken tags never fail the file
        log.debug("container tags skipped: %s", e)
    return meta


def _read(container, meta: Metadata) -> None:
    tags = {str(k).lower(): v for k, v in dict(container.metadata or {}).items()}
    streams = list(container.streams)
    for key, name in _TAGS.items():
        if key in tags:
            if name == "keywords":
                meta.add_list("keywords", [k.strip() for k in str(tags[key]).replace(";", ",").split(",")])
            else:
                meta.set(name, tags[key])
    stream_tags = [{str(k).lower(): v for k, v in dict(s.metadata or {}).items()} for s in streams]
    for key in _TIMES:
        for t in [tags] + stream_tags:
            if meta.taken_at is None and key in t and not str(t[key]).startswith("1970-01-01"):
                meta.taken_at = parse_datetime(t[key])
    for key in _PLACES:
        if key in tags and meta.gps_lat is None:
            meta.gps_lat, meta.gps_lon = iso6709(tags[key])
            if meta.gps_lat is None:
                meta.set("location", tags[key])
    meta.camera_make = _cut(meta.other.pop("camera_make", None))
    meta.camera_model = _cut(meta.other.pop("camera_model", None))
    langs = []
    for s, t in zip(streams, stream_tags):
        lang = _cut(t.get("language"))
        if lang and lang not in ("und", "zxx") and s.type in ("audio", "subtitle", "video"):
            entry = f"{s.type}:{lang}"
            if entry not in langs:
                langs.append(entry)
        if s.type == "audio" and "title" in t:
            meta.add_list("track_titles", [t["title"]])
    if langs:
        meta.other["stream_languages"] = langs
