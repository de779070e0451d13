import pytest

from medialake.errors import InputError
from medialake.operators.scan import scan
from medialake.pipelines.config import IngestConfig

EXT = IngestConfig().extensions


def test_scan_classifies_samples_by_type(samples):
    recs = scan(str(samples), EXT)
    by_type = {}
    for r in recs:
        by_type.setdefault(r.media_type, []).append(r.uri.rsplit("/", 1)[-1])
    assert by_type["video"] == ["cockatoo_budget.mp4"]
    assert sorted(by_type["audio"]) == ["front_left.oga", "lighthouse_keeper.mp3"]
    assert sorted(by_type["image"]) == ["astronaut.jpg", "chelsea.jpg"]
    assert all(r.size > 0 and r.mtime is not None for r in recs)
    assert len({r.asset_id for r in recs}) == len(recs)


def test_scan_skips_unknown_and_hidden_files(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "a.mp4").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.MP4").write_bytes(b"x")
    recs = scan(str(tmp_path), EXT)
    assert [r.uri.rsplit("/", 1)[-1] for r in recs] == ["b.MP4"]


def test_scan_of_a_single_file_and_file_uri(samples):
    path = samples / "images" / "chelsea.jpg"
    assert [r.media_type for r in scan(str(path), EXT)] == ["image"]
    assert scan(f"file://{path}", EXT)[0].uri == f"file://{path}"


def test_missing_source_names_the_path(tmp_path):
    with pytest.raises(InputError, match="nope"):
        scan(str(tmp_path / "nope"), EXT)
