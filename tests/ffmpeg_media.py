"""Test media made with Debian's ``ffmpeg`` command line (tests only; the product never
calls it): the codecs and containers archives hold that PyAV cannot write here.

Every maker returns the path, or calls :func:`pytest.skip` naming what this ffmpeg lacks
(the command itself, an encoder, a muxer), so the matrix runs wherever it can.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import pytest

FFMPEG = shutil.which("ffmpeg")


@functools.lru_cache(maxsize=None)
def _listing(kind: str) -> frozenset[str]:
    if not FFMPEG:
        return frozenset()
    out = subprocess.run([FFMPEG, "-hide_banner", f"-{kind}"], capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] != "--" and not parts[0].startswith("="):
            names.add(parts[1])
    return frozenset(names)


def need(encoders: tuple[str, ...] = (), muxer: str | None = None) -> None:
    """Skip the calling test unless ffmpeg is here with these encoders and this muxer."""
    if not FFMPEG:
        pytest.skip("Debian's ffmpeg is not installed (apt-get install ffmpeg; see debian-packages.txt)")
    for e in encoders:
        if e not in _listing("encoders"):
            pytest.skip(f"this ffmpeg has no {e} encoder to make the test file")
    if muxer and muxer not in _listing("muxers"):
        pytest.skip(f"this ffmpeg has no {muxer} muxer to make the test file")


def pattern(seconds: float = 2.0, size: str = "64x48", rate: int = 10, pix_fmt: str | None = None) -> list[str]:
    """ffmpeg input arguments: a moving test pattern."""
    src = f"testsrc=size={size}:rate={rate}:duration={seconds}"
    if pix_fmt:
        src += f",format={pix_fmt}"
    return ["-f", "lavfi", "-i", src]


def sine(seconds: float = 2.0, freq: int = 440, rate: int = 44100) -> list[str]:
    """ffmpeg input arguments: a sine tone."""
    return ["-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate={rate}:duration={seconds}"]


def ffmpeg(out: Path, *args: str, encoders: tuple[str, ...] = (), muxer: str | None = None) -> Path:
    """Run ``ffmpeg ARGS... OUT`` (quiet, overwrite), skipping when what it needs is missing."""
    need(encoders, muxer)
    cmd = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args, str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if res.returncode:
        raise RuntimeError(f"ffmpeg failed to make {out.name}: {res.stderr.strip()[-500:]}")
    return out


def ffmpeg_decodes(path: Path, strict: bool = True) -> bool:
    """Does ffmpeg decode every stream of ``path`` to the end (``strict``: without one error)?"""
    res = subprocess.run([FFMPEG, "-nostdin", "-v", "error", *(["-xerror"] if strict else []), "-i", str(path), "-map", "0:v?",
                          "-map", "0:a?", "-f", "null", "-"], capture_output=True, text=True, timeout=120)
    return res.returncode == 0


def concat_bytes(out: Path, *parts: Path) -> Path:
    """Glue files end to end (MPEG-TS segments with different PIDs, like a broadcast recording)."""
    out.write_bytes(b"".join(p.read_bytes() for p in parts))
    return out
