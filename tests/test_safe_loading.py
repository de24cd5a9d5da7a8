"""Safe loading: nothing in the store is pickled, nothing in the code unpickles, model code from a repo
runs only with --trust-remote-code, and the store folder is the user's alone."""

from __future__ import annotations

import ast
import json
import os
import stat
from pathlib import Path

import pytest

from tests.clirun import run_cli
from vexplore.engine.pipeline import Options, index_folder
from vexplore.engine.store import Store

REPO = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(REPO / "engine").rglob("*.py"), *(REPO / "tui").rglob("*.py")])
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
# Modules allowed to pickle in memory, with the reason; they may still never unpickle from a file.
IN_MEMORY_PICKLE = {
    "engine/distributed.py": "Ray tasks of this same run pass decoded parts to each other as pickled bytes",
    "engine/query_process.py": "the explorer and its own child talk over a private pipe (a socketpair made "
    "by the parent and passed to the child alone): requests, hits, exceptions",
}


def _calls(tree: ast.AST):
    """(call, the called name, the source of the function it is in, or "" at module level)."""
    scopes = [(tree, "")]
    while scopes:
        node, scope = scopes.pop()
        for child in ast.iter_child_nodes(node):
            inner = ast.unparse(child) if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else scope
            if isinstance(child, ast.Call):
                yield child, ast.unparse(child.func), inner
            scopes.append((child, inner))


def _keyword(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_true(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def unsafe_loading(source: str, in_memory_pickle: bool = False) -> list[str]:
    """What in this source could run code hidden in a file: unpickling, torch.load without weights_only,
    np.load with pickles allowed, remote model code trusted by a literal, eval/exec. With
    in_memory_pickle, pickle.dumps/loads of bytes are allowed, pickle.load/Unpickler (files) are not."""
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            )
            found += [
                f"line {node.lineno}: imports {n}"
                for n in names
                if n.split(".")[0] in UNSAFE_MODULES and not (in_memory_pickle and n == "pickle")
            ]
    for call, name, function in _calls(tree):
        where = f"line {call.lineno}: {name}"
        if name in ("pickle.load", "pickle.Unpickler"):
            found.append(f"{where}: unpickles from a file")
        if name.endswith("torch.load") and not _is_true(_keyword(call, "weights_only")):
            found.append(f"{where} without weights_only=True")
        if name in ("np.load", "numpy.load") and _is_true(_keyword(call, "allow_pickle")):
            found.append(f"{where} with allow_pickle=True")
        if name.endswith("hub.load") and "trust_remote_code" not in function:  # runs the repo's hubconf.py
            found.append(f"{where} in a function that does not consult --trust-remote-code")
        if name.endswith("read_pickle") or name in ("eval", "exec"):
            found.append(where)
        trust = _keyword(call, "trust_remote_code")
        if trust is not None and "trust" not in ast.unparse(trust):  # only ever the value of the flag
            found.append(f"{where} with trust_remote_code={ast.unparse(trust)}, not the flag's value")
    return found


def test_the_checker_catches_what_it_looks_for():
    bad = (
        "import pickle\nfrom joblib import load\ntorch.load(p)\ntorch.load(p, weights_only=False)\n"
        "np.load(p, allow_pickle=True)\nAutoModel.from_pretrained(p, trust_remote_code=True)\n"
        "def f():\n    torch.hub.load(r, m, trust_repo=True)\npd.read_pickle(p)\neval(s)\n"
    )
    assert len(unsafe_loading(bad)) == 9, unsafe_loading(bad)
    good = (
        "torch.load(p, weights_only=True)\nnp.load(p)\nnp.load(p, allow_pickle=False)\n"
        "AutoModel.from_pretrained(p, trust_remote_code=self.trust_remote_code)\n"
        "def load(self):\n    if not self.trust_remote_code and not trusted(repo):\n        raise E()\n"
        "    torch.hub.load(r, m, trust_repo=True)\n"
    )
    assert unsafe_loading(good) == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_unsafe_loading_in_the_code(path):
    rel = path.relative_to(REPO).as_posix()
    assert unsafe_loading(path.read_text(), in_memory_pickle=rel in IN_MEMORY_PICKLE) == []


def test_in_memory_pickling_is_still_checked():
    assert unsafe_loading("import pickle\npickle.loads(b)\n", in_memory_pickle=True) == []
    assert len(unsafe_loading("import pickle\npickle.load(fh)\n", in_memory_pickle=True)) == 1


def test_trust_remote_code_is_off_unless_the_flag_is_given():
    from vexplore.cli import main
    from vexplore.engine.models import registry

    assert Options().trust_remote_code is False
    assert registry.create(registry.resolve("minilm")).trust_remote_code is False
    command = main.commands["index"]
    assert command.make_context("index", ["folder"]).params["trust_remote_code"] is False
    assert (
        command.make_context("index", ["folder", "--trust-remote-code"]).params["trust_remote_code"] is True
    )


def _model_with_its_own_code(folder: Path) -> Path:
    """A sentence-transformers folder whose config needs a Python file from the folder; importing that
    file leaves a marker, so the test sees whether the code ran."""
    folder.mkdir()
    (folder / "modules.json").write_text(
        json.dumps([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}])
    )
    (folder / "config.json").write_text(
        json.dumps(
            {
                "model_type": "vexplore-test-remote",
                "auto_map": {
                    "AutoConfig": "configuration_remote.RemoteConfig",
                    "AutoModel": "modeling_remote.RemoteModel",
                },
            }
        )
    )
    marker = folder.parent / "remote-code-ran"
    (folder / "configuration_remote.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from transformers import PretrainedConfig\n\n\n"
        "class RemoteConfig(PretrainedConfig):\n    model_type = 'vexplore-test-remote'\n"
    )
    return marker


