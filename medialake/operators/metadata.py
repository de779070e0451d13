"""What files say about themselves: EXIF, XMP, IPTC (photos) and container tags (video, audio).

``metadata_image.image_metadata`` reads an open PIL image, ``metadata_av.container_metadata``
an open PyAV container; both return a :class:`Metadata`: the typed fields stored as ``assets`` columns
(capture time, camera make and model, GPS position) and the rest as a plain dict stored as
JSON (``assets.metadata``). :meth:`Metadata.text` is what goes into the full-text index.

Metadata is advisory: nothing here raises. A tag that cannot be read is left out, strings
are cut to :data:`MAX_VALUE` characters, control characters and binary blobs are dropped,
the JSON is kept under :data:`MAX_JSON` bytes, and XMP with entity declarations or over
:data:`MAX_XMP` bytes is not parsed, so a hostile or broken header never fails a file that
decodes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

MAX_VALUE = 500
MAX_LIST = 50
MAX_JSON = 16_384
MAX_XMP = 1 << 20

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

#: Metadata fields whose words go to the full-text index, in this order.
TEXT_FIELDS = ("camera_make", "camera_model", "lens", "title", "description", "keywords", "people", "artist",
               "album", "comment", "location")


@dataclass
class Metadata:
    taken_at: datetime | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    other: dict = field(default_factory=dict)

    def set(self, key: str, value) -> None:
        """Record ``value`` under ``key`` if it is readable and nothing was recorded yet."""
        value = clean(value)
        if value in (None, "", []) or key in self.other:
            return
        self.other[key] = value

    def add_list(self, key: str, values) -> None:
        vals = [v for v in (clean(x) for x in values or []) if isinstance(v, str) and v]
        if vals:
            have = self.other.setdefault(key, [])
            have.extend(v for v in vals if v not in have)
            del have[MAX_LIST:]

    def json(self) -> str | None:
        """The other fields as JSON (typed ones included for readers of the table), under MAX_JSON bytes."""
        data = dict(self.other)
        if self.taken_at is not None:
            data["taken_at"] = self.taken_at.isoformat()
        for k in ("camera_make", "camera_model", "gps_lat", "gps_lon"):
            if getattr(self, k) is not None:
                data[k] = getattr(self, k)
        if not data:
            return None
        text = json.dumps(data, ensure_ascii=False, sort_keys=True)
        while len(text.encode()) > MAX_JSON and data:
            longest = max(data, key=lambda k: len(json.dumps(data[k], ensure_ascii=False)))
            data.pop(longest)
            text = json.dumps(data, ensure_ascii=False, sort_keys=True)
        return text if data else None

    def text(self) -> str | None:
        """The textual fields as one line of words for the full-text index (None if none)."""
        parts: list[str] = []
        for k in TEXT_FIELDS:
            v = getattr(self, k, None) if k in ("camera_make", "camera_model") else self.other.get(k)
            for s in (v if isinstance(v, list) else [v]):
                if isinstance(s, str) and s and s not in parts:
                    parts.append(s)
        return " ".join(parts)[: 4 * MAX_VALUE] or None

    def columns(self) -> dict:
        """The ``assets`` columns: taken_at, camera_make, camera_model, gps_lat, gps_lon, metadata."""
        return {"taken_at": self.taken_at, "camera_make": self.camera_make, "camera_model": self.camera_model,
                "gps_lat": self.gps_lat, "gps_lon": self.gps_lon, "metadata": self.json()}


def clean(value):
    """A JSON-safe, bounded version of a tag value, or None if it is not text-like."""
    if isinstance(value, bytes):
        if len(value) > 4 * MAX_VALUE or value.count(0) > 1 + len(value) // 8:
            return None  # a binary blob (maker notes, thumbnails)
        value = value.rstrip(b"\x00").decode("utf-8", "replace")
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value if value == value and abs(value) < 1e15 else None
    if isinstance(value, (list, tuple)):
        return [v for v in (clean(x) for x in value[:MAX_LIST]) if v not in (None, "")]
    if not isinstance(value, str):
        try:
            value = float(value)  # PIL's IFDRational
            return value if value == value else None
        except (TypeError, ValueError, ZeroDivisionError):
            return None
    junk = len(_CONTROL.findall(value)) + value.count("\x00")
    if junk > 2 + len(value) // 10:
        return None  # binary bytes stored as a string tag
    value = _CONTROL.sub("", value.replace("\x00", " ")).strip()
    if "\ufffd" in value and value.count("\ufffd") > len(value) // 4:
        return None
    return value[:MAX_VALUE] or None


def _cut(value) -> str | None:
    v = clean(value)
    return v if isinstance(v, str) else None


def parse_datetime(text, offset: str | None = None) -> datetime | None:
    """A capture time from EXIF (``2021:06:30 14:05:00``) or ISO 8601 text, as a UTC-tagged
    datetime. EXIF times without an offset are the camera's wall clock, kept as written."""
    t = _cut(text)
    if not t:
        return None
    t = t.replace("Z", "+00:00")
    if re.match(r"^\d{4}:\d{2}:\d{2}", t):
        t = t[:10].replace(":", "-") + t[10:]
    try:
        dt = datetime.fromisoformat(t.replace(" ", "T", 1) if len(t) > 10 else t)
    except ValueError:
        return None
    if dt.year < 1800 or dt.year > 2200:
        return None
    if dt.tzinfo is None and offset:
        m = re.match(r"^([+-])(\d{2}):?(\d{2})$", offset.strip())
        if m:
            sign = 1 if m.group(1) == "+" else -1
            dt = dt.replace(tzinfo=timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))))
    if dt.tzinfo is not None:
        # keep the local date a person sees on the photo: wall clock, tagged UTC
        dt = dt.replace(tzinfo=None)
    return dt.replace(tzinfo=timezone.utc)


def _gps_coord(values, ref) -> float | None:
    try:
        d, m, s = (float(v) for v in values)
        val = d + m / 60 + s / 3600
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    ref = _cut(ref) or ""
    if ref.upper() in ("S", "W"):
        val = -val
    return round(val, 7) if val == val and abs(val) <= 180 else None


def iso6709(text) -> tuple[float | None, float | None]:
    """(lat, lon) from a QuickTime/MP4 ``location`` tag such as ``+48.8577+002.2950/``."""
    m = re.match(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)", _cut(text) or "")
    if not m:
        return None, None
    lat, lon = float(m.group(1)), float(m.group(2))
    return (lat, lon) if abs(lat) <= 90 and abs(lon) <= 180 else (None, None)
