import numpy as np
import pyarrow as pa

from medialake.models.audio import AudioEmbedStage, AudioTextEncoder, resample


def test_resample_16k_to_48k_keeps_duration_and_tone():
    t = np.arange(16000) / 16000
    pcm = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    up = resample(pcm, 16000, 48000)
    assert len(up) == 48000 and up.dtype == np.float32
    assert np.allclose(up[::3][:1000], pcm[:1000], atol=0.01)


def test_tiny_clap_embeds_audio_and_text_in_one_space(tiny):
    enc = AudioTextEncoder.shared(str(tiny["clap"]), "cpu")
    rng = np.random.default_rng(0)
    clips = [0.1 * rng.standard_normal(16000 * 3).astype(np.float32), np.sin(np.arange(16000 * 12) / 5).astype(np.float32)]
    a = enc.encode_audio(clips)
    t = enc.encode_texts(["a dog barking"])
    assert a.shape == (2, 24) and t.shape == (1, 24) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    assert np.allclose(enc.encode_audio(clips[1:])[0], a[1], atol=1e-5)  # > 10 s clip: cut, not random-cropped


def test_audio_embedder_leaves_null_for_rows_without_audio(tiny):
    pcm = (0.2 * np.sin(np.arange(16000 * 2) / 3)).astype(np.float32).tobytes()
    batch = pa.table({"audio": pa.array([pcm, None, b""], pa.binary())})
    out = AudioEmbedStage(model=str(tiny["clap"]), device="cpu")(batch)
    assert out.column("audio_vector").type == pa.list_(pa.float32(), 24)
    assert out.column("audio_vector").is_null().to_pylist() == [False, True, True]
