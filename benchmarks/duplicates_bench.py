"""Near-duplicate precision and recall on real photos and sounds, and the time per 1,000 photos.

Originals: the photographs shipped with scikit-image (``skimage/data``: astronaut, coffee,
rocket, ...; pip install scikit-image) and the sounds of Debian's sound-theme-freedesktop
(``/usr/share/sounds/freedesktop/stereo``). Copies made here: photos re-encoded as JPEG
q50, resized to half, cropped 5% (2.5% off each side), converted to PNG and to WebP; sounds
encoded as MP3 128k, MP3 64k mono, OGG q2 and WAV at 22.05 kHz (the ffmpeg CLI makes the
test files; the product decodes them with PyAV). Sounds the theme ships twice under two
names (identical bytes, e.g. camera-shutter and screen-capture) count as one original. Everything goes through the product's
decode operator and sink into a real database, and ``medialake.search.duplicates.groups``
groups it. Precision and recall are over pairs: a pair is predicted when both files land
in one group, true when they come from one original.

    python benchmarks/duplicates_bench.py [--work /tmp/dups] [--threshold T]

Prints per-kind figures, then ``RESULT photo_precision=.. photo_recall=.. sound_precision=..
sound_recall=.. ms_per_1000_photos_hash=.. s_per_1000_photos_group=..`` last.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from medialake.operators.config import DecodeConfig  # noqa: E402
from medialake.operators.decode import decode_batch  # noqa: E402
from medialake.operators.phash import phash  # noqa: E402
from medialake.operators.sink import LanceSink  # noqa: E402
from medialake.pipelines.plan import records_table  # noqa: E402
from medialake.search.duplicates import groups  # noqa: E402
from medialake.store import Store  # noqa: E402

PHOTOS = ["astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png", "coffee.png", "coins.png",
          "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png", "microaneurysms.png", "moon.png",
          "motorcycle_left.png", "motorcycle_right.png", "page.png", "retina.jpg", "rocket.jpg", "text.png"]
SOUNDS = Path("/usr/share/sounds/freedesktop/stereo")


def photo_copies(src: Path, out: Path) -> list[tuple[Path, str]]:
    img = Image.open(src).convert("RGB")
    w, h = img.size
    stem = src.stem
    files = {f"{stem}.orig.png": img,
             f"{stem}.q50.jpg": img, f"{stem}.half.jpg": img.resize((w // 2, h // 2), Image.LANCZOS),
             f"{stem}.crop5.jpg": img.crop((int(0.025 * w), int(0.025 * h), int(0.975 * w), int(0.975 * h))),
             f"{stem}.conv.png": img, f"{stem}.conv.webp": img}
    made = []
    for name, im in files.items():
        p = out / name
        im.save(p, quality=50 if "q50" in name else 85)
        made.append((p, stem))
    return made


def sound_copies(src: Path, out: Path) -> list[tuple[Path, str]]:
    stem = src.stem
    origin = hashlib.md5(src.read_bytes()).hexdigest()  # the theme ships some sounds twice, byte for byte
    made = [(out / f"{stem}.orig.oga", origin)]
    shutil.copy(src, made[0][0])
    for suffix, args in (("mp3", ["-b:a", "128k"]), ("mono64.mp3", ["-ac", "1", "-b:a", "64k"]),
                         ("q2.ogg", ["-c:a", "libvorbis", "-q:a", "2"]), ("22k.wav", ["-ar", "22050"])):
        p = out / f"{stem}.{suffix}"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(src), *args, str(p)], check=True)
        made.append((p, origin))
    return made


class _Rec:
    def __init__(self, p: Path, media_type: str):
        self.asset_id = hashlib.sha1(str(p).encode()).hexdigest()[:20]
        self.uri, self.media_type, self.size, self.mtime = str(p), media_type, p.stat().st_size, None


def ingest(files: list[tuple[Path, str]], media_type: str, db: str) -> dict[str, str]:
    """Decode ``files`` with the product's operator and write them with its sink; uri -> origin."""
    store = Store(db)
    sink = LanceSink(store, "bench")
    cfg = DecodeConfig(frames_per_segment=0)
    for i in range(0, len(files), 16):
        recs = [_Rec(p, media_type) for p, _ in files[i : i + 16]]
        sink.write(decode_batch(records_table(recs), cfg))
    counts = sink.close()
    assert counts.failed == 0, counts.failures
    return {str(p): origin for p, origin in files}


