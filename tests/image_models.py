"""Tiny random image models saved to folders, so tests load them through the real adapter code:
a CLIP (both towers + a byte-level BPE tokenizer written here), ResNets with and without a head, and a
local torch hub directory holding a small CNN."""

from __future__ import annotations

import json
from pathlib import Path

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def _byte_alphabet() -> list[str]:
    """The 256 printable stand-ins byte-level BPE uses for raw bytes (GPT-2/CLIP convention)."""
    keep = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars, extra = [], 0
    for b in range(256):
        if b in keep:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def write_clip_tokenizer(folder: Path) -> int:
    """A CLIP tokenizer (vocab.json + merges.txt, as CLIP checkpoints ship them) with single-character
    tokens and a few merges; returns the vocabulary size."""
    alphabet = _byte_alphabet()
    merges = [("c", "a"), ("ca", "t</w>"), ("d", "o"), ("do", "g</w>"), ("r", "e"), ("re", "d</w>")]
    tokens = alphabet + [c + "</w>" for c in alphabet] + ["".join(m) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({tok: i for i, tok in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "CLIPTokenizer",
                "model_max_length": 77,
                "bos_token": "<|startoftext|>",
                "eos_token": "<|endoftext|>",
                "unk_token": "<|endoftext|>",
                "pad_token": "<|endoftext|>",
            }
        )
    )
    return len(tokens)


def write_preprocessor(folder: Path, cfg: dict) -> None:
    (folder / "preprocessor_config.json").write_text(json.dumps(cfg))


def build_tiny_clip(folder: Path) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPModel

    folder.mkdir(parents=True, exist_ok=True)
    vocab = write_clip_tokenizer(folder)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    config = CLIPConfig(
        text_config={
            "vocab_size": vocab,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "max_position_embeddings": 77,
            "bos_token_id": tok.bos_token_id,
            "eos_token_id": tok.eos_token_id,
            "pad_token_id": tok.pad_token_id,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=24,
    )
    torch.manual_seed(0)
    CLIPModel(config).eval().save_pretrained(folder)
    write_preprocessor(
        folder,
        {
            "crop_size": {"height": 32, "width": 32},
            "do_center_crop": True,
            "do_normalize": True,
            "do_resize": True,
            "image_mean": CLIP_MEAN,
            "image_std": CLIP_STD,
            "resample": 3,
            "size": {"shortest_edge": 32},
            "image_processor_type": "CLIPImageProcessor",
        },
    )
    return folder


def build_tiny_resnet(folder: Path, head: bool) -> Path:
    """A 2-stage ResNet (16/32 channels); with head=True a 4-class classifier with named labels."""
    import torch
    from transformers import ResNetConfig, ResNetForImageClassification, ResNetModel

    labels = {0: "tabby cat", 1: "espresso", 2: "missile", 3: "moped"}
    config = ResNetConfig(
        embedding_size=8,
        hidden_sizes=[16, 32],
        depths=[1, 1],
        layer_type="basic",
        id2label=labels if head else None,
        label2id={v: k for k, v in labels.items()} if head else None,
    )
    torch.manual_seed(0)
    model = ResNetForImageClassification(config) if head else ResNetModel(config)
    model.eval().save_pretrained(folder)
    write_preprocessor(
        folder,
        {
            "crop_pct": 0.875,
            "do_normalize": True,
            "do_resize": True,
            "image_mean": [0.485, 0.456, 0.406],
            "image_std": [0.229, 0.224, 0.225],
            "resample": 3,
            "size": {"shortest_edge": 48},
        },
    )
    return folder


HUBCONF = '''
dependencies = ["torch"]

import torch
from torch import nn


class TinyCNN(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 5, stride=4)
        self.act = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(12, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.act(self.conv(x))), 1))


def tinycnn(pretrained=False, classes=1000):
    """Deterministic weights stand in for pretrained ones."""
    torch.manual_seed(0)
    return TinyCNN(classes).eval()
'''


def build_hub_dir(folder: Path, extra_entry: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = HUBCONF + (
        "\n\ndef other(pretrained=False):\n    return tinycnn(pretrained)\n" if extra_entry else ""
    )
    (folder / "hubconf.py").write_text(text)
    return folder
