"""The contracts of the model layer: every family module is a Family (models/family.py), Adapter is an
abstract base, and the helpers the families share (token windows, load failures, missing weights) behave
the same for every family."""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import types
from pathlib import Path

import pytest

from vexplore.engine.models import registry
from vexplore.engine.models.base import Adapter, Decoded, Embedded, Location, ModelError, ModelSpec
from vexplore.engine.models.failures import load_failure, missing_weights
from vexplore.engine.models.family import MEMBERS, Family, as_family
from vexplore.engine.models.windows import token_windows

# The families this stream wrote; registry.FAMILIES may hold more (each is held to the Family contract).
KNOWN = ["hub", "clip", "effnet", "vision", "whisper", "ct2whisper", "perceiver", "text"]


# ---- the family contract ------------------------------------------------------------------------
@pytest.mark.parametrize("name", registry.FAMILIES)
def test_every_family_module_keeps_the_contract(name):
    module = importlib.import_module(f"vexplore.engine.models.{name}")
    assert isinstance(module, Family), [m for m in MEMBERS if not hasattr(module, m)]
    assert as_family(module) is module
    for spec in module.SPECS:  # registry.create finds the module by spec.family
        assert isinstance(spec, ModelSpec) and spec.family == name, spec
        assert isinstance(module.locate(spec), Location)
    names = {spec.name for spec in module.SPECS}
    for ranks in (module.DEFAULT_PRIORITY, getattr(module, "DOWNLOAD_PRIORITY", {})):
        assert set(ranks) <= names, f"{name}: ranks for models it does not offer: {set(ranks) - names}"
        for spec_name, by_modality in ranks.items():
            offered = next(s for s in module.SPECS if s.name == spec_name).modalities
            assert set(by_modality) <= set(offered), (spec_name, by_modality)
            assert all(isinstance(rank, int) for rank in by_modality.values())
    assert inspect.isclass(module.ADAPTER) and issubclass(module.ADAPTER, Adapter)
    assert not inspect.isabstract(module.ADAPTER), f"{name}.ADAPTER leaves abstract methods unimplemented"
    assert list(inspect.signature(module.detect).parameters) == ["name", "folder", "config"]
    assert list(inspect.signature(module.locate).parameters) == ["spec"]


def test_a_module_that_is_not_a_family_says_what_it_lacks():
    module = types.ModuleType("vexplore.engine.models.half")
    module.SPECS = []  # type: ignore[attr-defined]
    module.detect = lambda name, folder, config: None  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="lacks DEFAULT_PRIORITY, locate, ADAPTER"):
        as_family(module)


def test_every_alias_resolves_to_a_family_that_builds_its_adapter():
    for spec in registry.aliases():
        adapter = registry.create(spec)
        family = as_family(importlib.import_module(f"vexplore.engine.models.{spec.family}"))
        assert isinstance(adapter, family.ADAPTER)
        assert adapter.name == spec.name and adapter.modalities == spec.modalities


# ---- the adapter base -----------------------------------------------------------------------------
SPEC = ModelSpec("plain", "plain", ("text",), 2, "test", "none")


def test_adapter_is_abstract_until_load_decode_and_embed_exist():
    with pytest.raises(TypeError, match="abstract"):
        Adapter(SPEC, Location("path", None, True))  # type: ignore[abstract]

    class NoEmbed(Adapter):
        def load(self, device: str) -> None:
            self.device = device

        def decode(self, path: Path, modality: str) -> Decoded:
            return Decoded(parts=[path.name])

    with pytest.raises(TypeError, match="embed"):
        NoEmbed(SPEC, Location("path", None, True))  # type: ignore[abstract]

    class Plain(NoEmbed):
        def embed(self, parts: list) -> Embedded:
            import numpy as np

            return Embedded(np.ones((len(parts), 2), np.float32))

    plain = Plain(SPEC, Location("path", None, True))
    assert plain.batch_size() == 32 and plain.embed(["a", "b"]).vectors.shape == (2, 2)
    with pytest.raises(ModelError, match="no text tower"):
        plain.embed_text(["a query"])


@pytest.mark.parametrize("family", KNOWN)
def test_missing_weights_are_one_line_before_any_library_loads(family, monkeypatch):
    """Each family refuses weights that are nowhere, with one line saying what to install or where to
    put them, and before torch or transformers would even be imported for it."""
    module = importlib.import_module(f"vexplore.engine.models.{family}")
    spec = module.SPECS[0]
    adapter = module.ADAPTER(spec, Location("missing", None, False))
    for heavy in ("torch", "transformers", "sentence_transformers", "faster_whisper"):
        monkeypatch.setitem(sys.modules, heavy, None)  # importing one now would fail
    with pytest.raises(ModelError) as caught:
        adapter.load("cpu")
    text = str(caught.value)
    assert "\n" not in text and spec.name in text
    assert "not available offline" in text or "pip install" in text


