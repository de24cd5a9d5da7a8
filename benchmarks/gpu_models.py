"""Random-weight models of the real architectures, built from configs and saved as folders the real
adapters load by path: no network and no weights are needed, and the speed is the architecture's.
`small=True` builds the same families at toy sizes for the CPU smoke run."""

from __future__ import annotations

import json
from pathlib import Path

LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<s>", "</s>", "<pad>", "<unk>", "<mask>"]
VOCAB += [*LETTERS, *(f"##{c}" for c in LETTERS), *"0123456789.,'"]


def sentence_model(base: Path, arch: str, small: bool) -> Path:
    """A sentence-transformers folder: `minilm` (BERT, 6 layers, 384 wide) or `mpnet` (MPNet-base,
    12 layers, 768 wide), mean pooling, a character WordPiece vocabulary (sequence lengths like
    real text's, since one character is one token here, capped at 256 tokens)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import (
        BertConfig,
        BertModel,
        BertTokenizerFast,
        MPNetConfig,
        MPNetModel,
    )

    try:  # sentence-transformers ≥ 6 moved the module classes
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:
        from sentence_transformers.models import Pooling, Transformer

    folder, hf = base / f"{arch}-st", base / f"{arch}-hf"
    if (folder / "modules.json").exists():
        return folder
    hf.mkdir(parents=True, exist_ok=True)
    (hf / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    hidden, layers, heads = {"minilm": (384, 6, 12), "mpnet": (768, 12, 12)}[arch]
    if small:
        hidden, layers, heads = 32, 1, 2
    shape = dict(
        vocab_size=len(VOCAB),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden * 4,
        max_position_embeddings=514,
    )
    torch.manual_seed(0)
    # One WordPiece tokenizer for both: the speed is the network's, and its ids fit either vocabulary.
    BertTokenizerFast(vocab_file=str(hf / "vocab.txt"), do_lower_case=True).save_pretrained(hf)
    if arch == "minilm":
        BertModel(BertConfig(**shape)).save_pretrained(hf)
    else:
        MPNetModel(MPNetConfig(**shape, pad_token_id=0, bos_token_id=2, eos_token_id=3)).save_pretrained(hf)
    modules = [Transformer(str(hf), max_seq_length=256), Pooling(hidden, pooling_mode="mean")]
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    return folder


def resnet50(base: Path, small: bool) -> Path:
    """ResNet-50 (transformers' ResNetConfig defaults are ResNet-50's), pooled features, no head."""
    import torch
    from transformers import ResNetConfig, ResNetModel

    folder = base / "resnet50"
    if (folder / "config.json").exists():
        return folder
    config = ResNetConfig()
    if small:
        config = ResNetConfig(embedding_size=8, hidden_sizes=[16, 32], depths=[1, 1], layer_type="basic")
    torch.manual_seed(0)
    ResNetModel(config).eval().save_pretrained(folder)
    prep = {"crop_pct": 0.875, "do_normalize": True, "do_resize": True, "resample": 3}
    prep |= {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}
    prep["size"] = {"shortest_edge": 64 if small else 224}
    (folder / "preprocessor_config.json").write_text(json.dumps(prep))
    return folder


def whisper_base(base: Path, small: bool) -> Path:
    """Whisper-base (d_model 512, 6 encoder layers, 8 heads, 80 mel bins) with its feature extractor."""
    import torch
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

    folder = base / "whisper-base"
    if (folder / "config.json").exists():
        return folder
    width, layers, heads = (32, 1, 2) if small else (512, 6, 8)
    config = WhisperConfig(
        vocab_size=51865 if not small else 128,
        num_mel_bins=80,
        d_model=width,
        encoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_layers=1,
        decoder_attention_heads=heads,
        encoder_ffn_dim=width * 4,
        decoder_ffn_dim=width * 4,
        max_source_positions=1500,
        max_target_positions=64,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    )
    torch.manual_seed(0)
    WhisperForConditionalGeneration(config).save_pretrained(folder)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)
    return folder
