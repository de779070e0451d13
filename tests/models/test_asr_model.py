import numpy as np
import pytest

from medialake.models.asr import SpeechRecognizer, is_silent
from medialake.operators.audio import decode_audio
from medialake.operators.probe import open_container


def test_silence_detection():
    assert is_silent(np.zeros(16000, np.float32))
    assert not is_silent(0.1 * np.ones(16000, np.float32))


@pytest.mark.slow
def test_whisper_tiny_en_transcribes_the_spoken_sample(samples):
    with open_container(str(samples / "audio" / "lighthouse_keeper.mp3")) as c:
        pcm = decode_audio(c)
    t = SpeechRecognizer.shared("whisper-tiny.en").transcribe(pcm)
    words = t.text.lower()
    assert "lighthouse" in words and "lamp" in words and "island" in words
    assert t.language == "en"
    # the second sentence starts at 11.0 s in the recording
    starts = [s for s, _, text in t.segments if "island" in text.lower()]
    assert starts and 9.5 <= starts[0] <= 12.0
