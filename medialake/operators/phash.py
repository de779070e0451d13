"""Perceptual hashes of pictures (numpy): near-identical pictures get hashes a few bits apart.

:func:`phash` is the DCT hash (as in ``imagehash.phash``): the picture shrunk to 32x32 grey,
its 2-D DCT, the 8x8 lowest frequencies (DC left out of the median) compared with their
median -> 64 bits, returned as a signed int64 (the Arrow/Lance column type).
:func:`hamming` counts differing bits between one hash and many. Re-encoding, resizing,
format conversion and small crops change a few bits; different photos differ in about
half of them (32).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

_N, _K = 32, 8


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


_D = _dct_matrix(_N)
_BITS = (1 << np.arange(63, -1, -1, dtype=np.uint64)).astype(np.uint64)


def phash(img: Image.Image) -> int:
    """The 64-bit DCT perceptual hash of ``img`` as a signed int64."""
    small = img.convert("L")
    small.draft("L", (_N * 4, _N * 4))
    grey = np.asarray(small.resize((_N, _N), Image.LANCZOS), dtype=np.float64)
    coef = (_D @ grey @ _D.T)[:_K, :_K]
    flat = coef.reshape(-1)
    bits = flat > np.median(flat[1:])
    u = int(np.bitwise_or.reduce(_BITS[bits])) if bits.any() else 0
    return u - (1 << 64) if u >= 1 << 63 else u


def hamming(h: int, hashes: np.ndarray) -> np.ndarray:
    """Bits differing between hash ``h`` and each of ``hashes`` (int64 array) -> int array."""
    x = np.bitwise_xor(np.asarray(hashes, dtype=np.int64), np.int64(h)).view(np.uint64)
    return np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


def hamming_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise bit distances between int64 hash arrays ``a`` (n) and ``b`` (m) -> (n, m)."""
    x = np.bitwise_xor(np.asarray(a, dtype=np.int64)[:, None], np.asarray(b, dtype=np.int64)[None, :])
    u8 = np.ascontiguousarray(x).view(np.uint8).reshape(x.shape + (8,))
    return np.unpackbits(u8, axis=-1).sum(axis=-1)
