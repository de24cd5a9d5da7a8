"""The shape of the code, checked on every run: layers that point one way and pieces small enough to
read. The engine imports nothing of the UI or the command line; the UI imports no ML library when it
loads; no module or function grows past the sizes the project keeps to."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

REPO = Path(__file__).resolve().parent.parent
PACKAGES = {"engine": "vexplore.engine", "tui": "vexplore.tui", "vexplore": "vexplore"}
HEAVY = ("torch", "transformers", "sentence_transformers")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def modules(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def absolute_imports(path: Path, folder: str, top_level_only: bool = False) -> list[tuple[int, str]]:
    """(line, module) of every import in path (a file under folder), relative ones resolved."""
    tree = ast.parse(path.read_text(), str(path))
    parts = [*PACKAGES[folder].split("."), *path.relative_to(REPO / folder).parent.parts]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(parts[: len(parts) - node.level + 1])
                found.append((node.lineno, f"{base}.{node.module}" if node.module else base))
            elif node.module:
                found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("path", modules("engine"), ids=lambda p: str(p.relative_to(REPO)))
def test_the_engine_imports_neither_the_ui_nor_the_command_line(path):
    bad = [
        (line, name)
        for line, name in absolute_imports(path, "engine")
        if name.startswith(("vexplore.tui", "vexplore.cli", "textual"))
    ]
    assert bad == [], f"{path.relative_to(REPO)} imports {bad}"


@pytest.mark.parametrize("path", modules("tui"), ids=lambda p: str(p.relative_to(REPO)))
def test_the_ui_imports_no_ml_library_when_it_loads(path):
    bad = [
        (line, name)
        for line, name in absolute_imports(path, "tui", top_level_only=True)
        if name.split(".")[0] in HEAVY or name.startswith("vexplore.cli")
    ]
    assert bad == [], f"{path.relative_to(REPO)} imports {bad} at module level"


def test_the_import_check_resolves_relative_imports():
    """The checks above resolve `from ..x import y` against the package, so they cannot miss one."""
    found = {name for _, name in absolute_imports(REPO / "engine" / "stats" / "report.py", "engine")}
    assert "vexplore.engine.errors" in found and "vexplore.engine.stats.schema" in found, found


@pytest.mark.parametrize(
    "path",
    [p for folder in PACKAGES for p in modules(folder)],
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_modules_and_functions_stay_small(path):
    source = path.read_text()
    lines = source.count("\n")
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(REPO)} has {lines} lines: split it by what it holds"
    long = [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == [], f"{path.relative_to(REPO)}: functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_every_package_folder_is_in_the_distribution():
    """A package folder missing from pyproject's list works in the editable install and is absent from
    the wheel: the audit's folder once was."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join([*PACKAGES[folder].split("."), *init.parent.relative_to(REPO / folder).parts])
        for folder in PACKAGES
        for init in (REPO / folder).rglob("__init__.py")
    }
    assert found == listed


def test_no_merge_conflict_markers_are_left_in_the_tree():
    """A merge resolved in a hurry once left `<<<<<<<` … `>>>>>>>` in the README."""
    import subprocess

    listed = subprocess.run(
        ["git", "ls-files", "*.py", "*.md", "*.toml", "*.tcss", "Makefile", ".ci/*"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if listed.returncode != 0:
        pytest.fail(f"git ls-files failed: {listed.stderr.strip()}")
    markers = ("<" * 7 + " ", ">" * 7 + " ", "=" * 7)
    found = [
        f"{name}:{number}"
        for name in listed.stdout.split()
        for number, line in enumerate((REPO / name).read_text(errors="replace").splitlines(), 1)
        if line.startswith(markers) and (not line.startswith("=" * 7) or line == "=" * 7)
    ]
    assert not found, found