@pytest.mark.slow
def test_repo_code_runs_only_with_trust_remote_code(tmp_path):
    from vexplore.engine.models import registry
    from vexplore.engine.models.base import ModelError

    model_dir = tmp_path / "model"
    marker = _model_with_its_own_code(model_dir)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("some text to embed")
    proc = run_cli(
        "index", str(folder), "--model", str(model_dir), "--store", str(tmp_path / "store"), timeout=300
    )
    assert proc.returncode == 2 and not marker.exists()
    assert proc.stderr.strip().splitlines()[-1].startswith("vexplore: error: model ")
    assert "--trust-remote-code" in proc.stderr and "Traceback" not in proc.stderr
    adapter = registry.create(registry.resolve(str(model_dir)))
    with pytest.raises(ModelError, match="--trust-remote-code"):
        adapter.load("cpu")
    assert not marker.exists()
    adapter.trust_remote_code = True  # what --trust-remote-code sets
    with pytest.raises(ModelError):  # the code ran; the folder has no weights to go on with
        adapter.load("cpu")
    assert marker.exists()


@pytest.mark.slow
def test_store_holds_no_pickles_and_is_the_users_alone(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    for i, text in enumerate(["a lighthouse at dusk", "bread in the oven", "a cello sonata"]):
        (folder / f"{i}.txt").write_text(text)
    store_dir = tmp_path / "deeper" / "store"
    old = os.umask(0)  # even a permissive umask must not open the store to others
    try:
        summary = index_folder(folder, store_dir, Options(models=["minilm"], workers=0))
    finally:
        os.umask(old)
    assert summary.embedded == 3
    assert stat.S_IMODE(store_dir.stat().st_mode) == 0o700
    allowed = {
        "catalog.sqlite",
        "catalog.sqlite-wal",
        "catalog.sqlite-shm",
        "lock",
        "vectors.f32",
        "index.hnsw",
        "index.json",
    }
    for path in store_dir.rglob("*"):
        if path.is_file():
            assert path.name in allowed, path
            head = path.read_bytes()[:2]
            assert not (len(head) == 2 and head[0] == 0x80 and head[1] <= 5), f"{path} looks like a pickle"
    json.loads(next(store_dir.rglob("index.json")).read_text())
    with Store(folder, store_dir, readonly=True) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_an_existing_folder_given_as_the_store_keeps_its_mode(tmp_path):
    """--store pointing at a folder that exists: vexplore writes into it but never chmods it (a shared
    folder, or one the user does not own, must not change under them)."""
    existing = tmp_path / "shared"
    existing.mkdir(mode=0o755)
    os.chmod(existing, 0o755)
    Store(tmp_path, existing, create=True).close()
    assert stat.S_IMODE(existing.stat().st_mode) == 0o755
    fresh = tmp_path / "new-store"
    Store(tmp_path, fresh, create=True).close()
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700


class _RunsCodeWhenUnpickled:
    """Unpickling this makes a folder: what a booby-trapped checkpoint could do instead."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


@pytest.mark.slow
def test_torch_load_refuses_a_checkpoint_that_runs_code(tmp_path):
    """Our code passes weights_only=True itself; third-party loaders a family uses (efficientnet_lite_pytorch
    calls torch.load(path) bare) are safe only because torch >= 2.6 makes weights_only=True the default,
    which is why pyproject asks for torch >= 2.6. A checkpoint whose pickle runs code must be refused."""
    import pickle

    import torch

    marker = tmp_path / "code-ran"
    checkpoint = tmp_path / "model.pth"
    with open(checkpoint, "wb") as fh:
        pickle.dump({"weight": _RunsCodeWhenUnpickled(marker)}, fh)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(checkpoint)  # no weights_only: the default must be the safe one
    assert not marker.exists()
