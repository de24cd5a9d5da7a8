"""Hugging Face image backbones: ResNet-50 (`microsoft/resnet-50`) and any HF vision model id or folder
(ConvNeXT, ViT, DINOv2, Swin, RegNet, ...).

The embedding is the penultimate layer: for a classification checkpoint, exactly what its classifier
reads (ResNet-50: the pooled 2048-d output), caught with a forward hook so that one pass gives both the
vector and the class logits (top-5 tags from the model's own id2label). A headless backbone gives its
pooled output, or the mean of its last hidden states when it has no pooler."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .base import Location, ModelSpec
from .imagebase import ImageAdapter, preprocess_from_hf
from .resolve import locate_hf

SPECS = [
    ModelSpec(
        name="resnet50",
        family="vision",
        modalities=("image", "video"),
        dim=2048,
        backend="transformers",
        ref="microsoft/resnet-50",
        description="ResNet-50 (ImageNet, Hugging Face): pooled 2048-d features, top-5 tags",
    ),
]
DEFAULT_PRIORITY = {"resnet50": {"image": 3, "video": 3}}
DOWNLOAD_PRIORITY = {"resnet50": {"image": 0, "video": 0}}  # ~100 MB: the download to pick first

VISION_TYPES = {
    "resnet",
    "convnext",
    "convnextv2",
    "vit",
    "deit",
    "beit",
    "data2vec-vision",
    "dinov2",
    "dinov2_with_registers",
    "swin",
    "swinv2",
    "regnet",
    "efficientnet",
    "mobilenet_v1",
    "mobilenet_v2",
    "mobilevit",
    "mobilevitv2",
    "levit",
    "poolformer",
    "pvt",
    "pvt_v2",
    "bit",
    "van",
    "cvt",
    "focalnet",
    "hiera",
    "ijepa",
    "vit_msn",
    "vit_mae",
    "dinat",
    "nat",
    "efficientformer",
    "textnet",
    "timm_wrapper",
}
_NAME_HINT = re.compile(
    r"resnet|convnext|(^|[/_-])vit|deit|beit|dino|swin|regnet|efficientnet|mobilenet|levit"
)


def detect(name: str, folder: Path | None, config: dict) -> ModelSpec | None:
    """Folders and ids whose config is a known vision backbone; uncached ids by a name that says so."""
    if config:
        arch = config.get("architectures") or []
        if config.get("model_type") not in VISION_TYPES and not any(
            a.endswith("ForImageClassification") for a in arch
        ):
            return None
    elif folder is not None or not _NAME_HINT.search(name.lower()) or "clip" in name.lower():
        return None
    return ModelSpec(
        name=name,
        family="vision",
        modalities=("image", "video"),
        dim=None,
        backend="transformers",
        ref=name,
        description="Hugging Face image backbone",
    )


def locate(spec: ModelSpec) -> Location:
    return locate_hf(spec)


class HFVisionAdapter(ImageAdapter):
    family = "vision"

    def load(self, device: str) -> None:
        source = self.hf_weights()
        from transformers import AutoConfig, AutoModel, AutoModelForImageClassification

        trust = self.trust_remote_code
        try:
            config = AutoConfig.from_pretrained(source, trust_remote_code=trust)
            head = any(a.endswith("ForImageClassification") for a in (config.architectures or []))
            loader = AutoModelForImageClassification if head else AutoModel
            self.model = loader.from_pretrained(source, trust_remote_code=trust)
        except Exception as exc:
            raise self.load_failed(exc) from exc
        self.prep = preprocess_from_hf(source)
        self._classifier = getattr(self.model, "classifier", None) if head else None
        if self._classifier is not None:
            self._caught: list[Any] = []
            self._classifier.register_forward_hook(lambda mod, args, out: self._caught.append(args[0]))
            labels = getattr(config, "id2label", None) or {}
            names = [str(labels.get(i, labels.get(str(i), i))) for i in range(len(labels))]
            generic = all(re.fullmatch(r"LABEL_\d+", n) for n in names)
            self.class_names = None if not names or generic else [n.split(",")[0].strip() for n in names]
        self._finish_load(device)
        self.dim = self.probe_dim()

    def _forward(self, pixels: Any) -> tuple[Any, Any | None]:
        if self._classifier is not None:
            self._caught.clear()
            logits = self.model(pixel_values=pixels).logits
            return self._caught[-1].flatten(1), logits
        out = self.model(pixel_values=pixels)
        pooled = getattr(out, "pooler_output", None)
        if pooled is not None:
            return pooled.flatten(1), None
        hidden = out.last_hidden_state
        return (hidden.mean(dim=(2, 3)) if hidden.dim() == 4 else hidden.mean(dim=1)), None


ADAPTER = HFVisionAdapter
