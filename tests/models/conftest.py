import pytest

from tiny_models import build_all


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """Paths of tiny random models (CLIP, CLAP, Whisper, captioner assembly, LLaVA, Llama)."""
    return build_all(tmp_path_factory.mktemp("tiny_models"))
