"""Tiny randomly initialised models, built from transformers configs and saved the way
users save real ones, so tests load them through exactly the code users run.

Tokenizers come from installed packages (MiniLM's WordPiece, Whisper tiny.en's BPE), so
nothing is downloaded. ``build_all(root)`` makes every model once and returns their paths.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from medialake.models.registry import resolve

IMAGE_PX = 32
PATCH = 8
WIDTH = 32


def _minilm_tokenizer(dst: Path, extra_tokens: list[str] | None = None):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(resolve("all-MiniLM-L6-v2"))
    if extra_tokens:
        tok.add_special_tokens({"additional_special_tokens": extra_tokens})
    tok.save_pretrained(dst)
    return tok


def _image_processor(dst: Path):
    from transformers import CLIPImageProcessor

    proc = CLIPImageProcessor(size={"shortest_edge": IMAGE_PX}, crop_size={"height": IMAGE_PX, "width": IMAGE_PX})
    proc.save_pretrained(dst)
    return proc


def _vision_cfg() -> dict:
    return dict(hidden_size=WIDTH, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                image_size=IMAGE_PX, patch_size=PATCH)


def _llama_cfg(vocab: int) -> dict:
    return dict(vocab_size=vocab, hidden_size=WIDTH, intermediate_size=64, num_hidden_layers=1,
                num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
                bos_token_id=101, eos_token_id=102, pad_token_id=0)


def clip(dst: Path) -> Path:
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    cfg = CLIPConfig(text_config=dict(vocab_size=30522, hidden_size=WIDTH, intermediate_size=64, num_hidden_layers=1,
                                      num_attention_heads=2, max_position_embeddings=64, eos_token_id=102,
                                      bos_token_id=101, pad_token_id=0),
                     vision_config=_vision_cfg(), projection_dim=16)
    CLIPModel(cfg).save_pretrained(dst)
    _minilm_tokenizer(dst)
    _image_processor(dst)
    return dst


def clap(dst: Path) -> Path:
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel

    torch.manual_seed(0)
    cfg = ClapConfig(text_config=dict(vocab_size=30522, hidden_size=WIDTH, intermediate_size=64, num_hidden_layers=1,
                                      num_attention_heads=2, max_position_embeddings=80),
                     audio_config=dict(hidden_size=WIDTH, patch_embeds_hidden_size=16, depths=[1, 1],
                                       num_attention_heads=[1, 2], enable_fusion=False),
                     projection_dim=24)
    ClapModel(cfg).save_pretrained(dst)
    _minilm_tokenizer(dst)
    ClapFeatureExtractor(feature_size=64, sampling_rate=48000).save_pretrained(dst)
    return dst


def whisper(dst: Path) -> Path:
    from transformers import (PreTrainedTokenizerFast, WhisperConfig, WhisperFeatureExtractor,
                              WhisperForConditionalGeneration, WhisperProcessor, WhisperTokenizerFast)

    torch.manual_seed(0)
    tok_file = Path(resolve("whisper-tiny.en")) / "tokenizer.json"
    tok = WhisperTokenizerFast(tokenizer_file=str(tok_file), unk_token="<|endoftext|>", bos_token="<|endoftext|>",
                               eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    vocab = len(tok)
    cfg = WhisperConfig(vocab_size=vocab, d_model=WIDTH, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=80,
                        max_source_positions=1500, max_target_positions=64,
                        decoder_start_token_id=tok.convert_tokens_to_ids("<|startoftranscript|>"),
                        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id)
    model = WhisperForConditionalGeneration(cfg)
    model.generation_config.suppress_tokens = None
    model.generation_config.begin_suppress_tokens = None
    model.save_pretrained(dst)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=80), tok).save_pretrained(dst)
    return dst


def captioner_assembly(dst: Path) -> Path:
    from transformers import CLIPVisionConfig, CLIPVisionModel, LlamaConfig, LlamaForCausalLM

    from medialake.models.captioner import MANIFEST, save_projector

    torch.manual_seed(0)
    CLIPVisionModel(CLIPVisionConfig(**_vision_cfg())).save_pretrained(dst / "vision")
    _image_processor(dst / "vision")
    LlamaForCausalLM(LlamaConfig(**_llama_cfg(30522))).save_pretrained(dst / "lm")
    _minilm_tokenizer(dst / "lm")
    mlp = torch.nn.Sequential(torch.nn.Linear(WIDTH, 64), torch.nn.GELU(), torch.nn.Linear(64, WIDTH))
    save_projector(dst / "projector.safetensors", mlp)
    (dst / MANIFEST).write_text(json.dumps({"vision_encoder": "vision", "projector": "projector.safetensors",
                                            "language_model": "lm", "feature_layer": -2, "drop_cls": True}))
    return dst


def llava(dst: Path) -> Path:
    from transformers import LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    torch.manual_seed(0)
    tok = _minilm_tokenizer(dst, ["<image>"])
    image_id = tok.convert_tokens_to_ids("<image>")
    cfg = LlavaConfig(vision_config=dict(model_type="clip_vision_model", **_vision_cfg()),
                      text_config=dict(model_type="llama", **_llama_cfg(len(tok))),
                      image_token_index=image_id, vision_feature_layer=-2, vision_feature_select_strategy="default")
    LlavaForConditionalGeneration(cfg).save_pretrained(dst)
    proc = LlavaProcessor(image_processor=_image_processor(dst), tokenizer=tok, patch_size=PATCH,
                          vision_feature_select_strategy="default", num_additional_image_tokens=1, image_token="<image>")
    proc.save_pretrained(dst)
    return dst


def llama_lm(dst: Path) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(**_llama_cfg(30522))).save_pretrained(dst)
    _minilm_tokenizer(dst)
    return dst


_BUILT: dict[str, dict[str, Path]] = {}


def build_all(root: Path) -> dict[str, Path]:
    """Every tiny model under ``root`` (built once per test session)."""
    if "all" not in _BUILT:
        root = Path(root)
        out = {}
        for name, fn in [("clip", clip), ("clap", clap), ("whisper", whisper), ("assembly", captioner_assembly),
                         ("llava", llava), ("llama", llama_lm)]:
            d = root / name
            if d.exists():
                shutil.rmtree(d)
            d.mkdir(parents=True)
            out[name] = fn(d)
        _BUILT["all"] = out
    return _BUILT["all"]
