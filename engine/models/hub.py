"""torch hub models, the seed's route: `torch.hub.load(repo, name, pretrained=True)`, the final
classification layer removed (`nn.Sequential(*list(model.children())[:-1])`), eval mode, no gradients.

Names: `hub:OWNER/REPO[:REF]:MODEL` (GitHub, through torch's hub cache), `hub:DIR:MODEL` or a plain DIR
holding a hubconf.py (a local hub directory, `source='local'`). The body's output is pooled over any
spatial axes, so ResNet's (n, 2048, 1, 1) becomes its 2048-d penultimate features. When the removed layer
is a 1000-way linear classifier (ImageNet), it still runs on those features to give the top-5 tags.

A GitHub hub repo runs its own Python code when loaded: repos outside the owners torch itself trusts
need --trust-remote-code. A local directory is the user's own code and is loaded as it is."""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

from .base import Location, ModelError, ModelSpec
from .imagebase import ImageAdapter, Preprocess, imagenet_classes

TRUSTED_OWNERS = {"pytorch", "facebookresearch", "facebookincubator", "fairinternal"}  # as torch.hub has it

SPECS = [
    ModelSpec(
        name="resnet50-hub",
        family="hub",
        modalities=("image", "video"),
        dim=2048,
        backend="torch.hub",
        ref="hub:pytorch/vision:v0.10.0:resnet50",
        description="ResNet-50 through torch hub (pytorch/vision), classifier removed: the seed's recipe",
    ),
]
DEFAULT_PRIORITY: dict[str, dict[str, int]] = {}


def parse(ref: str) -> tuple[str, str, str]:
    """`hub:...` → (repo or directory, entrypoint, source) with source 'github' or 'local'."""
    body = ref.removeprefix("hub:")
    repo, sep, entry = body.rpartition(":")
    if not sep or not repo or not entry:
        raise ModelError(f"bad hub spec {ref!r}: use hub:OWNER/REPO[:REF]:MODEL or hub:DIR:MODEL")
    local = Path(repo).expanduser()
    if repo.startswith(("/", ".", "~")) or local.is_dir():
        return str(local.resolve()), entry, "local"
    owner_repo = repo.split(":")[0]
    if owner_repo.count("/") != 1:
        raise ModelError(f"bad hub spec {ref!r}: the repo must be OWNER/REPO (or a local directory)")
    return repo, entry, "github"


def entrypoints(folder: Path) -> list[str]:
    """Public functions of a hubconf.py, read without running it."""
    try:
        tree = ast.parse((folder / "hubconf.py").read_text())
    except (OSError, SyntaxError, ValueError):
        return []
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]


def detect(name: str, folder: Path | None, config: dict) -> ModelSpec | None:
    if name.startswith("hub:"):
        repo, entry, source = parse(name)  # a malformed spec is the user's error, said now
        if source == "local":  # the store keeps the name: make it mean the same from any folder
            name = f"hub:{repo}:{entry}"
        return ModelSpec(
            name=name,
            family="hub",
            modalities=("image", "video"),
            dim=None,
            backend="torch.hub",
            ref=name,
            description="torch hub model, classifier removed",
        )
    if folder is not None and (folder / "hubconf.py").is_file():
        found = entrypoints(folder)
        if not found:
            raise ModelError(f"{name}: its hubconf.py defines no entry point (a public function)")
        if len(found) > 1:
            raise ModelError(
                f"{name}: a torch hub directory with several entry points ({', '.join(found)}); "
                f"name one: hub:{name}:MODEL"
            )
        return ModelSpec(
            name=name,
            family="hub",
            modalities=("image", "video"),
            dim=None,
            backend="torch.hub",
            ref=f"hub:{folder.resolve()}:{found[0]}",
            description="local torch hub model",
        )
    return None


def _hub_dir() -> Path:
    """torch.hub.get_dir() without importing torch."""
    if os.environ.get("TORCH_HOME"):
        return Path(os.environ["TORCH_HOME"]).expanduser() / "hub"
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "torch" / "hub"


def locate(spec: ModelSpec) -> Location:
    repo, _, source = parse(spec.ref)
    if source == "local":
        ok = (Path(repo) / "hubconf.py").is_file()
        return Location("path", repo, True) if ok else Location("missing", None, False)
    owner_repo, _, ref = repo.partition(":")
    base = owner_repo.replace("/", "_")
    names = [f"{base}_{ref.replace('/', '_')}"] if ref else [f"{base}_main", f"{base}_master"]
    for name in names:
        if (_hub_dir() / name / "hubconf.py").is_file():
            return Location("hub-cache", str(_hub_dir() / name), True)
    from .resolve import offline

    return Location("missing", None, False) if offline() else Location("download", repo, False)


class HubAdapter(ImageAdapter):
    family = "hub"

    def load(self, device: str) -> None:
        self.weights()
        import torch
        from torch import nn

        repo, entry, source = parse(self.spec.ref)
        # A local directory is the user's own code; a GitHub repo runs only if its owner is one torch itself
        # trusts or the user passed --trust-remote-code.
        trusted = source == "local" or repo.split("/")[0] in TRUSTED_OWNERS or self.trust_remote_code
        if not trusted:
            raise ModelError(
                f"hub repo {repo!r} runs its own Python code when loaded: pass --trust-remote-code "
                "to allow it"
            )
        if self.location.source == "hub-cache" and self.location.path:
            repo, source = self.location.path, "local"  # the cached checkout: never ask GitHub for updates
        try:
            try:
                model = torch.hub.load(
                    repo, entry, source=source, pretrained=True, trust_repo=trusted, verbose=False
                )
            except TypeError as exc:  # an entry point without a `pretrained` flag
                if "pretrained" not in str(exc):
                    raise
                model = torch.hub.load(repo, entry, source=source, trust_repo=trusted, verbose=False)
        except Exception as exc:
            raise self.load_failed(exc) from exc
        if not isinstance(model, nn.Module) or not list(model.children()):
            raise ModelError(f"hub model {self.spec.name!r} is not a torch module with layers to cut")
        children = list(model.children())
        self.model = nn.Sequential(*children[:-1])
        head = children[-1]
        self._head = head if isinstance(head, nn.Linear) and head.out_features == 1000 else None
        self.class_names = imagenet_classes() if self._head is not None else None
        self.prep = Preprocess(short=256, crop=(224, 224))  # the torchvision ImageNet recipe
        self._finish_load(device)
        if self._head is not None:
            self._head.eval().to(device)
        self.dim = self.probe_dim()

    def weights_missing(self) -> ModelError:
        repo, _, source = parse(self.spec.ref)
        if source == "local":
            return ModelError(f"{repo}: not a torch hub directory (no hubconf.py in it)")
        return ModelError(
            f"torch hub model {self.spec.name!r} is not available offline: run it once with "
            f"the network, or put the repo in {_hub_dir()} or pass a local hub directory"
        )

    def _forward(self, pixels: Any) -> tuple[Any, Any | None]:
        out = self.model(pixels)
        features = out.mean(dim=tuple(range(2, out.dim()))) if out.dim() > 2 else out
        logits = (
            self._head(features)
            if self._head is not None and features.shape[1] == self._head.in_features
            else None
        )
        return features, logits


ADAPTER = HubAdapter