# ---- token windows ------------------------------------------------------------------------------
def word_tokenizer(text, **kwargs):
    """A stand-in tokenizer: one token per word, with the character offsets HF tokenizers give."""
    assert kwargs["add_special_tokens"] is False and kwargs["return_offsets_mapping"] is True
    offsets, start = [], None
    for i, ch in enumerate(text + " "):
        if not ch.isspace() and start is None:
            start = i
        elif ch.isspace() and start is not None:
            offsets.append((start, i))
            start = None
    return {"offset_mapping": offsets}


def test_token_windows_cut_at_tokens_and_cap_the_count():
    text = " ".join(f"w{i}" for i in range(10))
    assert token_windows(word_tokenizer, text, 10, 4) == ([text], False)
    assert token_windows(word_tokenizer, text, 3, 4) == (["w0 w1 w2", "w3 w4 w5", "w6 w7 w8", "w9"], False)
    assert token_windows(word_tokenizer, text, 3, 2) == (["w0 w1 w2", "w3 w4 w5"], True)
    assert token_windows(word_tokenizer, text, 5, 2) == (["w0 w1 w2 w3 w4", "w5 w6 w7 w8 w9"], False)
    spaced = "alpha   beta\n\ngamma delta"  # a window is the exact source span, inner spacing kept
    assert token_windows(word_tokenizer, spaced, 2, 9) == (["alpha   beta", "gamma delta"], False)


# ---- load failures ------------------------------------------------------------------------------
REMOTE = (
    "The repository /tmp/model contains custom code which must be executed to correctly load the model. "
    "You can inspect the repository content at /tmp/model .\n Please pass the argument "
    "`trust_remote_code=True` to allow custom code to be run."
)
HF_SPEC = ModelSpec("some/model", "vision", ("image",), None, "transformers", "some/model")


def test_load_failure_is_one_line_and_points_at_the_flag():
    hint = load_failure(HF_SPEC, ValueError(REMOTE), trusted=False)
    assert "--trust-remote-code" in str(hint) and "\n" not in str(hint)
    plain = load_failure(HF_SPEC, ValueError(REMOTE), trusted=True)  # the flag was given: say what broke
    assert str(plain).startswith("cannot load model 'some/model': ValueError: The repository")
    assert "\n" not in str(plain)
    assert str(load_failure(HF_SPEC, OSError(), trusted=False)) == "cannot load model 'some/model': OSError"
    assert "pip install pkg" in str(missing_weights(ModelSpec("m", "text", ("text",), 1, "x", "r", "pkg")))


def _remote_code_folder(folder: Path, config: dict) -> Path:
    """A model folder whose config needs a Python file from the folder, which leaves a marker if run."""
    folder.mkdir()
    marker = folder.parent / f"{folder.name}-code-ran"
    (folder / "config.json").write_text(
        json.dumps(config | {"auto_map": {"AutoConfig": "configuration_remote.RemoteConfig"}})
    )
    (folder / "configuration_remote.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from transformers import PretrainedConfig\n\n\n"
        "class RemoteConfig(PretrainedConfig):\n    model_type = 'vexplore-test-remote'\n"
    )
    return marker


@pytest.mark.slow
def test_vision_models_that_ship_code_ask_for_the_flag(tmp_path):
    config = {"model_type": "vexplore-test-remote", "architectures": ["RemoteForImageClassification"]}
    marker = _remote_code_folder(tmp_path / "vit", config)
    spec = registry.resolve(str(tmp_path / "vit"))
    assert spec.family == "vision"
    with pytest.raises(ModelError, match="ships its own Python code.*--trust-remote-code"):
        registry.create(spec).load("cpu")
    assert not marker.exists()


@pytest.mark.slow
def test_clip_load_failures_keep_the_flag_hint(tiny_clip_dir, monkeypatch):
    import transformers

    def refuse(*args, **kwargs):
        raise ValueError(REMOTE)

    monkeypatch.setattr(transformers.CLIPModel, "from_pretrained", refuse)
    monkeypatch.setattr(transformers.CLIPTextModelWithProjection, "from_pretrained", refuse)
    adapter = registry.create(registry.resolve(str(tiny_clip_dir)))
    with pytest.raises(ModelError, match="--trust-remote-code"):
        adapter.load("cpu")
    with pytest.raises(ModelError, match="--trust-remote-code"):
        adapter.load_for_queries("cpu")
    adapter.trust_remote_code = True
    with pytest.raises(ModelError, match="^cannot load model .*: ValueError: The repository"):
        adapter.load("cpu")
