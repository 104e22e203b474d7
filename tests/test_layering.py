"""Dependencies point one way: the command line -> sim -> hdl_gen -> golden (templates, text
only, below them all); command modules never import each other; no import cycles; golden's
integer model and hdl_gen import no torch."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: package folder -> (import name, level); a module may import only levels at or below its own
PACKAGES = {"templates": ("spikewright.templates", 0), "golden": ("spikewright.golden", 1),
            "hdl_gen": ("spikewright.hdl_gen", 2), "sim": ("spikewright.sim", 3),
            "spikewright": ("spikewright", 4)}


def modules() -> dict:
    """``{module name: path}`` of every module of the package."""
    found = {}
    for folder, (package, _) in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def level(module: str) -> int:
    for package, rank in sorted(PACKAGES.values(), key=lambda p: -len(p[0])):
        if module == package or module.startswith(package + "."):
            return rank
    raise AssertionError(module)


def imports(name: str, path: Path, known: dict) -> set:
    """Every module of ours that ``name`` imports, at the top or inside a function."""
    package = name if path.stem == "__init__" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in known}
    return found - {name}


def graph() -> dict:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_imports_point_one_way():
    wrong = [f"{a} imports {b}" for a, targets in graph().items() for b in targets
             if level(b) > level(a)]
    assert wrong == []


def test_command_modules_do_not_import_each_other():
    commands = "spikewright.commands."
    wrong = [f"{a} imports {b}" for a, targets in graph().items() if a.startswith(commands)
             for b in targets if b.startswith(commands) and b != commands + "args"]
    assert wrong == []


def test_there_is_no_import_cycle():
    edges = graph()
    state = {}

    def visit(node, path):
        state[node] = "open"
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])


def test_the_walk_sees_lazy_and_relative_imports():
    edges = graph()
    assert "spikewright.sim.expected" in edges["spikewright.sim.verify"]  # relative
    assert "spikewright.report" in edges["spikewright.flow"]  # inside a function


def imported_after(modules_: str) -> set:
    code = f"import sys\nimport {modules_}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_golden_integer_model_imports_neither_torch_nor_amaranth():
    loaded = imported_after("spikewright.golden, spikewright.golden.model, "
                            "spikewright.golden.ctt, spikewright.golden.datasets")
    assert "torch" not in loaded and "amaranth" not in loaded


def test_hdl_gen_and_sim_import_no_torch():
    loaded = imported_after("spikewright.hdl_gen.emit, spikewright.hdl_gen.stream_model, "
                            "spikewright.sim.verify")
    assert "torch" not in loaded and "amaranth" in loaded
