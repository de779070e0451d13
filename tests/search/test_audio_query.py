"""An audio query is searched by what is said in it: real Whisper tiny.en on a sample."""

import pytest

import medialake
from search_lakes import ASSETS, SEGMENTS, write_lake

pytestmark = pytest.mark.slow


def test_audio_query_finds_the_spoken_words(tmp_path, samples):
    from medialake.store import maintain

    db = str(tmp_path / "lake.lance")
    # the lake holds the texts only; the query audio itself is not in it
    maintain(write_lake(db, ASSETS, SEGMENTS))
    hits = medialake.search(None, db=db, audio=samples / "audio" / "lighthouse_keeper.mp3", explain=True, limit=3)
    assert hits[0]["asset_id"] == "a1"
    ex = hits[0]["explain"]
    assert "bread" in ex["transcript"].lower()
    assert "text<-transcript" in ex["lists"] and "fulltext" in ex["lists"]
    assert any("audio:" in n for n in ex["notes"])  # no audio vectors here: said so


def test_audio_query_of_a_missing_file_is_a_clear_error(tmp_path):
    from medialake.errors import InputError

    db = str(tmp_path / "lake.lance")
    write_lake(db, ASSETS[:1], SEGMENTS[:1])
    with pytest.raises(InputError, match="query audio .* does not exist"):
        medialake.search(None, db=db, audio=tmp_path / "nope.wav")