def score(found: list[list[dict]], truth: dict[str, str]) -> tuple[float, float, int, int]:
    pred = {frozenset(p) for g in found for p in itertools.combinations([m["asset_uri"] for m in g], 2)}
    true = {frozenset((a, b)) for a, b in itertools.combinations(truth, 2) if truth[a] == truth[b]}
    tp = len(pred & true)
    return (tp / len(pred) if pred else 1.0), (tp / len(true) if true else 1.0), len(pred - true), len(true - pred)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="/tmp/medialake-dups")
    ap.add_argument("--threshold", type=float, default=None, help="as `medialake duplicates --threshold`")
    args = ap.parse_args()
    import skimage

    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    (work / "photos").mkdir(parents=True)
    (work / "sounds").mkdir()
    data = Path(skimage.__file__).parent / "data"
    photos = [f for name in PHOTOS for f in photo_copies(data / name, work / "photos")]
    sounds = [f for p in sorted(SOUNDS.glob("*.oga")) for f in sound_copies(p, work / "sounds")]
    t0 = time.perf_counter()
    truth = ingest(photos, "image", str(work / "photos.lance"))
    t_photos = time.perf_counter() - t0
    truth.update(ingest(sounds, "audio", str(work / "sounds.lance")))
    out = {}
    for kind, db in (("photo", work / "photos.lance"), ("sound", work / "sounds.lance")):
        t = time.perf_counter()
        found = groups(Store(str(db), create=False), threshold=args.threshold)
        p, r, fp, fn = score(found, {u: o for u, o in truth.items() if u.startswith(str(work / (kind + "s")))})
        print(f"{kind}s: {len(found)} groups, precision {p:.3f} recall {r:.3f} ({fp} wrong pairs, {fn} missed) "
              f"in {time.perf_counter() - t:.2f} s")
        for g in found:
            if len({truth[m["asset_uri"]] for m in g}) > 1:
                print(f"  mixed group: {sorted({Path(m['asset_uri']).name.split('.')[0] for m in g})}")
        out[kind] = (p, r)
    # time per 1,000 photos: the hash alone (on decoded pictures), and grouping 1,000 assets
    pics = [Image.open(p).convert("RGB") for p, _ in photos]
    t = time.perf_counter()
    for i in range(1000):
        phash(pics[i % len(pics)])
    hash_ms = (time.perf_counter() - t) * 1000
    print(f"ingest (decode + thumbnail + hash + sink) of {len(photos)} photos: {t_photos:.2f} s")
    many = work / "many"
    many.mkdir()
    reps = [(many / f"{i}_{p.name}", o) for i, (p, o) in enumerate(itertools.islice(itertools.cycle(photos), 1000))]
    for (dst, _), (src, _) in zip(reps, itertools.cycle(photos)):
        shutil.copy(src, dst)
    ingest(reps, "image", str(work / "many.lance"))
    t = time.perf_counter()
    groups(Store(str(work / "many.lance"), create=False), threshold=args.threshold)
    group_s = time.perf_counter() - t
    print(f"RESULT photo_precision={out['photo'][0]:.3f} photo_recall={out['photo'][1]:.3f} "
          f"sound_precision={out['sound'][0]:.3f} sound_recall={out['sound'][1]:.3f} "
          f"ms_per_1000_photos_hash={hash_ms:.0f} s_per_1000_photos_group={group_s:.2f}")


if __name__ == "__main__":
    main()
