"""The package's house rules: one-way imports between layers, no import circles, small modules, a public API."""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from pathlib import Path

import pytest

import livn_rl

ROOT = Path(livn_rl.__file__).parent
MAX_LINES = 600

#: Layers from the bottom up (docs/architecture.md). A module may import its own layer and the layers below it.
LAYERS = [
    ("engine core", ["atomic", "checks", "cluster", "identity", "recording", "stimulus", "engine.brian2_patches",
                     "engine.copy_state", "engine.monitors", "engine.interrupts", "engine.parked_run",
                     "engine.random_stream", "engine.stimulus_feed", "engine.runtime_backend", "engine.standalone"]),
    ("models", ["systems", "mea", "encoders", "analysis", "plots"]),
    ("composition", ["engine.simulation", "engine"]),
    ("uses", ["experiments", "envs", "data", "export", "view"]),
    ("command line", ["cli"]),
]


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        name = ".".join(("livn_rl",) + path.relative_to(ROOT).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rsplit(".", 1)[0] if "." in name else ""
    return name or None


def _imports(module: str) -> set[str]:
    """Every livn_rl module ``module`` imports, at the top or inside functions (its own parent packages excluded)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            resolved = _resolve(target) if target.startswith("livn_rl") else None
            if resolved and resolved != module and not module.startswith(resolved + "."):
                found.add(resolved)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _layer(module: str) -> int:
    """The layer of a livn_rl module (the most specific prefix wins); the top-level package is above everything."""
    if module == "livn_rl":
        return len(LAYERS)
    best, depth = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            full = f"livn_rl.{prefix}"
            if (module == full or module.startswith(full + ".")) and full.count(".") > depth:
                best, depth = index, full.count(".")
    assert best is not None, f"{module} belongs to no layer; add it to LAYERS and docs/architecture.md"
    return best


def test_every_module_has_a_layer_and_imports_only_its_own_or_lower_layers():
    wrong = [
        f"{module} ({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})"
        for module, targets in GRAPH.items() for target in targets
        if _layer(target) > _layer(module)
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_circles():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            visit(module)
    assert not circles, circles


def test_the_models_never_import_the_engine():
    for module, targets in GRAPH.items():
        if module.startswith(("livn_rl.systems", "livn_rl.mea", "livn_rl.encoders")):
            assert not [t for t in targets if t.startswith("livn_rl.engine")], module


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_small_and_declares_its_public_names(module):
    path = MODULES[module]
    assert len(path.read_text().splitlines()) <= MAX_LINES, f"{path} has more than {MAX_LINES} lines"
    if path.name == "__main__.py":
        return
    imported = importlib.import_module(module)
    assert hasattr(imported, "__all__"), f"{module} has no __all__"
    missing = [name for name in imported.__all__ if not hasattr(imported, name)]
    assert not missing, f"{module}.__all__ names what it does not define: {missing}"


def test_the_top_level_package_exports_what_the_readme_uses():
    for name in ("Simulation", "MEA", "Pulse", "Recording", "make_system", "LivnEnv", "make_encoder", "make_decoder",
                 "make_sb3_vec_env", "sample_dataset", "load_dataset", "replay_buffer_from_dataset"):
        assert name in livn_rl.__all__ and getattr(livn_rl, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        livn_rl.not_a_name  # noqa: B018


def test_the_package_is_typed():
    assert (ROOT / "py.typed").is_file()
    pyproject = (ROOT.parent / "pyproject.toml").read_text()
    assert '"py.typed"' in pyproject
